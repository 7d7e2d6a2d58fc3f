//! Access package notices end to end, with a real maildev and a mock clock: the approvers of
//! the stage now waiting are mailed the request with the link to decide (the fallback when the
//! requester has no manager; stage 2 only once stage 1 is approved), the target hears of
//! approval, denial, timeout, delivery, the reminders 14 days and 1 day before the end (once
//! each, however often the scheduler runs or far the clock jumps, again after an extension)
//! and the end; a refused request mails nobody; a policy's `isAssignmentNotificationDisabled`
//! silences the assignment's mails; subscribers get signed `accessPackage.*` events.
//!
//! Exactly-once is counted on the outbox's mail jobs (each mail is one job); what the mails
//! say is read back from maildev.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::TimeDelta;
use eligo::notify::signing;
use eligo_testkit::maildev::Maildev;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

const APPROVALS: &str = "/accessPackageAssignmentApprovals";
const PUBLIC: &str = "https://eligo.contoso.example";

async fn mail_app() -> Option<(TestApp, Maildev)> {
    let maildev = eligo_testkit::maildev::maildev().await?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let t = TestApp::configured(|c| {
        c.smtp_url = Some(eligo::config::Secret::new(maildev.smtp_url()));
        c.mail_from = "eligo@contoso.example".into();
        c.public_url = PUBLIC.into();
    })
    .await;
    Some((t, maildev))
}

fn single(user: Uuid) -> Value {
    json!({ "@odata.type": "#microsoft.graph.singleUser", "userId": user })
}

fn stage(primary: Vec<Value>, fallback: Vec<Value>) -> Value {
    json!({ "durationBeforeAutomaticDenial": "P2D", "primaryApprovers": primary,
            "fallbackPrimaryApprovers": fallback })
}

fn approval(stages: Vec<Value>) -> Value {
    json!({ "requestApprovalSettings": { "isApprovalRequiredForAdd": true, "stages": stages } })
}

/// A catalog, a group, and a package giving its membership under `open_policy(extra)`;
/// returns the package and the stored policy.
async fn package(t: &TestApp, extra: Value) -> (GroupPackage, Value) {
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let package = t.package(BOOTSTRAP, catalog, "IRM").await;
    t.add_role_scope(catalog, package, &group.to_string(), "AadGroup", "Member")
        .await;
    let policy = t.policy(BOOTSTRAP, package, open_policy(extra)).await;
    (
        GroupPackage {
            catalog,
            package,
            policy: id_of(&policy),
        },
        policy,
    )
}

/// Every access package mail job so far: (to, event, daysLeft).
async fn package_mails(t: &TestApp) -> Vec<(String, String, Option<u64>)> {
    let mut out = Vec::new();
    for status in ["pending", "running", "delivered", "failed"] {
        for job in crate::provisioning::jobs(t, status).await {
            if job["kind"] == "mail.package" {
                let p = &job["payload"];
                out.push((
                    p["to"].as_str().unwrap().to_string(),
                    p["notice"]["event"].as_str().unwrap().to_string(),
                    p["notice"]["daysLeft"].as_u64(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn count(mails: &[(String, String, Option<u64>)], to: &str, event: &str) -> usize {
    mails
        .iter()
        .filter(|(t, e, _)| t == to && e == event)
        .count()
}

/// Every mail maildev holds, waiting (briefly) until there are at least `n`.
async fn inbox(m: &Maildev, n: usize) -> Vec<Value> {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let got: Vec<Value> = client
            .get(format!("{}/email", m.api_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("maildev did not receive {n} mail(s)");
}

/// The one mail to `to` whose subject contains `about`.
fn mail_to<'a>(mails: &'a [Value], to: &str, about: &str) -> &'a Value {
    let found: Vec<&Value> = mails
        .iter()
        .filter(|m| m["to"][0]["address"] == to)
        .filter(|m| m["subject"].as_str().unwrap_or("").contains(about))
        .collect();
    assert_eq!(found.len(), 1, "one mail to {to} about {about}: {mails:#?}");
    found[0]
}

impl TestApp {
    /// Decides stage `index` of `request` as `token`.
    async fn decide_stage(
        &self,
        token: &str,
        request: &str,
        index: usize,
        result: &str,
    ) -> (StatusCode, Value) {
        let (s, a) = self
            .get(&em(&format!("{APPROVALS}/{request}")), BOOTSTRAP)
            .await;
        assert_eq!(s, StatusCode::OK, "{a}");
        let stage = a["stages"][index]["id"].as_str().unwrap().to_string();
        self.patch(
            &em(&format!("{APPROVALS}/{request}/stages/{stage}")),
            token,
            json!({ "reviewResult": result, "justification": "not during the freeze" }),
        )
        .await
    }
}

async fn ask_ok(t: &TestApp, token: &str, p: &GroupPackage, extra: Value) -> Value {
    let (s, r) = t.ask(token, "userAdd", p, None, extra).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r
}

#[tokio::test]
async fn the_fallback_approver_is_mailed_the_request_with_the_link_when_there_is_no_manager() {
    let Some((t, maildev)) = mail_app().await else {
        return;
    };
    let fallback = t.person("fallback").await;
    let manager = json!({ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 });
    let mut extra = approval(vec![stage(vec![manager], vec![single(fallback.id)])]);
    extra["questions"] = json!([{ "@odata.type": "#microsoft.graph.accessPackageTextInputQuestion",
        "sequence": 1, "text": "Case number", "isRequired": true, "isSingleLineQuestion": true }]);
    let (p, policy) = package(&t, extra).await;
    let question = policy["questions"][0]["id"].as_str().unwrap().to_string();
    t.user("alice").await;
    let alice = t.sign_in("alice").await;
    let r = ask_ok(
        &t,
        &alice,
        &p,
        json!({ "answers": [{ "@odata.type": "#microsoft.graph.accessPackageAnswerString",
                               "value": "IRM-42", "answeredQuestion": { "id": question } }] }),
    )
    .await;
    assert_eq!(r["state"], "pendingApproval", "{r}");
    let id = r["id"].as_str().unwrap();
    crate::provisioning::deliver(&t).await;

    // Alice has no manager: the fallback approver is asked, and only they.
    let jobs = package_mails(&t).await;
    assert_eq!(
        jobs,
        [(
            "fallback@contoso.example".to_string(),
            "approvalRequested".to_string(),
            None
        )]
    );
    let got = inbox(&maildev, 1).await;
    let mail = mail_to(&got, "fallback@contoso.example", "your approval is needed");
    assert_eq!(
        mail["subject"],
        "Eligo: alice requests the access package IRM: your approval is needed"
    );
    let text = mail["text"].as_str().unwrap();
    let link = format!("{PUBLIC}/portal/approvals/packages/{id}");
    for needle in [
        link.as_str(),
        "Justification: audit work",
        "Case number: IRM-42",
        "Approval stage: 1 of 1",
        "Decide by: ",
    ] {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }
    assert!(
        mail["html"]
            .as_str()
            .unwrap()
            .contains(&format!("href=\"{link}\""))
    );

    // A refused request (the same one again, while it waits) mails nobody.
    let (s, refused) = t.ask(&alice, "userAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    crate::provisioning::deliver(&t).await;
    assert_eq!(package_mails(&t).await, jobs);
}

#[tokio::test]
async fn stage_two_is_mailed_only_after_stage_one_and_the_target_hears_of_approval_and_delivery() {
    let Some((t, maildev)) = mail_app().await else {
        return;
    };
    let first = t.person("first").await;
    let second = t.person("second").await;
    let (p, _) = package(
        &t,
        approval(vec![
            stage(vec![single(first.id)], vec![]),
            stage(vec![single(second.id)], vec![]),
        ]),
    )
    .await;
    t.user("alice").await;
    let alice = t.sign_in("alice").await;
    let r = ask_ok(&t, &alice, &p, json!({})).await;
    let id = r["id"].as_str().unwrap().to_string();
    let mails = package_mails(&t).await;
    assert_eq!(
        count(&mails, "first@contoso.example", "approvalRequested"),
        1
    );
    assert_eq!(
        count(&mails, "second@contoso.example", "approvalRequested"),
        0
    );
    assert_eq!(mails.len(), 1, "{mails:?}");

    let (s, b) = t.decide_stage(&first.token, &id, 0, "Approve").await;
    assert!(s.is_success(), "{b}");
    let mails = package_mails(&t).await;
    assert_eq!(
        count(&mails, "first@contoso.example", "approvalRequested"),
        1
    );
    assert_eq!(
        count(&mails, "second@contoso.example", "approvalRequested"),
        1
    );
    assert_eq!(count(&mails, "alice@contoso.example", "requestApproved"), 0);

    let (s, b) = t.decide_stage(&second.token, &id, 1, "Approve").await;
    assert!(s.is_success(), "{b}");
    let mails = package_mails(&t).await;
    assert_eq!(count(&mails, "alice@contoso.example", "requestApproved"), 1);
    assert_eq!(
        count(&mails, "alice@contoso.example", "assignmentDelivered"),
        1
    );
    assert_eq!(mails.len(), 4, "{mails:?}");

    crate::provisioning::deliver(&t).await;
    let got = inbox(&maildev, 4).await;
    let stage2 = mail_to(&got, "second@contoso.example", "your approval is needed");
    assert!(
        stage2["text"]
            .as_str()
            .unwrap()
            .contains("Approval stage: 2 of 2")
    );
    mail_to(
        &got,
        "alice@contoso.example",
        "Your request for the access package IRM was approved",
    );
    let delivered = mail_to(&got, "alice@contoso.example", "was delivered");
    let text = delivered["text"].as_str().unwrap();
    assert!(
        text.contains("You now have the access package IRM, until "),
        "{text}"
    );
}

#[tokio::test]
async fn escalation_approvers_are_mailed_once_when_the_stage_escalates() {
    let Some((t, _maildev)) = mail_app().await else {
        return;
    };
    let boss = t.person("boss").await;
    let deputy = t.person("deputy").await;
    let manager = json!({ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 });
    let mut escalating = stage(vec![manager], vec![]);
    escalating["isEscalationEnabled"] = json!(true);
    escalating["durationBeforeEscalation"] = json!("PT4H");
    escalating["escalationApprovers"] = json!([single(deputy.id)]);
    let (p, _) = package(&t, approval(vec![escalating])).await;
    let alice_id = t.user("alice").await;
    t.set_manager(alice_id, boss.id).await;
    let alice = t.sign_in("alice").await;
    ask_ok(&t, &alice, &p, json!({})).await;
    let mails = package_mails(&t).await;
    assert_eq!(
        count(&mails, "boss@contoso.example", "approvalRequested"),
        1
    );
    assert_eq!(
        count(&mails, "deputy@contoso.example", "approvalRequested"),
        0
    );
    t.tick(TimeDelta::hours(3)).await;
    assert_eq!(
        count(
            &package_mails(&t).await,
            "deputy@contoso.example",
            "approvalRequested"
        ),
        0
    );
    t.tick(TimeDelta::hours(1) + TimeDelta::minutes(1)).await;
    t.tick(TimeDelta::zero()).await;
    t.tick(TimeDelta::hours(1)).await;
    let mails = package_mails(&t).await;
    assert_eq!(
        count(&mails, "deputy@contoso.example", "approvalRequested"),
        1
    );
    // The manager, asked already, is not asked again.
    assert_eq!(
        count(&mails, "boss@contoso.example", "approvalRequested"),
        1
    );
    assert_eq!(mails.len(), 2, "{mails:?}");
}

#[tokio::test]
async fn the_target_hears_of_a_denial_with_its_reason_and_of_a_timeout() {
    let Some((t, maildev)) = mail_app().await else {
        return;
    };
    let approver = t.person("approver").await;
    let (p, _) = package(&t, approval(vec![stage(vec![single(approver.id)], vec![])])).await;
    t.user("alice").await;
    let alice = t.sign_in("alice").await;
    let r = ask_ok(&t, &alice, &p, json!({})).await;
    let (s, b) = t
        .decide_stage(&approver.token, r["id"].as_str().unwrap(), 0, "Deny")
        .await;
    assert!(s.is_success(), "{b}");

    // Asked again, and nobody decides within P2D: denied as TimedOut.
    ask_ok(&t, &alice, &p, json!({})).await;
    let pass = t.tick(TimeDelta::days(2) + TimeDelta::minutes(1)).await;
    assert_eq!(pass.timed_out_package_requests, 1);
    t.tick(TimeDelta::zero()).await;
    let mails = package_mails(&t).await;
    assert_eq!(count(&mails, "alice@contoso.example", "requestDenied"), 2);
    assert_eq!(
        count(&mails, "approver@contoso.example", "approvalRequested"),
        2
    );
    assert_eq!(mails.len(), 4, "{mails:?}");

    crate::provisioning::deliver(&t).await;
    let got = inbox(&maildev, 4).await;
    let denied: Vec<&str> = got
        .iter()
        .filter(|m| m["to"][0]["address"] == "alice@contoso.example")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(denied.len(), 2);
    assert!(
        denied
            .iter()
            .any(|t| t.contains("Reason: not during the freeze")
                && t.contains("Decided by: approver")),
        "{denied:?}"
    );
    assert!(
        denied
            .iter()
            .any(|t| t.contains("it was not decided in time") && t.contains("Status: TimedOut")),
        "{denied:?}"
    );
}

#[tokio::test]
async fn reminders_go_out_14_days_and_1_day_before_the_end_once_each_then_the_end() {
    let Some((t, maildev)) = mail_app().await else {
        return;
    };
    let (p, _) = package(&t, json!({})).await;
    t.user("alice").await;
    let alice = t.sign_in("alice").await;
    let r = ask_ok(&t, &alice, &p, json!({})).await;
    assert_eq!(r["state"], "delivered", "{r}");
    let reminders = |mails: &[(String, String, Option<u64>)], days: u64| {
        mails
            .iter()
            .filter(|(_, e, d)| e == "assignmentExpiring" && *d == Some(days))
            .count()
    };

    // 13 days in: nothing yet. 16 days in: the 14-day reminder, once, however often it runs.
    t.tick(TimeDelta::days(13)).await;
    assert_eq!(reminders(&package_mails(&t).await, 14), 0);
    t.tick(TimeDelta::days(3)).await;
    t.tick(TimeDelta::zero()).await;
    t.tick(TimeDelta::hours(1)).await;
    let mails = package_mails(&t).await;
    assert_eq!(reminders(&mails, 14), 1, "{mails:?}");
    assert_eq!(reminders(&mails, 1), 0);
    // 29 days and a bit in: the 1-day reminder, once.
    t.tick(TimeDelta::days(13)).await;
    t.tick(TimeDelta::zero()).await;
    let mails = package_mails(&t).await;
    assert_eq!(reminders(&mails, 14), 1);
    assert_eq!(reminders(&mails, 1), 1, "{mails:?}");
    // The end: expired, once.
    let pass = t.tick(TimeDelta::days(2)).await;
    assert_eq!(pass.expired_assignments, 1);
    t.tick(TimeDelta::zero()).await;
    let mails = package_mails(&t).await;
    assert_eq!(
        count(&mails, "alice@contoso.example", "assignmentExpired"),
        1
    );
    assert_eq!(
        count(&mails, "alice@contoso.example", "assignmentDelivered"),
        1
    );
    assert_eq!(mails.len(), 4, "{mails:?}");

    crate::provisioning::deliver(&t).await;
    let got = inbox(&maildev, 4).await;
    mail_to(&got, "alice@contoso.example", "ends in 14 days");
    mail_to(&got, "alice@contoso.example", "ends in 1 day");
    mail_to(&got, "alice@contoso.example", "has ended");
}

#[tokio::test]
async fn a_jump_past_both_reminders_sends_only_the_last_and_an_extension_reminds_again() {
    let Some((t, _maildev)) = mail_app().await else {
        return;
    };
    let (p, _) = package(
        &t,
        json!({ "requestorSettings": { "enableTargetsToSelfAddAccess": true,
                                        "enableTargetsToSelfUpdateAccess": true,
                                        "allowCustomAssignmentSchedule": true } }),
    )
    .await;
    t.user("alice").await;
    let alice = t.sign_in("alice").await;
    let r = ask_ok(&t, &alice, &p, json!({})).await;
    let assignment = assignment_of(&r);
    t.tick(TimeDelta::days(29) + TimeDelta::hours(12)).await;
    t.tick(TimeDelta::zero()).await;
    let expiring = |mails: Vec<(String, String, Option<u64>)>| -> Vec<Option<u64>> {
        mails
            .into_iter()
            .filter(|(_, e, _)| e == "assignmentExpiring")
            .map(|(_, _, d)| d)
            .collect()
    };
    assert_eq!(expiring(package_mails(&t).await), [Some(1)]);

    // Extended by 30 days from now: both reminders are owed again, for the new end.
    let alice = t.sign_in("alice").await;
    let (s, ok) = t
        .post(
            &em(REQUESTS),
            &alice,
            json!({ "requestType": "userUpdate", "assignment": { "id": assignment },
                    "schedule": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    assert_eq!(ok["state"], "delivered", "{ok}");
    let pass = t.tick(TimeDelta::days(1)).await;
    assert_eq!(pass.expired_assignments, 0);
    t.tick(TimeDelta::days(15) + TimeDelta::hours(1)).await;
    t.tick(TimeDelta::zero()).await;
    let mut got = expiring(package_mails(&t).await);
    got.sort();
    assert_eq!(got, [Some(1), Some(14)]);
    t.tick(TimeDelta::days(13)).await;
    let mut got = expiring(package_mails(&t).await);
    got.sort();
    assert_eq!(got, [Some(1), Some(1), Some(14)]);
    let mails = package_mails(&t).await;
    assert_eq!(
        count(&mails, "alice@contoso.example", "assignmentDelivered"),
        2
    );
}

#[tokio::test]
async fn a_policy_with_assignment_notifications_disabled_mails_nothing_about_the_assignment() {
    let Some((t, _maildev)) = mail_app().await else {
        return;
    };
    let (p, _) = package(
        &t,
        json!({ "notificationSettings": { "isAssignmentNotificationDisabled": true } }),
    )
    .await;
    t.user("alice").await;
    let alice = t.sign_in("alice").await;
    let r = ask_ok(&t, &alice, &p, json!({})).await;
    assert_eq!(r["state"], "delivered", "{r}");
    t.tick(TimeDelta::days(16)).await;
    t.tick(TimeDelta::days(13) + TimeDelta::hours(12)).await;
    let pass = t.tick(TimeDelta::days(1)).await;
    assert_eq!(pass.expired_assignments, 1);
    assert_eq!(package_mails(&t).await, []);
}

#[derive(Clone, Default)]
struct Hooks {
    events: Arc<Mutex<Vec<(Value, bool)>>>,
    now: Arc<Mutex<i64>>,
}

const SECRET: &str = "subscriber-secret-0123456789";

async fn receive(State(hooks): State<Hooks>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = *hooks.now.lock().unwrap();
    let ok = headers
        .get("eligo-signature")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sig| {
            signing::verify(
                SECRET.as_bytes(),
                sig,
                &body,
                now,
                signing::REPLAY_WINDOW_SECS,
            )
            .is_ok()
        });
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    hooks.events.lock().unwrap().push((event, ok));
    if ok {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

#[tokio::test]
async fn subscribers_get_signed_access_package_events_of_their_types() {
    let t = TestApp::new().await;
    let hooks = Hooks::default();
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(hooks.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let (s, b) = t
        .post(
            "/v1/subscriptions",
            BOOTSTRAP,
            json!({ "url": url, "secret": SECRET, "eventTypes": [
                "accessPackage.approvalRequested", "accessPackage.requestApproved",
                "accessPackage.assignmentDelivered", "accessPackage.assignmentExpired"] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = t
        .post(
            "/v1/subscriptions",
            BOOTSTRAP,
            json!({ "url": "https://hooks.example/x", "secret": SECRET,
                    "eventTypes": ["accessPackage.exploded"] }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    let approver = t.person("approver").await;
    let (p, _) = package(&t, approval(vec![stage(vec![single(approver.id)], vec![])])).await;
    t.user("alice").await;
    let alice = t.sign_in("alice").await;
    let r = ask_ok(&t, &alice, &p, json!({})).await;
    let id = r["id"].as_str().unwrap().to_string();
    let (s, b) = t.decide_stage(&approver.token, &id, 0, "Approve").await;
    assert!(s.is_success(), "{b}");
    t.tick(TimeDelta::days(31)).await;
    *hooks.now.lock().unwrap() = t.clock.now_utc().timestamp();
    crate::provisioning::deliver(&t).await;

    let events = hooks.events.lock().unwrap().clone();
    let mut types: Vec<String> = events
        .iter()
        .map(|(e, ok)| {
            assert!(ok, "every delivery verifies: {e}");
            e["type"].as_str().unwrap().to_string()
        })
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "accessPackage.approvalRequested",
            "accessPackage.assignmentDelivered",
            "accessPackage.assignmentExpired",
            "accessPackage.requestApproved",
        ]
    );
    let asked = &events
        .iter()
        .find(|(e, _)| e["type"] == "accessPackage.approvalRequested")
        .unwrap()
        .0;
    assert_eq!(asked["data"]["package"]["displayName"], "IRM");
    assert_eq!(asked["data"]["target"]["displayName"], "alice");
    assert_eq!(asked["data"]["requestId"], json!(id));
    assert_eq!(asked["data"]["stage"]["number"], 1);
    assert!(
        asked["data"]["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/accessPackageAssignmentApprovals/{id}"))
    );
}

/// The `accessPackage.*` event jobs so far: (type, daysLeft).
async fn package_events(t: &TestApp) -> Vec<(String, Option<u64>)> {
    let mut out = Vec::new();
    for status in ["pending", "running", "delivered", "failed"] {
        for job in crate::provisioning::jobs(t, status).await {
            let e = &job["payload"]["event"];
            if job["kind"] == "event"
                && e["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("accessPackage."))
            {
                out.push((
                    e["type"].as_str().unwrap().to_string(),
                    e["data"]["daysLeft"].as_u64(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_reminder_sent_before_a_restart_is_not_sent_again_after_it() {
    let t = TestApp::new().await;
    let (s, b) = t
        .post(
            "/v1/subscriptions",
            BOOTSTRAP,
            json!({ "url": "https://hooks.example/eligo", "secret": SECRET,
                    "eventTypes": ["accessPackage.assignmentExpiring"] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (p, _) = package(&t, json!({})).await;
    t.user("alice").await;
    let alice = t.sign_in("alice").await;
    ask_ok(&t, &alice, &p, json!({})).await;
    t.tick(TimeDelta::days(16)).await;
    let expiring = vec![("accessPackage.assignmentExpiring".to_string(), Some(14))];
    assert_eq!(package_events(&t).await, expiring);

    // Another Eligo on the same database, an hour later: nothing is owed until the 1-day one.
    let again = t.restarted(t.clock.now_utc() + TimeDelta::hours(1)).await;
    again.tick(TimeDelta::zero()).await;
    assert_eq!(package_events(&again).await, expiring);
    again.tick(TimeDelta::days(13)).await;
    again.tick(TimeDelta::zero()).await;
    let mut both = expiring.clone();
    both.insert(0, ("accessPackage.assignmentExpiring".to_string(), Some(1)));
    assert_eq!(package_events(&again).await, both);
}

#[tokio::test]
async fn a_removal_is_announced_to_the_target() {
    let Some((t, maildev)) = mail_app().await else {
        return;
    };
    let (p, _) = package(&t, json!({})).await;
    t.user("alice").await;
    let alice = t.sign_in("alice").await;
    let r = ask_ok(&t, &alice, &p, json!({})).await;
    let (s, b) = t
        .remove_assignment(&alice, "userRemove", assignment_of(&r))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // Nothing is owed after it: no reminder, no second end.
    t.tick(TimeDelta::days(31)).await;
    let mails = package_mails(&t).await;
    assert_eq!(
        count(&mails, "alice@contoso.example", "assignmentExpired"),
        1
    );
    assert_eq!(mails.len(), 2, "{mails:?}");
    crate::provisioning::deliver(&t).await;
    let got = inbox(&maildev, 2).await;
    mail_to(
        &got,
        "alice@contoso.example",
        "Your assignment of the access package IRM was removed",
    );
}

#[tokio::test]
async fn a_manager_who_asked_on_behalf_is_told_too_and_is_never_asked_to_approve() {
    let Some((t, maildev)) = mail_app().await else {
        return;
    };
    let fallback = t.person("fallback").await;
    let manager = json!({ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 });
    let mut extra = approval(vec![stage(
        vec![manager.clone()],
        vec![single(fallback.id)],
    )]);
    extra["requestorSettings"] = json!({ "enableTargetsToSelfAddAccess": true,
        "enableOnBehalfRequestorsToAddAccess": true, "onBehalfRequestors": [manager] });
    let (p, _) = package(&t, extra).await;
    let boss = t.user("boss").await;
    let boss_token = t.sign_in("boss").await;
    let alice = t.user("alice").await;
    t.set_manager(alice, boss).await;
    let (s, r) = t
        .ask(&boss_token, "onBehalfAdd", &p, Some(alice), json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    // The manager filed it, so the stage falls to the fallback approver.
    let mails = package_mails(&t).await;
    assert_eq!(
        count(&mails, "fallback@contoso.example", "approvalRequested"),
        1
    );
    assert_eq!(
        count(&mails, "boss@contoso.example", "approvalRequested"),
        0
    );
    let (s, b) = t
        .decide_stage(&fallback.token, r["id"].as_str().unwrap(), 0, "Approve")
        .await;
    assert!(s.is_success(), "{b}");
    let mails = package_mails(&t).await;
    for who in ["alice@contoso.example", "boss@contoso.example"] {
        assert_eq!(count(&mails, who, "requestApproved"), 1, "{mails:?}");
        assert_eq!(count(&mails, who, "assignmentDelivered"), 1, "{mails:?}");
    }
    crate::provisioning::deliver(&t).await;
    let got = inbox(&maildev, 5).await;
    let to_boss = mail_to(&got, "boss@contoso.example", "was approved");
    assert!(
        to_boss["subject"]
            .as_str()
            .unwrap()
            .contains("alice's request for the access package IRM"),
        "{to_boss}"
    );
}
