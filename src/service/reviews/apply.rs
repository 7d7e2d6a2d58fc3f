//! Applying a completed instance's decisions: every final Deny removes the access through the
//! same use cases as an administrator's removal (a group's member, an eligibility, an active
//! assignment, a PIM for Groups eligibility, an access package assignment), with their
//! cascades, each audited with the review as its initiator. A decision is applied once: its
//! `applyResult` leaves `New` in the transaction that removes the access.

use chrono::{DateTime, Utc};
use eligo_core::directory::Relation;
use eligo_core::request::{
    RequestAction, RequestKind, RequestStatus, ScheduleInfo, ScheduleRequest,
};
use eligo_core::review::decide;
use eligo_core::review::{
    Access, ApplyResult, DecisionItem, Definition, Instance, InstanceStatus, Party,
};
use eligo_core::schedule::ScheduleKind;
use eligo_core::target::{GroupAccess, Target as AccessTarget, group_scope};
use eligo_store::Tx;
use uuid::Uuid;

use super::lifecycle::{event, initiator};
use crate::app::App;
use crate::failure::{Kind, UseCaseResult};
use crate::service::directory;
use crate::service::entitlement::assignments::expiry::{SystemRemoval, system_remove};
use crate::service::pim::{admin, load_target};

/// Applies every final Deny of the (completed) instance not applied yet; `by` is who asked
/// (None: Eligo, for auto-apply). Returns how many accesses were removed.
pub async fn apply(
    app: &App,
    tx: &mut dyn Tx,
    def: &Definition,
    instance: &mut Instance,
    by: Option<Party>,
    now: DateTime<Utc>,
) -> UseCaseResult<usize> {
    let mut items = tx.list_review_decisions(instance.id, None).await?;
    let mut changed = Vec::new();
    let mut removed = 0;
    for item in items.iter_mut().filter(|i| decide::needs_removal(i)) {
        item.apply_result = remove(app, tx, def, instance, item, now).await?;
        item.applied_by = by.clone();
        item.applied_date_time = Some(now);
        if item.apply_result == ApplyResult::AppliedSuccessfully {
            removed += 1;
        }
        changed.push(item.clone());
    }
    tx.update_review_decisions(&changed).await?;
    instance.status = InstanceStatus::Applied;
    tx.update_review_instance(instance).await?;
    let who = match &by {
        Some(p) => eligo_core::audit::Initiator::User(eligo_core::audit::Actor {
            id: Some(p.id),
            display_name: p.display_name.clone(),
            user_principal_name: p.user_principal_name.clone(),
        }),
        None => eligo_core::audit::Initiator::system(),
    };
    tx.append_audit(
        event(def, now, "Apply access review decisions", who)
            .detail("accessReviewInstanceId", instance.id.to_string())
            .detail("applied", changed.len().to_string())
            .detail("removed", removed.to_string()),
    )
    .await?;
    Ok(removed)
}

fn details(
    def: &Definition,
    instance: &Instance,
    item: &DecisionItem,
) -> Vec<(&'static str, String)> {
    vec![
        ("accessReviewId", def.id.to_string()),
        ("accessReviewInstanceId", instance.id.to_string()),
        ("accessReviewDecisionId", item.id.to_string()),
    ]
}

/// Removes one denied access; what happened, as Graph's `applyResult`.
async fn remove(
    app: &App,
    tx: &mut dyn Tx,
    def: &Definition,
    instance: &Instance,
    item: &DecisionItem,
    now: DateTime<Utc>,
) -> UseCaseResult<ApplyResult> {
    let by = initiator(def);
    let principal = item.principal.id;
    let why = format!(
        "denied in the access review \"{}\" (instance {})",
        def.display_name, instance.id
    );
    match &item.access {
        Access::GroupMember { direct: false, .. } => Ok(ApplyResult::ApplyNotSupported),
        Access::GroupMember { group_id, .. } => {
            let Some(group) = tx.get_group(*group_id).await? else {
                return Ok(ApplyResult::AppliedSuccessfullyButObjectNotFound);
            };
            let done = directory::remove_relation_as(
                app,
                tx,
                &group,
                principal,
                Relation::Member,
                &by,
                details(def, instance, item),
                now,
            )
            .await?;
            Ok(if done {
                ApplyResult::AppliedSuccessfully
            } else {
                ApplyResult::AppliedSuccessfullyButObjectNotFound
            })
        }
        Access::RoleEligible { role_id, scope } => {
            schedule(
                app,
                tx,
                RequestKind::Eligibility,
                *role_id,
                scope,
                principal,
                why,
                &by,
                now,
            )
            .await
        }
        Access::RoleActive { role_id, scope } => {
            schedule(
                app,
                tx,
                RequestKind::Assignment,
                *role_id,
                scope,
                principal,
                why,
                &by,
                now,
            )
            .await
        }
        Access::GroupEligible { group_id, owner } => {
            let access = if *owner {
                GroupAccess::Owner
            } else {
                GroupAccess::Member
            };
            schedule(
                app,
                tx,
                RequestKind::Eligibility,
                access.role_id(),
                &group_scope(*group_id),
                principal,
                why,
                &by,
                now,
            )
            .await
        }
        Access::PackageAssignment { assignment_id, .. } => {
            let Some(mut a) = tx
                .get_assignment(*assignment_id)
                .await?
                .filter(|a| a.is_live())
            else {
                return Ok(ApplyResult::AppliedSuccessfullyButObjectNotFound);
            };
            let removal = SystemRemoval {
                justification: why,
                status: "Removed",
                activity: "Remove access package assignment (access review)",
                details: details(def, instance, item),
            };
            system_remove(app, tx, &mut a, removal, &by, now).await?;
            Ok(ApplyResult::AppliedSuccessfully)
        }
    }
}

/// An administrator's removal of an eligibility or an active assignment, made by the review.
#[allow(clippy::too_many_arguments)]
async fn schedule(
    app: &App,
    tx: &mut dyn Tx,
    kind: RequestKind,
    role: Uuid,
    scope: &str,
    principal: Uuid,
    why: String,
    by: &eligo_core::audit::Initiator,
    now: DateTime<Utc>,
) -> UseCaseResult<ApplyResult> {
    let target = match load_target(tx, &AccessTarget::of(role, scope), principal).await {
        Ok(t) => t,
        Err(e) if e.kind == Kind::NotFound => {
            return Ok(ApplyResult::AppliedSuccessfullyButObjectNotFound);
        }
        Err(e) => return Err(e),
    };
    let mut request = ScheduleRequest {
        id: Uuid::new_v4(),
        kind,
        action: RequestAction::AdminRemove,
        principal_id: principal,
        role_definition_id: role,
        directory_scope_id: scope.to_string(),
        justification: Some(why),
        ticket_info: None,
        schedule_info: ScheduleInfo::effective(now, None),
        granted_schedule: None,
        status: RequestStatus::Granted,
        status_detail: None,
        created_by: Uuid::nil(),
        created_date_time: now,
        completed_date_time: None,
        target_schedule_id: None,
        approval: None,
    };
    let schedule_kind = match kind {
        RequestKind::Eligibility => ScheduleKind::Eligible,
        RequestKind::Assignment => ScheduleKind::Active,
    };
    let existing = admin::concerned(tx, schedule_kind, &request, now).await?;
    if existing.is_empty() {
        return Ok(ApplyResult::AppliedSuccessfullyButObjectNotFound);
    }
    admin::remove(app, tx, &target, &mut request, existing, by, now).await?;
    tx.insert_schedule_request(&request).await?;
    Ok(ApplyResult::AppliedSuccessfully)
}
