//! Multi-stage approval of a request. Stages run in order; each needs `minimumApprovals`
//! distinct approvers (the two-person rule); one deny ends the whole request; a stage that is
//! not decided within its timeout ends it as expired. Who may approve a stage is resolved by the
//! caller at the moment of the review (group membership and managers change) and passed in, so
//! this module stays pure. The requester, and whoever filed the request for them, never count.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::policy::ApprovalStage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepStatus {
    NotStarted,
    InProgress,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewResult {
    NotReviewed,
    Approve,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub reviewed_by: Uuid,
    pub review_result: ReviewResult,
    pub justification: Option<String>,
    pub reviewed_date_time: DateTime<Utc>,
}

/// One stage (Graph calls it a step) with the settings it was created with: a later policy
/// change does not move the goalposts of a request already in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub id: Uuid,
    pub settings: ApprovalStage,
    pub status: StepStatus,
    pub started_date_time: Option<DateTime<Utc>>,
    pub reviews: Vec<Review>,
    /// Stages timed in durations rather than days and minutes (access package policies:
    /// `durationBeforeAutomaticDenial`, `durationBeforeEscalation`): when present, these
    /// replace the settings' timeout and escalation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<StepTiming>,
}

/// A stage's times as durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepTiming {
    pub timeout_seconds: i64,
    /// When escalation approvers may decide too, after the stage starts; none without escalation.
    pub escalation_seconds: Option<i64>,
}

impl Step {
    pub fn result(&self) -> ReviewResult {
        if self
            .reviews
            .iter()
            .any(|r| r.review_result == ReviewResult::Deny)
        {
            ReviewResult::Deny
        } else if self.approvals() >= self.settings.minimum_approvals.max(1) as usize {
            ReviewResult::Approve
        } else {
            ReviewResult::NotReviewed
        }
    }

    /// The stage times out this long after it starts.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        if let Some(t) = self.timing {
            return self
                .started_date_time
                .map(|s| s + TimeDelta::seconds(t.timeout_seconds));
        }
        let days = i64::from(self.settings.approval_stage_time_out_in_days.max(1));
        self.started_date_time.map(|s| s + TimeDelta::days(days))
    }

    /// From when escalation approvers may decide too.
    pub fn escalation_from(&self) -> Option<DateTime<Utc>> {
        if let Some(t) = self.timing {
            let after = t.escalation_seconds?;
            return self
                .started_date_time
                .map(|s| s + TimeDelta::seconds(after));
        }
        if !self.settings.is_escalation_enabled {
            return None;
        }
        let minutes = i64::from(self.settings.escalation_time_in_minutes);
        self.started_date_time
            .map(|s| s + TimeDelta::minutes(minutes))
    }

    fn approvals(&self) -> usize {
        self.reviews
            .iter()
            .filter(|r| r.review_result == ReviewResult::Approve)
            .count()
    }
}

/// Who may decide a stage, as resolved at the moment of the review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageApprovers {
    pub primary: BTreeSet<Uuid>,
    pub escalation: BTreeSet<Uuid>,
}

impl StageApprovers {
    /// May `who` decide `step` at `now`? Escalation approvers join once escalation time passes.
    pub fn includes(&self, step: &Step, who: Uuid, now: DateTime<Utc>) -> bool {
        self.primary.contains(&who)
            || (step.escalation_from().is_some_and(|t| now >= t) && self.escalation.contains(&who))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub steps: Vec<Step>,
}

/// What a review did to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted; the stage needs this many more distinct approvals.
    Recorded { remaining: usize },
    /// The stage is complete and the next one has started.
    NextStage { index: usize },
    /// The last stage is complete: the request is approved.
    Approved,
    /// Denied: the request ends.
    Denied,
}

/// Why a review was refused. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownStep,
    /// The step has not started yet, or is already decided.
    StepNotInProgress,
    /// The requester, or whoever filed the request for them.
    OwnRequest,
    NotAnApprover,
    /// This principal already reviewed this request (at any stage: nobody counts twice).
    AlreadyReviewed,
    JustificationRequired,
    /// The stage's timeout has passed.
    Expired,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::UnknownStep => "ApprovalStepNotFound",
            Refusal::StepNotInProgress => "ApprovalStepNotInProgress",
            Refusal::OwnRequest => "SelfApprovalNotAllowed",
            Refusal::NotAnApprover => "NotAnApprover",
            Refusal::AlreadyReviewed => "ApprovalAlreadyReviewed",
            Refusal::JustificationRequired => "ApproverJustificationRequired",
            Refusal::Expired => "ApprovalExpired",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::UnknownStep => "this approval has no such step",
            Refusal::StepNotInProgress => "this step is not waiting for a decision",
            Refusal::OwnRequest => "nobody approves their own request",
            Refusal::NotAnApprover => "you are not an approver of this step",
            Refusal::AlreadyReviewed => "you already reviewed this request",
            Refusal::JustificationRequired => "this step requires a justification",
            Refusal::Expired => "this request's approval has expired",
        }
    }
}

impl Approval {
    /// The approval of a new request: its first stage starts now. `ids` gives each step an id.
    pub fn start(
        stages: &[ApprovalStage],
        mut ids: impl FnMut() -> Uuid,
        now: DateTime<Utc>,
    ) -> Self {
        let steps = stages
            .iter()
            .enumerate()
            .map(|(i, settings)| Step {
                id: ids(),
                settings: settings.clone(),
                status: if i == 0 {
                    StepStatus::InProgress
                } else {
                    StepStatus::NotStarted
                },
                started_date_time: (i == 0).then_some(now),
                reviews: Vec::new(),
                timing: None,
            })
            .collect();
        Self { steps }
    }

    /// The step waiting for decisions, if any.
    pub fn current(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| s.status == StepStatus::InProgress)
    }

    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        self.current().and_then(|i| self.steps[i].deadline())
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.deadline().is_some_and(|d| now >= d)
    }

    /// Could `who` review step `index` now? (Used for `assignedToMe` and before `review`.)
    pub fn may_review(
        &self,
        index: usize,
        who: Uuid,
        approvers: &StageApprovers,
        requester: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let step = self.steps.get(index).ok_or(Refusal::UnknownStep)?;
        if step.status != StepStatus::InProgress {
            return Err(Refusal::StepNotInProgress);
        }
        if self.is_expired(now) {
            return Err(Refusal::Expired);
        }
        if requester.contains(&who) {
            return Err(Refusal::OwnRequest);
        }
        if self
            .steps
            .iter()
            .flat_map(|s| &s.reviews)
            .any(|r| r.reviewed_by == who)
        {
            return Err(Refusal::AlreadyReviewed);
        }
        if !approvers.includes(step, who, now) {
            return Err(Refusal::NotAnApprover);
        }
        Ok(())
    }

    /// Records `who`'s decision on step `index`. On refusal nothing changes.
    #[allow(clippy::too_many_arguments)]
    pub fn review(
        &mut self,
        index: usize,
        who: Uuid,
        result: ReviewResult,
        justification: Option<String>,
        approvers: &StageApprovers,
        requester: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<Outcome, Refusal> {
        self.may_review(index, who, approvers, requester, now)?;
        let justification = justification.filter(|j| !j.trim().is_empty());
        let step = &mut self.steps[index];
        if step.settings.is_approver_justification_required && justification.is_none() {
            return Err(Refusal::JustificationRequired);
        }
        if result == ReviewResult::NotReviewed {
            return Err(Refusal::StepNotInProgress);
        }
        step.reviews.push(Review {
            reviewed_by: who,
            review_result: result,
            justification,
            reviewed_date_time: now,
        });
        if result == ReviewResult::Deny {
            step.status = StepStatus::Completed;
            return Ok(Outcome::Denied);
        }
        let needed = step.settings.minimum_approvals.max(1) as usize;
        let have = step.approvals();
        if have < needed {
            return Ok(Outcome::Recorded {
                remaining: needed - have,
            });
        }
        step.status = StepStatus::Completed;
        match self.steps.get_mut(index + 1) {
            Some(next) => {
                next.status = StepStatus::InProgress;
                next.started_date_time = Some(now);
                Ok(Outcome::NextStage { index: index + 1 })
            }
            None => Ok(Outcome::Approved),
        }
    }

    /// Ends a stage that ran out of time. Returns false when nothing was due.
    pub fn expire(&mut self, now: DateTime<Utc>) -> bool {
        match self.current() {
            Some(i) if self.is_expired(now) => {
                self.steps[i].status = StepStatus::Completed;
                true
            }
            _ => false,
        }
    }

    pub fn is_approved(&self) -> bool {
        !self.steps.is_empty()
            && self
                .steps
                .iter()
                .all(|s| s.status == StepStatus::Completed && s.result() == ReviewResult::Approve)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(mins: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + mins * 60, 0).unwrap()
    }

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn stage(minimum: u32) -> ApprovalStage {
        ApprovalStage {
            approval_stage_time_out_in_days: 1,
            is_approver_justification_required: false,
            escalation_time_in_minutes: 0,
            is_escalation_enabled: false,
            primary_approvers: vec![],
            escalation_approvers: vec![],
            minimum_approvals: minimum,
        }
    }

    fn approvers(ids: &[u128]) -> StageApprovers {
        StageApprovers {
            primary: ids.iter().map(|&n| u(n)).collect(),
            escalation: BTreeSet::new(),
        }
    }

    fn approval(stages: &[ApprovalStage]) -> Approval {
        let mut n = 1000;
        Approval::start(
            stages,
            || {
                n += 1;
                u(n)
            },
            t(0),
        )
    }

    const REQUESTER: u128 = 1;

    #[test]
    fn stages_run_in_order_and_the_last_approval_approves() {
        let mut a = approval(&[stage(1), stage(1)]);
        let who = approvers(&[2, 3]);
        assert_eq!(
            a.review(
                1,
                u(3),
                ReviewResult::Approve,
                None,
                &who,
                &[u(REQUESTER)],
                t(1)
            ),
            Err(Refusal::StepNotInProgress)
        );
        assert_eq!(
            a.review(
                0,
                u(2),
                ReviewResult::Approve,
                None,
                &who,
                &[u(REQUESTER)],
                t(1)
            ),
            Ok(Outcome::NextStage { index: 1 })
        );
        assert_eq!(a.steps[1].started_date_time, Some(t(1)));
        assert_eq!(
            a.review(
                1,
                u(2),
                ReviewResult::Approve,
                None,
                &who,
                &[u(REQUESTER)],
                t(2)
            ),
            Err(Refusal::AlreadyReviewed),
            "a principal never counts twice, not even across stages"
        );
        assert_eq!(
            a.review(
                1,
                u(3),
                ReviewResult::Approve,
                None,
                &who,
                &[u(REQUESTER)],
                t(2)
            ),
            Ok(Outcome::Approved)
        );
        assert!(a.is_approved());
    }

    #[test]
    fn two_person_rule_needs_two_distinct_approvers() {
        let mut a = approval(&[stage(2)]);
        let who = approvers(&[2, 3]);
        assert_eq!(
            a.review(
                0,
                u(2),
                ReviewResult::Approve,
                None,
                &who,
                &[u(REQUESTER)],
                t(1)
            ),
            Ok(Outcome::Recorded { remaining: 1 })
        );
        assert!(!a.is_approved());
        assert_eq!(
            a.review(
                0,
                u(3),
                ReviewResult::Approve,
                None,
                &who,
                &[u(REQUESTER)],
                t(1)
            ),
            Ok(Outcome::Approved)
        );
    }

    #[test]
    fn a_deny_ends_the_request() {
        let mut a = approval(&[stage(2), stage(1)]);
        let who = approvers(&[2, 3]);
        a.review(0, u(2), ReviewResult::Approve, None, &who, &[], t(1))
            .unwrap();
        assert_eq!(
            a.review(0, u(3), ReviewResult::Deny, None, &who, &[], t(1)),
            Ok(Outcome::Denied)
        );
        assert_eq!(a.steps[0].result(), ReviewResult::Deny);
        assert_eq!(a.current(), None);
        assert!(!a.is_approved());
    }

    #[test]
    fn requester_and_non_approvers_are_refused_and_nothing_changes() {
        let mut a = approval(&[stage(1)]);
        let who = approvers(&[1, 2]);
        let before = a.clone();
        let requester = [u(1), u(9)];
        assert_eq!(
            a.review(0, u(1), ReviewResult::Approve, None, &who, &requester, t(1)),
            Err(Refusal::OwnRequest)
        );
        assert_eq!(
            a.review(0, u(9), ReviewResult::Approve, None, &who, &requester, t(1)),
            Err(Refusal::OwnRequest),
            "whoever filed the request for the requester is excluded too"
        );
        assert_eq!(
            a.review(0, u(5), ReviewResult::Approve, None, &who, &requester, t(1)),
            Err(Refusal::NotAnApprover)
        );
        assert_eq!(a, before);
    }

    #[test]
    fn justification_when_required() {
        let mut s = stage(1);
        s.is_approver_justification_required = true;
        let mut a = approval(&[s]);
        let who = approvers(&[2]);
        assert_eq!(
            a.review(
                0,
                u(2),
                ReviewResult::Approve,
                Some("  ".into()),
                &who,
                &[],
                t(1)
            ),
            Err(Refusal::JustificationRequired)
        );
        assert_eq!(
            a.review(
                0,
                u(2),
                ReviewResult::Approve,
                Some("ok".into()),
                &who,
                &[],
                t(1)
            ),
            Ok(Outcome::Approved)
        );
    }

    #[test]
    fn escalation_approvers_join_after_the_escalation_time() {
        let mut s = stage(1);
        s.is_escalation_enabled = true;
        s.escalation_time_in_minutes = 30;
        let mut a = approval(&[s]);
        let who = StageApprovers {
            primary: [u(2)].into(),
            escalation: [u(7)].into(),
        };
        assert_eq!(
            a.review(0, u(7), ReviewResult::Approve, None, &who, &[], t(29)),
            Err(Refusal::NotAnApprover)
        );
        assert_eq!(
            a.review(0, u(7), ReviewResult::Approve, None, &who, &[], t(30)),
            Ok(Outcome::Approved)
        );
    }

    #[test]
    fn a_stage_times_out_after_its_days() {
        let mut s = stage(1);
        s.approval_stage_time_out_in_days = 2;
        let mut a = approval(&[s]);
        assert_eq!(a.deadline(), Some(t(2 * 24 * 60)));
        assert!(!a.expire(t(2 * 24 * 60 - 1)));
        assert_eq!(
            a.review(
                0,
                u(2),
                ReviewResult::Approve,
                None,
                &approvers(&[2]),
                &[],
                t(2 * 24 * 60)
            ),
            Err(Refusal::Expired)
        );
        assert!(a.expire(t(2 * 24 * 60)));
        assert!(!a.is_approved());
        assert_eq!(a.deadline(), None);
    }

    proptest! {
        /// Whatever sequence of reviews arrives, the requester never counts, nobody counts
        /// twice, and an approved request has at least `minimum` distinct approvals per stage.
        #[test]
        fn a_request_never_approves_itself(
            minimums in proptest::collection::vec(1u32..4, 1..4),
            reviews in proptest::collection::vec((0usize..3, 0u128..6, any::<bool>()), 0..40),
        ) {
            let stages: Vec<_> = minimums.iter().map(|&m| stage(m)).collect();
            let mut a = approval(&stages);
            let who = approvers(&[0, 1, 2, 3, 4, 5]);
            let requester = [u(0)];
            for (step, reviewer, approve) in reviews {
                let result = if approve { ReviewResult::Approve } else { ReviewResult::Deny };
                let _ = a.review(step, u(reviewer), result, None, &who, &requester, t(1));
            }
            let all: Vec<_> = a.steps.iter().flat_map(|s| &s.reviews).map(|r| r.reviewed_by).collect();
            prop_assert!(!all.contains(&u(0)));
            let distinct: BTreeSet<_> = all.iter().collect();
            prop_assert_eq!(distinct.len(), all.len());
            if a.is_approved() {
                for s in &a.steps {
                    prop_assert!(s.approvals() >= s.settings.minimum_approvals as usize);
                }
            }
        }
    }
}
