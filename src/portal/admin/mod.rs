//! Administration: the directory (users, groups, service principals) and PIM (roles,
//! assignments, role settings, exposure, connectors). Each page checks the caller's current
//! roles itself; the navigation only hides what cannot be used.

pub mod directory;
pub mod entitlement;
pub mod pim;
pub mod reviews;

use axum::Router;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(directory::routes())
        .merge(entitlement::routes())
        .merge(pim::routes())
        .merge(reviews::routes())
}
