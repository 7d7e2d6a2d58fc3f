//! Passkeys in Security info: the list (name, added, last used), "Add a passkey" and Remove.
//! Adding is two posts: `assets/passkey.js` asks `/portal/security/passkeys/options` for the
//! creation options (JSON), lets the browser create the credential, and posts the form with the
//! attestation in its `credential` field. Both halves and removal are `service::passkeys`'s use
//! cases with the signed-in person as the caller, so the rules are the API's: a fresh second
//! factor when the person already has one, never the last factor removed.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use crate::app::{App, AppState};
use crate::auth::passkey::StoredPasskey;
use crate::failure::Failure;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::me::TimeView;
use crate::portal::page::{PageError, PageResult, redirect_with};
use crate::portal::proof::json_failure;
use crate::service::passkeys;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/security/passkeys/options", post(options))
        .route("/portal/security/passkeys", post(register))
        .route("/portal/security/passkeys/{id}/remove", post(remove))
}

/// Where a person goes to prove a second factor before changing them.
const STEP_UP: &str = "/portal/step-up?next=%2Fportal%2Fsecurity";

/// One row of Security info's passkey table.
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: TimeView,
    pub last_used: Option<TimeView>,
}

impl PasskeyRow {
    pub fn of(k: &StoredPasskey) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.display_name.clone(),
            created: TimeView::of(k.created_at),
            last_used: k.last_used_at.map(TimeView::of),
        }
    }
}

#[derive(Debug, Deserialize)]
struct NameForm {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RegisterForm {
    name: Option<String>,
    credential: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Empty {}

fn name_of(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

fn needs_fresh_mfa(e: &Failure) -> bool {
    e.details.iter().any(|d| d.code == "MfaRequired")
}

/// The creation options for `navigator.credentials.create`, or the refusal as JSON (with the
/// step-up page to go to when the person must prove their current factor first).
async fn options(State(app): State<AppState>, posted: Posted<NameForm>) -> Response {
    let name = name_of(posted.form.name.as_deref());
    match passkeys::begin_registration(&app, &posted.viewer.caller, name).await {
        Ok(options) => Json(options).into_response(),
        Err(e) if needs_fresh_mfa(&e) => (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": { "code": "MfaRequired", "message": "Adding a passkey needs your current second factor first.", "stepUp": STEP_UP } })),
        )
            .into_response(),
        Err(e) => json_failure(&e),
    }
}

fn back(app: &App, flash: Flash) -> Response {
    redirect_with(app, "/portal/security", flash)
}

/// The attestation the browser made: the passkey is stored, or Security info says why not.
async fn register(
    State(app): State<AppState>,
    posted: Posted<RegisterForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let raw = form.credential.as_deref().map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Ok(back(
            &app,
            Flash::warning(
                "Adding a passkey needs your browser's passkey support (and JavaScript): nothing was added.",
            ),
        ));
    }
    let Ok(credential) = serde_json::from_str::<RegisterPublicKeyCredential>(raw) else {
        return Ok(back(
            &app,
            Flash::warning("The browser's answer could not be read: nothing was added. Try again."),
        ));
    };
    let name = name_of(form.name.as_deref());
    match passkeys::finish_registration(&app, &viewer.caller, name, &credential).await {
        Ok(stored) => Ok(back(
            &app,
            Flash::success(format!(
                "Passkey \"{}\" added. You can use it instead of a code to sign in and to verify it is you.",
                stored.display_name
            )),
        )),
        Err(e) if needs_fresh_mfa(&e) => Ok(redirect_with(
            &app,
            STEP_UP,
            Flash::info("Adding a passkey needs your current second factor first."),
        )),
        Err(e) if e.status().is_client_error() => Ok(back(
            &app,
            Flash::warning(format!("The passkey was not added: {}", e.message)),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn remove(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Empty>,
) -> PageResult<Response> {
    let Ok(id) = Uuid::parse_str(id.trim()) else {
        return Err(PageError::Api(Failure::not_found("passkey")));
    };
    match passkeys::remove(&app, &posted.viewer.caller, id).await {
        Ok(()) => Ok(back(
            &app,
            Flash::success("Passkey removed. Your other sessions were signed out."),
        )),
        Err(e) if needs_fresh_mfa(&e) => Ok(redirect_with(
            &app,
            STEP_UP,
            Flash::info(
                "Removing a passkey needs a fresh second factor: verify it is you, then remove it again.",
            ),
        )),
        Err(e) if e.code == "LastAuthenticationMethod" => Ok(back(
            &app,
            Flash::warning(
                "This passkey is your only second factor, so it stays: add another passkey or set up an authenticator app first.",
            ),
        )),
        Err(e) => Err(e.into()),
    }
}
