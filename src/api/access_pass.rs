//! `/v1/users/{id}/authentication/temporaryAccessPassMethods`: Graph's Temporary Access Pass.
//! The pass is shown once, in the answer to its creation; afterwards only its dates and
//! whether it is usable.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use eligo_core::access_pass::AccessPass;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::schemas::{self, Collection};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::service::access_pass::{self, PassInput};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, delete_one))
}

const ODATA_TYPE: &str = "#microsoft.graph.temporaryAccessPassAuthenticationMethod";

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePass {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    /// From a minute ago to 30 days ahead; default now.
    start_date_time: Option<DateTime<Utc>>,
    /// Default 60.
    #[schema(minimum = 10, maximum = 43200)]
    lifetime_in_minutes: Option<i64>,
    is_usable_once: Option<bool>,
}

fn view(pass: &AccessPass, now: DateTime<Utc>) -> Value {
    let usability = pass.usability(now);
    json!({
        "@odata.type": ODATA_TYPE,
        "id": pass.id,
        "temporaryAccessPass": null,
        "createdDateTime": pass.created_date_time,
        "startDateTime": pass.start_date_time,
        "lifetimeInMinutes": pass.lifetime_in_minutes,
        "isUsableOnce": pass.is_usable_once,
        "isUsable": usability.is_usable(),
        "methodUsabilityReason": usability.as_str(),
    })
}

#[utoipa::path(post, path = "/v1/users/{id}/authentication/temporaryAccessPassMethods", tag = "users",
    params(("id" = String, Path)), request_body = CreatePass,
    responses((status = 201, description = "Created; `temporaryAccessPass` is shown only in this answer", body = schemas::AccessPass),
        (status = 403, description = "Only Global and Privileged Authentication Administrators, with fresh MFA")))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CreatePass>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = odata::parse_id(&id, "user")?;
    let input = PassInput {
        start_date_time: req.start_date_time,
        lifetime_in_minutes: req.lifetime_in_minutes,
        is_usable_once: req.is_usable_once,
    };
    let issued = access_pass::issue(&app, &caller, id, input).await?;
    let mut body = view(&issued.pass, app.clock.now());
    body["temporaryAccessPass"] = json!(issued.secret);
    Ok((StatusCode::CREATED, Json(body)))
}

#[utoipa::path(get, path = "/v1/users/{id}/authentication/temporaryAccessPassMethods", tag = "users",
    params(("id" = String, Path)), responses((status = 200, description = "The user's pass, if any", body = Collection<schemas::AccessPass>)))]
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "user")?;
    let now = app.clock.now();
    let rows: Vec<Value> = access_pass::list(&app, &caller, id)
        .await?
        .iter()
        .map(|p| view(p, now))
        .collect();
    Ok(Json(odata::values(rows)))
}

#[utoipa::path(get, path = "/v1/users/{id}/authentication/temporaryAccessPassMethods/{methodId}", tag = "users",
    params(("id" = String, Path), ("methodId" = String, Path)), responses((status = 200, description = "The pass", body = schemas::AccessPass)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, method)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "user")?;
    let method = odata::parse_id(&method, "temporaryAccessPassAuthenticationMethod")?;
    let now = app.clock.now();
    access_pass::list(&app, &caller, id)
        .await?
        .iter()
        .find(|p| p.id == method)
        .map(|p| Json(view(p, now)))
        .ok_or_else(|| crate::error::ApiError::not_found("temporaryAccessPassAuthenticationMethod"))
}

#[utoipa::path(delete, path = "/v1/users/{id}/authentication/temporaryAccessPassMethods/{methodId}", tag = "users",
    params(("id" = String, Path), ("methodId" = String, Path)), responses((status = 204, description = "Deleted")))]
async fn delete_one(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, method)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "user")?;
    let method = odata::parse_id(&method, "temporaryAccessPassAuthenticationMethod")?;
    access_pass::delete(&app, &caller, id, method).await?;
    Ok(StatusCode::NO_CONTENT)
}
