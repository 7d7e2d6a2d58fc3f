//! The storage contract: every test body here runs unchanged against SQLite (a fresh file in a
//! temp dir) and PostgreSQL (a fresh database on the testkit's real server), so the two backends
//! cannot drift apart in behaviour.
//!
//! Each contract is written once, as `async fn name(store: Arc<dyn Store>)` (or, for the few
//! that must reach the database behind the trait, `async fn name(url: String)`), and
//! `contract!` / `contract_url!` generate `name_sqlite` and `name_postgres` tests from it.

/// `contract!(body => body_sqlite, body_postgres);` runs `body(store)` on both backends.
/// Attributes written before a test name (e.g. `#[ignore = "..."]`) apply to that test only.
macro_rules! contract {
    ($body:path => $(#[$sa:meta])* $sqlite:ident, $(#[$pa:meta])* $postgres:ident $(,)?) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$sa])*
        async fn $sqlite() {
            let db = $crate::common::SqliteDb::new(stringify!($sqlite));
            let store = $crate::common::open(&db.url, "sqlite").await;
            $body(store.clone()).await;
            store.close().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$pa])*
        async fn $postgres() {
            let Some(url) = eligo_testkit::postgres_database().await else {
                return;
            };
            let store = $crate::common::open(&url, "postgres").await;
            $body(store.clone()).await;
            store.close().await;
            eligo_testkit::drop_postgres_database(&url);
        }
    };
}

/// `contract_url!(body => body_sqlite, body_postgres);` runs `body(url)` on both backends, for
/// contracts that open the store themselves or look behind it.
macro_rules! contract_url {
    ($body:path => $(#[$sa:meta])* $sqlite:ident, $(#[$pa:meta])* $postgres:ident $(,)?) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$sa])*
        async fn $sqlite() {
            let db = $crate::common::SqliteDb::new(stringify!($sqlite));
            $body(db.url.clone()).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$pa])*
        async fn $postgres() {
            let Some(url) = eligo_testkit::postgres_database().await else {
                return;
            };
            $body(url.clone()).await;
            eligo_testkit::drop_postgres_database(&url);
        }
    };
}

mod append_only;
mod audit;
mod audit_names;
mod changes;
mod common;
mod credentials;
mod deferred;
mod entitlement;
mod entitlement_assignments;
mod entitlement_notices;
mod feed;
mod group_commit;
mod history;
mod index_load;
mod name_prefixes;
mod outbox;
mod outbox_sets;
mod pim_alerts;
mod plans;
mod principals;
mod read_ahead;
mod relations;
mod reopen;
mod requests;
mod reviews;
mod roles;
mod scim;
mod sealing;
mod server_ids;
mod sign_in_identities;
mod transactions;
mod users;
mod wal;
