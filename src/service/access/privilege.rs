//! Who is privileged and which groups are protected (threat-model rules 1 and 3), answered
//! by the pure `eligo_core::privilege` from the access index's facts plus what only the store
//! knows: approvers named in policies, role settings' and access packages' alike (users,
//! groups, and how far up the manager chain `requestorManager` reaches) and groups mapped
//! downstream. Read inside the caller's write
//! transaction, so the answer is the state the change is decided against. A store failure is an
//! error, never "unprivileged".

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use eligo_core::authz::Protection;
use eligo_core::entitlement::subject_set::SubjectSet;
use eligo_core::policy::Approver;
use eligo_core::privilege::{self, GroupReason, PrincipalReason, Privilege};
use eligo_store::Tx;
use uuid::Uuid;

use crate::app::App;
use crate::failure::UseCaseResult;

/// Evaluates rule 1 and rule 3 for the whole directory at `now`.
pub async fn evaluate(app: &App, tx: &mut dyn Tx, now: DateTime<Utc>) -> UseCaseResult<Privilege> {
    Ok(privilege::evaluate(&facts(app, tx).await?, now))
}

/// What rules 1 and 3 are evaluated from: the access index's facts and the store's.
async fn facts(app: &App, tx: &mut dyn Tx) -> UseCaseResult<privilege::Facts> {
    let mut facts = app.access.privilege_facts();
    let mut manager_levels = 1u8;
    for policy in tx.list_policies().await? {
        for stage in &policy.rules.approval_end_user_assignment.approval_stages {
            for approver in stage
                .primary_approvers
                .iter()
                .chain(&stage.escalation_approvers)
            {
                match approver {
                    Approver::SingleUser { user_id, .. } => facts.approver_users.push(*user_id),
                    Approver::GroupMembers { group_id, .. } => {
                        facts.approver_groups.push(*group_id)
                    }
                    Approver::RequestorManager { manager_level } => {
                        manager_levels = manager_levels.max(*manager_level)
                    }
                }
            }
        }
    }
    // Access package approvers are approvers too: their decision hands out what the package
    // gives (protected groups, roles).
    for policy in tx.list_assignment_policies(None).await? {
        for stage in &policy.request_approval_settings.stages {
            for approver in stage
                .primary_approvers
                .iter()
                .chain(&stage.fallback_primary_approvers)
                .chain(&stage.escalation_approvers)
                .chain(&stage.fallback_escalation_approvers)
            {
                match approver {
                    SubjectSet::SingleUser { user_id, .. } => facts.approver_users.push(*user_id),
                    SubjectSet::SingleServicePrincipal {
                        service_principal_id,
                        ..
                    } => facts.approver_users.push(*service_principal_id),
                    SubjectSet::GroupMembers { group_id, .. } => {
                        facts.approver_groups.push(*group_id)
                    }
                    SubjectSet::RequestorManager { manager_level } => {
                        manager_levels = manager_levels.max(*manager_level)
                    }
                    _ => {}
                }
            }
        }
    }
    facts.mapped_groups = tx
        .list_mappings(None, None)
        .await?
        .into_iter()
        .map(|m| m.group_id)
        .collect();
    // Rule 3: a group a catalog hands out is protected, used by a package yet or not.
    facts.package_groups = crate::service::entitlement::protect::catalog_groups(tx).await?;
    facts.managers = managers_up_to(&facts.managers, manager_levels);
    Ok(facts)
}

/// (user, manager) pairs extended so that a manager `levels` up the chain counts as the user's
/// manager: a policy with `managerLevel: 2` lets the manager's manager approve.
fn managers_up_to(direct: &[(Uuid, Uuid)], levels: u8) -> Vec<(Uuid, Uuid)> {
    let manager_of: HashMap<Uuid, Uuid> = direct.iter().copied().collect();
    let mut out = Vec::with_capacity(direct.len());
    for &(user, first) in direct {
        let mut manager = first;
        out.push((user, manager));
        for _ in 1..levels {
            match manager_of.get(&manager) {
                Some(&next) if next != user => {
                    out.push((user, next));
                    manager = next;
                }
                _ => break,
            }
        }
    }
    out
}

/// The protection of a principal as a target: privileged (with the reason in words) or not.
pub async fn of_principal(
    app: &App,
    tx: &mut dyn Tx,
    id: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<Protection> {
    let privilege = evaluate(app, tx, now).await?;
    Ok(match privilege.privileged(id) {
        Some(reason) => Protection::Privileged(describe_principal(app, reason)),
        None => Protection::Ordinary,
    })
}

/// The protection of a group as a target: protected (with the reason in words) or not.
pub async fn of_group(
    app: &App,
    tx: &mut dyn Tx,
    id: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<Protection> {
    let privilege = evaluate(app, tx, now).await?;
    Ok(match privilege.protected(id) {
        Some(reason) => Protection::Protected(describe_group(app, reason)),
        None => Protection::Ordinary,
    })
}

/// The protection a group has besides being handed out by a catalog (role-assignable, holding
/// a role, approvers, mapped downstream, PIM for Groups, or nested in or owning such a group):
/// what an entitlement administrator may not hand out through a package. Being a catalog's
/// resource protects a group from direct changes, not from the package that hands it out.
pub async fn of_group_besides_catalogs(
    app: &App,
    tx: &mut dyn Tx,
    id: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<Protection> {
    let mut facts = facts(app, tx).await?;
    facts.package_groups.clear();
    let privilege = privilege::evaluate(&facts, now);
    Ok(match privilege.protected(id) {
        Some(reason) => Protection::Protected(describe_group(app, reason)),
        None => Protection::Ordinary,
    })
}

fn name(app: &App, id: Uuid) -> String {
    app.access
        .principal(id)
        .map(|(_, n)| n)
        .unwrap_or_else(|| id.to_string())
}

fn role_name(app: &App, id: Uuid) -> String {
    app.access
        .role(id)
        .map(|r| r.display_name)
        .unwrap_or_else(|| id.to_string())
}

/// Why a principal is privileged, with names.
pub fn describe_principal(app: &App, reason: &PrincipalReason) -> String {
    match reason {
        PrincipalReason::HoldsRole { role } => format!("holds {}", role_name(app, *role)),
        PrincipalReason::EligibleForRole { role } => {
            format!("is eligible for {}", role_name(app, *role))
        }
        PrincipalReason::MemberOfProtected { group } => {
            format!("is or can become a member of {}", name(app, *group))
        }
        PrincipalReason::OwnerOfProtected { group } => {
            format!("owns or can become owner of {}", name(app, *group))
        }
        PrincipalReason::NamedApprover => "is a named approver".into(),
        PrincipalReason::ManagerOf { user } => {
            format!("is the manager who approves for {}", name(app, *user))
        }
        PrincipalReason::OwnerOfPrivilegedServicePrincipal { sp } => {
            format!("owns the privileged service principal {}", name(app, *sp))
        }
    }
}

/// Why a group is protected, with names.
pub fn describe_group(app: &App, reason: &GroupReason) -> String {
    match reason {
        GroupReason::RoleAssignable => "it is role-assignable".into(),
        GroupReason::HoldsRole { role } => {
            format!("it holds or may activate {}", role_name(app, *role))
        }
        GroupReason::ApproverGroup => "its members are approvers".into(),
        GroupReason::MappedDownstream => "it is provisioned to a downstream system".into(),
        GroupReason::PimForGroups => "its membership is handed out through PIM".into(),
        GroupReason::PackageResource => "it is a resource of an access package".into(),
        GroupReason::NestedIn { group } => {
            format!("it is nested in the protected group {}", name(app, *group))
        }
        GroupReason::OwnsProtected { group } => {
            format!("it owns the protected group {}", name(app, *group))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_chain_reaches_the_levels_policies_use() {
        let (a, b, c, d) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(4),
        );
        let direct = [(a, b), (b, c), (c, d)];
        let one = managers_up_to(&direct, 1);
        assert_eq!(one.len(), 3);
        let two = managers_up_to(&direct, 2);
        assert!(two.contains(&(a, c)) && two.contains(&(b, d)) && !two.contains(&(a, d)));
        // A loop in the chain ends.
        let looped = managers_up_to(&[(a, b), (b, a)], 5);
        assert_eq!(looped.len(), 2);
    }
}
