//! Downstream systems Eligo pushes group memberships to (LDAP/Active Directory, SCIM 2.0 apps,
//! webhooks). Each connector speaks one protocol behind the same small trait, so the outbox
//! worker and reconciliation never know which system they talk to.
//!
//! Every operation is idempotent: adding a member who is already there and removing one who is
//! not are successes, because a job may run twice (after a crash, a retry, or reconciliation).

pub mod ldap;
pub mod scim;
pub mod webhook;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What Eligo knows of a user, to find them downstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberIdentity {
    pub principal_id: Uuid,
    pub user_principal_name: String,
    pub mail: Option<String>,
    pub display_name: String,
}

/// How a member is named in the downstream system (an LDAP DN, a SCIM user id, a UPN for a
/// webhook). Eligo records the reference it pushed, so it can remove the member later even
/// after the Eligo user is gone.
pub type DownstreamRef = String;

/// A member found in a downstream group, for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownstreamMember {
    /// The same form `resolve` returns, so the two can be compared.
    pub reference: DownstreamRef,
    /// Something a person recognises (uid, userName, display name), for alerts.
    pub display: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// Could not reach it, it timed out, answered 5xx or something unparseable: retry later.
    #[error("downstream unavailable: {0}")]
    Unavailable(String),
    /// It refused our credentials: retry later (someone must fix them), worth an alert.
    #[error("downstream refused the credentials: {0}")]
    Unauthorized(String),
    /// The target group does not exist or the settings are wrong for this system.
    #[error("downstream misconfigured: {0}")]
    Misconfigured(String),
}

/// A settings problem found when a connector is created or changed (answered as 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The settings field, e.g. `url`, `bindPassword`.
    pub field: String,
    pub message: String,
}

impl SettingError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// One downstream system.
#[async_trait]
pub trait Downstream: Send + Sync {
    /// Finds the user downstream; `Ok(None)` when no such user exists there (then nothing can
    /// be added, and nothing needs removing).
    async fn resolve(
        &self,
        member: &MemberIdentity,
    ) -> Result<Option<DownstreamRef>, ConnectorError>;
    /// Adds `member` to the downstream group `target`; already a member is success.
    async fn add(&self, target: &str, member: &DownstreamRef) -> Result<(), ConnectorError>;
    /// Removes `member` from `target`; not a member is success.
    async fn remove(&self, target: &str, member: &DownstreamRef) -> Result<(), ConnectorError>;
    /// The members `target` has now; `Ok(None)` when this system cannot list them (a webhook),
    /// so reconciliation can only re-push what Eligo knows.
    async fn members(&self, target: &str) -> Result<Option<Vec<DownstreamMember>>, ConnectorError>;
    /// Checks that the system answers and accepts the credentials (connector health).
    async fn probe(&self) -> Result<(), ConnectorError>;
}
