//! A holder's own request for access (activate, extend, renew) refused by the role's policy or
//! the holder's eligibility is audited as a failure: who tried which role or group, at which
//! scope, and the reason codes (`NoEligibility`, `ExpirationRule`, `MfaRule`,
//! `PendingRequestExists`...). The refused use case wrote nothing, so the entry is written in a
//! transaction of its own, after the use case's was dropped.
//!
//! Refusals cost an attacker nothing, so they are coalesced exactly like failed sign-ins
//! (`auth::throttle::FailureBursts`): the first refusal of a burst (same person, same request
//! kind, same reasons) is written at once, repeats are counted and written as one entry with
//! `failureCount` when the burst ends or every `ELIGO_AUDIT_FAILURE_WINDOW`. The key leaves out
//! the role and scope on purpose: a flood across many scopes is still one burst.

use eligo_core::activation::{PENDING_REQUEST_EXISTS, RULE_FAILED};
use eligo_core::audit::{AuditEvent, Category};
use eligo_core::request::RequestAction;
use eligo_core::target::Target as AccessTarget;

use crate::app::App;
use crate::auth::Caller;
use crate::auth::throttle::{FailureBursts, Scope};
use crate::failure::{Failure, Kind};
use crate::service::pim::new_request::NewRequest;

/// Codes of a refusal that is the policy's or the eligibility's (not a malformed request, not
/// an authorization refusal, which `authorize::audited` records).
fn is_policy_refusal(e: &Failure) -> bool {
    e.kind == Kind::Invalid
        && [
            RULE_FAILED,
            PENDING_REQUEST_EXISTS,
            "RoleAssignmentDoesNotExist",
        ]
        .contains(&e.code)
}

/// The reason codes: one per broken rule, or the refusal's own code.
fn reason(e: &Failure) -> String {
    let mut codes: Vec<&str> = e.details.iter().map(|d| d.code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    if codes.is_empty() {
        e.code.to_string()
    } else {
        codes.join(",")
    }
}

/// Records `refusal` of `asked` when it is a policy refusal of a holder's own request; any
/// other failure is left as it is. Returns the failure to answer (a store error writing the
/// entry replaces it: a refusal is never silently unaudited).
pub async fn record(
    app: &App,
    caller: &Caller,
    asked: &Asked,
    category: Category,
    activity: &str,
    refusal: Failure,
) -> Failure {
    if !asked.is_self || !is_policy_refusal(&refusal) {
        return refusal;
    }
    let now = app.clock.now();
    let target = AccessTarget::of(asked.role_definition_id, &asked.directory_scope_id);
    let (id, kind, name) = match target {
        AccessTarget::Group { group, .. } => (
            group,
            "Group",
            app.access.principal(group).map(|(_, name)| name),
        ),
        AccessTarget::Role { role, .. } => {
            (role, "Role", app.access.role(role).map(|r| r.display_name))
        }
    };
    let reason = reason(&refusal);
    let mut event = AuditEvent::new(now, category, activity, caller.initiator()).target(
        id,
        kind,
        name.as_deref(),
    );
    event = match &caller.upn {
        Some(upn) => event.target_user(caller.id, &caller.display_name, upn),
        None => event.target(caller.id, "ServicePrincipal", Some(&caller.display_name)),
    };
    let event = event
        .detail("action", asked.action)
        .detail("directoryScopeId", asked.directory_scope_id.as_str())
        .detail("message", refusal.message.as_str())
        .failed(&reason);
    let account = caller.id.to_string();
    let key = FailureBursts::key(&event, &account, Scope::Address(None));
    let due = app
        .failure_bursts
        .record(key, &account, event, now, app.config.audit_failure_window);
    match crate::service::audit::write_failures(app, due).await {
        Ok(()) => refusal,
        Err(e) => Failure::from(e),
    }
}

/// What `record` needs of the request, taken before `submit` consumes it.
pub struct Asked {
    /// A holder asking for access (not a validation-only probe, not a deactivation).
    pub is_self: bool,
    pub action: &'static str,
    pub role_definition_id: uuid::Uuid,
    pub directory_scope_id: String,
}

impl Asked {
    pub fn of(new: &NewRequest) -> Self {
        Self {
            // What would lengthen access (rule 5); a refused deactivation takes nothing.
            is_self: matches!(
                new.action,
                RequestAction::SelfActivate | RequestAction::SelfExtend | RequestAction::SelfRenew
            ) && !new.is_validation_only,
            action: new.action.as_str(),
            role_definition_id: new.role_definition_id,
            directory_scope_id: new.directory_scope_id.clone(),
        }
    }
}
