//! A form's fresh second factor: the six-digit code typed into it, or a passkey's assertion
//! that `assets/passkey.js` put into its hidden `passkey` field (after asking
//! `POST /portal/step-up/passkey/options` for the challenge). Each is proved by its own use
//! case, `sessions::step_up` or `passkeys::finish_step_up`, exactly as the API proves them;
//! this module only tells which one the form carried and answers the options as JSON.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;

use crate::app::{App, AppState};
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::portal::form::Posted;
use crate::service::{passkeys, sessions};

pub fn routes() -> Router<AppState> {
    Router::new().route("/portal/step-up/passkey/options", post(step_up_options))
}

/// What a form offered as proof.
pub enum Proof {
    /// Nothing: no code typed and no passkey answer.
    Missing,
    /// The code as typed (whitespace removed; its shape is checked by the use case's caller).
    Code(String),
    /// A passkey's answer.
    Passkey(Box<PublicKeyCredential>),
    /// A `passkey` field that is not a WebAuthn assertion.
    Unreadable,
}

impl Proof {
    /// A passkey answer wins over a code: the script fills it only when the person chose it.
    pub fn of(code: Option<&str>, passkey: Option<&str>) -> Self {
        if let Some(raw) = passkey.map(str::trim).filter(|p| !p.is_empty()) {
            return serde_json::from_str::<PublicKeyCredential>(raw)
                .map(|c| Proof::Passkey(Box::new(c)))
                .unwrap_or(Proof::Unreadable);
        }
        let code: String = code
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if code.is_empty() {
            Proof::Missing
        } else {
            Proof::Code(code)
        }
    }

    pub fn is_passkey(&self) -> bool {
        matches!(self, Proof::Passkey(_) | Proof::Unreadable)
    }
}

/// A code that is not six digits, in words for the form (None when it is fine).
pub fn code_shape_problem(code: &str) -> Option<&'static str> {
    (code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()))
        .then_some("The code is six digits.")
}

/// Proves `proof` on the caller's session through the use case it belongs to; the moment of
/// the proof on success. `Missing` answers `MfaRequired` (the caller says what to do).
pub async fn step_up(app: &App, caller: &Caller, proof: &Proof) -> UseCaseResult<DateTime<Utc>> {
    match proof {
        Proof::Code(code) => sessions::step_up(app, caller, code).await,
        Proof::Passkey(credential) => passkeys::finish_step_up(app, caller, credential)
            .await
            .map(|(at, _)| at),
        Proof::Unreadable => Err(Failure::bad_request(
            "InvalidPublicKeyCredential",
            "the passkey's answer could not be read",
        )),
        Proof::Missing => {
            Err(Failure::forbidden("a fresh second factor is needed")
                .with_detail("MfaRequired", "otp"))
        }
    }
}

/// What the person reads when a proof was refused (the use case's code decides which).
pub fn refusal_text(proof: &Proof, e: &Failure) -> String {
    if e.status() == StatusCode::TOO_MANY_REQUESTS {
        return e.message.clone();
    }
    if proof.is_passkey() {
        return match e.code {
            "NoPendingCeremony" => "The passkey's challenge had expired or was already answered. Try again: your browser will ask for the passkey once more.".into(),
            _ => "Your passkey's answer was refused (a different passkey, or one that is no longer registered). Try again, or use your authenticator app's code.".into(),
        };
    }
    "That code is incorrect or was already used. Wait for the next code and try again.".into()
}

/// A JSON answer for the portal's script: the failure's code and message with its status.
pub fn json_failure(e: &Failure) -> Response {
    let status = e.status();
    let body = Json(json!({ "error": { "code": e.code, "message": e.message } }));
    (status, body).into_response()
}

#[derive(Debug, Deserialize)]
struct Empty {}

/// The challenge for a step-up with a passkey on this session (the form is then posted with
/// the answer in its `passkey` field).
async fn step_up_options(State(app): State<AppState>, posted: Posted<Empty>) -> Response {
    match passkeys::begin_step_up(&app, &posted.viewer.caller).await {
        Ok(options) => Json(options).into_response(),
        Err(e) => json_failure(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_carries_a_code_a_passkey_or_nothing() {
        assert!(matches!(Proof::of(None, None), Proof::Missing));
        assert!(matches!(Proof::of(Some(" "), Some("")), Proof::Missing));
        assert!(matches!(Proof::of(Some("123 456"), None), Proof::Code(c) if c == "123456"));
        assert!(matches!(
            Proof::of(Some("123456"), Some("{}")),
            Proof::Unreadable
        ));
        assert!(Proof::of(None, Some("not json")).is_passkey());
        assert_eq!(code_shape_problem("123456"), None);
        assert!(code_shape_problem("12345").is_some());
        assert!(code_shape_problem("12345a").is_some());
    }
}
