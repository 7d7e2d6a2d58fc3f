//! The store's side of sign-in and activation history (migration 0015), what access reviews'
//! recommendations and PIM alerts read: the last successful sign-in of each principal
//! (interactive and non-interactive apart, as Graph's `signInActivity`), and an append-only
//! record of every activation. Both are written in the transaction of the event itself, so a
//! rolled-back sign-in or activation leaves no trace and a committed one is never missing.
//! A principal's history is deleted with it (and a group access's with its group).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::target::Target;
use uuid::Uuid;

use crate::Result;

/// How a principal signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInKind {
    /// A person's (or a pass's) sign-in: password, portal, Temporary Access Pass.
    Interactive,
    /// Without a person at the keyboard: a service principal's client credentials.
    NonInteractive,
}

/// A principal's last successful sign-ins; `None` when never (of that kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignInActivity {
    pub last_interactive: Option<DateTime<Utc>>,
    pub last_non_interactive: Option<DateTime<Utc>>,
}

impl SignInActivity {
    /// The latest of both kinds.
    pub fn last_any(&self) -> Option<DateTime<Utc>> {
        self.last_interactive.max(self.last_non_interactive)
    }
}

/// One activation: `principal_id` was given `target` by the active schedule `schedule_id` at
/// `activated_at` (when the grant was made: at once, or when its approval completed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    pub principal_id: Uuid,
    pub target: Target,
    pub schedule_id: Uuid,
    pub activated_at: DateTime<Utc>,
}

/// The last activation of a principal for one target, and how many it ever had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastActivation {
    pub principal_id: Uuid,
    pub target: Target,
    pub activated_at: DateTime<Utc>,
    pub count: i64,
}

#[async_trait]
pub trait HistoryTx: Send {
    /// Records a successful sign-in of `principal` at `at`: the row of the principal keeps, for
    /// each kind, the newest time it was given (an older one changes nothing). A failed sign-in
    /// must not call this.
    async fn record_sign_in(
        &mut self,
        principal: Uuid,
        kind: SignInKind,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// `None` when the principal never signed in (or does not exist).
    async fn sign_in_activity(&mut self, principal: Uuid) -> Result<Option<SignInActivity>>;
    /// The sign-in activity of each of `principals` that has any (one query per 500 ids), for
    /// a page of users.
    async fn sign_in_activity_of(
        &mut self,
        principals: &[Uuid],
    ) -> Result<HashMap<Uuid, SignInActivity>>;
    /// Every principal's sign-in activity, ordered by principal id, in one query (for scans:
    /// principals without a row never signed in).
    async fn all_sign_in_activity(&mut self) -> Result<Vec<(Uuid, SignInActivity)>>;

    /// Appends one activation (deferred, as `Tx::insert_role_schedule`).
    async fn record_activation(&mut self, activation: &Activation) -> Result<()>;
    /// The newest activation of `principal` for `target`, if any.
    async fn last_activation(
        &mut self,
        principal: Uuid,
        target: &Target,
    ) -> Result<Option<Activation>>;
    /// How many activations of `principal` for `target` were made in `[from, to)`: the start
    /// is included, the end is not.
    async fn count_activations(
        &mut self,
        principal: Uuid,
        target: &Target,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64>;
    /// The last activation (and the number of activations) per (principal, target) for every
    /// principal and target ever activated, in one query (for scans).
    async fn last_activations(&mut self) -> Result<Vec<LastActivation>>;
    /// Every activation made in `[from, to)` (the start included, the end not), of every
    /// principal and target, ordered by principal, target and time, in one query (for scans).
    async fn activations_between(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Activation>>;
}
