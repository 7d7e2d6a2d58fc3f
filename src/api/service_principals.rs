//! `/v1/servicePrincipals`: workload identities. The client secret is shown once, at creation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::directory_object;
use crate::api::odata;
use crate::api::schemas::{self, Collection, field};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::service::directory;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, delete_one))
        .routes(routes!(add_password))
        .routes(routes!(remove_password))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPassword {
    #[schema(max_length = 256)]
    display_name: Option<String>,
    /// In the future, at most two years ahead (the default).
    end_date_time: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPassword {
    password_credential: Option<NewPassword>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemovePassword {
    #[schema(schema_with = field::uuid)]
    key_id: String,
}

#[utoipa::path(post, path = "/v1/servicePrincipals/{id}/addPassword", tag = "servicePrincipals",
    params(("id" = String, Path)), request_body = AddPassword,
    responses((status = 200, description = "The passwordCredential; `secretText` is shown only in this answer", body = schemas::PasswordCredential)))]
async fn add_password(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<AddPassword>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "servicePrincipal")?;
    let new = req.password_credential.unwrap_or(NewPassword {
        display_name: None,
        end_date_time: None,
    });
    let added =
        crate::service::sp_passwords::add(&app, &caller, id, new.display_name, new.end_date_time)
            .await?;
    let p = &added.password;
    Ok(Json(json!({
        "@odata.type": "#microsoft.graph.passwordCredential",
        "keyId": p.key_id,
        "displayName": p.display_name,
        "hint": p.hint,
        "secretText": added.secret,
        "startDateTime": p.start_date_time,
        "endDateTime": p.end_date_time,
    })))
}

#[utoipa::path(post, path = "/v1/servicePrincipals/{id}/removePassword", tag = "servicePrincipals",
    params(("id" = String, Path)), request_body = RemovePassword,
    responses((status = 204, description = "Removed; the service principal's sessions end")))]
async fn remove_password(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<RemovePassword>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "servicePrincipal")?;
    let key = odata::parse_id(&req.key_id, "password credential")?;
    crate::service::sp_passwords::remove(&app, &caller, id, key).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateServicePrincipal {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    #[schema(schema_with = field::display_name)]
    display_name: String,
}

#[utoipa::path(post, path = "/v1/servicePrincipals", tag = "servicePrincipals", request_body = CreateServicePrincipal,
    responses((status = 201, description = "Created; `secret` is shown only in this answer", body = schemas::NewServicePrincipal)))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateServicePrincipal>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (sp, secret) = directory::create_service_principal(&app, &caller, req.display_name).await?;
    let mut body = directory_object::service_principal(&sp);
    body["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(body)))
}

#[utoipa::path(get, path = "/v1/servicePrincipals", tag = "servicePrincipals",
    params(("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "A page of service principals", body = Collection<schemas::ServicePrincipal>)))]
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let principals = directory::service_principal_reader(&app, &caller)?;
    let opts = odata::parse_list_options(&q, &[])?;
    let rows = principals.list(odata::probe(opts.page)).await?;
    let rows: Vec<Value> = rows
        .iter()
        .map(directory_object::service_principal)
        .collect();
    Ok(Json(odata::collection(&uri, opts.page, rows)))
}

#[utoipa::path(get, path = "/v1/servicePrincipals/{id}", tag = "servicePrincipals", params(("id" = String, Path)),
    responses((status = 200, description = "The service principal", body = schemas::ServicePrincipal)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "servicePrincipal")?;
    let sp = directory::get_service_principal(&app, &caller, id).await?;
    Ok(Json(directory_object::service_principal(&sp)))
}

#[utoipa::path(delete, path = "/v1/servicePrincipals/{id}", tag = "servicePrincipals", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "servicePrincipal")?;
    directory::delete_service_principal(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
