//! PIM alerts (Graph beta `roleManagementAlerts`): the installation's tenant id, reading alerts,
//! definitions, configurations and incidents (`actions::ALERTS_READ`), and the writes that need
//! `actions::ALERTS_UPDATE` with a fresh second factor: a configuration PATCH, a refresh and a
//! remediation. A scan runs in one write transaction: the facts are gathered, the core decides
//! (`eligo_core::pim_alerts`), incidents are raised and resolved, each audited, and the scan
//! times updated. The scheduler scans every `ELIGO_ALERT_SCAN_INTERVAL`, and a couple of
//! seconds after any change to who holds what or to a role's settings (`run_forever`).

pub mod notices;
mod scan;

use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::actions;
use eligo_core::directory::Relation;
use eligo_core::pim_alerts::{self as core, AlertKind, Configuration, Incident};
use eligo_core::policy::{RolePolicy, ScopeType};
use eligo_core::request::{RequestAction, RequestKind};
use eligo_core::schedule::ScheduleKind;
use eligo_store::{AlertScanTimes, ScheduleQuery, Targets, Tx};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::{alerts, authorize, connectors, directory, entitlement, pim, policies};

pub use scan::{Scan, scan_all, scan_if_due};

/// The server secret that keeps the installation's tenant id (16 bytes), generated once.
const TENANT_SECRET: &str = "pim-alerts-tenant-id";

/// The installation's tenant id, part of every alert id: generated at its first use and kept.
pub async fn tenant_id(app: &App) -> UseCaseResult<Uuid> {
    if let Some(id) = stored_tenant(app).await? {
        return Ok(id);
    }
    let at = app.clock.now().timestamp_micros();
    let mut tx = app.store.write().await?;
    // Another server may have stored one first: then `put` keeps theirs.
    tx.put_server_secret(TENANT_SECRET, Uuid::new_v4().as_bytes(), at)
        .await?;
    tx.commit().await?;
    stored_tenant(app)
        .await?
        .ok_or_else(|| Failure::internal("loading the tenant id", "stored but not read back"))
}

async fn stored_tenant(app: &App) -> UseCaseResult<Option<Uuid>> {
    let mut tx = app.store.read().await?;
    match tx.get_server_secret(TENANT_SECRET).await? {
        None => Ok(None),
        Some(bytes) => Uuid::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Failure::internal("loading the tenant id", e)),
    }
}

/// A definition's configuration: the stored one, or its defaults.
pub(crate) async fn configuration(
    tx: &mut dyn Tx,
    kind: AlertKind,
) -> UseCaseResult<Configuration> {
    Ok(tx
        .get_alert_configuration(kind)
        .await?
        .unwrap_or_else(|| Configuration::default_for(kind)))
}

fn unknown(what: &str) -> Failure {
    Failure::not_found(what)
}

fn kind_of(tenant: Uuid, id: &str) -> UseCaseResult<AlertKind> {
    AlertKind::from_id(tenant, id).ok_or_else(|| unknown("alert"))
}

/// Reads PIM alerts for a caller who may (`ALERTS_READ`): obtained from [`reader`] only.
pub struct Reader<'a> {
    app: &'a App,
    tenant: Uuid,
}

pub async fn reader<'a>(app: &'a App, caller: &Caller) -> UseCaseResult<Reader<'a>> {
    authorize::act(app, caller, actions::ALERTS_READ, false)?;
    Ok(Reader {
        app,
        tenant: tenant_id(app).await?,
    })
}

impl Reader<'_> {
    pub fn tenant(&self) -> Uuid {
        self.tenant
    }

    /// Every alert with its unresolved incidents' count.
    pub async fn alerts(&self) -> UseCaseResult<Vec<Value>> {
        let mut tx = self.app.store.read().await?;
        let times = tx.list_alert_times().await?;
        let mut out = Vec::new();
        for kind in AlertKind::ALL {
            out.push(alert_of(&mut *tx, self.tenant, kind, &times).await?);
        }
        Ok(out)
    }

    pub async fn alert(&self, id: &str) -> UseCaseResult<Value> {
        let kind = kind_of(self.tenant, id)?;
        let mut tx = self.app.store.read().await?;
        let times = tx.list_alert_times().await?;
        alert_of(&mut *tx, self.tenant, kind, &times).await
    }

    /// The alert's unresolved incidents, oldest first.
    pub async fn incidents(&self, id: &str) -> UseCaseResult<Vec<Value>> {
        let kind = kind_of(self.tenant, id)?;
        let mut tx = self.app.store.read().await?;
        Ok(tx
            .list_alert_incidents(kind, true)
            .await?
            .iter()
            .map(Incident::to_graph)
            .collect())
    }

    pub fn definitions(&self) -> Vec<Value> {
        AlertKind::ALL
            .iter()
            .map(|k| k.definition(self.tenant))
            .collect()
    }

    pub fn definition(&self, id: &str) -> UseCaseResult<Value> {
        Ok(kind_of(self.tenant, id)
            .map_err(|_| unknown("alert definition"))?
            .definition(self.tenant))
    }

    pub async fn configurations(&self) -> UseCaseResult<Vec<Value>> {
        let mut tx = self.app.store.read().await?;
        let mut out = Vec::new();
        for kind in AlertKind::ALL {
            out.push(
                configuration(&mut *tx, kind)
                    .await?
                    .to_graph(self.tenant, kind),
            );
        }
        Ok(out)
    }

    pub async fn configuration(&self, id: &str) -> UseCaseResult<Value> {
        let kind = kind_of(self.tenant, id).map_err(|_| unknown("alert configuration"))?;
        let mut tx = self.app.store.read().await?;
        Ok(configuration(&mut *tx, kind)
            .await?
            .to_graph(self.tenant, kind))
    }
}

async fn alert_of(
    tx: &mut dyn Tx,
    tenant: Uuid,
    kind: AlertKind,
    times: &[AlertScanTimes],
) -> UseCaseResult<Value> {
    let open = tx.list_alert_incidents(kind, true).await?.len();
    let t = times.iter().find(|t| t.kind == kind);
    Ok(core::alert(
        tenant,
        kind,
        open,
        t.and_then(|t| t.last_scanned),
        t.and_then(|t| t.last_modified),
    ))
}

const UPDATE_CONFIGURATION: &str = "Update PIM alert configuration";
const REFRESH: &str = "Refresh PIM alerts";
const REMEDIATE: &str = "Remediate PIM alert incident";

/// `PATCH alertConfigurations/{id}`: validated by the core (every bad field named, nothing
/// changed), stored and audited; the alert's next scan applies it.
pub async fn update_configuration(
    app: &App,
    caller: &Caller,
    id: &str,
    body: &Value,
) -> UseCaseResult<Value> {
    authorize::audited(app, caller, UPDATE_CONFIGURATION, Category::Policy, async {
        authorize::act(app, caller, actions::ALERTS_UPDATE, true)?;
        let tenant = tenant_id(app).await?;
        let kind = kind_of(tenant, id).map_err(|_| unknown("alert configuration"))?;
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let before = configuration(&mut *tx, kind).await?;
        let mut after = before.clone();
        after.patch(kind, body).map_err(|all| {
            Failure::invalid_all(
                "InvalidAlertConfiguration",
                "some settings are not valid; nothing was changed",
                all,
            )
        })?;
        if after != before {
            tx.put_alert_configuration(kind, &after, now).await?;
            tx.touch_alert(kind, None, Some(now)).await?;
            let old = json!(before);
            let new = json!(after);
            let mut event = AuditEvent::new(
                now,
                Category::Policy,
                UPDATE_CONFIGURATION,
                caller.initiator(),
            )
            .target(kind.id(tenant), "PimAlertConfiguration", Some(kind.name()));
            if let (Some(o), Some(n)) = (old.as_object(), new.as_object()) {
                for (k, v) in n {
                    if o.get(k) != Some(v) {
                        let was = o.get(k).map(Value::to_string).unwrap_or_default();
                        event = event.modified(k, was, v.to_string());
                    }
                }
            }
            tx.append_audit(event).await?;
            tx.commit().await?;
        }
        Ok(after.to_graph(tenant, kind))
    })
    .await
}

/// What a refresh covers: every alert of a scope (`POST alerts/refresh`) or one alert.
pub enum RefreshOf<'a> {
    Scope {
        scope_id: &'a str,
        scope_type: &'a str,
    },
    Alert(&'a str),
}

/// `POST alerts/refresh` and `POST alerts/{id}/refresh`: scans now, in one transaction with the
/// refresh's audit entry. Only the directory scope (`/`, `DirectoryRole`) exists: any other
/// is refused, `UnsupportedScope`.
pub async fn refresh(app: &App, caller: &Caller, of: RefreshOf<'_>) -> UseCaseResult<Scan> {
    authorize::audited(app, caller, REFRESH, Category::RoleManagement, async {
        authorize::act(app, caller, actions::ALERTS_UPDATE, true)?;
        let tenant = tenant_id(app).await?;
        let kinds: Vec<AlertKind> = match of {
            RefreshOf::Scope {
                scope_id,
                scope_type,
            } => {
                if scope_id != core::SCOPE_ID || scope_type != core::SCOPE_TYPE {
                    return Err(Failure::bad_request(
                        "UnsupportedScope",
                        "alerts exist only for scopeId '/' and scopeType 'DirectoryRole'",
                    )
                    .with_detail("UnsupportedScope", "scopeId"));
                }
                AlertKind::ALL.to_vec()
            }
            RefreshOf::Alert(id) => vec![kind_of(tenant, id)?],
        };
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let done = scan::run(app, tenant, &mut *tx, &kinds, caller.initiator(), now).await?;
        let mut event = AuditEvent::new(now, Category::RoleManagement, REFRESH, caller.initiator())
            .detail("raised", done.raised.to_string())
            .detail("resolved", done.resolved.to_string());
        for k in &kinds {
            event = event.target(k.id(tenant), "PimAlert", Some(k.name()));
        }
        tx.append_audit(event).await?;
        tx.commit().await?;
        Ok(done)
    })
    .await
}

/// `POST alerts/{id}/alertIncidents/{incidentId}/remediate`: applies the fix the definition
/// names through the use case an administrator would use (so the caller needs its permission
/// too), then scans the alert again so the incident resolves. A definition without a fix is
/// refused, `AlertNotRemediable`; an incident already resolved, `IncidentResolved`.
pub async fn remediate(
    app: &App,
    caller: &Caller,
    alert_id: &str,
    incident_id: &str,
) -> UseCaseResult<()> {
    authorize::audited(app, caller, REMEDIATE, Category::RoleManagement, async {
        authorize::act(app, caller, actions::ALERTS_UPDATE, true)?;
        let tenant = tenant_id(app).await?;
        let kind = kind_of(tenant, alert_id)?;
        let incident = match Uuid::parse_str(incident_id) {
            Ok(id) => app.store.read().await?.get_alert_incident(id).await?,
            Err(_) => None,
        }
        .filter(|i| i.kind == kind)
        .ok_or_else(|| unknown("alert incident"))?;
        if !kind.is_remediatable() || !kind.is_scanned() {
            return Err(Failure::bad_request(
                "AlertNotRemediable",
                format!("{} has no remediation", kind.name()),
            ));
        }
        if incident.resolved_at.is_some() {
            return Err(Failure::bad_request(
                "IncidentResolved",
                "this incident is resolved already",
            ));
        }
        match kind {
            AlertKind::RolesAssignedOutsidePim => remove_assignment(app, caller, &incident).await?,
            AlertKind::NoMfaOnRoleActivation => require_mfa(app, caller, &incident).await?,
            AlertKind::StaleSignIn => remove_holdings(app, caller, kind, &incident, true).await?,
            AlertKind::RedundantAssignment => {
                remove_holdings(app, caller, kind, &incident, false).await?
            }
            AlertKind::SeparationOfDutiesConflict => remove_newer(app, caller, &incident).await?,
            AlertKind::MembersAddedOutsideEligo => remove_stray(app, caller, &incident).await?,
            _ => {}
        }
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        scan::run(app, tenant, &mut *tx, &[kind], caller.initiator(), now).await?;
        tx.append_audit(
            AuditEvent::new(now, Category::RoleManagement, REMEDIATE, caller.initiator())
                .target(kind.id(tenant), "PimAlert", Some(kind.name()))
                .target(incident.id, "PimAlertIncident", None),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

fn field(incident: &Incident, name: &str) -> UseCaseResult<Uuid> {
    incident.data[name]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Failure::internal("remediating an incident", format!("no {name}")))
}

/// Removes the assignment as an administrator's `adminRemove` would.
async fn remove_assignment(app: &App, caller: &Caller, incident: &Incident) -> UseCaseResult<()> {
    let schedule = Uuid::parse_str(&incident.cause_key)
        .map_err(|e| Failure::internal("remediating an incident", e))?;
    let scope = {
        let mut tx = app.store.read().await?;
        tx.get_role_schedule(schedule)
            .await?
            .map(|s| s.directory_scope_id)
    };
    let Some(scope) = scope else {
        // Gone meanwhile: the rescan resolves the incident.
        return Ok(());
    };
    pim::submit::submit(
        app,
        caller,
        pim::submit::NewRequest {
            kind: RequestKind::Assignment,
            action: RequestAction::AdminRemove,
            principal_id: field(incident, "assigneeId")?,
            role_definition_id: field(incident, "roleDefinitionId")?,
            directory_scope_id: scope,
            justification: Some(format!(
                "Remediation of PIM alert incident {} (RolesAssignedOutsidePimAlert)",
                incident.id
            )),
            ticket: None,
            schedule_info: None,
            is_validation_only: false,
        },
    )
    .await?;
    Ok(())
}

/// Removes what the incident's assignee holds of its role, at every scope, as an
/// administrator's `adminRemove` would: each eligibility through the eligibility requests and,
/// when `active` too, each standing active assignment through the assignment requests (an
/// activation ends with the eligibility it came from, or at its own end).
async fn remove_holdings(
    app: &App,
    caller: &Caller,
    kind: AlertKind,
    incident: &Incident,
    active: bool,
) -> UseCaseResult<()> {
    let principal = field(incident, "assigneeId")?;
    let role = field(incident, "roleDefinitionId")?;
    let now = app.clock.now();
    let mut held: Vec<(RequestKind, String)> = Vec::new();
    {
        let mut tx = app.store.read().await?;
        let kinds: &[ScheduleKind] = if active {
            &[ScheduleKind::Eligible, ScheduleKind::Active]
        } else {
            &[ScheduleKind::Eligible]
        };
        for &schedule_kind in kinds {
            let schedules = tx
                .list_role_schedules(&ScheduleQuery {
                    kind: Some(schedule_kind),
                    targets: Targets::Roles,
                    principal_ids: Some(vec![principal]),
                    role_definition_id: Some(role),
                    directory_scope_id: None,
                })
                .await?;
            for s in schedules {
                if s.has_ended(now) || s.linked_eligibility_id.is_some() {
                    continue;
                }
                let request_kind = match schedule_kind {
                    ScheduleKind::Eligible => RequestKind::Eligibility,
                    ScheduleKind::Active => RequestKind::Assignment,
                };
                if !held.contains(&(request_kind, s.directory_scope_id.clone())) {
                    held.push((request_kind, s.directory_scope_id));
                }
            }
        }
    }
    // Gone meanwhile: the rescan resolves the incident.
    for (request_kind, scope) in held {
        pim::submit::submit(
            app,
            caller,
            pim::submit::NewRequest {
                kind: request_kind,
                action: RequestAction::AdminRemove,
                principal_id: principal,
                role_definition_id: role,
                directory_scope_id: scope,
                justification: Some(format!(
                    "Remediation of PIM alert incident {} ({})",
                    incident.id,
                    kind.name()
                )),
                ticket: None,
                schedule_info: None,
                is_validation_only: false,
            },
        )
        .await?;
    }
    Ok(())
}

/// Removes the newer of the two conflicting accesses the scan named: an access package
/// assignment through the administrators' `adminRemove` request, a direct group membership
/// through the directory's remove-member use case (each audited by its use case).
async fn remove_newer(app: &App, caller: &Caller, incident: &Incident) -> UseCaseResult<()> {
    let id = field(incident, "newerAccessId")?;
    match incident.data["newerAccessType"].as_str() {
        Some("groupMembership") => {
            let principal = field(incident, "principalId")?;
            match directory::remove_relation(app, caller, id, principal, Relation::Member).await {
                // Gone meanwhile: the rescan resolves the incident.
                Err(e) if e.kind == crate::failure::Kind::NotFound => Ok(()),
                other => other,
            }
        }
        _ => {
            entitlement::assignments::submit(
                app,
                caller,
                json!({
                    "requestType": "adminRemove",
                    "assignment": { "id": id },
                    "justification": format!(
                        "Remediation of PIM alert incident {} (SeparationOfDutiesConflictAlert)",
                        incident.id
                    ),
                }),
            )
            .await?;
            Ok(())
        }
    }
}

/// Removes the stray downstream the way reconciliation does: reconciliation is the only path
/// that removes a member Eligo did not put there, so the connector is reconciled now through
/// the administrators' use case (audited, needs `provisioning/update`); when that run reports
/// no error the stray is gone downstream, and its `/v1/alerts` alert is resolved through the
/// alerts' use case (audited), which resolves the incident at the rescan. A run that fails
/// leaves both open and answers its failure.
async fn remove_stray(app: &App, caller: &Caller, incident: &Incident) -> UseCaseResult<()> {
    let alert = Uuid::parse_str(&incident.cause_key)
        .map_err(|e| Failure::internal("remediating an incident", e))?;
    let connector = field(incident, "connectorId")?;
    let reports = connectors::reconcile_now(app, caller, connector).await?;
    let target = incident.data["downstreamGroup"].as_str();
    if let Some(e) = reports
        .iter()
        .filter(|r| target.is_none_or(|t| r.target == t))
        .find_map(|r| r.error.clone())
    {
        return Err(Failure::conflict(
            "ReconciliationFailed",
            format!("the stray could not be removed downstream: {e}"),
        ));
    }
    alerts::update(app, caller, Ok(alert), "resolved").await?;
    Ok(())
}

/// Turns the activation MFA rule on for the role, through the role-settings use case.
async fn require_mfa(app: &App, caller: &Caller, incident: &Incident) -> UseCaseResult<()> {
    let role = field(incident, "roleDefinitionId")?;
    let policy_id = RolePolicy::id_for(ScopeType::DirectoryRole, "/", &role.to_string());
    const RULE: &str = "Enablement_EndUser_Assignment";
    let current = {
        let mut tx = app.store.read().await?;
        policies::by_id(&mut *tx, &policy_id).await?
    };
    let mut rule = policies::rule_json(&current.rules, RULE);
    let mut enabled: Vec<Value> = rule["enabledRules"].as_array().cloned().unwrap_or_default();
    if !enabled.iter().any(|v| v == "MultiFactorAuthentication") {
        enabled.push(json!("MultiFactorAuthentication"));
    }
    rule["enabledRules"] = Value::Array(enabled);
    policies::update_rules(app, caller, &policy_id, &[(RULE.to_string(), rule)], None).await?;
    Ok(())
}

/// Scans every alert at the interval `ELIGO_ALERT_SCAN_INTERVAL` (hourly by default), the
/// first time one interval after start (a refresh scans at once), so starting a server writes
/// nothing on its own. With several servers the timed scan runs once per interval between them
/// (`scan_if_due`); a change wakes only the server that made it, which scans after it settles.
pub async fn run_forever(app: AppState) {
    let every = app
        .config
        .alert_scan_interval
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(3600));
    let interval = app.config.alert_scan_interval;
    loop {
        let scanned = tokio::select! {
            () = tokio::time::sleep(every) => scan::scan_if_due(&app, interval).await.map(|_| ()),
            () = app.alert_scans.notify.notified() => {
                // A change to who holds what (or to a role's settings): scan once the burst
                // it belongs to has settled, so a hundred assignments make one scan.
                tokio::time::sleep(SETTLE).await;
                scan_all(&app).await.map(|_| ())
            }
        };
        if let Err(e) = scanned {
            tracing::error!(error = ?e.message, "the PIM alert scan failed");
        }
    }
}

/// How long a change waits for the ones that follow it before the scan it causes.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);
