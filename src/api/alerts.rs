//! **Eligo** `/v1/alerts`: security alerts Eligo raised (members added outside Eligo, a
//! downstream connector that keeps failing), newest first; resolve one with PATCH.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::actions;
use eligo_store::AlertRow;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata::{self, EQ};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one, update))
}

fn shape(row: &AlertRow) -> Value {
    let mut v = json!({
        "id": row.id,
        "alertType": row.kind,
        "status": row.status,
        "createdDateTime": row.created_at,
    });
    if let (Some(obj), Some(data)) = (v.as_object_mut(), row.data.as_object()) {
        for (k, val) in data {
            obj.entry(k.clone()).or_insert(val.clone());
        }
    }
    v
}

#[utoipa::path(get, path = "/v1/alerts", tag = "alerts",
    params(("$filter" = Option<String>, Query, description = "status eq 'active' | 'resolved'"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "Alerts, newest first")))]
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    Query(q): Query<odata::RawQuery>,
) -> ApiResult<Json<Value>> {
    caller.require(actions::ALERTS_READ)?;
    let opts = odata::parse_list_options(&q, &[("status", EQ)])?;
    let status = odata::eq_text(&opts.filter, "status")?;
    let rows = app
        .store
        .read()
        .await?
        .list_alerts(status.as_deref(), odata::probe(opts.page))
        .await?;
    let rows: Vec<Value> = rows.iter().map(shape).collect();
    Ok(Json(odata::collection(&uri, opts.page, rows)))
}

#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path)),
    responses((status = 200, description = "The alert")))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(actions::ALERTS_READ)?;
    let id = odata::parse_id(&id, "alert")?;
    let row = app
        .store
        .read()
        .await?
        .get_alert(id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))?;
    Ok(Json(shape(&row)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAlert {
    /// `resolved` (or `active` to reopen).
    status: String,
}

#[utoipa::path(patch, path = "/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path)),
    request_body = UpdateAlert, responses((status = 200, description = "The alert")))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateAlert>,
) -> ApiResult<Json<Value>> {
    caller.require(actions::ALERTS_UPDATE)?;
    let id = odata::parse_id(&id, "alert")?;
    if !["active", "resolved"].contains(&req.status.as_str()) {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "status must be active or resolved",
        )
        .with_detail("InvalidValue", "status"));
    }
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut row = tx
        .get_alert(id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))?;
    row.status = req.status.clone();
    if req.status == "resolved" {
        // A resolved alert frees its key, so the next episode raises a new one.
        row.dedupe_key = None;
        if let Some(data) = row.data.as_object_mut() {
            data.insert("resolvedDateTime".into(), json!(now));
            data.insert("resolvedBy".into(), json!(caller.id));
        }
    }
    tx.update_alert(&row).await?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::Policy,
            "Update security alert",
            caller.initiator(),
        )
        .target(id, "Alert", Some(&row.kind))
        .detail("status", req.status.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(shape(&row)))
}
