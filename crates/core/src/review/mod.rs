//! Access reviews (governance.md section 2, Graph's `identityGovernance/accessReviews`): a
//! definition says whose access to what is reviewed, by whom, how often and what happens to
//! what nobody decided; each instance takes a snapshot of who is in scope at its start and
//! holds one decision per principal and access (per stage, for multi-stage reviews). The rules
//! (who may decide which decision, what a recommendation says and why, what an unreviewed
//! decision becomes, which decisions go on to the next stage, what is applied) live here;
//! the service resolves the facts and stores the outcome.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::directory::PrincipalKind;
use crate::entitlement::read::graph_enum;

pub mod decide;
pub mod definition;
pub mod package;
pub mod query;
pub mod settings;
#[cfg(test)]
mod tests;

pub use decide::{Refusal, UsageKind};
pub use definition::{Definition, ReviewerSet, StageSettings};
pub use query::{Reviewed, ReviewerQuery, ScopeQuery};
pub use settings::{Recurrence, Settings};

graph_enum! {
    pub enum Decision {
        Approve = "Approve",
        Deny = "Deny",
        NotReviewed = "NotReviewed",
        DontKnow = "DontKnow",
    }
}

graph_enum! {
    pub enum Recommendation {
        Approve = "Approve",
        Deny = "Deny",
        NoInfoAvailable = "NoInfoAvailable",
    }
}

impl Recommendation {
    pub fn as_decision(self) -> Option<Decision> {
        match self {
            Recommendation::Approve => Some(Decision::Approve),
            Recommendation::Deny => Some(Decision::Deny),
            Recommendation::NoInfoAvailable => None,
        }
    }
}

graph_enum! {
    pub enum ApplyResult {
        New = "New",
        AppliedSuccessfully = "AppliedSuccessfully",
        AppliedWithUnknownFailure = "AppliedWithUnknownFailure",
        AppliedSuccessfullyButObjectNotFound = "AppliedSuccessfullyButObjectNotFound",
        ApplyNotSupported = "ApplyNotSupported",
    }
}

graph_enum! {
    pub enum InstanceStatus {
        NotStarted = "NotStarted",
        InProgress = "InProgress",
        Completing = "Completing",
        Completed = "Completed",
        Applying = "Applying",
        Applied = "Applied",
    }
}

graph_enum! {
    pub enum DefinitionStatus {
        NotStarted = "NotStarted",
        InProgress = "InProgress",
        Completed = "Completed",
    }
}

/// Someone named on a decision (the reviewed principal, a reviewer, who applied it), with the
/// names they had at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub id: Uuid,
    pub display_name: String,
    pub user_principal_name: Option<String>,
    pub kind: PrincipalKind,
}

/// The one piece of access a decision is about, precisely enough to remove it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Access {
    /// Membership of a group; `direct` false: only through nested groups (not removable
    /// from this group).
    GroupMember {
        group_id: Uuid,
        direct: bool,
    },
    RoleEligible {
        role_id: Uuid,
        scope: String,
    },
    RoleActive {
        role_id: Uuid,
        scope: String,
    },
    /// A PIM for Groups eligibility, as member or as owner.
    GroupEligible {
        group_id: Uuid,
        owner: bool,
    },
    PackageAssignment {
        package_id: Uuid,
        assignment_id: Uuid,
    },
}

/// The resource of a decision as Graph shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    pub id: Uuid,
    pub display_name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// One stage of a running instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRun {
    pub id: Uuid,
    /// The definition's `stageId`.
    pub stage_id: String,
    pub start_date_time: DateTime<Utc>,
    pub end_date_time: DateTime<Utc>,
    pub status: InstanceStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: Uuid,
    pub definition_id: Uuid,
    pub start_date_time: DateTime<Utc>,
    pub end_date_time: DateTime<Utc>,
    pub status: InstanceStatus,
    pub stages: Vec<StageRun>,
    /// The index of the stage under way (the last one once the instance is completed).
    pub current_stage: usize,
    /// When the running stage's reviewers with undecided decisions are reminded (halfway
    /// through it, when the definition sends reminders); cleared once sent.
    #[serde(default)]
    pub remind_at: Option<DateTime<Utc>>,
}

impl Instance {
    /// When the scheduler next owes this instance work: its reminder, then the end of its
    /// running stage (the end of the instance, for the last); None once it is completed.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        match self.status {
            InstanceStatus::InProgress => {
                let end = self.stages.get(self.current_stage).map(|s| s.end_date_time);
                [end, self.remind_at].into_iter().flatten().min()
            }
            _ => None,
        }
    }

    /// Is the reminder (not the stage's end) what falls due at `now`?
    pub fn reminder_due(&self, now: DateTime<Utc>) -> bool {
        let end = self.stages.get(self.current_stage).map(|s| s.end_date_time);
        self.remind_at.is_some_and(|r| r <= now) && end.is_none_or(|e| e > now)
    }

    /// Plans the running stage's reminder halfway through it (none for a stage of a day).
    pub fn plan_reminder(&mut self, reminders: bool) {
        self.remind_at = self
            .stages
            .get(self.current_stage)
            .filter(|_| reminders)
            .filter(|s| s.end_date_time - s.start_date_time >= chrono::TimeDelta::days(2))
            .map(|s| s.start_date_time + (s.end_date_time - s.start_date_time) / 2);
    }

    pub fn is_in_progress(&self) -> bool {
        self.status == InstanceStatus::InProgress
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionItem {
    pub id: Uuid,
    pub instance_id: Uuid,
    pub definition_id: Uuid,
    /// The index of the stage this decision belongs to.
    pub stage: usize,
    pub principal: Party,
    pub resource: ResourceRef,
    pub access: Access,
    pub decision: Decision,
    pub recommendation: Recommendation,
    /// Why the recommendation says what it says (Eligo).
    pub recommendation_reason: String,
    pub justification: Option<String>,
    pub reviewed_by: Option<Party>,
    pub reviewed_date_time: Option<DateTime<Utc>>,
    pub applied_by: Option<Party>,
    pub applied_date_time: Option<DateTime<Utc>>,
    pub apply_result: ApplyResult,
    /// Who may decide it (resolved when its stage started).
    pub reviewers: Vec<Uuid>,
    /// The decision that counts for this access: not moved on to a later stage.
    pub is_final: bool,
    /// When the access was given, where known (a recommendation does not judge access younger
    /// than its look-back window).
    pub granted_at: Option<DateTime<Utc>>,
    /// The last use the recommendation was computed from.
    pub last_used_at: Option<DateTime<Utc>>,
}
