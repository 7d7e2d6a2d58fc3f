//! PIM for Groups, shaped like Graph's `identityGovernance/privilegedAccess/group` resources:
//! requests, schedules, instances and approvals of `member` and `owner` access to a group. The
//! handlers are the roles' own (`requests`, `schedules`, `approvals`) with [`Family::Groups`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use eligo_core::request::RequestKind;
use eligo_core::schedule::ScheduleKind;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::pim::Family;
use crate::api::pim::approvals::{self, ReviewBody};
use crate::api::pim::requests::{self, GroupRequestBody, new_group_request};
use crate::api::pim::schedules::{Holdings, list, one_or_mine};
use crate::api::schemas::{self, Collection};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::service::pim::approve;

#[utoipa::path(post, path = "/v1/identityGovernance/privilegedAccess/group/assignmentScheduleRequests",
    tag = "pim-groups", request_body = GroupRequestBody,
    responses((status = 201, description = "The request, with its status and the effective schedule", body = schemas::GroupScheduleRequest),
              (status = 400, description = "RoleAssignmentRequestPolicyValidationFailed, with one detail per broken rule")))]
async fn create_assignment(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<GroupRequestBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    requests::create(
        app,
        caller,
        new_group_request(RequestKind::Assignment, body)?,
    )
    .await
}

#[utoipa::path(get, path = "/v1/identityGovernance/privilegedAccess/group/assignmentScheduleRequests",
    tag = "pim-groups",
    params(("$filter" = Option<String>, Query, description = "principalId, groupId, accessId, status eq '...'; conditions joined by `and`, each field once",
            pattern = r"^((principalId|groupId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)'|status eq '(Canceled|Denied|Failed|Granted|PendingAdminDecision|PendingApproval|PendingProvisioning|PendingScheduleCreation|Provisioned|Revoked|ScheduleCreated)')$"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "Requests, newest first", body = Collection<schemas::GroupScheduleRequest>)))]
async fn list_assignment(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    requests::list(app, caller, RequestKind::Assignment, Family::Groups, uri, q).await
}

#[utoipa::path(get, path = "/v1/identityGovernance/privilegedAccess/group/assignmentScheduleRequests/{id}",
    tag = "pim-groups",
    params(("id" = schemas::IdOrMineOrApprover, Path, description = "a request id, or filterByCurrentUser(on='principal'|'approver')"),
        ("$filter" = Option<String>, Query, description = "with filterByCurrentUser(on='principal'): as on the collection",
            pattern = r"^((principalId|groupId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)'|status eq '(Canceled|Denied|Failed|Granted|PendingAdminDecision|PendingApproval|PendingProvisioning|PendingScheduleCreation|Provisioned|Revoked|ScheduleCreated)')$"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "One request, or the caller's requests", body = schemas::GroupRequestOrMine)))]
async fn get_assignment(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    requests::get(
        app,
        caller,
        RequestKind::Assignment,
        Family::Groups,
        id,
        uri,
        q,
    )
    .await
}

#[utoipa::path(post, path = "/v1/identityGovernance/privilegedAccess/group/assignmentScheduleRequests/{id}/cancel",
    tag = "pim-groups", params(("id" = String, Path)), responses((status = 204, description = "Canceled")))]
async fn cancel_assignment(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "request")?;
    let mut tx = app.store.read().await?;
    if tx
        .get_schedule_request(id)
        .await?
        .is_some_and(|r| !Family::Groups.owns(&r.target()))
    {
        return Err(crate::error::ApiError::not_found("request"));
    }
    drop(tx);
    approve::cancel(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests",
    tag = "pim-groups", request_body = GroupRequestBody,
    responses((status = 201, description = "The request, with its status and the effective schedule", body = schemas::GroupScheduleRequest),
              (status = 400, description = "RoleAssignmentRequestPolicyValidationFailed, with one detail per broken rule")))]
async fn create_eligibility(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<GroupRequestBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    requests::create(
        app,
        caller,
        new_group_request(RequestKind::Eligibility, body)?,
    )
    .await
}

#[utoipa::path(get, path = "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests",
    tag = "pim-groups",
    params(("$filter" = Option<String>, Query, description = "principalId, groupId, accessId, status eq '...'; conditions joined by `and`, each field once",
            pattern = r"^((principalId|groupId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)'|status eq '(Canceled|Denied|Failed|Granted|PendingAdminDecision|PendingApproval|PendingProvisioning|PendingScheduleCreation|Provisioned|Revoked|ScheduleCreated)')$"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "Requests, newest first", body = Collection<schemas::GroupScheduleRequest>)))]
async fn list_eligibility(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    requests::list(
        app,
        caller,
        RequestKind::Eligibility,
        Family::Groups,
        uri,
        q,
    )
    .await
}

#[utoipa::path(get, path = "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests/{id}",
    tag = "pim-groups",
    params(("id" = schemas::IdOrMineOrApprover, Path, description = "a request id, or filterByCurrentUser(on='principal'|'approver')"),
        ("$filter" = Option<String>, Query, description = "with filterByCurrentUser(on='principal'): as on the collection",
            pattern = r"^((principalId|groupId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)'|status eq '(Canceled|Denied|Failed|Granted|PendingAdminDecision|PendingApproval|PendingProvisioning|PendingScheduleCreation|Provisioned|Revoked|ScheduleCreated)')$"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "One request, or the caller's requests", body = schemas::GroupRequestOrMine)))]
async fn get_eligibility(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    requests::get(
        app,
        caller,
        RequestKind::Eligibility,
        Family::Groups,
        id,
        uri,
        q,
    )
    .await
}

#[utoipa::path(get, path = "/v1/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}",
    tag = "pim-groups", params(("id" = String, Path)),
    responses((status = 200, description = "The approval and its stages", body = schemas::Approval)))]
async fn get_approval(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    approvals::approval(app, caller, id, Family::Groups).await
}

#[utoipa::path(patch, path = "/v1/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}/steps/{stepId}",
    tag = "pim-groups", params(("id" = String, Path), ("stepId" = String, Path)), request_body = ReviewBody,
    responses((status = 204, description = "Recorded"),
              (status = 403, description = "Not an approver of this step, or the requester")))]
async fn review_step(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, step)): Path<(String, String)>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> ApiResult<StatusCode> {
    approvals::review(app, caller, id, step, body, Family::Groups).await
}

crate::pim_collection!(
    assignment_schedules,
    assignment_schedules_one,
    "/v1/identityGovernance/privilegedAccess/group/assignmentSchedules",
    "/v1/identityGovernance/privilegedAccess/group/assignmentSchedules/{id}",
    Family::Groups,
    ScheduleKind::Active,
    false,
    "Active group memberships and ownerships, current and future",
    "pim-groups",
    r"^((principalId|groupId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)')$",
    r"^(groupId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)')$",
    crate::api::schemas::GroupSchedule,
    crate::api::schemas::GroupScheduleOrMine
);
crate::pim_collection!(
    assignment_instances,
    assignment_instances_one,
    "/v1/identityGovernance/privilegedAccess/group/assignmentScheduleInstances",
    "/v1/identityGovernance/privilegedAccess/group/assignmentScheduleInstances/{id}",
    Family::Groups,
    ScheduleKind::Active,
    true,
    "Group memberships and ownerships holding now",
    "pim-groups",
    r"^((principalId|groupId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)')$",
    r"^(groupId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)')$",
    crate::api::schemas::GroupInstance,
    crate::api::schemas::GroupInstanceOrMine
);
crate::pim_collection!(
    eligibility_schedules,
    eligibility_schedules_one,
    "/v1/identityGovernance/privilegedAccess/group/eligibilitySchedules",
    "/v1/identityGovernance/privilegedAccess/group/eligibilitySchedules/{id}",
    Family::Groups,
    ScheduleKind::Eligible,
    false,
    "Group eligibilities, current and future",
    "pim-groups",
    r"^((principalId|groupId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)')$",
    r"^(groupId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)')$",
    crate::api::schemas::GroupSchedule,
    crate::api::schemas::GroupScheduleOrMine
);
crate::pim_collection!(
    eligibility_instances,
    eligibility_instances_one,
    "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances",
    "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances/{id}",
    Family::Groups,
    ScheduleKind::Eligible,
    true,
    "Group eligibilities holding now",
    "pim-groups",
    r"^((principalId|groupId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)')$",
    r"^(groupId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|accessId eq '(member|owner)')$",
    crate::api::schemas::GroupInstance,
    crate::api::schemas::GroupInstanceOrMine
);

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_assignment, list_assignment))
        .routes(routes!(get_assignment))
        .routes(routes!(cancel_assignment))
        .routes(routes!(create_eligibility, list_eligibility))
        .routes(routes!(get_eligibility))
        .routes(routes!(get_approval))
        .routes(routes!(review_step))
        .routes(routes!(assignment_schedules))
        .routes(routes!(assignment_schedules_one))
        .routes(routes!(assignment_instances))
        .routes(routes!(assignment_instances_one))
        .routes(routes!(eligibility_schedules))
        .routes(routes!(eligibility_schedules_one))
        .routes(routes!(eligibility_instances))
        .routes(routes!(eligibility_instances_one))
}
