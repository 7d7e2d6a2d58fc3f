//! Reopening a database: committed data survives, and migrations run again without failing.

use eligo_core::audit::{Category, ChainVerifier};
use eligo_store::{Page, UserQuery};

use crate::common::*;

async fn reopen_keeps_data(url: String) {
    let backend = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let alice = user(10, "alice@x.com", "Alice");
    let bob = user(11, "bob@x.com", "Bob");

    // First run: create the schema and write.
    let store = open(&url, backend).await;
    let mut tx = write(&store).await;
    tx.insert_user(&alice).await.unwrap();
    let first = tx
        .append_audit(event(1_000, Category::UserManagement, "Add user"))
        .await
        .unwrap();
    commit(tx).await;
    drop(store);

    // Second run on the same database: the migrations find their schema, the data is there.
    let store = open(&url, backend).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.get_user(alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(tx.audit_head().await.unwrap(), (1, first.hash.clone()));
    drop(tx);
    let mut tx = write(&store).await;
    tx.insert_user(&bob).await.unwrap();
    let second = tx
        .append_audit(event(2_000, Category::UserManagement, "Add user"))
        .await
        .unwrap();
    assert_eq!(second.previous_hash, first.hash, "the chain continues");
    commit(tx).await;
    store.close().await;
    drop(store);

    // Third run: both runs' data, one valid chain.
    let store = open(&url, backend).await;
    let mut tx = read(&store).await;
    assert_eq!(
        tx.list_users(&UserQuery::default(), Page::ALL)
            .await
            .unwrap(),
        vec![alice, bob]
    );
    let chain = tx.audit_after(0, 1000).await.unwrap();
    assert_eq!(chain, vec![first, second.clone()]);
    assert_eq!(tx.audit_head().await.unwrap(), (2, second.hash));
    drop(tx);
    let mut verifier = ChainVerifier::new();
    chain.iter().for_each(|e| verifier.push(e));
    assert!(verifier.finish(None).valid);
    store.close().await;
}
contract_url!(
    reopen_keeps_data =>
    reopen_keeps_data_sqlite,
    reopen_keeps_data_postgres,
);
