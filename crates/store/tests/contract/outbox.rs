//! The outbox and its neighbours: jobs are written with their transaction (or not at all),
//! coalesced and once-only keys hold, claims lease and come back, outcomes are recorded once,
//! dead letters are retried on request; connectors, mappings, what was pushed, alerts, used
//! links and generated secrets behave alike on both backends.

use std::sync::{Arc, Mutex};

use eligo_store::{
    AlertRow, Change, ConnectorRow, JobOutcome, JobStatus, MappingRow, NewJob, Page, Store,
};
use serde_json::json;
use uuid::Uuid;

use crate::common::*;

fn job(n: u128, coalesce: Option<&str>, once: Option<&str>, due: i64) -> NewJob {
    NewJob {
        id: id(n),
        kind: "provision.member".into(),
        payload: json!({ "n": n as u64 }),
        coalesce_key: coalesce.map(String::from),
        once_key: once.map(String::from),
        subject: Some(format!("subject-{n}")),
        due_at: t(due),
    }
}

const ALL: Page = Page { top: 100, skip: 0 };

async fn jobs_are_written_coalesced_and_once(store: Arc<dyn Store>) {
    let seen: Arc<Mutex<Vec<Change>>> = Arc::default();
    let sink = seen.clone();
    let head = store.read().await.unwrap().change_head().await.unwrap();
    store.listen(
        Arc::new(move |c: &[Change]| sink.lock().unwrap().extend(c.iter().cloned())),
        head,
    );
    // A rolled-back transaction leaves no job.
    let mut tx = write(&store).await;
    assert!(tx.enqueue_job(&job(1, None, None, 10), t(1)).await.unwrap());
    drop(tx);
    assert!(
        read(&store)
            .await
            .list_jobs(None, ALL)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(seen.lock().unwrap().is_empty());

    let mut tx = write(&store).await;
    assert!(
        tx.enqueue_job(&job(1, Some("m:a"), None, 10), t(1))
            .await
            .unwrap()
    );
    // A second pending job with the same coalesce key is not written.
    assert!(
        !tx.enqueue_job(&job(2, Some("m:a"), None, 5), t(1))
            .await
            .unwrap()
    );
    assert!(
        tx.enqueue_job(&job(3, None, Some("once"), 10), t(1))
            .await
            .unwrap()
    );
    assert!(
        !tx.enqueue_job(&job(4, None, Some("once"), 10), t(1))
            .await
            .unwrap()
    );
    commit(tx).await;
    assert_eq!(
        seen.lock().unwrap().clone(),
        vec![
            Change::JobEnqueued { due_at: t(10) },
            Change::JobEnqueued { due_at: t(10) }
        ]
    );
    let mut r = read(&store).await;
    assert_eq!(
        r.list_jobs(Some(JobStatus::Pending), ALL)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(r.next_job_due().await.unwrap(), Some(t(10)));
    drop(r);

    // Claimed (running), the key is free again; the once key never is.
    let mut tx = write(&store).await;
    let claimed = tx.claim_jobs(t(10), t(70), 10, "s1").await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(
        claimed
            .iter()
            .all(|j| j.status == JobStatus::Running && j.attempts == 1)
    );
    assert!(
        tx.enqueue_job(&job(5, Some("m:a"), None, 10), t(10))
            .await
            .unwrap()
    );
    assert!(
        !tx.enqueue_job(&job(6, None, Some("once"), 10), t(10))
            .await
            .unwrap()
    );
    commit(tx).await;

    // The running job 1 fails and would go back to pending while job 5 holds the key: both
    // stay (the retry loses its key rather than break the rule).
    let mut tx = write(&store).await;
    let retry = JobOutcome::Retry {
        at: t(20),
        error: "down".into(),
    };
    assert!(tx.complete_job(id(1), &retry, t(11)).await.unwrap());
    assert!(
        tx.complete_job(id(3), &JobOutcome::Delivered, t(11))
            .await
            .unwrap()
    );
    // Completing again changes nothing (it is no longer running).
    assert!(
        !tx.complete_job(id(3), &JobOutcome::Delivered, t(12))
            .await
            .unwrap()
    );
    commit(tx).await;
    let mut r = read(&store).await;
    let one = r.get_job(id(1)).await.unwrap().unwrap();
    assert_eq!(one.status, JobStatus::Pending);
    assert_eq!(one.last_error.as_deref(), Some("down"));
    assert_eq!(one.next_attempt_at, t(20));
    let three = r.get_job(id(3)).await.unwrap().unwrap();
    assert_eq!(three.status, JobStatus::Delivered);
    assert_eq!(three.delivered_at, Some(t(11)));
    let counts = r.count_jobs().await.unwrap();
    assert!(counts.contains(&(JobStatus::Pending, 2)), "{counts:?}");
    assert!(counts.contains(&(JobStatus::Delivered, 1)), "{counts:?}");
}

contract!(jobs_are_written_coalesced_and_once => jobs_are_written_coalesced_and_once_sqlite, jobs_are_written_coalesced_and_once_postgres);

async fn claims_lease_fail_retry_release_and_prune(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    for n in 1..=3 {
        tx.enqueue_job(&job(n, None, None, n as i64), t(0))
            .await
            .unwrap();
    }
    commit(tx).await;
    // Only what is due, at most `limit`, earliest first.
    let mut tx = write(&store).await;
    let got = tx.claim_jobs(t(2), t(100), 1, "s1").await.unwrap();
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id(1)]);
    commit(tx).await;
    // A claim that ran out of lease comes back (its worker died); one within it does not.
    let mut tx = write(&store).await;
    let got = tx.claim_jobs(t(50), t(150), 10, "s1").await.unwrap();
    assert_eq!(sorted(got.iter().map(|j| j.id)), vec![id(2), id(3)]);
    let again = tx.claim_jobs(t(101), t(200), 10, "s1").await.unwrap();
    assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id(1)]);
    assert_eq!(again[0].attempts, 2);
    commit(tx).await;
    // Dead letter, then retried on request (attempts start again).
    let mut tx = write(&store).await;
    let failed = JobOutcome::Failed {
        error: "gave up".into(),
    };
    assert!(tx.complete_job(id(1), &failed, t(102)).await.unwrap());
    assert!(
        !tx.retry_job(id(2), t(103)).await.unwrap(),
        "only failed jobs"
    );
    assert!(tx.retry_job(id(1), t(103)).await.unwrap());
    commit(tx).await;
    let mut r = read(&store).await;
    let one = r.get_job(id(1)).await.unwrap().unwrap();
    assert_eq!((one.status, one.attempts), (JobStatus::Pending, 0));
    drop(r);
    // A server starting again releases what it had running.
    let mut tx = write(&store).await;
    assert_eq!(
        tx.release_running_jobs(t(104), Some("s1")).await.unwrap(),
        2
    );
    assert!(
        tx.complete_job(id(2), &JobOutcome::Delivered, t(104))
            .await
            .is_ok()
    );
    commit(tx).await;
    let mut tx = write(&store).await;
    let got = tx.claim_jobs(t(105), t(200), 10, "s1").await.unwrap();
    assert_eq!(got.len(), 3);
    for j in &got {
        tx.complete_job(j.id, &JobOutcome::Delivered, t(106))
            .await
            .unwrap();
    }
    assert_eq!(tx.prune_delivered_jobs(t(106)).await.unwrap(), 0);
    assert_eq!(tx.prune_delivered_jobs(t(107)).await.unwrap(), 3);
    commit(tx).await;
    assert!(
        read(&store)
            .await
            .list_jobs(None, ALL)
            .await
            .unwrap()
            .is_empty()
    );
}

contract!(claims_lease_fail_retry_release_and_prune => claims_lease_fail_retry_release_and_prune_sqlite, claims_lease_fail_retry_release_and_prune_postgres);

async fn connectors_mappings_and_what_was_pushed(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_group(&group(20, "G", false)).await.unwrap();
    let c = ConnectorRow {
        id: id(30),
        kind: "ldap".into(),
        display_name: "AD".into(),
        settings: json!({ "url": "ldap://dc", "bindPassword": "s" }),
        health: json!({ "status": "unknown" }),
        created_at: t(1),
        updated_at: t(1),
    };
    tx.insert_connector(&c).await.unwrap();
    let m = MappingRow {
        id: id(40),
        group_id: id(20),
        connector_id: id(30),
        target: "cn=ops".into(),
        created_at: t(2),
    };
    tx.insert_mapping(&m).await.unwrap();
    commit(tx).await;
    // (A failed statement ends a PostgreSQL transaction: the conflict gets its own.)
    let mut tx = write(&store).await;
    let twice = MappingRow {
        id: id(41),
        ..m.clone()
    };
    assert_conflict(tx.insert_mapping(&twice).await, "same target twice");
    drop(tx);

    let mut tx = write(&store).await;
    tx.put_provisioned(id(40), id(10), "uid=a", t(3))
        .await
        .unwrap();
    tx.put_provisioned(id(40), id(10), "uid=a,ou=people", t(4))
        .await
        .unwrap();
    tx.put_provisioned(id(40), id(11), "uid=b", t(4))
        .await
        .unwrap();
    tx.set_connector_health(id(30), &json!({ "status": "healthy" }))
        .await
        .unwrap();
    commit(tx).await;
    let mut r = read(&store).await;
    assert_eq!(
        r.list_provisioned(id(40)).await.unwrap(),
        vec![
            (id(10), "uid=a,ou=people".to_string()),
            (id(11), "uid=b".to_string())
        ]
    );
    assert_eq!(
        r.list_mappings(Some(id(20)), None).await.unwrap(),
        vec![m.clone()]
    );
    assert_eq!(r.list_mappings(None, Some(id(31))).await.unwrap(), vec![]);
    let got = r.get_connector(id(30)).await.unwrap().unwrap();
    assert_eq!(got.health["status"], "healthy");
    assert_eq!(got.settings, c.settings);
    drop(r);

    // Deleting the mapping forgets what was pushed through it.
    let mut tx = write(&store).await;
    assert!(tx.remove_provisioned(id(40), id(11)).await.unwrap());
    assert!(!tx.remove_provisioned(id(40), id(11)).await.unwrap());
    assert!(tx.delete_mapping(id(40)).await.unwrap());
    assert!(!tx.delete_mapping(id(40)).await.unwrap());
    assert!(tx.list_provisioned(id(40)).await.unwrap().is_empty());
    assert!(tx.delete_connector(id(30)).await.unwrap());
    commit(tx).await;
}

contract!(connectors_mappings_and_what_was_pushed => connectors_mappings_and_what_was_pushed_sqlite, connectors_mappings_and_what_was_pushed_postgres);

async fn alerts_links_and_secrets(store: Arc<dyn Store>) {
    let alert = |n: u128, key: Option<&str>| AlertRow {
        id: id(n),
        kind: "connectorFailing".into(),
        status: "active".into(),
        dedupe_key: key.map(String::from),
        data: json!({ "n": n as u64 }),
        created_at: t(n as i64),
    };
    let mut tx = write(&store).await;
    assert!(tx.insert_alert(&alert(1, Some("k"))).await.unwrap());
    assert!(!tx.insert_alert(&alert(2, Some("k"))).await.unwrap());
    assert!(tx.insert_alert(&alert(3, None)).await.unwrap());
    let mut one = tx.get_alert(id(1)).await.unwrap().unwrap();
    one.status = "resolved".into();
    one.dedupe_key = None;
    assert!(tx.update_alert(&one).await.unwrap());
    assert!(
        tx.insert_alert(&alert(4, Some("k"))).await.unwrap(),
        "the key is free again"
    );
    assert!(tx.consume_link("hash-a", 5).await.unwrap());
    assert!(!tx.consume_link("hash-a", 6).await.unwrap());
    assert!(
        tx.put_server_secret("link-key", &[1, 2, 3], 7)
            .await
            .unwrap()
    );
    assert!(!tx.put_server_secret("link-key", &[9], 8).await.unwrap());
    commit(tx).await;
    let mut r = read(&store).await;
    let active = r.list_alerts(Some("active"), ALL).await.unwrap();
    assert_eq!(
        active.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![id(4), id(3)]
    );
    assert_eq!(r.list_alerts(None, ALL).await.unwrap().len(), 3);
    assert_eq!(
        r.get_server_secret("link-key").await.unwrap(),
        Some(vec![1, 2, 3])
    );
    assert_eq!(r.get_server_secret("other").await.unwrap(), None);
    let _ = Uuid::nil();
}

contract!(alerts_links_and_secrets => alerts_links_and_secrets_sqlite, alerts_links_and_secrets_postgres);

/// Several servers on one database: each claim names its server; a server starting takes back
/// only its own claims (another's may be alive and delivering), and a claim nobody completes
/// comes back to whoever looks after its lease, once.
async fn claims_belong_to_their_server(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    for n in 1..=4 {
        tx.enqueue_job(&job(n, None, None, 1), t(0)).await.unwrap();
    }
    commit(tx).await;
    // Server a claims two, server b the other two; nothing is left for c.
    let mut tx = write(&store).await;
    let a = tx.claim_jobs(t(1), t(61), 2, "a").await.unwrap();
    let b = tx.claim_jobs(t(1), t(61), 10, "b").await.unwrap();
    let c = tx.claim_jobs(t(2), t(62), 10, "c").await.unwrap();
    commit(tx).await;
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2);
    assert!(
        c.is_empty(),
        "a claimed job is nobody else's within its lease"
    );
    assert!(a.iter().all(|j| j.claimed_by.as_deref() == Some("a")));
    let mut all = sorted(a.iter().chain(&b).map(|j| j.id));
    all.dedup();
    assert_eq!(all.len(), 4, "every job claimed once");
    // b restarts (same id): its own claims come back at once, a's stay running.
    let mut tx = write(&store).await;
    assert_eq!(tx.release_running_jobs(t(3), Some("b")).await.unwrap(), 2);
    assert_eq!(
        tx.release_running_jobs(t(3), Some("fresh")).await.unwrap(),
        0
    );
    commit(tx).await;
    let mut r = read(&store).await;
    for j in &a {
        let now = r.get_job(j.id).await.unwrap().unwrap();
        assert_eq!(
            (now.status, now.claimed_by.as_deref()),
            (JobStatus::Running, Some("a"))
        );
    }
    for j in &b {
        let now = r.get_job(j.id).await.unwrap().unwrap();
        assert_eq!(now.status, JobStatus::Pending);
    }
    drop(r);
    // c takes b's released jobs now, and a's only after their lease (a died silently).
    // (A single server on SQLite releases every running job at its start: None.)
    let mut tx = write(&store).await;
    let got = tx.claim_jobs(t(4), t(64), 10, "c").await.unwrap();
    assert_eq!(
        sorted(got.iter().map(|j| j.id)),
        sorted(b.iter().map(|j| j.id))
    );
    assert!(
        tx.claim_jobs(t(60), t(120), 10, "c")
            .await
            .unwrap()
            .is_empty()
    );
    let late = tx.claim_jobs(t(61), t(121), 10, "c").await.unwrap();
    assert_eq!(
        sorted(late.iter().map(|j| j.id)),
        sorted(a.iter().map(|j| j.id))
    );
    assert!(
        late.iter()
            .all(|j| j.attempts == 2 && j.claimed_by.as_deref() == Some("c"))
    );
    // A single server starting (SQLite) releases every running job, whoever claimed it.
    assert_eq!(tx.release_running_jobs(t(62), None).await.unwrap(), 4);
    commit(tx).await;
}

contract!(claims_belong_to_their_server => claims_belong_to_their_server_sqlite, claims_belong_to_their_server_postgres);

/// Throttle counts are the store's, whatever server counts: one window per key, restarted
/// once it is over, cleared on success, pruned when old.
async fn throttle_counts_are_shared(store: Arc<dyn Store>) {
    let keys = vec!["acct:eve@x".to_string(), "addr:1.2.3.4".to_string()];
    let window = chrono::TimeDelta::seconds(100);
    for n in 0..3 {
        store.throttle_failure(&keys, t(n), window).await.unwrap();
    }
    let mut got = store.throttle_counts(&keys, t(-100)).await.unwrap();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("acct:eve@x".to_string(), 3, t(0)),
            ("addr:1.2.3.4".to_string(), 3, t(0))
        ]
    );
    // Counted after its window: a new window with this failure.
    store
        .throttle_failure(&keys[..1], t(100), window)
        .await
        .unwrap();
    let got = store.throttle_counts(&keys[..1], t(0)).await.unwrap();
    assert_eq!(got, vec![("acct:eve@x".to_string(), 1, t(100))]);
    // A window that started before `since` is not answered.
    assert!(
        store
            .throttle_counts(&keys[1..], t(0))
            .await
            .unwrap()
            .is_empty()
    );
    store.throttle_clear("acct:eve@x").await.unwrap();
    assert!(
        store
            .throttle_counts(&keys, t(-100))
            .await
            .unwrap()
            .iter()
            .all(|(k, _, _)| k != "acct:eve@x")
    );
    assert_eq!(store.prune_throttle(t(50)).await.unwrap(), 1);
    assert!(
        store
            .throttle_counts(&keys, t(-100))
            .await
            .unwrap()
            .is_empty()
    );
}

contract!(throttle_counts_are_shared => throttle_counts_are_shared_sqlite, throttle_counts_are_shared_postgres);

/// A periodic duty runs once per period whichever server asks, and only if its transaction
/// commits.
async fn duties_run_once_per_period(store: Arc<dyn Store>) {
    let every = chrono::TimeDelta::seconds(600);
    let mut tx = write(&store).await;
    assert!(tx.claim_duty("d", t(1000), every).await.unwrap());
    drop(tx); // rolled back: not recorded
    let mut tx = write(&store).await;
    assert!(tx.claim_duty("d", t(1000), every).await.unwrap());
    assert!(!tx.claim_duty("d", t(1001), every).await.unwrap());
    assert!(tx.claim_duty("other", t(1001), every).await.unwrap());
    commit(tx).await;
    let mut tx = write(&store).await;
    assert!(!tx.claim_duty("d", t(1599), every).await.unwrap());
    assert!(tx.claim_duty("d", t(1600), every).await.unwrap());
    // A clock gone back runs it rather than wait.
    assert!(tx.claim_duty("d", t(10), every).await.unwrap());
    commit(tx).await;
}

contract!(duties_run_once_per_period => duties_run_once_per_period_sqlite, duties_run_once_per_period_postgres);

/// Delivered jobs are recorded together: only those still running change (a job another
/// server reclaimed, or one already recorded, is left as it is).
async fn delivered_jobs_are_recorded_together(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    for n in 1..=4 {
        tx.enqueue_job(&job(n, None, None, 1), t(0)).await.unwrap();
    }
    commit(tx).await;
    let mut tx = write(&store).await;
    let got = tx.claim_jobs(t(2), t(100), 3, "s1").await.unwrap();
    assert_eq!(got.len(), 3);
    let running: Vec<Uuid> = got.iter().map(|j| j.id).collect();
    // One of them finished already (failed), and the fourth was never claimed.
    let failed = JobOutcome::Failed {
        error: "gave up".into(),
    };
    assert!(tx.complete_job(running[2], &failed, t(3)).await.unwrap());
    let all = [running.clone(), vec![id(4)]].concat();
    assert_eq!(tx.complete_delivered_jobs(&all, t(4)).await.unwrap(), 2);
    assert_eq!(tx.complete_delivered_jobs(&[], t(4)).await.unwrap(), 0);
    commit(tx).await;
    let mut r = read(&store).await;
    for (job, status) in [
        (running[0], JobStatus::Delivered),
        (running[1], JobStatus::Delivered),
        (running[2], JobStatus::Failed),
        (id(4), JobStatus::Pending),
    ] {
        assert_eq!(r.get_job(job).await.unwrap().unwrap().status, status);
    }
}

contract!(delivered_jobs_are_recorded_together => delivered_jobs_are_recorded_together_sqlite, delivered_jobs_are_recorded_together_postgres);
/// Pending OpenID Connect sign-ins: a state is taken once (of two takes only one gets it), a
/// row past its end is forgotten when the next is kept.
async fn oidc_pending_is_taken_once(store: Arc<dyn Store>) {
    let data = json!({ "provider": "p", "nonce": "n" });
    store
        .oidc_pending_put("state-a", t(600), &data, t(0))
        .await
        .unwrap();
    store
        .oidc_pending_put("state-b", t(10), &data, t(0))
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        store.oidc_pending_take("state-a"),
        store.oidc_pending_take("state-a")
    );
    let got: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(got, vec![(t(600), data.clone())]);
    assert!(store.oidc_pending_take("state-a").await.unwrap().is_none());
    assert!(store.oidc_pending_take("unknown").await.unwrap().is_none());
    // Keeping another after state-b's end forgets state-b.
    store
        .oidc_pending_put("state-c", t(700), &data, t(20))
        .await
        .unwrap();
    assert!(store.oidc_pending_take("state-b").await.unwrap().is_none());
    assert!(store.oidc_pending_take("state-c").await.unwrap().is_some());
}

contract!(oidc_pending_is_taken_once => oidc_pending_is_taken_once_sqlite, oidc_pending_is_taken_once_postgres);
