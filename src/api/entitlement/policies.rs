//! Assignment policies: CRUD, PUT replacing the whole policy as Graph's update does, PATCH
//! merging onto it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::shape;
use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::schemas::{self, Collection};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::service::entitlement::{self, policies};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, replace, patch, delete_one))
}

fn id(raw: &str) -> ApiResult<uuid::Uuid> {
    odata::parse_id(raw, "assignment policy")
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/assignmentPolicies", tag = "entitlementManagement",
    responses((status = 200, description = "Every assignment policy", body = Collection<schemas::EmAssignmentPolicy>)))]
async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let rows = entitlement::reader(&app, &caller)?.policies(None).await?;
    Ok(Json(odata::values(
        rows.iter().map(shape::policy).collect(),
    )))
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/assignmentPolicies", tag = "entitlementManagement",
    request_body = schemas::EmAssignmentPolicyBody,
    responses((status = 201, description = "Created", body = schemas::EmAssignmentPolicy), (status = 400, description = "InvalidAssignmentPolicy")))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let p = policies::create(&app, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(shape::policy(&p))))
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/assignmentPolicies/{id}", tag = "entitlementManagement",
    params(("id" = String, Path)), responses((status = 200, description = "The policy", body = schemas::EmAssignmentPolicy)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(&app, &caller)?;
    Ok(Json(shape::policy(&reader.policy(id(&raw)?).await?)))
}

#[utoipa::path(put, path = "/v1/identityGovernance/entitlementManagement/assignmentPolicies/{id}", tag = "entitlementManagement",
    params(("id" = String, Path)), request_body = schemas::EmAssignmentPolicyBody,
    responses((status = 200, description = "Replaced", body = schemas::EmAssignmentPolicy), (status = 400, description = "InvalidAssignmentPolicy")))]
async fn replace(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let p = policies::update(&app, &caller, id(&raw), body, false).await?;
    Ok(Json(shape::policy(&p)))
}

#[utoipa::path(patch, path = "/v1/identityGovernance/entitlementManagement/assignmentPolicies/{id}", tag = "entitlementManagement",
    params(("id" = String, Path)), request_body = schemas::EmAssignmentPolicyPatch,
    responses((status = 200, description = "Changed", body = schemas::EmAssignmentPolicy), (status = 400, description = "InvalidAssignmentPolicy")))]
async fn patch(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let p = policies::update(&app, &caller, id(&raw), body, true).await?;
    Ok(Json(shape::policy(&p)))
}

#[utoipa::path(delete, path = "/v1/identityGovernance/entitlementManagement/assignmentPolicies/{id}", tag = "entitlementManagement",
    params(("id" = String, Path)), responses((status = 204, description = "Deleted")))]
async fn delete_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    policies::delete(&app, &caller, id(&raw)).await?;
    Ok(StatusCode::NO_CONTENT)
}
