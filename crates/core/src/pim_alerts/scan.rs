//! The facts every scan reads, the scans of the assignments and role settings (each from the
//! plain facts the server gathers in its transaction; the history's scans are in `usage`),
//! `scan`, which picks a definition's scan, and `reconcile`: which incidents to raise and which
//! to resolve.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{AlertKind, BreakGlassUse, Configuration, SodHolder, Stray};
use crate::entitlement::incompatible::Rules;
use crate::roles::ids::GLOBAL_ADMINISTRATOR;

/// An active directory-role assignment current at the scan (not an eligibility; group access
/// is left out by the server).
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveAssignment {
    pub schedule_id: Uuid,
    pub principal_id: Uuid,
    pub principal_display_name: String,
    pub principal_upn: Option<String>,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    /// No end.
    pub permanent: bool,
    /// The request or access package assignment that created it; None when neither did (an
    /// import, a migration, a direct store change).
    pub created_using: Option<Uuid>,
    /// An activation of an eligibility (always made through Eligo).
    pub activated: bool,
    pub created_date_time: DateTime<Utc>,
}

/// A directory role and what the scans need of it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleFacts {
    pub id: Uuid,
    pub display_name: String,
    pub template_id: Option<Uuid>,
    /// Held or reachable, it makes its holder privileged (threat-model rule 1).
    pub privileged: bool,
    /// The role's settings demand a second factor on activation (`Enablement_EndUser_Assignment`
    /// holds `MultiFactorAuthentication`).
    pub mfa_on_activation: bool,
}

/// A directory-role eligibility current at the scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Eligibility {
    pub schedule_id: Uuid,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    pub created_date_time: DateTime<Utc>,
}

/// A principal named in the facts: its names and when its account was created.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub display_name: String,
    pub upn: Option<String>,
    pub created: DateTime<Utc>,
}

/// One activation of a directory role (at any scope).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleActivation {
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The scan's time.
    pub now: DateTime<Utc>,
    pub assignments: Vec<ActiveAssignment>,
    pub eligibilities: Vec<Eligibility>,
    pub roles: Vec<RoleFacts>,
    /// The break-glass accounts: their standing Global Administrator is by design.
    pub break_glass: Vec<Uuid>,
    /// Every principal holding an assignment or eligibility, or named by a recent activation.
    pub principals: HashMap<Uuid, Holder>,
    /// Each principal's last successful sign-in of either kind; absent: never.
    pub last_sign_ins: HashMap<Uuid, DateTime<Utc>>,
    /// The newest activation per (principal, role), over every scope; absent: never.
    pub last_activations: HashMap<(Uuid, Uuid), DateTime<Utc>>,
    /// The directory-role activations of (at least) the sequential window, in any order.
    pub recent_activations: Vec<RoleActivation>,
    /// The incompatibility rules (separation of duties).
    pub sod_rules: Rules,
    /// Every principal holding a live assignment of a package a rule names.
    pub sod_holders: Vec<SodHolder>,
    /// The announced uses of the break-glass account of (at least) the last
    /// `BREAK_GLASS_WINDOW`.
    pub break_glass_uses: Vec<BreakGlassUse>,
    /// The active "Members added outside Eligo" alerts of `/v1/alerts`.
    pub strays: Vec<Stray>,
}

impl Facts {
    fn role(&self, id: Uuid) -> Option<&RoleFacts> {
        self.roles.iter().find(|r| r.id == id)
    }
}

/// A cause found now: the key that identifies it among the incidents of its alert, and the
/// incident's Graph fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub key: String,
    pub data: Value,
}

fn global_administrator() -> Uuid {
    Uuid::parse_str(GLOBAL_ADMINISTRATOR).expect("a uuid")
}

/// `TooManyGlobalAdminsAssignedToTenantAlert`: one incident per active Global Administrator
/// (permanent or time-bound; eligible holders do not count, as in Entra) when their number
/// reaches `globalAdminCountThreshold` AND their share of everyone holding an active role
/// reaches `percentageOfGlobalAdminsOutOfRolesThreshold` (Entra raises it only when both are
/// met).
pub fn too_many_global_admins(facts: &Facts, config: &Configuration) -> Vec<Cause> {
    let ga = global_administrator();
    let mut admins: BTreeMap<Uuid, &ActiveAssignment> = BTreeMap::new();
    let mut holders: HashSet<Uuid> = HashSet::new();
    for a in &facts.assignments {
        holders.insert(a.principal_id);
        if a.role_definition_id == ga {
            admins.entry(a.principal_id).or_insert(a);
        }
    }
    let count = admins.len() as u64;
    let all = holders.len() as u64;
    let reaches_count = count >= u64::from(config.count_threshold());
    // count / all >= p / 100, in integers.
    let reaches_share = all > 0 && count * 100 >= u64::from(config.percentage_threshold()) * all;
    if !(reaches_count && reaches_share) {
        return Vec::new();
    }
    admins
        .values()
        .map(|a| Cause {
            key: a.principal_id.to_string(),
            data: json!({
                "assigneeId": a.principal_id.to_string(),
                "assigneeDisplayName": a.principal_display_name,
                "assigneeUserPrincipalName": a.principal_upn,
            }),
        })
        .collect()
}

/// `NoMfaOnRoleActivationAlert`: one incident per role whose activation does not demand a
/// second factor.
pub fn no_mfa_on_role_activation(facts: &Facts) -> Vec<Cause> {
    facts
        .roles
        .iter()
        .filter(|r| !r.mfa_on_activation)
        .map(|r| Cause {
            key: r.id.to_string(),
            data: json!({
                "roleDefinitionId": r.id.to_string(),
                "roleDisplayName": r.display_name,
                "roleTemplateId": r.template_id.unwrap_or(r.id).to_string(),
            }),
        })
        .collect()
}

/// `RolesAssignedOutsidePimAlert`: one incident per standing active assignment that no Eligo
/// request or access package created, and per permanent active assignment of a privileged role
/// to anyone but the break-glass accounts (whose standing Global Administrator is by design).
pub fn roles_assigned_outside_pim(facts: &Facts) -> Vec<Cause> {
    let glass: BTreeSet<Uuid> = facts.break_glass.iter().copied().collect();
    facts
        .assignments
        .iter()
        .filter(|a| !a.activated && !glass.contains(&a.principal_id))
        .filter(|a| {
            let privileged = facts
                .role(a.role_definition_id)
                .is_none_or(|r| r.privileged);
            let outside = a.created_using.is_none();
            outside || (a.permanent && privileged)
        })
        .map(|a| {
            let role = facts.role(a.role_definition_id);
            Cause {
                key: a.schedule_id.to_string(),
                data: json!({
                    "assigneeId": a.principal_id.to_string(),
                    "assigneeDisplayName": a.principal_display_name,
                    "assigneeUserPrincipalName": a.principal_upn,
                    "assignmentCreatedDateTime": a.created_date_time,
                    "roleDefinitionId": a.role_definition_id.to_string(),
                    "roleDisplayName": role.map(|r| r.display_name.clone()),
                    "roleTemplateId": role
                        .and_then(|r| r.template_id)
                        .unwrap_or(a.role_definition_id)
                        .to_string(),
                    "directoryScopeId": a.directory_scope_id,
                }),
            }
        })
        .collect()
}

/// The causes of `kind` found in `facts`; None for the definitions Eligo does not scan.
/// A disabled alert finds nothing, so its incidents resolve.
pub fn scan(kind: AlertKind, facts: &Facts, config: &Configuration) -> Option<Vec<Cause>> {
    if !kind.is_scanned() {
        return None;
    }
    if !config.is_enabled {
        return Some(Vec::new());
    }
    Some(match kind {
        AlertKind::TooManyGlobalAdmins => too_many_global_admins(facts, config),
        AlertKind::NoMfaOnRoleActivation => no_mfa_on_role_activation(facts),
        AlertKind::RolesAssignedOutsidePim => roles_assigned_outside_pim(facts),
        AlertKind::StaleSignIn => super::usage::stale_sign_in(facts, config),
        AlertKind::RedundantAssignment => super::usage::redundant_assignment(facts, config),
        AlertKind::SequentialActivationRenewals => {
            super::usage::sequential_activation_renewals(facts, config)
        }
        AlertKind::SeparationOfDutiesConflict => {
            super::separation::separation_of_duties_conflicts(facts)
        }
        AlertKind::BreakGlassUsed => super::break_glass::break_glass_used(facts),
        AlertKind::MembersAddedOutsideEligo => super::strays::members_added_outside_eligo(facts),
    })
}

/// What a scan changes: the causes to raise as new incidents, and the unresolved incidents to
/// resolve.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reconciled {
    pub raise: Vec<Cause>,
    pub resolve: Vec<Uuid>,
}

/// Given the unresolved incidents `(id, cause key)` and the causes found now: a cause with an
/// unresolved incident is left alone (raised once), one without is raised (anew, if an
/// earlier incident of it was resolved), and an incident whose cause is gone is resolved.
pub fn reconcile(active: &[(Uuid, String)], found: &[Cause]) -> Reconciled {
    let open: HashSet<&str> = active.iter().map(|(_, k)| k.as_str()).collect();
    let now: HashSet<&str> = found.iter().map(|c| c.key.as_str()).collect();
    let mut seen = HashSet::new();
    Reconciled {
        raise: found
            .iter()
            .filter(|c| !open.contains(c.key.as_str()) && seen.insert(c.key.as_str()))
            .cloned()
            .collect(),
        resolve: active
            .iter()
            .filter(|(_, k)| !now.contains(k.as_str()))
            .map(|(id, _)| *id)
            .collect(),
    }
}
