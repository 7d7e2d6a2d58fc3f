//! `JsonBody<T>`: the JSON extractor every handler uses, so that malformed JSON, wrong types,
//! unknown fields, a missing content type or an oversize body all answer with Eligo's error
//! shape and a stable code instead of axum's plain-text rejections.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(reject(rejection)),
        }
    }
}

fn reject(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => ApiError::bad_request("Request_BadRequest", text)
            .with_detail("InvalidRequestBody", "body"),
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::bad_request("Request_BadRequest", text).with_detail("MalformedJson", "body")
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::of_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "the body must be JSON with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(_) if rejection_is_too_large(&text) => ApiError::of_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            "the request body is too large",
        ),
        _ => ApiError::bad_request("Request_BadRequest", text),
    }
}

fn rejection_is_too_large(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("length limit") || t.contains("too large")
}

/// For PATCH bodies: a missing field is `None`, an explicit `null` is `Some(None)`.
/// Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

use serde::Deserialize as _;

/// For PATCH bodies of fields that cannot be cleared: missing is `None`, `null` is an error.
/// Use with `#[serde(default, deserialize_with = "non_null")]`.
pub fn non_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d)?
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("this field cannot be null"))
}
