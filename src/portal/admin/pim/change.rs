//! Changing one assignment an administrator gave, for a role at a scope or a group's
//! membership or ownership: Edit (`adminUpdate`: its end, its start while it has not started,
//! permanent where the settings allow it), Extend (`adminExtend`, offered when it ends within
//! 14 days or its holder asked for an extension) and Renew (`adminRenew`, for one that ended
//! within 90 days); and Decline of a holder's extension request. Each goes through the use case
//! the API calls (`service::pim::submit`, `service::pim::extension::decline`) with the signed-in
//! person as caller; the page decides nothing.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use eligo_core::assignment::renewable;
use eligo_core::request::{RequestAction, RequestKind, RequestStatus, ScheduleRequest};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_core::target::Target as AccessTarget;
use eligo_store::{ScheduleQuery, Targets};
use serde::Deserialize;
use uuid::Uuid;

use super::window_form::{self, LocalInput, WindowFields, WindowValues};
use super::{ShownTime, expiry_words};
use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::notify::templates::{format_duration, format_time};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::me::{TargetFields, target_fields};
use crate::portal::page::{
    Chrome, FieldErrors, PageError, PageResult, Section, redirect_with, render_status,
};
use crate::portal::session::Viewer;
use crate::service::pim::{Governed, extension, load_target, submit, views};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Edit,
    Extend,
    Renew,
}

impl Mode {
    fn parse(raw: &str) -> PageResult<Self> {
        match raw {
            "edit" => Ok(Mode::Edit),
            "extend" => Ok(Mode::Extend),
            "renew" => Ok(Mode::Renew),
            _ => Err(PageError::Api(ApiError::not_found("page"))),
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Mode::Edit => "edit",
            Mode::Extend => "extend",
            Mode::Renew => "renew",
        }
    }

    fn action(self) -> RequestAction {
        match self {
            Mode::Edit => RequestAction::AdminUpdate,
            Mode::Extend => RequestAction::AdminExtend,
            Mode::Renew => RequestAction::AdminRenew,
        }
    }
}

/// The assignment a link or a form names, and (posted) what to change.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(flatten)]
    pub target: TargetFields,
    pub principal: Option<String>,
    /// `eligible` or `active`.
    pub kind: Option<String>,
    #[serde(flatten)]
    pub window: WindowFields,
}

/// A waiting extension request, as the form shows it.
pub struct AskedView {
    pub created: ShownTime,
    pub until: Option<ShownTime>,
    pub justification: String,
}

#[derive(Template)]
#[template(path = "portal/admin/pim/change.html")]
struct ChangePage {
    chrome: Chrome,
    heading: String,
    intro: String,
    button: &'static str,
    action_path: String,
    back: String,
    back_label: String,
    hidden: Vec<(&'static str, String)>,
    kind_label: &'static str,
    start: Option<ShownTime>,
    end: Option<ShownTime>,
    ended: bool,
    maximum: String,
    asked: Vec<AskedView>,
    window: WindowValues,
    with_start: bool,
    errors: FieldErrors,
}

/// Everything the form is about, loaded.
struct Subject {
    target: AccessTarget,
    principal: Uuid,
    kind: RequestKind,
    who: String,
    /// "Helpdesk Administrator at /", "membership of Compliance Portal Admins".
    what: String,
    maximum: String,
    schedule: RoleSchedule,
    waiting: Vec<ScheduleRequest>,
    back: String,
    back_label: String,
}

fn bad(message: String) -> PageError {
    PageError::Api(ApiError::of_status(
        StatusCode::BAD_REQUEST,
        "NothingToDo",
        message,
    ))
}

fn kind_of(raw: Option<&str>) -> PageResult<RequestKind> {
    match raw.map(str::trim) {
        Some("eligible") => Ok(RequestKind::Eligibility),
        Some("active") => Ok(RequestKind::Assignment),
        _ => Err(bad(
            "The link names no assignment type; go back to the list and try again.".into(),
        )),
    }
}

fn kind_words(kind: RequestKind) -> (&'static str, &'static str) {
    match kind {
        RequestKind::Eligibility => ("eligible", "Eligible"),
        RequestKind::Assignment => ("active", "Active"),
    }
}

/// Where the administrator came from: the role's page, or the group's.
pub fn back_of(target: &AccessTarget) -> String {
    match target {
        AccessTarget::Role { role, .. } => format!("/portal/admin/roles/{role}"),
        AccessTarget::Group { group, .. } => format!("/portal/admin/groups/{group}"),
    }
}

/// The link to `mode` for one assignment.
pub fn link(mode: &str, target: &AccessTarget, principal: Uuid, kind: ScheduleKind) -> String {
    let mut fields = target_fields(target);
    fields.push(("principal", principal.to_string()));
    fields.push(("kind", kind.as_str().to_string()));
    format!(
        "/portal/admin/assignments/{mode}?{}",
        serde_urlencoded::to_string(fields).unwrap_or_default()
    )
}

async fn subject(app: &App, form: &ChangeForm, mode: Mode) -> PageResult<Subject> {
    let target = form.target.target()?;
    let principal = form
        .principal
        .as_deref()
        .and_then(|p| Uuid::parse_str(p.trim()).ok())
        .ok_or_else(|| PageError::Api(ApiError::not_found("principal")))?;
    let kind = kind_of(form.kind.as_deref())?;
    let (role, scope) = target.fields();
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let loaded = load_target(&mut *tx, &target, principal).await?;
    let (word, _) = kind_words(kind);
    let rule = match kind {
        RequestKind::Eligibility => &loaded.policy.rules.expiration_admin_eligibility,
        RequestKind::Assignment => &loaded.policy.rules.expiration_admin_assignment,
    };
    let (what, back_label) = match &loaded.governed {
        Governed::Role(r) => (
            format!("{} at {scope}", r.display_name),
            r.display_name.clone(),
        ),
        Governed::Group { group, access } => (
            format!("{} of {}", access_word(*access), group.display_name),
            group.display_name.clone(),
        ),
    };
    let who = loaded.principal.display_name.clone();
    let schedule = match mode {
        Mode::Edit | Mode::Extend => {
            extension::given(&mut *tx, kind, principal, role, &scope, now).await?
        }
        Mode::Renew => {
            let all = tx
                .list_role_schedules(&ScheduleQuery {
                    kind: Some(match kind {
                        RequestKind::Eligibility => ScheduleKind::Eligible,
                        RequestKind::Assignment => ScheduleKind::Active,
                    }),
                    principal_ids: Some(vec![principal]),
                    role_definition_id: Some(role),
                    directory_scope_id: Some(scope.clone()),
                    targets: Targets::All,
                })
                .await?;
            all.into_iter()
                .filter(|s| {
                    s.assignment_type == AssignmentType::Assigned && renewable(s.end_date_time, now)
                })
                .max_by_key(|s| s.end_date_time)
        }
    };
    let Some(schedule) = schedule else {
        return Err(bad(match mode {
            Mode::Renew => format!(
                "{who} has no {word} assignment of {what} that ended within the last 90 days, so there is nothing to renew. Add a new assignment instead."
            ),
            _ => format!(
                "{who} has no {word} assignment of {what} now (it has ended or was removed). Renew it from the Expired list, or add a new one."
            ),
        }));
    };
    let waiting = extension::waiting(&mut *tx, kind, principal, role, &scope).await?;
    Ok(Subject {
        back: back_of(&target),
        target,
        principal,
        kind,
        who,
        what,
        maximum: expiry_words(rule),
        schedule,
        waiting,
        back_label,
    })
}

fn access_word(access: eligo_core::target::GroupAccess) -> &'static str {
    match access {
        eligo_core::target::GroupAccess::Member => "membership",
        eligo_core::target::GroupAccess::Owner => "ownership",
    }
}

/// The end a waiting extension request asked for, as of when it was asked.
fn asked_end(r: &ScheduleRequest) -> Option<DateTime<Utc>> {
    let info = &r.schedule_info.expiration;
    info.end_date_time
        .or_else(|| info.duration.map(|d| r.created_date_time + d))
}

/// What the form shows before anything is typed.
fn defaults(s: &Subject, mode: Mode, now: DateTime<Utc>) -> WindowValues {
    let mut v = WindowValues::default();
    match mode {
        Mode::Edit => {
            if s.schedule.start_date_time > now {
                v.start = LocalInput::of(s.schedule.start_date_time);
            }
            match s.schedule.end_date_time {
                Some(end) => {
                    v.end_type = "date".into();
                    v.end_date = LocalInput::of(end);
                }
                None => v.end_type = "permanent".into(),
            }
        }
        Mode::Extend | Mode::Renew => {
            // What the holder asked for, when they did; else the settings' maximum.
            if let Some(end) = s.waiting.last().and_then(asked_end) {
                v.end_type = "date".into();
                v.end_date = LocalInput::of(end);
            } else {
                v.end_type = "duration".into();
                v.duration = s.maximum_duration_words();
            }
            if let Some(j) = s.waiting.last().and_then(|r| r.justification.clone()) {
                v.justification = format!("Asked for by {}: {j}", s.who);
            }
        }
    }
    v
}

impl Subject {
    fn maximum_duration_words(&self) -> String {
        // "must end, at most P365D (365 days)" → the words inside the brackets.
        self.maximum
            .rsplit_once('(')
            .and_then(|(_, w)| w.strip_suffix(')'))
            .unwrap_or("")
            .to_string()
    }
}

fn page(
    viewer: &Viewer,
    s: &Subject,
    mode: Mode,
    window: WindowValues,
    errors: FieldErrors,
    now: DateTime<Utc>,
) -> ChangePage {
    let (word, label) = kind_words(s.kind);
    let (heading, intro, button) = match mode {
        Mode::Edit => (
            format!("Edit the {word} assignment of {}", s.who),
            format!(
                "Change when {}'s {word} assignment of {} ends{}.",
                s.who,
                s.what,
                if s.schedule.start_date_time > now {
                    " or starts"
                } else {
                    ""
                }
            ),
            "Save changes",
        ),
        Mode::Extend => (
            format!("Extend the {word} assignment of {}", s.who),
            format!(
                "Give {} the {word} assignment of {} for longer. The new end counts from now and must come after the current end.",
                s.who, s.what
            ),
            "Extend",
        ),
        Mode::Renew => (
            format!("Renew the {word} assignment of {}", s.who),
            format!(
                "{}'s {word} assignment of {} has ended: renew it to give it again.",
                s.who, s.what
            ),
            "Renew",
        ),
    };
    let mut hidden = target_fields(&s.target);
    hidden.push(("principal", s.principal.to_string()));
    hidden.push(("kind", word.to_string()));
    ChangePage {
        chrome: viewer.chrome(Section::Administration),
        heading,
        intro,
        button,
        action_path: format!("/portal/admin/assignments/{}", mode.slug()),
        back: s.back.clone(),
        back_label: s.back_label.clone(),
        hidden,
        kind_label: label,
        start: Some(ShownTime::of(s.schedule.start_date_time)),
        end: s.schedule.end_date_time.map(ShownTime::of),
        ended: s.schedule.has_ended(now),
        maximum: s.maximum.clone(),
        asked: s
            .waiting
            .iter()
            .map(|r| AskedView {
                created: ShownTime::of(r.created_date_time),
                until: asked_end(r).map(ShownTime::of),
                justification: r.justification.clone().unwrap_or_default(),
            })
            .collect(),
        with_start: mode == Mode::Renew || (mode == Mode::Edit && s.schedule.start_date_time > now),
        window,
        errors,
    }
}

/// `GET /portal/admin/assignments/{edit|extend|renew}?...`.
pub async fn form(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(mode): Path<String>,
    Query(q): Query<ChangeForm>,
) -> PageResult<Response> {
    let mode = Mode::parse(&mode)?;
    views::may_read_assignments(&app, &viewer.caller).map_err(crate::portal::page::worded(
        "changing assignments needs roleAssignments/read",
    ))?;
    let s = subject(&app, &q, mode).await?;
    let now = app.clock.now();
    let window = defaults(&s, mode, now);
    Ok(render_status(
        StatusCode::OK,
        &page(&viewer, &s, mode, window, FieldErrors::new(), now),
    ))
}

/// `POST /portal/admin/assignments/{edit|extend|renew}`.
pub async fn save(
    State(app): State<AppState>,
    Path(mode): Path<String>,
    posted: Posted<ChangeForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let mode = Mode::parse(&mode)?;
    views::may_read_assignments(&app, &viewer.caller).map_err(crate::portal::page::worded(
        "changing assignments needs roleAssignments/read",
    ))?;
    let s = subject(&app, &form, mode).await?;
    let now = app.clock.now();
    let with_start =
        mode == Mode::Renew || (mode == Mode::Edit && s.schedule.start_date_time > now);
    let mut errors = FieldErrors::new();
    let end_type = form
        .window
        .end_type
        .clone()
        .unwrap_or_else(|| "duration".into());
    let mut status = StatusCode::BAD_REQUEST;
    if let Some(w) = form.window.read(with_start, &mut errors) {
        let (role_definition_id, directory_scope_id) = s.target.fields();
        let new = submit::NewRequest {
            kind: s.kind,
            action: mode.action(),
            principal_id: s.principal,
            role_definition_id,
            directory_scope_id,
            justification: w.justification,
            ticket: w.ticket,
            schedule_info: Some(w.schedule_info),
            is_validation_only: false,
        };
        match submit::submit(&app, &viewer.caller, new).await {
            Ok(request) => {
                let end = request
                    .granted_schedule
                    .as_ref()
                    .and_then(|g| g.expiration.end_date_time)
                    .map(|e| format!("until {}", format_time(e)))
                    .unwrap_or_else(|| "permanently".into());
                let (word, _) = kind_words(s.kind);
                let done = match mode {
                    Mode::Edit => "changed",
                    Mode::Extend => "extended",
                    Mode::Renew => "renewed",
                };
                let mut text = format!(
                    "{}'s {word} assignment of {} is {done}: it lasts {end}.",
                    s.who, s.what
                );
                if !s.waiting.is_empty() && mode != Mode::Edit {
                    text.push_str(" Their extension request is completed.");
                }
                return Ok(redirect_with(&app, &s.back, Flash::success(text)));
            }
            Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
                status = window_form::absorb(&e, &mut errors, &end_type);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let page = page(&viewer, &s, mode, form.window.values(), errors, now);
    Ok(render_status(status, &page))
}

#[derive(Debug, Default, Deserialize)]
pub struct DeclineForm {
    pub id: Option<String>,
    pub reason: Option<String>,
}

/// `POST /portal/admin/assignments/decline`: declines a holder's extension request.
pub async fn decline(
    State(app): State<AppState>,
    posted: Posted<DeclineForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = form
        .id
        .as_deref()
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        .ok_or_else(|| PageError::Api(ApiError::not_found("request")))?;
    match extension::decline(&app, &viewer.caller, id, form.reason.clone()).await {
        Ok(request) => {
            let back = back_of(&request.target());
            let who = app
                .access
                .principal(request.principal_id)
                .map(|(_, n)| n)
                .unwrap_or_default();
            Ok(redirect_with(
                &app,
                &back,
                Flash::success(format!(
                    "Declined: {who}'s extension request. Nothing else was changed."
                )),
            ))
        }
        Err(e) if e.code == "RequestNotPending" => {
            let mut tx = app.store.read().await?;
            let back = tx
                .get_schedule_request(id)
                .await?
                .map(|r| back_of(&r.target()))
                .unwrap_or_else(|| "/portal/admin/roles".into());
            drop(tx);
            Ok(redirect_with(
                &app,
                &back,
                Flash::info(
                    "That extension request no longer waits (it was decided, canceled or completed). Nothing was changed.",
                ),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// A holder's extension request, as a role's or a group's page lists it.
pub struct ExtensionRow {
    pub id: String,
    pub who: String,
    pub kind_label: &'static str,
    /// The scope, or "Member"/"Owner".
    pub scope: String,
    pub created: ShownTime,
    pub until: Option<ShownTime>,
    pub duration: Option<String>,
    pub justification: String,
    pub extend_link: String,
}

/// The extension requests that wait among `requests` (already read through `views`).
pub fn extension_rows(app: &App, requests: &[ScheduleRequest]) -> Vec<ExtensionRow> {
    requests
        .iter()
        .filter(|r| r.status == RequestStatus::PendingAdminDecision)
        .map(|r| {
            let target = r.target();
            let scope = match &target {
                AccessTarget::Role { scope, .. } => scope.clone(),
                AccessTarget::Group { access, .. } => match access {
                    eligo_core::target::GroupAccess::Member => "Member".into(),
                    eligo_core::target::GroupAccess::Owner => "Owner".into(),
                },
            };
            let kind = match r.kind {
                RequestKind::Eligibility => ScheduleKind::Eligible,
                RequestKind::Assignment => ScheduleKind::Active,
            };
            ExtensionRow {
                id: r.id.to_string(),
                who: app
                    .access
                    .principal(r.principal_id)
                    .map(|(_, n)| n)
                    .unwrap_or_else(|| r.principal_id.to_string()),
                kind_label: kind_words(r.kind).1,
                scope,
                created: ShownTime::of(r.created_date_time),
                until: asked_end(r).map(ShownTime::of),
                duration: r.schedule_info.expiration.duration.map(format_duration),
                justification: r.justification.clone().unwrap_or_default(),
                extend_link: link("extend", &target, r.principal_id, kind),
            }
        })
        .collect()
}
