//! A policy's recurring access reviews of the assignments it gave (run by the access reviews
//! of governance.md section 2; here only the settings and their rules).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::expiration::Expiration;
use super::read::{Fields, graph_enum};
use super::subject_set::{SubjectSet, Use, check_all};

graph_enum! {
    /// What happens to an assignment nobody reviewed.
    pub enum ExpirationBehavior {
        KeepAccess = "keepAccess",
        RemoveAccess = "removeAccess",
        AcceptAccessRecommendation = "acceptAccessRecommendation",
    }
}

const PATTERNS: &[&str] = &[
    "daily",
    "weekly",
    "absoluteMonthly",
    "relativeMonthly",
    "absoluteYearly",
    "relativeYearly",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewSettings {
    pub is_enabled: bool,
    pub is_self_review: bool,
    pub is_recommendation_enabled: bool,
    pub is_reviewer_justification_required: bool,
    pub primary_reviewers: Vec<SubjectSet>,
    pub fallback_reviewers: Vec<SubjectSet>,
    pub schedule: Option<ReviewSchedule>,
    pub expiration_behavior: ExpirationBehavior,
}

/// When reviews start, how long each lasts (`expiration`), and how they recur (Graph's
/// `patternedRecurrence`, kept as given once its pattern is checked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewSchedule {
    pub start_date_time: Option<DateTime<Utc>>,
    pub expiration: Expiration,
    pub recurrence: Option<Value>,
}

const FIELDS: &[&str] = &[
    "isEnabled",
    "isSelfReview",
    "isRecommendationEnabled",
    "isReviewerJustificationRequired",
    "primaryReviewers",
    "fallbackReviewers",
    "schedule",
    "expirationBehavior",
];

impl ReviewSettings {
    /// Reads `reviewSettings` (absent or null: no reviews).
    pub fn read(f: &mut Fields, now: DateTime<Utc>) -> Option<ReviewSettings> {
        let mut r = f.sub("reviewSettings")?;
        r.only(FIELDS);
        let schedule = r.sub("schedule").map(|mut s| {
            s.only(&["startDateTime", "expiration", "recurrence"]);
            let schedule = ReviewSchedule {
                start_date_time: s.opt("startDateTime"),
                expiration: Expiration::read(&mut s, now),
                recurrence: s.raw("recurrence").filter(|v| !v.is_null()).cloned(),
            };
            if let Some(rec) = &schedule.recurrence {
                let kind = rec.pointer("/pattern/type").and_then(Value::as_str);
                let interval = rec.pointer("/pattern/interval").and_then(Value::as_i64);
                if !kind.is_some_and(|k| PATTERNS.iter().any(|p| p.eq_ignore_ascii_case(k)))
                    || interval.is_some_and(|i| !(1..=99).contains(&i))
                {
                    s.push(
                        "InvalidRecurrence",
                        "recurrence.pattern",
                        format!(
                            "pattern.type must be one of {}, interval 1 to 99",
                            PATTERNS.join(", ")
                        ),
                    );
                }
            }
            r.absorb(s);
            schedule
        });
        let settings = ReviewSettings {
            is_enabled: r.opt("isEnabled").unwrap_or(false),
            is_self_review: r.opt("isSelfReview").unwrap_or(false),
            is_recommendation_enabled: r.opt("isRecommendationEnabled").unwrap_or(false),
            is_reviewer_justification_required: r
                .opt("isReviewerJustificationRequired")
                .unwrap_or(false),
            primary_reviewers: r.list("primaryReviewers"),
            fallback_reviewers: r.list("fallbackReviewers"),
            schedule,
            expiration_behavior: r
                .opt("expirationBehavior")
                .unwrap_or(ExpirationBehavior::KeepAccess),
        };
        for (field, sets) in [
            ("primaryReviewers", &settings.primary_reviewers),
            ("fallbackReviewers", &settings.fallback_reviewers),
        ] {
            let at = r.at(field);
            check_all(sets, Use::Relative, &at, &mut r.problems);
        }
        if settings.is_enabled {
            if settings
                .schedule
                .as_ref()
                .is_none_or(|s| s.recurrence.is_none())
                && !r.has_problem_under("schedule")
            {
                r.push(
                    "MissingField",
                    "schedule.recurrence",
                    "recurring reviews need a recurrence",
                );
            }
            if !settings.is_self_review
                && settings.primary_reviewers.is_empty()
                && !r.has_problem_under("primaryReviewers")
            {
                r.push(
                    "MissingReviewers",
                    "primaryReviewers",
                    "reviews need reviewers, or isSelfReview",
                );
            }
        }
        f.absorb(r);
        Some(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Vec<String> {
        let body = json!({ "reviewSettings": v });
        let mut f = Fields::of(&body, "");
        ReviewSettings::read(&mut f, DateTime::<Utc>::UNIX_EPOCH);
        f.problems
            .iter()
            .map(|p| format!("{} {}", p.code, p.target))
            .collect()
    }

    #[test]
    fn reviews_need_a_recurrence_and_reviewers() {
        let ok = json!({"isEnabled": true, "expirationBehavior": "RemoveAccess", "isSelfReview": false,
            "primaryReviewers": [{"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1}],
            "schedule": {"startDateTime": "2030-01-01T00:00:00Z",
                         "expiration": {"type": "afterDuration", "duration": "P14D"},
                         "recurrence": {"pattern": {"type": "absoluteMonthly", "interval": 3}, "range": {"type": "noEnd"}}}});
        assert!(read(ok).is_empty());
        assert_eq!(
            read(json!({"isEnabled": true})),
            [
                "MissingField reviewSettings.schedule.recurrence",
                "MissingReviewers reviewSettings.primaryReviewers"
            ]
        );
        assert_eq!(
            read(json!({"isEnabled": false, "expirationBehavior": "forget",
                        "schedule": {"recurrence": {"pattern": {"type": "hourly"}}}})),
            [
                "InvalidRecurrence reviewSettings.schedule.recurrence.pattern",
                "InvalidValue reviewSettings.expirationBehavior"
            ]
        );
    }
}
