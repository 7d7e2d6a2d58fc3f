//! Sign-in and activation history: what access reviews' recommendations and PIM alerts read
//! (the last sign-in of a principal, the last activation of an eligibility, how many activations
//! in a window), kept by the store (migration 0015) and written where the events happen:
//! `sessions` records each successful sign-in with its session, `pim::activate` each activation
//! with its schedule (at once, or at the approval that grants it). Nothing here writes.
//!
//! Reading someone's sign-in activity needs what reading the audit log needs (as Graph's
//! `signInActivity` needs `AuditLog.Read.All`): a caller gets a [`History`] from [`reader`],
//! which decides; the server's own scans (reviews, alerts) take [`for_system`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use eligo_core::authz::actions;
use eligo_core::target::Target;
use eligo_store::{Activation, LastActivation, SignInActivity};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::UseCaseResult;
use crate::service::authorize;

/// Reads the history, for a caller who may read the audit log or for the server itself.
pub struct History<'a> {
    app: &'a App,
}

/// The history for `caller`, who must be allowed to read the audit log; refused with 403
/// `Authorization_RequestDenied` otherwise (whatever else the caller may read).
pub fn reader<'a>(app: &'a App, caller: &Caller) -> UseCaseResult<History<'a>> {
    authorize::act(app, caller, actions::AUDIT_READ, false)?;
    Ok(History { app })
}

/// The history for the server's own work (review recommendations, alert scans), which answers
/// to no caller.
pub fn for_system(app: &App) -> History<'_> {
    History { app }
}

impl History<'_> {
    /// The principal's last successful sign-ins (both `None` when never).
    pub async fn last_sign_in(&self, principal: Uuid) -> UseCaseResult<SignInActivity> {
        let mut tx = self.app.store.read().await?;
        Ok(tx.sign_in_activity(principal).await?.unwrap_or_default())
    }

    /// The last sign-ins of each of `principals` (a page of users), in one query per 500;
    /// those that never signed in are absent.
    pub async fn last_sign_ins_of(
        &self,
        principals: &[Uuid],
    ) -> UseCaseResult<HashMap<Uuid, SignInActivity>> {
        let mut tx = self.app.store.read().await?;
        Ok(tx.sign_in_activity_of(principals).await?)
    }

    /// Every principal's last sign-ins, in one query (those that never signed in are absent).
    pub async fn all_last_sign_ins(&self) -> UseCaseResult<HashMap<Uuid, SignInActivity>> {
        let mut tx = self.app.store.read().await?;
        Ok(tx.all_sign_in_activity().await?.into_iter().collect())
    }

    /// The principal's newest activation of `target`, if any.
    pub async fn last_activation(
        &self,
        principal: Uuid,
        target: &Target,
    ) -> UseCaseResult<Option<Activation>> {
        let mut tx = self.app.store.read().await?;
        Ok(tx.last_activation(principal, target).await?)
    }

    /// How many activations of `target` the principal made in `[from, to)` (the start
    /// included, the end not).
    pub async fn activations_between(
        &self,
        principal: Uuid,
        target: &Target,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> UseCaseResult<i64> {
        let mut tx = self.app.store.read().await?;
        Ok(tx.count_activations(principal, target, from, to).await?)
    }

    /// The last activation (and the count) per principal and target, for every pair ever
    /// activated, in one query.
    pub async fn all_last_activations(
        &self,
    ) -> UseCaseResult<HashMap<(Uuid, Target), LastActivation>> {
        let mut tx = self.app.store.read().await?;
        Ok(tx
            .last_activations()
            .await?
            .into_iter()
            .map(|a| ((a.principal_id, a.target.clone()), a))
            .collect())
    }
}

/// Graph's `signInActivity` of a user: `lastSignInDateTime` (interactive) and
/// `lastNonInteractiveSignInDateTime`, each null when never.
pub fn sign_in_activity_json(activity: Option<&SignInActivity>) -> serde_json::Value {
    let activity = activity.copied().unwrap_or_default();
    serde_json::json!({
        "lastSignInDateTime": activity.last_interactive,
        "lastNonInteractiveSignInDateTime": activity.last_non_interactive,
    })
}
