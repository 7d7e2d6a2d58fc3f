//! `/v1/roleManagement/directory/roleDefinitions`: built-in roles (Microsoft's template ids)
//! and custom roles. Role definitions are readable by every signed-in principal: people must
//! see what they could activate.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata::{self, EQ};
use crate::api::schemas::{self, Collection, field};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::directory::{self, NewRole};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolePermissionBody {
    /// `namespace/resource/verb` (the namespace has a dot), `*` allowed in a segment.
    #[schema(schema_with = field::resource_actions)]
    allowed_resource_actions: Vec<String>,
    /// Conditions are not supported: null or left out.
    #[schema(schema_with = field::null_only)]
    condition: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRoleDefinition {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    #[schema(schema_with = field::display_name)]
    display_name: String,
    #[schema(schema_with = field::description_or_null)]
    description: Option<String>,
    #[schema(min_items = 1)]
    role_permissions: Vec<RolePermissionBody>,
    is_enabled: Option<bool>,
    template_id: Option<String>,
    version: Option<String>,
}

fn shaped(role: &eligo_core::roles::RoleDefinition) -> Value {
    let mut v = json!(role);
    v["@odata.type"] = json!("#microsoft.graph.unifiedRoleDefinition");
    v
}

#[utoipa::path(get, path = "/v1/roleManagement/directory/roleDefinitions", tag = "roles",
    params(("$filter" = Option<String>, Query, description = "displayName eq '...'",
        pattern = r"^displayName eq '[^'\u0000-\u001f]{0,64}'$")),
    responses((status = 200, description = "Role definitions", body = Collection<schemas::RoleDefinition>)))]
async fn list(
    State(app): State<AppState>,
    _caller: Caller,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let opts = odata::parse_list_options(&q, &[("displayName", EQ)])?;
    let query = eligo_store::RoleQuery {
        display_name: odata::eq_text(&opts.filter, "displayName")?,
    };
    let rows = app
        .store
        .read()
        .await?
        .list_role_definitions(&query)
        .await?;
    Ok(Json(odata::values(rows.iter().map(shaped).collect())))
}

#[utoipa::path(get, path = "/v1/roleManagement/directory/roleDefinitions/{id}", tag = "roles", params(("id" = String, Path)),
    responses((status = 200, description = "The role definition", body = schemas::RoleDefinition)))]
async fn get_one(
    State(app): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "roleDefinition")?;
    let role = app
        .store
        .read()
        .await?
        .get_role_definition(id)
        .await?
        .ok_or_else(|| ApiError::not_found("role definition"))?;
    Ok(Json(shaped(&role)))
}

#[utoipa::path(post, path = "/v1/roleManagement/directory/roleDefinitions", tag = "roles", request_body = CreateRoleDefinition,
    responses((status = 201, description = "Created", body = schemas::RoleDefinition)))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateRoleDefinition>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if req.role_permissions.iter().any(|p| p.condition.is_some()) {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "conditions on role permissions are not supported",
        )
        .with_detail("UnsupportedCondition", "rolePermissions.condition"));
    }
    let _ = (req.template_id, req.version);
    let new = NewRole {
        display_name: req.display_name,
        description: req.description,
        actions: req
            .role_permissions
            .into_iter()
            .flat_map(|p| p.allowed_resource_actions)
            .collect(),
        is_enabled: req.is_enabled.unwrap_or(true),
    };
    let role = directory::create_role_definition(&app, &caller, new).await?;
    Ok((StatusCode::CREATED, Json(shaped(&role))))
}
