//! The outbox in the real server on the real clock: a notice for a webhook that is down when
//! committed, a kill -9, the webhook coming up, a restart: the event arrives, signed. Nothing
//! acknowledged is lost between the commit and the delivery.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use eligo::clock::{Clock, SystemClock};
use eligo::notify::signing;
use eligo_core::roles::ids;
use serde_json::{Value, json};

use super::support::*;
use crate::harness::{BOOTSTRAP, PASSWORD, temp_dir};

const SECRET: &str = "process-test-secret-0123456789";
const DEADLINE: Duration = Duration::from_secs(30);

type Got = Arc<Mutex<Vec<Value>>>;

async fn receive(State(got): State<Got>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signed = headers
        .get("eligo-signature")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sig| {
            let now = SystemClock.now().timestamp();
            signing::verify(SECRET.as_bytes(), sig, &body, now, 300).is_ok()
        });
    if !signed {
        return StatusCode::UNAUTHORIZED;
    }
    got.lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    StatusCode::NO_CONTENT
}

#[tokio::test]
async fn a_job_committed_before_a_kill_9_is_delivered_after_the_restart() {
    let dir = temp_dir("outbox-crash");
    let spec = Spec::sqlite(&dir);
    let server = Server::start(&spec).await;
    let api = server.client();
    let port = eligo_testkit::free_port();
    let (status, body) = api
        .post(
            "/v1/subscriptions",
            BOOTSTRAP,
            json!({ "url": format!("http://127.0.0.1:{port}/hook"), "secret": SECRET,
                    "eventTypes": ["eligibility.granted"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, user) = api
        .post(
            "/v1/users",
            BOOTSTRAP,
            json!({ "userPrincipalName": "nia@contoso.example", "displayName": "Nia", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let (status, body) = api
        .post(
            "/v1/roleManagement/directory/roleEligibilityScheduleRequests",
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": user["id"],
                    "roleDefinitionId": ids::HELPDESK_ADMINISTRATOR, "directoryScopeId": "/",
                    "justification": "on call",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P1D" } } }),
        )
        .await;
    // Acknowledged while nothing listens at the webhook's address.
    assert_eq!(status, 201, "{body}");
    server.kill9().await;

    let got: Got = Arc::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the webhook's port is free");
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let server = Server::start(&spec).await;
    let mut waited = Duration::ZERO;
    while got.lock().unwrap().is_empty() && waited < DEADLINE {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    let events = got.lock().unwrap().clone();
    assert_eq!(
        events.len(),
        1,
        "delivered once after the restart: {events:?}"
    );
    assert_eq!(events[0]["type"], "eligibility.granted");
    assert_eq!(events[0]["data"]["principal"]["displayName"], "Nia");
    let (_, delivered) = server
        .client()
        .get("/v1/outbox?status=delivered", BOOTSTRAP)
        .await;
    assert_eq!(
        delivered["value"].as_array().unwrap().len(),
        1,
        "{delivered}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
