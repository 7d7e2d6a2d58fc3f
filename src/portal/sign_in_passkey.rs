//! "Use a passkey" on the sign-in page: the password opens a sign-in ceremony
//! (`passkeys::begin_sign_in`, answered here as JSON for `assets/passkey.js`), and the sign-in
//! form is then posted with the passkey's answer (`passkeys::finish_sign_in`, on the portal
//! channel). Both halves are the API's use cases, so they answer, throttle and audit alike; the
//! page tells nothing more than they do (a wrong password and an account without passkeys read
//! the same). The form carries the pre-session anti-forgery token like every sign-in post.

use axum::Json;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;
use webauthn_rs::prelude::PublicKeyCredential;

use crate::api::auth::ClientAddress;
use crate::app::{App, AppState};
use crate::failure::{Failure, UseCaseResult};
use crate::portal::proof::json_failure;
use crate::service::passkeys;
use crate::service::sessions::{Channel, Issued};

#[derive(Debug, Deserialize)]
pub struct OptionsForm {
    csrf: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// The generic refusal of a sign-in that did not work (any reason reads the same).
const REFUSED: &str = "The user name, password or passkey was not accepted. Check your user name and password, then choose Use a passkey again (or enter your authenticator code and choose Sign in).";

/// The challenge for the person's passkeys, once the password is right.
pub async fn options(
    State(app): State<AppState>,
    headers: HeaderMap,
    ClientAddress(address): ClientAddress,
    form: Result<Form<OptionsForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return json_failure(&Failure::bad_request(
            "Request_BadRequest",
            "the sign-in form could not be read",
        ));
    };
    if !super::sign_in::genuine(&app, &headers, form.csrf.as_deref()) {
        return json_failure(&Failure::forbidden(
            "The sign-in form had expired. Nothing was sent; reload the page and sign in again.",
        ));
    }
    let username = form.username.unwrap_or_default().trim().to_string();
    let password = form.password.unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return json_failure(&Failure::bad_request(
            "Request_BadRequest",
            "Enter your user name and password first, then choose Use a passkey.",
        ));
    }
    match passkeys::begin_sign_in(&app, &username, &password, address.as_deref()).await {
        Ok((ceremony, options)) => {
            let mut v = serde_json::to_value(options).unwrap_or_else(|_| json!({}));
            v["ceremonyId"] = json!(ceremony);
            Json(v).into_response()
        }
        Err(e) if e.code == "InvalidCredentials" => {
            json_failure(&Failure::unauthorized("InvalidCredentials", REFUSED))
        }
        Err(e) => {
            let mut resp = json_failure(&e);
            if let Some(secs) = e.retry_after_secs {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, secs.into());
            }
            resp
        }
    }
}

/// The second half: the passkey's answer to `ceremony` opens a portal session.
pub async fn finish(
    app: &App,
    username: &str,
    ceremony: Option<&str>,
    answer: &str,
    address: Option<&str>,
) -> UseCaseResult<Issued> {
    let no_answer = || {
        Failure::bad_request(
            "PasskeyAnswerMissing",
            "Signing in with a passkey needs your browser's passkey support (and JavaScript). Enter your authenticator code instead, or use a browser that supports passkeys.",
        )
    };
    if answer.is_empty() {
        return Err(no_answer());
    }
    let ceremony = ceremony
        .and_then(|c| Uuid::parse_str(c.trim()).ok())
        .ok_or_else(no_answer)?;
    let credential = serde_json::from_str::<PublicKeyCredential>(answer).map_err(|_| {
        Failure::bad_request(
            "InvalidPublicKeyCredential",
            "The browser's passkey answer could not be read. Try again.",
        )
    })?;
    passkeys::finish_sign_in(
        app,
        Channel::Portal,
        username,
        ceremony,
        &credential,
        address,
    )
    .await
}

/// What the sign-in page says when `finish` failed.
pub fn refusal(e: &Failure) -> String {
    match e.status() {
        StatusCode::UNAUTHORIZED => REFUSED.to_string(),
        _ => e.message.clone(),
    }
}
