//! **Eligo** `/v1/alerts`: security alerts Eligo raised (members added outside Eligo, a
//! downstream connector that keeps failing), newest first; resolve one with PATCH.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Uri;
use eligo_store::AlertRow;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata::{self, EQ};
use crate::api::schemas::{self, Collection};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::service::alerts;

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
    params(("$filter" = Option<String>, Query, description = "status eq 'active' | 'resolved'",
            pattern = r"^status eq '(active|resolved)'$"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "Alerts, newest first", body = Collection<schemas::Alert>)))]
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let alerts = alerts::reader(&app, &caller)?;
    let opts = odata::parse_list_options(&q, &[("status", EQ)])?;
    let status = odata::eq_text(&opts.filter, "status")?;
    let rows = alerts
        .list(status.as_deref(), odata::probe(opts.page))
        .await?;
    let rows: Vec<Value> = rows.iter().map(shape).collect();
    Ok(Json(odata::collection(&uri, opts.page, rows)))
}

#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path)),
    responses((status = 200, description = "The alert", body = schemas::Alert)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let alerts = alerts::reader(&app, &caller)?;
    let id = odata::parse_id(&id, "alert")?;
    Ok(Json(shape(&alerts.get(id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAlert {
    /// `resolved` (or `active` to reopen).
    #[schema(value_type = schemas::AlertStatus)]
    status: String,
}

#[utoipa::path(patch, path = "/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path)),
    request_body = UpdateAlert, responses((status = 200, description = "The alert", body = schemas::Alert)))]
async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateAlert>,
) -> ApiResult<Json<Value>> {
    let row = alerts::update(&app, &caller, odata::parse_id(&id, "alert"), &req.status).await?;
    Ok(Json(shape(&row)))
}
