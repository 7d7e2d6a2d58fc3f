//! The schedules (current and future) and instances (holding now) of eligibilities and active
//! assignments, with `$filter` on principalId, roleDefinitionId and directoryScopeId. Asked
//! about a principal, they include what it holds through role-assignable groups
//! (`memberType: Group`).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Uri;
use eligo_core::schedule::ScheduleKind;
use serde_json::Value;

use crate::api::odata::{self, EQ};
use crate::api::pim::shape;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::service::pim::views::{self, HoldingQuery};

const FILTERS: odata::Allowed = &[
    ("principalId", EQ),
    ("roleDefinitionId", EQ),
    ("directoryScopeId", EQ),
];

async fn list(
    app: AppState,
    caller: Caller,
    uri: Uri,
    q: odata::RawQuery,
    kind: ScheduleKind,
    instances: bool,
) -> ApiResult<Json<Value>> {
    let opts = odata::parse_list_options(&q, FILTERS)?;
    let f = &opts.filter;
    let query = HoldingQuery {
        principal_id: odata::eq_text(f, "principalId")?
            .map(|id| odata::parse_id(&id, "principalId"))
            .transpose()?,
        role_definition_id: odata::eq_text(f, "roleDefinitionId")?
            .map(|id| odata::parse_id(&id, "roleDefinitionId"))
            .transpose()?,
        directory_scope_id: odata::eq_text(f, "directoryScopeId")?,
        current_only: instances,
    };
    let now = app.clock.now();
    let rows = views::holdings(&app, &caller, kind, query).await?;
    let skip = opts.page.skip.max(0) as usize;
    let shaped: Vec<Value> = rows
        .iter()
        .skip(skip)
        .take(opts.page.top as usize + 1)
        .map(|h| {
            if instances {
                shape::instance(h, now)
            } else {
                shape::schedule(h)
            }
        })
        .collect();
    Ok(Json(odata::collection(&uri, opts.page, shaped)))
}

macro_rules! collection {
    ($name:ident, $path:literal, $kind:expr, $instances:expr, $what:literal) => {
        #[utoipa::path(get, path = $path, tag = "pim",
            params(("$filter" = Option<String>, Query, description = "principalId, roleDefinitionId, directoryScopeId eq '...'")),
            responses((status = 200, description = $what)))]
        async fn $name(
            State(app): State<AppState>,
            caller: Caller,
            uri: Uri,
            Query(q): Query<odata::RawQuery>,
        ) -> ApiResult<Json<Value>> {
            list(app, caller, uri, q, $kind, $instances).await
        }
    };
}

collection!(
    assignment_schedules,
    "/v1/roleManagement/directory/roleAssignmentSchedules",
    ScheduleKind::Active,
    false,
    "Active assignment schedules, current and future"
);
collection!(
    assignment_instances,
    "/v1/roleManagement/directory/roleAssignmentScheduleInstances",
    ScheduleKind::Active,
    true,
    "Active assignments holding now"
);
collection!(
    eligibility_schedules,
    "/v1/roleManagement/directory/roleEligibilitySchedules",
    ScheduleKind::Eligible,
    false,
    "Eligibility schedules, current and future"
);
collection!(
    eligibility_instances,
    "/v1/roleManagement/directory/roleEligibilityScheduleInstances",
    ScheduleKind::Eligible,
    true,
    "Eligibilities holding now"
);

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(assignment_schedules))
        .routes(routes!(assignment_instances))
        .routes(routes!(eligibility_schedules))
        .routes(routes!(eligibility_instances))
}
