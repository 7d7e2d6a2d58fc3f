//! SQLite's WAL is copied back into the database file (a checkpoint) by a task of its own, on
//! its own connection, rather than by the writer inside a commit.
//!
//! By default SQLite checkpoints from the committing connection whenever the WAL passes 1,000
//! pages: under a steady stream of activations that was every second batch, each time copying
//! and syncing pages the next commits dirtied again, all on the one writer every write waits
//! for. Here the writer only checkpoints when the WAL has grown far past what the task keeps
//! it to (a safety net, should the task fall behind or stop), and the task runs PASSIVE
//! checkpoints, which never block the writer or a reader, while the writer goes on. A
//! checkpoint changes nothing about durability: a commit is on disk in the WAL before it is
//! acknowledged either way.

use std::time::Duration;

use sqlx::sqlite::SqlitePool;
use tokio::sync::oneshot;

/// The writer's own checkpoint threshold, in pages (4 KiB each): the safety net.
pub(crate) const WRITER_AUTOCHECKPOINT: u32 = 16_000;
/// How often the task checkpoints (a PASSIVE checkpoint of an idle WAL costs a few reads).
const EVERY: Duration = Duration::from_millis(100);

/// Stops the task when dropped (with the store).
pub(crate) struct Checkpointer {
    _stop: oneshot::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database `pool` (one read-write connection of its own).
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tokio::time::sleep(EVERY) => {}
                }
                // A failure (the disk full, say) is the writer's to meet at its next commit;
                // here it only means the writer's own checkpoint runs instead.
                let done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await;
                if done.is_err() && pool.is_closed() {
                    break;
                }
            }
            pool.close().await;
        });
        Checkpointer { _stop: stop }
    }
}
