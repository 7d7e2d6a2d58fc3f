//! `/v1/identityGovernance/accessReviews` (Graph v1.0): definitions, instances, stages and
//! decisions, with the reviewer's and the administrator's actions. Handlers parse and shape;
//! the use cases in `service::reviews` authorize, decide and write.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use eligo_core::review::{Decision, DecisionItem, Definition, Instance, Party, StageRun};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::pim::filter_by_current_user;
use crate::api::schemas::Collection;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::reviews::decisions::{self, Batch, Which};
use crate::service::reviews::{definitions, instances};

pub const BASE: &str = "/v1/identityGovernance/accessReviews";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_definitions, create_definition))
        .routes(routes!(
            get_definition,
            replace_definition,
            delete_definition
        ))
        .routes(routes!(stop_definition))
        .routes(routes!(list_instances))
        .routes(routes!(get_instance))
        .routes(routes!(stop_instance))
        .routes(routes!(send_reminder))
        .routes(routes!(reset_decisions))
        .routes(routes!(apply_decisions))
        .routes(routes!(accept_recommendations))
        .routes(routes!(batch_record_decisions))
        .routes(routes!(list_decisions))
        .routes(routes!(get_decision, record_decision))
        .routes(routes!(list_stages))
        .routes(routes!(get_stage))
        .routes(routes!(list_stage_decisions))
        .routes(routes!(contacted_reviewers))
        .routes(routes!(my_decisions))
}

/// An access review definition (`accessReviewScheduleDefinition`); `scope`, `reviewers`,
/// `fallbackReviewers`, `settings` and `stageSettings` as Graph writes them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessReviewDefinition {
    pub id: Uuid,
    pub display_name: String,
    /// NotStarted, InProgress, Completed.
    pub status: String,
    #[schema(value_type = Object)]
    pub scope: Value,
    #[schema(value_type = Vec<Object>)]
    pub reviewers: Vec<Value>,
    #[schema(value_type = Object)]
    pub settings: Value,
}

/// What `POST definitions` and `PUT definitions/{id}` take (see governance.md section 2).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessReviewDefinitionBody {
    pub display_name: String,
    #[schema(nullable = false)]
    pub description_for_admins: Option<String>,
    #[schema(nullable = false)]
    pub description_for_reviewers: Option<String>,
    /// `{"@odata.type": "#microsoft.graph.accessReviewQueryScope", "query": ..., "queryType": "MicrosoftGraph"}`.
    #[schema(value_type = Object)]
    pub scope: Value,
    #[schema(value_type = Vec<Object>, nullable = false)]
    pub reviewers: Option<Vec<Value>>,
    #[schema(value_type = Vec<Object>, nullable = false)]
    pub fallback_reviewers: Option<Vec<Value>>,
    #[schema(value_type = Object, nullable = false)]
    pub settings: Option<Value>,
    #[schema(value_type = Vec<Object>, nullable = false)]
    pub stage_settings: Option<Vec<Value>>,
}

/// An instance (`accessReviewInstance`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessReviewInstance {
    pub id: Uuid,
    pub start_date_time: DateTime<Utc>,
    pub end_date_time: DateTime<Utc>,
    /// NotStarted, InProgress, Completed, Applied.
    pub status: String,
}

/// A stage of an instance (`accessReviewStage`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessReviewStage {
    pub id: Uuid,
    pub start_date_time: DateTime<Utc>,
    pub end_date_time: DateTime<Utc>,
    pub status: String,
}

/// A decision (`accessReviewInstanceDecisionItem`), with Eligo's `recommendationReason`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessReviewDecision {
    pub id: Uuid,
    /// Approve, Deny, NotReviewed, DontKnow.
    pub decision: String,
    /// Approve, Deny, NoInfoAvailable.
    pub recommendation: String,
    pub recommendation_reason: String,
    #[schema(value_type = Object)]
    pub principal: Value,
    #[schema(value_type = Object)]
    pub resource: Value,
    pub apply_result: String,
}

fn decision_schema() -> utoipa::openapi::Schema {
    serde_json::from_value(json!({ "type": "string", "enum": ["Approve", "Deny", "DontKnow"] }))
        .expect("a valid schema")
}

/// `PATCH decisions/{id}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionBody {
    /// Approve, Deny or DontKnow (any case).
    #[schema(schema_with = decision_schema)]
    pub decision: String,
    #[schema(nullable = false)]
    pub justification: Option<String>,
}

/// `batchRecordDecisions`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchDecisionBody {
    /// Approve, Deny or DontKnow (any case).
    #[schema(schema_with = decision_schema)]
    pub decision: String,
    #[schema(nullable = false)]
    pub justification: Option<String>,
    #[schema(nullable = false)]
    pub principal_id: Option<Uuid>,
    #[schema(nullable = false)]
    pub resource_id: Option<Uuid>,
}

/// A definition, or (`filterByCurrentUser(on='reviewer')`) those the caller reviews in.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum DefinitionOrMine {
    One(AccessReviewDefinition),
    Mine(Collection<AccessReviewDefinition>),
}

/// An instance, or (`filterByCurrentUser(on='reviewer')`) those the caller reviews in.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum InstanceOrMine {
    One(AccessReviewInstance),
    Mine(Collection<AccessReviewInstance>),
}

/// A decision, or (`filterByCurrentUser(on='reviewer')`) the caller's.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum DecisionOrMine {
    One(AccessReviewDecision),
    Mine(Collection<AccessReviewDecision>),
}

/// The one function `accessReviews/decisions` answers.
#[derive(Serialize, ToSchema)]
#[schema(pattern = r"^filterByCurrentUser\(on='reviewer'\)$")]
pub struct MyReviewsFunction(String);

/// A path segment that is an id, or `filterByCurrentUser(on='reviewer')`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum IdOrMyReviews {
    Id(Uuid),
    Mine(MyReviewsFunction),
}

/// A reviewer contacted in an instance, with how many decisions they have.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactedReviewer {
    pub id: Uuid,
    pub display_name: String,
}

fn identity(p: &Party) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.userIdentity",
        "id": p.id,
        "displayName": p.display_name,
        "userPrincipalName": p.user_principal_name,
    })
}

pub fn definition_json(def: &Definition) -> Value {
    def.to_graph()
}

fn stage_json(def: &Definition, run: &StageRun, index: usize) -> Value {
    let stages = def.stages();
    let settings = stages.get(index);
    json!({
        "id": run.id,
        "stageId": run.stage_id,
        "startDateTime": run.start_date_time,
        "endDateTime": run.end_date_time,
        "status": run.status.as_str(),
        "reviewers": settings.map(|s| s.reviewers.clone()).unwrap_or_default(),
        "fallbackReviewers": settings.map(|s| s.fallback_reviewers.clone()).unwrap_or_default(),
    })
}

pub fn instance_json(def: &Definition, i: &Instance) -> Value {
    let stage = def.stages().into_iter().nth(i.current_stage);
    json!({
        "id": i.id,
        "accessReviewDefinitionId": def.id,
        "displayName": def.display_name,
        "startDateTime": i.start_date_time,
        "endDateTime": i.end_date_time,
        "status": i.status.as_str(),
        "scope": def.scope,
        "reviewers": stage.as_ref().map(|s| s.reviewers.clone()).unwrap_or_default(),
        "fallbackReviewers": stage.as_ref().map(|s| s.fallback_reviewers.clone()).unwrap_or_default(),
        "stages": i.stages.iter().enumerate().map(|(n, r)| stage_json(def, r, n)).collect::<Vec<_>>(),
    })
}

/// A decision with the earlier stages' decisions about the same access (Eligo's
/// `previousDecisions`, where the caller may see them).
fn decision_with_history(d: &DecisionItem, history: Option<&Vec<DecisionItem>>) -> Value {
    let mut v = decision_json(d);
    if let Some(earlier) = history {
        v["previousDecisions"] = json!(
            earlier
                .iter()
                .map(|e| json!({
                    "stage": e.stage + 1,
                    "decision": e.decision.as_str(),
                    "justification": e.justification,
                    "reviewedBy": e.reviewed_by.as_ref().map(identity),
                    "reviewedDateTime": e.reviewed_date_time,
                }))
                .collect::<Vec<_>>()
        );
    }
    v
}

pub fn decision_json(d: &DecisionItem) -> Value {
    json!({
        "id": d.id,
        "accessReviewId": d.instance_id,
        "accessReviewDefinitionId": d.definition_id,
        "decision": d.decision.as_str(),
        "recommendation": d.recommendation.as_str(),
        "recommendationReason": d.recommendation_reason,
        "justification": d.justification,
        "principal": identity(&d.principal),
        "resource": d.resource,
        "reviewedBy": d.reviewed_by.as_ref().map(identity),
        "reviewedDateTime": d.reviewed_date_time,
        "appliedBy": d.applied_by.as_ref().map(identity),
        "appliedDateTime": d.applied_date_time,
        "applyResult": d.apply_result.as_str(),
        "principalLink": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", d.principal.id),
        "resourceLink": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", d.resource.id),
        "lastUsedDateTime": d.last_used_at,
        "stage": d.stage + 1,
    })
}

fn reviewer_only(raw: &str) -> ApiResult<bool> {
    match filter_by_current_user(raw)? {
        None => Ok(false),
        Some(on) if on == "reviewer" => Ok(true),
        Some(_) => Err(ApiError::bad_request(
            "Request_BadRequest",
            "filterByCurrentUser takes on='reviewer' here",
        )
        .with_detail("InvalidFunctionArgument", "on")),
    }
}

fn parse_decision(text: &str) -> ApiResult<Decision> {
    Decision::parse(text).ok_or_else(|| {
        ApiError::bad_request("InvalidDecision", "decision is Approve, Deny or DontKnow")
            .with_detail("InvalidValue", "decision")
    })
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/definitions", tag = "accessReviews",
    responses((status = 200, description = "The definitions the caller may read", body = Collection<AccessReviewDefinition>)))]
async fn list_definitions(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let defs = definitions::list(&app, &caller).await?;
    Ok(Json(odata::values(
        defs.iter().map(definition_json).collect(),
    )))
}

#[utoipa::path(post, path = "/v1/identityGovernance/accessReviews/definitions", tag = "accessReviews",
    request_body = AccessReviewDefinitionBody,
    responses((status = 201, description = "Created (its first instance started when due)", body = AccessReviewDefinition),
              (status = 400, description = "InvalidAccessReview: UnsupportedScope, UnsupportedReviewerQuery, UnsupportedRecurrence, InvalidStages, UnknownResource, UnknownReviewer, ...")))]
async fn create_definition(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let def = definitions::create(&app, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(definition_json(&def))))
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/definitions/{id}", tag = "accessReviews",
    params(("id" = IdOrMyReviews, Path, description = "a definition id, or filterByCurrentUser(on='reviewer')")),
    responses((status = 200, description = "The definition, or the definitions the caller reviews in", body = DefinitionOrMine)))]
async fn get_definition(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    if reviewer_only(&raw)? {
        let defs = definitions::mine(&app, &caller).await?;
        return Ok(Json(odata::values(
            defs.iter().map(definition_json).collect(),
        )));
    }
    let id = odata::parse_id(&raw, "access review definition")?;
    Ok(Json(definition_json(
        &definitions::get(&app, &caller, id).await?,
    )))
}

#[utoipa::path(put, path = "/v1/identityGovernance/accessReviews/definitions/{id}", tag = "accessReviews",
    params(("id" = Uuid, Path)), request_body = AccessReviewDefinitionBody,
    responses((status = 200, description = "Replaced (the scope cannot change)", body = AccessReviewDefinition),
              (status = 400, description = "InvalidAccessReview, ScopeIsFixed")))]
async fn replace_definition(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    Ok(Json(definition_json(
        &definitions::replace(&app, &caller, id, body).await?,
    )))
}

#[utoipa::path(delete, path = "/v1/identityGovernance/accessReviews/definitions/{id}", tag = "accessReviews",
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted with its instances and decisions")))]
async fn delete_definition(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    definitions::delete(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/identityGovernance/accessReviews/definitions/{id}/stop", tag = "accessReviews",
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Stopped: the running instance completed, no other starts")))]
async fn stop_definition(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    definitions::stop(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances", tag = "accessReviews",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "The definition's instances the caller may see", body = Collection<AccessReviewInstance>)))]
async fn list_instances(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Value>> {
    let def = definitions::get(&app, &caller, id).await?;
    let rows = instances::list(&app, &caller, id).await?;
    Ok(Json(odata::values(
        rows.iter().map(|i| instance_json(&def, i)).collect(),
    )))
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}", tag = "accessReviews",
    params(("id" = Uuid, Path), ("instanceId" = IdOrMyReviews, Path, description = "an instance id, or filterByCurrentUser(on='reviewer')")),
    responses((status = 200, description = "The instance, or the instances the caller reviews in", body = InstanceOrMine)))]
async fn get_instance(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, raw)): Path<(Uuid, String)>,
) -> ApiResult<Json<Value>> {
    if reviewer_only(&raw)? {
        let rows = instances::mine(&app, &caller, Some(id)).await?;
        return Ok(Json(odata::values(
            rows.iter().map(|(d, i)| instance_json(d, i)).collect(),
        )));
    }
    let instance_id = odata::parse_id(&raw, "access review instance")?;
    let def = definitions::get(&app, &caller, id).await?;
    let instance = instances::get(&app, &caller, id, instance_id).await?;
    Ok(Json(instance_json(&def, &instance)))
}

macro_rules! instance_action {
    ($name:ident, $path:literal, $doc:literal, $call:expr) => {
        #[utoipa::path(post, path = $path, tag = "accessReviews",
                                    params(("id" = Uuid, Path), ("instanceId" = Uuid, Path)),
                                    responses((status = 204, description = $doc)))]
        async fn $name(
            State(app): State<AppState>,
            caller: Caller,
            Path((id, instance)): Path<(Uuid, Uuid)>,
        ) -> ApiResult<StatusCode> {
            $call(&app, &caller, id, instance).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    };
}

instance_action!(
    stop_instance,
    "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/stop",
    "Completed now, as at its end (409 ReviewNotInProgress)",
    instances::stop
);
instance_action!(
    send_reminder,
    "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/sendReminder",
    "Reviewers with undecided decisions mailed",
    instances::send_reminder
);
instance_action!(
    reset_decisions,
    "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/resetDecisions",
    "Every decision of the running stage is NotReviewed again",
    instances::reset
);
instance_action!(
    apply_decisions,
    "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/applyDecisions",
    "Every final Deny removed its access (409 ReviewNotCompleted before the end)",
    instances::apply
);

#[utoipa::path(post, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/acceptRecommendations", tag = "accessReviews",
    params(("id" = Uuid, Path), ("instanceId" = Uuid, Path)),
    responses((status = 204, description = "The caller's undecided decisions took their recommendation")))]
async fn accept_recommendations(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let batch = Batch {
        accept_recommendations: true,
        ..Default::default()
    };
    decisions::batch(&app, &caller, id, instance, batch).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/batchRecordDecisions", tag = "accessReviews",
    params(("id" = Uuid, Path), ("instanceId" = Uuid, Path)), request_body = BatchDecisionBody,
    responses((status = 204, description = "The caller's matching decisions recorded"),
              (status = 400, description = "InvalidDecision, JustificationRequired")))]
async fn batch_record_decisions(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(Uuid, Uuid)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    let id_of = |k: &str| -> ApiResult<Option<Uuid>> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .map(Some)
                .ok_or_else(|| {
                    ApiError::bad_request("Request_BadRequest", format!("{k} must be an id"))
                        .with_detail("InvalidValue", k)
                }),
        }
    };
    let decision = parse_decision(text("decision").unwrap_or_default())?;
    let batch = Batch {
        decision: Some(decision),
        justification: text("justification").map(str::to_string),
        principal_id: id_of("principalId")?,
        resource_id: id_of("resourceId")?,
        accept_recommendations: false,
    };
    decisions::batch(&app, &caller, id, instance, batch).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/decisions", tag = "accessReviews",
    params(("id" = Uuid, Path), ("instanceId" = Uuid, Path)),
    responses((status = 200, description = "The latest decision about each access (a reviewer sees their own)", body = Collection<AccessReviewDecision>)))]
async fn list_decisions(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<Value>> {
    let rows = decisions::list(&app, &caller, id, instance, Which::Latest, false).await?;
    let histories = decisions::histories(&app, &caller, id, instance).await?;
    Ok(Json(odata::values(
        rows.iter()
            .map(|d| decision_with_history(d, histories.get(&d.id)))
            .collect(),
    )))
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/decisions/{decisionId}", tag = "accessReviews",
    params(("id" = Uuid, Path), ("instanceId" = Uuid, Path), ("decisionId" = IdOrMyReviews, Path, description = "a decision id, or filterByCurrentUser(on='reviewer')")),
    responses((status = 200, description = "The decision, or the caller's decisions", body = DecisionOrMine)))]
async fn get_decision(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, instance, raw)): Path<(Uuid, Uuid, String)>,
) -> ApiResult<Json<Value>> {
    if reviewer_only(&raw)? {
        let rows = decisions::list(&app, &caller, id, instance, Which::Latest, true).await?;
        let histories = decisions::histories(&app, &caller, id, instance).await?;
        return Ok(Json(odata::values(
            rows.iter()
                .map(|d| decision_with_history(d, histories.get(&d.id)))
                .collect(),
        )));
    }
    let decision = odata::parse_id(&raw, "access review decision")?;
    Ok(Json(decision_json(
        &decisions::get(&app, &caller, id, instance, decision).await?,
    )))
}

#[utoipa::path(patch, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/decisions/{decisionId}", tag = "accessReviews",
    params(("id" = Uuid, Path), ("instanceId" = Uuid, Path), ("decisionId" = Uuid, Path)), request_body = DecisionBody,
    responses((status = 204, description = "Recorded"),
              (status = 400, description = "InvalidDecision, JustificationRequired")))]
async fn record_decision(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, instance, decision_id)): Path<(Uuid, Uuid, Uuid)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    let decision = parse_decision(
        body.get("decision")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )?;
    let justification = body
        .get("justification")
        .and_then(Value::as_str)
        .map(str::to_string);
    decisions::record(
        &app,
        &caller,
        id,
        instance,
        decision_id,
        decision,
        justification,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/stages", tag = "accessReviews",
    params(("id" = Uuid, Path), ("instanceId" = Uuid, Path)),
    responses((status = 200, description = "The instance's stages", body = Collection<AccessReviewStage>)))]
async fn list_stages(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<Value>> {
    let def = definitions::get(&app, &caller, id).await?;
    let i = instances::get(&app, &caller, id, instance).await?;
    Ok(Json(odata::values(
        i.stages
            .iter()
            .enumerate()
            .map(|(n, r)| stage_json(&def, r, n))
            .collect(),
    )))
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/stages/{stageId}", tag = "accessReviews",
    params(("id" = Uuid, Path), ("instanceId" = Uuid, Path), ("stageId" = Uuid, Path)),
    responses((status = 200, description = "The stage", body = AccessReviewStage)))]
async fn get_stage(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, instance, stage)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<Json<Value>> {
    let def = definitions::get(&app, &caller, id).await?;
    let i = instances::get(&app, &caller, id, instance).await?;
    let (n, run) = i
        .stages
        .iter()
        .enumerate()
        .find(|(_, r)| r.id == stage)
        .ok_or_else(|| crate::failure::Failure::not_found("access review stage"))?;
    Ok(Json(stage_json(&def, run, n)))
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/stages/{stageId}/decisions", tag = "accessReviews",
    params(("id" = Uuid, Path), ("instanceId" = Uuid, Path), ("stageId" = Uuid, Path)),
    responses((status = 200, description = "The stage's decisions (a reviewer sees their own)", body = Collection<AccessReviewDecision>)))]
async fn list_stage_decisions(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, instance, stage)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<Json<Value>> {
    let rows = decisions::list(&app, &caller, id, instance, Which::Stage(stage), false).await?;
    Ok(Json(odata::values(
        rows.iter().map(decision_json).collect(),
    )))
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/definitions/{id}/instances/{instanceId}/contactedReviewers", tag = "accessReviews",
    params(("id" = Uuid, Path), ("instanceId" = Uuid, Path)),
    responses((status = 200, description = "The reviewers of the running (or last) stage", body = Collection<ContactedReviewer>)))]
async fn contacted_reviewers(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, instance)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<Value>> {
    let rows = instances::contacted_reviewers(&app, &caller, id, instance).await?;
    Ok(Json(odata::values(
        rows.iter()
            .map(|(p, n)| {
                json!({
                    "id": p.id,
                    "displayName": p.display_name,
                    "userPrincipalName": p.user_principal_name,
                    "decisions": n,
                })
            })
            .collect(),
    )))
}

#[utoipa::path(get, path = "/v1/identityGovernance/accessReviews/decisions/{function}", tag = "accessReviews",
    params(("function" = MyReviewsFunction, Path, description = "filterByCurrentUser(on='reviewer')")),
    responses((status = 200, description = "The caller's decisions waiting in every instance in progress", body = Collection<AccessReviewDecision>)))]
async fn my_decisions(
    State(app): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    if !reviewer_only(&raw)? {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "accessReviews/decisions only answers filterByCurrentUser(on='reviewer')",
        ));
    }
    let rows = decisions::mine_everywhere(&app, &caller).await?;
    Ok(Json(odata::values(
        rows.iter().map(decision_json).collect(),
    )))
}
