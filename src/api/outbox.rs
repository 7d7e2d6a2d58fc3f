//! **Eligo** `/v1/outbox`: the side effects waiting, delivered and dead-lettered, and a retry
//! for the dead letters.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Uri;
use eligo_store::{Job, JobStatus};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::odata;
use crate::api::schemas::{self, Collection};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::outbox;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(retry))
}

/// A job as answered. Payloads can name mail recipients and members; only what identifies the
/// work is shown (not secrets: jobs never hold any).
fn shape(job: &Job) -> Value {
    json!({
        "id": job.id,
        "kind": job.kind,
        "status": job.status.as_str(),
        "subject": job.subject,
        "attempts": job.attempts,
        "nextAttemptDateTime": matches!(job.status, JobStatus::Pending | JobStatus::Running)
            .then_some(job.next_attempt_at),
        "lastError": job.last_error,
        "createdDateTime": job.created_at,
        "lastModifiedDateTime": job.updated_at,
        "deliveredDateTime": job.delivered_at,
        "claimedBy": job.claimed_by,
        "payload": job.payload,
    })
}

#[utoipa::path(get, path = "/v1/outbox", tag = "outbox",
    params(("status" = Option<schemas::JobStatus>, Query, description = "pending, running, delivered or failed"),
        ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "Jobs, newest first", body = Collection<schemas::Job>)))]
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let jobs = outbox::reader(&app, &caller)?;
    let opts = odata::parse_list_options(&q, &[])?;
    let mut status = None;
    for (key, value) in &q {
        match key.as_str() {
            "status" if status.is_none() => {
                status = Some(JobStatus::parse(value).ok_or_else(|| {
                    ApiError::bad_request(
                        "Request_BadRequest",
                        "status must be pending, running, delivered or failed",
                    )
                    .with_detail("InvalidValue", "status")
                })?);
            }
            "status" => {
                return Err(ApiError::bad_request(
                    "Request_BadRequest",
                    "status is given more than once",
                )
                .with_detail("DuplicateQueryOption", "status"));
            }
            k if k.starts_with('$') => {}
            k => {
                return Err(ApiError::bad_request(
                    "Request_UnsupportedQuery",
                    format!("the query parameter {k} is not supported here"),
                )
                .with_detail("UnsupportedQueryOption", k));
            }
        }
    }
    let rows = jobs.list(status, odata::probe(opts.page)).await?;
    let rows: Vec<Value> = rows.iter().map(shape).collect();
    Ok(Json(odata::collection(&uri, opts.page, rows)))
}

#[utoipa::path(get, path = "/v1/outbox/{id}", tag = "outbox", params(("id" = String, Path)),
    responses((status = 200, description = "One job", body = schemas::Job)))]
async fn get_one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let jobs = outbox::reader(&app, &caller)?;
    let id = odata::parse_id(&id, "job")?;
    Ok(Json(shape(&jobs.get(id).await?)))
}

#[utoipa::path(post, path = "/v1/outbox/{id}/retry", tag = "outbox", params(("id" = String, Path)),
    responses((status = 200, description = "The job, pending again", body = schemas::Job),
        (status = 409, description = "JobNotFailed: only dead letters are retried")))]
async fn retry(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let job = outbox::retry(&app, &caller, odata::parse_id(&id, "job")).await?;
    Ok(Json(shape(&job)))
}
