//! Eligo's effective-access check: `GET /v1/access/check` (one question in the query) and
//! `POST /v1/access/check` (up to 1,000 questions in the body, answered in order).

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use eligo_core::scope;
use eligo_core::target::GroupAccess;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata;
use crate::api::schemas;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::access::check::{self, Question};

/// The most questions one batch may ask.
pub const MAX_BATCH: usize = 1000;

/// A full batch (1,000 questions of about 200 bytes) is larger than the default body limit.
const BATCH_BODY_LIMIT: usize = 512 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(check_one, check_batch))
        .routes(routes!(role_exposure))
        .layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT))
}

/// One question as the API spells it: a role (`roleDefinitionId`, `directoryScopeId` default
/// `/`) or a group access (`groupId`, `accessId` member|owner), never both.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuestionBody {
    principal_id: Option<String>,
    role_definition_id: Option<String>,
    directory_scope_id: Option<String>,
    group_id: Option<String>,
    access_id: Option<String>,
}

fn missing(field: &str) -> ApiError {
    ApiError::bad_request("Request_BadRequest", format!("{field} is required"))
        .with_detail("MissingField", field)
}

fn question(q: QuestionBody) -> ApiResult<Question> {
    let principal = odata::parse_id(
        q.principal_id
            .as_deref()
            .ok_or_else(|| missing("principalId"))?,
        "principalId",
    )?;
    match (q.role_definition_id, q.group_id) {
        (Some(role), None) => {
            if q.access_id.is_some() {
                return Err(ApiError::bad_request(
                    "Request_BadRequest",
                    "accessId goes with groupId, not with roleDefinitionId",
                )
                .with_detail("InvalidField", "accessId"));
            }
            let scope = q.directory_scope_id.unwrap_or_else(|| scope::ROOT.into());
            scope::validate(&scope)?;
            Ok(Question::Role {
                principal,
                role: odata::parse_id(&role, "roleDefinitionId")?,
                scope,
            })
        }
        (None, Some(group)) => {
            if q.directory_scope_id.is_some() {
                return Err(ApiError::bad_request(
                    "Request_BadRequest",
                    "directoryScopeId goes with roleDefinitionId, not with groupId",
                )
                .with_detail("InvalidField", "directoryScopeId"));
            }
            let access = q.access_id.as_deref().ok_or_else(|| missing("accessId"))?;
            let access = GroupAccess::parse(access).ok_or_else(|| {
                ApiError::bad_request("Request_BadRequest", "accessId is member or owner")
                    .with_detail("InvalidValue", "accessId")
            })?;
            Ok(Question::Group {
                principal,
                group: odata::parse_id(&group, "groupId")?,
                access,
            })
        }
        _ => Err(ApiError::bad_request(
            "Request_BadRequest",
            "ask about a role (roleDefinitionId) or a group (groupId with accessId), not both",
        )
        .with_detail("InvalidQuestion", "roleDefinitionId")),
    }
}

fn from_query(pairs: odata::RawQuery) -> ApiResult<QuestionBody> {
    let mut q = QuestionBody::default();
    for (key, value) in pairs {
        let slot = match key.as_str() {
            "principalId" => &mut q.principal_id,
            "roleDefinitionId" => &mut q.role_definition_id,
            "directoryScopeId" => &mut q.directory_scope_id,
            "groupId" => &mut q.group_id,
            "accessId" => &mut q.access_id,
            _ => {
                return Err(ApiError::bad_request(
                    "Request_BadRequest",
                    format!("unknown query parameter '{key}'"),
                )
                .with_detail("UnknownQueryParameter", key.as_str()));
            }
        };
        if slot.replace(value).is_some() {
            return Err(ApiError::bad_request(
                "Request_BadRequest",
                format!("the query parameter {key} is given more than once"),
            )
            .with_detail("DuplicateQueryOption", key.as_str()));
        }
    }
    Ok(q)
}

#[utoipa::path(get, path = "/v1/access/check", tag = "access",
    params(("question" = schemas::Question, Query, style = Form, explode,
        description = "The question as query parameters: principalId with roleDefinitionId (and directoryScopeId, default `/`), or principalId with groupId and accessId (member or owner)")),
    responses((status = 200, description = "{allowed, expiresAt?, paths}", body = schemas::AccessAnswer),
              (status = 404, description = "Unknown principal, role or group")))]
async fn check_one(
    State(app): State<AppState>,
    caller: Caller,
    odata::Pairs(pairs): odata::Pairs,
) -> ApiResult<Json<check::Answer>> {
    let q = question(from_query(pairs)?)?;
    Ok(Json(check::check(&app, &caller, &q)?))
}

#[utoipa::path(get, path = "/v1/roleManagement/directory/roleDefinitions/{id}/exposure", tag = "access",
    params(("id" = String, Path)),
    responses((status = 200, description = "Everyone who holds the role now, could activate it, or reaches it through groups, marked standing, active or eligible", body = schemas::ExposureReport),
              (status = 404, description = "Unknown role")))]
async fn role_exposure(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let role = odata::parse_id(&id, "roleDefinitionId")?;
    let report = crate::service::access::exposure::report(&app, &caller, role)?;
    Ok(Json(
        serde_json::to_value(report).expect("reports serialize"),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// At most 1,000.
    #[schema(value_type = Vec<schemas::Question>, max_items = 1000)]
    checks: Vec<QuestionBody>,
}

#[utoipa::path(post, path = "/v1/access/check", tag = "access", request_body = BatchBody,
    responses((status = 200, description = "{value: [one answer per question, in order]}", body = schemas::BatchAnswers),
              (status = 400, description = "A malformed question (nothing answered)")))]
async fn check_batch(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<BatchBody>,
) -> ApiResult<Json<Value>> {
    if body.checks.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            format!("at most {MAX_BATCH} checks per request"),
        )
        .with_detail("TooManyChecks", "checks"));
    }
    let mut questions = Vec::with_capacity(body.checks.len());
    for (i, q) in body.checks.into_iter().enumerate() {
        questions.push(question(q).map_err(|mut e| {
            e.message = format!("checks[{i}]: {}", e.message);
            e
        })?);
    }
    let answers = check::check_many(&app, &caller, &questions)?;
    let value: Vec<Value> = answers
        .into_iter()
        .map(|a| match a {
            Ok(answer) => serde_json::to_value(answer).expect("answers serialize"),
            Err(e) => json!({
                "allowed": false,
                "paths": [],
                "error": {"code": e.code, "message": e.message},
            }),
        })
        .collect();
    Ok(Json(json!({ "value": value })))
}
