//! Committed changes to who can reach what, reported to one listener after each commit.
//!
//! The server keeps an in-memory effective-access index; it must see every answered write
//! before the next check, and in commit order. So the store itself journals each change a write
//! transaction makes to group relations, schedules, principals and role definitions, and on
//! commit hands the journal to the listener: after the database commit succeeded (a rolled-back
//! transaction reports nothing) and before `commit` returns (so the caller answers only once the
//! index has it). A commit-order lock, taken before COMMIT and released after the listener ran,
//! keeps two writers' journals in the order their commits happened.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use eligo_core::directory::{PrincipalKind, Relation};
use eligo_core::roles::RoleDefinition;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use uuid::Uuid;

use crate::{Result, Tx};

/// One committed change that can alter effective access. Serialized into the change log
/// (PostgreSQL), where the other servers read it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// A direct relation was added (`added`) or removed.
    Relation {
        group: Uuid,
        principal: Uuid,
        relation: Relation,
        added: bool,
    },
    /// A principal was deleted, and with it (by cascade) its relations both ways, the schedules
    /// it held and the schedules that gave access to it (when a group).
    PrincipalDeleted(Uuid),
    /// A principal was created or renamed.
    Principal(PrincipalRow),
    /// A schedule was inserted or replaced; this is its new state.
    Schedule(RoleSchedule),
    /// A role definition was created.
    RoleDefinition(RoleDefinition),
    /// An outbox job was written (or a failed one retried), due at `due_at`: wake the worker.
    JobEnqueued { due_at: DateTime<Utc> },
    /// A group's downstream provisioning was mapped or unmapped.
    Provisioning { group: Uuid },
    /// A session was opened or changed (step-up, revocation, expiry moved): its new state.
    Session(crate::TokenRecord),
    /// Every live session of `principal` but `keep` (a token hash) was revoked at `at`.
    SessionsRevoked {
        principal: Uuid,
        keep: Option<String>,
        at: DateTime<Utc>,
    },
}

/// Runs inside every write transaction that changed something, after its last statement and
/// before COMMIT, with what it changed; it may write more in the same transaction (the outbox
/// jobs those changes cause). An error rolls the whole transaction back.
#[async_trait::async_trait]
pub trait BeforeCommit: Send + Sync {
    async fn before_commit(&self, tx: &mut dyn Tx, changes: &[Change]) -> Result<()>;
}

/// What the access index needs of a schedule: its columns and whether it is an activation,
/// not the whole record. `Tx::index_schedules` reads it at start (no record parsed); a
/// committed `Change::Schedule` is narrowed to it, so both paths place the same thing. The
/// scope is borrowed (from the page read, or the record): nothing allocated per schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedSchedule<'a> {
    pub id: Uuid,
    pub kind: ScheduleKind,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: &'a str,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    /// An end the scheduler has not processed yet (see `RoleSchedule::end_pending`).
    pub end_pending: bool,
    /// Activated by its holder (`AssignmentType::Activated`), not assigned.
    pub activated: bool,
}

impl<'a> From<&'a RoleSchedule> for IndexedSchedule<'a> {
    fn from(s: &'a RoleSchedule) -> Self {
        IndexedSchedule {
            id: s.id,
            kind: s.kind,
            principal_id: s.principal_id,
            role_definition_id: s.role_definition_id,
            directory_scope_id: &s.directory_scope_id,
            start: s.start_date_time,
            end: s.end_date_time,
            end_pending: s.end_pending,
            activated: s.assignment_type == AssignmentType::Activated,
        }
    }
}

/// What the access index keeps of a principal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrincipalRow {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub display_name: String,
    /// A group that can hold roles (fixed at creation).
    pub role_assignable: bool,
    /// A user's manager: approves the user's requests where a policy names `requestorManager`,
    /// so the privilege evaluation must know who it is.
    pub manager: Option<Uuid>,
    /// Whether the account may sign in (users and service principals; groups: false).
    pub enabled: bool,
    /// A user's userPrincipalName (for the audit trail's initiator).
    #[serde(default)]
    pub upn: Option<String>,
}

/// Receives each committed transaction's changes, in commit order.
pub type Listener = Arc<dyn Fn(&[Change]) + Send + Sync>;

/// The store's side: the listener (if any), the commit-order lock, and on PostgreSQL the feed
/// that brings the other servers' commits in the same order.
#[derive(Default)]
pub(crate) struct Journal {
    listener: RwLock<Option<Listener>>,
    hook: RwLock<Option<Arc<dyn BeforeCommit>>>,
    /// Held while a commit's changes (local or followed) reach the listener: one at a time,
    /// in sequence order.
    pub(crate) order: tokio::sync::Mutex<()>,
    feed: Option<Arc<crate::feed::Feed>>,
}

impl Journal {
    /// A journal whose listener also receives the other servers' commits through `feed`.
    pub(crate) fn following(feed: Arc<crate::feed::Feed>) -> Self {
        Self {
            feed: Some(feed),
            ..Self::default()
        }
    }

    pub(crate) fn set(&self, listener: Listener) {
        *self.listener.write().unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }

    pub(crate) fn feed(&self) -> Option<&Arc<crate::feed::Feed>> {
        self.feed.as_ref()
    }

    pub(crate) fn set_hook(&self, hook: Arc<dyn BeforeCommit>) {
        *self.hook.write().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    pub(crate) fn hook(&self) -> Option<Arc<dyn BeforeCommit>> {
        self.hook.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn listener(&self) -> Option<Listener> {
        self.listener
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs `commit`, then reports `changes` to the listener, both under the commit-order lock.
    /// `seq` is the transaction's number in the change log (PostgreSQL): when the feed has not
    /// applied everything before it yet (another server committed in between), those changes
    /// are read from the log and reported first, so the listener sees one order everywhere.
    pub(crate) async fn commit<F, E>(
        &self,
        changes: Vec<Change>,
        seq: Option<u64>,
        commit: F,
    ) -> Result<(), E>
    where
        F: Future<Output = Result<(), E>>,
    {
        let listener = self.listener().filter(|_| !changes.is_empty());
        let Some(listener) = listener else {
            return commit.await;
        };
        let _order = self.order.lock().await;
        commit.await?;
        self.report(&changes, seq, &listener).await;
        Ok(())
    }

    /// Hands one committed transaction's `changes` (number `seq` in the change log, if any) to
    /// `listener`; the caller holds the commit-order lock.
    pub(crate) async fn report(&self, changes: &[Change], seq: Option<u64>, listener: &Listener) {
        match (self.feed(), seq) {
            (Some(feed), Some(seq)) => feed.committed_here(seq, changes, listener).await,
            _ => listener(changes),
        }
    }
}
