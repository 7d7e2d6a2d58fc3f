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
//!   when it fails, there is nothing else in the transaction. A finished member's savepoint is
//!   released by the next member's own (one round trip for both) or by the COMMIT.
//! - The audit chain is appended once per batch: a finished member hands its sealed entries
//!   and the head after them to the batch (`BatchAudit`), the next member seals onto that head
//!   without reading it, and the entries are inserted, and the head row written, just before
//!   the COMMIT. A member that must read the audit tables inserts what the batch holds first;
//!   should that member then fail, its rollback undoes those inserts too, and they are made
//!   again at the COMMIT.
//! - Reads of what a use case reads on every request and an administrator rarely changes
//!   (role definitions, role settings, notification subscriptions) are kept for the batch's
//!   life (`BatchCache`): no other writer commits while the batch is open, a member's write of
//!   them drops what was kept, and a member's rollback drops all of it. Role definitions are
//!   never changed nor removed once stored, so those a batch read are kept after its COMMIT
//!   too, for every batch after it (`Shared::roles`; not before the COMMIT, since a member
//!   may have read one that the batch itself adds).
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
//! - A writer may say what it will read first (`join`'s question, a `ReadAhead`). A member
//!   about to hand over asks the questions of the writers first in line with its own last
//!   writes (`Member::next_questions`), in the same round trip: the answer is what that writer
//!   would read at its start. On SQLite it is read after those writes, for the first two
//!   writers in line. On PostgreSQL it ends the writes' statement and does not see them, so it
//!   is asked, for the first writer only, when it reads no principal they write
//!   (`Deferred::close_with_question`); otherwise the writer reads for itself. An answer is
//!   given only to the writer whose ticket it carries (`Member::take_handed`); the waiters
//!   queue for the slot in the order they ask, so that is nearly always the next one or the
//!   one after. An answer read before the writes of a member between is dropped when those
//!   writes are of a principal it reads, or when that member ran statements of its own
//!   (`Member::written`).
//! - On SQLite a member with a savepoint of its own that hands over sends its last writes
//!   without waiting for them (`Member::commit_ahead`): the next member, whose answers the
//!   member before read, decides while the database runs them, and waits for them only when
//!   it needs the connection itself (`settle`). Should they fail, that member is undone to its
//!   savepoint (which its statement releases only at its end) and answered alone; the batch's
//!   audit goes back to the head before its entries, and the next member, whose entries were
//!   sealed onto that member's and are not yet in the tables, seals them again
//!   (`SqlTx::ready`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};

use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::Db;
use crate::changes::{Change, Journal};
use crate::{ReadAhead, Result, StoreError};

/// By default at most this many members commit together: an early member waits for the ones
/// after it (`Store::limit_group_commit` changes it; 1 turns group commit off).
pub(crate) const MAX_MEMBERS: usize = 32;
const SAVEPOINT: &str = "SAVEPOINT eligo_member";
/// The previous member's savepoint released and the next one's set, in one round trip.
const NEXT_SAVEPOINT: &str = "RELEASE SAVEPOINT eligo_member; SAVEPOINT eligo_member";
/// The running member undone, and its savepoint gone with it.
const UNDO_MEMBER: &str = "ROLLBACK TO SAVEPOINT eligo_member; RELEASE SAVEPOINT eligo_member";
/// A member whose writes failed after it handed the batch over undone, and a savepoint set
/// for the member running now (see `settle`).
const REDO_MEMBER: &str = "ROLLBACK TO SAVEPOINT eligo_member; RELEASE SAVEPOINT eligo_member; \
     SAVEPOINT eligo_member";
/// At most this many answers read ahead wait in a batch for their writers.
const MAX_HANDED: usize = 4;

type Slot = Option<Open>;

/// One store's writer side: the batch open now (if any) and who waits for it.
pub(crate) struct Batcher {
    slot: Arc<Mutex<Slot>>,
    shared: Arc<Shared>,
}

struct Shared {
    journal: Arc<Journal>,
    /// Writers blocked on the slot (each counted by a `Waiting`), counted as soon as they ask
    /// for it: a member deciding whether to hand the batch over must see them.
    waiting: AtomicUsize,
    /// Of those, the ones already in the slot's queue (tokio's mutex serves its queue in order):
    /// what `GroupCommits::waiting` reports, so a caller that sees n waiting knows their order.
    queued: AtomicUsize,
    max_members: AtomicUsize,
    commits: AtomicU64,
    members: AtomicU64,
    /// The waiting writers in the order they asked for the slot, each with its ticket and what
    /// it will read first (see the module's comment).
    queue: SyncMutex<VecDeque<(u64, Option<Arc<ReadAhead>>)>>,
    tickets: AtomicU64,
    answered_ahead: AtomicU64,
    sent_ahead: AtomicU64,
    /// Role definitions committed batches read (see the module's comment).
    roles: SyncMutex<HashMap<uuid::Uuid, eligo_core::roles::RoleDefinition>>,
}

impl Shared {
    fn leave_queue(&self, ticket: u64) {
        let mut queue = self.queue.lock().expect("queue lock");
        if let Some(at) = queue.iter().position(|(t, _)| *t == ticket) {
            queue.remove(at);
        }
    }
}

/// The answer to a waiting writer's question, read by a member before it.
pub(crate) struct Handed {
    pub(crate) ticket: u64,
    pub(crate) question: Arc<ReadAhead>,
    pub(crate) answers: super::shared::Answers,
}

/// A waiting writer's question sent with a member's last writes; its rows carry `tag`.
pub(crate) struct Asked {
    pub(crate) ticket: u64,
    pub(crate) question: Arc<ReadAhead>,
    pub(crate) tag: i32,
}

type Rows = Vec<<Db as sqlx::Database>::Row>;

/// A member's last writes, sent without waiting for them (SQLite; see `Member::commit_ahead`),
/// and what to undo should they fail.
struct InFlight {
    task: tokio::task::JoinHandle<(sqlx::Transaction<'static, Db>, Result<Rows>)>,
    /// The sender's place in `done` (the last), and the batch's audit before its entries.
    member: usize,
    audit_entries: usize,
    audit_inserted: usize,
    head: Option<(i64, String)>,
    head_moved: bool,
    questions: Vec<Asked>,
}

/// What `settle` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Nothing was in flight, or it went through.
    Clean,
    /// The member that sent it failed: it was answered with its error and taken out of the
    /// batch, and the batch's audit head is again the one before its entries.
    MemberFailed,
}

/// The open database transaction and the members in it that are done.
pub(crate) struct Open {
    /// None while a member's writes are in flight (or after they were lost with their task).
    tx: Option<sqlx::Transaction<'static, Db>>,
    in_flight: Option<InFlight>,
    /// The batch cannot go on (its writes' task failed, or undoing a member did): every member
    /// was told, and every later use of it fails the same way.
    broken: Option<Failed>,
    done: Vec<Done>,
    /// A member's savepoint is open: the running member's (every member after the first sets
    /// one), or the last finished member's, released by the next one's or by the COMMIT.
    savepoint: bool,
    /// The running member's savepoint was set by the member before it, with that member's
    /// last writes (see `Member::next_savepoint`).
    preopened: bool,
    /// The audit entries finished members appended, and the chain's head after them.
    pub(crate) audit: BatchAudit,
    pub(crate) cache: BatchCache,
    /// What finished members read for the writers in line (see the module's comment).
    handed: Vec<Handed>,
}

impl Open {
    fn new(tx: sqlx::Transaction<'static, Db>) -> Self {
        Open {
            tx: Some(tx),
            in_flight: None,
            broken: None,
            done: Vec::new(),
            savepoint: false,
            preopened: false,
            audit: BatchAudit::default(),
            cache: BatchCache::default(),
            handed: Vec::new(),
        }
    }

    /// The batch's transaction, once what was in flight is settled (`Member::settle`).
    pub(crate) fn tx(&mut self) -> &mut sqlx::Transaction<'static, Db> {
        self.tx
            .as_mut()
            .expect("the batch's writes in flight are settled before its connection is used")
    }

    pub(crate) fn tx_ref(&self) -> &sqlx::Transaction<'static, Db> {
        self.tx
            .as_ref()
            .expect("the batch's writes in flight are settled before its connection is used")
    }

    /// `tx` and the batch's audit together.
    pub(crate) fn tx_and_audit(
        &mut self,
    ) -> (&mut sqlx::Transaction<'static, Db>, &mut BatchAudit) {
        let tx = self
            .tx
            .as_mut()
            .expect("the batch's writes in flight are settled before its connection is used");
        (tx, &mut self.audit)
    }

    /// Whether the running member has a savepoint of its own (every member but the first).
    pub(crate) fn member_has_savepoint(&self) -> bool {
        self.savepoint
    }
}

/// Waits for the writes in flight, if any, and takes their outcome in: the answers read with
/// them are kept for their writers; when they failed, their member is undone (to its
/// savepoint, which its statement had not yet released), answered with the error and taken
/// out of the batch, the batch's audit is set back to what it was before that member's
/// entries, and a savepoint is set for whoever runs next. The members after it decided on
/// answers its writes could not change (`Member::written`) and sealed nothing yet that is in
/// the batch (see `SqlTx::ready`, which seals their entries again).
async fn settle(slot: &mut Slot) -> Result<Settled> {
    let Some(open) = slot.as_mut() else {
        return Ok(Settled::Clean);
    };
    if let Some(broken) = &open.broken {
        return Err(broken.clone().into());
    }
    let Some(flight) = open.in_flight.take() else {
        return Ok(Settled::Clean);
    };
    let (tx, sent) = match flight.task.await {
        Ok(done) => done,
        Err(e) => {
            return Err(break_batch(
                open,
                StoreError::Batch {
                    message: format!("the batch's writes were lost with their task: {e}"),
                    unreachable: false,
                },
            ));
        }
    };
    open.tx = Some(tx);
    let error = match sent {
        Ok(rows) => {
            for asked in flight.questions {
                if let Some(answers) =
                    super::shared::tagged_answers(&asked.question, &rows, asked.tag)
                {
                    open.handed.push(Handed {
                        ticket: asked.ticket,
                        question: asked.question,
                        answers,
                    });
                }
            }
            return Ok(Settled::Clean);
        }
        Err(e) => e,
    };
    if let Err(undo) = sqlx::raw_sql(REDO_MEMBER).execute(&mut **open.tx()).await {
        return Err(break_batch(open, StoreError::from(undo)));
    }
    open.savepoint = true;
    debug_assert_eq!(
        flight.member + 1,
        open.done.len(),
        "the sender is the last member done"
    );
    let failed = open.done.remove(flight.member);
    open.audit.entries.truncate(flight.audit_entries);
    open.audit.inserted = flight.audit_inserted;
    open.audit.head = flight.head;
    open.audit.head_moved = flight.head_moved;
    // What it read may include what it wrote, now undone; nobody's answers were read after it.
    open.cache = BatchCache::default();
    open.handed.clear();
    if let Some(answer) = failed.answer {
        let _ = answer.send(Err(error));
    }
    Ok(Settled::MemberFailed)
}

/// Marks the batch as unable to go on, tells every member waiting for it, and gives the
/// error back (see `Open::broken`).
fn break_batch(open: &mut Open, why: StoreError) -> StoreError {
    fail_members(std::mem::take(&mut open.done), &why);
    open.tx = None;
    open.broken = Some(Failed::from(&why));
    why
}

/// What the batch's members read of rarely written tables (see the module's comment).
#[derive(Default)]
pub(crate) struct BatchCache {
    /// Role definitions found (a role is never changed once stored; one not found is not kept,
    /// since a member may add it).
    pub(crate) roles: HashMap<uuid::Uuid, eligo_core::roles::RoleDefinition>,
    /// Role settings by policy id, found or not.
    pub(crate) policies: HashMap<String, Option<eligo_core::policy::RolePolicy>>,
    pub(crate) subscriptions: Option<Vec<crate::SubscriptionRow>>,
}

/// The batch's share of the audit chain (see the module's comment).
#[derive(Default)]
pub(crate) struct BatchAudit {
    /// The head as the last finished member left it (`None`: nobody read it yet).
    pub(crate) head: Option<(i64, String)>,
    /// A member appended entries: the head row is written before the COMMIT.
    pub(crate) head_moved: bool,
    /// Finished members' entries in sequence order; the first `inserted` are in the tables.
    pub(crate) entries: Vec<super::shared::PendingEntry>,
    pub(crate) inserted: usize,
}

/// What a finishing member hands to the batch's `BatchAudit`.
pub(crate) struct MemberAudit {
    pub(crate) head: Option<(i64, String)>,
    pub(crate) head_moved: bool,
    pub(crate) entries: Vec<super::shared::PendingEntry>,
}

/// A member that released its savepoint and waits for the batch's outcome.
struct Done {
    changes: Vec<Change>,
    /// None for the member that commits (it is answered by its own call).
    answer: Option<oneshot::Sender<Result<()>>>,
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
    ticket: u64,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.shared.leave_queue(self.ticket);
        self.shared.waiting.fetch_sub(1, Ordering::AcqRel);
        if !self.acquired
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(close_if_idle(self.slot.clone(), self.shared.clone()));
        }
    }
}

/// The slot, counting the writer in `Shared::queued` from the moment it has its place in the
/// slot's queue (the first poll that finds the slot taken) until it holds the slot or gives up.
async fn queue_for(slot: Arc<Mutex<Slot>>, shared: &Arc<Shared>) -> OwnedMutexGuard<Slot> {
    struct Queued<'a>(&'a AtomicUsize);
    impl Drop for Queued<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let mut lock = std::pin::pin!(slot.lock_owned());
    let mut queued = None;
    std::future::poll_fn(|cx| {
        let polled = lock.as_mut().poll(cx);
        if polled.is_pending() && queued.is_none() {
            shared.queued.fetch_add(1, Ordering::AcqRel);
            queued = Some(Queued(&shared.queued));
        }
        polled
    })
    .await
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
                queued: AtomicUsize::new(0),
                max_members: AtomicUsize::new(MAX_MEMBERS),
                commits: AtomicU64::new(0),
                members: AtomicU64::new(0),
                queue: SyncMutex::new(VecDeque::new()),
                tickets: AtomicU64::new(0),
                answered_ahead: AtomicU64::new(0),
                sent_ahead: AtomicU64::new(0),
                roles: SyncMutex::new(HashMap::new()),
            }),
        }
    }

    /// Joins the open batch, or opens one with `begin` (which also takes whatever lock and
    /// catch-up a write transaction needs first, and may read the audit chain's head while
    /// it holds it, for the batch's first append). `question`: what the writer will read first,
    /// for the member before it to read ahead (see the module's comment).
    pub(crate) async fn join<F>(&self, begin: F, question: Option<ReadAhead>) -> Result<Member>
    where
        F: AsyncFnOnce() -> Result<(sqlx::Transaction<'static, Db>, Option<(i64, String)>)>,
    {
        self.shared.waiting.fetch_add(1, Ordering::AcqRel);
        let ticket = self.shared.tickets.fetch_add(1, Ordering::Relaxed);
        self.shared
            .queue
            .lock()
            .expect("queue lock")
            .push_back((ticket, question.map(Arc::new)));
        let mut waiting = Waiting {
            slot: self.slot.clone(),
            shared: self.shared.clone(),
            acquired: false,
            ticket,
        };
        let guard = queue_for(self.slot.clone(), &self.shared).await;
        waiting.acquired = true;
        drop(waiting);
        // From here a dropped future leaves a member, whose drop rolls back what it began.
        let mut member = Member {
            guard: Some(guard),
            shared: self.shared.clone(),
            audit_inserted: 0,
            handed: None,
            ticket,
        };
        let slot = member.guard.as_mut().expect("held until finished");
        match slot.as_mut() {
            None => {
                let (tx, head) = begin().await?;
                let mut open = Open::new(tx);
                open.audit.head = head;
                **slot = Some(open);
            }
            Some(open) => {
                if !std::mem::take(&mut open.preopened) {
                    settle(slot).await?;
                    let open = slot.as_mut().expect("settling keeps the batch open");
                    let statement = if open.savepoint {
                        NEXT_SAVEPOINT
                    } else {
                        SAVEPOINT
                    };
                    sqlx::raw_sql(statement).execute(&mut **open.tx()).await?;
                }
                let open = slot.as_mut().expect("settling keeps the batch open");
                open.savepoint = true;
                member.audit_inserted = open.audit.inserted;
                // Only for the writer whose question it was.
                member.handed = open
                    .handed
                    .iter()
                    .position(|h| h.ticket == ticket)
                    .map(|at| Box::new(open.handed.remove(at)));
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
            waiting: self.shared.queued.load(Ordering::Relaxed) as u64,
            answered_ahead: self.shared.answered_ahead.load(Ordering::Relaxed),
            sent_ahead: self.shared.sent_ahead.load(Ordering::Relaxed),
        }
    }
}

/// One use case's turn in the open batch: holds the slot until it commits or is dropped.
pub(crate) struct Member {
    guard: Option<OwnedMutexGuard<Slot>>,
    shared: Arc<Shared>,
    /// How many of the batch's audit entries were inserted when this member began: a rollback
    /// of this member undoes the inserts made after it.
    audit_inserted: usize,
    /// The answer to its question, read by the member before it.
    handed: Option<Box<Handed>>,
    ticket: u64,
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

    /// The statement that would set the next member's savepoint, when this member (about to
    /// commit; `narrows` as its `commit` will be told) is likely to hand the batch over: sent
    /// with this member's last writes, it saves the next member a round trip of its own. The
    /// statements run in order and stop at the first failure, so should this member's writes
    /// fail, its own savepoint is still the one its rollback returns to. Whether it then hands
    /// over or commits (a waiter may give up meanwhile), the savepoint is right: the next
    /// member's, or released by the COMMIT. `preopened` once it was sent.
    pub(crate) fn next_savepoint(&self, narrows: bool) -> Option<&'static str> {
        let open = self.open();
        self.hands_over(narrows).then_some(if open.savepoint {
            NEXT_SAVEPOINT
        } else {
            SAVEPOINT
        })
    }

    /// Whether this member, about to commit (`narrows` as its `commit` will be told), is
    /// likely to hand the batch over rather than commit it: another writer waits, and the
    /// batch has room.
    pub(crate) fn hands_over(&self, narrows: bool) -> bool {
        !narrows
            && self.open().done.len() + 1 < self.shared.max_members.load(Ordering::Relaxed)
            && self.shared.waiting.load(Ordering::Acquire) > 0
    }

    /// The questions of the first `depth` writers in line for the slot that asked one and
    /// have no answer waiting yet: to be read with this member's last writes, after them,
    /// when it hands the batch over.
    pub(crate) fn next_questions(&self, depth: usize) -> Vec<(u64, Arc<ReadAhead>)> {
        let handed = &self.open().handed;
        let queue = self.shared.queue.lock().expect("queue lock");
        queue
            .iter()
            .take(depth)
            .filter(|(ticket, _)| !handed.iter().any(|h| h.ticket == *ticket))
            .filter_map(|(ticket, question)| Some((*ticket, question.clone()?)))
            .collect()
    }

    /// Keeps the answer to a waiting writer's question (`next_questions`) for it.
    pub(crate) fn hand(&mut self, handed: Handed) {
        let open = self.open_mut();
        if open.handed.len() >= MAX_HANDED {
            // The oldest is the likeliest to be for a writer that gave up.
            open.handed.remove(0);
        }
        open.handed.push(handed);
    }

    /// This member is about to send its last writes, which write rows of `touched` only
    /// unless it `ran_statements` of its own before: the answers read ahead for the writers
    /// in line that those writes may change are dropped (each writer then reads for itself).
    pub(crate) fn written(&mut self, touched: &[uuid::Uuid], ran_statements: bool) {
        let open = self.open_mut();
        if ran_statements {
            open.handed.clear();
            return;
        }
        open.handed.retain(|h| {
            super::shared::principals_read(&h.question)
                .is_some_and(|reads| !reads.iter().any(|p| touched.contains(p)))
        });
    }

    /// Waits for the writes the member before this one sent ahead (see `settle`).
    pub(crate) async fn settle(&mut self) -> Result<Settled> {
        settle(self.guard.as_mut().expect("held until finished")).await
    }

    /// The answer read for this writer by the member before it, if any.
    pub(crate) fn take_handed(&mut self) -> Option<Handed> {
        self.handed.take().map(|handed| *handed)
    }

    /// Whether the writes in flight carry this writer's question: its answer comes when they
    /// are settled (`take_settled_answer`).
    pub(crate) fn answer_in_flight(&self) -> bool {
        self.open()
            .in_flight
            .as_ref()
            .is_some_and(|f| f.questions.iter().any(|a| a.ticket == self.ticket))
    }

    /// This writer's answer, once the writes that carried its question are settled.
    pub(crate) fn take_settled_answer(&mut self) -> Option<Handed> {
        let ticket = self.ticket;
        let open = self.open_mut();
        let at = open.handed.iter().position(|h| h.ticket == ticket)?;
        Some(open.handed.remove(at))
    }

    /// A role definition a committed batch read (stored roles never change).
    pub(crate) fn known_role(&self, id: uuid::Uuid) -> Option<eligo_core::roles::RoleDefinition> {
        self.shared
            .roles
            .lock()
            .expect("roles lock")
            .get(&id)
            .cloned()
    }

    /// This writer's `read_ahead` was answered by what the member before it read.
    pub(crate) fn answered_ahead(&self) {
        self.shared.answered_ahead.fetch_add(1, Ordering::Relaxed);
    }

    /// The statement `next_savepoint` gave was executed.
    pub(crate) fn preopened(&mut self) {
        let open = self.open_mut();
        open.preopened = true;
        open.savepoint = true;
    }

    /// `commit`, sending `last` (this member's last writes, the questions `asked` of the
    /// writers in line, the next member's savepoint) without waiting for it: the batch is
    /// handed over at once, and the next member decides while the database runs the writes.
    /// For a member with a savepoint of its own that hands over (`hands_over`), on a backend
    /// that runs several statements from one text. Should they fail, whoever uses the batch
    /// next undoes this member alone and answers it (`settle`).
    pub(crate) async fn commit_ahead(
        mut self,
        last: super::deferred::Unsent,
        asked: Vec<Asked>,
        changes: Vec<Change>,
        audit: MemberAudit,
    ) -> Result<()> {
        let audit_inserted = self.audit_inserted;
        self.shared.sent_ahead.fetch_add(1, Ordering::Relaxed);
        let open = self.open_mut();
        let mut tx = open.tx.take().expect("settled before the last writes");
        let flight = InFlight {
            task: tokio::spawn(async move {
                let sent = last.fetch(&mut tx).await;
                (tx, sent)
            }),
            member: open.done.len(),
            audit_entries: open.audit.entries.len(),
            audit_inserted,
            head: open.audit.head.clone(),
            head_moved: open.audit.head_moved,
            questions: asked,
        };
        open.in_flight = Some(flight);
        open.preopened = true;
        open.savepoint = true;
        open.audit.entries.extend(audit.entries);
        if audit.head.is_some() {
            open.audit.head = audit.head;
        }
        open.audit.head_moved |= audit.head_moved;
        let (answer, outcome) = oneshot::channel();
        open.done.push(Done {
            changes,
            answer: Some(answer),
        });
        // The next writer continues the batch; should it have given up meanwhile, its closer
        // commits it (`Waiting`).
        self.guard = None;
        outcome_of(outcome).await
    }

    /// Ends this member's work as part of the batch: `changes` are logged with the batch's
    /// and reach the listener after its COMMIT, `audit` is the batch's to insert. Returns once
    /// the batch is durable. Nothing here can fail before the member is counted as done, so
    /// its entries are never both handed over and rolled back.
    pub(crate) async fn commit(
        mut self,
        changes: Vec<Change>,
        narrows: bool,
        audit: MemberAudit,
    ) -> Result<()> {
        let shared = self.shared.clone();
        let open = self.open_mut();
        open.audit.entries.extend(audit.entries);
        if audit.head.is_some() {
            open.audit.head = audit.head;
        }
        open.audit.head_moved |= audit.head_moved;
        let hand_over = !narrows
            && open.done.len() + 1 < shared.max_members.load(Ordering::Relaxed)
            && shared.waiting.load(Ordering::Acquire) > 0;
        if hand_over {
            let (answer, outcome) = oneshot::channel();
            open.done.push(Done {
                changes,
                answer: Some(answer),
            });
            // The next writer continues the batch (or its closer commits it).
            self.guard = None;
            return outcome_of(outcome).await;
        }
        open.done.push(Done {
            changes,
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

/// A finished member's answer, once its batch has one.
async fn outcome_of(outcome: oneshot::Receiver<Result<()>>) -> Result<()> {
    match outcome.await {
        Ok(result) => result,
        Err(_) => Err(StoreError::Batch {
            message: "the batch ended without an outcome".into(),
            unreachable: false,
        }),
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
            runtime.spawn(abandon(guard, self.shared.clone(), self.audit_inserted));
        }
    }
}

/// Undoes the running member's work; the batch continues with the next writer, or commits.
async fn abandon(mut guard: OwnedMutexGuard<Slot>, shared: Arc<Shared>, audit_inserted: usize) {
    if let Err(e) = settle(&mut guard).await {
        fail_batch(guard, &e);
        return;
    }
    let Some(open) = guard.as_mut() else {
        return;
    };
    if open.done.is_empty() {
        // The first member: the transaction is only its own (dropping it rolls it back).
        *guard = None;
        return;
    }
    if let Err(e) = sqlx::raw_sql(UNDO_MEMBER).execute(&mut **open.tx()).await {
        fail_batch(guard, &StoreError::from(e));
        return;
    }
    open.savepoint = false;
    open.audit.inserted = audit_inserted;
    // What it read may include what it wrote, now undone.
    open.cache = BatchCache::default();
    if shared.waiting.load(Ordering::Acquire) == 0 {
        let _ = commit_batch(guard, shared).await;
    }
}

/// Rolls the whole batch back and tells every member it failed.
fn fail_batch(mut guard: OwnedMutexGuard<Slot>, why: &StoreError) {
    if let Some(open) = guard.take() {
        fail_members(open.done, why);
    }
}

/// Tells every finished member waiting for the batch that it failed.
fn fail_members(done: Vec<Done>, why: &StoreError) {
    let failed = Failed::from(why);
    for d in done {
        if let Some(answer) = d.answer {
            let _ = answer.send(Err(failed.clone().into()));
        }
    }
}

/// The batch's audit entries and head and its members' changes in one entry of the change
/// log, then COMMIT, then those changes to the listener in the members' order, then the
/// answers; the slot is released only after the report, so the next writer decides on an
/// index that has them.
async fn commit_batch(mut guard: OwnedMutexGuard<Slot>, shared: Arc<Shared>) -> Result<()> {
    if let Err(e) = settle(&mut guard).await {
        fail_batch(guard, &e);
        return Err(e);
    }
    let Some(Open {
        tx: Some(mut tx),
        mut done,
        audit,
        cache,
        ..
    }) = guard.take()
    else {
        return Ok(());
    };
    // One number for the batch: the other servers apply it as one transaction, which it is.
    let changes: Vec<Change> = done
        .iter_mut()
        .flat_map(|d| std::mem::take(&mut d.changes))
        .collect();
    let seq = match super::shared::finish_batch(&mut tx, &audit, &changes).await {
        Ok(seq) => seq,
        Err(e) => {
            fail_members(done, &e);
            return Err(e);
        }
    };
    let journal = &shared.journal;
    let listener = journal.listener().filter(|_| !changes.is_empty());
    let order = match &listener {
        Some(_) => Some(journal.order.lock().await),
        None => None,
    };
    if let Err(e) = tx.commit().await {
        let e = StoreError::from(e);
        fail_members(done, &e);
        return Err(e);
    }
    if let Some(listener) = &listener {
        journal.report(&changes, seq, listener).await;
    }
    if !cache.roles.is_empty() {
        shared.roles.lock().expect("roles lock").extend(cache.roles);
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
