//! `SeparationOfDutiesConflictAlert`: the conflicts the incompatibility report lists (a
//! principal holding a package and, already, an incompatible package or group), from the plain
//! facts the server gathers once for all packages, and which of the two accesses is the newer
//! (the one its remediation removes).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{Cause, Facts};
use crate::entitlement::incompatible::Conflict;

/// A live access package assignment held by a principal of [`SodHolder`].
#[derive(Debug, Clone, PartialEq)]
pub struct HeldPackage {
    pub assignment_id: Uuid,
    pub package_id: Uuid,
    pub display_name: String,
    /// When the assignment was created.
    pub since: DateTime<Utc>,
}

/// A group a principal of [`SodHolder`] is in (transitively), named by a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldGroup {
    pub group_id: Uuid,
    pub display_name: String,
    /// When the principal was made a direct member; None when only through nesting.
    pub direct_since: Option<DateTime<Utc>>,
}

/// A principal holding a package named by an incompatibility rule: its names, those packages
/// and the groups named by a rule that it is in.
#[derive(Debug, Clone, PartialEq)]
pub struct SodHolder {
    pub principal_id: Uuid,
    pub display_name: String,
    pub upn: Option<String>,
    pub packages: Vec<HeldPackage>,
    pub groups: Vec<HeldGroup>,
}

/// What remediation removes: the newer of the two accesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Newer {
    /// The access package assignment (through `adminRemove`).
    Assignment(Uuid),
    /// The principal's direct membership of the group.
    Membership(Uuid),
}

impl Newer {
    fn fields(self) -> (&'static str, String) {
        match self {
            Newer::Assignment(id) => ("accessPackageAssignment", id.to_string()),
            Newer::Membership(id) => ("groupMembership", id.to_string()),
        }
    }
}

/// The newer of two accesses: of two assignments the later created (on a tie the second
/// package's); of an assignment and a group the direct membership when it was made strictly
/// later, otherwise the assignment (a membership only through nesting cannot be taken from
/// this principal alone, so the assignment is what can go).
pub fn newer(package: &HeldPackage, other: Result<&HeldPackage, &HeldGroup>) -> Newer {
    match other {
        Ok(p) => {
            if package.since > p.since {
                Newer::Assignment(package.assignment_id)
            } else {
                Newer::Assignment(p.assignment_id)
            }
        }
        Err(g) => match g.direct_since {
            Some(at) if at > package.since => Newer::Membership(g.group_id),
            _ => Newer::Assignment(package.assignment_id),
        },
    }
}

/// One incident per conflict: per principal, each package-package pair once (the smaller
/// package id first) and each package-group rule broken; keyed by principal, package and what
/// it conflicts with.
pub fn separation_of_duties_conflicts(facts: &Facts) -> Vec<Cause> {
    let rules = &facts.sod_rules;
    let mut out = Vec::new();
    for h in &facts.sod_holders {
        let held: BTreeSet<Uuid> = h.packages.iter().map(|p| p.package_id).collect();
        let groups: BTreeSet<Uuid> = h.groups.iter().map(|g| g.group_id).collect();
        for b in rules.breaches(&held, &groups) {
            let Some(package) = h.packages.iter().find(|p| p.package_id == b.package) else {
                continue;
            };
            let mut data = json!({
                "principalId": h.principal_id.to_string(),
                "principalDisplayName": h.display_name,
                "principalUserPrincipalName": h.upn,
                "accessPackageId": package.package_id.to_string(),
                "accessPackageDisplayName": package.display_name,
                "accessPackageAssignmentId": package.assignment_id.to_string(),
            });
            let (key, newer) = match b.conflict {
                Conflict::Package { other } => {
                    let Some(o) = h.packages.iter().find(|p| p.package_id == other) else {
                        continue;
                    };
                    data["conflictType"] = json!("accessPackage");
                    data["conflictingAccessPackageId"] = json!(other.to_string());
                    data["conflictingAccessPackageDisplayName"] = json!(o.display_name);
                    data["conflictingAccessPackageAssignmentId"] =
                        json!(o.assignment_id.to_string());
                    (
                        format!("{}:{}:accessPackage:{other}", h.principal_id, b.package),
                        newer(package, Ok(o)),
                    )
                }
                Conflict::Group { group } | Conflict::GivenGroup { group, .. } => {
                    let Some(g) = h.groups.iter().find(|g| g.group_id == group) else {
                        continue;
                    };
                    data["conflictType"] = json!("group");
                    data["conflictingGroupId"] = json!(group.to_string());
                    data["conflictingGroupDisplayName"] = json!(g.display_name);
                    (
                        format!("{}:{}:group:{group}", h.principal_id, b.package),
                        newer(package, Err(g)),
                    )
                }
            };
            let (kind, id) = newer.fields();
            data["newerAccessType"] = json!(kind);
            data["newerAccessId"] = json!(id);
            out.push(Cause { key, data });
        }
    }
    out
}
