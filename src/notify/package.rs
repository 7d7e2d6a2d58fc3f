//! Access package notices: what happened to an access package request or assignment, with
//! everything a mail or a webhook event needs to describe it. Built by
//! `service::entitlement::notices` inside the transaction that made the change, carried in
//! outbox jobs as JSON (`Payload::PackageMail`, and `Payload::Event` for subscribers).
//!
//! Event types (a subscription names them, or `*`):
//! - `accessPackage.approvalRequested`: a request waits on a stage (created, the previous stage
//!   approved, or escalation began); mailed to that stage's approvers.
//! - `accessPackage.requestApproved`: the last stage approved (delivery follows).
//! - `accessPackage.requestDenied`: an approver denied it, its stage timed out (`TimedOut`), or
//!   deciding it again at the last approval refused it (`Denied: ...`, naming why).
//! - `accessPackage.assignmentDelivered`: an assignment was delivered (or extended).
//! - `accessPackage.assignmentExpiring`: 14 days or 1 day before an assignment's end.
//! - `accessPackage.assignmentExpired`: an assignment ended (`Expired`) or was removed
//!   (`Removed`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::event::Party;
use super::webhooks::OutgoingEvent;

/// What happened. The `as_str` names are the webhook event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PackageEvent {
    ApprovalRequested,
    RequestApproved,
    RequestDenied,
    AssignmentDelivered,
    AssignmentExpiring,
    AssignmentExpired,
}

impl PackageEvent {
    pub const ALL: [PackageEvent; 6] = [
        PackageEvent::ApprovalRequested,
        PackageEvent::RequestApproved,
        PackageEvent::RequestDenied,
        PackageEvent::AssignmentDelivered,
        PackageEvent::AssignmentExpiring,
        PackageEvent::AssignmentExpired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PackageEvent::ApprovalRequested => "accessPackage.approvalRequested",
            PackageEvent::RequestApproved => "accessPackage.requestApproved",
            PackageEvent::RequestDenied => "accessPackage.requestDenied",
            PackageEvent::AssignmentDelivered => "accessPackage.assignmentDelivered",
            PackageEvent::AssignmentExpiring => "accessPackage.assignmentExpiring",
            PackageEvent::AssignmentExpired => "accessPackage.assignmentExpired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A notice about the assignment itself (delivered, ending, ended): the ones a policy's
    /// `isAssignmentNotificationDisabled` silences.
    pub fn is_about_assignment(self) -> bool {
        matches!(
            self,
            PackageEvent::AssignmentDelivered
                | PackageEvent::AssignmentExpiring
                | PackageEvent::AssignmentExpired
        )
    }
}

/// The access package a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageRef {
    pub id: Uuid,
    pub display_name: String,
}

/// One answer as the approver reads it: the question's text and the answer shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerLine {
    pub question: String,
    pub answer: String,
}

/// The stage a request waits on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageStage {
    /// 1-based.
    pub number: usize,
    pub of: usize,
    pub stage_id: Uuid,
    /// When the stage is denied automatically if nobody decides.
    pub deadline: Option<DateTime<Utc>>,
    /// The escalation approvers were added (mailed to them).
    pub escalated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageNotice {
    /// Unique per notice: the webhook event id and the mail's Message-ID seed.
    pub id: Uuid,
    pub event: PackageEvent,
    pub occurred_at: DateTime<Utc>,
    pub package: PackageRef,
    /// Who filed the request (none for Eligo's own removal at the end).
    pub requestor: Option<Party>,
    /// Whose access it is.
    pub target: Party,
    /// Who decided (the approver); none when Eligo did (timeout, expiry).
    pub actor: Option<Party>,
    pub request_id: Option<Uuid>,
    pub assignment_id: Option<Uuid>,
    pub justification: Option<String>,
    pub answers: Vec<AnswerLine>,
    pub stage: Option<PackageStage>,
    /// Graph's status: `Denied`, `TimedOut`, `Denied: <why>`, `Expired`, `Removed`.
    pub status: Option<String>,
    /// The approver's justification, or why deciding again refused it.
    pub reason: Option<String>,
    pub start: Option<DateTime<Utc>>,
    /// None = no end.
    pub end: Option<DateTime<Utc>>,
    /// For `assignmentExpiring`: 14 or 1.
    pub days_left: Option<u32>,
}

impl PackageNotice {
    /// A one-line summary for chat and mail subjects.
    pub fn summary(&self) -> String {
        let who = &self.target.display_name;
        let what = format!("the access package {}", self.package.display_name);
        match self.event {
            PackageEvent::ApprovalRequested => {
                format!("{who} requests {what}: your approval is needed")
            }
            PackageEvent::RequestApproved => format!("{who}'s request for {what} was approved"),
            PackageEvent::RequestDenied if self.status.as_deref() == Some("TimedOut") => {
                format!("{who}'s request for {what} was not decided in time and was denied")
            }
            PackageEvent::RequestDenied => format!("{who}'s request for {what} was denied"),
            PackageEvent::AssignmentDelivered => format!("{who} was given {what}"),
            PackageEvent::AssignmentExpiring => match self.days_left {
                Some(1) => format!("{who}'s assignment of {what} ends in 1 day"),
                Some(d) => format!("{who}'s assignment of {what} ends in {d} days"),
                None => format!("{who}'s assignment of {what} ends soon"),
            },
            PackageEvent::AssignmentExpired if self.status.as_deref() == Some("Removed") => {
                format!("{who}'s assignment of {what} was removed")
            }
            PackageEvent::AssignmentExpired => format!("{who}'s assignment of {what} has ended"),
        }
    }

    /// Where a signed-in approver decides: the portal's page for this request.
    pub fn decision_url(&self, public_url: &str) -> Option<String> {
        self.request_id.map(|id| {
            format!(
                "{}/portal/approvals/packages/{id}",
                public_url.trim_end_matches('/')
            )
        })
    }

    /// The webhook event: `{id, type, occurredAt, text, data}` like every other event, `data`
    /// being this notice and `link` the Graph resource it concerns.
    pub fn event(&self, public_url: &str) -> OutgoingEvent {
        let base = public_url.trim_end_matches('/');
        let em = "/v1/identityGovernance/entitlementManagement";
        let link = match (self.event, self.request_id, self.assignment_id) {
            (PackageEvent::ApprovalRequested, Some(r), _) => {
                format!("{base}{em}/accessPackageAssignmentApprovals/{r}")
            }
            (e, _, Some(a)) if e.is_about_assignment() => {
                format!("{base}{em}/assignments/{a}")
            }
            (_, Some(r), _) => format!("{base}{em}/assignmentRequests/{r}"),
            _ => format!("{base}{em}/accessPackages/{}", self.package.id),
        };
        let mut data = serde_json::to_value(self).expect("a notice always serializes");
        data["link"] = serde_json::Value::String(link);
        OutgoingEvent::named(
            self.id,
            self.event.as_str(),
            self.occurred_at,
            &self.summary(),
            data,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_and_are_known() {
        for e in PackageEvent::ALL {
            assert_eq!(PackageEvent::parse(e.as_str()), Some(e));
            assert!(super::super::event::is_known_event_type(e.as_str()));
        }
        assert_eq!(PackageEvent::parse("accessPackage.exploded"), None);
    }
}
