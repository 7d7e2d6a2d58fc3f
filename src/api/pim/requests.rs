//! `POST|GET .../roleAssignmentScheduleRequests` and `.../roleEligibilityScheduleRequests`,
//! one request by id, and `cancel`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use chrono::{DateTime, Utc};
use eligo_core::activation::Ticket;
use eligo_core::filter::Filter;
use eligo_core::request::{
    ExpirationInfo, ExpirationType, RequestAction, RequestKind, RequestStatus, ScheduleInfo,
    ScheduleRequest,
};
use eligo_core::target::{GroupAccess, Target as AccessTarget, is_reserved_role_id};
use eligo_store::RequestQuery;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::pim::{Family, shape};
use crate::api::schemas::{self, Collection, field};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::pim::{approve, submit, views};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketBody {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    ticket_number: Option<String>,
    ticket_system: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpirationBody {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    /// `noExpiration`, `afterDateTime` (with `endDateTime`) or `afterDuration` (with
    /// `duration`); left out, it follows from which of the two is given.
    #[serde(rename = "type")]
    #[schema(value_type = Option<schemas::ExpirationType>)]
    kind: Option<String>,
    /// RFC 3339, after the start.
    #[schema(schema_with = field::date_time_or_null)]
    end_date_time: Option<String>,
    /// ISO 8601 (`PT8H`).
    #[schema(schema_with = field::duration_or_null)]
    duration: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleInfoBody {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    /// RFC 3339; left out: now.
    #[schema(schema_with = field::date_time_or_null)]
    start_date_time: Option<String>,
    expiration: Option<ExpirationBody>,
    /// Accepted as Graph sends it; recurring schedules are not supported and must be null.
    #[schema(schema_with = field::null_only)]
    recurrence: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestBody {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    #[schema(schema_with = field::request_action)]
    action: String,
    #[schema(schema_with = field::uuid)]
    principal_id: String,
    #[schema(schema_with = field::uuid)]
    role_definition_id: String,
    /// Default `/`.
    #[schema(schema_with = field::directory_scope_or_null)]
    directory_scope_id: Option<String>,
    /// Application scopes are not supported: `/` or null.
    #[schema(schema_with = field::root_scope_or_null)]
    app_scope_id: Option<String>,
    #[schema(max_length = 500)]
    justification: Option<String>,
    ticket_info: Option<TicketBody>,
    schedule_info: Option<ScheduleInfoBody>,
    is_validation_only: Option<bool>,
    #[schema(schema_with = field::uuid_or_null)]
    target_schedule_id: Option<String>,
}

fn bad(target: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request("Request_BadRequest", message).with_detail("InvalidValue", target)
}

fn time(raw: &str, target: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad(target, format!("{target} must be an RFC 3339 date-time")))
}

fn schedule_info(body: ScheduleInfoBody) -> ApiResult<ScheduleInfo> {
    if body.recurrence.as_ref().is_some_and(|r| !r.is_null()) {
        return Err(bad(
            "scheduleInfo.recurrence",
            "recurring schedules are not supported",
        ));
    }
    let start = body
        .start_date_time
        .as_deref()
        .map(|s| time(s, "scheduleInfo.startDateTime"))
        .transpose()?;
    let exp = body.expiration.unwrap_or(ExpirationBody {
        _odata_type: None,
        kind: None,
        end_date_time: None,
        duration: None,
    });
    let end = exp
        .end_date_time
        .as_deref()
        .map(|s| time(s, "scheduleInfo.expiration.endDateTime"))
        .transpose()?;
    let duration = exp
        .duration
        .as_deref()
        .map(|d| {
            eligo_core::duration::parse_duration(d).map_err(|e| {
                bad(
                    "scheduleInfo.expiration.duration",
                    format!("not an ISO 8601 duration: {e}"),
                )
            })
        })
        .transpose()?;
    let kind = match exp.kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => match (end, duration) {
            (Some(_), None) => ExpirationType::AfterDateTime,
            (None, Some(_)) => ExpirationType::AfterDuration,
            (None, None) => ExpirationType::NoExpiration,
            (Some(_), Some(_)) => {
                return Err(bad(
                    "scheduleInfo.expiration",
                    "give either endDateTime or duration, not both",
                ));
            }
        },
        Some("noexpiration") => ExpirationType::NoExpiration,
        Some("afterdatetime") => ExpirationType::AfterDateTime,
        Some("afterduration") => ExpirationType::AfterDuration,
        Some(other) => {
            return Err(bad(
                "scheduleInfo.expiration.type",
                format!(
                    "unknown expiration type '{other}' (noExpiration, afterDateTime, afterDuration)"
                ),
            ));
        }
    };
    match kind {
        ExpirationType::AfterDateTime if end.is_none() => {
            return Err(bad(
                "scheduleInfo.expiration.endDateTime",
                "afterDateTime needs endDateTime",
            ));
        }
        ExpirationType::AfterDuration if duration.is_none() => {
            return Err(bad(
                "scheduleInfo.expiration.duration",
                "afterDuration needs duration",
            ));
        }
        _ => {}
    }
    if let (Some(start), Some(end)) = (start, end)
        && end <= start
    {
        return Err(bad(
            "scheduleInfo.expiration.endDateTime",
            "The end must be after the start.",
        ));
    }
    Ok(ScheduleInfo {
        start_date_time: start,
        expiration: ExpirationInfo {
            kind,
            end_date_time: if kind == ExpirationType::AfterDateTime {
                end
            } else {
                None
            },
            duration: if kind == ExpirationType::AfterDuration {
                duration
            } else {
                None
            },
        },
    })
}

fn action(raw: &str) -> ApiResult<RequestAction> {
    RequestAction::parse(raw).ok_or_else(|| {
        ApiError::bad_request("InvalidRequestAction", format!("unknown action '{raw}'"))
            .with_detail("InvalidValue", "action")
    })
}

fn new_request(kind: RequestKind, body: RequestBody) -> ApiResult<submit::NewRequest> {
    let action = action(&body.action)?;
    if body.app_scope_id.as_deref().is_some_and(|s| s != "/") {
        return Err(bad(
            "appScopeId",
            "application scopes are not supported; use directoryScopeId",
        ));
    }
    let _ = body.target_schedule_id;
    let ticket = body.ticket_info.map(|t| Ticket {
        number: t.ticket_number.unwrap_or_default(),
        system: t.ticket_system.unwrap_or_default(),
    });
    Ok(submit::NewRequest {
        kind,
        action,
        principal_id: odata::parse_id(&body.principal_id, "principalId")?,
        role_definition_id: {
            let role = odata::parse_id(&body.role_definition_id, "roleDefinitionId")?;
            // The ids standing for group accesses are not roles (PIM for Groups has its own API).
            if is_reserved_role_id(role) {
                return Err(ApiError::not_found("role definition"));
            }
            role
        },
        directory_scope_id: body.directory_scope_id.unwrap_or_else(|| "/".into()),
        justification: body.justification,
        ticket,
        schedule_info: body.schedule_info.map(schedule_info).transpose()?,
        is_validation_only: body.is_validation_only.unwrap_or(false),
    })
}

/// A PIM for Groups request: `groupId` and `accessId` in place of the role fields.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupRequestBody {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    #[schema(schema_with = field::request_action)]
    action: String,
    #[schema(schema_with = field::uuid)]
    principal_id: String,
    #[schema(schema_with = field::uuid)]
    group_id: String,
    #[schema(schema_with = field::group_access)]
    access_id: String,
    #[schema(max_length = 500)]
    justification: Option<String>,
    ticket_info: Option<TicketBody>,
    schedule_info: Option<ScheduleInfoBody>,
    is_validation_only: Option<bool>,
    #[schema(schema_with = field::uuid_or_null)]
    target_schedule_id: Option<String>,
}

pub fn new_group_request(
    kind: RequestKind,
    body: GroupRequestBody,
) -> ApiResult<submit::NewRequest> {
    let access = GroupAccess::parse(&body.access_id)
        .ok_or_else(|| bad("accessId", "accessId is member or owner"))?;
    let group = odata::parse_id(&body.group_id, "groupId")?;
    let (role_definition_id, directory_scope_id) = AccessTarget::Group { group, access }.fields();
    let _ = body.target_schedule_id;
    Ok(submit::NewRequest {
        kind,
        action: action(&body.action)?,
        principal_id: odata::parse_id(&body.principal_id, "principalId")?,
        role_definition_id,
        directory_scope_id,
        justification: body.justification,
        ticket: body.ticket_info.map(|t| Ticket {
            number: t.ticket_number.unwrap_or_default(),
            system: t.ticket_system.unwrap_or_default(),
        }),
        schedule_info: body.schedule_info.map(schedule_info).transpose()?,
        is_validation_only: body.is_validation_only.unwrap_or(false),
    })
}

pub async fn create(
    app: AppState,
    caller: Caller,
    new: submit::NewRequest,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let validation_only = new.is_validation_only;
    let request = submit::submit(&app, &caller, new).await?;
    let mut v = shape::request(&request);
    v["isValidationOnly"] = Value::Bool(validation_only);
    Ok((StatusCode::CREATED, Json(v)))
}

pub fn request_query(
    kind: RequestKind,
    family: Family,
    filter: &Filter,
) -> ApiResult<RequestQuery> {
    let (role_definition_id, directory_scope_id) = family.target_filter(filter)?;
    let status = match odata::eq_text(filter, "status")? {
        None => None,
        Some(s) => Some(RequestStatus::parse(&s).ok_or_else(|| {
            ApiError::bad_request("Request_UnsupportedQuery", format!("unknown status '{s}'"))
        })?),
    };
    Ok(RequestQuery {
        kind: Some(kind),
        principal_id: odata::eq_text(filter, "principalId")?
            .map(|id| odata::parse_id(&id, "principalId"))
            .transpose()?,
        role_definition_id,
        directory_scope_id,
        status,
        created_by: None,
        targets: family.targets(),
    })
}

/// Whether a request is one `query` asks for (kind and family are checked apart).
fn selects(query: &RequestQuery, r: &ScheduleRequest) -> bool {
    query.principal_id.is_none_or(|p| p == r.principal_id)
        && query
            .role_definition_id
            .is_none_or(|id| id == r.role_definition_id)
        && query
            .directory_scope_id
            .as_ref()
            .is_none_or(|s| *s == r.directory_scope_id)
        && query.status.is_none_or(|s| s == r.status)
}

pub async fn list(
    app: AppState,
    caller: Caller,
    kind: RequestKind,
    family: Family,
    uri: Uri,
    q: odata::RawQuery,
) -> ApiResult<Json<Value>> {
    let opts = odata::parse_list_options(&q, family.filters())?;
    let query = request_query(kind, family, &opts.filter)?;
    let rows = views::requests(&app, &caller, query, odata::probe(opts.page)).await?;
    let shaped: Vec<Value> = rows.iter().map(shape::request).collect();
    Ok(Json(odata::collection(&uri, opts.page, shaped)))
}

pub async fn get(
    app: AppState,
    caller: Caller,
    kind: RequestKind,
    family: Family,
    id: String,
    uri: Uri,
    q: odata::RawQuery,
) -> ApiResult<Json<Value>> {
    match super::filter_by_current_user(&id)?.as_deref() {
        None => {}
        Some("principal") => {
            let opts = odata::parse_list_options(&q, family.filters())?;
            let mut query = request_query(kind, family, &opts.filter)?;
            query.principal_id = Some(caller.id);
            let rows = views::requests(&app, &caller, query, odata::probe(opts.page)).await?;
            let shaped: Vec<Value> = rows.iter().map(shape::request).collect();
            return Ok(Json(odata::collection(&uri, opts.page, shaped)));
        }
        Some("approver") => {
            // The collection's options, over what waits on the caller: a filter is applied,
            // never ignored, and a malformed option is refused.
            let opts = odata::parse_list_options(&q, family.filters())?;
            let query = request_query(kind, family, &opts.filter)?;
            let waiting = approve::waiting_on(&app, &caller).await?;
            let shaped: Vec<Value> = waiting
                .iter()
                .filter(|r| r.kind == kind && family.owns(&r.target()) && selects(&query, r))
                .skip(usize::try_from(opts.page.skip).unwrap_or(0))
                .take(usize::try_from(opts.page.top).unwrap_or(0) + 1)
                .map(shape::request)
                .collect();
            return Ok(Json(odata::collection(&uri, opts.page, shaped)));
        }
        Some(other) => {
            return Err(ApiError::bad_request(
                "Request_BadRequest",
                format!(
                    "filterByCurrentUser(on='{other}') is not supported; use principal or approver"
                ),
            ));
        }
    }
    let id = odata::parse_id(&id, "request")?;
    let request = views::request(&app, &caller, id).await?;
    if request.kind != kind || !family.owns(&request.target()) {
        return Err(ApiError::not_found("request"));
    }
    Ok(Json(shape::request(&request)))
}

#[utoipa::path(post, path = "/v1/roleManagement/directory/roleAssignmentScheduleRequests", tag = "pim",
    request_body = RequestBody,
    responses((status = 201, description = "The request, with its status and the effective schedule", body = schemas::RoleScheduleRequest),
              (status = 400, description = "RoleAssignmentRequestPolicyValidationFailed, with one detail per broken rule")))]
async fn create_assignment(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<RequestBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    create(app, caller, new_request(RequestKind::Assignment, body)?).await
}

#[utoipa::path(get, path = "/v1/roleManagement/directory/roleAssignmentScheduleRequests", tag = "pim",
    params(("$filter" = Option<String>, Query, description = "principalId, roleDefinitionId, directoryScopeId, status eq '...'; conditions joined by `and`, each field once",
            pattern = r"^((principalId|roleDefinitionId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})'|status eq '(Canceled|Denied|Failed|Granted|PendingAdminDecision|PendingApproval|PendingProvisioning|PendingScheduleCreation|Provisioned|Revoked|ScheduleCreated)')$"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "Requests, newest first", body = Collection<schemas::RoleScheduleRequest>)))]
async fn list_assignment(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    list(app, caller, RequestKind::Assignment, Family::Roles, uri, q).await
}

#[utoipa::path(get, path = "/v1/roleManagement/directory/roleAssignmentScheduleRequests/{id}", tag = "pim",
    params(("id" = schemas::IdOrMineOrApprover, Path, description = "a request id, or filterByCurrentUser(on='principal'|'approver')"),
        ("$filter" = Option<String>, Query, description = "with filterByCurrentUser(on='principal'): as on the collection",
            pattern = r"^((principalId|roleDefinitionId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})'|status eq '(Canceled|Denied|Failed|Granted|PendingAdminDecision|PendingApproval|PendingProvisioning|PendingScheduleCreation|Provisioned|Revoked|ScheduleCreated)')$"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "One request, or the caller's requests", body = schemas::RoleRequestOrMine)))]
async fn get_assignment(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    get(
        app,
        caller,
        RequestKind::Assignment,
        Family::Roles,
        id,
        uri,
        q,
    )
    .await
}

#[utoipa::path(post, path = "/v1/roleManagement/directory/roleAssignmentScheduleRequests/{id}/cancel", tag = "pim",
    params(("id" = String, Path)), responses((status = 204, description = "Canceled")))]
async fn cancel_assignment(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "request")?;
    approve::cancel(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/roleManagement/directory/roleEligibilityScheduleRequests", tag = "pim",
    request_body = RequestBody,
    responses((status = 201, description = "The request, with its status and the effective schedule", body = schemas::RoleScheduleRequest),
              (status = 400, description = "RoleAssignmentRequestPolicyValidationFailed, with one detail per broken rule")))]
async fn create_eligibility(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<RequestBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    create(app, caller, new_request(RequestKind::Eligibility, body)?).await
}

#[utoipa::path(get, path = "/v1/roleManagement/directory/roleEligibilityScheduleRequests", tag = "pim",
    params(("$filter" = Option<String>, Query, description = "principalId, roleDefinitionId, directoryScopeId, status eq '...'; conditions joined by `and`, each field once",
            pattern = r"^((principalId|roleDefinitionId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})'|status eq '(Canceled|Denied|Failed|Granted|PendingAdminDecision|PendingApproval|PendingProvisioning|PendingScheduleCreation|Provisioned|Revoked|ScheduleCreated)')$"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "Requests, newest first", body = Collection<schemas::RoleScheduleRequest>)))]
async fn list_eligibility(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    list(app, caller, RequestKind::Eligibility, Family::Roles, uri, q).await
}

#[utoipa::path(get, path = "/v1/roleManagement/directory/roleEligibilityScheduleRequests/{id}", tag = "pim",
    params(("id" = schemas::IdOrMineOrApprover, Path, description = "a request id, or filterByCurrentUser(on='principal'|'approver')"),
        ("$filter" = Option<String>, Query, description = "with filterByCurrentUser(on='principal'): as on the collection",
            pattern = r"^((principalId|roleDefinitionId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})'|status eq '(Canceled|Denied|Failed|Granted|PendingAdminDecision|PendingApproval|PendingProvisioning|PendingScheduleCreation|Provisioned|Revoked|ScheduleCreated)')$"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "One request, or the caller's requests", body = schemas::RoleRequestOrMine)))]
async fn get_eligibility(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(id): Path<String>,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    get(
        app,
        caller,
        RequestKind::Eligibility,
        Family::Roles,
        id,
        uri,
        q,
    )
    .await
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(create_assignment, list_assignment))
        .routes(routes!(get_assignment))
        .routes(routes!(cancel_assignment))
        .routes(routes!(create_eligibility, list_eligibility))
        .routes(routes!(get_eligibility))
}
