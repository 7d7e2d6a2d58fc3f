//! The output's shape: protection chains, codes and display text, order of iteration, and a
//! directory of 100,000 principals.

use super::tests::*;
use super::*;
use crate::access::Window;

use GroupReason as G;
use PrincipalReason as P;

#[test]
fn protection_chain_leads_to_a_base_reason() {
    let f = F::default()
        .assignable(G1)
        .owner(G1, G2)
        .member(G2, G3)
        .member(G3, G2);
    let got = evaluate(&f.0, t(NOW));
    let chain = vec![
        (G3, G::NestedIn { group: G2 }),
        (G2, G::OwnsProtected { group: G1 }),
        (G1, G::RoleAssignable),
    ];
    assert_eq!(got.protection_chain(G3), chain);
    assert_eq!(got.protection_chain(G4), vec![]);
    assert_eq!(
        got.protected_groups().map(|(g, _)| g).collect::<Vec<_>>(),
        vec![G1, G2, G3]
    );
    assert_eq!(
        got.privileged_principals().len(),
        2,
        "G2 owns G1, G3 is in G2"
    );
}

#[test]
fn codes_match_serialized_tags_and_display_names_ids() {
    let principals = [
        P::HoldsRole { role: GA },
        P::EligibleForRole { role: GA },
        P::MemberOfProtected { group: G1 },
        P::OwnerOfProtected { group: G1 },
        P::NamedApprover,
        P::OwnerOfPrivilegedServicePrincipal { sp: S1 },
        P::ManagerOf { user: U1 },
    ];
    for r in principals {
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["code"], r.code());
        assert_eq!(serde_json::from_value::<P>(json).unwrap(), r);
    }
    let groups = [
        G::RoleAssignable,
        G::HoldsRole { role: GA },
        G::ApproverGroup,
        G::MappedDownstream,
        G::PimForGroups,
        G::PackageResource,
        G::NestedIn { group: G1 },
        G::OwnsProtected { group: G1 },
    ];
    for r in groups {
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["code"], r.code());
        assert_eq!(serde_json::from_value::<G>(json).unwrap(), r);
    }
    assert_eq!(
        P::MemberOfProtected { group: G1 }.to_string(),
        format!("member of protected group {G1}")
    );
    assert_eq!(
        P::ManagerOf { user: U1 }.to_string(),
        format!("manager of privileged user {U1}")
    );
    assert_eq!(
        G::OwnsProtected { group: G1 }.to_string(),
        format!("owner of protected group {G1}")
    );
}

/// 100,000 principals and 200,000 facts: it finishes (in release, in tens of milliseconds; see
/// the module docs) and the order of the facts does not change the answer.
#[test]
fn large_directory() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let user = |i: u64| id(0x1_0000_0000 + i as u128);
    let group = |i: u64| id(0x2_0000_0000 + i as u128);
    let mut f = F::default();
    for _ in 0..140_000 {
        let (g, end) = (group(next(10_000)), t(next(10) as i64 - 5));
        let m = if next(10) == 0 {
            group(next(10_000))
        } else {
            user(next(90_000))
        };
        f = f.member_w(g, m, Window::new(None, Some(end)), next(2) == 0);
    }
    for _ in 0..20_000 {
        f = f.owner(group(next(10_000)), user(next(90_000)));
    }
    for _ in 0..10_000 {
        let p = if next(2) == 0 {
            group(next(10_000))
        } else {
            user(next(90_000))
        };
        f = f.role_w(
            p,
            id(next(30) as u128),
            until(next(10) as i64 - 5),
            next(2) == 0,
        );
    }
    for _ in 0..30_000 {
        f = f.manager(user(next(90_000)), user(next(90_000)));
    }
    for i in 0..100 {
        f = f
            .assignable(group(i))
            .sp_owner(user(89_000 + i), user(next(90_000)));
    }
    let got = evaluate(&f.0, t(NOW));
    assert!(got.privileged_principals().len() > 1000);
    assert!(got.protected_groups().len() > 100);
    let mut reversed = f.0.clone();
    reversed.memberships.reverse();
    reversed.ownerships.reverse();
    reversed.roles.reverse();
    reversed.managers.reverse();
    assert_eq!(evaluate(&reversed, t(NOW)), got);
}
