//! PIM alerts (Graph beta `identityGovernance/roleManagementAlerts`): the nine definitions of
//! governance.md section 3, their configurations with defaults and PATCH validation, the pure
//! scans (from facts the server gathers) and `reconcile`, which decides which incidents to raise
//! and which to resolve. No I/O, no clock: `now` and ids come in as arguments.

mod break_glass;
mod config;
mod describe;
mod scan;
mod separation;
mod strays;
#[cfg(test)]
mod tests;
mod usage;

pub use break_glass::{BREAK_GLASS_WINDOW, BreakGlassUse, break_glass_used};
pub use config::Configuration;
pub use describe::describe;
pub use scan::{
    ActiveAssignment, Cause, Eligibility, Facts, Holder, Reconciled, RoleActivation, RoleFacts,
    no_mfa_on_role_activation, reconcile, roles_assigned_outside_pim, scan, too_many_global_admins,
};
pub use separation::{
    HeldGroup, HeldPackage, Newer, SodHolder, newer, separation_of_duties_conflicts,
};
pub use strays::{Stray, members_added_outside_eligo};
pub use usage::{
    SEQUENTIAL_WINDOW, redundant_assignment, sequential_activation_renewals, stale_sign_in,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

/// Where every alert of this slice applies: the whole directory, as Graph's `scopeId`.
pub const SCOPE_ID: &str = "/";
pub const SCOPE_TYPE: &str = "DirectoryRole";

/// The nine alert definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlertKind {
    RolesAssignedOutsidePim,
    TooManyGlobalAdmins,
    NoMfaOnRoleActivation,
    RedundantAssignment,
    StaleSignIn,
    SequentialActivationRenewals,
    MembersAddedOutsideEligo,
    SeparationOfDutiesConflict,
    BreakGlassUsed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

struct Text {
    name: &'static str,
    display_name: &'static str,
    description: &'static str,
    security_impact: &'static str,
    mitigation_steps: &'static str,
    how_to_prevent: &'static str,
    severity: Severity,
    remediatable: bool,
    configurable: bool,
    /// Graph's type name stem (`tooManyGlobalAdminsAssignedToTenantAlert`).
    graph_type: &'static str,
}

const TEXTS: [Text; 9] = [
    Text {
        name: "RolesAssignedOutsidePimAlert",
        display_name: "Roles are being assigned outside of Privileged Identity Management",
        description: "A role held by a standing assignment that no Eligo request or access package created (an import, a migration, a direct store change), or a permanent active assignment of a privileged role to anyone but the break-glass accounts.",
        security_impact: "Assignments made outside Eligo are not governed by role settings, approval or expiry, and may hide an attacker's persistence.",
        mitigation_steps: "Review the assignments in the incidents; remove those that are not needed (remediate), and assign what is needed through Eligo, eligible and time-bound.",
        how_to_prevent: "Assign roles only through Eligo; keep standing active assignments to the break-glass accounts.",
        severity: Severity::High,
        remediatable: true,
        configurable: false,
        graph_type: "rolesAssignedOutsidePrivilegedIdentityManagementAlert",
    },
    Text {
        name: "TooManyGlobalAdminsAssignedToTenantAlert",
        display_name: "There are too many global administrators",
        description: "The number of Global Administrators, and their share of everyone holding a role, reached the configured thresholds.",
        security_impact: "Global Administrator is the most privileged role; every holder widens what a stolen credential can reach.",
        mitigation_steps: "Review the Global Administrators in the incidents; give them less privileged roles, or make them eligible instead of active.",
        how_to_prevent: "Assign the least privileged role a task needs; keep Global Administrator eligible and time-bound.",
        severity: Severity::Low,
        remediatable: false,
        configurable: true,
        graph_type: "tooManyGlobalAdminsAssignedToTenantAlert",
    },
    Text {
        name: "NoMfaOnRoleActivationAlert",
        display_name: "Roles don't require multi-factor authentication for activation",
        description: "A role's settings let its eligible holders activate it without a second factor.",
        security_impact: "A stolen password alone is then enough to activate the role.",
        mitigation_steps: "Require multi-factor authentication on activation in the role's settings (remediate).",
        how_to_prevent: "Keep the activation MFA rule on for every role.",
        severity: Severity::Medium,
        remediatable: true,
        configurable: false,
        graph_type: "noMfaOnRoleActivationAlert",
    },
    Text {
        name: "RedundantAssignmentAlert",
        display_name: "Administrators aren't using their privileged roles",
        description: "Eligible administrators who did not activate their role within the configured duration.",
        security_impact: "Unused privilege is standing risk with no benefit.",
        mitigation_steps: "Remove the eligibility of administrators who do not need the role.",
        how_to_prevent: "Review role eligibility regularly (access reviews).",
        severity: Severity::Low,
        remediatable: true,
        configurable: true,
        graph_type: "redundantAssignmentAlert",
    },
    Text {
        name: "StaleSignInAlert",
        display_name: "Potential stale accounts in a privileged role",
        description: "Holders of a privileged role who have not signed in within the configured duration.",
        security_impact: "Accounts nobody uses are easy to take over unnoticed.",
        mitigation_steps: "Remove the role from accounts that are no longer used.",
        how_to_prevent: "Review role holders regularly (access reviews).",
        severity: Severity::Medium,
        remediatable: true,
        configurable: true,
        graph_type: "staleSignInAlert",
    },
    Text {
        name: "SequentialActivationRenewalsAlert",
        display_name: "Roles are being activated too frequently",
        description: "The same role activated again and again by one holder within the configured interval.",
        security_impact: "Repeated renewals may show a holder working around the maximum activation duration.",
        mitigation_steps: "Check whether the activation duration fits the work; talk to the holder.",
        how_to_prevent: "Set an activation duration that fits the role's tasks.",
        severity: Severity::Medium,
        remediatable: false,
        configurable: true,
        graph_type: "sequentialActivationRenewalsAlert",
    },
    Text {
        name: "MembersAddedOutsideEligoAlert",
        display_name: "Members were added downstream outside Eligo",
        description: "A downstream directory holds a member of a mapped group that Eligo did not put there.",
        security_impact: "Access granted downstream outside Eligo escapes its policies and audit.",
        mitigation_steps: "Remove the stray member downstream (remediate).",
        how_to_prevent: "Manage mapped groups' members only through Eligo.",
        severity: Severity::High,
        remediatable: true,
        configurable: false,
        graph_type: "membersAddedOutsideEligoAlert",
    },
    Text {
        name: "SeparationOfDutiesConflictAlert",
        display_name: "Someone holds incompatible access",
        description: "A principal holds two access packages or groups declared incompatible.",
        security_impact: "Separation of duties is broken: one person can do what should take two.",
        mitigation_steps: "Remove the newer of the two accesses (remediate).",
        how_to_prevent: "Declare incompatibilities before handing out the access.",
        severity: Severity::High,
        remediatable: true,
        configurable: false,
        graph_type: "separationOfDutiesConflictAlert",
    },
    Text {
        name: "BreakGlassUsedAlert",
        display_name: "The break-glass account was used",
        description: "The emergency-access account signed in or its token was used.",
        security_impact: "The break-glass account holds Global Administrator permanently; any use must be explained.",
        mitigation_steps: "Find out who used it and why; rotate its token if the use was not expected.",
        how_to_prevent: "Keep the break-glass token offline and use it only in emergencies.",
        severity: Severity::High,
        remediatable: false,
        configurable: false,
        graph_type: "breakGlassUsedAlert",
    },
];

impl AlertKind {
    pub const ALL: [AlertKind; 9] = [
        AlertKind::RolesAssignedOutsidePim,
        AlertKind::TooManyGlobalAdmins,
        AlertKind::NoMfaOnRoleActivation,
        AlertKind::RedundantAssignment,
        AlertKind::StaleSignIn,
        AlertKind::SequentialActivationRenewals,
        AlertKind::MembersAddedOutsideEligo,
        AlertKind::SeparationOfDutiesConflict,
        AlertKind::BreakGlassUsed,
    ];

    fn text(self) -> &'static Text {
        &TEXTS[self as usize]
    }

    /// The definition's name, the last part of its id (`TooManyGlobalAdminsAssignedToTenantAlert`).
    pub fn name(self) -> &'static str {
        self.text().name
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The definition's title (`There are too many global administrators`).
    pub fn display_name(self) -> &'static str {
        self.text().display_name
    }

    pub fn description(self) -> &'static str {
        self.text().description
    }

    pub fn mitigation_steps(self) -> &'static str {
        self.text().mitigation_steps
    }

    pub fn severity(self) -> Severity {
        self.text().severity
    }

    pub fn is_remediatable(self) -> bool {
        self.text().remediatable
    }

    pub fn is_configurable(self) -> bool {
        self.text().configurable
    }

    /// Whether Eligo scans for it (all nine now; a definition added later may be listed and
    /// configurable before it is scanned).
    pub fn is_scanned(self) -> bool {
        matches!(
            self,
            AlertKind::RolesAssignedOutsidePim
                | AlertKind::TooManyGlobalAdmins
                | AlertKind::NoMfaOnRoleActivation
                | AlertKind::StaleSignIn
                | AlertKind::RedundantAssignment
                | AlertKind::SequentialActivationRenewals
                | AlertKind::SeparationOfDutiesConflict
                | AlertKind::BreakGlassUsed
                | AlertKind::MembersAddedOutsideEligo
        )
    }

    /// Whether its scan reads the separation-of-duties facts (the incompatibility rules, the
    /// live assignments of the packages they name and their holders' groups).
    pub fn reads_separation(self) -> bool {
        self == AlertKind::SeparationOfDutiesConflict
    }

    /// Whether its scan reads the active stray alerts of `/v1/alerts`.
    pub fn reads_strays(self) -> bool {
        self == AlertKind::MembersAddedOutsideEligo
    }

    /// Whether its scan reads the break-glass uses of the audit log.
    pub fn reads_break_glass_uses(self) -> bool {
        self == AlertKind::BreakGlassUsed
    }

    /// Whether its scan reads the eligibilities and the sign-in and activation history.
    pub fn reads_history(self) -> bool {
        matches!(
            self,
            AlertKind::StaleSignIn
                | AlertKind::RedundantAssignment
                | AlertKind::SequentialActivationRenewals
        )
    }

    /// `#microsoft.graph.{type}Configuration`.
    pub fn configuration_type(self) -> String {
        format!("#microsoft.graph.{}Configuration", self.text().graph_type)
    }

    /// `#microsoft.graph.{type}Incident` (Eligo's own definitions name Eligo types).
    pub fn incident_type(self) -> String {
        format!("#microsoft.graph.{}Incident", self.text().graph_type)
    }

    /// `DirectoryRole_{tenantId}_{Name}`: the id of the alert, its definition and its
    /// configuration alike.
    pub fn id(self, tenant: Uuid) -> String {
        format!("DirectoryRole_{tenant}_{}", self.name())
    }

    /// The kind an id names, for this tenant only.
    pub fn from_id(tenant: Uuid, id: &str) -> Option<Self> {
        let rest = id.strip_prefix("DirectoryRole_")?;
        let (t, name) = rest.split_once('_')?;
        if Uuid::parse_str(t).ok()? != tenant {
            return None;
        }
        Self::from_name(name)
    }

    /// The definition as Graph's `unifiedRoleManagementAlertDefinition`.
    pub fn definition(self, tenant: Uuid) -> Value {
        let t = self.text();
        json!({
            "id": self.id(tenant),
            "displayName": t.display_name,
            "description": t.description,
            "severityLevel": t.severity.as_str(),
            "securityImpact": t.security_impact,
            "mitigationSteps": t.mitigation_steps,
            "howToPrevent": t.how_to_prevent,
            "isConfigurable": t.configurable,
            "isRemediatable": t.remediatable,
            "scopeId": SCOPE_ID,
            "scopeType": SCOPE_TYPE,
        })
    }
}

/// One incident of an alert: raised once for a cause (`cause_key`, unique among the unresolved
/// incidents of its definition), resolved when the cause goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: Uuid,
    pub kind: AlertKind,
    pub cause_key: String,
    /// The incident's Graph fields (without `id` and `@odata.type`).
    pub data: Value,
    pub raised_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl Incident {
    /// As Graph's `unifiedRoleManagementAlertIncident` of its type.
    pub fn to_graph(&self) -> Value {
        let mut out =
            json!({ "@odata.type": self.kind.incident_type(), "id": self.id.to_string() });
        if let (Some(o), Some(d)) = (out.as_object_mut(), self.data.as_object()) {
            for (k, v) in d {
                o.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

/// The alert as Graph's `unifiedRoleManagementAlert`.
pub fn alert(
    tenant: Uuid,
    kind: AlertKind,
    incident_count: usize,
    last_scanned: Option<DateTime<Utc>>,
    last_modified: Option<DateTime<Utc>>,
) -> Value {
    json!({
        "id": kind.id(tenant),
        "alertDefinitionId": kind.id(tenant),
        "scopeId": SCOPE_ID,
        "scopeType": SCOPE_TYPE,
        "incidentCount": incident_count,
        "isActive": incident_count > 0,
        "lastScannedDateTime": last_scanned,
        "lastModifiedDateTime": last_modified,
    })
}
