//! PIM for directory roles: schedule requests (admin and self actions), their approval, the
//! scheduler that starts and ends schedules on time, and the views people read. Each use case
//! loads what it decides on, asks the pure core (`eligo_core::activation`, `assignment`,
//! `approval`) and writes the outcome with its audit entries in one transaction.

pub mod activate;
pub mod admin;
pub mod approve;
pub mod scheduler;
pub mod submit;
pub mod views;

use chrono::{DateTime, Utc};
use eligo_core::activation::RULE_FAILED;
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::directory::{PrincipalKind, Relation};
use eligo_core::invalid::Invalid;
use eligo_core::policy::{RolePolicy, ScopeType};
use eligo_core::request::ScheduleRequest;
use eligo_core::roles::RoleDefinition;
use eligo_core::schedule::{RoleSchedule, ScheduleKind};
use eligo_store::{ScheduleQuery, Tx};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::service::access::{self, PrincipalSummary};
use crate::service::policies;

/// Everything a request is about, loaded and checked: the role, the principal and the policy.
pub struct Target {
    pub role: RoleDefinition,
    pub principal: PrincipalSummary,
    pub policy: RolePolicy,
}

/// Loads the role (404 when unknown), the principal (404 when unknown; a group must be
/// role-assignable) and the role's policy at `/`.
pub async fn load_target(
    tx: &mut dyn Tx,
    role_definition_id: Uuid,
    principal_id: Uuid,
) -> ApiResult<Target> {
    let role = tx
        .get_role_definition(role_definition_id)
        .await?
        .ok_or_else(|| ApiError::not_found("role definition"))?;
    let principal = access::principal_summary(tx, principal_id)
        .await?
        .ok_or_else(|| ApiError::not_found("principal"))?;
    if principal.kind == PrincipalKind::Group
        && !tx
            .get_group(principal_id)
            .await?
            .is_some_and(|g| g.is_assignable_to_role)
    {
        return Err(ApiError::bad_request(
            "InvalidPrincipal",
            "only role-assignable groups can hold roles (isAssignableToRole is fixed at creation)",
        ));
    }
    let policy = policies::load(
        tx,
        ScopeType::DirectoryRole,
        "/",
        &role_definition_id.to_string(),
    )
    .await?;
    Ok(Target {
        role,
        principal,
        policy,
    })
}

/// The refusal of a request that breaks policy rules: one detail per broken rule.
pub fn rule_failure(broken: Vec<Invalid>) -> ApiError {
    ApiError::invalid_all(
        RULE_FAILED,
        "the request does not satisfy the role's policy",
        broken,
    )
}

pub fn does_not_exist(what: &str) -> ApiError {
    ApiError::bad_request(
        "RoleAssignmentDoesNotExist",
        format!("there is no {what} for this principal, role and scope"),
    )
}

/// The principal itself and the role-assignable groups it is a direct member of: the holders
/// whose schedules give it roles (role-assignable groups cannot be nested).
pub async fn holders(tx: &mut dyn Tx, principal: Uuid) -> ApiResult<Vec<Uuid>> {
    let mut out = vec![principal];
    for group in tx.groups_of_principal(principal, Relation::Member).await? {
        if tx
            .get_group(group)
            .await?
            .is_some_and(|g| g.is_assignable_to_role)
        {
            out.push(group);
        }
    }
    Ok(out)
}

/// Schedules of `kind` for these holders and role that have not ended by `now` (current or
/// starting later).
pub async fn live_schedules(
    tx: &mut dyn Tx,
    kind: ScheduleKind,
    holders: Vec<Uuid>,
    role: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Vec<RoleSchedule>> {
    let query = ScheduleQuery {
        kind: Some(kind),
        principal_ids: Some(holders),
        role_definition_id: Some(role),
        ..Default::default()
    };
    let mut all = tx.list_role_schedules(&query).await?;
    all.retain(|s| !s.has_ended(now) && s.end_date_time != Some(s.start_date_time));
    Ok(all)
}

/// An audit event about a role request, with the role, the principal and the request as
/// targets and what was asked for as details.
pub fn role_event(
    now: DateTime<Utc>,
    activity: &str,
    initiator: Initiator,
    target: &Target,
    request: &ScheduleRequest,
) -> AuditEvent {
    let mut event = AuditEvent::new(now, Category::RoleManagement, activity, initiator)
        .target(
            target.role.id,
            "Role",
            Some(target.role.display_name.as_str()),
        )
        .target(
            request.principal_id,
            crate::service::directory::kind_label(target.principal.kind),
            Some(target.principal.display_name.as_str()),
        )
        .target(request.id, "Request", None)
        .detail("action", request.action.as_str())
        .detail("directoryScopeId", request.directory_scope_id.as_str());
    if let Some(j) = &request.justification {
        event = event.detail("justification", j.as_str());
    }
    if let Some(t) = &request.ticket_info {
        event = event
            .detail("ticketNumber", t.number.as_str())
            .detail("ticketSystem", t.system.as_str());
    }
    if let Some(granted) = &request.granted_schedule {
        if let Some(start) = granted.start_date_time {
            event = event.detail("startDateTime", start.to_rfc3339());
        }
        event = event.detail(
            "endDateTime",
            granted
                .expiration
                .end_date_time
                .map(|e| e.to_rfc3339())
                .unwrap_or_else(|| "permanent".into()),
        );
    }
    event
}

/// An audit event about a schedule the scheduler (or a cascade) changed.
pub fn schedule_event(
    now: DateTime<Utc>,
    activity: &str,
    initiator: Initiator,
    schedule: &RoleSchedule,
    role_name: Option<&str>,
    principal_name: Option<&str>,
) -> AuditEvent {
    let mut event = AuditEvent::new(now, Category::RoleManagement, activity, initiator)
        .target(schedule.role_definition_id, "Role", role_name)
        .target(schedule.principal_id, "Principal", principal_name)
        .target(schedule.id, "Schedule", None)
        .detail("directoryScopeId", schedule.directory_scope_id.as_str())
        .detail("startDateTime", schedule.start_date_time.to_rfc3339());
    if let Some(end) = schedule.end_date_time {
        event = event.detail("endDateTime", end.to_rfc3339());
    }
    if let Some(request) = schedule.created_using {
        event = event.target(request, "Request", None);
    }
    event
}
