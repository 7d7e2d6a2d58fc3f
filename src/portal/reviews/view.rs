//! What a reviewer's pages show of a review decision: who, which access, the recommendation
//! with its reason, when the access was last used, and the decision so far. Read-only views:
//! nothing here decides anything.

use eligo_core::review::{Access, Decision, DecisionItem, Recommendation};
use uuid::Uuid;

use crate::portal::approvals::view::When;

/// One decision as the reviewer's page shows it.
pub struct DecisionView {
    pub id: Uuid,
    pub principal: String,
    pub upn: String,
    /// "Eligible for Global Administrator", "Member of Finance", ...
    pub access: String,
    pub recommendation: &'static str,
    pub recommendation_badge: &'static str,
    pub recommendation_reason: String,
    /// None: never used (or no use is known).
    pub last_used: Option<When>,
    pub decision: &'static str,
    pub decision_badge: &'static str,
    pub decided: bool,
    pub justification: String,
    pub reviewed_by: String,
    /// The earlier stages' decisions about this access, in words ("Stage 1: Approve by Ada:
    /// still needed"), where the review shows them to its reviewers.
    pub earlier: Vec<String>,
}

/// The kind of access, in words, followed by the resource's name.
pub fn access_phrase(item: &DecisionItem) -> String {
    let name = &item.resource.display_name;
    match &item.access {
        Access::RoleEligible { scope, .. } => with_scope(format!("Eligible for {name}"), scope),
        Access::RoleActive { scope, .. } => {
            with_scope(format!("Active assignment of {name}"), scope)
        }
        Access::GroupMember { direct: true, .. } => format!("Member of {name}"),
        Access::GroupMember { direct: false, .. } => {
            format!("Member of {name} (through a nested group)")
        }
        Access::GroupEligible { owner: false, .. } => format!("Eligible member of {name}"),
        Access::GroupEligible { owner: true, .. } => format!("Eligible owner of {name}"),
        Access::PackageAssignment { .. } => format!("Assigned access package {name}"),
    }
}

fn with_scope(text: String, scope: &str) -> String {
    if scope == "/" {
        text
    } else {
        format!("{text} at {scope}")
    }
}

pub fn decision_text(d: Decision) -> &'static str {
    match d {
        Decision::Approve => "Approved",
        Decision::Deny => "Denied",
        Decision::DontKnow => "Don't know",
        Decision::NotReviewed => "Not reviewed",
    }
}

pub fn decision_badge(d: Decision) -> &'static str {
    match d {
        Decision::Approve => "badge-ok",
        Decision::Deny => "badge-bad",
        Decision::DontKnow => "badge-warn",
        Decision::NotReviewed => "badge-info",
    }
}

fn recommendation(r: Recommendation) -> (&'static str, &'static str) {
    match r {
        Recommendation::Approve => ("Approve", "badge-ok"),
        Recommendation::Deny => ("Deny", "badge-bad"),
        Recommendation::NoInfoAvailable => ("No information", "badge-info"),
    }
}

impl DecisionView {
    pub fn of(item: &DecisionItem) -> Self {
        let (rec, rec_badge) = recommendation(item.recommendation);
        Self {
            id: item.id,
            principal: item.principal.display_name.clone(),
            upn: item
                .principal
                .user_principal_name
                .clone()
                .unwrap_or_default(),
            access: access_phrase(item),
            recommendation: rec,
            recommendation_badge: rec_badge,
            recommendation_reason: item.recommendation_reason.clone(),
            last_used: item.last_used_at.map(When::of),
            decision: decision_text(item.decision),
            decision_badge: decision_badge(item.decision),
            decided: item.decision != Decision::NotReviewed,
            justification: item.justification.clone().unwrap_or_default(),
            reviewed_by: item
                .reviewed_by
                .as_ref()
                .map(|p| p.display_name.clone())
                .unwrap_or_default(),
            earlier: Vec::new(),
        }
    }

    /// With the earlier stages' decisions about the same access.
    pub fn with_earlier(mut self, earlier: Option<&Vec<DecisionItem>>) -> Self {
        self.earlier = earlier
            .into_iter()
            .flatten()
            .map(|e| {
                let by = e
                    .reviewed_by
                    .as_ref()
                    .map(|p| format!(" by {}", p.display_name))
                    .unwrap_or_default();
                let why = e
                    .justification
                    .as_ref()
                    .map(|j| format!(": {j}"))
                    .unwrap_or_default();
                format!(
                    "Stage {}: {}{by}{why}",
                    e.stage + 1,
                    decision_text(e.decision)
                )
            })
            .collect();
        self
    }
}
