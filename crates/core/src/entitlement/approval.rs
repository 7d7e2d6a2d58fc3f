//! A policy's approval settings: whether requests need approval, and up to three stages, each
//! with primary approvers, fallback approvers (when the primary set resolves to nobody, e.g. a
//! requester without a manager), escalation after a while, automatic denial after longer, and
//! **Eligo**'s `minimumApprovals` (distinct approvers who must approve the stage).

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::read::{Fields, duration};
use super::subject_set::{SubjectSet, Use, check_all};

pub const MAX_STAGES: usize = crate::policy::MAX_APPROVAL_STAGES;

/// The longest a stage may wait before it is denied: 14 days, as in Entra.
pub fn max_stage_duration() -> TimeDelta {
    TimeDelta::days(14)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSettings {
    pub is_approval_required_for_add: bool,
    pub is_approval_required_for_update: bool,
    pub is_requestor_justification_required: bool,
    pub stages: Vec<ApprovalStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStage {
    #[serde(with = "iso")]
    pub duration_before_automatic_denial: TimeDelta,
    pub is_approver_justification_required: bool,
    pub is_escalation_enabled: bool,
    /// Zero when escalation is off.
    #[serde(with = "iso")]
    pub duration_before_escalation: TimeDelta,
    pub primary_approvers: Vec<SubjectSet>,
    pub fallback_primary_approvers: Vec<SubjectSet>,
    pub escalation_approvers: Vec<SubjectSet>,
    pub fallback_escalation_approvers: Vec<SubjectSet>,
    /// Eligo: distinct approvals this stage needs (1 to 5).
    pub minimum_approvals: u32,
}

mod iso {
    use chrono::TimeDelta;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &TimeDelta, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::duration::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TimeDelta, D::Error> {
        let text = String::deserialize(d)?;
        crate::duration::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

const SETTINGS_FIELDS: &[&str] = &[
    "isApprovalRequiredForAdd",
    "isApprovalRequiredForUpdate",
    "isRequestorJustificationRequired",
    "stages",
];

const STAGE_FIELDS: &[&str] = &[
    "id",
    "durationBeforeAutomaticDenial",
    "isApproverJustificationRequired",
    "isEscalationEnabled",
    "durationBeforeEscalation",
    "primaryApprovers",
    "fallbackPrimaryApprovers",
    "escalationApprovers",
    "fallbackEscalationApprovers",
    "minimumApprovals",
];

impl ApprovalSettings {
    /// Reads `requestApprovalSettings` (absent: no approval).
    pub fn read(f: &mut Fields) -> ApprovalSettings {
        let Some(mut s) = f.sub("requestApprovalSettings") else {
            return ApprovalSettings::default();
        };
        s.only(SETTINGS_FIELDS);
        let mut out = ApprovalSettings {
            is_approval_required_for_add: s.opt("isApprovalRequiredForAdd").unwrap_or(false),
            is_approval_required_for_update: s.opt("isApprovalRequiredForUpdate").unwrap_or(false),
            is_requestor_justification_required: s
                .opt("isRequestorJustificationRequired")
                .unwrap_or(false),
            stages: Vec::new(),
        };
        let stages = s.items("stages");
        if stages.len() > MAX_STAGES {
            s.push(
                "TooManyApprovalStages",
                "stages",
                format!("at most {MAX_STAGES} stages, in the order they are decided"),
            );
        }
        for (i, stage) in stages.into_iter().enumerate() {
            let mut st = Fields::of(stage, &s.at(&format!("stages[{i}]")));
            if let Some(stage) = ApprovalStage::read(&mut st) {
                out.stages.push(stage);
            }
            s.absorb(st);
        }
        let needs = out.is_approval_required_for_add || out.is_approval_required_for_update;
        if needs && out.stages.is_empty() && !s.has_problem_under("stages") {
            s.push(
                "MissingApprovalStages",
                "stages",
                "approval needs at least one stage",
            );
        }
        f.absorb(s);
        out
    }
}

impl ApprovalStage {
    fn read(st: &mut Fields) -> Option<ApprovalStage> {
        st.only(STAGE_FIELDS);
        let denial = if st.has("durationBeforeAutomaticDenial") {
            duration(st, "durationBeforeAutomaticDenial", max_stage_duration())
        } else {
            Some(max_stage_duration())
        };
        let is_escalation_enabled: bool = st.opt("isEscalationEnabled").unwrap_or(false);
        let escalation = if is_escalation_enabled {
            if st.has("durationBeforeEscalation") {
                duration(st, "durationBeforeEscalation", max_stage_duration())
            } else {
                st.push(
                    "MissingField",
                    "durationBeforeEscalation",
                    "escalation needs a time",
                );
                None
            }
        } else {
            Some(TimeDelta::zero())
        };
        let stage = ApprovalStage {
            duration_before_automatic_denial: denial.unwrap_or(max_stage_duration()),
            is_approver_justification_required: st
                .opt("isApproverJustificationRequired")
                .unwrap_or(false),
            is_escalation_enabled,
            duration_before_escalation: escalation.unwrap_or_default(),
            primary_approvers: st.list("primaryApprovers"),
            fallback_primary_approvers: st.list("fallbackPrimaryApprovers"),
            escalation_approvers: st.list("escalationApprovers"),
            fallback_escalation_approvers: st.list("fallbackEscalationApprovers"),
            minimum_approvals: st.opt("minimumApprovals").unwrap_or(1),
        };
        for (field, sets) in [
            ("primaryApprovers", &stage.primary_approvers),
            (
                "fallbackPrimaryApprovers",
                &stage.fallback_primary_approvers,
            ),
            ("escalationApprovers", &stage.escalation_approvers),
            (
                "fallbackEscalationApprovers",
                &stage.fallback_escalation_approvers,
            ),
        ] {
            let at = st.at(field);
            check_all(sets, Use::Relative, &at, &mut st.problems);
        }
        if stage.primary_approvers.is_empty() && !st.has_problem_under("primaryApprovers") {
            st.push(
                "MissingApprovers",
                "primaryApprovers",
                "a stage needs at least one primary approver",
            );
        }
        if !(1..=5).contains(&stage.minimum_approvals) {
            st.push(
                "InvalidValue",
                "minimumApprovals",
                "must be between 1 and 5",
            );
        }
        if stage.is_escalation_enabled {
            if stage.escalation_approvers.is_empty() && !st.has_problem_under("escalationApprovers")
            {
                st.push(
                    "MissingApprovers",
                    "escalationApprovers",
                    "escalation needs escalation approvers",
                );
            }
            if let (Some(esc), Some(deny)) = (escalation, denial)
                && esc >= deny
            {
                st.push(
                    "InvalidDuration",
                    "durationBeforeEscalation",
                    "must be shorter than durationBeforeAutomaticDenial, or the stage is denied before it escalates",
                );
            }
        }
        (denial.is_some() && escalation.is_some()).then_some(stage)
    }
}

/// A request's approval: the policy's stages as they were when the request was made (so a
/// later policy change does not move the goalposts) beside the progress of the one approval
/// engine (`crate::approval`), whose steps carry the stages' durations. Who may decide a stage
/// is resolved by the server at the moment of the review from `stages[i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestApproval {
    pub stages: Vec<ApprovalStage>,
    pub progress: crate::approval::Approval,
}

impl RequestApproval {
    /// The approval of a request made at `now`: its first stage starts now.
    pub fn start(
        stages: &[ApprovalStage],
        ids: impl FnMut() -> uuid::Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let engine: Vec<crate::policy::ApprovalStage> = stages
            .iter()
            .map(|s| crate::policy::ApprovalStage {
                approval_stage_time_out_in_days: 1,
                is_approver_justification_required: s.is_approver_justification_required,
                escalation_time_in_minutes: 0,
                is_escalation_enabled: s.is_escalation_enabled,
                primary_approvers: Vec::new(),
                escalation_approvers: Vec::new(),
                minimum_approvals: s.minimum_approvals.max(1),
            })
            .collect();
        let mut progress = crate::approval::Approval::start(&engine, ids, now);
        for (step, stage) in progress.steps.iter_mut().zip(stages) {
            step.timing = Some(crate::approval::StepTiming {
                timeout_seconds: stage.duration_before_automatic_denial.num_seconds(),
                escalation_seconds: stage
                    .is_escalation_enabled
                    .then(|| stage.duration_before_escalation.num_seconds()),
            });
        }
        Self {
            stages: stages.to_vec(),
            progress,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn read(v: Value) -> (ApprovalSettings, Vec<String>) {
        let body = json!({ "requestApprovalSettings": v });
        let mut f = Fields::of(&body, "");
        let a = ApprovalSettings::read(&mut f);
        let p = f
            .problems
            .iter()
            .map(|p| format!("{} {}", p.code, p.target))
            .collect();
        (a, p)
    }

    fn manager() -> Value {
        json!({"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1})
    }

    fn user() -> Value {
        json!({"@odata.type": "#microsoft.graph.singleUser", "userId": "62e90394-69f5-4237-9190-012177145e10"})
    }

    #[test]
    fn a_manager_stage_with_a_fallback() {
        let (a, p) = read(json!({
            "isApprovalRequiredForAdd": true, "isRequestorJustificationRequired": true,
            "stages": [{"durationBeforeAutomaticDenial": "P2D", "isEscalationEnabled": false,
                        "durationBeforeEscalation": "PT0S",
                        "primaryApprovers": [manager()], "fallbackPrimaryApprovers": [user()]}]
        }));
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            a.stages[0].duration_before_automatic_denial,
            TimeDelta::days(2)
        );
        assert_eq!(a.stages[0].minimum_approvals, 1);
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["stages"][0]["durationBeforeAutomaticDenial"], "P2D");
        assert_eq!(
            v["stages"][0]["primaryApprovers"][0]["@odata.type"],
            "#microsoft.graph.requestorManager"
        );
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let stage = json!({"primaryApprovers": [user()]});
        let (_, p) =
            read(json!({"isApprovalRequiredForAdd": true, "stages": [stage, stage, stage, stage]}));
        assert_eq!(p, ["TooManyApprovalStages requestApprovalSettings.stages"]);
        let (_, p) = read(json!({"isApprovalRequiredForAdd": true, "stages": []}));
        assert_eq!(p, ["MissingApprovalStages requestApprovalSettings.stages"]);
        let (_, p) = read(json!({"stages": [{
            "durationBeforeAutomaticDenial": "-P1D", "primaryApprovers": [],
            "isEscalationEnabled": true, "durationBeforeEscalation": "P3D",
            "minimumApprovals": 9,
            "escalationApprovers": [{"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 4}],
        }]}));
        assert_eq!(
            p,
            [
                "InvalidDuration requestApprovalSettings.stages[0].durationBeforeAutomaticDenial",
                "InvalidManagerLevel requestApprovalSettings.stages[0].escalationApprovers[0].managerLevel",
                "MissingApprovers requestApprovalSettings.stages[0].primaryApprovers",
                "InvalidValue requestApprovalSettings.stages[0].minimumApprovals",
            ]
        );
        let (_, p) = read(json!({"stages": [{
            "durationBeforeAutomaticDenial": "P1D", "primaryApprovers": [user()],
            "isEscalationEnabled": true, "durationBeforeEscalation": "P2D", "escalationApprovers": [user()],
        }]}));
        assert_eq!(
            p,
            ["InvalidDuration requestApprovalSettings.stages[0].durationBeforeEscalation"]
        );
    }

    #[test]
    fn a_request_approval_times_its_stages_in_durations() {
        use crate::approval::{ReviewResult, StageApprovers};
        let (a, _) = read(json!({
            "isApprovalRequiredForAdd": true,
            "stages": [{"durationBeforeAutomaticDenial": "PT12H", "primaryApprovers": [user()],
                        "isEscalationEnabled": true, "durationBeforeEscalation": "PT2H",
                        "escalationApprovers": [user()], "minimumApprovals": 2}]
        }));
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut n = 0u128;
        let mut r = RequestApproval::start(
            &a.stages,
            || {
                n += 1;
                uuid::Uuid::from_u128(n)
            },
            t0,
        );
        let step = &r.progress.steps[0];
        assert_eq!(step.deadline(), Some(t0 + TimeDelta::hours(12)));
        assert_eq!(step.escalation_from(), Some(t0 + TimeDelta::hours(2)));
        let who = StageApprovers {
            primary: [uuid::Uuid::from_u128(7), uuid::Uuid::from_u128(8)].into(),
            escalation: Default::default(),
        };
        let one = r.progress.review(
            0,
            uuid::Uuid::from_u128(7),
            ReviewResult::Approve,
            None,
            &who,
            &[],
            t0,
        );
        assert_eq!(one, Ok(crate::approval::Outcome::Recorded { remaining: 1 }));
        assert!(!r.progress.is_expired(t0 + TimeDelta::hours(11)));
        assert!(r.progress.is_expired(t0 + TimeDelta::hours(12)));
        // Stored as it was: a later policy change does not reach it.
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(serde_json::from_value::<RequestApproval>(v).unwrap(), r);
    }
}
