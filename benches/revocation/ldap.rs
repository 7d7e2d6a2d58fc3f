//! Revocation latency against a real slapd: N users hold an activated membership of a group
//! mapped to an LDAP groupOfNames, all ending at the same instant E; how long after E is each
//! one gone downstream?
//!
//! Two honest sources, measured independently:
//! - (a) Eligo's own record: the audit entry "Remove member from group in downstream system
//!   (provisioning)", whose activityDateTime is read right after the LDAP modify returned;
//! - (b) slapd itself, read every ~20 ms over a connection of the benchmark's own: when each
//!   member was first seen gone, and when the group held no user any more.
//!
//! Also reported, to see where the time goes: when the scheduler's pass began (the "expired"
//! audit entries carry the pass's start), when each expiry was committed (the provisioning job
//! the commit wrote carries the planner's clock read just before COMMIT), and when each outcome
//! was recorded (the job's delivered time).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, TimeDelta, Utc};
use eligo::provisioning::deliver::REMOVED;
use eligo::service::pim::activity_for;
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_core::target::{GroupAccess, group_scope};
use eligo_store::{AuditQuery, JobStatus, Page};
use ldap3::{LdapConnAsync, Scope, SearchEntry};
use serde_json::json;
use uuid::Uuid;

use crate::common::{
    BOOTSTRAP, Backend, Eligo, id_of, ms_between, now, percentile, sleep_until, sorted, wait_for,
};

/// The goal: every removal confirmed downstream within a second (p99).
pub const GOAL_P99_MS: f64 = 1000.0;
/// The scheduler's expiry entry for a role; for a group the service names it with "group".
const EXPIRED_ROLE: &str = "Remove member from role (PIM activation expired)";
const POLL_EVERY: Duration = Duration::from_millis(20);

pub struct Options {
    pub count: usize,
    /// How far ahead of the grant E lies (the push of all N must finish before it).
    pub lead: Option<Duration>,
}

fn uid(i: usize) -> String {
    format!("u{i}")
}

/// The user DNs among a group's member values (the placeholder is the admin DN).
fn user_members(values: &[String]) -> HashSet<String> {
    values
        .iter()
        .filter(|v| v.to_ascii_lowercase().starts_with("uid="))
        .cloned()
        .collect()
}

/// Runs one revocation measurement; returns the RESULT and DETAIL lines, or None when slapd
/// is not installed (after the testkit's loud message).
pub async fn run(options: &Options, backend: Backend) -> anyhow::Result<Option<Vec<String>>> {
    let n = options.count;
    let Some(slapd) = eligo_testkit::slapd::slapd().await else {
        eprintln!(
            "\n!!! revocation benchmark SKIPPED: no slapd (apt-get install -y slapd ldap-utils)\n"
        );
        return Ok(None);
    };
    let setup_started = now();

    // 1. The downstream directory: N people and an empty groupOfNames (placeholder member).
    let uids: Vec<String> = (0..n).map(uid).collect();
    // ldapadd prints a line per entry, and the testkit reads its output only after writing the
    // whole LDIF: chunks of 500 stay well under a pipe's buffer.
    for chunk in uids.chunks(500) {
        let users: Vec<(String, String)> = chunk
            .iter()
            .map(|u| (u.clone(), format!("{u}@example.org")))
            .collect();
        let refs: Vec<(&str, &str)> = users
            .iter()
            .map(|(u, m)| (u.as_str(), m.as_str()))
            .collect();
        slapd.add_users(&refs).await;
    }
    let group_dn = slapd.add_group_of_names("ops", &[]).await;

    // 2. Eligo, with the real clock, its scheduler and its outbox worker.
    let eligo = Eligo::open(backend, None).await?;
    let backend_name = eligo.backend();

    // 3. Users whose UPN prefix is the LDAP uid, a group, the connector, the mapping.
    let mut users = Vec::with_capacity(n);
    for u in &uids {
        let body = eligo
            .post(
                "/v1/users",
                BOOTSTRAP,
                &json!({ "userPrincipalName": format!("{u}@contoso.example"), "displayName": u }),
            )
            .await?;
        users.push(id_of(&body)?);
    }
    let group = id_of(
        &eligo
            .post(
                "/v1/groups",
                BOOTSTRAP,
                &json!({ "displayName": "ops", "securityEnabled": true, "isAssignableToRole": false }),
            )
            .await?,
    )?;
    let connector = id_of(
        &eligo
            .post(
                "/v1/connectors",
                BOOTSTRAP,
                &json!({ "type": "ldap", "displayName": "slapd", "settings": {
                    "url": slapd.url(), "bindDn": slapd.admin_dn(),
                    "bindPassword": slapd.admin_password(), "userBaseDn": slapd.people_dn(),
                    "timeoutSeconds": 10 } }),
            )
            .await?,
    )?;
    let mapping = id_of(
        &eligo
            .post(
                &format!("/v1/groups/{group}/provisioning"),
                BOOTSTRAP,
                &json!({ "connectorId": connector, "target": group_dn }),
            )
            .await?,
    )?;
    let setup_ms = ms_between(setup_started, now());

    // 4. N activated memberships ending at the same instant E, written in one transaction
    //    with their audit entries (as the activation use case would write each); the outbox
    //    pushes them to slapd.
    let lead = options
        .lead
        .unwrap_or(Duration::from_millis(10_000 + 15 * n as u64));
    let granted = now();
    let end = granted + TimeDelta::from_std(lead)?;
    {
        let (role_id, scope) = (GroupAccess::Member.role_id(), group_scope(group));
        let mut tx = eligo.app.store.write().await?;
        for (i, user) in users.iter().enumerate() {
            let schedule = RoleSchedule::new(
                Uuid::new_v4(),
                ScheduleKind::Active,
                *user,
                role_id,
                scope.clone(),
                (granted, Some(end)),
                AssignmentType::Activated,
                Some(*user),
                granted,
            );
            tx.insert_role_schedule(&schedule).await?;
            tx.append_audit(
                AuditEvent::new(
                    granted,
                    Category::GroupManagement,
                    &activity_for(true, "Add member to role completed (PIM activation)").1,
                    Initiator::system(),
                )
                .target(group, "Group", Some("ops"))
                .target(*user, "User", Some(&uids[i]))
                .detail("source", "benches/revocation.rs seed"),
            )
            .await?;
        }
        tx.commit().await?;
    }
    // As the use cases do after a commit that creates due work.
    eligo.app.scheduler.due_at(Some(end));
    let committed = now();

    let pushed_at = wait_for(
        "slapd's group to hold every member before E",
        (end - now() - TimeDelta::milliseconds(500))
            .to_std()
            .unwrap_or(Duration::ZERO),
        Duration::from_millis(100),
        || async {
            let members = user_members(&slapd.group_members(&group_dn).await);
            Ok((members.len() == n).then(now))
        },
    )
    .await
    .with_context(|| {
        format!("the push did not finish before E ({lead:?} after the grant); raise --lead-seconds")
    })?;
    let push_ms = ms_between(committed, pushed_at);

    // The outcomes are recorded after the worker's whole batch: wait for them too.
    wait_for(
        "the pushes to be recorded",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || async {
            let mut tx = eligo.app.store.read().await?;
            Ok((tx.list_provisioned(mapping).await?.len() == n).then_some(()))
        },
    )
    .await?;

    // A diagnostic, before E: what each provisioning job reads first (the user, every row
    // pushed for the mapping, the group), timed on its own, now that N rows are pushed.
    let mut job_read_ms = Vec::new();
    for i in 0..20 {
        let started = now();
        let mut tx = eligo.app.store.read().await?;
        tx.get_user(users[i % n]).await?;
        let rows = tx.list_provisioned(mapping).await?;
        tx.get_group(group).await?;
        drop(tx);
        job_read_ms.push(ms_between(started, now()));
        ensure!(
            rows.len() == n,
            "{} rows pushed for {n} members",
            rows.len()
        );
    }
    let job_read_ms = sorted(job_read_ms);

    // 5. From just before E, watch slapd; the scheduler expires all N at E.
    sleep_until(end - TimeDelta::milliseconds(300)).await;
    let watcher = tokio::spawn(watch(
        slapd.url(),
        slapd.admin_dn().to_string(),
        slapd.admin_password().to_string(),
        group_dn.clone(),
        n,
        end,
    ));
    let watched = watcher.await??;

    // (a) Eligo's record of each removal, once all N are committed.
    let removals = wait_for(
        "all removal audit entries",
        Duration::from_secs(60),
        Duration::from_millis(50),
        || async {
            let mut tx = eligo.app.store.read().await?;
            let entries = tx
                .list_audit(
                    &AuditQuery {
                        activity: Some(REMOVED.into()),
                        ..Default::default()
                    },
                    Page::ALL,
                )
                .await?;
            Ok((entries.len() >= n).then_some(entries))
        },
    )
    .await?;
    let index: HashMap<String, usize> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.to_string(), i))
        .collect();
    let mut removed_at: Vec<Option<DateTime<Utc>>> = vec![None; n];
    for entry in &removals {
        let user = entry
            .target_resources
            .iter()
            .find(|t| t.kind == "User")
            .and_then(|t| index.get(&t.id))
            .with_context(|| format!("a removal entry names no known user: {entry:?}"))?;
        ensure!(
            removed_at[*user].is_none(),
            "{} was removed twice",
            uids[*user]
        );
        ensure!(
            entry.activity_date_time >= end,
            "{} was removed before E",
            uids[*user]
        );
        removed_at[*user] = Some(entry.activity_date_time);
    }
    let removed_at: Vec<DateTime<Utc>> = removed_at
        .into_iter()
        .enumerate()
        .map(|(i, t)| t.with_context(|| format!("{} has no removal entry", uids[i])))
        .collect::<anyhow::Result<_>>()?;
    let lat_a = sorted(removed_at.iter().map(|t| ms_between(end, *t)).collect());

    // The scheduler's side: when its pass began, when each expiry was committed.
    // Removals no longer wait for the scheduler (each was queued for the end time), so its
    // expiries may still be committing: wait for all of them.
    let expired = wait_for(
        "all expiry audit entries",
        Duration::from_secs(60),
        Duration::from_millis(50),
        || async {
            let mut tx = eligo.app.store.read().await?;
            let entries = tx
                .list_audit(
                    &AuditQuery {
                        activity: Some(activity_for(true, EXPIRED_ROLE).1),
                        ..Default::default()
                    },
                    Page::ALL,
                )
                .await?;
            Ok((entries.len() >= n).then_some(entries))
        },
    )
    .await?;
    let (pass_started, committed_lat, recorded_lat, failed) = {
        let mut tx = eligo.app.store.read().await?;
        ensure!(
            expired.len() == n,
            "{} expiry entries for {n} memberships",
            expired.len()
        );
        let pass_started = expired
            .iter()
            .map(|e| e.activity_date_time)
            .min()
            .context("no expiry")?;
        let jobs = tx.list_jobs(Some(JobStatus::Delivered), Page::ALL).await?;
        let mut committed_lat = Vec::new();
        let mut recorded_lat = Vec::new();
        for job in jobs
            .iter()
            .filter(|j| j.kind == "provision.member" && j.created_at >= end)
        {
            committed_lat.push(ms_between(end, job.created_at));
            if let Some(at) = job.delivered_at {
                recorded_lat.push(ms_between(end, at));
            }
        }
        let failed = tx
            .count_jobs()
            .await?
            .into_iter()
            .filter(|(s, _)| *s == JobStatus::Failed)
            .map(|(_, c)| c)
            .sum::<i64>();
        (
            pass_started,
            sorted(committed_lat),
            sorted(recorded_lat),
            failed,
        )
    };

    // (b) slapd's side.
    let mut lat_b = Vec::with_capacity(n);
    for u in &uids {
        let dn = format!("uid={u},{}", slapd.people_dn());
        let at = watched
            .gone_at
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(&dn))
            .map(|(_, t)| *t)
            .with_context(|| format!("{dn} was never seen leaving the group"))?;
        lat_b.push(ms_between(end, at));
    }
    let lat_b = sorted(lat_b);
    let empty_after_ms = ms_between(end, watched.empty_at);

    // The end state: nothing of the N is left downstream, nothing failed.
    let left = user_members(&slapd.group_members(&group_dn).await);
    ensure!(
        left.is_empty(),
        "slapd's group still holds {} member(s) after the run: {:?}",
        left.len(),
        left.iter().take(5).collect::<Vec<_>>()
    );
    ensure!(failed == 0, "{failed} outbox job(s) failed");
    let first = removed_at.iter().min().copied().unwrap_or(end);
    let last = removed_at.iter().max().copied().unwrap_or(end);
    let p99 = percentile(&lat_a, 0.99);
    let span_s = (ms_between(first, last) / 1000.0).max(1e-3);

    eligo.close().await;
    drop(slapd);

    let pct = |v: &[f64], p| percentile(v, p);
    let mut out = vec![format!(
        "RESULT revocation_ldap backend={backend_name} count={n} p50_ms={:.1} p90_ms={:.1} p99_ms={:.1} max_ms={:.1} empty_after_ms={:.1} goal_p99_ms={GOAL_P99_MS:.0} met={}",
        pct(&lat_a, 0.50),
        pct(&lat_a, 0.90),
        p99,
        pct(&lat_a, 1.0),
        empty_after_ms,
        p99 < GOAL_P99_MS,
    )];
    out.push(format!(
        "DETAIL revocation_ldap backend={backend_name} count={n} scheduler_pass_started_ms={:.1} expiry_committed_p50_ms={:.1} expiry_committed_p99_ms={:.1} expiry_committed_max_ms={:.1} outcome_recorded_p99_ms={:.1} outcome_recorded_max_ms={:.1} removals_per_sec={:.0} removals_per_sec_from_e={:.0}",
        ms_between(end, pass_started),
        pct(&committed_lat, 0.50),
        pct(&committed_lat, 0.99),
        pct(&committed_lat, 1.0),
        pct(&recorded_lat, 0.99),
        pct(&recorded_lat, 1.0),
        n as f64 / span_s,
        n as f64 / (ms_between(end, last) / 1000.0).max(1e-3),
    ));
    out.push(format!(
        "DETAIL revocation_ldap_downstream backend={backend_name} count={n} seen_gone_p50_ms={:.1} seen_gone_p90_ms={:.1} seen_gone_p99_ms={:.1} seen_gone_max_ms={:.1} polls={} poll_p50_ms={:.1} poll_max_ms={:.1}",
        pct(&lat_b, 0.50),
        pct(&lat_b, 0.90),
        pct(&lat_b, 0.99),
        pct(&lat_b, 1.0),
        watched.polls,
        pct(&watched.poll_ms, 0.50),
        pct(&watched.poll_ms, 1.0),
    ));
    out.push(format!(
        "DETAIL revocation_ldap_setup backend={backend_name} count={n} setup_ms={setup_ms:.0} push_ms={push_ms:.0} pushes_per_sec={:.0} lead_ms={} job_read_p50_ms={:.2}",
        n as f64 / (push_ms / 1000.0).max(1e-3),
        lead.as_millis(),
        percentile(&job_read_ms, 0.5),
    ));
    Ok(Some(out))
}

/// What the watcher saw in slapd.
struct Watched {
    /// Each member DN and the end of the first read that no longer listed it.
    gone_at: BTreeMap<String, DateTime<Utc>>,
    /// The end of the first read that listed no user.
    empty_at: DateTime<Utc>,
    polls: usize,
    /// How long each read took.
    poll_ms: Vec<f64>,
}

/// Reads the group every ~20 ms on a connection of its own from just before `end` until no
/// user is left. Fails if a member is missing before `end`, or if the group is not empty
/// within 60 s of it.
async fn watch(
    url: String,
    bind_dn: String,
    password: String,
    group_dn: String,
    n: usize,
    end: DateTime<Utc>,
) -> anyhow::Result<Watched> {
    let (conn, mut ldap) = LdapConnAsync::new(&url).await?;
    tokio::spawn(async move {
        let _ = conn.drive().await;
    });
    ldap.simple_bind(&bind_dn, &password).await?.success()?;
    let mut previous: Option<HashSet<String>> = None;
    let mut gone_at = BTreeMap::new();
    let mut poll_ms = Vec::new();
    let mut ticks = tokio::time::interval(POLL_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let sent = now();
        let (entries, _) = ldap
            .search(&group_dn, Scope::Base, "(objectClass=*)", vec!["member"])
            .await?
            .success()?;
        let seen = now();
        poll_ms.push(ms_between(sent, seen));
        let entry = SearchEntry::construct(entries.into_iter().next().context("no group entry")?);
        let members = user_members(entry.attrs.get("member").map_or(&[][..], |v| v.as_slice()));
        // A read that began before E must still list everyone.
        if seen < end && members.len() != n {
            bail!(
                "slapd listed {} of {n} members {:.1} ms before E",
                members.len(),
                ms_between(seen, end)
            );
        }
        if let Some(before) = &previous {
            for dn in before.difference(&members) {
                gone_at.entry(dn.clone()).or_insert(seen);
            }
        }
        if sent >= end && members.is_empty() {
            return Ok(Watched {
                gone_at,
                empty_at: seen,
                polls: poll_ms.len(),
                poll_ms: sorted(poll_ms),
            });
        }
        if seen > end + TimeDelta::seconds(60) {
            bail!("slapd still lists {} member(s) 60 s after E", members.len());
        }
        previous = Some(members);
    }
}
