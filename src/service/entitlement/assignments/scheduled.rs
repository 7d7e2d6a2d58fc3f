//! Requests that start later (`schedule.startDateTime` in the future, when the policy lets the
//! requestor choose their schedule, or an administrator's): decided and approved as usual, then
//! left `scheduled` (the request's `due_at` is its start) until the scheduler delivers them at
//! that start. Delivery decides the request again then (duplicates, separation of duties, a
//! policy that no longer lets its requestor ask), so a conflict that arose while it waited
//! leaves it `denied` naming why, nothing given. The end counts from the start. A scheduled
//! request may be canceled like one waiting for approval.

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Initiator};
use eligo_core::directory::PrincipalKind;
use eligo_core::entitlement::request::{AssignmentRequest, RequestState, Submission};
use eligo_store::Tx;

use super::submit::{self, Prepared};
use crate::app::App;
use crate::failure::UseCaseResult;
use crate::service::entitlement::CATEGORY;

/// Leaves `request` `scheduled` when what was decided starts after `now`; true if so.
pub(super) fn hold(
    request: &mut AssignmentRequest,
    prepared: &Prepared,
    now: DateTime<Utc>,
) -> bool {
    if prepared.start() <= now {
        return false;
    }
    request.state = RequestState::Scheduled;
    request.status = "Scheduled".into();
    true
}

/// The scheduler's delivery of a `scheduled` request at its start. `request` is as read in
/// this transaction; false when it was not due after all (canceled, delivered already, or its
/// start not reached), so a restart never delivers twice.
pub async fn start(
    app: &App,
    tx: &mut dyn Tx,
    request: &AssignmentRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<bool> {
    if request.state != RequestState::Scheduled
        || request.schedule.start_date_time.is_none_or(|s| s > now)
    {
        return Ok(false);
    }
    let mut request = request.clone();
    let sub = Submission {
        request_type: request.request_type,
        justification: request.justification.clone(),
        target_id: Some(request.target_id),
        assignment_policy_id: request.assignment_policy_id,
        access_package_id: Some(request.access_package_id),
        assignment_id: request.assignment_id,
        answers: request.answers.clone(),
        schedule: request.schedule.clone(),
    };
    let kind = tx
        .principal_kind(request.requestor_id)
        .await?
        .unwrap_or(PrincipalKind::User);
    let system = Initiator::system();
    match submit::prepare(
        app,
        tx,
        request.requestor_id,
        kind,
        &sub,
        Some(request.id),
        now,
    )
    .await?
    {
        Ok(prepared) => {
            submit::fulfil_as(app, &system, tx, &mut request, prepared, now).await?;
        }
        Err(problems) => {
            let why: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.code, p.message))
                .collect();
            request.state = RequestState::Denied;
            request.status = format!("Denied: {}", why.join("; "));
            request.completed_date_time = Some(now);
            tx.update_assignment_request(&request).await?;
            let name = tx
                .get_package(request.access_package_id)
                .await?
                .map(|p| p.display_name);
            tx.append_audit(
                AuditEvent::new(
                    now,
                    CATEGORY,
                    "Deny access package assignment request at its start",
                    system,
                )
                .target(request.id, "AccessPackageAssignmentRequest", None)
                .target(request.access_package_id, "AccessPackage", name.as_deref())
                .target(request.target_id, "DirectoryObject", None)
                .detail("requestState", request.state.as_str())
                .detail("reason", why.join("; ")),
            )
            .await?;
        }
    }
    Ok(true)
}
