//! Security info: enrolling a TOTP authenticator (a QR code to scan, the secret to type), the
//! person's passkeys (`portal::passkeys` adds and removes them), and the step-up prompt that
//! proves a fresh second factor (a code or a passkey) before actions that demand one.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use eligo_store::Tx;
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::totp::TotpCredential;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, local_portal_path, redirect_with, render,
    render_status,
};
use crate::portal::passkeys::PasskeyRow;
use crate::portal::proof::{self, Proof};
use crate::portal::session::Viewer;
use crate::service::{passkeys, sessions};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/security", get(overview))
        .route("/portal/security/totp", get(enrolment).post(begin))
        .route("/portal/security/totp/verify", post(verify))
        .route("/portal/step-up", get(step_up_form).post(step_up))
}

#[derive(Template)]
#[template(path = "portal/security.html")]
struct OverviewPage {
    chrome: Chrome,
    /// Where to go once the authenticator is set up (a local portal path, or empty).
    next: String,
    enrolled: bool,
    mfa_fresh: bool,
    /// The session began with a Temporary Access Pass: time to enrol.
    with_pass: bool,
    passkeys: Vec<PasskeyRow>,
    /// Whether this server can use passkeys (`ELIGO_PUBLIC_URL` names a host).
    passkeys_available: bool,
}

#[derive(Template)]
#[template(path = "portal/totp_enrol.html")]
struct EnrolPage {
    chrome: Chrome,
    next: String,
    qr_svg: String,
    secret_groups: Vec<String>,
    otpauth_uri: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "portal/step_up.html")]
struct StepUpPage {
    chrome: Chrome,
    next: String,
    errors: FieldErrors,
    /// Which second factors to offer.
    totp: bool,
    passkey: bool,
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    code: Option<String>,
    next: Option<String>,
    /// A passkey's answer (the step-up page only).
    passkey: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// A post that carries only where to go afterwards.
#[derive(Debug, Deserialize)]
struct NextForm {
    next: Option<String>,
}

/// A local portal path to come back to, or empty (never another site: no open redirect).
fn return_path(next: Option<&str>) -> String {
    next.and_then(local_portal_path)
        .unwrap_or_default()
        .to_string()
}

/// `path` with `?next=` (or `&next=`) carrying `next`, when there is one.
fn with_next(path: &str, next: &str) -> String {
    if next.is_empty() {
        return path.to_string();
    }
    let sep = if path.contains('?') { '&' } else { '?' };
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    format!("{path}{sep}{query}")
}

async fn credential(app: &AppState, who: Uuid, kind: &str) -> PageResult<Option<TotpCredential>> {
    let mut tx = app.store.read().await?;
    Ok(read_credential(&mut *tx, who, kind).await?)
}

async fn read_credential(
    tx: &mut dyn Tx,
    who: Uuid,
    kind: &str,
) -> Result<Option<TotpCredential>, eligo_store::StoreError> {
    Ok(tx
        .get_credential(who, kind)
        .await?
        .and_then(|v| serde_json::from_value(v).ok()))
}

async fn overview(
    State(app): State<AppState>,
    Query(q): Query<NextQuery>,
    viewer: Viewer,
) -> PageResult<Response> {
    let enrolled = credential(&app, viewer.caller.id, sessions::TOTP)
        .await?
        .is_some_and(|c| c.verified);
    let now = app.clock.now();
    let keys = passkeys::list(&app, &viewer.caller).await?;
    Ok(render(&OverviewPage {
        next: return_path(q.next.as_deref()),
        with_pass: sessions::signed_in_with_pass(&viewer.caller),
        mfa_fresh: viewer.caller.mfa_is_fresh(now, app.config.mfa_freshness),
        chrome: viewer.chrome(Section::Security),
        enrolled,
        passkeys: keys.iter().map(PasskeyRow::of).collect(),
        passkeys_available: crate::auth::passkey::relying_party(&app.config.public_url).is_ok(),
    }))
}

async fn begin(State(app): State<AppState>, posted: Posted<NextForm>) -> PageResult<Response> {
    let next = return_path(posted.form.next.as_deref());
    match sessions::begin_totp(&app, &posted.viewer.caller).await {
        Ok(_) => Ok(Redirect::to(&with_next("/portal/security/totp", &next)).into_response()),
        Err(e) if e.details.iter().any(|d| d.code == "MfaRequired") => Ok(redirect_with(
            &app,
            "/portal/step-up?next=/portal/security",
            Flash::info("Replacing your authenticator needs a code from the current one first."),
        )),
        Err(e) if e.code == "TemporaryAccessPassRequired" => Ok(redirect_with(
            &app,
            "/portal/security",
            Flash::warning(
                "Your organisation asks for a Temporary Access Pass to set up a first authenticator on this account. Ask a Global or Privileged Authentication Administrator for one, then sign in with it (Sign in, then \"Sign in with a Temporary Access Pass\").",
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The QR code of `uri` as inline SVG (no script, no external image: the CSP stays strict).
fn qr_svg(uri: &str) -> String {
    match QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<svg::Color>()
                .min_dimensions(220, 220)
                .quiet_zone(true)
                .build();
            // The renderer starts with an XML declaration, which has no place inside HTML.
            match svg.find("<svg") {
                Some(at) => svg[at..].to_string(),
                None => String::new(),
            }
        }
        Err(_) => String::new(),
    }
}

fn enrol_page(
    viewer: &Viewer,
    upn: &str,
    secret: &str,
    next: String,
    errors: FieldErrors,
) -> EnrolPage {
    let uri = crate::auth::totp::otpauth_uri(secret, upn).unwrap_or_default();
    EnrolPage {
        chrome: viewer.chrome(Section::Security),
        next,
        qr_svg: qr_svg(&uri),
        secret_groups: secret
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect(),
        otpauth_uri: uri,
        errors,
    }
}

async fn enrolment(
    State(app): State<AppState>,
    Query(q): Query<NextQuery>,
    viewer: Viewer,
) -> PageResult<Response> {
    let pending = sessions::pending_enrolment(&app, &viewer.caller).await?;
    let Some(pending) = pending else {
        return Ok(Redirect::to("/portal/security").into_response());
    };
    let upn = viewer.caller.upn.clone().unwrap_or_default();
    Ok(render(&enrol_page(
        &viewer,
        &upn,
        &pending.secret_base32,
        return_path(q.next.as_deref()),
        FieldErrors::new(),
    )))
}

fn code_of(form: &CodeForm, errors: &mut FieldErrors) -> String {
    let code: String = form
        .code
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if code.is_empty() {
        errors.add(
            "code",
            "Enter the six-digit code your authenticator app shows.",
        );
    } else if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        errors.add("code", "The code is six digits.");
    }
    code
}

async fn verify(State(app): State<AppState>, posted: Posted<CodeForm>) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let next = return_path(form.next.as_deref());
    let mut errors = FieldErrors::new();
    let code = code_of(&form, &mut errors);
    if errors.is_empty() {
        match sessions::verify_totp(&app, &viewer.caller, &code).await {
            Ok(()) => {
                // Back to where the person was (the activation that needed it), when known.
                let to = if next.is_empty() { "/portal/security" } else { next.as_str() };
                return Ok(redirect_with(
                    &app,
                    to,
                    Flash::success("Your authenticator is set up. From now on, sign in with its code."),
                ));
            }
            Err(e) if e.code == "NoPendingEnrolment" => {
                return Ok(Redirect::to("/portal/security").into_response());
            }
            Err(e) if e.status().is_client_error() => errors.add(
                "code",
                "That code does not match the new authenticator. Check the app's clock and try the next code.",
            ),
            Err(e) => return Err(e.into()),
        }
    }
    let pending = sessions::pending_enrolment(&app, &viewer.caller).await?;
    let Some(pending) = pending else {
        return Ok(Redirect::to("/portal/security").into_response());
    };
    let upn = viewer.caller.upn.clone().unwrap_or_default();
    Ok(render_status(
        axum::http::StatusCode::BAD_REQUEST,
        &enrol_page(&viewer, &upn, &pending.secret_base32, next, errors),
    ))
}

fn clean_next(next: Option<&str>) -> String {
    next.and_then(local_portal_path)
        .unwrap_or("/portal/roles")
        .to_string()
}

async fn step_up_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NextQuery>,
) -> PageResult<Response> {
    let factors = sessions::second_factors(&app, viewer.caller.id).await?;
    if !factors.any() {
        return Ok(redirect_with(
            &app,
            "/portal/security",
            Flash::warning(
                "Set up an authenticator app or a passkey first: the action you chose needs a second factor.",
            ),
        ));
    }
    Ok(render(&StepUpPage {
        chrome: viewer.chrome(Section::Security),
        next: clean_next(q.next.as_deref()),
        errors: FieldErrors::new(),
        totp: factors.totp,
        passkey: factors.passkeys,
    }))
}

async fn step_up(State(app): State<AppState>, posted: Posted<CodeForm>) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let next = clean_next(form.next.as_deref());
    let mut errors = FieldErrors::new();
    let factors = sessions::second_factors(&app, viewer.caller.id).await?;
    let given = Proof::of(form.code.as_deref(), form.passkey.as_deref());
    match &given {
        Proof::Missing if !factors.totp => errors.add(
            "code",
            "Press Verify and answer your browser's passkey prompt.",
        ),
        Proof::Missing | Proof::Code(_) => {
            code_of(&form, &mut errors);
        }
        Proof::Passkey(_) | Proof::Unreadable => {}
    }
    if errors.is_empty() {
        match proof::step_up(&app, &viewer.caller, &given).await {
            Ok(_) => {
                return Ok(redirect_with(
                    &app,
                    &next,
                    Flash::success("Verified. You can go on."),
                ));
            }
            Err(e) if e.code == "MfaNotEnrolled" => {
                return Ok(Redirect::to("/portal/security").into_response());
            }
            Err(e) if e.status().is_client_error() => {
                errors.add("code", proof::refusal_text(&given, &e))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(render_status(
        axum::http::StatusCode::BAD_REQUEST,
        &StepUpPage {
            chrome: viewer.chrome(Section::Security),
            next,
            errors,
            totp: factors.totp,
            passkey: factors.passkeys,
        },
    ))
}
