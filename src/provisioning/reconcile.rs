//! Reconciliation: compare each mapped downstream group with the members Eligo says it should
//! have, add what is missing, remove what should not be there, and raise "Members added
//! outside Eligo" for every stray that Eligo never put there (Entra's "Roles are being assigned
//! outside of PIM"). A member Eligo pushed and no longer wants is Eligo's own removal running
//! late (e.g. the downstream was down), not a stray.
//!
//! It takes the mapping's lock, like live delivery, and decides from the access index at that
//! moment, so the two never undo each other (no flapping).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_store::{AlertRow, ConnectorRow, MappingRow};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::connectors::MemberIdentity;
use crate::error::{ApiError, ApiResult};
use crate::provisioning::deliver::{ADDED, REMOVED, wanted_users};

pub const STRAY_ALERT: &str = "membersAddedOutsideEligo";
pub const STRAY_REMOVED: &str = "Remove member added outside Eligo from downstream group";

/// What reconciling one mapping found and did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub mapping_id: Uuid,
    pub group_id: Uuid,
    pub target: String,
    /// Downstream references added (wanted, missing).
    pub added: Vec<String>,
    /// Removed that Eligo had pushed and no longer wants.
    pub removed: Vec<String>,
    /// Removed that Eligo never pushed: each raised an alert.
    pub strays: Vec<String>,
    /// Wanted members who do not exist downstream.
    pub unresolved: Vec<String>,
    /// The downstream cannot list its members (a webhook): Eligo's view was re-pushed instead.
    pub listing_unsupported: bool,
    pub error: Option<String>,
}

/// The form in which two references to the same downstream member compare equal (LDAP DNs
/// are case-insensitive and may be spaced differently; SCIM ids and UPNs case-insensitive).
fn key(kind: &str, reference: &str) -> String {
    match kind {
        "ldap" => crate::connectors::ldap::dn::normalize(reference)
            .unwrap_or_else(|| reference.to_lowercase()),
        _ => reference.to_lowercase(),
    }
}

enum Write {
    Provisioned(Uuid, String),
    Unprovisioned(Uuid),
    Audit(Box<AuditEvent>),
    Alert(Box<AlertRow>),
}

/// Reconciles every mapping of `connector` now.
pub async fn connector(app: &App, connector_id: Uuid) -> ApiResult<Vec<Report>> {
    let (row, mappings) = {
        let mut tx = app.store.read().await?;
        let row = tx
            .get_connector(connector_id)
            .await?
            .ok_or_else(|| ApiError::not_found("connector"))?;
        (row, tx.list_mappings(None, Some(connector_id)).await?)
    };
    let mut reports = Vec::new();
    let mut outcome: Option<Result<(), String>> = None;
    for mapping in mappings {
        let report = mapping_now(app, &row, &mapping).await?;
        outcome = Some(match &report.error {
            Some(e) => Err(e.clone()),
            None if outcome.as_ref().is_some_and(|o| o.is_err()) => outcome.clone().unwrap(),
            None => Ok(()),
        });
        reports.push(report);
    }
    if let Some(outcome) = outcome {
        let mut tx = app.store.write().await?;
        crate::provisioning::health::record(&mut *tx, connector_id, outcome, app.clock.now())
            .await?;
        tx.commit().await?;
    }
    Ok(reports)
}

async fn mapping_now(app: &App, row: &ConnectorRow, mapping: &MappingRow) -> ApiResult<Report> {
    let mut report = Report {
        mapping_id: mapping.id,
        group_id: mapping.group_id,
        target: mapping.target.clone(),
        ..Report::default()
    };
    let client = match app.connectors.client(row) {
        Ok(c) => c,
        Err(e) => {
            report.error = Some(e);
            return Ok(report);
        }
    };
    let _turn = app.connectors.exclusive(mapping.id).await;
    let (pushed, group_name, users) = {
        let mut tx = app.store.read().await?;
        let pushed: BTreeMap<Uuid, String> =
            tx.list_provisioned(mapping.id).await?.into_iter().collect();
        let group_name = tx
            .get_group(mapping.group_id)
            .await?
            .map(|g| g.display_name);
        let now = app.clock.now();
        let mut users = Vec::new();
        for id in wanted_users(app, mapping.group_id, now) {
            if let Some(u) = tx.get_user(id).await? {
                users.push(u);
            }
        }
        (pushed, group_name, users)
    };
    let present = match client.members(&mapping.target).await {
        Ok(p) => p,
        Err(e) => {
            report.error = Some(format!("{} ({}): {e}", row.display_name, row.kind));
            return Ok(report);
        }
    };
    // What Eligo wants there, by downstream reference.
    let mut wanted: HashMap<String, (Uuid, String)> = HashMap::new();
    for user in &users {
        let reference = match pushed.get(&user.id) {
            Some(r) => r.clone(),
            None => match client
                .resolve(&MemberIdentity {
                    principal_id: user.id,
                    user_principal_name: user.user_principal_name.clone(),
                    mail: user.mail.clone(),
                    display_name: user.display_name.clone(),
                })
                .await
            {
                Ok(Some(r)) => r,
                Ok(None) => {
                    report.unresolved.push(user.user_principal_name.clone());
                    continue;
                }
                Err(e) => {
                    report.error = Some(format!("{} ({}): {e}", row.display_name, row.kind));
                    return Ok(report);
                }
            },
        };
        wanted.insert(key(&row.kind, &reference), (user.id, reference.clone()));
    }
    let pushed_by_ref: HashMap<String, Uuid> = pushed
        .iter()
        .map(|(p, r)| (key(&row.kind, r), *p))
        .collect();
    let now = app.clock.now();
    let event = |activity: &str, principal: Option<Uuid>, reference: &str| {
        let mut e = AuditEvent::new(
            now,
            Category::GroupManagement,
            activity,
            Initiator::system(),
        )
        .target(mapping.group_id, "Group", group_name.as_deref());
        if let Some(p) = principal {
            e = e.target(p, "User", None);
        }
        Box::new(
            e.detail("connectorId", row.id.to_string())
                .detail("connector", row.display_name.clone())
                .detail("connectorType", row.kind.clone())
                .detail("downstreamGroup", mapping.target.clone())
                .detail("downstreamMember", reference.to_string())
                .detail("cause", "reconciliation"),
        )
    };
    let mut writes = Vec::new();
    let mut result = Ok(());
    match present {
        Some(present) => {
            let present_refs: HashMap<String, String> = present
                .iter()
                .map(|m| (key(&row.kind, &m.reference), m.display.clone()))
                .collect();
            for member in &present {
                let member_key = key(&row.kind, &member.reference);
                if wanted.contains_key(&member_key) {
                    continue;
                }
                if let Err(e) = client.remove(&mapping.target, &member.reference).await {
                    result = Err(format!("{} ({}): {e}", row.display_name, row.kind));
                    break;
                }
                match pushed_by_ref.get(&member_key) {
                    Some(principal) => {
                        report.removed.push(member.reference.clone());
                        writes.push(Write::Unprovisioned(*principal));
                        writes.push(Write::Audit(event(
                            REMOVED,
                            Some(*principal),
                            &member.reference,
                        )));
                    }
                    None => {
                        report.strays.push(member.reference.clone());
                        writes.push(Write::Audit(event(STRAY_REMOVED, None, &member.reference)));
                        writes.push(Write::Alert(Box::new(AlertRow {
                            id: Uuid::new_v4(),
                            kind: STRAY_ALERT.into(),
                            status: "active".into(),
                            dedupe_key: None,
                            data: json!({
                                "title": "Members added outside Eligo",
                                "severity": "high",
                                "description": format!(
                                    "{} was a member of {} in {} ({}) without Eligo granting it; Eligo removed it.",
                                    member.display, mapping.target, row.display_name, row.kind),
                                "member": member.display,
                                "downstreamMember": member.reference,
                                "downstreamGroup": mapping.target,
                                "groupId": mapping.group_id,
                                "groupDisplayName": group_name,
                                "connectorId": row.id,
                                "connectorDisplayName": row.display_name,
                                "connectorType": row.kind,
                                "detectedDateTime": now.to_rfc3339(),
                            }),
                            created_at: now,
                        })));
                    }
                }
            }
            // Pushed records of members no longer there and no longer wanted are stale.
            for (k, principal) in &pushed_by_ref {
                if !present_refs.contains_key(k) && !wanted.contains_key(k) {
                    writes.push(Write::Unprovisioned(*principal));
                }
            }
            if result.is_ok() {
                for (k, (principal, reference)) in &wanted {
                    if present_refs.contains_key(k) {
                        if !pushed.contains_key(principal) {
                            writes.push(Write::Provisioned(*principal, reference.clone()));
                        }
                        continue;
                    }
                    if let Err(e) = client.add(&mapping.target, reference).await {
                        result = Err(format!("{} ({}): {e}", row.display_name, row.kind));
                        break;
                    }
                    report.added.push(reference.clone());
                    writes.push(Write::Provisioned(*principal, reference.clone()));
                    writes.push(Write::Audit(event(ADDED, Some(*principal), reference)));
                }
            }
        }
        None => {
            // Cannot list: re-push every wanted member (idempotent downstream).
            report.listing_unsupported = true;
            for (principal, reference) in wanted.values() {
                if let Err(e) = client.add(&mapping.target, reference).await {
                    result = Err(format!("{} ({}): {e}", row.display_name, row.kind));
                    break;
                }
                if !pushed.contains_key(principal) {
                    report.added.push(reference.clone());
                    writes.push(Write::Provisioned(*principal, reference.clone()));
                    writes.push(Write::Audit(event(ADDED, Some(*principal), reference)));
                }
            }
            for (principal, reference) in &pushed {
                if wanted.contains_key(&key(&row.kind, reference)) {
                    continue;
                }
                if let Err(e) = client.remove(&mapping.target, reference).await {
                    result = Err(format!("{} ({}): {e}", row.display_name, row.kind));
                    break;
                }
                report.removed.push(reference.clone());
                writes.push(Write::Unprovisioned(*principal));
                writes.push(Write::Audit(event(REMOVED, Some(*principal), reference)));
            }
        }
    }
    report.error = result.err();
    let mut tx = app.store.write().await?;
    for write in writes {
        match write {
            Write::Provisioned(p, r) => tx.put_provisioned(mapping.id, p, &r, now).await?,
            Write::Unprovisioned(p) => {
                tx.remove_provisioned(mapping.id, p).await?;
            }
            Write::Audit(e) => {
                tx.append_audit(*e).await?;
            }
            Write::Alert(a) => {
                tx.insert_alert(&a).await?;
            }
        }
    }
    tx.commit().await?;
    if !report.strays.is_empty() {
        metrics::counter!("eligo_downstream_strays_total", "connector" => row.kind.clone())
            .increment(report.strays.len() as u64);
    }
    Ok(report)
}

/// Every connector, every `reconcile_interval` (and once at start).
pub async fn run_forever(app: AppState) {
    let every = app
        .config
        .reconcile_interval
        .to_std()
        .unwrap_or(Duration::from_secs(300));
    loop {
        if let Err(e) = all(&app).await {
            tracing::error!(error = ?e.message, "reconciliation failed");
        }
        tokio::time::sleep(every).await;
    }
}

/// Reconciles every connector once; returns the reports.
pub async fn all(app: &App) -> ApiResult<Vec<Report>> {
    let connectors = {
        let mut tx = app.store.read().await?;
        tx.list_connectors().await?
    };
    let mut reports = Vec::new();
    for c in connectors {
        let found = connector(app, c.id).await?;
        for r in &found {
            if let Some(e) = &r.error {
                tracing::warn!(connector = %c.display_name, target = %r.target, error = %e, "reconciliation could not finish");
            }
        }
        reports.extend(found);
    }
    Ok(reports)
}
