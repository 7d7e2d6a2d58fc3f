//! Deferred writes (issue 18, throughput): a schedule, a request, an activation's history row
//! and the audit rows are queued and sent with the transaction's next statement. Nothing may
//! tell the difference: the next read of the same transaction sees them, a dropped transaction
//! leaves none of them, a conflict is still a `Conflict` of that entity and fails only its own
//! member of a group-commit batch, and a transaction queueing more than one round trip carries
//! loses none.

use std::sync::Arc;

use eligo_core::audit::Category;
use eligo_core::request::RequestStatus;
use eligo_core::roles::ids;
use eligo_core::schedule::ScheduleKind;
use eligo_store::{Activation, ScheduleQuery, Store, StoreError};
use uuid::Uuid;

use crate::common::*;
use crate::requests::request;

fn role() -> Uuid {
    Uuid::parse_str(ids::GLOBAL_READER).unwrap()
}

fn activation_of(s: &eligo_core::schedule::RoleSchedule) -> Activation {
    Activation {
        principal_id: s.principal_id,
        target: s.target(),
        schedule_id: s.id,
        activated_at: s.start_date_time,
    }
}

fn schedules_of(principal: Uuid) -> ScheduleQuery {
    ScheduleQuery {
        principal_ids: Some(vec![principal]),
        ..Default::default()
    }
}

async fn the_next_statement_sees_what_was_deferred(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_user(&user(1, "ann@x.com", "Ann")).await.unwrap();
    let s = schedule(10, ScheduleKind::Active, id(1), role(), "/", 100, Some(900));
    tx.insert_role_schedule(&s).await.unwrap();
    tx.record_activation(&activation_of(&s)).await.unwrap();
    let mut r = request(20, id(1), t(100));
    r.status = RequestStatus::Provisioned;
    tx.insert_schedule_request(&r).await.unwrap();
    tx.append_audit(event(100, Category::RoleManagement, "Add member to role"))
        .await
        .unwrap();

    // The same transaction reads each table it queued for, in any order.
    assert_eq!(
        tx.get_schedule_request(r.id).await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(
        tx.last_activation(id(1), &s.target()).await.unwrap(),
        Some(activation_of(&s))
    );
    assert_eq!(
        tx.list_role_schedules(&schedules_of(id(1))).await.unwrap(),
        vec![s.clone()]
    );
    let (sequence, _) = tx.audit_head().await.unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(
        tx.list_role_schedules(&schedules_of(id(1))).await.unwrap(),
        vec![s]
    );
    assert_eq!(tx.get_schedule_request(r.id).await.unwrap(), Some(r));
    assert_eq!(tx.audit_head().await.unwrap().0, sequence);
    let verdict = chain_verdict(&mut *tx).await;
    assert!(verdict.valid, "the chain verifies: {verdict:?}");
}
contract!(
    the_next_statement_sees_what_was_deferred =>
    the_next_statement_sees_what_was_deferred_sqlite,
    the_next_statement_sees_what_was_deferred_postgres,
);

async fn a_dropped_transaction_leaves_nothing_it_deferred(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_user(&user(1, "ann@x.com", "Ann")).await.unwrap();
    commit(tx).await;
    let mut tx = write(&store).await;
    let s = schedule(10, ScheduleKind::Active, id(1), role(), "/", 100, None);
    tx.insert_role_schedule(&s).await.unwrap();
    tx.record_activation(&activation_of(&s)).await.unwrap();
    tx.insert_schedule_request(&request(20, id(1), t(100)))
        .await
        .unwrap();
    drop(tx);

    let mut tx = read(&store).await;
    assert!(
        tx.list_role_schedules(&schedules_of(id(1)))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tx.get_schedule_request(id(20)).await.unwrap(), None);
    assert_eq!(tx.last_activation(id(1), &s.target()).await.unwrap(), None);
}
contract!(
    a_dropped_transaction_leaves_nothing_it_deferred =>
    a_dropped_transaction_leaves_nothing_it_deferred_sqlite,
    a_dropped_transaction_leaves_nothing_it_deferred_postgres,
);

/// A member whose deferred insert clashes learns it at its commit, as a `Conflict` of the
/// entity; its own writes are undone and the members around it commit.
async fn a_deferred_conflict_fails_its_member_alone(store: Arc<dyn Store>) {
    let kept = schedule(10, ScheduleKind::Eligible, id(1), role(), "/", 100, None);
    let mut tx = write(&store).await;
    tx.insert_user(&user(1, "ann@x.com", "Ann")).await.unwrap();
    tx.insert_role_schedule(&kept).await.unwrap();
    commit(tx).await;

    let mut first = write(&store).await;
    first
        .insert_user(&user(2, "bob@x.com", "Bob"))
        .await
        .unwrap();
    let clash = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await?;
            tx.insert_user(&user(3, "cy@x.com", "Cy")).await?;
            let mut same = schedule(10, ScheduleKind::Active, id(3), role(), "/", 200, None);
            same.id = id(10);
            tx.insert_role_schedule(&same).await?;
            let fresh = schedule(11, ScheduleKind::Active, id(3), role(), "/", 200, None);
            tx.insert_role_schedule(&fresh).await?;
            tx.commit().await
        })
    };
    until_waiting(&store, 1).await;
    let after = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await?;
            let s = schedule(12, ScheduleKind::Active, id(1), role(), "/", 300, None);
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

    let mut tx = read(&store).await;
    assert!(
        tx.get_user(id(2)).await.unwrap().is_some(),
        "the first member"
    );
    assert!(
        tx.get_user(id(3)).await.unwrap().is_none(),
        "the clashing member, undone"
    );
    let held = tx.list_role_schedules(&schedules_of(id(1))).await.unwrap();
    let ids: Vec<Uuid> = held.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        vec![id(10), id(12)],
        "the first schedule is left as it was"
    );
    assert_eq!(held[0], kept);
    assert!(
        tx.list_role_schedules(&schedules_of(id(3)))
            .await
            .unwrap()
            .is_empty(),
        "the clashing member's other insert is undone too"
    );
}
contract!(
    a_deferred_conflict_fails_its_member_alone =>
    a_deferred_conflict_fails_its_member_alone_sqlite,
    a_deferred_conflict_fails_its_member_alone_postgres,
);

/// More queued than one round trip carries: sent in several, every row kept.
async fn a_long_queue_is_sent_in_several_round_trips(store: Arc<dyn Store>) {
    const N: u128 = 3_000;
    let mut tx = write(&store).await;
    tx.insert_user(&user(1, "ann@x.com", "Ann")).await.unwrap();
    for n in 0..N {
        let s = schedule(
            100 + n,
            ScheduleKind::Eligible,
            id(1),
            role(),
            "/",
            100,
            None,
        );
        tx.insert_role_schedule(&s).await.unwrap();
        tx.record_activation(&activation_of(&s)).await.unwrap();
    }
    let seen = tx.list_role_schedules(&schedules_of(id(1))).await.unwrap();
    assert_eq!(seen.len(), N as usize);
    commit(tx).await;
    let mut tx = read(&store).await;
    let count = tx.activations_between(t(0), t(1_000)).await.unwrap().len();
    assert_eq!(count, N as usize);
}
contract!(
    a_long_queue_is_sent_in_several_round_trips =>
    a_long_queue_is_sent_in_several_round_trips_sqlite,
    a_long_queue_is_sent_in_several_round_trips_postgres,
);
