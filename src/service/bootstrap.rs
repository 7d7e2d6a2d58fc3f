//! First start: the built-in roles, and — when the store holds no principal — the emergency
//! access account `breakglass`, permanently active as Global Administrator and authenticated by
//! `ELIGO_BOOTSTRAP_TOKEN` (or by a generated token printed once).
//!
//! Break-glass is loud: every request made with the token is audited (with its address), and
//! each break-glass session is announced — mailed to every Global Administrator (active or
//! eligible, the account itself aside) and sent to `breakglass.used` subscribers — at its first
//! use and then at most once per `ELIGO_BREAKGLASS_NOTICE_INTERVAL` while it is used
//! ([`record_token_use`]); a session opened for the account by signing in with another
//! credential is announced the same way ([`announce_sign_in`]).

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::directory::{PrincipalKind, User};
use eligo_core::roles::{self, built_in_roles};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::{StoreError, TokenRecord, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::auth::{Caller, token};
use crate::failure::UseCaseResult;
use crate::notify::event::{BreakGlassUse, Party, SecurityEvent, subscribed_to};
use crate::notify::webhooks::OutgoingEvent;
use crate::outbox::jobs::Payload;

pub const BREAKGLASS_UPN: &str = "breakglass@eligo.local";

/// Adds any built-in role definition the store lacks (new releases may add roles).
pub async fn ensure_built_in_roles(app: &App) -> anyhow::Result<()> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    for role in built_in_roles() {
        if tx.get_role_definition(role.id).await?.is_none() {
            let role = roles::RoleDefinition {
                created_date_time: Some(now),
                ..role
            };
            tx.insert_role_definition(&role).await?;
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::RoleManagement,
                    "Add role definition",
                    Initiator::system(),
                )
                .target(role.id, "RoleDefinition", Some(&role.display_name))
                .modified("displayName", "", role.display_name.as_str()),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub enum FirstStart {
    /// The store already had principals: nothing was created.
    NotFirst,
    /// Created with the configured token.
    Configured,
    /// Created with this generated token, valid for 24 hours; print it once.
    Generated(String),
}

pub async fn first_start(app: &App) -> anyhow::Result<FirstStart> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    if tx.count_principals().await? > 0 {
        return Ok(FirstStart::NotFirst);
    }
    let user = User {
        id: Uuid::new_v4(),
        user_principal_name: BREAKGLASS_UPN.into(),
        display_name: "Emergency access (break-glass)".into(),
        mail: None,
        mail_nickname: Some("breakglass".into()),
        manager_id: None,
        account_enabled: true,
        created_date_time: now,
    };
    let (raw, outcome, expires_at) = match &app.config.bootstrap_token {
        Some(t) => (t.expose().to_string(), FirstStart::Configured, None),
        None => {
            let t = token::generate("elgb_");
            (
                t.clone(),
                FirstStart::Generated(t),
                Some(now + TimeDelta::hours(24)),
            )
        }
    };
    let ga = Uuid::parse_str(roles::ids::GLOBAL_ADMINISTRATOR)?;
    let schedule = RoleSchedule::new(
        Uuid::new_v4(),
        ScheduleKind::Active,
        user.id,
        ga,
        "/",
        (now, None),
        AssignmentType::Assigned,
        None,
        now,
    );
    tx.insert_user(&user).await?;
    tx.insert_role_schedule(&schedule).await?;
    tx.insert_token(&TokenRecord {
        token_hash: token::digest(&raw),
        principal_id: user.id,
        created_at: now,
        expires_at,
        revoked_at: None,
        last_mfa_at: None,
        amr: vec!["bootstrap".into()],
        channel: eligo_store::SessionChannel::Api,
        acr: None,
        acr_at: None,
    })
    .await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::UserManagement,
            "Add user",
            Initiator::system(),
        )
        .target(user.id, "User", Some(BREAKGLASS_UPN))
        .modified("userPrincipalName", "", BREAKGLASS_UPN)
        .modified("accountEnabled", "", "true")
        .detail("reason", "bootstrap: emergency access account"),
    )
    .await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::RoleManagement,
            "Add member to role",
            Initiator::system(),
        )
        .target(ga, "Role", Some("Global Administrator"))
        .target(user.id, "User", Some(BREAKGLASS_UPN))
        .modified("Assignment type", "", "Active")
        .modified("Scope", "", "/")
        .modified("End", "", "permanent")
        .detail("assignmentType", "permanent active (emergency access)"),
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// The configured break-glass token (`ELIGO_BOOTSTRAP_TOKEN`) is authoritative: at every start
/// it is a live token of the emergency-access account, whatever happened to it before (a
/// sign-out, a cascade, a store restored from backup). The value itself stays outside Eligo, so
/// recovery never depends on what the database says; to rotate it, change the setting.
pub async fn ensure_configured_token(app: &App) -> anyhow::Result<()> {
    let Some(configured) = &app.config.bootstrap_token else {
        return Ok(());
    };
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let Some(user) = tx.find_user_by_upn(BREAKGLASS_UPN).await? else {
        // Deleted by an administrator: nothing to attach it to (said loudly by the caller).
        tracing::warn!(
            upn = BREAKGLASS_UPN,
            "ELIGO_BOOTSTRAP_TOKEN is set but the emergency-access account no longer exists"
        );
        return Ok(());
    };
    let hash = token::digest(configured.expose());
    let record = TokenRecord {
        token_hash: hash.clone(),
        principal_id: user.id,
        created_at: now,
        expires_at: None,
        revoked_at: None,
        last_mfa_at: None,
        amr: vec!["bootstrap".into()],
        channel: eligo_store::SessionChannel::Api,
        acr: None,
        acr_at: None,
    };
    match tx.get_token(&hash).await? {
        None => {
            // A new value: the previous configured token (and any other session of the
            // account) stops working.
            tx.insert_token(&record).await?;
            tx.revoke_tokens_of(user.id, Some(&hash), now).await?;
        }
        Some(existing)
            if existing.revoked_at.is_some()
                || existing.principal_id != user.id
                || existing.expires_at.is_some()
                || existing.amr != record.amr =>
        {
            tx.update_token(&TokenRecord {
                created_at: existing.created_at,
                ..record
            })
            .await?
        }
        Some(_) => return Ok(()),
    }
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::Authentication,
            "Break-glass token restored from configuration",
            Initiator::system(),
        )
        .target(user.id, "User", Some(BREAKGLASS_UPN))
        .modified_secret("breakGlassToken"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Why the break-glass token could not be rotated.
#[derive(Debug, thiserror::Error)]
pub enum RotateRefused {
    #[error(
        "ELIGO_BOOTSTRAP_TOKEN is configured, and the configured value is authoritative: change it (and restart) to rotate the break-glass token"
    )]
    Configured,
    #[error("the emergency-access account {BREAKGLASS_UPN} does not exist")]
    NoAccount,
}

/// `eligo bootstrap rotate`: a new generated break-glass token (valid 24 hours, returned to
/// be shown once); every other session of the emergency-access account ends with it.
pub async fn rotate(app: &App) -> anyhow::Result<String> {
    if app.config.bootstrap_token.is_some() {
        return Err(RotateRefused::Configured.into());
    }
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let user = tx
        .find_user_by_upn(BREAKGLASS_UPN)
        .await?
        .ok_or(RotateRefused::NoAccount)?;
    let raw = token::generate("elgb_");
    let hash = token::digest(&raw);
    tx.insert_token(&TokenRecord {
        token_hash: hash.clone(),
        principal_id: user.id,
        created_at: now,
        expires_at: Some(now + TimeDelta::hours(24)),
        revoked_at: None,
        last_mfa_at: None,
        amr: vec!["bootstrap".into()],
        channel: eligo_store::SessionChannel::Api,
        acr: None,
        acr_at: None,
    })
    .await?;
    tx.revoke_tokens_of(user.id, Some(&hash), now).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::Authentication,
            "Break-glass token rotated",
            Initiator::system(),
        )
        .target(user.id, "User", Some(BREAKGLASS_UPN))
        .modified_secret("breakGlassToken"),
    )
    .await?;
    tx.commit().await?;
    Ok(raw)
}

/// Whoever holds or is eligible for Global Administrator at the root now (users only; an
/// eligible one is told too: in a PIM tenant most Global Administrators are eligible).
fn global_administrators(app: &App, now: DateTime<Utc>) -> BTreeSet<Uuid> {
    let ga = Uuid::parse_str(roles::ids::GLOBAL_ADMINISTRATOR).expect("a GUID");
    let (active, eligible) = app.access.exposure(ga, now);
    active
        .into_iter()
        .chain(eligible)
        .filter(|h| h.path.scope == eligo_core::scope::ROOT)
        .filter_map(|h| Uuid::parse_str(&h.principal).ok())
        .filter(|id| matches!(app.access.principal(*id), Some((PrincipalKind::User, _))))
        .collect()
}

/// Where a user's mail goes: their mail, else a UPN that is an address; None when disabled.
async fn address_of(tx: &mut dyn Tx, user: Uuid) -> Result<Option<String>, StoreError> {
    Ok(tx.get_user(user).await?.and_then(|u| {
        if !u.account_enabled {
            return None;
        }
        u.mail
            .filter(|m| m.contains('@'))
            .or_else(|| Some(u.user_principal_name).filter(|m| m.contains('@')))
    }))
}

/// Writes the jobs announcing `notice` inside `tx`: a mail to every Global Administrator but
/// the account itself (when mail is configured) and an event to every `breakglass.used`
/// subscription. Returns (mails, events).
pub async fn announce(
    app: &App,
    tx: &mut dyn Tx,
    notice: &BreakGlassUse,
    now: DateTime<Utc>,
) -> Result<(usize, usize), StoreError> {
    let mut events = 0;
    let event = OutgoingEvent::new(
        notice.id,
        SecurityEvent::BreakGlassUsed,
        notice.occurred_at,
        &notice.summary(),
        serde_json::to_value(notice).expect("a notice serializes"),
    );
    for sub in tx.list_subscriptions().await? {
        if subscribed_to(&sub.data["eventTypes"], SecurityEvent::BreakGlassUsed) {
            let payload = Payload::Event {
                subscription_id: sub.id,
                event: Box::new(event.clone()),
            };
            let once = format!("{}:subscription:{}", notice.id, sub.id);
            tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
            events += 1;
        }
    }
    let mut mails = 0;
    if app.config.smtp_url.is_some() {
        let mut seen = BTreeSet::new();
        for admin in global_administrators(app, now) {
            if admin == notice.account.id {
                continue;
            }
            let Some(to) = address_of(tx, admin).await? else {
                continue;
            };
            if !seen.insert(to.to_lowercase()) {
                continue;
            }
            let once = format!("{}:mail:{}", notice.id, to.to_lowercase());
            let payload = Payload::BreakGlassMail {
                to,
                notice: Box::new(notice.clone()),
            };
            tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
            mails += 1;
        }
    }
    Ok((mails, events))
}

fn account_party(caller_id: Uuid, display_name: &str, upn: Option<&str>) -> Party {
    Party {
        id: caller_id,
        display_name: display_name.to_string(),
        user_principal_name: upn.map(String::from),
    }
}

/// One request made with the break-glass token: its audit entry ("Break-glass token used",
/// with the address, method and path) and, when due, the announcement, in one transaction.
pub async fn record_token_use(
    app: &App,
    caller: &Caller,
    address: Option<&str>,
    method: &str,
    path: &str,
) -> UseCaseResult<()> {
    let now = app.clock.now();
    let session = caller.session.token_hash.clone();
    let due = app
        .breakglass
        .claim(&session, now, app.config.breakglass_notice_interval);
    let mut event = AuditEvent::new(
        now,
        Category::Authentication,
        "Break-glass token used",
        caller.initiator(),
    )
    .target(caller.id, "User", caller.upn.as_deref())
    .detail("ipAddress", address.unwrap_or("-"))
    .detail("method", method)
    .detail("path", path);
    let write = async {
        let mut tx = app.store.write().await?;
        if due {
            let notice = BreakGlassUse {
                id: Uuid::new_v4(),
                occurred_at: now,
                account: account_party(caller.id, &caller.display_name, caller.upn.as_deref()),
                credential: "bootstrapToken".into(),
                ip_address: address.map(String::from),
                request: Some(format!(
                    "{method} {}",
                    path.chars().take(200).collect::<String>()
                )),
                quiet_period_secs: app.config.breakglass_notice_interval.num_seconds(),
            };
            let (mails, events) = announce(app, &mut *tx, &notice, now).await?;
            event = event
                .detail("noticeId", notice.id.to_string())
                .detail("announced", format!("{mails} mail(s), {events} event(s)"));
        }
        tx.append_audit(event).await?;
        tx.commit().await
    };
    if let Err(e) = write.await {
        if due {
            app.breakglass.release(&session, now);
        }
        return Err(e.into());
    }
    Ok(())
}

/// A session opened for the emergency-access account by signing in (a password someone set,
/// a Temporary Access Pass): announced inside the sign-in's transaction, at most once per
/// quiet period for the account (so signing in in a loop is no mail bomb either). Returns the
/// details to add to the "User signed in" entry.
pub async fn announce_sign_in(
    app: &App,
    tx: &mut dyn Tx,
    user: &User,
    address: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    if !user
        .user_principal_name
        .eq_ignore_ascii_case(BREAKGLASS_UPN)
    {
        return Ok(Vec::new());
    }
    let key = format!("sign-in:{}", user.id);
    if !app
        .breakglass
        .claim(&key, now, app.config.breakglass_notice_interval)
    {
        return Ok(vec![("breakGlass", "announced earlier".to_string())]);
    }
    let notice = BreakGlassUse {
        id: Uuid::new_v4(),
        occurred_at: now,
        account: account_party(user.id, &user.display_name, Some(&user.user_principal_name)),
        credential: "signIn".into(),
        ip_address: address.map(String::from),
        request: None,
        quiet_period_secs: app.config.breakglass_notice_interval.num_seconds(),
    };
    match announce(app, tx, &notice, now).await {
        Ok((mails, events)) => Ok(vec![
            ("noticeId", notice.id.to_string()),
            ("announced", format!("{mails} mail(s), {events} event(s)")),
        ]),
        Err(e) => {
            app.breakglass.release(&key, now);
            Err(e)
        }
    }
}
