//! Custom extensions of a catalog (`catalogs/{id}/customWorkflowExtensions`, Graph's
//! `accessPackageAssignmentRequestWorkflowExtension`) and `assignmentRequests/{id}/resume`,
//! the extension's callback. The creation answers the extension's signing secret once
//! (`signingSecret`, Eligo's): receivers verify each event with it as webhooks do.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::shape;
use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::schemas::Collection;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::service::entitlement::assignments::callouts;
use crate::service::entitlement::extensions;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete_one))
        .routes(routes!(resume))
}

/// A custom extension as answered.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmCustomExtension {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: Uuid,
    pub display_name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// `{@odata.type: #microsoft.graph.logicAppTriggerEndpointConfiguration, url}` or
    /// `{@odata.type: #microsoft.graph.httpRequestEndpoint, targetUrl}`.
    #[schema(value_type = Object)]
    pub endpoint_configuration: Value,
    /// `{@odata.type: #microsoft.graph.customExtensionCallbackConfiguration, timeoutDuration}`.
    #[schema(value_type = Option<Object>, required = true)]
    pub callback_configuration: Option<Value>,
    pub created_date_time: DateTime<Utc>,
    pub last_modified_date_time: DateTime<Utc>,
    /// Only in the creation's answer: the secret events are signed with (hex), shown once.
    #[schema(nullable = false)]
    pub signing_secret: Option<String>,
}

/// What a POST sends (Graph's shape; every field checked by the core; a PATCH sends any of
/// them).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmCustomExtensionBody {
    #[serde(rename = "@odata.type")]
    #[schema(
        nullable = false,
        pattern = r"^#?microsoft\.graph\.accessPackageAssignmentRequestWorkflowExtension$"
    )]
    pub odata_type: Option<String>,
    #[schema(schema_with = crate::api::schemas::field::display_name)]
    pub display_name: String,
    #[schema(schema_with = crate::api::schemas::field::description_or_null)]
    pub description: Option<String>,
    #[schema(schema_with = endpoint_schema)]
    pub endpoint_configuration: Value,
    #[schema(schema_with = callback_schema)]
    pub callback_configuration: Option<Value>,
}

fn json_schema(v: Value) -> utoipa::openapi::Schema {
    serde_json::from_value(v).expect("the schemas here are valid")
}

const URL: &str =
    r"^https?://[a-z][a-z0-9-]{0,40}(\.[a-z][a-z0-9-]{0,40}){1,3}(/[A-Za-z0-9._~-]{0,40}){0,4}$";

/// A Logic App's trigger (`url`) or any HTTP endpoint (`targetUrl`).
fn endpoint_schema() -> utoipa::openapi::Schema {
    json_schema(serde_json::json!({ "oneOf": [
        { "type": "object", "additionalProperties": false, "required": ["@odata.type", "url"],
          "properties": {
            "@odata.type": { "type": "string", "pattern": r"^#?microsoft\.graph\.logicAppTriggerEndpointConfiguration$" },
            "url": { "type": "string", "maxLength": 2048, "pattern": URL },
            "subscriptionId": { "type": "string", "maxLength": 100 },
            "resourceGroupName": { "type": "string", "maxLength": 100 },
            "logicAppWorkflowName": { "type": "string", "maxLength": 100 } } },
        { "type": "object", "additionalProperties": false, "required": ["@odata.type", "targetUrl"],
          "properties": {
            "@odata.type": { "type": "string", "pattern": r"^#?microsoft\.graph\.httpRequestEndpoint$" },
            "targetUrl": { "type": "string", "maxLength": 2048, "pattern": URL } } },
    ] }))
}

/// `{timeoutDuration}` from PT5M to P14D, or null (no callback).
fn callback_schema() -> utoipa::openapi::Schema {
    json_schema(serde_json::json!({ "oneOf": [
        { "type": "null" },
        { "type": "object", "additionalProperties": false, "required": ["timeoutDuration"],
          "properties": {
            "@odata.type": { "type": "string", "pattern": r"^#?microsoft\.graph\.customExtensionCallbackConfiguration$" },
            "timeoutDuration": { "type": "string", "enum": ["PT5M", "PT30M", "PT1H", "PT12H", "P1D", "P14D"] } } },
    ] }))
}

/// `{source, type, data: {@odata.type, stage, customExtensionStageInstanceId,
/// customExtensionStageInstanceDetail, state}}`: only `assignmentRequestCreated` waits.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmResumeBody {
    #[schema(nullable = false, max_length = 200)]
    pub source: Option<String>,
    #[serde(rename = "type")]
    #[schema(
        pattern = r"^microsoft\.graph\.accessPackageCustomExtensionStage\.assignmentRequestCreated$"
    )]
    pub kind: String,
    #[schema(schema_with = resume_data_schema)]
    pub data: Value,
}

fn resume_data_schema() -> utoipa::openapi::Schema {
    json_schema(serde_json::json!({
        "type": "object", "additionalProperties": false,
        "required": ["stage", "customExtensionStageInstanceId"],
        "properties": {
            "@odata.type": { "type": "string", "pattern": r"^#?microsoft\.graph\.accessPackageAssignmentRequestCallbackData$" },
            "stage": { "type": "string", "enum": ["assignmentRequestCreated"] },
            "customExtensionStageInstanceId": { "type": "string", "format": "uuid" },
            "customExtensionStageInstanceDetail": { "type": "string", "maxLength": 1000 },
            "state": { "type": "string", "enum": ["Denied", "Canceled", "denied", "canceled"] } } }))
}

fn catalog_id(raw: &str) -> ApiResult<Uuid> {
    odata::parse_id(raw, "catalog")
}

fn extension_id(raw: &str) -> ApiResult<Uuid> {
    odata::parse_id(raw, "custom extension")
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}/customWorkflowExtensions", tag = "entitlementManagement",
    params(("id" = String, Path)),
    responses((status = 200, description = "The catalog's custom extensions", body = Collection<EmCustomExtension>)))]
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let rows = extensions::list(&app, &caller, catalog_id(&raw)?).await?;
    Ok(Json(odata::values(
        rows.iter().map(|e| e.to_graph()).collect(),
    )))
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}/customWorkflowExtensions", tag = "entitlementManagement",
    params(("id" = String, Path)), request_body = EmCustomExtensionBody,
    responses((status = 201, description = "Created; signingSecret shown this once", body = EmCustomExtension),
              (status = 400, description = "InvalidCustomExtension, OutboundRefused")))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = extensions::create(&app, &caller, catalog_id(&raw)?, body).await?;
    let mut out = created.extension.to_graph();
    out["signingSecret"] = created.signing_secret.into();
    Ok((StatusCode::CREATED, Json(out)))
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}/customWorkflowExtensions/{extensionId}", tag = "entitlementManagement",
    params(("id" = String, Path), ("extensionId" = String, Path)),
    responses((status = 200, description = "The custom extension", body = EmCustomExtension)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path((raw, ext)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let e = extensions::get(&app, &caller, catalog_id(&raw)?, extension_id(&ext)?).await?;
    Ok(Json(e.to_graph()))
}

#[utoipa::path(patch, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}/customWorkflowExtensions/{extensionId}", tag = "entitlementManagement",
    params(("id" = String, Path), ("extensionId" = String, Path)), request_body = EmCustomExtensionBody,
    responses((status = 200, description = "Changed", body = EmCustomExtension),
              (status = 400, description = "InvalidCustomExtension, OutboundRefused")))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path((raw, ext)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let e = extensions::update(&app, &caller, catalog_id(&raw)?, extension_id(&ext)?, body).await?;
    Ok(Json(e.to_graph()))
}

#[utoipa::path(delete, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}/customWorkflowExtensions/{extensionId}", tag = "entitlementManagement",
    params(("id" = String, Path), ("extensionId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 409, description = "CustomExtensionInUse")))]
async fn delete_one(
    State(app): State<AppState>,
    caller: Caller,
    Path((raw, ext)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    extensions::delete(&app, &caller, catalog_id(&raw)?, extension_id(&ext)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/assignmentRequests/{id}/resume", tag = "entitlementManagement",
    params(("id" = Uuid, Path)), request_body = EmResumeBody,
    responses((status = 200, description = "The request, gone on or ended as the callback said", body = crate::api::schemas::EmAssignmentRequest),
              (status = 400, description = "InvalidResume"),
              (status = 403, description = "StageInstanceMismatch; SelfApprovalNotAllowed (the caller is the request's requestor or target); or the caller may not administer entitlement management"),
              (status = 409, description = "RequestNotWaitingForCallback")))]
async fn resume(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&raw, "assignment request")?;
    let r = callouts::resume(&app, &caller, id, body).await?;
    Ok(Json(shape::request_seen_by(&r, caller.id)))
}
