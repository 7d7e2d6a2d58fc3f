//! The SQL of every `Tx` method, written once and compiled once per backend: `sqlite.rs` and
//! `postgres.rs` each include this file with their own `Db` type. The text uses only what both
//! databases accept (`$N` placeholders, integer microsecond times, TEXT ids and JSON), so the
//! two backends cannot drift apart; what genuinely differs (connecting, locking, migrations)
//! lives in the backend files.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEntry, AuditEvent};
use eligo_core::directory::{Group, PrincipalKind, Relation, ServicePrincipal, User};
use eligo_core::policy::RolePolicy;
use eligo_core::request::ScheduleRequest;
use eligo_core::roles::RoleDefinition;
use eligo_core::schedule::{AssignmentType, RoleSchedule};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use super::Db;
#[path = "read_ahead_sql.rs"]
mod read_ahead;
use crate::changes::{Change, IndexedSchedule, Journal, PrincipalRow};
use crate::seal::{Keyring, place};
use crate::{
    AuditQuery, GroupQuery, HotQuery, Page, Principal, RequestQuery, Result, RoleQuery,
    ScheduleQuery, ServicePrincipalQuery, StoreError, Targets, TokenRecord, Tx, UserQuery,
    from_micros, micros,
};
pub(crate) use read_ahead::{Answers, principals_read, tagged_answers};

pub struct SqlTx {
    /// Reached only through `conn`, which sends `deferred` first.
    tx: Conn,
    /// Writes that answer nothing, sent together before the next statement (see
    /// `deferred_sql`).
    deferred: super::deferred::Deferred,
    /// For a write transaction: the store's journal, and what this transaction changed.
    journal: Option<Arc<Journal>>,
    changes: Vec<Change>,
    /// A change may have taken access away (see `record`): a batch commits after it.
    narrows: bool,
    /// The audit chain's head as this transaction sees it, read once; `head_moved` when
    /// entries were appended and the head row is to be written at commit (one statement per
    /// transaction rather than one per entry).
    head: Option<(i64, String)>,
    head_moved: bool,
    /// Entries appended (sealed onto `head`) but not yet inserted: written together, a few
    /// statements for a whole transaction's entries, before anything reads the audit tables
    /// and at commit.
    pending_audit: Vec<PendingEntry>,
    /// Principals this transaction has read by id (None: not there), until it writes one. A
    /// use case reads the same principal several times (who asks, who is told, where their
    /// mail goes): each a round trip to the database, for an answer that the transaction
    /// itself is the only one to change (writers are serial), and it drops what it writes.
    principals: HashMap<Uuid, Option<Principal>>,
    /// Answers read ahead (`Tx::read_ahead`), for the next reads asking exactly them.
    ahead: read_ahead::Ahead,
    /// The question those answers are to, when the batch member before this transaction
    /// asked it (see `batch`): the transaction's own `read_ahead` of it is then answered.
    answered: Option<Arc<crate::ReadAhead>>,
    /// A statement of its own ran (a read, or writes sent before the last): the answers read
    /// ahead in the batch for the writers after it may no longer hold (`Member::written`).
    ran_statements: bool,
    /// Seals and opens the secrets this transaction writes and reads (see `seal`).
    pub(super) keys: Arc<Keyring>,
}

/// The connection a transaction's statements run on: a transaction of its own (reads, and
/// the writes at opening), or a turn in the open group-commit batch (see `batch`).
pub enum Conn {
    Own(sqlx::Transaction<'static, Db>),
    Member(super::batch::Member),
}

impl std::ops::Deref for Conn {
    type Target = <Db as sqlx::Database>::Connection;
    fn deref(&self) -> &Self::Target {
        match self {
            Conn::Own(tx) => tx,
            Conn::Member(m) => m.open().tx_ref(),
        }
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Conn::Own(tx) => tx,
            Conn::Member(m) => m.open_mut().tx(),
        }
    }
}

impl SqlTx {
    pub(super) fn read(tx: sqlx::Transaction<'static, Db>, keys: Arc<Keyring>) -> Self {
        Self {
            tx: Conn::Own(tx),
            deferred: Default::default(),
            journal: None,
            changes: Vec::new(),
            narrows: false,
            head: None,
            head_moved: false,
            pending_audit: Vec::new(),
            principals: HashMap::new(),
            ahead: Default::default(),
            answered: None,
            ran_statements: false,
            keys,
        }
    }

    pub(super) fn write(mut tx: Conn, journal: Arc<Journal>, keys: Arc<Keyring>) -> Self {
        let handed = match &mut tx {
            Conn::Member(member) => member.take_handed(),
            Conn::Own(_) => None,
        };
        let mut this = Self {
            tx,
            deferred: Default::default(),
            journal: Some(journal),
            changes: Vec::new(),
            narrows: false,
            head: None,
            head_moved: false,
            pending_audit: Vec::new(),
            principals: HashMap::new(),
            ahead: Default::default(),
            answered: None,
            ran_statements: false,
            keys,
        };
        if let Some(handed) = handed {
            this.install(handed.answers);
            this.answered = Some(handed.question);
        }
        this
    }

    /// `value` as JSON, sealed for `place`.
    pub(super) fn seal_json<T: Serialize>(&self, place: &str, value: &T) -> String {
        self.keys.seal(place, to_json(value).as_bytes())
    }

    /// The JSON value sealed for `place` in `stored`. A plaintext or foreign value is refused:
    /// every secret was sealed when the store opened, so one that is not was put there behind
    /// Eligo's back.
    pub(super) fn open_json<T: DeserializeOwned>(&self, place: &str, stored: &str) -> Result<T> {
        let plain = self.open_bytes(place, stored)?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| StoreError::Corrupt(format!("{place}: not UTF-8")))?;
        from_json(text)
    }

    pub(super) fn open_bytes(&self, place: &str, stored: &str) -> Result<Vec<u8>> {
        self.keys
            .open(place, stored)
            .map_err(|error| StoreError::Sealed {
                place: place.to_string(),
                error,
            })
    }

    /// The connection, once the deferred writes are on it: every statement but those deferred
    /// goes through here, so each sees what the transaction wrote before it.
    pub(super) async fn conn(&mut self) -> Result<&mut <Db as sqlx::Database>::Connection> {
        self.ready().await?;
        // A statement may write: what was read ahead is no longer known to be the answer.
        self.ahead = Default::default();
        self.answered = None;
        self.ran_statements = true;
        self.deferred.send(&mut self.tx).await?;
        Ok(&mut *self.tx)
    }

    /// A batch member: waits for the last writes the member before it sent ahead (see
    /// `batch`). When they failed, that member was taken out of the batch, and this
    /// transaction's audit entries, sealed onto the head it left, are sealed again onto the
    /// head before it (they are all still pending: nothing reaches the tables before this).
    async fn ready(&mut self) -> Result<()> {
        let Conn::Member(member) = &mut self.tx else {
            return Ok(());
        };
        if member.settle().await? == super::batch::Settled::Clean {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending_audit);
        self.head = None;
        self.head_moved = false;
        if pending.is_empty() {
            return Ok(());
        }
        let open = member.open_mut();
        let (mut sequence, mut hash) = match open.audit.head.clone() {
            Some(head) => head,
            None => {
                let row = sqlx::query("SELECT sequence, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&mut **open.tx())
                    .await?;
                (row.try_get(0)?, row.try_get(1)?)
            }
        };
        for entry in pending {
            let sealed: AuditEntry = from_json(&entry.data)?;
            let sealed = sealed.unsealed().seal(sequence + 1, &hash);
            (sequence, hash) = (sealed.sequence, sealed.hash.clone());
            self.pending_audit.push(PendingEntry {
                columns: sealed.index_columns(),
                data: to_json(&sealed),
            });
        }
        self.head = Some((sequence, hash));
        self.head_moved = true;
        Ok(())
    }

    /// Queues a statement of `binds` parameters, written by `write`, to be sent with the
    /// next statement (see `deferred_sql`); it writes rows of `principal` only; `conflict`
    /// names the entity a unique violation on its table is.
    pub(super) async fn defer(
        &mut self,
        binds: usize,
        principal: Uuid,
        conflict: Option<(&'static str, &'static str)>,
        write: impl FnOnce(&mut QueryBuilder<Db>),
    ) -> Result<()> {
        // A write: what was read ahead may no longer be the answer.
        self.ahead = Default::default();
        self.answered = None;
        if !self.deferred.fits(binds) {
            self.ready().await?;
            self.ran_statements = true;
            self.deferred.send(&mut self.tx).await?;
        }
        write(self.deferred.next(binds, conflict));
        self.deferred.touch(principal);
        Ok(())
    }

    /// The batch's reads of rarely written tables, for a member of a group-commit batch.
    pub(super) fn batch_cache(&mut self) -> Option<&mut super::batch::BatchCache> {
        match &mut self.tx {
            Conn::Member(member) => Some(&mut member.open_mut().cache),
            Conn::Own(_) => None,
        }
    }

    /// Journals a change that may take access away (a removal, an update, a revocation).
    pub(super) fn record(&mut self, change: Change) {
        if self.journal.is_some() {
            self.changes.push(change);
            self.narrows = true;
        }
    }

    /// Inserts the entries appended since the last flush, after those the batch's finished
    /// members left (their sequences come first).
    async fn flush_audit(&mut self) -> Result<()> {
        self.ready().await?;
        self.ran_statements = true;
        if let Conn::Member(member) = &mut self.tx {
            let (tx, batch) = member.open_mut().tx_and_audit();
            if batch.inserted < batch.entries.len() {
                queue_audit(tx, &mut self.deferred, &batch.entries[batch.inserted..]).await?;
                batch.inserted = batch.entries.len();
            }
        }
        let pending = std::mem::take(&mut self.pending_audit);
        queue_audit(&mut self.tx, &mut self.deferred, &pending).await?;
        self.deferred.send(&mut self.tx).await
    }

    /// Journals a change that can only add (an insert): the members of a batch after it may
    /// be decided on an index that does not have it yet (see `batch`).
    pub(super) fn record_addition(&mut self, change: Change) {
        if self.journal.is_some() {
            self.changes.push(change);
        }
    }
}

pub(super) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records always serialize")
}

pub(super) fn from_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn rows_to<T: DeserializeOwned>(rows: Vec<<Db as sqlx::Database>::Row>) -> Result<Vec<T>> {
    rows.iter()
        .map(|r| from_json(&r.try_get::<String, _>(0)?))
        .collect()
}

/// A unique-constraint violation becomes a `Conflict` naming what was duplicated.
pub(super) fn conflict_on_unique(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(what.to_string())
        }
        _ => StoreError::Database(e),
    }
}

/// The requests `query` asks for, newest first; `prefix` is empty or the backend's EXPLAIN.
fn requests_query(prefix: &str, query: &RequestQuery, page: Page) -> QueryBuilder<Db> {
    let mut q = QueryBuilder::<Db>::new(prefix);
    q.push("SELECT data FROM schedule_requests");
    push_requests_filter(&mut q, query);
    q.push(" ORDER BY created_at DESC, id DESC");
    push_page(&mut q, page);
    q
}

/// `list_schedule_requests`' ` WHERE` clause.
fn push_requests_filter(q: &mut QueryBuilder<Db>, query: &RequestQuery) {
    q.push(" WHERE 1 = 1");
    if let Some(kind) = query.kind {
        q.push(" AND kind = ").push_bind(kind.as_str());
    }
    push_targets(q, query.targets);
    if let Some(principal) = query.principal_id {
        q.push(" AND principal_id = ")
            .push_bind(principal.to_string());
    }
    if let Some(role) = query.role_definition_id {
        q.push(" AND role_definition_id = ")
            .push_bind(role.to_string());
    }
    if let Some(scope) = &query.directory_scope_id {
        q.push(" AND directory_scope_id = ")
            .push_bind(scope.clone());
    }
    if let Some(status) = query.status {
        q.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(created_by) = query.created_by {
        q.push(" AND created_by = ")
            .push_bind(created_by.to_string());
    }
}

/// `list_users`' statement, after `prefix` (`EXPLAIN …` or nothing).
fn users_query(prefix: &str, query: &UserQuery, page: Page) -> QueryBuilder<Db> {
    let mut q = QueryBuilder::<Db>::new(prefix);
    q.push("SELECT data FROM principals WHERE kind = 'user'");
    if let Some(upn) = &query.upn {
        q.push(" AND upn_lower = ").push_bind(upn.to_lowercase());
    }
    if let Some(name) = &query.display_name {
        q.push(" AND display_name_lower = ")
            .push_bind(name.to_lowercase());
    }
    if let Some(prefix) = &query.display_name_prefix {
        push_prefix(&mut q, prefix);
    }
    if let Some(prefix) = &query.upn_prefix {
        push_prefixes(&mut q, "upn_lower", prefix);
    }
    if let Some(prefix) = &query.name_or_upn_prefix {
        push_name_or_upn_prefix(&mut q, prefix);
    }
    if let Some(mail) = &query.mail {
        q.push(" AND mail_lower = ").push_bind(mail.to_lowercase());
    }
    q.push(" ORDER BY display_name_lower, id");
    push_page(&mut q, page);
    q
}

/// `list_groups`' statement, after `prefix` (`EXPLAIN …` or nothing).
fn groups_query(prefix: &str, query: &GroupQuery, page: Page) -> QueryBuilder<Db> {
    let mut q = QueryBuilder::<Db>::new(prefix);
    q.push("SELECT data FROM principals WHERE kind = 'group'");
    if let Some(name) = &query.display_name {
        q.push(" AND display_name_lower = ")
            .push_bind(name.to_lowercase());
    }
    if let Some(prefix) = &query.display_name_prefix {
        push_prefix(&mut q, prefix);
    }
    if let Some(ra) = query.is_assignable_to_role {
        q.push(" AND is_role_assignable = ").push_bind(ra);
    }
    q.push(" ORDER BY display_name_lower, id");
    push_page(&mut q, page);
    q
}

/// `list_service_principals`' statement, after `prefix` (`EXPLAIN …` or nothing).
fn service_principals_query(
    prefix: &str,
    query: &ServicePrincipalQuery,
    page: Page,
) -> QueryBuilder<Db> {
    let mut q = QueryBuilder::<Db>::new(prefix);
    q.push("SELECT data FROM principals WHERE kind = 'servicePrincipal'");
    if let Some(name) = &query.display_name {
        q.push(" AND display_name_lower = ")
            .push_bind(name.to_lowercase());
    }
    if let Some(prefix) = &query.display_name_prefix {
        push_prefix(&mut q, prefix);
    }
    q.push(" ORDER BY display_name_lower, id");
    push_page(&mut q, page);
    q
}

/// ` AND` `display_name_lower` starts with `prefix` (see `push_prefixes`).
fn push_prefix(q: &mut QueryBuilder<Db>, prefix: &str) {
    push_prefixes(q, "display_name_lower", prefix);
}

/// ` AND` `column` (of `principals`) starts with `prefix`, case-insensitively: a range of the
/// column in byte order, `[prefix, the next string after every one starting with it)`, so an
/// index on the column (in byte order: SQLite's, and PostgreSQL's `COLLATE "C"` ones of
/// migration 0029) reads the matches only, not every name before them; substr then holds the
/// match exact whatever the order, and avoids LIKE's wildcards in user input.
fn push_prefixes(q: &mut QueryBuilder<Db>, column: &'static str, prefix: &str) {
    q.push(" AND ");
    push_prefix_range(q, column, &prefix.to_lowercase());
}

/// ` AND` the user's display name or UPN starts with `prefix` (see `push_prefixes`): an `OR`
/// of the two ranges. No index gives the matches of either in name order, and a page of them
/// is in name order: SQLite walks the users in name order up to the page (cheap when matches
/// come early, as for the first letters one types; a name far down the order costs the walk
/// there), PostgreSQL chooses between that and both ranges of 0029's indexes. Reading both
/// ranges first, then sorting, cost every match instead (BENCHMARKS.md, "Names typed into the
/// picker").
fn push_name_or_upn_prefix(q: &mut QueryBuilder<Db>, prefix: &str) {
    let lower = prefix.to_lowercase();
    q.push(" AND (");
    push_prefix_range(q, "display_name_lower", &lower);
    q.push(" OR ");
    push_prefix_range(q, "upn_lower", &lower);
    q.push(")");
}

const SQLITE: bool = matches!(<Db as sqlx::Database>::NAME.as_bytes(), b"SQLite");

/// `column` starts with `lower` (see `push_prefixes`). The length is that of the lower-cased
/// prefix (lower-casing can lengthen a string) and an INT4, because PostgreSQL has no
/// substr(text, int, bigint).
fn push_prefix_range(q: &mut QueryBuilder<Db>, column: &'static str, lower: &str) {
    let len = i32::try_from(lower.chars().count()).unwrap_or(i32::MAX);
    let bytes = if SQLITE { "" } else { " COLLATE \"C\"" };
    q.push(format_args!("({column}{bytes} >= "))
        .push_bind(lower.to_string());
    if let Some(after) = eligo_core::text::after_prefix(lower) {
        q.push(format_args!(" AND {column}{bytes} < "))
            .push_bind(after);
    }
    q.push(format_args!(" AND substr({column}, 1, "))
        .push_bind(len)
        .push(") = ")
        .push_bind(lower.to_string())
        .push(")");
}

/// The kinds of `audit_names` rows: the initiator's names, the targets' names.
/// An audit entry sealed in a transaction, waiting to be inserted with the others.
pub(super) struct PendingEntry {
    columns: eligo_core::audit::IndexColumns,
    data: String,
}

/// Pending entries are inserted at commit, before a read of the audit tables, or when this
/// many wait (each statement's parameters stay far below both databases' limits).
const AUDIT_FLUSH_AT: usize = 64;

/// Queues the inserts of sealed entries: the log rows, their targets and their names, one
/// statement each per `AUDIT_FLUSH_AT` entries.
async fn queue_audit(
    conn: &mut <Db as sqlx::Database>::Connection,
    deferred: &mut super::deferred::Deferred,
    entries: &[PendingEntry],
) -> Result<()> {
    for pending in entries.chunks(AUDIT_FLUSH_AT) {
        deferred
            .statement(conn, pending.len() * 7, None)
            .await?
            .push(
                "INSERT INTO audit_log (sequence, id, activity_at, category, activity, initiator_id, data) ",
            )
            .push_values(pending, |mut row, p| {
                let c = &p.columns;
                row.push_bind(c.sequence)
                    .push_bind(&c.id)
                    .push_bind(c.activity_at_micros)
                    .push_bind(&c.category)
                    .push_bind(&c.activity)
                    .push_bind(&c.initiator_id)
                    .push_bind(&p.data);
            });
        let targets: Vec<(i64, &String)> = pending
            .iter()
            .flat_map(|p| {
                let c = &p.columns;
                c.target_ids.iter().map(|t| (c.sequence, t))
            })
            .collect();
        if !targets.is_empty() {
            deferred
                .statement(conn, targets.len() * 2, None)
                .await?
                .push("INSERT INTO audit_targets (sequence, target_id) ")
                .push_values(targets, |mut row, (sequence, target)| {
                    row.push_bind(sequence).push_bind(target);
                });
        }
        let names: Vec<(i64, &str, &String)> = pending
            .iter()
            .flat_map(|p| {
                let c = &p.columns;
                c.actor_names
                    .iter()
                    .map(|n| (c.sequence, AUDIT_ACTOR, n))
                    .chain(c.target_names.iter().map(|n| (c.sequence, AUDIT_TARGET, n)))
            })
            .collect();
        if !names.is_empty() {
            deferred
                .statement(conn, names.len() * 3, None)
                .await?
                .push("INSERT INTO audit_names (kind, name, sequence) ")
                .push_values(names, |mut row, (sequence, kind, name)| {
                    row.push_bind(kind).push_bind(name).push_bind(sequence);
                });
        }
    }
    Ok(())
}

/// Queues the write of the audit chain's new head.
async fn queue_audit_head(
    conn: &mut <Db as sqlx::Database>::Connection,
    deferred: &mut super::deferred::Deferred,
    (sequence, hash): &(i64, String),
) -> Result<()> {
    deferred
        .statement(conn, 2, None)
        .await?
        .push("UPDATE audit_head SET sequence = ")
        .push_bind(*sequence)
        .push(", hash = ")
        .push_bind(hash)
        .push(" WHERE id = 1");
    Ok(())
}

/// A group-commit batch's last writes, just before its COMMIT: the audit entries not inserted
/// yet, the head after them and the change log's entry for `changes`, in one round trip.
/// Returns the changes' number (PostgreSQL; None on SQLite, or without changes).
pub(super) async fn finish_batch(
    tx: &mut sqlx::Transaction<'static, Db>,
    audit: &super::batch::BatchAudit,
    changes: &[crate::changes::Change],
) -> Result<Option<u64>> {
    let mut deferred = super::deferred::Deferred::default();
    queue_audit(&mut *tx, &mut deferred, &audit.entries[audit.inserted..]).await?;
    let head = audit.head.as_ref().filter(|_| audit.head_moved);
    send_last_writes(&mut *tx, &mut deferred, head, changes).await
}

/// Queues the head's new value and the change log's entry (`queue_changes`), then sends the
/// queue with them. Returns the changes' number where there is a change log.
async fn send_last_writes(
    conn: &mut <Db as sqlx::Database>::Connection,
    deferred: &mut super::deferred::Deferred,
    head: Option<&(i64, String)>,
    changes: &[crate::changes::Change],
) -> Result<Option<u64>> {
    if super::queue_changes(&mut *conn, deferred, head, changes).await? {
        let rows = deferred.send_fetching(conn).await?;
        let seq: i64 = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt("the change log gave no number".into()))?
            .try_get(0)?;
        return Ok(Some(seq as u64));
    }
    if let Some(head) = head {
        queue_audit_head(&mut *conn, deferred, head).await?;
    }
    deferred.send(conn).await?;
    Ok(None)
}

const AUDIT_ACTOR: &str = "actor";
const AUDIT_TARGET: &str = "target";

/// ` AND` the entry has a name of `kind` starting with `prefix` (as `search_name` folds it):
/// a range of `audit_names`' primary key (byte order on both backends), so it stays indexed.
fn push_name_prefix(q: &mut QueryBuilder<Db>, kind: &'static str, prefix: &str) {
    let low = eligo_core::audit::search_name(prefix);
    // Every name that starts with `low` sorts at or after it and before `low` + the last
    // code point.
    let high = format!("{low}\u{10FFFF}");
    q.push(" AND sequence IN (SELECT sequence FROM audit_names WHERE kind = ")
        .push_bind(kind)
        .push(" AND name >= ")
        .push_bind(low)
        .push(" AND name < ")
        .push_bind(high)
        .push(")");
}

pub(super) fn push_page(q: &mut QueryBuilder<Db>, page: Page) {
    q.push(" LIMIT ")
        .push_bind(page.top)
        .push(" OFFSET ")
        .push_bind(page.skip);
}

/// A schedule from a row of `data, start_pending, end_pending`. The flag columns are
/// authoritative: rows written before migration 0003 have no flags in their JSON (serde
/// defaults them to false) while the migration set their columns.
/// How many schedules the index holds at `$1` (see each backend's `INDEX_SCHEDULE_PAGE` for
/// which): the two halves of the condition counted apart, each from an index alone (the one on
/// `end_at`, and the partial one of pending ends), where the whole condition scanned the table.
/// They cannot overlap: one has no end, the other one.
const COUNT_INDEX_SCHEDULES: &str = "SELECT \
     (SELECT COUNT(*) FROM role_schedules WHERE end_at IS NULL) + \
     (SELECT COUNT(*) FROM role_schedules WHERE end_pending AND end_at > $1)";

/// Every direct relation for the access index, one row per group with its relations as one
/// text (`index_rows::relations`), in the primary key's order: a row per relation cost a
/// hand-over from SQLite's worker thread each (216,000 at a million schedules).
const RELATIONS_BY_GROUP: &str = "SELECT group_id, string_agg(\
     CASE relation WHEN 'member' THEN 'm' WHEN 'owner' THEN 'o' ELSE '?' END || principal_id, '' \
     ORDER BY relation, principal_id) FROM group_relations GROUP BY group_id ORDER BY group_id";

fn schedule_from_row(row: &<Db as sqlx::Database>::Row) -> Result<RoleSchedule> {
    let mut schedule: RoleSchedule = from_json(&row.try_get::<String, _>(0)?)?;
    schedule.start_pending = row.try_get(1)?;
    schedule.end_pending = row.try_get(2)?;
    Ok(schedule)
}

/// Roles only, groups only, or both (see `Targets`).
/// A group's direct members (or owners), oldest first: the primary key's prefix.
const RELATIONS_OF_GROUP: &str = "SELECT principal_id FROM group_relations \
     WHERE group_id = $1 AND relation = $2 ORDER BY created_at, principal_id";

/// `list_role_schedules`' statement after `prefix` (empty, or `EXPLAIN`); none when the query
/// names an empty set of principals. A scope narrows it through `role_schedules_scope`
/// (directory_scope_id, role_definition_id, kind): one group's schedules, not every group's.
fn schedules_query(prefix: &str, query: &ScheduleQuery) -> Option<QueryBuilder<Db>> {
    let mut q = QueryBuilder::<Db>::new(format!(
        "{prefix}SELECT data, start_pending, end_pending FROM role_schedules"
    ));
    if !push_schedules_filter(&mut q, query) {
        return None;
    }
    q.push(" ORDER BY start_at, id");
    Some(q)
}

/// `list_role_schedules`' ` WHERE` clause; false when the query names an empty set of
/// principals (it matches nothing).
fn push_schedules_filter(q: &mut QueryBuilder<Db>, query: &ScheduleQuery) -> bool {
    q.push(" WHERE 1 = 1");
    if let Some(kind) = query.kind {
        q.push(" AND kind = ").push_bind(kind.as_str());
    }
    push_targets(q, query.targets);
    if let Some(ids) = &query.principal_ids {
        if ids.is_empty() {
            return false;
        }
        q.push(" AND principal_id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(id.to_string());
        }
        q.push(")");
    }
    if let Some(role) = query.role_definition_id {
        q.push(" AND role_definition_id = ")
            .push_bind(role.to_string());
    }
    if let Some(scope) = &query.directory_scope_id {
        q.push(" AND directory_scope_id = ")
            .push_bind(scope.clone());
    }
    true
}

fn push_targets(q: &mut QueryBuilder<Db>, targets: Targets) {
    match targets {
        Targets::All => {}
        Targets::Roles => {
            q.push(" AND group_id IS NULL");
        }
        Targets::Groups => {
            q.push(" AND group_id IS NOT NULL");
        }
    }
}

/// A principal from its `kind` and `data` columns.
fn principal_from(kind: &str, data: &str) -> Result<Principal> {
    Ok(match PrincipalKind::parse(kind) {
        Some(PrincipalKind::User) => Principal::User(from_json(data)?),
        Some(PrincipalKind::Group) => Principal::Group(from_json(data)?),
        Some(PrincipalKind::ServicePrincipal) => Principal::ServicePrincipal(from_json(data)?),
        None => return Err(StoreError::Corrupt(format!("principal kind {kind}"))),
    })
}

pub(super) fn schedules_from_rows(
    rows: Vec<<Db as sqlx::Database>::Row>,
) -> Result<Vec<RoleSchedule>> {
    rows.iter().map(schedule_from_row).collect()
}

impl SqlTx {
    async fn insert_principal(
        &mut self,
        id: Uuid,
        kind: PrincipalKind,
        names: PrincipalNames<'_>,
        created_at: i64,
        data: String,
    ) -> Result<()> {
        self.principals.remove(&id);
        sqlx::query(
            "INSERT INTO principals (id, kind, upn_lower, app_id, display_name, \
             display_name_lower, mail_lower, is_role_assignable, created_at, data, upn, \
             manager_id, account_enabled) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(id.to_string())
        .bind(kind.as_str())
        .bind(names.upn.map(str::to_lowercase))
        .bind(names.app_id.map(|a| a.to_string()))
        .bind(names.display_name)
        .bind(names.display_name.to_lowercase())
        .bind(names.mail.map(str::to_lowercase))
        .bind(names.role_assignable)
        .bind(created_at)
        .bind(data)
        .bind(names.upn)
        .bind(names.manager.map(|m| m.to_string()))
        .bind(names.enabled)
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique(names.unique_what))?;
        self.record_addition(Change::Principal(PrincipalRow {
            id,
            kind,
            display_name: names.display_name.to_string(),
            role_assignable: names.role_assignable,
            manager: names.manager,
            enabled: names.enabled,
            upn: names.upn.map(str::to_string),
        }));
        Ok(())
    }

    /// Updates only a principal of the given kind: a user id can never overwrite a group.
    async fn update_principal(
        &mut self,
        id: Uuid,
        kind: PrincipalKind,
        names: PrincipalNames<'_>,
        data: String,
    ) -> Result<()> {
        self.principals.remove(&id);
        let done = sqlx::query(
            "UPDATE principals SET upn_lower = $2, display_name = $3, display_name_lower = $4, \
             mail_lower = $5, data = $6, upn = $8, manager_id = $9, account_enabled = $10 \
             WHERE id = $1 AND kind = $7",
        )
        .bind(id.to_string())
        .bind(names.upn.map(str::to_lowercase))
        .bind(names.display_name)
        .bind(names.display_name.to_lowercase())
        .bind(names.mail.map(str::to_lowercase))
        .bind(data)
        .bind(kind.as_str())
        .bind(names.upn)
        .bind(names.manager.map(|m| m.to_string()))
        .bind(names.enabled)
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique(names.unique_what))?;
        if done.rows_affected() > 0 {
            self.record(Change::Principal(PrincipalRow {
                id,
                kind,
                display_name: names.display_name.to_string(),
                role_assignable: names.role_assignable,
                manager: names.manager,
                enabled: names.enabled,
                upn: names.upn.map(str::to_string),
            }));
        }
        Ok(())
    }

    /// One principal by id, whatever its kind (kept: see `SqlTx::principals`).
    async fn principal(&mut self, id: Uuid) -> Result<Option<Principal>> {
        if !self.principals.contains_key(&id) {
            self.get_principals(&[id]).await?;
        }
        Ok(self.principals.get(&id).cloned().flatten())
    }
}

struct PrincipalNames<'a> {
    upn: Option<&'a str>,
    app_id: Option<Uuid>,
    display_name: &'a str,
    mail: Option<&'a str>,
    role_assignable: bool,
    unique_what: &'a str,
    manager: Option<Uuid>,
    enabled: bool,
}

impl<'a> PrincipalNames<'a> {
    fn of_user(u: &'a User) -> Self {
        PrincipalNames {
            upn: Some(&u.user_principal_name),
            app_id: None,
            display_name: &u.display_name,
            mail: u.mail.as_deref(),
            role_assignable: false,
            unique_what: "userPrincipalName",
            manager: u.manager_id,
            enabled: u.account_enabled,
        }
    }

    fn of_group(g: &'a Group) -> Self {
        PrincipalNames {
            upn: None,
            app_id: None,
            display_name: &g.display_name,
            mail: None,
            role_assignable: g.is_assignable_to_role,
            unique_what: "group",
            manager: None,
            enabled: false,
        }
    }
}

#[async_trait]
impl Tx for SqlTx {
    async fn principal_kind(&mut self, id: Uuid) -> Result<Option<PrincipalKind>> {
        if let Some(known) = self.principals.get(&id) {
            return Ok(known.as_ref().map(Principal::kind));
        }
        let row = sqlx::query("SELECT kind FROM principals WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn().await?)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let kind: String = r.try_get(0)?;
                PrincipalKind::parse(&kind)
                    .map(Some)
                    .ok_or_else(|| StoreError::Corrupt(format!("principal kind {kind}")))
            }
        }
    }

    async fn get_principals(&mut self, ids: &[Uuid]) -> Result<Vec<Principal>> {
        let unknown: Vec<Uuid> = ids
            .iter()
            .filter(|id| !self.principals.contains_key(id))
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for chunk in unknown.chunks(1000) {
            let mut q =
                QueryBuilder::<Db>::new("SELECT id, kind, data FROM principals WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.to_string());
            }
            q.push(")");
            let mut found = HashMap::with_capacity(chunk.len());
            for r in q.build().fetch_all(self.conn().await?).await? {
                let id = parse_uuid(&r.try_get::<String, _>(0)?)?;
                found.insert(
                    id,
                    principal_from(&r.try_get::<String, _>(1)?, &r.try_get::<String, _>(2)?)?,
                );
            }
            for id in chunk {
                self.principals.insert(*id, found.remove(id));
            }
        }
        // Each principal once, in the order first asked for.
        let mut given = HashSet::with_capacity(ids.len());
        Ok(ids
            .iter()
            .filter(|id| given.insert(**id))
            .filter_map(|id| self.principals.get(id).cloned().flatten())
            .collect())
    }

    async fn count_principals(&mut self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM principals")
            .fetch_one(self.conn().await?)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    async fn delete_principal(&mut self, id: Uuid) -> Result<bool> {
        self.principals.remove(&id);
        let done = sqlx::query("DELETE FROM principals WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn().await?)
            .await?;
        let deleted = done.rows_affected() > 0;
        if deleted {
            sqlx::query("DELETE FROM principal_sources WHERE principal_id = $1")
                .bind(id.to_string())
                .execute(self.conn().await?)
                .await?;
            sqlx::query("DELETE FROM sign_in_identities WHERE principal_id = $1")
                .bind(id.to_string())
                .execute(self.conn().await?)
                .await?;
            self.record(Change::PrincipalDeleted(id));
        }
        Ok(deleted)
    }

    async fn insert_user(&mut self, user: &User) -> Result<()> {
        let at = micros(user.created_date_time);
        self.insert_principal(
            user.id,
            PrincipalKind::User,
            PrincipalNames::of_user(user),
            at,
            to_json(user),
        )
        .await
    }

    async fn update_user(&mut self, user: &User) -> Result<()> {
        self.update_principal(
            user.id,
            PrincipalKind::User,
            PrincipalNames::of_user(user),
            to_json(user),
        )
        .await
    }

    async fn get_user(&mut self, id: Uuid) -> Result<Option<User>> {
        Ok(match self.principal(id).await? {
            Some(Principal::User(user)) => Some(user),
            _ => None,
        })
    }

    async fn find_user_by_upn(&mut self, upn: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT data FROM principals WHERE upn_lower = $1 AND kind = 'user'")
            .bind(upn.to_lowercase())
            .fetch_optional(self.conn().await?)
            .await?;
        row.map(|r| from_json(&r.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn list_users(&mut self, query: &UserQuery, page: Page) -> Result<Vec<User>> {
        let mut q = users_query("", query, page);
        rows_to(q.build().fetch_all(self.conn().await?).await?)
    }

    async fn insert_group(&mut self, group: &Group) -> Result<()> {
        let at = micros(group.created_date_time);
        self.insert_principal(
            group.id,
            PrincipalKind::Group,
            PrincipalNames::of_group(group),
            at,
            to_json(group),
        )
        .await
    }

    async fn update_group(&mut self, group: &Group) -> Result<()> {
        self.update_principal(
            group.id,
            PrincipalKind::Group,
            PrincipalNames::of_group(group),
            to_json(group),
        )
        .await
    }

    async fn get_group(&mut self, id: Uuid) -> Result<Option<Group>> {
        Ok(match self.principal(id).await? {
            Some(Principal::Group(group)) => Some(group),
            _ => None,
        })
    }

    async fn list_groups(&mut self, query: &GroupQuery, page: Page) -> Result<Vec<Group>> {
        let mut q = groups_query("", query, page);
        rows_to(q.build().fetch_all(self.conn().await?).await?)
    }

    async fn insert_service_principal(&mut self, sp: &ServicePrincipal) -> Result<()> {
        let names = PrincipalNames {
            upn: None,
            app_id: Some(sp.app_id),
            display_name: &sp.display_name,
            mail: None,
            role_assignable: false,
            unique_what: "appId",
            manager: None,
            enabled: sp.account_enabled,
        };
        let at = micros(sp.created_date_time);
        self.insert_principal(
            sp.id,
            PrincipalKind::ServicePrincipal,
            names,
            at,
            to_json(sp),
        )
        .await
    }

    async fn get_service_principal(&mut self, id: Uuid) -> Result<Option<ServicePrincipal>> {
        Ok(match self.principal(id).await? {
            Some(Principal::ServicePrincipal(sp)) => Some(sp),
            _ => None,
        })
    }

    async fn find_service_principal_by_app_id(
        &mut self,
        app_id: Uuid,
    ) -> Result<Option<ServicePrincipal>> {
        let row = sqlx::query(
            "SELECT data FROM principals WHERE app_id = $1 AND kind = 'servicePrincipal'",
        )
        .bind(app_id.to_string())
        .fetch_optional(self.conn().await?)
        .await?;
        row.map(|r| from_json(&r.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn list_service_principals(
        &mut self,
        query: &ServicePrincipalQuery,
        page: Page,
    ) -> Result<Vec<ServicePrincipal>> {
        let mut q = service_principals_query("", query, page);
        rows_to(q.build().fetch_all(self.conn().await?).await?)
    }

    async fn add_relation(
        &mut self,
        group: Uuid,
        principal: Uuid,
        relation: Relation,
        at: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO group_relations (group_id, principal_id, relation, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(group.to_string())
        .bind(principal.to_string())
        .bind(relation.as_str())
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        let added = done.rows_affected() > 0;
        if added {
            self.record_addition(Change::Relation {
                group,
                principal,
                relation,
                added: true,
            });
        }
        Ok(added)
    }

    async fn remove_relation(
        &mut self,
        group: Uuid,
        principal: Uuid,
        relation: Relation,
    ) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM group_relations WHERE group_id = $1 AND principal_id = $2 AND relation = $3",
        )
        .bind(group.to_string())
        .bind(principal.to_string())
        .bind(relation.as_str())
        .execute(self.conn().await?)
        .await?;
        let removed = done.rows_affected() > 0;
        if removed {
            self.record(Change::Relation {
                group,
                principal,
                relation,
                added: false,
            });
        }
        Ok(removed)
    }

    async fn relations_of_group(&mut self, group: Uuid, relation: Relation) -> Result<Vec<Uuid>> {
        let rows = sqlx::query(RELATIONS_OF_GROUP)
            .bind(group.to_string())
            .bind(relation.as_str())
            .fetch_all(self.conn().await?)
            .await?;
        rows.iter()
            .map(|r| parse_uuid(&r.try_get::<String, _>(0)?))
            .collect()
    }

    async fn all_principals(&mut self) -> Result<Vec<PrincipalRow>> {
        // Each backend reads them its fastest way (sqlite.rs: pages in the table's order;
        // postgres.rs: a row per prefix of the ids).
        let mut all = Vec::new();
        super::all_principals(self.conn().await?, &mut |row| all.push(row)).await?;
        Ok(all)
    }

    async fn each_relation(
        &mut self,
        each: &mut (dyn FnMut(Uuid, Uuid, Relation) + Send),
    ) -> Result<()> {
        use futures_util::TryStreamExt;
        // A stream, not every row first: SQLite's worker thread reads ahead (sqlx's row
        // channel) while the task places what arrived.
        let mut rows = sqlx::query(RELATIONS_BY_GROUP).fetch(self.conn().await?);
        while let Some(r) = rows.try_next().await? {
            let group = parse_uuid(r.try_get(0)?)?;
            crate::index_rows::relations(r.try_get(1)?, &mut |principal, relation| {
                each(group, principal, relation)
            })?;
        }
        Ok(())
    }

    async fn memberships_since(
        &mut self,
        groups: &[Uuid],
    ) -> Result<Vec<(Uuid, Uuid, DateTime<Utc>)>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = QueryBuilder::new(
            "SELECT group_id, principal_id, created_at FROM group_relations \
             WHERE relation = 'member' AND group_id IN (",
        );
        let mut list = q.separated(", ");
        for g in groups {
            list.push_bind(g.to_string());
        }
        q.push(") ORDER BY group_id, principal_id");
        let rows = q.build().fetch_all(self.conn().await?).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    parse_uuid(&r.try_get::<String, _>(0)?)?,
                    parse_uuid(&r.try_get::<String, _>(1)?)?,
                    from_micros(r.try_get::<i64, _>(2)?),
                ))
            })
            .collect()
    }

    async fn groups_of_principal(
        &mut self,
        principal: Uuid,
        relation: Relation,
    ) -> Result<Vec<Uuid>> {
        let rows = sqlx::query(
            "SELECT group_id FROM group_relations WHERE principal_id = $1 AND relation = $2 \
             ORDER BY group_id",
        )
        .bind(principal.to_string())
        .bind(relation.as_str())
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| parse_uuid(&r.try_get::<String, _>(0)?))
            .collect()
    }

    async fn get_credential(
        &mut self,
        principal: Uuid,
        kind: &str,
    ) -> Result<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT data FROM credentials WHERE principal_id = $1 AND kind = $2")
            .bind(principal.to_string())
            .bind(kind)
            .fetch_optional(self.conn().await?)
            .await?;
        row.map(|r| {
            self.open_json(
                &place::credential(principal, kind),
                &r.try_get::<String, _>(0)?,
            )
        })
        .transpose()
    }

    async fn put_credential(
        &mut self,
        principal: Uuid,
        kind: &str,
        data: &serde_json::Value,
        at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO credentials (principal_id, kind, updated_at, data) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (principal_id, kind) DO UPDATE SET updated_at = $3, data = $4",
        )
        .bind(principal.to_string())
        .bind(kind)
        .bind(at)
        .bind(self.seal_json(&place::credential(principal, kind), data))
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    async fn insert_token(&mut self, token: &TokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO tokens (token_hash, principal_id, created_at, expires_at, revoked_at, data) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.token_hash)
        .bind(token.principal_id.to_string())
        .bind(micros(token.created_at))
        .bind(token.expires_at.map(micros))
        .bind(token.revoked_at.map(micros))
        .bind(to_json(token))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("token"))?;
        self.record_addition(Change::Session(token.clone()));
        Ok(())
    }

    async fn live_tokens(&mut self, now: DateTime<Utc>) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT data FROM tokens WHERE revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(micros(now))
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| from_json(&r.try_get::<String, _>(0)?))
            .collect()
    }

    async fn get_token(&mut self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query("SELECT data, revoked_at FROM tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(self.conn().await?)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut token: TokenRecord = from_json(&row.try_get::<String, _>(0)?)?;
        // The column is authoritative: a bulk revocation (`revoke_tokens_of`) sets only it.
        let revoked: Option<i64> = row.try_get(1)?;
        if let Some(at) = revoked {
            token.revoked_at = Some(token.revoked_at.unwrap_or(from_micros(at)));
        }
        Ok(Some(token))
    }

    async fn revoke_tokens_of(
        &mut self,
        principal: Uuid,
        keep: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at = $2 \
             WHERE principal_id = $1 AND revoked_at IS NULL AND token_hash <> $3",
        )
        .bind(principal.to_string())
        .bind(micros(at))
        .bind(keep.unwrap_or(""))
        .execute(self.conn().await?)
        .await?;
        if done.rows_affected() > 0 {
            self.record(Change::SessionsRevoked {
                principal,
                keep: keep.map(str::to_string),
                at,
            });
        }
        Ok(done.rows_affected())
    }

    async fn update_token(&mut self, token: &TokenRecord) -> Result<()> {
        sqlx::query(
            "UPDATE tokens SET expires_at = $2, revoked_at = $3, data = $4 WHERE token_hash = $1",
        )
        .bind(&token.token_hash)
        .bind(token.expires_at.map(micros))
        .bind(token.revoked_at.map(micros))
        .bind(to_json(token))
        .execute(self.conn().await?)
        .await?;
        self.record(Change::Session(token.clone()));
        Ok(())
    }

    async fn insert_role_definition(&mut self, role: &RoleDefinition) -> Result<()> {
        sqlx::query(
            "INSERT INTO role_definitions (id, display_name_lower, is_built_in, data) VALUES ($1, $2, $3, $4)",
        )
        .bind(role.id.to_string())
        .bind(role.display_name.to_lowercase())
        .bind(role.is_built_in)
        .bind(to_json(role))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("roleDefinition"))?;
        self.record_addition(Change::RoleDefinition(role.clone()));
        Ok(())
    }

    async fn get_role_definition(&mut self, id: Uuid) -> Result<Option<RoleDefinition>> {
        if let Some(role) = self.batch_cache().and_then(|c| c.roles.get(&id)) {
            return Ok(Some(role.clone()));
        }
        if let Conn::Member(member) = &self.tx
            && let Some(role) = member.known_role(id)
        {
            return Ok(Some(role));
        }
        let row = sqlx::query("SELECT data FROM role_definitions WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn().await?)
            .await?;
        let role: Option<RoleDefinition> = row
            .map(|r| from_json(&r.try_get::<String, _>(0)?))
            .transpose()?;
        if let (Some(role), Some(cache)) = (&role, self.batch_cache()) {
            cache.roles.insert(id, role.clone());
        }
        Ok(role)
    }

    async fn list_role_definitions(&mut self, query: &RoleQuery) -> Result<Vec<RoleDefinition>> {
        let mut q = QueryBuilder::<Db>::new("SELECT data FROM role_definitions WHERE 1 = 1");
        if let Some(name) = &query.display_name {
            q.push(" AND display_name_lower = ")
                .push_bind(name.to_lowercase());
        }
        q.push(" ORDER BY display_name_lower");
        rows_to(q.build().fetch_all(self.conn().await?).await?)
    }

    async fn insert_role_schedule(&mut self, s: &RoleSchedule) -> Result<()> {
        // Deferred: sent with the transaction's next statement (see `deferred_sql`).
        let conflict = Some(("role_schedules", "roleSchedule"));
        self.defer(12, s.principal_id, conflict, |q| {
            q.push(
                "INSERT INTO role_schedules (id, kind, principal_id, role_definition_id, \
                 directory_scope_id, start_at, end_at, start_pending, end_pending, data, group_id, \
                 activated) VALUES (",
            );
            let mut values = q.separated(", ");
            values
                .push_bind(s.id.to_string())
                .push_bind(s.kind.as_str())
                .push_bind(s.principal_id.to_string())
                .push_bind(s.role_definition_id.to_string())
                .push_bind(&s.directory_scope_id)
                .push_bind(micros(s.start_date_time))
                .push_bind(s.end_date_time.map(micros))
                .push_bind(s.start_pending)
                .push_bind(s.end_pending)
                .push_bind(to_json(s))
                .push_bind(s.target().group().map(|(g, _)| g.to_string()))
                .push_bind(s.assignment_type == AssignmentType::Activated);
            values.push_unseparated(")");
        })
        .await?;
        self.record_addition(Change::Schedule(s.clone()));
        Ok(())
    }

    async fn read_ahead(&mut self, ahead: &crate::ReadAhead) -> Result<()> {
        self.read_ahead_now(ahead).await
    }

    async fn list_role_schedules(&mut self, query: &ScheduleQuery) -> Result<Vec<RoleSchedule>> {
        if let Some(read) = self.ahead.schedules(query) {
            return Ok(read);
        }
        let Some(mut q) = schedules_query("", query) else {
            return Ok(Vec::new());
        };
        schedules_from_rows(q.build().fetch_all(self.conn().await?).await?)
    }

    async fn explain(&mut self, query: &HotQuery) -> Result<Vec<String>> {
        let prefix = if <Db as sqlx::Database>::NAME == "SQLite" {
            "EXPLAIN QUERY PLAN "
        } else {
            "EXPLAIN "
        };
        let rows = match query {
            HotQuery::Schedules(query) => match schedules_query(prefix, query) {
                Some(mut q) => q.build().fetch_all(self.conn().await?).await?,
                None => Vec::new(),
            },
            HotQuery::Requests(query) => {
                requests_query(prefix, query, Page { top: 1, skip: 0 })
                    .build()
                    .fetch_all(self.conn().await?)
                    .await?
            }
            HotQuery::Users(query) => {
                users_query(prefix, query, Page { top: 1, skip: 0 })
                    .build()
                    .fetch_all(self.conn().await?)
                    .await?
            }
            HotQuery::Groups(query) => {
                groups_query(prefix, query, Page { top: 1, skip: 0 })
                    .build()
                    .fetch_all(self.conn().await?)
                    .await?
            }
            HotQuery::ServicePrincipals(query) => {
                service_principals_query(prefix, query, Page { top: 1, skip: 0 })
                    .build()
                    .fetch_all(self.conn().await?)
                    .await?
            }
            HotQuery::RelationsOfGroup(group, relation) => {
                // Both parts are constants of this file.
                sqlx::query(sqlx::AssertSqlSafe(format!("{prefix}{RELATIONS_OF_GROUP}")))
                    .bind(group.to_string())
                    .bind(relation.as_str())
                    .fetch_all(self.conn().await?)
                    .await?
            }
        };
        // The plan text is the last column on both (SQLite's `detail`, PostgreSQL's only one).
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>(r.len() - 1)?))
            .collect()
    }

    async fn get_role_schedule(&mut self, id: Uuid) -> Result<Option<RoleSchedule>> {
        let row = sqlx::query(
            "SELECT data, start_pending, end_pending FROM role_schedules WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.conn().await?)
        .await?;
        row.as_ref().map(schedule_from_row).transpose()
    }

    async fn count_index_schedules(&mut self, now: DateTime<Utc>) -> Result<usize> {
        let n: i64 = sqlx::query_scalar(COUNT_INDEX_SCHEDULES)
            .bind(micros(now))
            .fetch_one(self.conn().await?)
            .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn index_schedules(
        &mut self,
        now: DateTime<Utc>,
        each: &mut (dyn for<'a> FnMut(IndexedSchedule<'a>) + Send),
    ) -> Result<()> {
        // Each backend reads them its fastest way (sqlite.rs: pages; postgres.rs: a stream).
        super::index_schedules(self.conn().await?, micros(now), each).await
    }

    async fn update_role_schedule(&mut self, s: &RoleSchedule) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE role_schedules SET start_at = $2, end_at = $3, start_pending = $4, \
             end_pending = $5, data = $6, activated = $7 WHERE id = $1",
        )
        .bind(s.id.to_string())
        .bind(micros(s.start_date_time))
        .bind(s.end_date_time.map(micros))
        .bind(s.start_pending)
        .bind(s.end_pending)
        .bind(to_json(s))
        .bind(s.assignment_type == AssignmentType::Activated)
        .execute(self.conn().await?)
        .await?;
        let updated = done.rows_affected() > 0;
        if updated {
            self.record(Change::Schedule(s.clone()));
        }
        Ok(updated)
    }

    async fn due_role_schedules(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<RoleSchedule>> {
        // Ordered by the earliest pending moment: the start when it is pending (and not after a
        // pending end), otherwise the end.
        let rows = sqlx::query(
            "SELECT data, start_pending, end_pending FROM role_schedules \
             WHERE (start_pending AND start_at <= $1) OR (end_pending AND end_at <= $1) \
             ORDER BY CASE WHEN start_pending \
                 AND (NOT end_pending OR end_at IS NULL OR start_at <= end_at) \
                 THEN start_at ELSE end_at END, id \
             LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        schedules_from_rows(rows)
    }

    async fn insert_schedule_request(&mut self, r: &ScheduleRequest) -> Result<()> {
        // Deferred: sent with the transaction's next statement (see `deferred_sql`).
        let conflict = Some(("schedule_requests", "scheduleRequest"));
        self.defer(12, r.principal_id, conflict, |q| {
            q.push(
                "INSERT INTO schedule_requests (id, kind, action, principal_id, \
                 role_definition_id, directory_scope_id, status, created_by, created_at, \
                 deadline_at, data, group_id) VALUES (",
            );
            let mut values = q.separated(", ");
            values
                .push_bind(r.id.to_string())
                .push_bind(r.kind.as_str())
                .push_bind(r.action.as_str())
                .push_bind(r.principal_id.to_string())
                .push_bind(r.role_definition_id.to_string())
                .push_bind(&r.directory_scope_id)
                .push_bind(r.status.as_str())
                .push_bind(r.created_by.to_string())
                .push_bind(micros(r.created_date_time))
                .push_bind(r.deadline().map(micros))
                .push_bind(to_json(r))
                .push_bind(r.target().group().map(|(g, _)| g.to_string()));
            values.push_unseparated(")");
        })
        .await
    }

    async fn update_schedule_request(&mut self, r: &ScheduleRequest) -> Result<bool> {
        // Every column is derived from the record, so all are rewritten: the filters can never
        // disagree with the JSON, whatever the caller changed.
        let done = sqlx::query(
            "UPDATE schedule_requests SET kind = $2, action = $3, principal_id = $4, \
             role_definition_id = $5, directory_scope_id = $6, status = $7, created_by = $8, \
             created_at = $9, deadline_at = $10, data = $11 WHERE id = $1",
        )
        .bind(r.id.to_string())
        .bind(r.kind.as_str())
        .bind(r.action.as_str())
        .bind(r.principal_id.to_string())
        .bind(r.role_definition_id.to_string())
        .bind(&r.directory_scope_id)
        .bind(r.status.as_str())
        .bind(r.created_by.to_string())
        .bind(micros(r.created_date_time))
        .bind(r.deadline().map(micros))
        .bind(to_json(r))
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_schedule_request(&mut self, id: Uuid) -> Result<Option<ScheduleRequest>> {
        let row = sqlx::query("SELECT data FROM schedule_requests WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn().await?)
            .await?;
        row.map(|r| from_json(&r.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn list_schedule_requests(
        &mut self,
        query: &RequestQuery,
        page: Page,
    ) -> Result<Vec<ScheduleRequest>> {
        if let Some(read) = self.ahead.requests(query, page) {
            return Ok(read);
        }
        let mut q = requests_query("", query, page);
        rows_to(q.build().fetch_all(self.conn().await?).await?)
    }

    async fn due_schedule_requests(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ScheduleRequest>> {
        let rows = sqlx::query(
            "SELECT data FROM schedule_requests \
             WHERE status = 'PendingApproval' AND deadline_at IS NOT NULL AND deadline_at <= $1 \
             ORDER BY deadline_at, id LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        rows_to(rows)
    }

    async fn next_due(&mut self) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT MIN(due_at) FROM ( \
             SELECT MIN(start_at) AS due_at FROM role_schedules WHERE start_pending \
             UNION ALL SELECT MIN(end_at) AS due_at FROM role_schedules WHERE end_pending \
             UNION ALL SELECT MIN(deadline_at) AS due_at FROM schedule_requests \
             WHERE status = 'PendingApproval' \
             UNION ALL SELECT MIN(due_at) AS due_at FROM em_assignments \
             WHERE due_at IS NOT NULL \
             UNION ALL SELECT MIN(due_at) AS due_at FROM em_assignment_requests \
             WHERE due_at IS NOT NULL \
             UNION ALL SELECT MIN(remind_at) AS due_at FROM em_assignments \
             WHERE remind_at IS NOT NULL \
             UNION ALL SELECT MIN(notice_at) AS due_at FROM em_assignment_requests \
             WHERE notice_at IS NOT NULL \
             UNION ALL SELECT MIN(next_start_at) AS due_at FROM review_definitions \
             WHERE next_start_at IS NOT NULL \
             UNION ALL SELECT MIN(due_at) AS due_at FROM review_instances \
             WHERE due_at IS NOT NULL \
             ) AS due",
        )
        .fetch_one(self.conn().await?)
        .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?.map(from_micros))
    }

    async fn get_policy(&mut self, id: &str) -> Result<Option<RolePolicy>> {
        if let Some(policy) = self.batch_cache().and_then(|c| c.policies.get(id)) {
            return Ok(policy.clone());
        }
        let row = sqlx::query("SELECT data FROM role_policies WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn().await?)
            .await?;
        let policy: Option<RolePolicy> = row
            .map(|r| from_json(&r.try_get::<String, _>(0)?))
            .transpose()?;
        if let Some(cache) = self.batch_cache() {
            cache.policies.insert(id.to_string(), policy.clone());
        }
        Ok(policy)
    }

    async fn list_policies(&mut self) -> Result<Vec<RolePolicy>> {
        let rows = sqlx::query("SELECT data FROM role_policies ORDER BY id")
            .fetch_all(self.conn().await?)
            .await?;
        rows_to(rows)
    }

    async fn put_policy(&mut self, policy: &RolePolicy, at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO role_policies (id, scope_type, scope_id, role_definition_id, updated_at, data) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET updated_at = $5, data = $6",
        )
        .bind(&policy.id)
        .bind(policy.scope_type.as_str())
        .bind(&policy.scope_id)
        .bind(&policy.role_definition_id)
        .bind(at)
        .bind(to_json(policy))
        .execute(self.conn().await?)
        .await?;
        if let Some(cache) = self.batch_cache() {
            cache.policies.remove(&policy.id);
        }
        Ok(())
    }

    async fn append_audit(&mut self, event: AuditEvent) -> Result<AuditEntry> {
        let (head_sequence, head_hash) = self.audit_head().await?;
        let entry = event.seal(head_sequence + 1, &head_hash);
        self.head = Some((entry.sequence, entry.hash.clone()));
        self.head_moved = true;
        self.pending_audit.push(PendingEntry {
            // Every column is derived from the hashed entry, so `verify` can hold it against it.
            columns: entry.index_columns(),
            data: to_json(&entry),
        });
        if self.pending_audit.len() >= AUDIT_FLUSH_AT {
            self.flush_audit().await?;
        }
        Ok(entry)
    }

    async fn list_audit(&mut self, query: &AuditQuery, page: Page) -> Result<Vec<AuditEntry>> {
        self.flush_audit().await?;
        let mut q = QueryBuilder::<Db>::new("SELECT data FROM audit_log WHERE 1 = 1");
        if let Some(category) = &query.category {
            q.push(" AND category = ").push_bind(category.clone());
        }
        if let Some(activity) = &query.activity {
            q.push(" AND activity = ").push_bind(activity.clone());
        }
        // A part of an activity is matched against the few distinct activities first (read
        // from the activity index), so a filter that matches nothing does not read the log.
        if query.activity_prefix.is_some() || query.activity_contains.is_some() {
            let prefix = query.activity_prefix.as_deref().map(str::to_lowercase);
            let part = query.activity_contains.as_deref().map(str::to_lowercase);
            let activities: Vec<String> =
                sqlx::query_scalar("SELECT DISTINCT activity FROM audit_log")
                    .fetch_all(self.conn().await?)
                    .await?
                    .into_iter()
                    .filter(|a: &String| {
                        let lower = a.to_lowercase();
                        prefix
                            .as_ref()
                            .is_none_or(|p| lower.starts_with(p.as_str()))
                            && part.as_ref().is_none_or(|p| lower.contains(p.as_str()))
                    })
                    .collect();
            if activities.is_empty() {
                return Ok(Vec::new());
            }
            q.push(" AND activity IN (");
            let mut list = q.separated(", ");
            for a in activities {
                list.push_bind(a);
            }
            q.push(")");
        }
        if let Some(initiator) = query.initiator_id {
            q.push(" AND initiator_id = ")
                .push_bind(initiator.to_string());
        }
        if let Some(prefix) = &query.initiator_prefix {
            push_name_prefix(&mut q, AUDIT_ACTOR, prefix);
        }
        if let Some(prefix) = &query.target_prefix {
            push_name_prefix(&mut q, AUDIT_TARGET, prefix);
        }
        if let Some(target) = &query.target_id {
            q.push(" AND sequence IN (SELECT sequence FROM audit_targets WHERE target_id = ")
                .push_bind(target.to_lowercase())
                .push(")");
        }
        if let Some(since) = query.since {
            q.push(" AND activity_at >= ").push_bind(micros(since));
        }
        if let Some(until) = query.until {
            q.push(" AND activity_at <= ").push_bind(micros(until));
        }
        q.push(" ORDER BY sequence DESC");
        push_page(&mut q, page);
        rows_to(q.build().fetch_all(self.conn().await?).await?)
    }

    async fn audit_after(&mut self, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        self.flush_audit().await?;
        let rows = sqlx::query(
            "SELECT data, sequence FROM audit_log WHERE sequence > $1 ORDER BY sequence LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                let mut entry: AuditEntry = from_json(&r.try_get::<String, _>(0)?)?;
                // The indexed column is authoritative for order: a row whose JSON claims another
                // place must fail verification rather than be silently reordered.
                entry.sequence = r.try_get::<i64, _>(1)?;
                Ok(entry)
            })
            .collect()
    }

    async fn audit_stored_after(
        &mut self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(AuditEntry, eligo_core::audit::IndexColumns)>> {
        self.flush_audit().await?;
        let rows = sqlx::query(
            "SELECT data, sequence, id, activity_at, category, activity, initiator_id \
             FROM audit_log WHERE sequence > $1 ORDER BY sequence LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(Vec::new());
        };
        let last: i64 = last.try_get(1)?;
        let mut targets: std::collections::HashMap<i64, Vec<String>> = Default::default();
        let target_rows = sqlx::query(
            "SELECT sequence, target_id FROM audit_targets \
             WHERE sequence > $1 AND sequence <= $2",
        )
        .bind(after)
        .bind(last)
        .fetch_all(self.conn().await?)
        .await?;
        for r in target_rows {
            targets
                .entry(r.try_get::<i64, _>(0)?)
                .or_default()
                .push(r.try_get::<String, _>(1)?);
        }
        let mut names: std::collections::HashMap<(i64, bool), Vec<String>> = Default::default();
        let name_rows = sqlx::query(
            "SELECT sequence, kind, name FROM audit_names WHERE sequence > $1 AND sequence <= $2",
        )
        .bind(after)
        .bind(last)
        .fetch_all(self.conn().await?)
        .await?;
        for r in name_rows {
            let is_actor = r.try_get::<String, _>(1)? == AUDIT_ACTOR;
            names
                .entry((r.try_get::<i64, _>(0)?, is_actor))
                .or_default()
                .push(r.try_get::<String, _>(2)?);
        }
        // Sorted here, not by the database's collation, as `index_columns` sorts.
        let mut sorted = |key: (i64, bool)| {
            let mut v = names.remove(&key).unwrap_or_default();
            v.sort_unstable();
            v
        };
        rows.iter()
            .map(|r| {
                let mut entry: AuditEntry = from_json(&r.try_get::<String, _>(0)?)?;
                let sequence: i64 = r.try_get(1)?;
                entry.sequence = sequence;
                let columns = eligo_core::audit::IndexColumns {
                    sequence,
                    id: r.try_get(2)?,
                    activity_at_micros: r.try_get(3)?,
                    category: r.try_get(4)?,
                    activity: r.try_get(5)?,
                    initiator_id: r.try_get(6)?,
                    // Sorted here, not by the database's collation, as `index_columns` sorts.
                    target_ids: {
                        let mut ids = targets.remove(&sequence).unwrap_or_default();
                        ids.sort_unstable();
                        ids
                    },
                    actor_names: sorted((sequence, true)),
                    target_names: sorted((sequence, false)),
                };
                Ok((entry, columns))
            })
            .collect()
    }

    async fn change_head(&mut self) -> Result<u64> {
        let head: i64 = sqlx::query_scalar("SELECT change_seq FROM audit_head WHERE id = 1")
            .fetch_one(self.conn().await?)
            .await?;
        Ok(head as u64)
    }

    async fn audit_head(&mut self) -> Result<(i64, String)> {
        if let Some(head) = &self.head {
            return Ok(head.clone());
        }
        // In a batch, the head the finished members left (the row is written at COMMIT).
        if let Conn::Member(member) = &self.tx
            && let Some(head) = &member.open().audit.head
        {
            self.head = Some(head.clone());
            return Ok(head.clone());
        }
        let row = sqlx::query("SELECT sequence, hash FROM audit_head WHERE id = 1")
            .fetch_one(self.conn().await?)
            .await?;
        let head: (i64, String) = (row.try_get(0)?, row.try_get(1)?);
        self.head = Some(head.clone());
        Ok(head)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        if let Some(hook) = self.journal.as_ref().and_then(|j| j.hook())
            && !self.changes.is_empty()
        {
            let changes = self.changes.clone();
            hook.before_commit(&mut *self, &changes).await?;
        }
        // A batch member's entries and head go to the batch, inserted once before its COMMIT.
        // A transaction of its own sends them now, with its change log's entry.
        let mut own_seq = None;
        if let Conn::Own(_) = &self.tx {
            let pending = std::mem::take(&mut self.pending_audit);
            queue_audit(&mut self.tx, &mut self.deferred, &pending).await?;
            let head = self.head.as_ref().filter(|_| self.head_moved);
            let changes: &[crate::changes::Change] = match &self.journal {
                Some(_) => &self.changes,
                None => &[],
            };
            own_seq = send_last_writes(&mut self.tx, &mut self.deferred, head, changes).await?;
        }
        // A member likely to hand the batch over reads what the writers in line will read
        // first with its last writes, in one round trip (see `batch`). On SQLite it also sets
        // the next savepoint there; the reads come before the savepoint statements: should
        // they fail, this member's own savepoint is still the one its rollback returns to.
        // There, it asks the first two writers in line (the next one decides while this
        // member's writes run, on what the one before read for it) and sends its writes
        // without waiting (`Member::commit_ahead`) when it has a savepoint of its own to
        // undo them to. On PostgreSQL the read ends the statement of the writes, which it
        // does not see, so it is asked there only when it reads nothing they write
        // (`ask_after_writes`).
        self.ready().await?;
        let many = super::deferred::MANY_STATEMENTS;
        let next_savepoint = match &self.tx {
            Conn::Member(member) if many => member.next_savepoint(self.narrows),
            _ => None,
        };
        let questions = match (&self.tx, next_savepoint) {
            (Conn::Member(member), Some(_)) => member.next_questions(2),
            (Conn::Member(member), None) if !many && member.hands_over(self.narrows) => {
                member.next_questions(1)
            }
            _ => Vec::new(),
        };
        if let Conn::Member(member) = &mut self.tx {
            member.written(self.deferred.touched(), self.ran_statements);
        }
        let mut asked = Vec::with_capacity(questions.len());
        for (tag, (ticket, question)) in (0..).zip(questions) {
            let queued = match many {
                true => self.queue_question(&question, tag).await?,
                false => self.ask_after_writes(&question),
            };
            if queued {
                asked.push(super::batch::Asked {
                    ticket,
                    question,
                    tag,
                });
            }
        }
        let preopens = next_savepoint.is_some_and(|statement| self.deferred.plain(statement));
        let ahead = preopens
            && matches!(&self.tx, Conn::Member(member) if member.open().member_has_savepoint());
        if ahead && let Some(last) = self.deferred.take_unsent() {
            let SqlTx {
                tx: Conn::Member(member),
                changes,
                head,
                head_moved,
                pending_audit,
                ..
            } = *self
            else {
                unreachable!("only a batch member sends ahead");
            };
            let audit = super::batch::MemberAudit {
                head,
                head_moved,
                entries: pending_audit,
            };
            return member.commit_ahead(last, asked, changes, audit).await;
        }
        if asked.is_empty() {
            self.deferred.send(&mut self.tx).await?;
        } else {
            let rows = self.deferred.send_fetching(&mut self.tx).await?;
            if let Conn::Member(member) = &mut self.tx {
                for question in asked {
                    if let Some(answers) = tagged_answers(&question.question, &rows, question.tag) {
                        member.hand(super::batch::Handed {
                            ticket: question.ticket,
                            question: question.question,
                            answers,
                        });
                    }
                }
            }
        }
        if preopens && let Conn::Member(member) = &mut self.tx {
            member.preopened();
        }
        let SqlTx {
            tx,
            journal,
            changes,
            narrows,
            head,
            head_moved,
            pending_audit,
            ..
        } = *self;
        match (tx, journal) {
            // A batch logs its members' changes together, once, before its COMMIT.
            (Conn::Member(member), _) => {
                let audit = super::batch::MemberAudit {
                    head,
                    head_moved,
                    entries: pending_audit,
                };
                member.commit(changes, narrows, audit).await?
            }
            (Conn::Own(tx), None) => tx.commit().await?,
            (Conn::Own(tx), Some(journal)) => journal.commit(changes, own_seq, tx.commit()).await?,
        }
        Ok(())
    }
}

pub(super) fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("id {s}: {e}")))
}
