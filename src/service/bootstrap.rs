//! First start: the built-in roles, and — when the store holds no principal — the emergency
//! access account `breakglass`, permanently active as Global Administrator and authenticated by
//! `ELIGO_BOOTSTRAP_TOKEN` (or by a generated token printed once).

use chrono::TimeDelta;
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::directory::User;
use eligo_core::roles::{self, built_in_roles};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::TokenRecord;
use uuid::Uuid;

use crate::app::App;
use crate::auth::token;

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
                .target(role.id, "RoleDefinition", Some(&role.display_name)),
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
        .target(user.id, "User", Some(BREAKGLASS_UPN)),
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
        .target(user.id, "User", Some(BREAKGLASS_UPN)),
    )
    .await?;
    tx.commit().await?;
    Ok(raw)
}
