//! Requests that start later: accepted when the policy lets requestors choose their schedule,
//! left `scheduled` (nothing given, no second request meanwhile), delivered by the scheduler at
//! the start with the end counted from it, once; decided again then (a conflict that arose
//! meanwhile denies it, naming why); canceled while they wait.

use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use eligo::service::pim::scheduler::run_due;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Starts in an hour, for two hours.
fn later(t: &TestApp) -> (DateTime<Utc>, Value) {
    let start = t.clock.now_utc() + TimeDelta::hours(1);
    let body = json!({ "schedule": { "startDateTime": at(start),
        "expiration": { "type": "afterDuration", "duration": "PT2H" } } });
    (start, body)
}

async fn setup(t: &TestApp, custom: bool) -> (Uuid, String, Uuid, GroupPackage) {
    let alice = t.user("alice").await;
    let token = t.sign_in("alice").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t
        .group_package(
            catalog,
            "Insider Risk Management",
            group,
            json!({ "requestorSettings": { "enableTargetsToSelfAddAccess": true,
                "enableTargetsToSelfRemoveAccess": true, "allowCustomAssignmentSchedule": custom } }),
        )
        .await;
    (alice, token, group, p)
}

async fn request(t: &TestApp, id: &str) -> Value {
    let (s, r) = t
        .get(
            &em(&format!("{REQUESTS}/{id}?$expand=assignment")),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r
}

#[tokio::test]
async fn a_later_start_waits_scheduled_and_is_delivered_at_its_start_once() {
    let t = TestApp::new().await;
    let (alice, token, group, p) = setup(&t, true).await;
    let (start, body) = later(&t);
    let (s, r) = t.ask(&token, "UserAdd", &p, None, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "scheduled", "{r}");
    assert_eq!(r["status"], "Scheduled");
    let id = r["id"].as_str().unwrap().to_string();
    assert!(
        t.members(group).await.is_empty(),
        "nothing before its start"
    );
    {
        let mut tx = t.app.store.read().await.unwrap();
        assert_eq!(
            tx.next_due().await.unwrap(),
            Some(start),
            "the scheduler wakes then"
        );
    }
    // One request at a time for a target and package.
    let (s, b) = t.ask(&token, "UserAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b.to_string().contains("PendingRequestExists"), "{b}");

    t.clock.advance(TimeDelta::minutes(59));
    assert_eq!(run_due(&t.app).await.unwrap().started_package_requests, 0);
    assert!(t.members(group).await.is_empty());
    t.clock.set(start);
    assert_eq!(run_due(&t.app).await.unwrap().started_package_requests, 1);
    assert_eq!(run_due(&t.app).await.unwrap().started_package_requests, 0);
    assert_eq!(t.members(group).await, [alice]);
    let r = request(&t, &id).await;
    assert_eq!(r["state"], "delivered", "{r}");
    let a = t.assignment(assignment_of(&r)).await;
    let end = at(start + TimeDelta::hours(2));
    assert_eq!(
        a["schedule"]["expiration"]["endDateTime"].as_str().unwrap()[..19],
        end[..19],
        "the end counts from the start: {a}"
    );
    let fulfilled = t
        .audited_as("Fulfill access package assignment request")
        .await;
    assert_eq!(fulfilled.len(), 1, "{fulfilled:?}");
}

#[tokio::test]
async fn a_later_start_needs_a_policy_that_lets_requestors_choose() {
    let t = TestApp::new().await;
    let (alice, token, group, p) = setup(&t, false).await;
    let (_, body) = later(&t);
    let (s, b) = t.ask(&token, "UserAdd", &p, None, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b.to_string().contains("CustomScheduleNotAllowed"), "{b}");
    // An administrator chooses the schedule whatever the policy says.
    let start = t.clock.now_utc() + TimeDelta::days(1);
    let (s, r) = t
        .ask(
            BOOTSTRAP,
            "AdminAdd",
            &p,
            Some(alice),
            json!({ "schedule": { "startDateTime": at(start) } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "scheduled", "{r}");
    assert!(t.members(group).await.is_empty());
}

#[tokio::test]
async fn a_conflict_that_arose_while_it_waited_denies_it_at_its_start() {
    let t = TestApp::new().await;
    let (alice, token, group, p) = setup(&t, true).await;
    let risky = t.group("Risky").await;
    let (start, body) = later(&t);
    let (s, r) = t.ask(&token, "UserAdd", &p, None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    // Declared and joined after the request was accepted.
    let (s, b) = t
        .post(
            &em(&format!(
                "/accessPackages/{}/incompatibleGroups/$ref",
                p.package
            )),
            BOOTSTRAP,
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/groups/{risky}") }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    t.add_member(risky, alice).await;

    t.clock.set(start);
    assert_eq!(run_due(&t.app).await.unwrap().started_package_requests, 1);
    let r = request(&t, &id).await;
    assert_eq!(r["state"], "denied", "{r}");
    assert!(
        r["status"].as_str().unwrap().contains("IncompatibleGroup"),
        "{r}"
    );
    assert!(t.members(group).await.is_empty(), "nothing given");
    let denied = t
        .audited_as("Deny access package assignment request at its start")
        .await;
    assert_eq!(denied.len(), 1, "{denied:?}");
}

#[tokio::test]
async fn a_scheduled_request_is_canceled_before_its_start_and_never_delivered() {
    let t = TestApp::new().await;
    let (_, token, group, p) = setup(&t, true).await;
    let (start, body) = later(&t);
    let (s, r) = t.ask(&token, "UserAdd", &p, None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let cancel = em(&format!("{REQUESTS}/{id}/cancel"));
    let (s, b) = t.post(&cancel, &token, json!({})).await;
    assert!(s.is_success(), "{b}");
    assert_eq!(request(&t, &id).await["state"], "canceled");
    let (s, b) = t.post(&cancel, &token, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    t.clock.set(start);
    assert_eq!(run_due(&t.app).await.unwrap().started_package_requests, 0);
    assert!(t.members(group).await.is_empty());
    // And a new request may be made.
    let (s, r) = t.ask(&token, "UserAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
}

/// Approval first, then the wait: the approver's decision leaves it `scheduled`.
#[tokio::test]
async fn an_approved_request_that_starts_later_waits_for_its_start() {
    let t = TestApp::new().await;
    let boss = t.person("boss").await;
    let alice = t.user("alice").await;
    let token = t.sign_in("alice").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t
        .group_package(
            catalog,
            "Insider Risk Management",
            group,
            json!({ "requestorSettings": { "enableTargetsToSelfAddAccess": true, "allowCustomAssignmentSchedule": true },
                "requestApprovalSettings": { "isApprovalRequiredForAdd": true, "stages": [
                    { "durationBeforeAutomaticDenial": "P2D", "primaryApprovers": [
                        { "@odata.type": "#microsoft.graph.singleUser", "userId": boss.id }] }] } }),
        )
        .await;
    let (start, body) = later(&t);
    let (s, r) = t.ask(&token, "UserAdd", &p, None, body).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "pendingApproval", "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let approvals = em(&format!("/accessPackageAssignmentApprovals/{id}"));
    let (_, a) = t.get(&approvals, BOOTSTRAP).await;
    let stage = a["stages"][0]["id"].as_str().unwrap().to_string();
    let (s, b) = t
        .patch(
            &format!("{approvals}/stages/{stage}"),
            &boss.token,
            json!({ "reviewResult": "Approve", "justification": "known work" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(request(&t, &id).await["state"], "scheduled");
    assert!(t.members(group).await.is_empty());
    t.clock.set(start);
    assert_eq!(run_due(&t.app).await.unwrap().started_package_requests, 1);
    assert_eq!(t.members(group).await, [alice]);
}
