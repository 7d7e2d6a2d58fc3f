//! Questions a policy asks a requestor (free text, optionally matched against a pattern, or a
//! choice), and the validation of the answers a request brings: every required question
//! answered, text matching its pattern, a choice among those offered.

use regex::{Regex, RegexBuilder};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use super::read::{Fields, odata_type};
use crate::invalid::Invalid;

pub const MAX_QUESTIONS: usize = 20;
pub const MAX_CHOICES: usize = 50;
/// A pattern's length, and the compiled program's size: a pattern is an administrator's input
/// that every request runs, so it must stay small.
const MAX_PATTERN_LEN: usize = 500;
const MAX_PATTERN_PROGRAM: usize = 1 << 20;
const MAX_TEXT: usize = 1024;
const MAX_ANSWER: usize = 4000;

#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// A GUID the server gives when the body names none.
    pub id: String,
    pub sequence: i32,
    pub text: String,
    pub is_required: bool,
    pub is_answer_editable: bool,
    pub kind: QuestionKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QuestionKind {
    Text {
        is_single_line_question: bool,
        regex_pattern: Option<String>,
    },
    MultipleChoice {
        choices: Vec<Choice>,
        is_multiple_selection_allowed: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Choice {
    pub actual_value: String,
    #[serde(default, deserialize_with = "text_or_localized")]
    pub text: String,
}

/// Graph v1.0 writes a question's text as a string; beta as `{defaultText, localizedTexts}`.
fn text_or_localized<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Null => Ok(String::new()),
        Value::Object(o) => Ok(o
            .get("defaultText")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()),
        _ => Err(D::Error::custom("text must be a string")),
    }
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(MAX_PATTERN_PROGRAM)
        .build()
}

impl Question {
    /// Reads `questions` from a policy body; `fresh_id` gives ids to questions without one.
    pub fn read_all(f: &mut Fields, mut fresh_id: impl FnMut() -> String) -> Vec<Question> {
        let items = f.items("questions");
        if items.len() > MAX_QUESTIONS {
            f.push(
                "TooManyQuestions",
                "questions",
                format!("at most {MAX_QUESTIONS}"),
            );
        }
        let mut out: Vec<Question> = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let mut q = Fields::of(item, &f.at(&format!("questions[{i}]")));
            if let Some(question) = Question::read(item, &mut q, &mut fresh_id) {
                if out.iter().any(|o| o.id == question.id) {
                    q.push("DuplicateQuestion", "id", "another question has this id");
                }
                out.push(question);
            }
            f.absorb(q);
        }
        out
    }

    fn read(
        item: &Value,
        q: &mut Fields,
        fresh_id: &mut impl FnMut() -> String,
    ) -> Option<Question> {
        let kind = odata_type(item);
        let text_question = match kind.map(str::to_ascii_lowercase).as_deref() {
            Some("accesspackagetextinputquestion") => true,
            Some("accesspackagemultiplechoicequestion") => false,
            Some(other) => {
                q.push(
                    "UnknownQuestionType",
                    "@odata.type",
                    format!("'{other}' is not accessPackageTextInputQuestion or accessPackageMultipleChoiceQuestion"),
                );
                return None;
            }
            None => {
                q.push(
                    "MissingField",
                    "@odata.type",
                    "a question names its type: #microsoft.graph.accessPackageTextInputQuestion or #microsoft.graph.accessPackageMultipleChoiceQuestion",
                );
                return None;
            }
        };
        let common = [
            "id",
            "sequence",
            "text",
            "isRequired",
            "isAnswerEditable",
            "localizations",
        ];
        let own: &[&str] = if text_question {
            &["isSingleLineQuestion", "regexPattern"]
        } else {
            &["choices", "isMultipleSelectionAllowed"]
        };
        q.only(&[&common[..], own].concat());
        let text = q
            .raw("text")
            .map(|v| text_or_localized(v.clone()).unwrap_or_default())
            .unwrap_or_default();
        if text.trim().is_empty() || text.chars().count() > MAX_TEXT {
            q.push(
                "InvalidQuestionText",
                "text",
                format!("a question needs its text, at most {MAX_TEXT} characters"),
            );
        }
        let kind = if text_question {
            let regex_pattern: Option<String> = q.opt("regexPattern");
            if let Some(p) = regex_pattern.as_deref().filter(|p| !p.is_empty()) {
                if p.len() > MAX_PATTERN_LEN {
                    q.push(
                        "InvalidRegexPattern",
                        "regexPattern",
                        format!("at most {MAX_PATTERN_LEN} characters"),
                    );
                } else if let Err(e) = compile(p) {
                    q.push(
                        "InvalidRegexPattern",
                        "regexPattern",
                        format!("does not compile: {}", first_line(&e.to_string())),
                    );
                }
            }
            QuestionKind::Text {
                is_single_line_question: q.opt("isSingleLineQuestion").unwrap_or(true),
                regex_pattern: regex_pattern.filter(|p| !p.is_empty()),
            }
        } else {
            let choices: Vec<Choice> = q.list("choices");
            if choices.is_empty() && !q.has_problem_under("choices") {
                q.push(
                    "MissingChoices",
                    "choices",
                    "a multiple choice question needs choices",
                );
            }
            if choices.len() > MAX_CHOICES {
                q.push(
                    "TooManyChoices",
                    "choices",
                    format!("at most {MAX_CHOICES}"),
                );
            }
            for (i, c) in choices.iter().enumerate() {
                if c.actual_value.trim().is_empty() {
                    q.push(
                        "InvalidChoice",
                        &format!("choices[{i}].actualValue"),
                        "must not be empty",
                    );
                } else if choices[..i]
                    .iter()
                    .any(|o| o.actual_value == c.actual_value)
                {
                    q.push(
                        "DuplicateChoice",
                        &format!("choices[{i}].actualValue"),
                        "another choice has this value",
                    );
                }
            }
            QuestionKind::MultipleChoice {
                choices,
                is_multiple_selection_allowed: q.opt("isMultipleSelectionAllowed").unwrap_or(false),
            }
        };
        let id = match q.opt::<String>("id").filter(|s| !s.trim().is_empty()) {
            Some(id) if id.len() <= 64 => id,
            Some(_) => {
                q.push("InvalidValue", "id", "at most 64 characters");
                fresh_id()
            }
            None => fresh_id(),
        };
        Some(Question {
            id,
            sequence: q.opt("sequence").unwrap_or(0),
            text,
            is_required: q.opt("isRequired").unwrap_or(false),
            is_answer_editable: q.opt("isAnswerEditable").unwrap_or(true),
            kind,
        })
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

impl Serialize for Question {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut v = json!({
            "id": self.id, "sequence": self.sequence, "text": self.text,
            "isRequired": self.is_required, "isAnswerEditable": self.is_answer_editable,
        });
        match &self.kind {
            QuestionKind::Text {
                is_single_line_question,
                regex_pattern,
            } => {
                v["@odata.type"] = json!("#microsoft.graph.accessPackageTextInputQuestion");
                v["isSingleLineQuestion"] = json!(is_single_line_question);
                v["regexPattern"] = json!(regex_pattern);
            }
            QuestionKind::MultipleChoice {
                choices,
                is_multiple_selection_allowed,
            } => {
                v["@odata.type"] = json!("#microsoft.graph.accessPackageMultipleChoiceQuestion");
                v["choices"] = json!(choices);
                v["isMultipleSelectionAllowed"] = json!(is_multiple_selection_allowed);
            }
        }
        v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Question {
    /// What was stored (already valid); ids are always present there.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let mut f = Fields::of(&v, "");
        let q = Question::read(&v, &mut f, &mut String::new);
        match (q, f.problems.first()) {
            (Some(q), None) => Ok(q),
            (_, Some(p)) => Err(D::Error::custom(p.to_string())),
            (None, None) => Err(D::Error::custom("not a question")),
        }
    }
}

/// One answer of a request (Graph's `accessPackageAnswerString`): the question it answers and
/// its value (a choice's `actualValue` for a multiple choice question).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub question_id: String,
    pub value: String,
    pub display_value: Option<String>,
}

impl Answer {
    /// `{@odata.type: #microsoft.graph.accessPackageAnswerString, value, displayValue,
    /// answeredQuestion: {id}}`.
    pub fn read(v: &Value, at: &str) -> Result<Answer, Invalid> {
        if let Some(t) = odata_type(v)
            && !t.eq_ignore_ascii_case("accessPackageAnswerString")
        {
            return Err(Invalid::new(
                "UnknownAnswerType",
                format!("{at}.@odata.type"),
                format!("'{t}' is not accessPackageAnswerString"),
            ));
        }
        let question_id = v
            .pointer("/answeredQuestion/id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Invalid::new(
                    "MissingField",
                    format!("{at}.answeredQuestion.id"),
                    "is required",
                )
            })?;
        let value = v.get("value").and_then(Value::as_str).ok_or_else(|| {
            Invalid::new(
                "MissingField",
                format!("{at}.value"),
                "is required (a string)",
            )
        })?;
        Ok(Answer {
            question_id: question_id.to_string(),
            value: value.to_string(),
            display_value: v
                .get("displayValue")
                .and_then(Value::as_str)
                .map(String::from),
        })
    }
}

/// Every problem of `answers` to `questions`, each under `answers[i]` or naming the question
/// left unanswered. Patterns match anywhere in the answer unless anchored (`^...$`), as .NET's
/// `Regex.IsMatch` does for Entra.
pub fn validate_answers(questions: &[Question], answers: &[Answer]) -> Vec<Invalid> {
    let mut problems = validate_given_answers(questions, answers);
    for q in questions.iter().filter(|q| q.is_required) {
        let answered = answers
            .iter()
            .any(|a| a.question_id == q.id && !a.value.trim().is_empty());
        if !answered {
            problems.push(Invalid::new(
                "RequiredQuestionUnanswered",
                "answers",
                format!("question '{}' ({}) needs an answer", q.text, q.id),
            ));
        }
    }
    problems
}

/// The answers that were given, each held to its question (a known question, its pattern or
/// choices, one line, once), without asking for the required ones: an administrator's
/// assignment asks no questions, but what it records as answers must still be answers.
pub fn validate_given_answers(questions: &[Question], answers: &[Answer]) -> Vec<Invalid> {
    let mut problems = Vec::new();
    for (i, a) in answers.iter().enumerate() {
        let at = format!("answers[{i}]");
        let Some(q) = questions.iter().find(|q| q.id == a.question_id) else {
            problems.push(Invalid::new(
                "UnknownQuestion",
                format!("{at}.answeredQuestion.id"),
                format!("'{}' is not a question of this policy", a.question_id),
            ));
            continue;
        };
        let repeated = answers[..i].iter().any(|o| o.question_id == q.id);
        if a.value.chars().count() > MAX_ANSWER {
            problems.push(Invalid::new(
                "AnswerTooLong",
                format!("{at}.value"),
                format!("at most {MAX_ANSWER} characters"),
            ));
            continue;
        }
        match &q.kind {
            QuestionKind::Text {
                is_single_line_question,
                regex_pattern,
            } => {
                if repeated {
                    problems.push(Invalid::new(
                        "DuplicateAnswer",
                        at.clone(),
                        format!("question '{}' is answered twice", q.text),
                    ));
                }
                if *is_single_line_question && a.value.contains(['\n', '\r']) {
                    problems.push(Invalid::new(
                        "AnswerNotSingleLine",
                        format!("{at}.value"),
                        format!("question '{}' takes one line", q.text),
                    ));
                }
                if let Some(p) = regex_pattern
                    && !a.value.trim().is_empty()
                    && !compile(p).is_ok_and(|r| r.is_match(&a.value))
                {
                    problems.push(Invalid::new(
                        "AnswerDoesNotMatchPattern",
                        format!("{at}.value"),
                        format!("the answer to '{}' must match {p}", q.text),
                    ));
                }
            }
            QuestionKind::MultipleChoice {
                choices,
                is_multiple_selection_allowed,
            } => {
                if repeated && !is_multiple_selection_allowed {
                    problems.push(Invalid::new(
                        "DuplicateAnswer",
                        at.clone(),
                        format!("question '{}' takes one choice", q.text),
                    ));
                }
                if !choices.iter().any(|c| c.actual_value == a.value) {
                    let offered: Vec<&str> =
                        choices.iter().map(|c| c.actual_value.as_str()).collect();
                    problems.push(Invalid::new(
                        "AnswerNotAChoice",
                        format!("{at}.value"),
                        format!(
                            "'{}' is not a choice of '{}' ({})",
                            a.value,
                            q.text,
                            offered.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions(v: Value) -> (Vec<Question>, Vec<String>) {
        let body = json!({ "questions": v });
        let mut f = Fields::of(&body, "");
        let mut n = 0;
        let qs = Question::read_all(&mut f, || {
            n += 1;
            format!("q{n}")
        });
        (
            qs,
            f.problems
                .iter()
                .map(|p| format!("{} {}", p.code, p.target))
                .collect(),
        )
    }

    fn policy_questions() -> Vec<Question> {
        let (qs, p) = questions(json!([
            {"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "id": "ticket",
             "text": "Ticket number", "isRequired": true, "regexPattern": "^INC-[0-9]{4,}$"},
            {"@odata.type": "#microsoft.graph.accessPackageMultipleChoiceQuestion", "sequence": 2,
             "text": {"defaultText": "Site"}, "isRequired": false,
             "choices": [{"actualValue": "par", "text": "Paris"}, {"actualValue": "lis", "text": "Lisbon"}]},
        ]));
        assert!(p.is_empty(), "{p:?}");
        qs
    }

    fn answer(q: &str, v: &str) -> Answer {
        Answer {
            question_id: q.into(),
            value: v.into(),
            display_value: None,
        }
    }

    #[test]
    fn questions_read_and_round_trip() {
        let qs = policy_questions();
        assert_eq!(qs[1].id, "q1", "a fresh id for a question without one");
        assert_eq!(qs[1].text, "Site");
        let back: Vec<Question> =
            serde_json::from_value(serde_json::to_value(&qs).unwrap()).unwrap();
        assert_eq!(back, qs);
    }

    #[test]
    fn bad_questions_are_each_reported() {
        let (_, p) = questions(json!([
            {"@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "text": "x", "regexPattern": "([a-z"},
            {"@odata.type": "#microsoft.graph.accessPackageMultipleChoiceQuestion", "text": "", "choices": []},
            {"@odata.type": "#microsoft.graph.accessPackageSliderQuestion", "text": "x"},
            {"text": "x"},
        ]));
        assert_eq!(
            p,
            [
                "InvalidRegexPattern questions[0].regexPattern",
                "InvalidQuestionText questions[1].text",
                "MissingChoices questions[1].choices",
                "UnknownQuestionType questions[2].@odata.type",
                "MissingField questions[3].@odata.type",
            ]
        );
    }

    #[test]
    fn answers_are_checked() {
        let qs = policy_questions();
        let codes = |answers: &[Answer]| -> Vec<&'static str> {
            validate_answers(&qs, answers)
                .iter()
                .map(|p| p.code)
                .collect()
        };
        assert!(codes(&[answer("ticket", "INC-1234"), answer("q1", "lis")]).is_empty());
        assert!(
            codes(&[answer("ticket", "INC-1234")]).is_empty(),
            "optional stays optional"
        );
        assert_eq!(codes(&[]), ["RequiredQuestionUnanswered"]);
        assert_eq!(
            codes(&[answer("ticket", "  ")]),
            ["RequiredQuestionUnanswered"]
        );
        assert_eq!(
            codes(&[answer("ticket", "INC-12")]),
            ["AnswerDoesNotMatchPattern"]
        );
        assert_eq!(
            codes(&[answer("ticket", "INC-1234"), answer("q1", "rome")]),
            ["AnswerNotAChoice"]
        );
        assert_eq!(
            codes(&[
                answer("ticket", "INC-1234"),
                answer("q1", "par"),
                answer("q1", "lis")
            ]),
            ["DuplicateAnswer"]
        );
        assert_eq!(
            codes(&[answer("ticket", "INC-1234\nINC-5678"), answer("nope", "x")]),
            [
                "AnswerNotSingleLine",
                "AnswerDoesNotMatchPattern",
                "UnknownQuestion"
            ]
        );
        let read = Answer::read(
            &json!({"@odata.type": "#microsoft.graph.accessPackageAnswerString", "value": "par", "answeredQuestion": {"id": "q1"}}),
            "answers[0]",
        )
        .unwrap();
        assert_eq!(read, answer("q1", "par"));
        assert!(
            Answer::read(
                &json!({"@odata.type": "#microsoft.graph.accessPackageAnswerChoice"}),
                "a"
            )
            .is_err()
        );
    }
}
