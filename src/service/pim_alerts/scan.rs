//! A scan: gather the facts in the caller's write transaction, let the core decide, raise and
//! resolve incidents (each audited), and record the scan.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::directory::PrincipalKind;
use eligo_core::pim_alerts::{
    self as core, ActiveAssignment, AlertKind, BreakGlassUse, Eligibility, Facts, HeldGroup,
    HeldPackage, Holder, Incident, RoleActivation, RoleFacts, SodHolder, Stray,
};
use eligo_core::policy::{Enablement, RolePolicy, ScopeType};
use eligo_core::schedule::{RoleSchedule, ScheduleKind};
use eligo_core::target::Target;
use eligo_store::{AssignmentQuery, AuditQuery, Page, RoleQuery, ScheduleQuery, Targets, Tx};
use serde_json::json;
use uuid::Uuid;

use super::{configuration, notices, tenant_id};
use crate::app::App;
use crate::failure::UseCaseResult;
use crate::notify::event::{SecurityEvent, subscribed_to};
use crate::notify::webhooks::OutgoingEvent;
use crate::outbox::jobs::Payload;
use crate::provisioning::reconcile::STRAY_ALERT;
use crate::service::bootstrap::BREAKGLASS_UPN;
use crate::service::directory;

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
    let done = run(
        app,
        tenant,
        &mut *tx,
        &AlertKind::ALL,
        Initiator::system(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(done)
}

/// The periodic scan: [`scan_all`], unless some server scanned on its timer less than `every`
/// ago (the look is a `claim_duty` marker committed with the scan, so N servers scan once per
/// interval between them). None when it did not scan.
pub async fn scan_if_due(app: &App, every: chrono::TimeDelta) -> UseCaseResult<Option<Scan>> {
    let tenant = tenant_id(app).await?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    // A second's slack: a timer of `every` after the last scan must find it due.
    let slack = chrono::TimeDelta::seconds(1).min(every / 2);
    if !tx.claim_duty("pim.alert-scan", now, every - slack).await? {
        return Ok(None);
    }
    let done = run(
        app,
        tenant,
        &mut *tx,
        &AlertKind::ALL,
        Initiator::system(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(done))
}

/// Scans `kinds` inside `tx` (the caller commits).
pub(super) async fn run(
    app: &App,
    tenant: Uuid,
    tx: &mut dyn Tx,
    kinds: &[AlertKind],
    by: Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<Scan> {
    let history = kinds.iter().any(|k| k.reads_history());
    let mut facts = facts(tx, now, history).await?;
    if kinds.iter().any(|k| k.reads_separation()) {
        separation(app, tx, &mut facts).await?;
    }
    if kinds.iter().any(|k| k.reads_strays()) {
        facts.strays = strays(tx).await?;
    }
    if kinds.iter().any(|k| k.reads_break_glass_uses()) {
        facts.break_glass_uses =
            break_glass_uses(tx, now, facts.break_glass.first().copied()).await?;
    }
    let mut done = Scan::default();
    for &kind in kinds {
        let config = configuration(tx, kind).await?;
        let Some(found) = core::scan(kind, &facts, &config) else {
            continue;
        };
        let open = tx.list_alert_incidents(kind, true).await?;
        let keys: Vec<(Uuid, String)> = open.iter().map(|i| (i.id, i.cause_key.clone())).collect();
        let decided = core::reconcile(&keys, &found);
        let mut raised = Vec::new();
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
            announce(tx, tenant, &incident, now).await?;
            raised.push(incident);
        }
        notices::mail_raised(app, tx, tenant, kind, config.is_enabled, &raised, now).await?;
        let changed = !decided.raise.is_empty() || !decided.resolve.is_empty();
        tx.touch_alert(kind, Some(now), changed.then_some(now))
            .await?;
        done.raised += decided.raise.len();
        done.resolved += decided.resolve.len();
    }
    Ok(done)
}

/// An `alert.raised` event to every subscription that asked for it (or `*`), written with
/// the incident in the scan's transaction: a raised incident is announced exactly once.
async fn announce(
    tx: &mut dyn Tx,
    tenant: Uuid,
    incident: &Incident,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let kind = incident.kind;
    let text = format!(
        "PIM alert {} ({} severity) raised an incident",
        kind.name(),
        kind.severity().as_str()
    );
    let event = OutgoingEvent::new(
        incident.id,
        SecurityEvent::AlertRaised,
        now,
        &text,
        json!({ "alertId": kind.id(tenant), "alertDefinitionId": kind.id(tenant),
                "alertName": kind.name(), "severityLevel": kind.severity().as_str(),
                "incidentId": incident.id, "incident": incident.data }),
    );
    for sub in tx.list_subscriptions().await? {
        if subscribed_to(&sub.data["eventTypes"], SecurityEvent::AlertRaised) {
            let payload = Payload::Event {
                subscription_id: sub.id,
                event: Box::new(event.clone()),
            };
            let once = format!("{}:subscription:{}", incident.id, sub.id);
            tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
        }
    }
    Ok(())
}

/// The facts of the scans: the directory roles' active assignments and eligibilities current
/// now, their holders (names, account creation), the roles with their activation MFA rule, the
/// break-glass account, and the history (every principal's last sign-in, the last activation
/// per principal and role, the activations of the sequential window), each a bulk read. The
/// eligibilities and the history are read only when `history` (a scan of an alert that reads
/// them); otherwise they are left empty.
async fn facts(tx: &mut dyn Tx, now: DateTime<Utc>, history: bool) -> UseCaseResult<Facts> {
    let current = |s: &RoleSchedule| {
        !(s.start_date_time > now || s.has_ended(now) || s.end_date_time == Some(s.start_date_time))
    };
    let schedules = tx
        .list_role_schedules(&ScheduleQuery {
            kind: Some(ScheduleKind::Active),
            targets: Targets::Roles,
            ..Default::default()
        })
        .await?;
    let (eligible, recent) = if history {
        let eligible = tx
            .list_role_schedules(&ScheduleQuery {
                kind: Some(ScheduleKind::Eligible),
                targets: Targets::Roles,
                ..Default::default()
            })
            .await?;
        // The window `[now - 24h, now]`: the end included.
        let from = now - core::SEQUENTIAL_WINDOW;
        let recent = tx
            .activations_between(from, now + chrono::TimeDelta::microseconds(1))
            .await?;
        (eligible, recent)
    } else {
        (Vec::new(), Vec::new())
    };
    let recent_activations: Vec<RoleActivation> = recent
        .into_iter()
        .filter_map(|a| match a.target {
            Target::Role { role, .. } => Some(RoleActivation {
                principal_id: a.principal_id,
                role_definition_id: role,
                at: a.activated_at,
            }),
            Target::Group { .. } => None,
        })
        .collect();
    let mut principals: HashMap<Uuid, Holder> = HashMap::new();
    let mut assignments = Vec::new();
    for s in schedules.into_iter().filter(current) {
        let holder = holder(tx, &mut principals, s.principal_id).await?;
        assignments.push(ActiveAssignment {
            schedule_id: s.id,
            principal_id: s.principal_id,
            principal_display_name: holder.display_name,
            principal_upn: holder.upn,
            role_definition_id: s.role_definition_id,
            directory_scope_id: s.directory_scope_id.clone(),
            permanent: s.end_date_time.is_none(),
            created_using: s.created_using,
            activated: s.linked_eligibility_id.is_some(),
            created_date_time: s.created_date_time,
        });
    }
    let mut eligibilities = Vec::new();
    for s in eligible.into_iter().filter(current) {
        holder(tx, &mut principals, s.principal_id).await?;
        eligibilities.push(Eligibility {
            schedule_id: s.id,
            principal_id: s.principal_id,
            role_definition_id: s.role_definition_id,
            directory_scope_id: s.directory_scope_id.clone(),
            created_date_time: s.created_date_time,
        });
    }
    for a in &recent_activations {
        holder(tx, &mut principals, a.principal_id).await?;
    }
    let mut last_sign_ins = HashMap::new();
    let mut last_activations: HashMap<(Uuid, Uuid), DateTime<Utc>> = HashMap::new();
    let (sign_ins, activations) = if history {
        (
            tx.all_sign_in_activity().await?,
            tx.last_activations().await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    for (p, a) in sign_ins {
        if let Some(at) = a.last_any() {
            last_sign_ins.insert(p, at);
        }
    }
    for a in activations {
        if let Target::Role { role, .. } = a.target {
            let at = last_activations
                .entry((a.principal_id, role))
                .or_insert(a.activated_at);
            *at = (*at).max(a.activated_at);
        }
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
        now,
        assignments,
        eligibilities,
        roles,
        break_glass,
        principals,
        last_sign_ins,
        last_activations,
        recent_activations,
        ..Default::default()
    })
}

/// The separation-of-duties facts, as the incompatibility report reads them but once for all
/// packages: the rules (one read), the live assignments (one read, kept for the packages a rule
/// names), each such package's and each ruled group's name (one read each), the direct
/// memberships of the ruled groups with their time (one read), and, per holder, the groups it
/// is in from the access index (no query) and its names (looked up once per scan, as every
/// holder of the scans). Nothing is read past the rules when there are none.
async fn separation(app: &App, tx: &mut dyn Tx, facts: &mut Facts) -> UseCaseResult<()> {
    let rules = tx.incompatibility_rules().await?;
    if rules.packages.is_empty() && rules.groups.is_empty() {
        facts.sod_rules = rules;
        return Ok(());
    }
    let ruled_packages: BTreeSet<Uuid> = rules
        .packages
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .chain(rules.groups.iter().map(|&(p, _)| p))
        .collect();
    let ruled_groups: BTreeSet<Uuid> = rules.groups.iter().map(|&(_, g)| g).collect();
    let mut package_names: HashMap<Uuid, String> = HashMap::new();
    for &p in &ruled_packages {
        let name = tx.get_package(p).await?.map(|p| p.display_name);
        package_names.insert(p, name.unwrap_or_else(|| p.to_string()));
    }
    let mut group_names: HashMap<Uuid, String> = HashMap::new();
    for &g in &ruled_groups {
        let name = tx.get_group(g).await?.map(|g| g.display_name);
        group_names.insert(g, name.unwrap_or_else(|| g.to_string()));
    }
    let groups: Vec<Uuid> = ruled_groups.iter().copied().collect();
    let direct: HashMap<(Uuid, Uuid), DateTime<Utc>> = tx
        .memberships_since(&groups)
        .await?
        .into_iter()
        .map(|(g, m, at)| ((g, m), at))
        .collect();
    let mut held: BTreeMap<Uuid, Vec<HeldPackage>> = BTreeMap::new();
    for a in tx
        .list_assignments(&AssignmentQuery::default())
        .await?
        .into_iter()
        .filter(|a| a.is_live() && ruled_packages.contains(&a.access_package_id))
    {
        held.entry(a.target_id).or_default().push(HeldPackage {
            assignment_id: a.id,
            package_id: a.access_package_id,
            display_name: package_names[&a.access_package_id].clone(),
            since: a.created_date_time,
        });
    }
    for (person, packages) in held {
        let h = holder(tx, &mut facts.principals, person).await?;
        let groups = directory::transitive_groups(app, person)
            .into_iter()
            .filter(|g| ruled_groups.contains(g))
            .map(|g| HeldGroup {
                group_id: g,
                display_name: group_names[&g].clone(),
                direct_since: direct.get(&(g, person)).copied(),
            })
            .collect();
        facts.sod_holders.push(SodHolder {
            principal_id: person,
            display_name: h.display_name,
            upn: h.upn,
            packages,
            groups,
        });
    }
    facts.sod_rules = rules;
    Ok(())
}

/// The active "Members added outside Eligo" alerts of `/v1/alerts` (one read), with the
/// fields reconciliation recorded.
async fn strays(tx: &mut dyn Tx) -> UseCaseResult<Vec<Stray>> {
    Ok(tx
        .list_alerts(Some("active"), Page::ALL)
        .await?
        .into_iter()
        .filter(|a| a.kind == STRAY_ALERT)
        .map(|a| {
            let text = |k: &str| a.data[k].as_str().map(String::from);
            let id = |k: &str| a.data[k].as_str().and_then(|s| Uuid::parse_str(s).ok());
            Stray {
                alert_id: a.id,
                connector_id: id("connectorId"),
                connector_display_name: text("connectorDisplayName"),
                connector_type: text("connectorType"),
                downstream_group: text("downstreamGroup"),
                downstream_member: text("downstreamMember"),
                member: text("member"),
                group_id: id("groupId"),
                group_display_name: text("groupDisplayName"),
                detected: a.created_at,
            }
        })
        .collect())
}

/// The announced uses of the break-glass account in the last `BREAK_GLASS_WINDOW`, from the
/// audit log: each "Break-glass token used" entry and each "User signed in" entry of the
/// account that carries a `noticeId` (the `breakglass.used` announcement; uses within its
/// quiet period are audited without one). Two reads, by activity and time.
async fn break_glass_uses(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    account: Option<Uuid>,
) -> UseCaseResult<Vec<BreakGlassUse>> {
    let since = now - core::BREAK_GLASS_WINDOW;
    let mut out = Vec::new();
    let queries = [
        ("Break-glass token used", "bootstrapToken", None),
        ("User signed in", "signIn", account),
    ];
    for (activity, credential, target) in queries {
        if activity == "User signed in" && target.is_none() {
            continue;
        }
        let entries = tx
            .list_audit(
                &AuditQuery {
                    activity: Some(activity.to_string()),
                    target_id: target.map(|t| t.to_string()),
                    since: Some(since),
                    until: Some(now + chrono::TimeDelta::microseconds(1)),
                    ..Default::default()
                },
                Page::ALL,
            )
            .await?;
        for e in entries {
            let detail = |k: &str| {
                e.additional_details
                    .iter()
                    .find(|d| d.key == k)
                    .map(|d| d.value.clone())
            };
            let Some(notice_id) = detail("noticeId") else {
                continue;
            };
            let Some(user) = e.target_resources.iter().find(|t| t.kind == "User") else {
                continue;
            };
            let Ok(account_id) = Uuid::parse_str(&user.id) else {
                continue;
            };
            out.push(BreakGlassUse {
                notice_id,
                account_id,
                account_upn: user
                    .user_principal_name
                    .clone()
                    .or_else(|| user.display_name.clone()),
                at: e.activity_date_time,
                credential,
                ip_address: detail("ipAddress").filter(|a| a != "-"),
            });
        }
    }
    Ok(out)
}

/// The principal's names and account creation, looked up once per scan. One gone meanwhile is
/// named by its id, created at the epoch.
async fn holder(
    tx: &mut dyn Tx,
    known: &mut HashMap<Uuid, Holder>,
    id: Uuid,
) -> UseCaseResult<Holder> {
    if let Some(h) = known.get(&id) {
        return Ok(h.clone());
    }
    let found = match tx.principal_kind(id).await? {
        Some(PrincipalKind::User) => tx.get_user(id).await?.map(|u| Holder {
            display_name: u.display_name,
            upn: Some(u.user_principal_name),
            created: u.created_date_time,
        }),
        Some(PrincipalKind::ServicePrincipal) => {
            tx.get_service_principal(id).await?.map(|s| Holder {
                display_name: s.display_name,
                upn: None,
                created: s.created_date_time,
            })
        }
        Some(PrincipalKind::Group) => tx.get_group(id).await?.map(|g| Holder {
            display_name: g.display_name,
            upn: None,
            created: g.created_date_time,
        }),
        None => None,
    }
    .unwrap_or_else(|| Holder {
        display_name: id.to_string(),
        upn: None,
        created: DateTime::<Utc>::UNIX_EPOCH,
    });
    known.insert(id, found.clone());
    Ok(found)
}
