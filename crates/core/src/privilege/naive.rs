//! A reference evaluator for the tests, written to share nothing with [`super::eval`]: ids stay
//! `Uuid`s in ordered sets, the protected set is grown by whole passes over the edges until a
//! pass adds nothing, and each principal is then judged on its own by a path search over the
//! "is a member of" relation. Slow and obvious; it returns sets, not reasons.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Facts;

pub(super) struct Naive {
    pub privileged: BTreeSet<Uuid>,
    pub protected: BTreeSet<Uuid>,
}

pub(super) fn evaluate(facts: &Facts, now: DateTime<Utc>) -> Naive {
    let counts = |end: Option<DateTime<Utc>>| match end {
        None => true,
        Some(end) => now < end,
    };
    // (child, parent): child is a member of parent; (owner, group): owner owns group.
    let in_group: BTreeSet<(Uuid, Uuid)> = (facts.memberships.iter())
        .filter(|m| counts(m.window.end))
        .map(|m| (m.member, m.group))
        .collect();
    let owns: BTreeSet<(Uuid, Uuid)> = (facts.ownerships.iter())
        .filter(|o| counts(o.window.end))
        .map(|o| (o.owner, o.group))
        .collect();
    let role_holders: BTreeSet<Uuid> = (facts.roles.iter())
        .filter(|r| counts(r.window.end))
        .map(|r| r.principal)
        .collect();

    let mut protected: BTreeSet<Uuid> = BTreeSet::new();
    protected.extend(facts.role_assignable_groups.iter().copied());
    protected.extend(facts.approver_groups.iter().copied());
    protected.extend(facts.mapped_groups.iter().copied());
    protected.extend(facts.pim_groups.iter().copied());
    protected.extend(facts.package_groups.iter().copied());
    protected.extend(role_holders.iter().copied());
    loop {
        let mut added = Vec::new();
        for (x, g) in in_group.iter().chain(owns.iter()) {
            if protected.contains(g) && !protected.contains(x) {
                added.push(*x);
            }
        }
        if added.is_empty() {
            break;
        }
        protected.extend(added);
    }

    // Every id the facts mention is a principal to judge.
    let mut everyone: BTreeSet<Uuid> = BTreeSet::new();
    for (a, b) in in_group.iter().chain(owns.iter()) {
        everyone.insert(*a);
        everyone.insert(*b);
    }
    everyone.extend(role_holders.iter().copied());
    everyone.extend(facts.approver_users.iter().copied());
    for (a, b) in facts.managers.iter().chain(&facts.service_principal_owners) {
        everyone.insert(*a);
        everyone.insert(*b);
    }

    let mut privileged: BTreeSet<Uuid> = BTreeSet::new();
    for &p in &everyone {
        let groups = groups_reachable(p, &in_group);
        let owns_protected = |x: Uuid| owns.iter().any(|(o, g)| *o == x && protected.contains(g));
        let yes = role_holders.contains(&p)
            || groups.iter().any(|g| protected.contains(g))
            || owns_protected(p)
            || groups.iter().any(|&g| owns_protected(g))
            || facts.approver_users.contains(&p);
        if yes {
            privileged.insert(p);
        }
    }
    // Owners of privileged service principals, repeated while it finds more.
    loop {
        let more: Vec<Uuid> = (facts.service_principal_owners.iter())
            .filter(|(sp, owner)| privileged.contains(sp) && !privileged.contains(owner))
            .map(|(_, owner)| *owner)
            .collect();
        if more.is_empty() {
            break;
        }
        privileged.extend(more);
    }
    // Managers: once, from the set as it stands now.
    let managers: Vec<Uuid> = (facts.managers.iter())
        .filter(|(user, _)| privileged.contains(user))
        .map(|(_, manager)| *manager)
        .collect();
    privileged.extend(managers);

    Naive {
        privileged,
        protected,
    }
}

/// Every group `p` is in, directly or through any number of nested groups (a depth-first search
/// with an explicit stack; the visited set stops cycles).
fn groups_reachable(p: Uuid, in_group: &BTreeSet<(Uuid, Uuid)>) -> BTreeSet<Uuid> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![p];
    while let Some(x) = stack.pop() {
        for (child, parent) in in_group {
            if *child == x && seen.insert(*parent) {
                stack.push(*parent);
            }
        }
    }
    seen
}
