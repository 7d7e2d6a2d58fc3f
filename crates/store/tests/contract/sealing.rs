//! Secrets at rest (threat model rule 7): credentials, connector settings, subscriptions and
//! server secrets are sealed under the master key. These contracts look behind the store, at the
//! rows as a thief of the database would read them.

use chrono::{DateTime, Utc};
use eligo_store::{ConnectorRow, StoreError, SubscriptionRow};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use crate::common::*;

const OTHER_KEY: [u8; 32] = [8; 32];
const TOTP_SEED: &str = "JBSWY3DPEHPK3PXPSEEDSECRET";
const LDAP_PASSWORD: &str = "ldap-bind-password-7f3a";
const WEBHOOK_SECRET: &str = "webhook-signing-secret-91c2";
const LINK_KEY: [u8; 32] = *b"link-key-bytes-which-are-secret!";

fn backend(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    }
}

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

/// Every text value of the four tables that hold secrets, as stored.
async fn raw_secrets(url: &str) -> Vec<String> {
    let queries = [
        "SELECT data FROM credentials",
        "SELECT settings FROM connectors",
        "SELECT data FROM subscriptions",
        "SELECT value FROM server_secrets",
    ];
    let mut out = Vec::new();
    for q in queries {
        out.extend(raw_column(url, q).await);
    }
    out
}

async fn raw_column(url: &str, sql: &'static str) -> Vec<String> {
    if backend(url) == "sqlite" {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows.iter().map(|r| r.get::<String, _>(0)).collect()
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows.iter().map(|r| r.get::<String, _>(0)).collect()
    }
}

async fn raw_execute(url: &str, sql: &'static str, binds: &[&str]) {
    if backend(url) == "sqlite" {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(b.to_string());
        }
        q.execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(b.to_string());
        }
        q.execute(&pool).await.unwrap();
        pool.close().await;
    }
}

async fn open_with(
    url: &str,
    primary: [u8; 32],
    previous: &[[u8; 32]],
) -> eligo_store::Result<std::sync::Arc<dyn eligo_store::Store>> {
    eligo_store::open(url, &|_| Ok(keyring(primary, previous))).await
}

struct Written {
    alice: Uuid,
    connector: ConnectorRow,
    subscription: SubscriptionRow,
}

/// A TOTP seed, an LDAP connector's password, a webhook secret and a server key, written through
/// the store.
async fn write_secrets(store: &std::sync::Arc<dyn eligo_store::Store>) -> Written {
    let alice = user(20, "alice@x.com", "Alice");
    let connector = ConnectorRow {
        id: Uuid::from_u128(0xc0),
        kind: "ldap".into(),
        display_name: "Directory".into(),
        settings: json!({"url": "ldap://127.0.0.1:389", "bindPassword": LDAP_PASSWORD}),
        health: json!({}),
        created_at: at(),
        updated_at: at(),
    };
    let subscription = SubscriptionRow {
        id: Uuid::from_u128(0x5b),
        data: json!({"url": "https://hooks.example/x", "secret": WEBHOOK_SECRET}),
        created_at: at(),
    };
    let mut tx = write(store).await;
    tx.insert_user(&alice).await.unwrap();
    tx.put_credential(alice.id, "totp", &json!({"seed": TOTP_SEED}), 1)
        .await
        .unwrap();
    tx.insert_connector(&connector).await.unwrap();
    tx.insert_subscription(&subscription).await.unwrap();
    assert!(
        tx.put_server_secret("link-key", &LINK_KEY, 1)
            .await
            .unwrap()
    );
    commit(tx).await;
    Written {
        alice: alice.id,
        connector,
        subscription,
    }
}

async fn assert_reads_back(store: &std::sync::Arc<dyn eligo_store::Store>, w: &Written) {
    let mut tx = read(store).await;
    assert_eq!(
        tx.get_credential(w.alice, "totp").await.unwrap(),
        Some(json!({"seed": TOTP_SEED}))
    );
    assert_eq!(
        tx.get_connector(w.connector.id).await.unwrap(),
        Some(w.connector.clone())
    );
    assert_eq!(
        tx.list_connectors().await.unwrap(),
        vec![w.connector.clone()]
    );
    assert_eq!(
        tx.get_subscription(w.subscription.id).await.unwrap(),
        Some(w.subscription.clone())
    );
    assert_eq!(
        tx.get_server_secret("link-key").await.unwrap(),
        Some(LINK_KEY.to_vec())
    );
}

fn assert_no_plaintext(raw: &[String]) {
    let link_hex = hex::encode(LINK_KEY);
    for value in raw {
        assert!(value.starts_with("sealed:v1:"), "not sealed: {value}");
        for secret in [
            TOTP_SEED,
            LDAP_PASSWORD,
            WEBHOOK_SECRET,
            &link_hex,
            "ldap://",
        ] {
            assert!(
                !value.contains(secret),
                "{secret} stored readable in {value}"
            );
        }
    }
}

async fn secrets_are_sealed_at_rest(url: String) {
    let store = open(&url, backend(&url)).await;
    let written = write_secrets(&store).await;
    assert_reads_back(&store, &written).await;
    store.close().await;
    let raw = raw_secrets(&url).await;
    assert_eq!(raw.len(), 5, "four secrets and the key check: {raw:?}");
    assert_no_plaintext(&raw);
}
contract_url!(secrets_are_sealed_at_rest => secrets_are_sealed_at_rest_sqlite, secrets_are_sealed_at_rest_postgres);

async fn plaintext_rows_are_sealed_when_the_store_opens(url: String) {
    let store = open(&url, backend(&url)).await;
    let written = write_secrets(&store).await;
    store.close().await;
    // As a database from before sealing: plaintext JSON and hex, and no key check.
    let alice = written.alice.to_string();
    let connector = written.connector.id.to_string();
    let subscription = written.subscription.id.to_string();
    let totp = json!({"seed": TOTP_SEED}).to_string();
    let settings = written.connector.settings.to_string();
    let data = written.subscription.data.to_string();
    let link = hex::encode(LINK_KEY);
    raw_execute(
        &url,
        "UPDATE credentials SET data = $1 WHERE principal_id = $2",
        &[&totp, &alice],
    )
    .await;
    raw_execute(
        &url,
        "UPDATE connectors SET settings = $1 WHERE id = $2",
        &[&settings, &connector],
    )
    .await;
    raw_execute(
        &url,
        "UPDATE subscriptions SET data = $1 WHERE id = $2",
        &[&data, &subscription],
    )
    .await;
    raw_execute(
        &url,
        "UPDATE server_secrets SET value = $1 WHERE name = $2",
        &[&link, "link-key"],
    )
    .await;
    raw_execute(
        &url,
        "DELETE FROM server_secrets WHERE name = $1",
        &["master-key-check"],
    )
    .await;

    let store = open(&url, backend(&url)).await;
    assert_eq!(
        store.sealing().1,
        4,
        "the four plaintext values were sealed"
    );
    assert_reads_back(&store, &written).await;
    store.close().await;
    assert_no_plaintext(&raw_secrets(&url).await);

    // Opened again, nothing is left to seal.
    let store = open(&url, backend(&url)).await;
    assert_eq!(store.sealing().1, 0);
    store.close().await;
}
contract_url!(plaintext_rows_are_sealed_when_the_store_opens => plaintext_rows_are_sealed_when_the_store_opens_sqlite, plaintext_rows_are_sealed_when_the_store_opens_postgres);

async fn a_wrong_key_is_refused_and_changes_nothing(url: String) {
    let store = open(&url, backend(&url)).await;
    write_secrets(&store).await;
    let primary = store.sealing().0.to_string();
    store.close().await;
    let before = raw_secrets(&url).await;

    let refused = open_with(&url, OTHER_KEY, &[])
        .await
        .err()
        .expect("refused");
    let StoreError::MasterKey(message) = refused else {
        panic!("expected a master key error, got {refused:?}");
    };
    assert!(
        message.contains(&primary),
        "names the key needed: {message}"
    );
    assert_eq!(raw_secrets(&url).await, before, "nothing was rewritten");

    // Without the key check (deleted behind Eligo's back), the sealed rows still refuse the
    // wrong key, and nothing is rewritten either.
    raw_execute(
        &url,
        "DELETE FROM server_secrets WHERE name = $1",
        &["master-key-check"],
    )
    .await;
    let before = raw_secrets(&url).await;
    assert!(matches!(
        open_with(&url, OTHER_KEY, &[]).await.err(),
        Some(StoreError::Sealed { .. })
    ));
    assert_eq!(raw_secrets(&url).await, before);
}
contract_url!(a_wrong_key_is_refused_and_changes_nothing => a_wrong_key_is_refused_and_changes_nothing_sqlite, a_wrong_key_is_refused_and_changes_nothing_postgres);

async fn a_rotation_seals_everything_under_the_new_key(url: String) {
    let store = open(&url, backend(&url)).await;
    let written = write_secrets(&store).await;
    let old_id = store.sealing().0.to_string();
    store.close().await;

    // The new key seals; the old one is accepted until everything is sealed again.
    let store = open_with(&url, OTHER_KEY, &[TEST_KEY]).await.unwrap();
    let (new_id, resealed) = store.sealing();
    assert_ne!(new_id, old_id);
    assert_eq!(resealed, 5, "four secrets and the key check");
    assert_reads_back(&store, &written).await;
    store.close().await;
    for value in raw_secrets(&url).await {
        assert!(
            value.starts_with(&format!("sealed:v1:{new_id}:")),
            "{value}"
        );
    }

    // The new key alone opens everything; the old one alone no longer does.
    let store = open_with(&url, OTHER_KEY, &[]).await.unwrap();
    assert_reads_back(&store, &written).await;
    store.close().await;
    assert!(matches!(
        open_with(&url, TEST_KEY, &[]).await.err(),
        Some(StoreError::MasterKey(_))
    ));
}
contract_url!(a_rotation_seals_everything_under_the_new_key => a_rotation_seals_everything_under_the_new_key_sqlite, a_rotation_seals_everything_under_the_new_key_postgres);

async fn a_sealed_value_moved_to_another_row_does_not_open(url: String) {
    let store = open(&url, backend(&url)).await;
    let written = write_secrets(&store).await;
    let mallory = user(21, "mallory@x.com", "Mallory");
    let mut tx = write(&store).await;
    tx.insert_user(&mallory).await.unwrap();
    tx.put_credential(mallory.id, "totp", &json!({"seed": "MALLORYSEED"}), 1)
        .await
        .unwrap();
    commit(tx).await;
    store.close().await;

    // Mallory's DBA access copies her own sealed seed over Alice's.
    let mallory_id = mallory.id.to_string();
    let alice_id = written.alice.to_string();
    raw_execute(
        &url,
        "UPDATE credentials SET data = (SELECT data FROM credentials WHERE principal_id = $1) \
         WHERE principal_id = $2",
        &[&mallory_id, &alice_id],
    )
    .await;
    let store = open(&url, backend(&url)).await;
    let mut tx = read(&store).await;
    assert!(matches!(
        tx.get_credential(written.alice, "totp").await,
        Err(StoreError::Sealed { .. })
    ));
    drop(tx);
    store.close().await;
}
contract_url!(a_sealed_value_moved_to_another_row_does_not_open => a_sealed_value_moved_to_another_row_does_not_open_sqlite, a_sealed_value_moved_to_another_row_does_not_open_postgres);
