//! Scheduled imports: each server looks every minute for LDAP connectors whose import is due
//! (`intervalMinutes` > 0). `claim_duty("ldap-import:<id>")` is committed before the import
//! runs, so with several servers one of them imports each connector per interval; a pass that
//! fails (the directory down) is retried at the next interval, not sooner.

use chrono::TimeDelta;
use eligo_core::audit::Initiator;
use uuid::Uuid;

use super::{Summary, run};
use crate::app::AppState;
use crate::connectors::ldap::LdapSettings;
use crate::failure::UseCaseResult;

/// How often a server looks for due imports.
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs every import that is due now; each connector's outcome.
pub async fn run_due(app: &AppState) -> UseCaseResult<Vec<(Uuid, UseCaseResult<Summary>)>> {
    let connectors = app.store.read().await?.list_connectors().await?;
    let mut out = Vec::new();
    for row in connectors.iter().filter(|c| c.kind == "ldap") {
        let Some(import) = LdapSettings::parse(&row.settings)
            .ok()
            .and_then(|s| s.import)
        else {
            continue;
        };
        if import.interval_minutes == 0 {
            continue;
        }
        let every = TimeDelta::minutes(i64::from(import.interval_minutes));
        // A second's slack: the look one interval after the last run must find it due.
        let slack = TimeDelta::seconds(1);
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let claimed = tx
            .claim_duty(&format!("ldap-import:{}", row.id), now, every - slack)
            .await?;
        tx.commit().await?;
        if !claimed {
            continue;
        }
        let result = run(app, row.id, false, Initiator::system()).await;
        if let Err(e) = &result {
            tracing::warn!(connector = %row.display_name, code = e.code, error = %e.message, "scheduled LDAP import failed");
        }
        out.push((row.id, result));
    }
    Ok(out)
}

/// Looks for due imports every minute, for as long as the server runs.
pub async fn run_forever(app: AppState) {
    loop {
        if let Err(e) = run_due(&app).await {
            tracing::error!(error = ?e.message, "looking for due LDAP imports failed");
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}
