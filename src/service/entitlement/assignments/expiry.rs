//! Assignments whose end has passed, removed by the scheduler as Eligo's own `systemRemove`:
//! what they gave is taken back (unless another live grant gives it), the assignment moves to
//! `expired`. Each is re-read and its due time cleared in the transaction that records its
//! expiry, so a restart neither loses one nor removes one twice.

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Initiator};
use eligo_core::entitlement::assignment::Assignment;
use eligo_core::entitlement::request::{
    AskedSchedule, AssignmentRequest, RequestState, RequestType,
};
use eligo_store::Tx;
use uuid::Uuid;

use super::{delivery, record};
use crate::app::App;
use crate::failure::UseCaseResult;
use crate::service::entitlement::CATEGORY;

/// Expires `assignment` (as read in this transaction) at `now`. False when it was not due
/// after all (already handled, or its end moved).
pub async fn expire(
    app: &App,
    tx: &mut dyn Tx,
    assignment: &Assignment,
    now: DateTime<Utc>,
) -> UseCaseResult<bool> {
    let mut a = assignment.clone();
    if a.due_at().is_none_or(|end| end > now) {
        return Ok(false);
    }
    let system = Initiator::system();
    let mut request = AssignmentRequest {
        id: Uuid::new_v4(),
        request_type: RequestType::SystemRemove,
        state: RequestState::Submitted,
        status: "Accepted".into(),
        justification: Some("the assignment reached its end".into()),
        requestor_id: Uuid::nil(),
        target_id: a.target_id,
        access_package_id: a.access_package_id,
        assignment_policy_id: Some(a.assignment_policy_id),
        assignment_id: Some(a.id),
        answers: Vec::new(),
        schedule: AskedSchedule::default(),
        created_date_time: now,
        completed_date_time: None,
        approval: None,
        callout: None,
    };
    delivery::take_back_all(app, tx, &mut a, &system, now).await?;
    record::settle_removal(&mut request, &mut a, "Expired", now);
    tx.insert_assignment_request(&request).await?;
    tx.update_assignment(&a).await?;
    super::callouts::notify(
        app,
        tx,
        eligo_core::entitlement::policy::CustomExtensionStage::AssignmentRequestRemoved,
        &request,
        Some(&a),
        now,
    )
    .await?;
    let name = tx
        .get_package(a.access_package_id)
        .await?
        .map(|p| p.display_name);
    let lag = now - a.end_date_time.unwrap_or(now);
    tx.append_audit(
        AuditEvent::new(
            now,
            CATEGORY,
            "Remove access package assignment (expired)",
            system,
        )
        .target(a.id, "AccessPackageAssignment", None)
        .target(a.access_package_id, "AccessPackage", name.as_deref())
        .target(a.target_id, "DirectoryObject", None)
        .detail("requestType", RequestType::SystemRemove.as_str())
        .detail(
            "noticedAfterMilliseconds",
            lag.num_milliseconds().to_string(),
        ),
    )
    .await?;
    Ok(true)
}
