//! "My access": the access packages of the signed-in person. `tabs` lists what they may
//! request, what they hold (with Extend and Remove access), what has ended and their requests
//! (with Cancel); `request` is the request form (and the extension form, the same fields under
//! a `userUpdate`); `withdraw` removes an assignment and cancels a request. Every action builds
//! the API's body and calls the API's use case (`service::entitlement::assignments`) with the
//! viewer as caller; the core decides and its refusals come back as field errors.

mod form;
mod request;
mod tabs;
mod withdraw;

use axum::Router;
use axum::routing::{get, post};
use eligo_core::entitlement::expiration::{Expiration, ExpirationType};
use eligo_core::entitlement::request::RequestState;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::ApiError;
use crate::notify::templates::{format_duration, format_time};
use crate::portal::page::{PageError, PageResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/access", get(tabs::page))
        .route(
            "/portal/access/packages/{id}/request",
            get(request::form).post(request::submit),
        )
        .route(
            "/portal/access/assignments/{id}/extend",
            get(request::extend_form).post(request::extend),
        )
        .route(
            "/portal/access/assignments/{id}/remove",
            get(withdraw::remove_form).post(withdraw::remove),
        )
        .route(
            "/portal/access/requests/{id}/cancel",
            post(withdraw::cancel),
        )
}

/// A path id; anything else names nothing (404).
fn parse_id(raw: &str, what: &str) -> PageResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| PageError::Api(ApiError::not_found(what)))
}

/// How long a policy's assignments last, in words.
pub fn expiration_words(e: &Expiration) -> String {
    match (e.kind, e.duration, e.end_date_time) {
        (ExpirationType::AfterDuration, Some(d), _) => format_duration(d),
        (ExpirationType::AfterDateTime, _, Some(t)) => format!("until {}", format_time(t)),
        (ExpirationType::NoExpiration, _, _) => "no end".to_string(),
        _ => "as the policy says".to_string(),
    }
}

/// A request's state in words, with its badge.
pub fn state_words(s: RequestState) -> (&'static str, &'static str) {
    match s {
        RequestState::Submitted => ("Submitted", "badge-info"),
        RequestState::PendingApproval => ("Waiting for approval", "badge-warn"),
        RequestState::Delivering | RequestState::Scheduled => ("Being delivered", "badge-info"),
        RequestState::Delivered => ("Delivered", "badge-ok"),
        RequestState::PartiallyDelivered => ("Partly delivered", "badge-warn"),
        RequestState::DeliveryFailed => ("Delivery failed", "badge-bad"),
        RequestState::Denied => ("Denied", "badge-bad"),
        RequestState::Canceled => ("Canceled", "badge-info"),
    }
}
