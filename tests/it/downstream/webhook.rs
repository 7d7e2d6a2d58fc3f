//! Signed webhooks against a real receiver: an axum server on a loopback port that verifies
//! every request with `signing::verify`, as a receiver following the documented algorithm
//! would, and records what it got.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use eligo::clock::{Clock, SystemClock};
use eligo::connectors::webhook::{
    SECRET_FIELDS, WebhookConnector, WebhookSettings, validate_target,
};
use eligo::connectors::{ConnectorError, Downstream, MemberIdentity};
use eligo::notify::event::{Notice, NoticeKind, NoticeTarget, Party};
use eligo::notify::signing::{self, REPLAY_WINDOW_SECS, SignatureError};
use eligo::notify::webhooks::{
    DeliveryError, WebhookClient, WebhookEvent, event_body, validate_subscription,
};
use serde_json::{Value, json};
use uuid::Uuid;

const SECRET: &str = "receiver-shared-secret-0123456789";

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    event_id: Option<String>,
    timestamp: Option<String>,
    signature: Option<String>,
    content_type: Option<String>,
    body: Bytes,
    verdict: Result<(), SignatureError>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

#[derive(Clone)]
struct Receiver {
    secret: Arc<Vec<u8>>,
    got: Arc<Mutex<Vec<Received>>>,
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn now_secs() -> i64 {
    SystemClock.now().timestamp()
}

impl Receiver {
    /// Verifies and records; answers 204 when the signature holds, 401 when it does not.
    fn take(&self, headers: &HeaderMap, body: Bytes) -> StatusCode {
        let signature = header_str(headers, "eligo-signature");
        let verdict = match &signature {
            Some(s) => signing::verify(&self.secret, s, &body, now_secs(), REPLAY_WINDOW_SECS),
            None => Err(SignatureError::Malformed),
        };
        let ok = verdict.is_ok();
        self.got.lock().unwrap().push(Received {
            event_id: header_str(headers, "eligo-event-id"),
            timestamp: header_str(headers, "eligo-timestamp"),
            signature,
            content_type: header_str(headers, header::CONTENT_TYPE.as_str()),
            body,
            verdict,
        });
        if ok {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::UNAUTHORIZED
        }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.take(&headers, body)
}

/// Records, then answers with the status in the path (whatever the signature).
async fn status(
    State(r): State<Receiver>,
    Path(code): Path<u16>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    r.take(&headers, body);
    (
        StatusCode::from_u16(code).unwrap(),
        format!("answered {code}\nby the test receiver"),
    )
}

async fn slow(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    tokio::time::sleep(Duration::from_secs(3)).await;
    r.take(&headers, body)
}

async fn redirect() -> impl IntoResponse {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, "/hook")],
    )
}

/// Starts a receiver on 127.0.0.1 with `secret`; returns it and its base URL.
async fn receiver(secret: &str) -> (Receiver, String) {
    let state = Receiver {
        secret: Arc::new(secret.as_bytes().to_vec()),
        got: Arc::default(),
    };
    let app = Router::new()
        .route("/hook", post(hook))
        .route("/status/{code}", post(status))
        .route("/slow", post(slow))
        .route("/redirect", post(redirect))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (state, format!("http://{addr}"))
}

/// A loopback URL nobody listens on.
async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/hook")
}

fn notice() -> Notice {
    Notice {
        id: Uuid::new_v4(),
        kind: NoticeKind::ActivationRequested,
        occurred_at: Utc.with_ymd_and_hms(2025, 3, 1, 8, 30, 0).unwrap(),
        principal: Party {
            id: Uuid::new_v4(),
            display_name: "Alice Example".into(),
            user_principal_name: Some("alice@example.com".into()),
        },
        actor: None,
        target: NoticeTarget {
            kind: "role".into(),
            id: Uuid::new_v4(),
            display_name: "Exchange Administrator".into(),
            directory_scope_id: Some("/".into()),
            access_id: None,
        },
        assignment: "active".into(),
        request_id: Some(Uuid::new_v4()),
        justification: Some("Mail flow is broken".into()),
        ticket_number: Some("INC-4711".into()),
        ticket_system: Some("ServiceNow".into()),
        start: None,
        end: None,
        stage: None,
        days_left: None,
        reviewer_justification: None,
    }
}

fn now() -> DateTime<Utc> {
    SystemClock.now()
}

fn assert_no_secret(message: &str) {
    assert!(!message.contains(SECRET), "{message}");
    assert!(!message.contains("the-wrong-secret"), "{message}");
}

#[tokio::test]
async fn an_event_is_delivered_signed_and_verifies() {
    let (rx, base) = receiver(SECRET).await;
    let n = notice();
    let body = event_body(&n, "https://eligo.example");
    WebhookClient::new()
        .with_outbound(crate::harness::loopback())
        .post_signed(
            &format!("{base}/hook"),
            SECRET.as_bytes(),
            n.id,
            &body,
            now(),
        )
        .await
        .unwrap();

    let got = rx.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.verdict, Ok(()));
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.event_id.as_deref(), Some(n.id.to_string().as_str()));
    let t = r.timestamp.clone().unwrap();
    assert!(
        r.signature
            .as_deref()
            .unwrap()
            .starts_with(&format!("t={t},v1="))
    );
    let json = r.json();
    assert_eq!(json, body);
    assert_eq!(json["id"], n.id.to_string());
    assert_eq!(json["type"], "activation.requested");
    assert_eq!(json["occurredAt"], "2025-03-01T08:30:00Z");
    let text = json["text"].as_str().unwrap();
    assert!(
        text.starts_with("Alice Example requests Exchange Administrator: your approval is needed"),
        "{text}"
    );
    assert!(
        text.contains("justification: Mail flow is broken"),
        "{text}"
    );
    assert!(text.contains("ticket: ServiceNow INC-4711"), "{text}");
    assert!(
        text.ends_with(&format!(
            "<https://eligo.example/v1/roleManagement/directory/roleAssignmentApprovals/{}|open in Eligo>",
            n.request_id.unwrap()
        )),
        "{text}"
    );
    let event: WebhookEvent = serde_json::from_value(json).unwrap();
    assert_eq!(event.data, n);
}

#[tokio::test]
async fn the_receiver_detects_a_wrong_secret() {
    let (rx, base) = receiver(SECRET).await;
    let n = notice();
    let err = WebhookClient::new()
        .with_outbound(crate::harness::loopback())
        .post_signed(
            &format!("{base}/hook"),
            b"the-wrong-secret",
            n.id,
            &event_body(&n, "http://e"),
            now(),
        )
        .await
        .unwrap_err();
    assert_eq!(rx.received()[0].verdict, Err(SignatureError::Mismatch));
    // The receiver answered 401: the receiver refuses.
    let DeliveryError::Refused(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("refuses"), "{message}");
    assert!(message.contains("401"), "{message}");
    assert_no_secret(message);
}

#[tokio::test]
async fn a_tampered_body_is_a_mismatch() {
    let (rx, base) = receiver(SECRET).await;
    let n = notice();
    WebhookClient::new()
        .with_outbound(crate::harness::loopback())
        .post_signed(
            &format!("{base}/hook"),
            SECRET.as_bytes(),
            n.id,
            &event_body(&n, "http://e"),
            now(),
        )
        .await
        .unwrap();
    let r = rx.received().remove(0);
    let signature = r.signature.unwrap();
    let tampered = String::from_utf8(r.body.to_vec())
        .unwrap()
        .replace("Exchange Administrator", "Global Administrator");
    assert_ne!(tampered.as_bytes(), &r.body[..]);
    assert_eq!(
        signing::verify(
            SECRET.as_bytes(),
            &signature,
            tampered.as_bytes(),
            now_secs(),
            REPLAY_WINDOW_SECS
        ),
        Err(SignatureError::Mismatch)
    );
    // Re-serialising the parsed body (key order, spacing) is not the raw body either; the
    // untouched raw body still verifies.
    assert_eq!(
        signing::verify(
            SECRET.as_bytes(),
            &signature,
            &r.body,
            now_secs(),
            REPLAY_WINDOW_SECS
        ),
        Ok(())
    );
}

#[tokio::test]
async fn an_old_timestamp_is_too_old() {
    let (rx, base) = receiver(SECRET).await;
    let n = notice();
    let err = WebhookClient::new()
        .with_outbound(crate::harness::loopback())
        .post_signed(
            &format!("{base}/hook"),
            SECRET.as_bytes(),
            n.id,
            &event_body(&n, "http://e"),
            now() - TimeDelta::minutes(10),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Refused(_)), "{err:?}");
    assert_eq!(rx.received()[0].verdict, Err(SignatureError::TooOld));

    // A genuine request replayed after the window is refused too.
    WebhookClient::new()
        .with_outbound(crate::harness::loopback())
        .post_signed(
            &format!("{base}/hook"),
            SECRET.as_bytes(),
            n.id,
            &event_body(&n, "http://e"),
            now(),
        )
        .await
        .unwrap();
    let r = rx.received().remove(1);
    assert_eq!(r.verdict, Ok(()));
    let later = now_secs() + REPLAY_WINDOW_SECS + 5;
    assert_eq!(
        signing::verify(
            SECRET.as_bytes(),
            r.signature.as_deref().unwrap(),
            &r.body,
            later,
            REPLAY_WINDOW_SECS
        ),
        Err(SignatureError::TooOld)
    );
}

#[tokio::test]
async fn answers_decide_between_retry_and_refusal() {
    let (rx, base) = receiver(SECRET).await;
    let client = WebhookClient::new().with_outbound(crate::harness::loopback());
    let n = notice();
    let body = event_body(&n, "http://e");
    for (code, retryable) in [
        (500, true),
        (502, true),
        (503, true),
        (408, true),
        (429, true),
        (400, false),
        (401, false),
        (403, false),
        (404, false),
        (410, false),
        (422, false),
    ] {
        let err = client
            .post_signed(
                &format!("{base}/status/{code}"),
                SECRET.as_bytes(),
                n.id,
                &body,
                now(),
            )
            .await
            .unwrap_err();
        match (&err, retryable) {
            (DeliveryError::Retryable(m), true) | (DeliveryError::Refused(m), false) => {
                assert!(m.contains(&code.to_string()), "{code}: {m}");
                assert!(
                    m.contains("answered"),
                    "the receiver's answer is quoted: {m}"
                );
                assert!(!m.contains('\n'), "{m}");
                assert_no_secret(m);
                if !retryable {
                    assert!(m.contains("refuses"), "{m}");
                }
            }
            _ => panic!("HTTP {code}: {err:?}"),
        }
    }
    // Every one of them was a properly signed request.
    let got = rx.received();
    assert_eq!(got.len(), 11);
    assert!(got.iter().all(|r| r.verdict.is_ok()));
    // 2xx other than 200/204 is fine too.
    client
        .post_signed(
            &format!("{base}/status/202"),
            SECRET.as_bytes(),
            n.id,
            &body,
            now(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_closed_port_is_retryable() {
    let url = closed_port_url().await;
    let err = WebhookClient::new()
        .with_outbound(crate::harness::loopback())
        .post_signed(&url, SECRET.as_bytes(), Uuid::new_v4(), &json!({}), now())
        .await
        .unwrap_err();
    let DeliveryError::Retryable(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("could not connect"), "{message}");
    assert!(!message.contains(&url), "no URL in errors: {message}");
}

#[tokio::test]
async fn a_slow_receiver_is_retryable() {
    let (rx, base) = receiver(SECRET).await;
    let err = WebhookClient::with_timeout(Duration::from_millis(300))
        .with_outbound(crate::harness::loopback())
        .post_signed(
            &format!("{base}/slow"),
            SECRET.as_bytes(),
            Uuid::new_v4(),
            &json!({"type": "ping"}),
            now(),
        )
        .await
        .unwrap_err();
    let DeliveryError::Retryable(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("did not answer within 0.3 s"), "{message}");
    assert!(rx.received().is_empty());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (rx, base) = receiver(SECRET).await;
    let err = WebhookClient::new()
        .with_outbound(crate::harness::loopback())
        .post_signed(
            &format!("{base}/redirect"),
            SECRET.as_bytes(),
            Uuid::new_v4(),
            &json!({"type": "ping"}),
            now(),
        )
        .await
        .unwrap_err();
    let DeliveryError::Refused(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("redirect"), "{message}");
    assert!(rx.received().is_empty(), "the redirect was followed");
}

fn settings(url: String, secret: &str) -> WebhookSettings {
    WebhookSettings::parse(&json!({"url": url, "secret": secret})).unwrap()
}

fn identity() -> MemberIdentity {
    MemberIdentity {
        principal_id: Uuid::new_v4(),
        user_principal_name: "bob@example.com".into(),
        mail: Some("bob@mail.example.com".into()),
        display_name: "Bob".into(),
    }
}

#[tokio::test]
async fn the_connector_adds_removes_and_probes_through_the_receiver() {
    let (rx, base) = receiver(SECRET).await;
    let connector = WebhookConnector::new(settings(format!("{base}/hook"), SECRET))
        .with_outbound(crate::harness::loopback());

    let member = connector.resolve(&identity()).await.unwrap().unwrap();
    assert_eq!(member, "bob@example.com");
    assert_eq!(connector.members("Tier 0").await.unwrap(), None);

    connector.probe().await.unwrap();
    connector.add("Tier 0 Operators", &member).await.unwrap();
    // Idempotent from Eligo's side: the same add again is simply sent again.
    connector.add("Tier 0 Operators", &member).await.unwrap();
    connector.remove("Tier 0 Operators", &member).await.unwrap();

    let got = rx.received();
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|r| r.verdict.is_ok()), "{got:?}");
    let bodies: Vec<Value> = got.iter().map(Received::json).collect();
    assert_eq!(bodies[0]["type"], "ping");
    for (body, kind) in
        bodies[1..]
            .iter()
            .zip(["membership.added", "membership.added", "membership.removed"])
    {
        assert_eq!(body["type"], kind);
        assert_eq!(body["target"], "Tier 0 Operators");
        assert_eq!(body["member"], "bob@example.com");
        let occurred: DateTime<Utc> = body["occurredAt"].as_str().unwrap().parse().unwrap();
        assert!((now() - occurred).num_seconds().abs() < 60);
        assert_eq!(body.as_object().unwrap().len(), 5, "{body}");
    }
    // Every request has its own id, repeated in the header.
    let mut ids = Vec::new();
    for (r, body) in got.iter().zip(&bodies) {
        let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(r.event_id.as_deref(), Some(id.to_string().as_str()));
        assert_eq!(id.get_version_num(), 4);
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
}

#[tokio::test]
async fn the_connector_maps_failures() {
    let (_rx, base) = receiver(SECRET).await;
    let at = |path: &str| {
        WebhookConnector::new(settings(format!("{base}{path}"), SECRET))
            .with_outbound(crate::harness::loopback())
    };

    for code in [401, 403] {
        let err = at(&format!("/status/{code}"))
            .add("g", &"bob@example.com".to_string())
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    }
    for code in [400, 404, 410] {
        let err = at(&format!("/status/{code}")).probe().await.unwrap_err();
        assert!(matches!(err, ConnectorError::Misconfigured(_)), "{err:?}");
    }
    for code in [429, 500, 503] {
        let err = at(&format!("/status/{code}"))
            .remove("g", &"bob@example.com".to_string())
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Unavailable(_)), "{err:?}");
    }
    // A receiver with another secret refuses the signature: Unauthorized.
    let wrong = WebhookConnector::new(settings(format!("{base}/hook"), "the-wrong-secret!"))
        .with_outbound(crate::harness::loopback());
    let err = wrong.probe().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    assert_no_secret(&err.to_string());
    // Nobody listening, or too slow: Unavailable.
    let closed = WebhookConnector::new(settings(closed_port_url().await, SECRET))
        .with_outbound(crate::harness::loopback());
    assert!(matches!(
        closed.probe().await.unwrap_err(),
        ConnectorError::Unavailable(_)
    ));
    let slow = at("/slow").with_timeout(Duration::from_millis(300));
    assert!(matches!(
        slow.probe().await.unwrap_err(),
        ConnectorError::Unavailable(_)
    ));
    // A bad target is refused before anything is sent.
    let err = at("/hook")
        .add("", &"bob@example.com".to_string())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Misconfigured(_)), "{err:?}");
}

#[test]
fn connector_settings_are_parsed_with_field_names() {
    let s = WebhookSettings::parse(&json!({
        "url": "https://hooks.example/eligo",
        "secret": "0123456789abcdef",
    }))
    .unwrap();
    assert_eq!(s.url, "https://hooks.example/eligo");
    assert_eq!(s.secret, "0123456789abcdef");
    assert_eq!(s.timeout_seconds, 10);
    let s = WebhookSettings::parse(&json!({
        "url": "http://127.0.0.1:9000/in",
        "secret": "x".repeat(256),
        "timeoutSeconds": 30,
    }))
    .unwrap();
    assert_eq!(s.timeout_seconds, 30);

    let fields = |v: Value| -> Vec<String> {
        let mut f: Vec<String> = WebhookSettings::parse(&v)
            .unwrap_err()
            .into_iter()
            .map(|e| {
                assert!(!e.message.is_empty());
                e.field
            })
            .collect();
        f.sort();
        f
    };
    assert_eq!(fields(json!({})), ["secret", "url"]);
    assert_eq!(fields(json!("https://x")), ["settings"]);
    assert_eq!(
        fields(json!({"url": "ftp://h/", "secret": "short", "timeoutSeconds": 0})),
        ["secret", "timeoutSeconds", "url"]
    );
    assert_eq!(
        fields(json!({"url": "https://u:p@h/", "secret": "x".repeat(257)})),
        ["secret", "url"]
    );
    assert_eq!(
        fields(json!({"url": 5, "secret": "0123456789abcdef", "timeoutSeconds": "10"})),
        ["timeoutSeconds", "url"]
    );
    assert_eq!(
        fields(json!({
            "url": "https://h/", "secret": "0123456789abcdef", "timeoutSeconds": 121,
            "bindPassword": "x"
        })),
        ["bindPassword", "timeoutSeconds"]
    );
    assert_eq!(SECRET_FIELDS, ["secret"]);
}

#[test]
fn debug_hides_the_secret() {
    let s = WebhookSettings::parse(&json!({
        "url": "https://hooks.example/eligo",
        "secret": "very-secret-signing-key",
    }))
    .unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains("very-secret-signing-key"), "{shown}");
    assert!(shown.contains("hooks.example"), "{shown}");
    let shown = format!("{:?}", WebhookConnector::new(s));
    assert!(!shown.contains("very-secret-signing-key"), "{shown}");
}

#[test]
fn targets_are_any_reasonable_name() {
    assert_eq!(validate_target("cn=Tier 0,ou=Groups"), Ok(()));
    assert_eq!(validate_target("ops-oncall"), Ok(()));
    assert!(validate_target("").is_err());
    assert!(validate_target(&"g".repeat(257)).is_err());
    assert!(validate_target("tab\there").is_err());
}

#[test]
fn subscriptions_are_validated() {
    let types = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let ok = "https://hooks.example/eligo";
    let secret = "0123456789abcdef";
    assert_eq!(validate_subscription(ok, &types(&["*"]), secret), Ok(()));
    assert_eq!(
        validate_subscription(
            ok,
            &types(&["activation.requested", "access.expired"]),
            secret
        ),
        Ok(())
    );
    let all: Vec<String> = NoticeKind::ALL
        .iter()
        .map(|k| k.as_str().to_string())
        .collect();
    assert_eq!(
        validate_subscription("http://10.0.0.1:8080/x?y=1", &all, &"s".repeat(256)),
        Ok(())
    );

    let fields = |url: &str, t: &[&str], secret: &str| -> Vec<String> {
        validate_subscription(url, &types(t), secret)
            .unwrap_err()
            .into_iter()
            .map(|(field, message)| {
                assert!(!message.is_empty());
                assert!(!message.contains(secret) || secret.is_empty());
                field
            })
            .collect()
    };
    assert_eq!(fields(ok, &[], secret), ["eventTypes"]);
    assert_eq!(fields(ok, &["role.exploded"], secret), ["eventTypes"]);
    assert_eq!(
        fields(ok, &["access.expired", "access.expired"], secret),
        ["eventTypes"]
    );
    assert_eq!(fields(ok, &["*", "access.expired"], secret), ["eventTypes"]);
    assert_eq!(fields(ok, &["*"], "too-short"), ["secret"]);
    assert_eq!(fields(ok, &["*"], &"s".repeat(257)), ["secret"]);
    for url in [
        "",
        "/hooks",
        "hooks.example/eligo",
        "mailto:a@b.example",
        "https://user:pw@hooks.example/",
        "https://hooks.example/#x",
    ] {
        assert_eq!(fields(url, &["*"], secret), ["url"], "{url}");
    }
    // Every problem at once.
    assert_eq!(
        fields("nope", &["nope"], "short"),
        ["url", "eventTypes", "secret"]
    );
}
