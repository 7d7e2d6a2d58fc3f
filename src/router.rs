//! The HTTP router: every API route (`api::routes`) with the OpenAPI document generated from
//! the very handlers it routes to, the portal, and the layers every request passes (body
//! limits, timeouts, load shedding, metrics, panics as 500). `build_router` is what `eligo
//! serve` runs and what the integration tests drive in-process, so both exercise the same
//! stack.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::api;
use crate::app::AppState;
use crate::clock::Stopwatch;
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(title = "Eligo", description = "Just-in-time privileged access, shaped like Microsoft Graph's PIM API."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The router and the OpenAPI document generated from the very handlers it routes to.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::routes())
        .split_for_parts()
}

pub fn build_router(app: AppState) -> Router {
    // Install the recorder before the first request, or its metrics would go nowhere.
    metrics_handle();
    let (router, openapi) = routes();
    let openapi = Arc::new(crate::openapi::polish(&openapi));
    // Per-route body limits (`api::limits`); the router's own limit is only the backstop.
    let max_body = api::limits::largest(&app);
    // Served over Eligo's own TLS: browsers are told to come back only over HTTPS.
    let hsts = app.config.tls_cert_file.is_some();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(app.config.max_in_flight));
    let request_timeout = app
        .config
        .request_timeout
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(30));
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || serve_openapi(openapi.clone())),
        )
        .route("/metrics", axum::routing::get(serve_metrics))
        .merge(api::links::routes())
        .merge(api::scim::routes())
        .merge(crate::portal::routes(app.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            api::limits::limit_bodies,
        ))
        .layer(middleware::from_fn(
            move |req: Request, next: Next| async move {
                let mut resp = next.run(req).await;
                if hsts {
                    resp.headers_mut().insert(
                        axum::http::header::STRICT_TRANSPORT_SECURITY,
                        axum::http::HeaderValue::from_static("max-age=31536000"),
                    );
                }
                resp
            },
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            shed_load(in_flight.clone(), req, next)
        }))
        .layer(middleware::from_fn(reject_undecodable_paths))
        .layer(middleware::from_fn(record_metrics))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("handler panicked", "panic").into_response()
        }))
        .with_state(app)
}

async fn serve_openapi(doc: Arc<serde_json::Value>) -> Response {
    axum::Json(doc.as_ref().clone()).into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::of_status(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_MethodNotAllowed",
        "this endpoint does not support that method",
    )
}

/// A path whose percent-escapes are not UTF-8 can name no resource; answer in Eligo's error
/// shape before any extractor answers in plain text.
/// At most `ELIGO_MAX_IN_FLIGHT` requests at once; beyond that 503 with `Retry-After`, at once,
/// rather than a queue that grows until memory runs out. The health check is never shed.
async fn shed_load(slots: Arc<tokio::sync::Semaphore>, req: Request, next: Next) -> Response {
    if matches!(req.uri().path(), "/healthz" | "/readyz") {
        return next.run(req).await;
    }
    let Ok(_slot) = slots.try_acquire() else {
        metrics::counter!("eligo_requests_shed_total").increment(1);
        let mut resp = ApiError::of_status(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "Eligo is busy with other requests; try again in a moment",
        )
        .into_response();
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
        return resp;
    };
    next.run(req).await
}

async fn reject_undecodable_paths(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .is_err()
    {
        return ApiError::bad_request("Request_BadRequest", "the path is not valid UTF-8")
            .with_detail("InvalidId", "path")
            .into_response();
    }
    next.run(req).await
}

/// Unknown paths: a page under `/portal`, Graph's error shape everywhere else.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/portal") {
        return crate::portal::not_found();
    }
    ApiError::of_status(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        "no such endpoint",
    )
    .into_response()
}

/// The process-wide Prometheus recorder (a recorder can be installed only once per process).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
    })
}

/// `/metrics` on the main listener: only with the metrics token (`ELIGO_METRICS_TOKEN`); when
/// the metrics have a listener of their own (`ELIGO_METRICS_LISTEN`) or no token is set, it
/// names nothing here. Metrics tell an attacker what runs and how busy it is.
async fn serve_metrics(
    State(app): State<AppState>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    let token = match (&app.config.metrics_token, app.config.metrics_listen) {
        (Some(token), None) => token,
        _ => return not_found(uri).await,
    };
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = crate::auth::token::digest(token.expose());
    if !crate::auth::token::digests_equal(&crate::auth::token::digest(presented), &expected) {
        return ApiError::unauthorized(
            "InvalidAuthenticationToken",
            "the metrics need the metrics token (ELIGO_METRICS_TOKEN) as a bearer token",
        )
        .into_response();
    }
    metrics_handle().render().into_response()
}

/// The router of the metrics listener (`ELIGO_METRICS_LISTEN`): `/metrics` and nothing else.
pub fn metrics_router() -> Router {
    metrics_handle();
    Router::new().route(
        "/metrics",
        axum::routing::get(|| async { metrics_handle().render() }),
    )
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let watch = Stopwatch::start();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("eligo_http_requests_total", &labels).increment(1);
    metrics::histogram!("eligo_http_request_duration_seconds", &labels)
        .record(watch.elapsed().as_secs_f64());
    resp
}
