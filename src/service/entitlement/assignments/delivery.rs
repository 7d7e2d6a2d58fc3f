//! Delivering an assignment and taking it back, inside the caller's transaction. Group
//! memberships and ownerships are Eligo relations written through the same store calls as the
//! directory's use cases, so the journal reaches the access index and the provisioning planner
//! queues the downstream pushes in this transaction; directory roles become PIM role schedules
//! whose origin (`createdUsing`) is the assignment.
//!
//! Idempotent: what is already true is left alone, and the assignment records what it gave
//! (`Grant`), so removal takes back only that, and only when no other live assignment still
//! gives it (`eligo_core::entitlement::assignment::take_back`).

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::directory::Relation;
use eligo_core::entitlement::assignment::{
    Access, Assignment, Grant, independent_on_delivery, take_back,
};
use eligo_core::entitlement::resource::OriginSystem;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::{AssignmentQuery, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::failure::UseCaseResult;
use crate::service::pim::{admin::end_now, cascade};

/// What each resource role of the package gives, as grants not yet delivered.
pub async fn grants_of(tx: &mut dyn Tx, package: Uuid) -> UseCaseResult<Vec<Grant>> {
    let mut out = Vec::new();
    for rs in tx.list_role_scopes(package).await? {
        let Some(role) = tx.get_resource_role(rs.role_id).await? else {
            continue;
        };
        let Some(resource) = tx.get_resource(role.resource_id).await? else {
            continue;
        };
        let Ok(origin) = Uuid::parse_str(&resource.origin_id) else {
            continue;
        };
        let access = match (resource.origin_system, role.display_name.as_str()) {
            (OriginSystem::AadGroup, "Owner") => Access::Group {
                group: origin,
                relation: Relation::Owner,
            },
            (OriginSystem::AadGroup, _) => Access::Group {
                group: origin,
                relation: Relation::Member,
            },
            (OriginSystem::DirectoryRole, "Active") => Access::Role {
                role: origin,
                schedule: ScheduleKind::Active,
            },
            (OriginSystem::DirectoryRole, _) => Access::Role {
                role: origin,
                schedule: ScheduleKind::Eligible,
            },
        };
        out.push(Grant {
            resource_role_id: role.id,
            access,
            delivered: false,
            independent: false,
            schedule_id: None,
        });
    }
    Ok(out)
}

/// The same access in the target's other live assignments.
async fn others(tx: &mut dyn Tx, assignment: &Assignment) -> UseCaseResult<Vec<Assignment>> {
    Ok(tx
        .list_assignments(&AssignmentQuery {
            target: Some(assignment.target_id),
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|a| a.id != assignment.id && a.is_live())
        .collect())
}

fn same<'a>(others: &'a [Assignment], access: &Access) -> Vec<&'a Grant> {
    others
        .iter()
        .flat_map(|a| a.grants.iter())
        .filter(|g| &g.access == access)
        .collect()
}

fn event(
    now: DateTime<Utc>,
    category: Category,
    activity: &str,
    initiator: &Initiator,
) -> AuditEvent {
    AuditEvent::new(now, category, activity, initiator.clone())
}

/// Makes true what the assignment gives and is not (a first delivery, or a reprocess): a
/// relation someone removed is added again, a role schedule ended early is granted again.
/// Grants whose group or role is gone stay undelivered (the state says so).
pub async fn deliver(
    tx: &mut dyn Tx,
    assignment: &mut Assignment,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let others = others(tx, assignment).await?;
    let target = assignment.target_id;
    for i in 0..assignment.grants.len() {
        let grant = assignment.grants[i].clone();
        match grant.access {
            Access::Group { group, relation } => {
                let Some(g) = tx.get_group(group).await? else {
                    assignment.grants[i].delivered = false;
                    continue;
                };
                let exists = tx
                    .groups_of_principal(target, relation)
                    .await?
                    .contains(&group);
                if grant.delivered && exists {
                    continue;
                }
                let independent = independent_on_delivery(exists, &same(&others, &grant.access));
                if !exists {
                    tx.add_relation(group, target, relation, now.timestamp_micros())
                        .await?;
                    let activity = match relation {
                        Relation::Member => "Add member to group",
                        Relation::Owner => "Add owner to group",
                    };
                    tx.append_audit(
                        event(now, Category::GroupManagement, activity, initiator)
                            .target(group, "Group", Some(&g.display_name))
                            .target(target, "DirectoryObject", None)
                            .detail("accessPackageAssignmentId", assignment.id.to_string()),
                    )
                    .await?;
                }
                let g = &mut assignment.grants[i];
                g.delivered = true;
                g.independent = independent;
            }
            Access::Role { role, schedule } => {
                if let Some(id) = grant.schedule_id
                    && let Some(s) = tx.get_role_schedule(id).await?
                    && (!s.has_ended(now) || s.end_date_time == assignment.end_date_time)
                {
                    assignment.grants[i].delivered = true;
                    continue;
                }
                let Some(definition) = tx.get_role_definition(role).await? else {
                    assignment.grants[i].delivered = false;
                    continue;
                };
                let mut s = RoleSchedule::new(
                    Uuid::new_v4(),
                    schedule,
                    target,
                    role,
                    "/",
                    (now, assignment.end_date_time),
                    AssignmentType::Assigned,
                    None,
                    now,
                );
                // The origin: the package assignment (not a PIM request).
                s.created_using = Some(assignment.id);
                tx.insert_role_schedule(&s).await?;
                let activity = match schedule {
                    ScheduleKind::Eligible => "Add eligible member to role (access package)",
                    ScheduleKind::Active => "Add member to role (access package)",
                };
                tx.append_audit(
                    event(now, Category::RoleManagement, activity, initiator)
                        .target(role, "Role", Some(&definition.display_name))
                        .target(target, "DirectoryObject", None)
                        .detail("accessPackageAssignmentId", assignment.id.to_string()),
                )
                .await?;
                let g = &mut assignment.grants[i];
                g.delivered = true;
                g.schedule_id = Some(s.id);
            }
        }
    }
    Ok(())
}

/// Takes back what the assignment gave, unless another live assignment still gives it or it
/// was someone else's to begin with; what drew on it (activations from an eligibility,
/// activations reached through a membership) ends with it, as in PIM.
pub async fn take_back_all(
    app: &App,
    tx: &mut dyn Tx,
    assignment: &mut Assignment,
    initiator: &Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let others = others(tx, assignment).await?;
    let target = assignment.target_id;
    for i in 0..assignment.grants.len() {
        let grant = assignment.grants[i].clone();
        match grant.access {
            Access::Group { group, relation } => {
                if take_back(&grant, &same(&others, &grant.access))
                    && tx.remove_relation(group, target, relation).await?
                {
                    if relation == Relation::Member {
                        cascade::after_membership_removed(app, tx, group, target, initiator, now)
                            .await?;
                    }
                    let name = tx.get_group(group).await?.map(|g| g.display_name);
                    let activity = match relation {
                        Relation::Member => "Remove member from group",
                        Relation::Owner => "Remove owner from group",
                    };
                    tx.append_audit(
                        event(now, Category::GroupManagement, activity, initiator)
                            .target(group, "Group", name.as_deref())
                            .target(target, "DirectoryObject", None)
                            .detail("accessPackageAssignmentId", assignment.id.to_string()),
                    )
                    .await?;
                }
            }
            Access::Role { role, schedule } => {
                if let Some(id) = grant.schedule_id
                    && let Some(mut s) = tx.get_role_schedule(id).await?
                    && !s.has_ended(now)
                {
                    end_now(&mut s, now);
                    tx.update_role_schedule(&s).await?;
                    cascade::after_schedule_ended(app, tx, &s, initiator, now).await?;
                    if schedule == ScheduleKind::Eligible {
                        cascade::activations_of_eligibility(
                            app,
                            tx,
                            &s,
                            "access package assignment removed",
                            initiator,
                            now,
                        )
                        .await?;
                    }
                    let name = tx.get_role_definition(role).await?.map(|r| r.display_name);
                    let activity = match schedule {
                        ScheduleKind::Eligible => {
                            "Remove eligible member from role (access package)"
                        }
                        ScheduleKind::Active => "Remove member from role (access package)",
                    };
                    tx.append_audit(
                        event(now, Category::RoleManagement, activity, initiator)
                            .target(role, "Role", name.as_deref())
                            .target(target, "DirectoryObject", None)
                            .detail("accessPackageAssignmentId", assignment.id.to_string()),
                    )
                    .await?;
                }
            }
        }
        // No longer this assignment's to give (or to take again on a reprocess).
        assignment.grants[i].delivered = false;
    }
    Ok(())
}
