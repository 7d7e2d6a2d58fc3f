//! Sign-in, step-up, sign-out and TOTP enrolment. Every attempt, failed ones included, lands in
//! the audit trail; failures feed the throttle; unknown user and wrong password answer alike.

use chrono::{DateTime, Utc};
use eligo_core::audit::{Actor, AuditEvent, Category, Initiator};
use eligo_core::directory::User;
use eligo_store::TokenRecord;
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::auth::totp::{self, TotpCredential};
use crate::auth::{Caller, password, token};
use crate::error::{ApiError, ApiResult};

pub const PASSWORD: &str = "password";
pub const TOTP: &str = "totp";
pub const TOTP_PENDING: &str = "totpPending";
pub const CLIENT_SECRET: &str = "clientSecret";

/// Where a session is used: API tokens live `token_lifetime`; portal sessions end after
/// `portal_idle_timeout` without use (the portal slides that end forward, never past
/// `token_lifetime`) and demand the code of an enrolled authenticator at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Api,
    Portal,
}

pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub amr: Vec<String>,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(
        "InvalidCredentials",
        "the user name, password or code is incorrect",
    )
}

fn user_actor(user: &User) -> Initiator {
    Initiator::User(Actor {
        id: Some(user.id),
        display_name: user.display_name.clone(),
        user_principal_name: Some(user.user_principal_name.clone()),
    })
}

/// Records a failed attempt durably, then answers with `error`.
async fn fail(
    app: &App,
    event: AuditEvent,
    account: &str,
    address: Option<&str>,
    error: ApiError,
) -> ApiError {
    app.throttle
        .record_failure(account, address, event.activity_date_time);
    let write = async {
        let mut tx = app.store.write().await?;
        tx.append_audit(event).await?;
        tx.commit().await
    };
    if let Err(e) = write.await {
        return ApiError::from(e);
    }
    error
}

fn throttled(secs: u64) -> ApiError {
    let mut e = ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "too many failed sign-in attempts; try again later",
    );
    e.retry_after_secs = Some(secs);
    e
}

fn new_session(
    app: &App,
    principal: Uuid,
    now: DateTime<Utc>,
    amr: Vec<String>,
    mfa: bool,
    channel: Channel,
) -> (String, TokenRecord) {
    let raw = token::generate("elg_");
    let lifetime = match channel {
        Channel::Api => app.config.token_lifetime,
        Channel::Portal => app
            .config
            .portal_idle_timeout
            .min(app.config.token_lifetime),
    };
    let record = TokenRecord {
        token_hash: token::digest(&raw),
        principal_id: principal,
        created_at: now,
        expires_at: Some(now + lifetime),
        revoked_at: None,
        last_mfa_at: mfa.then_some(now),
        amr,
    };
    (raw, record)
}

pub async fn sign_in_user(
    app: &App,
    channel: Channel,
    upn: &str,
    pwd: &str,
    otp: Option<&str>,
    address: Option<&str>,
) -> ApiResult<Issued> {
    let now = app.clock.now();
    let attempt = |reason: &str| {
        AuditEvent::new(
            now,
            Category::Authentication,
            "User sign-in failed",
            Initiator::User(Actor {
                id: None,
                display_name: upn.chars().take(113).collect(),
                user_principal_name: Some(upn.chars().take(113).collect()),
            }),
        )
        .detail("ipAddress", address.unwrap_or("-"))
        .failed(reason)
    };
    if let Some(secs) = app.throttle.blocked(upn, address, now) {
        return Err(fail(app, attempt("throttled"), upn, address, throttled(secs)).await);
    }
    let mut tx = app.store.read().await?;
    let user = tx.find_user_by_upn(upn).await?;
    let Some(user) = user else {
        password::verify_dummy(pwd);
        return Err(fail(
            app,
            attempt("invalidCredentials"),
            upn,
            address,
            invalid_credentials(),
        )
        .await);
    };
    let stored = tx.get_credential(user.id, PASSWORD).await?;
    let hash = stored
        .as_ref()
        .and_then(|c| c["hash"].as_str())
        .map(String::from);
    let totp_cred: Option<TotpCredential> = tx
        .get_credential(user.id, TOTP)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .filter(|c: &TotpCredential| c.verified);
    drop(tx);
    let password_ok = match &hash {
        Some(h) => password::verify(pwd, h),
        None => {
            password::verify_dummy(pwd);
            false
        }
    };
    let attempt = |reason: &str| {
        AuditEvent::new(
            now,
            Category::Authentication,
            "User sign-in failed",
            user_actor(&user),
        )
        .target(user.id, "User", Some(&user.user_principal_name))
        .detail("ipAddress", address.unwrap_or("-"))
        .failed(reason)
    };
    if !password_ok || !user.account_enabled {
        let reason = if password_ok {
            "accountDisabled"
        } else {
            "invalidCredentials"
        };
        return Err(fail(app, attempt(reason), upn, address, invalid_credentials()).await);
    }
    if channel == Channel::Portal && otp.is_none() && totp_cred.is_some() {
        let e = ApiError::unauthorized(
            "MfaCodeRequired",
            "enter the code from your authenticator app",
        );
        return Err(fail(app, attempt("otpMissing"), upn, address, e).await);
    }
    let mut amr = vec!["pwd".to_string()];
    let mut step = None;
    if let Some(code) = otp {
        match totp_cred.as_ref().and_then(|c| totp::check(c, code, now)) {
            Some(s) => {
                step = Some(s);
                amr.push("otp".into());
            }
            None => {
                return Err(fail(
                    app,
                    attempt("invalidOtp"),
                    upn,
                    address,
                    invalid_credentials(),
                )
                .await);
            }
        }
    }
    let (raw, record) = new_session(app, user.id, now, amr.clone(), step.is_some(), channel);
    let mut tx = app.store.write().await?;
    if let (Some(step), Some(mut cred)) = (step, totp_cred) {
        // Re-read under the write lock: a concurrent sign-in may have used this code already.
        let current: Option<TotpCredential> = tx
            .get_credential(user.id, TOTP)
            .await?
            .and_then(|v| serde_json::from_value(v).ok());
        if current
            .and_then(|c| c.last_step)
            .is_some_and(|last| step <= last)
        {
            drop(tx);
            return Err(fail(
                app,
                attempt("otpReplay"),
                upn,
                address,
                invalid_credentials(),
            )
            .await);
        }
        cred.last_step = Some(step);
        tx.put_credential(user.id, TOTP, &json!(cred), now.timestamp_micros())
            .await?;
    }
    tx.insert_token(&record).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::Authentication,
            "User signed in",
            user_actor(&user),
        )
        .target(user.id, "User", Some(&user.user_principal_name))
        .detail("ipAddress", address.unwrap_or("-"))
        .detail("amr", amr.join(",")),
    )
    .await?;
    tx.commit().await?;
    app.throttle.record_success(upn);
    Ok(Issued {
        access_token: raw,
        expires_in: app.config.token_lifetime.num_seconds(),
        amr,
    })
}

pub async fn sign_in_service_principal(
    app: &App,
    client_id: &str,
    secret: &str,
    address: Option<&str>,
) -> ApiResult<Issued> {
    let now = app.clock.now();
    let attempt = |id: Option<Uuid>, reason: &str| {
        AuditEvent::new(
            now,
            Category::Authentication,
            "Service principal sign-in failed",
            Initiator::App(Actor {
                id,
                display_name: client_id.chars().take(64).collect(),
                user_principal_name: None,
            }),
        )
        .detail("ipAddress", address.unwrap_or("-"))
        .failed(reason)
    };
    if let Some(secs) = app.throttle.blocked(client_id, address, now) {
        return Err(fail(
            app,
            attempt(None, "throttled"),
            client_id,
            address,
            throttled(secs),
        )
        .await);
    }
    let sp = match Uuid::parse_str(client_id) {
        Ok(app_id) => {
            app.store
                .read()
                .await?
                .find_service_principal_by_app_id(app_id)
                .await?
        }
        Err(_) => None,
    };
    let Some(sp) = sp else {
        return Err(fail(
            app,
            attempt(None, "invalidCredentials"),
            client_id,
            address,
            invalid_credentials(),
        )
        .await);
    };
    let stored = app
        .store
        .read()
        .await?
        .get_credential(sp.id, CLIENT_SECRET)
        .await?;
    let ok = stored
        .as_ref()
        .and_then(|c| c["hash"].as_str())
        .is_some_and(|h| token::digests_equal(h, &token::digest(secret)));
    if !ok || !sp.account_enabled {
        return Err(fail(
            app,
            attempt(Some(sp.id), "invalidCredentials"),
            client_id,
            address,
            invalid_credentials(),
        )
        .await);
    }
    let amr = vec!["secret".to_string()];
    let (raw, record) = new_session(app, sp.id, now, amr.clone(), false, Channel::Api);
    let mut tx = app.store.write().await?;
    tx.insert_token(&record).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::Authentication,
            "Service principal signed in",
            Initiator::App(Actor {
                id: Some(sp.id),
                display_name: sp.display_name.clone(),
                user_principal_name: None,
            }),
        )
        .target(sp.id, "ServicePrincipal", Some(&sp.display_name)),
    )
    .await?;
    tx.commit().await?;
    Ok(Issued {
        access_token: raw,
        expires_in: app.config.token_lifetime.num_seconds(),
        amr,
    })
}

/// Records a fresh second factor on the calling session.
pub async fn step_up(app: &App, caller: &Caller, code: &str) -> ApiResult<DateTime<Utc>> {
    let now = app.clock.now();
    let account = caller.upn.clone().unwrap_or_else(|| caller.id.to_string());
    if let Some(secs) = app.throttle.blocked(&account, None, now) {
        return Err(throttled(secs));
    }
    let mut tx = app.store.write().await?;
    let cred: Option<TotpCredential> = tx
        .get_credential(caller.id, TOTP)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .filter(|c: &TotpCredential| c.verified);
    let Some(mut cred) = cred else {
        return Err(ApiError::bad_request(
            "MfaNotEnrolled",
            "no verified TOTP authenticator is registered; enrol one first",
        ));
    };
    let event = AuditEvent::new(
        now,
        Category::Authentication,
        "Step-up authentication",
        caller.initiator(),
    )
    .target(caller.id, "User", caller.upn.as_deref());
    let Some(step) = totp::check(&cred, code, now) else {
        drop(tx);
        let e = ApiError::unauthorized(
            "InvalidCredentials",
            "the code is incorrect or was already used",
        );
        return Err(fail(app, event.failed("invalidOtp"), &account, None, e).await);
    };
    cred.last_step = Some(step);
    tx.put_credential(caller.id, TOTP, &json!(cred), now.timestamp_micros())
        .await?;
    let mut session = caller.session.clone();
    session.last_mfa_at = Some(now);
    if !session.amr.iter().any(|m| m == "otp") {
        session.amr.push("otp".into());
    }
    tx.update_token(&session).await?;
    tx.append_audit(event).await?;
    tx.commit().await?;
    Ok(now)
}

pub async fn sign_out(app: &App, caller: &Caller) -> ApiResult<()> {
    let now = app.clock.now();
    let mut session = caller.session.clone();
    session.revoked_at = Some(now);
    let mut tx = app.store.write().await?;
    tx.update_token(&session).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::Authentication,
            "User signed out",
            caller.initiator(),
        )
        .target(caller.id, "User", caller.upn.as_deref()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

/// Starts TOTP enrolment. Replacing an authenticator that is already verified needs a fresh
/// MFA, or a stolen password would be enough to take over the second factor.
pub async fn begin_totp(app: &App, caller: &Caller) -> ApiResult<Enrolment> {
    let now = app.clock.now();
    let Some(upn) = caller.upn.clone() else {
        return Err(ApiError::bad_request(
            "NotSupported",
            "only users enrol TOTP authenticators",
        ));
    };
    let mut tx = app.store.write().await?;
    let existing = tx.get_credential(caller.id, TOTP).await?;
    let verified = existing
        .as_ref()
        .is_some_and(|c| c["verified"].as_bool() == Some(true));
    if verified && !caller.mfa_is_fresh(now, app.config.mfa_freshness) {
        return Err(ApiError::forbidden(
            "replacing a registered authenticator needs a recent step-up (POST /v1/auth/stepup)",
        )
        .with_detail("MfaRequired", "otp"));
    }
    let secret = totp::new_secret();
    let uri = totp::otpauth_uri(&secret, &upn)
        .ok_or_else(|| ApiError::internal("totp uri", "could not build"))?;
    let pending = TotpCredential {
        secret_base32: secret.clone(),
        verified: false,
        last_step: None,
    };
    tx.put_credential(
        caller.id,
        TOTP_PENDING,
        &json!(pending),
        now.timestamp_micros(),
    )
    .await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::UserManagement,
            "User started security info registration",
            caller.initiator(),
        )
        .target(caller.id, "User", Some(&upn))
        .detail("method", "totp"),
    )
    .await?;
    tx.commit().await?;
    Ok(Enrolment {
        secret,
        otpauth_uri: uri,
    })
}

/// Completes enrolment with a code from the new authenticator; this also counts as a fresh MFA.
pub async fn verify_totp(app: &App, caller: &Caller, code: &str) -> ApiResult<()> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let pending: Option<TotpCredential> = tx
        .get_credential(caller.id, TOTP_PENDING)
        .await?
        .and_then(|v| serde_json::from_value(v).ok());
    let Some(mut pending) = pending.filter(|p| !p.secret_base32.is_empty()) else {
        return Err(ApiError::bad_request(
            "NoPendingEnrolment",
            "start with POST /v1/me/authenticationMethods/totp",
        ));
    };
    let Some(step) = totp::check(&pending, code, now) else {
        return Err(ApiError::bad_request(
            "InvalidOtp",
            "the code does not match the new authenticator",
        ));
    };
    pending.verified = true;
    pending.last_step = Some(step);
    tx.put_credential(caller.id, TOTP, &json!(pending), now.timestamp_micros())
        .await?;
    let cleared = TotpCredential {
        secret_base32: String::new(),
        verified: false,
        last_step: None,
    };
    tx.put_credential(
        caller.id,
        TOTP_PENDING,
        &json!(cleared),
        now.timestamp_micros(),
    )
    .await?;
    let mut session = caller.session.clone();
    session.last_mfa_at = Some(now);
    if !session.amr.iter().any(|m| m == "otp") {
        session.amr.push("otp".into());
    }
    tx.update_token(&session).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::UserManagement,
            "User registered security info",
            caller.initiator(),
        )
        .target(caller.id, "User", caller.upn.as_deref())
        .detail("method", "totp"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
