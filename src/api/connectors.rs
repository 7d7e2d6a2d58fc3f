//! **Eligo** `/v1/connectors` (downstream systems: LDAP/AD, SCIM, webhook) and
//! `/v1/groups/{id}/provisioning` (which downstream group mirrors an Eligo group).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::schemas::{self, Collection, field};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::service::connectors as service;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete_one))
        .routes(routes!(reconcile))
        .routes(routes!(import))
        .routes(routes!(list_mappings, create_mapping))
        .routes(routes!(delete_mapping))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateConnector {
    /// `ldap`, `scim` or `webhook`.
    #[serde(rename = "type")]
    #[schema(value_type = schemas::ConnectorType)]
    kind: String,
    #[schema(schema_with = field::display_name)]
    display_name: String,
    /// The type's settings; secret fields (bindPassword, bearerToken, secret) are write-only.
    #[schema(value_type = Object)]
    settings: Value,
}

#[utoipa::path(post, path = "/v1/connectors", tag = "connectors", request_body = CreateConnector,
    responses((status = 201, description = "Created; secrets are never answered", body = schemas::Connector),
        (status = 400, description = "InvalidConnectorType, InvalidConnectorSettings (a detail per field)")))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateConnector>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let row = service::create(&app, &caller, &req.kind, &req.display_name, req.settings).await?;
    Ok((StatusCode::CREATED, Json(service::shape(&row))))
}

#[utoipa::path(get, path = "/v1/connectors", tag = "connectors",
    responses((status = 200, description = "Every connector with its health", body = Collection<schemas::Connector>)))]
async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let rows = service::list(&app, &caller).await?;
    Ok(Json(odata::values(
        rows.iter().map(service::shape).collect::<Vec<_>>(),
    )))
}

#[utoipa::path(get, path = "/v1/connectors/{id}", tag = "connectors", params(("id" = String, Path)),
    responses((status = 200, description = "The connector with its health", body = schemas::Connector)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "connector")?;
    Ok(Json(service::shape(
        &service::get(&app, &caller, id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateConnector {
    #[schema(schema_with = field::display_name_or_null)]
    display_name: Option<String>,
    /// Merged into the stored settings: a secret not sent is kept; `null` removes a field.
    #[schema(value_type = Option<Object>)]
    settings: Option<Map<String, Value>>,
}

#[utoipa::path(patch, path = "/v1/connectors/{id}", tag = "connectors", params(("id" = String, Path)),
    request_body = UpdateConnector, responses((status = 200, description = "The changed connector", body = schemas::Connector)))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateConnector>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "connector")?;
    let row = service::update(&app, &caller, id, req.display_name.as_deref(), req.settings).await?;
    Ok(Json(service::shape(&row)))
}

#[utoipa::path(delete, path = "/v1/connectors/{id}", tag = "connectors", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 409, description = "ConnectorInUse")))]
async fn delete_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "connector")?;
    service::delete(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/connectors/{id}/reconcile", tag = "connectors", params(("id" = String, Path)),
    responses((status = 200, description = "What reconciling each mapped group found and did", body = Collection<schemas::ReconcileReport>)))]
async fn reconcile(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "connector")?;
    let reports = service::reconcile_now(&app, &caller, id).await?;
    Ok(Json(json!({ "value": reports })))
}

#[utoipa::path(post, path = "/v1/connectors/{id}/import", tag = "connectors",
    params(("id" = String, Path),
        ("full" = Option<bool>, Query, description = "true: read every entry (finds removals); otherwise only what changed since the last pass, unless a full pass is due")),
    responses((status = 200, description = "What the import read and changed", body = schemas::ImportSummary),
        (status = 400, description = "ImportNotConfigured (not an LDAP connector with an import block), InvalidQuery"),
        (status = 409, description = "ImportRunning"),
        (status = 503, description = "DirectoryUnavailable, DirectoryRefusedCredentials, DirectoryMisconfigured: nothing was changed")))]
async fn import(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "connector")?;
    let mut full = false;
    for (key, value) in &q {
        full = match (key.as_str(), value.as_str()) {
            ("full", "true") => true,
            ("full", "false") => false,
            _ => {
                return Err(crate::failure::Failure::bad_request(
                    "InvalidQuery",
                    format!("unsupported query parameter {key}={value}; only full=true|false"),
                )
                .with_detail("InvalidValue", key.clone()));
            }
        };
    }
    let summary = crate::service::ldap_import::import_now(&app, &caller, id, full).await?;
    Ok(Json(json!(summary)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateMapping {
    #[schema(schema_with = field::uuid)]
    connector_id: String,
    /// An LDAP group DN, a SCIM Group id or displayName, or the webhook receiver's group name.
    target: String,
}

#[utoipa::path(post, path = "/v1/groups/{id}/provisioning", tag = "connectors", params(("id" = String, Path)),
    request_body = CreateMapping,
    responses((status = 201, description = "Mapped; a first full push is queued", body = schemas::ProvisioningMapping),
        (status = 409, description = "ProvisioningTargetInUse")))]
async fn create_mapping(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CreateMapping>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let group = odata::parse_id(&id, "group")?;
    let connector = odata::parse_id(&req.connector_id, "connector")?;
    let row = service::map_group(&app, &caller, group, connector, &req.target).await?;
    Ok((StatusCode::CREATED, Json(service::shape_mapping(&row))))
}

#[utoipa::path(get, path = "/v1/groups/{id}/provisioning", tag = "connectors", params(("id" = String, Path)),
    responses((status = 200, description = "Where this group is provisioned", body = Collection<schemas::ProvisioningMapping>)))]
async fn list_mappings(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let group = odata::parse_id(&id, "group")?;
    let rows = service::mappings_of(&app, &caller, group).await?;
    Ok(Json(odata::values(
        rows.iter().map(service::shape_mapping).collect::<Vec<_>>(),
    )))
}

#[utoipa::path(delete, path = "/v1/groups/{id}/provisioning/{mappingId}", tag = "connectors",
    params(("id" = String, Path), ("mappingId" = String, Path)),
    responses((status = 204, description = "No longer provisioned (downstream members are left as they are)")))]
async fn delete_mapping(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, mapping)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let group = odata::parse_id(&id, "group")?;
    let mapping = odata::parse_id(&mapping, "provisioning")?;
    service::unmap_group(&app, &caller, group, mapping).await?;
    Ok(StatusCode::NO_CONTENT)
}
