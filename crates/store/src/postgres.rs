//! PostgreSQL, for several Eligo servers sharing one database. Every write transaction first
//! locks the audit chain's head row (`FOR UPDATE`): the chain needs a single order anyway, and
//! the lock makes each use case's "load, decide, write" serial across all servers, exactly as
//! on SQLite, so no decision is taken on a state another server is changing.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};

use std::sync::Arc;

use crate::changes::{Change, Journal, Listener};
use crate::feed::{CHANNEL, Feed, FeedStatus};
use crate::seal::Keyring;
use crate::{KeyProvider, Result, Store, StoreError, Tx};

pub type Db = sqlx::Postgres;

// The shared SQL is compiled once per backend on purpose (see shared_sql.rs).
#[allow(clippy::duplicate_mod)]
#[path = "batch.rs"]
mod batch;
#[allow(clippy::duplicate_mod)]
#[path = "deferred_sql.rs"]
mod deferred;
#[allow(clippy::duplicate_mod)]
#[path = "shared_sql.rs"]
mod shared;
#[allow(clippy::duplicate_mod)]
#[path = "shared_effects_sql.rs"]
mod shared_effects;
#[allow(clippy::duplicate_mod)]
#[path = "shared_entitlement_sql.rs"]
mod shared_entitlement;
#[allow(clippy::duplicate_mod)]
#[path = "shared_history_sql.rs"]
mod shared_history;
#[allow(clippy::duplicate_mod)]
#[path = "shared_oidc_sql.rs"]
mod shared_oidc;
#[allow(clippy::duplicate_mod)]
#[path = "shared_pim_alerts_sql.rs"]
mod shared_pim_alerts;
#[allow(clippy::duplicate_mod)]
#[path = "shared_reviews_sql.rs"]
mod shared_reviews;
#[allow(clippy::duplicate_mod)]
#[path = "shared_seal_sql.rs"]
mod shared_seal;
#[allow(clippy::duplicate_mod)]
#[path = "shared_throttle_sql.rs"]
mod shared_throttle;

/// `Tx::index_schedules` on PostgreSQL: one `COPY` of the table in its physical order, its
/// binary rows taken apart as they arrive (`copy_binary`). The server scans the table in order
/// while the index is built: measured against pages keyed by `id` (as SQLite's), the server
/// alone spent 5.8 s on the pages (the primary key's order visits the table at random) and
/// 1.8 s on a scan (BENCHMARKS.md). The scan as rows of a `SELECT` then cost this task more
/// than the index it built: a row description, a lookup and a UTF-8 check per column and row
/// (BENCHMARKS.md, "PostgreSQL's start as a `COPY`").
async fn index_schedules(
    conn: &mut sqlx::PgConnection,
    now: i64,
    each: &mut (dyn for<'a> FnMut(crate::IndexedSchedule<'a>) + Send),
) -> Result<()> {
    use crate::copy_binary::{BinaryCopy, boolean, int8, text};
    use eligo_core::schedule::ScheduleKind;
    use futures_util::TryStreamExt;
    // `COPY` takes no parameters; `now` is an integer, written out.
    let statement = format!(
        "COPY (SELECT id, kind, principal_id, role_definition_id, directory_scope_id, \
         start_at, end_at, end_pending, activated FROM role_schedules \
         WHERE end_at IS NULL OR (end_pending AND end_at > {now})) TO STDOUT (FORMAT binary)"
    );
    let mut chunks = conn.copy_out_raw(&statement).await?;
    let mut copy = BinaryCopy::<9>::default();
    while let Some(chunk) = chunks.try_next().await? {
        copy.feed(&chunk, &mut |[
            id,
            kind,
            principal,
            role,
            scope,
            start,
            end,
            pending,
            activated,
        ]| {
            let kind = match text(kind)? {
                "eligible" => ScheduleKind::Eligible,
                "active" => ScheduleKind::Active,
                other => return Err(StoreError::Corrupt(format!("schedule kind {other}"))),
            };
            let start = int8(start)?
                .ok_or_else(|| StoreError::Corrupt("a schedule without a start".into()))?;
            each(crate::IndexedSchedule {
                id: shared::parse_uuid(text(id)?)?,
                kind,
                principal_id: shared::parse_uuid(text(principal)?)?,
                role_definition_id: shared::parse_uuid(text(role)?)?,
                directory_scope_id: text(scope)?,
                start: crate::from_micros(start),
                end: int8(end)?.map(crate::from_micros),
                end_pending: boolean(pending)?,
                activated: boolean(activated)?,
            });
            Ok(())
        })?;
    }
    copy.finish()
}

/// `Tx::all_principals` on PostgreSQL: one binary `COPY` of the table (`copy_binary`). A
/// `string_agg` per first two characters of the ids (as before) cost the server twice the
/// scan's time in building the texts (BENCHMARKS.md, "PostgreSQL's start as a `COPY`").
async fn all_principals(
    conn: &mut sqlx::PgConnection,
    each: &mut impl FnMut(crate::changes::PrincipalRow),
) -> Result<()> {
    use crate::copy_binary::{BinaryCopy, boolean, text};
    use eligo_core::directory::PrincipalKind;
    use futures_util::TryStreamExt;
    let mut chunks = conn
        .copy_out_raw(
            "COPY (SELECT id, kind, is_role_assignable, account_enabled, manager_id, upn, \
             display_name FROM principals) TO STDOUT (FORMAT binary)",
        )
        .await?;
    let mut copy = BinaryCopy::<7>::default();
    while let Some(chunk) = chunks.try_next().await? {
        copy.feed(&chunk, &mut |[
            id,
            kind,
            assignable,
            enabled,
            manager,
            upn,
            name,
        ]| {
            let kind = text(kind)?;
            each(crate::changes::PrincipalRow {
                id: shared::parse_uuid(text(id)?)?,
                kind: PrincipalKind::parse(kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("principal kind {kind}")))?,
                display_name: text(name)?.to_string(),
                role_assignable: boolean(assignable)?,
                manager: manager
                    .map(|m| shared::parse_uuid(text(Some(m))?))
                    .transpose()?,
                enabled: boolean(enabled)?,
                upn: upn.map(|u| text(Some(u)).map(str::to_string)).transpose()?,
            });
            Ok(())
        })?;
    }
    copy.finish()
}

/// How long a write waits, under the head lock, for the feed to bring the index to the head.
const WRITE_WAIT: Duration = Duration::from_secs(5);

/// A write's first statement: the audit chain's head row, locked until the transaction ends
/// (the head's change number, the chain's sequence and hash).
const LOCK_HEAD: &str = "SELECT change_seq, sequence, hash FROM audit_head WHERE id = 1 FOR UPDATE";

/// `LOCK_HEAD`, and in the same round trip the change log entries this server has not applied
/// up to the head it locked (`Feed::missed_query`). When another server committed just before
/// (with three servers, before nearly every batch), the writer then applies them itself instead
/// of waiting, lock held, for the follower to be woken and read them in two round trips more.
async fn lock_head_reading_missed(
    tx: &mut sqlx::PgConnection,
    feed: &crate::feed::Feed,
) -> Result<((i64, i64, String), Vec<(i64, String)>)> {
    use sqlx::Row;
    let sql = format!("{LOCK_HEAD}; {}", feed.missed_query());
    // The simple protocol: both statements in one round trip, rows of both in order.
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_all(tx)
        .await?;
    let mut head = None;
    let mut missed = Vec::new();
    for row in &rows {
        if row.len() == 3 {
            head = Some((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
        } else {
            missed.push((row.try_get(0)?, row.try_get(1)?));
        }
    }
    let head = head.ok_or_else(|| StoreError::Corrupt("the audit chain has no head row".into()))?;
    Ok((head, missed))
}

pub struct PostgresStore {
    pool: PgPool,
    journal: Arc<Journal>,
    /// Group commit of the write transactions (see `batch`).
    batcher: batch::Batcher,
    keys: Arc<Keyring>,
    /// How many stored values `open` sealed again.
    resealed: u64,
    /// The task that holds this server's id (`hold_server_id`), ended at `close`.
    server_id: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Another server holds the id this one lost (`server_claim::keep`).
    server_id_taken: Arc<std::sync::atomic::AtomicBool>,
}

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![
        Migration::new(
            1,
            "init".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0001_init.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            2,
            "role policies".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0002_role_policies.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            3,
            "schedule requests".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0003_schedule_requests.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            4,
            "schedule lookup index".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0004_schedule_lookup.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            5,
            "group access".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0005_group_access.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            6,
            "outbox".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0006_outbox.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            7,
            "audit initiator index".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0007_audit_initiator.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            8,
            "audit names".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0008_audit_names.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            9,
            "entitlement management".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0009_entitlement.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            10,
            "entitlement assignments".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0010_entitlement_assignments.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            11,
            "audit activity index".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0011_audit_activity.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            12,
            "entitlement approval deadline".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0012_entitlement_approval_deadline.sql")
                .into_sql_str(),
            false,
        ),
        Migration::new(
            13,
            "entitlement notices".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0013_entitlement_notices.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            14,
            "entitlement custom extensions".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0014_entitlement_custom_extensions.sql")
                .into_sql_str(),
            false,
        ),
        Migration::new(
            15,
            "sign-in and activation history".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0015_history.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            16,
            "pim alerts".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0016_pim_alerts.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            17,
            "activation history by time".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0017_activation_history_time.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            18,
            "access reviews".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0018_access_reviews.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            19,
            "schedules by scope".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0019_schedules_by_scope.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            20,
            "change log".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0020_change_log.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            21,
            "shared across servers".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0021_shared_across_servers.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            22,
            "inbound scim".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0022_scim.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            23,
            "oidc pending".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0023_oidc_pending.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            24,
            "requests of a principal".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0024_requests_of_a_principal.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            25,
            "index columns".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0025_index_columns.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            26,
            "fewer indexes on writes".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0026_fewer_indexes_on_writes.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            27,
            "index load by holder".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0027_index_load_by_holder.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            28,
            "one index by holder".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0028_one_index_by_holder.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            29,
            "names in byte order".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0029_names_in_byte_order.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            30,
            "audit search rows without foreign keys".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0030_audit_search_rows_without_foreign_keys.sql")
                .into_sql_str(),
            false,
        ),
        Migration::new(
            31,
            "sign-in identities".into(),
            MigrationType::Simple,
            include_str!("../migrations/postgres/0031_sign_in_identities.sql").into_sql_str(),
            false,
        ),
    ])
}

impl PostgresStore {
    /// A write transaction, a member of the open batch (see `batch`); `first`: what it will
    /// read first (`Store::write_reading_ahead`).
    async fn write_asking(&self, first: Option<crate::ReadAhead>) -> Result<Box<dyn Tx>> {
        let begin = async || {
            let mut tx = self.pool.begin().await?;
            // The audit chain's head comes with the lock: the batch's first append needs it,
            // and nobody else moves it before this transaction ends.
            let following = self.journal.feed().filter(|feed| feed.is_following());
            let (head, sequence, hash) = match following {
                Some(feed) => {
                    let (head, missed) = lock_head_reading_missed(&mut tx, feed).await?;
                    feed.apply_missed(&self.journal, &missed, head.0 as u64)
                        .await;
                    head
                }
                None => sqlx::query_as(LOCK_HEAD).fetch_one(&mut *tx).await?,
            };
            // Whatever the writer could not apply itself (a hole, more than one read's worth),
            // the follower brings, or reports.
            if let Some(feed) = following
                && !feed.writer_caught_up(head as u64, WRITE_WAIT).await
            {
                return Err(StoreError::Behind(head as u64));
            }
            Ok((tx, Some((sequence, hash))))
        };
        // A batch holds the head lock from its first member to its COMMIT: nobody else
        // commits meanwhile, so the index stays current but for the batch's own additions.
        // The question of `write_reading_ahead` is asked ahead only where the writes before
        // it do not touch what it reads (see `batch`): they go as one statement, whose own
        // query would not see them.
        let member = self.batcher.join(begin, first).await?;
        Ok(Box::new(shared::SqlTx::write(
            shared::Conn::Member(member),
            self.journal.clone(),
            self.keys.clone(),
        )))
    }

    pub async fn open(url: &str, keys: KeyProvider<'_>) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A request waits this long for a connection, then gets 503: a database that is
            // down (or a pool saturated that long) is answered at once, not after a long hang.
            .acquire_timeout(Duration::from_secs(3))
            .connect(url)
            .await?;
        // sqlx takes an advisory lock, so servers starting together migrate once.
        migrator().run(&pool).await?;
        let sealed_with = shared_seal::sealed_with(&pool).await?;
        let keys = Arc::new(keys(sealed_with.as_deref()).map_err(StoreError::MasterKey)?);
        // The feed's own connections: one listens, one or two read the log.
        let feed_pool = PgPoolOptions::new()
            .max_connections(3)
            .acquire_timeout(Duration::from_secs(2))
            .connect(url)
            .await?;
        let journal = Arc::new(Journal::following(Arc::new(Feed::new(feed_pool))));
        // Under the head lock, like every write: servers starting together seal once.
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT sequence FROM audit_head WHERE id = 1 FOR UPDATE")
            .execute(&mut *tx)
            .await?;
        let mut tx = shared::SqlTx::write(shared::Conn::Own(tx), journal.clone(), keys.clone());
        let resealed = tx.reseal().await?;
        Box::new(tx).commit().await?;
        Ok(Self {
            pool,
            batcher: batch::Batcher::new(journal.clone()),
            journal,
            keys,
            resealed,
            server_id: std::sync::Mutex::default(),
            server_id_taken: Arc::default(),
        })
    }
}

#[async_trait]
impl Store for PostgresStore {
    /// A read-only snapshot, like SQLite's readers: one consistent view for the whole read.
    async fn read(&self) -> Result<Box<dyn Tx>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        Ok(Box::new(shared::SqlTx::read(tx, self.keys.clone())))
    }

    /// Takes the head lock, then waits until this server's listener has every change committed
    /// before it (nobody else can commit while the lock is held, so the head read here is
    /// final): whatever the transaction decides from the access index (authorization, the
    /// downstream plan) it decides on the database's state, not on a lagging copy.
    async fn write(&self) -> Result<Box<dyn Tx>> {
        self.write_asking(None).await
    }

    async fn write_reading_ahead(&self, first: crate::ReadAhead) -> Result<Box<dyn Tx>> {
        self.write_asking(Some(first)).await
    }

    fn listen(&self, listener: Listener, from: u64) {
        self.journal.set(listener);
        if let Some(feed) = self.journal.feed() {
            feed.follow_from(&self.journal, from);
        }
    }

    async fn caught_up(&self, head: u64, within: Duration) -> bool {
        match self.journal.feed() {
            Some(feed) => feed.caught_up(head, within).await,
            None => true,
        }
    }

    fn feed_status(&self) -> Option<FeedStatus> {
        self.journal.feed().map(|f| f.status())
    }

    fn before_commit(&self, hook: Arc<dyn crate::BeforeCommit>) {
        self.journal.set_hook(hook);
    }

    fn sealing(&self) -> (&str, u64) {
        (self.keys.primary_id(), self.resealed)
    }

    fn limit_group_commit(&self, max_members: usize) {
        self.batcher.limit(max_members);
    }

    fn group_commits(&self) -> crate::GroupCommits {
        self.batcher.stats()
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn throttle_counts(
        &self,
        keys: &[String],
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(String, i64, chrono::DateTime<chrono::Utc>)>> {
        shared_throttle::counts(&self.pool, keys, since).await
    }

    async fn throttle_failure(
        &self,
        keys: &[String],
        now: chrono::DateTime<chrono::Utc>,
        window: chrono::TimeDelta,
    ) -> Result<()> {
        shared_throttle::failure(&self.pool, keys, now, window).await
    }

    async fn throttle_clear(&self, key: &str) -> Result<()> {
        shared_throttle::clear(&self.pool, key).await
    }

    async fn prune_throttle(&self, before: chrono::DateTime<chrono::Utc>) -> Result<u64> {
        shared_throttle::prune(&self.pool, before).await
    }

    async fn oidc_pending_put(
        &self,
        state_hash: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
        data: &serde_json::Value,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        shared_oidc::put(&self.pool, state_hash, expires_at, data, now).await
    }

    async fn oidc_pending_take(
        &self,
        state_hash: &str,
    ) -> Result<Option<(chrono::DateTime<chrono::Utc>, serde_json::Value)>> {
        shared_oidc::take(&self.pool, state_hash).await
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn database_time(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let micros: i64 =
            sqlx::query_scalar("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8")
                .fetch_one(&self.pool)
                .await?;
        Ok(chrono::DateTime::from_timestamp_micros(micros))
    }

    async fn hold_server_id(&self, server_id: &str) -> Result<()> {
        let held = crate::server_claim::hold(
            &self.pool.connect_options(),
            server_id,
            self.server_id_taken.clone(),
        )
        .await?;
        let earlier = self.server_id.lock().expect("not poisoned").replace(held);
        if let Some(earlier) = earlier {
            earlier.abort();
        }
        Ok(())
    }

    fn server_id_taken(&self) -> bool {
        self.server_id_taken
            .load(std::sync::atomic::Ordering::Acquire)
    }

    async fn close(&self) {
        // Dropping the holding session lets the id go at once, for a restart with the same id.
        let held = self.server_id.lock().expect("not poisoned").take();
        if let Some(held) = held {
            held.abort();
            let _ = held.await;
        }
        self.pool.close().await;
        if let Some(feed) = self.journal.feed() {
            feed.close().await;
        }
    }
}

/// Numbers a write transaction's changes and writes them to the change log, with a
/// notification delivered at COMMIT (see `feed`); runs under the head lock, so the numbers
/// follow commit order without gaps, and a rollback takes the number back. Queued as the last
/// clauses of the queue's statement with the head row's new value (`head`, when the chain
/// moved): one `UPDATE` of that row does both (a statement may not change a row twice), and the
/// statement returns the number. So the audit's rows, the head and the change log go in one
/// round trip before the COMMIT. Ok(false), nothing queued, when there are no changes: the
/// caller queues the head alone.
pub(crate) async fn queue_changes(
    conn: &mut <Db as sqlx::Database>::Connection,
    deferred: &mut deferred::Deferred,
    head: Option<&(i64, String)>,
    changes: &[Change],
) -> Result<bool> {
    if changes.is_empty() {
        return Ok(false);
    }
    let body = serde_json::to_string(changes).expect("changes always serialize");
    // Room for all three clauses (2 + 1 + 1 parameters), so none is sent apart from the
    // clause it reads.
    let numbered = deferred.statement(conn, 4, None).await?;
    numbered.push("UPDATE audit_head SET change_seq = change_seq + 1");
    if let Some((sequence, hash)) = head {
        numbered
            .push(", sequence = ")
            .push_bind(*sequence)
            .push(", hash = ")
            .push_bind(hash.clone());
    }
    numbered.push(" WHERE id = 1 RETURNING change_seq");
    let next = deferred.last_clause();
    deferred
        .statement(conn, 0, None)
        .await?
        .push("INSERT INTO change_log (seq, body, created_at) SELECT change_seq, ")
        .push_bind(body)
        .push(format_args!(
            ", (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT FROM {next} RETURNING seq"
        ));
    let logged = deferred.last_clause();
    let Some(query) = deferred.close_with_question(0, &[]) else {
        return Err(StoreError::Corrupt(
            "the change log's clauses were not the last of their statement".into(),
        ));
    };
    query
        .push(format_args!("SELECT seq FROM {logged} WHERE pg_notify("))
        .push_bind(CHANNEL)
        .push(", seq::text)::text = ''");
    Ok(true)
}
