//! One SCIM request and what its answer means: transport failures, statuses and bodies turned into
//! [`Failure`]s that keep enough detail to say what was wrong, never the bearer token.

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use crate::connectors::ConnectorError;

pub(super) const SCIM_JSON: &str = "application/scim+json";
const ACCEPTED: &str = "application/scim+json, application/json";
/// How much of a server's error detail is repeated in ours.
const MAX_DETAIL: usize = 300;
/// Tokens at least this long are removed from any text a server sends back.
const MIN_SCRUBBED: usize = 8;

/// Why a request did not give what was asked.
#[derive(Debug)]
pub(super) enum Failure {
    /// No answer: could not connect, timed out, connection dropped.
    Transport(String),
    /// An answer with an unexpected status; `detail` and `scim_type` from a SCIM error body.
    Status {
        status: StatusCode,
        detail: String,
        scim_type: Option<String>,
    },
    /// A success status with a body that is not what SCIM promises.
    Shape(String),
    /// The address is internal and not allowed (rule 10): nothing was sent.
    Refused(String),
}

impl Failure {
    pub(super) fn status(&self) -> Option<StatusCode> {
        match self {
            Failure::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The usual meaning for Eligo; `what` says what we were doing ("PATCH group g1").
    pub(super) fn into_error(self, what: &str) -> ConnectorError {
        match self {
            Failure::Transport(e) => ConnectorError::Unavailable(format!("{what}: {e}")),
            Failure::Shape(e) => ConnectorError::Unavailable(format!("{what}: {e}")),
            Failure::Refused(e) => ConnectorError::Misconfigured(format!("{what}: {e}")),
            Failure::Status {
                status,
                detail,
                scim_type,
            } => {
                let mut message = format!("{what}: HTTP {status}");
                if let Some(t) = scim_type {
                    message.push_str(&format!(" ({t})"));
                }
                if !detail.is_empty() {
                    message.push_str(": ");
                    message.push_str(&detail);
                }
                match status {
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                        ConnectorError::Unauthorized(message)
                    }
                    StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                        ConnectorError::Unavailable(message)
                    }
                    s if s.is_redirection() => ConnectorError::Misconfigured(format!(
                        "{message} (redirects are not followed: check baseUrl)"
                    )),
                    s if s.is_client_error() => ConnectorError::Misconfigured(message),
                    _ => ConnectorError::Unavailable(message),
                }
            }
        }
    }
}

/// The HTTP side of a connector: one client, the base URL, the Authorization header.
pub(super) struct Http {
    pub(super) client: reqwest::Client,
    pub(super) base: Url,
    pub(super) authorization: HeaderValue,
    /// The token, only to scrub it from any text that came back from the server.
    pub(super) token: String,
    pub(super) outbound: crate::outbound::Outbound,
}

impl Http {
    /// `base` + the given path segments, each percent-encoded as one segment.
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends a request and returns the JSON body of a 2xx answer (`None` for an empty body, as
    /// a 204 has).
    pub(super) async fn call(
        &self,
        method: Method,
        url: Url,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Option<Value>, Failure> {
        self.outbound
            .check_url(&url)
            .map_err(|e| Failure::Refused(e.to_string()))?;
        let mut request = self
            .client
            .request(method, url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, ACCEPTED);
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, SCIM_JSON)
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| match crate::outbound::refusal_in(&e) {
                Some(refused) => Failure::Refused(refused.to_string()),
                None => Failure::Transport(self.scrub(&describe(&e))),
            })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure::Transport(self.scrub(&describe(&e))))?;
        if !status.is_success() {
            let (detail, scim_type) = error_detail(&bytes);
            return Err(Failure::Status {
                status,
                detail: self.scrub(&detail),
                scim_type: scim_type.map(|t| self.scrub(&t)),
            });
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Failure::Shape(format!(
                "HTTP {status} with a body that is not JSON ({e}): {}",
                self.scrub(&snippet(&bytes))
            ))
        })
    }

    /// Like [`Http::call`], but a body is required and must be a JSON object.
    pub(super) async fn get_object(
        &self,
        url: Url,
        query: &[(&str, &str)],
    ) -> Result<serde_json::Map<String, Value>, Failure> {
        match self.call(Method::GET, url, query, None).await? {
            Some(Value::Object(obj)) => Ok(obj),
            Some(_) => Err(Failure::Shape("the answer is not a JSON object".into())),
            None => Err(Failure::Shape("the answer has no body".into())),
        }
    }

    /// `text` without the token, should a server echo it. A very short token is left alone: it
    /// would garble every message and is no secret worth the name.
    fn scrub(&self, text: &str) -> String {
        if self.token.len() < MIN_SCRUBBED {
            text.to_string()
        } else {
            text.replace(&self.token, "<redacted>")
        }
    }
}

/// A reqwest error with its causes ("error sending request ...: connection refused").
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        format!("timed out: {error}")
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `detail` and `scimType` of a SCIM error body (RFC 7644 §3.12), else the start of the body.
fn error_detail(body: &[u8]) -> (String, Option<String>) {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => {
            let text = |key: &str| obj.get(key).and_then(Value::as_str).map(truncate);
            let detail = text("detail").unwrap_or_default();
            (detail, text("scimType"))
        }
        _ => (snippet(body), None),
    }
}

fn snippet(body: &[u8]) -> String {
    truncate(String::from_utf8_lossy(body).trim())
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// A string as a SCIM filter literal (RFC 7644 §3.4.2.2: a JSON string), quotes and backslashes
/// escaped.
pub(super) fn filter_literal(value: &str) -> String {
    Value::String(value.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_literals_are_json_strings() {
        assert_eq!(filter_literal("alice"), r#""alice""#);
        assert_eq!(filter_literal(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(filter_literal("tab\there"), r#""tab\there""#);
    }

    #[test]
    fn long_details_are_cut() {
        let long = "x".repeat(1000);
        assert_eq!(truncate(&long).chars().count(), MAX_DETAIL + 1);
        assert_eq!(truncate("short"), "short");
    }
}
