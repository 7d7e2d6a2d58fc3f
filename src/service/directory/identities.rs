//! Single sign-on identities (Graph's `identities` of a user): the provider's issuer and the
//! subject it gave the person, to which an account is bound. The first sign-in through a
//! provider binds the account its claim names (`service::oidc`); from then on that subject
//! names the account whatever the claims say, and no other provider, nor another subject at
//! the same provider, signs in to it by a claim. An e-mail address can be vouched for by any
//! provider and reassigned by the one that issued it; a subject cannot.
//!
//! Administrators read the binding with `$select=identities` and set or clear it with
//! `PATCH /v1/users/{id}` (`identities`, replaced whole as in Graph): to bind a privileged
//! account to the right provider before its first single sign-on, or to let a person move to
//! another provider. That is a credential change: only from above for privileged accounts
//! (rule 2), and it ends the account's other sessions (rule 6).

use chrono::{DateTime, Utc};
use eligo_core::audit::ModifiedProperty;
use eligo_store::{SignInIdentityRow, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::failure::{Failure, UseCaseResult};

/// Graph's `signInType` of an identity issued by an external provider.
pub const FEDERATED: &str = "federated";
/// Graph's `signInType` of the account's own name; Eligo keeps it as `userPrincipalName`.
pub const USER_PRINCIPAL_NAME: &str = "userPrincipalName";
/// Longest subject accepted (OpenID Connect: at most 255 ASCII characters).
const MAX_SUBJECT: usize = 255;

/// One entry of a Graph `identities` list as a client sent it.
#[derive(Debug, Clone)]
pub struct IdentityInput {
    pub sign_in_type: String,
    pub issuer: Option<String>,
    pub issuer_assigned_id: Option<String>,
}

/// The federated identity an account is to be bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Federated {
    pub issuer: String,
    pub subject: String,
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::bad_request("Request_BadRequest", message).with_detail("InvalidValue", "identities")
}

/// The federated identity a Graph `identities` list asks for (None: none), each entry checked:
/// a `federated` entry names a configured provider's issuer and a subject, at most one per
/// account; a `userPrincipalName` entry, which Graph clients send back as they read it, must
/// name the account's own user principal name (`upn`, as it will be after the patch), which is
/// changed through `userPrincipalName` itself.
pub fn requested(app: &App, upn: &str, list: &[IdentityInput]) -> UseCaseResult<Option<Federated>> {
    let mut federated = None;
    for entry in list {
        let id = entry.issuer_assigned_id.as_deref().unwrap_or("");
        match entry.sign_in_type.as_str() {
            FEDERATED => {
                let issuer = entry.issuer.as_deref().unwrap_or("");
                if !app.config.oidc.iter().any(|p| p.issuer == issuer) {
                    return Err(invalid(format!(
                        "issuer '{}' is not one of the configured single sign-on providers",
                        issuer.chars().take(100).collect::<String>()
                    )));
                }
                if id.is_empty() || id.len() > MAX_SUBJECT || id.chars().any(char::is_control) {
                    return Err(invalid(
                        "issuerAssignedId must be the provider's subject: 1 to 255 characters, no control characters",
                    ));
                }
                if federated.is_some() {
                    return Err(invalid(
                        "an account is bound to one single sign-on identity at most",
                    ));
                }
                federated = Some(Federated {
                    issuer: issuer.to_string(),
                    subject: id.to_string(),
                });
            }
            USER_PRINCIPAL_NAME if id.eq_ignore_ascii_case(upn) => {}
            USER_PRINCIPAL_NAME => {
                return Err(invalid(
                    "a userPrincipalName identity must name the account's userPrincipalName; change that property instead",
                ));
            }
            other => {
                return Err(invalid(format!(
                    "signInType '{}' is not supported: Eligo keeps federated identities and the userPrincipalName",
                    other.chars().take(50).collect::<String>()
                )));
            }
        }
    }
    Ok(federated)
}

/// How the audit trail shows an account's binding ("" for none).
fn describe(issuer: &str, subject: &str) -> String {
    format!("{FEDERATED} {issuer} {subject}")
}

fn shown(row: Option<&SignInIdentityRow>) -> String {
    row.map(|r| describe(&r.issuer, &r.subject))
        .unwrap_or_default()
}

/// Binds `principal` to `wanted` (None: to nothing), answering the audit's modified property
/// when that changes anything. Conflict when another account holds the identity.
pub async fn replace(
    tx: &mut dyn Tx,
    principal: Uuid,
    wanted: Option<&Federated>,
    now: DateTime<Utc>,
) -> UseCaseResult<Option<ModifiedProperty>> {
    let current = tx.get_sign_in_identity(principal).await?;
    let same = match (&current, wanted) {
        (Some(c), Some(w)) => c.issuer == w.issuer && c.subject == w.subject,
        (None, None) => true,
        _ => false,
    };
    if same {
        return Ok(None);
    }
    match wanted {
        Some(w) => {
            tx.put_sign_in_identity(&SignInIdentityRow {
                principal_id: principal,
                issuer: w.issuer.clone(),
                subject: w.subject.clone(),
                linked_at: now,
            })
            .await?
        }
        None => {
            tx.delete_sign_in_identity(principal).await?;
        }
    }
    Ok(Some(ModifiedProperty {
        display_name: "identities".into(),
        old_value: shown(current.as_ref()),
        new_value: wanted
            .map(|w| describe(&w.issuer, &w.subject))
            .unwrap_or_default(),
    }))
}
