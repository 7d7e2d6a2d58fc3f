//! Assignment requests and assignments: `POST assignmentRequests` (every request type Graph
//! SDKs send), reads with `$expand` and `filterByCurrentUser`, `cancel` and `reprocess`;
//! assignments with `$filter` on `accessPackage/id`, `target/objectId` and `state`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use eligo_core::entitlement::assignment::AssignmentState;
use eligo_store::AssignmentQuery;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::shape;
use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::pim::filter_by_current_user;
use crate::api::schemas::{self, Collection};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::entitlement::assignments::{self, Mine};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_requests, create_request))
        .routes(routes!(get_request))
        .routes(routes!(cancel_request))
        .routes(routes!(reprocess_request))
        .routes(routes!(list_assignments))
        .routes(routes!(get_assignment))
        .routes(routes!(reprocess_assignment))
}

fn request_id(raw: &str) -> ApiResult<Uuid> {
    odata::parse_id(raw, "assignment request")
}

fn assignment_id(raw: &str) -> ApiResult<Uuid> {
    odata::parse_id(raw, "access package assignment")
}

/// Only `$expand` (of `requestor`, `accessPackage`, `assignment`) is offered here.
fn expand(q: &odata::RawQuery) -> ApiResult<(bool, bool, bool)> {
    let mut e = (false, false, false);
    for (k, v) in q {
        match k.as_str() {
            "$expand" => {
                for part in v.split(',') {
                    match part.trim() {
                        "requestor" => e.0 = true,
                        "accessPackage" => e.1 = true,
                        "assignment" | "accessPackageAssignment" => e.2 = true,
                        other => {
                            return Err(ApiError::bad_request(
                                "Request_UnsupportedQuery",
                                format!("$expand={other} is not supported; use requestor, accessPackage or assignment"),
                            )
                            .with_detail("UnsupportedExpand", "$expand"));
                        }
                    }
                }
            }
            "$select" => {}
            k if k.starts_with('$') => {
                return Err(ApiError::bad_request(
                    "Request_UnsupportedQuery",
                    format!("{k} is not supported here"),
                ));
            }
            _ => {}
        }
    }
    Ok(e)
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/assignmentRequests", tag = "entitlementManagement",
    responses((status = 200, description = "Every assignment request, newest first", body = Collection<schemas::EmAssignmentRequest>)))]
async fn list_requests(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let rows = assignments::list_requests(&app, &caller).await?;
    Ok(Json(odata::values(
        rows.iter()
            .map(|r| shape::request_seen_by(r, caller.id))
            .collect(),
    )))
}

/// Any request type a Graph SDK sends: add, update and remove by the target, an administrator
/// or (add) on behalf. 201 with the request as decided: `delivered` at once, or
/// `pendingApproval` when its policy needs approval.
#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/assignmentRequests", tag = "entitlementManagement",
    request_body = schemas::EmAssignmentRequestBody,
    responses((status = 201, description = "Created", body = schemas::EmAssignmentRequest), (status = 400, description = "InvalidRequest, a detail per broken rule")))]
async fn create_request(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = assignments::submit(&app, &caller, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(shape::request_seen_by(&r, caller.id)),
    ))
}

/// A request by id (with `$expand=requestor,accessPackage,assignment`), or
/// `filterByCurrentUser(on='target'|'createdBy')`.
#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/assignmentRequests/{id}", tag = "entitlementManagement",
    params(("id" = schemas::IdOrMyRequests, Path, description = "an id, or filterByCurrentUser(on='target'|'createdBy')"),
           ("$expand" = Option<String>, Query, pattern = r"^(requestor|accessPackage|assignment)(,(requestor|accessPackage|assignment)){0,2}$")),
    responses((status = 200, description = "The request, or the caller's requests", body = schemas::EmAssignmentRequestOrMine)))]
async fn get_request(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let (requestor, package, assignment) = expand(&q)?;
    if let Some(on) = filter_by_current_user(&raw)? {
        let on = match on.as_str() {
            "target" => Mine::Target,
            "createdBy" => Mine::CreatedBy,
            _ => {
                return Err(ApiError::bad_request(
                    "Request_BadRequest",
                    "assignmentRequests/filterByCurrentUser takes on='target' or on='createdBy'",
                )
                .with_detail("InvalidFunctionArgument", "on"));
            }
        };
        let rows = assignments::my_requests(&app, &caller, on).await?;
        return Ok(Json(odata::values(
            rows.iter()
                .map(|r| shape::request_seen_by(r, caller.id))
                .collect(),
        )));
    }
    let v = assignments::get_request(&app, &caller, request_id(&raw)?).await?;
    Ok(Json(shape::request_expanded(
        &v, caller.id, requestor, package, assignment,
    )))
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/assignmentRequests/{id}/cancel", tag = "entitlementManagement",
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Canceled"), (status = 409, description = "RequestNotCancelable")))]
async fn cancel_request(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    assignments::cancel(&app, &caller, request_id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/assignmentRequests/{id}/reprocess", tag = "entitlementManagement",
    params(("id" = Uuid, Path)),
    responses((status = 202, description = "Delivered again where it was not"), (status = 409, description = "NothingToReprocess")))]
async fn reprocess_request(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    assignments::reprocess_request(&app, &caller, request_id(&raw)?).await?;
    Ok(StatusCode::ACCEPTED)
}

const ASSIGNMENT_FILTERS: odata::Allowed = &[
    ("accessPackage/id", odata::EQ),
    ("target/objectId", odata::EQ),
    ("state", odata::EQ),
];

fn filtered_id(filter: &eligo_core::filter::Filter, field: &str) -> ApiResult<Option<Uuid>> {
    odata::eq_text(filter, field)?
        .map(|t| odata::parse_id(&t, field))
        .transpose()
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/assignments", tag = "entitlementManagement",
    params(("$filter" = Option<String>, Query, description = "accessPackage/id eq '...', target/objectId eq '...' or state eq 'delivered' (conditions joined by `and`, each field once)",
               pattern = r"^(accessPackage/id eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|target/objectId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|state eq '(delivering|delivered|expired|deliveryFailed|partiallyDelivered)')$"),
           ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "Assignments", body = Collection<schemas::EmAssignment>)))]
async fn list_assignments(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let opts = odata::parse_list_options(&q, ASSIGNMENT_FILTERS)?;
    let state = match odata::eq_text(&opts.filter, "state")? {
        None => None,
        Some(s) => Some(AssignmentState::parse(&s).ok_or_else(|| {
            ApiError::bad_request(
                "Request_BadRequest",
                format!("'{s}' is not an assignment state"),
            )
            .with_detail("InvalidFilter", "$filter")
        })?),
    };
    let query = AssignmentQuery {
        package: filtered_id(&opts.filter, "accessPackage/id")?,
        target: filtered_id(&opts.filter, "target/objectId")?,
        state,
    };
    let rows = assignments::list_assignments(&app, &caller, query).await?;
    let page = odata::probe(opts.page);
    let shown: Vec<Value> = rows
        .iter()
        .skip(page.skip as usize)
        .take(page.top as usize)
        .map(shape::assignment)
        .collect();
    Ok(Json(odata::collection(&uri, opts.page, shown)))
}

/// An assignment by id, or `filterByCurrentUser(on='target')`: the caller's own.
#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/assignments/{id}", tag = "entitlementManagement",
    params(("id" = schemas::IdOrMyAssignments, Path, description = "an id, or filterByCurrentUser(on='target')")),
    responses((status = 200, description = "The assignment, or the caller's", body = schemas::EmAssignmentOrMine)))]
async fn get_assignment(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    if let Some(on) = filter_by_current_user(&raw)? {
        if on != "target" {
            return Err(ApiError::bad_request(
                "Request_BadRequest",
                "assignments/filterByCurrentUser takes on='target'",
            )
            .with_detail("InvalidFunctionArgument", "on"));
        }
        let rows = assignments::my_assignments(&app, &caller).await?;
        return Ok(Json(odata::values(
            rows.iter().map(shape::assignment).collect(),
        )));
    }
    let v = assignments::get_assignment(&app, &caller, assignment_id(&raw)?).await?;
    Ok(Json(shape::assignment(&v)))
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/assignments/{id}/reprocess", tag = "entitlementManagement",
    params(("id" = Uuid, Path)),
    responses((status = 202, description = "Delivered again where it was not")))]
async fn reprocess_assignment(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    assignments::reprocess_assignment(&app, &caller, assignment_id(&raw)?).await?;
    Ok(StatusCode::ACCEPTED)
}
