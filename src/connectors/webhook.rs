//! The webhook connector: instead of changing a directory itself, Eligo tells a receiver who
//! joins and leaves a group, and the receiver applies it to whatever system it fronts.
//!
//! Every request is a signed `POST` (see [`crate::notify::signing`] for the headers and how to
//! verify them) with a JSON body:
//!
//! ```json
//! {"id": "<uuid>", "type": "membership.added", "occurredAt": "2025-01-01T09:00:00Z",
//!  "target": "<the receiver's name for the group>", "member": "<userPrincipalName>"}
//! ```
//!
//! `type` is `membership.added` or `membership.removed`. The health check posts
//! `{"id": "<uuid>", "type": "ping", "occurredAt": "..."}`, which a receiver should answer 2xx.
//!
//! **A receiver must treat membership events idempotently**: Eligo may send the same change
//! more than once (a retry after a timeout, a job run again after a crash, reconciliation
//! re-pushing what it knows), so adding someone who is already a member and removing someone
//! who is not must both succeed (answer 2xx). Each request has a new `id`; the state it
//! describes, not the event, is what counts. A webhook cannot be asked who is in a group, so
//! reconciliation can only re-send additions.
//!
//! A webhook cannot look users up either: `resolve` names the member by their
//! userPrincipalName, and the receiver maps it to its own accounts.
//!
//! Answers: 2xx is success; a timeout, a connection failure, 408, 429 or 5xx make the job retry
//! (`Unavailable`); 401 and 403 mean the receiver does not accept the signature
//! (`Unauthorized`, check the shared secret); any other answer is a misconfiguration
//! (`Misconfigured`: a wrong URL, an unknown target).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    ConnectorError, Downstream, DownstreamMember, DownstreamRef, MemberIdentity, SettingError,
};
use crate::clock::{Clock, SystemClock};
use crate::notify::webhooks::{DeliveryError, WebhookClient, validate_url};

/// Settings that are secrets: stored but never shown back.
pub const SECRET_FIELDS: &[&str] = &["secret"];

/// The setting names, in the order they are documented.
const FIELDS: &[&str] = &["url", "secret", "timeoutSeconds"];

const DEFAULT_TIMEOUT_SECONDS: u64 = 10;
const MAX_TIMEOUT_SECONDS: u64 = 120;

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

/// A webhook connector's settings.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where membership events are posted (absolute http or https, no user info).
    pub url: String,
    /// The shared signing secret, 16 to 256 characters.
    pub secret: String,
    /// How long the receiver has to answer, 1 to 120 seconds (default 10).
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

impl WebhookSettings {
    /// Reads and checks settings from their JSON form, reporting every problem with its field.
    pub fn parse(value: &serde_json::Value) -> Result<Self, Vec<SettingError>> {
        let Some(object) = value.as_object() else {
            return Err(vec![SettingError::new(
                "settings",
                "the settings must be a JSON object with url and secret",
            )]);
        };
        let mut errors = Vec::new();
        for key in object.keys() {
            if !FIELDS.contains(&key.as_str()) {
                errors.push(SettingError::new(
                    key,
                    format!("unknown setting; a webhook takes {}", FIELDS.join(", ")),
                ));
            }
        }
        let mut string = |field: &str| match object.get(field) {
            None | Some(serde_json::Value::Null) => {
                errors.push(SettingError::new(field, "required"));
                None
            }
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errors.push(SettingError::new(field, "must be a string"));
                None
            }
        };
        let url = string("url");
        let secret = string("secret");
        if let Some(url) = &url
            && let Err(message) = validate_url(url)
        {
            errors.push(SettingError::new("url", message));
        }
        if let Some(secret) = &secret {
            let length = secret.chars().count();
            if !(16..=256).contains(&length) {
                errors.push(SettingError::new(
                    "secret",
                    format!("must be 16 to 256 characters long (it has {length})"),
                ));
            }
        }
        let timeout_seconds = match object.get("timeoutSeconds") {
            None | Some(serde_json::Value::Null) => Some(DEFAULT_TIMEOUT_SECONDS),
            Some(v) => match v.as_u64() {
                Some(n) if (1..=MAX_TIMEOUT_SECONDS).contains(&n) => Some(n),
                _ => {
                    errors.push(SettingError::new(
                        "timeoutSeconds",
                        format!(
                            "must be a whole number of seconds from 1 to {MAX_TIMEOUT_SECONDS}"
                        ),
                    ));
                    None
                }
            },
        };
        match (url, secret, timeout_seconds) {
            (Some(url), Some(secret), Some(timeout_seconds)) if errors.is_empty() => Ok(Self {
                url,
                secret,
                timeout_seconds,
            }),
            _ => Err(errors),
        }
    }
}

/// Checks a connector target: the receiver's name for the group, any non-empty text of up to
/// 256 characters without control characters.
pub fn validate_target(target: &str) -> Result<(), String> {
    if target.trim().is_empty() {
        return Err("the target must name the receiver's group".into());
    }
    if target.chars().count() > 256 {
        return Err("the target must be at most 256 characters".into());
    }
    if target.chars().any(char::is_control) {
        return Err("the target must not contain control characters".into());
    }
    Ok(())
}

/// Pushes memberships to a webhook receiver.
pub struct WebhookConnector {
    settings: WebhookSettings,
    client: WebhookClient,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WebhookConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConnector")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl WebhookConnector {
    pub fn new(settings: WebhookSettings) -> Self {
        let client = WebhookClient::with_timeout(Duration::from_secs(settings.timeout_seconds));
        Self {
            settings,
            client,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same connector stamping its events with `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same connector under the deployment's outbound policy (`ELIGO_OUTBOUND_ALLOW`).
    pub fn with_outbound(mut self, outbound: crate::outbound::Outbound) -> Self {
        self.client = self.client.with_outbound(outbound);
        self
    }

    /// The same connector giving the receiver `timeout` to answer (tests want less than 1 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.client = self.client.timeout_of(timeout);
        self
    }

    async fn post(&self, mut body: serde_json::Value) -> Result<(), ConnectorError> {
        let id = Uuid::new_v4();
        let now = self.clock.now();
        body["id"] = json!(id);
        body["occurredAt"] = json!(now);
        self.client
            .send(
                &self.settings.url,
                self.settings.secret.as_bytes(),
                id,
                &body,
                now,
            )
            .await
            .map_err(|(status, error)| match (status, error) {
                (_, DeliveryError::Retryable(m)) => ConnectorError::Unavailable(m),
                (Some(401 | 403), DeliveryError::Refused(m)) => ConnectorError::Unauthorized(
                    format!("{m} (does the receiver use the same secret?)"),
                ),
                (_, DeliveryError::Refused(m)) => ConnectorError::Misconfigured(m),
            })
    }

    async fn membership(
        &self,
        event_type: &str,
        target: &str,
        member: &DownstreamRef,
    ) -> Result<(), ConnectorError> {
        validate_target(target).map_err(ConnectorError::Misconfigured)?;
        self.post(json!({"type": event_type, "target": target, "member": member}))
            .await
    }
}

#[async_trait]
impl Downstream for WebhookConnector {
    async fn resolve(
        &self,
        member: &MemberIdentity,
    ) -> Result<Option<DownstreamRef>, ConnectorError> {
        let upn = member.user_principal_name.trim();
        Ok((!upn.is_empty()).then(|| upn.to_string()))
    }

    async fn add(&self, target: &str, member: &DownstreamRef) -> Result<(), ConnectorError> {
        self.membership("membership.added", target, member).await
    }

    async fn remove(&self, target: &str, member: &DownstreamRef) -> Result<(), ConnectorError> {
        self.membership("membership.removed", target, member).await
    }

    async fn members(
        &self,
        _target: &str,
    ) -> Result<Option<Vec<DownstreamMember>>, ConnectorError> {
        Ok(None)
    }

    async fn probe(&self) -> Result<(), ConnectorError> {
        self.post(json!({"type": "ping"})).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(validate_target("Tier 0 Operators"), Ok(()));
        assert_eq!(validate_target(&"é".repeat(256)), Ok(()));
        assert!(validate_target("").is_err());
        assert!(validate_target("   ").is_err());
        assert!(validate_target(&"a".repeat(257)).is_err());
        assert!(validate_target("a\nb").is_err());
    }

    #[test]
    fn settings_serialize_in_camel_case_with_the_default_timeout() {
        let s: WebhookSettings = serde_json::from_value(
            json!({"url": "https://h.example/x", "secret": "0123456789abcdef"}),
        )
        .unwrap();
        assert_eq!(s.timeout_seconds, 10);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["timeoutSeconds"], 10);
        assert!(
            serde_json::from_value::<WebhookSettings>(json!({
                "url": "https://h.example/x", "secret": "0123456789abcdef", "extra": 1
            }))
            .is_err()
        );
    }
}
