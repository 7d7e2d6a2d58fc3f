//! Group commit (issue 18, item 3): writers that queue while one runs share its database
//! transaction and its COMMIT. Each contract holds a first writer open while the others queue
//! behind it (the store reports how many wait), so the batch is made on purpose, not by luck.

use std::sync::{Arc, Mutex};

use eligo_core::audit::Category;
use eligo_core::directory::Relation;
use eligo_core::roles::ids;
use eligo_core::schedule::ScheduleKind;
use eligo_store::{Change, Store, StoreError};
use tokio::task::JoinHandle;

use crate::common::*;

/// A writer that adds user `n` with an audit entry; `fail` drops it before commit instead
/// (as a use case that refuses does), after its statements ran.
fn writer(store: &Arc<dyn Store>, n: u128, fail: bool) -> JoinHandle<Result<(), StoreError>> {
    let store = store.clone();
    tokio::spawn(async move {
        let mut tx = store.write().await?;
        tx.insert_user(&user(n, &format!("u{n}@x.com"), &format!("U{n}")))
            .await?;
        tx.append_audit(event(n as i64, Category::UserManagement, "Add user"))
            .await?;
        if fail {
            return Err(StoreError::Conflict("refused by the use case".into()));
        }
        tx.commit().await
    })
}

async fn queued_writers_commit_together_and_a_failing_one_alone_is_undone(store: Arc<dyn Store>) {
    let before = store.group_commits();
    let mut first = write(&store).await;
    first.insert_user(&user(1, "u1@x.com", "U1")).await.unwrap();
    first
        .append_audit(event(1, Category::UserManagement, "Add user"))
        .await
        .unwrap();
    let mut queued = Vec::new();
    for n in 2..=6u128 {
        queued.push((n, writer(&store, n, n == 4)));
        until_waiting(&store, n as u64 - 1).await;
    }
    commit(first).await;
    for (n, handle) in queued {
        let result = within("writer", handle).await.unwrap();
        assert_eq!(result.is_ok(), n != 4, "writer {n}: {result:?}");
    }

    let after = store.group_commits();
    assert_eq!(
        after.members - before.members,
        5,
        "the five writers that committed were counted once each: {after:?}"
    );
    assert_eq!(
        after.commits - before.commits,
        1,
        "one database commit for the batch: {after:?}"
    );
    let mut tx = read(&store).await;
    for n in 1..=6u128 {
        assert_eq!(
            tx.get_user(id(n)).await.unwrap().is_some(),
            n != 4,
            "user {n}"
        );
    }
    // The chain holds the five audited writes in one order, the undone one's entry gone.
    let entries = tx.audit_after(0, 100).await.unwrap();
    assert_eq!(entries.len(), 5);
    let verdict = chain_verdict(&mut *tx).await;
    assert!(verdict.valid, "the chain verifies: {verdict:?}");
}
contract!(
    queued_writers_commit_together_and_a_failing_one_alone_is_undone =>
    queued_writers_commit_together_and_a_failing_one_alone_is_undone_sqlite,
    queued_writers_commit_together_and_a_failing_one_alone_is_undone_postgres,
);

/// On PostgreSQL a failed statement aborts the transaction; the member's savepoint restores
/// it, so a conflict in one member costs the others nothing.
async fn a_conflict_in_one_member_leaves_the_batch_usable(store: Arc<dyn Store>) {
    let mut first = write(&store).await;
    first
        .insert_user(&user(1, "same@x.com", "First"))
        .await
        .unwrap();
    let clash = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            tx.insert_user(&user(2, "same@x.com", "Second")).await
        })
    };
    until_waiting(&store, 1).await;
    let after = writer(&store, 3, false);
    until_waiting(&store, 2).await;
    commit(first).await;
    assert_conflict(
        within("clash", clash).await.unwrap(),
        "same userPrincipalName",
    );
    within("after", after).await.unwrap().unwrap();
    let mut tx = read(&store).await;
    assert!(tx.get_user(id(1)).await.unwrap().is_some());
    assert!(tx.get_user(id(2)).await.unwrap().is_none());
    assert!(tx.get_user(id(3)).await.unwrap().is_some());
}
contract!(
    a_conflict_in_one_member_leaves_the_batch_usable =>
    a_conflict_in_one_member_leaves_the_batch_usable_sqlite,
    a_conflict_in_one_member_leaves_the_batch_usable_postgres,
);

/// Each member's `commit` returns only after its changes reached the listener (the index),
/// and the listener gets them in the members' order.
async fn every_member_is_reported_before_its_commit_returns(store: Arc<dyn Store>) {
    let seen: Arc<Mutex<Vec<Change>>> = Arc::default();
    let sink = seen.clone();
    let from = read(&store).await.change_head().await.unwrap();
    store.listen(
        Arc::new(move |c: &[Change]| sink.lock().unwrap().extend(c.iter().cloned())),
        from,
    );
    let mut tx = write(&store).await;
    tx.insert_group(&group(100, "G", false)).await.unwrap();
    for n in 1..=4u128 {
        tx.insert_user(&user(n, &format!("u{n}@x.com"), "U"))
            .await
            .unwrap();
    }
    commit(tx).await;

    let mut first = write(&store).await;
    first
        .add_relation(id(100), id(1), Relation::Member, 1)
        .await
        .unwrap();
    let mut queued = Vec::new();
    for n in 2..=4u128 {
        let writer = store.clone();
        let seen = seen.clone();
        queued.push(tokio::spawn(async move {
            let mut tx = writer.write().await.unwrap();
            tx.add_relation(id(100), id(n), Relation::Member, 1)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let seen = seen.lock().unwrap();
            assert!(
                seen.iter().any(
                    |c| matches!(c, Change::Relation { principal, .. } if *principal == id(n))
                ),
                "member {n}'s change reached the listener before its commit returned"
            );
        }));
        until_waiting(&store, n as u64 - 1).await;
    }
    commit(first).await;
    for q in queued {
        within("member", q).await.unwrap();
    }
    let order: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|c| match c {
            Change::Relation { principal, .. } => Some(*principal),
            _ => None,
        })
        .collect();
    assert_eq!(order, vec![id(1), id(2), id(3), id(4)]);
}
contract!(
    every_member_is_reported_before_its_commit_returns =>
    every_member_is_reported_before_its_commit_returns_sqlite,
    every_member_is_reported_before_its_commit_returns_postgres,
);

/// A change that may take access away ends the batch: the writers after it decide on an index
/// that has it, so none can be authorized by access it just removed.
async fn a_removal_commits_before_the_next_writer_runs(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_group(&group(100, "G", false)).await.unwrap();
    for n in 1..=2u128 {
        tx.insert_user(&user(n, &format!("u{n}@x.com"), "U"))
            .await
            .unwrap();
    }
    tx.add_relation(id(100), id(1), Relation::Member, 1)
        .await
        .unwrap();
    commit(tx).await;

    let before = store.group_commits();
    let mut removal = write(&store).await;
    assert!(
        removal
            .remove_relation(id(100), id(1), Relation::Member)
            .await
            .unwrap()
    );
    let next = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            // The removal is committed (a fresh snapshot sees it) before this writer runs.
            let committed = store
                .read()
                .await
                .unwrap()
                .relations_of_group(id(100), Relation::Member)
                .await
                .unwrap();
            tx.add_relation(id(100), id(2), Relation::Member, 1)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            committed
        })
    };
    until_waiting(&store, 1).await;
    commit(removal).await;
    let committed = within("next writer", next).await.unwrap();
    assert!(
        committed.is_empty(),
        "seen by the next writer: {committed:?}"
    );
    let after = store.group_commits();
    assert_eq!(
        (
            after.commits - before.commits,
            after.members - before.members
        ),
        (2, 2),
        "the removal committed alone, though a writer was waiting"
    );
}
contract!(
    a_removal_commits_before_the_next_writer_runs =>
    a_removal_commits_before_the_next_writer_runs_sqlite,
    a_removal_commits_before_the_next_writer_runs_postgres,
);

/// A writer that gives up while queued (its request went away) does not strand the members
/// that handed the batch over to it: they are committed and answered.
async fn a_waiter_that_gives_up_does_not_strand_the_batch(store: Arc<dyn Store>) {
    let mut first = write(&store).await;
    first.insert_user(&user(1, "u1@x.com", "U1")).await.unwrap();
    let second = writer(&store, 2, false);
    until_waiting(&store, 1).await;
    let quitter = {
        let store = store.clone();
        tokio::spawn(async move {
            let _ = store.write().await;
        })
    };
    until_waiting(&store, 2).await;
    commit(first).await;
    // The second member ran and handed over to the quitter; the quitter gives up in its turn
    // or before it: either way the second's commit must come back.
    quitter.abort();
    within("second writer", second).await.unwrap().unwrap();
    let mut tx = read(&store).await;
    assert!(tx.get_user(id(2)).await.unwrap().is_some());
    drop(tx);
    // And the store still writes.
    let mut tx = write(&store).await;
    tx.insert_user(&user(3, "u3@x.com", "U3")).await.unwrap();
    commit(tx).await;
    assert_eq!(
        store.group_commits().waiting,
        0,
        "nobody counted as waiting: {:?}",
        store.group_commits()
    );
}
contract!(
    a_waiter_that_gives_up_does_not_strand_the_batch =>
    a_waiter_that_gives_up_does_not_strand_the_batch_sqlite,
    a_waiter_that_gives_up_does_not_strand_the_batch_postgres,
);

/// The batch appends the audit chain once, before its COMMIT. A member that reads the audit
/// tables meanwhile sees the entries of the members before it (they are inserted for its read);
/// when that member then fails, its rollback takes those inserts with it, and the COMMIT makes
/// them again: the chain holds every committed member's entry once, in order, and verifies.
async fn a_member_reading_the_audit_sees_the_batch_and_its_failure_loses_nothing(
    store: Arc<dyn Store>,
) {
    let mut first = write(&store).await;
    first.insert_user(&user(1, "u1@x.com", "U1")).await.unwrap();
    first
        .append_audit(event(1, Category::UserManagement, "Add user"))
        .await
        .unwrap();
    let second = writer(&store, 2, false);
    until_waiting(&store, 1).await;
    // A reader of the audit that then refuses: it sees entries 1 and 2 (and its own), then fails.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reading = {
        let (store, seen) = (store.clone(), seen.clone());
        tokio::spawn(async move {
            let mut tx = store.write().await?;
            tx.append_audit(event(3, Category::UserManagement, "Add user"))
                .await?;
            let entries = tx.audit_after(0, 100).await?;
            seen.lock()
                .unwrap()
                .extend(entries.iter().map(|e| e.sequence));
            Err::<(), _>(StoreError::Conflict("refused after reading".into()))
        })
    };
    until_waiting(&store, 2).await;
    let fourth = writer(&store, 4, false);
    until_waiting(&store, 3).await;
    commit(first).await;
    within("second", second).await.unwrap().unwrap();
    assert!(within("reader", reading).await.unwrap().is_err());
    within("fourth", fourth).await.unwrap().unwrap();

    assert_eq!(
        *seen.lock().unwrap(),
        vec![1, 2, 3],
        "the reader saw the batch's entries before its own"
    );
    let mut tx = read(&store).await;
    let entries = tx.audit_after(0, 100).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        vec![1, 2, 3],
        "the failed reader's entry is gone, the others once each, without a gap"
    );
    assert_eq!(
        entries
            .iter()
            .map(|e| e.activity_date_time)
            .collect::<Vec<_>>(),
        vec![t(1), t(2), t(4)],
        "the entries of writers 1, 2 and 4"
    );
    // The reader's rollback went back to its own savepoint (set together with the release of
    // the one before it), not to an earlier member's: writers 2 and 4 kept their work.
    for n in [1u128, 2, 4] {
        assert!(tx.get_user(id(n)).await.unwrap().is_some(), "user {n}");
    }
    let (sequence, _) = tx.audit_head().await.unwrap();
    assert_eq!(
        sequence, 3,
        "the head row was written once, after the last entry"
    );
    let verdict = chain_verdict(&mut *tx).await;
    assert!(verdict.valid, "the chain verifies: {verdict:?}");
}
contract!(
    a_member_reading_the_audit_sees_the_batch_and_its_failure_loses_nothing =>
    a_member_reading_the_audit_sees_the_batch_and_its_failure_loses_nothing_sqlite,
    a_member_reading_the_audit_sees_the_batch_and_its_failure_loses_nothing_postgres,
);

/// Role settings and subscriptions read in a batch are kept for it, but never past a change:
/// a member's write drops what was kept, and a member that read its own write and then failed
/// leaves nothing of it behind for the members after it.
async fn what_a_batch_keeps_of_its_reads_follows_its_members_writes_and_failures(
    store: Arc<dyn Store>,
) {
    use eligo_core::policy::{RolePolicy, ScopeType};
    use eligo_store::SubscriptionRow;
    let policy = RolePolicy::default_for(
        ScopeType::DirectoryRole,
        "/",
        eligo_core::roles::ids::GLOBAL_ADMINISTRATOR,
    );
    let mut strict = policy.clone();
    strict
        .rules
        .approval_end_user_assignment
        .is_approval_required = true;
    let subscription = |n: u128| SubscriptionRow {
        id: id(0x5b00 + n),
        data: serde_json::json!({ "url": format!("https://hooks.example/{n}") }),
        created_at: t(n as i64),
    };
    let before = store.group_commits();

    // The first member reads both (nothing stored yet), so the batch keeps "none".
    let mut first = write(&store).await;
    assert_eq!(first.get_policy(&policy.id).await.unwrap(), None);
    assert!(first.list_subscriptions().await.unwrap().is_empty());
    first.insert_user(&user(1, "u1@x.com", "U1")).await.unwrap();

    // Writes both, reads its own writes back (kept by the batch), then fails.
    let failing = {
        let (store, strict, s1) = (store.clone(), strict.clone(), subscription(1));
        tokio::spawn(async move {
            let mut tx = store.write().await?;
            tx.put_policy(&strict, 1).await?;
            tx.insert_subscription(&s1).await?;
            assert_eq!(tx.get_policy(&strict.id).await?, Some(strict.clone()));
            assert_eq!(tx.list_subscriptions().await?, vec![s1]);
            Err::<(), _>(StoreError::Conflict("refused".into()))
        })
    };
    until_waiting(&store, 1).await;
    // Sees neither of the failed member's writes, then changes the settings for real.
    let changing = {
        let (store, strict) = (store.clone(), strict.clone());
        tokio::spawn(async move {
            let mut tx = store.write().await?;
            let seen = (
                tx.get_policy(&strict.id).await?,
                tx.list_subscriptions().await?,
            );
            tx.put_policy(&strict, 2).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(seen)
        })
    };
    until_waiting(&store, 2).await;
    // Sees the change, adds a subscription.
    let adding = {
        let (store, s2) = (store.clone(), subscription(2));
        tokio::spawn(async move {
            let mut tx = store.write().await?;
            let seen = (
                tx.get_policy(&policy.id).await?,
                tx.list_subscriptions().await?,
            );
            tx.insert_subscription(&s2).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(seen)
        })
    };
    until_waiting(&store, 3).await;
    // Sees the subscription added before it.
    let last = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await?;
            let seen = tx.list_subscriptions().await?;
            tx.commit().await?;
            Ok::<_, StoreError>(seen)
        })
    };
    until_waiting(&store, 4).await;
    commit(first).await;

    assert!(within("failing", failing).await.unwrap().is_err());
    let (policy_seen, subscriptions_seen) = within("changing", changing).await.unwrap().unwrap();
    assert_eq!(policy_seen, None, "the failed member's settings are gone");
    assert!(
        subscriptions_seen.is_empty(),
        "the failed member's subscription is gone"
    );
    let (policy_seen, subscriptions_seen) = within("adding", adding).await.unwrap().unwrap();
    assert_eq!(policy_seen, Some(strict.clone()), "the change before it");
    assert!(subscriptions_seen.is_empty());
    let seen = within("last", last).await.unwrap().unwrap();
    assert_eq!(
        seen,
        vec![subscription(2)],
        "the subscription added before it"
    );
    let after = store.group_commits();
    assert_eq!(after.commits - before.commits, 1, "one batch: {after:?}");

    let mut tx = read(&store).await;
    assert_eq!(tx.get_policy(&strict.id).await.unwrap(), Some(strict));
    assert_eq!(
        tx.list_subscriptions().await.unwrap(),
        vec![subscription(2)]
    );
}
contract!(
    what_a_batch_keeps_of_its_reads_follows_its_members_writes_and_failures =>
    what_a_batch_keeps_of_its_reads_follows_its_members_writes_and_failures_sqlite,
    what_a_batch_keeps_of_its_reads_follows_its_members_writes_and_failures_postgres,
);

/// On SQLite a member that hands the batch over sends its last writes without waiting for
/// them, and the next member decides meanwhile, sealing its audit entries onto the head the
/// first left. When those writes fail, their member alone is undone and answered with its
/// conflict; the next member's entries are sealed again where the failed member's were, so
/// the chain holds every committed entry once, in order, and verifies, after the next write too.
async fn a_member_whose_writes_fail_after_it_handed_over_is_undone_alone(store: Arc<dyn Store>) {
    let reader: uuid::Uuid = ids::GLOBAL_READER.parse().unwrap();
    let taken = schedule(10, ScheduleKind::Eligible, id(1), reader, "/", 100, None);
    let mut tx = write(&store).await;
    tx.insert_user(&user(1, "u1@x.com", "U1")).await.unwrap();
    tx.insert_role_schedule(&taken).await.unwrap();
    commit(tx).await;
    let before = store.group_commits();

    let mut first = write(&store).await;
    first
        .append_audit(event(1, Category::RoleManagement, "First"))
        .await
        .unwrap();
    let clash = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await?;
            tx.append_audit(event(2, Category::RoleManagement, "Clash"))
                .await?;
            let mut same = schedule(11, ScheduleKind::Active, id(1), reader, "/", 200, None);
            same.id = id(10);
            tx.insert_role_schedule(&same).await?;
            tx.commit().await
        })
    };
    until_waiting(&store, 1).await;
    let after = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await?;
            tx.append_audit(event(3, Category::RoleManagement, "After"))
                .await?;
            let s = schedule(12, ScheduleKind::Active, id(1), reader, "/", 300, None);
            tx.insert_role_schedule(&s).await?;
            tx.commit().await
        })
    };
    until_waiting(&store, 2).await;
    commit(first).await;
    match within("clash", clash).await.unwrap() {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "roleSchedule"),
        other => panic!("the clashing member: expected Conflict(roleSchedule), got {other:?}"),
    }
    within("after", after).await.unwrap().unwrap();
    let batch = store.group_commits();
    if store.backend() == "sqlite" {
        assert_eq!(
            batch.sent_ahead - before.sent_ahead,
            1,
            "the clashing member sent its writes ahead (the last commits): {batch:?}"
        );
    }
    assert_eq!(batch.commits - before.commits, 1, "{batch:?}");
    assert_eq!(batch.members - before.members, 2, "{batch:?}");

    let mut tx = write(&store).await;
    tx.append_audit(event(4, Category::RoleManagement, "Later"))
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    let entries = tx.audit_after(0, 100).await.unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.sequence, e.activity_display_name.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "First"), (2, "After"), (3, "Later")],
        "the failed member's entry is gone and the next one's took its place"
    );
    let verdict = chain_verdict(&mut *tx).await;
    assert!(verdict.valid, "the chain verifies: {verdict:?}");
    let held = tx
        .list_role_schedules(&eligo_store::ScheduleQuery {
            principal_ids: Some(vec![id(1)]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        held.iter().map(|s| s.id).collect::<Vec<_>>(),
        [id(10), id(12)]
    );
    assert_eq!(
        held[0], taken,
        "the schedule the clash named is left as it was"
    );
}
contract!(
    a_member_whose_writes_fail_after_it_handed_over_is_undone_alone =>
    a_member_whose_writes_fail_after_it_handed_over_is_undone_alone_sqlite,
    a_member_whose_writes_fail_after_it_handed_over_is_undone_alone_postgres,
);
