//! Delivering notices to webhook subscriptions: the event body, the signed POST, and the
//! validation of a subscription.
//!
//! An event is a JSON object:
//!
//! ```json
//! {
//!   "id": "5b0c7f3e-8d5a-4d8e-9a51-1f0f6c3a2b7d",
//!   "type": "access.activated",
//!   "occurredAt": "2025-01-01T09:00:00Z",
//!   "text": "Alice activated Exchange Administrator — justification: mail flow <https://eligo.example/v1/...|open in Eligo>",
//!   "data": { "...": "the notice, see notify::event::Notice" }
//! }
//! ```
//!
//! Eligo's security events (`breakglass.used`, `audit.entry`, `audit.checkpoint`; see
//! [`super::event::SecurityEvent`]) have the same envelope, with `data` the break-glass use,
//! the audit entry exactly as `GET /v1/auditLogs/directoryAudits` answers it, or the signed
//! checkpoint exactly as written to `checkpoints.jsonl` ([`OutgoingEvent`]).
//!
//! `text` is a one-liner in Slack's message format (`&`, `<` and `>` escaped, the link as
//! `<url|label>`), so the body can be posted to a Slack-compatible incoming webhook as is.
//! `id` is the notice id and is repeated in the `Eligo-Event-Id` header; retries of one event
//! keep it, so a receiver deduplicates on it. Every request is signed as described in
//! [`super::signing`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::event::{Notice, NoticeKind, is_known_event_type, known_event_types};
use super::signing::{self, EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// How long a receiver has to answer, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest subscription URL accepted.
const MAX_URL_LEN: usize = 2048;
/// The longest free text (justification, ticket, note) quoted in `text`.
const MAX_QUOTE_CHARS: usize = 200;
/// How much of a refusing receiver's answer is quoted in the error.
const MAX_ANSWER_CHARS: usize = 200;
/// How much of an answer is read (to keep the connection reusable) before giving up on it.
const MAX_DRAIN_BYTES: usize = 64 * 1024;

/// The JSON body of a webhook event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// The notice id; also the `Eligo-Event-Id` header.
    pub id: Uuid,
    /// The event type, `NoticeKind::as_str` (`activation.requested`, `access.expired`, ...).
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    /// A Slack-compatible one-line description with a link into Eligo.
    pub text: String,
    /// The notice itself.
    pub data: Notice,
}

impl WebhookEvent {
    /// The event for `notice`; `public_url` is where people reach Eligo (links in `text`).
    pub fn new(notice: &Notice, public_url: &str) -> Self {
        Self {
            id: notice.id,
            event_type: notice.kind.as_str().to_string(),
            occurred_at: notice.occurred_at,
            text: slack_text(notice, public_url),
            data: notice.clone(),
        }
    }
}

/// A security event ready to send: the same envelope as [`WebhookEvent`], with its `data` as
/// JSON. Travels in outbox jobs as is, so a retry sends the very same body (and id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutgoingEvent {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub text: String,
    pub data: serde_json::Value,
}

impl OutgoingEvent {
    /// `text` is escaped for Slack here (it may quote names from the directory).
    pub fn new(
        id: Uuid,
        event: super::event::SecurityEvent,
        occurred_at: DateTime<Utc>,
        text: &str,
        data: serde_json::Value,
    ) -> Self {
        Self {
            id,
            event_type: event.as_str().to_string(),
            occurred_at,
            text: slack_escape(text),
            data,
        }
    }

    /// An event of another family (`accessPackage.*`), under its own type name.
    pub fn named(
        id: Uuid,
        event_type: &str,
        occurred_at: DateTime<Utc>,
        text: &str,
        data: serde_json::Value,
    ) -> Self {
        Self {
            id,
            event_type: event_type.to_string(),
            occurred_at,
            text: slack_escape(text),
            data,
        }
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("an event always serializes")
    }
}

/// The JSON body of the webhook event for `notice`.
pub fn event_body(notice: &Notice, public_url: &str) -> serde_json::Value {
    serde_json::to_value(WebhookEvent::new(notice, public_url))
        .expect("a webhook event always serializes")
}

/// Where in Eligo a notice can be looked at: the approval waiting, the request behind it, or
/// else the role or group.
pub fn notice_link(notice: &Notice, public_url: &str) -> String {
    let base = public_url.trim_end_matches('/');
    let group = notice.target.kind == "group";
    let eligible = notice.assignment == "eligible";
    let path = match (notice.kind, notice.request_id) {
        (NoticeKind::ActivationRequested, Some(id)) if group => {
            format!("/v1/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}")
        }
        (NoticeKind::ActivationRequested, Some(id)) => {
            format!("/v1/roleManagement/directory/roleAssignmentApprovals/{id}")
        }
        (_, Some(id)) if group => format!(
            "/v1/identityGovernance/privilegedAccess/group/{}ScheduleRequests/{id}",
            if eligible {
                "eligibility"
            } else {
                "assignment"
            }
        ),
        (_, Some(id)) => format!(
            "/v1/roleManagement/directory/role{}ScheduleRequests/{id}",
            if eligible {
                "Eligibility"
            } else {
                "Assignment"
            }
        ),
        (_, None) if group => format!("/v1/groups/{}", notice.target.id),
        (_, None) => format!(
            "/v1/roleManagement/directory/roleDefinitions/{}",
            notice.target.id
        ),
    };
    format!("{base}{path}")
}

/// Slack's escaping of message text (`&`, `<`, `>`), with every run of whitespace or control
/// characters made one space, so the text stays one line and user input cannot forge a link.
fn slack_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() || c.is_control() {
            if !space {
                out.push(' ');
            }
            space = true;
            continue;
        }
        space = false;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// User-given text, shortened and escaped.
fn quote(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() > MAX_QUOTE_CHARS {
        let short: String = text.chars().take(MAX_QUOTE_CHARS).collect();
        format!("{}…", slack_escape(&short))
    } else {
        slack_escape(text)
    }
}

/// The trimmed text, if there is any.
fn nonblank(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The event's `text`: the summary, the justification, ticket and reviewer's note when there
/// are any, and a link into Eligo.
fn slack_text(notice: &Notice, public_url: &str) -> String {
    let mut text = slack_escape(&notice.summary());
    if let Some(j) = nonblank(&notice.justification) {
        text.push_str(" — justification: ");
        text.push_str(&quote(j));
    }
    let ticket = match (
        nonblank(&notice.ticket_system),
        nonblank(&notice.ticket_number),
    ) {
        (Some(system), Some(number)) => Some(format!("{system} {number}")),
        (None, Some(number)) => Some(number.to_string()),
        _ => None,
    };
    if let Some(ticket) = ticket {
        text.push_str(" — ticket: ");
        text.push_str(&quote(&ticket));
    }
    if let Some(note) = nonblank(&notice.reviewer_justification) {
        text.push_str(" — reviewer's note: ");
        text.push_str(&quote(note));
    }
    text.push_str(&format!(
        " <{}|open in Eligo>",
        notice_link(notice, public_url)
    ));
    text
}

/// Why a delivery failed. Both are retried by the outbox job; they differ in what they tell
/// an operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver could not be reached, timed out, or answered 408, 429 or 5xx: it may work
    /// next time.
    #[error("{0}")]
    Retryable(String),
    /// The receiver answered and refused the event (401, 403, 404, 410, another 4xx, or a
    /// redirect, which is not followed): someone has to fix the receiver or the subscription.
    #[error("{0}")]
    Refused(String),
}

/// Posts signed events. One client (and so one connection pool, kept alive) serves every
/// delivery; redirects are never followed, so a signed body goes only where it was meant to.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    timeout: Duration,
    outbound: crate::outbound::Outbound,
}

impl Default for WebhookClient {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookClient {
    /// A client that gives each receiver [`DEFAULT_TIMEOUT`] (10 s) to answer.
    pub fn new() -> Self {
        Self::with_timeout(DEFAULT_TIMEOUT)
    }

    /// A client that gives each receiver `timeout` to answer (connecting included).
    pub fn with_timeout(timeout: Duration) -> Self {
        Self::build(timeout, crate::outbound::Outbound::default())
    }

    /// The same client (and outbound policy) giving each receiver `timeout`.
    pub fn timeout_of(self, timeout: Duration) -> Self {
        Self::build(timeout, self.outbound)
    }

    /// The same client under `outbound` (the deployment's allow list for internal addresses).
    pub fn with_outbound(self, outbound: crate::outbound::Outbound) -> Self {
        Self::build(self.timeout, outbound)
    }

    fn build(timeout: Duration, outbound: crate::outbound::Outbound) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .dns_resolver(outbound.resolver())
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_keepalive(Duration::from_secs(60))
            .user_agent(concat!("Eligo-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the webhook HTTP client builds with the ring TLS provider");
        Self {
            http,
            timeout,
            outbound,
        }
    }

    /// POSTs `body` to `url`, signed with `secret` at `now`, with `event_id` in the
    /// `Eligo-Event-Id` header. 2xx is success; see [`DeliveryError`] for the rest. Errors name
    /// neither the secret nor the URL (which may carry a token of its own).
    pub async fn post_signed(
        &self,
        url: &str,
        secret: &[u8],
        event_id: Uuid,
        body: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        self.send(url, secret, event_id, body, now)
            .await
            .map_err(|(_, e)| e)
    }

    /// [`Self::post_signed`], also telling the HTTP status of a refusal (connectors map 401
    /// and 403 to an authorization problem).
    pub(crate) async fn send(
        &self,
        url: &str,
        secret: &[u8],
        event_id: Uuid,
        body: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), (Option<u16>, DeliveryError)> {
        // Rule 10: never toward an internal address (an IP literal here; a name when it resolves).
        if let Ok(parsed) = reqwest::Url::parse(url)
            && let Err(refused) = self.outbound.check_url(&parsed)
        {
            return Err((None, DeliveryError::Refused(refused.to_string())));
        }
        let bytes = serde_json::to_vec(body).expect("a JSON value always serializes");
        let timestamp = now.timestamp();
        let signature = signing::sign(secret, timestamp, &bytes);
        let sent = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_ID_HEADER, event_id.to_string())
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(bytes)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => {
                if let Some(refused) = crate::outbound::refusal_in(&e) {
                    return Err((None, DeliveryError::Refused(refused.to_string())));
                }
                return Err((None, DeliveryError::Retryable(self.describe(&e))));
            }
        };
        let status = response.status();
        if status.is_success() {
            drain(&mut response).await;
            return Ok(());
        }
        let answer = excerpt(&mut response).await;
        let code = status.as_u16();
        let reason = status.canonical_reason().unwrap_or("");
        let said = if answer.is_empty() {
            String::new()
        } else {
            format!(": {answer}")
        };
        let retryable =
            code == 408 || code == 429 || status.is_server_error() || status.is_informational();
        let error = if retryable {
            DeliveryError::Retryable(format!(
                "the receiver is unavailable (HTTP {code} {reason}){said}"
            ))
        } else if status.is_redirection() {
            DeliveryError::Refused(format!(
                "the receiver refuses the event: it redirects (HTTP {code} {reason}), and \
                 Eligo does not follow redirects; subscribe the final URL"
            ))
        } else {
            DeliveryError::Refused(format!(
                "the receiver refuses the event (HTTP {code} {reason}){said}"
            ))
        };
        Err((Some(code), error))
    }

    /// A transport error in words, without the URL.
    fn describe(&self, error: &reqwest::Error) -> String {
        if error.is_timeout() {
            return format!(
                "the receiver did not answer within {} s",
                self.timeout.as_secs_f64()
            );
        }
        let mut root = String::new();
        let mut source = std::error::Error::source(error);
        while let Some(e) = source {
            root = e.to_string();
            source = e.source();
        }
        let root = if root.is_empty() {
            "no detail".to_string()
        } else {
            root
        };
        if error.is_connect() {
            format!("could not connect to the receiver: {root}")
        } else {
            format!("the request to the receiver failed: {root}")
        }
    }
}

/// Reads (and drops) what is left of an answer, so the connection can be reused.
async fn drain(response: &mut reqwest::Response) {
    let mut read = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > MAX_DRAIN_BYTES {
            break;
        }
    }
}

/// The start of an answer, one line, for an error message.
async fn excerpt(response: &mut reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_ANSWER_CHARS * 4 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let one_line: String = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if one_line.chars().count() > MAX_ANSWER_CHARS {
        format!(
            "{}…",
            one_line.chars().take(MAX_ANSWER_CHARS).collect::<String>()
        )
    } else {
        one_line
    }
}

/// Checks a URL that signed events will be posted to: absolute `http` or `https`, with a host,
/// without user info (`user:pass@`, which would travel in every request and show in listings)
/// and without a fragment.
pub fn validate_url(url: &str) -> Result<(), String> {
    if url.trim().is_empty() {
        return Err("a URL is required".into());
    }
    if url.len() > MAX_URL_LEN {
        return Err(format!("the URL is longer than {MAX_URL_LEN} characters"));
    }
    if url.trim() != url {
        return Err("the URL has leading or trailing spaces".into());
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("not an absolute URL ({e}); give e.g. https://hooks.example/eligo"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {}",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "the URL must not carry user info (user:password@); requests are authenticated \
             by their signature"
                .into(),
        );
    }
    if parsed.fragment().is_some() {
        return Err("the URL must not have a fragment (#...)".into());
    }
    Ok(())
}

/// Checks a webhook subscription: the URL (see [`validate_url`]), the event types (each a
/// known type, or `*` for every notice and `breakglass.used`; at least one, no duplicates) and the secret (16 to 256
/// characters). Every problem is reported, each with its field (`url`, `eventTypes`,
/// `secret`).
pub fn validate_subscription(
    url: &str,
    event_types: &[String],
    secret: &str,
) -> Result<(), Vec<(String, String)>> {
    let mut problems = Vec::new();
    if let Err(message) = validate_url(url) {
        problems.push(("url".to_string(), message));
    }
    let known = || known_event_types().join(", ");
    if event_types.is_empty() {
        problems.push((
            "eventTypes".to_string(),
            format!("give at least one event type, or * for all ({})", known()),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for event_type in event_types {
        let t = event_type.as_str();
        if t != "*" && !is_known_event_type(t) {
            problems.push((
                "eventTypes".to_string(),
                format!("unknown event type {t:?}; known: {}, or *", known()),
            ));
        } else if seen.contains(&t) {
            problems.push(("eventTypes".to_string(), format!("{t:?} is listed twice")));
        }
        seen.push(t);
    }
    let covered_twice = seen.iter().any(|t| {
        *t != "*" && !super::event::SecurityEvent::parse(t).is_some_and(|e| e.reveals_audit_log())
    });
    if seen.contains(&"*") && covered_twice {
        problems.push((
            "eventTypes".to_string(),
            "* already covers every notice and breakglass.used; give it alone (only audit.entry and audit.checkpoint, which * never covers, may be named beside it)".to_string(),
        ));
    }
    let length = secret.chars().count();
    if !(16..=256).contains(&length) {
        problems.push((
            "secret".to_string(),
            format!("the secret must be 16 to 256 characters long (it has {length})"),
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::notify::event::{NoticeTarget, Party};

    fn notice(kind: NoticeKind) -> Notice {
        Notice {
            id: Uuid::from_u128(1),
            kind,
            occurred_at: Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).unwrap(),
            principal: Party {
                id: Uuid::from_u128(2),
                display_name: "Alice <admin>".into(),
                user_principal_name: Some("alice@example.com".into()),
            },
            actor: None,
            target: NoticeTarget {
                kind: "role".into(),
                id: Uuid::from_u128(3),
                display_name: "Exchange Administrator".into(),
                directory_scope_id: Some("/".into()),
                access_id: None,
            },
            assignment: "active".into(),
            request_id: Some(Uuid::from_u128(4)),
            justification: Some("fix mail\nflow & more".into()),
            ticket_number: Some("INC-42".into()),
            ticket_system: Some("ServiceNow".into()),
            start: None,
            end: None,
            stage: None,
            days_left: None,
            reviewer_justification: None,
        }
    }

    #[test]
    fn the_event_body() {
        let n = notice(NoticeKind::Activated);
        let body = event_body(&n, "https://eligo.example/");
        assert_eq!(body["id"], n.id.to_string());
        assert_eq!(body["type"], "access.activated");
        assert_eq!(body["occurredAt"], "2025-01-01T09:00:00Z");
        assert_eq!(body["data"], serde_json::to_value(&n).unwrap());
        assert_eq!(
            body["text"],
            "Alice &lt;admin&gt; activated Exchange Administrator — justification: fix mail \
             flow &amp; more — ticket: ServiceNow INC-42 \
             <https://eligo.example/v1/roleManagement/directory/roleAssignmentScheduleRequests/\
             00000000-0000-0000-0000-000000000004|open in Eligo>"
        );
        let back: WebhookEvent = serde_json::from_value(body).unwrap();
        assert_eq!(back, WebhookEvent::new(&n, "https://eligo.example"));
    }

    #[test]
    fn links_point_at_what_to_look_at() {
        let base = "https://e.example";
        let mut n = notice(NoticeKind::ActivationRequested);
        assert_eq!(
            notice_link(&n, base),
            "https://e.example/v1/roleManagement/directory/roleAssignmentApprovals/\
             00000000-0000-0000-0000-000000000004"
        );
        n.target.kind = "group".into();
        n.target.access_id = Some("member".into());
        assert!(notice_link(&n, base).contains("/group/assignmentApprovals/"));
        n.kind = NoticeKind::EligibilityGranted;
        n.assignment = "eligible".into();
        assert!(notice_link(&n, base).contains("/group/eligibilityScheduleRequests/"));
        n.request_id = None;
        assert_eq!(
            notice_link(&n, base),
            "https://e.example/v1/groups/00000000-0000-0000-0000-000000000003"
        );
        n.target.kind = "role".into();
        assert!(
            notice_link(&n, base)
                .ends_with("/roleDefinitions/00000000-0000-0000-0000-000000000003")
        );
    }

    #[test]
    fn text_without_extras_and_with_a_long_justification() {
        let mut n = notice(NoticeKind::Expired);
        n.justification = None;
        n.ticket_number = None;
        n.request_id = None;
        let text = event_body(&n, "http://x")["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            text,
            "Alice &lt;admin&gt;'s active Exchange Administrator has ended \
             <http://x/v1/roleManagement/directory/roleDefinitions/\
             00000000-0000-0000-0000-000000000003|open in Eligo>"
        );
        n.justification = Some("x".repeat(1000));
        n.kind = NoticeKind::RequestDenied;
        n.reviewer_justification = Some("not now".into());
        let text = event_body(&n, "http://x")["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.contains(&format!("justification: {}… —", "x".repeat(200))));
        assert!(text.contains("— reviewer's note: not now <"));
        assert!(!text.contains('\n'));
    }

    #[test]
    fn urls() {
        for ok in [
            "https://hooks.example/eligo",
            "http://127.0.0.1:8080/in?token=abc",
            "https://[::1]/x",
        ] {
            assert_eq!(validate_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/relative/path",
            "hooks.example/eligo",
            "ftp://hooks.example/",
            "https://user:pass@hooks.example/",
            "https://user@hooks.example/",
            "https://hooks.example/#frag",
            " https://hooks.example/",
            "file:///etc/passwd",
        ] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
        assert!(validate_url(&format!("https://h.example/{}", "a".repeat(2048))).is_err());
    }

    #[test]
    fn security_event_types_and_the_wildcard() {
        let ok = |types: &[&str]| {
            let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
            validate_subscription("https://h.example/x", &types, "0123456789abcdef").is_ok()
        };
        assert!(ok(&["breakglass.used"]));
        assert!(ok(&["audit.entry", "audit.checkpoint"]));
        assert!(ok(&["*", "audit.entry"]), "* never covers the audit log");
        assert!(!ok(&["*", "breakglass.used"]), "* covers it already");
        assert!(!ok(&["*", "access.activated"]));
        assert!(!ok(&["audit.everything"]));
    }

    #[test]
    fn an_outgoing_event_keeps_its_envelope() {
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).unwrap();
        let e = OutgoingEvent::new(
            Uuid::from_u128(9),
            crate::notify::event::SecurityEvent::AuditCheckpoint,
            at,
            "head <signed>",
            serde_json::json!({ "sequence": 3 }),
        );
        let body = e.body();
        assert_eq!(body["type"], "audit.checkpoint");
        assert_eq!(body["id"], Uuid::from_u128(9).to_string());
        assert_eq!(body["occurredAt"], "2025-01-01T09:00:00Z");
        assert_eq!(body["text"], "head &lt;signed&gt;");
        assert_eq!(body["data"]["sequence"], 3);
    }
}
