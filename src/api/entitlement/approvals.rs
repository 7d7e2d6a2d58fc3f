//! `accessPackageAssignmentApprovals`: an approval by its request's id (its stages, with
//! `assignedToMe` for the caller), `filterByCurrentUser(on='approver')` (what waits on the
//! caller's decision), and `PATCH .../stages/{stageId}` to approve or deny a stage.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use eligo_core::approval::{ReviewResult, Step};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::pim::filter_by_current_user;
use crate::api::schemas;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::entitlement::assignments::approve::{self, ApprovalView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_approval))
        .routes(routes!(review_stage))
}

fn stage_status(step: &Step, view: &ApprovalView) -> &'static str {
    use eligo_core::approval::StepStatus;
    use eligo_core::entitlement::request::RequestState;
    match step.status {
        StepStatus::NotStarted => "NotStarted",
        StepStatus::InProgress => "InProgress",
        // A stage ended by its timeout holds no decision.
        StepStatus::Completed
            if step.result() == ReviewResult::NotReviewed
                && view.request.state == RequestState::Denied =>
        {
            "Expired"
        }
        StepStatus::Completed => "Completed",
    }
}

/// An approval as Graph shapes it (also an item of `GET /v1/me/approvals`).
pub(crate) fn shape(view: &ApprovalView) -> Value {
    let stages: Vec<Value> = view
        .stages
        .iter()
        .map(|s| {
            let step = &s.step;
            let last = step.reviews.last();
            json!({
                "id": step.id,
                "displayName": format!("Stage {}", view.stages.iter().position(|o| o.step.id == step.id).unwrap_or(0) + 1),
                "status": stage_status(step, view),
                "reviewResult": match step.result() {
                    ReviewResult::NotReviewed => "NotReviewed",
                    ReviewResult::Approve => "Approved",
                    ReviewResult::Deny => "Denied",
                },
                "assignedToMe": s.assigned_to_me,
                "reviewedBy": last.map(|r| json!({ "id": r.reviewed_by })),
                "reviewedDateTime": last.map(|r| r.reviewed_date_time),
                "justification": last.and_then(|r| r.justification.clone()),
                "reviews": step.reviews.iter().map(|r| json!({
                    "reviewedBy": { "id": r.reviewed_by },
                    "reviewResult": match r.review_result {
                        ReviewResult::Approve => "Approved",
                        ReviewResult::Deny => "Denied",
                        ReviewResult::NotReviewed => "NotReviewed",
                    },
                    "reviewedDateTime": r.reviewed_date_time,
                    "justification": r.justification,
                })).collect::<Vec<_>>(),
                "minimumApprovals": s.settings.minimum_approvals,
            })
        })
        .collect();
    json!({ "id": view.id, "stages": stages })
}

/// An approval by its request's id, or `filterByCurrentUser(on='approver')`.
#[utoipa::path(get, path = "/v1/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/{id}", tag = "entitlementManagement",
    params(("id" = schemas::IdOrMyApprovals, Path, description = "a request id, or filterByCurrentUser(on='approver')")),
    responses((status = 200, description = "The approval and its stages, or the approvals waiting on the caller", body = schemas::EmApprovalOrMine)))]
async fn get_approval(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    if let Some(on) = filter_by_current_user(&raw)? {
        if on != "approver" {
            return Err(ApiError::bad_request(
                "Request_BadRequest",
                "accessPackageAssignmentApprovals/filterByCurrentUser takes on='approver'",
            )
            .with_detail("InvalidFunctionArgument", "on"));
        }
        let rows = approve::waiting_on_me(&app, &caller).await?;
        return Ok(Json(odata::values(rows.iter().map(shape).collect())));
    }
    let id = odata::parse_id(&raw, "approval")?;
    Ok(Json(shape(
        &approve::get_approval(&app, &caller, id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageReviewBody {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    /// `Approve` or `Deny` (`Approved`, `Denied` accepted).
    #[schema(schema_with = review_result_schema)]
    review_result: String,
    justification: Option<String>,
}

fn review_result_schema() -> utoipa::openapi::Schema {
    serde_json::from_value(
        json!({ "type": "string", "enum": ["Approve", "Deny", "Approved", "Denied"] }),
    )
    .expect("a valid schema")
}

#[utoipa::path(patch, path = "/v1/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/{id}/stages/{stageId}", tag = "entitlementManagement",
    params(("id" = uuid::Uuid, Path), ("stageId" = uuid::Uuid, Path)), request_body = StageReviewBody,
    responses((status = 204, description = "Recorded"),
              (status = 403, description = "Not an approver of this stage now, the requestor or the target, or no fresh second factor"),
              (status = 409, description = "The request or the stage is decided already")))]
async fn review_stage(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, stage)): Path<(String, String)>,
    JsonBody(body): JsonBody<StageReviewBody>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "approval")?;
    let stage = odata::parse_id(&stage, "approval stage")?;
    let result = match body.review_result.to_ascii_lowercase().as_str() {
        "approve" | "approved" => ReviewResult::Approve,
        "deny" | "denied" => ReviewResult::Deny,
        _ => {
            return Err(ApiError::bad_request(
                "Request_BadRequest",
                "reviewResult is Approve or Deny",
            )
            .with_detail("InvalidValue", "reviewResult"));
        }
    };
    approve::review(&app, &caller, id, stage, result, body.justification).await?;
    Ok(StatusCode::NO_CONTENT)
}
