//! The entry point of every schedule request: checks who may ask, loads the target, hands the
//! action to `admin` or `activate`, and stores the request with its audit trail — or, for
//! `isValidationOnly`, runs every check and rolls everything back.

use eligo_core::authz::actions;
use eligo_core::request::{
    RequestAction, RequestKind, RequestStatus, ScheduleInfo, ScheduleRequest,
};
use eligo_core::scope;

use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
pub use crate::service::authority::authorize_admin;
use crate::service::authorize;
pub use crate::service::pim::new_request::NewRequest;
use crate::service::pim::{
    Governed, activate, activity_for, admin, load_target_reading_ahead, refused,
};
use eligo_core::target::{GroupAccess, Target as AccessTarget};

/// Submits a request; a refusal (403) is audited as a failure of what was asked, and so is a
/// holder's own request that the policy or the eligibility refuses (`refused`, coalesced).
pub async fn submit(app: &App, caller: &Caller, new: NewRequest) -> UseCaseResult<ScheduleRequest> {
    let is_group = AccessTarget::of(new.role_definition_id, &new.directory_scope_id).is_group();
    let (category, activity) = activity_for(is_group, requested(new.kind, new.action));
    let asked = refused::Asked::of(&new);
    let new_group = match AccessTarget::of(new.role_definition_id, &new.directory_scope_id) {
        AccessTarget::Group { group, .. } => Some(group),
        AccessTarget::Role { .. } => None,
    };
    let result = authorize::audited(
        app,
        caller,
        &activity,
        category,
        submit_authorized(app, caller, new),
    )
    .await;
    let target_group = new_group;
    let result = match target_group {
        Some(group) => {
            crate::service::separation::audit_refusal(
                app,
                caller,
                category,
                &activity,
                (group, "Group"),
                result,
            )
            .await
        }
        None => result,
    };
    match result {
        Err(e) => Err(refused::record(app, caller, &asked, category, &activity, e).await),
        ok => ok,
    }
}

/// The portal's question before it reads an assignment form it was sent: may this caller
/// assign roles at all? The permission only (the fresh second factor is `submit`'s to ask, so
/// the form can say so); a refusal is audited as the request it refused.
pub async fn may_assign(app: &App, caller: &Caller, kind: RequestKind) -> UseCaseResult<()> {
    let (category, activity) = activity_for(false, requested(kind, RequestAction::AdminAssign));
    authorize::audited(app, caller, &activity, category, async {
        Ok(authorize::act(
            app,
            caller,
            actions::ROLE_ASSIGNMENTS_UPDATE,
            false,
        )?)
    })
    .await
}

/// What a request asks, in the words of Entra's audit log ("... requested"), for the record
/// of its refusal; a granted request is recorded by `admin` or `activate` with what it did.
fn requested(kind: RequestKind, action: RequestAction) -> &'static str {
    let eligible = kind == RequestKind::Eligibility;
    match action {
        RequestAction::AdminAssign if eligible => "Add eligible member to role in PIM requested",
        RequestAction::AdminAssign => "Add member to role in PIM requested",
        RequestAction::AdminUpdate if eligible => "Update eligible member in role in PIM requested",
        RequestAction::AdminUpdate => "Update member in role in PIM requested",
        RequestAction::AdminRemove if eligible => {
            "Remove eligible member from role in PIM requested"
        }
        RequestAction::AdminRemove => "Remove member from role in PIM requested",
        RequestAction::AdminExtend if eligible => "Extend eligible member in role in PIM requested",
        RequestAction::AdminExtend => "Extend member in role in PIM requested",
        RequestAction::AdminRenew if eligible => "Renew eligible member in role in PIM requested",
        RequestAction::AdminRenew => "Renew member in role in PIM requested",
        RequestAction::SelfActivate => "Add member to role requested (PIM activation)",
        RequestAction::SelfDeactivate => "Remove member from role requested (PIM deactivate)",
        RequestAction::SelfExtend if eligible => "Extend eligible member in role requested (PIM)",
        RequestAction::SelfExtend => "Extend member in role requested (PIM activation)",
        RequestAction::SelfRenew => "Renew member in role requested (PIM activation)",
    }
}

async fn submit_authorized(
    app: &App,
    caller: &Caller,
    new: NewRequest,
) -> UseCaseResult<ScheduleRequest> {
    scope::validate(&new.directory_scope_id)?;
    if new.kind == RequestKind::Eligibility
        && new.action.is_self()
        && new.action != RequestAction::SelfExtend
    {
        return Err(Failure::bad_request(
            "InvalidRequestAction",
            "eligibility requests take admin actions and selfExtend (asking administrators to extend your eligibility) only; the other self actions belong to roleAssignmentScheduleRequests",
        ));
    }
    let access_target = AccessTarget::of(new.role_definition_id, &new.directory_scope_id);
    if new.action.is_self() {
        if new.principal_id != caller.id {
            return Err(Failure::forbidden(
                "self actions act on the caller's own access: principalId must be your own id",
            ));
        }
    } else if !access_target.is_group() {
        // Assigning or removing a role needs the permission and a fresh second factor.
        authorize::act(app, caller, actions::ROLE_ASSIGNMENTS_UPDATE, true)?;
    }

    let now = app.clock.now();
    let ahead = (new.action == RequestAction::SelfActivate).then(|| {
        activate::reads_ahead(
            app,
            new.principal_id,
            new.role_definition_id,
            &new.directory_scope_id,
        )
    });
    // Asked while this writer waits, when the store can (see `Store::write_reading_ahead`).
    let mut tx = match &ahead {
        Some(first) => app.store.write_reading_ahead(first.clone()).await?,
        None => app.store.write().await?,
    };
    let target =
        load_target_reading_ahead(&mut *tx, &access_target, new.principal_id, ahead).await?;
    if target.is_group() && !new.action.is_self() {
        let adding = !matches!(new.action, RequestAction::AdminRemove);
        authorize_admin(app, caller, &mut *tx, &target, new.principal_id, adding).await?;
    }
    // Separation of duties: membership of a group (eligible, active or activated) must not
    // give a holder of an incompatible package both.
    if let Governed::Group {
        group,
        access: GroupAccess::Member,
    } = &target.governed
        && matches!(
            new.action,
            RequestAction::AdminAssign
                | RequestAction::AdminRenew
                | RequestAction::AdminUpdate
                | RequestAction::AdminExtend
                | RequestAction::SelfActivate
                | RequestAction::SelfRenew
                | RequestAction::SelfExtend
        )
    {
        crate::service::separation::check_membership(app, &mut *tx, group.id, &[new.principal_id])
            .await?;
    }
    let mut request = ScheduleRequest {
        id: Uuid::new_v4(),
        kind: new.kind,
        action: new.action,
        principal_id: new.principal_id,
        role_definition_id: new.role_definition_id,
        directory_scope_id: new.directory_scope_id,
        justification: new.justification.filter(|j| !j.trim().is_empty()),
        ticket_info: new.ticket,
        schedule_info: new
            .schedule_info
            .unwrap_or_else(|| ScheduleInfo::effective(now, None)),
        granted_schedule: None,
        status: RequestStatus::Granted,
        status_detail: None,
        created_by: caller.id,
        created_date_time: now,
        completed_date_time: None,
        target_schedule_id: None,
        approval: None,
    };
    if new.action.is_self() {
        activate::run(app, caller, &mut *tx, &target, &mut request, now).await?;
    } else {
        admin::run(app, caller, &mut *tx, &target, &mut request, now).await?;
    }
    if new.is_validation_only {
        // Dropping the transaction rolls back the schedule, the request and the audit entries.
        return Ok(request);
    }
    tx.insert_schedule_request(&request).await?;
    crate::service::notices::after_request(app, &mut *tx, &target, &request, Some(caller.id), now)
        .await?;
    tx.commit().await?;
    app.scheduler
        .due_at(crate::service::pim::scheduler::next_due_of(&request, now));
    metrics::counter!("eligo_schedule_requests_total",
        "action" => request.action.as_str(), "status" => request.status.as_str())
    .increment(1);
    Ok(request)
}
