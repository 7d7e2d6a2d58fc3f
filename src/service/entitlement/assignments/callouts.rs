//! Custom extensions called at a request's stages (the policy's `customExtensionStageSettings`):
//! each call is an outbox job written in the transaction of the change that reached the stage,
//! posting a signed event (the extension's secret, `notify::dispatch::callout`) with the
//! request, its package and its assignment. `assignmentRequestCreated`, `Approved`, `Granted`
//! and `Removed` are called; the two stages before expiration are not yet (see ARCHITECTURE.md).
//!
//! An extension with a `callbackConfiguration` called at `assignmentRequestCreated` holds the
//! request: `pendingApproval` with status `WaitingForCallback`, no approval stage started, due
//! at the callback's timeout. `resume` lets it go on (its approval stages start then, copied
//! from the policy when it was made; or it is decided again and delivered), or ends it
//! (`denied`, `canceled`) as the callback says; the scheduler's `time_out` denies it
//! (`TimedOut`) when no callback came in time.
//!
//! Who may resume: a caller who may administer entitlement management (the identity the
//! extension's endpoint calls back with, e.g. a service principal holding Identity Governance
//! Administrator), who is neither the request's requestor nor its target (as with approval),
//! presenting the `customExtensionStageInstanceId` that was sent only to the endpoint (the
//! requestor and target are not shown it while the request waits), for the stage the request
//! waits on, before the timeout, once. Anything else changes nothing and is audited as a
//! failure.

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Initiator};
use eligo_core::entitlement::approval::{ApprovalStage, RequestApproval};
use eligo_core::entitlement::assignment::Assignment;
use eligo_core::entitlement::extension::{CallbackState, Callout, Resume};
use eligo_core::entitlement::policy::CustomExtensionStage;
use eligo_core::entitlement::request::{AssignmentRequest, RequestState};
use eligo_store::Tx;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, Kind, UseCaseResult};
use crate::outbox::jobs::Payload;
use crate::service::entitlement::{CATEGORY, event, invalid, may_manage};

/// What a call at a stage left: the callout a request must wait on, if the extension takes a
/// callback at this stage.
struct Called {
    extension_id: Uuid,
    instance_id: Uuid,
    timeout: Option<chrono::TimeDelta>,
}

/// Queues the call of the extension `request`'s policy names for `stage`, if any.
async fn call(
    app: &App,
    tx: &mut dyn Tx,
    stage: CustomExtensionStage,
    request: &AssignmentRequest,
    assignment: Option<&Assignment>,
    now: DateTime<Utc>,
) -> UseCaseResult<Option<Called>> {
    let policy_id = request
        .assignment_policy_id
        .or(assignment.map(|a| a.assignment_policy_id));
    let Some(policy_id) = policy_id else {
        return Ok(None);
    };
    let Some(extension_id) = tx
        .get_assignment_policy(policy_id)
        .await?
        .and_then(|p| p.extension_at(stage))
    else {
        return Ok(None);
    };
    // Deleting an extension a policy calls is refused; one gone anyway calls nobody.
    let Some(extension) = tx.get_custom_extension(extension_id).await? else {
        return Ok(None);
    };
    let package = tx.get_package(request.access_package_id).await?;
    let instance_id = Uuid::new_v4();
    let event_id = Uuid::new_v4();
    let timeout = extension
        .callback_timeout
        .filter(|_| stage == CustomExtensionStage::AssignmentRequestCreated);
    let base = app.config.public_url.trim_end_matches('/');
    let body = json!({
        "id": event_id,
        "type": format!("microsoft.graph.accessPackageCustomExtensionStage.{}", stage.as_str()),
        "source": format!("{base}/v1/identityGovernance/entitlementManagement/accessPackages/{}", request.access_package_id),
        "time": now,
        "data": {
            "@odata.type": "#microsoft.graph.accessPackageAssignmentRequestCallbackData",
            "stage": stage.as_str(),
            "customExtensionStageInstanceId": instance_id,
            "customExtensionId": extension.id,
            "callbackUriPath": timeout.map(|_| format!(
                "/v1/identityGovernance/entitlementManagement/assignmentRequests/{}/resume", request.id)),
            "callbackTimeoutDateTime": timeout.map(|t| now + t),
            "assignmentRequest": {
                "id": request.id,
                "requestType": request.request_type.as_str(),
                "state": request.state.as_str(),
                "status": request.status,
                "justification": request.justification,
                "createdDateTime": request.created_date_time,
                "requestor": { "id": request.requestor_id },
                "target": { "objectId": request.target_id },
                "answers": request.answers,
            },
            "accessPackage": {
                "id": request.access_package_id,
                "displayName": package.as_ref().map(|p| p.display_name.clone()),
                "catalogId": package.as_ref().map(|p| p.catalog_id),
            },
            "assignment": assignment.map(|a| json!({
                "id": a.id,
                "state": a.state.as_str(),
                "targetId": a.target_id,
                "schedule": { "startDateTime": a.start_date_time, "endDateTime": a.end_date_time },
            })),
        },
    });
    let payload = Payload::Callout {
        extension_id,
        event_id,
        body,
    };
    tx.enqueue_job(&payload.job(now, None), now).await?;
    Ok(Some(Called {
        extension_id,
        instance_id,
        timeout,
    }))
}

/// Calls the extension at a stage that nobody waits on (approved, granted, removed).
pub(super) async fn notify(
    app: &App,
    tx: &mut dyn Tx,
    stage: CustomExtensionStage,
    request: &AssignmentRequest,
    assignment: Option<&Assignment>,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    call(app, tx, stage, request, assignment, now).await?;
    Ok(())
}

/// A new add or update request (not yet stored) at `assignmentRequestCreated`: calls the
/// extension, and when it takes a callback leaves the request waiting for it (true), with
/// `stages` (its policy's approval stages, None when it needs none) kept to start at resume.
pub(super) async fn created(
    app: &App,
    tx: &mut dyn Tx,
    request: &mut AssignmentRequest,
    stages: Option<Vec<ApprovalStage>>,
    now: DateTime<Utc>,
) -> UseCaseResult<bool> {
    let stage = CustomExtensionStage::AssignmentRequestCreated;
    let Some(called) = call(app, tx, stage, request, None, now).await? else {
        return Ok(false);
    };
    let Some(timeout) = called.timeout else {
        return Ok(false);
    };
    request.state = RequestState::PendingApproval;
    request.status = "WaitingForCallback".into();
    request.approval = None;
    request.callout = Some(Callout {
        instance_id: called.instance_id,
        extension_id: called.extension_id,
        stage,
        sent_date_time: now,
        deadline: now + timeout,
        approval_stages: stages,
        outcome: None,
        detail: None,
    });
    Ok(true)
}

const RESUME: &str = "Resume access package assignment request";

/// The refusal of a resume by the request's requestor or target: the code approvals use.
const SELF_RESUME: &str = "SelfApprovalNotAllowed";

/// Whether `viewer` is shown the stage instance id of `request`'s callout: not while it waits
/// on the callback when they filed the request or it is for them (the id is the endpoint's,
/// for `resume`); administrators and readers see it.
pub fn shows_instance_to(viewer: Uuid, request: &AssignmentRequest) -> bool {
    !(request.waits_for_callback() && super::approvers::excluded(request).contains(&viewer))
}

/// `POST assignmentRequests/{id}/resume`. Every refusal is audited (403s by
/// `authorize::audited`, the others here), nothing changed.
pub async fn resume(
    app: &App,
    caller: &Caller,
    id: Uuid,
    body: Value,
) -> UseCaseResult<AssignmentRequest> {
    let result = crate::service::authorize::audited(
        app,
        caller,
        RESUME,
        CATEGORY,
        resume_in(app, caller, id, body),
    )
    .await;
    if let Err(e) = &result
        && e.kind != Kind::Denied
    {
        let mut tx = app.store.write().await?;
        tx.append_audit(
            event(app, caller, RESUME)
                .target(id, "AccessPackageAssignmentRequest", None)
                .detail("code", e.code)
                .failed(e.code),
        )
        .await?;
        tx.commit().await?;
    }
    result
}

async fn resume_in(
    app: &App,
    caller: &Caller,
    id: Uuid,
    body: Value,
) -> UseCaseResult<AssignmentRequest> {
    may_manage(app, caller)?;
    let asked = Resume::read(&body).map_err(|p| invalid("InvalidResume", "resume", p))?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut request = tx
        .get_assignment_request(id)
        .await?
        .ok_or_else(|| Failure::not_found("assignment request"))?;
    // As with approval: nobody lets their own request through, nor one filed for them, even
    // holding the administrator's rights the endpoint's identity has.
    if super::approvers::excluded(&request).contains(&caller.id) {
        return Err(Failure::new(
            Kind::Denied,
            SELF_RESUME,
            "nobody resumes their own request or one filed for them",
        ));
    }
    let waiting =
        request.waits_for_callback() && request.callout.as_ref().is_some_and(|c| now < c.deadline);
    let Some(mut callout) = request.callout.clone().filter(|_| waiting) else {
        return Err(Failure::conflict(
            "RequestNotWaitingForCallback",
            format!(
                "the request is {} ({}) and waits for no callback",
                request.state.as_str(),
                request.status
            ),
        ));
    };
    if asked.stage != callout.stage || asked.instance_id != callout.instance_id {
        return Err(Failure::new(
            Kind::Denied,
            "StageInstanceMismatch",
            "this is not the custom extension call the request waits on",
        ));
    }
    callout.detail = asked.detail.clone();
    let package =
        crate::service::entitlement::packages::load(&mut *tx, request.access_package_id).await?;
    match asked.state {
        Some(state) => {
            let (s, status, outcome) = match state {
                CallbackState::Denied => (RequestState::Denied, "Denied", "denied"),
                CallbackState::Canceled => (RequestState::Canceled, "Canceled", "canceled"),
            };
            callout.outcome = Some(outcome.into());
            request.callout = Some(callout);
            request.state = s;
            request.status = status.into();
            request.completed_date_time = Some(now);
            tx.update_assignment_request(&request).await?;
        }
        None => {
            let stages = callout.approval_stages.clone();
            callout.outcome = Some("resumed".into());
            request.callout = Some(callout);
            match stages {
                // The approval stages start now, as copied when the request was made.
                Some(stages) => {
                    request.status = "PendingApproval".into();
                    request.approval = Some(RequestApproval::start(&stages, Uuid::new_v4, now));
                    tx.update_assignment_request(&request).await?;
                }
                None => {
                    tx.update_assignment_request(&request).await?;
                    super::approve::approved(app, caller, &mut *tx, &mut request, now).await?;
                }
            }
        }
    }
    let mut entry = super::record::request_event(app, caller, RESUME, &request, &package)
        .detail("requestStatus", request.status.clone())
        .detail(
            "customExtensionStageInstanceId",
            asked.instance_id.to_string(),
        );
    if let Some(source) = &asked.source {
        entry = entry.detail("source", source.clone());
    }
    if let Some(detail) = &asked.detail {
        entry = entry.detail("customExtensionStageInstanceDetail", detail.clone());
    }
    tx.append_audit(entry).await?;
    tx.commit().await?;
    app.scheduler.due_at(request.deadline());
    if let Some(a) = request.assignment_id {
        let mut tx = app.store.read().await?;
        if let Some(a) = tx.get_assignment(a).await? {
            app.scheduler.due_at(a.due_at());
        }
    }
    Ok(request)
}

/// The scheduler's timeout of a request whose callback did not come in time: `denied`,
/// `TimedOut`, nothing delivered. False when it was not due (resumed, canceled, not yet).
pub async fn time_out(
    tx: &mut dyn Tx,
    request: &AssignmentRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<bool> {
    if !request.waits_for_callback() {
        return Ok(false);
    }
    let mut request = request.clone();
    let Some(mut callout) = request.callout.clone().filter(|c| c.deadline <= now) else {
        return Ok(false);
    };
    callout.outcome = Some("timedOut".into());
    request.callout = Some(callout);
    request.state = RequestState::Denied;
    request.status = "TimedOut".into();
    request.completed_date_time = Some(now);
    tx.update_assignment_request(&request).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            CATEGORY,
            "Access package assignment request timed out waiting for its custom extension",
            Initiator::system(),
        )
        .target(request.id, "AccessPackageAssignmentRequest", None)
        .target(request.access_package_id, "AccessPackage", None)
        .target(request.target_id, "DirectoryObject", None)
        .detail("requestState", request.state.as_str())
        .detail("requestStatus", "TimedOut"),
    )
    .await?;
    Ok(true)
}
