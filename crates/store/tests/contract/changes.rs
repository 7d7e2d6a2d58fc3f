//! The change journal: committed access changes reach the listener in commit order, a rolled
//! back transaction reports nothing, and deleting a group deletes the schedules giving access
//! to it (and says so once).

use std::sync::{Arc, Mutex};

use eligo_core::directory::Relation;
use eligo_core::schedule::ScheduleKind;
use eligo_core::target::{GroupAccess, Target};
use eligo_store::{Change, ScheduleQuery, Store, Targets};

use crate::common::*;

async fn recorder(store: &Arc<dyn Store>) -> Arc<Mutex<Vec<Vec<Change>>>> {
    let seen: Arc<Mutex<Vec<Vec<Change>>>> = Arc::default();
    let sink = seen.clone();
    let head = store.read().await.unwrap().change_head().await.unwrap();
    store.listen(
        Arc::new(move |changes: &[Change]| {
            sink.lock().unwrap().push(changes.to_vec());
        }),
        head,
    );
    seen
}

async fn reports_committed_changes_in_order(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_user(&user(10, "a@x", "A")).await.unwrap();
    tx.insert_group(&group(20, "G", false)).await.unwrap();
    commit(tx).await;
    let seen = recorder(&store).await;

    let mut tx = write(&store).await;
    assert!(
        tx.add_relation(id(20), id(10), Relation::Member, 1)
            .await
            .unwrap()
    );
    // Adding it again changes nothing and reports nothing.
    assert!(
        !tx.add_relation(id(20), id(10), Relation::Member, 1)
            .await
            .unwrap()
    );
    commit(tx).await;

    // Rolled back: nothing reported.
    let mut tx = write(&store).await;
    assert!(
        tx.remove_relation(id(20), id(10), Relation::Member)
            .await
            .unwrap()
    );
    drop(tx);

    // Read transactions report nothing either.
    read(&store).await.commit().await.unwrap();

    let mut tx = write(&store).await;
    assert!(
        tx.remove_relation(id(20), id(10), Relation::Member)
            .await
            .unwrap()
    );
    commit(tx).await;

    let relation = |added| Change::Relation {
        group: id(20),
        principal: id(10),
        relation: Relation::Member,
        added,
    };
    assert_eq!(
        *seen.lock().unwrap(),
        vec![vec![relation(true)], vec![relation(false)]]
    );
}

contract!(reports_committed_changes_in_order => journal_in_order_sqlite, journal_in_order_postgres);

async fn group_schedules_go_with_their_group(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_user(&user(10, "a@x", "A")).await.unwrap();
    tx.insert_group(&group(20, "G", false)).await.unwrap();
    commit(tx).await;
    let seen = recorder(&store).await;

    let (role, scope) = Target::Group {
        group: id(20),
        access: GroupAccess::Member,
    }
    .fields();
    let s = schedule(
        30,
        ScheduleKind::Active,
        id(10),
        role,
        &scope,
        100,
        Some(200),
    );
    let mut tx = write(&store).await;
    tx.insert_role_schedule(&s).await.unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    let groups_only = ScheduleQuery {
        targets: Targets::Groups,
        ..Default::default()
    };
    let roles_only = ScheduleQuery {
        targets: Targets::Roles,
        ..Default::default()
    };
    assert_eq!(
        tx.list_role_schedules(&groups_only).await.unwrap(),
        vec![s.clone()]
    );
    assert!(
        tx.list_role_schedules(&roles_only)
            .await
            .unwrap()
            .is_empty()
    );
    drop(tx);

    let mut tx = write(&store).await;
    assert!(tx.delete_principal(id(20)).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert!(tx.get_role_schedule(id(30)).await.unwrap().is_none());
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            vec![Change::Schedule(s)],
            vec![Change::PrincipalDeleted(id(20))]
        ]
    );
}

contract!(group_schedules_go_with_their_group => group_schedules_cascade_sqlite, group_schedules_cascade_postgres);
