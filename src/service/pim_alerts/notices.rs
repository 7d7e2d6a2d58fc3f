//! Who hears of PIM alerts, and the mail a scan writes when it raises incidents. The people are
//! the Privileged Role Administrators and Global Administrators, active or eligible (an eligible
//! administrator is the one expected to activate and act); the mails are outbox jobs written in
//! the scan's transaction, once per raised incident and recipient (the occasion key).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use eligo_core::directory::PrincipalKind;
use eligo_core::pim_alerts::{AlertKind, Incident, describe};
use eligo_core::roles::ids;
use eligo_store::Tx;
use uuid::Uuid;

use crate::app::App;
use crate::failure::UseCaseResult;
use crate::notify::alert_mail::AlertRaised;
use crate::outbox::jobs::Payload;
use crate::service::notices::address_of;

/// The users holding Global Administrator or Privileged Role Administrator at the directory
/// root now, active or eligible, from the access index.
pub fn recipients(app: &App, now: DateTime<Utc>) -> BTreeSet<Uuid> {
    let mut out = BTreeSet::new();
    for role in [
        ids::GLOBAL_ADMINISTRATOR,
        ids::PRIVILEGED_ROLE_ADMINISTRATOR,
    ] {
        let role = Uuid::parse_str(role).expect("built-in role ids are GUIDs");
        let (active, eligible) = app.access.exposure(role, now);
        out.extend(
            active
                .into_iter()
                .chain(eligible)
                .filter(|h| h.path.scope == eligo_core::scope::ROOT)
                .filter_map(|h| Uuid::parse_str(&h.principal).ok())
                .filter(|id| matches!(app.access.principal(*id), Some((PrincipalKind::User, _)))),
        );
    }
    out
}

/// The addresses of [`recipients`], each once (enabled accounts with an address only).
pub async fn addresses(
    app: &App,
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
) -> UseCaseResult<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for user in recipients(app, now) {
        if let Some((_, to)) = address_of(tx, user).await?
            && seen.insert(to.to_lowercase())
        {
            out.push(to);
        }
    }
    Ok(out)
}

/// Mails what one scan raised of `kind` to every recipient, inside the scan's transaction: one
/// mail per recipient naming every incident this scan raised, its once key the first raised
/// incident's (incidents are raised once, so a rescan or a retried scan never mails again).
/// Nothing when mail is not configured or the alert is disabled.
pub(super) async fn mail_raised(
    app: &App,
    tx: &mut dyn Tx,
    tenant: Uuid,
    kind: AlertKind,
    enabled: bool,
    raised: &[Incident],
    now: DateTime<Utc>,
) -> UseCaseResult<usize> {
    let Some(first) = raised.first() else {
        return Ok(0);
    };
    if app.config.smtp_url.is_none() || !enabled {
        return Ok(0);
    }
    let open = tx.list_alert_incidents(kind, true).await?.len();
    let notice = AlertRaised {
        id: first.id,
        alert_id: kind.id(tenant),
        alert_name: kind.name().to_string(),
        display_name: kind.display_name().to_string(),
        severity: kind.severity().as_str().to_string(),
        description: kind.description().to_string(),
        mitigation_steps: kind.mitigation_steps().to_string(),
        open_incidents: open,
        raised: raised.iter().map(|i| describe(&i.data)).collect(),
        raised_at: now,
    };
    let mut sent = 0;
    for to in addresses(app, tx, now).await? {
        let once = format!("alert:{}:mail:{}", first.id, to.to_lowercase());
        let payload = Payload::AlertMail {
            to,
            notice: Box::new(notice.clone()),
        };
        tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
        sent += 1;
    }
    Ok(sent)
}
