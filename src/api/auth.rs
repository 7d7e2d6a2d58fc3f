//! `/v1/auth/*` and `/v1/me/authenticationMethods/*`: getting, strengthening and ending a session.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::sessions;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(stepup))
        .routes(routes!(logout))
        .routes(routes!(begin_totp))
        .routes(routes!(verify_totp))
}

/// Either a user (`username` + `password`, optional `otp`) or a service principal
/// (`clientId` + `clientSecret`).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenRequest {
    username: Option<String>,
    password: Option<String>,
    otp: Option<String>,
    /// A Temporary Access Pass, in place of the password (and code).
    temporary_access_pass: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    #[serde(rename = "grant_type", alias = "grantType")]
    _grant_type: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpRequest {
    /// The authenticator app's six digits.
    #[schema(pattern = r"^[0-9]{6}$")]
    otp: String,
}

pub use crate::auth::client_address::ClientAddress;

fn issued(i: sessions::Issued) -> Json<Value> {
    Json(json!({
        "access_token": i.access_token,
        "token_type": "Bearer",
        "expires_in": i.expires_in,
        "amr": i.amr,
    }))
}

#[utoipa::path(post, path = "/v1/auth/token", tag = "auth", request_body = crate::api::schemas::SignIn, security(()),
    responses((status = 200, description = "A bearer token", body = crate::api::schemas::Token),
        (status = 401, description = "InvalidCredentials (the same for an unknown user and a wrong password)"),
        (status = 429, description = "Throttled: too many failed attempts; try again after `Retry-After`")))]
async fn token(
    State(app): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(req): JsonBody<TokenRequest>,
) -> ApiResult<Json<Value>> {
    match req {
        TokenRequest {
            username: Some(u),
            temporary_access_pass: Some(pass),
            password: None,
            otp: None,
            client_id: None,
            client_secret: None,
            ..
        } => Ok(issued(
            sessions::sign_in_with_pass(
                &app,
                sessions::Channel::Api,
                &u,
                &pass,
                address.as_deref(),
            )
            .await?,
        )),
        TokenRequest {
            username: Some(u),
            password: Some(p),
            client_id: None,
            client_secret: None,
            temporary_access_pass: None,
            otp,
            ..
        } => {
            let otp = otp.filter(|o| !o.is_empty());
            Ok(issued(
                sessions::sign_in_user(
                    &app,
                    sessions::Channel::Api,
                    &u,
                    &p,
                    otp.as_deref(),
                    address.as_deref(),
                )
                .await?,
            ))
        }
        TokenRequest {
            client_id: Some(c),
            client_secret: Some(s),
            username: None,
            password: None,
            otp: None,
            temporary_access_pass: None,
            ..
        } => Ok(issued(
            sessions::sign_in_service_principal(&app, &c, &s, address.as_deref()).await?,
        )),
        _ => Err(ApiError::bad_request(
            "Request_BadRequest",
            "give either username and password (and optionally otp), username and temporaryAccessPass, or clientId and clientSecret",
        )
        .with_detail("MissingCredentials", "body")),
    }
}

#[utoipa::path(post, path = "/v1/auth/stepup", tag = "auth", request_body = OtpRequest,
    responses((status = 200, description = "MFA recorded on this session", body = crate::api::schemas::SteppedUp),
        (status = 400, description = "MfaNotEnrolled: the account has no verified authenticator"),
        (status = 401, description = "Wrong or reused code"),
        (status = 429, description = "Throttled: too many wrong codes; try again after `Retry-After`")))]
async fn stepup(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<OtpRequest>,
) -> ApiResult<Json<Value>> {
    let at = sessions::step_up(&app, &caller, req.otp.trim()).await?;
    Ok(Json(
        json!({ "lastMfaDateTime": at, "amr": ["pwd", "otp"] }),
    ))
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", responses((status = 204, description = "Session revoked")))]
async fn logout(
    State(app): State<AppState>,
    caller: Caller,
    _headers: HeaderMap,
) -> ApiResult<StatusCode> {
    sessions::sign_out(&app, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/me/authenticationMethods/totp", tag = "auth",
    responses((status = 200, description = "A new TOTP secret, not active until verified", body = crate::api::schemas::TotpEnrolment)))]
async fn begin_totp(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let e = sessions::begin_totp(&app, &caller).await?;
    Ok(Json(
        json!({ "secret": e.secret, "otpauthUri": e.otpauth_uri }),
    ))
}

#[utoipa::path(post, path = "/v1/me/authenticationMethods/totp/verify", tag = "auth", request_body = OtpRequest,
    responses((status = 204, description = "TOTP is on"),
        (status = 400, description = "InvalidOtp: the code does not match the new authenticator; NoPendingEnrolment")))]
async fn verify_totp(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<OtpRequest>,
) -> ApiResult<StatusCode> {
    sessions::verify_totp(&app, &caller, req.otp.trim()).await?;
    Ok(StatusCode::NO_CONTENT)
}
