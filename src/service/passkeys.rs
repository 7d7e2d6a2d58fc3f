//! Passkeys (WebAuthn) as a second factor: registering and removing them in Security info,
//! and the two assertion ceremonies (sign-in after the password; step-up on a session).
//! Ceremonies are kept server-side (`auth::passkey`), single use, bound to the session or to
//! the user whose password was proved; a wrong assertion is audited and throttled like a wrong
//! code. Registering, when the person already has a second factor, needs it fresh (or a
//! Temporary Access Pass session), exactly like replacing an authenticator app; a first passkey
//! follows `ELIGO_FIRST_FACTOR_ENROLMENT`. Removing one needs a fresh second factor and never
//! removes the last one (there is no way to drop the authenticator app either).

use chrono::{DateTime, Utc};
use eligo_core::audit::{Actor, AuditEvent, Category, Initiator};
use serde_json::{Value, json};
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

use crate::app::App;
use crate::auth::passkey::{self, Ceremony, Passkeys, StoredPasskey};
use crate::auth::throttle::Scope;
use crate::auth::totp::TotpCredential;
use crate::auth::{Caller, password};
use crate::failure::{Failure, UseCaseResult};
use crate::service::sessions::{self, Channel, Issued};

/// The person's passkeys (none when the credential is absent or cleared).
pub async fn load(tx: &mut dyn eligo_store::Tx, who: Uuid) -> UseCaseResult<Passkeys> {
    Ok(tx
        .get_credential(who, passkey::KIND)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

pub async fn has_passkeys(tx: &mut dyn eligo_store::Tx, who: Uuid) -> UseCaseResult<bool> {
    Ok(!load(tx, who).await?.items.is_empty())
}

async fn save(
    tx: &mut dyn eligo_store::Tx,
    who: Uuid,
    keys: &Passkeys,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    tx.put_credential(who, passkey::KIND, &json!(keys), now.timestamp_micros())
        .await?;
    Ok(())
}

async fn ceremony(
    tx: &mut dyn eligo_store::Tx,
    who: Uuid,
    kind: &str,
) -> UseCaseResult<Option<Ceremony>> {
    Ok(tx
        .get_credential(who, kind)
        .await?
        .and_then(|v| serde_json::from_value(v).ok()))
}

/// Spends a ceremony: whatever the answer was, its challenge is never accepted again.
async fn spend(
    tx: &mut dyn eligo_store::Tx,
    who: Uuid,
    kind: &str,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    tx.put_credential(who, kind, &json!({}), now.timestamp_micros())
        .await?;
    Ok(())
}

async fn has_totp(tx: &mut dyn eligo_store::Tx, who: Uuid) -> UseCaseResult<bool> {
    Ok(tx
        .get_credential(who, sessions::TOTP)
        .await?
        .and_then(|v| serde_json::from_value::<TotpCredential>(v).ok())
        .is_some_and(|c| c.verified))
}

fn only_users(caller: &Caller) -> UseCaseResult<String> {
    caller
        .upn
        .clone()
        .ok_or_else(|| Failure::bad_request("NotSupported", "only users register passkeys"))
}

fn no_ceremony() -> Failure {
    Failure::bad_request(
        "NoPendingCeremony",
        "no passkey ceremony of this session is waiting (each challenge is answered once, within 5 minutes): ask for new options",
    )
}

/// Starts registering a passkey: the PublicKeyCredentialCreationOptions for
/// `navigator.credentials.create`.
pub async fn begin_registration(
    app: &App,
    caller: &Caller,
    display_name: Option<String>,
) -> UseCaseResult<CreationChallengeResponse> {
    let now = app.clock.now();
    let upn = only_users(caller)?;
    let rp = passkey::relying_party(&app.config.public_url)?;
    let mut tx = app.store.write().await?;
    let keys = load(&mut *tx, caller.id).await?;
    let has_factor = !keys.items.is_empty() || has_totp(&mut *tx, caller.id).await?;
    sessions::may_enrol(app, &mut *tx, caller, has_factor, now).await?;
    if keys.items.len() >= passkey::MAX_PER_PERSON {
        return Err(Failure::conflict(
            "TooManyPasskeys",
            format!(
                "at most {} passkeys per person: remove one first",
                passkey::MAX_PER_PERSON
            ),
        ));
    }
    let exclude = keys.items.iter().map(|k| k.passkey.cred_id().clone());
    let (options, state) = rp
        .start_passkey_registration(
            caller.id,
            &upn,
            &caller.display_name,
            Some(exclude.collect()),
        )
        .map_err(|e| Failure::internal("passkey registration options", e))?;
    let pending = Ceremony {
        id: Uuid::new_v4(),
        session: Some(caller.session.token_hash.clone()),
        expires_at: now + passkey::CEREMONY_LIFETIME,
        display_name,
        registration: Some(state),
        authentication: None,
    };
    tx.put_credential(
        caller.id,
        passkey::REGISTRATION,
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
        .detail("method", "passkey"),
    )
    .await?;
    tx.commit().await?;
    Ok(options)
}

/// Completes a registration with the authenticator's attestation. A wrong or foreign answer
/// stores nothing (and spends the challenge).
pub async fn finish_registration(
    app: &App,
    caller: &Caller,
    display_name: Option<String>,
    credential: &RegisterPublicKeyCredential,
) -> UseCaseResult<StoredPasskey> {
    let now = app.clock.now();
    let upn = only_users(caller)?;
    let rp = passkey::relying_party(&app.config.public_url)?;
    let mut tx = app.store.write().await?;
    let pending = ceremony(&mut *tx, caller.id, passkey::REGISTRATION)
        .await?
        .filter(|c| c.open_for(Some(&caller.session.token_hash), None, now));
    let Some(Ceremony {
        registration: Some(state),
        display_name: named,
        ..
    }) = pending
    else {
        return Err(no_ceremony());
    };
    let mut keys = load(&mut *tx, caller.id).await?;
    let has_factor = !keys.items.is_empty() || has_totp(&mut *tx, caller.id).await?;
    sessions::may_enrol(app, &mut *tx, caller, has_factor, now).await?;
    spend(&mut *tx, caller.id, passkey::REGISTRATION, now).await?;
    let registered = match rp.finish_passkey_registration(credential, &state) {
        Ok(k) => k,
        Err(e) => {
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::UserManagement,
                    "User registered security info",
                    caller.initiator(),
                )
                .target(caller.id, "User", Some(&upn))
                .detail("method", "passkey")
                .failed("invalidAttestation"),
            )
            .await?;
            tx.commit().await?;
            return Err(Failure::bad_request(
                "InvalidAttestation",
                format!("the authenticator's answer was refused: {e}"),
            ));
        }
    };
    if keys
        .items
        .iter()
        .any(|k| k.passkey.cred_id() == registered.cred_id())
    {
        drop(tx);
        return Err(Failure::conflict(
            "PasskeyAlreadyRegistered",
            "this passkey is registered already",
        ));
    }
    let name = display_name
        .or(named)
        .map(|n| n.trim().chars().take(200).collect::<String>())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Passkey".into());
    let stored = StoredPasskey {
        id: Uuid::new_v4(),
        display_name: name,
        created_at: now,
        aaguid: passkey::aaguid(&credential.response.attestation_object),
        last_used_at: None,
        passkey: registered,
    };
    keys.items.push(stored.clone());
    save(&mut *tx, caller.id, &keys, now).await?;
    // Rule 6: a change of second factors ends every other session (a first one changes
    // nothing another session relied on).
    if has_factor {
        tx.revoke_tokens_of(caller.id, Some(&caller.session.token_hash), now)
            .await?;
    }
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::UserManagement,
            "User registered security info",
            caller.initiator(),
        )
        .target(caller.id, "User", Some(&upn))
        .modified_secret("authenticationMethods.passkeys")
        .detail("method", "passkey")
        .detail("passkeyId", stored.id.to_string())
        .detail("displayName", stored.display_name.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(stored)
}

pub async fn list(app: &App, caller: &Caller) -> UseCaseResult<Vec<StoredPasskey>> {
    let mut tx = app.store.read().await?;
    Ok(load(&mut *tx, caller.id).await?.items)
}

/// Removes one of the caller's passkeys: a fresh second factor (or a Temporary Access Pass
/// session), never the last second factor, and every other session ends.
pub async fn remove(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut keys = load(&mut *tx, caller.id).await?;
    let Some(at) = keys.items.iter().position(|k| k.id == id) else {
        return Err(Failure::not_found("passkey"));
    };
    if !caller.mfa_is_fresh(now, app.config.mfa_freshness) && !sessions::signed_in_with_pass(caller)
    {
        drop(tx);
        return Err(eligo_core::authz::Denied::MfaRequired.into());
    }
    if keys.items.len() == 1 && !has_totp(&mut *tx, caller.id).await? {
        return Err(Failure::conflict(
            "LastAuthenticationMethod",
            "this is the account's only second factor: register another passkey or an authenticator app first",
        ));
    }
    let removed = keys.items.remove(at);
    save(&mut *tx, caller.id, &keys, now).await?;
    tx.revoke_tokens_of(caller.id, Some(&caller.session.token_hash), now)
        .await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::UserManagement,
            "User deleted security info",
            caller.initiator(),
        )
        .target(caller.id, "User", caller.upn.as_deref())
        .modified_secret("authenticationMethods.passkeys")
        .detail("method", "passkey")
        .detail("passkeyId", removed.id.to_string())
        .detail("displayName", removed.display_name),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The PublicKeyCredentialRequestOptions for a step-up on the caller's session.
pub async fn begin_step_up(app: &App, caller: &Caller) -> UseCaseResult<RequestChallengeResponse> {
    let now = app.clock.now();
    let rp = passkey::relying_party(&app.config.public_url)?;
    let mut tx = app.store.write().await?;
    let keys = load(&mut *tx, caller.id).await?;
    if keys.items.is_empty() {
        return Err(Failure::bad_request(
            "MfaNotEnrolled",
            "no passkey is registered; register one first",
        ));
    }
    let (options, state) = rp
        .start_passkey_authentication(&keys.keys())
        .map_err(|e| Failure::internal("passkey assertion options", e))?;
    let pending = Ceremony {
        id: Uuid::new_v4(),
        session: Some(caller.session.token_hash.clone()),
        expires_at: now + passkey::CEREMONY_LIFETIME,
        display_name: None,
        registration: None,
        authentication: Some(state),
    };
    tx.put_credential(
        caller.id,
        passkey::STEP_UP,
        &json!(pending),
        now.timestamp_micros(),
    )
    .await?;
    tx.commit().await?;
    Ok(options)
}

/// Verifies `credential` against the person's passkeys and the ceremony's state; on success
/// the used passkey's counter and backup state are kept current.
fn verify(
    app: &App,
    keys: &mut Passkeys,
    state: &webauthn_rs::prelude::PasskeyAuthentication,
    credential: &PublicKeyCredential,
    now: DateTime<Utc>,
) -> Result<(), &'static str> {
    let rp = passkey::relying_party(&app.config.public_url).map_err(|_| "unavailable")?;
    let result = rp
        .finish_passkey_authentication(credential, state)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey assertion refused");
            "invalidAssertion"
        })?;
    if !result.user_verified() {
        return Err("userNotVerified");
    }
    let used = keys
        .items
        .iter_mut()
        .find(|k| k.passkey.cred_id() == result.cred_id())
        .ok_or("unknownPasskey")?;
    used.passkey.update_credential(&result);
    used.last_used_at = Some(now);
    Ok(())
}

/// Completes a step-up with a passkey: the session's last MFA is now, its amr gains "fido".
pub async fn finish_step_up(
    app: &App,
    caller: &Caller,
    credential: &PublicKeyCredential,
) -> UseCaseResult<(DateTime<Utc>, Vec<String>)> {
    let now = app.clock.now();
    let account = caller.upn.clone().unwrap_or_else(|| caller.id.to_string());
    let session = Scope::Session(&caller.session.token_hash);
    if let Some(secs) = app
        .throttle
        .blocked(&*app.store, &account, session, now)
        .await?
    {
        return Err(sessions::throttled(secs));
    }
    let event = AuditEvent::new(
        now,
        Category::Authentication,
        "Step-up authentication",
        caller.initiator(),
    )
    .target(caller.id, "User", caller.upn.as_deref())
    .detail("method", "passkey");
    let mut tx = app.store.write().await?;
    let pending = ceremony(&mut *tx, caller.id, passkey::STEP_UP)
        .await?
        .filter(|c| c.open_for(Some(&caller.session.token_hash), None, now));
    let Some(Ceremony {
        authentication: Some(state),
        ..
    }) = pending
    else {
        return Err(no_ceremony());
    };
    spend(&mut *tx, caller.id, passkey::STEP_UP, now).await?;
    let mut keys = load(&mut *tx, caller.id).await?;
    if let Err(reason) = verify(app, &mut keys, &state, credential, now) {
        tx.commit().await?;
        let e = Failure::unauthorized("InvalidCredentials", "the passkey's answer was refused");
        return Err(sessions::fail(app, event.failed(reason), &account, session, e).await);
    }
    save(&mut *tx, caller.id, &keys, now).await?;
    let mut record = caller.session.clone();
    record.last_mfa_at = Some(now);
    if !record.amr.iter().any(|m| m == passkey::METHOD) {
        record.amr.push(passkey::METHOD.into());
    }
    tx.update_token(&record).await?;
    tx.append_audit(event).await?;
    tx.commit().await?;
    Ok((now, record.amr))
}

/// The first half of a passkey sign-in: the password, checked as `sign_in_user` checks it
/// (same answers, same throttle, same audit), then the challenge for the person's passkeys.
/// A person without passkeys gets the generic refusal, so this tells nothing about the password.
pub async fn begin_sign_in(
    app: &App,
    upn: &str,
    pwd: &str,
    address: Option<&str>,
) -> UseCaseResult<(Uuid, RequestChallengeResponse)> {
    let now = app.clock.now();
    let rp = passkey::relying_party(&app.config.public_url)?;
    let scope = Scope::Address(address);
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
        .detail("method", "passkey")
        .failed(reason)
    };
    // Where single sign-on is the only way in, a password followed by a passkey opens the
    // break-glass account alone, as a password followed by a code does.
    if !sessions::password_allowed(app, upn) {
        let refused = sessions::password_sign_in_disabled();
        let event = anonymous("passwordSignInDisabled");
        return Err(sessions::fail(app, event, upn, scope, refused).await);
    }
    // As with a code, a password followed by a passkey is the whole proof: it is checked while
    // throttled (every failure then answers as throttled), so the owner is never locked out.
    let blocked = app.throttle.blocked(&*app.store, upn, scope, now).await?;
    let refusal = || match blocked {
        Some(secs) => sessions::throttled(secs),
        None => sessions::invalid_credentials(),
    };
    let mut tx = app.store.read().await?;
    let user = tx.find_user_by_upn(upn).await?;
    let Some(user) = user else {
        drop(tx);
        let _ = password::verify_off_thread_unless(pwd, None, || None).await;
        return Err(
            sessions::fail(app, anonymous("invalidCredentials"), upn, scope, refusal()).await,
        );
    };
    let hash = tx
        .get_credential(user.id, sessions::PASSWORD)
        .await?
        .and_then(|c| c["hash"].as_str().map(String::from));
    let keys = load(&mut *tx, user.id).await?;
    drop(tx);
    let password_ok = password::verify_off_thread_unless(pwd, hash, || None)
        .await
        .unwrap_or(false);
    let attempt = |reason: &str| {
        AuditEvent::new(
            now,
            Category::Authentication,
            "User sign-in failed",
            sessions::user_actor(&user),
        )
        .target(user.id, "User", Some(&user.user_principal_name))
        .detail("ipAddress", address.unwrap_or("-"))
        .detail("method", "passkey")
        .failed(reason)
    };
    let reason = if !password_ok {
        Some("invalidCredentials")
    } else if !user.account_enabled {
        Some("accountDisabled")
    } else if keys.items.is_empty() {
        Some("passkeyNotRegistered")
    } else {
        None
    };
    if let Some(reason) = reason {
        return Err(sessions::fail(app, attempt(reason), upn, scope, refusal()).await);
    }
    let (options, state) = rp
        .start_passkey_authentication(&keys.keys())
        .map_err(|e| Failure::internal("passkey assertion options", e))?;
    let pending = Ceremony {
        id: Uuid::new_v4(),
        session: None,
        expires_at: now + passkey::CEREMONY_LIFETIME,
        display_name: None,
        registration: None,
        authentication: Some(state),
    };
    let mut tx = app.store.write().await?;
    tx.put_credential(
        user.id,
        passkey::SIGN_IN,
        &json!(pending),
        now.timestamp_micros(),
    )
    .await?;
    tx.commit().await?;
    Ok((pending.id, options))
}

/// The second half: the assertion for the ceremony `begin_sign_in` opened opens a session
/// (amr pwd + fido, MFA now).
pub async fn finish_sign_in(
    app: &App,
    channel: Channel,
    upn: &str,
    ceremony_id: Uuid,
    credential: &PublicKeyCredential,
    address: Option<&str>,
) -> UseCaseResult<Issued> {
    let now = app.clock.now();
    let scope = Scope::Address(address);
    let mut tx = app.store.write().await?;
    let user = tx.find_user_by_upn(upn).await?;
    let pending = match &user {
        Some(u) => ceremony(&mut *tx, u.id, passkey::SIGN_IN)
            .await?
            .filter(|c| c.open_for(None, Some(ceremony_id), now)),
        None => None,
    };
    let (
        Some(user),
        Some(Ceremony {
            authentication: Some(state),
            ..
        }),
    ) = (user, pending)
    else {
        drop(tx);
        let event = AuditEvent::new(
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
        .detail("method", "passkey")
        .failed("noPendingCeremony");
        return Err(sessions::fail(app, event, upn, scope, sessions::invalid_credentials()).await);
    };
    let attempt = |reason: &str| {
        AuditEvent::new(
            now,
            Category::Authentication,
            "User sign-in failed",
            sessions::user_actor(&user),
        )
        .target(user.id, "User", Some(&user.user_principal_name))
        .detail("ipAddress", address.unwrap_or("-"))
        .detail("method", "passkey")
        .failed(reason)
    };
    spend(&mut *tx, user.id, passkey::SIGN_IN, now).await?;
    let mut keys = load(&mut *tx, user.id).await?;
    let verified = if user.account_enabled {
        verify(app, &mut keys, &state, credential, now)
    } else {
        Err("accountDisabled")
    };
    if let Err(reason) = verified {
        tx.commit().await?;
        return Err(sessions::fail(
            app,
            attempt(reason),
            upn,
            scope,
            sessions::invalid_credentials(),
        )
        .await);
    }
    save(&mut *tx, user.id, &keys, now).await?;
    let amr = vec!["pwd".to_string(), passkey::METHOD.to_string()];
    let session = sessions::new_session(app, user.id, now, amr, true, channel);
    sessions::open_session(app, tx, upn, &user, session, address, now).await
}

/// The list as the API answers it.
pub fn views(keys: &[StoredPasskey]) -> Value {
    Value::Array(keys.iter().map(StoredPasskey::view).collect())
}
