//! Who is privileged and which groups are protected (threat model rules 1 and 3), decided from
//! plain directory facts, each answer with the reason for it.
//!
//! Rule 1, "control of privilege is privilege": a principal is privileged when it holds or is
//! eligible for a role, is (or may become, through an eligibility) a member or owner of a
//! protected group, directly or through nested groups, is a named approver, owns a privileged
//! service principal, or manages a privileged user. Rule 3: a group is protected when it is
//! role-assignable, holds a role, names approvers, is mapped downstream, is handed out through
//! PIM for Groups or an access package, or when changing it changes a protected group (it is
//! nested in one, or owns one).
//!
//! What this must never do:
//! - Class anyone unprivileged, or any group unprotected, because data is missing or ambiguous.
//!   It over-approximates instead: a fact counts if it is live at `now` *or later* (a scheduled
//!   eligibility is privilege), edges live at different times are chained as if they overlapped,
//!   and because the facts do not say which ids are groups, every id that would be protected if
//!   it were a group is in the protected set (an empty group nested in a role-assignable one must
//!   be protected; a user listed there is harmless, nobody edits a user's members).
//! - Look at any time other than the `now` it is given, or keep anything between calls.
//!
//! [`evaluate`] is one pass over the facts (a breadth-first closure), linear in their number:
//! 200,000 facts over 100,000 principals take about 60 ms in a release build.

mod eval;
#[cfg(test)]
mod naive;
#[cfg(test)]
mod props;
#[cfg(test)]
mod shape;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::Window;

pub use eval::evaluate;

/// `member` is, or may become, a member of `group`: a direct membership (`Window::ALWAYS`), an
/// active PIM-for-Groups membership with its window, or an eligible one (`eligible: true`) with
/// the eligibility's window. `member` may itself be a group. `eligible` does not change the
/// answer (an eligibility is privilege too); it is there so callers can keep one fact type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberFact {
    pub group: Uuid,
    pub member: Uuid,
    pub window: Window,
    pub eligible: bool,
}

/// `owner` owns, or may become owner of, `group`: direct, active or eligible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OwnerFact {
    pub group: Uuid,
    pub owner: Uuid,
    pub window: Window,
    pub eligible: bool,
}

/// `principal` holds (`eligible: false`) or is eligible for a directory role the caller
/// considers privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoleFact {
    pub principal: Uuid,
    pub role: Uuid,
    pub window: Window,
    pub eligible: bool,
}

/// Everything the decision reads. Windows are half-open; see [`Window`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Direct, active and eligible memberships, each with its window.
    pub memberships: Vec<MemberFact>,
    /// Direct, active and eligible ownerships, each with its window.
    pub ownerships: Vec<OwnerFact>,
    /// Held and eligible privileged roles (the caller passes only roles it considers privileged).
    pub roles: Vec<RoleFact>,
    pub role_assignable_groups: Vec<Uuid>,
    /// Groups named as approvers (groupMembers) in any approval stage of any policy.
    pub approver_groups: Vec<Uuid>,
    /// Users named as approvers (singleUser) in any approval stage of any policy.
    pub approver_users: Vec<Uuid>,
    /// Groups mapped to a downstream connector (LDAP, SCIM, webhook).
    pub mapped_groups: Vec<Uuid>,
    /// Groups with any eligible or active PIM-for-Groups schedule.
    pub pim_groups: Vec<Uuid>,
    /// Groups that are a resource of an access package.
    pub package_groups: Vec<Uuid>,
    /// `(user, manager)`: `manager` is the manager of `user`.
    pub managers: Vec<(Uuid, Uuid)>,
    /// `(service principal, owner)`.
    pub service_principal_owners: Vec<(Uuid, Uuid)>,
}

/// Why a group is protected. `NestedIn` and `OwnsProtected` name the next protected group on
/// the way to a base reason; [`Privilege::protection_chain`] follows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum GroupReason {
    RoleAssignable,
    /// The group holds, or is eligible for, `role`.
    HoldsRole {
        role: Uuid,
    },
    ApproverGroup,
    MappedDownstream,
    PimForGroups,
    PackageResource,
    /// A (current or eligible) member of protected `group`: changing it changes `group`.
    NestedIn {
        group: Uuid,
    },
    /// A (current or eligible) owner of protected `group`.
    OwnsProtected {
        group: Uuid,
    },
}

/// Why a principal is privileged. Variants are listed from the most direct reason to the least;
/// when several apply, the first one (then the smallest id it carries) is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PrincipalReason {
    HoldsRole {
        role: Uuid,
    },
    EligibleForRole {
        role: Uuid,
    },
    /// A current or eligible member of protected `group` (nested memberships reach it through
    /// groups that are protected themselves, see [`Privilege::protection_chain`]).
    MemberOfProtected {
        group: Uuid,
    },
    /// A current or eligible owner of protected `group`.
    OwnerOfProtected {
        group: Uuid,
    },
    NamedApprover,
    OwnerOfPrivilegedServicePrincipal {
        sp: Uuid,
    },
    /// The manager of privileged `user` (approves for them when a policy uses the manager).
    ManagerOf {
        user: Uuid,
    },
}

impl GroupReason {
    /// A stable, machine-readable code (also the `code` tag of the serialized form).
    pub fn code(&self) -> &'static str {
        match self {
            Self::RoleAssignable => "role_assignable",
            Self::HoldsRole { .. } => "holds_role",
            Self::ApproverGroup => "approver_group",
            Self::MappedDownstream => "mapped_downstream",
            Self::PimForGroups => "pim_for_groups",
            Self::PackageResource => "package_resource",
            Self::NestedIn { .. } => "nested_in",
            Self::OwnsProtected { .. } => "owns_protected",
        }
    }

    /// The order in which reasons are preferred: lower first, then the smaller id.
    fn key(&self) -> (u8, Uuid) {
        match *self {
            Self::RoleAssignable => (0, Uuid::nil()),
            Self::HoldsRole { role } => (1, role),
            Self::ApproverGroup => (2, Uuid::nil()),
            Self::MappedDownstream => (3, Uuid::nil()),
            Self::PimForGroups => (4, Uuid::nil()),
            Self::PackageResource => (5, Uuid::nil()),
            Self::NestedIn { group } => (6, group),
            Self::OwnsProtected { group } => (7, group),
        }
    }

    /// The protected group this reason leans on, if it is not a base reason.
    pub fn via(&self) -> Option<Uuid> {
        match *self {
            Self::NestedIn { group } | Self::OwnsProtected { group } => Some(group),
            _ => None,
        }
    }
}

impl PrincipalReason {
    /// A stable, machine-readable code (also the `code` tag of the serialized form).
    pub fn code(&self) -> &'static str {
        match self {
            Self::HoldsRole { .. } => "holds_role",
            Self::EligibleForRole { .. } => "eligible_for_role",
            Self::MemberOfProtected { .. } => "member_of_protected",
            Self::OwnerOfProtected { .. } => "owner_of_protected",
            Self::NamedApprover => "named_approver",
            Self::OwnerOfPrivilegedServicePrincipal { .. } => {
                "owner_of_privileged_service_principal"
            }
            Self::ManagerOf { .. } => "manager_of",
        }
    }

    fn key(&self) -> (u8, Uuid) {
        match *self {
            Self::HoldsRole { role } => (0, role),
            Self::EligibleForRole { role } => (1, role),
            Self::MemberOfProtected { group } => (2, group),
            Self::OwnerOfProtected { group } => (3, group),
            Self::NamedApprover => (4, Uuid::nil()),
            Self::OwnerOfPrivilegedServicePrincipal { sp } => (5, sp),
            Self::ManagerOf { user } => (6, user),
        }
    }
}

impl fmt::Display for GroupReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RoleAssignable => f.write_str("role-assignable group"),
            Self::HoldsRole { role } => write!(f, "holds or is eligible for role {role}"),
            Self::ApproverGroup => f.write_str("named as approvers in an approval policy"),
            Self::MappedDownstream => f.write_str("mapped to a downstream connector"),
            Self::PimForGroups => f.write_str("handed out through PIM for Groups"),
            Self::PackageResource => f.write_str("resource of an access package"),
            Self::NestedIn { group } => write!(f, "member of protected group {group}"),
            Self::OwnsProtected { group } => write!(f, "owner of protected group {group}"),
        }
    }
}

impl fmt::Display for PrincipalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HoldsRole { role } => write!(f, "holds role {role}"),
            Self::EligibleForRole { role } => write!(f, "eligible for role {role}"),
            Self::MemberOfProtected { group } => write!(f, "member of protected group {group}"),
            Self::OwnerOfProtected { group } => write!(f, "owner of protected group {group}"),
            Self::NamedApprover => f.write_str("named approver in an approval policy"),
            Self::OwnerOfPrivilegedServicePrincipal { sp } => {
                write!(f, "owner of privileged service principal {sp}")
            }
            Self::ManagerOf { user } => write!(f, "manager of privileged user {user}"),
        }
    }
}

/// The answer of [`evaluate`]: the privileged principals and the protected groups, each with
/// one reason, sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Privilege {
    principals: Vec<(Uuid, PrincipalReason)>,
    groups: Vec<(Uuid, GroupReason)>,
}

impl Privilege {
    pub fn is_privileged(&self, id: Uuid) -> bool {
        self.privileged(id).is_some()
    }

    pub fn privileged(&self, id: Uuid) -> Option<&PrincipalReason> {
        lookup(&self.principals, id)
    }

    /// Whether changing `group`'s members or owners is a change to protected privilege. Ask it
    /// about groups: the set also holds ids the facts cannot show are not groups.
    pub fn is_protected(&self, group: Uuid) -> bool {
        self.protected(group).is_some()
    }

    pub fn protected(&self, group: Uuid) -> Option<&GroupReason> {
        lookup(&self.groups, group)
    }

    /// Every privileged principal with its reason, by id.
    pub fn privileged_principals(
        &self,
    ) -> impl ExactSizeIterator<Item = (Uuid, &PrincipalReason)> + '_ {
        self.principals.iter().map(|(id, r)| (*id, r))
    }

    /// Every protected id with its reason, by id.
    pub fn protected_groups(&self) -> impl ExactSizeIterator<Item = (Uuid, &GroupReason)> + '_ {
        self.groups.iter().map(|(id, r)| (*id, r))
    }

    /// `group`'s reason, then the reason of the group it leans on, and so on down to a base
    /// reason (role-assignable, holds a role, ...): the full "why". Empty if not protected.
    pub fn protection_chain(&self, group: Uuid) -> Vec<(Uuid, GroupReason)> {
        let mut chain = Vec::new();
        let mut at = Some(group);
        // Reasons always lean on a group reached earlier, so this ends; the bound is a backstop.
        while let Some(id) = at.filter(|_| chain.len() <= self.groups.len()) {
            let Some(&reason) = self.protected(id) else {
                break;
            };
            chain.push((id, reason));
            at = reason.via();
        }
        chain
    }
}

fn lookup<R>(sorted: &[(Uuid, R)], id: Uuid) -> Option<&R> {
    sorted
        .binary_search_by_key(&id, |(k, _)| *k)
        .ok()
        .map(|i| &sorted[i].1)
}

/// A fact counts if it is live now or will be: only an end at or before `now` retires it.
fn live(window: &Window, now: DateTime<Utc>) -> bool {
    window.end.is_none_or(|e| e > now)
}
