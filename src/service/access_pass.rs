//! Temporary Access Pass use cases: issue (shown once), list, delete, and the check a sign-in
//! with a pass makes. Issuing is Tier 0's for any account (`AccountChange::AccessPass`): a pass
//! lets its holder enrol a second factor in the person's name. Only the pass's hash is stored,
//! under the credential kind `temporaryAccessPass`, one per person as in Graph.

use chrono::{DateTime, Utc};
use eligo_core::access_pass::{self as pass, AccessPass};
use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::{AccountChange, Operation, Protection, actions};
use eligo_store::Tx;
use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::auth::{Caller, token};
use crate::failure::{Failure, UseCaseResult};
use crate::service::access::privilege;
use crate::service::authorize;

/// The credential kind a person's pass is stored under.
pub const KIND: &str = "temporaryAccessPass";

/// The pass's alphabet: no 0/O, 1/l/I, so it can be read out over the phone.
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 16 characters of 56: about 93 bits, so a plain hash is enough to store it.
const LENGTH: usize = 16;

/// What an administrator asks for (Graph's body; every field optional).
#[derive(Debug, Default, Clone)]
pub struct PassInput {
    pub start_date_time: Option<DateTime<Utc>>,
    pub lifetime_in_minutes: Option<i64>,
    pub is_usable_once: Option<bool>,
}

/// A newly issued pass: the record, and the pass itself, shown this once.
pub struct Issued {
    pub pass: AccessPass,
    pub secret: String,
}

fn generate() -> String {
    let mut rng = rand::rng();
    (0..LENGTH)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The person's current pass, if any (a deleted one is stored as null).
pub async fn current(tx: &mut dyn Tx, user: Uuid) -> UseCaseResult<Option<AccessPass>> {
    Ok(tx
        .get_credential(user, KIND)
        .await?
        .and_then(|v| serde_json::from_value::<Option<AccessPass>>(v).ok())
        .flatten())
}

async fn target_user(tx: &mut dyn Tx, id: Uuid) -> UseCaseResult<eligo_core::directory::User> {
    tx.get_user(id)
        .await?
        .ok_or_else(|| Failure::not_found("user"))
}

/// `POST /v1/users/{id}/authentication/temporaryAccessPassMethods`.
pub async fn issue(
    app: &App,
    caller: &Caller,
    user: Uuid,
    input: PassInput,
) -> UseCaseResult<Issued> {
    authorize::audited(
        app,
        caller,
        "Admin registered temporary access pass method for user",
        Category::UserManagement,
        async {
            authorize::check(
                app,
                caller,
                Operation::Account(AccountChange::AccessPass),
                &Protection::Ordinary,
            )?;
            let now = app.clock.now();
            let mut tx = app.store.write().await?;
            let target = target_user(&mut *tx, user).await?;
            let existing = current(&mut *tx, user).await?;
            let request = pass::check_request(
                input.start_date_time,
                input.lifetime_in_minutes,
                input.is_usable_once,
                existing.as_ref(),
                now,
            )
            .map_err(|r| Failure::bad_request(r.code(), r.message()))?;
            let secret = generate();
            let record = AccessPass {
                id: Uuid::new_v4(),
                hash: token::digest(&secret),
                created_date_time: now,
                start_date_time: request.start,
                lifetime_in_minutes: request.lifetime_in_minutes,
                is_usable_once: request.is_usable_once,
                used_date_time: None,
                created_by: Some(caller.id),
            };
            tx.put_credential(user, KIND, &json!(record), now.timestamp_micros())
                .await?;
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::UserManagement,
                    "Admin registered temporary access pass method for user",
                    caller.initiator(),
                )
                .target_user(user, &target.display_name, &target.user_principal_name)
                .modified_secret("temporaryAccessPass")
                .modified(
                    "startDateTime",
                    "",
                    crate::service::audit_values::time_text(record.start_date_time),
                )
                .modified(
                    "lifetimeInMinutes",
                    "",
                    record.lifetime_in_minutes.to_string(),
                )
                .modified("isUsableOnce", "", record.is_usable_once.to_string())
                .detail("startDateTime", record.start_date_time.to_rfc3339())
                .detail("lifetimeInMinutes", record.lifetime_in_minutes.to_string())
                .detail("isUsableOnce", record.is_usable_once.to_string()),
            )
            .await?;
            tx.commit().await?;
            Ok(Issued {
                pass: record,
                secret,
            })
        },
    )
    .await
}

/// `GET /v1/users/{id}/authentication/temporaryAccessPassMethods`: the person themselves, or
/// whoever manages credentials.
pub async fn list(app: &App, caller: &Caller, user: Uuid) -> UseCaseResult<Vec<AccessPass>> {
    if caller.id != user {
        authorize::act(app, caller, actions::USERS_CREDENTIALS, false)?;
    }
    let mut tx = app.store.read().await?;
    target_user(&mut *tx, user).await?;
    Ok(current(&mut *tx, user).await?.into_iter().collect())
}

/// `DELETE .../temporaryAccessPassMethods/{id}`: a credential change of the person (so a
/// privileged person's pass only from above, rule 2).
pub async fn delete(app: &App, caller: &Caller, user: Uuid, method: Uuid) -> UseCaseResult<()> {
    authorize::audited(
        app,
        caller,
        "Admin deleted temporary access pass method for user",
        Category::UserManagement,
        async {
            authorize::check(
                app,
                caller,
                Operation::Account(AccountChange::Credentials),
                &Protection::Ordinary,
            )?;
            let now = app.clock.now();
            let mut tx = app.store.write().await?;
            let target = target_user(&mut *tx, user).await?;
            let protection = privilege::of_principal(app, &mut *tx, user, now).await?;
            authorize::check(
                app,
                caller,
                Operation::Account(AccountChange::Credentials),
                &protection,
            )?;
            if current(&mut *tx, user)
                .await?
                .is_none_or(|p| p.id != method)
            {
                return Err(Failure::not_found(
                    "temporaryAccessPassAuthenticationMethod",
                ));
            }
            tx.put_credential(user, KIND, &serde_json::Value::Null, now.timestamp_micros())
                .await?;
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::UserManagement,
                    "Admin deleted temporary access pass method for user",
                    caller.initiator(),
                )
                .target_user(user, &target.display_name, &target.user_principal_name)
                .modified(
                    "temporaryAccessPass",
                    eligo_core::audit::SECRET_CHANGED,
                    "",
                ),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        },
    )
    .await
}

/// Does `presented` match the person's pass, usable now? Returns the record to store back (a
/// one-time pass marked used) when it does. Compared in constant time.
pub fn redeem(
    current: Option<&AccessPass>,
    presented: &str,
    now: DateTime<Utc>,
) -> Option<AccessPass> {
    let current = current?;
    if !token::digests_equal(&current.hash, &token::digest(presented.trim())) {
        return None;
    }
    if !current.usability(now).is_usable() {
        return None;
    }
    let mut spent = current.clone();
    if spent.is_usable_once {
        spent.used_date_time = Some(now);
    }
    Some(spent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_is_long_and_from_the_unambiguous_alphabet() {
        let a = generate();
        assert_eq!(a.len(), LENGTH);
        assert!(a.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(a, generate());
    }
}
