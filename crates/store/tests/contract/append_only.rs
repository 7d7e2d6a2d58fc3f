//! The audit log is append-only in the database itself (triggers), whatever code connects to it.
//! The trait has no way to run raw SQL, so these tests open the database directly with sqlx.

use eligo_core::audit::Category;

use crate::common::*;

/// Runs one raw statement on the database at `url`, on a connection of its own.
async fn raw_execute(url: &str, sql: &'static str) -> Result<u64, sqlx::Error> {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await?;
        let done = sqlx::query(sql).execute(&pool).await;
        pool.close().await;
        Ok(done?.rows_affected())
    } else {
        let pool = sqlx::PgPool::connect(url).await?;
        let done = sqlx::query(sql).execute(&pool).await;
        pool.close().await;
        Ok(done?.rows_affected())
    }
}

async fn audit_log_is_append_only(url: String) {
    let backend = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let store = open(&url, backend).await;
    let mut tx = write(&store).await;
    for i in 0..3 {
        tx.append_audit(
            event(1_000 + i, Category::UserManagement, "Add user").target(id(7), "User", None),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let before = read(&store).await.audit_after(0, 1000).await.unwrap();
    assert_eq!(before.len(), 3);

    // The raw connection works at all (so the failures below are the triggers' doing).
    let allowed = raw_execute(&url, "UPDATE audit_head SET hash = hash WHERE id = 1").await;
    assert_eq!(allowed.expect("a harmless raw statement"), 1);

    for sql in [
        "UPDATE audit_log SET activity = 'x'",
        "UPDATE audit_log SET data = data WHERE sequence = 2",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE sequence = 3",
    ] {
        match raw_execute(&url, sql).await {
            Err(sqlx::Error::Database(e)) => {
                assert!(
                    e.message().contains("never"),
                    "{sql}: refused, but not by the append-only trigger: {e}"
                );
            }
            other => panic!("{sql}: must be refused by the database, got {other:?}"),
        }
    }

    // TRUNCATE bypasses row triggers in PostgreSQL; a statement trigger refuses it too.
    if backend == "postgres" {
        for sql in ["TRUNCATE audit_log CASCADE", "TRUNCATE audit_targets"] {
            let refused = raw_execute(&url, sql).await;
            assert!(refused.is_err(), "{sql} must be refused");
        }
    }

    // Nothing changed, and the chain still verifies.
    let mut tx = read(&store).await;
    let after = tx.audit_after(0, 1000).await.unwrap();
    assert_eq!(after, before);
    let (_, head) = tx.audit_head().await.unwrap();
    drop(tx);
    let mut verifier = eligo_core::audit::ChainVerifier::new();
    after.iter().for_each(|e| verifier.push(e));
    assert!(verifier.finish(Some(&head)).valid);
    store.close().await;
}
contract_url!(
    audit_log_is_append_only =>
    audit_log_is_append_only_sqlite,
    audit_log_is_append_only_postgres,
);
