//! What people read: schedules (current and future), instances (what holds right now — ended
//! access never shows, whether or not the scheduler has run), requests, and "my roles".
//! Without `roleAssignments/read` a principal sees only its own.

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::authz::actions;
use eligo_core::request::ScheduleRequest;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::{Page, RequestQuery, ScheduleQuery, Targets, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

/// A schedule as seen from one principal: held directly, or through a role-assignable group.
#[derive(Debug, Clone)]
pub struct Holding {
    pub schedule: RoleSchedule,
    /// Who holds it for this view (the principal asked about, or the schedule's own holder).
    pub principal_id: Uuid,
    /// The group it comes through, with its display name.
    pub via_group: Option<(Uuid, String)>,
}

impl Holding {
    pub fn member_type(&self) -> &'static str {
        if self.via_group.is_some() {
            "Group"
        } else {
            "Direct"
        }
    }

    /// Ends soon enough that its holder should hear about it: within 14 days for eligibilities
    /// and assignments, within 10 minutes for activations.
    pub fn expiring_soon(&self, now: DateTime<Utc>) -> bool {
        let window = match (self.schedule.kind, self.schedule.assignment_type) {
            (ScheduleKind::Active, AssignmentType::Activated) => TimeDelta::minutes(10),
            _ => TimeDelta::days(14),
        };
        self.schedule
            .end_date_time
            .is_some_and(|end| now < end && end - now <= window)
    }
}

#[derive(Debug, Clone, Default)]
pub struct HoldingQuery {
    /// Roles or group accesses.
    pub targets: Targets,
    pub principal_id: Option<Uuid>,
    pub role_definition_id: Option<Uuid>,
    pub directory_scope_id: Option<String>,
    /// Instances: only what holds at `now`. Schedules: also what starts later.
    pub current_only: bool,
}

/// May the caller read everyone's role assignments (a role's page: its assignments and who can
/// reach it)? The read decision for the portal's role pages; not audited, like every read.
pub fn may_read_assignments(app: &App, caller: &Caller) -> UseCaseResult<()> {
    Ok(authorize::act(
        app,
        caller,
        actions::ROLE_ASSIGNMENTS_READ,
        false,
    )?)
}

/// Who the caller may ask about: anyone with `roleAssignments/read`, else only itself (and no
/// principal filter means "mine").
fn visible_principal(caller: &Caller, asked: Option<Uuid>) -> UseCaseResult<Option<Uuid>> {
    if crate::service::authorize::permits(caller, actions::ROLE_ASSIGNMENTS_READ).is_ok() {
        return Ok(asked);
    }
    match asked {
        None => Ok(Some(caller.id)),
        Some(id) if id == caller.id => Ok(Some(id)),
        Some(_) => Err(Failure::forbidden(
            "you may read only your own role schedules (roleAssignments/read is needed for others')",
        )),
    }
}

pub async fn holdings(
    app: &App,
    caller: &Caller,
    kind: ScheduleKind,
    query: HoldingQuery,
) -> UseCaseResult<Vec<Holding>> {
    let now = app.clock.now();
    let principal = visible_principal(caller, query.principal_id)?;
    let mut tx = app.store.read().await?;
    let holders = principal.map(|p| super::holders(app, p));
    let mut schedules = tx
        .list_role_schedules(&ScheduleQuery {
            kind: Some(kind),
            principal_ids: holders,
            role_definition_id: query.role_definition_id,
            directory_scope_id: query.directory_scope_id.clone(),
            targets: query.targets,
        })
        .await?;
    schedules.retain(|s| {
        let live = !s.has_ended(now) && s.end_date_time != Some(s.start_date_time);
        live && (!query.current_only || s.is_current(now))
    });
    let mut out = Vec::with_capacity(schedules.len());
    for schedule in schedules {
        let via_group = match principal {
            Some(p) if p != schedule.principal_id => {
                let name = tx
                    .get_group(schedule.principal_id)
                    .await?
                    .map(|g| g.display_name)
                    .unwrap_or_default();
                Some((schedule.principal_id, name))
            }
            _ => None,
        };
        out.push(Holding {
            principal_id: principal.unwrap_or(schedule.principal_id),
            schedule,
            via_group,
        });
    }
    Ok(out)
}

pub async fn requests(
    app: &App,
    caller: &Caller,
    mut query: RequestQuery,
    page: Page,
) -> UseCaseResult<Vec<ScheduleRequest>> {
    if !crate::service::authorize::may(app, caller, actions::ROLE_ASSIGNMENTS_READ) {
        match query.principal_id {
            None => query.principal_id = Some(caller.id),
            Some(id) if id == caller.id => {}
            Some(_) => {
                return Err(Failure::forbidden(
                    "you may read only your own requests (roleAssignments/read is needed for others')",
                ));
            }
        }
    }
    let mut tx = app.store.read().await?;
    Ok(tx.list_schedule_requests(&query, page).await?)
}

pub async fn request(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<ScheduleRequest> {
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let request = tx
        .get_schedule_request(id)
        .await?
        .ok_or_else(|| Failure::not_found("request"))?;
    if !super::approve::may_read(&mut *tx, &app.access, caller, &request, now).await? {
        return Err(Failure::not_found("request"));
    }
    Ok(request)
}

/// Role names for display, looked up once per role.
pub async fn role_name(tx: &mut dyn Tx, id: Uuid) -> UseCaseResult<String> {
    Ok(tx
        .get_role_definition(id)
        .await?
        .map(|r| r.display_name)
        .unwrap_or_default())
}
