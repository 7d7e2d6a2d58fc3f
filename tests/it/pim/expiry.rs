//! The scheduler: ends access at its end exactly once, with the audit entry; catches up after a
//! restart; and reads never show ended access even before it runs.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids;
use serde_json::json;

use crate::harness::*;

const EXPIRED: &str = "Remove member from role (PIM activation expired)";

async fn expiry_entries(t: &TestApp) -> usize {
    let (status, log) = t
        .get(
            &format!("/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq '{EXPIRED}'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log["value"].as_array().unwrap().len()
}

#[tokio::test]
async fn an_activation_expires_once_with_its_audit_entry() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    let p = t.person("eve").await;
    t.make_eligible(p.id, role).await;
    t.step_up(&p).await;
    let (status, body) = t.activate(&p, role, "PT30M", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Expiring soon shows in the last 10 minutes of an activation.
    t.clock.advance(TimeDelta::minutes(21));
    let (_, roles) = t.get("/v1/me/roles", &p.token).await;
    let active = roles["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "active")
        .unwrap()
        .clone();
    assert_eq!(active["expiringSoon"], true, "{active}");

    assert_eq!(t.tick(TimeDelta::minutes(8)).await.ended, 0, "not yet");
    let pass = t.tick(TimeDelta::minutes(1)).await;
    assert_eq!(pass.ended, 1);
    assert_eq!(expiry_entries(&t).await, 1);
    assert_eq!(t.tick(TimeDelta::minutes(1)).await.ended, 0, "never twice");
    assert_eq!(expiry_entries(&t).await, 1);
    assert!(t.active_roles(&p.token).await.is_empty());
}

#[tokio::test]
async fn ended_access_never_shows_even_before_the_scheduler_runs() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    let p = t.person("fay").await;
    t.make_eligible(p.id, role).await;
    t.step_up(&p).await;
    t.activate(&p, role, "PT15M", json!({})).await;
    t.clock.advance(TimeDelta::minutes(15));
    assert!(t.active_roles(&p.token).await.is_empty());
    let (_, instances) = t
        .get(
            &format!("/v1/roleManagement/directory/roleAssignmentScheduleInstances?$filter=principalId eq '{}'", p.id),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(instances["value"], json!([]));
    let (_, schedules) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/roleAssignmentSchedules?$filter=principalId eq '{}'",
                p.id
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(schedules["value"], json!([]));
    // Deactivating what already expired: a clear 4xx.
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            &p.token,
            json!({ "action": "selfDeactivate", "principalId": p.id, "roleDefinitionId": role, "directoryScopeId": "/" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "RoleAssignmentDoesNotExist");
}

#[tokio::test]
async fn after_a_restart_the_scheduler_catches_up_what_fell_due_while_down() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    let mut people = Vec::new();
    for nick in ["g1", "g2", "g3"] {
        let p = t.person(nick).await;
        t.make_eligible(p.id, role).await;
        t.step_up(&p).await;
        let (status, body) = t.activate(&p, role, "PT1H", json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        people.push(p);
    }
    // "Down" for a day; a new instance on the same database handles all three, once.
    let later = t.clock.now_utc() + TimeDelta::days(1);
    let t2 = t.restarted(later).await;
    let pass = t2.tick(TimeDelta::zero()).await;
    assert_eq!(pass.ended, 3);
    assert_eq!(t2.tick(TimeDelta::minutes(1)).await.ended, 0);
    assert_eq!(expiry_entries(&t2).await, 3);
    let (_, verdict) = t2.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(verdict["valid"], true);
}

#[tokio::test]
async fn the_same_story_holds_on_postgres() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    let role = ids::HELPDESK_ADMINISTRATOR;
    let p = t.person("pg").await;
    t.make_eligible(p.id, role).await;
    t.step_up(&p).await;
    let (status, body) = t.activate(&p, role, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(t.active_roles(&p.token).await, [role]);
    assert_eq!(t.tick(TimeDelta::hours(1)).await.ended, 1);
    assert_eq!(t.tick(TimeDelta::hours(1)).await.ended, 0);
    assert_eq!(expiry_entries(&t).await, 1);
}
