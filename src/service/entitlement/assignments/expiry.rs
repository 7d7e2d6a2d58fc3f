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
    let lag = now - a.end_date_time.unwrap_or(now);
    let removal = SystemRemoval {
        justification: "the assignment reached its end".into(),
        status: "Expired",
        activity: "Remove access package assignment (expired)",
        details: vec![(
            "noticedAfterMilliseconds",
            lag.num_milliseconds().to_string(),
        )],
    };
    system_remove(app, tx, &mut a, removal, &Initiator::system(), now).await?;
    Ok(true)
}

/// Why Eligo itself removes an assignment, in the words of its record.
pub struct SystemRemoval {
    pub justification: String,
    /// The assignment's status afterwards (`Expired`, `Removed`).
    pub status: &'static str,
    pub activity: &'static str,
    /// More details for the audit entry (an access review's ids, the lag behind the end).
    pub details: Vec<(&'static str, String)>,
}

/// Removes a live assignment as Eligo's own `systemRemove` (at its end, or denied in an access
/// review): what it gave is taken back as by an administrator's removal, recorded as a
/// request, announced to custom extensions, audited.
pub async fn system_remove(
    app: &App,
    tx: &mut dyn Tx,
    a: &mut Assignment,
    removal: SystemRemoval,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let mut request = AssignmentRequest {
        id: Uuid::new_v4(),
        request_type: RequestType::SystemRemove,
        state: RequestState::Submitted,
        status: "Accepted".into(),
        justification: Some(removal.justification),
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
    delivery::take_back_all(app, tx, a, initiator, now).await?;
    record::settle_removal(&mut request, a, removal.status, now);
    tx.insert_assignment_request(&request).await?;
    tx.update_assignment(a).await?;
    super::callouts::notify(
        app,
        tx,
        eligo_core::entitlement::policy::CustomExtensionStage::AssignmentRequestRemoved,
        &request,
        Some(a),
        now,
    )
    .await?;
    let name = tx
        .get_package(a.access_package_id)
        .await?
        .map(|p| p.display_name);
    let event = AuditEvent::new(now, CATEGORY, removal.activity, initiator.clone())
        .target(a.id, "AccessPackageAssignment", None)
        .target(a.access_package_id, "AccessPackage", name.as_deref())
        .target(a.target_id, "DirectoryObject", None)
        .detail("requestType", RequestType::SystemRemove.as_str());
    let event = removal
        .details
        .into_iter()
        .fold(event, |e, (k, v)| e.detail(k, v));
    tx.append_audit(event).await?;
    Ok(())
}
