//! The request form's fields: what a policy asks (justification, every question, a custom end
//! when allowed) shown as fields, what was typed read back into the API's request body, and
//! the core's refusals filed under the field they concern. The form holds no rule: required
//! answers, patterns and the end's limits are checked by the core on the post.

use eligo_core::entitlement::expiration::Expiration;
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::question::{Question, QuestionKind};
use eligo_core::entitlement::requestor::Requirements;
use serde_json::{Value, json};
use uuid::Uuid;

use super::expiration_words;
use crate::error::ApiError;
use crate::portal::page::{FieldErrors, GENERIC_FAILURE};

/// A posted form: every field in order (multi-select answers repeat their name).
pub type Fields = Vec<(String, String)>;

pub fn value(form: &Fields, name: &str) -> String {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn values<'a>(form: &'a Fields, name: &'a str) -> impl Iterator<Item = &'a str> {
    form.iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub struct ChoiceView {
    pub value: String,
    pub text: String,
    pub checked: bool,
}

pub struct QuestionView {
    /// The form field: `answer-{questionId}`.
    pub field: String,
    pub text: String,
    pub required: bool,
    /// "line", "text", "one" or "many".
    pub kind: &'static str,
    /// The pattern a text answer must match, shown as a hint.
    pub pattern: String,
    pub choices: Vec<ChoiceView>,
    pub value: String,
}

/// One policy as an option of the form.
pub struct PolicyOption {
    pub id: String,
    pub name: String,
    pub description: String,
    pub approval: bool,
    pub duration: String,
    pub checked: bool,
}

/// What a policy asks of a requestor: `getApplicablePolicyRequirements` for a new request,
/// the assignment's policy for an extension.
pub struct Asks {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub approval: bool,
    pub justification: bool,
    pub custom_schedule: bool,
    pub expiration: Option<Expiration>,
    pub questions: Vec<Question>,
}

impl Asks {
    pub fn of_requirements(r: Requirements) -> Self {
        Self {
            id: r.policy_id,
            name: r.policy_display_name,
            description: r.policy_description.unwrap_or_default(),
            approval: r.is_approval_required_for_add,
            justification: r.is_requestor_justification_required,
            custom_schedule: r.allow_custom_assignment_schedule,
            expiration: serde_json::from_value(r.schedule["expiration"].clone()).ok(),
            questions: r.questions,
        }
    }

    /// For an extension (`userUpdate`) under the assignment's policy.
    pub fn of_update(p: &AssignmentPolicy) -> Self {
        let a = &p.request_approval_settings;
        Self {
            id: p.id,
            name: p.display_name.clone(),
            description: p.description.clone().unwrap_or_default(),
            approval: a.is_approval_required_for_update,
            justification: a.is_requestor_justification_required,
            custom_schedule: p.requestor_settings.allow_custom_assignment_schedule,
            expiration: Some(p.expiration.clone()),
            questions: p.questions.clone(),
        }
    }

    pub fn duration(&self) -> String {
        self.expiration
            .as_ref()
            .map(expiration_words)
            .unwrap_or_default()
    }
}

/// The fields a policy asks for, filled with what `form` carried.
pub fn questions(policy: &Asks, form: &Fields) -> Vec<QuestionView> {
    let mut qs: Vec<_> = policy.questions.iter().collect();
    qs.sort_by_key(|q| q.sequence);
    qs.into_iter()
        .map(|q| {
            let field = format!("answer-{}", q.id);
            let picked: Vec<&str> = values(form, &field).collect();
            let (kind, pattern, choices) = match &q.kind {
                QuestionKind::Text {
                    is_single_line_question,
                    regex_pattern,
                } => (
                    if *is_single_line_question {
                        "line"
                    } else {
                        "text"
                    },
                    regex_pattern.clone().unwrap_or_default(),
                    Vec::new(),
                ),
                QuestionKind::MultipleChoice {
                    choices,
                    is_multiple_selection_allowed,
                } => (
                    if *is_multiple_selection_allowed {
                        "many"
                    } else {
                        "one"
                    },
                    String::new(),
                    choices
                        .iter()
                        .map(|c| ChoiceView {
                            value: c.actual_value.clone(),
                            text: if c.text.is_empty() {
                                c.actual_value.clone()
                            } else {
                                c.text.clone()
                            },
                            checked: picked.contains(&c.actual_value.as_str()),
                        })
                        .collect(),
                ),
            };
            QuestionView {
                value: picked.first().map(|s| s.to_string()).unwrap_or_default(),
                field,
                text: q.text.clone(),
                required: q.is_required,
                kind,
                pattern,
                choices,
            }
        })
        .collect()
}

pub fn policy_option(p: &Asks, checked: bool) -> PolicyOption {
    PolicyOption {
        id: p.id.to_string(),
        name: p.name.clone(),
        description: p.description.clone(),
        approval: p.approval,
        duration: p.duration(),
        checked,
    }
}

/// The API's `answers` from the form: one per text answer given, one per choice picked, in
/// the policy's question order (so `answers[i]` in a refusal finds its question again).
pub fn answers(policy: &Asks, form: &Fields) -> (Vec<Value>, Vec<String>) {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    for q in &policy.questions {
        let field = format!("answer-{}", q.id);
        for v in values(form, &field) {
            if v.trim().is_empty() {
                continue;
            }
            let display = match &q.kind {
                QuestionKind::MultipleChoice { choices, .. } => choices
                    .iter()
                    .find(|c| c.actual_value == v)
                    .map(|c| c.text.clone()),
                QuestionKind::Text { .. } => None,
            };
            out.push(json!({
                "@odata.type": "#microsoft.graph.accessPackageAnswerString",
                "value": v, "displayValue": display.unwrap_or_else(|| v.to_string()),
                "answeredQuestion": { "id": q.id },
            }));
            fields.push(field.clone());
        }
    }
    (out, fields)
}

/// Files the use case's refusal under the form's fields: answers under their question (an
/// unanswered required question names its id), the end under `end`, the rest (a conflict
/// with another package, not allowed to ask) above the form, in the core's words.
pub fn absorb(
    e: &ApiError,
    errors: &mut FieldErrors,
    policy: Option<&Asks>,
    answer_fields: &[String],
) {
    if e.status().is_server_error() {
        errors.add_general(GENERIC_FAILURE);
        return;
    }
    if e.details.is_empty() {
        errors.add_general(e.message.clone());
        return;
    }
    for d in &e.details {
        let text = if d.message.is_empty() {
            e.message.clone()
        } else {
            d.message.clone()
        };
        let field = if d.target == "justification" {
            Some("justification".to_string())
        } else if d.target.starts_with("schedule.startDateTime") {
            Some("start".to_string())
        } else if d.target.starts_with("schedule") {
            Some("end".to_string())
        } else if d.target == "assignment.assignmentPolicyId" {
            Some("policy".to_string())
        } else if let Some(rest) = d.target.strip_prefix("answers[") {
            rest.split(']')
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| answer_fields.get(i).cloned())
        } else if d.target == "answers" {
            policy.and_then(|p| {
                p.questions
                    .iter()
                    .find(|q| text.contains(&format!("({})", q.id)))
                    .map(|q| format!("answer-{}", q.id))
            })
        } else {
            None
        };
        match field {
            Some(f) => errors.add(&f, text),
            None => errors.add_general(text),
        }
    }
}
