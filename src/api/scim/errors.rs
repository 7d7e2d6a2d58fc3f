//! SCIM's error shape (RFC 7644 section 3.12): `{schemas, status, scimType, detail}`, with the
//! `scimType` a client can act on. A use case's failure keeps its status; its stable Eligo code
//! is kept in the detail so that a refusal still names the rule (`PrivilegedTarget`,
//! `ProtectedGroup`, `SourceAuthoritative`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::failure::{Failure, Kind};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }
}

impl From<Failure> for ScimError {
    fn from(f: Failure) -> Self {
        let detail = format!("{}: {}", f.code, f.message);
        let (status, scim_type) = match f.kind {
            Kind::Invalid => (StatusCode::BAD_REQUEST, Some("invalidValue")),
            Kind::Unauthenticated => (StatusCode::UNAUTHORIZED, None),
            Kind::Denied => (StatusCode::FORBIDDEN, None),
            Kind::NotFound => (StatusCode::NOT_FOUND, None),
            Kind::Conflict if f.code == "SourceAuthoritative" => {
                (StatusCode::CONFLICT, Some("mutability"))
            }
            Kind::Conflict => (StatusCode::CONFLICT, Some("uniqueness")),
            Kind::Gone => (StatusCode::GONE, None),
            Kind::Throttled => (StatusCode::TOO_MANY_REQUESTS, None),
            Kind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, None),
            Kind::UnsupportedMedia => (StatusCode::UNSUPPORTED_MEDIA_TYPE, None),
            Kind::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, None),
            Kind::Unavailable | Kind::Timeout => (StatusCode::SERVICE_UNAVAILABLE, None),
            Kind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        Self::new(status, scim_type, detail)
    }
}

impl From<eligo_core::authz::Denied> for ScimError {
    fn from(d: eligo_core::authz::Denied) -> Self {
        Failure::from(d).into()
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        super::respond(self.status, &body)
    }
}
