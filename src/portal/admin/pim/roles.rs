//! The roles (`/portal/admin/roles`) and one role (`/portal/admin/roles/{id}`): its
//! assignments, adding and removing them as `adminAssign`/`adminRemove` requests, and its
//! exposure (who can hold it, and how).

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::assignment::{extendable, renewable};
use eligo_core::directory::PrincipalKind;
use eligo_core::policy::{Enablement, RolePolicy, ScopeType};
use eligo_core::request::{RequestAction, RequestKind, RequestStatus};
use eligo_core::roles::{RoleDefinition, ids};
use eligo_core::schedule::{AssignmentType, ScheduleKind};
use eligo_core::target::{Target as AccessTarget, is_reserved_role_id};
use eligo_store::{Page, RequestQuery, ScheduleQuery, Targets};
use serde::Deserialize;
use uuid::Uuid;

use super::change::{self, ExtensionRow};
use super::window_form::{self, WindowFields, WindowValues};
use super::{ShownTime, duration_words, expiry_words};
use crate::app::{App, AppState};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, redirect_with, render, render_status, worded,
};
use crate::portal::picker;
use crate::portal::session::Viewer;
use crate::service::access::exposure::{self, Exposure};
use crate::service::directory::{self, Kinds};
use crate::service::pim::submit::{self, NewRequest};
use crate::service::pim::views;
use crate::service::policies;

struct RoleRow {
    id: String,
    name: String,
    built_in: bool,
    eligible: usize,
    active: usize,
    /// Why the role's policy is weak, in words (empty: not weak).
    weak: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "portal/admin/pim/roles.html")]
struct RolesPage {
    chrome: Chrome,
    rows: Vec<RoleRow>,
    show_counts: bool,
    show_policy: bool,
}

struct AssignmentRow {
    principal_id: String,
    name: String,
    principal_type: &'static str,
    /// `eligible` or `active` (the form value of Remove).
    kind: &'static str,
    kind_label: &'static str,
    scope: String,
    start: ShownTime,
    /// None: permanent.
    end: Option<ShownTime>,
    activated: bool,
    /// Starts later.
    future: bool,
    /// "ends in 12 days": for an assignment that ends within the extension window.
    ends_in: Option<String>,
    /// Edit (an assignment an administrator gave; activations are their holders').
    edit_link: Option<String>,
    /// Extend: it ends within 14 days, or its holder asked.
    extend_link: Option<String>,
    /// Its holder asked for an extension that waits.
    asked: bool,
}

/// An assignment that ended recently enough to be renewed.
struct ExpiredRow {
    name: String,
    principal_type: &'static str,
    kind_label: &'static str,
    scope: String,
    start: ShownTime,
    end: ShownTime,
    renew_link: Option<String>,
}

struct ExposureRow {
    name: String,
    principal_type: &'static str,
    mark: &'static str,
    badge: &'static str,
    how: String,
    scope: String,
    end: Option<ShownTime>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AssignForm {
    principal: Option<String>,
    kind: Option<String>,
    scope: Option<String>,
    #[serde(flatten)]
    window: WindowFields,
}

/// What the Add assignment form shows (typed values kept after a refusal); the shared fields
/// are the page's `window`.
struct AssignValues {
    principal: String,
    kind: String,
    scope: String,
}

impl AssignValues {
    fn from_form(f: &AssignForm) -> Self {
        Self {
            principal: f.principal.clone().unwrap_or_default(),
            kind: f.kind.clone().unwrap_or_else(|| "eligible".into()),
            scope: f
                .scope
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "/".into()),
        }
    }
}

#[derive(Template)]
#[template(path = "portal/admin/pim/role.html")]
struct RolePage {
    chrome: Chrome,
    id: String,
    name: String,
    description: String,
    built_in: bool,
    permissions: Vec<String>,
    policy_facts: Vec<(&'static str, String)>,
    may_update: bool,
    may_settings: bool,
    rows: Vec<AssignmentRow>,
    expired: Vec<ExpiredRow>,
    extensions: Vec<ExtensionRow>,
    form: AssignValues,
    window: WindowValues,
    with_start: bool,
    errors: FieldErrors,
    exposure: Vec<ExposureRow>,
    exposure_summary: String,
}

/// What makes a policy weak: activation without MFA, and Global Administrator without approval.
fn weaknesses(role: Uuid, policy: &RolePolicy) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !policy
        .rules
        .enablement_end_user_assignment
        .contains(&Enablement::MultiFactorAuthentication)
    {
        out.push("No MFA on activation");
    }
    if role.to_string() == ids::GLOBAL_ADMINISTRATOR
        && !policy
            .rules
            .approval_end_user_assignment
            .is_approval_required
    {
        out.push("No approval for Global Administrator");
    }
    out
}

pub async fn list(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let caller = &viewer.caller;
    directory::may_read_role_definitions(&app, caller).map_err(worded(
        "reading role definitions needs roleDefinitions/read",
    ))?;
    let show_counts = viewer.can.read_role_assignments;
    let show_policy = viewer.can.read_policies;
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let mut roles = tx.list_role_definitions(&Default::default()).await?;
    roles.retain(|r| !is_reserved_role_id(r.id));
    roles.sort_by(|a, b| (!a.is_built_in, &a.display_name).cmp(&(!b.is_built_in, &b.display_name)));
    // One query for every role schedule; counted per role: distinct holders right now.
    let mut holders: HashMap<(Uuid, ScheduleKind), HashSet<Uuid>> = HashMap::new();
    if show_counts {
        let all = tx
            .list_role_schedules(&ScheduleQuery {
                targets: Targets::Roles,
                ..Default::default()
            })
            .await?;
        for s in all.iter().filter(|s| s.is_current(now)) {
            holders
                .entry((s.role_definition_id, s.kind))
                .or_default()
                .insert(s.principal_id);
        }
    }
    let mut rows = Vec::with_capacity(roles.len());
    for role in roles {
        let weak = if show_policy {
            let id = RolePolicy::id_for(ScopeType::DirectoryRole, "/", &role.id.to_string());
            let policy = tx.get_policy(&id).await?.unwrap_or_else(|| {
                RolePolicy::default_for(ScopeType::DirectoryRole, "/", &role.id.to_string())
            });
            weaknesses(role.id, &policy)
        } else {
            Vec::new()
        };
        let count = |k| holders.get(&(role.id, k)).map_or(0, HashSet::len);
        rows.push(RoleRow {
            id: role.id.to_string(),
            eligible: count(ScheduleKind::Eligible),
            active: count(ScheduleKind::Active),
            name: role.display_name,
            built_in: role.is_built_in,
            weak,
        });
    }
    Ok(render(&RolesPage {
        chrome: viewer.chrome(Section::Administration),
        rows,
        show_counts,
        show_policy,
    }))
}

async fn load_role(app: &App, id: &str) -> PageResult<RoleDefinition> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found("role definition"))?;
    if is_reserved_role_id(id) {
        return Err(ApiError::not_found("role definition").into());
    }
    let mut tx = app.store.read().await?;
    Ok(tx
        .get_role_definition(id)
        .await?
        .ok_or_else(|| ApiError::not_found("role definition"))?)
}

fn type_label(kind: Option<PrincipalKind>) -> &'static str {
    match kind {
        Some(PrincipalKind::User) => "User",
        Some(PrincipalKind::Group) => "Group",
        Some(PrincipalKind::ServicePrincipal) => "Service principal",
        None => "Unknown",
    }
}

async fn role_page(
    app: &App,
    viewer: &Viewer,
    role: RoleDefinition,
    (form, window): (AssignValues, WindowValues),
    errors: FieldErrors,
) -> PageResult<RolePage> {
    let caller: &Caller = &viewer.caller;
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let schedules = tx
        .list_role_schedules(&ScheduleQuery {
            role_definition_id: Some(role.id),
            targets: Targets::Roles,
            ..Default::default()
        })
        .await?;
    // Every schedule of the role is kept (ended ones too, for the record): what holds or starts
    // later is listed, and what ended within the renewal window, unless removed by an
    // administrator or given again since, is offered for renewal.
    let removed: HashSet<Uuid> = tx
        .list_schedule_requests(
            &RequestQuery {
                role_definition_id: Some(role.id),
                status: Some(RequestStatus::Revoked),
                targets: Targets::Roles,
                ..Default::default()
            },
            Page::ALL,
        )
        .await?
        .into_iter()
        .filter(|r| r.action == RequestAction::AdminRemove)
        .filter_map(|r| r.target_schedule_id)
        .collect();
    let (mut schedules, ended): (Vec<_>, Vec<_>) =
        schedules.into_iter().partition(|s| !s.has_ended(now));
    // One withdrawn before it started never granted (kept among the ended for the record).
    schedules.retain(|s| s.end_date_time != Some(s.start_date_time));
    schedules.sort_by_key(|s| (s.kind != ScheduleKind::Eligible, s.start_date_time));
    let extensions = if viewer.can.update_role_assignments {
        change::extension_rows(
            app,
            &views::requests(
                app,
                caller,
                RequestQuery {
                    role_definition_id: Some(role.id),
                    status: Some(RequestStatus::PendingAdminDecision),
                    targets: Targets::Roles,
                    ..Default::default()
                },
                Page::ALL,
            )
            .await?,
        )
    } else {
        Vec::new()
    };
    let target_at = |scope: &str| AccessTarget::Role {
        role: role.id,
        scope: scope.to_string(),
    };
    let may_update = viewer.can.update_role_assignments;
    let expired = expired_rows(&ended, &schedules, &removed, now, |s| {
        change::link(
            "renew",
            &target_at(&s.directory_scope_id),
            s.principal_id,
            s.kind,
        )
    })
    .into_iter()
    .map(|(s, renew_link)| {
        let principal = app.access.principal(s.principal_id);
        ExpiredRow {
            name: principal
                .as_ref()
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| s.principal_id.to_string()),
            principal_type: type_label(principal.map(|(k, _)| k)),
            kind_label: kind_label(s.kind),
            scope: s.directory_scope_id.clone(),
            start: ShownTime::of(s.start_date_time),
            end: ShownTime::of(s.end_date_time.unwrap_or(s.start_date_time)),
            renew_link: may_update.then_some(renew_link),
        }
    })
    .collect();
    let rows = schedules
        .iter()
        .map(|s| {
            let principal = app.access.principal(s.principal_id);
            let assigned = s.assignment_type == AssignmentType::Assigned;
            let link = |mode| {
                change::link(
                    mode,
                    &target_at(&s.directory_scope_id),
                    s.principal_id,
                    s.kind,
                )
            };
            // The holder asked for an extension of this very assignment.
            let asked = assigned && extensions.iter().any(|e| e.extend_link == link("extend"));
            AssignmentRow {
                principal_id: s.principal_id.to_string(),
                name: principal
                    .as_ref()
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| s.principal_id.to_string()),
                principal_type: type_label(principal.map(|(k, _)| k)),
                kind: s.kind.as_str(),
                kind_label: match s.kind {
                    ScheduleKind::Eligible => "Eligible",
                    ScheduleKind::Active => "Active",
                },
                scope: s.directory_scope_id.clone(),
                start: ShownTime::of(s.start_date_time),
                end: s.end_date_time.map(ShownTime::of),
                activated: !assigned,
                future: s.start_date_time > now,
                ends_in: s
                    .end_date_time
                    .filter(|_| extendable(s.end_date_time, now))
                    .map(|e| eligo_core::assignment::ends_in_words(e, now)),
                edit_link: (may_update && assigned).then(|| link("edit")),
                extend_link: (may_update
                    && assigned
                    && (asked || extendable(s.end_date_time, now)))
                .then(|| link("extend")),
                asked,
            }
        })
        .collect();
    let policy = policies::load(
        &mut *tx,
        ScopeType::DirectoryRole,
        "/",
        &role.id.to_string(),
    )
    .await?;
    drop(tx);
    let r = &policy.rules;
    let yes_no = |b: bool| if b { "required" } else { "not required" };
    let has = |list: &[Enablement], e| list.contains(&e);
    let policy_facts = if viewer.can.read_policies {
        vec![
            (
                "Activation",
                format!(
                    "at most {}; MFA {}, justification {}, ticket {}",
                    duration_words(r.expiration_end_user_assignment.maximum_duration),
                    yes_no(has(
                        &r.enablement_end_user_assignment,
                        Enablement::MultiFactorAuthentication
                    )),
                    yes_no(has(
                        &r.enablement_end_user_assignment,
                        Enablement::Justification
                    )),
                    yes_no(has(
                        &r.enablement_end_user_assignment,
                        Enablement::Ticketing
                    )),
                ),
            ),
            (
                "Approval",
                if r.approval_end_user_assignment.is_approval_required {
                    format!(
                        "required ({} stage{})",
                        r.approval_end_user_assignment.approval_stages.len(),
                        if r.approval_end_user_assignment.approval_stages.len() == 1 {
                            ""
                        } else {
                            "s"
                        }
                    )
                } else {
                    "not required".into()
                },
            ),
            // Who approves, by name (the settings module words it).
            (
                "Approvers",
                super::settings::approval_summary(app, &policy).await?,
            ),
            (
                "Eligible assignments",
                expiry_words(&r.expiration_admin_eligibility),
            ),
            (
                "Active assignments",
                expiry_words(&r.expiration_admin_assignment),
            ),
        ]
    } else {
        Vec::new()
    };
    let report = exposure::report(app, caller, role.id)?;
    let exposure_summary = format!(
        "{} principal(s): {} standing, {} active, {} eligible.",
        report.summary.get("principals").copied().unwrap_or(0),
        report.summary.get("standing").copied().unwrap_or(0),
        report.summary.get("active").copied().unwrap_or(0),
        report.summary.get("eligible").copied().unwrap_or(0),
    );
    let exposure = report
        .value
        .iter()
        .map(|e| {
            let chain: Vec<String> = e
                .via
                .iter()
                .map(|g| g.display_name.clone().unwrap_or_else(|| g.id.clone()))
                .collect();
            let membership = e.description.starts_with("can activate membership");
            let how = match (chain.is_empty(), membership) {
                (true, _) => "Directly".to_string(),
                (false, false) => format!("Through group {}", chain.join(" → ")),
                (false, true) => format!("By activating membership of group {}", chain.join(" → ")),
            };
            let (mark, badge) = match e.exposure {
                Exposure::Standing => ("Holds it (assigned)", "badge-bad"),
                Exposure::Active => ("Holds it (activated)", "badge-warn"),
                Exposure::Eligible => ("Can activate it", "badge-info"),
            };
            ExposureRow {
                name: e
                    .display_name
                    .clone()
                    .unwrap_or_else(|| e.principal_id.clone()),
                principal_type: match e.principal_type {
                    Some("ServicePrincipal") => "Service principal",
                    Some(t) => t,
                    None => "Unknown",
                },
                mark,
                badge,
                how,
                scope: e.directory_scope_id.clone(),
                end: e.end_date_time.map(ShownTime::of),
            }
        })
        .collect();
    Ok(RolePage {
        chrome: viewer.chrome(Section::Administration),
        id: role.id.to_string(),
        name: role.display_name.clone(),
        description: role.description.clone().unwrap_or_default(),
        built_in: role.is_built_in,
        permissions: role.actions().map(String::from).collect(),
        policy_facts,
        may_update: viewer.can.update_role_assignments,
        may_settings: viewer.can.read_policies,
        rows,
        expired,
        extensions,
        form,
        window,
        with_start: true,
        errors,
        exposure,
        exposure_summary,
    })
}

fn kind_label(kind: ScheduleKind) -> &'static str {
    match kind {
        ScheduleKind::Eligible => "Eligible",
        ScheduleKind::Active => "Active",
    }
}

/// The ended assignments an administrator gave that may be renewed, latest end first, once per
/// holder, kind and scope: the latest that ended within the renewal window, unless an
/// administrator removed it or it was given again since (a live one of the same holder, kind
/// and scope).
fn expired_rows<'a, T>(
    ended: &'a [eligo_core::schedule::RoleSchedule],
    live: &[eligo_core::schedule::RoleSchedule],
    removed: &HashSet<Uuid>,
    now: chrono::DateTime<chrono::Utc>,
    with: impl Fn(&eligo_core::schedule::RoleSchedule) -> T,
) -> Vec<(&'a eligo_core::schedule::RoleSchedule, T)> {
    let key = |s: &eligo_core::schedule::RoleSchedule| {
        (s.principal_id, s.kind, s.directory_scope_id.clone())
    };
    let mut seen: HashSet<_> = live
        .iter()
        .filter(|s| s.assignment_type == AssignmentType::Assigned)
        .map(key)
        .collect();
    let mut candidates: Vec<_> = ended
        .iter()
        .filter(|s| {
            s.assignment_type == AssignmentType::Assigned && renewable(s.end_date_time, now)
        })
        .collect();
    candidates.sort_by_key(|s| std::cmp::Reverse(s.end_date_time));
    // The latest end of each counts: one removed last is not offered again.
    candidates
        .into_iter()
        .filter(|s| seen.insert(key(s)))
        .filter(|s| !removed.contains(&s.id))
        .map(|s| (s, with(s)))
        .collect()
}

/// A role's page is for those who may read its assignments (the service decides).
fn require_read(app: &App, caller: &Caller) -> PageResult<()> {
    views::may_read_assignments(app, caller).map_err(worded(
        "reading role assignments needs roleAssignments/read",
    ))
}

pub async fn detail(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    require_read(&app, &viewer.caller)?;
    let role = load_role(&app, &id).await?;
    let form = AssignForm::default();
    let values = (AssignValues::from_form(&form), WindowValues::default());
    let page = role_page(&app, &viewer, role, values, FieldErrors::new()).await?;
    Ok(render(&page))
}

/// Reads the Add assignment form into a request, or field errors.
async fn read_assign_form(
    app: &App,
    caller: &Caller,
    role: Uuid,
    form: &AssignForm,
    v: &AssignValues,
    errors: &mut FieldErrors,
) -> PageResult<Option<NewRequest>> {
    let mut tx = app.store.read().await?;
    let listable = directory::listable(app, caller, Kinds::ALL);
    let principal = match picker::resolve(&mut *tx, &v.principal, Kinds::ALL, listable).await? {
        Ok(p) => Some(p.id),
        Err(message) => {
            errors.add("principal", message);
            None
        }
    };
    drop(tx);
    let kind = match v.kind.as_str() {
        "eligible" => Some(RequestKind::Eligibility),
        "active" => Some(RequestKind::Assignment),
        _ => {
            errors.add("kind", "Choose eligible or active.");
            None
        }
    };
    let window = form.window.read(true, errors);
    let (Some(principal_id), Some(kind), Some(window)) = (principal, kind, window) else {
        return Ok(None);
    };
    if !errors.is_empty() {
        return Ok(None);
    }
    Ok(Some(NewRequest {
        kind,
        action: RequestAction::AdminAssign,
        principal_id,
        role_definition_id: role,
        directory_scope_id: v.scope.trim().to_string(),
        justification: window.justification,
        ticket: window.ticket,
        schedule_info: Some(window.schedule_info),
        is_validation_only: false,
    }))
}

pub async fn assign(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<AssignForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    require_read(&app, &viewer.caller)?;
    // Refused before anything is looked up (the use case decides; its refusal is audited).
    let kind = match form.kind.as_deref() {
        Some("active") => RequestKind::Assignment,
        _ => RequestKind::Eligibility,
    };
    submit::may_assign(&app, &viewer.caller, kind).await?;
    let role = load_role(&app, &id).await?;
    let values = AssignValues::from_form(&form);
    let mut errors = FieldErrors::new();
    let mut status = StatusCode::BAD_REQUEST;
    if let Some(new) =
        read_assign_form(&app, &viewer.caller, role.id, &form, &values, &mut errors).await?
    {
        let kind = new.kind;
        match submit::submit(&app, &viewer.caller, new).await {
            Ok(request) => {
                let who = app
                    .access
                    .principal(request.principal_id)
                    .map(|(_, n)| n)
                    .unwrap_or_default();
                let end = request
                    .granted_schedule
                    .as_ref()
                    .and_then(|g| g.expiration.end_date_time)
                    .map(|e| format!("until {}", crate::notify::templates::format_time(e)))
                    .unwrap_or_else(|| "permanently".into());
                let what = match kind {
                    RequestKind::Eligibility => "eligible for",
                    RequestKind::Assignment => "assigned",
                };
                return Ok(redirect_with(
                    &app,
                    &format!("/portal/admin/roles/{}", role.id),
                    Flash::success(format!("{who} is now {what} {} {end}.", role.display_name)),
                ));
            }
            Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
                let end_type = form.window.end_type.as_deref().unwrap_or("duration");
                status = window_form::absorb(&e, &mut errors, end_type);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let shown = (values, form.window.values());
    let page = role_page(&app, &viewer, role, shown, errors).await?;
    Ok(render_status(status, &page))
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    principal_id: Option<String>,
    kind: Option<String>,
    scope: Option<String>,
}

pub async fn remove(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<RemoveForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let role = load_role(&app, &id).await?;
    let back = format!("/portal/admin/roles/{}", role.id);
    let principal_id = form
        .principal_id
        .as_deref()
        .and_then(|p| Uuid::parse_str(p).ok())
        .ok_or_else(|| {
            ApiError::bad_request("Request_BadRequest", "the form names no principal")
        })?;
    let kind = match form.kind.as_deref() {
        Some("eligible") => RequestKind::Eligibility,
        Some("active") => RequestKind::Assignment,
        _ => {
            return Err(
                ApiError::bad_request("Request_BadRequest", "the form names no kind").into(),
            );
        }
    };
    let new = NewRequest {
        kind,
        action: RequestAction::AdminRemove,
        principal_id,
        role_definition_id: role.id,
        directory_scope_id: form.scope.unwrap_or_else(|| "/".into()),
        justification: None,
        ticket: None,
        schedule_info: None,
        is_validation_only: false,
    };
    let who = app
        .access
        .principal(principal_id)
        .map(|(_, n)| n)
        .unwrap_or_else(|| principal_id.to_string());
    match submit::submit(&app, &viewer.caller, new).await {
        Ok(_) => Ok(redirect_with(
            &app,
            &back,
            Flash::success(format!(
                "Removed: {who} no longer has this {} assignment of {}.",
                if kind == RequestKind::Eligibility {
                    "eligible"
                } else {
                    "active"
                },
                role.display_name
            )),
        )),
        Err(e) if e.code == "RoleAssignmentDoesNotExist" => Ok(redirect_with(
            &app,
            &back,
            Flash::info(format!(
                "{who} has no such assignment any more (it was already removed or has ended). Nothing was changed."
            )),
        )),
        Err(e) => Err(e.into()),
    }
}
