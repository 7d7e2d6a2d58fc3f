//! Group commit: concurrent write transactions share one database transaction and one fsync.
//!
//! Writes are serial anyway (one SQLite writer; on PostgreSQL the audit head's row lock), so
//! the cost of a write is its statements plus a COMMIT that waits for the disk. Here the
//! writers that queue up while one runs join the same open database transaction, one after
//! the other, each inside a savepoint of its own; the last of them commits for all. Nothing
//! changes for a use case: it still loads, decides and writes alone (no other writer runs
//! meanwhile), and its `commit` returns only once the batch is durable and its changes have
//! reached the access index, so nothing is answered before it is on disk.
//!
//! - A member that fails (an error, a refused decision, a dropped request) is rolled back to
//!   its savepoint alone; the others go on. The first member of a batch needs no savepoint:
//!   when it fails, there is nothing else in the transaction.
//! - The batch commits when nobody else is waiting to write, when it holds `MAX_MEMBERS` (or the configured limit), or
//!   after a member whose changes may take access away (see `SqlTx::narrows`). The index is
//!   updated only after COMMIT, so the members after such a change would otherwise be
//!   authorized by access it no longer gives; after an addition they can at worst be refused
//!   access that a concurrent, not yet answered request was granting them.
//! - COMMIT, the report to the listener and the answers run in a task of their own, so a
//!   caller that goes away mid-commit cannot leave the others without an answer. A failed
//!   COMMIT fails every member (none was answered).
//! - Liveness: a member hands the open batch over only while another writer is counted as
//!   waiting; a waiter that gives up before its turn leaves a closer in its place, which
//!   commits the batch when nobody else is left to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::Db;
use crate::changes::{Change, Journal};
use crate::{Result, StoreError};

/// By default at most this many members commit together: an early member waits for the ones
/// after it (`Store::limit_group_commit` changes it; 1 turns group commit off).
pub(crate) const MAX_MEMBERS: usize = 32;
const SAVEPOINT: &str = "SAVEPOINT eligo_member";
const RELEASE: &str = "RELEASE SAVEPOINT eligo_member";
const ROLLBACK_MEMBER: &str = "ROLLBACK TO SAVEPOINT eligo_member";

type Slot = Option<Open>;

/// One store's writer side: the batch open now (if any) and who waits for it.
pub(crate) struct Batcher {
    slot: Arc<Mutex<Slot>>,
    shared: Arc<Shared>,
}

struct Shared {
    journal: Arc<Journal>,
    /// Writers blocked on the slot (each counted by a `Waiting`).
    waiting: AtomicUsize,
    max_members: AtomicUsize,
    commits: AtomicU64,
    members: AtomicU64,
}

/// The open database transaction and the members in it that are done.
pub(crate) struct Open {
    pub(crate) tx: sqlx::Transaction<'static, Db>,
    done: Vec<Done>,
    /// The running member set a savepoint (every member after the first does).
    savepoint: bool,
}

/// A member that released its savepoint and waits for the batch's outcome.
struct Done {
    changes: Vec<Change>,
    seq: Option<u64>,
    /// None for the member that commits (it is answered by its own call).
    answer: Option<oneshot::Sender<Result<(), Failed>>>,
}

/// Why a batch failed, for every member of it (the database error itself is not `Clone`).
#[derive(Debug, Clone)]
struct Failed {
    message: String,
    unreachable: bool,
}

impl From<&StoreError> for Failed {
    fn from(e: &StoreError) -> Self {
        Failed {
            message: e.to_string(),
            unreachable: e.is_unreachable(),
        }
    }
}

impl From<Failed> for StoreError {
    fn from(f: Failed) -> Self {
        StoreError::Batch {
            message: f.message,
            unreachable: f.unreachable,
        }
    }
}

/// Counts a writer as waiting until it holds the slot or gives up; one that gives up leaves a
/// closer behind, since a member may have handed the batch over counting on it.
struct Waiting {
    slot: Arc<Mutex<Slot>>,
    shared: Arc<Shared>,
    acquired: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.shared.waiting.fetch_sub(1, Ordering::AcqRel);
        if !self.acquired
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(close_if_idle(self.slot.clone(), self.shared.clone()));
        }
    }
}

/// Commits the open batch unless another writer is waiting to continue it.
async fn close_if_idle(slot: Arc<Mutex<Slot>>, shared: Arc<Shared>) {
    let guard = slot.lock_owned().await;
    if guard.is_some() && shared.waiting.load(Ordering::Acquire) == 0 {
        let _ = commit_batch(guard, shared).await;
    }
}

impl Batcher {
    pub(crate) fn new(journal: Arc<Journal>) -> Self {
        Batcher {
            slot: Arc::new(Mutex::new(None)),
            shared: Arc::new(Shared {
                journal,
                waiting: AtomicUsize::new(0),
                max_members: AtomicUsize::new(MAX_MEMBERS),
                commits: AtomicU64::new(0),
                members: AtomicU64::new(0),
            }),
        }
    }

    /// Joins the open batch, or opens one with `begin` (which also takes whatever lock and
    /// catch-up a write transaction needs first).
    pub(crate) async fn join<F>(&self, begin: F) -> Result<Member>
    where
        F: AsyncFnOnce() -> Result<sqlx::Transaction<'static, Db>>,
    {
        self.shared.waiting.fetch_add(1, Ordering::AcqRel);
        let mut waiting = Waiting {
            slot: self.slot.clone(),
            shared: self.shared.clone(),
            acquired: false,
        };
        let guard = self.slot.clone().lock_owned().await;
        waiting.acquired = true;
        drop(waiting);
        // From here a dropped future leaves a member, whose drop rolls back what it began.
        let mut member = Member {
            guard: Some(guard),
            shared: self.shared.clone(),
        };
        let slot = member.guard.as_mut().expect("held until finished");
        match slot.as_mut() {
            None => {
                let tx = begin().await?;
                **slot = Some(Open {
                    tx,
                    done: Vec::new(),
                    savepoint: false,
                });
            }
            Some(open) => {
                open.savepoint = true;
                sqlx::query(SAVEPOINT).execute(&mut *open.tx).await?;
            }
        }
        Ok(member)
    }

    pub(crate) fn limit(&self, max_members: usize) {
        self.shared
            .max_members
            .store(max_members.max(1), Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> crate::GroupCommits {
        crate::GroupCommits {
            commits: self.shared.commits.load(Ordering::Relaxed),
            members: self.shared.members.load(Ordering::Relaxed),
            waiting: self.shared.waiting.load(Ordering::Relaxed) as u64,
        }
    }
}

/// One use case's turn in the open batch: holds the slot until it commits or is dropped.
pub(crate) struct Member {
    guard: Option<OwnedMutexGuard<Slot>>,
    shared: Arc<Shared>,
}

impl Member {
    pub(crate) fn open(&self) -> &Open {
        self.guard
            .as_ref()
            .and_then(|g| g.as_ref())
            .expect("a member holds an open batch until it finishes")
    }

    pub(crate) fn open_mut(&mut self) -> &mut Open {
        self.guard
            .as_mut()
            .and_then(|g| g.as_mut())
            .expect("a member holds an open batch until it finishes")
    }

    /// Ends this member's work as part of the batch: `changes` (numbered `seq` in the change
    /// log) reach the listener after the batch's COMMIT. Returns once the batch is durable.
    pub(crate) async fn commit(
        mut self,
        changes: Vec<Change>,
        seq: Option<u64>,
        narrows: bool,
    ) -> Result<()> {
        let shared = self.shared.clone();
        let open = self.open_mut();
        if open.savepoint {
            sqlx::query(RELEASE).execute(&mut *open.tx).await?;
            open.savepoint = false;
        }
        let hand_over = !narrows
            && open.done.len() + 1 < shared.max_members.load(Ordering::Relaxed)
            && shared.waiting.load(Ordering::Acquire) > 0;
        if hand_over {
            let (answer, outcome) = oneshot::channel();
            open.done.push(Done {
                changes,
                seq,
                answer: Some(answer),
            });
            // The next writer continues the batch (or its closer commits it).
            self.guard = None;
            return match outcome.await {
                Ok(result) => result.map_err(StoreError::from),
                Err(_) => Err(StoreError::Batch {
                    message: "the batch ended without an outcome".into(),
                    unreachable: false,
                }),
            };
        }
        open.done.push(Done {
            changes,
            seq,
            answer: None,
        });
        let guard = self.guard.take().expect("held until finished");
        match tokio::spawn(commit_batch(guard, shared)).await {
            Ok(result) => result,
            Err(e) => Err(StoreError::Batch {
                message: format!("the commit task failed: {e}"),
                unreachable: false,
            }),
        }
    }
}

impl Drop for Member {
    /// A member dropped before `commit` (an error, a refusal, a request gone away): its work
    /// is rolled back to its savepoint and the batch goes on, in a task since that awaits.
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(abandon(guard, self.shared.clone()));
        }
    }
}

/// Undoes the running member's work; the batch continues with the next writer, or commits.
async fn abandon(mut guard: OwnedMutexGuard<Slot>, shared: Arc<Shared>) {
    let Some(open) = guard.as_mut() else {
        return;
    };
    if open.done.is_empty() {
        // The first member: the transaction is only its own (dropping it rolls it back).
        *guard = None;
        return;
    }
    if let Err(e) = undo_member(&mut open.tx).await {
        fail_batch(guard, &e);
        return;
    }
    open.savepoint = false;
    if shared.waiting.load(Ordering::Acquire) == 0 {
        let _ = commit_batch(guard, shared).await;
    }
}

async fn undo_member(tx: &mut sqlx::Transaction<'static, Db>) -> Result<()> {
    sqlx::query(ROLLBACK_MEMBER).execute(&mut **tx).await?;
    sqlx::query(RELEASE).execute(&mut **tx).await?;
    Ok(())
}

/// Rolls the whole batch back and tells every member it failed.
fn fail_batch(mut guard: OwnedMutexGuard<Slot>, why: &StoreError) {
    let failed = Failed::from(why);
    if let Some(open) = guard.take() {
        for done in open.done {
            if let Some(answer) = done.answer {
                let _ = answer.send(Err(failed.clone()));
            }
        }
    }
}

/// COMMIT, then every member's changes to the listener in order, then the answers; the slot
/// is released only after the report, so the next writer decides on an index that has them.
async fn commit_batch(mut guard: OwnedMutexGuard<Slot>, shared: Arc<Shared>) -> Result<()> {
    let Some(Open { tx, done, .. }) = guard.take() else {
        return Ok(());
    };
    let journal = &shared.journal;
    let listener = journal
        .listener()
        .filter(|_| done.iter().any(|d| !d.changes.is_empty()));
    let order = match &listener {
        Some(_) => Some(journal.order.lock().await),
        None => None,
    };
    if let Err(e) = tx.commit().await {
        let e = StoreError::from(e);
        let failed = Failed::from(&e);
        for d in done {
            if let Some(answer) = d.answer {
                let _ = answer.send(Err(failed.clone()));
            }
        }
        return Err(e);
    }
    if let Some(listener) = &listener {
        for d in done.iter().filter(|d| !d.changes.is_empty()) {
            journal.report(&d.changes, d.seq, listener).await;
        }
    }
    drop(order);
    drop(guard);
    shared.commits.fetch_add(1, Ordering::Relaxed);
    shared
        .members
        .fetch_add(done.len() as u64, Ordering::Relaxed);
    for d in done {
        if let Some(answer) = d.answer {
            let _ = answer.send(Ok(()));
        }
    }
    Ok(())
}
