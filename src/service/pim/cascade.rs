//! Revocation cascades (threat-model rule 6), run inside the transaction of the change that
//! causes them and audited with that cause:
//! - an eligibility removed or shortened ends (or trims) every activation drawn from it, whoever
//!   holds it — members who activated through a group's eligibility included;
//! - a member removed from a group loses the activations it (or anyone nested in it) drew from
//!   eligibilities it reached only through that group;
//! - a disabled principal loses its sessions and its activations;
//! - a PIM-for-Groups membership that ends (expired, deactivated, removed, or ended with its
//!   eligibility) takes with it what was drawn through it, as a removal from the group does.
//!
//! Roles held through a group's active assignment need no cascade: the access index drops the
//! membership edge at commit, and with it the role.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};
use eligo_core::audit::Initiator;
use eligo_core::directory::Relation;
use eligo_core::request::RequestStatus;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_core::target::{GroupAccess, Target};
use eligo_store::{Page, RequestQuery, ScheduleQuery, Targets, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::failure::UseCaseResult;
use crate::service::audit_values::end_text;
use crate::service::pim::admin::end_now;
use crate::service::pim::{bare_request_event, load_target, role_event, schedule_event};

/// Ends, or trims to the eligibility's new end, every running or scheduled activation drawn from
/// `eligibility` (whoever activated it). `eligibility` is its new state: an end at or before
/// `now` ends them now. Returns how many changed.
pub async fn activations_of_eligibility(
    app: &App,
    tx: &mut dyn Tx,
    eligibility: &RoleSchedule,
    cause: &str,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<usize> {
    let Some(limit) = eligibility.end_date_time else {
        return Ok(0);
    };
    let drawn = tx
        .list_role_schedules(&ScheduleQuery {
            kind: Some(ScheduleKind::Active),
            role_definition_id: Some(eligibility.role_definition_id),
            targets: Targets::All,
            ..Default::default()
        })
        .await?;
    let mut changed = 0;
    for mut activation in drawn {
        if activation.linked_eligibility_id != Some(eligibility.id)
            || activation.has_ended(now)
            || activation.end_date_time.is_some_and(|e| e <= limit)
        {
            continue;
        }
        let old_end = activation.end_date_time;
        if limit <= now {
            end_now(&mut activation, now);
        } else {
            activation.end_date_time = Some(limit.max(activation.start_date_time));
        }
        tx.update_role_schedule(&activation).await?;
        tx.append_audit(
            schedule_event(
                now,
                "Remove member from role (PIM activation ended with its eligibility)",
                initiator.clone(),
                &activation,
                None,
                None,
            )
            .modified("End", end_text(old_end), end_text(activation.end_date_time))
            .detail("cause", cause),
        )
        .await?;
        changed += 1;
        changed += after_schedule_ended(app, tx, &activation, initiator, now).await?;
    }
    Ok(changed)
}

/// `schedule` has just ended in this transaction (expired, deactivated, removed): when it was a
/// PIM-for-Groups membership, what its holder drew through that membership ends with it.
pub async fn after_schedule_ended(
    app: &App,
    tx: &mut dyn Tx,
    schedule: &RoleSchedule,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<usize> {
    match (schedule.kind, schedule.target()) {
        (
            ScheduleKind::Active,
            Target::Group {
                group,
                access: GroupAccess::Member,
            },
        ) => {
            let cause = format!("membership of group {} ended", group_name(app, group));
            Box::pin(membership_ended(
                app,
                tx,
                schedule.principal_id,
                &cause,
                initiator,
                now,
            ))
            .await
        }
        _ => Ok(0),
    }
}

/// `member` has just left `group` in this transaction: every activation that `member`, or
/// anyone inside it, drew from an eligibility held by a group it no longer reaches ends now.
pub async fn after_membership_removed(
    app: &App,
    tx: &mut dyn Tx,
    group: Uuid,
    member: Uuid,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<usize> {
    let cause = format!("removed from group {}", group_name(app, group));
    membership_ended(app, tx, member, &cause, initiator, now).await
}

async fn membership_ended(
    app: &App,
    tx: &mut dyn Tx,
    member: Uuid,
    cause: &str,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<usize> {
    // Everyone whose memberships ran through this edge: the member and, for a nested group,
    // everyone inside it (the index still shows the state before this transaction).
    let mut affected = vec![member];
    for inside in app.access.members_of(member, now) {
        if let Ok(id) = Uuid::parse_str(&inside.principal) {
            affected.push(id);
        }
    }
    let mut changed = 0;
    for principal in affected {
        let activations = tx
            .list_role_schedules(&ScheduleQuery {
                kind: Some(ScheduleKind::Active),
                principal_ids: Some(vec![principal]),
                targets: Targets::All,
                ..Default::default()
            })
            .await?;
        for mut activation in activations {
            let Some(eligibility) = activation.linked_eligibility_id else {
                continue;
            };
            if activation.assignment_type != AssignmentType::Activated || activation.has_ended(now)
            {
                continue;
            }
            let holder = match tx.get_role_schedule(eligibility).await? {
                Some(e) if e.principal_id == principal => continue,
                Some(e) => e.principal_id,
                // The eligibility is gone: nothing backs the activation any more.
                None => Uuid::nil(),
            };
            if !holder.is_nil() && reaches(tx, principal, holder, now).await? {
                continue;
            }
            let old_end = activation.end_date_time;
            end_now(&mut activation, now);
            tx.update_role_schedule(&activation).await?;
            tx.append_audit(
                schedule_event(
                    now,
                    "Remove member from role (PIM activation ended: no longer eligible through the group)",
                    initiator.clone(),
                    &activation,
                    None,
                    None,
                )
                .modified("End", end_text(old_end), end_text(activation.end_date_time))
                .detail("cause", cause),
            )
            .await?;
            changed += 1;
            // A membership drawn through the group ends in turn what was drawn through it.
            changed += after_schedule_ended(app, tx, &activation, initiator, now).await?;
        }
    }
    Ok(changed)
}

/// A principal has been disabled: its sessions are revoked, its running or scheduled
/// activations end now, and its requests still waiting for a decision (approval, or an
/// administrator's decision on an extension) are canceled, so no later approval grants a
/// disabled account anything (re-enabling it does not bring them back).
pub async fn after_principal_disabled(
    tx: &mut dyn Tx,
    principal: Uuid,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<usize> {
    tx.revoke_tokens_of(principal, None, now).await?;
    let activations = tx
        .list_role_schedules(&ScheduleQuery {
            kind: Some(ScheduleKind::Active),
            principal_ids: Some(vec![principal]),
            targets: Targets::All,
            ..Default::default()
        })
        .await?;
    let mut changed = 0;
    for mut activation in activations {
        if activation.assignment_type != AssignmentType::Activated || activation.has_ended(now) {
            continue;
        }
        let old_end = activation.end_date_time;
        end_now(&mut activation, now);
        tx.update_role_schedule(&activation).await?;
        tx.append_audit(
            schedule_event(
                now,
                "Remove member from role (PIM activation ended: account disabled)",
                initiator.clone(),
                &activation,
                None,
                None,
            )
            .modified("End", end_text(old_end), end_text(activation.end_date_time))
            .detail("cause", "account disabled"),
        )
        .await?;
        changed += 1;
    }
    changed += pending_requests_of_disabled(tx, principal, initiator, now).await?;
    Ok(changed)
}

/// Cancels, audited, the requests of a principal just disabled that still wait for a decision.
async fn pending_requests_of_disabled(
    tx: &mut dyn Tx,
    principal: Uuid,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<usize> {
    let mut changed = 0;
    for status in [
        RequestStatus::PendingApproval,
        RequestStatus::PendingAdminDecision,
    ] {
        let waiting = tx
            .list_schedule_requests(
                &RequestQuery {
                    principal_id: Some(principal),
                    status: Some(status),
                    ..Default::default()
                },
                Page::ALL,
            )
            .await?;
        for mut request in waiting {
            if request.principal_id != principal || request.status != status {
                continue;
            }
            request.status = RequestStatus::Canceled;
            request.status_detail = Some("canceled: the account was disabled".into());
            request.completed_date_time = Some(now);
            tx.update_schedule_request(&request).await?;
            const ACTIVITY: &str = "Add member to role canceled (PIM activation)";
            // The role or group may have been deleted meanwhile: the cancel is recorded all
            // the same.
            let event = match load_target(tx, &request.target(), request.principal_id).await {
                Ok(target) => role_event(now, ACTIVITY, initiator.clone(), &target, &request),
                Err(e) if e.kind == crate::failure::Kind::NotFound => {
                    let mut event = bare_request_event(now, ACTIVITY, &request);
                    event.initiated_by = initiator.clone();
                    event
                }
                Err(e) => return Err(e),
            };
            tx.append_audit(
                event
                    .modified("status", status.as_str(), request.status.as_str())
                    .detail("cause", "account disabled"),
            )
            .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Is `from` a member of `to` now, directly, through nesting or through an active membership
/// schedule, as this transaction sees it (its own writes included)?
async fn reaches(tx: &mut dyn Tx, from: Uuid, to: Uuid, now: DateTime<Utc>) -> UseCaseResult<bool> {
    let mut seen = HashSet::from([from]);
    let mut queue = VecDeque::from([from]);
    while let Some(current) = queue.pop_front() {
        let mut parents = tx.groups_of_principal(current, Relation::Member).await?;
        let scheduled = tx
            .list_role_schedules(&ScheduleQuery {
                kind: Some(ScheduleKind::Active),
                principal_ids: Some(vec![current]),
                targets: Targets::Groups,
                ..Default::default()
            })
            .await?;
        for s in scheduled.iter().filter(|s| s.is_current(now)) {
            if let Target::Group {
                group,
                access: GroupAccess::Member,
            } = s.target()
            {
                parents.push(group);
            }
        }
        for parent in parents {
            if parent == to {
                return Ok(true);
            }
            if seen.insert(parent) {
                queue.push_back(parent);
            }
        }
    }
    Ok(false)
}

fn group_name(app: &App, group: Uuid) -> String {
    app.access
        .principal(group)
        .map(|(_, n)| n)
        .unwrap_or_else(|| group.to_string())
}
