//! Passkeys (WebAuthn): `/v1/me/authenticationMethods/passkeys[...]` to register, list and
//! remove them, and the assertion pairs `/v1/auth/passkeys/signIn*` and
//! `/v1/auth/passkeys/stepUp*`. Handlers stay thin: `service::passkeys` decides and writes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::api::auth::ClientAddress;
use crate::api::body::JsonBody;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::passkeys;
use crate::service::sessions;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(registration_options))
        .routes(routes!(register, list))
        .routes(routes!(remove))
        .routes(routes!(sign_in_options))
        .routes(routes!(sign_in))
        .routes(routes!(step_up_options))
        .routes(routes!(step_up))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationOptionsRequest {
    /// A name for the new passkey (also accepted with the attestation).
    #[schema(max_length = 200)]
    display_name: Option<String>,
}

/// Graph's shape: the name and the browser's `PublicKeyCredential` (base64url binary fields).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(max_length = 200)]
    display_name: Option<String>,
    #[schema(value_type = Object)]
    public_key_credential: Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInOptionsRequest {
    username: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInRequest {
    username: String,
    ceremony_id: Uuid,
    #[schema(value_type = Object)]
    public_key_credential: Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssertionRequest {
    #[schema(value_type = Object)]
    public_key_credential: Value,
}

fn credential<T: serde::de::DeserializeOwned>(v: Value) -> ApiResult<T> {
    serde_json::from_value(v).map_err(|e| {
        ApiError::bad_request(
            "InvalidPublicKeyCredential",
            format!("publicKeyCredential is not a WebAuthn credential: {e}"),
        )
        .with_detail("InvalidPublicKeyCredential", "publicKeyCredential")
    })
}

fn to_json(v: impl serde::Serialize) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

#[utoipa::path(post, path = "/v1/me/authenticationMethods/passkeys/registrationOptions", tag = "auth",
    request_body = RegistrationOptionsRequest,
    responses((status = 200, description = "PublicKeyCredentialCreationOptions (`publicKey`), valid for 5 minutes, for this session only", body = crate::api::schemas::PasskeyOptions),
        (status = 400, description = "PasskeysUnavailable: ELIGO_PUBLIC_URL has no host name"),
        (status = 403, description = "MfaRequired: the account has a second factor, prove it first; TemporaryAccessPassRequired"),
        (status = 409, description = "TooManyPasskeys")))]
async fn registration_options(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<RegistrationOptionsRequest>,
) -> ApiResult<Json<Value>> {
    Ok(to_json(
        passkeys::begin_registration(&app, &caller, req.display_name).await?,
    ))
}

#[utoipa::path(post, path = "/v1/me/authenticationMethods/passkeys", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, description = "The passkey is registered", body = crate::api::schemas::Passkey),
        (status = 400, description = "NoPendingCeremony, InvalidAttestation, InvalidPublicKeyCredential"),
        (status = 403, description = "MfaRequired"),
        (status = 409, description = "PasskeyAlreadyRegistered")))]
async fn register(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let cred: RegisterPublicKeyCredential = credential(req.public_key_credential)?;
    let stored = passkeys::finish_registration(&app, &caller, req.display_name, &cred).await?;
    Ok((StatusCode::CREATED, Json(stored.view())))
}

#[utoipa::path(get, path = "/v1/me/authenticationMethods/passkeys", tag = "auth",
    responses((status = 200, description = "The caller's passkeys", body = crate::api::schemas::PasskeyList)))]
async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let keys = passkeys::list(&app, &caller).await?;
    Ok(Json(json!({ "value": passkeys::views(&keys) })))
}

#[utoipa::path(delete, path = "/v1/me/authenticationMethods/passkeys/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "The passkey's id")),
    responses((status = 204, description = "Removed; the account's other sessions end"),
        (status = 403, description = "MfaRequired"),
        (status = 404, description = "No such passkey of the caller"),
        (status = 409, description = "LastAuthenticationMethod")))]
async fn remove(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("passkey"))?;
    passkeys::remove(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/auth/passkeys/signInOptions", tag = "auth", request_body = SignInOptionsRequest, security(()),
    responses((status = 200, description = "The password is right: PublicKeyCredentialRequestOptions for the account's passkeys", body = crate::api::schemas::PasskeySignInOptions),
        (status = 401, description = "InvalidCredentials (also for an account without passkeys)"),
        (status = 429, description = "Throttled")))]
async fn sign_in_options(
    State(app): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(req): JsonBody<SignInOptionsRequest>,
) -> ApiResult<Json<Value>> {
    let (ceremony, options) =
        passkeys::begin_sign_in(&app, &req.username, &req.password, address.as_deref()).await?;
    let mut v = serde_json::to_value(options).unwrap_or_else(|_| json!({}));
    v["ceremonyId"] = json!(ceremony);
    Ok(Json(v))
}

#[utoipa::path(post, path = "/v1/auth/passkeys/signIn", tag = "auth", request_body = SignInRequest, security(()),
    responses((status = 200, description = "A bearer token (amr pwd, fido)", body = crate::api::schemas::Token),
        (status = 400, description = "InvalidPublicKeyCredential"),
        (status = 401, description = "InvalidCredentials: a wrong, foreign, removed or replayed passkey answer"),
        (status = 429, description = "Throttled")))]
async fn sign_in(
    State(app): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(req): JsonBody<SignInRequest>,
) -> ApiResult<Json<Value>> {
    let cred: PublicKeyCredential = credential(req.public_key_credential)?;
    let i = passkeys::finish_sign_in(
        &app,
        sessions::Channel::Api,
        &req.username,
        req.ceremony_id,
        &cred,
        address.as_deref(),
    )
    .await?;
    Ok(Json(json!({
        "access_token": i.access_token,
        "token_type": "Bearer",
        "expires_in": i.expires_in,
        "amr": i.amr,
    })))
}

#[utoipa::path(post, path = "/v1/auth/passkeys/stepUpOptions", tag = "auth",
    responses((status = 200, description = "PublicKeyCredentialRequestOptions for this session's step-up", body = crate::api::schemas::PasskeyOptions),
        (status = 400, description = "MfaNotEnrolled: no passkey; PasskeysUnavailable")))]
async fn step_up_options(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(to_json(passkeys::begin_step_up(&app, &caller).await?))
}

#[utoipa::path(post, path = "/v1/auth/passkeys/stepUp", tag = "auth", request_body = AssertionRequest,
    responses((status = 200, description = "MFA recorded on this session", body = crate::api::schemas::SteppedUp),
        (status = 400, description = "NoPendingCeremony, InvalidPublicKeyCredential"),
        (status = 401, description = "InvalidCredentials: the passkey's answer was refused"),
        (status = 429, description = "Throttled")))]
async fn step_up(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<AssertionRequest>,
) -> ApiResult<Json<Value>> {
    let cred: PublicKeyCredential = credential(req.public_key_credential)?;
    let (at, amr) = passkeys::finish_step_up(&app, &caller, &cred).await?;
    Ok(Json(json!({ "lastMfaDateTime": at, "amr": amr })))
}
