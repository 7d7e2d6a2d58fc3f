//! An access package policy's `reviewSettings` as an access review definition: the policy's
//! assignments reviewed on its schedule by its reviewers, what nobody decides handled by its
//! `expirationBehavior`. Written as the Graph body of a definition so that the definition's
//! own reader (`Definition::read`) checks it like any other.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::entitlement::expiration::ExpirationType;
use crate::entitlement::review::{ExpirationBehavior, ReviewSettings};
use crate::entitlement::subject_set::SubjectSet;
use crate::invalid::Invalid;

fn reviewer(set: &SubjectSet, at: &str) -> Result<Value, Invalid> {
    let query = match set {
        SubjectSet::SingleUser { user_id, .. } => format!("/users/{user_id}"),
        SubjectSet::GroupMembers { group_id, .. } => {
            format!("/groups/{group_id}/transitiveMembers")
        }
        SubjectSet::RequestorManager { manager_level: 1 } => {
            return Ok(
                json!({ "query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions" }),
            );
        }
        other => {
            return Err(Invalid::new(
                "UnsupportedReviewerQuery",
                at,
                format!(
                    "{} cannot review access: use singleUser, groupMembers or requestorManager (level 1)",
                    other.type_name()
                ),
            ));
        }
    };
    Ok(json!({ "query": query, "queryType": "MicrosoftGraph" }))
}

/// The definition body for `settings` of the policy `policy_name` on package `package`; the
/// problems are reported under `reviewSettings`.
pub fn definition_body(
    package: Uuid,
    package_name: &str,
    policy_name: &str,
    settings: &ReviewSettings,
    now: DateTime<Utc>,
) -> Result<Value, Vec<Invalid>> {
    let mut problems = Vec::new();
    let mut sets = |list: &[SubjectSet], field: &str| -> Vec<Value> {
        list.iter()
            .enumerate()
            .filter_map(|(i, s)| {
                reviewer(s, &format!("reviewSettings.{field}[{i}]"))
                    .map_err(|e| problems.push(e))
                    .ok()
            })
            .collect()
    };
    let reviewers = if settings.is_self_review {
        Vec::new()
    } else {
        sets(&settings.primary_reviewers, "primaryReviewers")
    };
    let fallback = sets(&settings.fallback_reviewers, "fallbackReviewers");
    let schedule = settings.schedule.as_ref();
    let start = schedule
        .and_then(|s| s.start_date_time)
        .unwrap_or(now)
        .max(now);
    let days = schedule
        .map(|s| match s.expiration.kind {
            ExpirationType::AfterDuration => s.expiration.duration.map(|d| d.num_days()),
            ExpirationType::AfterDateTime => {
                s.expiration.end_date_time.map(|e| (e - start).num_days())
            }
            _ => None,
        })
        .unwrap_or(None)
        .unwrap_or(14)
        .max(1);
    // Without a recurrence: one review at the schedule's start (a single occurrence).
    let mut recurrence = schedule
        .and_then(|s| s.recurrence.clone())
        .unwrap_or_else(|| {
            json!({ "pattern": { "type": "absoluteMonthly", "interval": 12 },
                    "range": { "type": "numbered", "numberOfOccurrences": 1 } })
        });
    if let Some(range) = recurrence.get_mut("range").and_then(Value::as_object_mut) {
        range
            .entry("startDate")
            .or_insert_with(|| json!(start.date_naive().to_string()));
    }
    let (default_enabled, default, auto_apply) = match settings.expiration_behavior {
        ExpirationBehavior::KeepAccess => (false, "None", false),
        ExpirationBehavior::RemoveAccess => (true, "Deny", true),
        ExpirationBehavior::AcceptAccessRecommendation => (true, "Recommendation", true),
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(json!({
        "displayName": format!("{package_name}: {policy_name}"),
        "descriptionForReviewers": format!("Review who keeps the access package {package_name}."),
        "scope": {
            "@odata.type": "#microsoft.graph.accessReviewQueryScope",
            "queryType": "MicrosoftGraph",
            "query": format!("/identityGovernance/entitlementManagement/assignments?$filter=accessPackage/id eq '{package}'"),
        },
        "reviewers": reviewers,
        "fallbackReviewers": fallback,
        "settings": {
            "instanceDurationInDays": days,
            "recommendationsEnabled": settings.is_recommendation_enabled,
            "justificationRequiredOnApproval": settings.is_reviewer_justification_required,
            "defaultDecisionEnabled": default_enabled,
            "defaultDecision": default,
            "autoApplyDecisionsEnabled": auto_apply,
            "recurrence": recurrence,
        },
    }))
}
