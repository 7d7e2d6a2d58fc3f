//! A notice: one thing that happened that someone may need to hear about, with everything a
//! mail, a webhook event or a chat message needs to describe it. Notices are built by the use
//! cases inside the transaction that made the change, and travel in outbox jobs as JSON.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What happened. The `as_str` names are the webhook event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NoticeKind {
    /// A request waits for approval (mailed to the current stage's approvers).
    ActivationRequested,
    /// A request was approved (the last stage agreed).
    RequestApproved,
    /// A request was denied.
    RequestDenied,
    /// A request timed out waiting for approval.
    RequestExpired,
    /// A role or group access was activated (self-activation granted, or after approval).
    Activated,
    /// An administrator made someone eligible.
    EligibilityGranted,
    /// An administrator made someone active (assigned).
    AssignmentGranted,
    /// An eligibility or assignment ends in 14 days (`days_left` = 14) or 1 day (1).
    Expiring,
    /// An eligibility, assignment or activation ended.
    Expired,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 9] = [
        NoticeKind::ActivationRequested,
        NoticeKind::RequestApproved,
        NoticeKind::RequestDenied,
        NoticeKind::RequestExpired,
        NoticeKind::Activated,
        NoticeKind::EligibilityGranted,
        NoticeKind::AssignmentGranted,
        NoticeKind::Expiring,
        NoticeKind::Expired,
    ];

    /// The webhook event type, e.g. `activation.requested`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::ActivationRequested => "activation.requested",
            NoticeKind::RequestApproved => "request.approved",
            NoticeKind::RequestDenied => "request.denied",
            NoticeKind::RequestExpired => "request.expired",
            NoticeKind::Activated => "access.activated",
            NoticeKind::EligibilityGranted => "eligibility.granted",
            NoticeKind::AssignmentGranted => "assignment.granted",
            NoticeKind::Expiring => "access.expiring",
            NoticeKind::Expired => "access.expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Event types that are not notices about someone's access: Eligo's own security events. A
/// subscription names them like notice kinds; `*` covers the notices and `breakglass.used`,
/// never the audit events, which are named one by one and only by someone who may read the
/// audit log (they carry the whole trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityEvent {
    /// The break-glass credential was used (`notify::event::BreakGlassUse`).
    BreakGlassUsed,
    /// A PIM alert scan raised an incident (`service::pim_alerts::scan`).
    AlertRaised,
    /// One audit entry, every entry in order (`notify::audit_feed`).
    AuditEntry,
    /// A signed audit checkpoint (`crate::checkpoint`).
    AuditCheckpoint,
}

impl SecurityEvent {
    pub const ALL: [SecurityEvent; 4] = [
        SecurityEvent::BreakGlassUsed,
        SecurityEvent::AlertRaised,
        SecurityEvent::AuditEntry,
        SecurityEvent::AuditCheckpoint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SecurityEvent::BreakGlassUsed => "breakglass.used",
            SecurityEvent::AlertRaised => "alert.raised",
            SecurityEvent::AuditEntry => "audit.entry",
            SecurityEvent::AuditCheckpoint => "audit.checkpoint",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Does subscribing to it need permission to read the audit log?
    pub fn reveals_audit_log(self) -> bool {
        matches!(
            self,
            SecurityEvent::AuditEntry | SecurityEvent::AuditCheckpoint
        )
    }

    /// Is it among what `*` subscribes to?
    fn in_wildcard(self) -> bool {
        !self.reveals_audit_log()
    }
}

/// Is `event_type` a type a subscription may name (`*` aside)?
pub fn is_known_event_type(event_type: &str) -> bool {
    NoticeKind::parse(event_type).is_some()
        || SecurityEvent::parse(event_type).is_some()
        || super::package::PackageEvent::parse(event_type).is_some()
}

/// Every type a subscription may name, for error messages.
pub fn known_event_types() -> Vec<&'static str> {
    NoticeKind::ALL
        .iter()
        .map(|k| k.as_str())
        .chain(SecurityEvent::ALL.iter().map(|k| k.as_str()))
        .chain(super::package::PackageEvent::ALL.iter().map(|k| k.as_str()))
        .collect()
}

/// Do the event types a subscription names reveal the audit log (so the subscriber must be
/// allowed to read it)?
pub fn names_audit_events<S: AsRef<str>>(event_types: &[S]) -> bool {
    event_types
        .iter()
        .filter_map(|t| SecurityEvent::parse(t.as_ref()))
        .any(SecurityEvent::reveals_audit_log)
}

/// Does a subscription with these stored `eventTypes` want `event`?
pub fn subscribed_to(event_types: &serde_json::Value, event: SecurityEvent) -> bool {
    event_types.as_array().is_some_and(|types| {
        types
            .iter()
            .filter_map(|t| t.as_str())
            .any(|t| t == event.as_str() || (t == "*" && event.in_wildcard()))
    })
}

/// A use of the break-glass credential: the configured or generated bootstrap token presented
/// as a bearer token, or a sign-in to the emergency-access account. Mailed to every Global
/// Administrator and sent to `breakglass.used` subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakGlassUse {
    /// The webhook event id and the mail's Message-ID seed.
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The emergency-access account.
    pub account: Party,
    /// `bootstrapToken` (the bearer token itself) or `signIn` (a session opened for the
    /// account with another credential).
    pub credential: String,
    /// Where the request came from (the client address as `ELIGO_TRUSTED_PROXIES` allows).
    pub ip_address: Option<String>,
    /// The request that used it: `GET /v1/users`.
    pub request: Option<String>,
    /// Further uses of the same session within this many seconds are audited but not
    /// announced again.
    pub quiet_period_secs: i64,
}

impl BreakGlassUse {
    pub fn summary(&self) -> String {
        format!(
            "The break-glass account {} was used{}",
            self.account
                .user_principal_name
                .as_deref()
                .unwrap_or(&self.account.display_name),
            self.ip_address
                .as_deref()
                .map(|a| format!(" from {a}"))
                .unwrap_or_default()
        )
    }
}

/// A person or workload named in a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub id: Uuid,
    pub display_name: String,
    /// userPrincipalName of a user; None for a service principal.
    pub user_principal_name: Option<String>,
}

/// What the access is to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoticeTarget {
    /// `role` or `group`.
    pub kind: String,
    /// The role definition id or the group id.
    pub id: Uuid,
    /// "Exchange Administrator", "Tier 0 Operators".
    pub display_name: String,
    /// The directory scope of a role (`/` for the whole directory); None for a group.
    pub directory_scope_id: Option<String>,
    /// `member` or `owner` for a group; None for a role.
    pub access_id: Option<String>,
}

impl NoticeTarget {
    /// "Exchange Administrator" or "membership of Tier 0 Operators", for sentences.
    pub fn phrase(&self) -> String {
        match self.access_id.as_deref() {
            Some(access) => format!("{access}ship of {}", self.display_name),
            None => match self.directory_scope_id.as_deref() {
                Some(scope) if scope != "/" => format!("{} at {scope}", self.display_name),
                _ => self.display_name.clone(),
            },
        }
    }
}

/// One approval stage as the notice shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoticeStage {
    /// 1-based.
    pub number: usize,
    pub of: usize,
    pub step_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// Unique per notice; the webhook event id and the mail's Message-ID seed.
    pub id: Uuid,
    pub kind: NoticeKind,
    pub occurred_at: DateTime<Utc>,
    /// Whose access this is (the requester, the assignee, the holder).
    pub principal: Party,
    /// Who did it (the administrator, the approver); None when Eligo itself did (expiry).
    pub actor: Option<Party>,
    pub target: NoticeTarget,
    /// `eligible` or `active`.
    pub assignment: String,
    /// The schedule request behind it, if any (also the approval id).
    pub request_id: Option<Uuid>,
    pub justification: Option<String>,
    pub ticket_number: Option<String>,
    pub ticket_system: Option<String>,
    pub start: Option<DateTime<Utc>>,
    /// None = permanent.
    pub end: Option<DateTime<Utc>>,
    /// For `ActivationRequested`: the stage now waiting.
    pub stage: Option<NoticeStage>,
    /// For `Expiring`: 14 or 1.
    pub days_left: Option<u32>,
    /// The approver's justification for an approval or denial.
    pub reviewer_justification: Option<String>,
}

impl Notice {
    /// A one-line summary for chat (the webhook's Slack-compatible `text`) and mail subjects.
    pub fn summary(&self) -> String {
        let who = &self.principal.display_name;
        let what = self.target.phrase();
        match self.kind {
            NoticeKind::ActivationRequested => {
                format!("{who} requests {what}: your approval is needed")
            }
            NoticeKind::RequestApproved => format!("{who}'s request for {what} was approved"),
            NoticeKind::RequestDenied => format!("{who}'s request for {what} was denied"),
            NoticeKind::RequestExpired => {
                format!("{who}'s request for {what} expired without a decision")
            }
            NoticeKind::Activated => format!("{who} activated {what}"),
            NoticeKind::EligibilityGranted => format!("{who} is now eligible for {what}"),
            NoticeKind::AssignmentGranted => format!("{who} was assigned {what}"),
            NoticeKind::Expiring => match self.days_left {
                Some(1) => format!("{who}'s {} {what} ends in 1 day", self.assignment),
                Some(d) => format!("{who}'s {} {what} ends in {d} days", self.assignment),
                None => format!("{who}'s {} {what} ends soon", self.assignment),
            },
            NoticeKind::Expired => format!("{who}'s {} {what} has ended", self.assignment),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NoticeKind::parse("role.exploded"), None);
        for kind in SecurityEvent::ALL {
            assert_eq!(SecurityEvent::parse(kind.as_str()), Some(kind));
            assert!(is_known_event_type(kind.as_str()));
        }
    }

    #[test]
    fn the_wildcard_never_covers_the_audit_log() {
        let all = serde_json::json!(["*"]);
        assert!(subscribed_to(&all, SecurityEvent::BreakGlassUsed));
        assert!(!subscribed_to(&all, SecurityEvent::AuditEntry));
        assert!(!subscribed_to(&all, SecurityEvent::AuditCheckpoint));
        let named = serde_json::json!(["audit.entry"]);
        assert!(subscribed_to(&named, SecurityEvent::AuditEntry));
        assert!(!subscribed_to(&named, SecurityEvent::AuditCheckpoint));
        assert!(names_audit_events(&[
            "access.activated",
            "audit.checkpoint"
        ]));
        assert!(!names_audit_events(&["*", "breakglass.used"]));
    }
}
