//! A scan: gather the facts in the caller's write transaction, let the core decide, raise and
//! resolve incidents (each audited), and record the scan.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::pim_alerts::{
    self as core, ActiveAssignment, AlertKind, Facts, Incident, RoleFacts,
};
use eligo_core::policy::{Enablement, RolePolicy, ScopeType};
use eligo_core::schedule::ScheduleKind;
use eligo_store::{RoleQuery, ScheduleQuery, Targets, Tx};
use uuid::Uuid;

use super::{configuration, tenant_id};
use crate::app::App;
use crate::failure::UseCaseResult;
use crate::service::access::principal_summary;
use crate::service::bootstrap::BREAKGLASS_UPN;

/// What a scan changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scan {
    pub raised: usize,
    pub resolved: usize,
}

pub const RAISED: &str = "PIM alert raised";
pub const RESOLVED: &str = "PIM alert resolved";

/// The scheduler's scan of every alert, in its own transaction.
pub async fn scan_all(app: &App) -> UseCaseResult<Scan> {
    let tenant = tenant_id(app).await?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let done = run(tenant, &mut *tx, &AlertKind::ALL, Initiator::system(), now).await?;
    tx.commit().await?;
    Ok(done)
}

/// Scans `kinds` inside `tx` (the caller commits).
pub(super) async fn run(
    tenant: Uuid,
    tx: &mut dyn Tx,
    kinds: &[AlertKind],
    by: Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<Scan> {
    let facts = facts(tx, now).await?;
    let mut done = Scan::default();
    for &kind in kinds {
        let config = configuration(tx, kind).await?;
        let Some(found) = core::scan(kind, &facts, &config) else {
            continue;
        };
        let open = tx.list_alert_incidents(kind, true).await?;
        let keys: Vec<(Uuid, String)> = open.iter().map(|i| (i.id, i.cause_key.clone())).collect();
        let decided = core::reconcile(&keys, &found);
        for id in &decided.resolve {
            tx.resolve_alert_incident(*id, now).await?;
            tx.append_audit(
                AuditEvent::new(now, Category::RoleManagement, RESOLVED, by.clone())
                    .target(kind.id(tenant), "PimAlert", Some(kind.name()))
                    .target(id, "PimAlertIncident", None),
            )
            .await?;
        }
        for cause in &decided.raise {
            let incident = Incident {
                id: Uuid::new_v4(),
                kind,
                cause_key: cause.key.clone(),
                data: cause.data.clone(),
                raised_at: now,
                resolved_at: None,
            };
            tx.insert_alert_incident(&incident).await?;
            let mut event = AuditEvent::new(now, Category::RoleManagement, RAISED, by.clone())
                .target(kind.id(tenant), "PimAlert", Some(kind.name()))
                .target(incident.id, "PimAlertIncident", None)
                .detail("severityLevel", kind.severity().as_str());
            if let Some(o) = cause.data.as_object() {
                for (k, v) in o {
                    if let Some(s) = v.as_str() {
                        event = event.detail(k, s.to_string());
                    }
                }
            }
            tx.append_audit(event).await?;
        }
        let changed = !decided.raise.is_empty() || !decided.resolve.is_empty();
        tx.touch_alert(kind, Some(now), changed.then_some(now))
            .await?;
        done.raised += decided.raise.len();
        done.resolved += decided.resolve.len();
    }
    Ok(done)
}

/// The facts of this slice's scans: the directory roles' active assignments current now, the
/// roles with their activation MFA rule, and the break-glass account.
async fn facts(tx: &mut dyn Tx, now: DateTime<Utc>) -> UseCaseResult<Facts> {
    let schedules = tx
        .list_role_schedules(&ScheduleQuery {
            kind: Some(ScheduleKind::Active),
            targets: Targets::Roles,
            ..Default::default()
        })
        .await?;
    let mut names: HashMap<Uuid, (String, Option<String>)> = HashMap::new();
    let mut assignments = Vec::new();
    for s in schedules {
        if s.start_date_time > now || s.has_ended(now) || s.end_date_time == Some(s.start_date_time)
        {
            continue;
        }
        let (name, upn) = match names.get(&s.principal_id) {
            Some(known) => known.clone(),
            None => {
                let found = principal_summary(tx, s.principal_id)
                    .await?
                    .map(|p| (p.display_name, p.upn))
                    .unwrap_or_else(|| (s.principal_id.to_string(), None));
                names.insert(s.principal_id, found.clone());
                found
            }
        };
        assignments.push(ActiveAssignment {
            schedule_id: s.id,
            principal_id: s.principal_id,
            principal_display_name: name,
            principal_upn: upn,
            role_definition_id: s.role_definition_id,
            directory_scope_id: s.directory_scope_id.clone(),
            permanent: s.end_date_time.is_none(),
            created_using: s.created_using,
            activated: s.linked_eligibility_id.is_some(),
            created_date_time: s.created_date_time,
        });
    }
    let policies: HashMap<String, RolePolicy> = tx
        .list_policies()
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let roles = tx
        .list_role_definitions(&RoleQuery::default())
        .await?
        .into_iter()
        .filter(|r| r.is_enabled)
        .map(|r| {
            let id = RolePolicy::id_for(ScopeType::DirectoryRole, "/", &r.id.to_string());
            // A role whose settings were never changed has the defaults, which demand MFA.
            let mfa = policies.get(&id).is_none_or(|p| {
                p.rules
                    .enablement_end_user_assignment
                    .contains(&Enablement::MultiFactorAuthentication)
            });
            RoleFacts {
                id: r.id,
                display_name: r.display_name,
                template_id: r.template_id,
                // Holding any directory role makes a principal privileged (threat-model rule 1).
                privileged: true,
                mfa_on_activation: mfa,
            }
        })
        .collect();
    let break_glass = tx
        .find_user_by_upn(BREAKGLASS_UPN)
        .await?
        .map(|u| vec![u.id])
        .unwrap_or_default();
    Ok(Facts {
        assignments,
        roles,
        break_glass,
    })
}
