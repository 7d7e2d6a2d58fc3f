//! A principal's actions on its own access: activate, deactivate, extend and renew an
//! activation (a `selfExtend` of what an administrator gave goes to `extension`). The decision is `eligo_core::activation::decide_activation`; when the policy
//! asks for approval the request waits (no schedule yet) and `apply_approved` grants it once the
//! last stage approves, re-checking everything then: the activation's clock starts at approval.

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::activation::{ActivationRequest, Grant, decide_activation};
use eligo_core::approval::Approval;
use eligo_core::invalid::Invalid;
use eligo_core::request::{RequestAction, RequestKind, RequestStatus, ScheduleRequest};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_core::{policy::ApprovalStage, scope};
use eligo_store::{ReadAhead, RequestQuery, ScheduleQuery, Targets, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::UseCaseResult;
use crate::service::pim::admin::{end_now, grant};
use crate::service::pim::{
    Target, does_not_exist, holders, live_query, live_schedules, role_event, rule_failure,
    schedule_changed,
};

/// A renewal re-activates what ended at most this long ago.
const RENEWABLE_FOR: TimeDelta = TimeDelta::days(1);

pub async fn run(
    app: &App,
    caller: &Caller,
    tx: &mut dyn Tx,
    target: &Target,
    request: &mut ScheduleRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let mfa_is_fresh = caller.mfa_is_fresh(now, app.config.mfa_freshness);
    let proof = Proof {
        mfa_is_fresh,
        acr: caller
            .fresh_acr(now, app.config.mfa_freshness)
            .map(str::to_string),
    };
    let approval = &target.policy.rules.approval_end_user_assignment;
    match request.action {
        RequestAction::SelfActivate | RequestAction::SelfRenew => {
            if request.action == RequestAction::SelfRenew
                && !recently_ended(tx, request, now).await?
            {
                return Err(does_not_exist(
                    "activation that ended within the last day to renew",
                ));
            }
            let decided = decide(app, tx, target, request, now, &proof, None).await?;
            let needs_approval = match request.action {
                RequestAction::SelfRenew => {
                    approval.is_approval_required || approval.is_approval_required_for_extension
                }
                _ => decided.1.needs_approval,
            };
            if needs_approval {
                wait_for_approval(request, &approval.approval_stages, now);
                tx.append_audit(role_event(
                    now,
                    "Add member to role requested (PIM activation)",
                    caller.initiator(),
                    target,
                    request,
                ))
                .await?;
            } else {
                tx.append_audit(role_event(
                    now,
                    "Add member to role requested (PIM activation)",
                    caller.initiator(),
                    target,
                    request,
                ))
                .await?;
                create_activation(tx, target, request, decided, caller.initiator(), now).await?;
            }
        }
        RequestAction::SelfExtend => {
            // An eligibility, or an active assignment an administrator gave (no activation to
            // extend): the request asks administrators, and waits for their decision.
            let activation = match request.kind {
                RequestKind::Eligibility => None,
                RequestKind::Assignment => current_activation(tx, request, now).await?,
            };
            let Some(mut current) = activation else {
                return crate::service::pim::extension::ask(caller, tx, target, request, now).await;
            };
            let decided = decide(app, tx, target, request, now, &proof, Some(current.id)).await?;
            if current.end_date_time.is_some_and(|e| decided.1.end <= e) {
                return Err(rule_failure(vec![Invalid::new(
                    "ExpirationRule",
                    "scheduleInfo.expiration",
                    "an extension must end after the activation's current end",
                )]));
            }
            // Rule 5: whatever lengthens access is an activation. An extension waits for the
            // approval an activation would need, or one asked for extensions alone.
            if decided.1.needs_approval
                || approval.is_approval_required
                || approval.is_approval_required_for_extension
            {
                wait_for_approval(request, &approval.approval_stages, now);
                request.target_schedule_id = Some(current.id);
                tx.append_audit(role_event(
                    now,
                    "Extend member in role requested (PIM activation)",
                    caller.initiator(),
                    target,
                    request,
                ))
                .await?;
            } else {
                extend_with(
                    tx,
                    target,
                    request,
                    &mut current,
                    decided,
                    caller.initiator(),
                    now,
                )
                .await?;
            }
        }
        RequestAction::SelfDeactivate => {
            let mut current = current_activation(tx, request, now)
                .await?
                .ok_or_else(|| does_not_exist("activation"))?;
            if let Some(from) = eligo_core::activation::deactivatable_from(
                current.start_date_time,
                now,
                app.config.min_duration,
            ) {
                return Err(rule_failure(vec![Invalid::new(
                    "ActiveDurationTooShort",
                    "roleDefinitionId",
                    format!(
                        "You can deactivate it from {}, {} after it started.",
                        crate::notify::templates::format_time(from),
                        eligo_core::duration_words::in_words(app.config.min_duration)
                    ),
                )]));
            }
            let before = current.clone();
            end_now(&mut current, now);
            tx.update_role_schedule(&current).await?;
            crate::service::pim::cascade::after_schedule_ended(
                app,
                tx,
                &current,
                &caller.initiator(),
                now,
            )
            .await?;
            request.target_schedule_id = Some(current.id);
            request.status = RequestStatus::Revoked;
            request.completed_date_time = Some(now);
            tx.append_audit(schedule_changed(
                role_event(
                    now,
                    "Remove member from role completed (PIM deactivate)",
                    caller.initiator(),
                    target,
                    request,
                ),
                Some(&before),
                Some(&current),
            ))
            .await?;
        }
        _ => unreachable!("admin actions are routed to admin::run"),
    }
    Ok(())
}

/// Grants an approved request: decides it again as of `now` (eligibility, duplicates, the
/// maximum from now), then creates or extends the activation. A request that no longer holds
/// fails with the reasons in `statusDetail`. The approver's review is what triggered this.
pub async fn apply_approved(
    app: &App,
    tx: &mut dyn Tx,
    target: &Target,
    request: &mut ScheduleRequest,
    initiator: eligo_core::audit::Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    // Rule 6: a principal disabled while its request waited is granted nothing, whoever
    // approves (the disable cancels waiting requests; this holds whatever disabled it).
    if !target.principal.enabled {
        return fail(
            tx,
            target,
            request,
            "the account is disabled",
            initiator,
            now,
        )
        .await;
    }
    let extending = match request.action {
        RequestAction::SelfExtend => match current_activation(tx, request, now).await? {
            Some(current) => Some(current),
            None => {
                return fail(
                    tx,
                    target,
                    request,
                    "the activation to extend has ended",
                    initiator,
                    now,
                )
                .await;
            }
        },
        _ => None,
    };
    let decided = decide(
        app,
        tx,
        target,
        request,
        now,
        // The requester's proof was checked when they asked; the authentication context too.
        &Proof {
            mfa_is_fresh: true,
            acr: target
                .policy
                .rules
                .authentication_context_end_user_assignment
                .claim_value
                .clone(),
        },
        extending.as_ref().map(|c| c.id),
    )
    .await;
    let decided = match decided {
        Ok(d) => d,
        Err(e) => {
            let reasons: Vec<String> = e.details.iter().map(|d| d.message.clone()).collect();
            return fail(tx, target, request, &reasons.join("; "), initiator, now).await;
        }
    };
    // Separation of duties again as of approval: a rule declared while the request waited.
    if let crate::service::pim::Governed::Group {
        group,
        access: eligo_core::target::GroupAccess::Member,
    } = &target.governed
        && let Err(e) =
            crate::service::separation::check_membership(app, tx, group.id, &[request.principal_id])
                .await
    {
        if !crate::service::separation::is_refusal(&e) {
            return Err(e);
        }
        let reason = format!("{}: {}", e.code, e.message);
        return fail(tx, target, request, &reason, initiator, now).await;
    }
    match extending {
        Some(mut current) => {
            extend_with(tx, target, request, &mut current, decided, initiator, now).await
        }
        None => create_activation(tx, target, request, decided, initiator, now).await,
    }
}

async fn fail(
    tx: &mut dyn Tx,
    target: &Target,
    request: &mut ScheduleRequest,
    reason: &str,
    initiator: eligo_core::audit::Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    request.status = RequestStatus::Failed;
    request.status_detail = Some(format!("approved, but no longer grantable: {reason}"));
    request.completed_date_time = Some(now);
    tx.append_audit(
        role_event(
            now,
            "Add member to role request failed (PIM activation)",
            initiator,
            target,
            request,
        )
        .failed(reason),
    )
    .await?;
    Ok(())
}

fn wait_for_approval(request: &mut ScheduleRequest, stages: &[ApprovalStage], now: DateTime<Utc>) {
    let stages: Vec<ApprovalStage> = if stages.is_empty() {
        // Approval required without stages: one stage of the default approvers.
        vec![
            eligo_core::policy::PolicyRules::default()
                .approval_end_user_assignment
                .approval_stages[0]
                .clone(),
        ]
    } else {
        stages.to_vec()
    };
    request.approval = Some(Approval::start(&stages, Uuid::new_v4, now));
    request.status = RequestStatus::PendingApproval;
}

/// What the requester's session proved: a recent second factor, and the authentication
/// context its identity provider vouched for (OIDC `acr`).
struct Proof {
    mfa_is_fresh: bool,
    acr: Option<String>,
}

/// Runs the core decision with what the store knows: the eligibilities (direct or through
/// role-assignable groups), the activations and assignments already there, and the
/// activation requests still pending (a second request for the same role and scope is a
/// duplicate). `extending` is left out of the duplicates. Returns the covering eligibility.
async fn decide(
    app: &App,
    tx: &mut dyn Tx,
    target: &Target,
    request: &ScheduleRequest,
    now: DateTime<Utc>,
    proof: &Proof,
    extending: Option<Uuid>,
) -> UseCaseResult<(Option<Uuid>, Grant)> {
    let role = request.role_definition_id;
    // The eligibilities of the holders (the principal and its role-assignable groups) and the
    // principal's own activations and assignments, in one read.
    let (eligible, mut active): (Vec<_>, Vec<_>) =
        live_schedules(tx, None, holders(app, request.principal_id), role, now)
            .await?
            .into_iter()
            .partition(|s| s.kind == ScheduleKind::Eligible);
    active.retain(|s| s.principal_id == request.principal_id && Some(s.id) != extending);
    let pending = match extending {
        None => pending_requests(tx, request).await?,
        Some(_) => Vec::new(),
    };
    let asked_start = request.schedule_info.start_date_time;
    let start = match request.action {
        // An extension is decided as a fresh window from now.
        RequestAction::SelfExtend => None,
        // At approval the clock starts now, unless the requester asked for a later start.
        _ if request.status == RequestStatus::PendingApproval => asked_start.filter(|s| *s > now),
        _ => asked_start,
    };
    let asked = ActivationRequest {
        directory_scope_id: request.directory_scope_id.clone(),
        justification: request.justification.clone(),
        ticket: request.ticket_info.clone(),
        start,
        expiration: request.schedule_info.expiration(),
        mfa_is_fresh: proof.mfa_is_fresh,
        acr: proof.acr.clone(),
    };
    let grant = decide_activation(
        &target.policy.rules,
        &asked,
        &eligible,
        &active,
        &pending,
        now,
        app.config.min_duration,
    )
    .map_err(rule_failure)?;
    let covering = eligible
        .iter()
        .find(|e| {
            scope::covers(&e.directory_scope_id, &request.directory_scope_id)
                && e.start_date_time <= grant.start
                && e.end_date_time.is_none_or(|end| grant.end <= end)
        })
        .map(|e| e.id);
    Ok((covering, grant))
}

/// What `pending_requests` asks the store.
fn pending_query(principal: Uuid, role: Uuid, scope: &str) -> RequestQuery {
    RequestQuery {
        kind: Some(RequestKind::Assignment),
        principal_id: Some(principal),
        role_definition_id: Some(role),
        directory_scope_id: Some(scope.to_string()),
        status: Some(RequestStatus::PendingApproval),
        created_by: None,
        targets: Targets::All,
    }
}

/// What `decide` reads for a self-activation (the principal, its and its groups' schedules of
/// the role, its pending requests), to be asked of the store in one round trip
/// (`Store::write_reading_ahead`, `load_target_reading_ahead`): inside the serialized write,
/// each read is a round trip the next writer waits for. A read that no longer asks the same (the index moved in between)
/// goes to the store.
pub fn reads_ahead(app: &App, principal: Uuid, role: Uuid, scope: &str) -> ReadAhead {
    ReadAhead {
        principals: vec![principal],
        schedules: Some(live_query(None, holders(app, principal), role)),
        requests: Some((
            pending_query(principal, role, scope),
            eligo_store::Page::ALL,
        )),
    }
}

/// The ids of this principal's activation requests for this role and scope still waiting for
/// approval (not this one, not extensions): a second request while one waits is a duplicate.
async fn pending_requests(tx: &mut dyn Tx, request: &ScheduleRequest) -> UseCaseResult<Vec<Uuid>> {
    let query = pending_query(
        request.principal_id,
        request.role_definition_id,
        &request.directory_scope_id,
    );
    let pending = tx
        .list_schedule_requests(&query, eligo_store::Page::ALL)
        .await?;
    Ok(pending
        .iter()
        .filter(|p| p.id != request.id && p.action != RequestAction::SelfExtend)
        .map(|p| p.id)
        .collect())
}

async fn create_activation(
    tx: &mut dyn Tx,
    target: &Target,
    request: &mut ScheduleRequest,
    (eligibility, decided): (Option<Uuid>, Grant),
    initiator: eligo_core::audit::Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let end = (decided.end != DateTime::<Utc>::MAX_UTC).then_some(decided.end);
    let mut schedule = RoleSchedule::new(
        super::new_schedule_id(now),
        ScheduleKind::Active,
        request.principal_id,
        request.role_definition_id,
        request.directory_scope_id.clone(),
        (decided.start, end),
        AssignmentType::Activated,
        Some(request.created_by),
        now,
    );
    schedule.created_using = Some(request.id);
    schedule.linked_eligibility_id = eligibility;
    tx.insert_role_schedule(&schedule).await?;
    // The history reviews and alerts read, in the transaction of the grant: at once, or at
    // the approval that completes the request (when it was granted, even for a later start).
    tx.record_activation(&eligo_store::Activation {
        principal_id: schedule.principal_id,
        target: schedule.target(),
        schedule_id: schedule.id,
        activated_at: now,
    })
    .await?;
    grant(request, &schedule, now);
    let activity = if schedule.start_date_time > now {
        "Add member to role scheduled (PIM activation)"
    } else {
        "Add member to role completed (PIM activation)"
    };
    tx.append_audit(schedule_changed(
        role_event(now, activity, initiator, target, request),
        None,
        Some(&schedule),
    ))
    .await?;
    Ok(())
}

async fn extend_with(
    tx: &mut dyn Tx,
    target: &Target,
    request: &mut ScheduleRequest,
    current: &mut RoleSchedule,
    (eligibility, grant_decided): (Option<Uuid>, Grant),
    initiator: eligo_core::audit::Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let before = current.clone();
    let end = grant_decided.end;
    current.end_date_time = (end != DateTime::<Utc>::MAX_UTC).then_some(end);
    // The longer window is drawn from the eligibility that covers it, which may not be the one
    // the activation began with: ending that one (a membership removed) must end this too.
    if eligibility.is_some() {
        current.linked_eligibility_id = eligibility;
    }
    current.end_pending = current.end_date_time.is_some();
    tx.update_role_schedule(current).await?;
    grant(request, current, now);
    tx.append_audit(schedule_changed(
        role_event(
            now,
            "Extend member in role completed (PIM activation)",
            initiator,
            target,
            request,
        ),
        Some(&before),
        Some(current),
    ))
    .await?;
    Ok(())
}

/// The principal's own activation of this role at exactly this scope that has not ended
/// (running, or scheduled to start later).
async fn current_activation(
    tx: &mut dyn Tx,
    request: &ScheduleRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<Option<RoleSchedule>> {
    let live = live_schedules(
        tx,
        ScheduleKind::Active,
        vec![request.principal_id],
        request.role_definition_id,
        now,
    )
    .await?;
    Ok(live.into_iter().find(|s| {
        s.assignment_type == AssignmentType::Activated
            && s.directory_scope_id == request.directory_scope_id
    }))
}

async fn recently_ended(
    tx: &mut dyn Tx,
    request: &ScheduleRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<bool> {
    let all = tx
        .list_role_schedules(&ScheduleQuery {
            kind: Some(ScheduleKind::Active),
            principal_ids: Some(vec![request.principal_id]),
            role_definition_id: Some(request.role_definition_id),
            directory_scope_id: Some(request.directory_scope_id.clone()),
            targets: Targets::All,
        })
        .await?;
    Ok(all.iter().any(|s| {
        s.assignment_type == AssignmentType::Activated
            && s.end_date_time
                .is_some_and(|e| e <= now && now - e <= RENEWABLE_FOR)
    }))
}
