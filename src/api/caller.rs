//! `Caller` as an axum extractor: reads the bearer token and resolves it through
//! `crate::auth::caller` (a read from this server's session table while it is fresh, a write
//! from the store), and puts every use of the break-glass token on the record.

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let raw = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized(
                "InvalidAuthenticationToken",
                "an Authorization: Bearer token is required",
            )
        })?;
        // A read may be answered from this server's session table and index when they are
        // within the staleness bound; a write always reads its session from the store, in
        // the same snapshot as the head its server must have reached.
        let caller = if matches!(parts.method, Method::GET | Method::HEAD) {
            Caller::from_table(app, raw).await?
        } else {
            Caller::from_token(app, raw).await?
        };
        if caller
            .session
            .amr
            .iter()
            .any(|m| m == crate::service::authorize::BOOTSTRAP_METHOD)
        {
            // The break-glass token counts as strong authentication, so every use of it is
            // on the record with where it came from, and announced (see `bootstrap`).
            let crate::api::auth::ClientAddress(address) =
                crate::api::auth::ClientAddress::from_request_parts(parts, app)
                    .await
                    .unwrap_or(crate::api::auth::ClientAddress(None));
            crate::service::bootstrap::record_token_use(
                app,
                &caller,
                address.as_deref(),
                parts.method.as_str(),
                parts.uri.path(),
            )
            .await?;
        }
        Ok(caller)
    }
}
