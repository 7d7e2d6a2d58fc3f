//! The change log (PostgreSQL, issue 18 item 1): two stores opened on one database stand for
//! two servers. Each one's listener receives both servers' commits in the one order the log
//! gives them; `caught_up` waits for a head number read in a snapshot; a hole in the log (pruned
//! while a server was behind) is reported as a gap, never skipped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eligo_core::audit::Category;
use eligo_core::directory::Relation;
use eligo_store::{Change, Store};

use crate::common::*;

type Seen = Arc<Mutex<Vec<Change>>>;

async fn head(store: &Arc<dyn Store>) -> u64 {
    read(store).await.change_head().await.unwrap()
}

async fn follow(store: &Arc<dyn Store>, from: u64) -> Seen {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    store.listen(
        Arc::new(move |c: &[Change]| sink.lock().unwrap().extend(c.iter().cloned())),
        from,
    );
    seen
}

async fn relate(store: &Arc<dyn Store>, group: u128, member: u128, added: bool) {
    let mut tx = write(store).await;
    if added {
        assert!(
            tx.add_relation(id(group), id(member), Relation::Member, 1)
                .await
                .unwrap()
        );
    } else {
        assert!(
            tx.remove_relation(id(group), id(member), Relation::Member)
                .await
                .unwrap()
        );
    }
    commit(tx).await;
}

fn member(group: u128, member: u128, added: bool) -> Change {
    Change::Relation {
        group: id(group),
        principal: id(member),
        relation: Relation::Member,
        added,
    }
}

/// A batch made on purpose: `first` (holding the writer) is committed once a writer adding user
/// 10 to each of `groups` waits behind it, each with an audit entry when `audited`; the one for
/// `refused` is dropped after its writes (undone alone). Asserts each writer's outcome.
async fn batch_behind(
    store: &Arc<dyn Store>,
    first: Box<dyn eligo_store::Tx>,
    groups: std::ops::RangeInclusive<u128>,
    refused: u128,
    audited: bool,
) {
    let mut queued = Vec::new();
    for (n, g) in groups.clone().enumerate() {
        let writer = store.clone();
        queued.push(tokio::spawn(async move {
            let mut tx = writer.write().await.unwrap();
            tx.add_relation(id(g), id(10), Relation::Member, 1)
                .await
                .unwrap();
            if audited {
                let activity = "Add member to group";
                tx.append_audit(event(1_000 + g as i64, Category::GroupManagement, activity))
                    .await
                    .unwrap();
            }
            if g == refused {
                return false;
            }
            tx.commit().await.is_ok()
        }));
        until_waiting(store, n as u64 + 1).await;
    }
    commit(first).await;
    for (g, handle) in groups.zip(queued) {
        assert_eq!(
            within("writer", handle).await.unwrap(),
            g != refused,
            "writer {g}"
        );
    }
}

const WAIT: Duration = Duration::from_secs(10);

/// Returns once a session of the database at `url` waits for a lock (a writer for the head).
async fn until_waiting_on_a_lock(url: &str) {
    let raw = sqlx::PgPool::connect(url).await.unwrap();
    within("a writer waiting for the head lock", async {
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&raw)
            .await
            .unwrap();
            if waiting > 0 {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    raw.close().await;
}

/// Removes the change log's entries up to `seq`, as pruning does to a server cut off too long.
async fn prune_log_through(url: &str, seq: u64) {
    let raw = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query("DELETE FROM change_log WHERE seq <= $1")
        .bind(seq as i64)
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
}

/// Two stores on the database at `url`, which holds user 10 and `groups`.
async fn two_servers_with_user_10_and_groups(
    url: &str,
    groups: std::ops::RangeInclusive<u128>,
) -> (Arc<dyn Store>, Arc<dyn Store>) {
    let a = open(url, "postgres").await;
    let b = open(url, "postgres").await;
    let mut tx = write(&a).await;
    tx.insert_user(&user(10, "a@x", "A")).await.unwrap();
    for g in groups {
        tx.insert_group(&group(g, &format!("G{g}"), false))
            .await
            .unwrap();
    }
    commit(tx).await;
    (a, b)
}

/// `b` catches up to `head`, its listener having received user 10 added to `groups` in the
/// order `a`'s own listener did: the order of the batch's members, which is the order in which
/// they took the writer (a queued writer is counted as waiting a moment before it queues, so
/// two writers spawned one after the other may take it in either order).
async fn b_sees(b: &Arc<dyn Store>, head: u64, seen: &Seen, seen_a: &Seen, groups: [u128; 3]) {
    assert!(b.caught_up(head, WAIT).await);
    within("both listeners have the changes", async {
        while seen.lock().unwrap().len() < groups.len()
            || seen_a.lock().unwrap().len() < groups.len()
        {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        sorted(seen.iter().map(|c| format!("{c:?}"))),
        sorted(groups.map(|g| format!("{:?}", member(g, 10, true))))
    );
    assert_eq!(
        seen,
        *seen_a.lock().unwrap(),
        "B applies A's commits in A's order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_see_every_commit_in_one_order() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let a = open(&url, "postgres").await;
    let b = open(&url, "postgres").await;
    let mut tx = write(&a).await;
    tx.insert_user(&user(10, "a@x", "A")).await.unwrap();
    tx.insert_group(&group(20, "G", false)).await.unwrap();
    tx.insert_group(&group(21, "H", false)).await.unwrap();
    commit(tx).await;
    let start = head(&a).await;
    assert!(start > 0, "the creations were logged");
    let seen_a = follow(&a, start).await;
    let seen_b = follow(&b, start).await;

    // A writes; B learns it by the log (waiting on the head number a request would read).
    relate(&a, 20, 10, true).await;
    let h = head(&b).await;
    assert_eq!(h, start + 1);
    assert!(b.caught_up(h, WAIT).await, "B caught up with A's commit");
    assert_eq!(*seen_b.lock().unwrap(), vec![member(20, 10, true)]);

    // Interleaved writers: both listeners get the same order, B's own commit after A's.
    relate(&a, 21, 10, true).await;
    relate(&b, 20, 10, false).await;
    relate(&a, 21, 10, false).await;
    let h = head(&a).await;
    assert_eq!(h, start + 4);
    assert!(a.caught_up(h, WAIT).await && b.caught_up(h, WAIT).await);
    let order = vec![
        member(20, 10, true),
        member(21, 10, true),
        member(20, 10, false),
        member(21, 10, false),
    ];
    assert_eq!(*seen_a.lock().unwrap(), order);
    assert_eq!(*seen_b.lock().unwrap(), order);
    let status = b.feed_status().expect("PostgreSQL follows a log");
    assert_eq!((status.applied, status.gap), (h, false));

    // A rolled-back write takes no number.
    let mut tx = write(&a).await;
    tx.add_relation(id(20), id(10), Relation::Member, 1)
        .await
        .unwrap();
    drop(tx);
    assert_eq!(head(&a).await, h);

    // A server that follows from before a pruned entry reports a gap and is never caught up.
    prune_log_through(&url, start + 1).await;
    let c = open(&url, "postgres").await;
    let seen_c = follow(&c, start).await;
    assert!(!c.caught_up(h, Duration::from_secs(2)).await);
    let status = c.feed_status().unwrap();
    assert!(status.gap, "{status:?}");
    assert!(seen_c.lock().unwrap().is_empty(), "nothing after the hole");
    // Following again from a fresh snapshot (what the server does after rebuilding) recovers.
    let seen_c = follow(&c, h).await;
    relate(&a, 20, 10, true).await;
    assert!(c.caught_up(h + 1, WAIT).await);
    assert_eq!(*seen_c.lock().unwrap(), vec![member(20, 10, true)]);
    for s in [a, b, c] {
        s.close().await;
    }
}

/// A writer holds the head lock and brings its index to that head before it decides: each
/// commit of the other server has reached its listener when `write` returns (the writer applies
/// what its lock statement read of the log, or the follower does), and a hole in the log is
/// never skipped: the write is refused as behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_decides_on_every_commit_made_before_its_lock() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let (a, b) = two_servers_with_user_10_and_groups(&url, 20..=22).await;
    let start = head(&a).await;
    let seen_b = follow(&b, start).await;
    let mut expected = Vec::new();
    for g in 20..=22 {
        relate(&a, g, 10, true).await;
        expected.push(member(g, 10, true));
        let tx = write(&b).await;
        assert_eq!(*seen_b.lock().unwrap(), expected, "before B's write {g}");
        drop(tx);
    }

    // B asks for the lock while A holds it: what A commits meanwhile is applied before B's
    // write begins (its log read comes after the lock, with a snapshot of its own).
    let mut held = write(&a).await;
    held.remove_relation(id(20), id(10), Relation::Member)
        .await
        .unwrap();
    let waiter = {
        let (b, seen_b) = (b.clone(), seen_b.clone());
        tokio::spawn(async move {
            let tx = b.write().await.unwrap();
            let seen = seen_b.lock().unwrap().clone();
            drop(tx);
            seen
        })
    };
    until_waiting_on_a_lock(&url).await;
    commit(held).await;
    expected.push(member(20, 10, false));
    assert_eq!(within("B's write", waiter).await.unwrap(), expected);

    // Entry start + 1 pruned: a server following from `start` must not write past the hole.
    prune_log_through(&url, start + 1).await;
    let c = open(&url, "postgres").await;
    let seen_c = follow(&c, start).await;
    match c.write().await {
        Err(eligo_store::StoreError::Behind(at)) => assert_eq!(at, start + 4),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("a write decided on an index with a hole"),
    }
    assert!(seen_c.lock().unwrap().is_empty(), "nothing after the hole");
    for s in [a, b, c] {
        s.close().await;
    }
}

/// A group-commit batch is one transaction, so it is one entry of the log: the other server
/// applies its members' changes together, in the members' order, and a member that failed
/// inside it leaves nothing there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_reaches_the_other_server_as_one_entry_in_its_members_order() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let (a, b) = two_servers_with_user_10_and_groups(&url, 20..=23).await;
    let start = head(&a).await;
    let seen_b = follow(&b, start).await;
    let seen_a = follow(&a, start).await;

    let mut first = write(&a).await;
    first
        .add_relation(id(20), id(10), Relation::Member, 1)
        .await
        .unwrap();
    batch_behind(&a, first, 21..=23, 22, false).await;
    let h = head(&a).await;
    assert_eq!(h, start + 1, "one number for the batch");
    b_sees(&b, h, &seen_b, &seen_a, [20, 21, 23]).await;
    for s in [a, b] {
        s.close().await;
    }
}

/// An audited write's change is numbered in the statement that writes its audit rows and the
/// chain's head (one `UPDATE` of the head row does both): alone and in a batch, the chain and
/// the log move together, and a member undone takes neither its entry nor its change along.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audited_changes_are_numbered_with_the_chain_alone_and_in_a_batch() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let (a, b) = two_servers_with_user_10_and_groups(&url, 30..=33).await;
    let start = head(&a).await;
    let entries_before = chain_verdict(&mut *read(&a).await).await.entries;
    let seen_b = follow(&b, start).await;
    let seen_a = follow(&a, start).await;

    // Alone.
    let mut alone = write(&a).await;
    alone
        .add_relation(id(30), id(10), Relation::Member, 1)
        .await
        .unwrap();
    alone
        .append_audit(event(
            1_000,
            Category::GroupManagement,
            "Add member to group",
        ))
        .await
        .unwrap();
    commit(alone).await;
    assert_eq!(head(&a).await, start + 1);

    // A batch: the first member, then three queued, the second of which is undone.
    let mut first = write(&a).await;
    first
        .add_relation(id(31), id(10), Relation::Member, 1)
        .await
        .unwrap();
    first
        .append_audit(event(
            1_001,
            Category::GroupManagement,
            "Add member to group",
        ))
        .await
        .unwrap();
    batch_behind(&a, first, 32..=33, 32, true).await;
    let h = head(&a).await;
    assert_eq!(
        h,
        start + 2,
        "one number for the write alone, one for the batch"
    );
    let verdict = chain_verdict(&mut *read(&a).await).await;
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(
        verdict.entries,
        entries_before + 3,
        "the undone member's entry is not in the chain"
    );
    b_sees(&b, h, &seen_b, &seen_a, [30, 31, 33]).await;
    for s in [a, b] {
        s.close().await;
    }
}

/// SQLite has one writing process: no log, always caught up, head stays 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_has_no_log_to_follow() {
    let db = SqliteDb::new("sqlite_has_no_log_to_follow");
    let store = open(&db.url, "sqlite").await;
    let seen = follow(&store, 0).await;
    let mut tx = write(&store).await;
    tx.insert_user(&user(10, "a@x", "A")).await.unwrap();
    tx.insert_group(&group(20, "G", false)).await.unwrap();
    commit(tx).await;
    relate(&store, 20, 10, true).await;
    assert_eq!(head(&store).await, 0);
    assert!(store.caught_up(0, Duration::ZERO).await);
    assert!(store.feed_status().is_none());
    assert!(seen.lock().unwrap().contains(&member(20, 10, true)));
    store.close().await;
}
