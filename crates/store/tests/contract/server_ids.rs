//! One live server per server id (PostgreSQL; `Store::hold_server_id`): two stores opened on
//! one database stand for two servers. The second cannot hold an id the first holds, whatever
//! it waits; it can hold another; and once the first has closed (or its session ended, as a
//! killed server's does) the id is free again. On SQLite there is nothing to hold: one server
//! per file.

use eligo_store::StoreError;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_id_is_held_by_one_live_server_at_a_time() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let a = open(&url, "postgres").await;
    let b = open(&url, "postgres").await;
    a.hold_server_id("node-1").await.unwrap();

    // After waiting a moment for a session that may be ending, it says who holds the id.
    let refused = b.hold_server_id("node-1").await.unwrap_err();
    let StoreError::ServerIdInUse { server_id, holder } = &refused else {
        panic!("{refused:?}");
    };
    assert_eq!(server_id, "node-1");
    assert!(holder.starts_with("PostgreSQL session "), "{holder}");
    assert!(refused.to_string().contains("ELIGO_SERVER_ID"), "{refused}");

    // Another id is another lock.
    b.hold_server_id("node-2").await.unwrap();
    // The first server stops: its id is free for the next one to start with it. A store holds
    // one id: taking node-1 lets node-2 go.
    a.close().await;
    b.hold_server_id("node-1").await.unwrap();

    let c = open(&url, "postgres").await;
    assert!(matches!(
        c.hold_server_id("node-1").await,
        Err(StoreError::ServerIdInUse { .. })
    ));
    c.hold_server_id("node-2").await.unwrap();
    b.close().await;
    c.close().await;
    eligo_testkit::drop_postgres_database(&url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_has_no_server_id_to_hold() {
    let db = SqliteDb::new("server_ids");
    let store = open(&db.url, "sqlite").await;
    store.hold_server_id("node-1").await.unwrap();
    store.hold_server_id("node-1").await.unwrap();
    store.close().await;
}

/// Polls `what` every 100 ms for up to `seconds`.
async fn eventually(seconds: u64, what: impl Fn() -> bool) -> bool {
    for _ in 0..seconds * 10 {
        if what() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    what()
}

/// A server cut off from the database loses the session that held its id. If another server
/// starts with that id meanwhile, the first learns it when it reconnects (`server_id_taken`:
/// it then claims no outbox job) and takes the id back once the other one stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_whose_id_was_taken_while_it_was_cut_off_says_so_until_it_is_back() {
    use sqlx::Connection;
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let a = open(&url, "postgres").await;
    let b = open(&url, "postgres").await;
    a.hold_server_id("node-1").await.unwrap();
    assert!(!a.server_id_taken());

    // A's session ends as in a network cut; B starts with the same id before A is back.
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'eligo server id'",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    b.hold_server_id("node-1").await.unwrap();
    assert!(eventually(20, || a.server_id_taken()).await);
    assert!(!b.server_id_taken());

    b.close().await;
    assert!(eventually(20, || !a.server_id_taken()).await);
    let c = open(&url, "postgres").await;
    assert!(matches!(
        c.hold_server_id("node-1").await,
        Err(StoreError::ServerIdInUse { .. })
    ));
    a.close().await;
    c.close().await;
    eligo_testkit::drop_postgres_database(&url);
}
