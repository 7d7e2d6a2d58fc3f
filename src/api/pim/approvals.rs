//! `GET .../roleAssignmentApprovals/{id}`, `PATCH .../steps/{stepId}`, and Eligo's
//! `GET /v1/me/approvals` (what waits on my decision) and `GET /v1/me/roles`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use eligo_core::approval::ReviewResult;
use eligo_core::schedule::ScheduleKind;
use eligo_core::target::Target as AccessTarget;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::api::body::JsonBody;
use crate::api::entitlement::{approvals as em_approvals, shape as em_shape};
use crate::api::odata;
use crate::api::pim::{Family, shape};
use crate::api::schemas::{self, Collection};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::access;
use crate::service::entitlement::mine;
use crate::service::pim::{approve, views};

#[utoipa::path(get, path = "/v1/roleManagement/directory/roleAssignmentApprovals/{id}", tag = "pim",
    params(("id" = String, Path)), responses((status = 200, description = "The approval and its stages", body = schemas::Approval)))]
async fn get_approval(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    approval(app, caller, id, Family::Roles).await
}

/// One approval, seen through the API of its family (a group's approval is not a role's).
pub async fn approval(
    app: AppState,
    caller: Caller,
    id: String,
    family: Family,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "approval")?;
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let request = approve::load_visible(&mut *tx, &app.access, &caller, id, now).await?;
    if !family.owns(&request.target()) {
        return Err(ApiError::not_found("approval"));
    }
    let steps = approve::steps_for(&mut *tx, &app.access, &request, caller.id, now).await?;
    Ok(Json(shape::approval(&request, &steps)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewBody {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    /// `Approve` or `Deny`.
    #[schema(schema_with = review_result_schema)]
    review_result: String,
    justification: Option<String>,
}

fn review_result_schema() -> utoipa::openapi::Schema {
    serde_json::from_value(serde_json::json!({ "type": "string", "enum": ["Approve", "Deny"] }))
        .expect("a valid schema")
}

#[utoipa::path(patch, path = "/v1/roleManagement/directory/roleAssignmentApprovals/{id}/steps/{stepId}", tag = "pim",
    params(("id" = String, Path), ("stepId" = String, Path)), request_body = ReviewBody,
    responses((status = 204, description = "Recorded"),
              (status = 403, description = "Not an approver of this step, or the requester")))]
async fn review_step(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, step)): Path<(String, String)>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> ApiResult<StatusCode> {
    review(app, caller, id, step, body, Family::Roles).await
}

/// Records one review, through the API of the approval's family.
pub async fn review(
    app: AppState,
    caller: Caller,
    id: String,
    step: String,
    body: ReviewBody,
    family: Family,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "approval")?;
    let mut tx = app.store.read().await?;
    if tx
        .get_schedule_request(id)
        .await?
        .is_some_and(|r| !family.owns(&r.target()))
    {
        return Err(ApiError::not_found("approval"));
    }
    drop(tx);
    let step = odata::parse_id(&step, "step")?;
    let result = match body.review_result.to_ascii_lowercase().as_str() {
        "approve" => ReviewResult::Approve,
        "deny" => ReviewResult::Deny,
        _ => {
            return Err(ApiError::bad_request(
                "Request_BadRequest",
                "reviewResult is Approve or Deny",
            )
            .with_detail("InvalidValue", "reviewResult"));
        }
    };
    approve::review(&app, &caller, id, step, result, body.justification).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/me/approvals", tag = "me",
    responses((status = 200, description = "Requests now waiting on the caller's decision (roles, groups, access packages), told apart by `kind`", body = Collection<schemas::WaitingRequest>)))]
async fn my_approvals(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let waiting = approve::waiting_on(&app, &caller).await?;
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let mut out = Vec::new();
    for request in waiting {
        let mut v = shape::request(&request);
        v["roleDisplayName"] = json!(views::role_name(&mut *tx, request.role_definition_id).await?);
        v["principalDisplayName"] = json!(
            access::principal_summary(&mut *tx, request.principal_id)
                .await?
                .map(|p| p.display_name)
        );
        let steps = approve::steps_for(&mut *tx, &app.access, &request, caller.id, now).await?;
        v["approval"] = shape::approval(&request, &steps);
        v["kind"] = json!(match request.target() {
            AccessTarget::Role { .. } => "role",
            AccessTarget::Group { .. } => "group",
        });
        out.push(v);
    }
    // Access package requests waiting on the caller, told apart by `kind`.
    for d in mine::waiting_on_me(&app, &caller).await? {
        out.push(package_item(&mut *tx, &d).await?);
    }
    Ok(Json(odata::values(out)))
}

/// A waiting access package request: the request as Graph shapes it, with the package's,
/// the requestor's and the target's names, and its approval.
async fn package_item(tx: &mut dyn eligo_store::Tx, d: &mine::ApprovalDetails) -> ApiResult<Value> {
    let r = &d.approval.request;
    let mut v = em_shape::request(r);
    v["kind"] = json!("accessPackage");
    v["accessPackage"]["displayName"] = json!(d.package.as_ref().map(|p| p.display_name.clone()));
    v["requestor"]["displayName"] = json!(
        access::principal_summary(tx, r.requestor_id)
            .await?
            .map(|p| p.display_name)
    );
    v["target"]["displayName"] = json!(
        access::principal_summary(tx, r.target_id)
            .await?
            .map(|p| p.display_name)
    );
    v["approval"] = em_approvals::shape(&d.approval);
    Ok(v)
}

#[utoipa::path(get, path = "/v1/me/roles", tag = "me",
    responses((status = 200, description = "The caller's eligible and active roles, each with how it comes", body = Collection<schemas::MyRole>)))]
async fn my_roles(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let now = app.clock.now();
    let mine = views::HoldingQuery {
        targets: eligo_store::Targets::All,
        principal_id: Some(caller.id),
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut tx = app.store.read().await?;
    for kind in [ScheduleKind::Eligible, ScheduleKind::Active] {
        for h in views::holdings(&app, &caller, kind, mine.clone()).await? {
            let s = &h.schedule;
            // A role at a scope, or a group access (PIM for Groups), each named.
            let target = match s.target() {
                AccessTarget::Role { role, scope } => json!({
                    "roleDefinitionId": role,
                    "roleDisplayName": views::role_name(&mut *tx, role).await?,
                    "directoryScopeId": scope,
                }),
                AccessTarget::Group { group, access } => json!({
                    "groupId": group,
                    "groupDisplayName": tx.get_group(group).await?.map(|g| g.display_name),
                    "accessId": access.as_str(),
                }),
            };
            let mut entry = json!({
                "kind": if kind == ScheduleKind::Eligible { "eligible" } else { "active" },
                "scheduleId": s.id,
                "startDateTime": s.start_date_time,
                "endDateTime": s.end_date_time,
                "isCurrent": s.is_current(now),
                "assignmentType": (kind == ScheduleKind::Active).then(|| shape::assignment_type(s.assignment_type)),
                "memberType": h.member_type(),
                "via": match &h.via_group {
                    Some((id, name)) => json!({ "type": "group", "id": id, "displayName": name }),
                    None => json!({ "type": "direct" }),
                },
                "expiringSoon": h.expiring_soon(now),
            });
            if let (Some(e), Some(t)) = (entry.as_object_mut(), target.as_object()) {
                e.extend(t.clone());
            }
            out.push(entry);
        }
    }
    Ok(Json(odata::values(out)))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(get_approval))
        .routes(routes!(review_step))
        .routes(routes!(my_approvals))
        .routes(routes!(my_roles))
}
