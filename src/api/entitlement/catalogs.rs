//! Catalogs, their resources and resource roles, and `resourceRequests`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use eligo_core::entitlement::resource::OriginSystem;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::shape;
use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::schemas::{self, Collection};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::entitlement::{self, catalogs};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete_one))
        .routes(routes!(resources))
        .routes(routes!(resource_roles))
        .routes(routes!(catalog_packages))
        .routes(routes!(resource_request))
}

fn id(raw: &str) -> ApiResult<uuid::Uuid> {
    odata::parse_id(raw, "catalog")
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/catalogs", tag = "entitlementManagement",
    responses((status = 200, description = "Every catalog", body = Collection<schemas::EmCatalog>)))]
async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let rows = entitlement::reader(&app, &caller)?.catalogs().await?;
    Ok(Json(odata::values(rows)))
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/catalogs", tag = "entitlementManagement",
    request_body = schemas::EmCatalogBody,
    responses((status = 201, description = "Created", body = schemas::EmCatalog), (status = 400, description = "InvalidCatalog")))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let c = catalogs::create(&app, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(json!(c))))
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}", tag = "entitlementManagement",
    params(("id" = String, Path)), responses((status = 200, description = "The catalog", body = schemas::EmCatalog)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(&app, &caller)?;
    Ok(Json(json!(reader.catalog(id(&raw)?).await?)))
}

#[utoipa::path(patch, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}", tag = "entitlementManagement",
    params(("id" = String, Path)), request_body = schemas::EmCatalogPatch,
    responses((status = 200, description = "Changed", body = schemas::EmCatalog), (status = 400, description = "InvalidCatalog")))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let c = catalogs::update(&app, &caller, id(&raw), body).await?;
    Ok(Json(json!(c)))
}

#[utoipa::path(delete, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}", tag = "entitlementManagement",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 409, description = "CatalogHasAccessPackages")))]
async fn delete_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    catalogs::delete(&app, &caller, id(&raw)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}/resources", tag = "entitlementManagement",
    params(("id" = String, Path)), responses((status = 200, description = "The catalog's resources", body = Collection<schemas::EmResource>)))]
async fn resources(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(&app, &caller)?;
    let rows = reader.resources(id(&raw)?).await?;
    Ok(Json(odata::values(
        rows.iter().map(shape::resource).collect(),
    )))
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}/resourceRoles", tag = "entitlementManagement",
    params(("id" = String, Path)), responses((status = 200, description = "The roles of the catalog's resources", body = Collection<schemas::EmResourceRole>)))]
async fn resource_roles(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(&app, &caller)?;
    let rows = reader.resource_roles(id(&raw)?).await?;
    Ok(Json(odata::values(rows.iter().map(shape::role).collect())))
}

#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/catalogs/{id}/accessPackages", tag = "entitlementManagement",
    params(("id" = String, Path)), responses((status = 200, description = "The catalog's access packages", body = Collection<schemas::EmAccessPackage>)))]
async fn catalog_packages(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let reader = entitlement::reader(&app, &caller)?;
    let rows = reader.packages(Some(id(&raw)?)).await?;
    Ok(Json(odata::values(
        rows.iter().map(shape::package).collect(),
    )))
}

/// `{requestType: adminAdd|adminRemove, resource: {originId, originSystem}, catalog: {id}}`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequestBody {
    /// `adminAdd` or `adminRemove` (any case).
    request_type: String,
    #[schema(value_type = Object)]
    resource: Value,
    #[schema(value_type = Object)]
    catalog: Value,
}

#[utoipa::path(post, path = "/v1/identityGovernance/entitlementManagement/resourceRequests", tag = "entitlementManagement",
    request_body = ResourceRequestBody,
    responses((status = 201, description = "Done: the resource is in (or out of) the catalog", body = schemas::EmResourceRequest),
              (status = 400, description = "UnknownCatalog, UnknownResource"), (status = 409, description = "ResourceAlreadyInCatalog, ResourceInUse")))]
async fn resource_request(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<ResourceRequestBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let bad = |code: &'static str, at: &str, msg: &str| {
        ApiError::bad_request("Request_BadRequest", msg.to_string()).with_detail(code, at)
    };
    let add = match req.request_type.to_ascii_lowercase().as_str() {
        "adminadd" => true,
        "adminremove" => false,
        _ => {
            return Err(bad(
                "InvalidRequestType",
                "requestType",
                "requestType must be adminAdd or adminRemove",
            ));
        }
    };
    let origin_system = req
        .resource
        .get("originSystem")
        .and_then(Value::as_str)
        .and_then(OriginSystem::parse)
        .ok_or_else(|| {
            bad(
                "InvalidOriginSystem",
                "resource.originSystem",
                "resource.originSystem must be AadGroup or DirectoryRole",
            )
        })?;
    let origin_id = req
        .resource
        .get("originId")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad(
                "MissingField",
                "resource.originId",
                "resource.originId is required",
            )
        })?
        .to_string();
    let catalog = req
        .catalog
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("MissingField", "catalog.id", "catalog.id is required"))?;
    let catalog = odata::parse_id(catalog, "catalog")?;
    let request = catalogs::ResourceRequest {
        add,
        catalog,
        origin_system,
        origin_id,
    };
    let resource = catalogs::request(&app, &caller, request).await?;
    let now = app.clock.now();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": uuid::Uuid::new_v4(),
            "requestType": if add { "adminAdd" } else { "adminRemove" },
            "state": "delivered",
            "createdDateTime": now,
            "catalog": { "id": catalog },
            "resource": shape::resource(&resource),
        })),
    ))
}
