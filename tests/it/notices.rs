//! Notices end to end: what a request, a review or an expiry causes reaches webhook
//! subscriptions (signed, verified here by a real receiver on loopback) and mailboxes (maildev,
//! in `downstream::mail`), as the subscription's event types and the policy's rules say.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::TimeDelta;
use eligo::notify::signing;
use eligo_core::roles::ids;
use serde_json::{Value, json};

use crate::harness::*;

const ROLE: &str = ids::EXCHANGE_ADMINISTRATOR;
const SECRET: &str = "subscriber-secret-0123456789";

#[derive(Clone, Default)]
struct Inbox {
    events: Arc<Mutex<Vec<(Value, bool)>>>,
    /// The receiver's clock (the app's mock clock, in Unix seconds).
    now: Arc<Mutex<i64>>,
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = *inbox.now.lock().unwrap();
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
    inbox.events.lock().unwrap().push((event, ok));
    if ok {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// A receiver on a loopback port; returns its URL and what it got.
async fn receiver() -> (String, Inbox) {
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

fn types(inbox: &Inbox) -> Vec<String> {
    inbox
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|(e, ok)| {
            assert!(ok, "every delivery verifies: {e}");
            e["type"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn subscriptions_receive_signed_events_for_their_types_only() {
    let t = TestApp::new().await;
    let (url, inbox) = receiver().await;
    *inbox.now.lock().unwrap() = t.clock.now_utc().timestamp();
    let (status, body) = t
        .post(
            "/v1/subscriptions",
            BOOTSTRAP,
            json!({ "url": url, "secret": SECRET,
                    "eventTypes": ["activation.requested", "request.approved", "access.activated"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let approver = t.person("approver").await;
    t.set_rule(
        ROLE,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [
            { "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver.id }] }] } }),
    )
    .await;
    let p = t.person("requester").await;
    t.make_eligible(p.id, ROLE).await;
    t.step_up(&p).await;
    let (status, request) = t
        .activate(
            &p,
            ROLE,
            "PT1H",
            json!({ "ticketInfo": { "ticketNumber": "CHG-42", "ticketSystem": "ServiceNow" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["status"], "PendingApproval");
    *inbox.now.lock().unwrap() = t.clock.now_utc().timestamp();
    crate::provisioning::deliver(&t).await;
    // eligibility.granted was not subscribed to.
    assert_eq!(types(&inbox), vec!["activation.requested"]);
    let (first, _) = inbox.events.lock().unwrap()[0].clone();
    assert_eq!(first["data"]["principal"]["displayName"], "requester");
    assert_eq!(
        first["data"]["target"]["displayName"],
        "Exchange Administrator"
    );
    assert_eq!(first["data"]["ticketNumber"], "CHG-42");
    assert_eq!(first["data"]["stage"]["number"], 1);
    let text = first["text"].as_str().unwrap();
    assert!(
        text.contains("requester") && text.contains("CHG-42"),
        "{text}"
    );

    let approval = request["approvalId"].as_str().unwrap();
    let (_, approval_body) = t
        .get(
            &format!("/v1/roleManagement/directory/roleAssignmentApprovals/{approval}"),
            &approver.token,
        )
        .await;
    let step = approval_body["steps"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = t
        .patch(
            &format!(
                "/v1/roleManagement/directory/roleAssignmentApprovals/{approval}/steps/{step}"
            ),
            &approver.token,
            json!({ "reviewResult": "Approve", "justification": "go ahead" }),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    *inbox.now.lock().unwrap() = t.clock.now_utc().timestamp();
    crate::provisioning::deliver(&t).await;
    let mut got = types(&inbox);
    got.sort();
    assert_eq!(
        got,
        vec![
            "access.activated",
            "activation.requested",
            "request.approved"
        ]
    );
    let approved = inbox
        .events
        .lock()
        .unwrap()
        .iter()
        .find(|(e, _)| e["type"] == "request.approved")
        .cloned()
        .unwrap()
        .0;
    assert_eq!(approved["data"]["reviewerJustification"], "go ahead");
    assert_eq!(approved["data"]["actor"]["displayName"], "approver");
}

#[tokio::test]
async fn a_receiver_that_refuses_is_retried_and_an_unsubscribed_one_is_left_alone() {
    let t = TestApp::new().await;
    let (url, inbox) = receiver().await;
    // The receiver's clock is far off: it refuses every signature (401) until corrected.
    *inbox.now.lock().unwrap() = 0;
    let (_, sub) = t
        .post(
            "/v1/subscriptions",
            BOOTSTRAP,
            json!({ "url": url, "secret": SECRET, "eventTypes": ["*"] }),
        )
        .await;
    let p = t.user("someone").await;
    t.make_eligible(p, ROLE).await;
    let done = crate::provisioning::deliver(&t).await;
    assert_eq!(done.retried, 1, "{done:?}");
    let pending = crate::provisioning::jobs(&t, "pending").await;
    assert!(
        pending[0]["lastError"].as_str().unwrap().contains("401"),
        "{pending:?}"
    );
    // Fixed: the retry is delivered once due.
    t.clock.advance(TimeDelta::minutes(1));
    *inbox.now.lock().unwrap() = t.clock.now_utc().timestamp();
    let done = crate::provisioning::deliver(&t).await;
    assert_eq!(done.delivered, 1, "{done:?}");
    let last = inbox.events.lock().unwrap().last().cloned().unwrap();
    assert!(last.1);
    assert_eq!(last.0["type"], "eligibility.granted");

    // Unsubscribed: the next notice is not sent anywhere.
    let (status, _) = t
        .delete(&format!("/v1/subscriptions/{}", id_of(&sub)), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let before = inbox.events.lock().unwrap().len();
    let q = t.user("another").await;
    t.make_eligible(q, ROLE).await;
    crate::provisioning::deliver(&t).await;
    assert_eq!(inbox.events.lock().unwrap().len(), before);
}

/// Every mail maildev holds, waiting (briefly) until there are at least `n`.
async fn mails(api: &str, n: usize) -> Vec<Value> {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let got: Vec<Value> = client
            .get(format!("{api}/email"))
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

fn to_of(mail: &Value) -> String {
    mail["to"][0]["address"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn an_approver_is_mailed_a_link_that_approves_and_the_rules_pick_the_recipients() {
    let Some(maildev) = eligo_testkit::maildev::maildev().await else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let t = TestApp::configured(|c| {
        c.smtp_url = Some(eligo::config::Secret::new(maildev.smtp_url()));
        c.mail_from = "eligo@contoso.example".into();
        c.public_url = "https://eligo.contoso.example".into();
    })
    .await;
    let approver = t.person("approver").await;
    t.set_rule(
        ROLE,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [
            { "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver.id }] }] } }),
    )
    .await;
    // Admins: only the security team's address; the requester: no mail at all.
    t.set_rule(
        ROLE,
        "Notification_Admin_EndUser_Assignment",
        json!({ "notificationType": "Email", "recipientType": "Admin", "notificationLevel": "All",
                "isDefaultRecipientsEnabled": false, "notificationRecipients": ["soc@contoso.example"] }),
    )
    .await;
    t.set_rule(
        ROLE,
        "Notification_Requestor_EndUser_Assignment",
        json!({ "notificationType": "Email", "recipientType": "Requestor", "notificationLevel": "None",
                "isDefaultRecipientsEnabled": true, "notificationRecipients": [] }),
    )
    .await;
    let p = t.person("requester").await;
    t.make_eligible(p.id, ROLE).await;
    t.step_up(&p).await;
    let (status, request) = t.activate(&p, ROLE, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    crate::provisioning::deliver(&t).await;

    let got = mails(&maildev.api_url(), 1).await;
    let to_approver: Vec<&Value> = got
        .iter()
        .filter(|m| to_of(m) == "approver@contoso.example")
        .collect();
    assert_eq!(to_approver.len(), 1, "{got:?}");
    let mail = to_approver[0];
    assert_eq!(
        mail["subject"],
        "Eligo: requester requests Exchange Administrator: your approval is needed"
    );
    let text = mail["text"].as_str().unwrap();
    let link = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("https://eligo.contoso.example/approvals/decide?token="))
        .expect("an approve link");
    let token = link.split_once("token=").unwrap().1;

    // Following it without a session: the page asks to sign in, and nothing changes.
    let (status, _) = t
        .raw(
            axum::http::Request::get(format!("/approvals/decide?token={token}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Signed in as the approver (with a fresh second factor), the confirmation decides.
    let session = t.portal_session(approver.id).await;
    let cookie = format!("{}={session}", eligo::portal::cookies::session_name(&t.app));
    let csrf = eligo::portal::session::csrf_for(&t.app, &eligo::auth::token::digest(&session));
    let (status, _) = t
        .raw(
            axum::http::Request::post("/approvals/decide")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", cookie)
                .body(axum::body::Body::from(format!(
                    "token={token}&justification=ok&csrf={csrf}"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = t
        .get(
            &format!("{ASSIGNMENT_URL}/{}", request["id"].as_str().unwrap()),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(body["status"], "Provisioned", "{body}");

    crate::provisioning::deliver(&t).await;
    let got = mails(&maildev.api_url(), 2).await;
    let recipients: Vec<String> = got.iter().map(to_of).collect();
    assert!(
        recipients.contains(&"soc@contoso.example".to_string()),
        "{recipients:?}"
    );
    // The requester heard of the eligibility (another rule), never of the activation.
    let to_requester: Vec<&str> = got
        .iter()
        .filter(|m| to_of(m) == "requester@contoso.example")
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert!(
        to_requester.iter().all(|s| s.contains("eligible")),
        "the requester's activation rule is None: {to_requester:?}"
    );
    let soc = got
        .iter()
        .find(|m| to_of(m) == "soc@contoso.example")
        .unwrap();
    assert_eq!(
        soc["subject"],
        "Eligo: requester activated Exchange Administrator"
    );
}

#[tokio::test]
async fn reminders_go_out_14_days_and_1_day_before_the_end_once_each_then_the_end() {
    let t = TestApp::new().await;
    let (url, inbox) = receiver().await;
    let (status, body) = t
        .post(
            "/v1/subscriptions",
            BOOTSTRAP,
            json!({ "url": url, "secret": SECRET, "eventTypes": ["access.expiring", "access.expired"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let p = t.user("holder").await;
    t.make_eligible(p, ROLE).await; // P30D
    let remind = |t: &TestApp| {
        let now = t.clock.now_utc();
        let app = t.app.clone();
        async move {
            eligo::service::pim::scheduler::remind_expiring(&app, now)
                .await
                .unwrap()
        }
    };
    // Not yet within 14 days of the end.
    assert_eq!(remind(&t).await, 0);
    t.clock.advance(TimeDelta::days(16) + TimeDelta::minutes(1));
    assert_eq!(remind(&t).await, 1);
    *inbox.now.lock().unwrap() = t.clock.now_utc().timestamp();
    crate::provisioning::deliver(&t).await;
    // Looking again (every ten minutes in `eligo serve`) sends nothing new.
    t.clock.advance(TimeDelta::hours(1));
    remind(&t).await;
    assert_eq!(crate::provisioning::deliver(&t).await, Default::default());
    assert_eq!(types(&inbox), vec!["access.expiring"]);
    let first = inbox.events.lock().unwrap()[0].0.clone();
    assert_eq!(first["data"]["daysLeft"], 14);
    assert_eq!(first["data"]["assignment"], "eligible");

    t.clock.advance(TimeDelta::days(13));
    remind(&t).await;
    *inbox.now.lock().unwrap() = t.clock.now_utc().timestamp();
    crate::provisioning::deliver(&t).await;
    let last = inbox.events.lock().unwrap().last().unwrap().0.clone();
    assert_eq!(last["data"]["daysLeft"], 1, "{last}");

    // The end: the scheduler expires it and says so.
    t.tick(TimeDelta::days(1)).await;
    *inbox.now.lock().unwrap() = t.clock.now_utc().timestamp();
    crate::provisioning::deliver(&t).await;
    assert_eq!(
        types(&inbox),
        vec!["access.expiring", "access.expiring", "access.expired"]
    );
}

/// Subscribing sends events outside Eligo: a caller without the permission, or an administrator
/// whose second factor is stale, is refused, nothing changes, and the refusal is on the record
/// once, as a failure.
#[tokio::test]
async fn refused_subscription_changes_change_nothing_and_are_audited() {
    let t = TestApp::new().await;
    let subscription =
        json!({ "url": "https://hooks.example/x", "eventTypes": ["*"], "secret": SECRET });
    let olivia = t.user("olivia").await;
    let plain = t.sign_in("olivia").await;
    let before = t.recorded_changes().await;
    let (status, body) = t
        .post("/v1/subscriptions", &plain, subscription.clone())
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "Authorization_RequestDenied"),
        "{body}"
    );
    let (_, all) = t.get("/v1/subscriptions", BOOTSTRAP).await;
    assert_eq!(all["value"], json!([]));
    assert_eq!(t.recorded_changes().await, before);
    t.assert_one_refusal(
        "Add webhook subscription",
        "Authorization_RequestDenied",
        olivia,
    )
    .await;

    // Unsubscribing needs a fresh second factor too.
    let (status, kept) = t
        .post("/v1/subscriptions", BOOTSTRAP, subscription.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    let (ga_id, ga) = t.admin("gail", ids::GLOBAL_ADMINISTRATOR).await;
    t.clock.advance(TimeDelta::minutes(11));
    let before = t.recorded_changes().await;
    let (status, body) = t
        .delete(&format!("/v1/subscriptions/{}", id_of(&kept)), &ga)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "MfaRequired"),
        "{body}"
    );
    let (status, _) = t
        .get(&format!("/v1/subscriptions/{}", id_of(&kept)), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK, "still subscribed");
    assert_eq!(t.recorded_changes().await, before);
    t.assert_one_refusal("Delete webhook subscription", "MfaRequired", ga_id)
        .await;
}
