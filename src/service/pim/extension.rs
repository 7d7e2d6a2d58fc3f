//! A holder's request that administrators extend an eligibility or an active assignment an
//! administrator gave them (Graph's `selfExtend` of such a schedule; Entra's "Extend" on an
//! assignment that ends within 14 days). It grants nothing by itself: the request waits as
//! `PendingAdminDecision` until someone who may `adminExtend` that assignment extends it (their
//! `adminExtend` or `adminRenew` completes it; an `adminRemove` withdraws it) or declines it.
//! The holder may cancel it while it waits (`approve::cancel`). Whether it may be asked is
//! `eligo_core::assignment::decide_extension_request`.

use chrono::{DateTime, Utc};
use eligo_core::assignment::{ExtensionAsk, decide_extension_request};
use eligo_core::audit::{Category, Initiator};
use eligo_core::request::{RequestAction, RequestKind, RequestStatus, ScheduleRequest};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::{Page, RequestQuery, Targets, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;
use crate::service::pim::{Target, does_not_exist, live_schedules, role_event, rule_failure};

fn schedule_kind(kind: RequestKind) -> ScheduleKind {
    match kind {
        RequestKind::Eligibility => ScheduleKind::Eligible,
        RequestKind::Assignment => ScheduleKind::Active,
    }
}

fn word(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Eligibility => "eligible",
        RequestKind::Assignment => "active",
    }
}

/// The principal's own assignment of `kind` that an administrator gave, at exactly this role
/// and scope, that has not ended: what an extension request is about.
pub async fn given(
    tx: &mut dyn Tx,
    kind: RequestKind,
    principal: Uuid,
    role: Uuid,
    scope: &str,
    now: DateTime<Utc>,
) -> UseCaseResult<Option<RoleSchedule>> {
    let live = live_schedules(tx, schedule_kind(kind), vec![principal], role, now).await?;
    Ok(live.into_iter().find(|s| {
        s.assignment_type == AssignmentType::Assigned
            && s.principal_id == principal
            && s.directory_scope_id == scope
    }))
}

/// Extension requests of this principal for this kind, role and scope that wait for an
/// administrator, oldest first.
pub async fn waiting(
    tx: &mut dyn Tx,
    kind: RequestKind,
    principal: Uuid,
    role: Uuid,
    scope: &str,
) -> UseCaseResult<Vec<ScheduleRequest>> {
    let mut out = tx
        .list_schedule_requests(
            &RequestQuery {
                kind: Some(kind),
                principal_id: Some(principal),
                role_definition_id: Some(role),
                directory_scope_id: Some(scope.to_string()),
                status: Some(RequestStatus::PendingAdminDecision),
                created_by: None,
                targets: Targets::All,
            },
            Page::ALL,
        )
        .await?;
    out.sort_by_key(|r| r.created_date_time);
    Ok(out)
}

/// `selfExtend` of an assignment an administrator gave: checked, then recorded as waiting for
/// an administrator (the caller, `submit`, stores the request).
pub async fn ask(
    caller: &Caller,
    tx: &mut dyn Tx,
    target: &Target,
    request: &mut ScheduleRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let kind = request.kind;
    let schedule = given(
        tx,
        kind,
        request.principal_id,
        request.role_definition_id,
        &request.directory_scope_id,
        now,
    )
    .await?
    .ok_or_else(|| {
        does_not_exist(match kind {
            RequestKind::Eligibility => "eligibility given by an administrator",
            RequestKind::Assignment => {
                "running activation, nor an active assignment given by an administrator,"
            }
        })
    })?;
    let waiting = waiting(
        tx,
        kind,
        request.principal_id,
        request.role_definition_id,
        &request.directory_scope_id,
    )
    .await?
    .into_iter()
    .find(|r| r.id != request.id && r.target_schedule_id == Some(schedule.id))
    .map(|r| r.id);
    let rule = match kind {
        RequestKind::Eligibility => &target.policy.rules.expiration_admin_eligibility,
        RequestKind::Assignment => &target.policy.rules.expiration_admin_assignment,
    };
    decide_extension_request(
        rule,
        &ExtensionAsk {
            current_end: schedule.end_date_time,
            justification: request.justification.clone(),
            expiration: request.schedule_info.expiration(),
            waiting,
        },
        now,
    )
    .map_err(rule_failure)?;
    request.status = RequestStatus::PendingAdminDecision;
    request.target_schedule_id = Some(schedule.id);
    let activity = match kind {
        RequestKind::Eligibility => "Extend eligible member in role requested (PIM)",
        RequestKind::Assignment => "Extend member in role requested (PIM)",
    };
    tx.append_audit(role_event(
        now,
        activity,
        caller.initiator(),
        target,
        request,
    ))
    .await?;
    Ok(())
}

/// After an administrator's `adminExtend`, `adminRenew` or `adminRemove` (`done`, already
/// decided): the holder's extension requests for that assignment that wait are completed with
/// it, or — removed — withdrawn. Each change has its audit entry in the same transaction.
pub async fn settle(
    tx: &mut dyn Tx,
    target: &Target,
    done: &ScheduleRequest,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let pending = waiting(
        tx,
        done.kind,
        done.principal_id,
        done.role_definition_id,
        &done.directory_scope_id,
    )
    .await?;
    let word = word(done.kind);
    for mut request in pending {
        let activity = if done.action == RequestAction::AdminRemove {
            request.status = RequestStatus::Canceled;
            request.status_detail = Some(format!(
                "withdrawn: an administrator removed the {word} assignment"
            ));
            "Extend member in role request canceled (PIM)"
        } else {
            request.status = done.status;
            request.granted_schedule = done.granted_schedule.clone();
            request.target_schedule_id = done.target_schedule_id;
            request.status_detail = Some(format!(
                "extended by an administrator (request {})",
                done.id
            ));
            "Extend member in role request completed (PIM)"
        };
        request.completed_date_time = Some(now);
        tx.update_schedule_request(&request).await?;
        let activity = match done.kind {
            RequestKind::Eligibility => activity.replace("Extend member", "Extend eligible member"),
            RequestKind::Assignment => activity.to_string(),
        };
        tx.append_audit(
            role_event(now, &activity, initiator.clone(), target, &request)
                .detail("decidedWith", done.id.to_string()),
        )
        .await?;
    }
    Ok(())
}

/// Declines a holder's extension request: whoever may `adminExtend` the assignment may decline
/// it (the same authorization), with an optional reason the holder reads. Nothing else changes.
pub async fn decline(
    app: &App,
    caller: &Caller,
    id: Uuid,
    reason: Option<String>,
) -> UseCaseResult<ScheduleRequest> {
    // The audit category of a refusal follows what the request is about.
    let is_group = {
        let mut tx = app.store.read().await?;
        tx.get_schedule_request(id)
            .await?
            .is_some_and(|r| r.target().is_group())
    };
    let category = if is_group {
        Category::GroupManagement
    } else {
        Category::RoleManagement
    };
    authorize::audited(
        app,
        caller,
        "Decline extension request (PIM)",
        category,
        decline_authorized(app, caller, id, reason),
    )
    .await
}

async fn decline_authorized(
    app: &App,
    caller: &Caller,
    id: Uuid,
    reason: Option<String>,
) -> UseCaseResult<ScheduleRequest> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut request = tx
        .get_schedule_request(id)
        .await?
        .ok_or_else(|| Failure::not_found("request"))?;
    let target = super::load_target(&mut *tx, &request.target(), request.principal_id).await?;
    crate::service::authority::authorize_admin(
        app,
        caller,
        &mut *tx,
        &target,
        request.principal_id,
        true,
    )
    .await?;
    if request.status != RequestStatus::PendingAdminDecision {
        return Err(Failure::bad_request(
            "RequestNotPending",
            format!(
                "this request is {} and no longer waits for an administrator",
                request.status.as_str()
            ),
        ));
    }
    let reason = reason.filter(|r| !r.trim().is_empty());
    let who = app
        .access
        .principal(caller.id)
        .map(|(_, n)| n)
        .unwrap_or_else(|| "an administrator".into());
    request.status = RequestStatus::Denied;
    request.status_detail = Some(match &reason {
        Some(r) => format!("declined by {who}: {r}"),
        None => format!("declined by {who}"),
    });
    request.completed_date_time = Some(now);
    tx.update_schedule_request(&request).await?;
    let activity = match request.kind {
        RequestKind::Eligibility => "Extend eligible member in role request denied (PIM)",
        RequestKind::Assignment => "Extend member in role request denied (PIM)",
    };
    let mut event = role_event(now, activity, caller.initiator(), &target, &request);
    if let Some(r) = &reason {
        event = event.detail("reason", r.as_str());
    }
    tx.append_audit(event).await?;
    crate::service::notices::after_request(app, &mut *tx, &target, &request, Some(caller.id), now)
        .await?;
    tx.commit().await?;
    Ok(request)
}
