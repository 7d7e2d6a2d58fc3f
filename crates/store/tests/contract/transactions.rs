//! Transactions: nothing is visible before commit, a dropped write rolls back, a commit is seen
//! by every later read.

use std::sync::Arc;

use eligo_core::audit::Category;
use eligo_store::Store;
use serde_json::json;

use crate::common::*;

async fn dropped_write_rolls_back(store: Arc<dyn Store>) {
    let alice = user(10, "alice@x.com", "Alice");
    let mut tx = write(&store).await;
    tx.insert_user(&alice).await.unwrap();
    tx.insert_group(&group(20, "G", false)).await.unwrap();
    tx.add_relation(id(20), alice.id, eligo_core::directory::Relation::Member, 1)
        .await
        .unwrap();
    tx.put_credential(alice.id, "password", &json!({"h": 1}), 1)
        .await
        .unwrap();
    tx.append_audit(event(100, Category::UserManagement, "Add user"))
        .await
        .unwrap();
    assert_eq!(
        tx.get_user(alice.id).await.unwrap(),
        Some(alice.clone()),
        "a transaction sees its own writes"
    );
    drop(tx);

    let mut tx = read(&store).await;
    assert_eq!(tx.get_user(alice.id).await.unwrap(), None);
    assert_eq!(tx.find_user_by_upn("alice@x.com").await.unwrap(), None);
    assert_eq!(tx.count_principals().await.unwrap(), 0);
    assert_eq!(tx.get_credential(alice.id, "password").await.unwrap(), None);
    assert_eq!(tx.audit_head().await.unwrap().0, 0);
    assert!(tx.audit_after(0, 100).await.unwrap().is_empty());
    drop(tx);

    // The next writer starts from the rolled-back state, without waiting on a leftover lock.
    let mut tx = write(&store).await;
    assert_eq!(tx.get_user(alice.id).await.unwrap(), None);
    assert_eq!(tx.count_principals().await.unwrap(), 0);
    assert_eq!(tx.audit_head().await.unwrap().0, 0);
    tx.insert_user(&alice).await.unwrap();
    commit(tx).await;
    assert_eq!(
        read(&store).await.get_user(alice.id).await.unwrap(),
        Some(alice)
    );
}
contract!(
    dropped_write_rolls_back =>
    dropped_write_rolls_back_sqlite,
    dropped_write_rolls_back_postgres,
);

async fn commit_is_visible_to_later_reads(store: Arc<dyn Store>) {
    let alice = user(10, "alice@x.com", "Alice");
    let mut tx = write(&store).await;
    tx.insert_user(&alice).await.unwrap();

    // Not visible to others before the commit.
    let mut other = read(&store).await;
    assert_eq!(other.get_user(alice.id).await.unwrap(), None);
    assert_eq!(other.count_principals().await.unwrap(), 0);
    drop(other);

    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(tx.get_user(alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(tx.count_principals().await.unwrap(), 1);
    drop(tx);
    let mut tx = write(&store).await;
    assert_eq!(
        tx.get_user(alice.id).await.unwrap(),
        Some(alice.clone()),
        "and to the next writer"
    );
    drop(tx);

    // Several reads may be open at once, also while a write is in progress.
    let mut r1 = read(&store).await;
    let mut w = write(&store).await;
    let mut r2 = read(&store).await;
    w.insert_user(&user(11, "bob@x.com", "Bob")).await.unwrap();
    assert_eq!(r1.count_principals().await.unwrap(), 1);
    assert_eq!(r2.count_principals().await.unwrap(), 1);
    commit(w).await;
    drop((r1, r2));
    assert_eq!(read(&store).await.count_principals().await.unwrap(), 2);
}
contract!(
    commit_is_visible_to_later_reads =>
    commit_is_visible_to_later_reads_sqlite,
    commit_is_visible_to_later_reads_postgres,
);

async fn read_is_a_snapshot(store: Arc<dyn Store>) {
    insert_users(&store, &[user(10, "alice@x.com", "Alice")]).await;

    // A read transaction keeps seeing the state of its first read, whatever commits meanwhile.
    let mut snapshot = read(&store).await;
    assert_eq!(snapshot.count_principals().await.unwrap(), 1);
    insert_users(&store, &[user(11, "bob@x.com", "Bob")]).await;
    assert_eq!(
        snapshot.count_principals().await.unwrap(),
        1,
        "a read transaction is a snapshot"
    );
    assert_eq!(snapshot.get_user(id(11)).await.unwrap(), None);
    drop(snapshot);
    assert_eq!(read(&store).await.count_principals().await.unwrap(), 2);
}
contract!(
    read_is_a_snapshot =>
    read_is_a_snapshot_sqlite,
    read_is_a_snapshot_postgres,
);

async fn read_refuses_writes(store: Arc<dyn Store>) {
    insert_users(&store, &[user(10, "alice@x.com", "Alice")]).await;
    let mut tx = read(&store).await;
    assert!(
        tx.insert_user(&user(12, "carol@x.com", "Carol"))
            .await
            .is_err(),
        "a read transaction refuses writes"
    );
    let _ = tx.commit().await;
    let mut tx = read(&store).await;
    assert_eq!(tx.get_user(id(12)).await.unwrap(), None);
    assert_eq!(tx.count_principals().await.unwrap(), 1);
}
contract!(
    read_refuses_writes =>
    read_refuses_writes_sqlite,
    read_refuses_writes_postgres,
);
