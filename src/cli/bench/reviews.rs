//! `eligo bench review`: an access review of a group with `count` members, each a decision.
//! Timed: the definition's creation with its first instance (the snapshot: every member read,
//! recommended and given its reviewer, every decision stored), `batchRecordDecisions` denying
//! all of them, and the instance's stop with auto-apply until every removal is committed, then
//! until every removal was pushed to the group's downstream (a webhook connector whose
//! receiver runs in this process on loopback and counts what it gets). Setup (users, members,
//! the mapped group's first sync) is not timed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use eligo_core::directory::{Relation, User};
use serde_json::json;
use uuid::Uuid;

use crate::clock::Stopwatch;
use crate::outbox::worker;
use crate::service::reviews::decisions::{self, Batch};
use crate::service::reviews::{definitions, instances};
use crate::service::{connectors, directory};

use super::{BenchDb, Outcome, api, bench_admin, user_caller};

/// Users and memberships written per transaction during setup.
const SETUP_BATCH: usize = 1000;
const GIVE_UP: Duration = Duration::from_secs(600);

/// A downstream that accepts everything and counts the member removals it was sent.
async fn receiver() -> anyhow::Result<(String, Arc<AtomicUsize>, Arc<AtomicUsize>)> {
    let calls = Arc::new(AtomicUsize::new(0));
    let removals = Arc::new(AtomicUsize::new(0));
    let (c, r) = (calls.clone(), removals.clone());
    let app = Router::new().fallback(move |body: String| {
        let (c, r) = (c.clone(), r.clone());
        async move {
            c.fetch_add(1, Ordering::Relaxed);
            if body.contains("\"remove") || body.contains("\"removed\"") {
                r.fetch_add(1, Ordering::Relaxed);
            }
            StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, calls, removals))
}

/// Runs the outbox until nothing is due (or `GIVE_UP`).
async fn drain(app: &crate::app::AppState) -> anyhow::Result<usize> {
    let started = Stopwatch::start();
    let mut delivered = 0;
    loop {
        let d = worker::run_due(app).await.map_err(api)?;
        delivered += d.delivered;
        if d.delivered == 0 && d.retried == 0 && d.failed == 0 {
            return Ok(delivered);
        }
        anyhow::ensure!(started.elapsed() < GIVE_UP, "the outbox did not drain");
    }
}

pub async fn run(url: Option<String>, count: usize) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let app = db
        .open(|c| c.outbound_allow = vec!["127.0.0.0/8".parse().expect("a network")])
        .await?;
    let admin = bench_admin(&app).await?;
    let (hook, calls, _) = receiver().await?;
    let group = directory::create_group(
        &app,
        &admin,
        directory::NewGroup {
            display_name: "Reviewed group".into(),
            description: None,
            mail_nickname: Some("reviewed".into()),
            security_enabled: true,
            is_assignable_to_role: false,
        },
    )
    .await
    .map_err(api)?;
    let reviewer = directory::create_user(
        &app,
        &admin,
        directory::NewUser {
            user_principal_name: format!("reviewer-{}@bench.example", Uuid::new_v4().simple()),
            display_name: "Bench reviewer".into(),
            mail: None,
            mail_nickname: None,
            password: None,
            manager_id: None,
            account_enabled: true,
        },
    )
    .await
    .map_err(api)?;
    // Setup: the members, written in batches through the store (their own audit is not the
    // subject here).
    let mut ids = Vec::with_capacity(count);
    let now = app.clock.now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(SETUP_BATCH) {
        let mut tx = app.store.write().await?;
        for i in chunk {
            let id = Uuid::new_v4();
            tx.insert_user(&User {
                id,
                user_principal_name: format!("member-{i}-{}@bench.example", id.simple()),
                display_name: format!("Member {i}"),
                mail: None,
                mail_nickname: None,
                manager_id: None,
                account_enabled: true,
                created_date_time: now,
            })
            .await?;
            tx.add_relation(group.id, id, Relation::Member, now.timestamp_micros())
                .await?;
            ids.push(id);
        }
        tx.commit().await?;
    }
    let connector = connectors::create(
        &app,
        &admin,
        "webhook",
        "Bench downstream",
        json!({ "url": hook, "secret": "bench-shared-secret-0123456789" }),
    )
    .await
    .map_err(api)?;
    connectors::map_group(&app, &admin, group.id, connector.id, "reviewed")
        .await
        .map_err(api)?;
    drain(&app).await?;
    let pushed_before = calls.load(Ordering::Relaxed);

    // Timed: the review starts (the snapshot).
    let w = Stopwatch::start();
    let def = definitions::create(
        &app,
        &admin,
        json!({
            "displayName": "Bench review",
            "scope": { "query": format!("/groups/{}/members", group.id), "queryType": "MicrosoftGraph" },
            "reviewers": [{ "query": format!("/users/{}", reviewer.id), "queryType": "MicrosoftGraph" }],
            "settings": { "instanceDurationInDays": 7, "recommendationsEnabled": true,
                          "autoApplyDecisionsEnabled": true }
        }),
    )
    .await
    .map_err(api)?;
    let start = w.elapsed();
    let instance = instances::list(&app, &admin, def.id)
        .await
        .map_err(api)?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no instance started"))?;

    // Timed: the reviewer denies everyone in one batch.
    let reviewer_caller = user_caller(&app, reviewer.id).await?;
    let w = Stopwatch::start();
    let recorded = decisions::batch(
        &app,
        &reviewer_caller,
        def.id,
        instance.id,
        Batch {
            decision: Some(eligo_core::review::Decision::Deny),
            justification: Some("benchmark".into()),
            ..Default::default()
        },
    )
    .await
    .map_err(api)?;
    let batch = w.elapsed();

    // Timed: stop with auto-apply until committed, then until pushed downstream.
    let w = Stopwatch::start();
    instances::stop(&app, &admin, def.id, instance.id)
        .await
        .map_err(api)?;
    let applied = w.elapsed();
    let pushed_jobs = drain(&app).await?;
    let pushed = w.elapsed();

    let mut problems = Vec::new();
    let left = {
        let mut tx = app.store.read().await?;
        tx.relations_of_group(group.id, Relation::Member)
            .await?
            .len()
    };
    if recorded != count {
        problems.push(format!("{recorded} of {count} decisions recorded"));
    }
    if left != 0 {
        problems.push(format!("{left} of {count} members still in the group"));
    }
    let downstream = calls.load(Ordering::Relaxed) - pushed_before;
    if downstream < count {
        problems.push(format!(
            "the downstream received {downstream} calls for {count} removals"
        ));
    }
    let line = format!(
        "RESULT bench=review backend={} decisions={count} start_ms={:.0} batch_ms={:.0} apply_committed_ms={:.0} apply_pushed_ms={:.0}",
        app.store.backend(),
        start.as_secs_f64() * 1e3,
        batch.as_secs_f64() * 1e3,
        applied.as_secs_f64() * 1e3,
        pushed.as_secs_f64() * 1e3,
    );
    let details = vec![format!(
        "DETAIL bench=review downstream_calls={downstream} outbox_jobs_delivered={pushed_jobs} members_left={left}"
    )];
    app.store.close().await;
    db.remove();
    Ok(Outcome {
        line,
        details,
        problems,
    })
}
