//! Bad settings, a directory that is down or refuses the bind, the schedule, PostgreSQL.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo::service::ldap_import::schedule::run_due;
use eligo_testkit::slapd::slapd;
use serde_json::json;

use super::*;

#[tokio::test]
async fn bad_import_settings_are_refused_field_by_field() {
    let Some(ldap) = slapd().await else { return };
    let t = TestApp::new().await;
    let mut bad = settings(
        &ldap,
        json!({ "userFilter": "objectClass=person", "intervalMinutes": -5,
                                          "memberAttribute": "members", "colour": 1 }),
    );
    bad["import"].as_object_mut().unwrap().remove("groupBaseDn");
    let (status, body) = t
        .post(
            "/v1/connectors",
            BOOTSTRAP,
            json!({ "type": "ldap", "displayName": NAME, "settings": bad }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "InvalidConnectorSettings");
    let mut targets: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["target"].as_str().unwrap())
        .collect();
    targets.sort();
    assert_eq!(
        targets,
        vec![
            "settings.import.colour",
            "settings.import.groupBaseDn",
            "settings.import.intervalMinutes",
            "settings.import.memberAttribute",
            "settings.import.userFilter",
        ]
    );
    let (status, body) = t.get("/v1/connectors", BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"], json!([]), "nothing was stored");

    // A connector that does not import is no source; the query takes only `full`.
    let mut plain = settings(&ldap, json!({}));
    plain.as_object_mut().unwrap().remove("import");
    let id = connector(&t, plain).await;
    let (status, body) = import(&t, id, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "ImportNotConfigured");
    let (status, body) = import(&t, id, "?full=yes").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "InvalidQuery");

    // Only administrators of provisioning may import.
    let (_, token) = t
        .admin("helpdesk", eligo_core::roles::ids::USER_ADMINISTRATOR)
        .await;
    let (status, body) = t
        .post(&format!("/v1/connectors/{id}/import"), &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn a_directory_that_is_down_or_refuses_the_bind_changes_nothing() {
    let Some(mut ldap) = slapd().await else {
        return;
    };
    seed(&ldap).await;
    let t = TestApp::new().await;

    let mut wrong = settings(&ldap, json!({}));
    wrong["bindPassword"] = json!("not-the-password");
    let refused = connector(&t, wrong).await;
    let (status, body) = import(&t, refused, "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(code(&body), "DirectoryRefusedCredentials");
    assert!(user(&t, "alice@example.org").await.is_none());

    let id = connector(&t, settings(&ldap, json!({}))).await;
    imported(&t, id, "").await;
    let before = t.recorded_changes().await;
    ldap.modify_ldif(&format!(
        "dn: uid=bob,{}\nchangetype: modify\nreplace: cn\ncn: Changed While Down\n\n",
        ldap.people_dn()
    ))
    .await;
    ldap.stop().await;
    let (status, body) = import(&t, id, "?full=true").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(code(&body), "DirectoryUnavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was changed")
    );
    // Only the record of the failed pass was written; every user is as it was.
    assert_eq!(t.recorded_changes().await, before);
    let passes = t.audited_as("Import from directory").await;
    assert!(
        passes.iter().any(|e| e["result"] == "failure"),
        "{passes:?}"
    );
    assert!(user(&t, "alice@example.org").await.unwrap().account_enabled);
    assert_eq!(
        user(&t, "bob@example.org").await.unwrap().display_name,
        "bob Example"
    );
    let (_, shown) = t.get(&format!("/v1/connectors/{id}"), BOOTSTRAP).await;
    assert_eq!(shown["health"]["status"], "failing", "{shown}");
    assert!(
        shown["health"]["import"]["lastError"].as_str().is_some(),
        "{shown}"
    );

    // Back up: the next pass catches up.
    ldap.start().await;
    let summary = imported(&t, id, "").await;
    assert_eq!(summary["updated"], 1, "{summary}");
    let (_, shown) = t.get(&format!("/v1/connectors/{id}"), BOOTSTRAP).await;
    assert_eq!(shown["health"]["status"], "healthy", "{shown}");
}

#[tokio::test]
async fn the_schedule_imports_once_per_interval() {
    let Some(ldap) = slapd().await else { return };
    seed(&ldap).await;
    let t = TestApp::new().await;
    let id = connector(&t, settings(&ldap, json!({ "intervalMinutes": 30 }))).await;
    let mut on_demand = settings(&ldap, json!({ "intervalMinutes": 0 }));
    on_demand["import"]["groupBaseDn"] = json!(ldap.people_dn());
    connector(&t, on_demand).await;

    let ran = run_due(&t.app).await.unwrap();
    assert_eq!(ran.len(), 1, "only the scheduled connector");
    assert_eq!(ran[0].0, id);
    assert_eq!(ran[0].1.as_ref().unwrap().applied.created, 3);
    assert!(
        run_due(&t.app).await.unwrap().is_empty(),
        "not due again yet"
    );
    t.clock.advance(TimeDelta::minutes(30));
    let ran = run_due(&t.app).await.unwrap();
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].1.as_ref().unwrap().mode, "incremental");
    let scheduled = t.audited_as("Import from directory").await;
    assert_eq!(scheduled.len(), 2);
    assert_eq!(scheduled[0]["initiatedBy"]["app"]["displayName"], "Eligo");
}

#[tokio::test]
async fn an_import_on_postgresql() {
    let Some(ldap) = slapd().await else { return };
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    seed(&ldap).await;
    let id = connector(&t, settings(&ldap, json!({}))).await;
    let summary = imported(&t, id, "").await;
    assert_eq!(summary["created"], 3, "{summary}");
    assert_eq!(summary["membersAdded"], 4, "{summary}");
    let bob = user(&t, "bob@example.org").await.unwrap();
    let (status, answer) = t
        .patch(
            &format!("/v1/users/{}", bob.id),
            BOOTSTRAP,
            json!({ "mail": "x@y.example" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let again = imported(&t, id, "?full=true").await;
    assert_eq!(again["created"], 0, "{again}");
}
