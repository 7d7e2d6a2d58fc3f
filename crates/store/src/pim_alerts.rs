//! The store's side of PIM alerts (migration 0016): each definition's configuration, the
//! incidents (a cause key unique among a definition's unresolved incidents) and each alert's
//! last scan and last change. Definitions are named by `AlertKind::name`, without the tenant.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::pim_alerts::{AlertKind, Configuration, Incident};
use uuid::Uuid;

use crate::Result;

/// When an alert was last scanned and last changed (an incident raised or resolved, its
/// configuration changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertScanTimes {
    pub kind: AlertKind,
    pub last_scanned: Option<DateTime<Utc>>,
    pub last_modified: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait PimAlertTx: Send {
    /// The stored configuration of a definition; None: never changed (the defaults apply).
    async fn get_alert_configuration(&mut self, kind: AlertKind) -> Result<Option<Configuration>>;
    /// Stores (inserts or replaces) a definition's configuration.
    async fn put_alert_configuration(
        &mut self,
        kind: AlertKind,
        config: &Configuration,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// A `Conflict` when the definition already has an unresolved incident with its cause key.
    async fn insert_alert_incident(&mut self, incident: &Incident) -> Result<()>;
    /// Resolves an unresolved incident. False when there is none with this id (or it is
    /// resolved already).
    async fn resolve_alert_incident(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<bool>;
    async fn get_alert_incident(&mut self, id: Uuid) -> Result<Option<Incident>>;
    /// A definition's incidents, oldest first; only the unresolved ones when `open_only`.
    async fn list_alert_incidents(
        &mut self,
        kind: AlertKind,
        open_only: bool,
    ) -> Result<Vec<Incident>>;
    /// Records a scan at `scanned` (when given) and a change at `modified` (when given).
    async fn touch_alert(
        &mut self,
        kind: AlertKind,
        scanned: Option<DateTime<Utc>>,
        modified: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// The times of every alert that was ever scanned or changed.
    async fn list_alert_times(&mut self) -> Result<Vec<AlertScanTimes>>;
}
