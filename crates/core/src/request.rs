//! Schedule requests: what someone asked for (an eligibility or an active assignment, given by
//! an administrator or activated by its holder), what became of it, and — when the policy asks —
//! its approval. Requests are kept for the record: their status moves forward only.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::activation::{Expiration, Ticket};
use crate::approval::Approval;

/// Which collection a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RequestKind {
    /// `roleEligibilityScheduleRequests`.
    Eligibility,
    /// `roleAssignmentScheduleRequests`.
    Assignment,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Eligibility => "eligibility",
            RequestKind::Assignment => "assignment",
        }
    }
}

/// Graph's `unifiedRoleScheduleRequestActions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RequestAction {
    AdminAssign,
    AdminUpdate,
    AdminRemove,
    AdminExtend,
    AdminRenew,
    SelfActivate,
    SelfDeactivate,
    SelfExtend,
    SelfRenew,
}

impl RequestAction {
    pub const ALL: [RequestAction; 9] = [
        RequestAction::AdminAssign,
        RequestAction::AdminUpdate,
        RequestAction::AdminRemove,
        RequestAction::AdminExtend,
        RequestAction::AdminRenew,
        RequestAction::SelfActivate,
        RequestAction::SelfDeactivate,
        RequestAction::SelfExtend,
        RequestAction::SelfRenew,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestAction::AdminAssign => "adminAssign",
            RequestAction::AdminUpdate => "adminUpdate",
            RequestAction::AdminRemove => "adminRemove",
            RequestAction::AdminExtend => "adminExtend",
            RequestAction::AdminRenew => "adminRenew",
            RequestAction::SelfActivate => "selfActivate",
            RequestAction::SelfDeactivate => "selfDeactivate",
            RequestAction::SelfExtend => "selfExtend",
            RequestAction::SelfRenew => "selfRenew",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Actions a principal takes on its own behalf (everything else is an administrator's).
    pub fn is_self(self) -> bool {
        matches!(
            self,
            RequestAction::SelfActivate
                | RequestAction::SelfDeactivate
                | RequestAction::SelfExtend
                | RequestAction::SelfRenew
        )
    }
}

/// Graph's request status values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequestStatus {
    Canceled,
    Denied,
    Failed,
    Granted,
    /// A holder's request that administrators extend what they were given: waits until one
    /// extends it (adminExtend) or declines it (Graph's `PendingAdminDecision`).
    PendingAdminDecision,
    PendingApproval,
    PendingProvisioning,
    PendingScheduleCreation,
    Provisioned,
    Revoked,
    ScheduleCreated,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 11] = [
        RequestStatus::Canceled,
        RequestStatus::Denied,
        RequestStatus::Failed,
        RequestStatus::Granted,
        RequestStatus::PendingAdminDecision,
        RequestStatus::PendingApproval,
        RequestStatus::PendingProvisioning,
        RequestStatus::PendingScheduleCreation,
        RequestStatus::Provisioned,
        RequestStatus::Revoked,
        RequestStatus::ScheduleCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Canceled => "Canceled",
            RequestStatus::Denied => "Denied",
            RequestStatus::Failed => "Failed",
            RequestStatus::Granted => "Granted",
            RequestStatus::PendingAdminDecision => "PendingAdminDecision",
            RequestStatus::PendingApproval => "PendingApproval",
            RequestStatus::PendingProvisioning => "PendingProvisioning",
            RequestStatus::PendingScheduleCreation => "PendingScheduleCreation",
            RequestStatus::Provisioned => "Provisioned",
            RequestStatus::Revoked => "Revoked",
            RequestStatus::ScheduleCreated => "ScheduleCreated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Still waiting on someone (an approver, or its start time).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            RequestStatus::PendingApproval
                | RequestStatus::PendingAdminDecision
                | RequestStatus::PendingProvisioning
                | RequestStatus::PendingScheduleCreation
        )
    }
}

/// `scheduleInfo` as asked for, and (once granted) as it took effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleInfo {
    /// None: as soon as granted.
    pub start_date_time: Option<DateTime<Utc>>,
    pub expiration: ExpirationInfo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExpirationType {
    NoExpiration,
    AfterDateTime,
    AfterDuration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationInfo {
    #[serde(rename = "type")]
    pub kind: ExpirationType,
    pub end_date_time: Option<DateTime<Utc>>,
    #[serde(with = "crate::policy::iso_duration_opt", default)]
    pub duration: Option<TimeDelta>,
}

impl ScheduleInfo {
    pub fn expiration(&self) -> Expiration {
        match (
            self.expiration.kind,
            self.expiration.end_date_time,
            self.expiration.duration,
        ) {
            (ExpirationType::AfterDateTime, Some(end), _) => Expiration::AfterDateTime(end),
            (ExpirationType::AfterDuration, _, Some(d)) => Expiration::AfterDuration(d),
            _ => Expiration::NoExpiration,
        }
    }

    /// The schedule as it took effect: a fixed start and end (end None: permanent).
    pub fn effective(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Self {
        Self {
            start_date_time: Some(start),
            expiration: match end {
                Some(end) => ExpirationInfo {
                    kind: ExpirationType::AfterDateTime,
                    end_date_time: Some(end),
                    duration: None,
                },
                None => ExpirationInfo {
                    kind: ExpirationType::NoExpiration,
                    end_date_time: None,
                    duration: None,
                },
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRequest {
    pub id: Uuid,
    pub kind: RequestKind,
    pub action: RequestAction,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    pub justification: Option<String>,
    pub ticket_info: Option<Ticket>,
    /// As asked for.
    pub schedule_info: ScheduleInfo,
    /// As granted (start and end fixed), once granted.
    pub granted_schedule: Option<ScheduleInfo>,
    pub status: RequestStatus,
    /// Why it ended the way it did (denied, expired, failed at approval...), for people.
    pub status_detail: Option<String>,
    pub created_by: Uuid,
    pub created_date_time: DateTime<Utc>,
    pub completed_date_time: Option<DateTime<Utc>>,
    pub target_schedule_id: Option<Uuid>,
    pub approval: Option<Approval>,
}

impl ScheduleRequest {
    /// What this request is about: a role at a scope, or a group membership or ownership.
    pub fn target(&self) -> crate::target::Target {
        crate::target::Target::of(self.role_definition_id, &self.directory_scope_id)
    }

    /// The approval's id is the request's own (one approval per request).
    pub fn approval_id(&self) -> Option<Uuid> {
        self.approval.as_ref().map(|_| self.id)
    }

    /// When the scheduler must look at this request again (its approval stage's timeout).
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        if self.status != RequestStatus::PendingApproval {
            return None;
        }
        self.approval.as_ref().and_then(|a| a.deadline())
    }
}

impl Serialize for Ticket {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Ticket", 2)?;
        st.serialize_field("ticketNumber", &self.number)?;
        st.serialize_field("ticketSystem", &self.system)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Ticket {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            ticket_number: Option<String>,
            ticket_system: Option<String>,
        }
        let raw = Raw::deserialize(d)?;
        Ok(Ticket {
            number: raw.ticket_number.unwrap_or_default(),
            system: raw.ticket_system.unwrap_or_default(),
        })
    }
}
