//! The web portal, served by `eligo serve` itself: server-rendered pages (askama templates in
//! `templates/portal/`) that work without JavaScript; `assets/portal.js` only adds comfort
//! (countdowns, confirmations). Pages call the same use cases as the API (`service`), with the
//! signed-in person as the caller, so the portal can do nothing the API would refuse.
//! Passkeys are the exception that needs script: `assets/passkey.js` talks to the browser's
//! WebAuthn API (served like `portal.js`; without it, the code still works everywhere).
//!
//! Every page answers with a strict Content Security Policy; every form carries an
//! anti-forgery token (`csrf`); sessions are cookies (HttpOnly, SameSite=Lax, Secure over TLS)
//! that end after `ELIGO_PORTAL_IDLE_TIMEOUT` without use.

pub mod access;
pub mod admin;
pub mod approvals;
pub mod assets;
pub mod audit;
pub mod cookies;
pub mod csrf;
pub mod flash;
pub mod form;
pub mod me;
pub mod oidc;
pub mod page;
pub mod passkeys;
pub mod picker;
pub mod proof;
pub mod reviews;
pub mod security;
pub mod session;
pub mod sign_in;
pub mod sign_in_passkey;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::error::ApiError;
use crate::portal::page::PageError;

pub fn routes(app: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/portal") }))
        .route("/portal", get(|| async { Redirect::to("/portal/roles") }))
        .route("/portal/", get(|| async { Redirect::to("/portal/roles") }))
        .merge(assets::routes())
        .merge(sign_in::routes())
        .merge(oidc::routes())
        .merge(security::routes())
        .merge(passkeys::routes())
        .merge(proof::routes())
        .merge(me::routes())
        .merge(access::routes())
        .merge(approvals::routes())
        .merge(reviews::routes())
        .merge(admin::routes())
        .merge(audit::routes())
        .merge(picker::routes())
        .layer(middleware::from_fn_with_state(app, security_headers))
}

/// The page for a portal path that names nothing.
pub fn not_found() -> Response {
    let mut resp = PageError::Api(ApiError::not_found("page")).into_response();
    harden(&mut resp);
    resp
}

/// Headers every portal answer carries; and a one-shot message, once a page has shown it,
/// is removed.
async fn security_headers(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let had_flash = cookies::get(req.headers(), cookies::FLASH).is_some();
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        resp = not_found();
    }
    if had_flash
        && !resp.status().is_redirection()
        && let Ok(v) = HeaderValue::from_str(&cookies::clear(&app, cookies::FLASH))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    harden(&mut resp);
    resp
}

fn harden(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(page::CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
