//! Single sign-on through an OpenID Connect provider: turns a verified ID token
//! (`auth::oidc::finish`) into an Eligo session, or into a refusal that is audited with the
//! provider named. Who may sign in this way: an existing, enabled user named by the provider's
//! principal claim (an `email` only when the provider verified it), or, where the provider
//! allows it, a new ordinary user created at the first sign-in. Never a service principal
//! (only users are looked up), never the break-glass account (its local credential is the way
//! in when the provider is down or compromised). The provider's `amr` counts as a second
//! factor only when it names one (`auth::oidc::proves_mfa`), dated by its `auth_time`; its
//! `acr` is kept on the session for the authentication-context rule.

use chrono::{DateTime, Utc};
use eligo_core::audit::{Actor, AuditEvent, Category, Initiator};
use eligo_core::directory::{self as dir, User};
use eligo_core::directory_changes as changes;
use eligo_store::SignInKind;
use uuid::Uuid;

use crate::app::App;
use crate::auth::oidc::{self, OidcError, Verified};
use crate::auth::throttle::Scope;
use crate::config::oidc::PrincipalClaim;
use crate::failure::{Failure, UseCaseResult};
use crate::service::bootstrap::BREAKGLASS_UPN;
use crate::service::directory::identities;
use crate::service::sessions::{self, Issued};

fn refused(message: &str) -> Failure {
    Failure::unauthorized("SingleSignOnFailed", message)
}

/// The audit entry of a failed single sign-on.
fn failed_event(
    now: DateTime<Utc>,
    provider: &str,
    who: Option<&User>,
    claimed: &str,
    address: Option<&str>,
    reason: &str,
) -> AuditEvent {
    let initiator = match who {
        Some(u) => sessions::user_actor(u),
        None => Initiator::User(Actor {
            id: None,
            display_name: claimed.chars().take(113).collect(),
            user_principal_name: (!claimed.is_empty()).then(|| claimed.chars().take(113).collect()),
        }),
    };
    let mut e = AuditEvent::new(
        now,
        Category::Authentication,
        "User sign-in failed",
        initiator,
    )
    .detail("ipAddress", address.unwrap_or("-"))
    .detail("method", "oidc")
    .detail("provider", provider);
    if let Some(u) = who {
        e = e.target(u.id, "User", Some(&u.user_principal_name));
    }
    e.failed(reason)
}

/// Records a failure of the protocol itself (before anyone is known) and answers it.
pub async fn protocol_failed(
    app: &App,
    provider: &str,
    error: &OidcError,
    address: Option<&str>,
) -> Failure {
    let now = app.clock.now();
    tracing::warn!(
        provider,
        reason = error.reason(),
        detail = error.detail().unwrap_or("-"),
        "single sign-on failed"
    );
    let mut event = failed_event(now, provider, None, "", address, error.reason());
    if let Some(d) = error.detail() {
        event = event.detail("error", d.chars().take(200).collect::<String>());
    }
    let account = format!("oidc:{provider}");
    let answer = match error {
        OidcError::Unavailable(_) => Failure::new(
            crate::failure::Kind::Unavailable,
            "IdentityProviderUnavailable",
            error.message(),
        ),
        _ => refused(&error.message()),
    };
    sessions::fail(app, event, &account, Scope::Address(address), answer).await
}

/// The name the provider's principal claim gives, if it gives one Eligo may use.
fn claimed_name(v: &Verified, claim: PrincipalClaim) -> Result<String, &'static str> {
    let name = match claim {
        PrincipalClaim::Email => {
            let Some(email) = v.email.clone() else {
                return Err("noPrincipalClaim");
            };
            if !v.email_verified {
                return Err("emailNotVerified");
            }
            email
        }
        PrincipalClaim::PreferredUsername => {
            v.preferred_username.clone().ok_or("noPrincipalClaim")?
        }
        PrincipalClaim::Upn => v.upn.clone().ok_or("noPrincipalClaim")?,
        PrincipalClaim::Sub => v.subject.clone(),
    };
    let name = name.trim().to_string();
    if name.is_empty() || name.len() > 256 {
        return Err("noPrincipalClaim");
    }
    Ok(name)
}

/// What a principal claim names.
enum Lookup {
    One(User),
    Nobody,
    /// An address that is one account's user principal name and another's mail, or the mail
    /// of two: nobody is signed in rather than perhaps the wrong one (a provisioning client
    /// could otherwise name a new account after someone else's address and catch their first
    /// single sign-on).
    Ambiguous,
}

async fn find_user(
    tx: &mut dyn eligo_store::Tx,
    claim: PrincipalClaim,
    name: &str,
) -> eligo_store::Result<Lookup> {
    let by_upn = tx.find_user_by_upn(name).await?;
    if claim != PrincipalClaim::Email {
        // `sub` names the user exactly; the others case-insensitively (the store's lookup).
        return Ok(match by_upn {
            Some(u) if claim != PrincipalClaim::Sub || u.user_principal_name == name => {
                Lookup::One(u)
            }
            _ => Lookup::Nobody,
        });
    }
    let query = eligo_store::UserQuery {
        mail: Some(name.to_string()),
        ..Default::default()
    };
    let by_mail = tx
        .list_users(&query, eligo_store::Page { skip: 0, top: 3 })
        .await?
        .into_iter()
        .filter(|u| {
            u.mail
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(name))
        });
    let mut found: Vec<User> = by_upn.into_iter().collect();
    for u in by_mail {
        if found.iter().all(|f| f.id != u.id) {
            found.push(u);
        }
    }
    Ok(match found.len() {
        0 => Lookup::Nobody,
        1 => Lookup::One(found.remove(0)),
        _ => Lookup::Ambiguous,
    })
}

/// Who a verified ID token names.
enum Named {
    /// The account bound to the provider's subject.
    Bound(User),
    /// The account the principal claim names, not bound to any identity yet: this sign-in
    /// binds it.
    Claimed(User),
    /// A new account (the provider's `auto_create`), bound at its creation.
    New(User),
}

/// Opens a session for the person a verified ID token names.
pub async fn sign_in(app: &App, v: &Verified, address: Option<&str>) -> UseCaseResult<Issued> {
    let now = app.clock.now();
    let provider =
        oidc::provider(app, Some(&v.provider)).map_err(|_| refused("unknown provider"))?;
    let account = format!("oidc:{}", v.provider);
    let claim = provider.principal_claim;
    let fail = async |who: Option<&User>, claimed: &str, reason: &str, message: &str| {
        let event = failed_event(now, &v.provider, who, claimed, address, reason);
        sessions::fail(
            app,
            event,
            &account,
            Scope::Address(address),
            refused(message),
        )
        .await
    };
    let mut tx = app.store.write().await?;
    let bound = match tx
        .find_sign_in_identity(&provider.issuer, &v.subject)
        .await?
    {
        Some(id) => tx.get_user(id).await?,
        None => None,
    };
    let (named, name) = match bound {
        Some(u) => {
            let name = u.user_principal_name.clone();
            (Named::Bound(u), name)
        }
        None => {
            let name = match claimed_name(v, claim) {
                Ok(n) => n,
                Err(reason) => {
                    drop(tx);
                    let msg = match reason {
                        "emailNotVerified" => {
                            "The identity provider has not verified your e-mail address, so it cannot name your Eligo account."
                        }
                        _ => "The identity provider did not say which Eligo account is yours.",
                    };
                    return Err(fail(None, &v.subject, reason, msg).await);
                }
            };
            match find_user(&mut *tx, claim, &name).await? {
                Lookup::Ambiguous => {
                    drop(tx);
                    return Err(fail(
                        None,
                        &name,
                        "ambiguousUser",
                        "Your address names more than one Eligo account. Ask an administrator to tell them apart.",
                    )
                    .await);
                }
                Lookup::One(u) => {
                    // An account bound to another identity (another provider, or another
                    // person the provider gave the same address) is not this one's to open.
                    if tx.get_sign_in_identity(u.id).await?.is_some() {
                        drop(tx);
                        return Err(fail(
                            Some(&u),
                            &name,
                            "identityMismatch",
                            "This Eligo account signs in through another single sign-on identity. Ask an administrator if that has changed.",
                        )
                        .await);
                    }
                    (Named::Claimed(u), name)
                }
                Lookup::Nobody if provider.auto_create && claim != PrincipalClaim::Sub => {
                    match new_user(v, &name, now) {
                        Some(u) => (Named::New(u), name),
                        None => {
                            drop(tx);
                            return Err(fail(
                                None,
                                &name,
                                "invalidClaims",
                                "The identity provider's name for you is not a valid user name here.",
                            )
                            .await);
                        }
                    }
                }
                Lookup::Nobody => {
                    drop(tx);
                    return Err(fail(
                        None,
                        &name,
                        "unknownUser",
                        "There is no Eligo account for you. Ask an administrator to create one.",
                    )
                    .await);
                }
            }
        }
    };
    let refuse = |user: Option<&User>, reason: &str| {
        failed_event(now, &v.provider, user, &name, address, reason)
    };
    let (user, created, binds) = match named {
        Named::Bound(u) => (u, false, false),
        Named::Claimed(u) => (u, false, true),
        Named::New(u) => (u, true, true),
    };
    if user
        .user_principal_name
        .eq_ignore_ascii_case(BREAKGLASS_UPN)
    {
        drop(tx);
        return Err(sessions::fail(
            app,
            refuse(Some(&user), "breakGlassAccount"),
            &account,
            Scope::Address(address),
            refused("The emergency-access account signs in with its local credential only."),
        )
        .await);
    }
    if !user.account_enabled {
        drop(tx);
        return Err(sessions::fail(
            app,
            refuse(Some(&user), "accountDisabled"),
            &account,
            Scope::Address(address),
            refused("This account is disabled."),
        )
        .await);
    }
    let mfa = oidc::proves_mfa(&v.amr);
    // Rule 4: a password alone never opens a session of an account with a second factor, on
    // any channel. A provider that reports none (only `pwd`, say) is a password alone here;
    // the account's own factor is asked for by signing in with it instead.
    if !mfa && !created && sessions::second_factors_in(&mut *tx, user.id).await?.any() {
        drop(tx);
        return Err(sessions::fail(
            app,
            refuse(Some(&user), "secondFactorMissing"),
            &account,
            Scope::Address(address),
            refused(
                "Your identity provider did not report a second factor, and this account has one. Sign in with your password and your authenticator, or ask your provider to require multi-factor authentication.",
            ),
        )
        .await);
    }
    if created {
        tx.insert_user(&user).await?;
        tx.append_audit(
            AuditEvent::new(
                now,
                Category::UserManagement,
                "Add user",
                Initiator::system(),
            )
            .target_user(user.id, &user.display_name, &user.user_principal_name)
            .detail("reason", "first single sign-on")
            .detail("provider", &v.provider)
            .modified_all(changes::user(None, Some(&user))),
        )
        .await?;
    }
    if binds {
        let identity = identities::Federated {
            issuer: provider.issuer.clone(),
            subject: v.subject.clone(),
        };
        if let Some(bound) = identities::replace(&mut *tx, user.id, Some(&identity), now).await? {
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::UserManagement,
                    "Update user",
                    Initiator::system(),
                )
                .target_user(user.id, &user.display_name, &user.user_principal_name)
                .detail("reason", "first single sign-on")
                .detail("provider", &v.provider)
                .modified_all([bound]),
            )
            .await?;
        }
    }
    let amr = oidc::session_amr(&v.amr);
    let (raw, mut record) = sessions::new_session(app, user.id, now, amr, false, v.channel);
    let authenticated_at = oidc::auth_time(v, now);
    record.last_mfa_at = authenticated_at.filter(|_| mfa);
    record.acr = v.acr.clone();
    record.acr_at = authenticated_at.filter(|_| v.acr.is_some());
    let mut signed_in = AuditEvent::new(
        now,
        Category::Authentication,
        "User signed in",
        sessions::user_actor(&user),
    )
    .target(user.id, "User", Some(&user.user_principal_name))
    .detail("ipAddress", address.unwrap_or("-"))
    .detail("method", "oidc")
    .detail("provider", &v.provider)
    .detail("amr", record.amr.join(","));
    if let Some(acr) = &record.acr {
        signed_in = signed_in.detail("acr", acr.chars().take(100).collect::<String>());
    }
    tx.insert_token(&record).await?;
    tx.append_audit(signed_in).await?;
    tx.record_sign_in(user.id, SignInKind::Interactive, now)
        .await?;
    tx.commit().await?;
    Ok(Issued {
        access_token: raw,
        expires_in: app.config.token_lifetime.num_seconds(),
        amr: record.amr,
    })
}

/// The user a first sign-in creates: an ordinary user with no roles and no password.
fn new_user(v: &Verified, upn: &str, now: DateTime<Utc>) -> Option<User> {
    dir::validate_upn(upn).ok()?;
    let display_name = v
        .name
        .clone()
        .filter(|n| dir::validate_display_name(n).is_ok())
        .unwrap_or_else(|| upn.to_string());
    let mail = v
        .email
        .clone()
        .filter(|m| v.email_verified && dir::validate_mail(m).is_ok());
    Some(User {
        id: Uuid::new_v4(),
        user_principal_name: upn.to_string(),
        display_name,
        mail,
        mail_nickname: None,
        manager_id: None,
        account_enabled: true,
        created_date_time: now,
    })
}
