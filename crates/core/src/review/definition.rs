//! An access review definition (`accessReviewScheduleDefinition`): read from what a Graph
//! client sends, every broken rule reported at once; kept with the scope and reviewers as
//! given (they are echoed back) and read into their meaning when an instance starts.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::query::{self, REVIEWER_FORMS, ReviewerQuery, SCOPE_FORMS, ScopeQuery};
use super::settings::Settings;
use super::{Decision, DefinitionStatus, Party};
use crate::entitlement::read::{Fields, check_description, check_display_name, odata_type};
use crate::invalid::Invalid;

/// A reviewer scope as Graph writes it (`accessReviewReviewerScope`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewerSet {
    pub query: String,
    pub query_root: Option<String>,
    pub query_type: String,
}

impl ReviewerSet {
    pub fn meaning(&self) -> Option<ReviewerQuery> {
        query::parse_reviewer(&self.query, self.query_root.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageSettings {
    pub stage_id: String,
    pub depends_on: Vec<String>,
    pub duration_in_days: u32,
    pub decisions_that_will_move_to_next_stage: Vec<Decision>,
    pub reviewers: Vec<ReviewerSet>,
    pub fallback_reviewers: Vec<ReviewerSet>,
    pub recommendations_enabled: bool,
}

/// Where a definition came from when Eligo made it (an access package policy's reviewSettings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    pub assignment_policy_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    pub id: Uuid,
    pub display_name: String,
    pub description_for_admins: String,
    pub description_for_reviewers: String,
    pub status: DefinitionStatus,
    pub created_by: Party,
    pub created_date_time: DateTime<Utc>,
    pub last_modified_date_time: DateTime<Utc>,
    /// The scope as given (echoed back).
    pub scope: Value,
    pub scope_query: ScopeQuery,
    /// For an inactive-users scope: only principals without use for this long.
    pub inactive_duration: Option<String>,
    pub instance_enumeration_scope: Option<Value>,
    pub reviewers: Vec<ReviewerSet>,
    pub fallback_reviewers: Vec<ReviewerSet>,
    pub settings: Settings,
    pub stage_settings: Vec<StageSettings>,
    /// How many instances have started, and when the next one starts (None: no more).
    pub instances_started: u32,
    pub next_start: Option<DateTime<Utc>>,
    pub origin: Option<Origin>,
}

const FIELDS: &[&str] = &[
    "id",
    "displayName",
    "descriptionForAdmins",
    "descriptionForReviewers",
    "scope",
    "instanceEnumerationScope",
    "reviewers",
    "fallbackReviewers",
    "backupReviewers",
    "additionalNotificationRecipients",
    "settings",
    "stageSettings",
    "status",
    "createdBy",
    "createdDateTime",
    "lastModifiedDateTime",
];

/// The most stages a review may have.
pub const MAX_STAGES: usize = 3;

fn reviewer_sets(f: &mut Fields, field: &str) -> Vec<ReviewerSet> {
    let mut out = Vec::new();
    for (i, item) in f.items(field).into_iter().enumerate() {
        let at = format!("{field}[{i}]");
        let query = item.get("query").and_then(Value::as_str);
        let root = item.get("queryRoot").and_then(Value::as_str);
        match query {
            Some(q) if query::parse_reviewer(q, root).is_some() => out.push(ReviewerSet {
                query: q.to_string(),
                query_root: root.map(str::to_string),
                query_type: item
                    .get("queryType")
                    .and_then(Value::as_str)
                    .unwrap_or("MicrosoftGraph")
                    .to_string(),
            }),
            _ => f.push(
                "UnsupportedReviewerQuery",
                &at,
                format!("a reviewer query is one of {REVIEWER_FORMS}"),
            ),
        }
    }
    out
}

fn read_scope(f: &mut Fields) -> Option<(Value, ScopeQuery, Option<String>)> {
    let Some(scope) = f.raw("scope").filter(|v| !v.is_null()) else {
        f.push("MissingField", "scope", "is required");
        return None;
    };
    let kind = odata_type(scope).unwrap_or("accessReviewQueryScope");
    let inactive = kind.eq_ignore_ascii_case("accessReviewInactiveUsersQueryScope");
    if !inactive && !kind.eq_ignore_ascii_case("accessReviewQueryScope") {
        f.push(
            "UnsupportedScope",
            "scope",
            format!("'{kind}' scopes are not supported: use accessReviewQueryScope or accessReviewInactiveUsersQueryScope"),
        );
        return None;
    }
    let query = scope.get("query").and_then(Value::as_str).unwrap_or("");
    let Some(parsed) = query::parse_scope(query) else {
        f.push(
            "UnsupportedScope",
            "scope.query",
            format!("'{query}' is not a scope Eligo reviews; use one of {SCOPE_FORMS}"),
        );
        return None;
    };
    let inactive_duration = if inactive {
        let text = scope.get("inactiveDuration").and_then(Value::as_str);
        match text.map(crate::duration::parse_duration) {
            Some(Ok(d)) if d >= TimeDelta::days(1) && d <= TimeDelta::days(730) => {
                text.map(str::to_string)
            }
            _ => {
                f.push(
                    "InvalidDuration",
                    "scope.inactiveDuration",
                    "an inactive-users scope needs an ISO 8601 inactiveDuration of 1 to 730 days",
                );
                return None;
            }
        }
    } else {
        None
    };
    Some((scope.clone(), parsed, inactive_duration))
}

fn read_stages(f: &mut Fields, settings: &Settings) -> Vec<StageSettings> {
    let items = f.items("stageSettings");
    if items.len() > MAX_STAGES {
        f.push(
            "TooManyStages",
            "stageSettings",
            "a review has at most 3 stages",
        );
        return Vec::new();
    }
    let mut stages: Vec<StageSettings> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let mut s = Fields::of(item, &f.at(&format!("stageSettings[{i}]")));
        s.only(&[
            "stageId",
            "dependsOn",
            "durationInDays",
            "decisionsThatWillMoveToNextStage",
            "reviewers",
            "fallbackReviewers",
            "recommendationsEnabled",
            "recommendationInsightSettings",
            "recommendationLookBackDuration",
        ]);
        let stage_id: String = s.required("stageId").unwrap_or_default();
        let depends_on: Vec<String> = s.list("dependsOn");
        let expected: Vec<String> = stages
            .last()
            .map(|p| p.stage_id.clone())
            .into_iter()
            .collect();
        if depends_on != expected {
            s.push(
                "InvalidStages",
                "dependsOn",
                "stages run one after the other: each depends on the one before it (the first on none)",
            );
        }
        if stages.iter().any(|p| p.stage_id == stage_id) {
            s.push("InvalidStages", "stageId", "stage ids must be unique");
        }
        let duration: u32 = s.required("durationInDays").unwrap_or(0);
        if !(1..=super::settings::MAX_DURATION_DAYS).contains(&duration) {
            s.push("InvalidValue", "durationInDays", "must be 1 to 365");
        }
        let stage = StageSettings {
            stage_id,
            depends_on,
            duration_in_days: duration,
            decisions_that_will_move_to_next_stage: s.list("decisionsThatWillMoveToNextStage"),
            reviewers: reviewer_sets(&mut s, "reviewers"),
            fallback_reviewers: reviewer_sets(&mut s, "fallbackReviewers"),
            recommendations_enabled: s
                .opt("recommendationsEnabled")
                .unwrap_or(settings.recommendations_enabled),
        };
        f.absorb(s);
        stages.push(stage);
    }
    stages
}

impl Definition {
    /// Reads a new definition (`POST definitions`) by `creator` at `now`, to be stored as `id`.
    pub fn read(
        body: &Value,
        id: Uuid,
        creator: Party,
        now: DateTime<Utc>,
    ) -> Result<Definition, Vec<Invalid>> {
        let mut f = Fields::of(body, "");
        f.only(FIELDS);
        let display_name: String = f.required("displayName").unwrap_or_default();
        check_display_name(&display_name, "displayName", &mut f.problems);
        let description_for_admins: String = f.opt("descriptionForAdmins").unwrap_or_default();
        let description_for_reviewers: String =
            f.opt("descriptionForReviewers").unwrap_or_default();
        check_description(
            &description_for_admins,
            "descriptionForAdmins",
            &mut f.problems,
        );
        check_description(
            &description_for_reviewers,
            "descriptionForReviewers",
            &mut f.problems,
        );
        let scope = read_scope(&mut f);
        let reviewers = reviewer_sets(&mut f, "reviewers");
        let mut fallback_reviewers = reviewer_sets(&mut f, "fallbackReviewers");
        if fallback_reviewers.is_empty() {
            fallback_reviewers = reviewer_sets(&mut f, "backupReviewers");
        }
        let mut settings = Settings::read(&mut f, now);
        let stage_settings = read_stages(&mut f, &settings);
        if !stage_settings.is_empty() {
            let total: u32 = stage_settings.iter().map(|s| s.duration_in_days).sum();
            let given = f
                .raw("settings")
                .and_then(|s| s.get("instanceDurationInDays"))
                .and_then(Value::as_u64);
            if given.is_some_and(|g| g != u64::from(total)) {
                f.push(
                    "InvalidStages",
                    "settings.instanceDurationInDays",
                    format!("the stages last {total} days together: instanceDurationInDays must be {total} (or left out)"),
                );
            }
            settings.instance_duration_in_days = total;
            if let Some(r) = &settings.recurrence
                && total > r.shortest_period_days()
                && !f.has_problem_under("settings")
            {
                f.push(
                    "UnsupportedRecurrence",
                    "stageSettings",
                    "the stages last longer than the time between two instances",
                );
            }
        }
        if let Some(problem) = later_self_review(&stage_settings) {
            f.problems.push(problem);
        }
        if !f.problems.is_empty() {
            return Err(f.problems);
        }
        let (scope, scope_query, inactive_duration) = scope.expect("no problem means a scope");
        let first = settings
            .recurrence
            .and_then(|r| r.occurrence(0, now.time()))
            .unwrap_or(now)
            .max(now);
        Ok(Definition {
            id,
            display_name,
            description_for_admins,
            description_for_reviewers,
            status: DefinitionStatus::NotStarted,
            created_by: creator,
            created_date_time: now,
            last_modified_date_time: now,
            scope,
            scope_query,
            inactive_duration,
            instance_enumeration_scope: body
                .get("instanceEnumerationScope")
                .filter(|v| !v.is_null())
                .cloned(),
            reviewers,
            fallback_reviewers,
            settings,
            stage_settings,
            instances_started: 0,
            next_start: Some(first),
            origin: None,
        })
    }

    /// `PUT definitions/{id}`: the names, descriptions, reviewers and settings change; the
    /// scope does not (Graph refuses that too). Running instances keep their snapshot and
    /// their reviewers; the change applies from the next instance.
    pub fn update(&self, body: &Value, now: DateTime<Utc>) -> Result<Definition, Vec<Invalid>> {
        let mut fresh = Definition::read(body, self.id, self.created_by.clone(), now)?;
        if fresh.scope_query != self.scope_query
            || fresh.inactive_duration != self.inactive_duration
        {
            return Err(vec![Invalid::new(
                "ScopeIsFixed",
                "scope",
                "the scope of a review cannot change: create a new review",
            )]);
        }
        fresh.status = self.status;
        fresh.created_date_time = self.created_date_time;
        fresh.instances_started = self.instances_started;
        fresh.origin = self.origin.clone();
        fresh.next_start = if self.status == DefinitionStatus::Completed {
            None
        } else {
            fresh.occurrence_after(self.instances_started)
        };
        Ok(fresh)
    }

    /// The start of the instance after `started` have run, at the time of day of the first.
    pub fn occurrence_after(&self, started: u32) -> Option<DateTime<Utc>> {
        let time = self.next_start.map(|t| t.time()).unwrap_or(NaiveTime::MIN);
        match &self.settings.recurrence {
            Some(r) => r.occurrence(started, time),
            None if started == 0 => self.next_start,
            None => None,
        }
    }

    /// The stages an instance runs: the definition's, or one made of its reviewers and
    /// instance duration.
    pub fn stages(&self) -> Vec<StageSettings> {
        if !self.stage_settings.is_empty() {
            return self.stage_settings.clone();
        }
        vec![StageSettings {
            stage_id: "1".into(),
            depends_on: Vec::new(),
            duration_in_days: self.settings.instance_duration_in_days,
            decisions_that_will_move_to_next_stage: Vec::new(),
            reviewers: self.reviewers.clone(),
            fallback_reviewers: self.fallback_reviewers.clone(),
            recommendations_enabled: self.settings.recommendations_enabled,
        }]
    }

    pub fn inactive_for(&self) -> Option<TimeDelta> {
        self.inactive_duration
            .as_deref()
            .and_then(|d| crate::duration::parse_duration(d).ok())
    }

    /// Graph's `accessReviewScheduleDefinition`.
    pub fn to_graph(&self) -> Value {
        json!({
            "id": self.id,
            "displayName": self.display_name,
            "descriptionForAdmins": self.description_for_admins,
            "descriptionForReviewers": self.description_for_reviewers,
            "status": self.status.as_str(),
            "createdBy": {"id": self.created_by.id, "displayName": self.created_by.display_name,
                          "userPrincipalName": self.created_by.user_principal_name},
            "createdDateTime": self.created_date_time,
            "lastModifiedDateTime": self.last_modified_date_time,
            "scope": self.scope,
            "instanceEnumerationScope": self.instance_enumeration_scope,
            "reviewers": self.reviewers,
            "fallbackReviewers": self.fallback_reviewers,
            "backupReviewers": self.fallback_reviewers,
            "settings": self.settings,
            "stageSettings": self.stage_settings,
        })
    }
}

/// Only the first stage may be a self-review (no reviewers).
fn later_self_review(stages: &[StageSettings]) -> Option<Invalid> {
    // A later stage reviewed by the principals themselves would let them overturn the
    // earlier stage's decision about their own access.
    stages
        .iter()
        .skip(1)
        .position(|s| s.reviewers.is_empty())
        .map(|i| {
            Invalid::new(
                "InvalidStages",
                format!("stageSettings[{}].reviewers", i + 1),
                "only the first stage may be a self-review: later stages need reviewers",
            )
        })
}
