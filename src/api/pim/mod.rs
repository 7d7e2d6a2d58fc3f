//! PIM for directory roles, shaped like Graph's `roleManagement/directory` resources.

pub mod approvals;
pub mod requests;
pub mod schedules;
pub mod shape;

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(requests::routes())
        .merge(schedules::routes())
        .merge(approvals::routes())
}

/// Graph's `filterByCurrentUser(on='...')` function segment: Some(on) when `segment` is one
/// (quotes may arrive percent-decoded or not), None for anything else.
pub fn filter_by_current_user(segment: &str) -> crate::error::ApiResult<Option<String>> {
    let Some(args) = segment
        .strip_prefix("filterByCurrentUser(")
        .and_then(|s| s.strip_suffix(')'))
    else {
        return Ok(None);
    };
    let on = args
        .strip_prefix("on=")
        .map(|v| v.trim_matches('\''))
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            crate::error::ApiError::bad_request(
                "Request_BadRequest",
                "filterByCurrentUser takes on='principal' (or on='approver' for requests)",
            )
        })?;
    Ok(Some(on.to_string()))
}
