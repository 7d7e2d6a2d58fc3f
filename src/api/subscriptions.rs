//! **Eligo** `/v1/subscriptions`: webhook subscriptions to notices (the events mails are sent
//! for), each delivered signed with the subscription's secret (see `notify::signing`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::actions;
use eligo_store::SubscriptionRow;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::api::odata;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::notify::webhooks::validate_subscription;

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
    url: String,
    /// Event types (`activation.requested`, `request.approved`, ...) or `*` for all.
    event_types: Vec<String>,
    /// 16 to 256 characters; signs every delivery (HMAC-SHA256); never answered.
    secret: String,
}

#[utoipa::path(post, path = "/v1/subscriptions", tag = "subscriptions", request_body = CreateSubscription,
    responses((status = 201, description = "Subscribed"), (status = 400, description = "InvalidSubscription")))]
async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateSubscription>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    crate::service::authorize::act(&app, &caller, actions::SUBSCRIPTIONS_UPDATE, true)?;
    if let Err(problems) = validate_subscription(&req.url, &req.event_types, &req.secret) {
        let summary: Vec<String> = problems.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        return Err(problems.iter().fold(
            ApiError::bad_request(
                "InvalidSubscription",
                format!("the subscription is invalid: {}", summary.join("; ")),
            ),
            |e, (field, _)| e.with_detail("InvalidValue", field.clone()),
        ));
    }
    let now = app.clock.now();
    let row = SubscriptionRow {
        id: Uuid::new_v4(),
        data: json!({
            "url": req.url,
            "eventTypes": req.event_types,
            "secret": req.secret,
            "createdBy": caller.id,
        }),
        created_at: now,
    };
    let mut tx = app.store.write().await?;
    tx.insert_subscription(&row).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::Policy,
            "Add webhook subscription",
            caller.initiator(),
        )
        .target(row.id, "Subscription", None)
        .detail("url", req.url.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(shape(&row))))
}

#[utoipa::path(get, path = "/v1/subscriptions", tag = "subscriptions",
    responses((status = 200, description = "Every subscription")))]
async fn list(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(actions::SUBSCRIPTIONS_READ)?;
    let rows = app.store.read().await?.list_subscriptions().await?;
    Ok(Json(odata::values(
        rows.iter().map(shape).collect::<Vec<_>>(),
    )))
}

#[utoipa::path(get, path = "/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = String, Path)),
    responses((status = 200, description = "The subscription")))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(actions::SUBSCRIPTIONS_READ)?;
    let id = odata::parse_id(&id, "subscription")?;
    let row = app
        .store
        .read()
        .await?
        .get_subscription(id)
        .await?
        .ok_or_else(|| ApiError::not_found("subscription"))?;
    Ok(Json(shape(&row)))
}

#[utoipa::path(delete, path = "/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = String, Path)),
    responses((status = 204, description = "Unsubscribed")))]
async fn delete_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    crate::service::authorize::act(&app, &caller, actions::SUBSCRIPTIONS_UPDATE, true)?;
    let id = odata::parse_id(&id, "subscription")?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    if !tx.delete_subscription(id).await? {
        return Err(ApiError::not_found("subscription"));
    }
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::Policy,
            "Delete webhook subscription",
            caller.initiator(),
        )
        .target(id, "Subscription", None),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
