//! Availability limits (issue 14, rule 9): request bodies are limited per route (small for
//! sign-in and authentication, large for bulk administration) with a 413 that changes nothing,
//! and the full audit chain walk is rationed — one at a time, at most one started per interval,
//! 429 with `Retry-After` beyond — without ever answering from a verdict kept from before.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::TimeDelta;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::*;

/// Sends `body` to `path` as JSON, optionally announcing its length; answers status, the
/// `Retry-After` header and the body.
async fn send(
    t: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
    content_type: &str,
    announce_length: bool,
) -> (StatusCode, Option<String>, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    if announce_length {
        req = req.header("content-length", body.len().to_string());
    }
    let resp = t
        .router
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, retry, body)
}

fn json_string(kib: usize) -> Vec<u8> {
    serde_json::to_vec(&"x".repeat(kib * 1024)).unwrap()
}

async fn head(t: &TestApp) -> i64 {
    t.app
        .store
        .read()
        .await
        .unwrap()
        .audit_head()
        .await
        .unwrap()
        .0
}

const JSON: &str = "application/json";

#[tokio::test]
async fn sign_in_routes_take_small_bodies_admin_routes_large_ones_and_a_413_changes_nothing() {
    let t = TestApp::new().await;
    let p = t.person("limited").await;
    // 20 KiB: too much for sign-in, step-up and enrolment (16 KiB), announced or streamed.
    for announce in [true, false] {
        for (path, token) in [
            ("/v1/auth/token", None),
            ("/v1/auth/stepup", Some(p.token.as_str())),
            (
                "/v1/me/authenticationMethods/totp/verify",
                Some(p.token.as_str()),
            ),
        ] {
            let (status, _, body) = send(
                &t,
                Method::POST,
                path,
                token,
                json_string(20),
                JSON,
                announce,
            )
            .await;
            assert_eq!(
                status,
                StatusCode::PAYLOAD_TOO_LARGE,
                "{path} {announce}: {body}"
            );
            assert_eq!(code(&body), "PayloadTooLarge", "{path}");
        }
    }
    // The portal's sign-in form too (announced length: refused before the form is read).
    let form = format!("username=a&password={}", "p".repeat(20 * 1024)).into_bytes();
    let (status, _, _) = send(
        &t,
        Method::POST,
        "/portal/sign-in",
        None,
        form,
        "application/x-www-form-urlencoded",
        true,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // 20 KiB is fine for an ordinary route: the field rule answers, not the size.
    let user = serde_json::to_vec(&json!({
        "userPrincipalName": "roomy@contoso.example", "displayName": "y".repeat(20 * 1024),
    }))
    .unwrap();
    let (status, _, body) = send(
        &t,
        Method::POST,
        "/v1/users",
        Some(BOOTSTRAP),
        user,
        JSON,
        true,
    )
    .await;
    assert_ne!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    // Bulk administration: a 200 KiB connector (a CA bundle, say) is read...
    let connector = serde_json::to_vec(&json!({
        "type": "scim", "displayName": "Big",
        "settings": { "url": "https://scim.example/v2", "caCertificatePem": "z".repeat(200 * 1024) },
    }))
    .unwrap();
    let (status, _, body) = send(
        &t,
        Method::POST,
        "/v1/connectors",
        Some(BOOTSTRAP),
        connector,
        JSON,
        true,
    )
    .await;
    assert_ne!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    // ... and 2 MiB is not, streamed or announced.
    for announce in [true, false] {
        let (status, _, body) = send(
            &t,
            Method::POST,
            "/v1/connectors",
            Some(BOOTSTRAP),
            json_string(2048),
            JSON,
            announce,
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    }

    // An announced oversize body is refused before anything runs: not even the break-glass
    // token's use is recorded, let alone a change.
    let before = head(&t).await;
    let (status, _, _) = send(
        &t,
        Method::POST,
        "/v1/users",
        Some(BOOTSTRAP),
        json_string(100),
        JSON,
        true,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, _) = send(
        &t,
        Method::POST,
        "/v1/auth/token",
        None,
        json_string(20),
        JSON,
        true,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        head(&t).await,
        before,
        "a refused body leaves no trace and no change"
    );
}

async fn verify(t: &TestApp, token: &str) -> (StatusCode, Option<String>, Value) {
    send(
        t,
        Method::GET,
        "/v1/auditLogs/verify",
        Some(token),
        Vec::new(),
        JSON,
        false,
    )
    .await
}

#[tokio::test]
async fn the_chain_walk_is_rationed_and_never_answers_from_an_old_verdict() {
    // The default ration (the harness lifts it for the other tests).
    let t = TestApp::configured(|c| {
        c.audit_verify_interval = eligo::config::Config::defaults().audit_verify_interval
    })
    .await;
    for i in 0..3 {
        t.user(&format!("walked{i}")).await;
    }
    let nobody = t.user("nobody").await;
    let _ = nobody;
    let nobody_token = t.sign_in("nobody").await;
    let (status, _, first) = verify(&t, BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["valid"], true);
    // At once again: 429 with when to come back, and no verdict.
    let (status, retry, body) = verify(&t, BOOTSTRAP).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(retry.as_deref(), Some("10"));
    assert_eq!(code(&body), "TooManyRequests");
    assert!(body.get("valid").is_none(), "no kept verdict: {body}");

    // Someone rewrites the chain behind Eligo's back.
    let tampered = tamper(&t).await;
    // Still inside the interval: refused, never "valid" from the walk before the tampering.
    t.clock.advance(TimeDelta::seconds(5));
    let (status, retry, _) = verify(&t, BOOTSTRAP).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry.as_deref(), Some("5"));
    // A caller who may not read the audit log is refused as before and uses up nothing.
    t.clock.advance(TimeDelta::seconds(5));
    let (status, _, _) = verify(&t, &nobody_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The interval has passed: a new walk, which finds the rewrite.
    let (status, _, after) = verify(&t, BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    if tampered {
        assert_eq!(after["valid"], false, "{after}");
    }
}

/// Changes an entry's activity with the sqlite3 shell (as a database administrator could);
/// false (after a loud message) where no shell is installed, outside CI.
async fn tamper(t: &TestApp) -> bool {
    let has_sqlite3 = std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_sqlite3 {
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty()),
            "CI must not skip the tampering step: install sqlite3"
        );
        eprintln!("\n!!! SKIPPED the tampering step: no sqlite3 shell !!!\n");
        return false;
    }
    let out = std::process::Command::new("sqlite3")
        .arg(t.dir.join("eligo.db"))
        .arg(
            "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET activity = 'User signed in' \
             WHERE sequence = (SELECT MIN(sequence) FROM audit_log WHERE activity = 'Add user'); \
             SELECT changes();",
        )
        .output()
        .expect("sqlite3");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1", "{out:?}");
    true
}
