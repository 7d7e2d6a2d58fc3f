//! One live client per connector (an LDAP connection, an HTTP pool), built from its stored
//! settings and rebuilt when they change; and one lock per mapping, so live delivery and
//! reconciliation of a downstream group take turns.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use eligo_store::ConnectorRow;
use serde_json::Value;
use uuid::Uuid;

use crate::connectors::{Downstream, SettingError, ldap, scim, webhook};
use crate::outbound::Outbound;

/// The connector types Eligo speaks.
pub const KINDS: [&str; 3] = ["ldap", "scim", "webhook"];

/// Settings fields that are secrets: stored, used, never answered.
pub fn secret_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "ldap" => ldap::SECRET_FIELDS,
        "scim" => scim::SECRET_FIELDS,
        "webhook" => webhook::SECRET_FIELDS,
        _ => &[],
    }
}

/// Settings that decide where a connector's secret is sent (its address, and how the connection
/// is secured). Changing one needs the secret again (threat-model rule 10): otherwise whoever
/// may edit connectors could point one at their own server and receive the stored password.
pub fn destination_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "ldap" => &["url", "startTls", "caCertificatePem"],
        "scim" => &["baseUrl", "caCertificatePem"],
        "webhook" => &["url"],
        _ => &[],
    }
}

/// Checks settings for `kind` (every problem, by field).
pub fn validate(kind: &str, settings: &Value) -> Result<(), Vec<SettingError>> {
    build(kind, settings, &Outbound::default()).map(|_| ())
}

/// Checks a mapping target (a group DN, a SCIM group, a receiver's group name) for `kind`.
pub fn validate_target(kind: &str, target: &str) -> Result<(), String> {
    match kind {
        "ldap" => ldap::validate_target(target),
        "scim" => scim::validate_target(target),
        "webhook" => webhook::validate_target(target),
        other => Err(format!("unknown connector type {other}")),
    }
}

/// A client for `kind` with `settings` under `outbound` (no I/O happens here).
pub fn build(
    kind: &str,
    settings: &Value,
    outbound: &Outbound,
) -> Result<Arc<dyn Downstream>, Vec<SettingError>> {
    match kind {
        "ldap" => Ok(Arc::new(
            ldap::LdapConnector::new(ldap::LdapSettings::parse(settings)?)
                .with_outbound(outbound.clone()),
        )),
        "scim" => {
            let parsed = scim::ScimSettings::parse(settings)?;
            Ok(Arc::new(
                scim::ScimConnector::with_outbound(parsed, outbound.clone())
                    .map_err(|e| vec![e])?,
            ))
        }
        "webhook" => Ok(Arc::new(
            webhook::WebhookConnector::new(webhook::WebhookSettings::parse(settings)?)
                .with_outbound(outbound.clone()),
        )),
        other => Err(vec![SettingError::new(
            "type",
            format!("unknown connector type {other}; use ldap, scim or webhook"),
        )]),
    }
}

/// A built client and the settings version (`updated_at`) it was built from.
type Versioned = (DateTime<Utc>, Arc<dyn Downstream>);

#[derive(Default)]
pub struct Registry {
    /// Where the clients may connect (`ELIGO_OUTBOUND_ALLOW`).
    outbound: Outbound,
    clients: Mutex<HashMap<Uuid, Versioned>>,
    locks: Mutex<HashMap<Uuid, Arc<tokio::sync::RwLock<()>>>>,
}

impl Registry {
    /// No clients yet; each will connect only where `outbound` allows.
    pub fn new(outbound: Outbound) -> Self {
        Self {
            outbound,
            ..Default::default()
        }
    }

    /// The client for `row`, reused while its settings are unchanged.
    pub fn client(&self, row: &ConnectorRow) -> Result<Arc<dyn Downstream>, String> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((version, client)) = clients.get(&row.id)
            && *version == row.updated_at
        {
            return Ok(client.clone());
        }
        let client = build(&row.kind, &row.settings, &self.outbound).map_err(|errors| {
            let fields: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            format!(
                "the connector's settings are invalid ({})",
                fields.join("; ")
            )
        })?;
        clients.insert(row.id, (row.updated_at, client.clone()));
        Ok(client)
    }

    /// Forgets a deleted connector's client.
    pub fn forget(&self, connector: Uuid) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&connector);
    }

    fn turn(&self, mapping: Uuid) -> Arc<tokio::sync::RwLock<()>> {
        self.locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(mapping)
            .or_default()
            .clone()
    }

    /// Held by one member's delivery: members of a mapping are pushed side by side.
    pub async fn shared(&self, mapping: Uuid) -> tokio::sync::OwnedRwLockReadGuard<()> {
        self.turn(mapping).read_owned().await
    }

    /// Held by a connector's import while it runs: one at a time on this server (the
    /// schedule's `claim_duty` keeps the servers from running the same one each).
    pub fn try_import(&self, connector: Uuid) -> Option<tokio::sync::OwnedRwLockWriteGuard<()>> {
        self.turn(connector).try_write_owned().ok()
    }

    /// Where the connectors may connect (an import opens connections of its own).
    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    /// Held by a whole-group delivery or a reconciliation: alone on the mapping.
    pub async fn exclusive(&self, mapping: Uuid) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        self.turn(mapping).write_owned().await
    }
}
