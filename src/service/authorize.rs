//! The one authorization layer. Every use case that changes something asks here, with the
//! caller, the operation and the target's protection (rule 1 and 3 of the threat model, from
//! `access::privilege`); the decision itself is the pure `eligo_core::authz::decide`. Handlers in
//! `api/` and `portal/` never decide access: they may hide what a viewer cannot use, but the use
//! case refuses.
//!
//! A refusal is audited as a failure in a transaction of its own, after the use case's write
//! transaction was dropped, so the refused attempt changed nothing but left its trace.

use std::future::Future;

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::{self, Denied, Operation, Protection, Subject};
use eligo_core::directory::PrincipalKind;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};

/// The amr value of the break-glass bearer token (`ELIGO_BOOTSTRAP_TOKEN`).
pub const BOOTSTRAP_METHOD: &str = "bootstrap";

/// Has the caller's session strong authentication now? A user's session needs a second factor
/// proved within `ELIGO_MFA_FRESHNESS`; a service principal (a client secret) and the
/// break-glass token have no second factor by nature and count as strong.
pub fn is_strong(caller: &Caller, now: DateTime<Utc>, freshness: chrono::TimeDelta) -> bool {
    caller.kind == PrincipalKind::ServicePrincipal
        || caller.session.amr.iter().any(|m| m == BOOTSTRAP_METHOD)
        || caller.mfa_is_fresh(now, freshness)
}

/// Decides `op` on a target with `protection` for `caller`, now.
pub fn check(
    app: &App,
    caller: &Caller,
    op: Operation,
    protection: &Protection,
) -> Result<(), Denied> {
    let subject = Subject {
        id: caller.id,
        grants: &caller.grants,
        strong: is_strong(caller, app.clock.now(), app.config.mfa_freshness),
    };
    authz::decide(&subject, op, protection)
}

/// `check` for an operation on no particular object (a policy, a connector, a subscription).
pub fn act(app: &App, caller: &Caller, action: &'static str, strong: bool) -> Result<(), Denied> {
    check(
        app,
        caller,
        Operation::Act { action, strong },
        &Protection::Ordinary,
    )
}

/// Refuses a caller whose session has not proved a second factor recently (rule 4), for
/// decisions that need no directory permission but strong authentication: approving.
pub fn require_strong(app: &App, caller: &Caller) -> Result<(), Denied> {
    if is_strong(caller, app.clock.now(), app.config.mfa_freshness) {
        Ok(())
    } else {
        Err(Denied::MfaRequired)
    }
}

/// Runs a use case and audits a refusal (any 403) as a failed `activity` by the caller. The use
/// case's own transaction is gone by then: the refusal changed nothing.
pub async fn audited<T>(
    app: &App,
    caller: &Caller,
    activity: &str,
    category: Category,
    run: impl Future<Output = UseCaseResult<T>>,
) -> UseCaseResult<T> {
    let result = run.await;
    if let Err(e) = &result
        && e.kind == crate::failure::Kind::Denied
    {
        let event = AuditEvent::new(app.clock.now(), category, activity, caller.initiator())
            .detail("code", e.code)
            .failed(e.code);
        let write = async {
            let mut tx = app.store.write().await?;
            tx.append_audit(event).await?;
            tx.commit().await
        };
        if let Err(err) = write.await {
            return Err(Failure::from(err));
        }
    }
    result
}
