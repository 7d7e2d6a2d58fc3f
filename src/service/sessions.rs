//! Sign-in, step-up, sign-out and TOTP enrolment. Every attempt, failed ones included, lands in
//! the audit trail; failures feed the throttle; unknown user and wrong password answer alike.

use chrono::{DateTime, Utc};
use eligo_core::audit::{Actor, AuditEvent, Category, Initiator};
use eligo_core::directory::User;
use eligo_store::{SignInKind, TokenRecord};
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::auth::throttle::Scope;
use crate::auth::totp::{self, TotpCredential};
use crate::auth::{Caller, password, token};
use crate::failure::{Failure, UseCaseResult};

pub use crate::auth::credential::{CLIENT_SECRET, PASSWORD, TOTP, TOTP_PENDING};

/// Where a session is used: API tokens live `token_lifetime`; portal sessions end after
/// `portal_idle_timeout` without use (the portal slides that end forward, never past
/// `token_lifetime`). Both demand the code of an enrolled authenticator at sign-in, and the
/// portal accepts only sessions issued for it.
pub use eligo_store::SessionChannel as Channel;

pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub amr: Vec<String>,
}

/// The one answer to every failed sign-in: it never tells a right password from a wrong one,
/// nor whether the account has an authenticator (a missing code answers the same).
pub(crate) fn invalid_credentials() -> Failure {
    Failure::unauthorized(
        "InvalidCredentials",
        "the user name, password or code is incorrect (an account with an authenticator also needs its current code)",
    )
}

pub(crate) fn user_actor(user: &User) -> Initiator {
    Initiator::User(Actor {
        id: Some(user.id),
        display_name: user.display_name.clone(),
        user_principal_name: Some(user.user_principal_name.clone()),
    })
}

/// Records a failed attempt, then answers with `error`. The first failure of a burst is
/// written at once; repeats are counted and written as one entry later
/// (`auth::throttle::FailureBursts`, flushed by `service::audit::flush_failures`).
pub(crate) async fn fail(
    app: &App,
    event: AuditEvent,
    account: &str,
    scope: Scope<'_>,
    error: Failure,
) -> Failure {
    let now = event.activity_date_time;
    // Counted in the store (shared by every server), and audited whether or not that worked.
    let counted = app
        .throttle
        .record_failure(&*app.store, account, scope, now)
        .await;
    let key = crate::auth::throttle::FailureBursts::key(&event, account, scope);
    let due = app
        .failure_bursts
        .record(key, account, event, now, app.config.audit_failure_window);
    if let Err(e) = crate::service::audit::write_failures(app, due).await {
        return Failure::from(e);
    }
    if let Err(e) = counted {
        return Failure::from(e);
    }
    error
}

pub(crate) fn throttled(secs: u64) -> Failure {
    let mut e = Failure::new(
        crate::failure::Kind::Throttled,
        "TooManyRequests",
        "too many failed sign-in attempts; try again later",
    );
    e.retry_after_secs = Some(secs);
    e
}

pub(crate) fn new_session(
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
        channel,
        acr: None,
        acr_at: None,
    };
    (raw, record)
}

/// Stores a new session with its "User signed in" entry, commits, clears the throttle of the
/// `account` name that was typed, and hands out the token.
pub(crate) async fn open_session(
    app: &App,
    mut tx: Box<dyn eligo_store::Tx + '_>,
    account: &str,
    user: &User,
    (raw, record): (String, TokenRecord),
    address: Option<&str>,
    now: DateTime<Utc>,
) -> UseCaseResult<Issued> {
    // Failures counted for this account go first, so the trail reads in order.
    let counted = app.failure_bursts.take_account(account, now);
    let written = async {
        for event in &counted {
            tx.append_audit(event.clone()).await?;
        }
        tx.insert_token(&record).await?;
        let mut signed_in = AuditEvent::new(
            now,
            Category::Authentication,
            "User signed in",
            user_actor(user),
        )
        .target(user.id, "User", Some(&user.user_principal_name))
        .detail("ipAddress", address.unwrap_or("-"))
        .detail("amr", record.amr.join(","));
        // The emergency-access account signing in is announced like its token (rule: loud).
        for (key, value) in
            crate::service::bootstrap::announce_sign_in(app, &mut *tx, user, address, now).await?
        {
            signed_in = signed_in.detail(key, value);
        }
        tx.append_audit(signed_in).await?;
        // Kept with the session it opens: a sign-in is in the history if and only if it
        // committed (password, portal and Temporary Access Pass sign-ins are interactive).
        tx.record_sign_in(user.id, SignInKind::Interactive, now)
            .await?;
        tx.commit().await
    };
    if let Err(e) = written.await {
        // The counts taken above must not be lost with this transaction.
        let _ = crate::service::audit::write_failures(app, counted).await;
        return Err(e.into());
    }
    // The session is committed: a count left behind only slows the owner's next failures.
    if let Err(e) = app.throttle.record_success(&*app.store, account).await {
        tracing::warn!(error = %e, "could not clear the sign-in throttle after a success");
    }
    Ok(Issued {
        access_token: raw,
        expires_in: app.config.token_lifetime.num_seconds(),
        amr: record.amr,
    })
}

/// May `upn` sign in with a password here? With single sign-on the only deployment's way in, a
/// password (followed by a code or a passkey) opens the break-glass account alone (its local
/// credential is for when the provider is down).
pub(crate) fn password_allowed(app: &App, upn: &str) -> bool {
    app.config.password_sign_in
        || upn
            .trim()
            .eq_ignore_ascii_case(crate::service::bootstrap::BREAKGLASS_UPN)
}

pub(crate) fn password_sign_in_disabled() -> Failure {
    Failure::new(
        crate::failure::Kind::Denied,
        "PasswordSignInDisabled",
        "sign-in with a password is turned off here; use single sign-on",
    )
}

pub async fn sign_in_user(
    app: &App,
    channel: Channel,
    upn: &str,
    pwd: &str,
    otp: Option<&str>,
    address: Option<&str>,
) -> UseCaseResult<Issued> {
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
    if !password_allowed(app, upn) {
        return Err(fail(
            app,
            attempt("passwordSignInDisabled"),
            upn,
            Scope::Address(address),
            password_sign_in_disabled(),
        )
        .await);
    }
    // Throttling slows a guesser and never locks the owner out: while the account or address
    // is throttled, only the whole proof (password and code) gets through, and every failure
    // answers as throttled, so nothing is learnt about the password.
    let blocked = app
        .throttle
        .blocked(&*app.store, upn, Scope::Address(address), now)
        .await?;
    if let Some(secs) = blocked
        && otp.is_none()
    {
        return Err(fail(
            app,
            attempt("throttled"),
            upn,
            Scope::Address(address),
            throttled(secs),
        )
        .await);
    }
    let invalid_credentials = || match blocked {
        Some(secs) => throttled(secs),
        None => invalid_credentials(),
    };
    let mut tx = app.store.read().await?;
    let user = tx.find_user_by_upn(upn).await?;
    // Blocked while waiting for a hashing slot: answered as throttled, nothing hashed.
    let gate = || {
        otp.is_none()
            .then(|| {
                app.throttle
                    .blocked_as_seen(upn, Scope::Address(address), app.clock.now())
            })
            .flatten()
    };
    let Some(user) = user else {
        if let Err(secs) = password::verify_off_thread_unless(pwd, None, gate).await {
            return Err(fail(
                app,
                attempt("throttled"),
                upn,
                Scope::Address(address),
                throttled(secs),
            )
            .await);
        }
        return Err(fail(
            app,
            attempt("invalidCredentials"),
            upn,
            Scope::Address(address),
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
    let has_passkeys = crate::service::passkeys::has_passkeys(&mut *tx, user.id).await?;
    drop(tx);
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
    if let Some(code) = otp {
        // Too many wrong codes with the right password: no code is tried (nor the password
        // hashed) until the window passes.
        if let Some(secs) = app
            .throttle
            .codes_blocked(&*app.store, user.id, now)
            .await?
        {
            return Err(fail(
                app,
                attempt("tooManyWrongCodes"),
                upn,
                Scope::Address(address),
                throttled(secs),
            )
            .await);
        }
        // While throttled only the whole proof gets through: the code is checked first (it
        // costs nothing), so a throttled guesser's requests cost no password hashing.
        let code_ok = totp_cred
            .as_ref()
            .is_some_and(|c| totp::check(c, code, now).is_some());
        if let (Some(secs), false) = (blocked, code_ok) {
            return Err(fail(
                app,
                attempt("throttled"),
                upn,
                Scope::Address(address),
                throttled(secs),
            )
            .await);
        }
    }
    let password_ok = match password::verify_off_thread_unless(pwd, hash, gate).await {
        Ok(ok) => ok,
        Err(secs) => {
            return Err(fail(
                app,
                attempt("throttled"),
                upn,
                Scope::Address(address),
                throttled(secs),
            )
            .await);
        }
    };
    if !password_ok || !user.account_enabled {
        let reason = if password_ok {
            "accountDisabled"
        } else {
            "invalidCredentials"
        };
        return Err(fail(
            app,
            attempt(reason),
            upn,
            Scope::Address(address),
            invalid_credentials(),
        )
        .await);
    }
    // A password alone never opens a session of an account with a second factor, on any
    // channel; the answer is the generic one, so it tells nothing about the password.
    if otp.is_none() && (totp_cred.is_some() || has_passkeys) {
        return Err(fail(
            app,
            attempt("otpMissing"),
            upn,
            Scope::Address(address),
            invalid_credentials(),
        )
        .await);
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
                // The right password with a wrong code: counted apart (`codes_blocked`).
                app.throttle
                    .record_wrong_code(&*app.store, user.id, now)
                    .await?;
                return Err(fail(
                    app,
                    attempt("invalidOtp"),
                    upn,
                    Scope::Address(address),
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
                Scope::Address(address),
                invalid_credentials(),
            )
            .await);
        }
        cred.last_step = Some(step);
        tx.put_credential(user.id, TOTP, &json!(cred), now.timestamp_micros())
            .await?;
    }
    open_session(app, tx, upn, &user, (raw, record), address, now).await
}

/// The authentication method a Temporary Access Pass sign-in records.
pub const PASS_METHOD: &str = "tap";

/// Signs a person in with a Temporary Access Pass instead of a password (Graph's onboarding and
/// recovery path). The session proves no second factor; it is what lets the person enrol one
/// (a first one where `ELIGO_FIRST_FACTOR_ENROLMENT` asks for a pass, or a replacement for a
/// lost one). Failures answer and count exactly like a wrong password.
pub async fn sign_in_with_pass(
    app: &App,
    channel: Channel,
    upn: &str,
    presented: &str,
    address: Option<&str>,
) -> UseCaseResult<Issued> {
    let now = app.clock.now();
    let anonymous = |reason: &str| {
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
        .detail("method", PASS_METHOD)
        .failed(reason)
    };
    // A pass is about 93 random bits, and the account's count is shared with its password:
    // someone failing passwords must not lock out a person onboarding with a pass. While
    // throttled, a pass that would be redeemed still gets through (checked in a read, so a
    // throttled guesser's attempts write nothing); anything else answers as throttled.
    if let Some(secs) = app
        .throttle
        .blocked(&*app.store, upn, Scope::Address(address), now)
        .await?
    {
        let mut tx = app.store.read().await?;
        let would_redeem = match tx.find_user_by_upn(upn).await? {
            Some(u) if u.account_enabled => {
                let current = crate::service::access_pass::current(&mut *tx, u.id).await?;
                crate::service::access_pass::redeem(current.as_ref(), presented, now).is_some()
            }
            _ => false,
        };
        drop(tx);
        if !would_redeem {
            return Err(fail(
                app,
                anonymous("throttled"),
                upn,
                Scope::Address(address),
                throttled(secs),
            )
            .await);
        }
    }
    let mut tx = app.store.write().await?;
    let Some(user) = tx.find_user_by_upn(upn).await? else {
        drop(tx);
        let e = invalid_credentials();
        return Err(fail(
            app,
            anonymous("invalidCredentials"),
            upn,
            Scope::Address(address),
            e,
        )
        .await);
    };
    let current = crate::service::access_pass::current(&mut *tx, user.id).await?;
    let redeemed = crate::service::access_pass::redeem(current.as_ref(), presented, now);
    let attempt = |reason: &str| {
        AuditEvent::new(
            now,
            Category::Authentication,
            "User sign-in failed",
            user_actor(&user),
        )
        .target(user.id, "User", Some(&user.user_principal_name))
        .detail("ipAddress", address.unwrap_or("-"))
        .detail("method", PASS_METHOD)
        .failed(reason)
    };
    let Some(spent) = redeemed.filter(|_| user.account_enabled) else {
        drop(tx);
        let reason = if user.account_enabled {
            "invalidTemporaryAccessPass"
        } else {
            "accountDisabled"
        };
        return Err(fail(
            app,
            attempt(reason),
            upn,
            Scope::Address(address),
            invalid_credentials(),
        )
        .await);
    };
    tx.put_credential(
        user.id,
        crate::service::access_pass::KIND,
        &json!(spent),
        now.timestamp_micros(),
    )
    .await?;
    let amr = vec![PASS_METHOD.to_string()];
    let (raw, record) = new_session(app, user.id, now, amr, false, channel);
    open_session(app, tx, upn, &user, (raw, record), address, now).await
}

/// Did this session start from a Temporary Access Pass?
pub fn signed_in_with_pass(caller: &Caller) -> bool {
    caller.session.amr.iter().any(|m| m == PASS_METHOD)
}

/// May the caller enrol an authenticator now? A replacement needs the old factor fresh, or a
/// Temporary Access Pass session (the person lost it); a first one follows
/// `ELIGO_FIRST_FACTOR_ENROLMENT`.
pub(crate) async fn may_enrol(
    app: &App,
    tx: &mut dyn eligo_store::Tx,
    caller: &Caller,
    replacing: bool,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    use crate::config::FirstFactorEnrolment as Policy;
    if signed_in_with_pass(caller) {
        return Ok(());
    }
    if replacing {
        if caller.mfa_is_fresh(now, app.config.mfa_freshness) {
            return Ok(());
        }
        return Err(Failure::forbidden(
            "replacing a registered authenticator needs a recent step-up (POST /v1/auth/stepup), or a sign-in with a Temporary Access Pass when the old one is lost",
        )
        .with_detail("MfaRequired", "otp"));
    }
    let needs_pass = match app.config.first_factor_enrolment {
        Policy::Open => false,
        Policy::PassAlways => true,
        Policy::PassForPrivileged => matches!(
            crate::service::access::privilege::of_principal(app, tx, caller.id, now).await?,
            eligo_core::authz::Protection::Privileged(_)
        ),
    };
    if needs_pass {
        return Err(Failure::new(
            crate::failure::Kind::Denied,
            "TemporaryAccessPassRequired",
            "enrolling a first authenticator on this account needs a sign-in with a Temporary Access Pass, issued by a Global or Privileged Authentication Administrator",
        ));
    }
    Ok(())
}

pub async fn sign_in_service_principal(
    app: &App,
    client_id: &str,
    secret: &str,
    address: Option<&str>,
) -> UseCaseResult<Issued> {
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
    // A client secret is 256 random bits: throttling cannot protect it from guessing, only
    // lock its owner out. So the secret is checked first (a cheap comparison), a right one
    // always signs in, and failures are throttled (answered as such, and counted) as before.
    let blocked = app
        .throttle
        .blocked(&*app.store, client_id, Scope::Address(address), now)
        .await?;
    let refusal = || match blocked {
        Some(secs) => throttled(secs),
        None => invalid_credentials(),
    };
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
            Scope::Address(address),
            refusal(),
        )
        .await);
    };
    let stored = app
        .store
        .read()
        .await?
        .get_credential(sp.id, CLIENT_SECRET)
        .await?;
    let ok = crate::service::sp_passwords::matches(stored.as_ref(), secret, now);
    if !ok || !sp.account_enabled {
        return Err(fail(
            app,
            attempt(Some(sp.id), "invalidCredentials"),
            client_id,
            Scope::Address(address),
            refusal(),
        )
        .await);
    }
    let amr = vec!["secret".to_string()];
    let (raw, record) = new_session(app, sp.id, now, amr.clone(), false, Channel::Api);
    let mut tx = app.store.write().await?;
    tx.insert_token(&record).await?;
    // Client credentials are Graph's non-interactive sign-ins.
    tx.record_sign_in(sp.id, SignInKind::NonInteractive, now)
        .await?;
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

/// The second factors a person has, so a page offers the ones they can use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondFactors {
    /// A verified authenticator app.
    pub totp: bool,
    /// At least one passkey.
    pub passkeys: bool,
}

impl SecondFactors {
    pub fn any(self) -> bool {
        self.totp || self.passkeys
    }
}

pub async fn second_factors(app: &App, who: Uuid) -> UseCaseResult<SecondFactors> {
    let mut tx = app.store.read().await?;
    second_factors_in(&mut *tx, who).await
}

/// [`second_factors`] in the caller's transaction.
pub async fn second_factors_in(
    tx: &mut dyn eligo_store::Tx,
    who: Uuid,
) -> UseCaseResult<SecondFactors> {
    let totp = tx
        .get_credential(who, TOTP)
        .await?
        .and_then(|v| serde_json::from_value::<TotpCredential>(v).ok())
        .is_some_and(|c| c.verified);
    Ok(SecondFactors {
        totp,
        passkeys: crate::service::passkeys::has_passkeys(tx, who).await?,
    })
}

/// Has `who` a second factor to step up with (a verified authenticator app or a passkey)?
pub async fn has_authenticator(app: &App, who: Uuid) -> UseCaseResult<bool> {
    Ok(second_factors(app, who).await?.any())
}

/// Records a fresh second factor on the calling session.
pub async fn step_up(app: &App, caller: &Caller, code: &str) -> UseCaseResult<DateTime<Utc>> {
    let now = app.clock.now();
    let account = caller.upn.clone().unwrap_or_else(|| caller.id.to_string());
    let session = Scope::Session(&caller.session.token_hash);
    if let Some(secs) = app
        .throttle
        .blocked(&*app.store, &account, session, now)
        .await?
    {
        return Err(throttled(secs));
    }
    let mut tx = app.store.write().await?;
    let cred: Option<TotpCredential> = tx
        .get_credential(caller.id, TOTP)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .filter(|c: &TotpCredential| c.verified);
    let Some(mut cred) = cred else {
        return Err(Failure::bad_request(
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
        let e = Failure::unauthorized(
            "InvalidCredentials",
            "the code is incorrect or was already used",
        );
        return Err(fail(
            app,
            event.failed("invalidOtp"),
            &account,
            Scope::Session(&caller.session.token_hash),
            e,
        )
        .await);
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

pub async fn sign_out(app: &App, caller: &Caller) -> UseCaseResult<()> {
    let now = app.clock.now();
    // The configured break-glass token is not a session: signing it out would lock recovery
    // out until the next start. It is rotated by changing ELIGO_BOOTSTRAP_TOKEN.
    if app
        .config
        .bootstrap_token
        .as_ref()
        .is_some_and(|t| token::digest(t.expose()) == caller.session.token_hash)
    {
        return Err(Failure::bad_request(
            "BreakGlassTokenConfigured",
            "the configured break-glass token cannot be signed out; to rotate it, change ELIGO_BOOTSTRAP_TOKEN and restart",
        ));
    }
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
        .target(caller.id, "User", caller.upn.as_deref())
        .modified("session", "active", "revoked"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// How long a started TOTP enrolment waits for its first code.
pub const ENROLMENT_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// The caller's pending TOTP enrolment, if this session started it less than
/// `ENROLMENT_LIFETIME` ago: another session (a thief's with the password) never sees the secret.
pub async fn pending_enrolment(
    app: &App,
    caller: &Caller,
) -> UseCaseResult<Option<TotpCredential>> {
    let mut tx = app.store.read().await?;
    pending_enrolment_in(&mut *tx, caller, app.clock.now()).await
}

async fn pending_enrolment_in(
    tx: &mut dyn eligo_store::Tx,
    caller: &Caller,
    now: DateTime<Utc>,
) -> UseCaseResult<Option<TotpCredential>> {
    let pending: Option<TotpCredential> = tx
        .get_credential(caller.id, TOTP_PENDING)
        .await?
        .and_then(|v| serde_json::from_value(v).ok());
    Ok(pending.filter(|p| {
        !p.secret_base32.is_empty()
            && p.pending_session.as_deref() == Some(caller.session.token_hash.as_str())
            && p.pending_until.is_some_and(|until| now < until)
    }))
}

pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

/// Starts TOTP enrolment. Replacing an authenticator that is already verified needs a fresh
/// MFA, or a stolen password would be enough to take over the second factor.
pub async fn begin_totp(app: &App, caller: &Caller) -> UseCaseResult<Enrolment> {
    let now = app.clock.now();
    let Some(upn) = caller.upn.clone() else {
        return Err(Failure::bad_request(
            "NotSupported",
            "only users enrol TOTP authenticators",
        ));
    };
    let mut tx = app.store.write().await?;
    // A second factor the account has already (an authenticator, or a passkey) is proved
    // before another is added: otherwise a stolen session whose proof has gone stale would
    // enrol the thief's own authenticator and, with it, a fresh MFA.
    let has_factor = second_factors_in(&mut *tx, caller.id).await?.any();
    may_enrol(app, &mut *tx, caller, has_factor, now).await?;
    let secret = totp::new_secret();
    let uri = totp::otpauth_uri(&secret, &upn)
        .ok_or_else(|| Failure::internal("totp uri", "could not build"))?;
    let pending = TotpCredential {
        secret_base32: secret.clone(),
        verified: false,
        last_step: None,
        pending_session: Some(caller.session.token_hash.clone()),
        pending_until: Some(now + ENROLMENT_LIFETIME),
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
pub async fn verify_totp(app: &App, caller: &Caller, code: &str) -> UseCaseResult<()> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let Some(mut pending) = pending_enrolment_in(&mut *tx, caller, now).await? else {
        return Err(Failure::bad_request(
            "NoPendingEnrolment",
            "no enrolment of this session is waiting (it expires after 10 minutes): start with POST /v1/me/authenticationMethods/totp",
        ));
    };
    // Replacing a registered authenticator, or adding one beside a passkey, needs the factor
    // the account has, now as when it started.
    let replacing = second_factors_in(&mut *tx, caller.id).await?.any();
    if replacing
        && !caller.mfa_is_fresh(now, app.config.mfa_freshness)
        && !signed_in_with_pass(caller)
    {
        return Err(eligo_core::authz::Denied::MfaRequired.into());
    }
    let Some(step) = totp::check(&pending, code, now) else {
        return Err(Failure::bad_request(
            "InvalidOtp",
            "the code does not match the new authenticator",
        ));
    };
    pending.verified = true;
    pending.last_step = Some(step);
    pending.pending_session = None;
    pending.pending_until = None;
    tx.put_credential(caller.id, TOTP, &json!(pending), now.timestamp_micros())
        .await?;
    let cleared = TotpCredential {
        secret_base32: String::new(),
        verified: false,
        last_step: None,
        pending_session: None,
        pending_until: None,
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
    // Rule 6: an authenticator change ends every other session of the account (a first
    // second factor changes nothing another session relied on).
    if replacing {
        tx.revoke_tokens_of(caller.id, Some(&session.token_hash), now)
            .await?;
    }
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::UserManagement,
            "User registered security info",
            caller.initiator(),
        )
        .target(caller.id, "User", caller.upn.as_deref())
        .modified_secret("authenticationMethods.totp")
        .detail("method", "totp"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
