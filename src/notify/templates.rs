//! The mails Eligo sends, rendered from a [`Notice`] for one audience: the approvers of a
//! request (with the one-click approve/deny links), the person whose access it is, or
//! administrators. Every mail has a plain-text part complete on its own and a simple,
//! inline-styled HTML part; askama escapes everything put into the HTML (names come from the
//! directory and may hold anything).

use askama::Template;
use chrono::{DateTime, TimeDelta, Utc};

use crate::notify::event::{BreakGlassUse, Notice, NoticeKind};

/// Who a mail is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// An approver of the stage now waiting, with the links made for them.
    Approver {
        approve_url: String,
        deny_url: String,
    },
    /// The person whose access it is (the requester, the assignee, the holder).
    Requestor,
    /// Administrators and other notification recipients.
    Admin,
}

/// A mail ready for [`crate::notify::mail::OutgoingMail`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// One labelled value in a mail's summary table.
struct Fact {
    label: &'static str,
    value: String,
}

struct Links {
    approve_url: String,
    deny_url: String,
    /// The request in the portal (`{public_url}/portal/approvals/{id}`), when it has an id.
    review_url: Option<String>,
}

#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct TextMail<'a> {
    heading: &'a str,
    paragraphs: &'a [String],
    facts: &'a [Fact],
    links: Option<&'a Links>,
    public_url: &'a str,
    reason: &'a str,
}

#[derive(Template)]
#[template(path = "mail/notice.html")]
struct HtmlMail<'a> {
    subject: &'a str,
    heading: &'a str,
    paragraphs: &'a [String],
    facts: &'a [Fact],
    links: Option<&'a Links>,
    public_url: &'a str,
    reason: &'a str,
}

/// The mail telling `audience` about `notice`. Subjects start with "Eligo: ".
pub fn render(notice: &Notice, audience: &Audience, public_url: &str) -> RenderedMail {
    let public_url = public_url.trim_end_matches('/');
    let content = content(notice, audience);
    let links = match audience {
        Audience::Approver {
            approve_url,
            deny_url,
        } => Some(Links {
            approve_url: approve_url.clone(),
            deny_url: deny_url.clone(),
            review_url: notice
                .request_id
                .map(|id| format!("{public_url}/portal/approvals/{id}")),
        }),
        _ => None,
    };
    let subject = one_line(&format!("Eligo: {}", content.subject));
    let facts = facts(notice);
    let text = TextMail {
        heading: &content.heading,
        paragraphs: &content.paragraphs,
        facts: &facts,
        links: links.as_ref(),
        public_url,
        reason: content.reason,
    }
    .render()
    .unwrap_or_else(|_| fallback(&content, links.as_ref()));
    let html = HtmlMail {
        subject: &subject,
        heading: &content.heading,
        paragraphs: &content.paragraphs,
        facts: &facts,
        links: links.as_ref(),
        public_url,
        reason: content.reason,
    }
    .render()
    // Rendering into a String cannot fail for these templates; should it ever, the text
    // (escaped by hand) still says everything.
    .unwrap_or_else(|_| format!("<pre>{}</pre>", escape(&fallback(&content, links.as_ref()))));
    RenderedMail {
        subject,
        text: tidy(&text),
        html,
    }
}

/// The mail telling a Global Administrator that the break-glass account was used: what, when,
/// from where, and what to do if nobody planned it.
pub fn render_breakglass(b: &BreakGlassUse, public_url: &str) -> RenderedMail {
    let public_url = public_url.trim_end_matches('/');
    let account = b
        .account
        .user_principal_name
        .clone()
        .unwrap_or_else(|| b.account.display_name.clone());
    let content = Content {
        subject: b.summary(),
        heading: "The break-glass account was used".into(),
        paragraphs: vec![
            format!(
                "The emergency-access (break-glass) account {account} was used at {}. It holds Global Administrator: whoever has its credential can change anything in Eligo.",
                format_time(b.occurred_at)
            ),
            "If this use was not a planned emergency, treat it as an incident: replace the credential (change ELIGO_BOOTSTRAP_TOKEN and restart, or run eligo bootstrap rotate) and read the audit log for what it did.".into(),
            format!(
                "Further uses of the same session within {} are recorded in the audit log but not announced again.",
                format_duration(TimeDelta::seconds(b.quiet_period_secs))
            ),
        ],
        reason: "You receive this mail because you are a Global Administrator in Eligo, and every use of the break-glass account is announced to all of them.",
    };
    let mut facts = vec![
        Fact {
            label: "Account",
            value: party(&b.account),
        },
        Fact {
            label: "Credential",
            value: match b.credential.as_str() {
                "bootstrapToken" => "the break-glass token".to_string(),
                "signIn" => "a sign-in to the account".to_string(),
                other => other.to_string(),
            },
        },
        Fact {
            label: "When",
            value: format_time(b.occurred_at),
        },
    ];
    if let Some(ip) = &b.ip_address {
        facts.push(Fact {
            label: "From",
            value: ip.clone(),
        });
    }
    if let Some(request) = &b.request {
        facts.push(Fact {
            label: "Request",
            value: request.clone(),
        });
    }
    compose(&content, &facts, public_url)
}

/// A mail without decision links, from its content and facts: the break-glass, PIM alert and
/// digest mails share the one layout.
fn compose(content: &Content, facts: &[Fact], public_url: &str) -> RenderedMail {
    let public_url = public_url.trim_end_matches('/');
    let subject = one_line(&format!("Eligo: {}", content.subject));
    let text = TextMail {
        heading: &content.heading,
        paragraphs: &content.paragraphs,
        facts,
        links: None,
        public_url,
        reason: content.reason,
    }
    .render()
    .unwrap_or_else(|_| fallback(content, None));
    let html = HtmlMail {
        subject: &subject,
        heading: &content.heading,
        paragraphs: &content.paragraphs,
        facts,
        links: None,
        public_url,
        reason: content.reason,
    }
    .render()
    .unwrap_or_else(|_| format!("<pre>{}</pre>", escape(&fallback(content, None))));
    RenderedMail {
        subject,
        text: tidy(&text),
        html,
    }
}

/// A mail of paragraphs and labelled facts (label, value), said to administrators: what PIM
/// alert and digest mails are. Empty values are left out.
pub(crate) fn plain_mail(
    subject: String,
    heading: String,
    paragraphs: Vec<String>,
    facts: Vec<(&'static str, String)>,
    public_url: &str,
    reason: &'static str,
) -> RenderedMail {
    let facts: Vec<Fact> = facts
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(label, value)| Fact { label, value })
        .collect();
    let content = Content {
        subject,
        heading,
        paragraphs,
        reason,
    };
    compose(&content, &facts, public_url)
}

struct Content {
    subject: String,
    heading: String,
    paragraphs: Vec<String>,
    reason: &'static str,
}

fn content(n: &Notice, audience: &Audience) -> Content {
    let who = n.principal.display_name.as_str();
    let what = n.target.phrase();
    let actor = n.actor.as_ref().map(|a| a.display_name.as_str());
    let mine = matches!(audience, Audience::Requestor);
    let approver = matches!(audience, Audience::Approver { .. });
    let stage = n
        .stage
        .as_ref()
        .filter(|s| s.of > 1)
        .map(|s| format!(" (stage {} of {})", s.number, s.of))
        .unwrap_or_default();
    let by = |verb: &str| actor.map(|a| format!(" {verb} {a}")).unwrap_or_default();
    let when = n.end.map(format_time);
    let held = held_phrase(&n.assignment);

    let (subject, heading, paragraphs): (String, String, Vec<String>) = match n.kind {
        NoticeKind::ActivationRequested if approver => (
            n.summary(),
            format!("{who} requests {what}"),
            vec![
                format!("{who} asks for {what} and needs your approval{stage}."),
                "Check the request below, then approve or deny it.".into(),
            ],
        ),
        NoticeKind::ActivationRequested if mine => (
            format!("Your request for {what} waits for approval"),
            format!("Your request for {what} waits for approval"),
            vec![format!(
                "Your request for {what} was sent to its approvers{stage}. You will get a mail when it is decided; nothing is granted until then."
            )],
        ),
        NoticeKind::ActivationRequested => (
            format!("{who} requests {what}"),
            format!("{who} requests {what}"),
            vec![format!(
                "{who} asked for {what}. The request waits for approval{stage}."
            )],
        ),
        NoticeKind::RequestApproved if mine => (
            format!("Your request for {what} was approved"),
            format!("Your request for {what} was approved"),
            vec![format!("Your request for {what} was approved{}.", by("by"))],
        ),
        NoticeKind::RequestApproved => (
            n.summary(),
            format!("{who}'s request for {what} was approved"),
            vec![format!(
                "{who}'s request for {what} was approved{}.",
                by("by")
            )],
        ),
        NoticeKind::RequestDenied if mine => (
            format!("Your request for {what} was denied"),
            format!("Your request for {what} was denied"),
            vec![
                format!("Your request for {what} was denied{}.", by("by")),
                "Nothing was granted. Read the approver's reason below; you may ask again."
                    .into(),
            ],
        ),
        NoticeKind::RequestDenied => (
            n.summary(),
            format!("{who}'s request for {what} was denied"),
            vec![format!(
                "{who}'s request for {what} was denied{}. Nothing was granted.",
                by("by")
            )],
        ),
        NoticeKind::RequestExpired if mine => (
            format!("Your request for {what} expired"),
            format!("Your request for {what} expired without a decision"),
            vec![format!(
                "Your request for {what} was not decided in time and has expired. Nothing was granted; you may ask again."
            )],
        ),
        NoticeKind::RequestExpired => (
            n.summary(),
            format!("{who}'s request for {what} expired"),
            vec![format!(
                "{who}'s request for {what} was not decided in time and has expired. Nothing was granted."
            )],
        ),
        NoticeKind::Activated if mine => (
            format!("You activated {what}"),
            format!("You activated {what}"),
            vec![match &when {
                Some(end) => format!("{what} is active for you until {end}."),
                None => format!("{what} is active for you, with no end."),
            }],
        ),
        NoticeKind::Activated => (
            n.summary(),
            format!("{who} activated {what}"),
            vec![
                format!(
                    "{who} activated {what}{}.",
                    when.as_ref()
                        .map(|e| format!(" until {e}"))
                        .unwrap_or_default()
                ),
                "If you did not expect this activation, look into it.".into(),
            ],
        ),
        NoticeKind::EligibilityGranted if mine => (
            format!("You are now eligible for {what}"),
            format!("You are now eligible for {what}"),
            vec![
                format!(
                    "You were made eligible for {what}{}.",
                    by("by")
                ),
                "Eligible means you may activate it in Eligo when you need it, within the limits of its policy.".into(),
            ],
        ),
        NoticeKind::EligibilityGranted => (
            n.summary(),
            format!("{who} is now eligible for {what}"),
            vec![format!(
                "{who} was made eligible for {what}{}.",
                by("by")
            )],
        ),
        NoticeKind::AssignmentGranted if mine => (
            format!("You were assigned {what}"),
            format!("You were assigned {what}"),
            vec![format!("You were assigned {what}{}.", by("by"))],
        ),
        NoticeKind::AssignmentGranted => (
            n.summary(),
            format!("{who} was assigned {what}"),
            vec![format!("{who} was assigned {what}{}.", by("by"))],
        ),
        NoticeKind::Expiring => {
            let left = match n.days_left {
                Some(1) => "in 1 day".to_string(),
                Some(d) => format!("in {d} days"),
                None => "soon".to_string(),
            };
            let on = when
                .as_ref()
                .map(|e| format!(", on {e}"))
                .unwrap_or_default();
            if mine {
                (
                    format!("Your {held} {what} ends {left}"),
                    format!("Your {held} {what} ends {left}"),
                    vec![
                        format!("Your {held} {what} ends {left}{on}."),
                        "If you still need it, ask an administrator to extend it before then."
                            .into(),
                    ],
                )
            } else {
                (
                    n.summary(),
                    format!("{who}'s {held} {what} ends {left}"),
                    vec![format!("{who}'s {held} {what} ends {left}{on}.")],
                )
            }
        }
        NoticeKind::Expired if mine => (
            format!("Your {held} {what} has ended"),
            format!("Your {held} {what} has ended"),
            vec![format!(
                "Your {held} {what} has ended{}.",
                when.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
            )],
        ),
        NoticeKind::Expired => (
            n.summary(),
            format!("{who}'s {held} {what} has ended"),
            vec![format!(
                "{who}'s {held} {what} has ended{}.",
                when.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
            )],
        ),
    };
    let reason = match audience {
        Audience::Approver { .. } => {
            "You receive this mail because you are an approver of this request in Eligo."
        }
        Audience::Requestor => "You receive this mail because it concerns your access in Eligo.",
        Audience::Admin => {
            "You receive this mail because you are a notification recipient for this access in Eligo."
        }
    };
    Content {
        subject,
        heading,
        paragraphs,
        reason,
    }
}

/// "eligibility for", "active assignment of": `assignment` is `eligible` or `active`.
fn held_phrase(assignment: &str) -> &'static str {
    if assignment == "eligible" {
        "eligibility for"
    } else {
        "active assignment of"
    }
}

/// The request at a glance: who, what, where, when, why.
fn facts(n: &Notice) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut push = |label, value: String| {
        if !value.trim().is_empty() {
            out.push(Fact { label, value });
        }
    };
    push("Who", party(&n.principal));
    match n.target.access_id.as_deref() {
        Some(access) => {
            push("Group", n.target.display_name.clone());
            push("Access", format!("{access}ship"));
        }
        None => {
            push("Role", n.target.display_name.clone());
            let scope = n.target.directory_scope_id.as_deref().unwrap_or("/");
            push(
                "Scope",
                if scope == "/" {
                    "/ (the whole directory)".to_string()
                } else {
                    scope.to_string()
                },
            );
        }
    }
    push("Assignment", n.assignment.clone());
    match n.start {
        Some(start) => push("Start", format_time(start)),
        None if n.kind == NoticeKind::ActivationRequested => {
            push("Start", "when approved".to_string())
        }
        None => {}
    }
    match (n.start, n.end) {
        (_, None) if n.kind != NoticeKind::ActivationRequested => {
            push("End", "none (permanent)".to_string())
        }
        (_, None) => {}
        (Some(start), Some(end)) => {
            push("End", format_time(end));
            push("Duration", format_duration(end - start));
        }
        (None, Some(end)) => push("End", format_time(end)),
    }
    if let Some(j) = &n.justification {
        push("Justification", j.clone());
    }
    if n.ticket_number.is_some() || n.ticket_system.is_some() {
        let ticket = match (&n.ticket_number, &n.ticket_system) {
            (Some(num), Some(sys)) => format!("{num} ({sys})"),
            (Some(num), None) => num.clone(),
            (None, Some(sys)) => sys.clone(),
            (None, None) => String::new(),
        };
        push("Ticket", ticket);
    }
    if let Some(stage) = &n.stage {
        push(
            "Approval stage",
            format!("{} of {}", stage.number, stage.of),
        );
    }
    if let Some(actor) = &n.actor {
        let label = match n.kind {
            NoticeKind::RequestApproved | NoticeKind::RequestDenied => "Decided by",
            NoticeKind::ActivationRequested => "Requested by",
            NoticeKind::EligibilityGranted | NoticeKind::AssignmentGranted => "Granted by",
            _ => "By",
        };
        if actor.id != n.principal.id || label != "Requested by" {
            push(label, party(actor));
        }
    }
    if let Some(j) = &n.reviewer_justification {
        push("Approver's reason", j.clone());
    }
    if let Some(id) = n.request_id {
        push("Request", id.to_string());
    }
    out
}

pub(crate) fn party(p: &crate::notify::event::Party) -> String {
    match &p.user_principal_name {
        Some(upn) if upn != &p.display_name => format!("{} ({upn})", p.display_name),
        _ => p.display_name.clone(),
    }
}

/// `2026-11-22 10:00 UTC`.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `8 hours`, `1 day 2 hours`, `30 minutes`, `5 seconds`.
pub fn format_duration(d: TimeDelta) -> String {
    eligo_core::duration_words::in_words(d)
}

/// Control characters (a display name may hold a newline) become spaces.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most one blank line in a row, and a final newline.
pub(crate) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn fallback(content: &Content, links: Option<&Links>) -> String {
    let mut out = format!(
        "{}\n\n{}\n",
        content.heading,
        content.paragraphs.join("\n\n")
    );
    if let Some(l) = links {
        out.push_str(&format!(
            "\nApprove: {}\nDeny: {}\n",
            l.approve_url, l.deny_url
        ));
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::notify::event::{NoticeStage, NoticeTarget, Party};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_break_glass_mail_says_what_when_and_from_where() {
        let b = BreakGlassUse {
            id: Uuid::from_u128(1),
            occurred_at: at("2026-11-22T10:00:00Z"),
            account: Party {
                id: Uuid::from_u128(2),
                display_name: "Emergency <access>".into(),
                user_principal_name: Some("breakglass@eligo.local".into()),
            },
            credential: "bootstrapToken".into(),
            ip_address: Some("203.0.113.9".into()),
            request: Some("GET /v1/users".into()),
            quiet_period_secs: 3600,
        };
        let m = render_breakglass(&b, "https://eligo.example/");
        assert_eq!(
            m.subject,
            "Eligo: The break-glass account breakglass@eligo.local was used from 203.0.113.9"
        );
        for needle in [
            "From: 203.0.113.9",
            "Request: GET /v1/users",
            "Credential: the break-glass token",
            "When: 2026-11-22 10:00 UTC",
            "within 1 hour",
        ] {
            assert!(m.text.contains(needle), "{needle}: {}", m.text);
        }
        assert!(
            m.html.contains("Emergency &lt;access&gt;")
                || m.html.contains("Emergency &#60;access&#62;"),
            "{}",
            m.html
        );
        assert!(!m.html.contains("<access>"));
    }

    fn notice(kind: NoticeKind) -> Notice {
        Notice {
            id: Uuid::from_u128(1),
            kind,
            occurred_at: at("2026-11-22T10:00:00Z"),
            principal: Party {
                id: Uuid::from_u128(2),
                display_name: "Alice Requester".into(),
                user_principal_name: Some("alice@contoso.example".into()),
            },
            actor: Some(Party {
                id: Uuid::from_u128(3),
                display_name: "Bob Approver".into(),
                user_principal_name: Some("bob@contoso.example".into()),
            }),
            target: NoticeTarget {
                kind: "role".into(),
                id: Uuid::from_u128(4),
                display_name: "Exchange Administrator".into(),
                directory_scope_id: Some("/administrativeUnits/emea".into()),
                access_id: None,
            },
            assignment: if matches!(kind, NoticeKind::EligibilityGranted) {
                "eligible".into()
            } else {
                "active".into()
            },
            request_id: Some(Uuid::from_u128(5)),
            justification: Some("Mailbox migration for EMEA".into()),
            ticket_number: Some("CHG-1234".into()),
            ticket_system: Some("ServiceNow".into()),
            start: (kind != NoticeKind::ActivationRequested).then(|| at("2026-11-22T10:00:00Z")),
            end: Some(at("2026-11-22T18:00:00Z")),
            stage: (kind == NoticeKind::ActivationRequested).then_some(NoticeStage {
                number: 1,
                of: 2,
                step_id: Uuid::from_u128(6),
            }),
            days_left: (kind == NoticeKind::Expiring).then_some(14),
            reviewer_justification: (kind == NoticeKind::RequestDenied)
                .then(|| "Not during the freeze".into()),
        }
    }

    fn audiences() -> [Audience; 3] {
        [
            Audience::Approver {
                approve_url: "https://eligo.example/approvals/decide?token=AAA.approve".into(),
                deny_url: "https://eligo.example/approvals/decide?token=BBB.deny".into(),
            },
            Audience::Requestor,
            Audience::Admin,
        ]
    }

    #[test]
    fn every_kind_renders_for_every_audience() {
        for kind in NoticeKind::ALL {
            for audience in audiences() {
                let n = notice(kind);
                let m = render(&n, &audience, "https://eligo.example/");
                let ctx = format!("{kind:?} for {audience:?}");
                assert!(m.subject.starts_with("Eligo: "), "{ctx}: {}", m.subject);
                assert!(m.subject.len() > "Eligo: ".len(), "{ctx}");
                assert!(!m.subject.contains('\n'), "{ctx}");
                for (part, body) in [("text", &m.text), ("html", &m.html)] {
                    assert!(!body.trim().is_empty(), "{ctx} {part}");
                    assert!(body.contains("Alice Requester"), "{ctx} {part}:\n{body}");
                    assert!(
                        body.contains("Exchange Administrator"),
                        "{ctx} {part}:\n{body}"
                    );
                    assert!(body.contains("https://eligo.example"), "{ctx} {part}");
                }
                assert!(m.html.starts_with("<!DOCTYPE html>"), "{ctx}");
                if let Audience::Approver {
                    approve_url,
                    deny_url,
                } = &audience
                {
                    for body in [&m.text, &m.html] {
                        assert!(body.contains(approve_url.as_str()), "{ctx}:\n{body}");
                        assert!(body.contains(deny_url.as_str()), "{ctx}:\n{body}");
                    }
                } else {
                    assert!(!m.text.contains("decide?token"), "{ctx}");
                    assert!(!m.html.contains("decide?token"), "{ctx}");
                }
            }
        }
    }

    #[test]
    fn the_approval_mail_says_what_is_asked() {
        let (approve_url, deny_url) = (
            "https://e/a?token=1".to_string(),
            "https://e/d?token=2".to_string(),
        );
        let m = render(
            &notice(NoticeKind::ActivationRequested),
            &Audience::Approver {
                approve_url,
                deny_url,
            },
            "https://eligo.example",
        );
        assert_eq!(
            m.subject,
            "Eligo: Alice Requester requests Exchange Administrator at /administrativeUnits/emea: your approval is needed"
        );
        for needle in [
            "alice@contoso.example",
            "/administrativeUnits/emea",
            "Mailbox migration for EMEA",
            "CHG-1234 (ServiceNow)",
            "1 of 2",
            "2026-11-22 18:00 UTC",
            "when approved",
            "To approve, open:",
        ] {
            assert!(m.text.contains(needle), "{needle} in:\n{}", m.text);
        }
        assert!(m.html.contains("Approve&hellip;") && m.html.contains("Deny&hellip;"));
        // The request in the portal, next to the one-click links (request id 5).
        let review = "https://eligo.example/portal/approvals/00000000-0000-0000-0000-000000000005";
        assert!(
            m.text.contains(&format!("Review in Eligo: {review}")),
            "{}",
            m.text
        );
        assert!(m.html.contains(&format!("href=\"{review}\"")), "{}", m.html);
    }

    #[test]
    fn a_denial_carries_the_approvers_reason() {
        let m = render(
            &notice(NoticeKind::RequestDenied),
            &Audience::Requestor,
            "https://eligo.example",
        );
        assert_eq!(
            m.subject,
            "Eligo: Your request for Exchange Administrator at /administrativeUnits/emea was denied"
        );
        assert!(m.text.contains("Not during the freeze"), "{}", m.text);
        assert!(m.text.contains("Bob Approver"), "{}", m.text);
        assert!(m.html.contains("Not during the freeze"));
    }

    #[test]
    fn expiring_says_how_long_is_left() {
        let mut n = notice(NoticeKind::Expiring);
        let m = render(&n, &Audience::Requestor, "https://eligo.example");
        assert!(m.subject.contains("ends in 14 days"), "{}", m.subject);
        n.days_left = Some(1);
        let m = render(&n, &Audience::Requestor, "https://eligo.example");
        assert!(m.subject.contains("ends in 1 day"), "{}", m.subject);
        assert!(m.text.contains("2026-11-22 18:00 UTC"));
    }

    #[test]
    fn group_targets_name_the_group_and_the_access() {
        let mut n = notice(NoticeKind::Activated);
        n.target = NoticeTarget {
            kind: "group".into(),
            id: Uuid::from_u128(9),
            display_name: "Tier 0 Operators".into(),
            directory_scope_id: None,
            access_id: Some("member".into()),
        };
        let m = render(&n, &Audience::Admin, "https://eligo.example");
        assert_eq!(
            m.subject,
            "Eligo: Alice Requester activated membership of Tier 0 Operators"
        );
        assert!(m.text.contains("Group: Tier 0 Operators"), "{}", m.text);
        assert!(m.text.contains("Access: membership"), "{}", m.text);
    }

    #[test]
    fn names_are_escaped_in_html_and_kept_on_one_line_in_subjects() {
        let mut n = notice(NoticeKind::ActivationRequested);
        n.principal.display_name = "<script>alert(1)</script>\r\nBcc: x".into();
        n.justification = Some("\"quoted\" & <b>bold</b>".into());
        n.target.display_name = "<img src=x onerror=alert(2)>".into();
        for audience in audiences() {
            let m = render(&n, &audience, "https://eligo.example");
            assert!(!m.html.contains("<script>"), "{}", m.html);
            assert!(!m.html.contains("<img"), "{}", m.html);
            assert!(!m.html.contains("<b>bold"), "{}", m.html);
            assert!(!m.html.contains("<b>"), "{}", m.html);
            assert!(m.html.contains("&#60;script&#62;"), "{}", m.html);
            assert!(m.html.contains("&#60;img"), "{}", m.html);
            assert!(
                m.html.contains("&#34;quoted&#34; &#38; &#60;b&#62;"),
                "{}",
                m.html
            );
            assert!(!m.subject.contains('\n') && !m.subject.contains('\r'));
            // The text part is plain text: shown as written.
            assert!(m.text.contains("<script>alert(1)</script>"));
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(TimeDelta::hours(8)), "8 hours");
        assert_eq!(format_duration(TimeDelta::minutes(30)), "30 minutes");
        assert_eq!(
            format_duration(TimeDelta::days(1) + TimeDelta::hours(2)),
            "1 day 2 hours"
        );
        assert_eq!(format_duration(TimeDelta::seconds(5)), "5 seconds");
    }
}
