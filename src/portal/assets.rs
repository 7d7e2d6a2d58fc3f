//! The portal's stylesheet and script, compiled into the binary (`cargo run` is the whole
//! build). They are the only style and script a page may use: the CSP forbids inline ones.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;

const CSS: &str = include_str!("../../assets/portal.css");
const JS: &str = include_str!("../../assets/portal.js");
/// The WebAuthn calls (base64url <-> ArrayBuffer), for the pages that offer passkeys.
const PASSKEY_JS: &str = include_str!("../../assets/passkey.js");
const ICON: &str = include_str!("../../assets/favicon.svg");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/portal/static/portal.css",
            get(|| async { asset(CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/portal/static/portal.js",
            get(|| async { asset(JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/portal/static/passkey.js",
            get(|| async { asset(PASSKEY_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/portal/static/favicon.svg",
            get(|| async { asset(ICON, "image/svg+xml") }),
        )
        // Browsers ask for it on their own.
        .route(
            "/favicon.ico",
            get(|| async { axum::response::Redirect::permanent("/portal/static/favicon.svg") }),
        )
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}
