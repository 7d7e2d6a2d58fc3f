//! Signing in and out of the portal. The form posts the user name, the password and (for
//! people with an authenticator) the current code, or, after "Use a passkey", a passkey's
//! answer to the challenge the password opened (`sign_in_passkey`); a person with a second
//! factor cannot get a portal session without it. Before sign-in there is no session to bind
//! the form to, so a random cookie stands in for it (the form's token is that cookie's HMAC):
//! another site can neither read the token nor sign a victim into the attacker's account.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::api::auth::ClientAddress;
use crate::app::{App, AppState};
use crate::auth::token;
use crate::portal::cookies;
use crate::portal::csrf;
use crate::portal::form::Posted;
use crate::portal::page::{FieldErrors, PageResult, local_portal_path, render_status};
use crate::service::sessions;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/sign-in", get(show).post(submit))
        .route(
            "/portal/sign-in/passkey/options",
            post(super::sign_in_passkey::options),
        )
        .route("/portal/sign-in/pass", get(show_pass).post(submit_pass))
        .route("/portal/sign-out", post(sign_out))
}

#[derive(Template)]
#[template(path = "portal/sign_in.html")]
struct SignInPage {
    csrf: String,
    next: String,
    username: String,
    code: String,
    notice: Option<&'static str>,
    errors: FieldErrors,
    /// "Sign in with ..." links: (start URL, provider's display name).
    providers: Vec<(String, String)>,
    /// Whether people sign in with a password here (else only the break-glass account does).
    password: bool,
    /// Whether "Use a passkey" is offered (`ELIGO_PUBLIC_URL` names a host).
    passkeys: bool,
}

#[derive(Debug, Deserialize)]
struct SignInQuery {
    next: Option<String>,
    /// The user name to fill in (a mail link says whose decision it asks for).
    username: Option<String>,
    signed_out: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    csrf: Option<String>,
    next: Option<String>,
    username: Option<String>,
    password: Option<String>,
    code: Option<String>,
    /// "passkey" when the person chose Use a passkey.
    method: Option<String>,
    /// The sign-in ceremony the password opened, and the passkey's answer to it.
    ceremony_id: Option<String>,
    passkey: Option<String>,
}

/// The pre-session cookie of this browser, or a new one (with the header that sets it).
fn presession(app: &App, headers: &HeaderMap) -> (String, Option<String>) {
    match cookies::get(headers, cookies::PRESESSION) {
        Some(v) if v.len() <= 64 => (v.to_string(), None),
        _ => {
            let v = token::generate("");
            let set = cookies::set(app, cookies::PRESESSION, &v, Some(3600));
            (v, Some(set))
        }
    }
}

/// The single sign-on links, each carrying `next` (encoded) to come back to.
fn provider_links(app: &App, next: &str) -> Vec<(String, String)> {
    let next: String =
        percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC).collect();
    app.config
        .oidc
        .iter()
        .map(|p| {
            (
                format!("/auth/oidc/start?provider={}&next={next}", p.name),
                p.display_name.clone(),
            )
        })
        .collect()
}

fn page(app: &App, headers: &HeaderMap, status: StatusCode, mut form: SignInPage) -> Response {
    form.providers = provider_links(app, &form.next);
    form.password = app.config.password_sign_in;
    form.passkeys = crate::auth::passkey::relying_party(&app.config.public_url).is_ok();
    let (pre, set) = presession(app, headers);
    form.csrf = csrf::token(&app.link_key, "presession", &pre);
    let mut resp = render_status(status, &form);
    if let Some(set) = set.and_then(|s| HeaderValue::from_str(&s).ok()) {
        resp.headers_mut().append(header::SET_COOKIE, set);
    }
    resp
}

const EXPIRED: &str = "The sign-in form had expired. Nothing was sent; sign in again.";

/// Did the form come from our sign-in page in this browser (its token is the pre-session
/// cookie's HMAC)?
pub(crate) fn genuine(app: &App, headers: &HeaderMap, csrf_token: Option<&str>) -> bool {
    cookies::get(headers, cookies::PRESESSION)
        .is_some_and(|pre| csrf::verify(&app.link_key, "presession", pre, csrf_token.unwrap_or("")))
}

fn clean_next(next: Option<&str>) -> String {
    next.and_then(local_portal_path)
        .unwrap_or("/portal/roles")
        .to_string()
}

async fn show(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    let next = clean_next(q.next.as_deref());
    // Already signed in: straight on.
    if let Some(raw) = cookies::get(&headers, cookies::session_name(&app))
        && crate::auth::Caller::from_portal_cookie(&app, raw)
            .await
            .is_ok()
    {
        return Redirect::to(&next).into_response();
    }
    let notice = if q.signed_out.is_some() {
        Some("You have signed out.")
    } else if q.next.is_some() {
        Some("Sign in to continue.")
    } else {
        None
    };
    let form = SignInPage {
        csrf: String::new(),
        next,
        username: q
            .username
            .as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(256)
            .collect(),
        code: String::new(),
        notice,
        errors: FieldErrors::new(),
        providers: Vec::new(),
        password: true,
        passkeys: false,
    };
    page(&app, &headers, StatusCode::OK, form)
}

async fn submit(
    State(app): State<AppState>,
    headers: HeaderMap,
    ClientAddress(address): ClientAddress,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        let mut errors = FieldErrors::new();
        errors.add_general("The sign-in form could not be read. Try again.");
        let again = SignInPage {
            csrf: String::new(),
            next: clean_next(None),
            username: String::new(),
            code: String::new(),
            notice: None,
            errors,
            providers: Vec::new(),
            password: true,
            passkeys: false,
        };
        return page(&app, &headers, StatusCode::BAD_REQUEST, again);
    };
    let username = form.username.unwrap_or_default().trim().to_string();
    let code: String = form.code.unwrap_or_default().trim().to_string();
    let password = form.password.unwrap_or_default();
    let mut again = SignInPage {
        csrf: String::new(),
        next: clean_next(form.next.as_deref()),
        username: username.chars().take(256).collect(),
        code: code.chars().filter(char::is_ascii_digit).take(6).collect(),
        notice: None,
        errors: FieldErrors::new(),
        providers: Vec::new(),
        password: true,
        passkeys: false,
    };
    if !genuine(&app, &headers, form.csrf.as_deref()) {
        again.errors.add_general(EXPIRED);
        return page(&app, &headers, StatusCode::FORBIDDEN, again);
    }
    if username.is_empty() {
        again.errors.add("username", "Enter your user name.");
    }
    let passkey = form.passkey.as_deref().map(str::trim).unwrap_or("");
    if form.method.as_deref() == Some("passkey") || !passkey.is_empty() {
        if !again.errors.is_empty() {
            return page(&app, &headers, StatusCode::BAD_REQUEST, again);
        }
        let done = super::sign_in_passkey::finish(
            &app,
            &username,
            form.ceremony_id.as_deref(),
            passkey,
            address.as_deref(),
        )
        .await;
        return match done {
            Ok(issued) => signed_in(&app, &again.next, &issued.access_token),
            Err(e) => {
                again
                    .errors
                    .add_general(super::sign_in_passkey::refusal(&e));
                let mut resp = page(&app, &headers, e.status(), again);
                if let Some(secs) = e.retry_after_secs {
                    resp.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                resp
            }
        };
    }
    if password.is_empty() {
        again.errors.add("password", "Enter your password.");
    }
    if !code.is_empty() && (code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit())) {
        again.errors.add(
            "code",
            "The code is the six digits your authenticator app shows.",
        );
    }
    if !again.errors.is_empty() {
        return page(&app, &headers, StatusCode::BAD_REQUEST, again);
    }
    let otp = (!code.is_empty()).then_some(code.as_str());
    match sessions::sign_in_user(
        &app,
        sessions::Channel::Portal,
        &username,
        &password,
        otp,
        address.as_deref(),
    )
    .await
    {
        Ok(issued) => signed_in(&app, &again.next, &issued.access_token),
        Err(e) => {
            let status = e.status();
            match e.code {
                // One message whatever was wrong: it must not tell a right password from a
                // wrong one, nor whether the account has an authenticator.
                "InvalidCredentials" => again.errors.add_general(
                    "The user name, password or code is incorrect. If you have set up an authenticator app, enter its current code too. (A code works once; wait for the next one.)",
                ),
                _ => again.errors.absorb(&e, |_| None),
            }
            again.code.clear();
            let mut resp = page(&app, &headers, status, again);
            if let Some(secs) = e.retry_after_secs {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            resp
        }
    }
}

#[derive(Template)]
#[template(path = "portal/sign_in_pass.html")]
struct PassPage {
    csrf: String,
    username: String,
    errors: FieldErrors,
}

fn pass_page(app: &App, headers: &HeaderMap, status: StatusCode, mut form: PassPage) -> Response {
    let (pre, set) = presession(app, headers);
    form.csrf = csrf::token(&app.link_key, "presession", &pre);
    let mut resp = render_status(status, &form);
    if let Some(set) = set.and_then(|s| HeaderValue::from_str(&s).ok()) {
        resp.headers_mut().append(header::SET_COOKIE, set);
    }
    resp
}

async fn show_pass(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let form = PassPage {
        csrf: String::new(),
        username: String::new(),
        errors: FieldErrors::new(),
    };
    pass_page(&app, &headers, StatusCode::OK, form)
}

#[derive(Debug, Deserialize)]
struct PassForm {
    csrf: Option<String>,
    username: Option<String>,
    pass: Option<String>,
}

/// Sign-in with a Temporary Access Pass (the second form of the sign-in page): for a person
/// setting up a first authenticator, or replacing a lost one. It lands on Security info.
async fn submit_pass(
    State(app): State<AppState>,
    headers: HeaderMap,
    ClientAddress(address): ClientAddress,
    form: Result<Form<PassForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or(PassForm {
        csrf: None,
        username: None,
        pass: None,
    });
    let username = form.username.unwrap_or_default().trim().to_string();
    let pass = form.pass.unwrap_or_default();
    let mut again = PassPage {
        csrf: String::new(),
        username: username.chars().take(256).collect(),
        errors: FieldErrors::new(),
    };
    if !genuine(&app, &headers, form.csrf.as_deref()) {
        again.errors.add_general(EXPIRED);
        return pass_page(&app, &headers, StatusCode::FORBIDDEN, again);
    }
    if username.is_empty() || pass.trim().is_empty() {
        again.errors.add_general(
            "To sign in with a Temporary Access Pass, enter your user name and the pass.",
        );
        return pass_page(&app, &headers, StatusCode::BAD_REQUEST, again);
    }
    match sessions::sign_in_with_pass(
        &app,
        sessions::Channel::Portal,
        &username,
        &pass,
        address.as_deref(),
    )
    .await
    {
        Ok(issued) => signed_in(&app, "/portal/security", &issued.access_token),
        Err(e) => {
            match e.code {
                "InvalidCredentials" => again.errors.add_general(
                    "The user name or Temporary Access Pass is incorrect, or the pass is not valid now (expired, not started yet, or already used).",
                ),
                _ => again.errors.absorb(&e, |_| None),
            }
            let mut resp = pass_page(&app, &headers, e.status(), again);
            if let Some(secs) = e.retry_after_secs {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            resp
        }
    }
}

/// The redirect that carries a new session's cookie (and drops the pre-session one).
fn signed_in(app: &App, to: &str, session: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    let h = resp.headers_mut();
    let session = cookies::set(app, cookies::session_name(app), session, None);
    for value in [session, cookies::clear(app, cookies::PRESESSION)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

#[derive(Debug, Deserialize)]
struct SignOutForm {}

async fn sign_out(
    State(app): State<AppState>,
    posted: Posted<SignOutForm>,
) -> PageResult<Response> {
    sessions::sign_out(&app, &posted.viewer.caller).await?;
    let mut resp = Redirect::to("/portal/sign-in?signed_out=1").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookies::clear(&app, cookies::session_name(&app))) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}
