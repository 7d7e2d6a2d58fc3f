//! Access packages, their resource role scopes, separation-of-duties `$ref`s, and the two
//! functions any signed-in person may call: `filterByCurrentUser(on='allowedRequestor')` and
//! `getApplicablePolicyRequirements`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use eligo_core::entitlement::resource::OriginSystem;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
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
use crate::service::entitlement::packages::{self, Incompatible, RoleScopeRequest};
use crate::service::entitlement::{self, Reader, requestable};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete_one))
        .routes(routes!(list_role_scopes, add_role_scope))
        .routes(routes!(remove_role_scope))
        .routes(routes!(policies_of))
        .routes(routes!(requirements))
        .routes(routes!(list_incompatible_packages))
        .routes(routes!(add_incompatible_package))
        .routes(routes!(remove_incompatible_package))
        .routes(routes!(incompatible_with))
        .routes(routes!(list_incompatible_groups))
        .routes(routes!(add_incompatible_group))
        .routes(routes!(remove_incompatible_group))
        .routes(routes!(incompatibility_report))
}

fn id(raw: &str) -> ApiResult<Uuid> {
    odata::parse_id(raw, "access package")
}

/// What `$expand` asks for: `resourceRoleScopes` (with `($expand=role,scope)`, always given)
/// and `assignmentPolicies`.
#[derive(Default)]
struct Expand {
    role_scopes: bool,
    policies: bool,
}

fn expand(q: &odata::RawQuery) -> ApiResult<Expand> {
    let mut e = Expand::default();
    for (k, v) in q {
        match k.as_str() {
            "$expand" => {
                for part in split_top(v) {
                    match part.trim() {
                        "assignmentPolicies" => e.policies = true,
                        "resourceRoleScopes"
                        | "resourceRoleScopes($expand=role,scope)"
                        | "resourceRoleScopes($expand=scope,role)"
                        | "resourceRoleScopes($expand=role)"
                        | "resourceRoleScopes($expand=scope)" => e.role_scopes = true,
                        other => {
                            return Err(ApiError::bad_request(
                                "Request_UnsupportedQuery",
                                format!("$expand={other} is not supported; use resourceRoleScopes($expand=role,scope) or assignmentPolicies"),
                            ).with_detail("UnsupportedExpand", "$expand"));
                        }
                    }
                }
            }
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

/// `a,b($expand=c,d)` → `a`, `b($expand=c,d)`.
fn split_top(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

async fn shaped(
    reader: &Reader<'_>,
    p: &eligo_core::entitlement::package::AccessPackage,
    e: &Expand,
) -> ApiResult<Value> {
    let mut v = shape::package(p);
    if e.role_scopes {
        let rs = reader.role_scopes(p.id).await?;
        v["resourceRoleScopes"] = json!(rs.iter().map(shape::role_scope).collect::<Vec<_>>());
    }
    if e.policies {
        let ps = reader.policies(Some(p.id)).await?;
        v["assignmentPolicies"] = json!(ps.iter().map(shape::policy).collect::<Vec<_>>());
    }
    Ok(v)
}

const EXPAND: &str = "resourceRoleScopes($expand=role,scope) and/or assignmentPolicies";

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/accessPackages", tag = "entitlementManagement",
    params(("$expand" = Option<String>, Query, description = EXPAND, pattern = r"^(resourceRoleScopes(\(\$expand=role,scope\))?|assignmentPolicies)(,(resourceRoleScopes(\(\$expand=role,scope\))?|assignmentPolicies))?$")),
    responses((status = 200, description = "Every access package", body = Collection<schemas::EmAccessPackage>)))]
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(&app, &caller)?;
    let e = expand(&q)?;
    let mut out = Vec::new();
    for p in reader.packages(None).await? {
        out.push(shaped(&reader, &p, &e).await?);
    }
    Ok(Json(odata::values(out)))
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/accessPackages", tag = "entitlementManagement",
    request_body = schemas::EmAccessPackageBody,
    responses((status = 201, description = "Created", body = schemas::EmAccessPackage), (status = 400, description = "InvalidAccessPackage")))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let p = packages::create(&app, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(shape::package(&p))))
}

/// An access package by id, or `filterByCurrentUser(on='allowedRequestor')`: the packages the
/// caller may request (any signed-in principal may ask).
#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}", tag = "entitlementManagement",
    params(("id" = schemas::IdOrAllowedRequestor, Path, description = "an id, or filterByCurrentUser(on='allowedRequestor')"),
           ("$expand" = Option<String>, Query, description = EXPAND, pattern = r"^(resourceRoleScopes(\(\$expand=role,scope\))?|assignmentPolicies)(,(resourceRoleScopes(\(\$expand=role,scope\))?|assignmentPolicies))?$")),
    responses((status = 200, description = "The package, or (filterByCurrentUser) the packages the caller may request", body = schemas::EmAccessPackageOrMine)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    if let Some(on) = filter_by_current_user(&raw)? {
        if on != "allowedRequestor" {
            return Err(ApiError::bad_request(
                "Request_BadRequest",
                "accessPackages/filterByCurrentUser takes on='allowedRequestor'",
            )
            .with_detail("InvalidFunctionArgument", "on"));
        }
        let rows = requestable::allowed_requestor(&app, &caller).await?;
        return Ok(Json(odata::values(
            rows.iter().map(shape::package).collect(),
        )));
    }
    let reader = entitlement::reader(&app, &caller)?;
    let e = expand(&q)?;
    let p = reader.package(id(&raw)?).await?;
    Ok(Json(shaped(&reader, &p, &e).await?))
}

#[utoipa::path(patch, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}", tag = "entitlementManagement",
    params(("id" = String, Path)), request_body = schemas::EmAccessPackagePatch,
    responses((status = 200, description = "Changed", body = schemas::EmAccessPackage), (status = 400, description = "InvalidAccessPackage")))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let p = packages::update(&app, &caller, id(&raw), body).await?;
    Ok(Json(shape::package(&p)))
}

#[utoipa::path(delete, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}", tag = "entitlementManagement",
    params(("id" = String, Path)), responses((status = 204, description = "Deleted with its policies and rules")))]
async fn delete_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    packages::delete(&app, &caller, id(&raw)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/resourceRoleScopes", tag = "entitlementManagement",
    params(("id" = String, Path)),
    responses((status = 200, description = "The package's resource roles at their scopes", body = Collection<schemas::EmResourceRoleScope>)))]
async fn list_role_scopes(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(&app, &caller)?;
    let p = reader.package(id(&raw)?).await?;
    let rows = reader.role_scopes(p.id).await?;
    Ok(Json(odata::values(
        rows.iter().map(shape::role_scope).collect(),
    )))
}

/// `{role: {id} | {originId, originSystem, resource: {id | originId}}, scope: {id} | {originId,
/// originSystem, isRootScope}}`.
#[derive(Deserialize, ToSchema)]
pub struct RoleScopeBody {
    #[schema(value_type = Object)]
    role: Value,
    #[schema(value_type = Option<Object>)]
    scope: Option<Value>,
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).map(String::from)
}

fn guid(v: &Value, pointer: &str, what: &str) -> ApiResult<Option<Uuid>> {
    text(v, pointer)
        .map(|s| odata::parse_id(&s, what))
        .transpose()
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/resourceRoleScopes", tag = "entitlementManagement",
    params(("id" = String, Path)), request_body = RoleScopeBody,
    responses((status = 201, description = "Added; id is {roleId}_{scopeId}", body = schemas::EmResourceRoleScope),
              (status = 400, description = "InvalidResourceRoleScope"), (status = 409, description = "ResourceRoleScopeExists")))]
async fn add_role_scope(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<RoleScopeBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let scope = body.scope.unwrap_or(Value::Null);
    let origin_system = match text(&body.role, "/originSystem") {
        Some(s) => Some(OriginSystem::parse(&s).ok_or_else(|| {
            ApiError::bad_request(
                "InvalidResourceRoleScope",
                "role.originSystem must be AadGroup or DirectoryRole",
            )
            .with_detail("InvalidOriginSystem", "role.originSystem")
        })?),
        None => None,
    };
    let req = RoleScopeRequest {
        role_id: guid(&body.role, "/id", "resource role")?,
        role_origin_id: text(&body.role, "/originId"),
        origin_system,
        resource_id: guid(&body.role, "/resource/id", "resource")?,
        resource_origin_id: text(&body.role, "/resource/originId"),
        scope_id: guid(&scope, "/id", "resource scope")?,
        scope_origin_id: text(&scope, "/originId"),
    };
    let v = packages::add_role_scope(&app, &caller, id(&raw), req).await?;
    Ok((StatusCode::CREATED, Json(shape::role_scope(&v))))
}

#[utoipa::path(delete, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/resourceRoleScopes/{roleScopeId}", tag = "entitlementManagement",
    params(("id" = String, Path), ("roleScopeId" = String, Path, description = "{roleId}_{scopeId}", pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")),
    responses((status = 204, description = "Removed")))]
async fn remove_role_scope(
    State(app): State<AppState>,
    caller: Caller,
    Path((raw, role_scope)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    packages::remove_role_scope(&app, &caller, id(&raw), &role_scope).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/assignmentPolicies", tag = "entitlementManagement",
    params(("id" = String, Path)),
    responses((status = 200, description = "The package's assignment policies", body = Collection<schemas::EmAssignmentPolicy>)))]
async fn policies_of(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(&app, &caller)?;
    let p = reader.package(id(&raw)?).await?;
    let rows = reader.policies(Some(p.id)).await?;
    Ok(Json(odata::values(
        rows.iter().map(shape::policy).collect(),
    )))
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/getApplicablePolicyRequirements", tag = "entitlementManagement",
    params(("id" = String, Path)),
    responses((status = 200, description = "What each policy the caller may request under asks", body = Collection<schemas::EmRequirements>)))]
async fn requirements(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let rows = requestable::requirements(&app, &caller, id(&raw)).await?;
    Ok(Json(odata::values(rows)))
}

/// `{"@odata.id": ".../accessPackages/{id}"}` or `.../groups/{id}`; Eligo also takes `{"id"}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefBody {
    #[schema(schema_with = crate::api::schemas::field::uuid)]
    id: Option<String>,
    /// A URL whose last segment is the other object's id.
    #[serde(rename = "@odata.id")]
    #[schema(
        pattern = r"^https?://[A-Za-z0-9.:-]{1,40}(/[A-Za-z0-9._-]{1,30}){0,5}/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        nullable = false
    )]
    odata_id: Option<String>,
}

impl RefBody {
    fn target(&self, what: &str) -> ApiResult<Uuid> {
        let raw = match (&self.id, &self.odata_id) {
            (Some(id), None) => id.as_str(),
            (None, Some(url)) => url
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default(),
            _ => {
                return Err(ApiError::bad_request(
                    "Request_BadRequest",
                    "give the reference as \"@odata.id\" (or \"id\")",
                )
                .with_detail("MissingField", "@odata.id"));
            }
        };
        odata::parse_id(raw, what)
    }
}

async fn list_packages(
    app: &AppState,
    caller: &Caller,
    raw: &str,
    reverse: bool,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(app, caller)?;
    let rows = reader.incompatible_packages(id(raw)?, reverse).await?;
    Ok(Json(odata::values(
        rows.iter().map(shape::package).collect(),
    )))
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/incompatibleAccessPackages", tag = "entitlementManagement",
    params(("id" = String, Path)),
    responses((status = 200, description = "The packages this one declared incompatible", body = Collection<schemas::EmAccessPackage>)))]
async fn list_incompatible_packages(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    list_packages(&app, &caller, &raw, false).await
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/accessPackagesIncompatibleWith", tag = "entitlementManagement",
    params(("id" = String, Path)),
    responses((status = 200, description = "The packages that declared this one incompatible", body = Collection<schemas::EmAccessPackage>)))]
async fn incompatible_with(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    list_packages(&app, &caller, &raw, true).await
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/incompatibleAccessPackages/$ref", tag = "entitlementManagement",
    params(("id" = String, Path)), request_body = RefBody,
    responses((status = 204, description = "Declared (again: no change)"), (status = 400, description = "SelfIncompatible")))]
async fn add_incompatible_package(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<RefBody>,
) -> ApiResult<StatusCode> {
    let other = body.target("access package").map(Incompatible::Package);
    packages::incompatible(&app, &caller, id(&raw), other, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/incompatibleAccessPackages/{otherId}/$ref", tag = "entitlementManagement",
    params(("id" = String, Path), ("otherId" = String, Path)),
    responses((status = 204, description = "Withdrawn")))]
async fn remove_incompatible_package(
    State(app): State<AppState>,
    caller: Caller,
    Path((raw, other)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let other = odata::parse_id(&other, "access package").map(Incompatible::Package);
    packages::incompatible(&app, &caller, id(&raw), other, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/incompatibleGroups", tag = "entitlementManagement",
    params(("id" = String, Path)),
    responses((status = 200, description = "The groups this package is incompatible with", body = Collection<schemas::EmGroup>)))]
async fn list_incompatible_groups(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(&app, &caller)?;
    let rows = reader.incompatible_groups(id(&raw)?).await?;
    Ok(Json(odata::values(rows.iter().map(shape::group).collect())))
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/incompatibleGroups/$ref", tag = "entitlementManagement",
    params(("id" = String, Path)), request_body = RefBody,
    responses((status = 204, description = "Declared (again: no change)")))]
async fn add_incompatible_group(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<RefBody>,
) -> ApiResult<StatusCode> {
    let other = body.target("group").map(Incompatible::Group);
    packages::incompatible(&app, &caller, id(&raw), other, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/incompatibleGroups/{groupId}/$ref", tag = "entitlementManagement",
    params(("id" = String, Path), ("groupId" = String, Path)),
    responses((status = 204, description = "Withdrawn")))]
async fn remove_incompatible_group(
    State(app): State<AppState>,
    caller: Caller,
    Path((raw, group)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let other = odata::parse_id(&group, "group").map(Incompatible::Group);
    packages::incompatible(&app, &caller, id(&raw), other, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/accessPackages/{id}/incompatibilityReport", tag = "entitlementManagement",
    description = "Eligo: the people who hold this package and, already, an incompatible package or group (granted before the rule), one line per conflict.",
    params(("id" = String, Path)),
    responses((status = 200, description = "Who holds this package and something incompatible", body = Collection<schemas::EmIncompatibility>),
        (status = 403, description = "Not a reader of entitlement management"),
        (status = 404, description = "No such access package")))]
async fn incompatibility_report(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(&app, &caller)?;
    let rows = reader.incompatibility_report(id(&raw)?).await?;
    Ok(Json(odata::values(
        rows.iter()
            .map(|r| {
                json!({
                    "principal": {
                        "id": r.principal,
                        "displayName": r.display_name,
                        "userPrincipalName": r.upn,
                    },
                    "accessPackage": { "id": r.package.0, "displayName": r.package.1 },
                    "conflictsWith": {
                        "kind": r.kind,
                        "id": r.conflicts_with.0,
                        "displayName": r.conflicts_with.1,
                    },
                })
            })
            .collect(),
    )))
}
