//! `/v1/identityGovernance/roleManagementAlerts` (Graph beta): PIM alerts, their incidents,
//! definitions and configurations; refresh and remediate. Handlers parse and shape; the use
//! cases in `service::pim_alerts` decide, scan and write.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata::{self, EQ};
use crate::api::schemas::Collection;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::failure::Failure;
use crate::service::pim_alerts::{self, RefreshOf};

pub const BASE: &str = "/v1/identityGovernance/roleManagementAlerts";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_alerts))
        .routes(routes!(get_alert))
        .routes(routes!(list_incidents))
        .routes(routes!(refresh_all))
        .routes(routes!(refresh_one))
        .routes(routes!(remediate))
        .routes(routes!(list_definitions))
        .routes(routes!(get_definition))
        .routes(routes!(list_configurations))
        .routes(routes!(get_configuration, update_configuration))
}

/// An alert of a scope (`unifiedRoleManagementAlert`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PimAlert {
    /// `DirectoryRole_{tenantId}_{definition name}`.
    pub id: String,
    pub alert_definition_id: String,
    pub scope_id: String,
    pub scope_type: String,
    /// Unresolved incidents.
    pub incident_count: i64,
    pub is_active: bool,
    #[schema(required = true)]
    pub last_modified_date_time: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub last_scanned_date_time: Option<DateTime<Utc>>,
}

/// An incident (`unifiedRoleManagementAlertIncident`), with its type's fields (e.g.
/// `assigneeId`, `roleDisplayName`).
#[derive(Serialize, ToSchema)]
pub struct PimAlertIncident {
    /// E.g. `#microsoft.graph.tooManyGlobalAdminsAssignedToTenantAlertIncident`.
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: String,
}

/// A definition (`unifiedRoleManagementAlertDefinition`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PimAlertDefinition {
    pub id: String,
    pub display_name: String,
    pub description: String,
    /// `low`, `medium` or `high`.
    pub severity_level: String,
    pub security_impact: String,
    pub mitigation_steps: String,
    pub how_to_prevent: String,
    pub is_configurable: bool,
    pub is_remediatable: bool,
    pub scope_id: String,
    pub scope_type: String,
}

/// A configuration (`unifiedRoleManagementAlertConfiguration` of the definition's type), with
/// its type's thresholds.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PimAlertConfiguration {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: String,
    pub alert_definition_id: String,
    pub scope_id: String,
    pub scope_type: String,
    pub is_enabled: bool,
}

/// What a configuration PATCH may send: `isEnabled` on all; the thresholds of the
/// configuration's type (any other field is refused, `UnknownField`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PimAlertConfigurationBody {
    #[serde(rename = "@odata.type")]
    #[schema(nullable = false)]
    pub odata_type: Option<String>,
    #[schema(nullable = false)]
    pub is_enabled: Option<bool>,
    #[schema(nullable = false, minimum = 1, maximum = 10000)]
    pub global_admin_count_threshold: Option<i64>,
    #[schema(nullable = false, minimum = 1, maximum = 100)]
    pub percentage_of_global_admins_out_of_roles_threshold: Option<i64>,
    /// ISO 8601, P1D to P365D.
    #[schema(nullable = false)]
    pub duration: Option<String>,
    #[schema(nullable = false, minimum = 2, maximum = 100)]
    pub sequential_activation_counter_threshold: Option<i64>,
    /// ISO 8601, PT1M to P1D.
    #[schema(nullable = false)]
    pub time_interval_between_activations: Option<String>,
}

/// The scope to scan: only `/` and `DirectoryRole` exist (any other is `UnsupportedScope`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PimAlertRefreshBody {
    #[schema(pattern = "^/$")]
    pub scope_id: String,
    #[schema(pattern = "^DirectoryRole$")]
    pub scope_type: String,
}

#[utoipa::path(get, path = "/v1/identityGovernance/roleManagementAlerts/alerts", tag = "roleManagementAlerts",
    params(("$filter" = Option<String>, Query, description = "scopeId eq '/' and scopeType eq 'DirectoryRole' (the one scope)",
            pattern = r"^(scopeId eq '/'( and scopeType eq 'DirectoryRole')?|scopeType eq 'DirectoryRole'( and scopeId eq '/')?)$")),
    responses((status = 200, description = "The alerts of the directory scope", body = Collection<PimAlert>),
              (status = 400, description = "InvalidFilter, UnsupportedScope")))]
async fn list_alerts(
    State(app): State<AppState>,
    caller: Caller,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let reader = pim_alerts::reader(&app, &caller).await?;
    let opts = odata::parse_list_options(&q, &[("scopeId", EQ), ("scopeType", EQ)])?;
    let scope_id = odata::eq_text(&opts.filter, "scopeId")?;
    let scope_type = odata::eq_text(&opts.filter, "scopeType")?;
    if scope_id.as_deref().is_some_and(|s| s != "/")
        || scope_type.as_deref().is_some_and(|s| s != "DirectoryRole")
    {
        return Err(Failure::bad_request(
            "UnsupportedScope",
            "alerts exist only for scopeId '/' and scopeType 'DirectoryRole'",
        ));
    }
    let rows = reader.alerts().await?;
    Ok(Json(odata::values(rows)))
}

#[utoipa::path(get, path = "/v1/identityGovernance/roleManagementAlerts/alerts/{id}", tag = "roleManagementAlerts",
    params(("id" = String, Path)),
    responses((status = 200, description = "The alert", body = PimAlert)))]
async fn get_alert(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = pim_alerts::reader(&app, &caller).await?;
    Ok(Json(reader.alert(&id).await?))
}

#[utoipa::path(get, path = "/v1/identityGovernance/roleManagementAlerts/alerts/{id}/alertIncidents", tag = "roleManagementAlerts",
    params(("id" = String, Path)),
    responses((status = 200, description = "The alert's unresolved incidents", body = Collection<PimAlertIncident>)))]
async fn list_incidents(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = pim_alerts::reader(&app, &caller).await?;
    Ok(Json(odata::values(reader.incidents(&id).await?)))
}

#[utoipa::path(post, path = "/v1/identityGovernance/roleManagementAlerts/alerts/refresh", tag = "roleManagementAlerts",
    request_body = PimAlertRefreshBody,
    responses((status = 202, description = "Scanned"),
              (status = 400, description = "UnsupportedScope, InvalidValue")))]
async fn refresh_all(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let (scope_id, scope_type) = (text("scopeId"), text("scopeType"));
    pim_alerts::refresh(
        &app,
        &caller,
        RefreshOf::Scope {
            scope_id,
            scope_type,
        },
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/v1/identityGovernance/roleManagementAlerts/alerts/{id}/refresh", tag = "roleManagementAlerts",
    params(("id" = String, Path)),
    responses((status = 202, description = "Scanned")))]
async fn refresh_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    pim_alerts::refresh(&app, &caller, RefreshOf::Alert(&id)).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/v1/identityGovernance/roleManagementAlerts/alerts/{id}/alertIncidents/{incidentId}/remediate", tag = "roleManagementAlerts",
    params(("id" = String, Path), ("incidentId" = String, Path)),
    responses((status = 204, description = "Remediated; the incident is resolved"),
              (status = 400, description = "AlertNotRemediable, IncidentResolved")))]
async fn remediate(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, incident)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    pim_alerts::remediate(&app, &caller, &id, &incident).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/identityGovernance/roleManagementAlerts/alertDefinitions", tag = "roleManagementAlerts",
    responses((status = 200, description = "The nine definitions", body = Collection<PimAlertDefinition>)))]
async fn list_definitions(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let reader = pim_alerts::reader(&app, &caller).await?;
    Ok(Json(odata::values(reader.definitions())))
}

#[utoipa::path(get, path = "/v1/identityGovernance/roleManagementAlerts/alertDefinitions/{id}", tag = "roleManagementAlerts",
    params(("id" = String, Path)),
    responses((status = 200, description = "The definition", body = PimAlertDefinition)))]
async fn get_definition(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = pim_alerts::reader(&app, &caller).await?;
    Ok(Json(reader.definition(&id)?))
}

#[utoipa::path(get, path = "/v1/identityGovernance/roleManagementAlerts/alertConfigurations", tag = "roleManagementAlerts",
    responses((status = 200, description = "Every definition's configuration", body = Collection<PimAlertConfiguration>)))]
async fn list_configurations(
    State(app): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let reader = pim_alerts::reader(&app, &caller).await?;
    Ok(Json(odata::values(reader.configurations().await?)))
}

#[utoipa::path(get, path = "/v1/identityGovernance/roleManagementAlerts/alertConfigurations/{id}", tag = "roleManagementAlerts",
    params(("id" = String, Path)),
    responses((status = 200, description = "The configuration", body = PimAlertConfiguration)))]
async fn get_configuration(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = pim_alerts::reader(&app, &caller).await?;
    Ok(Json(reader.configuration(&id).await?))
}

#[utoipa::path(patch, path = "/v1/identityGovernance/roleManagementAlerts/alertConfigurations/{id}", tag = "roleManagementAlerts",
    params(("id" = String, Path)), request_body = PimAlertConfigurationBody,
    responses((status = 200, description = "Changed", body = PimAlertConfiguration),
              (status = 400, description = "InvalidAlertConfiguration")))]
async fn update_configuration(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        pim_alerts::update_configuration(&app, &caller, &id, &body).await?,
    ))
}
