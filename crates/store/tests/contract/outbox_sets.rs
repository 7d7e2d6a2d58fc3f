//! The outbox's set-based statements behave as their one-row forms one after the other:
//! `enqueue_jobs` keeps coalesce and once keys (against jobs already there and within the
//! list) and reports each written job to the listener; what was pushed is read, written and
//! forgotten for many members at once, beyond one statement's chunk.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use eligo_store::{Change, ConnectorRow, JobStatus, MappingRow, NewJob, Page, Store};
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

async fn many_jobs_are_written_with_their_keys(store: Arc<dyn Store>) {
    let seen: Arc<Mutex<Vec<Change>>> = Arc::default();
    let sink = seen.clone();
    let head = store.read().await.unwrap().change_head().await.unwrap();
    store.listen(
        Arc::new(move |c: &[Change]| sink.lock().unwrap().extend(c.iter().cloned())),
        head,
    );
    let mut tx = write(&store).await;
    assert!(
        tx.enqueue_job(&job(1, Some("m:a"), None, 10), t(1))
            .await
            .unwrap()
    );
    assert!(
        tx.enqueue_job(&job(2, None, Some("once"), 10), t(1))
            .await
            .unwrap()
    );
    // Skipped: m:a is pending, "once" was used, m:b twice in the list (the first wins).
    let mut list = vec![
        job(3, Some("m:a"), None, 5),
        job(4, None, Some("once"), 5),
        job(5, Some("m:b"), None, 20),
        job(6, Some("m:b"), None, 30),
        job(7, None, None, 40),
    ];
    // More than one statement's worth (200 a statement), none of them colliding.
    list.extend((100..550).map(|n| job(n, Some(&format!("k:{n}")), None, 50)));
    assert_eq!(tx.enqueue_jobs(&list, t(2)).await.unwrap(), 2 + 450);
    assert_eq!(tx.enqueue_jobs(&[], t(2)).await.unwrap(), 0);
    commit(tx).await;

    let mut r = read(&store).await;
    let all = r
        .list_jobs(Some(JobStatus::Pending), Page { top: 1000, skip: 0 })
        .await
        .unwrap();
    let ids: std::collections::BTreeSet<Uuid> = all.iter().map(|j| j.id).collect();
    assert_eq!(all.len(), 2 + 2 + 450);
    for (n, written) in [(3, false), (4, false), (5, true), (6, false), (7, true)] {
        assert_eq!(ids.contains(&id(n)), written, "job {n}");
    }
    let five = all.iter().find(|j| j.id == id(5)).unwrap();
    assert_eq!(five.next_attempt_at, t(20));
    assert_eq!(five.subject.as_deref(), Some("subject-5"));
    assert_eq!(five.attempts, 0);
    assert_eq!(five.payload, json!({ "n": 5 }));
    drop(r);
    // Each written job is reported with its due time, and only those.
    let enqueued: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|c| match c {
            Change::JobEnqueued { due_at } => Some(*due_at),
            _ => None,
        })
        .collect();
    assert_eq!(enqueued.len(), 2 + 2 + 450);
    assert_eq!(enqueued.iter().filter(|d| **d == t(20)).count(), 1);
    assert!(!enqueued.contains(&t(5)) && !enqueued.contains(&t(30)));
}

contract!(many_jobs_are_written_with_their_keys => many_jobs_are_written_with_their_keys_sqlite, many_jobs_are_written_with_their_keys_postgres);

async fn what_was_pushed_is_kept_for_many_members_at_once(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_group(&group(20, "G", false)).await.unwrap();
    tx.insert_connector(&ConnectorRow {
        id: id(30),
        kind: "ldap".into(),
        display_name: "AD".into(),
        settings: json!({ "url": "ldap://dc" }),
        health: json!({ "status": "unknown" }),
        created_at: t(1),
        updated_at: t(1),
    })
    .await
    .unwrap();
    for m in [40, 41] {
        tx.insert_mapping(&MappingRow {
            id: id(m),
            group_id: id(20),
            connector_id: id(30),
            target: format!("cn=g{m}"),
            created_at: t(2),
        })
        .await
        .unwrap();
    }
    // 700 members (two statements' worth), one listed twice: its last reference is kept.
    let mut rows: Vec<(Uuid, String)> = (1000..1700).map(|n| (id(n), format!("uid={n}"))).collect();
    rows.push((id(1000), "uid=1000,ou=moved".into()));
    tx.put_provisioned_many(id(40), &rows, t(3)).await.unwrap();
    tx.put_provisioned(id(41), id(1000), "other mapping", t(3))
        .await
        .unwrap();
    // An upsert of existing rows replaces their reference.
    tx.put_provisioned_many(id(40), &[(id(1001), "uid=1001,ou=new".into())], t(4))
        .await
        .unwrap();
    commit(tx).await;

    let mut r = read(&store).await;
    let asked: Vec<Uuid> = [999, 1000, 1001, 1699, 5000].map(id).to_vec();
    let got = r.provisioned_refs(id(40), &asked).await.unwrap();
    let want: HashMap<Uuid, String> = [
        (id(1000), "uid=1000,ou=moved".to_string()),
        (id(1001), "uid=1001,ou=new".to_string()),
        (id(1699), "uid=1699".to_string()),
    ]
    .into();
    assert_eq!(got, want);
    let every: Vec<Uuid> = (1000..1700).map(id).collect();
    assert_eq!(r.provisioned_refs(id(40), &every).await.unwrap().len(), 700);
    assert!(r.provisioned_refs(id(40), &[]).await.unwrap().is_empty());
    drop(r);

    let mut tx = write(&store).await;
    let mut gone: Vec<Uuid> = (1000..1650).map(id).collect();
    gone.push(id(5000));
    assert_eq!(
        tx.remove_provisioned_many(id(40), &gone).await.unwrap(),
        650
    );
    assert_eq!(tx.remove_provisioned_many(id(40), &gone).await.unwrap(), 0);
    commit(tx).await;
    let mut r = read(&store).await;
    assert_eq!(r.list_provisioned(id(40)).await.unwrap().len(), 50);
    // The other mapping's row is untouched.
    assert_eq!(
        r.get_provisioned(id(41), id(1000))
            .await
            .unwrap()
            .as_deref(),
        Some("other mapping")
    );
}

contract!(what_was_pushed_is_kept_for_many_members_at_once => what_was_pushed_is_kept_for_many_members_at_once_sqlite, what_was_pushed_is_kept_for_many_members_at_once_postgres);
