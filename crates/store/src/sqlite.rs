//! The embedded default: one SQLite file in WAL mode. Writes go through a pool of exactly one
//! connection, which is how SQLite serializes writers anyway and avoids lock-upgrade errors;
//! reads use a separate pool of read-only connections that never wait for the writer.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use std::sync::Arc;

use crate::changes::{Journal, Listener};
use crate::seal::Keyring;
use crate::{KeyProvider, Result, Store, StoreError, Tx};

pub type Db = sqlx::Sqlite;

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
#[path = "wal.rs"]
mod wal;
#[path = "wal_vfs.rs"]
mod wal_vfs;

/// A page of the access index's schedules (`Tx::index_schedules`, format in `index_rows`),
/// keyed by holder, role, kind and `id`, read from the covering index led by the holder
/// (migration 0028; 0027's was keyed by holder then `id`, 0025's by `id`): the table's rows
/// carry their whole record, so scanning the table read every record's pages (1.2 GB at a
/// million schedules) to use a tenth of them, and in `id` order (random UUIDs) each schedule
/// placed touched a random holder's entries of the index, where a holder's schedules now arrive
/// together. `$1`..`$4` the key to read after, `$5` now, `$6` the page size; the first column
/// is the last row's key back to back (holder, role, kind, id: ids are 36 characters, and the
/// two kinds differ in their first letter, so the text orders as the key does), NULL past the
/// last page.
const INDEX_SCHEDULE_PAGE: &str = "SELECT MAX(principal_id || role_definition_id || kind || id), \
     group_concat(line, '') FROM \
     (SELECT principal_id, role_definition_id, kind, id, id \
        || CASE kind WHEN 'active' THEN 'a' WHEN 'eligible' THEN 'e' ELSE '?' END \
        || principal_id || role_definition_id || start_at || ',' || COALESCE(end_at, '') || ',' \
        || CASE WHEN end_pending THEN '1' ELSE '0' END \
        || CASE WHEN activated THEN '1' ELSE '0' END \
        || length(CAST(directory_scope_id AS BLOB)) || ':' || directory_scope_id AS line \
      FROM role_schedules INDEXED BY role_schedules_by_holder \
      WHERE (principal_id, role_definition_id, kind, id) > ($1, $2, $3, $4) \
        AND (end_at IS NULL OR (end_pending AND end_at > $5)) \
      ORDER BY principal_id, role_definition_id, kind, id LIMIT $6)";

/// `Tx::index_schedules` on SQLite: in pages (`INDEX_SCHEDULE_PAGE`), where a row per schedule
/// cost a hand-over between sqlx's worker thread and the task each (BENCHMARKS.md, "A real
/// server starting on a store of a million schedules").
async fn index_schedules(
    conn: &mut sqlx::SqliteConnection,
    now: i64,
    each: &mut (dyn for<'a> FnMut(crate::IndexedSchedule<'a>) + Send),
) -> Result<()> {
    use sqlx::Row;
    let mut page = index_schedule_page(conn, "", now).await?;
    while let Some((last, row)) = page {
        // The next page is asked for first (its statement reaches SQLite's worker thread on
        // the first poll) and this one placed after: the worker reads on one core while the
        // index is built on the other.
        let next = index_schedule_page(conn, &last, now);
        // Read in place: a page's text is not copied out of its row.
        let placed = async { crate::index_rows::schedules(row.try_get(1)?, each) };
        let (next, placed) = futures_util::future::join(next, placed).await;
        placed?;
        page = next?;
    }
    Ok(())
}

/// The page after `after`, a row's key back to back (see `INDEX_SCHEDULE_PAGE`; every row is
/// after ""): that of its last row, and the row whose second column is its text; None past the
/// end.
async fn index_schedule_page(
    conn: &mut sqlx::SqliteConnection,
    after: &str,
    now: i64,
) -> Result<Option<(String, sqlx::sqlite::SqliteRow)>> {
    use sqlx::Row;
    // Anything but three ids and a kind is a corrupt store (the page itself would not read
    // either).
    let (holder, role, kind, id) = match after {
        "" => ("", "", "", ""),
        after => page_key(after)
            .ok_or_else(|| StoreError::Corrupt(format!("index schedule page key {after:?}")))?,
    };
    let row = sqlx::query(INDEX_SCHEDULE_PAGE)
        .bind(holder)
        .bind(role)
        .bind(kind)
        .bind(id)
        .bind(now)
        .bind(crate::index_rows::PAGE)
        .fetch_one(conn)
        .await?;
    let last: Option<String> = row.try_get(0)?;
    Ok(last.map(|last| (last, row)))
}

/// A page's last key (see `INDEX_SCHEDULE_PAGE`) as its holder, role, kind and id.
fn page_key(key: &str) -> Option<(&str, &str, &str, &str)> {
    use crate::index_rows::UUID_LEN;
    let (holder, rest) = key.split_at_checked(UUID_LEN)?;
    let (role, rest) = rest.split_at_checked(UUID_LEN)?;
    let (kind, id) = rest.split_at_checked(rest.len().checked_sub(UUID_LEN)?)?;
    (!kind.is_empty()).then_some((holder, role, kind, id))
}

/// A page of principals for the access index (`Tx::all_principals`; `index_rows::principals`
/// for the text), in the table's own order: `$1` the `rowid` to read after, `$2` the page size;
/// the first column the page's last `rowid`, NULL past the last page. Grouped by the ids' first
/// two characters instead (PostgreSQL's way), SQLite sorted every principal first: 0.37 s of a
/// start at 110,000 principals, where reading them in pages takes a sixth of it.
const PRINCIPAL_PAGE: &str = concat!(
    "SELECT MAX(rowid), group_concat(line, '') FROM (SELECT rowid, ",
    principal_line!(),
    " AS line FROM principals WHERE rowid > $1 ORDER BY rowid LIMIT $2)"
);

/// `Tx::all_principals` on SQLite: in pages (`PRINCIPAL_PAGE`), the next asked for while one
/// is taken apart, as `index_schedules` does.
async fn all_principals(
    conn: &mut sqlx::SqliteConnection,
    each: &mut impl FnMut(crate::changes::PrincipalRow),
) -> Result<()> {
    use sqlx::Row;
    let mut page = principal_page(conn, 0).await?;
    while let Some((last, row)) = page {
        let next = principal_page(conn, last);
        let taken = async { crate::index_rows::principals(row.try_get(1)?, each) };
        let (next, taken) = futures_util::future::join(next, taken).await;
        taken?;
        page = next?;
    }
    Ok(())
}

/// The page of principals after `rowid` `after`: its last `rowid` and the row whose second
/// column is its text; None past the end.
async fn principal_page(
    conn: &mut sqlx::SqliteConnection,
    after: i64,
) -> Result<Option<(i64, sqlx::sqlite::SqliteRow)>> {
    use sqlx::Row;
    let row = sqlx::query(PRINCIPAL_PAGE)
        .bind(after)
        .bind(crate::index_rows::PAGE)
        .fetch_one(conn)
        .await?;
    let last: Option<i64> = row.try_get(0)?;
    Ok(last.map(|last| (last, row)))
}

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    journal: Arc<Journal>,
    /// Group commit of the write transactions (see `batch`).
    batcher: batch::Batcher,
    keys: Arc<Keyring>,
    /// How many stored values `open` sealed again.
    resealed: u64,
    /// Copies the WAL back into the database off the writer (see `wal`).
    _checkpointer: wal::Checkpointer,
}

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![
        Migration::new(
            1,
            "init".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0001_init.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            2,
            "role policies".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0002_role_policies.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            3,
            "schedule requests".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0003_schedule_requests.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            4,
            "schedule lookup index".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0004_schedule_lookup.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            5,
            "group access".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0005_group_access.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            6,
            "outbox".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0006_outbox.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            7,
            "audit initiator index".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0007_audit_initiator.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            8,
            "audit names".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0008_audit_names.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            9,
            "entitlement management".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0009_entitlement.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            10,
            "entitlement assignments".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0010_entitlement_assignments.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            11,
            "audit activity index".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0011_audit_activity.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            12,
            "entitlement approval deadline".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0012_entitlement_approval_deadline.sql")
                .into_sql_str(),
            false,
        ),
        Migration::new(
            13,
            "entitlement notices".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0013_entitlement_notices.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            14,
            "entitlement custom extensions".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0014_entitlement_custom_extensions.sql")
                .into_sql_str(),
            false,
        ),
        Migration::new(
            15,
            "sign-in and activation history".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0015_history.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            16,
            "pim alerts".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0016_pim_alerts.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            17,
            "activation history by time".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0017_activation_history_time.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            18,
            "access reviews".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0018_access_reviews.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            19,
            "schedules by scope".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0019_schedules_by_scope.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            20,
            "change log".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0020_change_log.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            21,
            "shared across servers".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0021_shared_across_servers.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            22,
            "inbound scim".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0022_scim.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            23,
            "oidc pending".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0023_oidc_pending.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            24,
            "requests of a principal".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0024_requests_of_a_principal.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            25,
            "index columns".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0025_index_columns.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            26,
            "fewer indexes on writes".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0026_fewer_indexes_on_writes.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            27,
            "index load by holder".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0027_index_load_by_holder.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            28,
            "one index by holder".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0028_one_index_by_holder.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            29,
            "names in byte order".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0029_names_in_byte_order.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            30,
            "sign-in identities".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0030_sign_in_identities.sql").into_sql_str(),
            false,
        ),
    ])
}

/// How much of the database file the writer maps (see `SqliteStore::open`); a larger file is
/// read past it as before.
const WRITER_MMAP_BYTES: u64 = 256 * 1024 * 1024;

impl SqliteStore {
    pub async fn open(path: &str, keys: KeyProvider<'_>) -> Result<Self> {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
        let mut options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before we acknowledge it, even across a power cut.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // Every connection opens the file through the WAL layer (`wal_vfs.rs`), which hands a
        // commit's frames to the kernel at once rather than two writes per page.
        wal_vfs::register().map_err(|e| sqlx::Error::Configuration(e.into()))?;
        options = options.vfs(wal_vfs::NAME);
        // The migrations on a connection of their own, with SQLite's default temporary
        // storage: one that builds an index sorts the whole table, in files rather than in
        // memory (the writer below keeps its temporary storage in memory).
        let migrating = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        migrator().run(&migrating).await?;
        migrating.close().await;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A connection to a local file does not go away behind our back, and a ping is a
            // round trip to its thread, on the way of every batch's first writer.
            .test_before_acquire(false)
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", wal::WRITER_AUTOCHECKPOINT.to_string())
                    .pragma("journal_size_limit", wal::WAL_SIZE_LIMIT.to_string())
                    // The pages a write reads again (index interiors, the audit head) stay in
                    // memory: 4 MiB holds them. Not more: every COMMIT walks the page cache's
                    // hash table, which grows with the cache, and at 32 MiB that walk cost more
                    // than the reads it saved (BENCHMARKS.md).
                    .pragma("cache_size", "-4096")
                    // A group-commit batch gives each member a savepoint; a page that an earlier
                    // member changed is copied to the savepoint's sub-journal before the next
                    // one changes it. Past 64 KiB SQLite spills that journal to a temporary
                    // file, created, written and unlinked in every batch: more page writes than
                    // the WAL itself took (BENCHMARKS.md). It never needs to outlive the
                    // transaction, so it stays in memory (at most the pages one batch changed;
                    // the migrations' sorts ran before, on a connection of their own).
                    .pragma("temp_store", "memory")
                    // The writer reads the database file's pages through a mapping rather than
                    // a `pread` and a copy each: it reads an index page for nearly every row it
                    // inserts, and this took a fifth of its CPU time per activation off the one
                    // thread every write waits for (BENCHMARKS.md, "The writer's own time").
                    // Writes still go to the WAL with `pwrite`, so durability is unchanged; the
                    // mapped pages are the kernel's page cache, shared, not the heap. Readers
                    // keep `pread`: the start streams the whole file once, and mapped, every
                    // page of it would count in the process's resident memory.
                    .pragma("mmap_size", WRITER_MMAP_BYTES.to_string()),
            )
            .await?;
        let sealed_with = shared_seal::sealed_with(&writer).await?;
        let keys = Arc::new(keys(sealed_with.as_deref()).map_err(StoreError::MasterKey)?);
        let journal = Arc::<Journal>::default();
        let mut tx = shared::SqlTx::write(
            shared::Conn::Own(writer.begin().await?),
            journal.clone(),
            keys.clone(),
        );
        let resealed = tx.reseal().await?;
        Box::new(tx).commit().await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        // Readers may run ahead of a caller streaming a large read (the access index built at
        // start from every schedule): with sqlx's default of 50 rows, the reading thread and
        // the index build kept waiting for each other (BENCHMARKS.md, cold start).
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true).row_buffer_size(4096))
            .await?;
        Ok(Self {
            _checkpointer: wal::Checkpointer::start(checkpointer),
            writer,
            reader,
            batcher: batch::Batcher::new(journal.clone()),
            journal,
            keys,
            resealed,
        })
    }
}

impl SqliteStore {
    /// A write transaction in the group-commit batch; `first` is read ahead by the member
    /// before it, with that member's last writes (see `batch`).
    async fn write_asking(&self, first: Option<crate::ReadAhead>) -> Result<Box<dyn Tx>> {
        let member = self
            .batcher
            .join(async || Ok((self.writer.begin().await?, None)), first)
            .await?;
        Ok(Box::new(shared::SqlTx::write(
            shared::Conn::Member(member),
            self.journal.clone(),
            self.keys.clone(),
        )))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn read(&self) -> Result<Box<dyn Tx>> {
        Ok(Box::new(shared::SqlTx::read(
            self.reader.begin().await?,
            self.keys.clone(),
        )))
    }

    async fn write(&self) -> Result<Box<dyn Tx>> {
        self.write_asking(None).await
    }

    async fn write_reading_ahead(&self, first: crate::ReadAhead) -> Result<Box<dyn Tx>> {
        self.write_asking(Some(first)).await
    }

    /// One process writes a SQLite database: its journal sees every commit, so there is no
    /// log to follow and `from` does not matter.
    fn listen(&self, listener: Listener, _from: u64) {
        self.journal.set(listener);
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
        "sqlite"
    }

    async fn throttle_counts(
        &self,
        keys: &[String],
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(String, i64, chrono::DateTime<chrono::Utc>)>> {
        shared_throttle::counts(&self.reader, keys, since).await
    }

    async fn throttle_failure(
        &self,
        keys: &[String],
        now: chrono::DateTime<chrono::Utc>,
        window: chrono::TimeDelta,
    ) -> Result<()> {
        shared_throttle::failure(&self.writer, keys, now, window).await
    }

    async fn throttle_clear(&self, key: &str) -> Result<()> {
        shared_throttle::clear(&self.writer, key).await
    }

    async fn prune_throttle(&self, before: chrono::DateTime<chrono::Utc>) -> Result<u64> {
        shared_throttle::prune(&self.writer, before).await
    }

    async fn oidc_pending_put(
        &self,
        state_hash: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
        data: &serde_json::Value,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        shared_oidc::put(&self.writer, state_hash, expires_at, data, now).await
    }

    async fn oidc_pending_take(
        &self,
        state_hash: &str,
    ) -> Result<Option<(chrono::DateTime<chrono::Utc>, serde_json::Value)>> {
        shared_oidc::take(&self.writer, state_hash).await
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// No change log on SQLite: the one writing process reports its commits directly. Nothing
/// queued; the caller queues the head.
pub(crate) async fn queue_changes(
    _conn: &mut <Db as sqlx::Database>::Connection,
    _deferred: &mut deferred::Deferred,
    _head: Option<&(i64, String)>,
    _changes: &[crate::changes::Change],
) -> Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::page_key;

    #[test]
    fn a_page_key_splits_into_holder_role_kind_and_id() {
        let holder = "11111111-1111-1111-1111-111111111111";
        let role = "22222222-2222-2222-2222-222222222222";
        let id = "33333333-3333-3333-3333-333333333333";
        for kind in ["active", "eligible"] {
            let key = format!("{holder}{role}{kind}{id}");
            assert_eq!(page_key(&key), Some((holder, role, kind, id)));
        }
        // No kind, or too short for three ids: not a key.
        assert_eq!(page_key(&format!("{holder}{role}{id}")), None);
        assert_eq!(page_key(&format!("{holder}{role}")), None);
        assert_eq!(page_key("active"), None);
    }
}
