//! Databases to run the contracts on, and short constructors for the records they store.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::directory::{Group, ServicePrincipal, User};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::{Store, StoreError, TokenRecord, Tx};
use uuid::Uuid;

/// A fresh directory under the system temp dir holding one SQLite file; removed on drop.
pub struct SqliteDb {
    dir: PathBuf,
    pub url: String,
}

impl SqliteDb {
    pub fn new(test: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "eligo-store-contract-{}-{}-{}-{}",
            test,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let url = format!("sqlite://{}", dir.join("eligo.db").display());
        Self { dir, url }
    }
}

impl Drop for SqliteDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The master key every contract opens its store with (as a server restarted with the same
/// key file would); `sealing.rs` tries others.
pub const TEST_KEY: [u8; 32] = [7; 32];

/// A keyring of `primary` that also accepts `previous`.
pub fn keyring(primary: [u8; 32], previous: &[[u8; 32]]) -> eligo_store::seal::Keyring {
    use eligo_store::seal::{Keyring, MasterKey};
    Keyring::new(
        MasterKey::from_bytes(&primary).unwrap(),
        previous
            .iter()
            .map(|k| MasterKey::from_bytes(k).unwrap())
            .collect(),
    )
}

/// Opens the store at `url` and checks it is the expected backend and answers.
pub async fn open(url: &str, backend: &str) -> Arc<dyn Store> {
    let store = eligo_store::open(url, &|_| Ok(keyring(TEST_KEY, &[])))
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", eligo_store::redact_url(url)));
    assert_eq!(store.backend(), backend);
    store.ping().await.expect("ping");
    store
}

/// Fails the test instead of hanging when a lock is never released.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: timed out after 30 s (a lock left held?)"))
}

pub async fn read(store: &Arc<dyn Store>) -> Box<dyn Tx> {
    within("read()", store.read()).await.expect("read tx")
}

pub async fn write(store: &Arc<dyn Store>) -> Box<dyn Tx> {
    within("write()", store.write()).await.expect("write tx")
}

pub async fn commit(tx: Box<dyn Tx>) {
    tx.commit().await.expect("commit");
}

pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected StoreError::Conflict, got {other:?}"),
    }
}

/// Whole seconds since the epoch, as a time.
pub fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("valid time")
}

/// A time with sub-second (microsecond) precision.
pub fn t_us(secs: i64, micros: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, micros * 1000).expect("valid time")
}

/// Deterministic ids: their text form orders like the number.
pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn user(n: u128, upn: &str, display_name: &str) -> User {
    User {
        id: id(n),
        user_principal_name: upn.into(),
        display_name: display_name.into(),
        mail: None,
        mail_nickname: None,
        manager_id: None,
        account_enabled: true,
        created_date_time: t_us(1_700_000_000 + n as i64, 123_456),
    }
}

pub fn group(n: u128, display_name: &str, assignable: bool) -> Group {
    Group {
        id: id(n),
        display_name: display_name.into(),
        description: Some(format!("{display_name} group")),
        mail_nickname: None,
        security_enabled: true,
        is_assignable_to_role: assignable,
        created_date_time: t(1_700_000_000 + n as i64),
    }
}

pub fn service_principal(n: u128, display_name: &str, app_id: Uuid) -> ServicePrincipal {
    ServicePrincipal {
        id: id(n),
        display_name: display_name.into(),
        app_id,
        account_enabled: true,
        created_date_time: t(1_700_000_000 + n as i64),
    }
}

pub fn token(hash: &str, principal: Uuid) -> TokenRecord {
    TokenRecord {
        token_hash: hash.into(),
        principal_id: principal,
        created_at: t(1_000),
        expires_at: Some(t(4_600)),
        revoked_at: None,
        last_mfa_at: None,
        amr: vec!["pwd".into()],
        channel: eligo_store::SessionChannel::Api,
        acr: None,
        acr_at: None,
    }
}

pub fn schedule(
    n: u128,
    kind: ScheduleKind,
    principal: Uuid,
    role: Uuid,
    scope: &str,
    start: i64,
    end: Option<i64>,
) -> RoleSchedule {
    let assignment_type = match kind {
        ScheduleKind::Eligible => AssignmentType::Assigned,
        ScheduleKind::Active => AssignmentType::Activated,
    };
    RoleSchedule::new(
        id(n),
        kind,
        principal,
        role,
        scope,
        (t(start), end.map(t)),
        assignment_type,
        Some(id(1)),
        t(start),
    )
}

/// An audit event at `secs`, initiated by the system.
pub fn event(secs: i64, category: Category, activity: &str) -> AuditEvent {
    AuditEvent::new(t(secs), category, activity, Initiator::system())
}

/// The whole audit chain verified against the head row `tx` sees.
pub async fn chain_verdict(tx: &mut dyn eligo_store::Tx) -> eligo_core::audit::Verdict {
    let mut verifier = eligo_core::audit::ChainVerifier::new();
    let (_, head) = tx.audit_head().await.expect("audit_head");
    eligo_store::feed_audit_verifier(tx, &mut verifier, 0)
        .await
        .expect("the audit chain reads");
    verifier.finish(Some(&head))
}

/// Inserts `users` in one committed write transaction.
pub async fn insert_users(store: &Arc<dyn Store>, users: &[User]) {
    let mut tx = write(store).await;
    for u in users {
        tx.insert_user(u).await.expect("insert_user");
    }
    commit(tx).await;
}

/// `items`, sorted: for comparing result sets whose order the contract leaves open.
pub fn sorted<T: Ord + Clone>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = items.into_iter().collect();
    v.sort();
    v
}

/// Yields until `n` writers wait for their turn in the group commit (a test timeout ends a
/// hang): a batch made on purpose, not by luck.
pub async fn until_waiting(store: &Arc<dyn Store>, n: u64) {
    within("writers queue", async {
        while store.group_commits().waiting < n {
            tokio::task::yield_now().await;
        }
    })
    .await;
}
