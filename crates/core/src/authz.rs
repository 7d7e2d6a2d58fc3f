//! Authorization of Eligo's own API. A principal may perform a resource action when one of the
//! roles it holds *now* (active, at a scope covering the target) allows that action. Roles are
//! lists of action patterns, so custom roles are authorized by the same rule as built-in ones.
//! The caller computes what is held now; this module only decides.

use crate::scope;

/// The resource actions Eligo checks. The `users.privileged` and `groups.roleAssignable`
/// namespaces are separate on purpose: `microsoft.directory/users/*` (User Administrator) must
/// not reach administrators' credentials, nor `groups/*` the groups that hold roles.
pub mod actions {
    pub const USERS_READ: &str = "microsoft.directory/users/read";
    pub const USERS_CREATE: &str = "microsoft.directory/users/create";
    pub const USERS_UPDATE: &str = "microsoft.directory/users/update";
    pub const USERS_DELETE: &str = "microsoft.directory/users/delete";
    pub const USERS_CREDENTIALS: &str = "microsoft.directory/users/password/update";
    pub const PRIVILEGED_CREDENTIALS: &str = "microsoft.directory/users.privileged/password/update";
    pub const GROUPS_READ: &str = "microsoft.directory/groups/read";
    pub const GROUPS_CREATE: &str = "microsoft.directory/groups/create";
    pub const GROUPS_UPDATE: &str = "microsoft.directory/groups/update";
    pub const GROUPS_DELETE: &str = "microsoft.directory/groups/delete";
    pub const GROUPS_MEMBERS: &str = "microsoft.directory/groups/members/update";
    pub const GROUPS_OWNERS: &str = "microsoft.directory/groups/owners/update";
    pub const RA_GROUPS_CREATE: &str = "microsoft.directory/groups.roleAssignable/create";
    pub const RA_GROUPS_UPDATE: &str = "microsoft.directory/groups.roleAssignable/update";
    pub const RA_GROUPS_DELETE: &str = "microsoft.directory/groups.roleAssignable/delete";
    pub const RA_GROUPS_MEMBERS: &str = "microsoft.directory/groups.roleAssignable/members/update";
    pub const RA_GROUPS_OWNERS: &str = "microsoft.directory/groups.roleAssignable/owners/update";
    pub const SERVICE_PRINCIPALS_READ: &str = "microsoft.directory/servicePrincipals/read";
    pub const SERVICE_PRINCIPALS_CREATE: &str = "microsoft.directory/servicePrincipals/create";
    pub const SERVICE_PRINCIPALS_DELETE: &str = "microsoft.directory/servicePrincipals/delete";
    pub const ROLE_DEFINITIONS_READ: &str = "microsoft.directory/roleDefinitions/read";
    pub const ROLE_DEFINITIONS_CREATE: &str = "microsoft.directory/roleDefinitions/create";
    pub const ROLE_ASSIGNMENTS_READ: &str = "microsoft.directory/roleAssignments/read";
    pub const ROLE_ASSIGNMENTS_UPDATE: &str = "microsoft.directory/roleAssignments/update";
    pub const POLICIES_READ: &str = "microsoft.directory/roleManagementPolicies/read";
    pub const POLICIES_UPDATE: &str = "microsoft.directory/roleManagementPolicies/update";
    pub const AUDIT_READ: &str = "microsoft.directory/auditLogs/read";
    /// Connectors, group provisioning and reconciliation (Eligo).
    pub const PROVISIONING_READ: &str = "microsoft.directory/provisioning/read";
    pub const PROVISIONING_UPDATE: &str = "microsoft.directory/provisioning/update";
    /// The outbox of side effects: read it, retry dead letters (Eligo).
    pub const OUTBOX_READ: &str = "microsoft.directory/outbox/read";
    pub const OUTBOX_UPDATE: &str = "microsoft.directory/outbox/update";
    /// Webhook subscriptions to notices (Eligo).
    pub const SUBSCRIPTIONS_READ: &str = "microsoft.directory/subscriptions/read";
    pub const SUBSCRIPTIONS_UPDATE: &str = "microsoft.directory/subscriptions/update";
    /// Security alerts.
    pub const ALERTS_READ: &str = "microsoft.directory/alerts/read";
    pub const ALERTS_UPDATE: &str = "microsoft.directory/alerts/update";
    /// Entitlement management: catalogs, resources, access packages, policies (Microsoft's
    /// own action names).
    pub const ENTITLEMENT_READ: &str =
        "microsoft.directory/entitlementManagement/allProperties/read";
    pub const ENTITLEMENT_UPDATE: &str =
        "microsoft.directory/entitlementManagement/allProperties/allTasks";
    /// Access reviews: read every definition, instance and decision; create and run reviews
    /// (of what the caller could also remove directly, see `service::reviews`).
    pub const ACCESS_REVIEWS_READ: &str = "microsoft.directory/accessReviews/allProperties/read";
    pub const ACCESS_REVIEWS_UPDATE: &str =
        "microsoft.directory/accessReviews/allProperties/allTasks";
    /// Inbound SCIM provisioning clients: create and revoke their tokens (Eligo). Only
    /// `microsoft.directory/*` (Global Administrator) covers it among the built-in roles.
    pub const SCIM_CLIENTS_READ: &str = "microsoft.directory/provisioningClients/read";
    pub const SCIM_CLIENTS_UPDATE: &str = "microsoft.directory/provisioningClients/allTasks";

    /// What an inbound provisioning (SCIM) client may do: the lifecycle of ordinary users and
    /// groups and the membership of ordinary groups. Deliberately absent: role-assignable
    /// groups, administrators' credentials, role assignments, policies, owners.
    pub const PROVISIONING_CLIENT: [&str; 10] = [
        USERS_READ,
        USERS_CREATE,
        USERS_UPDATE,
        USERS_DELETE,
        USERS_CREDENTIALS,
        GROUPS_READ,
        GROUPS_CREATE,
        GROUPS_UPDATE,
        GROUPS_DELETE,
        GROUPS_MEMBERS,
    ];
}

/// The grant set of an inbound provisioning client (see `actions::PROVISIONING_CLIENT`): a
/// built-in operation set of its own, never a role, so no role assignment or custom role can
/// widen it.
pub fn provisioning_grants() -> Grants {
    Grants {
        roles: vec![HeldRole {
            actions: actions::PROVISIONING_CLIENT
                .iter()
                .map(|a| a.to_string())
                .collect(),
            scope: crate::scope::ROOT.to_string(),
        }],
    }
}

/// One role the principal holds now: its action patterns and the scope it was granted at.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldRole {
    /// Shared with every other holder of the role: a caller is built on every request.
    pub actions: std::sync::Arc<[String]>,
    pub scope: String,
}

/// Everything a principal holds at the moment of the request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grants {
    pub roles: Vec<HeldRole>,
}

impl Grants {
    /// May the holder perform `action` at `target_scope`?
    pub fn allows(&self, action: &str, target_scope: &str) -> bool {
        self.roles.iter().any(|r| {
            scope::covers(&r.scope, target_scope) && r.actions.iter().any(|p| matches(p, action))
        })
    }

    /// Convenience for directory-wide actions (users, groups, roles, audit).
    pub fn allows_directory(&self, action: &str) -> bool {
        self.allows(action, scope::ROOT)
    }

    /// Holds any role at all: administrators' credentials are protected (see
    /// `actions::PRIVILEGED_CREDENTIALS`).
    pub fn is_privileged(&self) -> bool {
        !self.roles.is_empty()
    }
}

/// Who asks, as the decision needs it: what they hold now and how strongly the session that
/// asks was authenticated.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub id: uuid::Uuid,
    pub grants: &'a Grants,
    /// A second factor proved within the freshness window, or a caller that has none by
    /// nature (a service principal's secret, the break-glass bearer token).
    pub strong: bool,
}

/// What the target of an operation is, for rules 1 to 3 of the threat model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protection {
    Ordinary,
    /// A privileged principal (rule 1), with the reason in words.
    Privileged(String),
    /// A protected group (rule 3), with the reason in words.
    Protected(String),
}

/// A change to a principal's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    /// Display name and other attributes that steer nothing.
    Profile,
    /// userPrincipalName, mail, manager, accountEnabled: they steer sign-in, mail and approval.
    Steering,
    /// Turning the account off (accountEnabled false): decided as `Steering`, except that a
    /// directory import may do it to a privileged account it owns (`decide_provisioning`).
    Disable,
    /// Password, authenticators, sessions, client secrets.
    Credentials,
    /// Issuing a Temporary Access Pass: it lets its holder sign in and enrol a new second
    /// factor in the person's name, so for any account it is Tier 0's (Global and Privileged
    /// Authentication Administrators, with fresh MFA).
    AccessPass,
    Delete,
}

/// A change to a group itself or to its members or owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupChange {
    Update,
    Delete,
    Relation {
        relation: crate::directory::Relation,
        adding: bool,
        principal: uuid::Uuid,
        /// The subject owns the group now (directly or through an activated ownership).
        subject_is_owner: bool,
        /// The principal is a group the subject is in (directly or nested): adding it adds
        /// the subject, as adding the subject itself would.
        principal_contains_subject: bool,
    },
}

/// Everything Eligo authorizes, with the directory-wide action each needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Needs `action`; `strong` asks for a fresh second factor too (approvals, policy changes,
    /// role assignments, connectors, subscriptions).
    Act {
        action: &'static str,
        strong: bool,
    },
    Account(AccountChange),
    Group(GroupChange),
    /// Putting a resource into an entitlement-management catalog, from where packages hand it
    /// out: a directory role only by whoever may assign roles, a protected group (the target's
    /// protection) only by whoever may change protected groups' membership.
    CatalogResource {
        directory_role: bool,
    },
    /// Asked on top of every other operation of an inbound provisioning client: it may change
    /// ordinary principals only, never a privileged one (rule 1, Graph's protected targets) nor
    /// a protected group (rule 3), so a provisioning token can neither gain nor grant privilege.
    Provision,
}

/// Why an operation is refused; each names the rule (the server maps them to 403 codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// None of the subject's active roles allows `action`.
    MissingPermission { action: &'static str },
    /// The target is privileged: only Global and Privileged Authentication Administrators
    /// manage its credentials and steering attributes (rule 2).
    PrivilegedTarget { reason: String },
    /// The group is protected: only Global and Privileged Role Administrators, or its owners,
    /// change it (rule 3).
    ProtectedGroup { reason: String },
    /// The session has not proved a second factor within the freshness window (rule 4).
    MfaRequired,
    /// An owner adding themselves to a group they own.
    SelfEscalation,
}

impl Denied {
    /// The stable code the API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            Denied::MissingPermission { .. } => "Authorization_RequestDenied",
            Denied::PrivilegedTarget { .. } => "PrivilegedTarget",
            Denied::ProtectedGroup { .. } => "ProtectedGroup",
            Denied::MfaRequired => "MfaRequired",
            Denied::SelfEscalation => "SelfEscalationDenied",
        }
    }
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denied::MissingPermission { action } => write!(
                f,
                "insufficient privileges: this operation needs {action}, which none of your active roles allows"
            ),
            Denied::PrivilegedTarget { reason } => write!(
                f,
                "this account is privileged ({reason}); only a Global or Privileged Authentication Administrator may change its credentials or the attributes that steer access and mail"
            ),
            Denied::ProtectedGroup { reason } => write!(
                f,
                "this group is protected ({reason}); only a Global or Privileged Role Administrator, or one of its owners, may change it"
            ),
            Denied::MfaRequired => write!(
                f,
                "this operation needs a second factor proved within the last minutes: step up (POST /v1/auth/stepup) and try again"
            ),
            Denied::SelfEscalation => {
                write!(
                    f,
                    "an owner cannot add themselves to a group they own, nor a group they are in"
                )
            }
        }
    }
}

/// An inbound source's operation: `op` with `Provision` on top, so a source neither gains nor
/// grants privilege. With `leavers` (a directory import), turning off an account is decided as
/// on an ordinary one even when it is privileged: it only takes access away, and the directory
/// is the authority on who has left, so a leaver must not keep a role because they hold one.
/// (Which accounts a source may touch at all is `source::may_change`'s decision.)
pub fn decide_provisioning(
    subject: &Subject,
    op: Operation,
    protection: &Protection,
    leavers: bool,
) -> Result<(), Denied> {
    if leavers && op == Operation::Account(AccountChange::Disable) {
        return decide(subject, op, &Protection::Ordinary);
    }
    decide(subject, Operation::Provision, protection)?;
    decide(subject, op, protection)
}

/// The one authorization decision: may `subject` perform `op` on a target with `protection`?
/// Pure: the server computes the grants, the session's strength and the target's protection
/// (from the effective-access index) and asks here; no handler decides access itself.
pub fn decide(subject: &Subject, op: Operation, protection: &Protection) -> Result<(), Denied> {
    use actions::*;
    let allows = |action: &str| subject.grants.allows_directory(action);
    let need = |action: &'static str| {
        if allows(action) {
            Ok(())
        } else {
            Err(Denied::MissingPermission { action })
        }
    };
    let strong = || {
        if subject.strong {
            Ok(())
        } else {
            Err(Denied::MfaRequired)
        }
    };
    match op {
        Operation::Provision => match protection {
            Protection::Ordinary => Ok(()),
            Protection::Privileged(reason) => Err(Denied::PrivilegedTarget {
                reason: reason.clone(),
            }),
            Protection::Protected(reason) => Err(Denied::ProtectedGroup {
                reason: reason.clone(),
            }),
        },
        Operation::CatalogResource { directory_role } => {
            need(ENTITLEMENT_UPDATE)?;
            if directory_role {
                need(ROLE_ASSIGNMENTS_UPDATE)?;
            } else if let Protection::Protected(reason) = protection
                && !allows(RA_GROUPS_MEMBERS)
            {
                return Err(Denied::ProtectedGroup {
                    reason: reason.clone(),
                });
            }
            strong()
        }
        Operation::Act { action, strong: s } => {
            need(action)?;
            if s { strong() } else { Ok(()) }
        }
        Operation::Account(AccountChange::AccessPass) => {
            need(PRIVILEGED_CREDENTIALS)?;
            strong()
        }
        Operation::Account(change) => {
            need(match change {
                AccountChange::Profile | AccountChange::Steering | AccountChange::Disable => {
                    USERS_UPDATE
                }
                AccountChange::Credentials => USERS_CREDENTIALS,
                AccountChange::AccessPass => PRIVILEGED_CREDENTIALS,
                AccountChange::Delete => USERS_DELETE,
            })?;
            match protection {
                Protection::Privileged(reason) if change != AccountChange::Profile => {
                    if !allows(PRIVILEGED_CREDENTIALS) {
                        return Err(Denied::PrivilegedTarget {
                            reason: reason.clone(),
                        });
                    }
                    strong()
                }
                _ => Ok(()),
            }
        }
        Operation::Group(change) => {
            let protected = match protection {
                Protection::Protected(reason) => Some(reason),
                _ => None,
            };
            let (ordinary, guarded) = match change {
                GroupChange::Update => (GROUPS_UPDATE, RA_GROUPS_UPDATE),
                GroupChange::Delete => (GROUPS_DELETE, RA_GROUPS_DELETE),
                GroupChange::Relation { relation, .. } => match relation {
                    crate::directory::Relation::Member => (GROUPS_MEMBERS, RA_GROUPS_MEMBERS),
                    crate::directory::Relation::Owner => (GROUPS_OWNERS, RA_GROUPS_OWNERS),
                },
            };
            let action = if protected.is_some() {
                guarded
            } else {
                ordinary
            };
            if allows(action) {
                return strong();
            }
            if let GroupChange::Relation {
                adding,
                principal,
                subject_is_owner: true,
                principal_contains_subject,
                ..
            } = change
            {
                if adding && (principal == subject.id || principal_contains_subject) {
                    return Err(Denied::SelfEscalation);
                }
                return strong();
            }
            match protected {
                Some(reason) if allows(ordinary) => Err(Denied::ProtectedGroup {
                    reason: reason.clone(),
                }),
                _ => Err(Denied::MissingPermission { action }),
            }
        }
    }
}

/// Glob match of an action pattern: `*` stands for any run of characters (including `/`);
/// comparison is ASCII case-insensitive, as Entra's resource actions are.
pub fn matches(pattern: &str, action: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let a = action.to_ascii_lowercase();
    glob(p.as_bytes(), a.as_bytes())
}

fn glob(p: &[u8], a: &[u8]) -> bool {
    // Classic greedy matcher with one backtrack point: linear for the patterns roles use.
    let (mut pi, mut ai) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ai < a.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ai));
            pi += 1;
        } else if pi < p.len() && p[pi] == a[ai] {
            pi += 1;
            ai += 1;
        } else if let Some((sp, sa)) = star {
            pi = sp + 1;
            ai = sa + 1;
            star = Some((sp, sa + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::actions::*;
    use super::*;
    use crate::roles::{built_in_roles, ids};

    fn check(pattern: &str, action: &str, expect: bool) {
        assert_eq!(matches(pattern, action), expect, "{pattern} ~ {action}");
    }

    #[test]
    fn glob_matching() {
        check("microsoft.directory/*", USERS_CREATE, true);
        check("microsoft.directory/users/*", USERS_CREATE, true);
        check("microsoft.directory/users/*", PRIVILEGED_CREDENTIALS, false);
        check("microsoft.directory/groups/*", RA_GROUPS_MEMBERS, false);
        check("microsoft.directory/*/read", USERS_READ, true);
        check("microsoft.directory/*/read", USERS_CREATE, false);
        check("Microsoft.Directory/Users/Read", USERS_READ, true);
        check("a*b*c", "axxbyyc", true);
        check("a*b*c", "axxbyy", false);
        check("", "", true);
    }

    fn grants_of(role_id: &str, scope: &str) -> Grants {
        let role = built_in_roles()
            .into_iter()
            .find(|r| r.id.to_string() == role_id)
            .unwrap();
        Grants {
            roles: vec![HeldRole {
                actions: role.actions().map(String::from).collect(),
                scope: scope.into(),
            }],
        }
    }

    #[test]
    fn built_in_role_boundaries() {
        let ga = grants_of(ids::GLOBAL_ADMINISTRATOR, "/");
        assert!(
            ga.allows_directory(RA_GROUPS_MEMBERS) && ga.allows_directory(PRIVILEGED_CREDENTIALS)
        );

        let ua = grants_of(ids::USER_ADMINISTRATOR, "/");
        assert!(ua.allows_directory(USERS_CREATE) && ua.allows_directory(GROUPS_MEMBERS));
        assert!(
            !ua.allows_directory(RA_GROUPS_MEMBERS),
            "never role-assignable groups"
        );
        assert!(
            !ua.allows_directory(PRIVILEGED_CREDENTIALS),
            "never administrators' credentials"
        );
        assert!(!ua.allows_directory(ROLE_ASSIGNMENTS_UPDATE));

        let pra = grants_of(ids::PRIVILEGED_ROLE_ADMINISTRATOR, "/");
        assert!(pra.allows_directory(RA_GROUPS_CREATE) && pra.allows_directory(POLICIES_UPDATE));
        assert!(!pra.allows_directory(USERS_CREATE));

        let reader = grants_of(ids::GLOBAL_READER, "/");
        assert!(reader.allows_directory(AUDIT_READ) && !reader.allows_directory(USERS_UPDATE));

        assert!(
            !Grants::default().allows_directory(USERS_READ),
            "no role reads nothing"
        );
    }

    #[test]
    fn catalog_resources_hand_out_only_what_the_caller_could() {
        let me = uuid::Uuid::from_u128(1);
        let protected = Protection::Protected("it is role-assignable".into());
        let decide_as = |role: &str, op, target: &Protection| {
            let grants = grants_of(role, "/");
            let subject = Subject {
                id: me,
                grants: &grants,
                strong: true,
            };
            decide(&subject, op, target).map_err(|d| d.code())
        };
        let group = Operation::CatalogResource {
            directory_role: false,
        };
        let role = Operation::CatalogResource {
            directory_role: true,
        };
        let iga = ids::IDENTITY_GOVERNANCE_ADMINISTRATOR;
        assert_eq!(decide_as(iga, group, &Protection::Ordinary), Ok(()));
        assert_eq!(decide_as(iga, group, &protected), Err("ProtectedGroup"));
        assert_eq!(
            decide_as(iga, role, &Protection::Ordinary),
            Err("Authorization_RequestDenied")
        );
        assert_eq!(
            decide_as(ids::GLOBAL_ADMINISTRATOR, role, &protected),
            Ok(())
        );
        assert_eq!(
            decide_as(
                ids::PRIVILEGED_ROLE_ADMINISTRATOR,
                group,
                &Protection::Ordinary
            ),
            Err("Authorization_RequestDenied")
        );
    }

    /// One row: name, the role held, fresh MFA, the operation, the target, the expected code.
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        bool,
        Operation,
        &'a Protection,
        Result<(), &'a str>,
    );

    /// The decision table: every operation kind × caller role × target protection × session
    /// strength, with the expected answer.
    #[test]
    fn decide_table() {
        use crate::directory::Relation;
        let me = uuid::Uuid::from_u128(1);
        let other = uuid::Uuid::from_u128(2);
        let privileged = Protection::Privileged("holds Global Administrator".into());
        let protected = Protection::Protected("it is role-assignable".into());
        let ordinary = Protection::Ordinary;
        let member = |adding, principal, owner| {
            Operation::Group(GroupChange::Relation {
                relation: Relation::Member,
                adding,
                principal,
                subject_is_owner: owner,
                principal_contains_subject: false,
            })
        };
        let cases: Vec<Case> = vec![
            (
                "UA resets an ordinary password",
                Some(ids::USER_ADMINISTRATOR),
                false,
                Operation::Account(AccountChange::Credentials),
                &ordinary,
                Ok(()),
            ),
            (
                "UA resets a privileged password",
                Some(ids::USER_ADMINISTRATOR),
                true,
                Operation::Account(AccountChange::Credentials),
                &privileged,
                Err("PrivilegedTarget"),
            ),
            (
                "Helpdesk resets a privileged password",
                Some(ids::HELPDESK_ADMINISTRATOR),
                true,
                Operation::Account(AccountChange::Credentials),
                &privileged,
                Err("PrivilegedTarget"),
            ),
            (
                "UA changes a privileged mail",
                Some(ids::USER_ADMINISTRATOR),
                true,
                Operation::Account(AccountChange::Steering),
                &privileged,
                Err("PrivilegedTarget"),
            ),
            (
                "UA renames a privileged user",
                Some(ids::USER_ADMINISTRATOR),
                false,
                Operation::Account(AccountChange::Profile),
                &privileged,
                Ok(()),
            ),
            (
                "PAA resets a privileged password, fresh",
                Some(ids::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR),
                true,
                Operation::Account(AccountChange::Credentials),
                &privileged,
                Ok(()),
            ),
            (
                "PAA resets a privileged password, stale",
                Some(ids::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR),
                false,
                Operation::Account(AccountChange::Credentials),
                &privileged,
                Err("MfaRequired"),
            ),
            (
                "UA issues an ordinary user a Temporary Access Pass",
                Some(ids::USER_ADMINISTRATOR),
                true,
                Operation::Account(AccountChange::AccessPass),
                &ordinary,
                Err("Authorization_RequestDenied"),
            ),
            (
                "PAA issues an ordinary user a Temporary Access Pass, stale",
                Some(ids::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR),
                false,
                Operation::Account(AccountChange::AccessPass),
                &ordinary,
                Err("MfaRequired"),
            ),
            (
                "PAA issues a privileged user a Temporary Access Pass, fresh",
                Some(ids::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR),
                true,
                Operation::Account(AccountChange::AccessPass),
                &privileged,
                Ok(()),
            ),
            (
                "GA issues a Temporary Access Pass, fresh",
                Some(ids::GLOBAL_ADMINISTRATOR),
                true,
                Operation::Account(AccountChange::AccessPass),
                &ordinary,
                Ok(()),
            ),
            (
                "no role deletes a user",
                None,
                true,
                Operation::Account(AccountChange::Delete),
                &ordinary,
                Err("Authorization_RequestDenied"),
            ),
            (
                "Groups Admin fills an ordinary group",
                Some(ids::GROUPS_ADMINISTRATOR),
                true,
                member(true, me, false),
                &ordinary,
                Ok(()),
            ),
            (
                "Groups Admin fills an ordinary group, stale",
                Some(ids::GROUPS_ADMINISTRATOR),
                false,
                member(true, me, false),
                &ordinary,
                Err("MfaRequired"),
            ),
            (
                "Groups Admin fills a protected group",
                Some(ids::GROUPS_ADMINISTRATOR),
                true,
                member(true, me, false),
                &protected,
                Err("ProtectedGroup"),
            ),
            (
                "PRA fills a protected group",
                Some(ids::PRIVILEGED_ROLE_ADMINISTRATOR),
                true,
                member(true, me, false),
                &protected,
                Ok(()),
            ),
            (
                "owner adds someone to a protected group",
                None,
                true,
                member(true, other, true),
                &protected,
                Ok(()),
            ),
            (
                "owner adds themselves",
                None,
                true,
                member(true, me, true),
                &protected,
                Err("SelfEscalationDenied"),
            ),
            (
                "owner adds a group they are in",
                None,
                true,
                Operation::Group(GroupChange::Relation {
                    relation: Relation::Member,
                    adding: true,
                    principal: other,
                    subject_is_owner: true,
                    principal_contains_subject: true,
                }),
                &ordinary,
                Err("SelfEscalationDenied"),
            ),
            (
                "owner adds someone, stale",
                None,
                false,
                member(true, other, true),
                &protected,
                Err("MfaRequired"),
            ),
            (
                "no role, no ownership",
                None,
                true,
                member(true, other, false),
                &ordinary,
                Err("Authorization_RequestDenied"),
            ),
            (
                "Groups Admin deletes a protected group",
                Some(ids::GROUPS_ADMINISTRATOR),
                true,
                Operation::Group(GroupChange::Delete),
                &protected,
                Err("ProtectedGroup"),
            ),
            (
                "PRA changes a policy, fresh",
                Some(ids::PRIVILEGED_ROLE_ADMINISTRATOR),
                true,
                Operation::Act {
                    action: POLICIES_UPDATE,
                    strong: true,
                },
                &ordinary,
                Ok(()),
            ),
            (
                "PRA changes a policy, stale",
                Some(ids::PRIVILEGED_ROLE_ADMINISTRATOR),
                false,
                Operation::Act {
                    action: POLICIES_UPDATE,
                    strong: true,
                },
                &ordinary,
                Err("MfaRequired"),
            ),
            (
                "UA changes a policy",
                Some(ids::USER_ADMINISTRATOR),
                true,
                Operation::Act {
                    action: POLICIES_UPDATE,
                    strong: true,
                },
                &ordinary,
                Err("Authorization_RequestDenied"),
            ),
        ];
        for (name, role, strong, op, protection, expected) in cases {
            let grants = role.map(|r| grants_of(r, "/")).unwrap_or_default();
            let subject = Subject {
                id: me,
                grants: &grants,
                strong,
            };
            let got = decide(&subject, op, protection).map_err(|d| d.code());
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn provisioning_clients_never_touch_privilege() {
        use crate::directory::Relation;
        let me = uuid::Uuid::from_u128(1);
        let grants = provisioning_grants();
        let subject = Subject {
            id: me,
            grants: &grants,
            strong: true,
        };
        let privileged = Protection::Privileged("holds Global Administrator".into());
        let protected = Protection::Protected("it is role-assignable".into());
        let code = |op, p: &Protection| decide(&subject, op, p).map_err(|d| d.code());
        assert_eq!(code(Operation::Provision, &Protection::Ordinary), Ok(()));
        assert_eq!(
            code(Operation::Provision, &privileged),
            Err("PrivilegedTarget")
        );
        assert_eq!(
            code(Operation::Provision, &protected),
            Err("ProtectedGroup")
        );
        let act = |action| Operation::Act {
            action,
            strong: false,
        };
        assert_eq!(code(act(USERS_CREATE), &Protection::Ordinary), Ok(()));
        for denied in [
            RA_GROUPS_CREATE,
            ROLE_ASSIGNMENTS_UPDATE,
            POLICIES_UPDATE,
            SCIM_CLIENTS_UPDATE,
        ] {
            assert_eq!(
                code(act(denied), &Protection::Ordinary),
                Err("Authorization_RequestDenied"),
                "{denied}"
            );
        }
        assert_eq!(
            code(Operation::Account(AccountChange::Credentials), &privileged),
            Err("PrivilegedTarget")
        );
        // A leaver is turned off by a directory import however privileged; a SCIM client may
        // not, and neither may change anything else of a privileged account.
        let source = |op, p: &Protection, leavers| {
            decide_provisioning(&subject, op, p, leavers).map_err(|d| d.code())
        };
        let disable = Operation::Account(AccountChange::Disable);
        let steer = Operation::Account(AccountChange::Steering);
        assert_eq!(source(disable, &privileged, true), Ok(()));
        assert_eq!(source(disable, &privileged, false), Err("PrivilegedTarget"));
        assert_eq!(source(steer, &privileged, true), Err("PrivilegedTarget"));
        assert_eq!(source(disable, &Protection::Ordinary, false), Ok(()));
        let member = Operation::Group(GroupChange::Relation {
            relation: Relation::Member,
            adding: true,
            principal: uuid::Uuid::from_u128(2),
            subject_is_owner: false,
            principal_contains_subject: false,
        });
        assert_eq!(code(member, &Protection::Ordinary), Ok(()));
        assert_eq!(code(member, &protected), Err("ProtectedGroup"));
        let owner = Operation::Group(GroupChange::Relation {
            relation: Relation::Owner,
            adding: true,
            principal: uuid::Uuid::from_u128(2),
            subject_is_owner: false,
            principal_contains_subject: false,
        });
        assert_eq!(
            code(owner, &Protection::Ordinary),
            Err("Authorization_RequestDenied")
        );
        // Only the Global Administrator's wildcard covers provisioning clients.
        for role in built_in_roles() {
            let g = grants_of(&role.id.to_string(), "/");
            assert_eq!(
                g.allows_directory(SCIM_CLIENTS_UPDATE),
                role.id.to_string() == ids::GLOBAL_ADMINISTRATOR,
                "{}",
                role.display_name
            );
        }
    }

    #[test]
    fn scope_limits_grants() {
        let au = grants_of(ids::USER_ADMINISTRATOR, "/administrativeUnits/1");
        assert!(au.allows(USERS_CREATE, "/administrativeUnits/1"));
        assert!(!au.allows_directory(USERS_CREATE));
    }
}
