//! PIM for directory roles: schedule requests (admin and self actions), their approval, the
//! scheduler that starts and ends schedules on time, and the views people read. Each use case
//! loads what it decides on, asks the pure core (`eligo_core::activation`, `assignment`,
//! `approval`) and writes the outcome with its audit entries in one transaction.

pub mod activate;
pub mod admin;
pub mod approve;
pub mod approvers;
pub mod cascade;
pub mod extension;
pub mod new_request;
pub mod refused;
pub mod scheduler;
pub mod submit;
pub mod views;

use chrono::{DateTime, Utc};
use eligo_core::activation::RULE_FAILED;
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::directory::{Group, PrincipalKind};
use eligo_core::invalid::Invalid;
use eligo_core::policy::{RolePolicy, ScopeType};
use eligo_core::request::ScheduleRequest;
use eligo_core::roles::RoleDefinition;
use eligo_core::schedule::{RoleSchedule, ScheduleKind};
use eligo_core::target::{GroupAccess, Target as AccessTarget};
use eligo_store::{ReadAhead, ScheduleQuery, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::failure::{Failure, UseCaseResult};
use crate::service::access::{self, PrincipalSummary};
use crate::service::audit_values::{end_text, time_text};
use crate::service::policies;

/// What a request gives: a directory role, or membership or ownership of a group.
pub enum Governed {
    Role(RoleDefinition),
    Group { group: Group, access: GroupAccess },
}

/// Everything a request is about, loaded and checked: the role or group, the principal and the
/// policy that governs it.
pub struct Target {
    pub governed: Governed,
    /// Who the request is for, and what the directory says of them.
    pub principal_id: Uuid,
    pub principal: PrincipalSummary,
    pub policy: RolePolicy,
}

impl Target {
    /// The role's or the group's id.
    pub fn id(&self) -> Uuid {
        match &self.governed {
            Governed::Role(role) => role.id,
            Governed::Group { group, .. } => group.id,
        }
    }

    pub fn name(&self) -> &str {
        match &self.governed {
            Governed::Role(role) => &role.display_name,
            Governed::Group { group, .. } => &group.display_name,
        }
    }

    pub fn is_group(&self) -> bool {
        matches!(self.governed, Governed::Group { .. })
    }
}

/// Entra's audit names say "role"; for a group access the same event says "group" (e.g.
/// "Add member to group completed (PIM activation)"), under GroupManagement.
pub fn activity_for(is_group: bool, role_activity: &str) -> (Category, String) {
    if is_group {
        (
            Category::GroupManagement,
            role_activity.replace(" role", " group"),
        )
    } else {
        (Category::RoleManagement, role_activity.to_string())
    }
}

/// Loads what `target` names (404 when unknown), the principal (404 when unknown) and the
/// governing policy. A group can hold a role only when role-assignable; a group access goes to
/// users and service principals (nesting a group is a directory change, not a PIM request).
pub async fn load_target(
    tx: &mut dyn Tx,
    target: &AccessTarget,
    principal_id: Uuid,
) -> UseCaseResult<Target> {
    load_target_reading_ahead(tx, target, principal_id, None).await
}

/// `load_target`, asking the store for `ahead` (`Tx::read_ahead`, which reads the principal
/// too): after the role and its settings, which a group-commit batch mostly has already, so that
/// nothing runs between the read-ahead and the reads it answers.
pub async fn load_target_reading_ahead(
    tx: &mut dyn Tx,
    target: &AccessTarget,
    principal_id: Uuid,
    ahead: Option<ReadAhead>,
) -> UseCaseResult<Target> {
    let (governed, policy) = match target {
        AccessTarget::Role { role, .. } => {
            let def = tx
                .get_role_definition(*role)
                .await?
                .ok_or_else(|| Failure::not_found("role definition"))?;
            let policy =
                policies::of_known(tx, ScopeType::DirectoryRole, "/", &role.to_string()).await?;
            (Governed::Role(def), policy)
        }
        AccessTarget::Group { group, access } => {
            let g = tx
                .get_group(*group)
                .await?
                .ok_or_else(|| Failure::not_found("group"))?;
            let policy =
                policies::of_known(tx, ScopeType::Group, &group.to_string(), access.as_str())
                    .await?;
            (
                Governed::Group {
                    group: g,
                    access: *access,
                },
                policy,
            )
        }
    };
    if let Some(ahead) = ahead {
        tx.read_ahead(&ahead).await?;
    }
    let principal = access::principal_summary(tx, principal_id)
        .await?
        .ok_or_else(|| Failure::not_found("principal"))?;
    if principal.kind == PrincipalKind::Group {
        let holds_roles = matches!(governed, Governed::Role(_))
            && tx
                .get_group(principal_id)
                .await?
                .is_some_and(|g| g.is_assignable_to_role);
        if !holds_roles {
            return Err(Failure::bad_request(
                "InvalidPrincipal",
                match governed {
                    Governed::Role(_) => {
                        "only role-assignable groups can hold roles (isAssignableToRole is fixed at creation)"
                    }
                    Governed::Group { .. } => {
                        "group membership and ownership go to users and service principals; nest groups through the group's members instead"
                    }
                },
            ));
        }
    }
    Ok(Target {
        governed,
        principal_id,
        principal,
        policy,
    })
}

/// The refusal of a request that breaks policy rules: one detail per broken rule.
pub fn rule_failure(broken: Vec<Invalid>) -> Failure {
    // A duplicate of a request that waits is its own answer, naming that request.
    if let Some(waiting) = broken
        .iter()
        .find(|b| b.code == eligo_core::activation::PENDING_REQUEST_EXISTS)
    {
        let message = waiting.message.clone();
        return Failure::invalid_all(
            eligo_core::activation::PENDING_REQUEST_EXISTS,
            &message,
            broken,
        );
    }
    Failure::invalid_all(
        RULE_FAILED,
        "The request does not satisfy the role's policy. Correct what is listed and try again.",
        broken,
    )
}

pub fn does_not_exist(what: &str) -> Failure {
    Failure::bad_request(
        "RoleAssignmentDoesNotExist",
        format!("there is no {what} for this principal, role and scope"),
    )
}

/// The principal itself and the role-assignable groups it is a member of now (directly or
/// through an activated membership; role-assignable groups cannot be nested): the holders whose
/// schedules give it roles. From the access index, so an activated membership counts at once.
pub fn holders(app: &App, principal: Uuid) -> Vec<Uuid> {
    let mut out = vec![principal];
    for group in app.access.groups_of(principal, app.clock.now()) {
        if app.access.is_role_assignable(group) {
            out.push(group);
        }
    }
    out
}

/// What `live_schedules` asks the store (before it drops what has ended).
pub fn live_query(kind: Option<ScheduleKind>, holders: Vec<Uuid>, role: Uuid) -> ScheduleQuery {
    ScheduleQuery {
        kind,
        principal_ids: Some(holders),
        role_definition_id: Some(role),
        ..Default::default()
    }
}

/// Schedules of `kind` (both kinds for None) for these holders and role that have not ended by
/// `now` (current or starting later).
pub async fn live_schedules(
    tx: &mut dyn Tx,
    kind: impl Into<Option<ScheduleKind>>,
    holders: Vec<Uuid>,
    role: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<Vec<RoleSchedule>> {
    let mut all = tx
        .list_role_schedules(&live_query(kind.into(), holders, role))
        .await?;
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
    let (category, activity) = activity_for(target.is_group(), activity);
    let kind = if target.is_group() { "Group" } else { "Role" };
    let mut event = AuditEvent::new(now, category, &activity, initiator)
        .target(target.id(), kind, Some(target.name()))
        .target(
            request.principal_id,
            target.principal.kind.type_name(),
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

/// An audit event about a request whose role, group or principal no longer exists.
pub fn bare_request_event(
    now: DateTime<Utc>,
    activity: &str,
    request: &ScheduleRequest,
) -> AuditEvent {
    let target = request.target();
    let (category, activity) = activity_for(target.is_group(), activity);
    let (id, kind) = match target {
        AccessTarget::Group { group, .. } => (group, "Group"),
        AccessTarget::Role { role, .. } => (role, "Role"),
    };
    AuditEvent::new(now, category, &activity, Initiator::system())
        .target(id, kind, None)
        .target(request.principal_id, "Principal", None)
        .target(request.id, "Request", None)
        .detail("action", request.action.as_str())
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
    let (category, activity) = activity_for(schedule.target().is_group(), activity);
    let (id, kind) = match schedule.target() {
        AccessTarget::Group { group, .. } => (group, "Group"),
        AccessTarget::Role { role, .. } => (role, "Role"),
    };
    let mut event = AuditEvent::new(now, category, &activity, initiator)
        .target(id, kind, role_name)
        .target(schedule.principal_id, "Principal", principal_name);
    if let Some(request) = schedule.created_using {
        event = event.target(request, "Request", None);
    }
    // The schedule last: what changed is recorded on it (`.modified`).
    event = event
        .target(schedule.id, "Schedule", None)
        .detail("directoryScopeId", schedule.directory_scope_id.as_str())
        .detail("startDateTime", schedule.start_date_time.to_rfc3339());
    if let Some(end) = schedule.end_date_time {
        event = event.detail("endDateTime", end.to_rfc3339());
    }
    event
}

/// Records on `event` how a schedule changed, as a target of its own: its type, scope, start
/// and end before and after (`None`: it did not exist before, or no longer exists). An entry
/// granting several schedules or ending them calls this once for each.
pub fn schedule_changed(
    event: AuditEvent,
    before: Option<&RoleSchedule>,
    after: Option<&RoleSchedule>,
) -> AuditEvent {
    let Some(id) = after.or(before).map(|s| s.id) else {
        return event;
    };
    let kind = |s: Option<&RoleSchedule>| s.map(schedule_type).unwrap_or_default();
    let scope =
        |s: Option<&RoleSchedule>| s.map(|s| s.directory_scope_id.clone()).unwrap_or_default();
    let start =
        |s: Option<&RoleSchedule>| s.map(|s| time_text(s.start_date_time)).unwrap_or_default();
    let end = |s: Option<&RoleSchedule>| s.map(|s| end_text(s.end_date_time)).unwrap_or_default();
    event
        .target(id, "Schedule", None)
        .modified("Assignment type", kind(before), kind(after))
        .modified("Scope", scope(before), scope(after))
        .modified("Start", start(before), start(after))
        .modified("End", end(before), end(after))
}

/// "Eligible", "Active" (given by an administrator) or "Activated" (by its holder).
pub fn schedule_type(s: &RoleSchedule) -> String {
    match (s.kind, s.assignment_type) {
        (ScheduleKind::Eligible, _) => "Eligible",
        (ScheduleKind::Active, eligo_core::schedule::AssignmentType::Assigned) => "Active",
        (ScheduleKind::Active, eligo_core::schedule::AssignmentType::Activated) => "Activated",
    }
    .to_string()
}

/// A new schedule's id: it sorts by when it was made, so that the schedules a batch writes
/// share their index pages (`eligo_core::record_id`; BENCHMARKS.md, "The writer's own time").
pub(crate) fn new_schedule_id(now: chrono::DateTime<chrono::Utc>) -> uuid::Uuid {
    eligo_core::record_id::record_id(now, *uuid::Uuid::new_v4().as_bytes())
}
