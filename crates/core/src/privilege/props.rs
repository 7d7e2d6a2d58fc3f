//! Properties over random small directories: [`evaluate`] agrees with the naive evaluator, every
//! reason it gives is true of the facts, its answer ignores the order of the facts and ended
//! facts, and (the security property itself) anyone with a chain of live edges to a role or a
//! protected group is privileged.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use uuid::Uuid;

use super::tests::t;
use super::*;
use crate::access::Window;

/// 12 users, then 8 groups, then 3 service principals; 3 roles.
const USERS: usize = 12;
const GROUPS: usize = 8;
const ALL: usize = USERS + GROUPS + 3;

fn who(i: usize) -> Uuid {
    Uuid::from_u128(0x100 + i as u128)
}

fn group(i: usize) -> Uuid {
    who(USERS + i)
}

fn sp(i: usize) -> Uuid {
    who(USERS + GROUPS + i)
}

fn role(i: usize) -> Uuid {
    Uuid::from_u128(0x900 + i as u128)
}

fn now() -> DateTime<Utc> {
    t(0)
}

/// Starts and ends a few hours either side of `now`, either side unbounded; ends at `now` or
/// before make the fact ended.
fn window() -> impl Strategy<Value = Window> {
    (
        prop::option::weighted(0.4, -4..5i64),
        prop::option::weighted(0.7, -3..4i64),
    )
        .prop_map(|(s, e)| Window::new(s.map(t), e.map(t)))
}

/// A window that is live at `now` or will be.
fn live_window() -> impl Strategy<Value = Window> {
    (prop::option::of(-4..5i64), prop::option::of(1..5i64))
        .prop_map(|(s, e)| Window::new(s.map(t), e.map(t)))
}

fn groups() -> impl Strategy<Value = Vec<Uuid>> {
    vec((0..GROUPS).prop_map(group), 0..2)
}

fn facts() -> impl Strategy<Value = Facts> {
    let edge = || (0..GROUPS, 0..ALL, window(), any::<bool>());
    (
        (vec(edge(), 0..20), vec(edge(), 0..8)),
        vec((0..ALL, 0..3usize, window(), any::<bool>()), 0..6),
        (groups(), groups(), groups(), groups(), groups()),
        vec((0..USERS).prop_map(who), 0..2),
        vec((0..USERS, 0..USERS), 0..8),
        vec((0..3usize, 0..ALL), 0..4),
    )
        .prop_map(
            |((ms, os), rs, lists, approvers, managers, sp_owners)| Facts {
                memberships: (ms.into_iter())
                    .map(|(g, m, window, eligible)| MemberFact {
                        group: group(g),
                        member: who(m),
                        window,
                        eligible,
                    })
                    .collect(),
                ownerships: (os.into_iter())
                    .map(|(g, o, window, eligible)| OwnerFact {
                        group: group(g),
                        owner: who(o),
                        window,
                        eligible,
                    })
                    .collect(),
                roles: (rs.into_iter())
                    .map(|(p, r, window, eligible)| RoleFact {
                        principal: who(p),
                        role: role(r),
                        window,
                        eligible,
                    })
                    .collect(),
                role_assignable_groups: lists.0,
                approver_groups: lists.1,
                mapped_groups: lists.2,
                pim_groups: lists.3,
                package_groups: lists.4,
                approver_users: approvers,
                managers: managers
                    .into_iter()
                    .map(|(u, m)| (who(u), who(m)))
                    .collect(),
                service_principal_owners: (sp_owners.into_iter())
                    .map(|(s, o)| (sp(s), who(o)))
                    .collect(),
            },
        )
}

/// Every reason is true of the facts, and every protection chain ends at a base reason.
fn justified(f: &Facts, got: &Privilege) -> Result<(), TestCaseError> {
    let live = |w: &Window| w.end.is_none_or(|e| e > now());
    let member = |g: Uuid, m: Uuid| {
        f.memberships
            .iter()
            .any(|x| x.group == g && x.member == m && live(&x.window))
    };
    let owner = |g: Uuid, o: Uuid| {
        f.ownerships
            .iter()
            .any(|x| x.group == g && x.owner == o && live(&x.window))
    };
    let holds = |p: Uuid, r: Option<Uuid>, eligible: Option<bool>| {
        f.roles.iter().any(|x| {
            x.principal == p
                && r.is_none_or(|r| x.role == r)
                && eligible.is_none_or(|e| x.eligible == e)
                && live(&x.window)
        })
    };
    let not_via_manager = |p: Uuid| got.privileged(p).is_some_and(|r| r.code() != "manager_of");
    for (p, reason) in got.privileged_principals() {
        let ok = match *reason {
            PrincipalReason::HoldsRole { role } => holds(p, Some(role), Some(false)),
            PrincipalReason::EligibleForRole { role } => {
                holds(p, Some(role), Some(true)) && !holds(p, None, Some(false))
            }
            PrincipalReason::MemberOfProtected { group } => {
                member(group, p) && got.is_protected(group)
            }
            PrincipalReason::OwnerOfProtected { group } => {
                owner(group, p) && got.is_protected(group)
            }
            PrincipalReason::NamedApprover => f.approver_users.contains(&p),
            PrincipalReason::OwnerOfPrivilegedServicePrincipal { sp } => {
                f.service_principal_owners.contains(&(sp, p)) && not_via_manager(sp)
            }
            PrincipalReason::ManagerOf { user } => {
                f.managers.contains(&(user, p)) && not_via_manager(user)
            }
        };
        prop_assert!(ok, "{p}: {reason} is not true");
        prop_assert!(
            !holds(p, None, None) || reason.code().ends_with("role"),
            "{p}: {reason}"
        );
    }
    for (g, reason) in got.protected_groups() {
        let ok = match *reason {
            GroupReason::RoleAssignable => f.role_assignable_groups.contains(&g),
            GroupReason::HoldsRole { role } => holds(g, Some(role), None),
            GroupReason::ApproverGroup => f.approver_groups.contains(&g),
            GroupReason::MappedDownstream => f.mapped_groups.contains(&g),
            GroupReason::PimForGroups => f.pim_groups.contains(&g),
            GroupReason::PackageResource => f.package_groups.contains(&g),
            GroupReason::NestedIn { group } => member(group, g) && got.is_protected(group),
            GroupReason::OwnsProtected { group } => owner(group, g) && got.is_protected(group),
        };
        prop_assert!(ok, "{g}: {reason} is not true");
        let chain = got.protection_chain(g);
        prop_assert!(
            chain.last().is_some_and(|(_, r)| r.via().is_none()),
            "{g}: {chain:?}"
        );
    }
    Ok(())
}

/// The security property, checked without the evaluator: `p` has a path of live "member of" or
/// "owner of" edges, in any mix, to a holder of a live role, or of at least one edge to a group
/// on one of the protected lists.
fn chain_to_privilege(f: &Facts, p: Uuid) -> bool {
    let live = |w: &Window| w.end.is_none_or(|e| e > now());
    let listed = |g: &Uuid| {
        [
            &f.role_assignable_groups,
            &f.approver_groups,
            &f.mapped_groups,
            &f.pim_groups,
            &f.package_groups,
        ]
        .iter()
        .any(|l| l.contains(g))
    };
    let ups = |x: Uuid| {
        let m = f
            .memberships
            .iter()
            .filter(move |e| e.member == x && live(&e.window))
            .map(|e| e.group);
        let o = f
            .ownerships
            .iter()
            .filter(move |e| e.owner == x && live(&e.window))
            .map(|e| e.group);
        m.chain(o).collect::<Vec<_>>()
    };
    let mut seen = BTreeSet::new();
    let mut todo: Vec<(Uuid, usize)> = vec![(p, 0)];
    while let Some((x, steps)) = todo.pop() {
        if f.roles.iter().any(|r| r.principal == x && live(&r.window)) || (steps > 0 && listed(&x))
        {
            return true;
        }
        if seen.insert(x) {
            todo.extend(ups(x).into_iter().map(|g| (g, steps + 1)));
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn agrees_with_naive(f in facts()) {
        let got = evaluate(&f, now());
        let naive = super::naive::evaluate(&f, now());
        let privileged: BTreeSet<Uuid> = got.privileged_principals().map(|(p, _)| p).collect();
        let protected: BTreeSet<Uuid> = got.protected_groups().map(|(g, _)| g).collect();
        prop_assert_eq!(privileged, naive.privileged);
        prop_assert_eq!(protected, naive.protected);
        justified(&f, &got)?;
    }

    #[test]
    fn chains_of_live_edges_are_privilege(f in facts()) {
        let got = evaluate(&f, now());
        for p in (0..ALL).map(who) {
            if chain_to_privilege(&f, p) {
                prop_assert!(got.is_privileged(p), "{} has a chain but is not privileged", p);
            }
        }
        for &(sp, owner) in &f.service_principal_owners {
            if chain_to_privilege(&f, sp) {
                prop_assert!(got.is_privileged(owner));
            }
        }
        for &(user, manager) in &f.managers {
            if chain_to_privilege(&f, user) || f.approver_users.contains(&user) {
                prop_assert!(got.is_privileged(manager));
            }
        }
    }

    /// A chain planted into random facts: `start` -> hops through groups -> a role or a list.
    #[test]
    fn planted_chains_are_privilege(
        f in facts(),
        start in 0..ALL,
        hops in vec((any::<bool>(), 0..GROUPS, live_window(), any::<bool>()), 0..5),
        end in 0..6usize,
        end_window in live_window(),
        above in prop::option::of((any::<bool>(), 0..ALL)),
    ) {
        let mut f = f;
        let mut at = who(start);
        for &(owns, g, window, eligible) in &hops {
            let (group, eligible) = (group(g), eligible);
            if owns {
                f.ownerships.push(OwnerFact { group, owner: at, window, eligible });
            } else {
                f.memberships.push(MemberFact { group, member: at, window, eligible });
            }
            at = group;
        }
        let lists = [&mut f.role_assignable_groups, &mut f.approver_groups, &mut f.mapped_groups, &mut f.pim_groups, &mut f.package_groups];
        match lists.into_iter().nth(end).filter(|_| !hops.is_empty()) {
            Some(list) => list.push(at),
            None => f.roles.push(RoleFact { principal: at, role: role(0), window: end_window, eligible: end % 2 == 0 }),
        }
        if let Some((manages, boss)) = above {
            if manages {
                f.managers.push((who(start), who(boss)));
            } else {
                f.service_principal_owners.push((who(start), who(boss)));
            }
        }
        let got = evaluate(&f, now());
        prop_assert!(got.is_privileged(who(start)));
        for &(_, g, _, _) in &hops {
            prop_assert!(got.is_protected(group(g)));
        }
        if let Some((_, boss)) = above {
            prop_assert!(got.is_privileged(who(boss)));
        }
    }

    #[test]
    fn order_and_ended_facts_do_not_matter(f in facts(), ended in vec((0..GROUPS, 0..ALL, -3..=0i64), 0..6), turn in 0..7usize) {
        let got = evaluate(&f, now());
        let mut g = f.clone();
        g.memberships.reverse();
        let turn = turn.min(g.ownerships.len());
        g.ownerships.rotate_left(turn);
        g.roles.reverse();
        g.managers.reverse();
        g.service_principal_owners.reverse();
        for &(grp, x, end) in &ended {
            let window = Window::new(None, Some(t(end)));
            g.memberships.push(MemberFact { group: group(grp), member: who(x), window, eligible: true });
            g.ownerships.push(OwnerFact { group: group(grp), owner: who(x), window, eligible: false });
            g.roles.push(RoleFact { principal: who(x), role: role(grp % 3), window, eligible: false });
        }
        prop_assert_eq!(evaluate(&g, now()), got);
    }
}
