//! **Eligo** `/v1/subscriptions`: webhook subscriptions to notices (the events mails are sent
//! for), each delivered signed with the subscription's secret (see `notify::signing`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use eligo_store::SubscriptionRow;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::schemas::{self, Collection, field};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::service::subscriptions::{self, NewSubscription};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, delete_one))
}

/// The secret is write-only.
fn shape(row: &SubscriptionRow) -> Value {
    json!({
        "id": row.id,
        "url": row.data["url"],
        "eventTypes": row.data["eventTypes"],
        "secretSet": row.data["secret"].is_string(),
        "createdBy": row.data["createdBy"],
        "createdDateTime": row.created_at,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSubscription {
    /// Where events are POSTed (http or https).
    #[schema(schema_with = field::http_url)]
    url: String,
    /// Event types (`activation.requested`, `request.approved`, ...) or `*` for all.
    #[schema(schema_with = field::event_types)]
    event_types: Vec<String>,
    /// 16 to 256 characters; signs every delivery (HMAC-SHA256); never answered.
    #[schema(min_length = 16, max_length = 256)]
    secret: String,
}

#[utoipa::path(post, path = "/v1/subscriptions", tag = "subscriptions", request_body = CreateSubscription,
    responses((status = 201, description = "Subscribed", body = schemas::Subscription), (status = 400, description = "InvalidSubscription")))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateSubscription>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewSubscription {
        url: req.url,
        event_types: req.event_types,
        secret: req.secret,
    };
    let row = subscriptions::create(&app, &caller, new).await?;
    Ok((StatusCode::CREATED, Json(shape(&row))))
}

#[utoipa::path(get, path = "/v1/subscriptions", tag = "subscriptions",
    responses((status = 200, description = "Every subscription", body = Collection<schemas::Subscription>)))]
async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let rows = subscriptions::reader(&app, &caller)?.list().await?;
    Ok(Json(odata::values(
        rows.iter().map(shape).collect::<Vec<_>>(),
    )))
}

#[utoipa::path(get, path = "/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = String, Path)),
    responses((status = 200, description = "The subscription", body = schemas::Subscription)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let subscriptions = subscriptions::reader(&app, &caller)?;
    let id = odata::parse_id(&id, "subscription")?;
    Ok(Json(shape(&subscriptions.get(id).await?)))
}

#[utoipa::path(delete, path = "/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = String, Path)),
    responses((status = 204, description = "Unsubscribed")))]
async fn delete_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    subscriptions::delete(&app, &caller, odata::parse_id(&id, "subscription")).await?;
    Ok(StatusCode::NO_CONTENT)
}
