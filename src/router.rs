//! The HTTP router: every API route (`api::routes`) with the OpenAPI document generated from
//! the very handlers it routes to, the portal, and what every request passes (`edge`: body
//! limits, timeouts, load shedding, metrics; then panics as 500). `build_router` is what `eligo
//! serve` runs and what the integration tests drive in-process, so both exercise the same
//! stack.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::api;
use crate::app::AppState;
use crate::edge::Edge;
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
    let edge = Arc::new(Edge::new(&app.config));
    // Per-route body limits (`api::limits`, applied in `edge`); the router's own limit is only
    // the backstop.
    let max_body = edge.bodies().largest();
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
        .layer(middleware::from_fn_with_state(edge, crate::edge::edge))
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
