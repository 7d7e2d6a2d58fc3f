//! `GET /healthz`: 200 when the store answers, 503 when it does not, with where the access
//! index stands in the change log (PostgreSQL). `GET /readyz`: 200 only when this server may
//! take traffic: the store answers and the index is within `ELIGO_MAX_STALENESS` of it (a load
//! balancer sends requests elsewhere meanwhile, e.g. while a restarted server catches up, and
//! during the drain after SIGTERM, `ELIGO_SHUTDOWN_DRAIN`). Both report this server's clock
//! against the database's (PostgreSQL), without acting on it: if the database's own clock is
//! off, every server would look skewed and none could serve.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::schemas::{ClockHealth, FeedHealth, Health, HealthStatus};
use crate::app::{App, AppState};
use crate::clock::Skew;
use crate::service::access::feed;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// The store's answer and the feed's position; `ready` also demands a fresh index.
async fn health(app: &App, ready: bool) -> (StatusCode, Json<Health>) {
    let before = app.clock.now();
    let (reachable, clock) = match app.store.database_time().await {
        Ok(theirs) => (
            true,
            theirs.map(|t| {
                let skew = Skew::measure(before, t, app.clock.now());
                ClockHealth {
                    skew_ms: skew.ms,
                    within_ms: skew.within_ms,
                    too_large: skew.is_too_large(),
                }
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unreachable");
            (false, None)
        }
    };
    let fresh = feed::is_fresh(app);
    let feed = app.store.feed_status().map(|s| FeedHealth {
        applied: s.applied,
        head: s.head,
        lag_ms: s.confirmed_ago.map(|d| d.as_millis() as u64),
        gap: s.gap,
        fresh,
    });
    let draining = app.draining.load(std::sync::atomic::Ordering::Acquire);
    let ok = reachable && (!ready || (fresh && !draining));
    let status = if ok {
        (StatusCode::OK, HealthStatus::Ok)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, HealthStatus::Unavailable)
    };
    (
        status.0,
        Json(Health {
            status: status.1,
            store: app.store.backend().into(),
            feed,
            clock,
        }),
    )
}

#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "The store is reachable", body = Health),
        (status = 503, description = "The store is not reachable", body = Health)))]
async fn healthz(State(app): State<AppState>) -> (StatusCode, Json<Health>) {
    health(&app, false).await
}

#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses((status = 200, description = "The store is reachable and the access index current", body = Health),
        (status = 503, description = "The store is not reachable, or the access index is behind it", body = Health)))]
async fn readyz(State(app): State<AppState>) -> (StatusCode, Json<Health>) {
    health(&app, true).await
}
