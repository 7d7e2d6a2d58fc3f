//! Provisioning to a real SCIM server (scim2-server): what Eligo grants appears downstream,
//! what ends disappears, failures retry and show, reconciliation removes strays.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_testkit::scim::{ScimServer, scim_server};
use serde_json::json;
use uuid::Uuid;

use super::{activities, connector, deliver, jobs, map};
use crate::access::{add_member, new_group};
use crate::downstream::scim::Seed;
use crate::harness::*;

const G: &str = "/v1/identityGovernance/privilegedAccess/group";

struct Setup {
    t: TestApp,
    server: ScimServer,
    seed: Seed,
    group: Uuid,
    connector: Uuid,
    downstream: String,
}

/// An Eligo group "Ops" mapped to the SCIM group "ops", with SCIM users for `nicks`.
async fn setup(nicks: &[&str]) -> Option<(Setup, Vec<String>)> {
    let server = scim_server().await?;
    let seed = Seed::new(&server);
    let mut ids = Vec::new();
    for nick in nicks {
        ids.push(seed.user(&format!("{nick}@contoso.example")).await);
    }
    let downstream = seed.group("ops").await;
    let t = TestApp::new().await;
    let group = new_group(&t, "Ops", false).await;
    let connector = connector(
        &t,
        "scim",
        json!({ "baseUrl": server.base_url(), "bearerToken": server.token(), "timeoutSeconds": 5 }),
    )
    .await;
    map(&t, group, connector, "ops").await;
    // The first full push of the new mapping (nobody is a member yet).
    deliver(&t).await;
    Some((
        Setup {
            t,
            server,
            seed,
            group,
            connector,
            downstream,
        },
        ids,
    ))
}

#[tokio::test]
async fn an_activation_is_pushed_and_its_expiry_removes_it() {
    let Some((s, ids)) = setup(&["alice", "bob"]).await else {
        return;
    };
    let t = &s.t;
    let alice = t.person("alice").await;
    let (status, body) = t
        .post(
            &format!("{G}/eligibilityScheduleRequests"),
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": alice.id, "groupId": s.group,
                    "accessId": "member", "justification": "on-call",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Eligible is not a member: nothing downstream.
    deliver(t).await;
    assert!(s.seed.members(&s.downstream).await.is_empty());

    t.step_up(&alice).await;
    let (status, body) = t
        .post(
            &format!("{G}/assignmentScheduleRequests"),
            &alice.token,
            json!({ "action": "selfActivate", "principalId": alice.id, "groupId": s.group,
                    "accessId": "member", "justification": "deploying",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let done = deliver(t).await;
    assert_eq!(done.delivered, 1, "{done:?}");
    assert_eq!(s.seed.members(&s.downstream).await, vec![ids[0].clone()]);

    // A direct member too.
    let bob = t.user("bob").await;
    let (status, _) = add_member(t, s.group, bob).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    deliver(t).await;
    let mut members = s.seed.members(&s.downstream).await;
    members.sort();
    let mut both = ids.clone();
    both.sort();
    assert_eq!(members, both);

    // The activation ends: the scheduler expires it, the outbox removes it downstream.
    let pass = t.tick(TimeDelta::hours(1)).await;
    assert_eq!(pass.ended, 1, "{pass:?}");
    deliver(t).await;
    assert_eq!(s.seed.members(&s.downstream).await, vec![ids[1].clone()]);
    let log = activities(t).await;
    assert!(
        log.iter()
            .any(|a| a == "Remove member from group in downstream system (provisioning)"),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|a| a == "Add member to group in downstream system (provisioning)")
    );

    // The time from the end to the removal downstream is exported for Prometheus (served on
    // the metrics listener or to the metrics token: `audit::health_and_metrics` covers that).
    let text = eligo::router::metrics_handle().render();
    assert!(
        text.contains("eligo_revocation_latency_seconds"),
        "the revocation histogram is exported"
    );

    // Running the same work again changes nothing (idempotent, nothing left to do).
    let again = deliver(t).await;
    assert_eq!(again, Default::default());
    assert_eq!(s.seed.members(&s.downstream).await, vec![ids[1].clone()]);
    assert!(jobs(t, "failed").await.is_empty());
}

#[tokio::test]
async fn a_nested_group_brings_and_takes_all_its_members() {
    let Some((s, ids)) = setup(&["carol", "dave"]).await else {
        return;
    };
    let t = &s.t;
    let inner = new_group(t, "Ops on call", false).await;
    for nick in ["carol", "dave"] {
        let id = t.user(nick).await;
        add_member(t, inner, id).await;
    }
    deliver(t).await;
    assert!(s.seed.members(&s.downstream).await.is_empty());

    let (status, _) = add_member(t, s.group, inner).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    deliver(t).await;
    let mut members = s.seed.members(&s.downstream).await;
    members.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(members, want);

    let (status, _) = t
        .delete(
            &format!("/v1/groups/{}/members/{inner}", s.group),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    deliver(t).await;
    assert!(s.seed.members(&s.downstream).await.is_empty());
}

#[tokio::test]
async fn a_downstream_outage_retries_shows_and_converges() {
    let Some((mut s, _)) = setup(&["erin"]).await else {
        return;
    };
    s.server.stop();
    let t = &s.t;
    let erin = t.user("erin").await;
    let (status, _) = add_member(t, s.group, erin).await;
    // The API never waits for a downstream.
    assert_eq!(status, StatusCode::NO_CONTENT);
    for _ in 0..3 {
        let done = deliver(t).await;
        assert_eq!(done.retried, 1, "{done:?}");
        t.clock.advance(TimeDelta::hours(1));
    }
    let pending = jobs(t, "pending").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(
        pending[0]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("unavailable")),
        "{pending:?}"
    );
    let (_, c) = t
        .get(&format!("/v1/connectors/{}", s.connector), BOOTSTRAP)
        .await;
    assert_eq!(c["health"]["status"], "failing", "{c}");
    assert_eq!(c["health"]["consecutiveFailures"], 3);
    let (_, alerts) = t
        .get("/v1/alerts?$filter=status eq 'active'", BOOTSTRAP)
        .await;
    let failing: Vec<_> = alerts["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["alertType"] == "connectorFailing")
        .collect();
    assert_eq!(failing.len(), 1, "{alerts}");

    // Back (empty: the server keeps its data in memory), seeded again: the job converges.
    s.server.start().await;
    let seed = Seed::new(&s.server);
    let erin_downstream = seed.user("erin@contoso.example").await;
    let ops = seed.group("ops").await;
    let done = deliver(t).await;
    assert_eq!(done.delivered, 1, "{done:?}");
    assert_eq!(seed.members(&ops).await, vec![erin_downstream]);
    let (_, c) = t
        .get(&format!("/v1/connectors/{}", s.connector), BOOTSTRAP)
        .await;
    assert_eq!(c["health"]["status"], "healthy", "{c}");
    let (_, alerts) = t
        .get("/v1/alerts?$filter=status eq 'active'", BOOTSTRAP)
        .await;
    assert!(
        alerts["value"].as_array().unwrap().is_empty(),
        "the alert is resolved once the connector recovers: {alerts}"
    );
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_dead_lettered_and_can_be_retried() {
    let Some((mut s, _)) = setup(&["frank"]).await else {
        return;
    };
    s.server.stop();
    let t = &s.t;
    let frank = t.user("frank").await;
    add_member(t, s.group, frank).await;
    let max = t.app.config.outbox_max_attempts;
    for _ in 0..max {
        deliver(t).await;
        t.clock.advance(TimeDelta::hours(1));
    }
    let failed = jobs(t, "failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["attempts"], max);
    let id = failed[0]["id"].as_str().unwrap().to_string();
    // Dead letters wait: nothing more is tried.
    assert_eq!(deliver(t).await, Default::default());

    s.server.start().await;
    let seed = Seed::new(&s.server);
    let user = seed.user("frank@contoso.example").await;
    let ops = seed.group("ops").await;
    let (status, body) = t
        .post(&format!("/v1/outbox/{id}/retry"), BOOTSTRAP, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(deliver(t).await.delivered, 1);
    assert_eq!(seed.members(&ops).await, vec![user]);
    let (status, body) = t
        .post(&format!("/v1/outbox/{id}/retry"), BOOTSTRAP, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "JobNotFailed");
}

#[tokio::test]
async fn reconciliation_removes_strays_raises_an_alert_and_does_not_flap() {
    let Some((s, ids)) = setup(&["grace", "mallory"]).await else {
        return;
    };
    let t = &s.t;
    let grace = t.user("grace").await;
    add_member(t, s.group, grace).await;
    deliver(t).await;
    // Someone adds mallory in the downstream system by hand.
    let resp = reqwest::Client::new()
        .patch(format!("{}/Groups/{}", s.server.base_url(), s.downstream))
        .bearer_auth(s.server.token())
        .header("content-type", "application/scim+json")
        .body(
            json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{ "op": "add", "path": "members", "value": [{ "value": ids[1] }] }] })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(s.seed.members(&s.downstream).await.len(), 2);

    let (status, body) = t
        .post(
            &format!("/v1/connectors/{}/reconcile", s.connector),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report = &body["value"][0];
    assert_eq!(report["strays"], json!([ids[1]]), "{body}");
    assert_eq!(report["added"], json!([]), "{body}");
    assert_eq!(s.seed.members(&s.downstream).await, vec![ids[0].clone()]);
    let (_, alerts) = t.get("/v1/alerts", BOOTSTRAP).await;
    let stray = &alerts["value"][0];
    assert_eq!(stray["alertType"], "membersAddedOutsideEligo", "{alerts}");
    assert_eq!(stray["title"], "Members added outside Eligo");
    assert_eq!(stray["downstreamGroup"], "ops");
    assert!(
        activities(t)
            .await
            .iter()
            .any(|a| a == "Remove member added outside Eligo from downstream group")
    );

    // Again: nothing to do, no new alert; the live path and reconciliation agree.
    let (_, body) = t
        .post(
            &format!("/v1/connectors/{}/reconcile", s.connector),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    let report = &body["value"][0];
    assert_eq!(report["strays"], json!([]), "{body}");
    assert_eq!(report["removed"], json!([]), "{body}");
    assert_eq!(report["added"], json!([]), "{body}");
    let (_, alerts) = t.get("/v1/alerts", BOOTSTRAP).await;
    assert_eq!(alerts["value"].as_array().unwrap().len(), 1);
    assert!(deliver(t).await == Default::default());
    assert_eq!(s.seed.members(&s.downstream).await, vec![ids[0].clone()]);
}

#[tokio::test]
async fn a_crash_between_commit_and_delivery_loses_no_job() {
    let Some((s, ids)) = setup(&["heidi"]).await else {
        return;
    };
    let heidi = s.t.user("heidi").await;
    let (status, _) = add_member(&s.t, s.group, heidi).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // This instance never delivers: as if killed right after the commit. The next one does.
    let after = s.t.restarted(s.t.clock.now_utc()).await;
    assert_eq!(deliver(&after).await.delivered, 1);
    assert_eq!(s.seed.members(&s.downstream).await, ids);
}
