//! Who is in a review's scope at the start of an instance, with what the recommendation needs
//! (when the access was given, its last use) and who reviews each decision. Read in the
//! instance's start transaction; nested groups are flattened through the access index.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use eligo_core::directory::{PrincipalKind, Relation};
use eligo_core::entitlement::assignment::Assignment;
use eligo_core::review::decide::{self, UsageKind};
use eligo_core::review::query::{self, Reviewed, ReviewerQuery};
use eligo_core::review::{
    Access, ApplyResult, Decision, DecisionItem, Definition, Party, ResourceRef, StageSettings,
};
use eligo_core::schedule::{AssignmentType, ScheduleKind};
use eligo_core::target::{GroupAccess, Target as AccessTarget, group_scope};
use eligo_store::{AssignmentQuery, ScheduleQuery, Targets, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::failure::UseCaseResult;
use crate::service::access;
use crate::service::bootstrap::BREAKGLASS_UPN;

/// One piece of access in scope.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub principal: Uuid,
    pub access: Access,
    pub granted_at: Option<DateTime<Utc>>,
    pub usage: UsageKind,
    pub last_used: Option<DateTime<Utc>>,
}

/// The name of what the review is about, and its Graph type.
pub async fn resource_of(tx: &mut dyn Tx, reviewed: &Reviewed) -> UseCaseResult<ResourceRef> {
    let id = reviewed.resource_id();
    let (name, kind) = match reviewed {
        Reviewed::GroupMembers { .. } | Reviewed::GroupEligibility { .. } => {
            (tx.get_group(id).await?.map(|g| g.display_name), "group")
        }
        Reviewed::Role { .. } => (
            tx.get_role_definition(id).await?.map(|r| r.display_name),
            "directoryRole",
        ),
        Reviewed::PackageAssignments { .. } => (
            tx.get_package(id).await?.map(|p| p.display_name),
            "accessPackage",
        ),
    };
    Ok(ResourceRef {
        id,
        display_name: name.unwrap_or_else(|| "(deleted)".into()),
        kind: kind.into(),
    })
}

fn live(s: &eligo_core::schedule::RoleSchedule, now: DateTime<Utc>) -> bool {
    !s.has_ended(now) && s.end_date_time != Some(s.start_date_time) && s.start_date_time <= now
}

/// Everything in the definition's scope now (before the users-only and inactive filters).
async fn accesses(
    app: &App,
    tx: &mut dyn Tx,
    def: &Definition,
    now: DateTime<Utc>,
) -> UseCaseResult<Vec<Candidate>> {
    let mut out = Vec::new();
    let mut push = |principal, access, granted_at, usage| {
        out.push(Candidate {
            principal,
            access,
            granted_at,
            usage,
            last_used: None,
        })
    };
    match def.scope_query.reviewed {
        Reviewed::GroupMembers {
            group_id,
            transitive,
        } => {
            let since: HashMap<Uuid, DateTime<Utc>> = tx
                .memberships_since(&[group_id])
                .await?
                .into_iter()
                .map(|(_, member, at)| (member, at))
                .collect();
            let direct = tx.relations_of_group(group_id, Relation::Member).await?;
            for member in &direct {
                let kind = tx.principal_kind(*member).await?;
                // Flattened: a nested group's people are reviewed, not the group itself.
                if transitive && kind == Some(PrincipalKind::Group) {
                    continue;
                }
                push(
                    *member,
                    Access::GroupMember {
                        group_id,
                        direct: true,
                    },
                    since.get(member).copied(),
                    UsageKind::SignIn,
                );
            }
            if transitive {
                for m in app.access.members_of(group_id, now) {
                    let Ok(id) = Uuid::parse_str(&m.principal) else {
                        continue;
                    };
                    if direct.contains(&id)
                        || m.via.len() < 2
                        || app
                            .access
                            .principal(id)
                            .is_none_or(|(k, _)| k == PrincipalKind::Group)
                    {
                        continue;
                    }
                    push(
                        id,
                        Access::GroupMember {
                            group_id,
                            direct: false,
                        },
                        None,
                        UsageKind::SignIn,
                    );
                }
            }
        }
        Reviewed::Role {
            role_id,
            eligible,
            active,
        } => {
            let kinds = [
                (eligible, ScheduleKind::Eligible),
                (active, ScheduleKind::Active),
            ];
            for (wanted, kind) in kinds {
                if !wanted {
                    continue;
                }
                let schedules = tx
                    .list_role_schedules(&ScheduleQuery {
                        kind: Some(kind),
                        role_definition_id: Some(role_id),
                        targets: Targets::Roles,
                        ..Default::default()
                    })
                    .await?;
                for s in schedules.iter().filter(|s| live(s, now)) {
                    // Activations are reviewed through the eligibility they come from.
                    if s.assignment_type == AssignmentType::Activated {
                        continue;
                    }
                    let (access, usage) = match kind {
                        ScheduleKind::Eligible => (
                            Access::RoleEligible {
                                role_id,
                                scope: s.directory_scope_id.clone(),
                            },
                            UsageKind::Activation,
                        ),
                        ScheduleKind::Active => (
                            Access::RoleActive {
                                role_id,
                                scope: s.directory_scope_id.clone(),
                            },
                            UsageKind::SignIn,
                        ),
                    };
                    push(s.principal_id, access, Some(s.start_date_time), usage);
                }
            }
        }
        Reviewed::GroupEligibility { group_id } => {
            for access in GroupAccess::ALL {
                let schedules = tx
                    .list_role_schedules(&ScheduleQuery {
                        kind: Some(ScheduleKind::Eligible),
                        role_definition_id: Some(access.role_id()),
                        directory_scope_id: Some(group_scope(group_id)),
                        targets: Targets::Groups,
                        ..Default::default()
                    })
                    .await?;
                for s in schedules.iter().filter(|s| live(s, now)) {
                    push(
                        s.principal_id,
                        Access::GroupEligible {
                            group_id,
                            owner: access == GroupAccess::Owner,
                        },
                        Some(s.start_date_time),
                        UsageKind::Activation,
                    );
                }
            }
        }
        Reviewed::PackageAssignments { package_id } => {
            let policy = def.origin.as_ref().map(|o| o.assignment_policy_id);
            let assignments = tx
                .list_assignments(&AssignmentQuery {
                    package: Some(package_id),
                    ..Default::default()
                })
                .await?;
            for a in assignments
                .iter()
                .filter(|a| Assignment::is_live(a) && a.start_date_time <= now)
                .filter(|a| policy.is_none_or(|p| a.assignment_policy_id == p))
            {
                push(
                    a.target_id,
                    Access::PackageAssignment {
                        package_id,
                        assignment_id: a.id,
                    },
                    Some(a.start_date_time),
                    UsageKind::SignIn,
                );
            }
        }
    }
    // One decision per principal and access (a principal eligible at two scopes has two).
    out.sort_by(|a, b| (a.principal, &a.access).cmp(&(b.principal, &b.access)));
    out.dedup_by(|a, b| a.principal == b.principal && a.access == b.access);
    Ok(out)
}

/// The target an activation of this access is recorded under.
fn activation_target(access: &Access) -> Option<AccessTarget> {
    match access {
        Access::RoleEligible { role_id, scope } => Some(AccessTarget::of(*role_id, scope)),
        Access::GroupEligible { group_id, owner } => {
            let a = if *owner {
                GroupAccess::Owner
            } else {
                GroupAccess::Member
            };
            Some(AccessTarget::of(a.role_id(), &group_scope(*group_id)))
        }
        _ => None,
    }
}

/// Everything in scope now, each with its last use, after the users-only and inactive-users
/// filters.
pub async fn in_scope(
    app: &App,
    tx: &mut dyn Tx,
    def: &Definition,
    now: DateTime<Utc>,
) -> UseCaseResult<Vec<Candidate>> {
    let mut all = accesses(app, tx, def, now).await?;
    // The break-glass account is never reviewed: a review denying it (or its default decision)
    // must not be the way everyone gets locked out.
    if let Some(break_glass) = tx.find_user_by_upn(BREAKGLASS_UPN).await? {
        all.retain(|c| c.principal != break_glass.id);
    }
    if def.scope_query.users_only {
        all.retain(|c| {
            app.access
                .principal(c.principal)
                .is_some_and(|(k, _)| k == PrincipalKind::User)
        });
    }
    let principals: Vec<Uuid> = all.iter().map(|c| c.principal).collect();
    let sign_ins = tx.sign_in_activity_of(&principals).await?;
    let activations: HashMap<(Uuid, AccessTarget), DateTime<Utc>> =
        if all.iter().any(|c| c.usage == UsageKind::Activation) {
            tx.last_activations()
                .await?
                .into_iter()
                .map(|a| ((a.principal_id, a.target), a.activated_at))
                .collect()
        } else {
            HashMap::new()
        };
    for c in &mut all {
        c.last_used = match c.usage {
            UsageKind::SignIn => sign_ins.get(&c.principal).and_then(|s| s.last_any()),
            UsageKind::Activation => activation_target(&c.access)
                .and_then(|t| activations.get(&(c.principal, t)).copied()),
        };
    }
    if let Some(inactive_for) = def.inactive_for() {
        all.retain(|c| decide::is_inactive(c.last_used, inactive_for, now));
    }
    Ok(all)
}

/// Resolves reviewer sets, remembering what does not depend on the reviewed principal.
#[derive(Default)]
pub struct Reviewers {
    cache: HashMap<ReviewerQuery, Vec<Uuid>>,
}

impl Reviewers {
    async fn resolve(
        &mut self,
        app: &App,
        tx: &mut dyn Tx,
        sets: &[eligo_core::review::ReviewerSet],
        principal: Uuid,
        now: DateTime<Utc>,
    ) -> UseCaseResult<Vec<Uuid>> {
        let mut out = Vec::new();
        for set in sets {
            let Some(meaning) = set.meaning() else {
                continue;
            };
            if meaning == ReviewerQuery::Manager {
                out.extend(app.access.manager_of(principal));
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = self.cache.entry(meaning) {
                let ids = match meaning {
                    ReviewerQuery::User { user_id } => vec![user_id],
                    ReviewerQuery::GroupOwners { group_id } => {
                        tx.relations_of_group(group_id, Relation::Owner).await?
                    }
                    ReviewerQuery::GroupMembers { group_id } => app
                        .access
                        .members_of(group_id, now)
                        .into_iter()
                        .filter_map(|m| Uuid::parse_str(&m.principal).ok())
                        .collect(),
                    ReviewerQuery::Manager => Vec::new(),
                };
                e.insert(ids);
            }
            out.extend(self.cache[&meaning].iter().copied());
        }
        // Only people and workloads who can sign in review: not groups, not disabled accounts.
        out.retain(|id| {
            app.access
                .principal(*id)
                .is_some_and(|(k, _)| k != PrincipalKind::Group)
                && app.access.is_enabled(*id)
        });
        Ok(out)
    }

    /// Who reviews `principal`'s decision in `stage`.
    pub async fn for_decision(
        &mut self,
        app: &App,
        tx: &mut dyn Tx,
        stage: &StageSettings,
        principal: Uuid,
        now: DateTime<Utc>,
    ) -> UseCaseResult<Vec<Uuid>> {
        let self_review = stage.reviewers.is_empty();
        let primary = self
            .resolve(app, tx, &stage.reviewers, principal, now)
            .await?;
        let fallback = self
            .resolve(app, tx, &stage.fallback_reviewers, principal, now)
            .await?;
        // A group's members hold what the group is reviewed for: they do not decide it.
        let holders_through: Vec<Uuid> =
            if app.access.principal(principal).map(|(k, _)| k) == Some(PrincipalKind::Group) {
                app.access
                    .members_of(principal, now)
                    .into_iter()
                    .filter_map(|m| Uuid::parse_str(&m.principal).ok())
                    .collect()
            } else {
                Vec::new()
            };
        Ok(query::pick_reviewers(
            principal,
            &holders_through,
            self_review,
            primary,
            fallback,
        ))
    }
}

/// The reviewed principal as a decision shows them (their names now).
pub async fn party(tx: &mut dyn Tx, id: Uuid) -> UseCaseResult<Party> {
    Ok(match access::principal_summary(tx, id).await? {
        Some(p) => Party {
            id,
            display_name: p.display_name,
            user_principal_name: p.upn,
            kind: p.kind,
        },
        None => Party {
            id,
            display_name: "(deleted)".into(),
            user_principal_name: None,
            kind: PrincipalKind::User,
        },
    })
}

/// A fresh decision for `candidate` in `stage` (index `stage_index`).
#[allow(clippy::too_many_arguments)]
pub fn decision(
    id: Uuid,
    instance: &eligo_core::review::Instance,
    stage_index: usize,
    stage: &StageSettings,
    look_back: chrono::TimeDelta,
    principal: Party,
    resource: ResourceRef,
    candidate: &Candidate,
    reviewers: Vec<Uuid>,
    now: DateTime<Utc>,
) -> DecisionItem {
    let (recommendation, reason) = if stage.recommendations_enabled {
        decide::recommend(
            candidate.usage,
            candidate.last_used,
            candidate.granted_at,
            principal.kind != PrincipalKind::Group,
            look_back,
            now,
        )
    } else {
        (
            eligo_core::review::Recommendation::NoInfoAvailable,
            "recommendations are off for this review".into(),
        )
    };
    DecisionItem {
        id,
        instance_id: instance.id,
        definition_id: instance.definition_id,
        stage: stage_index,
        principal,
        resource,
        access: candidate.access.clone(),
        decision: Decision::NotReviewed,
        recommendation,
        recommendation_reason: reason,
        justification: None,
        reviewed_by: None,
        reviewed_date_time: None,
        applied_by: None,
        applied_date_time: None,
        apply_result: ApplyResult::New,
        reviewers,
        is_final: true,
        granted_at: candidate.granted_at,
        last_used_at: candidate.last_used,
    }
}
