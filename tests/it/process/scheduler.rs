//! The scheduler in the real server, on the real clock: an activation ends by itself and the
//! expiry reaches the audit trail without anyone asking; after a kill -9 the restarted server
//! catches up what fell due while it was down; three servers on one PostgreSQL expire each
//! activation once. These are liveness checks with generous
//! deadlines, not timing assertions (the latency is measured by `eligo bench expiry`).

use std::time::Duration;

use eligo_core::roles::ids;
use serde_json::{Value, json};

use super::support::*;
use crate::harness::{BOOTSTRAP, PASSWORD, temp_dir};

const ROLE: &str = ids::HELPDESK_ADMINISTRATOR;
const EXPIRED: &str = "Remove member from role (PIM activation expired)";
const DEADLINE: Duration = Duration::from_secs(30);

fn spec(dir: &std::path::Path) -> Spec {
    // Activations as short as a second, so the real clock can be waited on.
    Spec::sqlite(dir).setting("ELIGO_MIN_DURATION", "PT1S")
}

/// A user eligible for ROLE (no MFA or justification needed), signed in: (id, token).
async fn eligible_user(api: &Api, nick: &str) -> (String, String) {
    let upn = format!("{nick}@contoso.example");
    let (status, user) = api
        .post(
            "/v1/users",
            BOOTSTRAP,
            json!({ "userPrincipalName": upn, "displayName": nick, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_string();
    let (status, body) = api
        .post(
            "/v1/roleManagement/directory/roleEligibilityScheduleRequests",
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": id, "roleDefinitionId": ROLE,
                "directoryScopeId": "/", "justification": "on call",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P1D" } } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, token) = api.sign_in(&upn, PASSWORD).await;
    assert_eq!(status, 200, "{token}");
    (id, token["access_token"].as_str().unwrap().to_string())
}

async fn relax_policy(api: &Api) {
    let (status, body) = api
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/policies/roleManagementPolicies/DirectoryRole_{ROLE}/rules/Enablement_EndUser_Assignment"),
            Some(BOOTSTRAP),
            Some(json!({ "enabledRules": [] })),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
}

async fn activate(api: &Api, id: &str, token: &str, duration: &str) -> Value {
    let (status, body) = api
        .post(
            "/v1/roleManagement/directory/roleAssignmentScheduleRequests",
            token,
            json!({ "action": "selfActivate", "principalId": id, "roleDefinitionId": ROLE,
                "directoryScopeId": "/",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": duration } } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// Polls the audit log until the expiry of `principal`'s activation shows, or the deadline.
async fn wait_for_expiry(api: &Api, principal: &str) -> Vec<Value> {
    let path = format!(
        "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq '{EXPIRED}' and targetId eq '{principal}'"
    )
    .replace(' ', "%20")
    .replace('\'', "%27");
    let mut waited = Duration::ZERO;
    loop {
        let (status, log) = api.get(&path, BOOTSTRAP).await;
        assert_eq!(status, 200, "{log}");
        let entries = log["value"].as_array().unwrap().clone();
        if !entries.is_empty() || waited >= DEADLINE {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
}

#[tokio::test]
async fn an_activation_ends_by_itself_and_the_expiry_is_audited_once() {
    let dir = temp_dir("sched");
    let server = Server::start(&spec(&dir)).await;
    let api = server.client();
    relax_policy(&api).await;
    let (id, token) = eligible_user(&api, "tess").await;
    activate(&api, &id, &token, "PT2S").await;
    let entries = wait_for_expiry(&api, &id).await;
    assert_eq!(entries.len(), 1, "the scheduler wrote the expiry once");
    let (_, roles) = api.get("/v1/me/roles", &token).await;
    assert!(
        roles["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["kind"] != "active"),
        "{roles}"
    );
    // Still exactly once a little later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(wait_for_expiry(&api, &id).await.len(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn after_kill_9_the_restarted_server_catches_up_missed_expiries() {
    let dir = temp_dir("sched-crash");
    let server = Server::start(&spec(&dir)).await;
    let api = server.client();
    relax_policy(&api).await;
    let (id, token) = eligible_user(&api, "kim").await;
    activate(&api, &id, &token, "PT3S").await;
    server.kill9().await;
    // Down past the activation's end.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let server = Server::start(&spec(&dir)).await;
    let api = server.client();
    assert_eq!(wait_for_expiry(&api, &id).await.len(), 1);
    let (_, verdict) = api.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Three servers on one PostgreSQL, each handed a third of the activations (so each one's
/// scheduler wakes for the common end): every expiry is processed and audited exactly once,
/// whichever server gets to it, and the audit chain stays whole. Writes are serialized across
/// servers on the audit head row, and each due item is read again inside the write that
/// clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_on_one_postgresql_expire_each_activation_once() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let dir = temp_dir("sched-three");
    // One master key for the three, as a deployment shares its key.
    let spec = Spec::postgres(&dir, url).setting("ELIGO_MIN_DURATION", "PT1S");
    let first = Server::start(&spec).await;
    let api = first.client();
    relax_policy(&api).await;
    // Everyone is eligible before the other servers start, so every index knows it.
    let mut people = Vec::new();
    for i in 0..45 {
        people.push(eligible_user(&api, &format!("triple{i}")).await);
    }
    let second = Server::start(&spec).await;
    let third = Server::start(&spec).await;
    let apis = [first.client(), second.client(), third.client()];
    for (i, (id, token)) in people.iter().enumerate() {
        activate(&apis[i % 3], id, token, "PT5S").await;
    }
    for (id, _) in &people {
        let entries = wait_for_expiry(&api, id).await;
        assert_eq!(entries.len(), 1, "{id}: {entries:?}");
    }
    // Still once each after every scheduler had its chance again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (id, _) in &people {
        assert_eq!(wait_for_expiry(&apis[1], id).await.len(), 1, "{id}");
    }
    let (_, verdict) = api.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    for s in [first, second, third] {
        s.stop().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}
