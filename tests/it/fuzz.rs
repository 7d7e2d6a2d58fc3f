//! Every write operation the OpenAPI document lists, fed arbitrary JSON bodies (objects with
//! the operation's own field names mixed in, arrays, scalars, deep nesting) as break-glass: no
//! answer may be a server error, and the audit chain must still verify. A small, always-on
//! relative of a schema fuzzer.

use axum::http::{Method, StatusCode};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::harness::*;

/// Field names Eligo's bodies use, so that generated objects reach past "unknown field".
const FIELDS: &[&str] = &[
    "action",
    "principalId",
    "roleDefinitionId",
    "directoryScopeId",
    "justification",
    "scheduleInfo",
    "expiration",
    "type",
    "duration",
    "endDateTime",
    "startDateTime",
    "ticketInfo",
    "ticketNumber",
    "displayName",
    "userPrincipalName",
    "passwordProfile",
    "password",
    "accountEnabled",
    "mail",
    "groupId",
    "accessId",
    "reviewResult",
    "url",
    "secret",
    "eventTypes",
    "settings",
    "rules",
    "isAssignableToRole",
    "securityEnabled",
    "@odata.id",
    "lifetimeInMinutes",
    "isUsableOnce",
    "passwordCredential",
    "keyId",
    "otp",
    "username",
    "status",
    "id",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
        Just(json!("00000000-0000-0000-0000-000000000000")),
        Just(json!("PT1H")),
        Just(json!("2026-12-05T10:00:00Z")),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    proptest::sample::select(FIELDS).prop_map(String::from),
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

#[tokio::test]
async fn arbitrary_bodies_never_cause_a_server_error() {
    let t = TestApp::new().await;
    let (status, doc) = t.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "patch", "put"] {
            if item.get(method).is_some() {
                let concrete: String = path
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') {
                            "00000000-0000-0000-0000-000000000001"
                        } else {
                            s
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                operations.push((method.to_uppercase(), concrete));
            }
        }
    }
    assert!(operations.len() > 30, "{}", operations.len());
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let mut bodies = Vec::new();
    for _ in 0..24 {
        bodies.push(json_value().new_tree(&mut runner).unwrap().current());
    }
    let mut failures = Vec::new();
    for (method, path) in &operations {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        for body in &bodies {
            let (status, answer) = t
                .call(method.clone(), path, Some(BOOTSTRAP), Some(body.clone()))
                .await;
            if status.is_server_error() {
                failures.push(format!("{method} {path} {body} -> {status} {answer}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let (_, verdict) = t.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
}
