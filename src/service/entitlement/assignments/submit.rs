//! `POST assignmentRequests`: read the body, look up what it names, resolve the facts now
//! (who the target is, which groups they are in, which packages they hold), let the core
//! decide, and write the request with what it did in one transaction: an add or update that
//! needs no approval is delivered at once; one that needs approval is stored as
//! `pendingApproval` with a copy of its policy's stages (`approve` decides it, and delivers
//! through [`fulfil`] with the schedule decided again then); a removal takes back what the
//! assignment gave.

use std::collections::{BTreeMap, BTreeSet};

use eligo_core::directory::PrincipalKind;
use eligo_core::directory::Relation;
use eligo_core::entitlement::approval::RequestApproval;
use eligo_core::entitlement::assignment::{Access, Assignment, AssignmentState, Grant};
use eligo_core::entitlement::catalog::CatalogState;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::policy::{AssignmentPolicy, CustomExtensionStage};
use eligo_core::entitlement::request::{
    AssignmentRequest, Decision, Facts, RequestState, RequestType, Submission, decide,
};
use eligo_core::invalid::Invalid;
use eligo_store::{AssignmentQuery, AssignmentRequestQuery, Tx};
use serde_json::Value;
use uuid::Uuid;

use super::{approve, delivery, record};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::UseCaseResult;
use crate::service::authorize;
use crate::service::entitlement::requestable::facts_of;
use crate::service::entitlement::{CATEGORY, event, invalid, may_manage, notices};

const ACTIVITY: &str = "Create access package assignment request";

pub async fn submit(app: &App, caller: &Caller, body: Value) -> UseCaseResult<AssignmentRequest> {
    authorize::audited(app, caller, ACTIVITY, CATEGORY, async {
        let now = app.clock.now();
        let sub = Submission::read(&body, now)
            .map_err(|p| invalid("InvalidRequest", "assignment request", p))?;
        // An administrator's request needs the administrator's rights (403, audited).
        if sub.request_type.is_admin() {
            may_manage(app, caller)?;
        }
        let mut tx = app.store.write().await?;
        let request = if sub.request_type.is_remove() {
            remove(app, caller, &mut *tx, &sub).await?
        } else {
            add_or_update(app, caller, &mut *tx, &sub).await?
        };
        tx.commit().await?;
        app.scheduler.due_at(request.deadline());
        if let Some(id) = request.assignment_id {
            let mut tx = app.store.read().await?;
            if let Some(a) = tx.get_assignment(id).await? {
                app.scheduler.due_at(a.due_at());
            }
        }
        Ok(request)
    })
    .await
}

fn refused(problems: Vec<Invalid>) -> crate::failure::Failure {
    invalid("InvalidRequest", "assignment request", problems)
}

/// A new request record for `sub`, not yet decided.
fn new_request(
    caller: &Caller,
    sub: &Submission,
    target: Uuid,
    package: Uuid,
    policy: Option<Uuid>,
    now: chrono::DateTime<chrono::Utc>,
) -> AssignmentRequest {
    AssignmentRequest {
        id: Uuid::new_v4(),
        request_type: sub.request_type,
        state: RequestState::Submitted,
        status: "Accepted".into(),
        justification: sub.justification.clone(),
        requestor_id: caller.id,
        target_id: target,
        access_package_id: package,
        assignment_policy_id: policy,
        assignment_id: sub.assignment_id,
        answers: sub.answers.clone(),
        schedule: sub.schedule.clone(),
        created_date_time: now,
        completed_date_time: None,
        approval: None,
        callout: None,
    }
}

/// An add or update as decided now: what it names and the core's decision.
pub(super) struct Prepared {
    package: AccessPackage,
    policy: AssignmentPolicy,
    target_id: Uuid,
    existing: Option<Assignment>,
    grants: Vec<Grant>,
    decision: Decision,
}

impl Prepared {
    pub(super) fn needs_approval(&self) -> bool {
        self.decision.needs_approval
    }

    /// When the decided access starts.
    pub(super) fn start(&self) -> chrono::DateTime<chrono::Utc> {
        self.decision.start
    }
}

async fn add_or_update(
    app: &App,
    caller: &Caller,
    tx: &mut dyn Tx,
    sub: &Submission,
) -> UseCaseResult<AssignmentRequest> {
    let now = app.clock.now();
    let prepared = prepare(app, tx, caller.id, caller.kind, sub, None, now)
        .await?
        .map_err(refused)?;
    // An administrator's grant is handing the package's contents out directly.
    if sub.request_type.is_admin() {
        crate::service::entitlement::hand_out::may_hand_out(app, tx, caller, prepared.package.id)
            .await?;
    }
    let mut request = new_request(
        caller,
        sub,
        prepared.target_id,
        prepared.package.id,
        Some(prepared.policy.id),
        now,
    );
    request.assignment_id = prepared.existing.as_ref().map(|a| a.id);
    // A custom extension that takes a callback holds the request until it answers.
    let stages = prepared
        .needs_approval()
        .then(|| prepared.policy.request_approval_settings.stages.clone());
    if super::callouts::created(app, tx, &mut request, stages, now).await? {
        tx.insert_assignment_request(&request).await?;
        tx.append_audit(record::request_event(
            app,
            caller,
            ACTIVITY,
            &request,
            &prepared.package,
        ))
        .await?;
        return Ok(request);
    }
    if prepared.needs_approval() {
        let stages = &prepared.policy.request_approval_settings.stages;
        let undecidable = approve::stages_nobody_decides(app, &request, stages, now);
        if !undecidable.is_empty() {
            return Err(refused(vec![nobody_approves(&undecidable)]));
        }
        request.state = RequestState::PendingApproval;
        request.status = "PendingApproval".into();
        request.approval = Some(RequestApproval::start(
            &prepared.policy.request_approval_settings.stages,
            Uuid::new_v4,
            now,
        ));
        tx.insert_assignment_request(&request).await?;
        tx.append_audit(record::request_event(
            app,
            caller,
            ACTIVITY,
            &request,
            &prepared.package,
        ))
        .await?;
        notices::stage_waiting(app, tx, &request, now).await?;
        return Ok(request);
    }
    // A later start waits, `scheduled`, for the scheduler to deliver it then.
    let later = super::scheduled::hold(&mut request, &prepared, now);
    tx.insert_assignment_request(&request).await?;
    tx.append_audit(record::request_event(
        app,
        caller,
        ACTIVITY,
        &request,
        &prepared.package,
    ))
    .await?;
    if !later {
        fulfil(app, caller, tx, &mut request, prepared, now).await?;
    }
    Ok(request)
}

/// The refusal of a request no one could approve (the target has no manager, a named group is
/// empty, the only approver is the requestor, and the stage names no fallback approvers).
fn nobody_approves(stages: &[usize]) -> Invalid {
    let which = stages
        .iter()
        .map(|s| format!("stage {s}"))
        .collect::<Vec<_>>()
        .join(" and ");
    Invalid::new(
        "NoApprover",
        "assignment.assignmentPolicyId",
        format!(
            "Nobody can approve {which} of this request: its approvers resolve to no one \
             who may decide it. Ask an administrator to name fallback approvers in the policy."
        ),
    )
}

/// Looks up what `sub` names, resolves the facts at `now` and lets the core decide: the
/// refusals (every broken rule) or what to grant. `waiting` is the request being decided
/// (at approval), which does not count as another request waiting.
pub(super) async fn prepare(
    app: &App,
    tx: &mut dyn Tx,
    requestor_id: Uuid,
    requestor_kind: PrincipalKind,
    sub: &Submission,
    waiting: Option<Uuid>,
    now: chrono::DateTime<chrono::Utc>,
) -> UseCaseResult<Result<Prepared, Vec<Invalid>>> {
    let mut problems = Vec::new();
    // An update names the assignment; its package, target and policy follow. It stays under
    // its own policy: naming another (even of the same package, with a longer duration or no
    // approval to extend) is refused, never a move to that policy.
    let existing_named = match sub.assignment_id {
        Some(id) if sub.request_type.is_update() => {
            let a = tx.get_assignment(id).await?.filter(Assignment::is_live);
            if a.is_none() {
                problems.push(Invalid::new(
                    "UnknownAssignment",
                    "assignment.id",
                    "no live assignment has this id",
                ));
            }
            a
        }
        _ => None,
    };
    let target_id = existing_named
        .as_ref()
        .map(|a| a.target_id)
        .or(sub.target_id)
        .unwrap_or(requestor_id);
    let package_id = existing_named
        .as_ref()
        .map(|a| a.access_package_id)
        .or(sub.access_package_id)
        .unwrap_or_default();
    let policy_id = match &existing_named {
        Some(a) => {
            if sub
                .assignment_policy_id
                .is_some_and(|named| named != a.assignment_policy_id)
            {
                problems.push(Invalid::new(
                    "PolicyMismatch",
                    "assignment.assignmentPolicyId",
                    "an update stays under the assignment's own policy; leave \
                     assignmentPolicyId out or name that policy",
                ));
            }
            a.assignment_policy_id
        }
        None => sub.assignment_policy_id.unwrap_or_default(),
    };
    let package = tx.get_package(package_id).await?;
    let is_update = sub.request_type.is_update();
    if package.is_none() && !is_update {
        problems.push(Invalid::new(
            "UnknownAccessPackage",
            "assignment.accessPackageId",
            "no access package has this id",
        ));
    }
    let policy: Option<AssignmentPolicy> = tx.get_assignment_policy(policy_id).await?;
    if policy.is_none() && !(is_update && existing_named.is_none()) {
        problems.push(Invalid::new(
            "UnknownAssignmentPolicy",
            "assignment.assignmentPolicyId",
            "no assignment policy has this id",
        ));
    }
    let kind = tx.principal_kind(target_id).await?;
    if kind.is_none() {
        problems.push(Invalid::new(
            "UnknownTarget",
            "assignment.targetId",
            "no user or service principal has this id",
        ));
    }
    let (Some(package), Some(policy), Some(kind), true) =
        (package, policy, kind, problems.is_empty())
    else {
        return Ok(Err(problems));
    };
    // People request only from published catalogs; administrators assign from any.
    if !sub.request_type.is_admin()
        && !tx
            .get_catalog(package.catalog_id)
            .await?
            .is_some_and(|c| c.state == CatalogState::Published)
    {
        return Ok(Err(vec![Invalid::new(
            "CatalogNotPublished",
            "assignment.accessPackageId",
            "this access package's catalog is not published",
        )]));
    }
    let target = facts_of(app, target_id, kind);
    let requestor = facts_of(app, requestor_id, requestor_kind);
    // What the target holds now, for duplicates and separation of duties.
    let live: Vec<Assignment> = tx
        .list_assignments(&AssignmentQuery {
            target: Some(target_id),
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(Assignment::is_live)
        .collect();
    // An update changes the assignment it names; an add is refused when one is live.
    let existing = match &existing_named {
        Some(a) => Some(a),
        None => live.iter().find(|a| a.access_package_id == package.id),
    };
    let held: BTreeSet<Uuid> = live.iter().map(|a| a.access_package_id).collect();
    let rules = tx.incompatibility_rules().await?;
    let grants = delivery::grants_of(tx, package.id).await?;
    let gives: BTreeSet<Uuid> = grants
        .iter()
        .filter_map(|g| match g.access {
            Access::Group {
                group,
                relation: Relation::Member,
            } => Some(group),
            _ => None,
        })
        .collect();
    // Names for whatever a refusal may cite.
    let mut names = BTreeMap::new();
    let cited_packages = rules
        .packages_against(package.id)
        .into_iter()
        .chain(held.iter().copied());
    for other in cited_packages {
        if let Some(p) = tx.get_package(other).await? {
            names.insert(other, p.display_name);
        }
    }
    for &(p, g) in &rules.groups {
        if (p == package.id || (held.contains(&p) && gives.contains(&g)))
            && let Some(group) = tx.get_group(g).await?
        {
            names.insert(g, group.display_name);
        }
    }
    let decision = decide(&Facts {
        request_type: sub.request_type,
        package_id: package.id,
        policy: &policy,
        requestor: &requestor,
        target: &target,
        justification: sub.justification.as_deref(),
        answers: &sub.answers,
        schedule: &sub.schedule,
        existing: existing.map(|a| a.id),
        rules: &rules,
        held: &held,
        gives: &gives,
        names: &names,
        now,
        min_duration: app.config.min_duration,
    });
    let mut problems = decision.as_ref().err().cloned().unwrap_or_default();
    // One request waiting at a time for a target and package.
    let waiting = tx
        .list_assignment_requests(&AssignmentRequestQuery {
            target: Some(target_id),
            package: Some(package.id),
            ..Default::default()
        })
        .await?
        .into_iter()
        .any(|r| r.is_waiting() && Some(r.id) != waiting);
    if waiting {
        problems.push(Invalid::new(
            "PendingRequestExists",
            "assignment.accessPackageId",
            "a request for this access package and target is already waiting (for approval or its start)",
        ));
    }
    let decision = match decision {
        Ok(d) if problems.is_empty() => d,
        _ => return Ok(Err(problems)),
    };
    Ok(Ok(Prepared {
        existing: existing.cloned(),
        package,
        policy,
        target_id,
        grants,
        decision,
    }))
}

/// Delivers a decided add or update in the request's transaction: the same code whether the
/// request needed no approval or was just approved. The request is stored already; it is left
/// delivered (or partially, or failed) with its assignment, and the fulfilment audited.
pub(super) async fn fulfil(
    app: &App,
    caller: &Caller,
    tx: &mut dyn Tx,
    request: &mut AssignmentRequest,
    prepared: Prepared,
    now: chrono::DateTime<chrono::Utc>,
) -> UseCaseResult<()> {
    fulfil_as(app, &caller.initiator(), tx, request, prepared, now).await
}

/// [`fulfil`] on behalf of `initiator` (the scheduler's system initiator for a request
/// delivered at its start).
pub(super) async fn fulfil_as(
    app: &App,
    initiator: &eligo_core::audit::Initiator,
    tx: &mut dyn Tx,
    request: &mut AssignmentRequest,
    prepared: Prepared,
    now: chrono::DateTime<chrono::Utc>,
) -> UseCaseResult<()> {
    let Prepared {
        package,
        policy,
        target_id,
        existing,
        grants,
        decision,
    } = prepared;
    let mut assignment = match &existing {
        // An update: the new end, from the request, under the assignment's own policy (never
        // moved to another; `prepare` refused a request naming one).
        Some(a) => {
            let mut a = a.clone();
            a.end_date_time = decision.end;
            a.last_request = request.id;
            a
        }
        None => Assignment {
            id: Uuid::new_v4(),
            access_package_id: package.id,
            assignment_policy_id: policy.id,
            catalog_id: package.catalog_id,
            target_id,
            state: AssignmentState::Delivering,
            status: "Delivering".into(),
            start_date_time: decision.start,
            end_date_time: decision.end,
            expired_date_time: None,
            created_date_time: now,
            created_by_request: request.id,
            last_request: request.id,
            grants,
        },
    };
    request.assignment_id = Some(assignment.id);
    if existing.is_some() {
        // The role schedules it created follow the new end.
        record::follow_end(tx, &assignment, now).await?;
    }
    delivery::deliver(tx, &mut assignment, initiator, now).await?;
    record::settle_delivery(request, &mut assignment, now);
    if existing.is_some() {
        tx.update_assignment(&assignment).await?;
    } else {
        tx.insert_assignment(&assignment).await?;
    }
    tx.update_assignment_request(request).await?;
    super::callouts::notify(
        app,
        tx,
        CustomExtensionStage::AssignmentRequestGranted,
        request,
        Some(&assignment),
        now,
    )
    .await?;
    tx.append_audit(record::assignment_event(
        eligo_core::audit::AuditEvent::new(
            app.clock.now(),
            crate::service::entitlement::CATEGORY,
            "Fulfill access package assignment request",
            initiator.clone(),
        ),
        &assignment,
        &package,
    ))
    .await?;
    notices::delivered(app, tx, request, &assignment, now).await
}

async fn remove(
    app: &App,
    caller: &Caller,
    tx: &mut dyn Tx,
    sub: &Submission,
) -> UseCaseResult<AssignmentRequest> {
    let now = app.clock.now();
    let id = sub.assignment_id.unwrap_or_default();
    let Some(mut assignment) = tx.get_assignment(id).await?.filter(Assignment::is_live) else {
        return Err(refused(vec![Invalid::new(
            "UnknownAssignment",
            "assignment.id",
            "no live assignment has this id",
        )]));
    };
    if sub.request_type == RequestType::UserRemove {
        let policy = tx
            .get_assignment_policy(assignment.assignment_policy_id)
            .await?;
        let allowed = assignment.target_id == caller.id
            && policy.is_some_and(|p| p.requestor_settings.enable_targets_to_self_remove_access);
        if !allowed {
            return Err(refused(vec![Invalid::new(
                "NotAllowedRequestor",
                "requestType",
                "only the assignment's target may remove it with userRemove, when its policy lets them",
            )]));
        }
    }
    let package =
        crate::service::entitlement::packages::load(tx, assignment.access_package_id).await?;
    let mut request = new_request(
        caller,
        sub,
        assignment.target_id,
        assignment.access_package_id,
        Some(assignment.assignment_policy_id),
        now,
    );
    request.assignment_id = Some(assignment.id);
    delivery::take_back_all(app, tx, &mut assignment, &caller.initiator(), now).await?;
    record::settle_removal(&mut request, &mut assignment, "Removed", now);
    tx.insert_assignment_request(&request).await?;
    tx.update_assignment(&assignment).await?;
    super::callouts::notify(
        app,
        tx,
        CustomExtensionStage::AssignmentRequestRemoved,
        &request,
        Some(&assignment),
        now,
    )
    .await?;
    tx.append_audit(record::request_event(
        app, caller, ACTIVITY, &request, &package,
    ))
    .await?;
    tx.append_audit(record::assignment_event(
        event(app, caller, "Remove access package assignment"),
        &assignment,
        &package,
    ))
    .await?;
    notices::ended(app, tx, &assignment, now).await?;
    Ok(request)
}
