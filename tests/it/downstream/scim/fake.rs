//! Answers a real SCIM server does not give (200 with a body, 5xx, garbage, refusals), from a
//! small axum server on loopback that also records what it was asked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use eligo::connectors::{ConnectorError, Downstream};
use serde_json::json;

use super::{connector, identity};

/// One request as the fake saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    content_type: String,
    accept: String,
    authorization: String,
    body: String,
}

type Answer = dyn Fn(&Seen) -> (u16, String) + Send + Sync;

struct Fake {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A server answering every request with `answer(request)`; `delay` before each answer.
async fn fake(answer: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Fake {
    fake_slow(Duration::ZERO, answer).await
}

async fn fake_slow(
    delay: Duration,
    answer: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static,
) -> Fake {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let answer: Arc<Answer> = Arc::new(answer);
    let log = seen.clone();
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (answer, log) = (answer.clone(), log.clone());
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                let request = Seen {
                    method,
                    path: uri
                        .path_and_query()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    content_type: header("content-type"),
                    accept: header("accept"),
                    authorization: header("authorization"),
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                log.lock().unwrap().push(request.clone());
                tokio::time::sleep(delay).await;
                let (status, body) = answer(&request);
                let status = StatusCode::from_u16(status).unwrap();
                let mut response: Response = (status, body).into_response();
                response
                    .headers_mut()
                    .insert("content-type", "application/scim+json".parse().unwrap());
                response
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Fake {
        base: format!("http://{addr}/scim/v2"),
        seen,
    }
}

const GROUP_ID: &str = "g-1";

/// A group `g-1` that PATCH answers with `patch`.
fn group_server(patch: (u16, &'static str)) -> impl Fn(&Seen) -> (u16, String) + Send + Sync {
    move |req: &Seen| match (req.method.as_str(), req.path.split('?').next().unwrap()) {
        ("GET", "/scim/v2/Groups/g-1") => (200, json!({ "id": GROUP_ID }).to_string()),
        ("PATCH", "/scim/v2/Groups/g-1") => (patch.0, patch.1.to_string()),
        _ => (404, json!({ "status": "404", "detail": "no" }).to_string()),
    }
}

#[tokio::test]
async fn patch_answered_200_with_a_body_or_204_without_is_done() {
    let with_body = r#"{"id":"g-1","displayName":"g","members":[{"value":"u-1"}]}"#;
    for answer in [(200, with_body), (204, "")] {
        let server = fake(group_server(answer)).await;
        let scim = connector(&server.base, "tok", json!({}));
        scim.add(GROUP_ID, &"u-1".to_string()).await.expect("add");
        scim.remove(GROUP_ID, &"u-1".to_string())
            .await
            .expect("remove");

        let seen = server.seen();
        let patches: Vec<_> = seen.iter().filter(|s| s.method == Method::PATCH).collect();
        assert_eq!(patches.len(), 2, "{seen:#?}");
        for patch in &patches {
            assert_eq!(patch.content_type, "application/scim+json");
            assert!(patch.accept.contains("application/scim+json"));
            assert_eq!(patch.authorization, "Bearer tok");
        }
        let add: serde_json::Value = serde_json::from_str(&patches[0].body).unwrap();
        assert_eq!(
            add,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "add", "path": "members", "value": [{ "value": "u-1" }] }]
            })
        );
        let remove: serde_json::Value = serde_json::from_str(&patches[1].body).unwrap();
        assert_eq!(
            remove["Operations"],
            json!([{ "op": "remove", "path": "members[value eq \"u-1\"]" }])
        );
        // The group id was looked up once, then remembered.
        let gets = seen.iter().filter(|s| s.method == Method::GET).count();
        assert_eq!(gets, 1, "{seen:#?}");
    }
}

#[tokio::test]
async fn server_errors_and_garbage_are_unavailable() {
    let cases: [(u16, &'static str); 4] = [
        (500, r#"{"status":"500","detail":"database down"}"#),
        (503, "<html>maintenance</html>"),
        (200, "this is not json"),
        (200, "[1, 2, 3]"),
    ];
    for (status, body) in cases {
        let server = fake(move |_: &Seen| (status, body.to_string())).await;
        let scim = connector(&server.base, "secret-token-123", json!({}));
        let results = [
            scim.probe().await,
            scim.resolve(&identity("alice", None)).await.map(|_| ()),
            scim.members("g-1").await.map(|_| ()),
        ];
        for result in results {
            match result {
                Err(ConnectorError::Unavailable(m)) => {
                    assert!(!m.contains("secret-token-123"), "{m}");
                }
                other => panic!("{status} {body:?}: expected Unavailable, got {other:?}"),
            }
        }
    }
    // A PATCH answered 500 too.
    let server = fake(group_server((500, "oops"))).await;
    let scim = connector(&server.base, "tok", json!({}));
    let result = scim.add(GROUP_ID, &"u-1".to_string()).await;
    assert!(
        matches!(&result, Err(ConnectorError::Unavailable(m)) if m.contains("500") && m.contains("oops")),
        "{result:?}"
    );
}

#[tokio::test]
async fn wrong_shapes_are_unavailable_and_say_what_was_wrong() {
    let server = fake(|req: &Seen| {
        let path = req.path.split('?').next().unwrap();
        match path {
            "/scim/v2/Users" => (200, r#"{"Resources":{"id":"x"}}"#.into()),
            "/scim/v2/Groups/g-1" => (200, r#"{"id":"g-1","members":[{"display":"x"}]}"#.into()),
            _ => (404, String::new()),
        }
    })
    .await;
    let scim = connector(&server.base, "tok", json!({}));
    match scim.resolve(&identity("alice", None)).await {
        Err(ConnectorError::Unavailable(m)) => assert!(m.contains("Resources"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match scim.members(GROUP_ID).await {
        Err(ConnectorError::Unavailable(m)) => assert!(m.contains("value"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn refusals_that_mean_already_done_are_successes() {
    // Removing a non-member: 400 noTarget (RFC 7644 §3.5.2.2).
    let no_target = r#"{"status":"400","scimType":"noTarget","detail":"no match"}"#;
    let server = fake(group_server((400, no_target))).await;
    let scim = connector(&server.base, "tok", json!({}));
    assert_eq!(scim.remove(GROUP_ID, &"u-1".to_string()).await, Ok(()));

    // Adding a member who is there: 409, and the group shows them.
    let server = fake(|req: &Seen| match req.method.as_str() {
        "PATCH" => (409, r#"{"status":"409","scimType":"uniqueness"}"#.into()),
        _ => (200, r#"{"id":"g-1","members":[{"value":"u-1"}]}"#.into()),
    })
    .await;
    let scim = connector(&server.base, "tok", json!({}));
    assert_eq!(scim.add(GROUP_ID, &"u-1".to_string()).await, Ok(()));
    // ...but a refusal for someone who is not there stays a refusal.
    let result = scim.add(GROUP_ID, &"u-2".to_string()).await;
    assert!(
        matches!(&result, Err(ConnectorError::Misconfigured(m)) if m.contains("409")),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_forbidden_answer_is_unauthorized() {
    let server =
        fake(|_: &Seen| (403, r#"{"status":"403","detail":"scope missing"}"#.into())).await;
    let scim = connector(&server.base, "tok", json!({}));
    match scim.probe().await {
        Err(ConnectorError::Unauthorized(m)) => assert!(m.contains("scope missing"), "{m}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_server_times_out_as_unavailable() {
    let server = fake_slow(Duration::from_secs(3), |_: &Seen| (200, "{}".into())).await;
    let scim = connector(&server.base, "tok", json!({ "timeoutSeconds": 1 }));
    match scim.probe().await {
        Err(ConnectorError::Unavailable(m)) => assert!(m.contains("timed out"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn nothing_listening_is_unavailable() {
    let port = eligo_testkit::free_port();
    let scim = connector(&format!("http://127.0.0.1:{port}/v2"), "tok", json!({}));
    match scim.probe().await {
        Err(ConnectorError::Unavailable(m)) => assert!(m.to_lowercase().contains("connect"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn an_echoed_token_is_scrubbed_from_errors() {
    let server = fake(|req: &Seen| {
        let detail = format!("bad header {}", req.authorization);
        (
            500,
            json!({ "status": "500", "detail": detail }).to_string(),
        )
    })
    .await;
    let scim = connector(&server.base, "echo-me-secret", json!({}));
    match scim.probe().await {
        Err(ConnectorError::Unavailable(m)) => {
            assert!(!m.contains("echo-me-secret"), "{m}");
            assert!(m.contains("bad header Bearer <redacted>"), "{m}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn probe_needs_no_service_provider_config_but_a_user_list() {
    let server = fake(|req: &Seen| match req.path.split('?').next().unwrap() {
        "/scim/v2/Users" => (200, json!({ "totalResults": 0 }).to_string()),
        _ => (404, String::new()),
    })
    .await;
    let scim = connector(&server.base, "tok", json!({}));
    assert_eq!(scim.probe().await, Ok(()));
    let users = server
        .seen()
        .into_iter()
        .find(|s| s.path.starts_with("/scim/v2/Users"));
    assert!(users.is_some_and(|s| s.authorization == "Bearer tok"));
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_is_misconfigured() {
    let server = fake(|_: &Seen| (301, String::new())).await;
    let scim = connector(&server.base, "tok", json!({}));
    match scim.resolve(&identity("alice", None)).await {
        Err(ConnectorError::Misconfigured(m)) => assert!(m.contains("baseUrl"), "{m}"),
        other => panic!("expected Misconfigured, got {other:?}"),
    }
}
