//! What every routed request passes before its handler, in one middleware (one boxed service
//! and one future per request, where a layer each cost a clone and an allocation apiece), in
//! this order:
//!
//! 1. a path whose percent-escapes are not UTF-8 can name no resource: 400 in Eligo's error
//!    shape, before any extractor answers in plain text;
//! 2. at most `ELIGO_MAX_IN_FLIGHT` requests at once; beyond that 503 with `Retry-After`, at
//!    once, rather than a queue that grows until memory runs out (threat-model rule 9). The
//!    health checks are never shed;
//! 3. the body limit of the route (`api::limits`): an announced oversize body is refused before
//!    anything else runs, a streamed one is cut while it is read;
//! 4. `ELIGO_REQUEST_TIMEOUT`: a request not answered by then is answered 408;
//! 5. served over Eligo's own TLS, every answer (refusals included) tells browsers to come back
//!    only over HTTPS (HSTS).
//!
//! Every answer, refusals included, is counted and timed per method, route and status
//! (`eligo_http_requests_total`, `eligo_http_request_duration_seconds`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::api::limits::BodyLimits;
use crate::clock::Stopwatch;
use crate::config::Config;
use crate::error::ApiError;

pub struct Edge {
    meters: Meters,
    in_flight: Semaphore,
    request_timeout: Duration,
    bodies: BodyLimits,
    hsts: bool,
}

impl Edge {
    pub fn new(config: &Config) -> Self {
        Self {
            meters: Meters::default(),
            in_flight: Semaphore::new(config.max_in_flight),
            request_timeout: config
                .request_timeout
                .to_std()
                .unwrap_or(Duration::from_secs(30)),
            bodies: BodyLimits::of(config),
            hsts: config.tls_cert_file.is_some(),
        }
    }

    pub fn bodies(&self) -> &BodyLimits {
        &self.bodies
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn edge(State(edge): State<Arc<Edge>>, req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().cloned();
    let watch = Stopwatch::start();
    let mut resp = pass(&edge, req, next).await;
    if edge.hsts {
        resp.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    edge.meters
        .record(method, route, resp.status(), watch.elapsed().as_secs_f64());
    resp
}

/// Each method, route and status's counter and histogram, registered once: building a
/// metric's key (three labels, two of them allocated) and finding it in the recorder on every
/// request cost more than many a request's own work.
#[derive(Default)]
struct Meters {
    by_route: RwLock<HashMap<Box<str>, Vec<Meter>>>,
}

struct Meter {
    method: &'static str,
    status: StatusCode,
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

impl Meters {
    fn record(&self, method: &'static str, route: &str, status: StatusCode, seconds: f64) {
        let record = |meters: &Vec<Meter>| {
            let meter = meters
                .iter()
                .find(|m| m.method == method && m.status == status)?;
            meter.requests.increment(1);
            meter.duration.record(seconds);
            Some(())
        };
        let by_route = self.by_route.read().unwrap_or_else(|e| e.into_inner());
        if by_route.get(route).and_then(record).is_some() {
            return;
        }
        drop(by_route);
        let mut by_route = self.by_route.write().unwrap_or_else(|e| e.into_inner());
        let meters = by_route.entry(route.into()).or_default();
        if record(meters).is_none() {
            let labels = [
                ("method", method.to_owned()),
                ("route", route.to_owned()),
                ("status", status.as_str().to_owned()),
            ];
            meters.push(Meter {
                method,
                status,
                requests: metrics::counter!("eligo_http_requests_total", &labels),
                duration: metrics::histogram!("eligo_http_request_duration_seconds", &labels),
            });
            record(meters);
        }
    }
}

async fn pass(edge: &Edge, req: Request, next: Next) -> Response {
    if undecodable(req.uri().path()) {
        return ApiError::bad_request("Request_BadRequest", "the path is not valid UTF-8")
            .with_detail("InvalidId", "path")
            .into_response();
    }
    let _slot = if matches!(req.uri().path(), "/healthz" | "/readyz") {
        None
    } else {
        match edge.in_flight.try_acquire() {
            Ok(slot) => Some(slot),
            Err(_) => return busy(),
        }
    };
    let req = match edge.bodies.cap(req) {
        Ok(req) => req,
        Err(refused) => return refused.into_response(),
    };
    match tokio::time::timeout(edge.request_timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

fn undecodable(path: &str) -> bool {
    path.contains('%')
        && percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .is_err()
}

fn busy() -> Response {
    metrics::counter!("eligo_requests_shed_total").increment(1);
    let mut resp = ApiError::of_status(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        "Eligo is busy with other requests; try again in a moment",
    )
    .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

/// The method as a metric label: the standard ones by name, any other as `OTHER`, so a client
/// inventing methods cannot grow the metrics without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    use super::*;

    /// `/ok`, `/healthz`, `/hang` (answers when `release` is notified) and `/echo` (reads its
    /// body) behind the edge of `config`.
    fn router(config: &Config, release: Arc<tokio::sync::Notify>) -> Router {
        let state = Arc::new(Edge::new(config));
        let hang = move || {
            let release = release.clone();
            async move {
                release.notified().await;
                "released"
            }
        };
        Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route("/healthz", get(|| async { "healthy" }))
            .route("/hang", get(hang))
            .route("/echo", post(|body: String| async move { body }))
            .layer(axum::middleware::from_fn_with_state(state, edge))
    }

    async fn call(router: &Router, method: Method, path: &str, body: Body) -> Response {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(body)
            .unwrap();
        router.clone().oneshot(req).await.unwrap()
    }

    async fn status_and_code(resp: Response) -> (StatusCode, String) {
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        (status, body["error"]["code"].as_str().unwrap_or("").into())
    }

    #[tokio::test(start_paused = true)]
    async fn beyond_the_requests_in_flight_a_request_is_refused_at_once_but_never_the_health_check()
    {
        let config = Config {
            max_in_flight: 1,
            ..Config::defaults()
        };
        let release = Arc::new(tokio::sync::Notify::new());
        let router = router(&config, release.clone());
        let held = tokio::spawn({
            let router = router.clone();
            async move { call(&router, Method::GET, "/hang", Body::empty()).await }
        });
        // Let the held request reach its handler (the clock is paused: nothing else runs).
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        let refused = call(&router, Method::GET, "/ok", Body::empty()).await;
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            status_and_code(refused).await,
            (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable".into())
        );
        let health = call(&router, Method::GET, "/healthz", Body::empty()).await;
        assert_eq!(health.status(), StatusCode::OK);
        release.notify_one();
        assert_eq!(held.await.unwrap().status(), StatusCode::OK);
        // The slot is free again.
        let after = call(&router, Method::GET, "/ok", Body::empty()).await;
        assert_eq!(after.status(), StatusCode::OK);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_not_answered_within_the_timeout_is_answered_408() {
        let config = Config {
            request_timeout: chrono::TimeDelta::seconds(5),
            ..Config::defaults()
        };
        let router = router(&config, Arc::new(tokio::sync::Notify::new()));
        // The paused clock jumps to the deadline as soon as nothing else can run.
        let resp = call(&router, Method::GET, "/hang", Body::empty()).await;
        assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
        // The slot it held is back.
        let again = call(&router, Method::GET, "/ok", Body::empty()).await;
        assert_eq!(again.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn bodies_over_the_routes_limit_are_refused_announced_or_not() {
        let config = Config {
            max_body_bytes: 10,
            ..Config::defaults()
        };
        let router = router(&config, Arc::new(tokio::sync::Notify::new()));
        let announced = Request::builder()
            .method(Method::POST)
            .uri("/echo")
            .header(header::CONTENT_LENGTH, "11")
            .body(Body::from("x".repeat(11)))
            .unwrap();
        let resp = router.clone().oneshot(announced).await.unwrap();
        assert_eq!(
            status_and_code(resp).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge".into())
        );
        // Not announced: cut while it is read (the extractor answers 413).
        let streamed = call(&router, Method::POST, "/echo", Body::from("x".repeat(12))).await;
        assert_eq!(streamed.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let within = call(&router, Method::POST, "/echo", Body::from("x".repeat(10))).await;
        assert_eq!(within.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_path_that_does_not_decode_to_utf8_is_a_400_in_the_error_shape() {
        let router = router(&Config::defaults(), Arc::new(tokio::sync::Notify::new()));
        let resp = call(&router, Method::GET, "/ok%FF", Body::empty()).await;
        assert_eq!(
            status_and_code(resp).await,
            (StatusCode::BAD_REQUEST, "Request_BadRequest".into())
        );
        assert!(!undecodable("/v1/users/caf%C3%A9"));
        assert!(undecodable("/v1/users/%C3"));
    }

    #[tokio::test]
    async fn hsts_only_when_eligo_serves_tls_itself() {
        let plain = router(&Config::defaults(), Arc::new(tokio::sync::Notify::new()));
        let resp = call(&plain, Method::GET, "/ok", Body::empty()).await;
        assert!(
            !resp
                .headers()
                .contains_key(header::STRICT_TRANSPORT_SECURITY)
        );
        let tls = Config {
            tls_cert_file: Some("cert.pem".into()),
            ..Config::defaults()
        };
        let tls = router(&tls, Arc::new(tokio::sync::Notify::new()));
        for path in ["/ok", "/ok%FF"] {
            let resp = call(&tls, Method::GET, path, Body::empty()).await;
            assert_eq!(
                resp.headers()[header::STRICT_TRANSPORT_SECURITY],
                "max-age=31536000",
                "{path}"
            );
        }
    }

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
    }
}
