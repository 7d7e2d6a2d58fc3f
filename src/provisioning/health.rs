//! A connector's health (how its last deliveries went) and the alert raised when it keeps
//! failing, resolved when it recovers.

use chrono::{DateTime, Utc};
use eligo_store::{AlertRow, Tx};
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::outbox::delivery::{FAILURES_BEFORE_ALERT, health_after};

pub const FAILING_ALERT: &str = "connectorFailing";

fn alert_key(connector: Uuid) -> String {
    format!("{FAILING_ALERT}:{connector}")
}

/// Records one outcome for `connector`; raises the alert at the Nth failure in a row and
/// resolves it at the next success.
pub async fn record(
    tx: &mut dyn Tx,
    connector: Uuid,
    outcome: Result<(), String>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(row) = tx.get_connector(connector).await? else {
        return Ok(());
    };
    let failing_before = row.health["consecutiveFailures"].as_i64().unwrap_or(0);
    let health = health_after(
        &row.health,
        outcome.as_ref().map(|_| ()).map_err(|e| e.as_str()),
        now,
    );
    tx.set_connector_health(connector, &health).await?;
    let failures = health["consecutiveFailures"].as_i64().unwrap_or(0);
    match outcome {
        Err(message) if failures >= FAILURES_BEFORE_ALERT => {
            tx.insert_alert(&AlertRow {
                id: Uuid::new_v4(),
                kind: FAILING_ALERT.into(),
                status: "active".into(),
                dedupe_key: Some(alert_key(connector)),
                data: json!({
                    "title": format!("Downstream connector \"{}\" keeps failing", row.display_name),
                    "severity": "high",
                    "connectorId": connector,
                    "connectorType": row.kind,
                    "consecutiveFailures": failures,
                    "lastError": message,
                }),
                created_at: now,
            })
            .await?;
        }
        Ok(()) if failing_before >= FAILURES_BEFORE_ALERT => {
            // Resolve the open alert, and free its key for the next episode.
            for mut alert in tx
                .list_alerts(Some("active"), eligo_store::Page { top: 1000, skip: 0 })
                .await?
            {
                if alert.dedupe_key.as_deref() == Some(alert_key(connector).as_str()) {
                    alert.status = "resolved".into();
                    alert.dedupe_key = None;
                    if let Some(data) = alert.data.as_object_mut() {
                        data.insert("resolvedDateTime".into(), now.to_rfc3339().into());
                    }
                    tx.update_alert(&alert).await?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}
