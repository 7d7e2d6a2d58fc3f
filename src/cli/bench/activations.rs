//! `eligo bench activations`: self-activations without approval through the real use case
//! (`service::pim::submit`): the policy decision, the durable write of the schedule and the
//! request, and their audit entries, in one transaction each. Setup (users, their eligibilities
//! and sessions) is not timed; only the `submit` calls are, from `concurrency` tasks. With
//! `--servers N` (PostgreSQL) the tasks take turns over N servers on the one database, each
//! with its own connections, write queue, change feed and index, as N `eligo serve` would.

use std::collections::HashSet;

use chrono::TimeDelta;
use eligo_core::request::{ExpirationType, RequestStatus};
use eligo_core::schedule::{AssignmentType, ScheduleKind};
use eligo_store::ScheduleQuery;

use crate::clock::Stopwatch;
use crate::service::pim::scheduler;
use crate::service::pim::submit::submit;

use super::{
    BenchDb, Outcome, api, bench_admin, bench_role, chain_verifies, eligible_users, expiring, ms,
    percentile, self_activation,
};

pub async fn run(
    url: Option<String>,
    count: usize,
    concurrency: usize,
    with_scheduler: bool,
    group_commit_max: usize,
    servers: usize,
) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let apps = db
        .open_servers(servers, |config| config.group_commit_max = group_commit_max)
        .await?;
    let app = apps[0].clone();
    let admin = bench_admin(&app).await?;
    let role = bench_role();
    let callers = eligible_users(&app, &admin, role, count, concurrency.min(4)).await?;
    let ours: HashSet<uuid::Uuid> = callers.iter().map(|c| c.id).collect();

    // As in `eligo serve`, optionally: every submit wakes the scheduler, which then looks for
    // due work in a write transaction of its own.
    let background: Vec<_> = apps
        .iter()
        .filter(|_| with_scheduler)
        .map(|app| tokio::spawn(scheduler::run_forever(app.clone())))
        .collect();

    let mut shares: Vec<Vec<_>> = vec![Vec::new(); concurrency];
    for (i, caller) in callers.into_iter().enumerate() {
        shares[i % concurrency].push(caller);
    }
    let group_commits = || {
        apps.iter()
            .map(|app| app.store.group_commits())
            .fold((0, 0, 0, 0), |(c, m, a, s), g| {
                (
                    c + g.commits,
                    m + g.members,
                    a + g.answered_ahead,
                    s + g.sent_ahead,
                )
            })
    };
    let batched = group_commits();
    // PostgreSQL: how the writers' indexes reached the head under the lock.
    let caught_up = || {
        apps.iter()
            .filter_map(|app| app.store.feed_status())
            .fold((0, 0), |(a, w), s| {
                (a + s.applied_by_writers, w + s.writers_waited)
            })
    };
    let followed = caught_up();
    let cpu = super::thread_cpu::ThreadCpu::now();
    let total = Stopwatch::start();
    let mut tasks = Vec::new();
    for (t, share) in shares.into_iter().enumerate() {
        let app = apps[t % apps.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(share.len());
            for mut caller in share {
                // A session that has just passed MFA (the policy asks for fresh MFA).
                caller.session.last_mfa_at = Some(app.clock.now());
                let new = self_activation(
                    &caller,
                    role,
                    expiring(
                        ExpirationType::AfterDuration,
                        None,
                        Some(TimeDelta::hours(1)),
                    ),
                );
                let w = Stopwatch::start();
                let request = submit(&app, &caller, new).await.map_err(api)?;
                lat.push(w.elapsed());
                anyhow::ensure!(
                    request.status == RequestStatus::Provisioned,
                    "activation of {} ended as {:?}, not provisioned",
                    caller.id,
                    request.status
                );
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::with_capacity(count);
    for t in tasks {
        lat.extend(t.await??);
    }
    let elapsed = total.elapsed();
    let cpu = super::thread_cpu::ThreadCpu::now().per_op_since(&cpu, lat.len());
    let batched = {
        let after = group_commits();
        (
            after.0 - batched.0,
            after.1 - batched.1,
            after.2 - batched.2,
            after.3 - batched.3,
        )
    };
    let followed = {
        let after = caught_up();
        (after.0 - followed.0, after.1 - followed.1)
    };
    for b in background {
        b.abort();
    }
    lat.sort();

    let mut problems = Vec::new();
    // Every activation is in the store: one running activation per bench user, made by a request.
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let active = tx
        .list_role_schedules(&ScheduleQuery {
            kind: Some(ScheduleKind::Active),
            role_definition_id: Some(role),
            ..Default::default()
        })
        .await?;
    drop(tx);
    let activated: HashSet<uuid::Uuid> = active
        .iter()
        .filter(|s| {
            ours.contains(&s.principal_id)
                && s.assignment_type == AssignmentType::Activated
                && s.created_using.is_some()
                && s.linked_eligibility_id.is_some()
                && s.is_current(now)
        })
        .map(|s| s.principal_id)
        .collect();
    if activated.len() != count {
        problems.push(format!(
            "{} of {count} activations found in the store",
            activated.len()
        ));
    }
    let verify = Stopwatch::start();
    let verdict = chain_verifies(&app).await?;
    let verify = verify.elapsed();
    if !verdict.valid {
        problems.push(format!("the audit chain does not verify: {verdict:?}"));
    }

    let line = format!(
        "RESULT bench=activations backend={} servers={} count={} concurrency={} per_sec={:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        app.store.backend(),
        apps.len(),
        lat.len(),
        concurrency,
        lat.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        ms(lat.last().copied().unwrap_or_default()),
    );
    let mut details = vec![format!(
        "DETAIL bench=activations with_scheduler={with_scheduler} activations_found={} audit_entries={} chain_valid={} verify_ms={:.0} p90_ms={:.2} p999_ms={:.2} group_commit_max={group_commit_max} commits={} writes_per_commit={:.1} read_ahead_by_previous={} sent_ahead={}",
        activated.len(),
        verdict.entries,
        verdict.valid,
        ms(verify),
        ms(percentile(&lat, 0.90)),
        ms(percentile(&lat, 0.999)),
        batched.0,
        batched.1 as f64 / batched.0.max(1) as f64,
        batched.2,
        batched.3,
    )];
    if app.store.feed_status().is_some() {
        details.push(format!(
            "DETAIL bench=activations log_entries_applied_by_writers={} writers_waited_for_follower={}",
            followed.0, followed.1
        ));
    }
    // Of the timed part, the in-process clients' threads included.
    details.extend(cpu.map(|cpu| format!("DETAIL bench=activations {cpu}")));
    for app in &apps {
        app.store.close().await;
    }
    db.remove();
    Ok(Outcome {
        line,
        details,
        problems,
    })
}
