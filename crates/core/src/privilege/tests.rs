//! One case per reason and per closure rule, and the helpers the other test files share.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::*;
use crate::access::Window;

pub(super) fn t(hours: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + hours * 3600, 0).unwrap()
}

pub(super) const NOW: i64 = 0;

pub(super) fn within(start: i64, end: i64) -> Window {
    Window::new(Some(t(start)), Some(t(end)))
}

pub(super) fn until(end: i64) -> Window {
    Window::new(None, Some(t(end)))
}

pub(super) const fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub(super) const GA: Uuid = id(0xA0);
pub(super) const ROLE2: Uuid = id(0xA1);
pub(super) const U1: Uuid = id(1);
pub(super) const U2: Uuid = id(2);
pub(super) const U3: Uuid = id(3);
pub(super) const U4: Uuid = id(4);
pub(super) const G1: Uuid = id(0x11);
pub(super) const G2: Uuid = id(0x12);
pub(super) const G3: Uuid = id(0x13);
pub(super) const G4: Uuid = id(0x14);
pub(super) const G5: Uuid = id(0x15);
pub(super) const S1: Uuid = id(0x21);
pub(super) const S2: Uuid = id(0x22);

/// Builds facts in one line per fact.
#[derive(Default)]
pub(super) struct F(pub(super) Facts);

impl F {
    pub(super) fn member_w(
        mut self,
        group: Uuid,
        member: Uuid,
        window: Window,
        eligible: bool,
    ) -> Self {
        (self.0.memberships).push(MemberFact {
            group,
            member,
            window,
            eligible,
        });
        self
    }
    pub(super) fn member(self, group: Uuid, member: Uuid) -> Self {
        self.member_w(group, member, Window::ALWAYS, false)
    }
    pub(super) fn owner_w(
        mut self,
        group: Uuid,
        owner: Uuid,
        window: Window,
        eligible: bool,
    ) -> Self {
        (self.0.ownerships).push(OwnerFact {
            group,
            owner,
            window,
            eligible,
        });
        self
    }
    pub(super) fn owner(self, group: Uuid, owner: Uuid) -> Self {
        self.owner_w(group, owner, Window::ALWAYS, false)
    }
    pub(super) fn role_w(
        mut self,
        principal: Uuid,
        role: Uuid,
        window: Window,
        eligible: bool,
    ) -> Self {
        (self.0.roles).push(RoleFact {
            principal,
            role,
            window,
            eligible,
        });
        self
    }
    pub(super) fn role(self, principal: Uuid, role: Uuid) -> Self {
        self.role_w(principal, role, Window::ALWAYS, false)
    }
    pub(super) fn list(mut self, which: fn(&mut Facts) -> &mut Vec<Uuid>, id: Uuid) -> Self {
        which(&mut self.0).push(id);
        self
    }
    pub(super) fn assignable(self, g: Uuid) -> Self {
        self.list(|f| &mut f.role_assignable_groups, g)
    }
    pub(super) fn manager(mut self, user: Uuid, manager: Uuid) -> Self {
        self.0.managers.push((user, manager));
        self
    }
    pub(super) fn sp_owner(mut self, sp: Uuid, owner: Uuid) -> Self {
        self.0.service_principal_owners.push((sp, owner));
        self
    }
}

use GroupReason as G;
use PrincipalReason as P;

/// Evaluates at `NOW` and checks each listed principal's and group's reason (`None`: not
/// privileged, not protected).
fn check(name: &str, f: F, principals: &[(Uuid, Option<P>)], groups: &[(Uuid, Option<G>)]) {
    let got = evaluate(&f.0, t(NOW));
    for (who, want) in principals {
        assert_eq!(
            got.privileged(*who),
            want.as_ref(),
            "{name}: principal {who}"
        );
        assert_eq!(
            got.is_privileged(*who),
            want.is_some(),
            "{name}: principal {who}"
        );
    }
    for (g, want) in groups {
        assert_eq!(got.protected(*g), want.as_ref(), "{name}: group {g}");
        assert_eq!(got.is_protected(*g), want.is_some(), "{name}: group {g}");
    }
}

#[test]
fn roles() {
    let held = P::HoldsRole { role: GA };
    check(
        "held",
        F::default().role(U1, GA),
        &[(U1, Some(held)), (U2, None)],
        &[],
    );
    let f = F::default().role_w(U1, GA, until(3), true);
    check(
        "eligible",
        f,
        &[(U1, Some(P::EligibleForRole { role: GA }))],
        &[],
    );
    let f = F::default().role_w(U1, GA, within(5, 9), true);
    check(
        "future eligibility counts",
        f,
        &[(U1, Some(P::EligibleForRole { role: GA }))],
        &[],
    );
    let f = F::default()
        .role_w(U1, ROLE2, Window::ALWAYS, true)
        .role(U1, GA);
    check(
        "held over eligible",
        f,
        &[(U1, Some(P::HoldsRole { role: GA }))],
        &[],
    );
    let f = F::default().role(U1, ROLE2).role(U1, GA);
    check(
        "smallest role id",
        f,
        &[(U1, Some(P::HoldsRole { role: GA }))],
        &[],
    );
    let f = F::default()
        .role(U1, GA)
        .member(G1, U1)
        .assignable(G1)
        .list(|f| &mut f.approver_users, U1);
    check(
        "role over membership and approver",
        f,
        &[(U1, Some(held))],
        &[],
    );
}

#[test]
fn ended_facts_grant_nothing() {
    let f = F::default()
        .role_w(U1, GA, until(NOW), false)
        .role_w(U2, GA, within(-5, -1), true)
        .assignable(G1)
        .member_w(G1, U3, until(NOW), false)
        .owner_w(G1, U4, within(-3, NOW), true)
        .role_w(G2, GA, until(-1), false)
        .member_w(G2, G3, Window::ALWAYS, false);
    let none = [
        (U1, None),
        (U2, None),
        (U3, None),
        (U4, None),
        (G2, None),
        (G3, None),
    ];
    check(
        "ended",
        f,
        &none,
        &[(G2, None), (G3, None), (G1, Some(G::RoleAssignable))],
    );
}

#[test]
fn members_of_protected_groups() {
    let f = F::default()
        .assignable(G1)
        .role(G1, GA)
        .member_w(G1, U1, within(-1, 2), false);
    let member = P::MemberOfProtected { group: G1 };
    check(
        "activated membership",
        f,
        &[(U1, Some(member)), (G1, Some(P::HoldsRole { role: GA }))],
        &[(G1, Some(G::RoleAssignable))],
    );
    let f = F::default().role(G1, GA).member(G1, U1);
    check(
        "member of a role-holding group",
        f,
        &[(U1, Some(member))],
        &[(G1, Some(G::HoldsRole { role: GA }))],
    );
    let f = F::default()
        .list(|f| &mut f.approver_groups, G1)
        .member(G1, G2)
        .member(G2, G3)
        .member(G3, U1);
    let groups = [
        (G1, Some(G::ApproverGroup)),
        (G2, Some(G::NestedIn { group: G1 })),
        (G3, Some(G::NestedIn { group: G2 })),
    ];
    check(
        "approver group, two levels down",
        f,
        &[(U1, Some(P::MemberOfProtected { group: G3 }))],
        &groups,
    );
    for (list, reason) in [
        (
            (|f| &mut f.mapped_groups) as fn(&mut Facts) -> &mut Vec<Uuid>,
            G::MappedDownstream,
        ),
        (|f| &mut f.package_groups, G::PackageResource),
        (|f| &mut f.pim_groups, G::PimForGroups),
    ] {
        let f = F::default().list(list, G1).member(G1, U1);
        check(
            reason.code(),
            f,
            &[(U1, Some(member))],
            &[(G1, Some(reason))],
        );
    }
    let f = F::default().member(G1, U1).owner(G1, U2);
    check(
        "an ordinary group is nothing",
        f,
        &[(U1, None), (U2, None)],
        &[(G1, None)],
    );
}

#[test]
fn owners_of_protected_groups() {
    let owner = P::OwnerOfProtected { group: G1 };
    let f = F::default().assignable(G1).owner(G1, U1);
    check(
        "owner of a role-less role-assignable group",
        f,
        &[(U1, Some(owner))],
        &[(G1, Some(G::RoleAssignable))],
    );
    let f = F::default().role(G1, GA).owner(G1, U1);
    check("owner of a group holding GA", f, &[(U1, Some(owner))], &[]);
    let f = F::default()
        .list(|f| &mut f.pim_groups, G1)
        .member_w(G1, U1, within(1, 4), true)
        .owner_w(G1, U2, until(8), true);
    let who = [
        (U1, Some(P::MemberOfProtected { group: G1 })),
        (U2, Some(owner)),
    ];
    check("eligible member and owner of a PIM group", f, &who, &[]);
    // G2 owns G1, G3 is in G2, U1 owns G3, U2 is in G2: control chains through both.
    let f = F::default()
        .assignable(G1)
        .owner(G1, G2)
        .member(G2, G3)
        .owner(G3, U1)
        .member(G2, U2);
    let who = [
        (U1, Some(P::OwnerOfProtected { group: G3 })),
        (U2, Some(P::MemberOfProtected { group: G2 })),
        (G2, Some(owner)),
    ];
    let groups = [
        (G2, Some(G::OwnsProtected { group: G1 })),
        (G3, Some(G::NestedIn { group: G2 })),
    ];
    check("owning and nesting chain", f, &who, &groups);
    let f = F::default().assignable(G1).member(G1, U1).owner(G1, U1);
    check(
        "member over owner",
        f,
        &[(U1, Some(P::MemberOfProtected { group: G1 }))],
        &[],
    );
}

#[test]
fn approvers_managers_and_service_principals() {
    let f = F::default().list(|f| &mut f.approver_users, U1);
    check(
        "named approver",
        f,
        &[(U1, Some(P::NamedApprover))],
        &[(U1, None)],
    );
    let f = F::default()
        .role_w(U1, GA, Window::ALWAYS, true)
        .manager(U1, U2)
        .manager(U2, U3)
        .manager(U4, U3);
    let who = [(U2, Some(P::ManagerOf { user: U1 })), (U3, None)];
    check(
        "manager of an eligible user, not that manager's manager",
        f,
        &who,
        &[],
    );
    let f = F::default().role(U1, GA).role(U2, ROLE2).manager(U1, U2);
    check(
        "a privileged manager keeps their reason",
        f,
        &[(U2, Some(P::HoldsRole { role: ROLE2 }))],
        &[],
    );
    let f = F::default().role(S1, GA).sp_owner(S1, U1).sp_owner(S2, U2);
    let who = [
        (U1, Some(P::OwnerOfPrivilegedServicePrincipal { sp: S1 })),
        (U2, None),
    ];
    check("owner of a privileged service principal", f, &who, &[]);
    let f = F::default()
        .assignable(G1)
        .member(G1, S1)
        .sp_owner(S1, S2)
        .sp_owner(S2, U1)
        .manager(U1, U2);
    let who = [
        (S2, Some(P::OwnerOfPrivilegedServicePrincipal { sp: S1 })),
        (U1, Some(P::OwnerOfPrivilegedServicePrincipal { sp: S2 })),
        (U2, Some(P::ManagerOf { user: U1 })),
    ];
    check(
        "ownership of service principals chains, then one manager",
        f,
        &who,
        &[],
    );
}

#[test]
fn membership_cycles_terminate() {
    let f = F::default()
        .assignable(G1)
        .member(G1, G2)
        .member(G2, G3)
        .member(G3, G2)
        .member(G3, U1)
        .member(G4, G5)
        .member(G5, G4)
        .member(G5, U2)
        .owner(G4, G4);
    let who = [(U1, Some(P::MemberOfProtected { group: G3 })), (U2, None)];
    let groups = [
        (G3, Some(G::NestedIn { group: G2 })),
        (G4, None),
        (G5, None),
    ];
    check("cycles", f, &who, &groups);
}
