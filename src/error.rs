//! Every failure an API handler can return, mapped to a status and a stable code in one place.
//! Client mistakes are 4xx with a code a script can branch on; anything else is logged with its
//! context and shown to the client only as a generic 500 (a 500 is a bug).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The API's name for a use case's failure: the same value, answered as JSON with the status
/// its kind maps to (below, the one place where kinds meet HTTP).
pub use crate::failure::{Detail, Failure as ApiError, Kind};

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// The HTTP status of each kind of failure.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            Kind::Invalid => StatusCode::BAD_REQUEST,
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::Denied => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::Gone => StatusCode::GONE,
            Kind::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Timeout => StatusCode::REQUEST_TIMEOUT,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind an HTTP status stands for (for failures the HTTP layer itself produces).
    pub fn of_status(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        let kind = match status {
            StatusCode::BAD_REQUEST => Kind::Invalid,
            StatusCode::UNAUTHORIZED => Kind::Unauthenticated,
            StatusCode::FORBIDDEN => Kind::Denied,
            StatusCode::NOT_FOUND => Kind::NotFound,
            StatusCode::CONFLICT => Kind::Conflict,
            StatusCode::GONE => Kind::Gone,
            StatusCode::TOO_MANY_REQUESTS => Kind::Throttled,
            StatusCode::SERVICE_UNAVAILABLE => Kind::Unavailable,
            StatusCode::REQUEST_TIMEOUT => Kind::Timeout,
            StatusCode::PAYLOAD_TOO_LARGE => Kind::TooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Kind::UnsupportedMedia,
            StatusCode::METHOD_NOT_ALLOWED => Kind::MethodNotAllowed,
            s if s.is_client_error() => Kind::Invalid,
            _ => Kind::Internal,
        };
        Self::new(kind, code, message)
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[Detail]>::is_empty")]
    details: &'a [Detail],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
                details: &self.details,
            },
        };
        let mut resp = (self.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}
