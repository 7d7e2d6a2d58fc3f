//! `eligo bench package-requests` and `eligo bench package-separation`: entitlement
//! management through the real use cases. Requests: `userAdd` requests under a policy without
//! approval, each timed from the call until it answers `delivered` (the decision, the
//! assignment, the group membership and the audit entries committed). Separation: the cost a
//! separation-of-duties check adds to adding a member to a group, with many packages and
//! rules. Setup (users, groups, catalog, packages, policies, rules) is not timed.

use eligo_core::directory::{Group, Relation};
use eligo_core::entitlement::request::RequestState;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::auth::Caller;
use crate::clock::Stopwatch;
use crate::service::directory::{self, NewUser};
use crate::service::entitlement::assignments::submit;
use crate::service::entitlement::catalogs::{self, ResourceRequest};
use crate::service::entitlement::packages::{self, Incompatible, RoleScopeRequest};
use crate::service::entitlement::policies;
use eligo_core::entitlement::resource::OriginSystem;

use super::{BenchDb, Outcome, api, bench_admin, ms, percentile, user_caller};

/// A package handing out membership of a new group, under one policy: every member user may
/// ask for themselves, no approval; `extra` is merged onto that policy.
pub struct Package {
    pub id: Uuid,
    pub policy: Uuid,
    pub group: Uuid,
}

pub async fn group(app: &App, name: &str) -> anyhow::Result<Uuid> {
    let now = app.clock.now();
    let g = Group {
        id: Uuid::new_v4(),
        display_name: name.into(),
        description: None,
        mail_nickname: None,
        security_enabled: true,
        is_assignable_to_role: false,
        created_date_time: now,
    };
    let mut tx = app.store.write().await?;
    tx.insert_group(&g).await?;
    tx.commit().await?;
    Ok(g.id)
}

pub async fn catalog(app: &App, admin: &Caller) -> anyhow::Result<Uuid> {
    let c = catalogs::create(app, admin, json!({ "displayName": "Bench" }))
        .await
        .map_err(api)?;
    Ok(c.id)
}

pub async fn package(
    app: &App,
    admin: &Caller,
    catalog: Uuid,
    name: &str,
    extra: Value,
) -> anyhow::Result<Package> {
    let group = group(app, &format!("{name} group")).await?;
    catalogs::request(
        app,
        admin,
        ResourceRequest {
            add: true,
            catalog,
            origin_system: OriginSystem::AadGroup,
            origin_id: group.to_string(),
        },
    )
    .await
    .map_err(api)?;
    let p = packages::create(
        app,
        admin,
        json!({ "displayName": name, "catalog": { "id": catalog } }),
    )
    .await
    .map_err(api)?;
    packages::add_role_scope(
        app,
        admin,
        Ok(p.id),
        RoleScopeRequest {
            role_id: None,
            role_origin_id: Some(format!("Member_{group}")),
            origin_system: Some(OriginSystem::AadGroup),
            resource_id: None,
            resource_origin_id: Some(group.to_string()),
            scope_id: None,
            scope_origin_id: None,
        },
    )
    .await
    .map_err(api)?;
    let mut body = json!({
        "displayName": "Bench, self-service", "accessPackage": { "id": p.id },
        "allowedTargetScope": "allMemberUsers",
        "expiration": { "type": "afterDuration", "duration": "P30D" },
        "requestorSettings": { "enableTargetsToSelfAddAccess": true, "enableTargetsToSelfRemoveAccess": true },
        "requestApprovalSettings": { "isApprovalRequiredForAdd": false },
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let policy = policies::create(app, admin, body).await.map_err(api)?;
    Ok(Package {
        id: p.id,
        policy: policy.id,
        group,
    })
}

/// `count` users made through the directory use case, as callers with a fresh MFA session.
pub async fn users(app: &AppState, admin: &Caller, count: usize) -> anyhow::Result<Vec<Caller>> {
    let run = Uuid::new_v4().simple().to_string();
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let u = directory::create_user(
            app,
            admin,
            NewUser {
                user_principal_name: format!("em-bench-{i}-{run}@bench.example"),
                display_name: format!("EM bench {i}"),
                mail: None,
                mail_nickname: None,
                password: None,
                manager_id: None,
                account_enabled: true,
            },
        )
        .await
        .map_err(api)?;
        out.push(user_caller(app, u.id).await?);
    }
    Ok(out)
}

/// A `userAdd` of `p` for the caller, with `schedule` when given.
pub fn ask(p: &Package, schedule: Option<Value>) -> Value {
    let mut body = json!({ "requestType": "userAdd", "justification": "benchmark",
        "assignment": { "accessPackageId": p.id, "assignmentPolicyId": p.policy } });
    if let Some(s) = schedule {
        body["schedule"] = s;
    }
    body
}

pub async fn run_requests(url: Option<String>, count: usize) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let app = db.open(|_| {}).await?;
    let admin = bench_admin(&app).await?;
    let catalog = catalog(&app, &admin).await?;
    let p = package(&app, &admin, catalog, "Bench package", json!({})).await?;
    let callers = users(&app, &admin, count).await?;

    let total = Stopwatch::start();
    let mut lat = Vec::with_capacity(count);
    let mut problems = Vec::new();
    for c in &callers {
        let w = Stopwatch::start();
        let r = submit(&app, c, ask(&p, None)).await.map_err(api)?;
        lat.push(w.elapsed());
        if r.state != RequestState::Delivered {
            problems.push(format!("request of {} ended {:?}", c.id, r.state));
        }
    }
    let elapsed = total.elapsed();
    lat.sort();
    let members = {
        let mut tx = app.store.read().await?;
        tx.relations_of_group(p.group, Relation::Member)
            .await?
            .len()
    };
    if members != count {
        problems.push(format!("{members} of {count} memberships found"));
    }
    let line = format!(
        "RESULT bench=package-requests backend={} count={} per_sec={:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        app.store.backend(),
        lat.len(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        ms(lat.last().copied().unwrap_or_default()),
    );
    let details = vec![format!(
        "DETAIL bench=package-requests memberships={members} p90_ms={:.2}",
        ms(percentile(&lat, 0.90))
    )];
    app.store.close().await;
    db.remove();
    Ok(Outcome {
        line,
        details,
        problems,
    })
}

/// `packages` packages (a group each), `rules` of them incompatible with a group of their own
/// ("rule groups"); `holders` users hold a ruled package each. Then timed `add member` calls
/// (the real use case, audited): to a group no rule names, and to a rule group (each new
/// member holds nothing incompatible, so the check reads the holders and lets it through).
pub async fn run_separation(
    url: Option<String>,
    packages_n: usize,
    rules: usize,
    holders: usize,
    adds: usize,
) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let app = db.open(|_| {}).await?;
    let admin = bench_admin(&app).await?;
    let catalog = catalog(&app, &admin).await?;
    let mut all = Vec::with_capacity(packages_n);
    for i in 0..packages_n {
        all.push(
            package(
                &app,
                &admin,
                catalog,
                &format!("Bench package {i}"),
                json!({}),
            )
            .await?,
        );
    }
    let mut rule_groups = Vec::with_capacity(rules);
    for (i, p) in all.iter().take(rules).enumerate() {
        let g = group(&app, &format!("Rule group {i}")).await?;
        packages::incompatible(&app, &admin, Ok(p.id), Ok(Incompatible::Group(g)), true)
            .await
            .map_err(api)?;
        rule_groups.push(g);
    }
    // Holders of the ruled packages: the check reads them when a rule group is gained.
    let holding = users(&app, &admin, holders).await?;
    for (i, c) in holding.iter().enumerate() {
        let p = &all[i % rules.max(1)];
        let r = submit(&app, c, ask(p, None)).await.map_err(api)?;
        anyhow::ensure!(r.state == RequestState::Delivered, "holder not delivered");
    }
    let plain = group(&app, "Plain group").await?;
    let joiners = users(&app, &admin, adds * 2).await?;
    let mut problems = Vec::new();
    let timed = |target: Uuid, who: &[Caller]| {
        let app = app.clone();
        let admin = admin.clone();
        let ids: Vec<Uuid> = who.iter().map(|c| c.id).collect();
        async move {
            let mut lat = Vec::with_capacity(ids.len());
            for id in ids {
                let w = Stopwatch::start();
                directory::add_relation(&app, &admin, target, id, Relation::Member)
                    .await
                    .map_err(api)?;
                lat.push(w.elapsed());
            }
            lat.sort();
            anyhow::Ok(lat)
        }
    };
    let untouched = timed(plain, &joiners[..adds]).await?;
    let ruled = timed(rule_groups[0], &joiners[adds..]).await?;
    // One refusal: a holder of the first ruled package may not join its rule group.
    match directory::add_relation(
        &app,
        &admin,
        rule_groups[0],
        holding[0].id,
        Relation::Member,
    )
    .await
    {
        Err(e) if crate::service::separation::is_refusal(&e) => {}
        other => problems.push(format!(
            "a holder joined an incompatible group: {:?}",
            other.err().map(|e| e.message)
        )),
    }
    let line = format!(
        "RESULT bench=package-separation backend={} packages={packages_n} rules={rules} holders={holders} adds={adds} untouched_p50_ms={:.2} untouched_p99_ms={:.2} ruled_p50_ms={:.2} ruled_p99_ms={:.2}",
        app.store.backend(),
        ms(percentile(&untouched, 0.50)),
        ms(percentile(&untouched, 0.99)),
        ms(percentile(&ruled, 0.50)),
        ms(percentile(&ruled, 0.99)),
    );
    app.store.close().await;
    db.remove();
    Ok(Outcome {
        line,
        details: Vec::new(),
        problems,
    })
}
