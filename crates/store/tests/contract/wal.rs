//! SQLite's WAL is copied into the database file by the store's own checkpoint task, not by
//! the writer inside a commit (see `wal.rs` in the store): after writes that fill well over
//! SQLite's default checkpoint threshold and far under the writer's own, the database file
//! grows, which only a checkpoint does. Without the task the WAL would grow to the writer's
//! threshold before anything was copied. And once the task has copied it all, the next writes
//! start the WAL over rather than lengthen it.

use std::path::PathBuf;

use eligo_core::audit::Category;

use crate::common::*;

fn size(path: &PathBuf) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The WAL's last frame and how many of its frames are copied into the database, from the WAL
/// index (the `-shm` file; SQLite's file format documentation, "WAL-index Format": `mxFrame`
/// at byte 16 of the header, `nBackfill` at byte 96, both in the machine's byte order).
fn frames(shm: &PathBuf) -> (u32, u32) {
    let bytes = std::fs::read(shm).unwrap_or_default();
    let at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map_or(0, |b| u32::from_ne_bytes(b.try_into().unwrap()))
    };
    (at(16), at(96))
}

async fn write_users(store: &std::sync::Arc<dyn eligo_store::Store>, from: u128) {
    for batch in 0..30u128 {
        let mut tx = write(store).await;
        for n in 0..100u128 {
            let k = from + batch * 100 + n;
            tx.insert_user(&user(1_000 + k, &format!("u{k}@x.com"), &"U".repeat(2_000)))
                .await
                .unwrap();
            tx.append_audit(event(k as i64, Category::UserManagement, "Add user"))
                .await
                .unwrap();
        }
        commit(tx).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_wal_is_checkpointed_off_the_writer() {
    let db = SqliteDb::new("wal_checkpointed");
    let store = open(&db.url, "sqlite").await;
    let file = PathBuf::from(db.url.trim_start_matches("sqlite://"));
    let wal = PathBuf::from(format!("{}-wal", file.display()));
    let before = size(&file);
    let shm = PathBuf::from(format!("{}-shm", file.display()));
    // About 11,000 pages of WAL (45 MiB): over SQLite's default threshold of 1,000, under the
    // writer's.
    write_users(&store, 0).await;
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
    within("the checkpoint task copies all of the WAL", async {
        loop {
            let (last, copied) = frames(&shm);
            if last > 0 && copied == last {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    // As many writes again: the WAL starts over from its first frame, so its file is no longer
    // than after the first writes (it would be twice as long had it gone on).
    write_users(&store, 3_000).await;
    let again = size(&wal);
    assert!(
        again <= written + written / 10,
        "the WAL started over: {again} bytes after {written}"
    );
    let mut tx = read(&store).await;
    assert_eq!(tx.count_principals().await.unwrap(), 6_000);
    drop(tx);
    store.close().await;
}
