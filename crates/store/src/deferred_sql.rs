//! Writes that answer nothing, held back and sent to the database together: one round trip
//! for what would be one each.
//!
//! A statement costs a round trip whatever it does: on SQLite a hand-over to sqlx's worker
//! thread and back, on PostgreSQL one over the socket. An activation's inserts (the schedule,
//! the history row, the request) and a transaction's audit rows need no answer but "it
//! worked", so `SqlTx` queues them here and sends the queue before anything else reaches the
//! connection (`SqlTx::conn`, the only way to it) and at commit. Every other statement
//! therefore sees the queued rows exactly as if they had been written at once, and the
//! queue's statements run in the order they were queued.
//!
//! - SQLite runs several statements from one text, each binding its own `?`s in turn.
//! - PostgreSQL takes one statement per round trip, so the queue becomes data-modifying
//!   `WITH` clauses of one statement: each runs exactly once, to completion, whether or not
//!   anything reads it; foreign keys are checked at the end of the statement, when all have run.
//!
//! A member of a group-commit batch may end its last writes' statement with the next
//! writer's first reads (`close_with_question`; on PostgreSQL only when they read no row the
//! writes write, since the query does not see them).
//!
//! A queued statement that fails fails the statement that sent it (a later read, or the
//! commit): the transaction is then rolled back whole, as the failure of the insert itself
//! would have done. A unique violation is reported as the `Conflict` of the statement's
//! entity, as when it ran alone.

use sqlx::QueryBuilder;

use super::Db;
use crate::{Result, StoreError};

/// The queue is sent before it would carry more bind parameters than this (PostgreSQL takes
/// at most 65,535 in one statement; SQLite counts per statement, 32,766).
const MAX_BINDS: usize = 16_000;

/// SQLite runs several statements from one text (PostgreSQL: one per round trip).
pub const MANY_STATEMENTS: bool = matches!(<Db as sqlx::Database>::NAME.as_bytes(), b"SQLite");
const SQLITE: bool = MANY_STATEMENTS;

/// Queued statements (see the module's comment).
#[derive(Default)]
pub struct Deferred {
    query: Option<QueryBuilder<Db>>,
    statements: usize,
    binds: usize,
    /// For a unique violation: which queued table is which entity (`"roleSchedule"`).
    conflicts: Vec<(&'static str, &'static str)>,
    /// The principals whose rows the queued statements write (every deferred write is one
    /// principal's: its schedule, request or activation), for `close_with_question`.
    touched: Vec<uuid::Uuid>,
    /// PostgreSQL: the `WITH` was closed by a query reading after the writes (see
    /// `close_with_question`), which the statement returns instead of `SELECT 1`.
    closed: bool,
}

impl Deferred {
    /// Whether a statement of `binds` parameters fits in this round trip.
    pub fn fits(&self, binds: usize) -> bool {
        self.statements == 0 || (!self.closed && self.binds + binds <= MAX_BINDS)
    }

    /// The principals whose rows the queued statements write.
    pub fn touched(&self) -> &[uuid::Uuid] {
        &self.touched
    }

    /// The queued statements write rows of `principal` (see `touched`).
    pub fn touch(&mut self, principal: uuid::Uuid) {
        if !self.touched.contains(&principal) {
            self.touched.push(principal);
        }
    }

    /// PostgreSQL: closes the queue's `WITH` so that the statement ends in a query the caller
    /// writes into the builder returned (of at most `binds` parameters), sent with the writes
    /// in one round trip. That query does not see the queued writes (a statement's data-
    /// modifying `WITH` clauses and its query all see the snapshot it began with), so it is
    /// only allowed when it reads none of the rows they write: when none of the principals it
    /// reads rows of (`reads`) is one the queued statements wrote (`touch`). None, and nothing
    /// changed, when that is not so, on SQLite (which runs the statements in turn and has
    /// `statement` for it), when nothing is queued or when the query would not fit.
    pub fn close_with_question(
        &mut self,
        binds: usize,
        reads: &[uuid::Uuid],
    ) -> Option<&mut QueryBuilder<Db>> {
        let allowed = !SQLITE
            && self.statements > 0
            && !self.closed
            && self.binds + binds <= MAX_BINDS
            && !self.touched.iter().any(|p| reads.contains(p));
        if !allowed {
            return None;
        }
        self.closed = true;
        self.binds += binds;
        let query = self.query.as_mut()?;
        query.push(") ");
        Some(query)
    }

    /// The name of the last statement queued, for a later one to read what it returns
    /// (PostgreSQL's `WITH` clauses `w0`, `w1`...; the caller makes sure both go in the same
    /// round trip). Used by PostgreSQL's change log only; this file is built for both.
    #[allow(dead_code)]
    pub fn last_clause(&self) -> String {
        format!("w{}", self.statements.saturating_sub(1))
    }

    /// Empties the queue's bookkeeping once its statement is taken to be sent.
    fn sent(&mut self) -> (Vec<(&'static str, &'static str)>, bool) {
        self.statements = 0;
        self.binds = 0;
        self.touched.clear();
        let closed = std::mem::take(&mut self.closed);
        (std::mem::take(&mut self.conflicts), closed)
    }

    /// The builder positioned at the start of the next statement, which the caller writes
    /// with its `binds` parameters. `conflict`: its table and the entity a unique violation
    /// there names.
    pub fn next(
        &mut self,
        binds: usize,
        conflict: Option<(&'static str, &'static str)>,
    ) -> &mut QueryBuilder<Db> {
        let n = self.statements;
        self.statements += 1;
        self.binds += binds;
        self.conflicts.extend(conflict);
        let query = self.query.get_or_insert_with(|| QueryBuilder::new(""));
        match (SQLITE, n) {
            (true, 0) => {}
            (true, _) => {
                query.push("; ");
            }
            (false, 0) => {
                query.push("WITH w0 AS (");
            }
            (false, n) => {
                query.push(format_args!("), w{n} AS ("));
            }
        }
        query
    }

    /// `next`, after sending what is queued when the statement would not fit with it.
    pub async fn statement(
        &mut self,
        conn: &mut <Db as sqlx::Database>::Connection,
        binds: usize,
        conflict: Option<(&'static str, &'static str)>,
    ) -> Result<&mut QueryBuilder<Db>> {
        if !self.fits(binds) {
            self.send(conn).await?;
        }
        Ok(self.next(binds, conflict))
    }

    /// Queues `sql`, statements without parameters, on a backend that runs several from one
    /// text (`MANY_STATEMENTS`); false, and nothing queued, on the others.
    pub fn plain(&mut self, sql: &'static str) -> bool {
        if !MANY_STATEMENTS {
            return false;
        }
        self.next(0, None).push(sql);
        true
    }

    /// Sends the queue (nothing when empty); it is empty afterwards, sent or not.
    pub async fn send(&mut self, conn: &mut <Db as sqlx::Database>::Connection) -> Result<()> {
        let Some(mut query) = self.query.take() else {
            return Ok(());
        };
        let (conflicts, closed) = self.sent();
        if !SQLITE && !closed {
            query.push(") SELECT 1");
        }
        match query.build().execute(conn).await {
            Ok(_) => Ok(()),
            Err(e) => Err(conflict_of(e, &conflicts)),
        }
    }

    /// The queue as one statement to send later, elsewhere (see `batch`); it is empty
    /// afterwards. None when nothing is queued.
    pub fn take_unsent(&mut self) -> Option<Unsent> {
        let mut query = self.query.take()?;
        let (conflicts, closed) = self.sent();
        if !SQLITE && !closed {
            query.push(") SELECT 1");
        }
        Some(Unsent { query, conflicts })
    }

    /// `send`, returning the rows of the query sent with the writes: on SQLite a queued query
    /// (the writes return none), on PostgreSQL the one `close_with_question` made the
    /// statement end in.
    pub async fn send_fetching(
        &mut self,
        conn: &mut <Db as sqlx::Database>::Connection,
    ) -> Result<Vec<<Db as sqlx::Database>::Row>> {
        match self.take_unsent() {
            Some(unsent) => unsent.fetch(conn).await,
            None => Ok(Vec::new()),
        }
    }
}

/// Queued statements taken to be sent (`Deferred::take_unsent`).
pub struct Unsent {
    query: QueryBuilder<Db>,
    conflicts: Vec<(&'static str, &'static str)>,
}

impl Unsent {
    /// Sends the statement, returning the rows of the queries in it (as `send_fetching`).
    pub async fn fetch(
        mut self,
        conn: &mut <Db as sqlx::Database>::Connection,
    ) -> Result<Vec<<Db as sqlx::Database>::Row>> {
        self.query
            .build()
            .fetch_all(conn)
            .await
            .map_err(|e| conflict_of(e, &self.conflicts))
    }
}

/// A unique violation on a queued table as that table's `Conflict`; anything else as it is.
fn conflict_of(e: sqlx::Error, conflicts: &[(&'static str, &'static str)]) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        let message = db.message();
        let table = db.table();
        let named = conflicts
            .iter()
            .find(|(t, _)| table == Some(*t) || message.contains(&format!("{t}.")));
        if let Some((_, entity)) = named {
            return StoreError::Conflict(entity.to_string());
        }
    }
    StoreError::Database(e)
}
