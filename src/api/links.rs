//! (being written) The one-click approve/deny pages that approval mails link to.

use axum::Router;

use crate::app::AppState;

/// HTML pages, outside the JSON API and its OpenAPI document.
pub fn routes() -> Router<AppState> {
    Router::new()
}
