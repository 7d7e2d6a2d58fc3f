//! Break-glass is loud (issue 14): a use of the emergency-access account's credential is mailed
//! to every Global Administrator (real SMTP, read back from maildev) and sent to `breakglass.used`
//! subscribers (signed, verified by a receiver on loopback), once per session and quiet period,
//! and every request stays audited with its address.

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

pub const SECRET: &str = "subscriber-secret-0123456789";

/// What a receiver got: each event, whether its signature verified, its `Eligo-Event-Id`.
#[derive(Clone, Default)]
pub struct Inbox {
    pub events: Arc<Mutex<Vec<(Value, bool, String)>>>,
    /// The receiver's clock (the app's mock clock, in Unix seconds).
    pub now: Arc<Mutex<i64>>,
    /// `Some(n)`: accept `n` more events, then answer 503 to every one (a receiver that goes
    /// down); `None`: accept all.
    pub budget: Arc<Mutex<Option<usize>>>,
}

impl Inbox {
    pub fn take(&self) -> Vec<Value> {
        let got: Vec<(Value, bool, String)> = std::mem::take(&mut *self.events.lock().unwrap());
        got.into_iter()
            .map(|(e, ok, id)| {
                assert!(ok, "every delivery verifies: {e}");
                assert_eq!(
                    e["id"].as_str(),
                    Some(id.as_str()),
                    "the header names the event"
                );
                e
            })
            .collect()
    }

    pub fn set_clock(&self, t: &TestApp) {
        *self.now.lock().unwrap() = t.clock.now_utc().timestamp();
    }
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    {
        let mut budget = inbox.budget.lock().unwrap();
        match *budget {
            Some(0) => return StatusCode::SERVICE_UNAVAILABLE,
            Some(n) => *budget = Some(n - 1),
            None => {}
        }
    }
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
    let id = headers
        .get("eligo-event-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inbox.events.lock().unwrap().push((event, ok, id));
    if ok {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// A receiver on a loopback port; returns its URL and what it gets.
pub async fn receiver(t: &TestApp) -> (String, Inbox) {
    let inbox = Inbox::default();
    inbox.set_clock(t);
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

/// Subscribes `url` to `types` as `token`; answers the status and body.
pub async fn subscribe(t: &TestApp, token: &str, url: &str, types: &[&str]) -> (StatusCode, Value) {
    t.post(
        "/v1/subscriptions",
        token,
        json!({ "url": url, "secret": SECRET, "eventTypes": types }),
    )
    .await
}

pub async fn deliver(t: &TestApp) -> eligo::outbox::worker::Delivered {
    eligo::outbox::worker::run_due(&t.app)
        .await
        .expect("outbox pass")
}

/// Every mail maildev holds, waiting (briefly) until there are at least `n`.
async fn mails(api: &str, n: usize) -> Vec<Value> {
    let client = reqwest::Client::new();
    for _ in 0..200 {
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

async fn jobs_of_kind(t: &TestApp, kind: &str) -> usize {
    let (status, body) = t.get("/v1/outbox?$top=999", BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == kind)
        .count()
}

#[tokio::test]
async fn a_break_glass_session_is_mailed_to_every_global_administrator_and_sent_to_subscribers() {
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
    // Global Administrators: one holding it, one eligible (the usual PIM shape); and someone
    // who is not one. Setting them up uses the token: its first use is announced (to nobody
    // yet but the audit trail).
    let active = t.admin_person("ga-active", ids::GLOBAL_ADMINISTRATOR).await;
    let eligible = t.user("ga-eligible").await;
    t.make_eligible(eligible, ids::GLOBAL_ADMINISTRATOR).await;
    t.user("helpdesk").await;
    let (url, inbox) = receiver(&t).await;
    let (status, body) = subscribe(&t, BOOTSTRAP, &url, &["breakglass.used"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    deliver(&t).await;
    reqwest::Client::new()
        .delete(format!("{}/email/all", maildev.api_url()))
        .send()
        .await
        .unwrap();
    inbox.take();
    let first = t.audited_as("Break-glass token used").await;
    let announced: Vec<&Value> = first.iter().filter(|e| has_detail(e, "noticeId")).collect();
    assert_eq!(
        announced.len(),
        1,
        "the session's first use was announced: {first:?}"
    );

    // A burst inside the quiet period: every request audited, none announced again.
    for _ in 0..5 {
        let (status, _) = t.get("/v1/users", BOOTSTRAP).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(deliver(&t).await.delivered, 0);
    assert!(inbox.take().is_empty());
    assert_eq!(jobs_of_kind(&t, "mail.breakglass").await, 0);
    let burst = t.audited_as("Break-glass token used").await;
    assert!(burst.len() >= first.len() + 5, "each request is audited");

    // An hour later the session is still in use: announced again, to both administrators.
    t.clock.advance(TimeDelta::hours(1));
    inbox.set_clock(&t);
    let (status, _) = t.get("/v1/me", BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK);
    let done = deliver(&t).await;
    assert_eq!(done.delivered, 3, "two mails and one event: {done:?}");
    let got = mails(&maildev.api_url(), 2).await;
    let mut recipients: Vec<String> = got.iter().map(to_of).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        vec!["ga-active@contoso.example", "ga-eligible@contoso.example"],
        "every Global Administrator, active or eligible; never the account itself nor others"
    );
    for mail in &got {
        assert_eq!(
            mail["subject"],
            "Eligo: The break-glass account breakglass@eligo.local was used"
        );
        let text = mail["text"].as_str().unwrap();
        assert!(text.contains("Request: GET /v1/me"), "{text}");
        assert!(text.contains("Credential: the break-glass token"), "{text}");
    }
    let events = inbox.take();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["type"], "breakglass.used");
    assert_eq!(
        event["data"]["account"]["userPrincipalName"],
        "breakglass@eligo.local"
    );
    assert_eq!(event["data"]["credential"], "bootstrapToken");
    assert_eq!(event["data"]["request"], "GET /v1/me");
    // The audit entry of that request names the notice.
    let last = t.audited_as("Break-glass token used").await;
    let noticed = last
        .iter()
        .find(|e| detail(e, "noticeId").as_deref() == event["id"].as_str())
        .expect("the announcing request's entry names the notice");
    assert_eq!(detail(noticed, "path").as_deref(), Some("/v1/me"));
    assert_eq!(
        detail(noticed, "announced").as_deref(),
        Some("2 mail(s), 1 event(s)")
    );
    let _ = active;
}

#[tokio::test]
async fn signing_in_to_the_break_glass_account_is_announced_and_a_loop_of_sign_ins_is_no_mail_bomb()
{
    let t = TestApp::new().await;
    let (url, inbox) = receiver(&t).await;
    // `*` includes breakglass.used.
    let (status, body) = subscribe(&t, BOOTSTRAP, &url, &["*"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Someone gave the emergency-access account a password.
    let (_, found) = t
        .get(
            "/v1/users?$filter=userPrincipalName eq 'breakglass@eligo.local'",
            BOOTSTRAP,
        )
        .await;
    let id = found["value"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = t
        .patch(
            &format!("/v1/users/{id}"),
            BOOTSTRAP,
            json!({ "passwordProfile": { "password": PASSWORD } }),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    deliver(&t).await;
    inbox.take();
    t.clock.advance(TimeDelta::minutes(1));
    inbox.set_clock(&t);
    let sign_in = || async {
        t.call(
            axum::http::Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "username": "breakglass@eligo.local", "password": PASSWORD })),
        )
        .await
    };
    for _ in 0..3 {
        let (status, body) = sign_in().await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    deliver(&t).await;
    let events = inbox.take();
    let breakglass: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "breakglass.used")
        .collect();
    assert_eq!(
        breakglass.len(),
        1,
        "three sign-ins, one notice: {events:?}"
    );
    assert_eq!(breakglass[0]["data"]["credential"], "signIn");
    let signed_in = t.audited_as("User signed in").await;
    let of_account: Vec<&Value> = signed_in
        .iter()
        .filter(|e| e["initiatedBy"]["user"]["userPrincipalName"] == "breakglass@eligo.local")
        .collect();
    assert_eq!(of_account.len(), 3, "every sign-in is audited");
    assert_eq!(
        of_account
            .iter()
            .filter(|e| has_detail(e, "noticeId"))
            .count(),
        1
    );
    // After the quiet period a sign-in is announced again.
    t.clock.advance(TimeDelta::hours(1));
    inbox.set_clock(&t);
    let (status, _) = sign_in().await;
    assert_eq!(status, StatusCode::OK);
    deliver(&t).await;
    assert_eq!(
        inbox
            .take()
            .iter()
            .filter(|e| e["type"] == "breakglass.used")
            .count(),
        1
    );
}

pub fn detail(entry: &Value, key: &str) -> Option<String> {
    entry["additionalDetails"]
        .as_array()?
        .iter()
        .find(|d| d["key"] == key)
        .and_then(|d| d["value"].as_str())
        .map(String::from)
}

pub fn has_detail(entry: &Value, key: &str) -> bool {
    detail(entry, key).is_some()
}

/// Someone holding the token tries to silence the alarm with their first request: deleting the
/// subscription that would tell. The announcement was written before the request ran — the mail
/// to the Global Administrator is queued with its address — and the event that can no longer
/// be delivered lands in the dead letter, by name.
#[tokio::test]
async fn the_token_holder_cannot_silence_the_announcement_with_its_first_request() {
    let t = TestApp::configured(|c| {
        // Mail is configured (a relay that is down: the job still exists).
        c.smtp_url = Some(eligo::config::Secret::new("smtp://127.0.0.1:9"));
    })
    .await;
    t.admin_person("ga", ids::GLOBAL_ADMINISTRATOR).await;
    let (url, inbox) = receiver(&t).await;
    let (status, sub) = subscribe(&t, BOOTSTRAP, &url, &["breakglass.used"]).await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    deliver(&t).await;
    inbox.take();
    let mails_before = jobs_of_kind(&t, "mail.breakglass").await;

    t.clock.advance(TimeDelta::hours(2));
    inbox.set_clock(&t);
    let (status, _) = t
        .delete(&format!("/v1/subscriptions/{}", id_of(&sub)), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    deliver(&t).await;
    assert!(inbox.take().is_empty());
    assert_eq!(
        jobs_of_kind(&t, "mail.breakglass").await,
        mails_before + 1,
        "the Global Administrator's mail was queued before the request ran"
    );
    let (_, failed) = t.get("/v1/outbox?status=failed", BOOTSTRAP).await;
    let dead: Vec<&Value> = failed["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "event")
        .collect();
    assert_eq!(dead.len(), 1, "{failed}");
    assert!(
        dead[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("was deleted before this breakglass.used event was delivered"),
        "{}",
        dead[0]
    );
    let entries = t.audited_as("Break-glass token used").await;
    assert!(
        entries.iter().any(|e| detail(e, "path")
            .is_some_and(|p| p.starts_with("/v1/subscriptions/"))
            && has_detail(e, "noticeId")),
        "the deleting request is the one announced"
    );
}
