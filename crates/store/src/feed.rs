//! Following the change log (PostgreSQL): how a server's index sees the other servers' commits.
//!
//! Every write transaction that changed who can reach what takes the next `change_seq` under
//! the head lock and writes its changes to `change_log` (so the numbers are gap-free and in
//! commit order), and NOTIFYs `eligo_changes`. Each server applies the log in number order:
//! - its own commits directly after COMMIT when nothing came between (`committed_here`),
//!   otherwise by reading the log up to its own number first;
//! - the others' when woken by a notification, or by the heartbeat every [`HEARTBEAT`], which
//!   also confirms that nothing was missed (a lost notification, a reconnect): one read of the
//!   head number when idle.
//!
//! `confirmed` is the last moment this server knew it had applied everything committed; the
//! server refuses to answer from its index when that is older than its staleness bound, and
//! before authorizing a request it waits until the index has reached the head number read in
//! the request's own snapshot (`Store::caught_up`). A hole in the numbers (pruned while this
//! server was cut off) is never papered over: the feed reports a gap and the server rebuilds its
//! index from the tables.
//!
//! The feed's connections are its own (a pool of two), so writers waiting on the head lock can
//! never starve the reads that would let them finish.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgListener, PgPool};

use crate::changes::{Change, Journal, Listener};
use crate::{Result, StoreError};

/// How often an idle server asks for the head number (and so how fresh it can prove to be).
pub const HEARTBEAT: Duration = Duration::from_millis(200);
/// Log entries read per statement while catching up.
const BATCH: i64 = 1000;
/// The NOTIFY channel.
pub(crate) const CHANNEL: &str = "eligo_changes";
/// Log entries older than this are pruned (a server cut off longer rebuilds its index).
const KEEP_MICROS: i64 = 3_600_000_000;

/// Where this server's index stands in the store's order of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStatus {
    /// The last change number this server's index applied.
    pub applied: u64,
    /// The newest change number this server knows was committed.
    pub head: u64,
    /// How long ago this server last knew it had applied everything committed (None: never).
    pub confirmed_ago: Option<Duration>,
    /// The log no longer holds changes this server needs: its index must be rebuilt.
    pub gap: bool,
    /// The last error reading the log or listening, if the latest attempt failed.
    pub error: Option<String>,
    /// Log entries this server's writers applied themselves, read with the head lock
    /// (`Feed::apply_missed`), since the store was opened.
    pub applied_by_writers: u64,
    /// Writes that, holding the head lock, still had to wait for the follower (what they read
    /// with the lock did not bring the index to the head), since the store was opened.
    pub writers_waited: u64,
}

pub(crate) struct Feed {
    pool: PgPool,
    applied: tokio::sync::watch::Sender<u64>,
    head: AtomicU64,
    confirmed: Mutex<Option<Instant>>,
    error: Mutex<Option<String>>,
    gap: AtomicBool,
    wake: tokio::sync::Notify,
    started: AtomicBool,
    applied_by_writers: AtomicU64,
    writers_waited: AtomicU64,
}

/// Real elapsed time: staleness is about this process's view of the database, not the domain
/// clock (which tests move by hand).
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

impl Feed {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self {
            pool,
            applied: tokio::sync::watch::Sender::new(0),
            head: AtomicU64::new(0),
            confirmed: Mutex::new(None),
            error: Mutex::new(None),
            gap: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
            started: AtomicBool::new(false),
            applied_by_writers: AtomicU64::new(0),
            writers_waited: AtomicU64::new(0),
        }
    }

    fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    fn set_applied(&self, seq: u64) {
        self.applied.send_replace(seq);
        self.head.fetch_max(seq, Ordering::AcqRel);
    }

    fn set_error(&self, error: Option<String>) {
        *self.error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }

    pub(crate) fn status(&self) -> FeedStatus {
        let confirmed = *self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        FeedStatus {
            applied: self.applied(),
            head: self.head.load(Ordering::Acquire).max(self.applied()),
            confirmed_ago: confirmed.map(|at| now().saturating_duration_since(at)),
            gap: self.gap.load(Ordering::Acquire),
            error: self.error.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            applied_by_writers: self.applied_by_writers.load(Ordering::Relaxed),
            writers_waited: self.writers_waited.load(Ordering::Relaxed),
        }
    }

    /// Starts following from `from` (the head number read in the snapshot the index was built
    /// from): the follower and the notification listener run until the journal is dropped or
    /// the pool closed.
    pub(crate) fn follow_from(self: &Arc<Self>, journal: &Arc<Journal>, from: u64) {
        self.applied.send_replace(from);
        self.head.store(from, Ordering::Release);
        self.gap.store(false, Ordering::Release);
        *self.confirmed.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.wake.notify_one();
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        tokio::spawn(follow(self.clone(), Arc::downgrade(journal)));
        tokio::spawn(listen(self.clone()));
    }

    /// Has a listener asked to follow the log (`Store::listen`)?
    pub(crate) fn is_following(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Waits until the index has applied change `head` (at most `within`): false when it
    /// could not (the database is unreachable, the feed has a gap, or it is too far behind).
    pub(crate) async fn caught_up(&self, head: u64, within: Duration) -> bool {
        if self.gap.load(Ordering::Acquire) {
            return false;
        }
        self.head.fetch_max(head, Ordering::AcqRel);
        if self.applied() >= head {
            return true;
        }
        self.wake.notify_one();
        let mut applied = self.applied.subscribe();
        matches!(
            tokio::time::timeout(within, applied.wait_for(|a| *a >= head)).await,
            Ok(Ok(_))
        )
    }

    /// The statement a writer sends right after it took the head lock, in the same round trip
    /// (a later statement of one text reads with a snapshot of its own, so it sees what the
    /// transaction it waited for committed): the log entries this server has not applied, up
    /// to the head it now holds. See `apply_missed`.
    pub(crate) fn missed_query(&self) -> String {
        format!(
            "SELECT seq, body FROM change_log WHERE seq > {} AND seq <= \
             (SELECT change_seq FROM audit_head WHERE id = 1) ORDER BY seq LIMIT {BATCH}",
            self.applied()
        )
    }

    /// Applies log entries a writer read under the head lock (`missed_query`), so that it need
    /// not wait for the follower to read them again, as the follower would (`apply_read`): in
    /// number order, skipping what was applied meanwhile; a hole is a gap and an unreadable
    /// entry an error, either of which the writer's `caught_up` then reports.
    pub(crate) async fn apply_missed(
        &self,
        journal: &Journal,
        entries: &[(i64, String)],
        head: u64,
    ) {
        self.head.fetch_max(head, Ordering::AcqRel);
        if entries.is_empty() || self.gap.load(Ordering::Acquire) {
            return;
        }
        let Some(listener) = journal.listener() else {
            return;
        };
        let _order = journal.order.lock().await;
        let before = self.applied();
        if let Err(e) = self.apply_read(entries, head, &listener) {
            self.set_error(Some(e.to_string()));
        }
        self.applied_by_writers
            .fetch_add(self.applied() - before, Ordering::Relaxed);
    }

    /// A writer holding the head lock waits for the index to reach `head` (`caught_up`),
    /// counted when the index was not there yet (`FeedStatus::writers_waited`).
    pub(crate) async fn writer_caught_up(&self, head: u64, within: Duration) -> bool {
        if self.applied() < head {
            self.writers_waited.fetch_add(1, Ordering::Relaxed);
        }
        self.caught_up(head, within).await
    }

    /// This server committed change `seq`, and holds the commit-order lock: report it now if
    /// everything before it is applied, else read the log up to it first. A failure leaves the
    /// rest to the follower (the commit stands; the index is behind until the log is read).
    pub(crate) async fn committed_here(&self, seq: u64, changes: &[Change], listener: &Listener) {
        self.head.fetch_max(seq, Ordering::AcqRel);
        let applied = self.applied();
        if seq <= applied {
            return;
        }
        if applied + 1 == seq && !self.gap.load(Ordering::Acquire) {
            listener(changes);
            self.set_applied(seq);
            return;
        }
        if self.read_log(listener, None).await.is_err() {
            self.wake.notify_one();
        }
    }

    /// Reads the head number, then every entry after the applied one up to it, and applies
    /// them. `order`: the commit-order lock, taken for each read's entries only, so that a
    /// writer is never kept waiting for it while the log is read (the follower); None when the
    /// caller holds it already (a commit of this server's). Entries applied meanwhile by
    /// someone else (this server's commit, a writer's `apply_missed`) are skipped. When it
    /// reached the head, the index is confirmed current as of the moment before the head was
    /// read.
    async fn read_log(
        &self,
        listener: &Listener,
        order: Option<&tokio::sync::Mutex<()>>,
    ) -> Result<()> {
        let started = now();
        let head: i64 = sqlx::query_scalar("SELECT change_seq FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let head = head as u64;
        self.head.fetch_max(head, Ordering::AcqRel);
        while self.applied() < head {
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT seq, body FROM change_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
            )
            .bind(self.applied() as i64)
            .bind(head as i64)
            .bind(BATCH)
            .fetch_all(&self.pool)
            .await?;
            let _order = match order {
                Some(order) => Some(order.lock().await),
                None => None,
            };
            self.apply_read(&rows, head, listener)?;
        }
        *self.confirmed.lock().unwrap_or_else(|e| e.into_inner()) = Some(started);
        Ok(())
    }

    /// Applies one read of the log (entries after some earlier applied number, up to `head`);
    /// the caller holds the commit-order lock. A hole is a gap: reported, never skipped.
    fn apply_read(&self, rows: &[(i64, String)], head: u64, listener: &Listener) -> Result<()> {
        for (seq, body) in rows {
            let seq = *seq as u64;
            if seq <= self.applied() {
                continue;
            }
            if seq != self.applied() + 1 {
                self.gap.store(true, Ordering::Release);
                return Err(StoreError::Corrupt(format!(
                    "change log: entry {} is gone (pruned while this server was behind)",
                    self.applied() + 1
                )));
            }
            let changes: Vec<Change> = serde_json::from_str(body)
                .map_err(|e| StoreError::Corrupt(format!("change log entry {seq}: {e}")))?;
            listener(&changes);
            self.set_applied(seq);
        }
        if rows.is_empty() && self.applied() < head {
            self.gap.store(true, Ordering::Release);
            return Err(StoreError::Corrupt(format!(
                "change log: entries after {} are gone (pruned while this server was behind)",
                self.applied()
            )));
        }
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    async fn prune(&self) -> Result<()> {
        sqlx::query(
            "DELETE FROM change_log WHERE created_at < \
             (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT - $1",
        )
        .bind(KEEP_MICROS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Applies the log whenever woken (a notification, a waiting request) or on the heartbeat.
async fn follow(feed: Arc<Feed>, journal: Weak<Journal>) {
    let mut rounds: u64 = 0;
    loop {
        tokio::select! {
            _ = feed.wake.notified() => {}
            _ = tokio::time::sleep(HEARTBEAT) => {}
        }
        let Some(journal) = journal.upgrade() else {
            return;
        };
        if feed.pool.is_closed() {
            return;
        }
        if feed.gap.load(Ordering::Acquire) {
            continue;
        }
        let Some(listener) = journal.listener() else {
            continue;
        };
        let result = feed.read_log(&listener, Some(&journal.order)).await;
        feed.set_error(result.err().map(|e| e.to_string()));
        rounds += 1;
        // About once a minute, whichever server does it first.
        if rounds.is_multiple_of(300) {
            let _ = feed.prune().await;
        }
    }
}

/// LISTEN on its own connection; every notification (and every reconnect, after which some may
/// have been lost) wakes the follower.
async fn listen(feed: Arc<Feed>) {
    loop {
        if feed.pool.is_closed() {
            return;
        }
        let mut listener = match PgListener::connect_with(&feed.pool).await {
            Ok(l) => l,
            Err(_) => {
                tokio::time::sleep(HEARTBEAT).await;
                continue;
            }
        };
        if listener.listen(CHANNEL).await.is_err() {
            tokio::time::sleep(HEARTBEAT).await;
            continue;
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) => {
                    if let Ok(seq) = note.payload().parse::<u64>() {
                        feed.head.fetch_max(seq, Ordering::AcqRel);
                    }
                    feed.wake.notify_one();
                }
                // The connection dropped; the next call reconnects. Whatever was sent
                // meanwhile is read from the log.
                Ok(None) => feed.wake.notify_one(),
                Err(_) => {
                    feed.wake.notify_one();
                    break;
                }
            }
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A feed that has applied up to `applied`, its pool never connected, and a journal whose
    /// listener records the principals deleted (one per entry below), in the order applied.
    fn feed_at(applied: u64) -> (Arc<Feed>, Arc<Journal>, Arc<Mutex<Vec<u128>>>) {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://127.0.0.1:1/never")
            .expect("a lazy pool");
        let feed = Arc::new(Feed::new(pool));
        feed.set_applied(applied);
        let journal = Arc::new(Journal::following(feed.clone()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        journal.set(Arc::new(move |changes: &[Change]| {
            for change in changes {
                if let Change::PrincipalDeleted(id) = change {
                    sink.lock().unwrap().push(id.as_u128());
                }
            }
        }));
        (feed, journal, seen)
    }

    /// Log entry `seq`, deleting principal `seq` (any change would do).
    fn entry(seq: i64) -> (i64, String) {
        let changes = vec![Change::PrincipalDeleted(uuid::Uuid::from_u128(seq as u128))];
        (seq, serde_json::to_string(&changes).unwrap())
    }

    #[tokio::test]
    async fn a_writer_applies_what_it_read_in_order_skipping_what_the_follower_did() {
        let (feed, journal, seen) = feed_at(5);
        // 4 and 5 were applied by the follower meanwhile; 6 and 7 are new.
        let entries = [entry(4), entry(5), entry(6), entry(7)];
        feed.apply_missed(&journal, &entries, 7).await;
        assert_eq!(*seen.lock().unwrap(), vec![6, 7]);
        assert_eq!(feed.applied(), 7);
        assert!(feed.writer_caught_up(7, Duration::from_millis(1)).await);
        let status = feed.status();
        assert_eq!((status.applied_by_writers, status.writers_waited), (2, 0));
    }

    #[tokio::test]
    async fn a_hole_is_a_gap_and_an_unreadable_entry_an_error() {
        let (feed, journal, seen) = feed_at(5);
        let unreadable = (6, "not json".to_string());
        feed.apply_missed(&journal, &[unreadable, entry(7)], 7)
            .await;
        assert!(
            seen.lock().unwrap().is_empty(),
            "nothing after an entry it cannot read"
        );
        let status = feed.status();
        assert_eq!((status.applied, status.head, status.gap), (5, 7, false));
        assert!(status.error.unwrap().contains("change log entry 6"));

        // 7 is missing: 6 is applied, 8 is not, and the feed has a gap.
        feed.apply_missed(&journal, &[entry(6), entry(8)], 8).await;
        assert_eq!(*seen.lock().unwrap(), vec![6]);
        let status = feed.status();
        assert_eq!((status.applied, status.head, status.gap), (6, 8, true));
        assert!(!feed.writer_caught_up(8, Duration::from_millis(1)).await);
        let status = feed.status();
        assert_eq!((status.applied_by_writers, status.writers_waited), (1, 1));
    }

    #[tokio::test]
    async fn a_feed_with_a_gap_applies_nothing_more() {
        let (feed, journal, seen) = feed_at(5);
        feed.gap.store(true, Ordering::Release);
        feed.apply_missed(&journal, &[entry(6)], 6).await;
        assert!(seen.lock().unwrap().is_empty());
        assert!(!feed.caught_up(6, Duration::from_millis(1)).await);
    }
}
