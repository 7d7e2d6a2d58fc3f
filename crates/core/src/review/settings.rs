//! An access review definition's settings (Graph's `accessReviewScheduleSettings`) and its
//! recurrence: read strictly, kept in Graph's own shape (so they are echoed as they were
//! given), and asked when each instance starts.

use chrono::{DateTime, Months, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Decision;
use crate::entitlement::read::{Fields, graph_enum, odata_type};

graph_enum! {
    /// What an unreviewed decision becomes at the end, when `defaultDecisionEnabled`.
    pub enum DefaultDecision {
        Approve = "Approve",
        Deny = "Deny",
        Recommendation = "Recommendation",
        None = "None",
    }
}

graph_enum! {
    pub enum PatternType {
        Weekly = "weekly",
        AbsoluteMonthly = "absoluteMonthly",
    }
}

graph_enum! {
    pub enum RangeType {
        NoEnd = "noEnd",
        EndDate = "endDate",
        Numbered = "numbered",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pattern {
    #[serde(rename = "type")]
    pub kind: PatternType,
    pub interval: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeType,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub number_of_occurrences: Option<u32>,
}

/// Graph's `patternedRecurrence`, the forms Eligo honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recurrence {
    pub pattern: Pattern,
    pub range: Range,
}

impl Recurrence {
    /// The start of occurrence `k` (0 is the first), at `time` of day UTC; None past the range.
    pub fn occurrence(&self, k: u32, time: NaiveTime) -> Option<DateTime<Utc>> {
        let first = self.range.start_date;
        let date = match self.pattern.kind {
            PatternType::Weekly => first.checked_add_signed(TimeDelta::weeks(
                i64::from(k) * i64::from(self.pattern.interval),
            ))?,
            // The same day of the month; a shorter month ends its occurrence on its last day.
            PatternType::AbsoluteMonthly => {
                first.checked_add_months(Months::new(k.checked_mul(self.pattern.interval)?))?
            }
        };
        let within = match self.range.kind {
            RangeType::NoEnd => true,
            RangeType::EndDate => self.range.end_date.is_some_and(|end| date <= end),
            RangeType::Numbered => self.range.number_of_occurrences.is_some_and(|n| k < n),
        };
        within.then(|| date.and_time(time).and_utc())
    }

    /// The shortest period between two starts, in days: an instance must end before the next.
    pub fn shortest_period_days(&self) -> u32 {
        match self.pattern.kind {
            PatternType::Weekly => 7 * self.pattern.interval,
            PatternType::AbsoluteMonthly => 28 * self.pattern.interval,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub mail_notifications_enabled: bool,
    pub reminder_notifications_enabled: bool,
    pub just_in_time_response_required: bool,
    pub default_decision_enabled: bool,
    pub default_decision: DefaultDecision,
    pub instance_duration_in_days: u32,
    pub auto_apply_decisions_enabled: bool,
    pub recommendations_enabled: bool,
    /// ISO 8601, as given (default P30D).
    pub recommendation_look_back_duration: String,
    pub decision_histories_for_reviewers_enabled: bool,
    pub justification_required_on_approval: bool,
    /// None: a one-time review, started at its creation.
    pub recurrence: Option<Recurrence>,
}

impl Settings {
    pub fn look_back(&self) -> TimeDelta {
        crate::duration::parse_duration(&self.recommendation_look_back_duration)
            .unwrap_or(TimeDelta::days(30))
    }

    /// What an unreviewed decision becomes at the end of the instance (None: it stays
    /// NotReviewed and nothing is applied for it).
    pub fn default_for(&self, recommendation: super::Recommendation) -> Option<Decision> {
        if !self.default_decision_enabled {
            return None;
        }
        match self.default_decision {
            DefaultDecision::Approve => Some(Decision::Approve),
            DefaultDecision::Deny => Some(Decision::Deny),
            DefaultDecision::Recommendation => recommendation.as_decision(),
            DefaultDecision::None => None,
        }
    }
}

const FIELDS: &[&str] = &[
    "mailNotificationsEnabled",
    "reminderNotificationsEnabled",
    "justInTimeResponseRequiredEnabled",
    "defaultDecisionEnabled",
    "defaultDecision",
    "instanceDurationInDays",
    "autoApplyDecisionsEnabled",
    "recommendationsEnabled",
    "recommendationLookBackDuration",
    "recommendationInsightSettings",
    "decisionHistoriesForReviewersEnabled",
    "justificationRequiredOnApproval",
    "recurrence",
    "applyActions",
];

/// The longest instance Eligo runs, and the longest look-back a recommendation may use.
pub const MAX_DURATION_DAYS: u32 = 365;

/// Accepts a date (`2027-01-01`) or a date-time (Graph's examples send both) as a date.
fn start_date(value: &Value, now: DateTime<Utc>) -> Result<NaiveDate, String> {
    match value {
        Value::Null => Ok(now.date_naive()),
        Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .or_else(|_| {
                DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc).date_naive())
            })
            .map_err(|_| format!("'{s}' is not a date (YYYY-MM-DD)")),
        _ => Err("must be a date (YYYY-MM-DD)".into()),
    }
}

fn read_recurrence(f: &mut Fields, now: DateTime<Utc>) -> Option<Recurrence> {
    let mut r = f.sub("recurrence")?;
    r.only(&["pattern", "range"]);
    let mut p = r.sub("pattern");
    let pattern = p.as_mut().and_then(|p| {
        p.only(&[
            "type",
            "interval",
            "month",
            "dayOfMonth",
            "daysOfWeek",
            "firstDayOfWeek",
            "index",
        ]);
        let text: Option<String> = p.required("type");
        let kind = text.as_deref().and_then(|t| {
            let kind = PatternType::parse(t);
            if kind.is_none() {
                p.push(
                    "UnsupportedRecurrence",
                    "type",
                    format!("'{t}' is not a recurrence Eligo runs: use weekly or absoluteMonthly"),
                );
            }
            kind
        });
        let interval: u32 = p.opt("interval").unwrap_or(1);
        if !(1..=99).contains(&interval) {
            p.push("UnsupportedRecurrence", "interval", "must be 1 to 99");
        }
        Some(Pattern {
            kind: kind?,
            interval,
        })
    });
    if let Some(p) = p {
        r.absorb(p);
    } else {
        r.push("MissingField", "pattern", "is required");
    }
    let mut g = r.sub("range");
    let range = g.as_mut().and_then(|g| {
        g.only(&[
            "type",
            "startDate",
            "endDate",
            "numberOfOccurrences",
            "recurrenceTimeZone",
        ]);
        let kind = g.opt::<RangeType>("type").unwrap_or(RangeType::NoEnd);
        let start = match start_date(g.raw("startDate").unwrap_or(&Value::Null), now) {
            Ok(d) => Some(d),
            Err(e) => {
                g.push("InvalidValue", "startDate", e);
                None
            }
        };
        let end = match g.raw("endDate").filter(|v| !v.is_null()) {
            None => None,
            Some(v) => match start_date(v, now) {
                Ok(d) => Some(d),
                Err(e) => {
                    g.push("InvalidValue", "endDate", e);
                    None
                }
            },
        };
        let count: Option<u32> = g.opt("numberOfOccurrences");
        match kind {
            RangeType::EndDate if end.is_none() && !g.has_problem_under("endDate") => g.push(
                "MissingField",
                "endDate",
                "an endDate range needs its end date",
            ),
            RangeType::EndDate if end.zip(start).is_some_and(|(e, s)| e < s) => {
                g.push("UnsupportedRecurrence", "endDate", "ends before it starts")
            }
            RangeType::Numbered if count.is_none_or(|n| n == 0) => g.push(
                "UnsupportedRecurrence",
                "numberOfOccurrences",
                "a numbered range needs at least one occurrence",
            ),
            _ => {}
        }
        Some(Range {
            kind,
            start_date: start?,
            end_date: end,
            number_of_occurrences: count,
        })
    });
    if let Some(g) = g {
        r.absorb(g);
    } else {
        r.push("MissingField", "range", "is required");
    }
    f.absorb(r);
    Some(Recurrence {
        pattern: pattern?,
        range: range?,
    })
}

impl Settings {
    /// Reads `settings` (absent: the defaults, a one-time review of 14 days).
    pub fn read(f: &mut Fields, now: DateTime<Utc>) -> Settings {
        let Some(mut s) = f.sub("settings") else {
            return Settings::defaults();
        };
        let settings = Settings::read_fields(&mut s, now);
        f.absorb(s);
        settings
    }

    fn read_fields(s: &mut Fields, now: DateTime<Utc>) -> Settings {
        s.only(FIELDS);
        let d = Settings::defaults();
        let recurrence = read_recurrence(s, now);
        let look_back: String = s
            .opt("recommendationLookBackDuration")
            .unwrap_or(d.recommendation_look_back_duration.clone());
        match crate::duration::parse_duration(&look_back) {
            Ok(l) if l >= TimeDelta::days(1) && l <= TimeDelta::days(MAX_DURATION_DAYS.into()) => {}
            _ => s.push(
                "InvalidDuration",
                "recommendationLookBackDuration",
                "must be an ISO 8601 duration of 1 to 365 days",
            ),
        }
        let settings = Settings {
            mail_notifications_enabled: s.opt("mailNotificationsEnabled").unwrap_or(true),
            reminder_notifications_enabled: s.opt("reminderNotificationsEnabled").unwrap_or(true),
            just_in_time_response_required: s
                .opt("justInTimeResponseRequiredEnabled")
                .unwrap_or(false),
            default_decision_enabled: s.opt("defaultDecisionEnabled").unwrap_or(false),
            default_decision: s.opt("defaultDecision").unwrap_or(DefaultDecision::None),
            // Absent: 14 days, or the whole period of a shorter recurrence.
            instance_duration_in_days: s.opt("instanceDurationInDays").unwrap_or_else(|| {
                recurrence.map_or(d.instance_duration_in_days, |r| {
                    d.instance_duration_in_days.min(r.shortest_period_days())
                })
            }),
            auto_apply_decisions_enabled: s.opt("autoApplyDecisionsEnabled").unwrap_or(false),
            recommendations_enabled: s.opt("recommendationsEnabled").unwrap_or(false),
            recommendation_look_back_duration: look_back,
            decision_histories_for_reviewers_enabled: s
                .opt("decisionHistoriesForReviewersEnabled")
                .unwrap_or(false),
            justification_required_on_approval: s
                .opt("justificationRequiredOnApproval")
                .unwrap_or(false),
            recurrence,
        };
        // What a Deny does: Eligo removes the access; disabling or deleting the account is
        // not something a review does here, so asking for it is refused, not ignored.
        for (i, action) in s.items("applyActions").into_iter().enumerate() {
            let kind = odata_type(action).unwrap_or("");
            if !kind.eq_ignore_ascii_case("removeAccessApplyAction") {
                s.push(
                    "UnsupportedApplyAction",
                    &format!("applyActions[{i}]"),
                    "a denied decision removes the access (removeAccessApplyAction); Eligo does not disable or delete accounts from a review",
                );
            }
        }
        if !(1..=MAX_DURATION_DAYS).contains(&settings.instance_duration_in_days) {
            s.push("InvalidValue", "instanceDurationInDays", "must be 1 to 365");
        } else if let Some(r) = &settings.recurrence
            && settings.instance_duration_in_days > r.shortest_period_days()
        {
            s.push(
                "UnsupportedRecurrence",
                "instanceDurationInDays",
                format!(
                    "an instance must end before the next one starts: at most {} days with this recurrence",
                    r.shortest_period_days()
                ),
            );
        }
        settings
    }

    pub fn defaults() -> Settings {
        Settings {
            mail_notifications_enabled: true,
            reminder_notifications_enabled: true,
            just_in_time_response_required: false,
            default_decision_enabled: false,
            default_decision: DefaultDecision::None,
            instance_duration_in_days: 14,
            auto_apply_decisions_enabled: false,
            recommendations_enabled: false,
            recommendation_look_back_duration: "P30D".into(),
            decision_histories_for_reviewers_enabled: false,
            justification_required_on_approval: false,
            recurrence: None,
        }
    }
}
