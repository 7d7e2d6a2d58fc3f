//! **Eligo** `/v1/scim/clients`: inbound SCIM provisioning clients. A Global Administrator
//! creates one (`{displayName}`) and gets its bearer token once; `DELETE` revokes it at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use eligo_store::ScimClientRow;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::schemas::{Collection, field};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::service::scim::clients;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(delete_one))
}

/// A provisioning client; its token is answered only when it is created.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimClient {
    pub id: Uuid,
    pub display_name: String,
    pub created_by: Option<Uuid>,
    pub created_date_time: DateTime<Utc>,
    pub revoked_date_time: Option<DateTime<Utc>>,
}

/// A new provisioning client with its bearer token (shown this once).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedScimClient {
    pub id: Uuid,
    pub display_name: String,
    /// The bearer token for `/scim/v2`; Eligo keeps only its hash.
    pub token: String,
}

fn shape(row: &ScimClientRow) -> Value {
    json!({
        "id": row.id,
        "displayName": row.display_name,
        "createdBy": row.created_by,
        "createdDateTime": row.created_at,
        "revokedDateTime": row.revoked_at,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateScimClient {
    #[schema(schema_with = field::display_name)]
    display_name: String,
}

#[utoipa::path(post, path = "/v1/scim/clients", tag = "scim", request_body = CreateScimClient,
    responses((status = 201, description = "Created; the token is shown this once", body = CreatedScimClient),
        (status = 400, description = "InvalidDisplayName"), (status = 403, description = "Not a Global Administrator")))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateScimClient>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = clients::create(&app, &caller, req.display_name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": created.client.id,
            "displayName": created.client.display_name,
            "token": created.token,
        })),
    ))
}

#[utoipa::path(get, path = "/v1/scim/clients", tag = "scim",
    responses((status = 200, description = "Every provisioning client, revoked ones too", body = Collection<ScimClient>)))]
async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let rows = clients::list(&app, &caller).await?;
    Ok(Json(odata::values(
        rows.iter().map(shape).collect::<Vec<_>>(),
    )))
}

#[utoipa::path(delete, path = "/v1/scim/clients/{id}", tag = "scim", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, description = "No such live client")))]
async fn delete_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    clients::revoke(&app, &caller, odata::parse_id(&id, "SCIM client")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
