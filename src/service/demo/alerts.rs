//! The demo tenant's PIM alerts: the "too many Global Administrators" thresholds suit a tenant
//! of seven people (two Global Administrators, the break-glass account and Ada, already make
//! half of the active role holders), and a scan runs once the tenant is loaded, so the Alerts
//! page has something to show on first start.

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::pim_alerts::{AlertKind, Configuration};
use eligo_store::Tx;
use uuid::Uuid;

use crate::app::App;
use crate::service::pim_alerts;

/// At least this many active Global Administrators (Entra's default is 5, for tenants of
/// hundreds; a small organisation wants two at most, one of them the break-glass account).
pub const GLOBAL_ADMIN_COUNT: u32 = 2;
/// ... making up at least this share of the active role holders (Entra's default).
pub const GLOBAL_ADMIN_PERCENTAGE: u32 = 50;

/// Stores the demo's configuration of "too many Global Administrators", audited as an
/// administrator's change would be.
pub async fn configure(tx: &mut dyn Tx, tenant: Uuid, now: DateTime<Utc>) -> anyhow::Result<()> {
    let kind = AlertKind::TooManyGlobalAdmins;
    let mut config = Configuration::default_for(kind);
    config.global_admin_count_threshold = Some(GLOBAL_ADMIN_COUNT);
    config.percentage_of_global_admins_out_of_roles_threshold = Some(GLOBAL_ADMIN_PERCENTAGE);
    tx.put_alert_configuration(kind, &config, now).await?;
    tx.touch_alert(kind, None, Some(now)).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::Policy,
            "Update PIM alert configuration",
            Initiator::system(),
        )
        .target(kind.id(tenant), "PimAlertConfiguration", Some(kind.name()))
        .modified(
            "globalAdminCountThreshold",
            Configuration::default_for(kind)
                .count_threshold()
                .to_string(),
            GLOBAL_ADMIN_COUNT.to_string(),
        )
        .detail("reason", "demo tenant"),
    )
    .await?;
    Ok(())
}

/// The installation's tenant id (its own transaction: call before the demo's).
pub async fn tenant(app: &App) -> anyhow::Result<Uuid> {
    pim_alerts::tenant_id(app)
        .await
        .map_err(|e| anyhow::anyhow!("the PIM alerts' tenant id: {}", e.message))
}

/// The first scan, once the tenant is committed (as the scheduler's scan runs).
pub async fn scan(app: &App) -> anyhow::Result<()> {
    pim_alerts::scan_all(app)
        .await
        .map_err(|e| anyhow::anyhow!("the demo's first PIM alert scan: {}", e.message))?;
    Ok(())
}
