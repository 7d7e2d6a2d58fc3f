//! A group's privileged access, on its page: who is eligible for or holds its membership and
//! ownership through PIM for Groups (Edit, Extend and Remove; the holders' extension requests),
//! the form that makes someone eligible or active for either, and the roles the group itself
//! carries. Every change is a request through `service::pim::submit`, the use case behind the
//! API's `/v1/identityGovernance/privilegedAccess/group/...` routes, which decides who may.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::assignment::{ends_in_words, extendable};
use eligo_core::directory::Group;
use eligo_core::request::{RequestAction, RequestKind, RequestStatus};
use eligo_core::schedule::{AssignmentType, ScheduleKind};
use eligo_core::target::{GroupAccess, Target as AccessTarget};
use eligo_store::{Page, RequestQuery, Targets};
use serde::Deserialize;
use uuid::Uuid;

use super::{PrincipalRef, Shown, page, path_id, principal_ref, refused};
use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::notify::templates::format_time;
use crate::portal::admin::pim::change::{self, ExtensionRow};
use crate::portal::admin::pim::window_form::{self, WindowFields, WindowValues};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{FieldErrors, PageResult, redirect_with, render_status};
use crate::portal::picker;
use crate::portal::session::Viewer;
use crate::service::directory::{self, Kinds};
use crate::service::pim::submit::{self, NewRequest};
use crate::service::pim::views::{self, HoldingQuery};

/// One eligible or active assignment of the group's membership or ownership.
pub struct PimLine {
    pub who: PrincipalRef,
    /// `member` or `owner` (the form value).
    pub access: &'static str,
    /// "Member" or "Owner".
    pub access_label: &'static str,
    /// `eligible` or `active` (the form value).
    pub kind: &'static str,
    pub active: bool,
    /// Activated by its holder (not given by an administrator).
    pub activated: bool,
    pub future: bool,
    pub start: Shown,
    pub end: Option<Shown>,
    pub ends_in: Option<String>,
    pub edit_link: Option<String>,
    pub extend_link: Option<String>,
    /// May remove it (the viewer may change this access).
    pub removable: bool,
    pub asked: bool,
}

/// A role the group holds or can activate for its members.
pub struct RoleLine {
    pub role_id: Uuid,
    pub name: String,
    pub scope: String,
    pub active: bool,
    pub end: Option<Shown>,
}

/// Everything the section shows; None parts are not the viewer's to read.
pub struct PimSection {
    pub lines: Option<Vec<PimLine>>,
    pub extensions: Vec<ExtensionRow>,
    pub roles: Option<Vec<RoleLine>>,
    /// The add form is shown: the viewer may change the group's members or owners.
    pub may_assign: bool,
    pub may_members: bool,
    pub may_owners: bool,
}

/// What the add form shows (typed values kept after a refusal).
#[derive(Default)]
pub struct PimValues {
    pub principal: String,
    pub access: String,
    pub kind: String,
    pub window: WindowValues,
}

fn access_label(access: GroupAccess) -> &'static str {
    match access {
        GroupAccess::Member => "Member",
        GroupAccess::Owner => "Owner",
    }
}

pub async fn section(
    app: &App,
    viewer: &Viewer,
    group: &Group,
    may_members: bool,
    may_owners: bool,
) -> PageResult<PimSection> {
    let caller = &viewer.caller;
    let now = app.clock.now();
    let id = group.id;
    let may = |access| match access {
        GroupAccess::Member => may_members,
        GroupAccess::Owner => may_owners,
    };
    let (lines, extensions) = if viewer.can.read_role_assignments {
        let requests = page(
            views::requests(
                app,
                caller,
                RequestQuery {
                    status: Some(RequestStatus::PendingAdminDecision),
                    targets: Targets::Groups,
                    ..Default::default()
                },
                Page::ALL,
            )
            .await,
        )?;
        let mine: Vec<_> = requests
            .into_iter()
            .filter(|r| {
                matches!(r.target(), AccessTarget::Group { group, access } if group == id && may(access))
            })
            .collect();
        let extensions = change::extension_rows(app, &mine);
        let mut lines = Vec::new();
        for access in GroupAccess::ALL {
            let target = AccessTarget::Group { group: id, access };
            let (role, scope) = target.fields();
            for kind in [ScheduleKind::Eligible, ScheduleKind::Active] {
                let held = page(
                    views::holdings(
                        app,
                        caller,
                        kind,
                        HoldingQuery {
                            targets: Targets::Groups,
                            role_definition_id: Some(role),
                            directory_scope_id: Some(scope.clone()),
                            current_only: false,
                            ..Default::default()
                        },
                    )
                    .await,
                )?;
                for h in held {
                    let s = &h.schedule;
                    let assigned = s.assignment_type == AssignmentType::Assigned;
                    let link = |mode| change::link(mode, &target, s.principal_id, kind);
                    let asked =
                        assigned && extensions.iter().any(|e| e.extend_link == link("extend"));
                    let soon = extendable(s.end_date_time, now);
                    lines.push(PimLine {
                        who: principal_ref(app, s.principal_id),
                        access: access.as_str(),
                        access_label: access_label(access),
                        kind: kind.as_str(),
                        active: kind == ScheduleKind::Active,
                        activated: !assigned,
                        future: s.start_date_time > now,
                        start: Shown::of(s.start_date_time),
                        end: s.end_date_time.map(Shown::of),
                        ends_in: s
                            .end_date_time
                            .filter(|_| soon)
                            .map(|e| ends_in_words(e, now)),
                        edit_link: (assigned && may(access)).then(|| link("edit")),
                        extend_link: (assigned && may(access) && (soon || asked))
                            .then(|| link("extend")),
                        removable: may(access),
                        asked,
                    });
                }
            }
        }
        (Some(lines), extensions)
    } else {
        (None, Vec::new())
    };
    let roles = if viewer.can.read_role_assignments {
        let mut out = Vec::new();
        for kind in [ScheduleKind::Eligible, ScheduleKind::Active] {
            let held = page(
                views::holdings(
                    app,
                    caller,
                    kind,
                    HoldingQuery {
                        targets: Targets::Roles,
                        principal_id: Some(id),
                        ..Default::default()
                    },
                )
                .await,
            )?;
            let mut tx = app.store.read().await?;
            for h in held.into_iter().filter(|h| h.schedule.principal_id == id) {
                let s = &h.schedule;
                out.push(RoleLine {
                    role_id: s.role_definition_id,
                    name: views::role_name(&mut *tx, s.role_definition_id).await?,
                    scope: s.directory_scope_id.clone(),
                    active: kind == ScheduleKind::Active,
                    end: s.end_date_time.map(Shown::of),
                });
            }
        }
        Some(out)
    } else {
        None
    };
    Ok(PimSection {
        lines,
        extensions,
        roles,
        may_assign: may_members || may_owners,
        may_members,
        may_owners,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct AssignForm {
    principal: Option<String>,
    access: Option<String>,
    kind: Option<String>,
    #[serde(flatten)]
    window: WindowFields,
}

fn kind_of(raw: Option<&str>) -> Option<RequestKind> {
    match raw.map(str::trim) {
        Some("eligible") => Some(RequestKind::Eligibility),
        Some("active") => Some(RequestKind::Assignment),
        _ => None,
    }
}

/// `POST /portal/admin/groups/{id}/pim/assign`: make someone eligible or active for the
/// group's membership or ownership (`adminAssign`).
pub async fn assign(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<AssignForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let group = path_id(&id, "group")?;
    let mut errors = FieldErrors::new();
    let mut tx = app.store.read().await?;
    let typed = form.principal.as_deref().unwrap_or("");
    let listable = directory::listable(&app, &viewer.caller, Kinds::ALL);
    let principal = match picker::resolve(&mut *tx, typed, Kinds::ALL, listable).await? {
        Ok(p) => Some(p.id),
        Err(m) => {
            errors.add("pim_principal", m);
            None
        }
    };
    drop(tx);
    let access = form.access.as_deref().and_then(GroupAccess::parse);
    if access.is_none() {
        errors.add("pim_access", "Choose membership or ownership.");
    }
    let kind = kind_of(form.kind.as_deref());
    if kind.is_none() {
        errors.add("pim_kind", "Choose eligible or active.");
    }
    let window = form.window.read(true, &mut errors);
    let mut status = StatusCode::BAD_REQUEST;
    if let (Some(principal_id), Some(access), Some(kind), Some(window)) =
        (principal, access, kind, window)
    {
        let (role_definition_id, directory_scope_id) =
            AccessTarget::Group { group, access }.fields();
        let new = NewRequest {
            kind,
            action: RequestAction::AdminAssign,
            principal_id,
            role_definition_id,
            directory_scope_id,
            justification: window.justification,
            ticket: window.ticket,
            schedule_info: Some(window.schedule_info),
            is_validation_only: false,
        };
        match submit::submit(&app, &viewer.caller, new).await {
            Ok(request) => {
                let who = principal_ref(&app, principal_id).name;
                let end = request
                    .granted_schedule
                    .as_ref()
                    .and_then(|g| g.expiration.end_date_time)
                    .map(|e| format!("until {}", format_time(e)))
                    .unwrap_or_else(|| "permanently".into());
                let what = match (kind, access) {
                    (RequestKind::Eligibility, GroupAccess::Member) => "eligible for membership",
                    (RequestKind::Eligibility, GroupAccess::Owner) => "eligible for ownership",
                    (RequestKind::Assignment, GroupAccess::Member) => "an active member",
                    (RequestKind::Assignment, GroupAccess::Owner) => "an active owner",
                };
                return Ok(redirect_with(
                    &app,
                    &format!("/portal/admin/groups/{group}"),
                    Flash::success(format!("{who} is now {what} of this group {end}.")),
                ));
            }
            Err(e) if e.status() == StatusCode::BAD_REQUEST => {
                let end_type = form.window.end_type.as_deref().unwrap_or("duration");
                status = window_form::absorb(&e, &mut errors, end_type);
                // The principal's refusals (a group as a member, ...) belong to its field.
                if e.code == "InvalidPrincipal" {
                    errors.add("pim_principal", e.message.clone());
                }
            }
            // 403 (not the viewer's to change), 404: the error page says why.
            Err(e) => return refused(e),
        }
    }
    let values = PimValues {
        principal: form.principal.clone().unwrap_or_default(),
        access: form.access.clone().unwrap_or_default(),
        kind: form.kind.clone().unwrap_or_default(),
        window: form.window.values(),
    };
    let page = super::groups::group_page_with(&app, &viewer, group, values, errors).await?;
    Ok(render_status(status, &page))
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    principal: Option<String>,
    access: Option<String>,
    kind: Option<String>,
}

/// `POST /portal/admin/groups/{id}/pim/remove` (`adminRemove`).
pub async fn remove(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<RemoveForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let group = path_id(&id, "group")?;
    let principal = path_id(form.principal.as_deref().unwrap_or(""), "principal")?;
    let (Some(access), Some(kind)) = (
        form.access.as_deref().and_then(GroupAccess::parse),
        kind_of(form.kind.as_deref()),
    ) else {
        return refused(ApiError::bad_request(
            "Request_BadRequest",
            "the form does not say which access to remove; reload the page and try again",
        ));
    };
    let (role_definition_id, directory_scope_id) = AccessTarget::Group { group, access }.fields();
    let new = NewRequest {
        kind,
        action: RequestAction::AdminRemove,
        principal_id: principal,
        role_definition_id,
        directory_scope_id,
        justification: None,
        ticket: None,
        schedule_info: None,
        is_validation_only: false,
    };
    let back = format!("/portal/admin/groups/{group}");
    let who = principal_ref(&app, principal).name;
    let what = match (kind, access) {
        (RequestKind::Eligibility, GroupAccess::Member) => "eligible membership",
        (RequestKind::Eligibility, GroupAccess::Owner) => "eligible ownership",
        (RequestKind::Assignment, GroupAccess::Member) => "active membership",
        (RequestKind::Assignment, GroupAccess::Owner) => "active ownership",
    };
    match submit::submit(&app, &viewer.caller, new).await {
        Ok(_) => Ok(redirect_with(
            &app,
            &back,
            Flash::success(format!(
                "Removed: {who} no longer has {what} of this group."
            )),
        )),
        Err(e) if e.code == "RoleAssignmentDoesNotExist" => Ok(redirect_with(
            &app,
            &back,
            Flash::info(format!(
                "{who} has no {what} of this group any more (it was already removed or has ended). Nothing was changed."
            )),
        )),
        Err(e) => refused(e),
    }
}
