//! An administrator's actions on eligibilities and active assignments: assign, update, remove,
//! extend and renew. The admin expiration and enablement rules of the role's policy apply; the
//! window is decided by `eligo_core::assignment::decide_admin` and never clamped.

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::assignment::{AdminRequest, RENEWABLE_FOR, decide_admin};
use eligo_core::audit::Initiator;
use eligo_core::invalid::Invalid;
use eligo_core::request::{
    RequestAction, RequestKind, RequestStatus, ScheduleInfo, ScheduleRequest,
};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::{ScheduleQuery, Targets, Tx};

use crate::app::App;
use crate::auth::Caller;
use crate::failure::UseCaseResult;
use crate::service::pim::{
    Target, cascade, does_not_exist, extension, live_schedules, role_event, rule_failure,
    schedule_changed,
};

pub async fn run(
    app: &App,
    caller: &Caller,
    tx: &mut dyn Tx,
    target: &Target,
    request: &mut ScheduleRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let (kind, rules) = match request.kind {
        RequestKind::Eligibility => (
            ScheduleKind::Eligible,
            (
                &target.policy.rules.expiration_admin_eligibility,
                &target.policy.rules.enablement_admin_eligibility,
            ),
        ),
        RequestKind::Assignment => (
            ScheduleKind::Active,
            (
                &target.policy.rules.expiration_admin_assignment,
                &target.policy.rules.enablement_admin_assignment,
            ),
        ),
    };
    let word = match kind {
        ScheduleKind::Eligible => "eligible",
        ScheduleKind::Active => "active",
    };
    let decide = |request: &ScheduleRequest, kept_start: Option<DateTime<Utc>>| {
        decide_admin(
            rules.0,
            rules.1,
            &AdminRequest {
                justification: request.justification.clone(),
                ticket: request.ticket_info.clone(),
                start: request.schedule_info.start_date_time,
                expiration: request.schedule_info.expiration(),
                mfa_is_fresh: caller.mfa_is_fresh(now, app.config.mfa_freshness),
                kept_start,
            },
            now,
        )
        .map_err(rule_failure)
    };
    // The principal's own schedules of this kind, role and scope, given by an administrator.
    let existing = concerned(tx, kind, request, now).await?;
    let assigned: Vec<RoleSchedule> = existing
        .iter()
        .filter(|s| s.assignment_type == AssignmentType::Assigned)
        .cloned()
        .collect();

    match request.action {
        RequestAction::AdminAssign | RequestAction::AdminRenew => {
            let (start, end) = decide(request, None)?;
            if request.action == RequestAction::AdminRenew
                && !has_renewable(tx, kind, request, now).await?
            {
                return Err(does_not_exist(&format!(
                    "{word} assignment ended within the last 90 days to renew"
                )));
            }
            if assigned.iter().any(|s| overlaps(s, start, end)) {
                return Err(rule_failure(vec![Invalid::new(
                    "RoleAssignmentExists",
                    "roleDefinitionId",
                    format!("the principal already has this {word} assignment at this scope"),
                )]));
            }
            let mut schedule = RoleSchedule::new(
                super::new_schedule_id(now),
                kind,
                request.principal_id,
                request.role_definition_id,
                request.directory_scope_id.clone(),
                (start, end),
                AssignmentType::Assigned,
                Some(caller.id),
                now,
            );
            schedule.created_using = Some(request.id);
            tx.insert_role_schedule(&schedule).await?;
            grant(request, &schedule, now);
            if request.action == RequestAction::AdminRenew {
                extension::settle(tx, target, request, &caller.initiator(), now).await?;
            }
            let activity = match (kind, request.action, end) {
                (ScheduleKind::Eligible, RequestAction::AdminRenew, _) => {
                    "Renew eligible member in role in PIM"
                }
                (ScheduleKind::Active, RequestAction::AdminRenew, _) => {
                    "Renew member in role in PIM"
                }
                (ScheduleKind::Eligible, _, None) => {
                    "Add eligible member to role in PIM completed (permanent)"
                }
                (ScheduleKind::Eligible, _, Some(_)) => {
                    "Add eligible member to role in PIM completed (timebound)"
                }
                (ScheduleKind::Active, _, None) => {
                    "Add member to role in PIM completed (permanent)"
                }
                (ScheduleKind::Active, _, Some(_)) => {
                    "Add member to role in PIM completed (timebound)"
                }
            };
            tx.append_audit(schedule_changed(
                role_event(now, activity, caller.initiator(), target, request),
                None,
                Some(&schedule),
            ))
            .await?;
        }
        RequestAction::AdminUpdate | RequestAction::AdminExtend => {
            let mut schedule = assigned
                .first()
                .cloned()
                .ok_or_else(|| does_not_exist(&format!("{word} assignment")))?;
            // An extension keeps the start, and so does an update of a schedule that has begun:
            // the maximum then counts from that start, not from one the request names.
            let keeps_start =
                request.action == RequestAction::AdminExtend || schedule.start_date_time <= now;
            let (start, end) = decide(request, keeps_start.then_some(schedule.start_date_time))?;
            let before = schedule.clone();
            if request.action == RequestAction::AdminExtend {
                let Some(current_end) = schedule.end_date_time else {
                    return Err(rule_failure(vec![Invalid::new(
                        "ExpirationRule",
                        "scheduleInfo.expiration",
                        "this assignment is permanent; there is nothing to extend",
                    )]));
                };
                if end.is_some_and(|e| e <= current_end) {
                    return Err(rule_failure(vec![Invalid::new(
                        "ExpirationRule",
                        "scheduleInfo.expiration",
                        "an extension must end after the current end",
                    )]));
                }
            } else {
                // A started schedule keeps its start; a future one may move.
                if schedule.start_date_time > now {
                    schedule.start_date_time = start;
                    schedule.start_pending = start > now;
                }
            }
            schedule.end_date_time = end;
            schedule.end_pending = end.is_some();
            schedule.created_using = Some(request.id);
            tx.update_role_schedule(&schedule).await?;
            if kind == ScheduleKind::Eligible {
                cascade::activations_of_eligibility(
                    app,
                    tx,
                    &schedule,
                    "eligibility changed",
                    &caller.initiator(),
                    now,
                )
                .await?;
            }
            grant(request, &schedule, now);
            if request.action == RequestAction::AdminExtend {
                extension::settle(tx, target, request, &caller.initiator(), now).await?;
            }
            let activity = match (kind, request.action) {
                (ScheduleKind::Eligible, RequestAction::AdminExtend) => {
                    "Extend eligible member in role in PIM"
                }
                (ScheduleKind::Active, RequestAction::AdminExtend) => {
                    "Extend member in role in PIM"
                }
                (ScheduleKind::Eligible, _) => "Update eligible member in role in PIM",
                (ScheduleKind::Active, _) => "Update member in role in PIM",
            };
            tx.append_audit(schedule_changed(
                role_event(now, activity, caller.initiator(), target, request),
                Some(&before),
                Some(&schedule),
            ))
            .await?;
        }
        RequestAction::AdminRemove => {
            remove(app, tx, target, request, existing, &caller.initiator(), now).await?;
        }
        _ => unreachable!("self actions are routed to activate::run"),
    }
    Ok(())
}

/// An administrator's removal (or Eligo's own, for an access review's Deny): ends `existing`
/// (the principal's live schedules of the request's kind, role and scope) now, with what drew
/// on them, and records it. Removing an active assignment also ends activations of the same
/// role and scope: a revoke must not leave a running activation behind.
pub async fn remove(
    app: &App,
    tx: &mut dyn Tx,
    target: &Target,
    request: &mut ScheduleRequest,
    existing: Vec<RoleSchedule>,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let (kind, word) = match request.kind {
        RequestKind::Eligibility => (ScheduleKind::Eligible, "eligible"),
        RequestKind::Assignment => (ScheduleKind::Active, "active"),
    };
    if existing.is_empty() {
        return Err(does_not_exist(&format!("{word} assignment")));
    }
    let mut ended = Vec::new();
    for mut schedule in existing {
        let before = schedule.clone();
        end_now(&mut schedule, now);
        tx.update_role_schedule(&schedule).await?;
        cascade::after_schedule_ended(app, tx, &schedule, initiator, now).await?;
        if kind == ScheduleKind::Eligible {
            cascade::activations_of_eligibility(
                app,
                tx,
                &schedule,
                "eligibility removed",
                initiator,
                now,
            )
            .await?;
        }
        request.target_schedule_id = Some(schedule.id);
        ended.push((before, schedule));
    }
    request.status = RequestStatus::Revoked;
    request.completed_date_time = Some(now);
    extension::settle(tx, target, request, initiator, now).await?;
    let activity = match kind {
        ScheduleKind::Eligible => "Remove eligible member from role in PIM completed",
        ScheduleKind::Active => "Remove member from role in PIM completed",
    };
    let event = ended.iter().fold(
        role_event(now, activity, initiator.clone(), target, request),
        |event, (before, after)| schedule_changed(event, Some(before), Some(after)),
    );
    tx.append_audit(event).await?;
    Ok(())
}

/// The live schedules an administrator's request concerns: the principal's own of `kind`,
/// role and scope.
pub async fn concerned(
    tx: &mut dyn Tx,
    kind: ScheduleKind,
    request: &ScheduleRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<Vec<RoleSchedule>> {
    let mut existing = live_schedules(
        tx,
        kind,
        vec![request.principal_id],
        request.role_definition_id,
        now,
    )
    .await?;
    existing.retain(|s| s.directory_scope_id == request.directory_scope_id);
    Ok(existing)
}

/// Marks the request granted with the schedule it created or changed.
pub fn grant(request: &mut ScheduleRequest, schedule: &RoleSchedule, now: DateTime<Utc>) {
    request.target_schedule_id = Some(schedule.id);
    request.granted_schedule = Some(ScheduleInfo::effective(
        schedule.start_date_time,
        schedule.end_date_time,
    ));
    request.status = if schedule.start_date_time > now {
        RequestStatus::Granted
    } else {
        RequestStatus::Provisioned
    };
    request.completed_date_time = Some(now);
}

/// Ends a schedule at `now` (one that has not started yet ends at its start: it never grants).
pub fn end_now(schedule: &mut RoleSchedule, now: DateTime<Utc>) {
    let end = now.max(schedule.start_date_time);
    schedule.end_date_time = Some(end);
    schedule.start_pending = false;
    schedule.end_pending = false;
}

fn overlaps(s: &RoleSchedule, start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> bool {
    end.is_none_or(|e| s.start_date_time < e) && s.end_date_time.is_none_or(|se| start < se)
}

async fn has_renewable(
    tx: &mut dyn Tx,
    kind: ScheduleKind,
    request: &ScheduleRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<bool> {
    let all = tx
        .list_role_schedules(&ScheduleQuery {
            kind: Some(kind),
            principal_ids: Some(vec![request.principal_id]),
            role_definition_id: Some(request.role_definition_id),
            directory_scope_id: Some(request.directory_scope_id.clone()),
            targets: Targets::All,
        })
        .await?;
    Ok(all.iter().any(|s| {
        s.assignment_type == AssignmentType::Assigned
            && s.end_date_time
                .is_some_and(|e| e <= now + TimeDelta::days(14) && now - e <= RENEWABLE_FOR)
    }))
}
