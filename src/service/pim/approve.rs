//! Approving, denying and cancelling requests. Who may decide a stage is resolved at the moment
//! of the decision (users named in the policy, the members of a group including nested ones,
//! the requester's manager; with no approvers named, whoever holds Global Administrator or
//! Privileged Role Administrator right now), then `eligo_core::approval` decides.

use chrono::{DateTime, Utc};
use eligo_core::approval::{Outcome, ReviewResult, Step};
use eligo_core::audit::Initiator;
use eligo_core::authz::actions;
use eligo_core::request::{RequestStatus, ScheduleRequest};
use eligo_store::{Page, RequestQuery, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::access::live::LiveIndex;
use crate::service::pim::{activate, load_target, role_event};

pub use super::approvers::{approvers_of, requester, role_administrators};

/// The steps of a request's approval with `assignedToMe` for `who`.
pub async fn steps_for(
    tx: &mut dyn Tx,
    live: &LiveIndex,
    request: &ScheduleRequest,
    who: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<Vec<(Step, bool)>> {
    let Some(approval) = &request.approval else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, step) in approval.steps.iter().enumerate() {
        let assigned = request.status == RequestStatus::PendingApproval
            && approval
                .may_review(
                    i,
                    who,
                    &approvers_of(tx, live, request, step, now).await?,
                    &requester(request),
                    now,
                )
                .is_ok();
        out.push((step.clone(), assigned));
    }
    Ok(out)
}

/// May `caller` read this request and its approval? The requester, its filer, role readers,
/// and anyone who is (or was) an approver of one of its stages.
pub async fn may_read(
    tx: &mut dyn Tx,
    live: &LiveIndex,
    caller: &Caller,
    request: &ScheduleRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<bool> {
    if requester(request).contains(&caller.id)
        || crate::service::authorize::permits(caller, actions::ROLE_ASSIGNMENTS_READ).is_ok()
    {
        return Ok(true);
    }
    let Some(approval) = &request.approval else {
        return Ok(false);
    };
    for step in &approval.steps {
        if step.reviews.iter().any(|r| r.reviewed_by == caller.id) {
            return Ok(true);
        }
        let who = approvers_of(tx, live, request, step, now).await?;
        if who.primary.contains(&caller.id) || who.escalation.contains(&caller.id) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Loads the request behind an approval id, 404 when it does not exist or the caller may not
/// see it (its existence is not disclosed).
pub async fn load_visible(
    tx: &mut dyn Tx,
    live: &LiveIndex,
    caller: &Caller,
    approval_id: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<ScheduleRequest> {
    let request = tx
        .get_schedule_request(approval_id)
        .await?
        .filter(|r| r.approval.is_some())
        .ok_or_else(|| Failure::not_found("approval"))?;
    if !may_read(tx, live, caller, &request, now).await? {
        return Err(Failure::not_found("approval"));
    }
    Ok(request)
}

/// Who decides a stage: a signed-in caller, or the approver a one-click mail link was made for.
#[derive(Debug, Clone)]
pub struct Reviewer {
    pub id: Uuid,
    pub initiator: Initiator,
}

impl Reviewer {
    pub fn of(caller: &Caller) -> Self {
        Self {
            id: caller.id,
            initiator: caller.initiator(),
        }
    }
}

/// `PATCH .../roleAssignmentApprovals/{id}/steps/{stepId}`.
pub async fn review(
    app: &App,
    caller: &Caller,
    approval_id: Uuid,
    step_id: Uuid,
    result: ReviewResult,
    justification: Option<String>,
) -> UseCaseResult<ScheduleRequest> {
    crate::service::authorize::audited(
        app,
        caller,
        "Review approval request",
        eligo_core::audit::Category::RoleManagement,
        async {
            // Rule 4: a decision on someone's access needs the approver's fresh second factor.
            crate::service::authorize::require_strong(app, caller)?;
            review_checked(app, caller, approval_id, step_id, result, justification).await
        },
    )
    .await
}

/// What a one-click approval link names: the stage, the approver it was sent to, the decision,
/// and the hash of its token (a link decides once).
pub struct LinkDecision {
    pub token_hash: String,
    pub request_id: Uuid,
    pub step_id: Uuid,
    pub approver_id: Uuid,
    pub result: ReviewResult,
}

/// A decision made through a mail link. The link only names the request; the decision is the
/// signed-in approver's, with the same fresh second factor any other decision needs (rule 4):
/// whoever reads the mail without being the approver, signed in, decides nothing. The link is
/// consumed in the decision's transaction, so a refusal leaves it usable.
pub async fn review_by_link(
    app: &App,
    caller: &Caller,
    link: &LinkDecision,
    justification: Option<String>,
) -> UseCaseResult<ScheduleRequest> {
    crate::service::authorize::audited(
        app,
        caller,
        "Review approval request",
        eligo_core::audit::Category::RoleManagement,
        async {
            if caller.id != link.approver_id {
                return Err(Failure::new(
                    crate::failure::Kind::Denied,
                    "ApprovalLinkForAnotherApprover",
                    "this approval link was sent to another approver",
                ));
            }
            crate::service::authorize::require_strong(app, caller)?;
            let now = app.clock.now();
            let mut tx = app.store.write().await?;
            if !tx
                .consume_link(&link.token_hash, now.timestamp_micros())
                .await?
            {
                return Err(Failure::new(
                    crate::failure::Kind::Conflict,
                    "ApprovalLinkUsed",
                    "this approval link was already used",
                ));
            }
            let request = review_in(
                app,
                &mut *tx,
                &Reviewer::of(caller),
                link.request_id,
                link.step_id,
                link.result,
                justification,
                now,
            )
            .await?;
            tx.commit().await?;
            app.scheduler
                .due_at(crate::service::pim::scheduler::next_due_of(&request, now));
            Ok(request)
        },
    )
    .await
}

async fn review_checked(
    app: &App,
    caller: &Caller,
    approval_id: Uuid,
    step_id: Uuid,
    result: ReviewResult,
    justification: Option<String>,
) -> UseCaseResult<ScheduleRequest> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    load_visible(&mut *tx, &app.access, caller, approval_id, now).await?;
    let request = review_in(
        app,
        &mut *tx,
        &Reviewer::of(caller),
        approval_id,
        step_id,
        result,
        justification,
        now,
    )
    .await?;
    tx.commit().await?;
    app.scheduler
        .due_at(crate::service::pim::scheduler::next_due_of(&request, now));
    Ok(request)
}

/// Records `reviewer`'s decision on one stage inside `tx` (the caller commits and then wakes
/// the scheduler with `next_due_of`): the approver is checked against the stage's approvers
/// as they are at `now`, the audit entry written, and an approved request granted.
#[allow(clippy::too_many_arguments)]
pub async fn review_in(
    app: &App,
    tx: &mut dyn Tx,
    reviewer: &Reviewer,
    approval_id: Uuid,
    step_id: Uuid,
    result: ReviewResult,
    justification: Option<String>,
    now: DateTime<Utc>,
) -> UseCaseResult<ScheduleRequest> {
    let mut request = tx
        .get_schedule_request(approval_id)
        .await?
        .filter(|r| r.approval.is_some())
        .ok_or_else(|| Failure::not_found("approval"))?;
    if request.status != RequestStatus::PendingApproval {
        return Err(Failure::bad_request(
            "ApprovalStepNotInProgress",
            format!(
                "this request is {} and no longer waits for a decision",
                request.status.as_str()
            ),
        ));
    }
    let Some(mut approval) = request.approval.clone() else {
        return Err(Failure::not_found("approval"));
    };
    let index = approval
        .steps
        .iter()
        .position(|s| s.id == step_id)
        .ok_or_else(|| Failure::not_found("approval step"))?;
    let who = approvers_of(tx, &app.access, &request, &approval.steps[index], now).await?;
    let outcome = approval
        .review(
            index,
            reviewer.id,
            result,
            justification,
            &who,
            &requester(&request),
            now,
        )
        .map_err(|refusal| {
            use eligo_core::approval::Refusal;
            let status = match refusal {
                Refusal::OwnRequest | Refusal::NotAnApprover => crate::failure::Kind::Denied,
                Refusal::AlreadyReviewed => crate::failure::Kind::Conflict,
                _ => crate::failure::Kind::Invalid,
            };
            Failure::new(status, refusal.code(), refusal.message())
        })?;
    request.approval = Some(approval);
    let target = load_target(tx, &request.target(), request.principal_id).await?;
    let (activity, stage) = match outcome {
        Outcome::Recorded { .. } | Outcome::NextStage { .. } => {
            ("Approve stage of role request (PIM)", index + 1)
        }
        Outcome::Approved => (
            "Add member to role request approved (PIM activation)",
            index + 1,
        ),
        Outcome::Denied => (
            "Add member to role request denied (PIM activation)",
            index + 1,
        ),
    };
    let mut event = role_event(now, activity, reviewer.initiator.clone(), &target, &request)
        .modified(format!("Approval stage {stage}"), "", format!("{result:?}"))
        .detail("stage", stage.to_string())
        .detail("reviewResult", format!("{result:?}"));
    if let Some(j) = request
        .approval
        .as_ref()
        .and_then(|a| a.steps[index].reviews.last())
        .and_then(|r| r.justification.clone())
    {
        event = event.detail("approverJustification", j);
    }
    tx.append_audit(event).await?;
    match outcome {
        Outcome::Denied => {
            request.status = RequestStatus::Denied;
            request.completed_date_time = Some(now);
        }
        Outcome::Approved => {
            activate::apply_approved(
                app,
                tx,
                &target,
                &mut request,
                reviewer.initiator.clone(),
                now,
            )
            .await?;
        }
        _ => {}
    }
    tx.update_schedule_request(&request).await?;
    crate::service::notices::after_request(app, tx, &target, &request, Some(reviewer.id), now)
        .await?;
    Ok(request)
}

/// `POST .../roleAssignmentScheduleRequests/{id}/cancel`: the requester withdraws a request
/// still waiting for approval (or for an administrator's decision on an extension), or a
/// scheduled activation that has not started.
pub async fn cancel(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    crate::service::authorize::audited(
        app,
        caller,
        "Cancel request (PIM)",
        eligo_core::audit::Category::RoleManagement,
        cancel_authorized(app, caller, id),
    )
    .await
}

async fn cancel_authorized(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut request = tx
        .get_schedule_request(id)
        .await?
        .filter(|r| {
            requester(r).contains(&caller.id)
                || crate::service::authorize::may(app, caller, actions::ROLE_ASSIGNMENTS_READ)
        })
        .ok_or_else(|| Failure::not_found("request"))?;
    if !requester(&request).contains(&caller.id) {
        return Err(Failure::forbidden("only the requester cancels a request"));
    }
    let scheduled = match (request.status, request.target_schedule_id) {
        (RequestStatus::Granted, Some(schedule)) => tx
            .get_role_schedule(schedule)
            .await?
            .filter(|s| s.start_date_time > now),
        _ => None,
    };
    if request.status == RequestStatus::Canceled {
        return Ok(()); // Cancelling twice changes nothing.
    }
    let waiting = matches!(
        request.status,
        RequestStatus::PendingApproval | RequestStatus::PendingAdminDecision
    );
    if !waiting && scheduled.is_none() {
        return Err(Failure::bad_request(
            "RequestNotCancelable",
            format!(
                "this request is {}; only a request waiting for approval or an administrator, or a scheduled activation that has not started, can be canceled",
                request.status.as_str()
            ),
        ));
    }
    if let Some(mut schedule) = scheduled {
        crate::service::pim::admin::end_now(&mut schedule, now);
        tx.update_role_schedule(&schedule).await?;
    }
    let old_status = request.status;
    request.status = RequestStatus::Canceled;
    request.completed_date_time = Some(now);
    tx.update_schedule_request(&request).await?;
    let target = load_target(&mut *tx, &request.target(), request.principal_id).await?;
    tx.append_audit(
        role_event(
            now,
            "Add member to role canceled (PIM activation)",
            caller.initiator(),
            &target,
            &request,
        )
        .modified("status", old_status.as_str(), request.status.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Requests now waiting on `caller`'s decision.
pub async fn waiting_on(app: &App, caller: &Caller) -> UseCaseResult<Vec<ScheduleRequest>> {
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let pending = tx
        .list_schedule_requests(
            &RequestQuery {
                status: Some(RequestStatus::PendingApproval),
                ..Default::default()
            },
            Page::ALL,
        )
        .await?;
    let mut out = Vec::new();
    for request in pending {
        let Some(approval) = &request.approval else {
            continue;
        };
        let Some(index) = approval.current() else {
            continue;
        };
        let who =
            approvers_of(&mut *tx, &app.access, &request, &approval.steps[index], now).await?;
        if approval
            .may_review(index, caller.id, &who, &requester(&request), now)
            .is_ok()
        {
            out.push(request);
        }
    }
    Ok(out)
}
