//! The rules of deciding: what a recommendation says and why, who may record which decision,
//! which decisions go on to the next stage, what an unreviewed decision becomes at the end and
//! which decisions are applied.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::settings::Settings;
use super::{ApplyResult, Decision, DecisionItem, Instance, Party, Recommendation};

/// What "use" means for the access under review: a sign-in (group membership, a package, an
/// active assignment) or an activation (an eligibility).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageKind {
    SignIn,
    Activation,
}

impl UsageKind {
    fn words(self) -> (&'static str, &'static str) {
        match self {
            UsageKind::SignIn => ("signed in", "sign-in"),
            UsageKind::Activation => ("activated this access", "activation"),
        }
    }
}

fn days(d: TimeDelta) -> i64 {
    d.num_days()
}

/// Approve when the principal used the access within the look-back window (the window's
/// first moment counts), Deny when not; NoInfoAvailable when the access is younger than the
/// window (too new to judge) or the principal cannot sign in (a group).
pub fn recommend(
    usage: UsageKind,
    last_used: Option<DateTime<Utc>>,
    granted_at: Option<DateTime<Utc>>,
    can_sign_in: bool,
    look_back: TimeDelta,
    now: DateTime<Utc>,
) -> (Recommendation, String) {
    let window = days(look_back);
    let (did, noun) = usage.words();
    if !can_sign_in && usage == UsageKind::SignIn {
        return (
            Recommendation::NoInfoAvailable,
            "a group does not sign in: no usage to judge by".into(),
        );
    }
    let since = now - look_back;
    match last_used {
        Some(at) if at >= since => (
            Recommendation::Approve,
            format!(
                "{did} {} days ago, within the last {window} days",
                days(now - at)
            ),
        ),
        _ if granted_at.is_some_and(|g| g > since) => (
            Recommendation::NoInfoAvailable,
            format!("access given less than {window} days ago: too recent to judge"),
        ),
        Some(at) => (
            Recommendation::Deny,
            format!(
                "no {noun} in the last {window} days (last {} days ago)",
                days(now - at)
            ),
        ),
        None => (
            Recommendation::Deny,
            format!("no {noun} in the last {window} days (never)"),
        ),
    }
}

/// Is a principal inactive for an inactive-users scope: no use since `now - inactive_for`?
pub fn is_inactive(
    last_used: Option<DateTime<Utc>>,
    inactive_for: TimeDelta,
    now: DateTime<Utc>,
) -> bool {
    last_used.is_none_or(|at| at < now - inactive_for)
}

/// Why a decision cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The caller is not a reviewer of this decision (not found, for them).
    NotReviewer,
    /// The instance (or this decision's stage) is not in progress.
    NotInProgress,
    /// The decision went on to a later stage; it is decided there.
    MovedOn,
    /// Approving needs a justification under this definition.
    JustificationRequired,
    /// `NotReviewed` is not something a reviewer records.
    InvalidDecision,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotReviewer => "NotAReviewer",
            Refusal::NotInProgress => "ReviewNotInProgress",
            Refusal::MovedOn => "DecisionMovedOn",
            Refusal::JustificationRequired => "JustificationRequired",
            Refusal::InvalidDecision => "InvalidDecision",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            Refusal::NotReviewer => "you are not a reviewer of this decision",
            Refusal::NotInProgress => {
                "the review (or this stage of it) is not in progress: decisions are closed"
            }
            Refusal::MovedOn => "this decision went on to a later stage and is decided there",
            Refusal::JustificationRequired => {
                "this review asks for a justification with every approval"
            }
            Refusal::InvalidDecision => "a decision is Approve, Deny or DontKnow",
        }
    }
}

/// May `reviewer` decide `item` now? (A self-review names the principal as the reviewer;
/// otherwise the principal is never among the reviewers, see `query::pick_reviewers`.)
pub fn may_decide(instance: &Instance, item: &DecisionItem, reviewer: Uuid) -> Result<(), Refusal> {
    if !item.reviewers.contains(&reviewer) {
        return Err(Refusal::NotReviewer);
    }
    if !instance.is_in_progress() {
        return Err(Refusal::NotInProgress);
    }
    if item.stage != instance.current_stage {
        return Err(if item.stage < instance.current_stage {
            Refusal::MovedOn
        } else {
            Refusal::NotInProgress
        });
    }
    Ok(())
}

/// Records `decision` on `item` (after `may_decide`).
pub fn record(
    item: &mut DecisionItem,
    settings: &Settings,
    decision: Decision,
    justification: Option<String>,
    by: Party,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let justification = justification.filter(|j| !j.trim().is_empty());
    if decision == Decision::NotReviewed {
        return Err(Refusal::InvalidDecision);
    }
    if decision == Decision::Approve
        && settings.justification_required_on_approval
        && justification.is_none()
    {
        return Err(Refusal::JustificationRequired);
    }
    item.decision = decision;
    item.justification = justification;
    item.reviewed_by = Some(by);
    item.reviewed_date_time = Some(now);
    Ok(())
}

/// Takes a decision back to NotReviewed (`resetDecisions`).
pub fn reset(item: &mut DecisionItem) {
    item.decision = Decision::NotReviewed;
    item.justification = None;
    item.reviewed_by = None;
    item.reviewed_date_time = None;
}

/// At the end of a stage that has a next one: does this decision go on to it?
pub fn moves_on(item: &DecisionItem, moving: &[Decision]) -> bool {
    moving.contains(&item.decision)
}

/// At the end of the instance: an unreviewed decision takes the default, when one is set.
/// The default is recorded as the system's, with its reason.
pub fn settle(item: &mut DecisionItem, settings: &Settings, now: DateTime<Utc>) {
    if item.decision != Decision::NotReviewed {
        return;
    }
    if let Some(d) = settings.default_for(item.recommendation) {
        item.decision = d;
        item.justification = Some(match settings.default_decision {
            super::settings::DefaultDecision::Recommendation => format!(
                "not reviewed: the recommendation applies ({})",
                item.recommendation_reason
            ),
            _ => format!("not reviewed: the default decision {} applies", d.as_str()),
        });
        item.reviewed_date_time = Some(now);
    }
}

/// What applying a final decision does: remove the access (Deny), nothing (anything else);
/// a decision already applied is never applied twice.
pub fn needs_removal(item: &DecisionItem) -> bool {
    item.is_final && item.decision == Decision::Deny && item.apply_result == ApplyResult::New
}
