//! The assignment policy form, both ways: a stored policy's Graph JSON into the form's values,
//! and the posted values into the same JSON body the API takes (sent through the same use
//! case, which reads it whole and reports every broken rule), with each refusal's path mapped
//! back to its field. Who-fields are text areas with one entry a line: a user name, a group's
//! name (its members) or an id, resolved like every picker field, or `manager` / `manager 2`
//! (the requestor's manager, one or two levels up). Everything works without JavaScript: the
//! three stage slots are always there, a question slot is added by a submit button.

use std::collections::HashMap;

use chrono::{NaiveDate, TimeDelta};
use eligo_core::directory::PrincipalKind;
use eligo_core::duration::{format_duration, parse_duration};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::portal::page::FieldErrors;
use crate::portal::picker;
use crate::service::access::principal_summary;
use crate::service::directory::{self, Kinds};

/// The form's values by field name.
pub type Values = HashMap<String, String>;

/// The stage slots' prefixes (Eligo's and Graph's limit is three stages).
pub const STAGES: [&str; 3] = ["s1", "s2", "s3"];
/// The approver lists of a stage: field suffix, Graph name, label.
pub const APPROVERS: [(&str, &str, &str); 4] = [
    ("primary", "primaryApprovers", "Approvers"),
    ("fallback", "fallbackPrimaryApprovers", "Fallback approvers"),
    ("escalators", "escalationApprovers", "Escalation approvers"),
    (
        "fallback_esc",
        "fallbackEscalationApprovers",
        "Fallback escalation approvers",
    ),
];
/// The most question slots a form carries.
pub const MAX_QUESTIONS: usize = 20;

const ON: &str = "on";

pub fn val(v: &Values, k: &str) -> String {
    v.get(k).map(|s| s.trim().to_string()).unwrap_or_default()
}

pub fn on(v: &Values, k: &str) -> bool {
    v.get(k)
        .is_some_and(|x| !matches!(x.trim(), "" | "off" | "false"))
}

fn set(v: &mut Values, k: &str, s: impl Into<String>) {
    v.insert(k.to_string(), s.into());
}

fn flag(v: &mut Values, k: &str, b: Option<bool>) {
    if b == Some(true) {
        set(v, k, ON);
    }
}

/// How many question slots the form shows.
pub fn question_count(v: &Values) -> usize {
    val(v, "q_count")
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, MAX_QUESTIONS)
}

/// A duration as a whole number and a unit (days when whole, else hours, else minutes).
fn put_duration(v: &mut Values, k: &str, iso: Option<&str>) {
    let Some(d) = iso.and_then(|s| parse_duration(s).ok()) else {
        return;
    };
    let m = d.num_minutes();
    let (n, unit) = if m > 0 && m % 1440 == 0 {
        (m / 1440, "days")
    } else if m > 0 && m % 60 == 0 {
        (m / 60, "hours")
    } else {
        (m, "minutes")
    };
    set(v, k, n.to_string());
    set(v, &format!("{k}_unit"), unit);
}

/// A subject set list as the text area shows it, one entry a line.
async fn put_sets(app: &App, v: &mut Values, k: &str, sets: Option<&Value>) -> ApiResult<()> {
    let mut lines = Vec::new();
    for s in sets.and_then(Value::as_array).into_iter().flatten() {
        let kind = s["@odata.type"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("#microsoft.graph.")
            .to_ascii_lowercase();
        let id = ["userId", "groupId", "servicePrincipalId"]
            .iter()
            .find_map(|f| s[*f].as_str())
            .and_then(|s| Uuid::parse_str(s).ok());
        let line = match (kind.as_str(), id) {
            ("requestormanager", _) => match s["managerLevel"].as_u64() {
                Some(2) => "manager 2".to_string(),
                _ => "manager".to_string(),
            },
            (_, Some(id)) => {
                let mut tx = app.store.read().await?;
                match principal_summary(&mut *tx, id).await? {
                    Some(p) if p.kind == PrincipalKind::User => p.upn.unwrap_or(id.to_string()),
                    Some(p)
                        if directory::named_exactly(&mut *tx, &p.display_name, Kinds::ALL)
                            .await?
                            .len()
                            == 1 =>
                    {
                        p.display_name
                    }
                    _ => id.to_string(),
                }
            }
            (other, None) => other.to_string(),
        };
        lines.push(line);
    }
    set(v, k, lines.join("\n"));
    Ok(())
}

/// The form's values for a stored policy (`g`, its Graph JSON).
pub async fn from_graph(app: &App, g: &Value) -> ApiResult<Values> {
    let mut v = Values::new();
    set(
        &mut v,
        "display_name",
        g["displayName"].as_str().unwrap_or(""),
    );
    set(
        &mut v,
        "description",
        g["description"].as_str().unwrap_or(""),
    );
    set(
        &mut v,
        "target_scope",
        g["allowedTargetScope"].as_str().unwrap_or("notSpecified"),
    );
    put_sets(app, &mut v, "targets", g.get("specificAllowedTargets")).await?;
    let r = &g["requestorSettings"];
    for (k, f) in [
        ("self_add", "enableTargetsToSelfAddAccess"),
        ("self_update", "enableTargetsToSelfUpdateAccess"),
        ("self_remove", "enableTargetsToSelfRemoveAccess"),
        ("custom_schedule", "allowCustomAssignmentSchedule"),
        ("obo_add", "enableOnBehalfRequestorsToAddAccess"),
        ("obo_update", "enableOnBehalfRequestorsToUpdateAccess"),
        ("obo_remove", "enableOnBehalfRequestorsToRemoveAccess"),
    ] {
        flag(&mut v, k, r[f].as_bool());
    }
    put_sets(app, &mut v, "on_behalf", r.get("onBehalfRequestors")).await?;
    let e = &g["expiration"];
    let exp = match e["type"]
        .as_str()
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "afterdatetime" => "afterDateTime",
        "afterduration" => "afterDuration",
        _ => "noExpiration",
    };
    set(&mut v, "exp_type", exp);
    if let Some(end) = e["endDateTime"].as_str() {
        set(&mut v, "exp_date", end.get(..10).unwrap_or(end));
    }
    put_duration(&mut v, "exp_n", e["duration"].as_str());
    let a = &g["requestApprovalSettings"];
    flag(&mut v, "appr_add", a["isApprovalRequiredForAdd"].as_bool());
    flag(
        &mut v,
        "appr_update",
        a["isApprovalRequiredForUpdate"].as_bool(),
    );
    flag(
        &mut v,
        "appr_justification",
        a["isRequestorJustificationRequired"].as_bool(),
    );
    let stages = a["stages"].as_array().cloned().unwrap_or_default();
    set(&mut v, "stages", stages.len().min(3).to_string());
    for (s, p) in stages.iter().zip(STAGES) {
        put_duration(
            &mut v,
            &format!("{p}_deny"),
            s["durationBeforeAutomaticDenial"].as_str(),
        );
        flag(
            &mut v,
            &format!("{p}_justification"),
            s["isApproverJustificationRequired"].as_bool(),
        );
        flag(
            &mut v,
            &format!("{p}_escalation"),
            s["isEscalationEnabled"].as_bool(),
        );
        if s["isEscalationEnabled"].as_bool() == Some(true) {
            put_duration(
                &mut v,
                &format!("{p}_esc"),
                s["durationBeforeEscalation"].as_str(),
            );
        }
        for (suffix, graph, _) in APPROVERS {
            put_sets(app, &mut v, &format!("{p}_{suffix}"), s.get(graph)).await?;
        }
        set(
            &mut v,
            &format!("{p}_min"),
            s["minimumApprovals"].as_u64().unwrap_or(1).to_string(),
        );
    }
    let questions = g["questions"].as_array().cloned().unwrap_or_default();
    set(&mut v, "q_count", (questions.len() + 1).to_string());
    for (j, q) in questions.iter().enumerate() {
        let p = format!("q{j}");
        let choice = q["@odata.type"]
            .as_str()
            .unwrap_or("")
            .to_ascii_lowercase()
            .contains("multiplechoice");
        set(
            &mut v,
            &format!("{p}_kind"),
            if choice { "choice" } else { "text" },
        );
        set(&mut v, &format!("{p}_id"), q["id"].as_str().unwrap_or(""));
        set(
            &mut v,
            &format!("{p}_text"),
            q["text"].as_str().unwrap_or(""),
        );
        flag(&mut v, &format!("{p}_required"), q["isRequired"].as_bool());
        flag(
            &mut v,
            &format!("{p}_single"),
            q["isSingleLineQuestion"].as_bool(),
        );
        set(
            &mut v,
            &format!("{p}_regex"),
            q["regexPattern"].as_str().unwrap_or(""),
        );
        flag(
            &mut v,
            &format!("{p}_multi"),
            q["isMultipleSelectionAllowed"].as_bool(),
        );
        let choices: Vec<String> = q["choices"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{} = {}",
                    c["actualValue"].as_str().unwrap_or(""),
                    c["text"].as_str().unwrap_or("")
                )
            })
            .collect();
        set(&mut v, &format!("{p}_choices"), choices.join("\n"));
    }
    let rv = &g["reviewSettings"];
    flag(&mut v, "rv_enabled", rv["isEnabled"].as_bool());
    set(
        &mut v,
        "rv_behavior",
        rv["expirationBehavior"].as_str().unwrap_or("keepAccess"),
    );
    flag(
        &mut v,
        "rv_recommend",
        rv["isRecommendationEnabled"].as_bool(),
    );
    flag(
        &mut v,
        "rv_justification",
        rv["isReviewerJustificationRequired"].as_bool(),
    );
    flag(&mut v, "rv_self", rv["isSelfReview"].as_bool());
    put_sets(app, &mut v, "rv_primary", rv.get("primaryReviewers")).await?;
    put_sets(app, &mut v, "rv_fallback", rv.get("fallbackReviewers")).await?;
    let sc = &rv["schedule"];
    if let Some(start) = sc["startDateTime"].as_str() {
        set(&mut v, "rv_start", start.get(..10).unwrap_or(start));
    }
    put_duration(&mut v, "rv_duration", sc["expiration"]["duration"].as_str());
    set(
        &mut v,
        "rv_pattern",
        sc["recurrence"]["pattern"]["type"]
            .as_str()
            .unwrap_or("absoluteMonthly"),
    );
    set(
        &mut v,
        "rv_interval",
        sc["recurrence"]["pattern"]["interval"]
            .as_i64()
            .unwrap_or(3)
            .to_string(),
    );
    flag(
        &mut v,
        "notif_disabled",
        g["notificationSettings"]["isAssignmentNotificationDisabled"].as_bool(),
    );
    Ok(v)
}

/// Reads the posted values into a Graph policy body; what the form itself cannot read (a
/// name that names nobody, a number that is no number) is filed under its field.
pub struct Reading<'a> {
    pub app: &'a App,
    pub caller: &'a Caller,
    pub v: &'a Values,
    pub errors: &'a mut FieldErrors,
}

impl Reading<'_> {
    fn on(&self, k: &str) -> bool {
        on(self.v, k)
    }

    /// An ISO 8601 duration from a number and its unit; None when empty.
    fn duration(&mut self, k: &str) -> Option<String> {
        let raw = val(self.v, k);
        if raw.is_empty() {
            return None;
        }
        let minutes = match val(self.v, &format!("{k}_unit")).as_str() {
            "minutes" => 1,
            "hours" => 60,
            _ => 1440,
        };
        match raw.parse::<i64>() {
            Ok(n) if n > 0 && n < 100_000 => Some(format_duration(TimeDelta::minutes(n * minutes))),
            _ => {
                self.errors.add(k, "Enter a whole number above zero.");
                None
            }
        }
    }

    /// The subject sets a text area names, one entry a line.
    async fn sets(&mut self, k: &str, accepts: Kinds) -> ApiResult<Vec<Value>> {
        let mut out = Vec::new();
        let listable = directory::listable(self.app, self.caller, accepts);
        for line in val(self.v, k)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let lower = line.to_ascii_lowercase();
            if lower == "manager" || lower == "manager 1" {
                out.push(
                    json!({"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1}),
                );
                continue;
            }
            if lower == "manager 2" {
                out.push(
                    json!({"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 2}),
                );
                continue;
            }
            let mut tx = self.app.store.read().await?;
            match picker::resolve(&mut *tx, line, accepts, listable).await? {
                Ok(c) => out.push(match c.kind {
                    PrincipalKind::User => {
                        json!({"@odata.type": "#microsoft.graph.singleUser", "userId": c.id})
                    }
                    PrincipalKind::Group => {
                        json!({"@odata.type": "#microsoft.graph.groupMembers", "groupId": c.id})
                    }
                    PrincipalKind::ServicePrincipal => json!({
                        "@odata.type": "#microsoft.graph.singleServicePrincipal",
                        "servicePrincipalId": c.id
                    }),
                }),
                Err(message) => {
                    self.errors.add(k, message);
                    break;
                }
            }
        }
        Ok(out)
    }

    fn date(&mut self, k: &str) -> Option<String> {
        let raw = val(self.v, k);
        if raw.is_empty() {
            return None;
        }
        match NaiveDate::parse_from_str(&raw, "%Y-%m-%d") {
            Ok(d) => Some(format!("{d}T00:00:00Z")),
            Err(_) => {
                self.errors
                    .add(k, "Enter a date as year-month-day, like 2030-01-31.");
                None
            }
        }
    }

    /// The whole policy body.
    pub async fn body(&mut self) -> ApiResult<Value> {
        let v = self.v;
        let people = Kinds::ALL;
        let scope = val(v, "target_scope");
        let targets = if scope.starts_with("specific") {
            self.sets("targets", people).await?
        } else {
            Vec::new()
        };
        let on_behalf = self.sets("on_behalf", people).await?;
        let expiration = match val(v, "exp_type").as_str() {
            "afterDateTime" => {
                json!({"type": "afterDateTime", "endDateTime": self.date("exp_date")})
            }
            "afterDuration" => json!({"type": "afterDuration", "duration": self.duration("exp_n")}),
            _ => json!({"type": "noExpiration"}),
        };
        let count = val(v, "stages").parse::<usize>().unwrap_or(0).min(3);
        let mut stages = Vec::new();
        for p in STAGES.iter().take(count) {
            let escalation = self.on(&format!("{p}_escalation"));
            let mut stage = json!({
                "durationBeforeAutomaticDenial": self.duration(&format!("{p}_deny")),
                "isApproverJustificationRequired": self.on(&format!("{p}_justification")),
                "isEscalationEnabled": escalation,
                "durationBeforeEscalation": if escalation { self.duration(&format!("{p}_esc")) } else { Some("PT0S".into()) },
            });
            for (suffix, graph, _) in APPROVERS {
                stage[graph] = json!(self.sets(&format!("{p}_{suffix}"), people).await?);
            }
            let min = val(v, &format!("{p}_min"));
            stage["minimumApprovals"] = match min.parse::<u32>() {
                Ok(n) => json!(n),
                Err(_) if min.is_empty() => json!(1),
                Err(_) => {
                    self.errors.add(
                        &format!("{p}_min"),
                        "Enter the number of approvals as a whole number from 1 to 5.",
                    );
                    json!(1)
                }
            };
            stages.push(stage);
        }
        let mut questions = Vec::new();
        for j in 0..question_count(v) {
            let p = format!("q{j}");
            let text = val(v, &format!("{p}_text"));
            if text.is_empty() || self.on(&format!("{p}_remove")) {
                continue;
            }
            let mut q = if val(v, &format!("{p}_kind")) == "choice" {
                let choices: Vec<Value> = val(v, &format!("{p}_choices"))
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        let (value, shown) = l.split_once('=').unwrap_or((l, l));
                        json!({"actualValue": value.trim(), "text": shown.trim()})
                    })
                    .collect();
                json!({
                    "@odata.type": "#microsoft.graph.accessPackageMultipleChoiceQuestion",
                    "choices": choices,
                    "isMultipleSelectionAllowed": self.on(&format!("{p}_multi")),
                })
            } else {
                let regex = val(v, &format!("{p}_regex"));
                json!({
                    "@odata.type": "#microsoft.graph.accessPackageTextInputQuestion",
                    "isSingleLineQuestion": self.on(&format!("{p}_single")),
                    "regexPattern": (!regex.is_empty()).then_some(regex),
                })
            };
            q["sequence"] = json!(questions.len() + 1);
            q["text"] = json!(text);
            q["isRequired"] = json!(self.on(&format!("{p}_required")));
            let id = val(v, &format!("{p}_id"));
            if !id.is_empty() {
                q["id"] = json!(id);
            }
            questions.push(q);
        }
        let review = if self.on("rv_enabled") {
            let interval = val(v, "rv_interval").parse::<i64>().unwrap_or(0);
            json!({
                "isEnabled": true,
                "expirationBehavior": val(v, "rv_behavior"),
                "isRecommendationEnabled": self.on("rv_recommend"),
                "isReviewerJustificationRequired": self.on("rv_justification"),
                "isSelfReview": self.on("rv_self"),
                "primaryReviewers": self.sets("rv_primary", people).await?,
                "fallbackReviewers": self.sets("rv_fallback", people).await?,
                "schedule": {
                    "startDateTime": self.date("rv_start"),
                    "expiration": {"type": "afterDuration", "duration": self.duration("rv_duration")},
                    "recurrence": {"pattern": {"type": val(v, "rv_pattern"), "interval": interval},
                                   "range": {"type": "noEnd"}},
                },
            })
        } else {
            Value::Null
        };
        let description = val(v, "description");
        Ok(json!({
            "displayName": val(v, "display_name"),
            "description": (!description.is_empty()).then_some(description),
            "allowedTargetScope": scope,
            "specificAllowedTargets": targets,
            "expiration": expiration,
            "requestorSettings": {
                "enableTargetsToSelfAddAccess": self.on("self_add"),
                "enableTargetsToSelfUpdateAccess": self.on("self_update"),
                "enableTargetsToSelfRemoveAccess": self.on("self_remove"),
                "allowCustomAssignmentSchedule": self.on("custom_schedule"),
                "enableOnBehalfRequestorsToAddAccess": self.on("obo_add"),
                "enableOnBehalfRequestorsToUpdateAccess": self.on("obo_update"),
                "enableOnBehalfRequestorsToRemoveAccess": self.on("obo_remove"),
                "onBehalfRequestors": on_behalf,
            },
            "requestApprovalSettings": {
                "isApprovalRequiredForAdd": self.on("appr_add"),
                "isApprovalRequiredForUpdate": self.on("appr_update"),
                "isRequestorJustificationRequired": self.on("appr_justification"),
                "stages": stages,
            },
            "questions": questions,
            "reviewSettings": review,
            "notificationSettings": {"isAssignmentNotificationDisabled": self.on("notif_disabled")},
        }))
    }
}

/// The form field and label a refusal's path (`requestApprovalSettings.stages[1].minimumApprovals`)
/// is about.
pub fn field_of(v: &Values, target: &str) -> Option<(String, String)> {
    let t = target;
    let pick = |f: &str, l: &str| Some((f.to_string(), l.to_string()));
    if let Some(rest) = t.strip_prefix("requestApprovalSettings.stages[") {
        let (i, rest) = rest.split_once(']')?;
        let i: usize = i.parse().ok()?;
        let p = STAGES.get(i)?;
        let label = format!("Stage {}", i + 1);
        let rest = rest.trim_start_matches('.');
        for (suffix, graph, l) in APPROVERS {
            if rest.starts_with(graph) {
                return pick(&format!("{p}_{suffix}"), &format!("{label}, {l}"));
            }
        }
        let (suffix, l) = match rest {
            r if r.starts_with("durationBeforeAutomaticDenial") => {
                ("deny", "automatic denial after")
            }
            r if r.starts_with("durationBeforeEscalation") => ("esc", "escalation after"),
            r if r.starts_with("minimumApprovals") => ("min", "approvals needed"),
            _ => ("deny", "settings"),
        };
        return pick(&format!("{p}_{suffix}"), &format!("{label}, {l}"));
    }
    if let Some(rest) = t.strip_prefix("questions[") {
        let (j, rest) = rest.split_once(']')?;
        let j: usize = j.parse().ok()?;
        let rest = rest.trim_start_matches('.');
        let label = format!("Question {}", j + 1);
        let suffix = match rest {
            r if r.starts_with("regexPattern") => "regex",
            r if r.starts_with("choices") => "choices",
            _ => "text",
        };
        // The body leaves out empty and removed slots: find the slot the j-th question was.
        return Some((format!("q{}_{suffix}", question_slot(v, j)), label));
    }
    let fixed: &[(&str, &str, &str)] = &[
        ("displayName", "display_name", "Name"),
        ("description", "description", "Description"),
        ("allowedTargetScope", "target_scope", "Who may request"),
        ("specificAllowedTargets", "targets", "Specific requestors"),
        (
            "requestorSettings.onBehalfRequestors",
            "on_behalf",
            "On-behalf requestors",
        ),
        ("requestorSettings", "self_add", "Requestor settings"),
        ("expiration.endDateTime", "exp_date", "Expiration date"),
        ("expiration", "exp_n", "Expiration"),
        (
            "requestApprovalSettings.stages",
            "stages",
            "Approval stages",
        ),
        ("requestApprovalSettings", "appr_add", "Approval"),
        ("questions", "q0_text", "Questions"),
        ("reviewSettings.primaryReviewers", "rv_primary", "Reviewers"),
        (
            "reviewSettings.fallbackReviewers",
            "rv_fallback",
            "Fallback reviewers",
        ),
        (
            "reviewSettings.schedule.startDateTime",
            "rv_start",
            "Reviews start",
        ),
        (
            "reviewSettings.schedule.expiration",
            "rv_duration",
            "Review duration",
        ),
        (
            "reviewSettings.schedule.recurrence",
            "rv_interval",
            "Review recurrence",
        ),
        ("reviewSettings", "rv_enabled", "Reviews"),
        ("notificationSettings", "notif_disabled", "Notifications"),
    ];
    fixed
        .iter()
        .find(|(p, _, _)| {
            t == *p || t.starts_with(&format!("{p}.")) || t.starts_with(&format!("{p}["))
        })
        .and_then(|(_, f, l)| pick(f, l))
}

/// The slot of the `j`-th question the body carried (empty and removed slots were skipped).
pub fn question_slot(v: &Values, j: usize) -> usize {
    (0..question_count(v))
        .filter(|i| !val(v, &format!("q{i}_text")).is_empty() && !on(v, &format!("q{i}_remove")))
        .nth(j)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn refusals_land_on_their_fields() {
        let v = values(&[
            ("q_count", "3"),
            ("q0_text", ""),
            ("q1_text", "Why"),
            ("q2_text", "Case"),
        ]);
        let at = |t: &str| field_of(&v, t).map(|(f, _)| f);
        assert_eq!(
            at("requestApprovalSettings.stages[1].primaryApprovers[0].userId").as_deref(),
            Some("s2_primary")
        );
        assert_eq!(
            at("requestApprovalSettings.stages[0].fallbackPrimaryApprovers").as_deref(),
            Some("s1_fallback")
        );
        assert_eq!(
            at("requestApprovalSettings.stages[2].durationBeforeEscalation").as_deref(),
            Some("s3_esc")
        );
        assert_eq!(
            at("requestApprovalSettings.stages").as_deref(),
            Some("stages")
        );
        // The second question sent was the third slot (the first was empty).
        assert_eq!(at("questions[1].regexPattern").as_deref(), Some("q2_regex"));
        assert_eq!(at("expiration.endDateTime").as_deref(), Some("exp_date"));
        assert_eq!(at("expiration.duration").as_deref(), Some("exp_n"));
        assert_eq!(
            at("requestorSettings.onBehalfRequestors").as_deref(),
            Some("on_behalf")
        );
        assert_eq!(at("specificAllowedTargets[0]").as_deref(), Some("targets"));
        assert_eq!(at("somethingElse"), None);
    }

    #[test]
    fn question_slots_are_bounded() {
        assert_eq!(question_count(&values(&[])), 1);
        assert_eq!(
            question_count(&values(&[("q_count", "999")])),
            MAX_QUESTIONS
        );
        assert_eq!(question_count(&values(&[("q_count", "x")])), 1);
    }
}
