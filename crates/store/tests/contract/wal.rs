//! SQLite's WAL is copied into the database file by the store's own checkpoint task, not by
//! the writer inside a commit (see `wal.rs` in the store): after writes that fill well over
//! SQLite's default checkpoint threshold and far under the writer's own, the database file
//! grows, which only a checkpoint does. Without the task the WAL would grow to the writer's
//! threshold before anything was copied.

use std::path::PathBuf;

use eligo_core::audit::Category;

use crate::common::*;

fn size(path: &PathBuf) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_wal_is_checkpointed_off_the_writer() {
    let db = SqliteDb::new("wal_checkpointed");
    let store = open(&db.url, "sqlite").await;
    let file = PathBuf::from(db.url.trim_start_matches("sqlite://"));
    let wal = PathBuf::from(format!("{}-wal", file.display()));
    let before = size(&file);
    // About 3,000 pages of WAL: over SQLite's default threshold of 1,000, under the writer's.
    for batch in 0..30u128 {
        let mut tx = write(&store).await;
        for n in 0..100u128 {
            let k = batch * 100 + n;
            tx.insert_user(&user(1_000 + k, &format!("u{k}@x.com"), &"U".repeat(2_000)))
                .await
                .unwrap();
            tx.append_audit(event(k as i64, Category::UserManagement, "Add user"))
                .await
                .unwrap();
        }
        commit(tx).await;
    }
    let written = size(&wal);
    assert!(
        written > 4 * 1024 * 1024,
        "the writes went to the WAL: {written} bytes"
    );
    within("the checkpoint task copies the WAL", async {
        while size(&file) < before + 4 * 1024 * 1024 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let mut tx = read(&store).await;
    assert_eq!(tx.count_principals().await.unwrap(), 3_000);
    drop(tx);
    store.close().await;
}
