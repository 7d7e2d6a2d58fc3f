//! How a request and its assignment are left after delivery or removal, and their audit
//! entries.

use chrono::{DateTime, Utc};
use eligo_core::audit::AuditEvent;
use eligo_core::entitlement::assignment::{Access, Assignment, AssignmentState};
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::request::{AssignmentRequest, RequestState};
use eligo_store::Tx;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::UseCaseResult;
use crate::service::entitlement::event;

/// The request and the assignment after a delivery: both say whether everything, part of it,
/// or nothing was given.
pub fn settle_delivery(
    request: &mut AssignmentRequest,
    assignment: &mut Assignment,
    now: DateTime<Utc>,
) {
    assignment.state = assignment.delivery_state();
    let (state, status) = match assignment.state {
        AssignmentState::Delivered => (RequestState::Delivered, "Delivered"),
        AssignmentState::PartiallyDelivered => {
            (RequestState::PartiallyDelivered, "PartiallyDelivered")
        }
        _ => (RequestState::DeliveryFailed, "DeliveryFailed"),
    };
    assignment.status = status.into();
    request.state = state;
    request.status = status.into();
    request.completed_date_time = Some(now);
}

/// The request and the assignment after a removal: the assignment `expired` with `status`
/// (`Removed` by a person, `Expired` at its end); a person's removal request `Delivered`, the
/// scheduler's `systemRemove` `Expired`.
pub fn settle_removal(
    request: &mut AssignmentRequest,
    assignment: &mut Assignment,
    status: &str,
    now: DateTime<Utc>,
) {
    assignment.state = AssignmentState::Expired;
    assignment.status = status.into();
    assignment.expired_date_time = Some(now);
    request.state = RequestState::Delivered;
    request.status = if status == "Expired" {
        "Expired"
    } else {
        "Delivered"
    }
    .into();
    request.completed_date_time = Some(now);
}

/// An update moved the assignment's end: the running role schedules it created follow (one
/// that ended already is granted afresh by the delivery that follows).
pub async fn follow_end(
    tx: &mut dyn Tx,
    assignment: &Assignment,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    for g in &assignment.grants {
        if let (Access::Role { .. }, Some(id)) = (&g.access, g.schedule_id)
            && let Some(mut s) = tx.get_role_schedule(id).await?
            && !s.has_ended(now)
            && s.end_date_time != assignment.end_date_time
        {
            s.end_date_time = assignment.end_date_time;
            s.end_pending = assignment.end_date_time.is_some();
            tx.update_role_schedule(&s).await?;
        }
    }
    Ok(())
}

pub fn request_event(
    app: &App,
    caller: &Caller,
    activity: &str,
    request: &AssignmentRequest,
    package: &AccessPackage,
) -> AuditEvent {
    event(app, caller, activity)
        .target(request.id, "AccessPackageAssignmentRequest", None)
        .target(package.id, "AccessPackage", Some(&package.display_name))
        .target(request.target_id, "DirectoryObject", None)
        .detail("requestType", request.request_type.as_str())
        .detail("requestState", request.state.as_str())
}

pub fn assignment_event(
    event: AuditEvent,
    assignment: &Assignment,
    package: &AccessPackage,
) -> AuditEvent {
    event
        .target(assignment.id, "AccessPackageAssignment", None)
        .target(package.id, "AccessPackage", Some(&package.display_name))
        .target(assignment.target_id, "DirectoryObject", None)
        .detail("assignmentState", assignment.state.as_str())
        .detail(
            "endDateTime",
            assignment
                .end_date_time
                .map(|e| e.to_rfc3339())
                .unwrap_or_default(),
        )
}
