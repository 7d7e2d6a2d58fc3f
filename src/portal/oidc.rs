//! Single sign-on for the portal: `/auth/oidc/start` sends the browser to the provider with a
//! fresh state, nonce and PKCE challenge (kept in the store) and a cookie that binds them to
//! this browser; `/auth/oidc/callback` takes the state once, redeems the code, verifies the ID
//! token and opens a portal session. Any failure (provider down, a bad token, a replayed or
//! foreign state) ends on a page that says what happened and offers the sign-in page again,
//! with no session and nothing else changed.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::auth::ClientAddress;
use crate::app::{App, AppState};
use crate::auth::oidc::{self, OidcError};
use crate::portal::cookies;
use crate::portal::page::{local_portal_path, render_status};
use crate::service::oidc as sso;

/// The cookie that binds a sign-in under way to the browser that started it.
pub const BINDING: &str = "eligo_oidc";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/oidc/start", get(start))
        .route("/auth/oidc/callback", get(callback))
        .route("/auth/oidc/cli/start", post(cli_start))
        .route("/auth/oidc/cli/token", post(cli_token))
}

#[derive(Template)]
#[template(path = "portal/error.html")]
struct Problem<'a> {
    title: &'a str,
    heading: &'a str,
    message: &'a str,
    link: &'a str,
    link_label: &'a str,
}

fn problem(status: StatusCode, message: &str) -> Response {
    let mut resp = render_status(
        status,
        &Problem {
            title: "Single sign-on",
            heading: "You are not signed in",
            message,
            link: "/portal/sign-in",
            link_label: "Back to sign-in",
        },
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A refused start may be tried again when the limit's minute has passed.
fn retry_in_a_minute(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    resp
}

fn status_of(e: &OidcError) -> StatusCode {
    match e {
        OidcError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        OidcError::UnknownProvider => StatusCode::NOT_FOUND,
        OidcError::TooManyStarts => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

#[derive(Debug, Deserialize)]
struct StartQuery {
    provider: Option<String>,
    next: Option<String>,
    /// An authentication context to ask the provider for (a policy's `claimValue`).
    acr: Option<String>,
}

async fn start(
    State(app): State<AppState>,
    ClientAddress(address): ClientAddress,
    Query(q): Query<StartQuery>,
) -> Response {
    let next = q
        .next
        .as_deref()
        .and_then(local_portal_path)
        .unwrap_or("/portal/roles")
        .to_string();
    let provider = match oidc::provider(&app, q.provider.as_deref()) {
        Ok(p) => p,
        Err(e) => return problem(status_of(&e), &e.message()),
    };
    let redirect = oidc::portal_redirect_uri(&app);
    match oidc::begin(
        &app,
        provider,
        eligo_store::SessionChannel::Portal,
        redirect,
        next,
        q.acr.as_deref(),
        address.as_deref(),
    )
    .await
    {
        Ok(started) => {
            let mut resp = Redirect::to(&started.authorize_url).into_response();
            let cookie = cookies::set(
                &app,
                BINDING,
                &started.binding,
                Some(oidc::PENDING_LIFETIME.num_seconds()),
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        // Refused before it cost anything: not audited, or the refusals would cost a write each.
        Err(e @ OidcError::TooManyStarts) => {
            retry_in_a_minute(problem(status_of(&e), &e.message()))
        }
        Err(e) => {
            sso::protocol_failed(&app, &provider.name, &e, address.as_deref()).await;
            problem(status_of(&e), &e.message())
        }
    }
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    /// RFC 9207: the provider that answers.
    iss: Option<String>,
}

async fn callback(
    State(app): State<AppState>,
    headers: HeaderMap,
    ClientAddress(address): ClientAddress,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let binding = cookies::get(&headers, BINDING);
    let provider_hint = app
        .config
        .oidc
        .first()
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let (Some(state), Some(code)) = (q.state.as_deref(), q.code.as_deref()) else {
        let e = match q.error {
            // Take the state so it cannot be used later.
            Some(err) => {
                if let Some(s) = q.state.as_deref() {
                    let _ = app.store.oidc_pending_take(&oidc::hash(s)).await;
                }
                OidcError::Denied(
                    err.chars()
                        .filter(|c| c.is_ascii_graphic())
                        .take(60)
                        .collect(),
                )
            }
            None => OidcError::State("unknownState"),
        };
        sso::protocol_failed(&app, &provider_hint, &e, address.as_deref()).await;
        return clear_binding(&app, problem(status_of(&e), &e.message()));
    };
    let verified = match oidc::finish(&app, state, code, binding, q.iss.as_deref()).await {
        Ok(v) => v,
        Err(e) => {
            sso::protocol_failed(&app, &provider_hint, &e, address.as_deref()).await;
            return clear_binding(&app, problem(status_of(&e), &e.message()));
        }
    };
    if verified.channel != eligo_store::SessionChannel::Portal {
        let e = OidcError::State("unknownState");
        sso::protocol_failed(&app, &verified.provider, &e, address.as_deref()).await;
        return clear_binding(&app, problem(status_of(&e), &e.message()));
    }
    match sso::sign_in(&app, &verified, address.as_deref()).await {
        Ok(issued) => {
            let mut resp = Redirect::to(&verified.next).into_response();
            let h = resp.headers_mut();
            for value in [
                cookies::set(
                    &app,
                    cookies::session_name(&app),
                    &issued.access_token,
                    None,
                ),
                cookies::clear(&app, BINDING),
                cookies::clear(&app, cookies::PRESESSION),
            ] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.append(header::SET_COOKIE, v);
                }
            }
            resp
        }
        Err(e) => clear_binding(&app, problem(e.status(), &e.message)),
    }
}

fn clear_binding(app: &App, mut resp: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&cookies::clear(app, BINDING)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

// The CLI's sign-in (`eligo login --sso`): RFC 8252's loopback redirect. The CLI listens on
// 127.0.0.1 on a port of its own, asks here for an authorization URL that sends the browser back
// there, and hands the code with the state and its binding secret to `cli/token`, which answers
// an API session. The binding secret never leaves the CLI's memory, so a code and state seen by
// someone else (a browser history) open nothing.

/// Is `uri` an http URL on a loopback address (where only the CLI on this machine listens)?
fn loopback_redirect(uri: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(uri) else {
        return false;
    };
    url.scheme() == "http"
        && url.port().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
        && url.host_str().is_some_and(|h| {
            h == "localhost"
                || h.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback())
        })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CliStart {
    provider: Option<String>,
    redirect_uri: String,
}

fn cli_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

async fn cli_start(
    State(app): State<AppState>,
    ClientAddress(address): ClientAddress,
    body: Result<Json<CliStart>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(req)) = body else {
        return cli_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "send {\"redirectUri\": \"http://127.0.0.1:PORT/callback\"}",
        );
    };
    if !loopback_redirect(&req.redirect_uri) {
        return cli_error(
            StatusCode::BAD_REQUEST,
            "InvalidRedirectUri",
            "the CLI's redirect URI must be http on a loopback address with a port",
        );
    }
    let provider = match oidc::provider(&app, req.provider.as_deref()) {
        Ok(p) => p,
        Err(e) => return cli_error(status_of(&e), "UnknownProvider", &e.message()),
    };
    match oidc::begin(
        &app,
        provider,
        eligo_store::SessionChannel::Api,
        req.redirect_uri,
        String::new(),
        None,
        address.as_deref(),
    )
    .await
    {
        Ok(started) => Json(json!({
            "authorizationUrl": started.authorize_url,
            "binding": started.binding,
            "provider": provider.display_name,
        }))
        .into_response(),
        Err(e @ OidcError::TooManyStarts) => {
            retry_in_a_minute(cli_error(status_of(&e), "TooManyRequests", &e.message()))
        }
        Err(e) => {
            sso::protocol_failed(&app, &provider.name, &e, address.as_deref()).await;
            cli_error(status_of(&e), "IdentityProviderUnavailable", &e.message())
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CliToken {
    state: String,
    code: String,
    binding: String,
    /// RFC 9207: the provider that answered, if it said.
    iss: Option<String>,
}

async fn cli_token(
    State(app): State<AppState>,
    ClientAddress(address): ClientAddress,
    body: Result<Json<CliToken>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(req)) = body else {
        return cli_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "send state, code and binding",
        );
    };
    let provider_hint = app
        .config
        .oidc
        .first()
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let verified = match oidc::finish(
        &app,
        &req.state,
        &req.code,
        Some(&req.binding),
        req.iss.as_deref(),
    )
    .await
    {
        Ok(v) => v,
        Err(e) => {
            sso::protocol_failed(&app, &provider_hint, &e, address.as_deref()).await;
            return cli_error(status_of(&e), e.reason(), &e.message());
        }
    };
    if verified.channel != eligo_store::SessionChannel::Api {
        let e = OidcError::State("unknownState");
        sso::protocol_failed(&app, &verified.provider, &e, address.as_deref()).await;
        return cli_error(status_of(&e), e.reason(), &e.message());
    }
    match sso::sign_in(&app, &verified, address.as_deref()).await {
        Ok(issued) => Json::<Value>(json!({
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "amr": issued.amr,
        }))
        .into_response(),
        Err(e) => cli_error(e.status(), e.code, &e.message),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cli_may_only_be_sent_back_to_loopback() {
        for ok in [
            "http://127.0.0.1:5000/callback",
            "http://localhost:1234/",
            "http://[::1]:8080/cb",
        ] {
            assert!(super::loopback_redirect(ok), "{ok}");
        }
        for bad in [
            "https://127.0.0.1:5000/callback",
            "http://127.0.0.1/callback",
            "http://evil.example:5000/callback",
            "http://127.0.0.1.evil.example:5000/",
            "http://user@127.0.0.1:5000/",
            "http://10.0.0.1:5000/",
            "not a url",
        ] {
            assert!(!super::loopback_redirect(bad), "{bad}");
        }
    }
}
