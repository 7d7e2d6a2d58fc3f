//! Every failure an API handler can return, mapped to a status and a stable code in one place.
//! Client mistakes are 4xx with a code a script can branch on; anything else is logged with its
//! context and shown to the client only as a generic 500 (a 500 is a bug).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use eligo_core::invalid::Invalid;
use eligo_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<Detail>,
    pub retry_after_secs: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Detail {
    pub code: String,
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after_secs: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("{what} does not exist"),
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            message,
        )
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn with_detail(mut self, code: impl Into<String>, target: impl Into<String>) -> Self {
        self.details.push(Detail {
            code: code.into(),
            target: target.into(),
            message: String::new(),
        });
        self
    }

    /// A failure that is Eligo's fault: logged in full, answered as a bare 500.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "an internal error occurred",
        )
    }

    /// Several broken input rules reported at once.
    pub fn invalid_all(code: &'static str, message: &str, all: Vec<Invalid>) -> Self {
        let mut e = Self::bad_request(code, message);
        e.details = all
            .into_iter()
            .map(|i| Detail {
                code: i.code.into(),
                target: i.target,
                message: i.message,
            })
            .collect();
        e
    }
}

impl From<Invalid> for ApiError {
    fn from(i: Invalid) -> Self {
        let message = format!("{}: {}", i.target, i.message);
        let mut e = Self::bad_request(i.code, message);
        e.details.push(Detail {
            code: i.code.into(),
            target: i.target,
            message: String::new(),
        });
        e
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ApiError::conflict(
                "Request_MultipleObjectsWithSameKeyValue",
                format!("another object with the same value for property {what} already exists"),
            )
            .with_detail("ObjectConflict", what),
            other => ApiError::internal("store failure", other),
        }
    }
}

/// Refusals of the authorization layer: 403 with a code that names the rule.
impl From<eligo_core::authz::Denied> for ApiError {
    fn from(d: eligo_core::authz::Denied) -> Self {
        use eligo_core::authz::Denied;
        let e = ApiError::new(StatusCode::FORBIDDEN, d.code(), d.to_string());
        match d {
            Denied::MfaRequired => e.with_detail("MfaRequired", "otp"),
            Denied::SelfEscalation => e.with_detail("SelfEscalationDenied", "id"),
            _ => e,
        }
    }
}

impl From<eligo_core::filter::FilterError> for ApiError {
    fn from(e: eligo_core::filter::FilterError) -> Self {
        ApiError::bad_request("Request_UnsupportedQuery", e.to_string())
            .with_detail("InvalidFilter", "$filter")
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
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}
