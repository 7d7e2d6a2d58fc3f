//! The connector, provisioning, outbox, subscription and alert endpoints: bad input is a 4xx
//! with a stable code and changes nothing; secrets are never answered; only administrators
//! manage any of it.

use axum::http::StatusCode;
use eligo_core::roles::ids;
use serde_json::json;

use super::{connector, map};
use crate::access::new_group;
use crate::harness::*;

fn webhook_settings() -> serde_json::Value {
    json!({ "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef-secret" })
}

async fn count(t: &TestApp, path: &str) -> usize {
    let (status, body) = t.get(path, BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().len()
}

#[tokio::test]
async fn connectors_refuse_bad_settings_and_never_answer_secrets() {
    let t = TestApp::new().await;
    let cases = [
        (
            json!({ "type": "ftp", "displayName": "x", "settings": {} }),
            "InvalidConnectorType",
        ),
        (
            json!({ "type": "scim", "displayName": "x", "settings": { "baseUrl": "not a url", "bearerToken": "t" } }),
            "InvalidConnectorSettings",
        ),
        (
            json!({ "type": "ldap", "displayName": "x", "settings": { "url": "http://dc", "bindDn": "", "bindPassword": "p", "userBaseDn": "ou=people" } }),
            "InvalidConnectorSettings",
        ),
        (
            json!({ "type": "webhook", "displayName": "x", "settings": { "url": "http://127.0.0.1/h", "secret": "short" } }),
            "InvalidConnectorSettings",
        ),
        (
            json!({ "type": "webhook", "displayName": " ", "settings": webhook_settings() }),
            "InvalidDisplayName",
        ),
        (
            json!({ "type": "webhook", "displayName": "x", "settings": webhook_settings(), "extra": 1 }),
            "Request_BadRequest",
        ),
    ];
    for (body, want) in cases {
        let (status, answer) = t.post("/v1/connectors", BOOTSTRAP, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        assert_eq!(code(&answer), want, "{body} -> {answer}");
    }
    let (_, answer) = t
        .post(
            "/v1/connectors",
            BOOTSTRAP,
            json!({ "type": "scim", "displayName": "x", "settings": { "baseUrl": "ftp://x", "bearerToken": "" } }),
        )
        .await;
    let targets: Vec<&str> = answer["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["target"].as_str())
        .collect();
    assert!(targets.contains(&"settings.baseUrl"), "{answer}");
    assert!(targets.contains(&"settings.bearerToken"), "{answer}");
    assert_eq!(count(&t, "/v1/connectors").await, 0, "nothing was created");

    let id = connector(&t, "webhook", webhook_settings()).await;
    let (_, body) = t.get(&format!("/v1/connectors/{id}"), BOOTSTRAP).await;
    assert_eq!(body["settings"]["secretSet"], true, "{body}");
    assert!(body["settings"].get("secret").is_none(), "{body}");
    assert!(!body.to_string().contains("0123456789abcdef-secret"));

    // A change without the secret keeps it; a bad change changes nothing.
    let (status, body) = t
        .patch(
            &format!("/v1/connectors/{id}"),
            BOOTSTRAP,
            json!({ "displayName": "Receiver", "settings": { "timeoutSeconds": 5 } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["settings"]["secretSet"], true);
    assert_eq!(body["settings"]["timeoutSeconds"], 5);
    let (status, body) = t
        .patch(
            &format!("/v1/connectors/{id}"),
            BOOTSTRAP,
            json!({ "settings": { "timeoutSeconds": 0 } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, body) = t.get(&format!("/v1/connectors/{id}"), BOOTSTRAP).await;
    assert_eq!(body["settings"]["timeoutSeconds"], 5);
    assert_eq!(body["displayName"], "Receiver");
}

#[tokio::test]
async fn mappings_are_checked_and_protect_what_they_use() {
    let t = TestApp::new().await;
    let group = new_group(&t, "Mapped", false).await;
    let ldap = connector(
        &t,
        "ldap",
        json!({ "url": "ldap://127.0.0.1:9", "bindDn": "cn=admin,dc=example,dc=org",
                "bindPassword": "secret", "userBaseDn": "ou=people,dc=example,dc=org" }),
    )
    .await;
    let path = format!("/v1/groups/{group}/provisioning");
    let (status, body) = t
        .post(
            &path,
            BOOTSTRAP,
            json!({ "connectorId": ldap, "target": "not a dn" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "InvalidProvisioningTarget");
    let (status, body) = t
        .post(
            &path,
            BOOTSTRAP,
            json!({ "connectorId": uuid::Uuid::new_v4(), "target": "cn=ops,dc=example,dc=org" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "InvalidConnector");
    assert_eq!(count(&t, &path).await, 0);

    let mapping = map(&t, group, ldap, "cn=ops,ou=groups,dc=example,dc=org").await;
    let other = new_group(&t, "Other", false).await;
    let (status, body) = t
        .post(
            &format!("/v1/groups/{other}/provisioning"),
            BOOTSTRAP,
            json!({ "connectorId": ldap, "target": "cn=ops,ou=groups,dc=example,dc=org" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "ProvisioningTargetInUse");

    let (status, body) = t.delete(&format!("/v1/groups/{group}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "GroupIsProvisioned");
    let (status, body) = t.delete(&format!("/v1/connectors/{ldap}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "ConnectorInUse");

    let (status, _) = t.delete(&format!("{path}/{mapping}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = t.delete(&format!("{path}/{mapping}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t.delete(&format!("/v1/connectors/{ldap}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = t.delete(&format!("/v1/groups/{group}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn only_administrators_manage_side_effects() {
    let t = TestApp::new().await;
    let id = connector(&t, "webhook", webhook_settings()).await;
    t.user("olivia").await;
    let user = t.sign_in("olivia").await;
    let (_, reader) = t.admin("rita", ids::GLOBAL_READER).await;
    for (path, body) in [
        (
            "/v1/connectors",
            Some(json!({ "type": "webhook", "displayName": "x", "settings": webhook_settings() })),
        ),
        (
            "/v1/subscriptions",
            Some(
                json!({ "url": "http://127.0.0.1:9/h", "eventTypes": ["*"], "secret": "0123456789abcdef" }),
            ),
        ),
        ("/v1/outbox", None),
        ("/v1/alerts", None),
        ("/v1/connectors", None),
    ] {
        let (status, answer) = match &body {
            Some(b) => t.post(path, &user, b.clone()).await,
            None => t.get(path, &user).await,
        };
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {answer}");
    }
    // Readers read, and change nothing.
    let (status, _) = t.get("/v1/connectors", &reader).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t.get("/v1/outbox", &reader).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t
        .post(
            &format!("/v1/connectors/{id}/reconcile"),
            &reader,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.delete(&format!("/v1/connectors/{id}"), &reader).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn outbox_subscription_and_alert_input_is_checked() {
    let t = TestApp::new().await;
    for (path, want) in [
        ("/v1/outbox?status=lost", StatusCode::BAD_REQUEST),
        (
            "/v1/outbox?status=failed&status=pending",
            StatusCode::BAD_REQUEST,
        ),
        ("/v1/outbox?colour=red", StatusCode::BAD_REQUEST),
        ("/v1/outbox/not-a-guid", StatusCode::BAD_REQUEST),
        (
            &format!("/v1/outbox/{}", uuid::Uuid::new_v4()),
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/alerts?$filter=status eq 'active' and kind eq 'x'",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, body) = t.get(path, BOOTSTRAP).await;
        assert_eq!(status, want, "{path}: {body}");
    }
    let (status, _) = t
        .post(
            &format!("/v1/outbox/{}/retry", uuid::Uuid::new_v4()),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for body in [
        json!({ "url": "ftp://x", "eventTypes": ["*"], "secret": "0123456789abcdef" }),
        json!({ "url": "https://hooks.example/x", "eventTypes": [], "secret": "0123456789abcdef" }),
        json!({ "url": "https://hooks.example/x", "eventTypes": ["role.exploded"], "secret": "0123456789abcdef" }),
        json!({ "url": "https://hooks.example/x", "eventTypes": ["*"], "secret": "short" }),
    ] {
        let (status, answer) = t.post("/v1/subscriptions", BOOTSTRAP, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(code(&answer), "InvalidSubscription");
    }
    assert_eq!(count(&t, "/v1/subscriptions").await, 0);
    let (status, body) = t
        .post(
            "/v1/subscriptions",
            BOOTSTRAP,
            json!({ "url": "https://hooks.example/x", "eventTypes": ["activation.requested"], "secret": "0123456789abcdef" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["secretSet"], true);
    assert!(!body.to_string().contains("0123456789abcdef"));
    let (status, _) = t
        .delete(&format!("/v1/subscriptions/{}", id_of(&body)), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, body) = t
        .patch(
            &format!("/v1/alerts/{}", uuid::Uuid::new_v4()),
            BOOTSTRAP,
            json!({ "status": "ignored" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// A refused change to an alert, a job or a connector changes nothing and is on the record
/// once, as a failure of what was attempted.
#[tokio::test]
async fn refused_side_effect_changes_are_audited_and_change_nothing() {
    let t = TestApp::new().await;
    let alert = uuid::Uuid::new_v4();
    {
        let mut tx = t.app.store.write().await.unwrap();
        tx.insert_alert(&eligo_store::AlertRow {
            id: alert,
            kind: "MembersAddedOutsideEligo".into(),
            status: "active".into(),
            dedupe_key: Some("test".into()),
            data: json!({}),
            created_at: t.clock.now_utc(),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let id = connector(&t, "webhook", webhook_settings()).await;
    let (reader_id, reader) = t.admin("rita", ids::GLOBAL_READER).await;
    let before = t.recorded_changes().await;

    let (status, body) = t
        .patch(
            &format!("/v1/alerts/{alert}"),
            &reader,
            json!({ "status": "resolved" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "Authorization_RequestDenied"),
        "{body}"
    );
    let (_, now) = t.get(&format!("/v1/alerts/{alert}"), BOOTSTRAP).await;
    assert_eq!(now["status"], "active");
    t.assert_one_refusal(
        "Update security alert",
        "Authorization_RequestDenied",
        reader_id,
    )
    .await;

    let (status, body) = t
        .post(
            &format!("/v1/outbox/{}/retry", uuid::Uuid::new_v4()),
            &reader,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "Authorization_RequestDenied"),
        "{body}"
    );
    t.assert_one_refusal("Retry outbox job", "Authorization_RequestDenied", reader_id)
        .await;
    assert_eq!(t.recorded_changes().await, before);

    // An administrator whose second factor is stale changes no connector.
    let (ga_id, ga) = t.admin("gail", ids::GLOBAL_ADMINISTRATOR).await;
    t.clock.advance(chrono::TimeDelta::minutes(11));
    let before_ga = t.recorded_changes().await;
    let (status, body) = t
        .patch(
            &format!("/v1/connectors/{id}"),
            &ga,
            json!({ "displayName": "renamed" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "MfaRequired"),
        "{body}"
    );
    let (_, now) = t.get(&format!("/v1/connectors/{id}"), BOOTSTRAP).await;
    assert_eq!(now["displayName"], "webhook downstream");
    t.assert_one_refusal("Update downstream connector", "MfaRequired", ga_id)
        .await;
    assert_eq!(t.recorded_changes().await, before_ga);
}

/// Rule 10: whoever may edit a connector must not be able to point it at their own server and
/// receive the stored credentials; a new address (or TLS setting) needs the secret again.
#[tokio::test]
async fn moving_a_connector_needs_its_secret_again_and_the_audit_names_what_changed() {
    let t = TestApp::new().await;
    let (status, created) = t
        .post(
            "/v1/connectors",
            BOOTSTRAP,
            json!({ "type": "webhook", "displayName": "HR", "settings": webhook_settings() }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("/v1/connectors/{id}");
    let before = t.recorded_changes().await;
    let (status, body) = t
        .patch(
            &path,
            BOOTSTRAP,
            json!({ "settings": { "url": "http://127.0.0.1:9/attacker" } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "SecretRequired");
    assert_eq!(t.recorded_changes().await, before, "nothing changed");
    let (_, now) = t.get(&path, BOOTSTRAP).await;
    assert_eq!(now["settings"]["url"], "http://127.0.0.1:9/hook", "{now}");

    // Other settings change without it; a move with the secret is accepted.
    let (status, body) = t
        .patch(
            &path,
            BOOTSTRAP,
            json!({ "settings": { "timeoutSeconds": 5 } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = t
        .patch(
            &path,
            BOOTSTRAP,
            json!({ "settings": { "url": "http://127.0.0.1:9/moved", "secret": "another-secret-0123456789" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = t.audited_as("Update downstream connector").await;
    let newest = entries[0].to_string();
    assert!(newest.contains("secret,url"), "{newest}");
    assert!(
        !newest.contains("another-secret"),
        "never a value: {newest}"
    );
}
