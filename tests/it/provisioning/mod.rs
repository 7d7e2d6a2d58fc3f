//! Downstream provisioning end to end: an Eligo group mapped to a group in a real downstream
//! system (scim2-server here, slapd in `ldap`), memberships pushed as they change (direct,
//! nested, activated, expired), failures retried and visible, reconciliation and its alerts,
//! and the API's refusals.

mod api;
mod ldap;
mod ldap_expiry;
mod scim;

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;

/// Creates a connector as break-glass; returns its id.
pub async fn connector(t: &TestApp, kind: &str, settings: Value) -> Uuid {
    let (status, body) = t
        .post(
            "/v1/connectors",
            BOOTSTRAP,
            json!({ "type": kind, "displayName": format!("{kind} downstream"), "settings": settings }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id_of(&body)
}

/// Maps `group` to `target` through `connector`; returns the mapping id.
pub async fn map(t: &TestApp, group: Uuid, connector: Uuid, target: &str) -> Uuid {
    let (status, body) = t
        .post(
            &format!("/v1/groups/{group}/provisioning"),
            BOOTSTRAP,
            json!({ "connectorId": connector, "target": target }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id_of(&body)
}

/// Delivers every job due now.
pub async fn deliver(t: &TestApp) -> eligo::outbox::worker::Delivered {
    eligo::outbox::worker::run_due(&t.app)
        .await
        .expect("outbox pass")
}

pub async fn jobs(t: &TestApp, status: &str) -> Vec<Value> {
    let (code, body) = t
        .get(&format!("/v1/outbox?status={status}"), BOOTSTRAP)
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().clone()
}

/// Audit activity names, newest first.
pub async fn activities(t: &TestApp) -> Vec<String> {
    let (_, body) = t
        .get("/v1/auditLogs/directoryAudits?$top=200", BOOTSTRAP)
        .await;
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["activityDisplayName"].as_str().unwrap().to_string())
        .collect()
}
