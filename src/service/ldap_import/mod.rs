//! LDAP / Active Directory import (issue 19, item 4): an LDAP connector with an `import` block
//! is also a source. One import reads the directory (all of it, or what changed since the last
//! high-water mark), loads what Eligo holds from this source, asks the pure planner
//! (`eligo_core::directory_import`), and applies the plan through the directory use cases as
//! the source (`apply`). The directory is read whole before anything is written: a directory
//! that is down or refuses the bind changes nothing. Where each pass got to is kept in the
//! connector's health (`health.import`), so every server sees it.

mod apply;
mod known;
pub mod schedule;

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::authz::actions;
use eligo_core::directory_import::plan;
use eligo_store::ConnectorRow;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

pub use apply::{Applied, SkippedEntry};

use crate::app::AppState;
use crate::auth::Caller;
use crate::clock::Stopwatch;
use crate::connectors::ConnectorError;
use crate::connectors::ldap::{self, ImportSettings, LdapSettings};
use crate::failure::{Failure, Kind, UseCaseResult};
use crate::service::authorize;
use crate::service::directory::source;

const ACTIVITY: &str = "Import from directory";

/// What one import read and did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// `full` (every entry; removals found) or `incremental` (entries changed since the mark).
    pub mode: &'static str,
    pub users_read: usize,
    pub groups_read: usize,
    #[serde(flatten)]
    pub applied: Applied,
    /// The `modifyTimestamp` the next incremental pass starts from.
    pub high_water_mark: Option<String>,
}

/// `POST /v1/connectors/{id}/import`: imports now (a full pass when `full`, or when one is
/// due; otherwise incremental). Global or Privileged Role Administrator with fresh MFA, as
/// the other connector writes.
pub async fn import_now(
    app: &AppState,
    caller: &Caller,
    id: Uuid,
    full: bool,
) -> UseCaseResult<Summary> {
    authorize::audited(app, caller, ACTIVITY, Category::UserManagement, async {
        authorize::act(app, caller, actions::PROVISIONING_UPDATE, true)?;
        run(app, id, full, caller.initiator()).await
    })
    .await
}

/// The connector's LDAP and import settings; 400 `ImportNotConfigured` without an import.
fn configured(row: &ConnectorRow) -> UseCaseResult<(LdapSettings, ImportSettings)> {
    let not_configured = || {
        Failure::bad_request(
            "ImportNotConfigured",
            "this connector does not import: only an LDAP connector with an `import` block in \
             its settings is a source",
        )
    };
    if row.kind != "ldap" {
        return Err(not_configured());
    }
    let settings = LdapSettings::parse(&row.settings).map_err(|errors| {
        let fields: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
        Failure::bad_request(
            "InvalidConnectorSettings",
            format!(
                "the connector's stored settings are invalid ({})",
                fields.join(", ")
            ),
        )
    })?;
    let import = settings.import.clone().ok_or_else(not_configured)?;
    Ok((settings, import))
}

/// Where the import of a connector got to, kept in its health.
#[derive(Debug, Default, Clone)]
struct Progress {
    high_water: Option<String>,
    last_full: Option<DateTime<Utc>>,
    /// The settings version the mark was taken under (a change of settings means a full pass).
    version: Option<String>,
}

impl Progress {
    fn of(row: &ConnectorRow) -> Self {
        let state = &row.health["import"];
        let text = |k: &str| state[k].as_str().map(str::to_string);
        Self {
            high_water: text("highWaterMark"),
            last_full: text("lastFullDateTime")
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
            version: text("settingsVersion"),
        }
    }

    /// The mark to read from, or None for a full pass (asked for, never done, settings
    /// changed since, or `fullSyncHours` passed).
    fn since(
        &self,
        row: &ConnectorRow,
        import: &ImportSettings,
        now: DateTime<Utc>,
        force_full: bool,
    ) -> Option<String> {
        let due = self
            .last_full
            .is_none_or(|at| now - at >= TimeDelta::hours(i64::from(import.full_sync_hours)));
        if force_full || due || self.version.as_deref() != Some(&version(row)) {
            return None;
        }
        self.high_water.clone()
    }
}

fn version(row: &ConnectorRow) -> String {
    row.updated_at.to_rfc3339()
}

/// One import of connector `id`, by `initiator` (an administrator, or Eligo's schedule).
pub async fn run(
    app: &AppState,
    id: Uuid,
    force_full: bool,
    initiator: Initiator,
) -> UseCaseResult<Summary> {
    let row = app
        .store
        .read()
        .await?
        .get_connector(id)
        .await?
        .ok_or_else(|| Failure::not_found("connector"))?;
    let (settings, import) = configured(&row)?;
    let _alone = app.connectors.try_import(id).ok_or_else(|| {
        Failure::conflict(
            "ImportRunning",
            "an import from this connector is running; try again when it has finished",
        )
    })?;
    let now = app.clock.now();
    let progress = Progress::of(&row);
    let since = progress.since(&row, &import, now, force_full);
    let stopwatch = Stopwatch::start();
    let outbound = app.connectors.outbound();
    let read = match ldap::import::read(&settings, &import, outbound, since.as_deref()).await {
        Ok(read) => read,
        Err(e) => return Err(failed(app, &row, initiator, e, now).await),
    };
    let took = stopwatch.elapsed();
    let mut caller = source::acting_as(
        row.id,
        format!("LDAP import {}", row.display_name),
        format!("ldap-import:{}", row.id),
        row.created_at,
    );
    caller.session.amr.push(authorize::IMPORT_METHOD.into());
    let known = {
        let mut tx = app.store.read().await?;
        known::load(&mut *tx, id, &read.snapshot).await?
    };
    let dns: HashMap<Uuid, String> = known
        .users
        .iter()
        .map(|u| (u.id, u.dn.clone()))
        .chain(known.groups.iter().map(|g| (g.id, g.dn.clone())))
        .collect();
    let planned = plan(&read.snapshot, &known);
    let applied = apply::apply(app, &caller, planned, dns).await;
    let summary = Summary {
        mode: if read.snapshot.complete {
            "full"
        } else {
            "incremental"
        },
        users_read: read.snapshot.users.len(),
        groups_read: read.snapshot.groups.len(),
        high_water_mark: read.high_water.clone(),
        applied,
    };
    // The next incremental pass starts early by as long as this read took: an entry changed
    // while it ran may carry a time before the latest one read.
    let mark = read
        .high_water
        .map(|hw| ldap::import::rewind(&hw, took + std::time::Duration::from_secs(1)));
    finished(app, &row, initiator, &summary, mark, now).await?;
    Ok(summary)
}

/// Records a pass that could not read the directory (health, the failing-connector alert after
/// repeated failures, an audit entry) and answers why. Nothing else was written.
async fn failed(
    app: &AppState,
    row: &ConnectorRow,
    initiator: Initiator,
    error: ConnectorError,
    now: DateTime<Utc>,
) -> Failure {
    let message = error.to_string();
    let recorded: UseCaseResult<()> = async {
        let mut tx = app.store.write().await?;
        crate::provisioning::health::record(&mut *tx, row.id, Err(message.clone()), now).await?;
        if let Some(current) = tx.get_connector(row.id).await? {
            let mut health = current.health.clone();
            let mut state = health["import"].as_object().cloned().unwrap_or_default();
            state.insert("lastRunDateTime".into(), now.to_rfc3339().into());
            state.insert("lastError".into(), message.clone().into());
            health["import"] = Value::Object(state);
            tx.set_connector_health(row.id, &health).await?;
        }
        tx.append_audit(
            AuditEvent::new(now, Category::UserManagement, ACTIVITY, initiator)
                .target(row.id, "Connector", Some(&row.display_name))
                .failed(&message),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    if let Err(e) = recorded {
        tracing::error!(error = ?e.message, "recording a failed import failed");
    }
    let code = match error {
        ConnectorError::Unavailable(_) => "DirectoryUnavailable",
        ConnectorError::Unauthorized(_) => "DirectoryRefusedCredentials",
        ConnectorError::Misconfigured(_) => "DirectoryMisconfigured",
    };
    Failure::new(
        Kind::Unavailable,
        code,
        format!("the directory could not be read, so nothing was changed: {message}"),
    )
}

/// Records a pass that read the directory: its counts in one audit entry, the connector
/// healthy, and the new mark (kept back when a change failed for Eligo's own reasons, so the
/// next pass reads those entries again).
async fn finished(
    app: &AppState,
    row: &ConnectorRow,
    initiator: Initiator,
    summary: &Summary,
    mark: Option<String>,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let a = &summary.applied;
    let mut tx = app.store.write().await?;
    crate::provisioning::health::record(&mut *tx, row.id, Ok(()), now).await?;
    if let Some(current) = tx.get_connector(row.id).await? {
        let mut health = current.health.clone();
        let mut state = health["import"].as_object().cloned().unwrap_or_default();
        state.insert("lastRunDateTime".into(), now.to_rfc3339().into());
        state.remove("lastError");
        if a.incomplete == 0 {
            if let Some(mark) = mark {
                state.insert("highWaterMark".into(), mark.into());
            }
            state.insert("settingsVersion".into(), version(row).into());
            if summary.mode == "full" {
                state.insert("lastFullDateTime".into(), now.to_rfc3339().into());
            }
        }
        state.insert(
            "lastSummary".into(),
            json!({
                "mode": summary.mode, "created": a.created, "updated": a.updated,
                "deactivated": a.deactivated, "groupsCreated": a.groups_created,
                "membersAdded": a.members_added, "membersRemoved": a.members_removed,
                "skipped": a.skipped.len(),
            }),
        );
        health["import"] = Value::Object(state);
        tx.set_connector_health(row.id, &health).await?;
    }
    let counts = [
        ("mode", summary.mode.to_string()),
        ("usersRead", summary.users_read.to_string()),
        ("groupsRead", summary.groups_read.to_string()),
        ("created", a.created.to_string()),
        ("updated", a.updated.to_string()),
        ("deactivated", a.deactivated.to_string()),
        ("groupsCreated", a.groups_created.to_string()),
        ("groupsUpdated", a.groups_updated.to_string()),
        ("groupsRemoved", a.groups_removed.to_string()),
        ("managersSet", a.managers_set.to_string()),
        ("membersAdded", a.members_added.to_string()),
        ("membersRemoved", a.members_removed.to_string()),
        ("skipped", a.skipped.len().to_string()),
    ];
    let event = AuditEvent::new(now, Category::UserManagement, ACTIVITY, initiator).target(
        row.id,
        "Connector",
        Some(&row.display_name),
    );
    tx.append_audit(counts.into_iter().fold(event, |e, (k, v)| e.detail(k, v)))
        .await?;
    tx.commit().await?;
    Ok(())
}
