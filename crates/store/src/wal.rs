//! SQLite's WAL is copied back into the database file (a checkpoint) by a task of its own, on
//! its own connection, rather than by the writer inside a commit.
//!
//! By default SQLite checkpoints from the committing connection whenever the WAL passes 1,000
//! pages: under a steady stream of activations that was every second batch, each time copying
//! and syncing pages the next commits dirtied again, all on the one writer every write waits
//! for. Here the task runs PASSIVE checkpoints, which never block the writer or a reader, once
//! a second while the writer goes on, and the writer checkpoints only when the WAL has grown
//! far past that. A checkpoint changes nothing about durability: a commit is on disk in the WAL
//! before it is acknowledged either way.
//!
//! Why a second and why far (BENCHMARKS.md, "The WAL's checkpoints, rarer"): on a small VM's
//! disk every checkpoint slows the commits it overlaps (its writes and its sync of the file
//! share the disk with their syncs of the WAL), so fewer, larger passes mean fewer slow
//! commits. And under a steady stream SQLite never writes the WAL from its start again: that
//! happens only when a write transaction begins with every frame already copied, and the next
//! batch always begins right after the last commit, before the task copies it. So the WAL grows
//! until the writer's own checkpoint copies the tail inside a commit, a stall of 40–130 ms on
//! that disk however little is left to copy; at 16,000 pages that was every 60th batch, which
//! was the p99. At [`WRITER_AUTOCHECKPOINT`] it is about every 250th, and the WAL file is
//! bounded by [`WAL_SIZE_LIMIT`] once it starts over.

use std::time::Duration;

use sqlx::sqlite::SqlitePool;
use tokio::sync::oneshot;

/// The writer's own checkpoint threshold, in pages (4 KiB each, so 256 MiB of WAL): where the
/// WAL starts over under a steady stream of writes, and the safety net should the task fall
/// behind or stop.
pub(crate) const WRITER_AUTOCHECKPOINT: u32 = 65_536;
/// What the WAL file is cut back to when it starts over, in bytes: it grows past
/// [`WRITER_AUTOCHECKPOINT`] only while a checkpoint cannot finish (a long read), and then
/// gives the disk back.
pub(crate) const WAL_SIZE_LIMIT: u64 = 2 * WRITER_AUTOCHECKPOINT as u64 * 4096;
/// How often the task checkpoints (a PASSIVE checkpoint of an idle WAL costs a few reads).
const EVERY: Duration = Duration::from_secs(1);

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
