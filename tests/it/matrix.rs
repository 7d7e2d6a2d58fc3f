//! The authorization matrix of the threat model ("How we test it"): every write route of the
//! JSON API and the portal's main form actions × every kind of caller × every kind of target,
//! generated from one table ([`ROWS`]) and run as one test.
//!
//! The expected outcome of each row is written down from the rules (threat model rules 1 to 4,
//! the roles' permissions in `eligo_core::roles`), never computed by `eligo_core::authz::decide`:
//! a table that asked the code what to expect could never fail. Each row lists, in order, who
//! gets what on which kind of target; the first rule that matches a case decides, and a case no
//! rule names falls back on the defaults every route shares: anonymous → 401, the break-glass
//! token → allowed (the portal: no session), anyone else → 403 `Authorization_RequestDenied`.
//!
//! A refused case must answer its status and code (the portal: its status and the refusal's
//! words), record no change in the audit trail (no successful entry after the chain's head as
//! it was before the request, as `TestApp::recorded_changes` counts them, without its 999-entry
//! page) and leave its target as it was (read back before and after, as a Global
//! Administrator). An allowed case must succeed (a portal form must also record its change).
//! Cases where the server disagrees with the rules are listed in [`disagreements`]: the main
//! test leaves them out, `authorization_matrix_disagreements` runs exactly them with the rules'
//! expectation, so it fails until the server is fixed. Each 403 must
//! also be audited as a failure, as the README promises.
//!
//! The rows run in eight lanes on two worker threads, each lane one app (a fresh SQLite
//! database) with every caller signed in once. Each case gets a fresh target, except that a
//! target a refusal provably left unchanged (same audit head, same read-back) serves the next
//! caller of the same row and kind: that is the same state as a fresh one, for a fifth of the
//! cost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use chrono::{DateTime, Utc};
use eligo_core::audit::Outcome;
use eligo_core::roles::ids;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::SessionChannel;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;

// ---------------------------------------------------------------------------------------------
// Who calls.

/// The built-in roles (`crates/core/src/roles.rs`), each a kind of caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum BuiltIn {
    Global,
    PrivilegedRole,
    PrivilegedAuthentication,
    User,
    Groups,
    Helpdesk,
    Exchange,
    Security,
    SecurityReader,
    GlobalReader,
    IdentityGovernance,
}

use BuiltIn::*;

const ROLES: [BuiltIn; 11] = [
    Global,
    PrivilegedRole,
    PrivilegedAuthentication,
    User,
    Groups,
    Helpdesk,
    Exchange,
    Security,
    SecurityReader,
    GlobalReader,
    IdentityGovernance,
];

impl BuiltIn {
    fn id(self) -> &'static str {
        match self {
            Global => ids::GLOBAL_ADMINISTRATOR,
            PrivilegedRole => ids::PRIVILEGED_ROLE_ADMINISTRATOR,
            PrivilegedAuthentication => ids::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
            User => ids::USER_ADMINISTRATOR,
            Groups => ids::GROUPS_ADMINISTRATOR,
            Helpdesk => ids::HELPDESK_ADMINISTRATOR,
            Exchange => ids::EXCHANGE_ADMINISTRATOR,
            Security => ids::SECURITY_ADMINISTRATOR,
            SecurityReader => ids::SECURITY_READER,
            GlobalReader => ids::GLOBAL_READER,
            IdentityGovernance => ids::IDENTITY_GOVERNANCE_ADMINISTRATOR,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Global => "Global Administrator",
            PrivilegedRole => "Privileged Role Administrator",
            PrivilegedAuthentication => "Privileged Authentication Administrator",
            User => "User Administrator",
            Groups => "Groups Administrator",
            Helpdesk => "Helpdesk Administrator",
            Exchange => "Exchange Administrator",
            Security => "Security Administrator",
            SecurityReader => "Security Reader",
            GlobalReader => "Global Reader",
            IdentityGovernance => "Identity Governance Administrator",
        }
    }
}

/// How strongly the caller's session was authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Mfa {
    /// A second factor proved now (within `mfa_freshness`).
    Fresh,
    /// A session with no second factor on record (`last_mfa_at` empty).
    PasswordOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Caller {
    Anonymous,
    /// The break-glass bearer token (`BOOTSTRAP`).
    BreakGlass,
    /// A signed-in user holding no role (fresh second factor).
    NoRole,
    /// Eligible for Global Administrator, not active (fresh second factor).
    Eligible,
    /// The named approver of Security Administrator's activations, and the named reviewer of
    /// the group reviews the access review rows act on.
    Approver(Mfa),
    /// An owner of the target group (of an unrelated ordinary group when the target is none).
    Owner(Mfa),
    /// Holds the role, active and permanent.
    Admin(BuiltIn, Mfa),
}

impl Caller {
    fn all() -> Vec<Caller> {
        let mut out = vec![
            Caller::Anonymous,
            Caller::BreakGlass,
            Caller::NoRole,
            Caller::Eligible,
        ];
        for mfa in [Mfa::Fresh, Mfa::PasswordOnly] {
            out.push(Caller::Approver(mfa));
            out.push(Caller::Owner(mfa));
            out.extend(ROLES.iter().map(|&r| Caller::Admin(r, mfa)));
        }
        out
    }

    /// The session's strength; None for callers without a user session.
    fn mfa(self) -> Option<Mfa> {
        match self {
            Caller::Anonymous | Caller::BreakGlass => None,
            Caller::NoRole | Caller::Eligible => Some(Mfa::Fresh),
            Caller::Approver(m) | Caller::Owner(m) | Caller::Admin(_, m) => Some(m),
        }
    }

    fn describe(self) -> String {
        let session = |m: Mfa| match m {
            Mfa::Fresh => "fresh MFA",
            Mfa::PasswordOnly => "password-only session",
        };
        match self {
            Caller::Anonymous => "anonymous".into(),
            Caller::BreakGlass => "break-glass token".into(),
            Caller::NoRole => "signed-in user with no role".into(),
            Caller::Eligible => "user eligible for Global Administrator, not active".into(),
            Caller::Approver(m) => format!("named approver ({})", session(m)),
            Caller::Owner(m) => format!("group owner ({})", session(m)),
            Caller::Admin(r, m) => format!("{} ({})", r.name(), session(m)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What is acted on.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum UserKind {
    Plain,
    /// Holds Helpdesk Administrator (active).
    HoldsRole,
    /// Eligible for Global Administrator.
    EligibleForRole,
    /// Owns a role-assignable group that holds Global Administrator.
    OwnsTier0Group,
    /// A member of a role-assignable group that holds Global Administrator.
    MemberOfTier0Group,
    /// The manager who approves (requestorManager) for someone eligible for Groups
    /// Administrator.
    Manager,
    /// Named (singleUser) approver in Helpdesk Administrator's policy.
    Approver,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum GroupKind {
    Plain,
    RoleAssignable,
    /// Named (groupMembers) as approvers in User Administrator's policy.
    Approvers,
    /// Provisioned to a downstream (webhook) connector.
    Mapped,
    /// Someone is eligible for its membership (PIM for Groups).
    PimForGroups,
    /// A member of a group named as approvers (in Exchange Administrator's policy).
    NestedInApprovers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Target {
    /// The route creates something, or acts on an object with no protection of its own
    /// (named for the message).
    Thing(&'static str),
    User(UserKind),
    Group(GroupKind),
    ServicePrincipal {
        privileged: bool,
    },
}

/// The target kinds of the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Ordinary,
    /// Rule 1: a principal who holds or may reach a role, controls a protected group, approves.
    Privileged,
    /// Rule 3: role-assignable, approvers, mapped downstream, PIM for Groups.
    Protected,
}

impl Target {
    fn class(self) -> Class {
        match self {
            Target::Thing(_)
            | Target::User(UserKind::Plain)
            | Target::Group(GroupKind::Plain)
            | Target::ServicePrincipal { privileged: false } => Class::Ordinary,
            Target::User(_) | Target::ServicePrincipal { privileged: true } => Class::Privileged,
            Target::Group(_) => Class::Protected,
        }
    }

    fn describe(self) -> String {
        match self {
            Target::Thing(what) => what.into(),
            Target::User(k) => match k {
                UserKind::Plain => "ordinary user".into(),
                UserKind::HoldsRole => "privileged user (holds Helpdesk Administrator)".into(),
                UserKind::EligibleForRole => {
                    "privileged user (eligible for Global Administrator)".into()
                }
                UserKind::OwnsTier0Group => {
                    "privileged user (owns a role-assignable group holding Global Administrator)"
                        .into()
                }
                UserKind::Approver => "privileged user (named approver)".into(),
                UserKind::MemberOfTier0Group => {
                    "privileged user (member of a role-assignable group holding Global Administrator)"
                        .into()
                }
                UserKind::Manager => {
                    "privileged user (the manager who approves for an eligible user)".into()
                }
            },
            Target::Group(k) => match k {
                GroupKind::Plain => "ordinary group".into(),
                GroupKind::RoleAssignable => "protected group (role-assignable)".into(),
                GroupKind::Approvers => "protected group (approvers in a policy)".into(),
                GroupKind::Mapped => "protected group (mapped downstream)".into(),
                GroupKind::PimForGroups => "protected group (PIM-for-Groups eligibility)".into(),
                GroupKind::NestedInApprovers => {
                    "protected group (nested in a group of approvers)".into()
                }
            },
            Target::ServicePrincipal { privileged: false } => "ordinary service principal".into(),
            Target::ServicePrincipal { privileged: true } => {
                "privileged service principal (holds Helpdesk Administrator)".into()
            }
        }
    }
}

const USERS: &[Target] = &[
    Target::User(UserKind::Plain),
    Target::User(UserKind::HoldsRole),
    Target::User(UserKind::EligibleForRole),
    Target::User(UserKind::OwnsTier0Group),
    Target::User(UserKind::Approver),
    Target::User(UserKind::MemberOfTier0Group),
    Target::User(UserKind::Manager),
];
const SOME_USERS: &[Target] = &[
    Target::User(UserKind::Plain),
    Target::User(UserKind::EligibleForRole),
];
const GROUPS: &[Target] = &[
    Target::Group(GroupKind::Plain),
    Target::Group(GroupKind::RoleAssignable),
    Target::Group(GroupKind::Approvers),
    Target::Group(GroupKind::Mapped),
    Target::Group(GroupKind::PimForGroups),
    Target::Group(GroupKind::NestedInApprovers),
];
/// For the second spelling of a route (Graph's `$ref`, or the plain one): the same handler.
const SOME_GROUPS: &[Target] = &[
    Target::Group(GroupKind::Plain),
    Target::Group(GroupKind::RoleAssignable),
];
const SERVICE_PRINCIPALS: &[Target] = &[
    Target::ServicePrincipal { privileged: false },
    Target::ServicePrincipal { privileged: true },
];

// ---------------------------------------------------------------------------------------------
// What is expected: the table's vocabulary.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// A 2xx answer.
    Allowed,
    /// This status and error code, and nothing changed.
    Refused(u16, &'static str),
}

const OK: Expect = Expect::Allowed;
const UNAUTHENTICATED: Expect = Expect::Refused(401, "InvalidAuthenticationToken");
/// The portal's "your session has ended" page (it names no code).
const SIGNED_OUT: Expect = Expect::Refused(401, "");
const DENIED: Expect = Expect::Refused(403, "Authorization_RequestDenied");
const MFA: Expect = Expect::Refused(403, "MfaRequired");
const PRIVILEGED: Expect = Expect::Refused(403, "PrivilegedTarget");
const PROTECTED: Expect = Expect::Refused(403, "ProtectedGroup");
const SELF_ESCALATION: Expect = Expect::Refused(403, "SelfEscalationDenied");
const NOT_AN_APPROVER: Expect = Expect::Refused(403, "NotAnApprover");
const NOT_A_REVIEWER: Expect = Expect::Refused(403, "NotAReviewer");
/// Not disclosed to who may not read it.
const HIDDEN: Expect = Expect::Refused(404, "Request_ResourceNotFound");
/// Authorized, then refused because the group is provisioned downstream.
const PROVISIONED: Expect = Expect::Refused(409, "GroupIsProvisioned");

#[derive(Clone, Copy, Debug)]
enum Sess {
    Any,
    Fresh,
    Stale,
}

impl Sess {
    fn covers(self, mfa: Option<Mfa>) -> bool {
        match self {
            Sess::Any => true,
            Sess::Fresh => mfa == Some(Mfa::Fresh),
            Sess::Stale => mfa == Some(Mfa::PasswordOnly),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Who {
    BreakGlass,
    /// Holders of any of these roles, with such a session.
    Admins(&'static [BuiltIn], Sess),
    Owner(Sess),
    Approver(Sess),
    /// Anyone with a user session.
    SignedIn(Sess),
}

impl Who {
    fn covers(self, caller: Caller) -> bool {
        match (self, caller) {
            (Who::BreakGlass, Caller::BreakGlass) => true,
            (Who::Admins(roles, s), Caller::Admin(r, m)) => roles.contains(&r) && s.covers(Some(m)),
            (Who::Owner(s), Caller::Owner(m)) | (Who::Approver(s), Caller::Approver(m)) => {
                s.covers(Some(m))
            }
            (Who::SignedIn(s), c) => c.mfa().is_some() && s.covers(c.mfa()),
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum On {
    Any,
    Ordinary,
    Privileged,
    Protected,
    Is(Target),
}

impl On {
    fn covers(self, target: Target) -> bool {
        match self {
            On::Any => true,
            On::Ordinary => target.class() == Class::Ordinary,
            On::Privileged => target.class() == Class::Privileged,
            On::Protected => target.class() == Class::Protected,
            On::Is(t) => t == target,
        }
    }
}

/// Who gets what on which target.
#[derive(Clone, Copy, Debug)]
struct Rule(Who, On, Expect);

const fn admins(roles: &'static [BuiltIn], s: Sess) -> Who {
    Who::Admins(roles, s)
}

// ---------------------------------------------------------------------------------------------
// The rules, per kind of operation, written from the threat model and the roles' permissions.

/// Creating a user: `users/create` (Global and User Administrators); no second factor asked.
const CREATE_USER: &[Rule] = &[Rule(admins(&[Global, User], Sess::Any), On::Any, OK)];

/// Profile fields (displayName) steer nothing: ordinary `users/update` on anyone (rule 2).
const PROFILE: &[Rule] = &[Rule(admins(&[Global, User], Sess::Any), On::Any, OK)];

/// userPrincipalName, mail, managerId, accountEnabled, and deleting: `users/update` (or
/// `users/delete`) for ordinary users; for privileged ones only Global (and Privileged
/// Authentication, who lacks `users/update` and `users/delete`) Administrators, with a fresh
/// second factor (rules 2 and 4).
const STEERING: &[Rule] = &[
    Rule(admins(&[Global], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global], Sess::Stale), On::Ordinary, OK),
    Rule(admins(&[Global], Sess::Stale), On::Privileged, MFA),
    Rule(admins(&[User], Sess::Any), On::Ordinary, OK),
    Rule(admins(&[User], Sess::Any), On::Privileged, PRIVILEGED),
];

/// A password reset: `users/password/update` (Global, Privileged Authentication, User and
/// Helpdesk Administrators) for ordinary users; for privileged ones only Global and Privileged
/// Authentication Administrators, with a fresh second factor.
const PASSWORD: &[Rule] = &[
    Rule(
        admins(&[Global, PrivilegedAuthentication], Sess::Fresh),
        On::Any,
        OK,
    ),
    Rule(
        admins(&[Global, PrivilegedAuthentication], Sess::Stale),
        On::Ordinary,
        OK,
    ),
    Rule(
        admins(&[Global, PrivilegedAuthentication], Sess::Stale),
        On::Privileged,
        MFA,
    ),
    Rule(admins(&[User, Helpdesk], Sess::Any), On::Ordinary, OK),
    Rule(
        admins(&[User, Helpdesk], Sess::Any),
        On::Privileged,
        PRIVILEGED,
    ),
];

/// Issuing a Temporary Access Pass lets its holder sign in and enrol a second factor in the
/// person's name: Tier 0's for any account (Global and Privileged Authentication
/// Administrators), with a fresh second factor (rules 2 and 4; the pass's own design).
const ACCESS_PASS: &[Rule] = &[
    Rule(
        admins(&[Global, PrivilegedAuthentication], Sess::Fresh),
        On::Any,
        OK,
    ),
    Rule(
        admins(&[Global, PrivilegedAuthentication], Sess::Stale),
        On::Any,
        MFA,
    ),
];

/// Changing a group itself (rule 3, rule 4): ordinary groups by `groups/*` holders (Global,
/// User, Groups Administrators), protected ones only by Global and Privileged Role
/// Administrators (a Groups or User Administrator gets `ProtectedGroup`), always with a fresh
/// second factor. Owners get no right to rename or delete from the rules (rule 3 gives them
/// membership and ownership only), so they fall to the default.
const GROUP_UPDATE: &[Rule] = &[
    Rule(admins(&[Global], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global], Sess::Stale), On::Any, MFA),
    Rule(admins(&[PrivilegedRole], Sess::Fresh), On::Protected, OK),
    Rule(admins(&[PrivilegedRole], Sess::Stale), On::Protected, MFA),
    Rule(admins(&[User, Groups], Sess::Fresh), On::Ordinary, OK),
    Rule(admins(&[User, Groups], Sess::Stale), On::Ordinary, MFA),
    Rule(admins(&[User, Groups], Sess::Any), On::Protected, PROTECTED),
];

/// Deleting a group: as `GROUP_UPDATE`; who is authorized then meets the conflict of a group
/// still provisioned downstream.
const GROUP_DELETE: &[Rule] = &[
    Rule(
        Who::BreakGlass,
        On::Is(Target::Group(GroupKind::Mapped)),
        PROVISIONED,
    ),
    Rule(
        admins(&[Global, PrivilegedRole], Sess::Fresh),
        On::Is(Target::Group(GroupKind::Mapped)),
        PROVISIONED,
    ),
    Rule(admins(&[Global], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global], Sess::Stale), On::Any, MFA),
    Rule(admins(&[PrivilegedRole], Sess::Fresh), On::Protected, OK),
    Rule(admins(&[PrivilegedRole], Sess::Stale), On::Protected, MFA),
    Rule(admins(&[User, Groups], Sess::Fresh), On::Ordinary, OK),
    Rule(admins(&[User, Groups], Sess::Stale), On::Ordinary, MFA),
    Rule(admins(&[User, Groups], Sess::Any), On::Protected, PROTECTED),
];

/// Adding someone else to (or removing someone from) a group's members or owners, directly or
/// through PIM for Groups: as `GROUP_UPDATE`, and the group's owners too, with a fresh second
/// factor (rule 3).
const RELATION: &[Rule] = &[
    Rule(admins(&[Global], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global], Sess::Stale), On::Any, MFA),
    Rule(admins(&[PrivilegedRole], Sess::Fresh), On::Protected, OK),
    Rule(admins(&[PrivilegedRole], Sess::Stale), On::Protected, MFA),
    Rule(admins(&[User, Groups], Sess::Fresh), On::Ordinary, OK),
    Rule(admins(&[User, Groups], Sess::Stale), On::Ordinary, MFA),
    Rule(admins(&[User, Groups], Sess::Any), On::Protected, PROTECTED),
    Rule(Who::Owner(Sess::Fresh), On::Any, OK),
    Rule(Who::Owner(Sess::Stale), On::Any, MFA),
];

/// The caller adds itself: as `RELATION`, but an owner never adds itself (rule 3).
const RELATION_SELF: &[Rule] = &[
    Rule(Who::Owner(Sess::Any), On::Any, SELF_ESCALATION),
    Rule(admins(&[Global], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global], Sess::Stale), On::Any, MFA),
    Rule(admins(&[PrivilegedRole], Sess::Fresh), On::Protected, OK),
    Rule(admins(&[PrivilegedRole], Sess::Stale), On::Protected, MFA),
    Rule(admins(&[User, Groups], Sess::Fresh), On::Ordinary, OK),
    Rule(admins(&[User, Groups], Sess::Stale), On::Ordinary, MFA),
    Rule(admins(&[User, Groups], Sess::Any), On::Protected, PROTECTED),
];

/// Creating an ordinary group: `groups/create`, fresh second factor (group administration).
const CREATE_GROUP: &[Rule] = &[
    Rule(admins(&[Global, User, Groups], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global, User, Groups], Sess::Stale), On::Any, MFA),
];

/// Role-assignable groups, role definitions, role settings and role assignments: Global and
/// Privileged Role Administrators, with a fresh second factor (rule 4).
const ROLE_ADMINISTRATION: &[Rule] = &[
    Rule(admins(&[Global, PrivilegedRole], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global, PrivilegedRole], Sess::Stale), On::Any, MFA),
];

/// Service principals: `servicePrincipals/create|delete` (Global Administrators only); a
/// privileged one is a privileged object (rules 2 and 4: fresh second factor).
const CREATE_SERVICE_PRINCIPAL: &[Rule] = &[Rule(admins(&[Global], Sess::Any), On::Any, OK)];
const DELETE_SERVICE_PRINCIPAL: &[Rule] = &[
    Rule(admins(&[Global], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global], Sess::Stale), On::Ordinary, OK),
    Rule(admins(&[Global], Sess::Stale), On::Privileged, MFA),
];

/// Self actions act on the caller's own access: nobody, break-glass included, activates a
/// role in someone else's name.
const SELF_ACTION_FOR_ANOTHER: &[Rule] = &[Rule(Who::BreakGlass, On::Any, DENIED)];

/// Connectors, provisioning mappings and subscriptions: `provisioning/update` and
/// `subscriptions/update` (Global Administrators), with a fresh second factor.
const CONNECTORS: &[Rule] = &[
    Rule(admins(&[Global], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global], Sess::Stale), On::Any, MFA),
];

/// Alerts: `alerts/update` (Global and Security Administrators); no rule asks a fresh factor.
const ALERTS: &[Rule] = &[Rule(admins(&[Global, Security], Sess::Any), On::Any, OK)];

/// PIM alerts' writes (a configuration PATCH, a refresh): `alerts/update` (Global and Security
/// Administrators) with a fresh second factor.
const PIM_ALERTS: &[Rule] = &[
    Rule(admins(&[Global, Security], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global, Security], Sess::Stale), On::Any, MFA),
];

/// Remediating a role assigned outside PIM removes it: `alerts/update` and what an
/// administrator's removal needs (`roleAssignments/update`), both with a fresh second factor.
/// A Security Administrator (alerts, not role assignments) and a Privileged Role Administrator
/// (role assignments, not alerts) are each refused.
const PIM_REMEDIATE: &[Rule] = &[
    Rule(admins(&[Global], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global, Security], Sess::Stale), On::Any, MFA),
];

/// The outbox: `outbox/update` (Global Administrators); no rule asks a fresh factor.
const OUTBOX: &[Rule] = &[Rule(admins(&[Global], Sess::Any), On::Any, OK)];

/// Who reads others' requests (`roleAssignments/read`).
const REQUEST_READERS: &[BuiltIn] = &[
    Global,
    PrivilegedRole,
    Security,
    SecurityReader,
    GlobalReader,
];

/// Deciding an approval: only its named approver, with a fresh second factor (rule 4). A stale
/// session is refused first; who may read the request learns they are not an approver; who
/// may not is not told it exists. Approving is a person's decision, not a permission: the
/// break-glass account is no approver either.
const REVIEW: &[Rule] = &[
    Rule(Who::Approver(Sess::Fresh), On::Any, OK),
    Rule(Who::SignedIn(Sess::Stale), On::Any, MFA),
    Rule(Who::BreakGlass, On::Any, NOT_AN_APPROVER),
    Rule(
        admins(REQUEST_READERS, Sess::Fresh),
        On::Any,
        NOT_AN_APPROVER,
    ),
    Rule(Who::SignedIn(Sess::Fresh), On::Any, HIDDEN),
];

/// Cancelling a request: only its requester (none of the callers).
const CANCEL: &[Rule] = &[
    Rule(Who::BreakGlass, On::Any, DENIED),
    Rule(admins(REQUEST_READERS, Sess::Any), On::Any, DENIED),
    Rule(Who::SignedIn(Sess::Any), On::Any, HIDDEN),
];

/// Running an access review (creating it; stopping, applying or deleting it): whoever may
/// remove the reviewed access directly, with a fresh second factor, because a review's Deny
/// removes it (`service::reviews`, rules 3 and 4). A role's eligibilities: who assigns roles.
const RUN_ROLE_REVIEW: &[Rule] = ROLE_ADMINISTRATION;

/// A group's members: who may remove a member (as `RELATION`: Global Administrators; Privileged
/// Role Administrators for protected groups; User and Groups Administrators for ordinary ones,
/// who get `ProtectedGroup` on protected ones; the group's owners), and for an ordinary group
/// an Identity Governance Administrator (`accessReviews`) too, never for a protected one.
const RUN_GROUP_REVIEW: &[Rule] = &[
    Rule(admins(&[Global], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global], Sess::Stale), On::Any, MFA),
    Rule(admins(&[PrivilegedRole], Sess::Fresh), On::Protected, OK),
    Rule(admins(&[PrivilegedRole], Sess::Stale), On::Protected, MFA),
    Rule(
        admins(&[User, Groups, IdentityGovernance], Sess::Fresh),
        On::Ordinary,
        OK,
    ),
    Rule(
        admins(&[User, Groups, IdentityGovernance], Sess::Stale),
        On::Ordinary,
        MFA,
    ),
    Rule(admins(&[User, Groups], Sess::Any), On::Protected, PROTECTED),
    Rule(Who::Owner(Sess::Fresh), On::Any, OK),
    Rule(Who::Owner(Sess::Stale), On::Any, MFA),
];

/// An access package's assignments: `entitlementManagement` or `accessReviews` (Global and
/// Identity Governance Administrators), with a fresh second factor.
const RUN_PACKAGE_REVIEW: &[Rule] = &[
    Rule(
        admins(&[Global, IdentityGovernance], Sess::Fresh),
        On::Any,
        OK,
    ),
    Rule(
        admins(&[Global, IdentityGovernance], Sess::Stale),
        On::Any,
        MFA,
    ),
];

/// Who reads every access review (`accessReviews/read`); whoever could run a review reads it
/// too, its reviewers their own decisions (`service::reviews`).
const REVIEW_READERS: &[BuiltIn] = &[Global, GlobalReader, IdentityGovernance];

/// Acting on an existing review (deleting it, stopping or applying its instance): as running
/// it, but who may not read it is not told it exists, and who reads it without being able to
/// run it (a reader; a reviewer, who decides and does nothing else) is refused.
const MANAGE_ROLE_REVIEW: &[Rule] = &[
    Rule(admins(&[Global, PrivilegedRole], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global, PrivilegedRole], Sess::Stale), On::Any, MFA),
    Rule(admins(REVIEW_READERS, Sess::Any), On::Any, DENIED),
    Rule(Who::SignedIn(Sess::Any), On::Any, HIDDEN),
];
const MANAGE_GROUP_REVIEW: &[Rule] = &[
    Rule(admins(&[Global], Sess::Fresh), On::Any, OK),
    Rule(admins(&[Global], Sess::Stale), On::Any, MFA),
    Rule(admins(&[PrivilegedRole], Sess::Fresh), On::Protected, OK),
    Rule(admins(&[PrivilegedRole], Sess::Stale), On::Protected, MFA),
    Rule(
        admins(&[User, Groups, IdentityGovernance], Sess::Fresh),
        On::Ordinary,
        OK,
    ),
    Rule(
        admins(&[User, Groups, IdentityGovernance], Sess::Stale),
        On::Ordinary,
        MFA,
    ),
    Rule(Who::Owner(Sess::Fresh), On::Any, OK),
    Rule(Who::Owner(Sess::Stale), On::Any, MFA),
    Rule(admins(REVIEW_READERS, Sess::Any), On::Any, DENIED),
    Rule(Who::Approver(Sess::Any), On::Any, DENIED),
    Rule(Who::SignedIn(Sess::Any), On::Any, HIDDEN),
];
const MANAGE_PACKAGE_REVIEW: &[Rule] = &[
    Rule(
        admins(&[Global, IdentityGovernance], Sess::Fresh),
        On::Any,
        OK,
    ),
    Rule(
        admins(&[Global, IdentityGovernance], Sess::Stale),
        On::Any,
        MFA,
    ),
    Rule(admins(REVIEW_READERS, Sess::Any), On::Any, DENIED),
    Rule(Who::SignedIn(Sess::Any), On::Any, HIDDEN),
];

/// Deciding a review's decision: only its reviewer (the approver caller), with a fresh second
/// factor (rule 4), asked first. Who may read the review (its readers, whoever could run it:
/// of an ordinary group User and Groups Administrators, of a protected one Privileged Role
/// Administrators, of either its owners) learns they are not a reviewer; who may not is not
/// told it exists. Deciding is a person's act, not a permission: the break-glass account is no
/// reviewer either.
const DECIDE: &[Rule] = &[
    Rule(Who::Approver(Sess::Fresh), On::Any, OK),
    Rule(Who::SignedIn(Sess::Stale), On::Any, MFA),
    Rule(Who::BreakGlass, On::Any, NOT_A_REVIEWER),
    Rule(admins(REVIEW_READERS, Sess::Fresh), On::Any, NOT_A_REVIEWER),
    Rule(
        admins(&[User, Groups], Sess::Fresh),
        On::Ordinary,
        NOT_A_REVIEWER,
    ),
    Rule(
        admins(&[PrivilegedRole], Sess::Fresh),
        On::Protected,
        NOT_A_REVIEWER,
    ),
    Rule(Who::Owner(Sess::Fresh), On::Any, NOT_A_REVIEWER),
    Rule(Who::SignedIn(Sess::Fresh), On::Any, HIDDEN),
];

// ---------------------------------------------------------------------------------------------
// The table.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UserField {
    DisplayName,
    UserPrincipalName,
    Mail,
    Manager,
    AccountEnabled,
    Password,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rel {
    Member,
    Owner,
}

impl Rel {
    fn path(self) -> &'static str {
        match self {
            Rel::Member => "members",
            Rel::Owner => "owners",
        }
    }
}

/// What an access review reviews (its scope).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reviews {
    /// The eligibilities of a directory role.
    RoleEligibilities,
    /// The (transitive) members of the target group.
    GroupMembers,
    /// The assignments of an access package.
    PackageAssignments,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    CreateUser,
    PatchUser(UserField),
    DeleteUser,
    IssueAccessPass,
    DeleteAccessPass,
    CreateGroup {
        role_assignable: bool,
    },
    PatchGroup,
    DeleteGroup,
    /// Adds a fresh principal (`yourself: false`) or the caller; `graph_ref` picks the
    /// `/$ref` spelling with `@odata.id`.
    AddRelation {
        rel: Rel,
        yourself: bool,
        graph_ref: bool,
    },
    RemoveRelation {
        rel: Rel,
        graph_ref: bool,
    },
    PimForGroups {
        eligibility: bool,
    },
    CreateServicePrincipal,
    DeleteServicePrincipal,
    CreateRoleDefinition,
    PatchPolicyRule,
    AssignRole {
        eligibility: bool,
    },
    SelfActivateForAnother,
    CreateConnector,
    PatchConnector,
    DeleteConnector,
    Reconcile,
    MapGroup,
    UnmapGroup,
    CreateSubscription,
    DeleteSubscription,
    CreateScimClient,
    RevokeScimClient,
    PatchAlert,
    PatchPimAlertConfiguration,
    RefreshPimAlerts,
    RemediatePimAlertIncident,
    RetryJob,
    ReviewApproval,
    CancelRequest,
    CreateReview(Reviews),
    DeleteReview(Reviews),
    /// Deny the member of the target group, in a review of its members that the approver
    /// caller reviews (as do the two below and deleting a group review).
    DecideReview,
    StopReviewInstance,
    /// On a completed instance, whose undecided decision was denied by default.
    ApplyReviewDecisions,
    /// The portal's form actions (a portal session cookie and its anti-forgery token).
    PortalCreateUser,
    /// Renames and disables (the form sends both fields).
    PortalUpdateUser,
    PortalDeleteUser,
    PortalCreateGroup,
    PortalAddRelation(Rel),
    PortalRemoveMember,
    PortalCreateServicePrincipal,
    PortalDeleteServicePrincipal,
    PortalReconcile,
    PortalRefreshPimAlerts,
    PortalConfigurePimAlert,
    PortalRemediatePimAlertIncident,
}

impl Op {
    fn is_portal(self) -> bool {
        matches!(
            self,
            Op::PortalCreateUser
                | Op::PortalUpdateUser
                | Op::PortalDeleteUser
                | Op::PortalCreateGroup
                | Op::PortalAddRelation(_)
                | Op::PortalRemoveMember
                | Op::PortalCreateServicePrincipal
                | Op::PortalDeleteServicePrincipal
                | Op::PortalReconcile
                | Op::PortalRefreshPimAlerts
                | Op::PortalConfigurePimAlert
                | Op::PortalRemediatePimAlertIncident
        )
    }
}

struct Row {
    /// The route and the variant, unique: it names the row in messages and in `disagreements`.
    route: &'static str,
    op: Op,
    targets: &'static [Target],
    rules: &'static [Rule],
}

const fn row(
    route: &'static str,
    op: Op,
    targets: &'static [Target],
    rules: &'static [Rule],
) -> Row {
    Row {
        route,
        op,
        targets,
        rules,
    }
}

const NEW_USER: &[Target] = &[Target::Thing("a new user")];
const NEW_GROUP: &[Target] = &[Target::Thing("a new group")];
const NEW_RA_GROUP: &[Target] = &[Target::Thing("a new role-assignable group")];
const NEW_SP: &[Target] = &[Target::Thing("a new service principal")];
const NEW_ROLE: &[Target] = &[Target::Thing("a new custom role")];
const POLICY: &[Target] = &[Target::Thing(
    "Identity Governance Administrator's role settings",
)];
const NEW_CONNECTOR: &[Target] = &[Target::Thing("a new connector")];
const CONNECTOR: &[Target] = &[Target::Thing("a webhook connector")];
const MAPPING: &[Target] = &[Target::Thing("an ordinary group's provisioning")];
const NEW_SUBSCRIPTION: &[Target] = &[Target::Thing("a new subscription")];
const SUBSCRIPTION: &[Target] = &[Target::Thing("a subscription")];
const NEW_SCIM_CLIENT: &[Target] = &[Target::Thing("a new SCIM client")];
const SCIM_CLIENT: &[Target] = &[Target::Thing("a SCIM client")];
const ALERT: &[Target] = &[Target::Thing("an active alert")];
const JOB: &[Target] = &[Target::Thing("a failed outbox job")];
const PIM_ALERT_CONFIGURATION: &[Target] = &[Target::Thing("a PIM alert configuration")];
const PIM_ALERT_SCOPE: &[Target] = &[Target::Thing("the PIM alerts of the directory")];
const PIM_ALERT_INCIDENT: &[Target] = &[Target::Thing(
    "an incident of a User Administrator assigned outside PIM",
)];
const PENDING: &[Target] = &[Target::Thing(
    "a pending activation of Security Administrator",
)];
const ELIGIBLE_USER: &[Target] = &[Target::User(UserKind::EligibleForRole)];
const ROLE_ELIGIBILITIES: &[Target] = &[Target::Thing(
    "Privileged Role Administrator's eligibilities",
)];
const PACKAGE_ASSIGNMENTS: &[Target] = &[Target::Thing("an access package's assignments")];
const ORDINARY_GROUP: &[Target] = &[Target::Group(GroupKind::Plain)];

static ROWS: &[Row] = &[
    // Users.
    row("POST /v1/users", Op::CreateUser, NEW_USER, CREATE_USER),
    row(
        "PATCH /v1/users/{id} {displayName}",
        Op::PatchUser(UserField::DisplayName),
        USERS,
        PROFILE,
    ),
    row(
        "PATCH /v1/users/{id} {userPrincipalName}",
        Op::PatchUser(UserField::UserPrincipalName),
        USERS,
        STEERING,
    ),
    row(
        "PATCH /v1/users/{id} {mail}",
        Op::PatchUser(UserField::Mail),
        USERS,
        STEERING,
    ),
    row(
        "PATCH /v1/users/{id} {managerId}",
        Op::PatchUser(UserField::Manager),
        USERS,
        STEERING,
    ),
    row(
        "PATCH /v1/users/{id} {accountEnabled: false}",
        Op::PatchUser(UserField::AccountEnabled),
        USERS,
        STEERING,
    ),
    row(
        "PATCH /v1/users/{id} {passwordProfile}",
        Op::PatchUser(UserField::Password),
        USERS,
        PASSWORD,
    ),
    row("DELETE /v1/users/{id}", Op::DeleteUser, USERS, STEERING),
    row(
        "POST /v1/users/{id}/authentication/temporaryAccessPassMethods",
        Op::IssueAccessPass,
        USERS,
        ACCESS_PASS,
    ),
    // Deleting a pass is a credential change, as a password reset is.
    row(
        "DELETE /v1/users/{id}/authentication/temporaryAccessPassMethods/{methodId}",
        Op::DeleteAccessPass,
        USERS,
        PASSWORD,
    ),
    // Groups.
    row(
        "POST /v1/groups",
        Op::CreateGroup {
            role_assignable: false,
        },
        NEW_GROUP,
        CREATE_GROUP,
    ),
    row(
        "POST /v1/groups {isAssignableToRole: true}",
        Op::CreateGroup {
            role_assignable: true,
        },
        NEW_RA_GROUP,
        ROLE_ADMINISTRATION,
    ),
    row(
        "PATCH /v1/groups/{id}",
        Op::PatchGroup,
        GROUPS,
        GROUP_UPDATE,
    ),
    row(
        "DELETE /v1/groups/{id}",
        Op::DeleteGroup,
        GROUPS,
        GROUP_DELETE,
    ),
    row(
        "POST /v1/groups/{id}/members (someone else)",
        Op::AddRelation {
            rel: Rel::Member,
            yourself: false,
            graph_ref: false,
        },
        GROUPS,
        RELATION,
    ),
    row(
        "POST /v1/groups/{id}/members/$ref (someone else)",
        Op::AddRelation {
            rel: Rel::Member,
            yourself: false,
            graph_ref: true,
        },
        SOME_GROUPS,
        RELATION,
    ),
    row(
        "POST /v1/groups/{id}/members (the caller)",
        Op::AddRelation {
            rel: Rel::Member,
            yourself: true,
            graph_ref: false,
        },
        GROUPS,
        RELATION_SELF,
    ),
    row(
        "DELETE /v1/groups/{id}/members/{memberId}/$ref",
        Op::RemoveRelation {
            rel: Rel::Member,
            graph_ref: true,
        },
        GROUPS,
        RELATION,
    ),
    row(
        "DELETE /v1/groups/{id}/members/{memberId}",
        Op::RemoveRelation {
            rel: Rel::Member,
            graph_ref: false,
        },
        SOME_GROUPS,
        RELATION,
    ),
    row(
        "POST /v1/groups/{id}/owners/$ref (someone else)",
        Op::AddRelation {
            rel: Rel::Owner,
            yourself: false,
            graph_ref: true,
        },
        GROUPS,
        RELATION,
    ),
    row(
        "POST /v1/groups/{id}/owners (someone else)",
        Op::AddRelation {
            rel: Rel::Owner,
            yourself: false,
            graph_ref: false,
        },
        SOME_GROUPS,
        RELATION,
    ),
    row(
        "POST /v1/groups/{id}/owners/$ref (the caller)",
        Op::AddRelation {
            rel: Rel::Owner,
            yourself: true,
            graph_ref: true,
        },
        GROUPS,
        RELATION_SELF,
    ),
    row(
        "DELETE /v1/groups/{id}/owners/{ownerId}",
        Op::RemoveRelation {
            rel: Rel::Owner,
            graph_ref: false,
        },
        GROUPS,
        RELATION,
    ),
    row(
        "DELETE /v1/groups/{id}/owners/{ownerId}/$ref",
        Op::RemoveRelation {
            rel: Rel::Owner,
            graph_ref: true,
        },
        SOME_GROUPS,
        RELATION,
    ),
    row(
        "POST /v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests (adminAssign member)",
        Op::PimForGroups { eligibility: true },
        GROUPS,
        RELATION,
    ),
    row(
        "POST /v1/identityGovernance/privilegedAccess/group/assignmentScheduleRequests (adminAssign member)",
        Op::PimForGroups { eligibility: false },
        GROUPS,
        RELATION,
    ),
    // Service principals and roles.
    row(
        "POST /v1/servicePrincipals",
        Op::CreateServicePrincipal,
        NEW_SP,
        CREATE_SERVICE_PRINCIPAL,
    ),
    row(
        "DELETE /v1/servicePrincipals/{id}",
        Op::DeleteServicePrincipal,
        SERVICE_PRINCIPALS,
        DELETE_SERVICE_PRINCIPAL,
    ),
    row(
        "POST /v1/roleManagement/directory/roleDefinitions",
        Op::CreateRoleDefinition,
        NEW_ROLE,
        ROLE_ADMINISTRATION,
    ),
    row(
        "PATCH /v1/policies/roleManagementPolicies/{id}/rules/{ruleId}",
        Op::PatchPolicyRule,
        POLICY,
        ROLE_ADMINISTRATION,
    ),
    row(
        "POST /v1/roleManagement/directory/roleAssignmentScheduleRequests (adminAssign)",
        Op::AssignRole { eligibility: false },
        SOME_USERS,
        ROLE_ADMINISTRATION,
    ),
    row(
        "POST /v1/roleManagement/directory/roleEligibilityScheduleRequests (adminAssign)",
        Op::AssignRole { eligibility: true },
        SOME_USERS,
        ROLE_ADMINISTRATION,
    ),
    row(
        "POST /v1/roleManagement/directory/roleAssignmentScheduleRequests (selfActivate for another)",
        Op::SelfActivateForAnother,
        ELIGIBLE_USER,
        SELF_ACTION_FOR_ANOTHER,
    ),
    row(
        "PATCH /v1/roleManagement/directory/roleAssignmentApprovals/{id}/steps/{stepId}",
        Op::ReviewApproval,
        PENDING,
        REVIEW,
    ),
    row(
        "POST /v1/roleManagement/directory/roleAssignmentScheduleRequests/{id}/cancel",
        Op::CancelRequest,
        PENDING,
        CANCEL,
    ),
    // Access reviews: a review's Deny removes access, so running one is removing it.
    row(
        "POST /v1/identityGovernance/accessReviews/definitions (a role's eligibilities)",
        Op::CreateReview(Reviews::RoleEligibilities),
        ROLE_ELIGIBILITIES,
        RUN_ROLE_REVIEW,
    ),
    row(
        "POST /v1/identityGovernance/accessReviews/definitions (a group's members)",
        Op::CreateReview(Reviews::GroupMembers),
        GROUPS,
        RUN_GROUP_REVIEW,
    ),
    row(
        "POST /v1/identityGovernance/accessReviews/definitions (an access package's assignments)",
        Op::CreateReview(Reviews::PackageAssignments),
        PACKAGE_ASSIGNMENTS,
        RUN_PACKAGE_REVIEW,
    ),
    row(
        "PATCH /v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/decisions/{decisionId}",
        Op::DecideReview,
        SOME_GROUPS,
        DECIDE,
    ),
    row(
        "POST /v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/stop",
        Op::StopReviewInstance,
        ORDINARY_GROUP,
        MANAGE_GROUP_REVIEW,
    ),
    row(
        "POST /v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/applyDecisions",
        Op::ApplyReviewDecisions,
        ORDINARY_GROUP,
        MANAGE_GROUP_REVIEW,
    ),
    row(
        "DELETE /v1/identityGovernance/accessReviews/definitions/{id} (a role's eligibilities)",
        Op::DeleteReview(Reviews::RoleEligibilities),
        ROLE_ELIGIBILITIES,
        MANAGE_ROLE_REVIEW,
    ),
    row(
        "DELETE /v1/identityGovernance/accessReviews/definitions/{id} (a group's members)",
        Op::DeleteReview(Reviews::GroupMembers),
        SOME_GROUPS,
        MANAGE_GROUP_REVIEW,
    ),
    row(
        "DELETE /v1/identityGovernance/accessReviews/definitions/{id} (an access package's assignments)",
        Op::DeleteReview(Reviews::PackageAssignments),
        PACKAGE_ASSIGNMENTS,
        MANAGE_PACKAGE_REVIEW,
    ),
    // Connectors, provisioning, subscriptions, alerts, outbox.
    row(
        "POST /v1/connectors",
        Op::CreateConnector,
        NEW_CONNECTOR,
        CONNECTORS,
    ),
    row(
        "PATCH /v1/connectors/{id}",
        Op::PatchConnector,
        CONNECTOR,
        CONNECTORS,
    ),
    row(
        "DELETE /v1/connectors/{id}",
        Op::DeleteConnector,
        CONNECTOR,
        CONNECTORS,
    ),
    row(
        "POST /v1/connectors/{id}/reconcile",
        Op::Reconcile,
        CONNECTOR,
        CONNECTORS,
    ),
    row(
        "POST /v1/groups/{id}/provisioning",
        Op::MapGroup,
        SOME_GROUPS,
        CONNECTORS,
    ),
    row(
        "DELETE /v1/groups/{id}/provisioning/{mappingId}",
        Op::UnmapGroup,
        MAPPING,
        CONNECTORS,
    ),
    row(
        "POST /v1/subscriptions",
        Op::CreateSubscription,
        NEW_SUBSCRIPTION,
        CONNECTORS,
    ),
    row(
        "DELETE /v1/subscriptions/{id}",
        Op::DeleteSubscription,
        SUBSCRIPTION,
        CONNECTORS,
    ),
    // Inbound SCIM clients: `provisioningClients/allTasks` (Global Administrators), fresh.
    row(
        "POST /v1/scim/clients",
        Op::CreateScimClient,
        NEW_SCIM_CLIENT,
        CONNECTORS,
    ),
    row(
        "DELETE /v1/scim/clients/{id}",
        Op::RevokeScimClient,
        SCIM_CLIENT,
        CONNECTORS,
    ),
    row("PATCH /v1/alerts/{id}", Op::PatchAlert, ALERT, ALERTS),
    row(
        "PATCH /v1/identityGovernance/roleManagementAlerts/alertConfigurations/{id}",
        Op::PatchPimAlertConfiguration,
        PIM_ALERT_CONFIGURATION,
        PIM_ALERTS,
    ),
    row(
        "POST /v1/identityGovernance/roleManagementAlerts/alerts/refresh",
        Op::RefreshPimAlerts,
        PIM_ALERT_SCOPE,
        PIM_ALERTS,
    ),
    row(
        "POST /v1/identityGovernance/roleManagementAlerts/alerts/{id}/alertIncidents/{incidentId}/remediate",
        Op::RemediatePimAlertIncident,
        PIM_ALERT_INCIDENT,
        PIM_REMEDIATE,
    ),
    row("POST /v1/outbox/{id}/retry", Op::RetryJob, JOB, OUTBOX),
    // The portal's main form actions: the same use cases, the same rules.
    row(
        "POST /portal/admin/users (new user form)",
        Op::PortalCreateUser,
        NEW_USER,
        CREATE_USER,
    ),
    row(
        "POST /portal/admin/users/{id} (rename and disable)",
        Op::PortalUpdateUser,
        USERS,
        STEERING,
    ),
    row(
        "POST /portal/admin/users/{id}/delete",
        Op::PortalDeleteUser,
        USERS,
        STEERING,
    ),
    row(
        "POST /portal/admin/groups (new group form)",
        Op::PortalCreateGroup,
        NEW_GROUP,
        CREATE_GROUP,
    ),
    row(
        "POST /portal/admin/groups/{id}/add (member)",
        Op::PortalAddRelation(Rel::Member),
        GROUPS,
        RELATION,
    ),
    row(
        "POST /portal/admin/groups/{id}/add (owner)",
        Op::PortalAddRelation(Rel::Owner),
        SOME_GROUPS,
        RELATION,
    ),
    row(
        "POST /portal/admin/groups/{id}/remove (member)",
        Op::PortalRemoveMember,
        GROUPS,
        RELATION,
    ),
    row(
        "POST /portal/admin/service-principals (new service principal form)",
        Op::PortalCreateServicePrincipal,
        NEW_SP,
        CREATE_SERVICE_PRINCIPAL,
    ),
    row(
        "POST /portal/admin/service-principals/{id}/delete",
        Op::PortalDeleteServicePrincipal,
        SERVICE_PRINCIPALS,
        DELETE_SERVICE_PRINCIPAL,
    ),
    row(
        "POST /portal/admin/connectors/{id}/reconcile",
        Op::PortalReconcile,
        CONNECTOR,
        CONNECTORS,
    ),
    row(
        "POST /portal/admin/alerts/refresh",
        Op::PortalRefreshPimAlerts,
        PIM_ALERT_SCOPE,
        PIM_ALERTS,
    ),
    row(
        "POST /portal/admin/alerts/{id}/configure",
        Op::PortalConfigurePimAlert,
        PIM_ALERT_CONFIGURATION,
        PIM_ALERTS,
    ),
    row(
        "POST /portal/admin/alerts/{id}/incidents/{incidentId}/remediate",
        Op::PortalRemediatePimAlertIncident,
        PIM_ALERT_INCIDENT,
        PIM_REMEDIATE,
    ),
];

/// Cases where the server disagrees with the rules (potential bugs), by row, caller and
/// target. `authorization_matrix` leaves them out; `authorization_matrix_disagreements` runs
/// exactly them with the rules' expectation, so it fails until the server is fixed (then move
/// the case back by deleting it here).
fn disagreements() -> Vec<(&'static str, Caller, Target)> {
    // Found and fixed so far: a password-only Global Administrator session deleted a
    // privileged service principal (rule 4); the portal's add-member and add-owner forms
    // refused a group's owners (rule 3) before the use case could decide; a password-only
    // Identity Governance Administrator running a review of an ordinary group was refused as
    // missing `groups/members/update` rather than as needing a fresh second factor (rule 4).
    Vec::new()
}

/// The expected outcome of one case: the row's first matching rule, else the defaults.
fn expected(row: &Row, caller: Caller, target: Target) -> Expect {
    if caller == Caller::Anonymous {
        return UNAUTHENTICATED;
    }
    if row.op.is_portal() && caller == Caller::BreakGlass {
        // The portal accepts only sessions its own sign-in issued: the break-glass bearer
        // token in the session cookie is no session at all.
        return SIGNED_OUT;
    }
    row.rules
        .iter()
        .find(|Rule(who, on, _)| who.covers(caller) && on.covers(target))
        .map(|r| r.2)
        .unwrap_or(if caller == Caller::BreakGlass {
            OK
        } else {
            DENIED
        })
}

fn disagrees(row: &Row, caller: Caller, target: Target) -> bool {
    disagreements()
        .iter()
        .any(|&(r, c, t)| r == row.route && c == caller && t == target)
}

// ---------------------------------------------------------------------------------------------
// Running it.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Selection {
    Disagreeing,
    /// The agreeing cases, each 403 also checked to be on the record as a failure.
    AgreeingAudited,
}

/// The table, run as one test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix() {
    // Every refusal must also be on the record as a failure (README, `service::authorize`).
    let (cases, failures) = run(Selection::AgreeingAudited).await;
    let table: usize = ROWS.iter().map(|r| r.targets.len()).sum::<usize>() * Caller::all().len();
    assert_eq!(
        cases + disagreements().len(),
        table,
        "every case of the table runs"
    );
    eprintln!(
        "{cases} cases, {} left to authorization_matrix_disagreements",
        disagreements().len()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} authorization cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The cases where the server disagrees with the rules, expected as the rules say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_disagreements() {
    if disagreements().is_empty() {
        return;
    }
    let (cases, failures) = run(Selection::Disagreeing).await;
    assert_eq!(cases, disagreements().len(), "every listed case exists");
    assert!(
        failures.is_empty(),
        "{} of {cases} known disagreements remain:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Apps at once, each running its share of the rows one after the other.
const LANES: usize = 8;

async fn run(selection: Selection) -> (usize, Vec<String>) {
    // The longest rows first, each to the lane with the least work so far.
    let mut rows: Vec<&'static Row> = ROWS.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.targets.len()));
    let mut lanes: Vec<(usize, Vec<&'static Row>)> = vec![(0, Vec::new()); LANES];
    for row in rows {
        let lane = lanes.iter_mut().min_by_key(|(load, _)| *load).unwrap();
        lane.0 += row.targets.len();
        lane.1.push(row);
    }
    let mut set = tokio::task::JoinSet::new();
    for (_, rows) in lanes {
        set.spawn(run_lane(rows, selection));
    }
    let mut cases = 0;
    let mut failures = Vec::new();
    while let Some(done) = set.join_next().await {
        let (n, mut f) = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        cases += n;
        failures.append(&mut f);
    }
    failures.sort();
    (cases, failures)
}

/// Runs `rows` on one app. Rows do not disturb each other: every case acts on targets of its
/// own, and what a row changes in the callers (an administrator added to a fresh group) or in
/// role settings (the approvers a target kind is made with) touches no later target.
async fn run_lane(rows: Vec<&'static Row>, selection: Selection) -> (usize, Vec<String>) {
    let mut ctx = None;
    let mut count = 0;
    let mut failures = Vec::new();
    for row in rows {
        let mut cases = Vec::new();
        for &target in row.targets {
            for caller in Caller::all() {
                let listed = disagrees(row, caller, target);
                if listed == (selection == Selection::Disagreeing) {
                    cases.push((target, caller));
                }
            }
        }
        if cases.is_empty() {
            continue;
        }
        if ctx.is_none() {
            ctx = Some(Ctx::new().await);
        }
        let ctx = ctx.as_ref().expect("an app");
        let mut kept: Option<Kept> = None;
        let mut previous = None;
        for &(target, caller) in &cases {
            if previous != Some(target) {
                kept = None;
                previous = Some(target);
            }
            let want = expected(row, caller, target);
            let audited = selection == Selection::AgreeingAudited;
            if let Err(why) = ctx
                .case(row.op, caller, target, want, audited, &mut kept)
                .await
            {
                failures.push(format!(
                    "{} | caller: {} | target: {} | {why}",
                    row.route,
                    caller.describe(),
                    target.describe()
                ));
            }
        }
        count += cases.len();
    }
    (count, failures)
}

/// The objects one case acts on, made fresh for it (ids or names, as the route wants them).
#[derive(Clone, Default)]
struct Made {
    /// What the route acts on: a user, group, service principal, connector, alert, outbox job,
    /// request or access review (an access review instance: its path); for a route that
    /// creates, the unique name to create it with.
    id: String,
    /// A second object: the principal to add or remove, the mapping, the approval step, the
    /// decision, the reviewed group; the scope query of an access review to create.
    other: String,
}

impl Made {
    fn of(id: impl ToString) -> Made {
        Made {
            id: id.to_string(),
            other: String::new(),
        }
    }

    fn with(id: impl ToString, other: impl ToString) -> Made {
        Made {
            id: id.to_string(),
            other: other.to_string(),
        }
    }
}

/// A target a refusal left as it was (checked), with what it read back as: the next caller of
/// the same row and kind of target acts on it, which is the same as acting on a fresh one.
/// Whatever a case was allowed to do (or did when it should not have), the next gets a new one.
struct Kept {
    made: Made,
    snapshot: Option<Vec<Value>>,
}

/// What is read back, before and after, to see that a refusal changed nothing.
enum Watch {
    /// A GET as the setup administrator.
    Get(String),
    /// The principal's password credential as stored.
    Password(String),
}

struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
    /// A portal form post (with the session cookie and anti-forgery token), not a JSON call.
    form: Option<Vec<(&'static str, String)>>,
    watch: Vec<Watch>,
}

fn call(method: Method, path: String, body: Option<Value>, watch: Vec<Watch>) -> Call {
    Call {
        method,
        path,
        body,
        form: None,
        watch,
    }
}

fn form(path: String, fields: &[(&'static str, &str)], watch: Vec<Watch>) -> Call {
    Call {
        method: Method::POST,
        path,
        body: None,
        form: Some(fields.iter().map(|&(k, v)| (k, v.to_string())).collect()),
        watch,
    }
}

/// What came back: the status, the API's error code (none from the portal), where a redirect
/// goes, and the body as text.
struct Answer {
    status: StatusCode,
    code: String,
    location: String,
    body: String,
}

/// The text of a page, tags dropped and spaces collapsed.
fn words(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How the portal's error page words each refusal (it shows the message, not the code).
fn portal_words(code: &str) -> &str {
    match code {
        "Authorization_RequestDenied" => "insufficient privileges",
        "PrivilegedTarget" => "this account is privileged",
        "ProtectedGroup" => "this group is protected",
        "MfaRequired" => "needs a recent second factor",
        "SelfEscalationDenied" => "cannot add themselves",
        other => other,
    }
}

fn get(path: String) -> Watch {
    Watch::Get(path)
}

fn user_watch(id: &str) -> Vec<Watch> {
    vec![
        get(format!("/v1/users/{id}")),
        Watch::Password(id.to_string()),
    ]
}

fn group_watch(id: &str) -> Vec<Watch> {
    vec![
        get(format!("/v1/groups/{id}")),
        get(format!("/v1/groups/{id}/members")),
        get(format!("/v1/groups/{id}/owners")),
    ]
}

fn schedule(duration: &str) -> Value {
    json!({ "expiration": { "type": "afterDuration", "duration": duration } })
}

const G: &str = "/v1/identityGovernance/privilegedAccess/group";
const AR: &str = "/v1/identityGovernance/accessReviews";
/// The role whose eligibilities are reviewed: none of the callers is eligible for it.
const REVIEWED_ROLE: &str = ids::PRIVILEGED_ROLE_ADMINISTRATOR;

/// A scope query (`scope`) for what an access review reviews.
fn review_scope(query: &str) -> Value {
    json!({ "@odata.type": "#microsoft.graph.accessReviewQueryScope", "queryType": "MicrosoftGraph",
            "query": query })
}

/// One app for a lane of rows: every kind of caller signed in, and the fixtures targets are
/// made from.
struct Ctx {
    t: TestApp,
    /// A Global Administrator with a fresh second factor that prepares targets and reads back.
    setup: String,
    ids: HashMap<Caller, Uuid>,
    tokens: HashMap<Caller, String>,
    /// Portal sessions (the cookie's value), as the portal's sign-in issues them.
    portal: HashMap<Caller, String>,
    /// Someone to make a manager.
    puppet: Uuid,
    /// A webhook connector to map groups with.
    connector: Uuid,
    counter: AtomicU32,
}

impl Ctx {
    async fn new() -> Ctx {
        let t = TestApp::new().await;
        let now = t.clock.now_utc();
        let mut ids = HashMap::new();
        let mut tokens = HashMap::new();
        let mut portal = HashMap::new();
        // The callers, their roles and their sessions are fixtures, written in one transaction:
        // the matrix is about what they then do through the API and the portal.
        let mut tx = t.app.store.write().await.unwrap();
        let setup_id = fixture_user(&mut *tx, "setup", now).await;
        fixture_role(
            &mut *tx,
            setup_id,
            ids::GLOBAL_ADMINISTRATOR,
            ScheduleKind::Active,
        )
        .await;
        let setup = fixture_session(&t, &mut *tx, setup_id, Mfa::Fresh, SessionChannel::Api).await;
        let puppet = fixture_user(&mut *tx, "puppet", now).await;
        let mut people: Vec<(Uuid, Vec<Caller>)> = Vec::new();
        for role in ROLES {
            let id = fixture_user(&mut *tx, "admin", now).await;
            fixture_role(&mut *tx, id, role.id(), ScheduleKind::Active).await;
            people.push((
                id,
                vec![
                    Caller::Admin(role, Mfa::Fresh),
                    Caller::Admin(role, Mfa::PasswordOnly),
                ],
            ));
        }
        let nobody = fixture_user(&mut *tx, "nobody", now).await;
        people.push((nobody, vec![Caller::NoRole]));
        let eligible = fixture_user(&mut *tx, "eligible", now).await;
        fixture_role(
            &mut *tx,
            eligible,
            ids::GLOBAL_ADMINISTRATOR,
            ScheduleKind::Eligible,
        )
        .await;
        people.push((eligible, vec![Caller::Eligible]));
        let approver = fixture_user(&mut *tx, "approver", now).await;
        people.push((
            approver,
            vec![
                Caller::Approver(Mfa::Fresh),
                Caller::Approver(Mfa::PasswordOnly),
            ],
        ));
        let owner = fixture_user(&mut *tx, "owner", now).await;
        people.push((
            owner,
            vec![Caller::Owner(Mfa::Fresh), Caller::Owner(Mfa::PasswordOnly)],
        ));
        for (id, callers) in people {
            for caller in callers {
                let mfa = caller.mfa().expect("a user session");
                ids.insert(caller, id);
                tokens.insert(
                    caller,
                    fixture_session(&t, &mut *tx, id, mfa, SessionChannel::Api).await,
                );
                portal.insert(
                    caller,
                    fixture_session(&t, &mut *tx, id, mfa, SessionChannel::Portal).await,
                );
            }
        }
        tx.commit().await.unwrap();
        let mut ctx = Ctx {
            t,
            setup,
            ids,
            tokens,
            portal,
            puppet,
            connector: Uuid::nil(),
            counter: AtomicU32::new(0),
        };
        ctx.approvers(
            ids::SECURITY_ADMINISTRATOR,
            json!({ "@odata.type": "#microsoft.graph.singleUser", "userId": approver }),
        )
        .await;
        let club = ctx.new_group("Owned club", false).await;
        ctx.relate(club, Rel::Owner, owner).await;
        ctx.connector = ctx.new_connector().await;
        ctx
    }

    fn n(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn token(&self, caller: Caller) -> Option<&str> {
        match caller {
            Caller::Anonymous => None,
            Caller::BreakGlass => Some(BOOTSTRAP),
            other => Some(self.tokens[&other].as_str()),
        }
    }

    /// As the setup administrator; panics unless it succeeds.
    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self
            .t
            .call(method.clone(), path, Some(&self.setup), body.clone())
            .await;
        assert!(
            status.is_success(),
            "setup {method} {path} {body:?}: {status} {answer}"
        );
        answer
    }

    async fn new_user(&self, nick: &str) -> Uuid {
        let n = self.n();
        id_of(
            &self
                .ok(
                    Method::POST,
                    "/v1/users",
                    Some(
                        json!({ "userPrincipalName": format!("{nick}-{n}@contoso.example"),
                                 "displayName": format!("{nick} {n}") }),
                    ),
                )
                .await,
        )
    }

    async fn new_group(&self, name: &str, role_assignable: bool) -> Uuid {
        let n = self.n();
        id_of(
            &self
                .ok(
                    Method::POST,
                    "/v1/groups",
                    Some(
                        json!({ "displayName": format!("{name} {n}"), "securityEnabled": true,
                                 "isAssignableToRole": role_assignable }),
                    ),
                )
                .await,
        )
    }

    async fn relate(&self, group: Uuid, rel: Rel, who: Uuid) {
        self.ok(
            Method::POST,
            &format!("/v1/groups/{group}/{}", rel.path()),
            Some(json!({ "id": who })),
        )
        .await;
    }

    /// Makes `approver` the only approver of `role`'s activations.
    async fn approvers(&self, role: &str, approver: Value) {
        self.ok(
            Method::PATCH,
            &format!(
                "/v1/policies/roleManagementPolicies/DirectoryRole_{role}/rules/Approval_EndUser_Assignment"
            ),
            Some(json!({ "setting": { "isApprovalRequired": true,
                                      "approvalStages": [{ "primaryApprovers": [approver] }] } })),
        )
        .await;
    }

    async fn new_connector(&self) -> Uuid {
        let n = self.n();
        id_of(
            &self
                .ok(
                    Method::POST,
                    "/v1/connectors",
                    Some(
                        json!({ "type": "webhook", "displayName": format!("downstream {n}"),
                                 "settings": { "url": "http://127.0.0.1:9/hook",
                                               "secret": "0123456789abcdef-secret" } }),
                    ),
                )
                .await,
        )
    }

    async fn map(&self, group: Uuid) -> Uuid {
        let n = self.n();
        id_of(
            &self
                .ok(
                    Method::POST,
                    &format!("/v1/groups/{group}/provisioning"),
                    Some(json!({ "connectorId": self.connector, "target": format!("downstream-{n}") })),
                )
                .await,
        )
    }

    async fn user_target(&self, kind: UserKind) -> Uuid {
        let user = self.new_user("target").await;
        match kind {
            UserKind::Plain => {}
            UserKind::HoldsRole => {
                self.t
                    .grant(
                        user,
                        ids::HELPDESK_ADMINISTRATOR,
                        ScheduleKind::Active,
                        None,
                    )
                    .await
            }
            UserKind::EligibleForRole => {
                self.t
                    .grant(
                        user,
                        ids::GLOBAL_ADMINISTRATOR,
                        ScheduleKind::Eligible,
                        None,
                    )
                    .await
            }
            UserKind::OwnsTier0Group => {
                let tier0 = self.new_group("Tier 0", true).await;
                self.t
                    .grant(tier0, ids::GLOBAL_ADMINISTRATOR, ScheduleKind::Active, None)
                    .await;
                self.relate(tier0, Rel::Owner, user).await;
            }
            UserKind::Approver => {
                self.approvers(
                    ids::HELPDESK_ADMINISTRATOR,
                    json!({ "@odata.type": "#microsoft.graph.singleUser", "userId": user }),
                )
                .await
            }
            UserKind::MemberOfTier0Group => {
                let tier0 = self.new_group("Tier 0", true).await;
                self.t
                    .grant(tier0, ids::GLOBAL_ADMINISTRATOR, ScheduleKind::Active, None)
                    .await;
                self.relate(tier0, Rel::Member, user).await;
            }
            UserKind::Manager => {
                self.approvers(
                    ids::GROUPS_ADMINISTRATOR,
                    json!({ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 }),
                )
                .await;
                let report = self.new_user("report").await;
                self.t
                    .grant(
                        report,
                        ids::GROUPS_ADMINISTRATOR,
                        ScheduleKind::Eligible,
                        None,
                    )
                    .await;
                self.ok(
                    Method::PATCH,
                    &format!("/v1/users/{report}"),
                    Some(json!({ "managerId": user })),
                )
                .await;
            }
        }
        user
    }

    /// A fresh group of `kind`, owned by the owner caller.
    async fn group_target(&self, kind: GroupKind) -> Uuid {
        let group = self
            .new_group("target", kind == GroupKind::RoleAssignable)
            .await;
        self.relate(group, Rel::Owner, self.ids[&Caller::Owner(Mfa::Fresh)])
            .await;
        match kind {
            GroupKind::Plain | GroupKind::RoleAssignable => {}
            GroupKind::Approvers => {
                self.approvers(
                    ids::USER_ADMINISTRATOR,
                    json!({ "@odata.type": "#microsoft.graph.groupMembers", "groupId": group }),
                )
                .await
            }
            GroupKind::Mapped => {
                self.map(group).await;
            }
            GroupKind::PimForGroups => {
                let someone = self.new_user("pim").await;
                self.ok(
                    Method::POST,
                    &format!("{G}/eligibilityScheduleRequests"),
                    Some(json!({ "action": "adminAssign", "principalId": someone,
                                 "groupId": group, "accessId": "member",
                                 "justification": "on-call rota",
                                 "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } })),
                )
                .await;
            }
            GroupKind::NestedInApprovers => {
                let parent = self.new_group("approvers", false).await;
                self.approvers(
                    ids::EXCHANGE_ADMINISTRATOR,
                    json!({ "@odata.type": "#microsoft.graph.groupMembers", "groupId": parent }),
                )
                .await;
                self.relate(parent, Rel::Member, group).await;
            }
        }
        group
    }

    /// A request of a fresh requester for Security Administrator, waiting for the approver;
    /// (request id, step id).
    async fn pending_request(&self) -> (String, String) {
        let requester = self.new_user("requester").await;
        self.t
            .grant(
                requester,
                ids::SECURITY_ADMINISTRATOR,
                ScheduleKind::Eligible,
                None,
            )
            .await;
        let token = session(&self.t, requester, Mfa::Fresh).await;
        let (status, body) = self
            .t
            .post(
                ASSIGNMENT_URL,
                &token,
                json!({ "action": "selfActivate", "principalId": requester,
                        "roleDefinitionId": ids::SECURITY_ADMINISTRATOR, "directoryScopeId": "/",
                        "justification": "incident response",
                        "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "PendingApproval", "{body}");
        let id = body["approvalId"].as_str().expect("approvalId").to_string();
        let approval = self
            .ok(
                Method::GET,
                &format!("/v1/roleManagement/directory/roleAssignmentApprovals/{id}"),
                None,
            )
            .await;
        let step = approval["steps"][0]["id"]
            .as_str()
            .expect("a step")
            .to_string();
        (id, step)
    }

    /// Makes the objects of one case: its target and what the request names.
    async fn make(&self, op: Op, target: Target) -> Made {
        let user = || async move {
            match target {
                Target::User(kind) => self.user_target(kind).await,
                other => panic!("{op:?} takes a user, not {other:?}"),
            }
        };
        let group = || async move {
            match target {
                Target::Group(kind) => self.group_target(kind).await,
                other => panic!("{op:?} takes a group, not {other:?}"),
            }
        };
        match op {
            Op::CreateUser
            | Op::CreateGroup { .. }
            | Op::CreateServicePrincipal
            | Op::CreateRoleDefinition
            | Op::CreateConnector
            | Op::CreateSubscription
            | Op::CreateScimClient
            | Op::PortalCreateUser
            | Op::PortalCreateGroup
            | Op::PortalCreateServicePrincipal => Made::of(format!("new-{}", self.n())),
            Op::PatchPolicyRule => Made::default(),
            Op::PatchUser(_)
            | Op::DeleteUser
            | Op::PortalUpdateUser
            | Op::PortalDeleteUser
            | Op::IssueAccessPass
            | Op::AssignRole { .. }
            | Op::SelfActivateForAnother => Made::of(user().await),
            Op::PatchGroup | Op::DeleteGroup | Op::MapGroup => Made::of(group().await),
            Op::AddRelation { .. } | Op::PimForGroups { .. } | Op::PortalAddRelation(_) => {
                Made::with(group().await, self.new_user("newcomer").await)
            }
            Op::DeleteAccessPass => {
                let id = user().await;
                let pass = self
                    .ok(
                        Method::POST,
                        &format!("/v1/users/{id}/authentication/temporaryAccessPassMethods"),
                        Some(json!({ "lifetimeInMinutes": 60, "isUsableOnce": true })),
                    )
                    .await;
                Made::with(id, id_of(&pass))
            }
            Op::PortalRemoveMember => {
                let id = group().await;
                let who = self.new_user("leaver").await;
                self.relate(id, Rel::Member, who).await;
                Made::with(id, who)
            }
            Op::RemoveRelation { rel, .. } => {
                let id = group().await;
                let who = self.new_user("leaver").await;
                self.relate(id, rel, who).await;
                Made::with(id, who)
            }
            Op::DeleteServicePrincipal | Op::PortalDeleteServicePrincipal => {
                let Target::ServicePrincipal { privileged } = target else {
                    panic!("{op:?} takes a service principal, not {target:?}")
                };
                let n = self.n();
                let sp = id_of(
                    &self
                        .ok(
                            Method::POST,
                            "/v1/servicePrincipals",
                            Some(json!({ "displayName": format!("App {n}") })),
                        )
                        .await,
                );
                if privileged {
                    self.t
                        .grant(sp, ids::HELPDESK_ADMINISTRATOR, ScheduleKind::Active, None)
                        .await;
                }
                Made::of(sp)
            }
            Op::ReviewApproval | Op::CancelRequest => {
                let (id, step) = self.pending_request().await;
                Made::with(id, step)
            }
            Op::PatchConnector | Op::DeleteConnector | Op::Reconcile | Op::PortalReconcile => {
                Made::of(self.new_connector().await)
            }
            Op::UnmapGroup => {
                let id = self.new_group("mapped", false).await;
                Made::with(id, self.map(id).await)
            }
            Op::RevokeScimClient => {
                let n = self.n();
                Made::of(id_of(
                    &self
                        .ok(
                            Method::POST,
                            "/v1/scim/clients",
                            Some(json!({ "displayName": format!("client {n}") })),
                        )
                        .await,
                ))
            }
            Op::DeleteSubscription => {
                let n = self.n();
                Made::of(id_of(
                    &self
                        .ok(
                            Method::POST,
                            "/v1/subscriptions",
                            Some(json!({ "url": format!("https://hooks.example/{n}"),
                                         "eventTypes": ["*"], "secret": "0123456789abcdef" })),
                        )
                        .await,
                ))
            }
            Op::PatchAlert => Made::of(self.active_alert().await),
            Op::PatchPimAlertConfiguration
            | Op::RefreshPimAlerts
            | Op::PortalRefreshPimAlerts
            | Op::PortalConfigurePimAlert => {
                let tenant = eligo::service::pim_alerts::tenant_id(&self.t.app)
                    .await
                    .unwrap_or_else(|e| panic!("the tenant id: {}", e.message));
                Made::of(format!(
                    "DirectoryRole_{tenant}_TooManyGlobalAdminsAssignedToTenantAlert"
                ))
            }
            Op::RemediatePimAlertIncident | Op::PortalRemediatePimAlertIncident => {
                self.outside_pim_incident().await
            }
            Op::RetryJob => Made::of(self.failed_job().await),
            Op::CreateReview(of) => {
                Made::with(format!("new-{}", self.n()), self.reviewed(of, target).await)
            }
            Op::DeleteReview(Reviews::GroupMembers) => {
                let Target::Group(kind) = target else {
                    panic!("{op:?} takes a group, not {target:?}")
                };
                Made::of(self.group_review(kind, false).await.0)
            }
            Op::DeleteReview(of) => {
                let query = self.reviewed(of, target).await;
                let def = self
                    .ok(
                        Method::POST,
                        &format!("{AR}/definitions"),
                        Some(json!({ "displayName": format!("review {}", self.n()),
                                     "scope": review_scope(&query), "reviewers": [] })),
                    )
                    .await;
                Made::of(id_of(&def))
            }
            Op::DecideReview | Op::StopReviewInstance | Op::ApplyReviewDecisions => {
                let Target::Group(kind) = target else {
                    panic!("{op:?} takes a group, not {target:?}")
                };
                let completed = op == Op::ApplyReviewDecisions;
                let (def, group) = self.group_review(kind, completed).await;
                let instances = self
                    .ok(
                        Method::GET,
                        &format!("{AR}/definitions/{def}/instances"),
                        None,
                    )
                    .await;
                let instance = format!(
                    "{AR}/definitions/{def}/instances/{}",
                    id_of(&instances["value"][0])
                );
                if completed {
                    self.ok(Method::POST, &format!("{instance}/stop"), None)
                        .await;
                }
                if op == Op::DecideReview {
                    let decisions = self
                        .ok(Method::GET, &format!("{instance}/decisions"), None)
                        .await;
                    Made::with(instance, id_of(&decisions["value"][0]))
                } else {
                    Made::with(instance, group)
                }
            }
        }
    }

    /// The scope query of a review of `of` on a fresh `target`.
    async fn reviewed(&self, of: Reviews, target: Target) -> String {
        match (of, target) {
            (Reviews::RoleEligibilities, _) => format!(
                "/roleManagement/directory/roleEligibilityScheduleInstances?$filter=roleDefinitionId eq '{REVIEWED_ROLE}'"
            ),
            (Reviews::GroupMembers, Target::Group(kind)) => {
                format!(
                    "/groups/{}/transitiveMembers",
                    self.group_target(kind).await
                )
            }
            (Reviews::PackageAssignments, _) => {
                let n = self.n();
                let em = "/v1/identityGovernance/entitlementManagement";
                let catalog = self
                    .ok(
                        Method::POST,
                        &format!("{em}/catalogs"),
                        Some(json!({ "displayName": format!("catalog {n}") })),
                    )
                    .await;
                let package = self
                    .ok(
                        Method::POST,
                        &format!("{em}/accessPackages"),
                        Some(json!({ "displayName": format!("package {n}"),
                                     "catalog": { "id": id_of(&catalog) } })),
                    )
                    .await;
                format!(
                    "/identityGovernance/entitlementManagement/assignments?$filter=accessPackage/id eq '{}'",
                    id_of(&package)
                )
            }
            (of, other) => panic!("a review of {of:?} takes no {other:?}"),
        }
    }

    /// A review of the members of a fresh group of `kind` (owned by the owner caller, one
    /// member), started at once, the approver caller its reviewer; `completed`: what nobody
    /// decided is denied at its end, not applied. (The definition's id, the group's.)
    async fn group_review(&self, kind: GroupKind, completed: bool) -> (Uuid, Uuid) {
        let group = self.group_target(kind).await;
        let member = self.new_user("reviewed").await;
        self.relate(group, Rel::Member, member).await;
        let reviewer = self.ids[&Caller::Approver(Mfa::Fresh)];
        let settings = if completed {
            json!({ "defaultDecisionEnabled": true, "defaultDecision": "Deny",
                    "autoApplyDecisionsEnabled": false })
        } else {
            json!({})
        };
        let def = self
            .ok(
                Method::POST,
                &format!("{AR}/definitions"),
                Some(json!({ "displayName": format!("review {}", self.n()),
                             "scope": review_scope(&format!("/groups/{group}/transitiveMembers")),
                             "reviewers": [{ "query": format!("/users/{reviewer}"),
                                             "queryType": "MicrosoftGraph" }],
                             "settings": settings })),
            )
            .await;
        (id_of(&def), group)
    }

    /// The request `caller` makes in one case, and what to read back around it.
    fn request(&self, op: Op, caller: Caller, made: &Made) -> Call {
        let n = self.n();
        let (id, other) = (made.id.as_str(), made.other.as_str());
        match op {
            Op::CreateUser => {
                let upn = format!("{id}@contoso.example");
                call(
                    Method::POST,
                    "/v1/users".into(),
                    Some(json!({ "userPrincipalName": upn, "displayName": id })),
                    vec![get(format!(
                        "/v1/users?$filter=userPrincipalName eq '{upn}'"
                    ))],
                )
            }
            Op::PatchUser(field) => {
                let body = match field {
                    UserField::DisplayName => json!({ "displayName": format!("Renamed {n}") }),
                    UserField::UserPrincipalName => {
                        json!({ "userPrincipalName": format!("moved-{n}@contoso.example") })
                    }
                    UserField::Mail => json!({ "mail": format!("x{n}@attacker.example") }),
                    UserField::Manager => json!({ "managerId": self.puppet }),
                    UserField::AccountEnabled => json!({ "accountEnabled": false }),
                    UserField::Password => {
                        json!({ "passwordProfile": { "password": "attacker chosen password 1" } })
                    }
                };
                call(
                    Method::PATCH,
                    format!("/v1/users/{id}"),
                    Some(body),
                    user_watch(id),
                )
            }
            Op::IssueAccessPass | Op::DeleteAccessPass => {
                let passes = format!("/v1/users/{id}/authentication/temporaryAccessPassMethods");
                let mut watch = user_watch(id);
                watch.push(get(passes.clone()));
                if op == Op::IssueAccessPass {
                    let body = json!({ "lifetimeInMinutes": 60, "isUsableOnce": true });
                    call(Method::POST, passes, Some(body), watch)
                } else {
                    call(Method::DELETE, format!("{passes}/{other}"), None, watch)
                }
            }
            Op::DeleteUser => call(
                Method::DELETE,
                format!("/v1/users/{id}"),
                None,
                user_watch(id),
            ),
            Op::CreateGroup { role_assignable } => call(
                Method::POST,
                "/v1/groups".into(),
                Some(json!({ "displayName": id, "securityEnabled": true,
                             "isAssignableToRole": role_assignable })),
                vec![get(format!("/v1/groups?$filter=displayName eq '{id}'"))],
            ),
            Op::PatchGroup => call(
                Method::PATCH,
                format!("/v1/groups/{id}"),
                Some(json!({ "displayName": format!("Renamed {n}") })),
                group_watch(id),
            ),
            Op::DeleteGroup => call(
                Method::DELETE,
                format!("/v1/groups/{id}"),
                None,
                group_watch(id),
            ),
            Op::AddRelation {
                rel,
                yourself,
                graph_ref,
            } => {
                let who = match (yourself, self.ids.get(&caller)) {
                    (true, Some(me)) => me.to_string(),
                    _ => other.to_string(),
                };
                let (path, body) = if graph_ref {
                    (
                        format!("/v1/groups/{id}/{}/$ref", rel.path()),
                        json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{who}") }),
                    )
                } else {
                    (
                        format!("/v1/groups/{id}/{}", rel.path()),
                        json!({ "id": who }),
                    )
                };
                call(Method::POST, path, Some(body), group_watch(id))
            }
            Op::RemoveRelation { rel, graph_ref } => {
                let suffix = if graph_ref { "/$ref" } else { "" };
                call(
                    Method::DELETE,
                    format!("/v1/groups/{id}/{}/{other}{suffix}", rel.path()),
                    None,
                    group_watch(id),
                )
            }
            Op::PimForGroups { eligibility } => {
                let which = if eligibility {
                    "eligibilityScheduleRequests"
                } else {
                    "assignmentScheduleRequests"
                };
                let mut watch = group_watch(id);
                watch.push(get(format!(
                    "/v1/access/check?principalId={other}&groupId={id}&accessId=member"
                )));
                call(
                    Method::POST,
                    format!("{G}/{which}"),
                    Some(
                        json!({ "action": "adminAssign", "principalId": other, "groupId": id,
                                 "accessId": "member", "justification": "on-call rota",
                                 "scheduleInfo": schedule("P30D") }),
                    ),
                    watch,
                )
            }
            Op::CreateServicePrincipal => call(
                Method::POST,
                "/v1/servicePrincipals".into(),
                Some(json!({ "displayName": id })),
                vec![get("/v1/servicePrincipals?$top=999".into())],
            ),
            Op::DeleteServicePrincipal => call(
                Method::DELETE,
                format!("/v1/servicePrincipals/{id}"),
                None,
                vec![get(format!("/v1/servicePrincipals/{id}"))],
            ),
            Op::CreateRoleDefinition => call(
                Method::POST,
                "/v1/roleManagement/directory/roleDefinitions".into(),
                Some(json!({ "displayName": id, "isEnabled": true,
                             "rolePermissions": [{ "allowedResourceActions": ["microsoft.directory/users/read"] }] })),
                vec![get("/v1/roleManagement/directory/roleDefinitions".into())],
            ),
            Op::PatchPolicyRule => {
                let rule = format!(
                    "/v1/policies/roleManagementPolicies/DirectoryRole_{}/rules/Expiration_EndUser_Assignment",
                    ids::IDENTITY_GOVERNANCE_ADMINISTRATOR
                );
                call(
                    Method::PATCH,
                    rule.clone(),
                    Some(json!({ "isExpirationRequired": true,
                                 "maximumDuration": format!("PT{}H", n % 8 + 1) })),
                    vec![get(rule)],
                )
            }
            Op::AssignRole { eligibility } => {
                let url = if eligibility {
                    ELIGIBILITY_URL
                } else {
                    ASSIGNMENT_URL
                };
                let mut watch = user_watch(id);
                watch.push(get(format!("{url}?$filter=principalId eq '{id}'")));
                call(
                    Method::POST,
                    url.into(),
                    Some(json!({ "action": "adminAssign", "principalId": id,
                                 "roleDefinitionId": ids::SECURITY_READER, "directoryScopeId": "/",
                                 "justification": "quarterly audit", "scheduleInfo": schedule("P30D") })),
                    watch,
                )
            }
            Op::SelfActivateForAnother => {
                let mut watch = user_watch(id);
                watch.push(get(format!(
                    "{ASSIGNMENT_URL}?$filter=principalId eq '{id}'"
                )));
                call(
                    Method::POST,
                    ASSIGNMENT_URL.into(),
                    Some(json!({ "action": "selfActivate", "principalId": id,
                                 "roleDefinitionId": ids::GLOBAL_ADMINISTRATOR, "directoryScopeId": "/",
                                 "justification": "incident response", "scheduleInfo": schedule("PT1H") })),
                    watch,
                )
            }
            Op::ReviewApproval => {
                let url = format!("/v1/roleManagement/directory/roleAssignmentApprovals/{id}");
                call(
                    Method::PATCH,
                    format!("{url}/steps/{other}"),
                    Some(json!({ "reviewResult": "Approve", "justification": "looks right" })),
                    vec![get(url), get(format!("{ASSIGNMENT_URL}/{id}"))],
                )
            }
            Op::CancelRequest => call(
                Method::POST,
                format!("{ASSIGNMENT_URL}/{id}/cancel"),
                None,
                vec![get(format!("{ASSIGNMENT_URL}/{id}"))],
            ),
            Op::CreateConnector => call(
                Method::POST,
                "/v1/connectors".into(),
                Some(json!({ "type": "webhook", "displayName": id,
                             "settings": { "url": "http://127.0.0.1:9/hook",
                                           "secret": "0123456789abcdef-secret" } })),
                vec![get("/v1/connectors".into())],
            ),
            Op::PatchConnector => call(
                Method::PATCH,
                format!("/v1/connectors/{id}"),
                Some(json!({ "displayName": format!("renamed {n}"),
                             "settings": { "url": "http://127.0.0.1:9/elsewhere",
                                           "secret": "0123456789abcdef-moved" } })),
                vec![get(format!("/v1/connectors/{id}"))],
            ),
            Op::DeleteConnector => call(
                Method::DELETE,
                format!("/v1/connectors/{id}"),
                None,
                vec![get(format!("/v1/connectors/{id}"))],
            ),
            Op::Reconcile => call(
                Method::POST,
                format!("/v1/connectors/{id}/reconcile"),
                None,
                vec![get(format!("/v1/connectors/{id}"))],
            ),
            Op::MapGroup => call(
                Method::POST,
                format!("/v1/groups/{id}/provisioning"),
                Some(
                    json!({ "connectorId": self.connector, "target": format!("downstream-new-{n}") }),
                ),
                vec![get(format!("/v1/groups/{id}/provisioning"))],
            ),
            Op::UnmapGroup => call(
                Method::DELETE,
                format!("/v1/groups/{id}/provisioning/{other}"),
                None,
                vec![get(format!("/v1/groups/{id}/provisioning"))],
            ),
            Op::CreateSubscription => call(
                Method::POST,
                "/v1/subscriptions".into(),
                Some(
                    json!({ "url": format!("https://hooks.example/{id}"), "eventTypes": ["*"],
                             "secret": "0123456789abcdef" }),
                ),
                vec![get("/v1/subscriptions".into())],
            ),
            Op::DeleteSubscription => call(
                Method::DELETE,
                format!("/v1/subscriptions/{id}"),
                None,
                vec![get(format!("/v1/subscriptions/{id}"))],
            ),
            Op::CreateScimClient => call(
                Method::POST,
                "/v1/scim/clients".into(),
                Some(json!({ "displayName": format!("client {id}") })),
                vec![get("/v1/scim/clients".into())],
            ),
            Op::RevokeScimClient => call(
                Method::DELETE,
                format!("/v1/scim/clients/{id}"),
                None,
                vec![get("/v1/scim/clients".into())],
            ),
            Op::PatchAlert => call(
                Method::PATCH,
                format!("/v1/alerts/{id}"),
                Some(json!({ "status": "resolved" })),
                vec![get(format!("/v1/alerts/{id}"))],
            ),
            Op::PatchPimAlertConfiguration => call(
                Method::PATCH,
                format!("/v1/identityGovernance/roleManagementAlerts/alertConfigurations/{id}"),
                Some(json!({ "globalAdminCountThreshold": 2 + n % 50 })),
                vec![get(format!(
                    "/v1/identityGovernance/roleManagementAlerts/alertConfigurations/{id}"
                ))],
            ),
            Op::RefreshPimAlerts => call(
                Method::POST,
                "/v1/identityGovernance/roleManagementAlerts/alerts/refresh".into(),
                Some(json!({ "scopeId": "/", "scopeType": "DirectoryRole" })),
                vec![get(format!(
                    "/v1/identityGovernance/roleManagementAlerts/alerts/{id}"
                ))],
            ),
            Op::RemediatePimAlertIncident => call(
                Method::POST,
                format!(
                    "/v1/identityGovernance/roleManagementAlerts/alerts/{id}/alertIncidents/{other}/remediate"
                ),
                None,
                vec![get(format!(
                    "/v1/identityGovernance/roleManagementAlerts/alerts/{id}/alertIncidents"
                ))],
            ),
            Op::RetryJob => call(
                Method::POST,
                format!("/v1/outbox/{id}/retry"),
                None,
                vec![get(format!("/v1/outbox/{id}"))],
            ),
            Op::CreateReview(_) => call(
                Method::POST,
                format!("{AR}/definitions"),
                Some(json!({ "displayName": id, "scope": review_scope(other), "reviewers": [] })),
                vec![get(format!("{AR}/definitions"))],
            ),
            Op::DeleteReview(_) => call(
                Method::DELETE,
                format!("{AR}/definitions/{id}"),
                None,
                vec![
                    get(format!("{AR}/definitions/{id}")),
                    get(format!("{AR}/definitions/{id}/instances")),
                ],
            ),
            // `id` is the instance's path.
            Op::DecideReview => call(
                Method::PATCH,
                format!("{id}/decisions/{other}"),
                Some(json!({ "decision": "Deny", "justification": "no longer needed" })),
                vec![get(format!("{id}/decisions/{other}")), get(id.to_string())],
            ),
            Op::StopReviewInstance => call(
                Method::POST,
                format!("{id}/stop"),
                None,
                vec![get(id.to_string()), get(format!("{id}/decisions"))],
            ),
            Op::ApplyReviewDecisions => call(
                Method::POST,
                format!("{id}/applyDecisions"),
                None,
                vec![
                    get(id.to_string()),
                    get(format!("{id}/decisions")),
                    get(format!("/v1/groups/{other}/members")),
                ],
            ),
            Op::PortalCreateUser => {
                let upn = format!("{id}@contoso.example");
                form(
                    "/portal/admin/users".into(),
                    &[
                        ("upn", &upn),
                        ("display_name", id),
                        ("password", "a long first password"),
                        ("enabled", "on"),
                    ],
                    vec![get(format!(
                        "/v1/users?$filter=userPrincipalName eq '{upn}'"
                    ))],
                )
            }
            // `enabled` unticked: the account is disabled.
            Op::PortalUpdateUser => form(
                format!("/portal/admin/users/{id}"),
                &[("display_name", &format!("Renamed {n}"))],
                user_watch(id),
            ),
            Op::PortalDeleteUser => form(
                format!("/portal/admin/users/{id}/delete"),
                &[],
                user_watch(id),
            ),
            Op::PortalCreateGroup => form(
                "/portal/admin/groups".into(),
                &[("display_name", id)],
                vec![get(format!("/v1/groups?$filter=displayName eq '{id}'"))],
            ),
            Op::PortalAddRelation(rel) => form(
                format!("/portal/admin/groups/{id}/add"),
                &[
                    (
                        "relation",
                        match rel {
                            Rel::Member => "member",
                            Rel::Owner => "owner",
                        },
                    ),
                    ("who", other),
                ],
                group_watch(id),
            ),
            Op::PortalRemoveMember => form(
                format!("/portal/admin/groups/{id}/remove"),
                &[("relation", "member"), ("principal", other)],
                group_watch(id),
            ),
            Op::PortalCreateServicePrincipal => form(
                "/portal/admin/service-principals".into(),
                &[("display_name", id)],
                vec![get("/v1/servicePrincipals?$top=999".into())],
            ),
            Op::PortalDeleteServicePrincipal => form(
                format!("/portal/admin/service-principals/{id}/delete"),
                &[],
                vec![get(format!("/v1/servicePrincipals/{id}"))],
            ),
            Op::PortalReconcile => form(
                format!("/portal/admin/connectors/{id}/reconcile"),
                &[],
                vec![get(format!("/v1/connectors/{id}"))],
            ),
            Op::PortalRefreshPimAlerts => form(
                "/portal/admin/alerts/refresh".into(),
                &[],
                vec![get(format!(
                    "/v1/identityGovernance/roleManagementAlerts/alerts/{id}"
                ))],
            ),
            Op::PortalConfigurePimAlert => form(
                format!("/portal/admin/alerts/{id}/configure"),
                &[
                    ("isEnabled", "on"),
                    ("globalAdminCountThreshold", &(2 + n % 50).to_string()),
                    ("percentageOfGlobalAdminsOutOfRolesThreshold", "50"),
                ],
                vec![get(format!(
                    "/v1/identityGovernance/roleManagementAlerts/alertConfigurations/{id}"
                ))],
            ),
            Op::PortalRemediatePimAlertIncident => form(
                format!("/portal/admin/alerts/{id}/incidents/{other}/remediate"),
                &[],
                vec![get(format!(
                    "/v1/identityGovernance/roleManagementAlerts/alerts/{id}/alertIncidents"
                ))],
            ),
        }
    }

    /// An active security alert (written to the store: nothing raises one on demand).
    async fn active_alert(&self) -> Uuid {
        let id = Uuid::new_v4();
        let mut tx = self.t.app.store.write().await.unwrap();
        tx.insert_alert(&eligo_store::AlertRow {
            id,
            kind: "matrix".into(),
            status: "active".into(),
            dedupe_key: Some(format!("matrix-{id}")),
            data: json!({}),
            created_at: self.t.clock.now_utc(),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// A User Administrator assignment written into the store as an import would (no request
    /// created it), scanned: the alert's id and the incident's.
    async fn outside_pim_incident(&self) -> Made {
        let user = self.new_user("imported").await;
        self.t
            .grant(
                user,
                ids::USER_ADMINISTRATOR,
                ScheduleKind::Active,
                Some(TimeDelta::days(30)),
            )
            .await;
        let app = &self.t.app;
        fn fail<T>(e: eligo::failure::Failure) -> T {
            panic!("{}", e.message)
        }
        eligo::service::pim_alerts::scan_all(app)
            .await
            .unwrap_or_else(fail);
        let tenant = eligo::service::pim_alerts::tenant_id(app)
            .await
            .unwrap_or_else(fail);
        let kind = eligo_core::pim_alerts::AlertKind::RolesAssignedOutsidePim;
        let mut tx = app.store.read().await.unwrap();
        let incident = tx
            .list_alert_incidents(kind, true)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.data["assigneeId"] == user.to_string())
            .expect("the incident");
        Made::with(kind.id(tenant), incident.id)
    }

    /// A dead letter in the outbox (no worker runs in these tests).
    async fn failed_job(&self) -> Uuid {
        let id = Uuid::new_v4();
        let now = self.t.clock.now_utc();
        let mut tx = self.t.app.store.write().await.unwrap();
        tx.enqueue_job(
            &eligo_store::NewJob {
                id,
                kind: "webhook".into(),
                payload: json!({}),
                coalesce_key: None,
                once_key: None,
                subject: Some("matrix".into()),
                due_at: now,
            },
            now,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut tx = self.t.app.store.write().await.unwrap();
        let claimed = tx
            .claim_jobs(now, now + TimeDelta::minutes(5), 10_000, "matrix")
            .await
            .unwrap();
        assert!(claimed.iter().any(|j| j.id == id), "the job was claimed");
        assert!(
            tx.complete_job(
                id,
                &eligo_store::JobOutcome::Failed {
                    error: "matrix".into()
                },
                now
            )
            .await
            .unwrap()
        );
        tx.commit().await.unwrap();
        id
    }

    async fn snapshot(&self, watch: &[Watch]) -> Vec<Value> {
        let mut out = Vec::new();
        for w in watch {
            out.push(match w {
                Watch::Get(path) => {
                    let (status, body) = self.t.get(path, &self.setup).await;
                    json!({ "get": path, "status": status.as_u16(), "body": body })
                }
                Watch::Password(id) => {
                    let id = Uuid::parse_str(id).expect("a principal id");
                    let mut tx = self.t.app.store.read().await.unwrap();
                    json!({ "password": tx.get_credential(id, "password").await.unwrap() })
                }
            });
        }
        out
    }

    /// The audit chain's head.
    async fn head(&self) -> i64 {
        let mut tx = self.t.app.store.read().await.unwrap();
        tx.audit_head().await.unwrap().0
    }

    /// Entries after `head` that record a change, as `recorded_changes` counts them: neither
    /// refusals nor the break-glass token's own use.
    async fn changes_since(&self, head: i64) -> Vec<String> {
        self.entries_since(head).await.0
    }

    /// The changes after `head` (as `changes_since`), and how many refusals were recorded.
    async fn entries_since(&self, head: i64) -> (Vec<String>, usize) {
        let mut tx = self.t.app.store.read().await.unwrap();
        let entries = tx.audit_after(head, 1_000).await.unwrap();
        let refusals = entries
            .iter()
            .filter(|e| e.result == Outcome::Failure)
            .count();
        let changes = entries
            .into_iter()
            .filter(|e| {
                e.result == Outcome::Success && e.activity_display_name != "Break-glass token used"
            })
            .map(|e| e.activity_display_name)
            .collect();
        (changes, refusals)
    }

    /// Sends the case's request as `caller`: a JSON call with the bearer token, or a portal
    /// form with the portal session's cookie and that session's anti-forgery token.
    async fn send(&self, caller: Caller, c: &Call) -> Answer {
        let Some(fields) = &c.form else {
            let (status, body) = self
                .t
                .call(
                    c.method.clone(),
                    &c.path,
                    self.token(caller),
                    c.body.clone(),
                )
                .await;
            return Answer {
                status,
                code: code(&body).to_string(),
                location: String::new(),
                body: body.to_string(),
            };
        };
        let raw = match caller {
            Caller::Anonymous => None,
            Caller::BreakGlass => Some(BOOTSTRAP),
            other => Some(self.portal[&other].as_str()),
        };
        let mut all: Vec<(&str, String)> = Vec::new();
        let mut req = axum::http::Request::builder()
            .method(c.method.clone())
            .uri(&c.path)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(raw) = raw {
            let name = eligo::portal::cookies::session_name(&self.t.app);
            req = req.header("cookie", format!("{name}={raw}"));
            let digest = eligo::auth::token::digest(raw);
            all.push((
                "csrf",
                eligo::portal::session::csrf_for(&self.t.app, &digest),
            ));
        }
        all.extend(fields.iter().cloned());
        let req = req
            .body(axum::body::Body::from(
                serde_urlencoded::to_string(&all).unwrap(),
            ))
            .unwrap();
        let resp = tower::ServiceExt::oneshot(self.t.router.clone(), req)
            .await
            .unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        Answer {
            status,
            code: String::new(),
            location,
            body: words(&String::from_utf8_lossy(&bytes)),
        }
    }

    /// Runs one case; Err says what went wrong. `kept` is a target an earlier refusal of the
    /// same row left unchanged; this case leaves there what the next may use.
    async fn case(
        &self,
        op: Op,
        caller: Caller,
        target: Target,
        want: Expect,
        audited: bool,
        kept: &mut Option<Kept>,
    ) -> Result<(), String> {
        let Kept { made, snapshot } = match kept.take() {
            Some(k) => k,
            None => Kept {
                made: self.make(op, target).await,
                snapshot: None,
            },
        };
        let c = self.request(op, caller, &made);
        let before = match (want, snapshot) {
            (Expect::Allowed, _) => Vec::new(),
            (Expect::Refused(..), Some(s)) => s,
            (Expect::Refused(..), None) => {
                let s = self.snapshot(&c.watch).await;
                if let Some(w) = s.iter().find(|w| w.get("status").is_some_and(|s| s != 200)) {
                    return Err(format!("the target cannot be read back: {w}"));
                }
                s
            }
        };
        let head = self.head().await;
        let answer = self.send(caller, &c).await;
        let (status, body) = (answer.status, &answer.body);
        let got = format!("{} {}", status.as_u16(), answer.code);
        match want {
            Expect::Allowed if c.form.is_none() => {
                if !status.is_success() {
                    return Err(format!("expected success, got {got}: {body}"));
                }
            }
            Expect::Allowed => {
                // A form that worked redirects to where the change shows (or, creating a
                // service principal, shows its secret once); a form shown again did nothing.
                let redirected = status == StatusCode::SEE_OTHER
                    && !answer.location.starts_with("/portal/sign-in");
                if !(redirected || status == StatusCode::OK) {
                    return Err(format!(
                        "expected success, got {got} (to {:?}): {body}",
                        answer.location
                    ));
                }
                // Reconciling a connector that provisions nothing records nothing.
                if op != Op::PortalReconcile && self.changes_since(head).await.is_empty() {
                    return Err(format!("answered {got} but nothing was done: {body}"));
                }
            }
            Expect::Refused(s, want_code) => {
                let refused_so = match c.form {
                    None => answer.code == want_code,
                    // The portal's error page shows the refusal's words, not its code.
                    Some(_) => s != 403 || body.contains(portal_words(want_code)),
                };
                if status.as_u16() != s || !refused_so {
                    return Err(format!("expected {s} {want_code}, got {got}: {body}"));
                }
                let (changes, refusals) = self.entries_since(head).await;
                if !changes.is_empty() {
                    return Err(format!(
                        "refused ({got}) but the audit trail records changes: {changes:?}"
                    ));
                }
                if audited && s == 403 && refusals == 0 {
                    return Err(format!(
                        "refused ({got}) but the refusal is not on the record"
                    ));
                }
                let after = self.snapshot(&c.watch).await;
                if after != before {
                    return Err(format!(
                        "refused ({got}) but the target changed:\nbefore {}\nafter  {}",
                        Value::from(before),
                        Value::from(after)
                    ));
                }
                *kept = Some(Kept {
                    made,
                    snapshot: Some(after),
                });
            }
        }
        Ok(())
    }
}

/// A session for `principal` as the API's sign-in makes it: with a second factor proved now,
/// or from the password alone (no `last_mfa_at`).
async fn session(t: &TestApp, principal: Uuid, mfa: Mfa) -> String {
    let mut tx = t.app.store.write().await.unwrap();
    let raw = fixture_session(t, &mut *tx, principal, mfa, SessionChannel::Api).await;
    tx.commit().await.unwrap();
    raw
}

/// A session on `channel` (a portal session is the portal cookie's value, as the portal's
/// sign-in issues it), written in `tx`.
async fn fixture_session(
    t: &TestApp,
    tx: &mut dyn eligo_store::Tx,
    principal: Uuid,
    mfa: Mfa,
    channel: SessionChannel,
) -> String {
    let now = t.clock.now_utc();
    let raw = eligo::auth::token::generate("elg_");
    let fresh = mfa == Mfa::Fresh;
    tx.insert_token(&eligo_store::TokenRecord {
        token_hash: eligo::auth::token::digest(&raw),
        principal_id: principal,
        created_at: now,
        expires_at: Some(now + t.app.config.token_lifetime),
        revoked_at: None,
        last_mfa_at: fresh.then_some(now),
        amr: if fresh {
            vec!["pwd".into(), "otp".into()]
        } else {
            vec!["pwd".into()]
        },
        channel,
        acr: None,
        acr_at: None,
    })
    .await
    .unwrap();
    raw
}

/// A user without a password (callers sign in through the sessions written for them).
async fn fixture_user(tx: &mut dyn eligo_store::Tx, nick: &str, now: DateTime<Utc>) -> Uuid {
    let id = Uuid::new_v4();
    tx.insert_user(&eligo_core::directory::User {
        id,
        user_principal_name: format!("{nick}-{id}@contoso.example"),
        display_name: nick.to_string(),
        mail: None,
        mail_nickname: None,
        manager_id: None,
        account_enabled: true,
        created_date_time: now,
    })
    .await
    .unwrap();
    id
}

/// `principal` holds (or is eligible for) `role` at `/`, permanently.
async fn fixture_role(
    tx: &mut dyn eligo_store::Tx,
    principal: Uuid,
    role: &str,
    kind: ScheduleKind,
) {
    let now = start_time();
    tx.insert_role_schedule(&RoleSchedule::new(
        Uuid::new_v4(),
        kind,
        principal,
        Uuid::parse_str(role).unwrap(),
        "/",
        (now, None),
        AssignmentType::Assigned,
        None,
        now,
    ))
    .await
    .unwrap();
}

#[test]
fn the_table_is_well_formed() {
    let mut routes = std::collections::HashSet::new();
    for row in ROWS {
        assert!(routes.insert(row.route), "{} twice", row.route);
        assert!(!row.targets.is_empty(), "{} has targets", row.route);
    }
    for (route, caller, target) in disagreements() {
        let row = ROWS.iter().find(|r| r.route == route);
        assert!(
            row.is_some_and(|r| r.targets.contains(&target)) && Caller::all().contains(&caller),
            "{route} {caller:?} {target:?} is a case of the table"
        );
    }
    // Spot checks that the table says what the rules say.
    let row = |route: &str| ROWS.iter().find(|r| r.route == route).unwrap();
    let mail = row("PATCH /v1/users/{id} {mail}");
    assert_eq!(
        expected(
            mail,
            Caller::Admin(User, Mfa::Fresh),
            Target::User(UserKind::Approver)
        ),
        PRIVILEGED
    );
    assert_eq!(
        expected(
            mail,
            Caller::Admin(Global, Mfa::PasswordOnly),
            Target::User(UserKind::HoldsRole)
        ),
        MFA
    );
    assert_eq!(
        expected(mail, Caller::BreakGlass, Target::User(UserKind::HoldsRole)),
        OK
    );
    let review = row("POST /v1/identityGovernance/accessReviews/definitions (a group's members)");
    assert_eq!(
        expected(
            review,
            Caller::Admin(IdentityGovernance, Mfa::Fresh),
            Target::Group(GroupKind::RoleAssignable)
        ),
        DENIED
    );
    assert_eq!(
        expected(
            review,
            Caller::Owner(Mfa::Fresh),
            Target::Group(GroupKind::RoleAssignable)
        ),
        OK
    );
    let decide = row(
        "PATCH /v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/decisions/{decisionId}",
    );
    assert_eq!(
        expected(
            decide,
            Caller::Admin(User, Mfa::Fresh),
            Target::Group(GroupKind::RoleAssignable)
        ),
        HIDDEN
    );
    assert_eq!(
        expected(decide, Caller::BreakGlass, Target::Group(GroupKind::Plain)),
        NOT_A_REVIEWER
    );
    let add = row("POST /v1/groups/{id}/members (the caller)");
    assert_eq!(
        expected(
            add,
            Caller::Owner(Mfa::Fresh),
            Target::Group(GroupKind::RoleAssignable)
        ),
        SELF_ESCALATION
    );
    assert_eq!(
        expected(
            add,
            Caller::Admin(Groups, Mfa::Fresh),
            Target::Group(GroupKind::Mapped)
        ),
        PROTECTED
    );
    assert_eq!(
        expected(add, Caller::Anonymous, Target::Group(GroupKind::Plain)),
        UNAUTHENTICATED
    );
}
