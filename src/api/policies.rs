//! `/v1/policies/*`: role settings shaped like Graph's `unifiedRoleManagementPolicy`,
//! `...PolicyAssignment` and their rules.

use axum::Json;
use axum::extract::{Path, State};
use eligo_core::policy::{RolePolicy, ScopeType};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::body::JsonBody;
use crate::api::odata::{self, EQ};
use crate::api::schemas::{self, Collection, PolicyId, RuleId};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::policies;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_assignments))
        .routes(routes!(get_policy))
        .routes(routes!(list_rules))
        .routes(routes!(get_rule, update_rule))
}

fn policy_json(p: &RolePolicy, with_rules: bool) -> Value {
    let mut v = json!({
        "id": p.id,
        "displayName": if p.scope_type == ScopeType::Group { "Group" } else { "Directory" },
        "description": "Eligo role settings",
        "isOrganizationDefault": false,
        "scopeId": p.scope_id,
        "scopeType": p.scope_type.as_str(),
        "lastModifiedDateTime": p.last_modified_date_time,
        "lastModifiedBy": p.last_modified_by.map(|id| json!({ "id": id })),
    });
    if with_rules {
        v["rules"] = json!(p.rules.to_graph());
    }
    v
}

fn assignment_json(p: &RolePolicy) -> Value {
    json!({
        "id": format!("{}_{}", p.id, p.role_definition_id),
        "policyId": p.id,
        "scopeId": p.scope_id,
        "scopeType": p.scope_type.as_str(),
        "roleDefinitionId": p.role_definition_id,
    })
}

#[utoipa::path(get, path = "/v1/policies/roleManagementPolicyAssignments", tag = "policies",
    params(("$filter" = String, Query, description = "scopeId eq '/' and scopeType eq 'DirectoryRole' [and roleDefinitionId eq '...']; or scopeId eq '{groupId}' and scopeType eq 'Group' [and roleDefinitionId eq 'member']",
        pattern = r"^(scopeId eq '/' and scopeType eq 'DirectoryRole'( and roleDefinitionId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')?|scopeId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}' and scopeType eq 'Group'( and roleDefinitionId eq '(member|owner)')?)$")),
    responses((status = 200, description = "Which policy governs each role", body = Collection<schemas::PolicyAssignment>),
        (status = 404, description = "The group or role named does not exist")))]
async fn list_assignments(
    State(app): State<AppState>,
    caller: Caller,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let settings = policies::reader(&app, &caller)?;
    let opts = odata::parse_list_options(
        &q,
        &[("scopeId", EQ), ("scopeType", EQ), ("roleDefinitionId", EQ)],
    )?;
    let f = &opts.filter;
    let (Some(scope_id), Some(scope_type)) = (
        odata::eq_text(f, "scopeId")?,
        odata::eq_text(f, "scopeType")?,
    ) else {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "$filter must give scopeId and scopeType",
        )
        .with_detail("InvalidFilter", "$filter"));
    };
    let scope_type = ScopeType::parse(&scope_type).ok_or_else(|| {
        ApiError::bad_request(
            "Request_UnsupportedQuery",
            "scopeType is DirectoryRole or Group",
        )
    })?;
    let governing = settings
        .governing(
            scope_type,
            &scope_id,
            odata::eq_text(f, "roleDefinitionId")?,
        )
        .await?;
    let out: Vec<Value> = governing.iter().map(assignment_json).collect();
    Ok(Json(odata::values(out)))
}

#[utoipa::path(get, path = "/v1/policies/roleManagementPolicies/{id}", tag = "policies",
    params(("id" = PolicyId, Path), ("$expand" = Option<String>, Query, description = "rules", pattern = "^rules$")),
    responses((status = 200, description = "The policy", body = schemas::Policy)))]
async fn get_policy(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let settings = policies::reader(&app, &caller)?;
    let mut expand = false;
    for (k, v) in &q {
        match (k.as_str(), v.as_str()) {
            ("$expand", "rules") if !expand => expand = true,
            (k, _) if k.starts_with('$') => {
                return Err(ApiError::bad_request(
                    "Request_UnsupportedQuery",
                    format!("{k}={v} is not supported here; use $expand=rules"),
                ));
            }
            _ => {}
        }
    }
    let policy = settings.policy(&id).await?;
    Ok(Json(policy_json(&policy, expand)))
}

#[utoipa::path(get, path = "/v1/policies/roleManagementPolicies/{id}/rules", tag = "policies", params(("id" = PolicyId, Path)),
    responses((status = 200, description = "The policy's rules", body = Collection<schemas::PolicyRule>)))]
async fn list_rules(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let policy = policies::reader(&app, &caller)?.policy(&id).await?;
    Ok(Json(odata::values(policy.rules.to_graph())))
}

fn find_rule(policy: &RolePolicy, rule_id: &str) -> ApiResult<Value> {
    policy
        .rules
        .to_graph()
        .into_iter()
        .find(|r| r["id"] == rule_id)
        .ok_or_else(|| ApiError::not_found("rule"))
}

#[utoipa::path(get, path = "/v1/policies/roleManagementPolicies/{id}/rules/{rule_id}", tag = "policies",
    params(("id" = PolicyId, Path), ("rule_id" = RuleId, Path)), responses((status = 200, description = "One rule", body = schemas::PolicyRule)))]
async fn get_rule(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, rule_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let policy = policies::reader(&app, &caller)?.policy(&id).await?;
    Ok(Json(find_rule(&policy, &rule_id)?))
}

#[utoipa::path(patch, path = "/v1/policies/roleManagementPolicies/{id}/rules/{rule_id}", tag = "policies",
    params(("id" = PolicyId, Path), ("rule_id" = RuleId, Path)),
    request_body(content = Object, description = "The rule as Graph writes it (its `@odata.type` and the fields of that type: `isExpirationRequired` and `maximumDuration`; `enabledRules`; `setting`; `isEnabled`; the notification fields); `id`, when given, is the rule's"),
    responses((status = 200, description = "The rule as it now stands", body = schemas::PolicyRule), (status = 400, description = "InvalidPolicyRule")))]
async fn update_rule(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, rule_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    if let Some(given) = body.get("id").and_then(Value::as_str)
        && given != rule_id
    {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "the body's id differs from the rule in the path",
        ));
    }
    let policy = policies::update_rule(&app, &caller, &id, &rule_id, &body).await?;
    Ok(Json(find_rule(&policy, &rule_id)?))
}
