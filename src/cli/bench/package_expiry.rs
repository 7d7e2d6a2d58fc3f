//! `eligo bench package-expiry`: `count` access package assignments (real `userAdd` requests,
//! each asking to end at the same instant T, a few seconds ahead on the real clock) end
//! together; the real background loop (`scheduler::run_forever`) runs as `eligo serve` runs
//! it, and a poller reads the group's members from the store every ~5 ms from just before T.
//! Per assignment, lateness is the completion time of the first read that no longer lists its
//! membership, minus T. The app runs with `min_duration` at 1 second so that T can be seconds
//! away; the scheduler's work does not depend on it.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::directory::Relation;
use eligo_core::entitlement::request::RequestState;
use serde_json::json;
use uuid::Uuid;

use crate::clock::Stopwatch;
use crate::service::entitlement::assignments::submit;
use crate::service::pim::scheduler;

use super::packages::{ask, catalog, package, users};
use super::{BenchDb, Outcome, api, bench_admin, percentile_ms};

const POLL: Duration = Duration::from_millis(5);
const LOOK_BEFORE: TimeDelta = TimeDelta::milliseconds(100);
const GIVE_UP: TimeDelta = TimeDelta::seconds(120);
/// Requests timed before the run, to size its lead time.
const CALIBRATION: usize = 50;

fn signed_ms(d: TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

pub async fn run(url: Option<String>, count: usize) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let app = db.open(|c| c.min_duration = TimeDelta::seconds(1)).await?;
    let admin = bench_admin(&app).await?;
    let catalog = catalog(&app, &admin).await?;
    let p = package(
        &app,
        &admin,
        catalog,
        "Expiring package",
        json!({ "requestorSettings": { "enableTargetsToSelfAddAccess": true,
                                       "allowCustomAssignmentSchedule": true } }),
    )
    .await?;
    // Untimed setup; the pace of a few requests first (on a package of their own) sizes the
    // lead time to T, so that every assignment is in place before it.
    let mut callers = users(&app, &admin, count + CALIBRATION).await?;
    let warmup = package(&app, &admin, catalog, "Calibration", json!({})).await?;
    let setup = Stopwatch::start();
    for c in callers.drain(..CALIBRATION) {
        submit(&app, &c, ask(&warmup, None)).await.map_err(api)?;
    }
    let per_request = setup.elapsed() / CALIBRATION as u32;
    let lead = Duration::from_secs(3) + per_request * (2 * count) as u32;
    let t_end = app.clock.now() + TimeDelta::from_std(lead)?;
    let schedule = json!({ "expiration": { "type": "afterDateTime", "endDateTime": t_end } });
    for c in &callers {
        let r = submit(&app, c, ask(&p, Some(schedule.clone())))
            .await
            .map_err(api)?;
        anyhow::ensure!(
            r.state == RequestState::Delivered,
            "request of {} ended {:?}",
            c.id,
            r.state
        );
    }
    let margin = t_end - app.clock.now();
    anyhow::ensure!(
        margin > LOOK_BEFORE * 2,
        "setup overran: the assignments were in place only {} ms before their end",
        margin.num_milliseconds()
    );
    let ours: HashSet<Uuid> = callers.iter().map(|c| c.id).collect();

    let background = tokio::spawn(scheduler::run_forever(app.clone()));
    // Wait (without polling) until just before T.
    let wait = (t_end - LOOK_BEFORE - app.clock.now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;
    let mut gone: HashMap<Uuid, DateTime<Utc>> = HashMap::with_capacity(count);
    let mut held_before_end = 0usize;
    let mut first = true;
    loop {
        let members: HashSet<Uuid> = {
            let mut tx = app.store.read().await?;
            tx.relations_of_group(p.group, Relation::Member)
                .await?
                .into_iter()
                .collect()
        };
        let at = app.clock.now();
        if first {
            held_before_end = ours.iter().filter(|u| members.contains(u)).count();
            first = false;
        }
        for u in &ours {
            if !members.contains(u) {
                gone.entry(*u).or_insert(at);
            }
        }
        if gone.len() == count || at > t_end + GIVE_UP {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    background.abort();

    let mut problems = Vec::new();
    if held_before_end != count {
        problems.push(format!(
            "{held_before_end} of {count} memberships held just before the end"
        ));
    }
    if gone.len() != count {
        problems.push(format!(
            "{} of {count} memberships gone within {} s",
            gone.len(),
            GIVE_UP.num_seconds()
        ));
    }
    let expired = {
        let mut tx = app.store.read().await?;
        tx.list_assignments(&eligo_store::AssignmentQuery {
            package: Some(p.id),
            ..Default::default()
        })
        .await?
        .iter()
        .filter(|a| a.state == eligo_core::entitlement::assignment::AssignmentState::Expired)
        .count()
    };
    if expired != count {
        problems.push(format!("{expired} of {count} assignments are expired"));
    }
    let mut late: Vec<f64> = gone.values().map(|t| signed_ms(*t - t_end)).collect();
    late.sort_by(f64::total_cmp);
    let line = format!(
        "RESULT bench=package-expiry backend={} count={count} gone={} p50_late_ms={:.0} p99_late_ms={:.0} max_late_ms={:.0}",
        app.store.backend(),
        gone.len(),
        percentile_ms(&late, 0.50),
        percentile_ms(&late, 0.99),
        late.last().copied().unwrap_or_default(),
    );
    let details = vec![format!(
        "DETAIL bench=package-expiry expired_assignments={expired} held_before_end={held_before_end} lead_s={:.1}",
        lead.as_secs_f64()
    )];
    app.store.close().await;
    db.remove();
    Ok(Outcome {
        line,
        details,
        problems,
    })
}
