//! What delivering one job did, in the words every deliverer (mail and webhook dispatch,
//! downstream provisioning, the audit feed) answers with and the worker records
//! (`crate::outbox::worker`). Kept apart from the worker so the deliverers depend on these
//! types, not on the loop that calls them.

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::audit::AuditEvent;
use uuid::Uuid;

/// Consecutive failures of one connector before an alert is raised.
pub const FAILURES_BEFORE_ALERT: i64 = 3;

/// What a delivered job leaves to record with its outcome.
#[derive(Debug, Clone)]
pub enum Effect {
    /// `reference` is now in the mapping's downstream group for `principal`.
    Provisioned {
        mapping: Uuid,
        principal: Uuid,
        reference: String,
    },
    /// Nothing of `principal` is left in the mapping's downstream group.
    Unprovisioned {
        mapping: Uuid,
        principal: Uuid,
    },
    Audit(Box<AuditEvent>),
    /// An `audit.entry` feed delivered the entries after `from` up to `to` (its new cursor);
    /// `more`: a full batch went out, so the next job is queued at once.
    AuditCursor {
        subscription: Uuid,
        from: i64,
        to: i64,
        more: bool,
    },
    /// A removal took `latency` from the access's end (for the revocation histogram).
    Revoked {
        connector_kind: String,
        latency: TimeDelta,
    },
}

/// Why an attempt failed.
#[derive(Debug, Clone)]
pub struct Failure {
    pub message: String,
    /// The connector that failed, for its health and alerts.
    pub connector: Option<Uuid>,
    /// Retrying cannot help (e.g. the mail relay refused the address): dead-letter at once.
    pub permanent: bool,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            connector: None,
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            ..Self::new(message)
        }
    }
}

/// What an attempt did: its effects are recorded even when it failed part-way (a group
/// provisioned member by member keeps the members it did), and the failure, if any, retries.
#[derive(Debug, Default)]
pub struct Delivery {
    pub effects: Vec<Effect>,
    pub failure: Option<Failure>,
    /// The connector the job used (healthy when it succeeded).
    pub connector: Option<Uuid>,
}

impl Delivery {
    /// A success; it counts for `connector`'s health only if something was done there (a
    /// job with nothing to change may not have talked to it at all).
    pub fn done(effects: Vec<Effect>, connector: Option<Uuid>) -> Self {
        let connector = connector.filter(|_| !effects.is_empty());
        Self {
            effects,
            failure: None,
            connector,
        }
    }

    pub fn failed(failure: Failure, connector: Option<Uuid>) -> Self {
        Self {
            effects: Vec::new(),
            failure: Some(failure),
            connector,
        }
    }
}

/// Connector health as stored and answered: how the last deliveries through it went.
pub fn health_after(
    previous: &serde_json::Value,
    outcome: Result<(), &str>,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let mut h = previous.as_object().cloned().unwrap_or_default();
    match outcome {
        Ok(()) => {
            h.insert("status".into(), "healthy".into());
            h.insert("lastSuccessDateTime".into(), now.to_rfc3339().into());
            h.insert("consecutiveFailures".into(), 0.into());
        }
        Err(message) => {
            let failures = h
                .get("consecutiveFailures")
                .and_then(|v| v.as_i64())
                .unwrap_or(0)
                + 1;
            h.insert("status".into(), "failing".into());
            h.insert("lastFailureDateTime".into(), now.to_rfc3339().into());
            h.insert("lastError".into(), message.into());
            h.insert("consecutiveFailures".into(), failures.into());
        }
    }
    serde_json::Value::Object(h)
}
