//! A PostgreSQL that stops taking writes under Eligo (a failover left its connections on a
//! standby, or an operator set `default_transaction_read_only`): every write is answered 503
//! with a stable code, changes nothing, and succeeds again once the database takes writes;
//! reads go on meanwhile.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use eligo_core::roles::ids;

use crate::harness::TestApp;

/// Sets whether new sessions of the test's database are read-only, and ends every other
/// session of it, so the app's pools reconnect under the new setting.
async fn read_only(admin: &mut PgConnection, on: bool) {
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut *admin)
        .await
        .unwrap();
    let value = if on { "on" } else { "off" };
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{db}\" SET default_transaction_read_only = {value}"
    )))
    .execute(&mut *admin)
    .await
    .unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut *admin)
    .await
    .unwrap();
}

fn new_user(n: usize) -> Value {
    json!({ "userPrincipalName": format!("ro{n}@contoso.example"), "displayName": format!("RO {n}") })
}

async fn user_count(t: &TestApp, token: &str) -> usize {
    // Reads wait for the change feed to reconnect after its session was ended.
    for _ in 0..100 {
        let (status, body) = t.get("/v1/users?$top=999", token).await;
        if status == StatusCode::OK {
            return body["value"].as_array().unwrap().len();
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("reads did not come back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_a_read_only_database_are_answered_503_and_change_nothing() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    let url = t.app.config.database_url.expose().to_string();
    let mut admin = PgConnection::connect(&url).await.unwrap();
    // Not the break-glass token: each of its uses is a write (its audit entry).
    let (_, token) = t.admin("ada", ids::USER_ADMINISTRATOR).await;
    let (status, body) = t.post("/v1/users", &token, new_user(0)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let before = user_count(&t, &token).await;

    read_only(&mut admin, true).await;
    for n in 1..=3 {
        let (status, body) = t.post("/v1/users", &token, new_user(n)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], "ServiceUnavailable", "{body}");
    }
    assert_eq!(user_count(&t, &token).await, before);

    read_only(&mut admin, false).await;
    let mut created = None;
    for _ in 0..50 {
        let (status, body) = t.post("/v1/users", &token, new_user(9)).await;
        if status == StatusCode::CREATED {
            created = Some(body);
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created.is_some(), "writes did not come back");
    assert_eq!(user_count(&t, &token).await, before + 1);
}
