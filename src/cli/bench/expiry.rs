//! `eligo bench expiry`: `count` real self-activations that all end at the same instant T, a few
//! seconds ahead on the real clock; then the real background loop (`scheduler::run_forever`)
//! runs as `eligo serve` runs it, and two pollers watch from just before T:
//!
//! - instances: what holds now, read through the service (`views::holdings`, the read behind
//!   `roleAssignmentScheduleInstances`), every ~5 ms; per activation, the completion time of the
//!   first read that no longer lists it, minus T. Reads filter by time, so this measures the read
//!   and the polling, not the scheduler.
//! - audit: the store's audit log (committed entries only, read in a read transaction) every
//!   ~5 ms; per activation, the time of the poll that first saw its "Remove member from role
//!   (PIM activation expired)" entry, minus T.
//!
//! Activations last at least `min_duration` (5 minutes by default). The benchmark configures its
//! own app with the floor, 1 second (`ELIGO_MIN_DURATION=PT1S`), so that T can be seconds away;
//! the scheduler's work does not depend on it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::request::{ExpirationType, RequestStatus};
use eligo_core::schedule::ScheduleKind;
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::auth::Caller;
use crate::clock::Stopwatch;
use crate::service::pim::scheduler;
use crate::service::pim::submit::submit;
use crate::service::pim::views::{self, HoldingQuery};

use super::{
    BenchDb, Outcome, api, bench_admin, bench_role, chain_verifies, eligible_users, expiring,
    percentile_ms, self_activation,
};

const EXPIRED: &str = "Remove member from role (PIM activation expired)";
/// How often each poller looks.
const POLL: Duration = Duration::from_millis(5);
/// Polling starts this long before T (to see every activation still held before its end).
const LOOK_BEFORE: TimeDelta = TimeDelta::milliseconds(100);
/// Everything must be processed within this long after T.
const GIVE_UP: TimeDelta = TimeDelta::seconds(30);

fn signed_ms(d: TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

pub async fn run(url: Option<String>, count: usize) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let app = db.open(|c| c.min_duration = TimeDelta::seconds(1)).await?;
    let admin = bench_admin(&app).await?;
    let role = bench_role();

    // Untimed setup. Its pace (two writes per user) sizes the lead time to T, so that all
    // activations are in place well before they end.
    let setup = Stopwatch::start();
    let callers = eligible_users(&app, &admin, role, count, 1).await?;
    let per_write = setup.elapsed() / (2 * count) as u32;
    let lead = Duration::from_secs(2) + per_write * (3 * count) as u32;
    let t_end = app.clock.now() + TimeDelta::from_std(lead)?;

    let mut ids = HashSet::with_capacity(count);
    for mut caller in callers {
        caller.session.last_mfa_at = Some(app.clock.now());
        let new = self_activation(
            &caller,
            role,
            expiring(ExpirationType::AfterDateTime, Some(t_end), None),
        );
        let request = submit(&app, &caller, new).await.map_err(api)?;
        anyhow::ensure!(
            request.status == RequestStatus::Provisioned,
            "activation of {} ended as {:?}, not provisioned",
            caller.id,
            request.status
        );
        let granted_end = request
            .granted_schedule
            .as_ref()
            .and_then(|g| g.expiration.end_date_time);
        anyhow::ensure!(
            granted_end == Some(t_end),
            "activation granted until {granted_end:?}, not {t_end}"
        );
        ids.insert(
            request
                .target_schedule_id
                .context("a granted activation names its schedule")?,
        );
    }
    let margin = t_end - app.clock.now();
    anyhow::ensure!(
        margin > LOOK_BEFORE * 2,
        "setup overran: the activations were in place only {} ms before their end",
        margin.num_milliseconds()
    );
    let head = {
        let mut tx = app.store.read().await?;
        tx.audit_head().await?.0
    };

    let background = tokio::spawn(scheduler::run_forever(app.clone()));
    let ids = Arc::new(ids);
    let instances = tokio::spawn(poll_instances(
        app.clone(),
        admin.clone(),
        role,
        ids.clone(),
        t_end,
    ));
    let audit = tokio::spawn(poll_audit(app.clone(), ids.clone(), head, t_end));
    let instances = instances.await??;
    let audit = audit.await??;

    // Exactly once: give the scheduler a moment more, then count every expiry entry since setup.
    tokio::time::sleep(Duration::from_millis(200)).await;
    background.abort();
    let mut problems = Vec::new();
    problems.extend(instances.problems.iter().cloned());
    let expiries = expiry_entries(&app, head, &ids).await?;
    let twice = expiries.values().filter(|n| **n > 1).count();
    if twice > 0 {
        problems.push(format!(
            "{twice} activations have more than one expiry entry"
        ));
    }
    if audit.seen_ms.len() < count {
        problems.push(format!(
            "only {} of {count} expiry entries were committed within {} s of the end",
            audit.seen_ms.len(),
            GIVE_UP.num_seconds()
        ));
    }
    if instances.gone_ms.len() < count {
        problems.push(format!(
            "only {} of {count} activations were gone from reads within {} s of the end",
            instances.gone_ms.len(),
            GIVE_UP.num_seconds()
        ));
    }
    let pending = still_pending(&app, &ids).await?;
    if pending > 0 {
        problems.push(format!("{pending} activations still await their end"));
    }
    let verdict = chain_verifies(&app).await?;
    if !verdict.valid {
        problems.push(format!("the audit chain does not verify: {verdict:?}"));
    }

    let mut gone = instances.gone_ms.clone();
    gone.sort_by(f64::total_cmp);
    let mut seen = audit.seen_ms.clone();
    seen.sort_by(f64::total_cmp);
    let mut passes = audit.activity_ms.clone();
    passes.sort_by(f64::total_cmp);
    let line = format!(
        "RESULT bench=expiry backend={} count={} instances_p50_ms={:.1} instances_p99_ms={:.1} audit_p50_ms={:.1} audit_p99_ms={:.1} audit_max_ms={:.1}",
        app.store.backend(),
        count,
        percentile_ms(&gone, 0.50),
        percentile_ms(&gone, 0.99),
        percentile_ms(&seen, 0.50),
        percentile_ms(&seen, 0.99),
        seen.last().copied().unwrap_or(f64::NAN),
    );
    let details = vec![format!(
        "DETAIL bench=expiry lead_ms={} setup_margin_ms={} instance_polls_before_end={} instances_max_ms={:.1} instances_read_started_ms={:.1} audit_min_ms={:.1} audit_polls={} entry_time_min_ms={:.1} entry_time_max_ms={:.1} max_lag_detail_ms={} chain_valid={} audit_entries={}",
        lead.as_millis(),
        margin.num_milliseconds(),
        instances.polls_before_end,
        gone.last().copied().unwrap_or(f64::NAN),
        instances.read_started_ms,
        seen.first().copied().unwrap_or(f64::NAN),
        audit.polls,
        passes.first().copied().unwrap_or(f64::NAN),
        passes.last().copied().unwrap_or(f64::NAN),
        audit.max_lag_detail_ms,
        verdict.valid,
        verdict.entries,
    )];
    app.store.close().await;
    db.remove();
    Ok(Outcome {
        line,
        details,
        problems,
    })
}

/// Sleeps until the next poll, never past `t_end` (so the first poll after T starts at T).
async fn nap(app: &App, t_end: DateTime<Utc>) {
    let to_end = (t_end - app.clock.now()).to_std().unwrap_or(Duration::ZERO);
    let nap = if to_end.is_zero() {
        POLL
    } else {
        POLL.min(to_end)
    };
    tokio::time::sleep(nap).await;
}

async fn until(app: &App, at: DateTime<Utc>) {
    if let Ok(wait) = (at - app.clock.now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}

struct InstancePolls {
    /// Per activation: when the first read that no longer listed it completed, minus T.
    gone_ms: Vec<f64>,
    /// The latest start, minus T, of a read that first missed an activation.
    read_started_ms: f64,
    polls_before_end: usize,
    problems: Vec<String>,
}

async fn poll_instances(
    app: AppState,
    admin: Caller,
    role: Uuid,
    ids: Arc<HashSet<Uuid>>,
    t_end: DateTime<Utc>,
) -> anyhow::Result<InstancePolls> {
    until(&app, t_end - LOOK_BEFORE).await;
    let mut gone: HashMap<Uuid, f64> = HashMap::new();
    let mut polls_before_end = 0;
    let mut read_started_ms = f64::MIN;
    let mut problems = Vec::new();
    loop {
        let started = app.clock.now();
        let held = views::holdings(
            &app,
            &admin,
            ScheduleKind::Active,
            HoldingQuery {
                targets: eligo_store::Targets::Roles,
                role_definition_id: Some(role),
                current_only: true,
                ..Default::default()
            },
        )
        .await
        .map_err(api)?;
        let done = app.clock.now();
        let present: HashSet<Uuid> = held.iter().map(|h| h.schedule.id).collect();
        if done < t_end {
            polls_before_end += 1;
        }
        // Ended access never shows: a read that began at or after T lists none of them.
        if started >= t_end && ids.iter().any(|id| present.contains(id)) {
            problems.push(format!(
                "a read at {} ms after the end still listed an ended activation",
                signed_ms(started - t_end)
            ));
        }
        for id in ids.iter() {
            if !present.contains(id) && !gone.contains_key(id) {
                if done < t_end {
                    problems.push(format!("activation {id} was not held before its end"));
                }
                gone.insert(*id, signed_ms(done - t_end));
                read_started_ms = read_started_ms.max(signed_ms(started - t_end));
            }
        }
        if gone.len() == ids.len() || done > t_end + GIVE_UP {
            break;
        }
        nap(&app, t_end).await;
    }
    problems.truncate(5);
    Ok(InstancePolls {
        gone_ms: gone.into_values().collect(),
        read_started_ms,
        polls_before_end,
        problems,
    })
}

struct AuditPolls {
    /// Per activation: when a poll first saw its expiry entry, minus T.
    seen_ms: Vec<f64>,
    /// Per activation: the entry's own time (the scheduler pass's `now`), minus T.
    activity_ms: Vec<f64>,
    max_lag_detail_ms: i64,
    polls: usize,
}

/// The schedule an expiry entry is about.
fn schedule_of(entry: &eligo_core::audit::AuditEntry) -> Option<Uuid> {
    entry
        .target_resources
        .iter()
        .find(|t| t.kind == "Schedule")
        .and_then(|t| Uuid::parse_str(&t.id).ok())
}

async fn poll_audit(
    app: AppState,
    ids: Arc<HashSet<Uuid>>,
    mut after: i64,
    t_end: DateTime<Utc>,
) -> anyhow::Result<AuditPolls> {
    until(&app, t_end - LOOK_BEFORE).await;
    let mut seen: HashMap<Uuid, f64> = HashMap::new();
    let mut activity_ms = Vec::new();
    let mut max_lag_detail_ms = 0;
    let mut polls = 0;
    loop {
        let mut fresh = Vec::new();
        let mut tx = app.store.read().await?;
        loop {
            let batch = tx.audit_after(after, 5_000).await?;
            let Some(last) = batch.last() else { break };
            after = last.sequence;
            fresh.extend(batch);
        }
        drop(tx);
        let at = app.clock.now();
        polls += 1;
        for entry in fresh {
            if entry.activity_display_name != EXPIRED {
                continue;
            }
            let Some(id) = schedule_of(&entry).filter(|id| ids.contains(id)) else {
                continue;
            };
            if seen.insert(id, signed_ms(at - t_end)).is_none() {
                activity_ms.push(signed_ms(entry.activity_date_time - t_end));
                if let Some(lag) = entry
                    .additional_details
                    .iter()
                    .find(|kv| kv.key == "lagMilliseconds")
                    .and_then(|kv| kv.value.parse::<i64>().ok())
                {
                    max_lag_detail_ms = max_lag_detail_ms.max(lag);
                }
            }
        }
        if seen.len() == ids.len() || at > t_end + GIVE_UP {
            break;
        }
        nap(&app, t_end).await;
    }
    Ok(AuditPolls {
        seen_ms: seen.into_values().collect(),
        activity_ms,
        max_lag_detail_ms,
        polls,
    })
}

/// How many expiry entries each of our activations has, after `head`.
async fn expiry_entries(
    app: &App,
    mut after: i64,
    ids: &HashSet<Uuid>,
) -> anyhow::Result<HashMap<Uuid, usize>> {
    let mut counts = HashMap::new();
    let mut tx = app.store.read().await?;
    loop {
        let batch = tx.audit_after(after, 5_000).await?;
        let Some(last) = batch.last() else { break };
        after = last.sequence;
        for entry in &batch {
            if entry.activity_display_name == EXPIRED
                && let Some(id) = schedule_of(entry).filter(|id| ids.contains(id))
            {
                *counts.entry(id).or_insert(0) += 1;
            }
        }
    }
    Ok(counts)
}

/// Activations whose end the scheduler has not processed.
async fn still_pending(app: &App, ids: &HashSet<Uuid>) -> anyhow::Result<usize> {
    let mut tx = app.store.read().await?;
    let mut pending = 0;
    for id in ids {
        if tx
            .get_role_schedule(*id)
            .await?
            .is_none_or(|s| s.end_pending)
        {
            pending += 1;
        }
    }
    Ok(pending)
}
