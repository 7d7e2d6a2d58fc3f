//! The evaluation: intern ids to dense indexes, keep the live edges in adjacency arrays, then
//! three breadth-first passes (protected groups down through members and owners; service
//! principal owners; one step to managers). Each pass reaches a node once; within a pass, a node
//! first reached in some layer takes the preferred of the reasons offered in that layer, so the
//! result does not depend on the order of the facts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Facts, GroupReason, PrincipalReason, Privilege, live};

const UNSEEN: u32 = u32::MAX;

/// Decides, at `now`, who is privileged and which groups are protected. See the module docs.
pub fn evaluate(facts: &Facts, now: DateTime<Utc>) -> Privilege {
    let mut ids = Interner::default();
    let members: Vec<(u32, u32)> = (facts.memberships.iter())
        .filter(|f| live(&f.window, now))
        .map(|f| (ids.of(f.group), ids.of(f.member)))
        .collect();
    let owners: Vec<(u32, u32)> = (facts.ownerships.iter())
        .filter(|f| live(&f.window, now))
        .map(|f| (ids.of(f.group), ids.of(f.owner)))
        .collect();
    let roles: Vec<_> = (facts.roles.iter())
        .filter(|f| live(&f.window, now))
        .map(|f| (ids.of(f.principal), f))
        .collect();
    let sp_owners: Vec<(u32, u32)> = (facts.service_principal_owners.iter())
        .map(|&(sp, owner)| (ids.of(sp), ids.of(owner)))
        .collect();
    let managers: Vec<(u32, u32)> = (facts.managers.iter())
        .map(|&(user, manager)| (ids.of(user), ids.of(manager)))
        .collect();
    let base = [
        (&facts.role_assignable_groups, GroupReason::RoleAssignable),
        (&facts.approver_groups, GroupReason::ApproverGroup),
        (&facts.mapped_groups, GroupReason::MappedDownstream),
        (&facts.pim_groups, GroupReason::PimForGroups),
        (&facts.package_groups, GroupReason::PackageResource),
    ];
    let base: Vec<(u32, GroupReason)> = (base.iter())
        .flat_map(|(list, reason)| list.iter().map(|g| (*g, *reason)))
        .chain(
            roles
                .iter()
                .map(|(_, f)| (f.principal, GroupReason::HoldsRole { role: f.role })),
        )
        .map(|(g, reason)| (ids.of(g), reason))
        .collect();
    let approvers: Vec<u32> = facts.approver_users.iter().map(|&u| ids.of(u)).collect();
    let n = ids.uuids.len();
    let uuid = |i: u32| ids.uuids[i as usize];

    // Protected: the base, then down through members and owners of what is protected.
    let member_adj = Adjacency::new(n, &members);
    let owner_adj = Adjacency::new(n, &owners);
    let mut group = Layered::new(n);
    for &(g, reason) in &base {
        group.offer(g, reason, |a, b| a.key() < b.key());
    }
    while let Some(frontier) = group.next_layer() {
        for u in frontier {
            let g = uuid(u);
            for &m in member_adj.of(u) {
                group.offer(m, GroupReason::NestedIn { group: g }, |a, b| {
                    a.key() < b.key()
                });
            }
            for &o in owner_adj.of(u) {
                group.offer(o, GroupReason::OwnsProtected { group: g }, |a, b| {
                    a.key() < b.key()
                });
            }
        }
    }

    // Privileged through roles, protected groups and approval stages.
    let better = |a: &PrincipalReason, b: &PrincipalReason| a.key() < b.key();
    let mut principal = Layered::new(n);
    for (p, f) in &roles {
        let role = f.role;
        let reason = if f.eligible {
            PrincipalReason::EligibleForRole { role }
        } else {
            PrincipalReason::HoldsRole { role }
        };
        principal.offer(*p, reason, better);
    }
    for &(g, m) in &members {
        if group.reached(g) {
            principal.offer(
                m,
                PrincipalReason::MemberOfProtected { group: uuid(g) },
                better,
            );
        }
    }
    for &(g, o) in &owners {
        if group.reached(g) {
            principal.offer(
                o,
                PrincipalReason::OwnerOfProtected { group: uuid(g) },
                better,
            );
        }
    }
    for &u in &approvers {
        principal.offer(u, PrincipalReason::NamedApprover, better);
    }

    // Owners of privileged service principals, as far as ownership goes (an owner that is itself
    // an owned service principal passes it on: control of privilege is privilege).
    let sp_adj = Adjacency::new(n, &sp_owners);
    while let Some(frontier) = principal.next_layer() {
        for sp in frontier {
            let reason = PrincipalReason::OwnerOfPrivilegedServicePrincipal { sp: uuid(sp) };
            for &o in sp_adj.of(sp) {
                principal.offer(o, reason, better);
            }
        }
    }

    // One step to managers: they approve for their reports, their own managers do not.
    let before_managers = principal
        .reason
        .iter()
        .map(Option::is_some)
        .collect::<Vec<_>>();
    for &(user, manager) in &managers {
        if before_managers[user as usize] && !before_managers[manager as usize] {
            let reason = PrincipalReason::ManagerOf { user: uuid(user) };
            principal.offer(manager, reason, better);
        }
    }

    Privilege {
        principals: sorted(&ids.uuids, principal.reason),
        groups: sorted(&ids.uuids, group.reason),
    }
}

fn sorted<R>(uuids: &[Uuid], reasons: Vec<Option<R>>) -> Vec<(Uuid, R)> {
    let mut out: Vec<(Uuid, R)> = (uuids.iter().zip(reasons))
        .filter_map(|(id, r)| r.map(|r| (*id, r)))
        .collect();
    out.sort_unstable_by_key(|(id, _)| *id);
    out
}

#[derive(Default)]
struct Interner {
    index: HashMap<Uuid, u32>,
    uuids: Vec<Uuid>,
}

impl Interner {
    fn of(&mut self, id: Uuid) -> u32 {
        *self.index.entry(id).or_insert_with(|| {
            self.uuids.push(id);
            (self.uuids.len() - 1) as u32
        })
    }
}

/// `(from, to)` pairs grouped by `from` (compressed rows).
struct Adjacency {
    start: Vec<u32>,
    to: Vec<u32>,
}

impl Adjacency {
    fn new(n: usize, pairs: &[(u32, u32)]) -> Self {
        let mut start = vec![0u32; n + 1];
        for &(from, _) in pairs {
            start[from as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut to = vec![0u32; pairs.len()];
        for &(from, t) in pairs {
            to[fill[from as usize] as usize] = t;
            fill[from as usize] += 1;
        }
        Self { start, to }
    }

    fn of(&self, from: u32) -> &[u32] {
        &self.to[self.start[from as usize] as usize..self.start[from as usize + 1] as usize]
    }
}

/// A breadth-first search that records a reason per node. Offers made before the first
/// [`Layered::next_layer`] form layer 0; later ones form the next layer. A node keeps the reason
/// it got in the layer that first reached it, the preferred one among that layer's offers.
struct Layered<R> {
    reason: Vec<Option<R>>,
    layer: Vec<u32>,
    current: u32,
    fresh: Vec<u32>,
}

impl<R: Copy> Layered<R> {
    fn new(n: usize) -> Self {
        Self {
            reason: vec![None; n],
            layer: vec![UNSEEN; n],
            current: 0,
            fresh: Vec::new(),
        }
    }

    fn reached(&self, node: u32) -> bool {
        self.reason[node as usize].is_some()
    }

    fn offer(&mut self, node: u32, reason: R, better: impl Fn(&R, &R) -> bool) {
        let i = node as usize;
        match &self.reason[i] {
            None => {
                self.reason[i] = Some(reason);
                self.layer[i] = self.current;
                self.fresh.push(node);
            }
            Some(old) if self.layer[i] == self.current && better(&reason, old) => {
                self.reason[i] = Some(reason);
            }
            Some(_) => {}
        }
    }

    /// The nodes reached in the layer that just closed; offers from now on build the next one.
    fn next_layer(&mut self) -> Option<Vec<u32>> {
        self.current += 1;
        let done = std::mem::take(&mut self.fresh);
        (!done.is_empty()).then_some(done)
    }
}
