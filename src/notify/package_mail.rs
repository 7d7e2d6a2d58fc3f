//! The mails about access package requests and assignments, rendered from a
//! [`PackageNotice`] for one audience: an approver of the stage now waiting (with the link to
//! the request in the portal, which decides nothing by itself: the approver signs in and
//! decides there with a fresh second factor), the person whose access it is, or the person who
//! asked on their behalf. A plain-text part complete on its own and an inline-styled HTML part
//! that askama escapes (names, justifications and answers are anyone's text).

use askama::Template;
use serde::{Deserialize, Serialize};

use super::package::{PackageEvent, PackageNotice};
use super::templates::{RenderedMail, format_time, one_line, party, tidy};

/// Who a mail is for, and so how it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PackageAudience {
    /// An approver of the stage now waiting.
    Approver,
    /// The person whose access it is.
    Target,
    /// Who asked for it on the target's behalf.
    Requestor,
}

struct Fact {
    label: String,
    value: String,
}

#[derive(Template)]
#[template(path = "mail/package.txt")]
struct TextMail<'a> {
    heading: &'a str,
    paragraphs: &'a [String],
    facts: &'a [Fact],
    decision_url: Option<&'a str>,
    public_url: &'a str,
    reason: &'a str,
}

#[derive(Template)]
#[template(path = "mail/package.html")]
struct HtmlMail<'a> {
    subject: &'a str,
    heading: &'a str,
    paragraphs: &'a [String],
    facts: &'a [Fact],
    decision_url: Option<&'a str>,
    public_url: &'a str,
    reason: &'a str,
}

/// The mail telling `audience` about `n`. Subjects start with "Eligo: ".
pub fn render(n: &PackageNotice, audience: PackageAudience, public_url: &str) -> RenderedMail {
    let public_url = public_url.trim_end_matches('/');
    let (subject, heading, paragraphs) = content(n, audience);
    let subject = one_line(&format!("Eligo: {subject}"));
    let facts = facts(n);
    let decision_url = match (audience, n.event) {
        (PackageAudience::Approver, PackageEvent::ApprovalRequested) => n.decision_url(public_url),
        _ => None,
    };
    let reason = match audience {
        PackageAudience::Approver => {
            "You receive this mail because you are an approver of this request in Eligo."
        }
        PackageAudience::Target => {
            "You receive this mail because it concerns your access in Eligo."
        }
        PackageAudience::Requestor => {
            "You receive this mail because you asked for this access on someone's behalf in Eligo."
        }
    };
    let text = TextMail {
        heading: &heading,
        paragraphs: &paragraphs,
        facts: &facts,
        decision_url: decision_url.as_deref(),
        public_url,
        reason,
    }
    .render()
    .unwrap_or_else(|_| format!("{heading}\n\n{}\n", paragraphs.join("\n\n")));
    let html = HtmlMail {
        subject: &subject,
        heading: &heading,
        paragraphs: &paragraphs,
        facts: &facts,
        decision_url: decision_url.as_deref(),
        public_url,
        reason,
    }
    .render()
    // Rendering into a String cannot fail for these templates; the text part says it all.
    .unwrap_or_default();
    RenderedMail {
        subject,
        text: tidy(&text),
        html,
    }
}

fn content(n: &PackageNotice, audience: PackageAudience) -> (String, String, Vec<String>) {
    let who = n.target.display_name.as_str();
    let package = format!("the access package {}", n.package.display_name);
    let mine = audience == PackageAudience::Target;
    // "Your request for X", or "Alice's request for X" (to whoever asked on her behalf).
    let request = if mine {
        format!("Your request for {package}")
    } else {
        format!("{who}'s request for {package}")
    };
    let assignment = if mine {
        format!("Your assignment of {package}")
    } else {
        format!("{who}'s assignment of {package}")
    };
    let by = n
        .actor
        .as_ref()
        .map(|a| format!(" by {}", a.display_name))
        .unwrap_or_default();
    let until = n
        .end
        .map(|e| format!("until {}", format_time(e)))
        .unwrap_or_else(|| "with no end".into());
    match n.event {
        PackageEvent::ApprovalRequested => {
            let stage = n
                .stage
                .as_ref()
                .filter(|s| s.of > 1)
                .map(|s| format!(" (stage {} of {})", s.number, s.of))
                .unwrap_or_default();
            let escalated = n.stage.as_ref().is_some_and(|s| s.escalated);
            let deadline = n
                .stage
                .as_ref()
                .and_then(|s| s.deadline)
                .map(|d| {
                    format!(
                        "If nobody decides by {}, the request is denied.",
                        format_time(d)
                    )
                })
                .unwrap_or_default();
            let mut paragraphs = vec![format!(
                "{who} asks for {package} and needs your approval{stage}."
            )];
            if escalated {
                paragraphs.push(
                    "It was not decided in time by its approvers, so it was escalated to you."
                        .into(),
                );
            }
            paragraphs.push(format!("Check the request below. {deadline}").trim().into());
            (n.summary(), format!("{who} requests {package}"), paragraphs)
        }
        PackageEvent::RequestApproved => (
            format!("{request} was approved"),
            format!("{request} was approved"),
            vec![format!(
                "{request} was approved{by}. The access is being delivered; another mail says when it is."
            )],
        ),
        PackageEvent::RequestDenied => {
            let why = match n.status.as_deref() {
                Some("TimedOut") => "it was not decided in time".to_string(),
                Some(s) if s.starts_with("Denied:") => {
                    "deciding it again at approval found it can no longer be given".to_string()
                }
                _ => format!("it was denied{by}"),
            };
            (
                format!("{request} was denied"),
                format!("{request} was denied"),
                vec![
                    format!("{request} was not granted: {why}."),
                    "Nothing was given. You may ask again.".into(),
                ],
            )
        }
        PackageEvent::AssignmentDelivered => (
            format!("{package} was delivered"),
            if mine {
                format!("You now have {package}")
            } else {
                format!("{who} now has {package}")
            },
            vec![format!(
                "{} {package}, {until}.",
                if mine {
                    "You now have".to_string()
                } else {
                    format!("{who} now has")
                }
            )],
        ),
        PackageEvent::AssignmentExpiring => {
            let left = match n.days_left {
                Some(1) => "in 1 day".to_string(),
                Some(d) => format!("in {d} days"),
                None => "soon".into(),
            };
            (
                format!("{assignment} ends {left}"),
                format!("{assignment} ends {left}"),
                vec![
                    format!(
                        "{assignment} ends {left}{}.",
                        n.end
                            .map(|e| format!(", on {}", format_time(e)))
                            .unwrap_or_default()
                    ),
                    "If it is still needed, ask for an extension before then.".into(),
                ],
            )
        }
        PackageEvent::AssignmentExpired => {
            let removed = n.status.as_deref() == Some("Removed");
            let verb = if removed { "was removed" } else { "has ended" };
            (
                format!("{assignment} {verb}"),
                format!("{assignment} {verb}"),
                vec![format!(
                    "{assignment} {verb}; what it gave has been taken back."
                )],
            )
        }
    }
}

fn facts(n: &PackageNotice) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut push = |label: &str, value: String| {
        if !value.trim().is_empty() {
            out.push(Fact {
                label: label.to_string(),
                value,
            });
        }
    };
    push("Access package", n.package.display_name.clone());
    push("For", party(&n.target));
    if let Some(r) = n.requestor.as_ref().filter(|r| r.id != n.target.id) {
        push("Requested by", party(r));
    }
    if let Some(j) = &n.justification {
        push("Justification", j.clone());
    }
    for a in &n.answers {
        push(&a.question, a.answer.clone());
    }
    if let Some(s) = &n.stage {
        push("Approval stage", format!("{} of {}", s.number, s.of));
        if let Some(d) = s.deadline {
            push("Decide by", format_time(d));
        }
    }
    if let Some(s) = n.start {
        push("Start", format_time(s));
    }
    match n.end {
        Some(e) => push("End", format_time(e)),
        None if n.event == PackageEvent::AssignmentDelivered => push("End", "none".into()),
        None => {}
    }
    if let Some(actor) = &n.actor {
        push("Decided by", party(actor));
    }
    if let Some(s) = &n.status {
        push("Status", s.clone());
    }
    if let Some(r) = &n.reason {
        push("Reason", r.clone());
    }
    if let Some(id) = n.request_id {
        push("Request", id.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::notify::event::Party;
    use crate::notify::package::{AnswerLine, PackageRef, PackageStage};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn notice(event: PackageEvent) -> PackageNotice {
        PackageNotice {
            id: Uuid::from_u128(1),
            event,
            occurred_at: at("2026-11-22T10:00:00Z"),
            package: PackageRef {
                id: Uuid::from_u128(2),
                display_name: "IRM <Admins>".into(),
            },
            requestor: Some(Party {
                id: Uuid::from_u128(3),
                display_name: "Mia Manager".into(),
                user_principal_name: Some("mia@contoso.example".into()),
            }),
            target: Party {
                id: Uuid::from_u128(4),
                display_name: "Alice".into(),
                user_principal_name: Some("alice@contoso.example".into()),
            },
            actor: None,
            request_id: Some(Uuid::from_u128(5)),
            assignment_id: Some(Uuid::from_u128(6)),
            justification: Some("audit <work>".into()),
            answers: vec![AnswerLine {
                question: "Case number".into(),
                answer: "IRM-42".into(),
            }],
            stage: Some(PackageStage {
                number: 1,
                of: 2,
                stage_id: Uuid::from_u128(7),
                deadline: Some(at("2026-11-24T10:00:00Z")),
                escalated: false,
            }),
            status: None,
            reason: None,
            start: None,
            end: Some(at("2026-12-22T10:00:00Z")),
            days_left: Some(14),
        }
    }

    #[test]
    fn the_approver_gets_the_request_and_the_link_to_decide() {
        let m = render(
            &notice(PackageEvent::ApprovalRequested),
            PackageAudience::Approver,
            "https://eligo.example/",
        );
        assert_eq!(
            m.subject,
            "Eligo: Alice requests the access package IRM <Admins>: your approval is needed"
        );
        let url =
            "https://eligo.example/portal/approvals/packages/00000000-0000-0000-0000-000000000005";
        for needle in [
            url,
            "Requested by: Mia Manager (mia@contoso.example)",
            "Justification: audit <work>",
            "Case number: IRM-42",
            "Approval stage: 1 of 2",
            "Decide by: 2026-11-24 10:00 UTC",
        ] {
            assert!(m.text.contains(needle), "{needle}:\n{}", m.text);
        }
        assert!(m.html.contains(&format!("href=\"{url}\"")), "{}", m.html);
        assert!(!m.html.contains("<Admins>") && !m.html.contains("<work>"));
    }

    #[test]
    fn every_event_renders_for_every_audience_and_only_approvers_get_the_link() {
        for event in PackageEvent::ALL {
            for audience in [
                PackageAudience::Approver,
                PackageAudience::Target,
                PackageAudience::Requestor,
            ] {
                let m = render(&notice(event), audience, "https://eligo.example");
                assert!(m.subject.starts_with("Eligo: "));
                assert!(m.text.contains("IRM <Admins>"), "{event:?}: {}", m.text);
                let linked = m.text.contains("/portal/approvals/packages/");
                assert_eq!(
                    linked,
                    audience == PackageAudience::Approver
                        && event == PackageEvent::ApprovalRequested,
                    "{event:?} {audience:?}"
                );
            }
        }
    }
}
