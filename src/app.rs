//! The application: shared state and the HTTP router. `build_router` is what `eligo serve` runs
//! and what the integration tests drive in-process, so both exercise the very same stack.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use eligo_store::Store;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::api;
use crate::auth::throttle::Throttle;
use crate::clock::{Clock, Stopwatch};
use crate::config::Config;
use crate::error::ApiError;

pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub throttle: Throttle,
    pub scheduler: crate::service::pim::scheduler::Waker,
    /// Who holds what now: the effective-access index, kept current by the store's journal
    /// and change log (`service::access::feed`).
    pub access: Arc<crate::service::access::live::LiveIndex>,
    /// Set at SIGTERM: `/readyz` answers 503 while requests are still served (the drain).
    pub draining: std::sync::atomic::AtomicBool,
    /// Every live session by token hash, kept current like the index (`auth::sessions`).
    pub sessions: crate::auth::sessions::SessionTable,
    /// The key that signs one-click approval links (from `ELIGO_LINK_SECRET`, or generated
    /// once and kept in the store).
    pub link_key: [u8; 32],
    /// Wakes the outbox worker when a commit writes a job.
    pub jobs: crate::waker::Waker,
    /// Wakes the PIM alert scanner after a change to who holds what (`pim_alerts::run_forever`).
    pub alert_scans: crate::waker::Waker,
    /// Live clients of the downstream connectors, and the per-mapping locks.
    pub connectors: crate::provisioning::registry::Registry,
    /// The SMTP relay, when `ELIGO_SMTP_URL` is set.
    pub mailer: Option<crate::notify::mail::Mailer>,
    /// Posts signed webhook events.
    pub webhooks: crate::notify::webhooks::WebhookClient,
    /// The audit chain's last verification, for the portal's Audit page.
    pub chain_check: crate::portal::audit::chain::ChainCheck,
    /// The head each `audit.entry` webhook feed was last queued for.
    pub audit_feeds: crate::notify::audit_feed::Planned,
    /// When each break-glass session was last announced (one notice per quiet period).
    pub breakglass: crate::service::bootstrap::Announced,
    /// Failed sign-ins and step-ups counted between their audit entries (bursts).
    pub failure_bursts: crate::auth::throttle::FailureBursts,
    /// `GET /v1/auditLogs/verify`: one walk at a time, at most one started per interval.
    pub audit_verify: crate::service::audit::VerifyGate,
}

pub type AppState = Arc<App>;

impl App {
    /// The application over `store`, with the access index built from it and subscribed to
    /// its writes (so this must run before anything writes).
    pub async fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> crate::error::ApiResult<AppState> {
        let (index, head) =
            crate::service::access::live::LiveIndex::load(&*store, clock.now()).await?;
        let access = Arc::new(index);
        // Read after the index's snapshot: the log from `head` on brings it to the same state.
        let sessions = crate::service::access::feed::load_sessions(&*store, clock.now()).await?;
        let link_key = crate::notify::links::load_key(&store, &config).await?;
        let mailer = match &config.smtp_url {
            Some(url) => Some(
                crate::notify::mail::Mailer::from_config(url.expose(), &config.mail_from)
                    .map_err(|e| ApiError::internal("configuring mail (ELIGO_SMTP_URL)", e))?,
            ),
            None => None,
        };
        let outbound = crate::outbound::Outbound::allowing(config.outbound_allow.clone());
        let app = Arc::new(App {
            store: store.clone(),
            clock: clock.clone(),
            config,
            throttle: Throttle::default(),
            scheduler: Default::default(),
            access: access.clone(),
            sessions,
            draining: Default::default(),
            link_key,
            jobs: Default::default(),
            alert_scans: Default::default(),
            connectors: crate::provisioning::registry::Registry::new(outbound.clone()),
            mailer,
            webhooks: crate::notify::webhooks::WebhookClient::default().with_outbound(outbound),
            chain_check: Default::default(),
            audit_feeds: Default::default(),
            breakglass: Default::default(),
            failure_bursts: Default::default(),
            audit_verify: Default::default(),
        });
        // Every committed change (and on PostgreSQL every other server's, from the change
        // log after the snapshot the index was built from) reaches the index.
        store.listen(
            crate::service::access::feed::listener(Arc::downgrade(&app)),
            head,
        );
        if store.feed_status().is_some() {
            tokio::spawn(crate::service::access::feed::keep_following(
                Arc::downgrade(&app),
            ));
        }
        store.before_commit(Arc::new(crate::provisioning::planner::Planner {
            access,
            clock,
        }));
        Ok(app)
    }
}

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
