//! Eligo's storage: one `Store` trait and one implementation per backend (SQLite for the
//! embedded default, PostgreSQL for several servers), each with its own migrations, chosen once
//! from the database URL at start-up.
//!
//! Conventions (every method obeys them):
//! - Lookups return `Result<Option<T>, StoreError>`: "not found" is an answer, never an error,
//!   and a database error is never turned into `None` — an outage must not look like "no
//!   assignment" in an access system.
//! - Every change happens inside a write transaction (`Store::write`), together with its audit
//!   entry (`Tx::append_audit`). Write transactions are serialized on both backends, so a use
//!   case's "load, decide, write" cannot interleave with another's.
//! - Nothing is visible to others before `Tx::commit` returns; dropping a `Tx` rolls it back.

mod changes;
mod copy_binary;
mod effects;
mod entitlement;
mod feed;
mod history;
#[macro_use]
mod index_rows;
mod model;
mod pim_alerts;
mod postgres;
mod reviews;
pub mod seal;
mod server_claim;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEntry, AuditEvent};
use eligo_core::directory::{Group, PrincipalKind, Relation, ServicePrincipal, User};
use eligo_core::policy::RolePolicy;
use eligo_core::request::ScheduleRequest;
use eligo_core::roles::RoleDefinition;
use eligo_core::schedule::RoleSchedule;
use uuid::Uuid;

pub use changes::{BeforeCommit, Change, IndexedSchedule, Listener, PrincipalRow};
pub use effects::*;
pub use entitlement::{AssignmentQuery, AssignmentRequestQuery, EntitlementTx};
pub use feed::{FeedStatus, HEARTBEAT as FEED_HEARTBEAT};
pub use history::{Activation, HistoryTx, LastActivation, SignInActivity, SignInKind};
pub use model::*;
pub use pim_alerts::{AlertScanTimes, PimAlertTx};
pub use reviews::ReviewTx;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (e.g. a second user with the same userPrincipalName).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// This server's access index could not be brought up to the database's change `0` in
    /// time (the change log unreadable, or a gap being repaired): nothing was written.
    #[error("this server's access index is behind the database (change {0})")]
    Behind(u64),
    /// The group-committed batch this write was part of did not commit (see `batch`); nothing
    /// of it was written.
    #[error("write batch failed: {message}")]
    Batch { message: String, unreachable: bool },
    /// The master key is missing, wrong for this database, or unusable: the store refuses to
    /// open (and changes nothing) rather than seal new secrets under a key that cannot open the
    /// old ones.
    #[error("master key: {0}")]
    MasterKey(String),
    /// Another live server on this PostgreSQL database holds this server id (see
    /// `Store::hold_server_id`); `holder` names its session where PostgreSQL shows it.
    #[error(
        "another eligo serve on this database runs with the server id {server_id:?} ({holder}); \
         give each server its own ELIGO_SERVER_ID (or none: a fresh one per start), or stop that \
         one first. PostgreSQL ends the session of a server that is gone within about half a \
         minute, or at once with pg_terminate_backend"
    )]
    ServerIdInUse { server_id: String, holder: String },
    /// A sealed value did not open (another key, or altered in the database).
    #[error("sealed {place}: {error}")]
    Sealed {
        place: String,
        error: seal::SealError,
    },
}

impl StoreError {
    /// The database refused a text value it cannot hold (PostgreSQL: a NUL, SQLSTATE 22021 or
    /// 22P05): the caller's input, not a fault of the store, and the statement did nothing.
    pub fn is_unstorable_text(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("22021" | "22P05"))
            }
            _ => false,
        }
    }

    /// The database could not be reached (down, restarting, the pool exhausted or closed), as
    /// opposed to refusing or failing a statement: a condition to wait out, not a bug.
    pub fn is_unreachable(&self) -> bool {
        let e = match self {
            StoreError::Database(e) => e,
            StoreError::Behind(_) => return true,
            StoreError::Batch { unreachable, .. } => return *unreachable,
            _ => return false,
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            // A connection cut mid-conversation (mid-handshake: "unexpected response").
            | sqlx::Error::Protocol(_) => true,
            // Connection exceptions (08xxx); the server shutting down or starting (57P01
            // admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now); out of
            // resources (53xxx: too many connections, disk full, out of memory); and a
            // database that takes no writes for now (25006 read_only_sql_transaction: a
            // failover left the connections on a standby, or `default_transaction_read_only`).
            // The statement did nothing, and the same request may succeed in a moment.
            sqlx::Error::Database(db)
                if db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some() =>
            {
                db.code().is_some_and(|c| {
                    c.starts_with("08")
                        || c.starts_with("57P")
                        || c.starts_with("53")
                        || c == "25006"
                })
            }
            _ => false,
        }
    }
}

/// What group commit did since the store opened: database transactions committed, the write
/// transactions (members) in them, writers waiting in the writer's queue now (in the order
/// they will be served), the writers whose
/// first reads (`Store::write_reading_ahead`) a member before them answered, and the members
/// that sent their last writes without waiting for them (SQLite: the next member decided
/// meanwhile).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommits {
    pub commits: u64,
    pub members: u64,
    pub waiting: u64,
    pub answered_ahead: u64,
    pub sent_ahead: u64,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A read-only snapshot (on SQLite, a reader connection; never blocks writers).
    async fn read(&self) -> Result<Box<dyn Tx>>;
    /// A write transaction. Only one runs at a time (see the crate docs).
    async fn write(&self) -> Result<Box<dyn Tx>>;
    /// `write`, for a use case that will begin with `Tx::read_ahead` of `first`: a store that
    /// can may ask it while the writer waits for its turn, together with the writes before it,
    /// so that the transaction's `read_ahead` of it then costs no round trip. The answers are
    /// the same as if asked at that point (nothing runs in between).
    async fn write_reading_ahead(&self, first: ReadAhead) -> Result<Box<dyn Tx>> {
        let _ = first;
        self.write().await
    }
    /// Reports every committed write transaction's access changes to `listener`, in commit
    /// order, before that transaction's `commit` returns (see `Change`); on PostgreSQL also
    /// every other server's, read from the change log after number `from` (the `change_head`
    /// of the snapshot the listener's state was built from). One listener; a second call
    /// replaces the first and starts again from its `from`.
    fn listen(&self, listener: Listener, from: u64);
    /// Waits (at most `within`) until the listener has received change number `head` (a
    /// `Tx::change_head`): false when it could not. Always true on SQLite.
    async fn caught_up(&self, head: u64, within: std::time::Duration) -> bool {
        let _ = (head, within);
        true
    }
    /// Where the listener stands in the change log (PostgreSQL); None without a log.
    fn feed_status(&self) -> Option<FeedStatus> {
        None
    }
    /// Runs `hook` inside every write transaction that changed something, before COMMIT (see
    /// `BeforeCommit`). One hook; a second call replaces the first.
    fn before_commit(&self, hook: Arc<dyn BeforeCommit>);
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// At most `max_members` write transactions per database commit (1: each commits alone).
    fn limit_group_commit(&self, max_members: usize) {
        let _ = max_members;
    }
    /// Group commit so far (see `GroupCommits`).
    fn group_commits(&self) -> GroupCommits {
        GroupCommits::default()
    }

    // Sign-in throttling, shared by every server on this database. Each call is its own small
    // transaction outside the write transactions' order (counting a failure never waits for a
    // use case, nor a use case for it): an upsert per key is atomic by itself.
    /// `(key, failures, window start)` of those of `keys` whose window started after `since`.
    async fn throttle_counts(
        &self,
        keys: &[String],
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, i64, DateTime<Utc>)>>;
    /// One more failure at `now` for each of `keys`; a key whose window started `window` or
    /// more before `now` starts a new window at `now` with this failure.
    async fn throttle_failure(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        window: chrono::TimeDelta,
    ) -> Result<()>;
    /// Forgets `key`'s failures (its account signed in).
    async fn throttle_clear(&self, key: &str) -> Result<()>;
    /// Forgets windows that started before `before`.
    async fn prune_throttle(&self, before: DateTime<Utc>) -> Result<u64>;

    // OpenID Connect sign-ins under way, shared by every server (each call its own small
    // transaction, like the throttle).
    /// Keeps a pending sign-in under the hash of its state until `expires_at` (and forgets
    /// those that expired before `now`).
    async fn oidc_pending_put(
        &self,
        state_hash: &str,
        expires_at: DateTime<Utc>,
        data: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Takes the pending sign-in of this state hash: the row is deleted in the same statement,
    /// so of two callbacks with one state only one gets it. The caller checks its expiry.
    async fn oidc_pending_take(
        &self,
        state_hash: &str,
    ) -> Result<Option<(DateTime<Utc>, serde_json::Value)>>;

    /// The id of the master key secrets are sealed under, and how many stored values `open`
    /// sealed again (plaintext from before sealing, or under an earlier key).
    fn sealing(&self) -> (&str, u64);
    async fn ping(&self) -> Result<()>;
    /// The database server's clock now, read in one round trip that also serves as `ping`:
    /// several servers' decisions about time (an activation's end, a session's expiry) agree
    /// only as far as their clocks do, and the database is the one clock they all reach. None
    /// on SQLite, which runs on the server's own machine.
    async fn database_time(&self) -> Result<Option<DateTime<Utc>>> {
        self.ping().await?;
        Ok(None)
    }
    /// Holds `server_id` for this process until `close`: `StoreError::ServerIdInUse` when
    /// another live server on this database holds it (PostgreSQL, see `server_claim`). Nothing
    /// to hold on SQLite, which serves one `eligo serve` per file.
    async fn hold_server_id(&self, server_id: &str) -> Result<()> {
        let _ = server_id;
        Ok(())
    }
    /// True while another server holds the id this one held and lost (its session ended, and
    /// the other started with the same id meanwhile): two servers would then deliver each
    /// other's outbox jobs, so this one claims none until it has its id back.
    fn server_id_taken(&self) -> bool {
        false
    }
    async fn close(&self);
}

/// Everything a use case can do inside one transaction.
#[async_trait]
pub trait Tx: EffectsTx + EntitlementTx + HistoryTx + PimAlertTx + ReviewTx + Send {
    // Principals.
    async fn principal_kind(&mut self, id: Uuid) -> Result<Option<PrincipalKind>>;
    /// The principals of `ids` that exist, in the order of `ids` (each once): one read per
    /// thousand ids, for a listing that answers with many principals.
    async fn get_principals(&mut self, ids: &[Uuid]) -> Result<Vec<Principal>>;
    async fn count_principals(&mut self) -> Result<i64>;
    async fn delete_principal(&mut self, id: Uuid) -> Result<bool>;

    async fn insert_user(&mut self, user: &User) -> Result<()>;
    async fn update_user(&mut self, user: &User) -> Result<()>;
    async fn get_user(&mut self, id: Uuid) -> Result<Option<User>>;
    async fn find_user_by_upn(&mut self, upn: &str) -> Result<Option<User>>;
    async fn list_users(&mut self, query: &UserQuery, page: Page) -> Result<Vec<User>>;

    async fn insert_group(&mut self, group: &Group) -> Result<()>;
    async fn update_group(&mut self, group: &Group) -> Result<()>;
    async fn get_group(&mut self, id: Uuid) -> Result<Option<Group>>;
    async fn list_groups(&mut self, query: &GroupQuery, page: Page) -> Result<Vec<Group>>;

    async fn insert_service_principal(&mut self, sp: &ServicePrincipal) -> Result<()>;
    async fn get_service_principal(&mut self, id: Uuid) -> Result<Option<ServicePrincipal>>;
    async fn find_service_principal_by_app_id(
        &mut self,
        app_id: Uuid,
    ) -> Result<Option<ServicePrincipal>>;
    async fn list_service_principals(
        &mut self,
        query: &ServicePrincipalQuery,
        page: Page,
    ) -> Result<Vec<ServicePrincipal>>;

    // Group relations (direct only; transitive resolution lives above the store).
    /// Returns false when the relation already existed.
    async fn add_relation(
        &mut self,
        group: Uuid,
        principal: Uuid,
        relation: Relation,
        at: i64,
    ) -> Result<bool>;
    /// Returns false when there was nothing to remove.
    async fn remove_relation(
        &mut self,
        group: Uuid,
        principal: Uuid,
        relation: Relation,
    ) -> Result<bool>;
    async fn relations_of_group(&mut self, group: Uuid, relation: Relation) -> Result<Vec<Uuid>>;
    async fn groups_of_principal(
        &mut self,
        principal: Uuid,
        relation: Relation,
    ) -> Result<Vec<Uuid>>;
    /// Every principal, as the access index keeps it (to build the index at start), in no
    /// particular order.
    async fn all_principals(&mut self) -> Result<Vec<PrincipalRow>>;
    /// Hands every direct relation to `each` as `(group, principal, relation)`, as the rows
    /// arrive (to build the access index: the database reads on while they are placed).
    async fn each_relation(
        &mut self,
        each: &mut (dyn FnMut(Uuid, Uuid, Relation) + Send),
    ) -> Result<()>;
    /// Every direct membership of one of `groups`: `(group, member, when it was made)`.
    async fn memberships_since(
        &mut self,
        groups: &[Uuid],
    ) -> Result<Vec<(Uuid, Uuid, DateTime<Utc>)>>;

    // Credentials: opaque JSON per (principal, kind), e.g. "password", "totp", "clientSecret".
    async fn get_credential(
        &mut self,
        principal: Uuid,
        kind: &str,
    ) -> Result<Option<serde_json::Value>>;
    async fn put_credential(
        &mut self,
        principal: Uuid,
        kind: &str,
        data: &serde_json::Value,
        at: i64,
    ) -> Result<()>;

    // Sessions (bearer tokens, stored only as hashes).
    async fn insert_token(&mut self, token: &TokenRecord) -> Result<()>;
    async fn get_token(&mut self, token_hash: &str) -> Result<Option<TokenRecord>>;
    async fn update_token(&mut self, token: &TokenRecord) -> Result<()>;
    /// Every session neither revoked nor expired at `now` (the server's session table).
    async fn live_tokens(&mut self, now: DateTime<Utc>) -> Result<Vec<TokenRecord>>;
    /// Revokes every live session of `principal` except `keep` (a token hash); how many.
    async fn revoke_tokens_of(
        &mut self,
        principal: Uuid,
        keep: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<u64>;

    // Roles.
    async fn insert_role_definition(&mut self, role: &RoleDefinition) -> Result<()>;
    async fn get_role_definition(&mut self, id: Uuid) -> Result<Option<RoleDefinition>>;
    async fn list_role_definitions(&mut self, query: &RoleQuery) -> Result<Vec<RoleDefinition>>;
    /// Deferred: sent with the transaction's next statement or its commit, which report a
    /// `Conflict` for an id already there (the transaction is then to be dropped).
    async fn insert_role_schedule(&mut self, schedule: &RoleSchedule) -> Result<()>;
    async fn list_role_schedules(&mut self, query: &ScheduleQuery) -> Result<Vec<RoleSchedule>>;
    /// Asks the database, in one round trip, what this transaction is about to read: the next
    /// `get_principals` of those principals, `list_role_schedules` of exactly that query and
    /// `list_schedule_requests` of exactly that query and page are then answered from it,
    /// provided nothing else ran on the transaction in between (see `read_ahead_sql`).
    async fn read_ahead(&mut self, ahead: &ReadAhead) -> Result<()>;
    async fn get_role_schedule(&mut self, id: Uuid) -> Result<Option<RoleSchedule>>;
    /// How many schedules `index_schedules` would hand over (for the index to reserve room).
    async fn count_index_schedules(&mut self, now: DateTime<Utc>) -> Result<usize>;
    /// Every schedule the access index holds at `now` (no end, or an end after `now` that the
    /// scheduler has not processed), narrowed to what the index needs (columns; no record
    /// parsed), each handed to `each` as it is read: a million schedules are never all in
    /// memory as rows. Read while the index is built: on SQLite in pages of a few thousand
    /// (`index_rows`), each asked for before the one before it is handed over; on PostgreSQL
    /// as one stream of rows. In no particular order.
    async fn index_schedules(
        &mut self,
        now: DateTime<Utc>,
        each: &mut (dyn for<'a> FnMut(IndexedSchedule<'a>) + Send),
    ) -> Result<()>;
    /// The database's plan for one of the hot reads, built exactly as its method runs it
    /// (SQLite `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN`), one line per plan node: for the
    /// contract tests that assert which index a read uses.
    #[doc(hidden)]
    async fn explain(&mut self, query: &HotQuery) -> Result<Vec<String>>;
    /// Replaces the stored schedule with the same id (window, flags, links). False when none.
    async fn update_role_schedule(&mut self, schedule: &RoleSchedule) -> Result<bool>;
    /// Schedules the scheduler owes work at `now`: `start_pending` with start <= now, or
    /// `end_pending` with end <= now; the earliest due first, at most `limit`.
    async fn due_role_schedules(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<RoleSchedule>>;

    // Schedule requests (eligibility and assignment), kept for the record.
    /// Deferred, as `insert_role_schedule`.
    async fn insert_schedule_request(&mut self, request: &ScheduleRequest) -> Result<()>;
    /// Replaces the stored request with the same id. False when none.
    async fn update_schedule_request(&mut self, request: &ScheduleRequest) -> Result<bool>;
    async fn get_schedule_request(&mut self, id: Uuid) -> Result<Option<ScheduleRequest>>;
    /// Newest first, filtered.
    async fn list_schedule_requests(
        &mut self,
        query: &RequestQuery,
        page: Page,
    ) -> Result<Vec<ScheduleRequest>>;
    /// Requests whose approval stage timed out by `now` (`ScheduleRequest::deadline`), earliest
    /// first, at most `limit`.
    async fn due_schedule_requests(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ScheduleRequest>>;
    /// The earliest moment the scheduler owes any work (due schedules or requests); None when
    /// nothing is scheduled.
    async fn next_due(&mut self) -> Result<Option<DateTime<Utc>>>;

    // Role settings.
    /// The stored policy with this id, or None when it was never changed (defaults apply).
    async fn get_policy(&mut self, id: &str) -> Result<Option<RolePolicy>>;
    /// Every stored (changed) policy; policies never changed answer with defaults elsewhere.
    async fn list_policies(&mut self) -> Result<Vec<RolePolicy>>;
    async fn put_policy(&mut self, policy: &RolePolicy, at: i64) -> Result<()>;

    // Audit.
    /// Seals `event` onto the chain's head and stores it; the entry is durable with the commit.
    async fn append_audit(&mut self, event: AuditEvent) -> Result<AuditEntry>;
    /// Newest first, filtered.
    async fn list_audit(&mut self, query: &AuditQuery, page: Page) -> Result<Vec<AuditEntry>>;
    /// Oldest first, `sequence > after`, for verification and export in batches.
    async fn audit_after(&mut self, after: i64, limit: i64) -> Result<Vec<AuditEntry>>;
    /// `audit_after` with the index columns stored beside each entry, as they are in the
    /// database (for verification: they must be what the entry derives).
    async fn audit_stored_after(
        &mut self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(AuditEntry, eligo_core::audit::IndexColumns)>>;
    /// The recorded head (sequence, hash); sequence 0 before the first entry.
    async fn audit_head(&mut self) -> Result<(i64, String)>;
    /// The number of the last change committed (the change log's head; 0 on SQLite, whose
    /// one writer reports its commits directly).
    async fn change_head(&mut self) -> Result<u64>;

    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Feeds `verifier` every audit entry after sequence `after`, oldest first and in batches, each
/// with the index columns stored beside it; returns the last sequence fed (`after` when none).
/// The one walk behind `GET /v1/auditLogs/verify`, `eligo audit verify` and the portal's check.
pub async fn feed_audit_verifier(
    tx: &mut dyn Tx,
    verifier: &mut eligo_core::audit::ChainVerifier,
    mut after: i64,
) -> Result<i64> {
    loop {
        let batch = tx.audit_stored_after(after, 5_000).await?;
        let Some((last, _)) = batch.last() else {
            return Ok(after);
        };
        after = last.sequence;
        for (entry, columns) in &batch {
            verifier.push_stored(entry, columns);
        }
    }
}

/// Chooses the master keys once the store knows how its secrets are sealed: given the id of
/// the key the database is sealed with (None for a database that holds no sealed secret yet),
/// it answers the keyring or says why it cannot (the message is shown to the operator).
pub type KeyProvider<'a> =
    &'a (dyn Fn(Option<&str>) -> std::result::Result<seal::Keyring, String> + Sync);

/// Opens the store named by `url` (`sqlite://path` or `postgres://...`), brings its schema up to
/// date, and seals its secrets under the primary key of the ring `keys` answers: plaintext rows
/// (from before secrets were sealed) and rows sealed under an earlier key (a rotation) are
/// sealed again, all in one transaction. A key that does not open the database's secrets is
/// refused before anything is written.
pub async fn open(url: &str, keys: KeyProvider<'_>) -> Result<Arc<dyn Store>> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        Ok(Arc::new(sqlite::SqliteStore::open(path, keys).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PostgresStore::open(url, keys).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    }
}

/// Whether `url` names a database Eligo has already set up (an existing SQLite file; a
/// PostgreSQL database holding Eligo's schema). The offline commands ask first: an auditor
/// pointed at the wrong place must hear so, not get a new empty store that "verifies".
pub async fn exists(url: &str) -> Result<bool> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        return Ok(std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let (found,): (bool,) = sqlx::query_as("SELECT to_regclass('audit_head') IS NOT NULL")
            .fetch_one(&mut conn)
            .await?;
        let _ = conn.close().await;
        return Ok(found);
    }
    Err(StoreError::UnsupportedUrl(redact_url(url)))
}

/// After a bulk load (the benchmarks' fills), what PostgreSQL's autovacuum does to a table soon
/// after: `VACUUM (ANALYZE)`, so that index-only scans need not visit the table for each row
/// and the planner knows the tables' sizes. Nothing on SQLite, which has neither.
pub async fn settle_bulk_load(url: &str) -> Result<()> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::raw_sql("VACUUM (ANALYZE)").execute(&mut conn).await?;
        let _ = conn.close().await;
    }
    Ok(())
}

/// A URL with any password replaced, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}
