//! The schedules (current and future) and instances (holding now) of eligibilities and active
//! assignments, with `$filter` on principalId, roleDefinitionId and directoryScopeId. Asked
//! about a principal, they include what it holds through role-assignable groups
//! (`memberType: Group`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Uri;
use eligo_core::schedule::ScheduleKind;
use serde_json::Value;

use crate::api::odata;
use crate::api::pim::{Family, shape};
use crate::api::schemas::Collection;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::pim::views::{self, HoldingQuery};

/// Which collection: eligibilities or active assignments, schedules or instances, of roles or
/// of groups.
#[derive(Clone, Copy)]
pub struct Holdings {
    pub family: Family,
    pub kind: ScheduleKind,
    pub instances: bool,
}

pub async fn list(
    app: AppState,
    caller: Caller,
    uri: Uri,
    q: odata::RawQuery,
    c: Holdings,
) -> ApiResult<Json<Value>> {
    list_for(app, caller, uri, q, c, None).await
}

/// Graph's `filterByCurrentUser(on='principal')`, or one schedule or instance by id.
pub async fn one_or_mine(
    app: AppState,
    caller: Caller,
    uri: Uri,
    q: odata::RawQuery,
    c: Holdings,
    segment: String,
) -> ApiResult<Json<Value>> {
    if let Some(on) = super::filter_by_current_user(&segment)? {
        if on != "principal" {
            return Err(ApiError::bad_request(
                "Request_BadRequest",
                "schedules and instances support filterByCurrentUser(on='principal')",
            ));
        }
        return list_for(app, caller.clone(), uri, q, c, Some(caller.id)).await;
    }
    let id = odata::parse_id(&segment, "schedule")?;
    let now = app.clock.now();
    let all = views::holdings(
        &app,
        &caller,
        c.kind,
        HoldingQuery {
            targets: c.family.targets(),
            current_only: c.instances,
            ..Default::default()
        },
    )
    .await?;
    let found = all
        .iter()
        .find(|h| h.schedule.id == id)
        .ok_or_else(|| ApiError::not_found("schedule"))?;
    Ok(Json(if c.instances {
        shape::instance(found, now)
    } else {
        shape::schedule(found)
    }))
}

async fn list_for(
    app: AppState,
    caller: Caller,
    uri: Uri,
    q: odata::RawQuery,
    c: Holdings,
    mine: Option<uuid::Uuid>,
) -> ApiResult<Json<Value>> {
    let opts = odata::parse_list_options(&q, c.family.schedule_filters())?;
    let f = &opts.filter;
    if mine.is_some() && odata::eq_text(f, "principalId")?.is_some() {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "filterByCurrentUser already names the principal",
        ));
    }
    let (role_definition_id, directory_scope_id) = c.family.target_filter(f)?;
    let query = HoldingQuery {
        targets: c.family.targets(),
        principal_id: match mine {
            Some(me) => Some(me),
            None => odata::eq_text(f, "principalId")?
                .map(|id| odata::parse_id(&id, "principalId"))
                .transpose()?,
        },
        role_definition_id,
        directory_scope_id,
        current_only: c.instances,
    };
    let now = app.clock.now();
    let rows = views::holdings(&app, &caller, c.kind, query).await?;
    let skip = opts.page.skip.max(0) as usize;
    let shaped: Vec<Value> = rows
        .iter()
        .skip(skip)
        .take(opts.page.top as usize + 1)
        .map(|h| {
            if c.instances {
                shape::instance(h, now)
            } else {
                shape::schedule(h)
            }
        })
        .collect();
    Ok(Json(odata::collection(&uri, opts.page, shaped)))
}

/// A schedule or instance collection and its by-id (or `filterByCurrentUser`) form. The call
/// site imports `crate::api::schemas::Collection`: utoipa writes a generic body by its last
/// path segment.
#[macro_export]
macro_rules! pim_collection {
    ($name:ident, $one:ident, $path:literal, $one_path:literal, $family:expr, $kind:expr, $instances:expr, $what:literal,
     $tag:literal, $filter:literal, $mine_filter:literal, $item:ty, $item_or_mine:ty) => {
        #[utoipa::path(get, path = $one_path, tag = $tag,
            params(("id" = $crate::api::schemas::IdOrMine, Path, description = "an id, or filterByCurrentUser(on='principal')"),
                ("$filter" = Option<String>, Query, description = "with filterByCurrentUser: as on the collection, but for principalId", pattern = $mine_filter),
                ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
            responses((status = 200, description = $what, body = $item_or_mine)))]
        async fn $one(
            State(app): State<AppState>,
            caller: Caller,
            uri: Uri,
            Path(segment): Path<String>,
            odata::Pairs(q): odata::Pairs,
        ) -> ApiResult<Json<Value>> {
            let c = Holdings { family: $family, kind: $kind, instances: $instances };
            one_or_mine(app, caller, uri, q, c, segment).await
        }

        #[utoipa::path(get, path = $path, tag = $tag,
            params(("$filter" = Option<String>, Query, description = "principalId, and roleDefinitionId, directoryScopeId (roles) or groupId, accessId (groups) eq '...'; conditions joined by `and`, each field once", pattern = $filter),
                ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
            responses((status = 200, description = $what, body = Collection<$item>)))]
        async fn $name(
            State(app): State<AppState>,
            caller: Caller,
            uri: Uri,
            odata::Pairs(q): odata::Pairs,
        ) -> ApiResult<Json<Value>> {
            let c = Holdings { family: $family, kind: $kind, instances: $instances };
            list(app, caller, uri, q, c).await
        }
    };
}

pim_collection!(
    assignment_schedules,
    assignment_schedules_one,
    "/v1/roleManagement/directory/roleAssignmentSchedules",
    "/v1/roleManagement/directory/roleAssignmentSchedules/{id}",
    Family::Roles,
    ScheduleKind::Active,
    false,
    "Active assignment schedules, current and future",
    "pim",
    r"^((principalId|roleDefinitionId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})')$",
    r"^(roleDefinitionId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})')$",
    crate::api::schemas::RoleSchedule,
    crate::api::schemas::RoleScheduleOrMine
);
pim_collection!(
    assignment_instances,
    assignment_instances_one,
    "/v1/roleManagement/directory/roleAssignmentScheduleInstances",
    "/v1/roleManagement/directory/roleAssignmentScheduleInstances/{id}",
    Family::Roles,
    ScheduleKind::Active,
    true,
    "Active assignments holding now",
    "pim",
    r"^((principalId|roleDefinitionId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})')$",
    r"^(roleDefinitionId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})')$",
    crate::api::schemas::RoleInstance,
    crate::api::schemas::RoleInstanceOrMine
);
pim_collection!(
    eligibility_schedules,
    eligibility_schedules_one,
    "/v1/roleManagement/directory/roleEligibilitySchedules",
    "/v1/roleManagement/directory/roleEligibilitySchedules/{id}",
    Family::Roles,
    ScheduleKind::Eligible,
    false,
    "Eligibility schedules, current and future",
    "pim",
    r"^((principalId|roleDefinitionId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})')$",
    r"^(roleDefinitionId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})')$",
    crate::api::schemas::RoleSchedule,
    crate::api::schemas::RoleScheduleOrMine
);
pim_collection!(
    eligibility_instances,
    eligibility_instances_one,
    "/v1/roleManagement/directory/roleEligibilityScheduleInstances",
    "/v1/roleManagement/directory/roleEligibilityScheduleInstances/{id}",
    Family::Roles,
    ScheduleKind::Eligible,
    true,
    "Eligibilities holding now",
    "pim",
    r"^((principalId|roleDefinitionId) eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})')$",
    r"^(roleDefinitionId eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|directoryScopeId eq '(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,63}){1,6})')$",
    crate::api::schemas::RoleInstance,
    crate::api::schemas::RoleInstanceOrMine
);

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(assignment_schedules))
        .routes(routes!(assignment_schedules_one))
        .routes(routes!(assignment_instances))
        .routes(routes!(assignment_instances_one))
        .routes(routes!(eligibility_schedules))
        .routes(routes!(eligibility_schedules_one))
        .routes(routes!(eligibility_instances))
        .routes(routes!(eligibility_instances_one))
}
