//! Administration: the directory (users, groups, service principals), PIM (roles,
//! assignments, role settings, exposure, connectors) and the PIM alerts. Each page checks the caller's current
//! roles itself; the navigation only hides what cannot be used.

pub mod alerts;
pub mod directory;
pub mod entitlement;
pub mod pim;
pub mod reviews;

use axum::Router;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(alerts::routes())
        .merge(directory::routes())
        .merge(entitlement::routes())
        .merge(pim::routes())
        .merge(reviews::routes())
}
