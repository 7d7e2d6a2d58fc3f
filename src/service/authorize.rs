//! The one authorization layer. Every use case that changes something asks here, with the
//! caller, the operation and the target's protection (rule 1 and 3 of the threat model, from
//! `access::privilege`); the decision itself is the pure `eligo_core::authz::decide`. Handlers in
//! `api/` and `portal/` never decide access: they may hide what a viewer cannot use, asking
//! [`capabilities`] what that is, but the use case refuses.
//!
//! A refusal is audited as a failure in a transaction of its own, after the use case's write
//! transaction was dropped, so the refused attempt changed nothing but left its trace.

use std::future::Future;

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::{self, Denied, Operation, Protection, Subject, actions};
use eligo_core::directory::PrincipalKind;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};

/// The amr value of the break-glass bearer token (`ELIGO_BOOTSTRAP_TOKEN`).
pub const BOOTSTRAP_METHOD: &str = "bootstrap";
/// The amr value of an inbound SCIM client's token: its grants are its own operation set
/// (`authz::provisioning_grants`), never a role, and `Operation::Provision` is asked on top.
pub const PROVISIONING_METHOD: &str = "scim";

/// Is the caller an inbound provisioning source (a SCIM client, or a directory import)?
pub fn is_provisioning(caller: &Caller) -> bool {
    caller.session.amr.iter().any(|m| m == PROVISIONING_METHOD)
}

/// Marks a provisioning caller as a directory import (next to `PROVISIONING_METHOD`).
pub const IMPORT_METHOD: &str = "import";

/// Is the caller a directory import (which may turn off a privileged leaver it owns)?
fn is_import(caller: &Caller) -> bool {
    caller.session.amr.iter().any(|m| m == IMPORT_METHOD)
}

/// Has the caller's session strong authentication now? A user's session needs a second factor
/// proved within `ELIGO_MFA_FRESHNESS`; a service principal (a client secret) and the
/// break-glass token have no second factor by nature and count as strong.
pub fn is_strong(caller: &Caller, now: DateTime<Utc>, freshness: chrono::TimeDelta) -> bool {
    caller.kind == PrincipalKind::ServicePrincipal
        || caller.session.amr.iter().any(|m| m == BOOTSTRAP_METHOD)
        || caller.mfa_is_fresh(now, freshness)
}

/// Decides `op` on a target with `protection` for `caller`, now. The grants are read from the
/// index at this moment, not those the request started with: inside a write transaction the
/// index holds every commit on every server (the store waits for it under the head lock), so
/// a role removed through another server a moment ago no longer lets this write through.
pub fn check(
    app: &App,
    caller: &Caller,
    op: Operation,
    protection: &Protection,
) -> Result<(), Denied> {
    let now = app.clock.now();
    let provisioning = is_provisioning(caller);
    let grants = if provisioning {
        authz::provisioning_grants()
    } else {
        app.access.grants(caller.id, now)
    };
    let subject = Subject {
        id: caller.id,
        grants: &grants,
        strong: is_strong(caller, now, app.config.mfa_freshness),
    };
    if provisioning {
        return authz::decide_provisioning(&subject, op, protection, is_import(caller));
    }
    authz::decide(&subject, op, protection)
}

/// Would `op` be allowed were the session strong? For reads that follow from a write right
/// (who may run a review may read it) without asking a second factor to read.
pub fn could(caller: &Caller, op: Operation, protection: &Protection) -> bool {
    let subject = Subject {
        id: caller.id,
        grants: &caller.grants,
        strong: true,
    };
    authz::decide(&subject, op, protection).is_ok()
}

/// `act` for a read or a probe, where session strength does not matter (so no clock is needed).
pub fn permits(caller: &Caller, action: &'static str) -> Result<(), Denied> {
    let subject = Subject {
        id: caller.id,
        grants: &caller.grants,
        strong: false,
    };
    authz::decide(
        &subject,
        Operation::Act {
            action,
            strong: false,
        },
        &Protection::Ordinary,
    )
}

/// May the caller perform `action` (no second factor asked)? For reads and for deciding what
/// to offer; a write asks `act` or `check` so that a refusal says why.
pub fn may(app: &App, caller: &Caller, action: &'static str) -> bool {
    act(app, caller, action, false).is_ok()
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

/// What a caller may do, decided here so that a page can show only what its viewer can use
/// (a "Create" button, a section of the navigation, a panel loaded only for those who may read
/// it). Only for showing and hiding: every use case and every page's read still decides for
/// itself, so a flag that is wrong hides or shows too much but grants nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub read_users: bool,
    pub create_users: bool,
    pub update_users: bool,
    pub delete_users: bool,
    pub read_groups: bool,
    /// Ordinary groups.
    pub create_groups: bool,
    pub create_role_assignable_groups: bool,
    pub read_service_principals: bool,
    pub create_service_principals: bool,
    pub delete_service_principals: bool,
    pub read_role_definitions: bool,
    pub read_role_assignments: bool,
    pub update_role_assignments: bool,
    pub read_policies: bool,
    pub update_policies: bool,
    pub read_provisioning: bool,
    pub update_provisioning: bool,
    pub read_outbox: bool,
    pub read_alerts: bool,
    /// PIM alerts: refresh, remediate, configure (`alerts/update`).
    pub update_alerts: bool,
    pub read_audit: bool,
    /// Entitlement management: reading catalogs, packages, policies and assignments, and
    /// administering them (the portal's Access packages section).
    pub read_entitlement: bool,
    pub manage_entitlement: bool,
    /// Access reviews: may read every review (`accessReviews/read`) or run one (the review
    /// or the removal rights of what it reviews: governance.md section 2); the portal's
    /// Access reviews administration.
    pub administer_reviews: bool,
    /// May read one of the Administration section's pages (users, groups, roles, role
    /// settings, connectors); each page still decides its own.
    pub administer: bool,
}

/// What `caller` may do now (see [`Capabilities`]). The permission only: a fresh second factor
/// is the use case's to ask, so a form is shown and can say so. Nothing is audited: these
/// probes change nothing and only decide what to show.
pub fn capabilities(app: &App, caller: &Caller) -> Capabilities {
    let may = |action: &'static str| act(app, caller, action, false).is_ok();
    let mut can = Capabilities {
        read_users: may(actions::USERS_READ),
        create_users: may(actions::USERS_CREATE),
        update_users: may(actions::USERS_UPDATE),
        delete_users: may(actions::USERS_DELETE),
        read_groups: may(actions::GROUPS_READ),
        create_groups: may(actions::GROUPS_CREATE),
        create_role_assignable_groups: may(actions::RA_GROUPS_CREATE),
        read_service_principals: may(actions::SERVICE_PRINCIPALS_READ),
        create_service_principals: may(actions::SERVICE_PRINCIPALS_CREATE),
        delete_service_principals: may(actions::SERVICE_PRINCIPALS_DELETE),
        read_role_definitions: may(actions::ROLE_DEFINITIONS_READ),
        read_role_assignments: may(actions::ROLE_ASSIGNMENTS_READ),
        update_role_assignments: may(actions::ROLE_ASSIGNMENTS_UPDATE),
        read_policies: may(actions::POLICIES_READ),
        update_policies: may(actions::POLICIES_UPDATE),
        read_provisioning: may(actions::PROVISIONING_READ),
        update_provisioning: may(actions::PROVISIONING_UPDATE),
        read_outbox: may(actions::OUTBOX_READ),
        read_alerts: may(actions::ALERTS_READ),
        update_alerts: may(actions::ALERTS_UPDATE),
        read_audit: may(actions::AUDIT_READ),
        read_entitlement: may(actions::ENTITLEMENT_READ),
        manage_entitlement: may(actions::ENTITLEMENT_UPDATE),
        administer_reviews: may(actions::ACCESS_REVIEWS_READ)
            || may(actions::ACCESS_REVIEWS_UPDATE)
            || may(actions::ROLE_ASSIGNMENTS_UPDATE),
        administer: false,
    };
    can.administer = can.read_users
        || can.read_groups
        || can.read_role_assignments
        || can.read_policies
        || can.read_provisioning;
    can
}

/// The portal's Administration home: open to whoever may read one of its sections (each page
/// behind it still decides its own).
pub fn may_administer(app: &App, caller: &Caller) -> UseCaseResult<()> {
    if capabilities(app, caller).administer {
        Ok(())
    } else {
        Err(Failure::forbidden(
            "the Administration section needs a directory, role or provisioning administrator's role",
        ))
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
