//! Approvals of access package assignment requests (`accessPackageAssignmentApprovals`). The
//! approval id is the request id; its stages are the policy's as copied onto the request when
//! it was made, decided by the one approval engine (`eligo_core::approval`). Who may decide a
//! stage is resolved here at the moment of the review: named users, the members of a group
//! (transitively, from the access index), the target's manager (level 1 or 2); the fallback
//! approvers when the primary ones resolve to nobody, and the escalation approvers (or their
//! fallback) once the stage has waited `durationBeforeEscalation`. The requestor (whoever filed
//! it) and the target never count. Approving the last stage decides the request again (the
//! schedule's clock starts then; duplicates and separation of duties are checked again) and
//! delivers it through the same code as a request that needed no approval, in the decision's
//! transaction.

use chrono::{DateTime, Utc};
use eligo_core::approval::{Outcome, Refusal, ReviewResult, Step};
use eligo_core::authz::actions;
use eligo_core::directory::PrincipalKind;
use eligo_core::entitlement::approval::ApprovalStage;
use eligo_core::entitlement::request::{AssignmentRequest, RequestState, Submission};
use eligo_store::{AssignmentRequestQuery, Tx};
use uuid::Uuid;

pub(crate) use super::approvers::approvers_of;
use super::approvers::excluded;
use super::{record, submit};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, Kind, UseCaseResult};
use crate::service::authorize;
use crate::service::entitlement::{CATEGORY, event, notices};

const ACTIVITY: &str = "Review access package assignment request";

/// One stage as a reader sees it.
#[derive(Debug, Clone)]
pub struct StageView {
    pub step: Step,
    pub settings: ApprovalStage,
    pub assigned_to_me: bool,
}

/// An approval: the request's id and its stages.
#[derive(Debug, Clone)]
pub struct ApprovalView {
    pub id: Uuid,
    pub request: AssignmentRequest,
    pub stages: Vec<StageView>,
}

/// The stages (1-based) whose approvers, fallback and escalation included, resolve to nobody
/// for `request` at `now`: such a request could only time out, so it is refused when made.
pub(super) fn stages_nobody_decides(
    app: &App,
    request: &AssignmentRequest,
    stages: &[ApprovalStage],
    now: DateTime<Utc>,
) -> Vec<usize> {
    stages
        .iter()
        .enumerate()
        .filter(|(_, stage)| {
            let who = approvers_of(app, request, stage, now);
            who.primary.is_empty() && who.escalation.is_empty()
        })
        .map(|(i, _)| i + 1)
        .collect()
}

fn view(
    app: &App,
    caller: &Caller,
    request: AssignmentRequest,
    now: DateTime<Utc>,
) -> ApprovalView {
    let mut stages = Vec::new();
    if let Some(a) = &request.approval {
        for (i, (step, settings)) in a.progress.steps.iter().zip(&a.stages).enumerate() {
            let assigned_to_me = request.state == RequestState::PendingApproval
                && a.progress
                    .may_review(
                        i,
                        caller.id,
                        &approvers_of(app, &request, settings, now),
                        &excluded(&request),
                        now,
                    )
                    .is_ok();
            stages.push(StageView {
                step: step.clone(),
                settings: settings.clone(),
                assigned_to_me,
            });
        }
    }
    ApprovalView {
        id: request.id,
        request,
        stages,
    }
}

/// May `caller` read this approval? Its requestor and target, readers of entitlement
/// management, and whoever is (or was) an approver of one of its stages.
fn may_read(app: &App, caller: &Caller, request: &AssignmentRequest, now: DateTime<Utc>) -> bool {
    if excluded(request).contains(&caller.id)
        || authorize::permits(caller, actions::ENTITLEMENT_READ).is_ok()
    {
        return true;
    }
    let Some(a) = &request.approval else {
        return false;
    };
    a.progress.steps.iter().zip(&a.stages).any(|(step, stage)| {
        step.reviews.iter().any(|r| r.reviewed_by == caller.id) || {
            let who = approvers_of(app, request, stage, now);
            who.primary.contains(&caller.id) || who.escalation.contains(&caller.id)
        }
    })
}

/// `GET accessPackageAssignmentApprovals/{id}`: 404 when there is none or the caller may not
/// see it (its existence is not disclosed).
pub async fn get_approval(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<ApprovalView> {
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let request = tx
        .get_assignment_request(id)
        .await?
        .filter(|r| r.approval.is_some())
        .filter(|r| may_read(app, caller, r, now))
        .ok_or_else(|| Failure::not_found("approval"))?;
    Ok(view(app, caller, request, now))
}

/// `filterByCurrentUser(on='approver')`: the requests waiting on a decision the caller may
/// make now.
pub async fn waiting_on_me(app: &App, caller: &Caller) -> UseCaseResult<Vec<ApprovalView>> {
    let now = app.clock.now();
    let all = {
        let mut tx = app.store.read().await?;
        tx.list_assignment_requests(&AssignmentRequestQuery {
            state: Some(RequestState::PendingApproval),
            ..Default::default()
        })
        .await?
    };
    Ok(all
        .into_iter()
        .filter(|r| r.approval.is_some())
        .map(|r| view(app, caller, r, now))
        .filter(|v| v.stages.iter().any(|s| s.assigned_to_me))
        .collect())
}

/// `PATCH accessPackageAssignmentApprovals/{id}/stages/{stageId}`: needs a fresh second factor
/// (a refusal is audited); the request is read again inside the write transaction, so a second
/// approver, a cancel or the timeout that came first wins and this one is a 409.
pub async fn review(
    app: &App,
    caller: &Caller,
    id: Uuid,
    stage_id: Uuid,
    result: ReviewResult,
    justification: Option<String>,
) -> UseCaseResult<AssignmentRequest> {
    authorize::audited(app, caller, ACTIVITY, CATEGORY, async {
        authorize::require_strong(app, caller)?;
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let request = review_in(
            app,
            caller,
            &mut *tx,
            id,
            stage_id,
            result,
            justification,
            now,
        )
        .await?;
        tx.commit().await?;
        if let Some(a) = request.assignment_id {
            let mut tx = app.store.read().await?;
            if let Some(a) = tx.get_assignment(a).await? {
                app.scheduler.due_at(a.due_at());
            }
        }
        app.scheduler.due_at(request.deadline());
        Ok(request)
    })
    .await
}

#[allow(clippy::too_many_arguments)]
async fn review_in(
    app: &App,
    caller: &Caller,
    tx: &mut dyn Tx,
    id: Uuid,
    stage_id: Uuid,
    result: ReviewResult,
    justification: Option<String>,
    now: DateTime<Utc>,
) -> UseCaseResult<AssignmentRequest> {
    let mut request = tx
        .get_assignment_request(id)
        .await?
        .filter(|r| r.approval.is_some())
        .filter(|r| may_read(app, caller, r, now))
        .ok_or_else(|| Failure::not_found("approval"))?;
    if request.state != RequestState::PendingApproval {
        return Err(Failure::conflict(
            "RequestNotPendingApproval",
            format!(
                "the request is {} and no longer waits for a decision",
                request.state.as_str()
            ),
        ));
    }
    let Some(mut approval) = request.approval.clone() else {
        return Err(Failure::not_found("approval"));
    };
    let index = approval
        .progress
        .steps
        .iter()
        .position(|s| s.id == stage_id)
        .ok_or_else(|| Failure::not_found("approval stage"))?;
    let who = approvers_of(app, &request, &approval.stages[index], now);
    let outcome = approval
        .progress
        .review(
            index,
            caller.id,
            result,
            justification,
            &who,
            &excluded(&request),
            now,
        )
        .map_err(|refusal| {
            let kind = match refusal {
                Refusal::OwnRequest | Refusal::NotAnApprover => Kind::Denied,
                Refusal::AlreadyReviewed | Refusal::StepNotInProgress | Refusal::Expired => {
                    Kind::Conflict
                }
                Refusal::UnknownStep => Kind::NotFound,
                Refusal::JustificationRequired => Kind::Invalid,
            };
            Failure::new(kind, refusal.code(), refusal.message())
        })?;
    request.approval = Some(approval);
    let package =
        crate::service::entitlement::packages::load(tx, request.access_package_id).await?;
    let decided = event(app, caller, ACTIVITY)
        .target(request.id, "AccessPackageAssignmentRequest", None)
        .target(package.id, "AccessPackage", Some(&package.display_name))
        .target(request.target_id, "DirectoryObject", None)
        .detail("stage", (index + 1).to_string())
        .detail("reviewResult", format!("{result:?}"));
    let next_stage = matches!(outcome, Outcome::NextStage { .. });
    match outcome {
        Outcome::Recorded { .. } | Outcome::NextStage { .. } => {
            tx.update_assignment_request(&request).await?;
            tx.append_audit(decided).await?;
        }
        Outcome::Denied => {
            end_denied(&mut request, "Denied", now);
            tx.update_assignment_request(&request).await?;
            tx.append_audit(decided.detail("requestState", request.state.as_str()))
                .await?;
        }
        Outcome::Approved => {
            tx.update_assignment_request(&request).await?;
            tx.append_audit(decided).await?;
            super::callouts::notify(
                app,
                tx,
                eligo_core::entitlement::policy::CustomExtensionStage::AssignmentRequestApproved,
                &request,
                None,
                now,
            )
            .await?;
            approved(app, caller, tx, &mut request, now).await?;
        }
    }
    notices::after_review(app, tx, &request, next_stage, now).await?;
    Ok(request)
}

fn end_denied(request: &mut AssignmentRequest, status: &str, now: DateTime<Utc>) {
    request.state = RequestState::Denied;
    request.status = status.into();
    request.completed_date_time = Some(now);
}

/// The last stage approved: decide the request again now and deliver it, or leave it denied
/// with why (a duplicate, separation of duties, a policy that no longer lets its requestor
/// ask), nothing delivered.
pub(super) async fn approved(
    app: &App,
    caller: &Caller,
    tx: &mut dyn Tx,
    request: &mut AssignmentRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
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
        Ok(prepared) if super::scheduled::hold(request, &prepared, now) => {
            tx.update_assignment_request(request).await?;
            Ok(())
        }
        Ok(prepared) => submit::fulfil(app, caller, tx, request, prepared, now).await,
        Err(problems) => {
            let why: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.code, p.message))
                .collect();
            end_denied(request, &format!("Denied: {}", why.join("; ")), now);
            tx.update_assignment_request(request).await?;
            let package =
                crate::service::entitlement::packages::load(tx, request.access_package_id).await?;
            tx.append_audit(
                record::request_event(
                    app,
                    caller,
                    "Deny access package assignment request at approval",
                    request,
                    &package,
                )
                .detail("reason", why.join("; ")),
            )
            .await?;
            Ok(())
        }
    }
}

/// The scheduler's timeout of a request whose current stage was not decided in time
/// (`durationBeforeAutomaticDenial`): the request ends `denied` with status `TimedOut`, nothing
/// delivered. `request` is as read in this transaction; false when it was not due after all
/// (decided, canceled or timed out already), so a restart never denies twice.
pub async fn time_out(
    tx: &mut dyn Tx,
    request: &AssignmentRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<bool> {
    let mut request = request.clone();
    if request.state != RequestState::PendingApproval {
        return Ok(false);
    }
    let Some(mut approval) = request.approval.clone() else {
        return Ok(false);
    };
    if !approval.progress.expire(now) {
        return Ok(false);
    }
    request.approval = Some(approval);
    end_denied(&mut request, "TimedOut", now);
    tx.update_assignment_request(&request).await?;
    tx.append_audit(
        eligo_core::audit::AuditEvent::new(
            now,
            CATEGORY,
            "Access package assignment request timed out",
            eligo_core::audit::Initiator::system(),
        )
        .target(request.id, "AccessPackageAssignmentRequest", None)
        .target(request.access_package_id, "AccessPackage", None)
        .target(request.target_id, "DirectoryObject", None)
        .detail("requestState", request.state.as_str())
        .detail("requestStatus", "TimedOut"),
    )
    .await?;
    Ok(true)
}
