//! Service principals' client secrets, rotated as Graph does it: `addPassword` issues a new
//! secret with an end (at most two years; shown once, stored as a hash), `removePassword` takes
//! one back by its `keyId`. The secret made at creation has no end and the key id
//! `00000000-0000-0000-0000-000000000000`, so it can be removed once its successor is in place.
//! A privileged service principal's secrets are Tier 0's (rule 2); every change needs a fresh
//! second factor, and every refusal is audited.

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::{Protection, actions};
use eligo_store::Tx;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::auth::credential::CLIENT_SECRET;
use crate::auth::{Caller, token};
use crate::failure::{Failure, UseCaseResult};
use crate::service::access::privilege;
use crate::service::authorize;

/// The longest a new secret may live.
pub const MAX_LIFETIME: TimeDelta = TimeDelta::days(730);

/// One secret, as stored (its hash, never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Password {
    pub key_id: Uuid,
    pub display_name: Option<String>,
    /// The secret's first three characters, to tell secrets apart.
    pub hint: String,
    pub hash: String,
    pub start_date_time: DateTime<Utc>,
    pub end_date_time: Option<DateTime<Utc>>,
}

/// The stored credential: the creation secret (`hash`, no end) and the added ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
    #[serde(default)]
    passwords: Vec<Password>,
}

async fn stored(tx: &mut dyn Tx, sp: Uuid) -> UseCaseResult<Stored> {
    Ok(tx
        .get_credential(sp, CLIENT_SECRET)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// Does `secret` open a session for the service principal now?
pub fn matches(credential: Option<&serde_json::Value>, secret: &str, now: DateTime<Utc>) -> bool {
    let Some(stored) = credential.and_then(|v| serde_json::from_value::<Stored>(v.clone()).ok())
    else {
        return false;
    };
    let digest = token::digest(secret);
    let initial = stored
        .hash
        .as_deref()
        .is_some_and(|h| token::digests_equal(h, &digest));
    initial
        || stored.passwords.iter().any(|p| {
            token::digests_equal(&p.hash, &digest)
                && p.start_date_time <= now
                && p.end_date_time.is_none_or(|end| now < end)
        })
}

/// Who may change the secrets of `sp`: those who manage service principals, with a fresh
/// second factor; for a privileged one, only Tier 0.
async fn authorize_change(
    app: &App,
    tx: &mut dyn Tx,
    caller: &Caller,
    sp: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<String> {
    authorize::act(app, caller, actions::SERVICE_PRINCIPALS_CREATE, true)?;
    let found = tx
        .get_service_principal(sp)
        .await?
        .ok_or_else(|| Failure::not_found("service principal"))?;
    if let Protection::Privileged(reason) = privilege::of_principal(app, tx, sp, now).await? {
        authorize::act(app, caller, actions::PRIVILEGED_CREDENTIALS, true)
            .map_err(|_| Failure::from(eligo_core::authz::Denied::PrivilegedTarget { reason }))?;
    }
    Ok(found.display_name)
}

/// A new secret: the record and the secret itself, shown this once.
pub struct Added {
    pub password: Password,
    pub secret: String,
}

/// `POST /v1/servicePrincipals/{id}/addPassword`.
pub async fn add(
    app: &App,
    caller: &Caller,
    sp: Uuid,
    display_name: Option<String>,
    end: Option<DateTime<Utc>>,
) -> UseCaseResult<Added> {
    authorize::audited(
        app,
        caller,
        "Update application – Certificates and secrets management",
        Category::ApplicationManagement,
        async {
            let now = app.clock.now();
            let end = end.unwrap_or(now + MAX_LIFETIME);
            if end <= now || end > now + MAX_LIFETIME + TimeDelta::minutes(1) {
                return Err(Failure::bad_request(
                    "InvalidEndDateTime",
                    "passwordCredential.endDateTime must be in the future and at most two years ahead",
                )
                .with_detail("InvalidValue", "passwordCredential.endDateTime"));
            }
            if display_name.as_deref().is_some_and(|n| n.chars().count() > 256) {
                return Err(Failure::bad_request(
                    "InvalidDisplayName",
                    "passwordCredential.displayName is at most 256 characters",
                ));
            }
            let mut tx = app.store.write().await?;
            let name = authorize_change(app, &mut *tx, caller, sp, now).await?;
            let mut current = stored(&mut *tx, sp).await?;
            let secret = token::generate("elgs_");
            let password = Password {
                key_id: Uuid::new_v4(),
                display_name,
                hint: secret.chars().skip(5).take(3).collect(),
                hash: token::digest(&secret),
                start_date_time: now,
                end_date_time: Some(end),
            };
            current.passwords.push(password.clone());
            tx.put_credential(sp, CLIENT_SECRET, &json!(current), now.timestamp_micros())
                .await?;
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::ApplicationManagement,
                    "Update application – Certificates and secrets management",
                    caller.initiator(),
                )
                                .target(sp, "ServicePrincipal", Some(&name))
                .modified("passwordCredentials", "", password.key_id.to_string())
                .detail("added", password.key_id.to_string())
                .detail("endDateTime", end.to_rfc3339()),
            )
            .await?;
            tx.commit().await?;
            Ok(Added { password, secret })
        },
    )
    .await
}

/// `POST /v1/servicePrincipals/{id}/removePassword`.
pub async fn remove(app: &App, caller: &Caller, sp: Uuid, key_id: Uuid) -> UseCaseResult<()> {
    authorize::audited(
        app,
        caller,
        "Update application – Certificates and secrets management",
        Category::ApplicationManagement,
        async {
            let now = app.clock.now();
            let mut tx = app.store.write().await?;
            let name = authorize_change(app, &mut *tx, caller, sp, now).await?;
            let mut current = stored(&mut *tx, sp).await?;
            let before = current.passwords.len() + usize::from(current.hash.is_some());
            if key_id.is_nil() {
                current.hash = None;
            }
            current.passwords.retain(|p| p.key_id != key_id);
            if current.passwords.len() + usize::from(current.hash.is_some()) == before {
                return Err(Failure::not_found("password credential"));
            }
            tx.put_credential(sp, CLIENT_SECRET, &json!(current), now.timestamp_micros())
                .await?;
            // Rule 6: a credential taken back ends the sessions it may have opened.
            tx.revoke_tokens_of(sp, None, now).await?;
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::ApplicationManagement,
                    "Update application – Certificates and secrets management",
                    caller.initiator(),
                )
                .target(sp, "ServicePrincipal", Some(&name))
                .modified("passwordCredentials", key_id.to_string(), "")
                .detail("removed", key_id.to_string()),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        },
    )
    .await
}
