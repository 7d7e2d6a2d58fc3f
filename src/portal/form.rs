//! `Posted<T>`: a form post from a signed-in person, accepted only with the anti-forgery token
//! of their session. The token is checked before the form is even parsed into `T`, so a forged
//! or stale post changes nothing whatever it carries.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::error::ApiError;
use crate::portal::csrf;
use crate::portal::page::PageError;
use crate::portal::session::Viewer;

pub struct Posted<T> {
    pub viewer: Viewer,
    pub form: T,
}

/// The value of field `name` in an urlencoded body.
pub fn field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, app).await?;
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, app).await.map_err(|_| {
            PageError::Api(ApiError::of_status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request_BodyTooLarge",
                "the form is too large",
            ))
        })?;
        let given = field(&bytes, "csrf").unwrap_or_default();
        if !csrf::verify(
            &app.link_key,
            "session",
            &viewer.caller.session.token_hash,
            &given,
        ) {
            return Err(PageError::Forged);
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
            PageError::Api(ApiError::bad_request(
                "Request_BadRequest",
                format!("the form could not be read: {e}"),
            ))
        })?;
        Ok(Posted { viewer, form })
    }
}
