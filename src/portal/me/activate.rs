//! The form behind Activate, Extend and Renew: what the policy asks (read from the policy that
//! governs the role or group access), then `selfActivate`, `selfExtend` or `selfRenew` through
//! `service::pim::submit`, exactly as the API submits them. When the policy wants a fresh
//! second factor the form asks for an authenticator code or a passkey and proves it first
//! (`portal::proof`: `sessions::step_up` or `passkeys::finish_step_up`) — but only once
//! everything else would be accepted, so a form refused for another reason does not use up a
//! code.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use eligo_core::activation::Ticket;
use eligo_core::policy::Enablement;
use eligo_core::request::{
    ExpirationInfo, ExpirationType, RequestAction, RequestKind, RequestStatus, ScheduleInfo,
};
use eligo_core::schedule::{AssignmentType, ScheduleKind};
use eligo_core::target::Target as AccessTarget;
use eligo_store::{ScheduleQuery, Targets as Which};
use serde::Deserialize;

use super::{TargetFields, TargetView, Targets, TimeView, target_fields};
use crate::app::{App, AppState};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::notify::templates::{format_duration, format_time};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageError, PageResult, Section, redirect_with, render_status,
};
use crate::portal::proof::{self, Proof};
use crate::portal::session::Viewer;
use crate::service::pim::{Target, submit, views};
use crate::service::sessions::{self, SecondFactors};

/// The durations offered, each only when within the policy's maximum (which is offered too).
const STEPS_MINUTES: [i64; 5] = [30, 60, 120, 240, 480];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Activate,
    Extend,
    Renew,
}

impl Mode {
    fn action(self) -> RequestAction {
        match self {
            Mode::Activate => RequestAction::SelfActivate,
            Mode::Extend => RequestAction::SelfExtend,
            Mode::Renew => RequestAction::SelfRenew,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Mode::Activate => "/portal/roles/activate",
            Mode::Extend => "/portal/roles/extend",
            Mode::Renew => "/portal/roles/renew",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Mode::Activate => "Activate",
            Mode::Extend => "Extend",
            Mode::Renew => "Renew",
        }
    }
}

/// What the person typed, kept as typed.
#[derive(Debug, Default, Deserialize)]
pub struct ActivationForm {
    #[serde(flatten)]
    pub target: TargetFields,
    pub duration: Option<String>,
    pub justification: Option<String>,
    pub ticket_number: Option<String>,
    pub ticket_system: Option<String>,
    pub start: Option<String>,
    /// The browser's offset from UTC at the typed start, in minutes east (set by the portal's
    /// script, which also says which zone the field is in); absent, the start is UTC.
    pub start_offset: Option<String>,
    pub code: Option<String>,
    /// A passkey's answer (filled by `assets/passkey.js` when the person uses one).
    pub passkey: Option<String>,
}

/// A suggested duration (a shortcut: any length up to the maximum may be typed).
pub struct DurationOption {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "portal/me/activate.html")]
struct ActivatePage {
    chrome: Chrome,
    heading: String,
    verb: &'static str,
    action_path: &'static str,
    target: TargetView,
    hidden: Vec<(&'static str, String)>,
    /// What the policy asks, in sentences.
    requirements: Vec<String>,
    approval: Option<String>,
    /// Extend: the activation's current end.
    current_end: Option<TimeView>,
    durations: Vec<DurationOption>,
    /// The duration field's text: as typed, or the maximum in words.
    duration_text: String,
    maximum_words: String,
    justification: String,
    justification_required: bool,
    ticket_number: String,
    ticket_system: String,
    ticket_required: bool,
    allow_start: bool,
    start: String,
    ask_code: bool,
    /// Offer the person's passkey for the step-up.
    offer_passkey: bool,
    no_authenticator: bool,
    /// Security info, coming back to this very form once the authenticator is set up.
    enrol_link: String,
    errors: FieldErrors,
}

/// Everything the form is built from.
struct Context {
    target: AccessTarget,
    loaded: Arc<Target>,
    view: TargetView,
    mfa_required: bool,
    mfa_fresh: bool,
    factors: SecondFactors,
    current_end: Option<DateTime<Utc>>,
}

fn not_eligible(view: &TargetView, mode: Mode) -> PageError {
    let message = match mode {
        Mode::Activate => format!(
            "You are not eligible for {} at this scope right now, so there is nothing to activate. If you need it, ask an administrator to make you eligible.",
            view.phrase
        ),
        Mode::Extend => format!(
            "You have no running activation of {} to extend. Activate it first.",
            view.phrase
        ),
        Mode::Renew => format!(
            "You have no activation of {} that ended within the last day to renew. Activate it again instead.",
            view.phrase
        ),
    };
    PageError::Api(ApiError::of_status(
        StatusCode::BAD_REQUEST,
        "NothingToDo",
        message,
    ))
}

/// Loads the target and checks the viewer has something to activate, extend or renew.
async fn context(
    app: &App,
    caller: &Caller,
    fields: &TargetFields,
    mode: Mode,
) -> PageResult<Context> {
    let target = fields.target()?;
    let me = caller.id;
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let mut targets = Targets::default();
    let Some(loaded) = targets.get(&mut *tx, &target, me).await? else {
        return Err(PageError::Api(ApiError::not_found("role or group")));
    };
    let view = targets.view(&mut *tx, &target, me).await?;
    let (role_definition_id, scope) = target.fields();
    let mut current_end = None;
    let possible = match mode {
        Mode::Activate => {
            drop(tx);
            let eligible = views::holdings(
                app,
                caller,
                ScheduleKind::Eligible,
                views::HoldingQuery {
                    targets: Which::All,
                    principal_id: Some(me),
                    role_definition_id: Some(role_definition_id),
                    current_only: true,
                    ..Default::default()
                },
            )
            .await?;
            eligible
                .iter()
                .any(|h| eligo_core::scope::covers(&h.schedule.directory_scope_id, &scope))
        }
        Mode::Extend | Mode::Renew => {
            let mine = tx
                .list_role_schedules(&ScheduleQuery {
                    kind: Some(ScheduleKind::Active),
                    principal_ids: Some(vec![me]),
                    role_definition_id: Some(role_definition_id),
                    directory_scope_id: Some(scope.clone()),
                    targets: Which::All,
                })
                .await?;
            drop(tx);
            let activations = mine
                .iter()
                .filter(|s| s.assignment_type == AssignmentType::Activated);
            if mode == Mode::Extend {
                let running = activations
                    .filter(|s| !s.has_ended(now) && s.end_date_time != Some(s.start_date_time))
                    .max_by_key(|s| s.end_date_time);
                current_end = running.and_then(|s| s.end_date_time);
                running.is_some()
            } else {
                let mut any = false;
                for s in activations {
                    if s.end_date_time
                        .is_some_and(|e| e <= now && now - e <= TimeDelta::days(1))
                    {
                        any = true;
                    }
                }
                any
            }
        }
    };
    if !possible {
        return Err(not_eligible(&view, mode));
    }
    let mfa_required = super::demands_mfa(&loaded);
    let factors = sessions::second_factors(app, me).await?;
    Ok(Context {
        target,
        view,
        mfa_required,
        mfa_fresh: caller.mfa_is_fresh(now, app.config.mfa_freshness),
        factors,
        loaded,
        current_end,
    })
}

fn needs_approval(target: &Target, mode: Mode) -> bool {
    let a = &target.policy.rules.approval_end_user_assignment;
    match mode {
        Mode::Activate => a.is_approval_required,
        Mode::Extend => a.is_approval_required_for_extension,
        Mode::Renew => a.is_approval_required || a.is_approval_required_for_extension,
    }
}

fn justification_required(target: &Target) -> bool {
    let rules = &target.policy.rules;
    rules
        .enablement_end_user_assignment
        .contains(&Enablement::Justification)
        || (rules.approval_end_user_assignment.is_approval_required
            && rules
                .approval_end_user_assignment
                .is_requestor_justification_required)
}

fn ticket_required(target: &Target) -> bool {
    target
        .policy
        .rules
        .enablement_end_user_assignment
        .contains(&Enablement::Ticketing)
}

/// The policy's maximum, when it has one.
fn maximum(target: &Target) -> Option<TimeDelta> {
    let rule = &target.policy.rules.expiration_end_user_assignment;
    (rule.is_expiration_required && rule.maximum_duration > TimeDelta::zero())
        .then_some(rule.maximum_duration)
}

fn durations(app: &App, target: &Target) -> Vec<DurationOption> {
    let max = maximum(target).unwrap_or(TimeDelta::hours(8));
    let mut steps: Vec<TimeDelta> = STEPS_MINUTES
        .iter()
        .map(|m| TimeDelta::minutes(*m))
        .filter(|d| *d >= app.config.min_duration && *d <= max)
        .collect();
    if !steps.contains(&max) {
        steps.push(max);
    }
    steps
        .into_iter()
        .map(|d| {
            let value = format_duration(d);
            DurationOption {
                label: if d == max {
                    format!("{value} (the maximum)")
                } else {
                    value.clone()
                },
                value,
            }
        })
        .collect()
}

/// What the duration field shows: what was typed, else the maximum in words.
fn duration_text(target: &Target, typed: Option<&str>) -> String {
    match typed.map(str::trim).filter(|t| !t.is_empty()) {
        // An ISO value (from a link or an older form) is shown in words when it reads.
        Some(t) if t.starts_with('P') => eligo_core::duration_words::parse(t)
            .map(format_duration)
            .unwrap_or_else(|_| t.to_string()),
        Some(t) => t.to_string(),
        None => format_duration(maximum(target).unwrap_or(TimeDelta::hours(8))),
    }
}

fn page(
    app: &App,
    viewer: &Viewer,
    ctx: &Context,
    mode: Mode,
    form: &ActivationForm,
    mfa_fresh: bool,
    errors: FieldErrors,
) -> ActivatePage {
    let t = &ctx.loaded;
    let what = if ctx.view.is_group { "access" } else { "role" };
    let mut requirements = Vec::new();
    match maximum(t) {
        Some(max) => {
            requirements.push(format!("Lasts at most {} at a time.", format_duration(max)))
        }
        None => requirements.push("The policy sets no maximum duration.".to_string()),
    }
    if ctx.mfa_required {
        requirements.push(if mfa_fresh {
            "Needs a recent second factor: you verified recently, so nothing more is needed now."
                .to_string()
        } else if ctx.factors.passkeys && !ctx.factors.totp {
            "Needs your passkey.".to_string()
        } else if ctx.factors.passkeys {
            "Needs a code from your authenticator app, or your passkey.".to_string()
        } else {
            "Needs a code from your authenticator app.".to_string()
        });
    }
    if justification_required(t) {
        requirements.push("Needs a justification.".to_string());
    }
    if ticket_required(t) {
        requirements.push("Needs a ticket number and ticket system.".to_string());
    }
    let approval = needs_approval(t, mode)
        .then(|| format!("This {what} needs approval: your request will wait for an approver."));
    if approval.is_none() {
        requirements.push(format!(
            "No approval needed: the {what} is active as soon as you submit."
        ));
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    ActivatePage {
        chrome: viewer.chrome(Section::MyRoles),
        heading: format!("{} {}", mode.verb(), ctx.view.phrase),
        verb: mode.verb(),
        action_path: mode.path(),
        target: ctx.view.clone(),
        hidden: target_fields(&ctx.target),
        requirements,
        approval,
        current_end: ctx.current_end.map(TimeView::of),
        durations: durations(app, t),
        duration_text: duration_text(t, form.duration.as_deref()),
        maximum_words: format_duration(maximum(t).unwrap_or(TimeDelta::hours(8))),
        justification: text(&form.justification),
        justification_required: justification_required(t),
        ticket_number: text(&form.ticket_number),
        ticket_system: text(&form.ticket_system),
        ticket_required: ticket_required(t),
        allow_start: mode == Mode::Activate,
        start: text(&form.start),
        ask_code: ctx.mfa_required && !mfa_fresh && ctx.factors.totp,
        offer_passkey: ctx.mfa_required && !mfa_fresh && ctx.factors.passkeys,
        no_authenticator: ctx.mfa_required && !mfa_fresh && !ctx.factors.any(),
        enrol_link: format!(
            "/portal/security?{}",
            serde_urlencoded::to_string([(
                "next",
                format!("{}?{}", mode.path(), super::target_query(&ctx.target))
            )])
            .unwrap_or_default()
        ),
        errors,
    }
}

async fn show(
    app: AppState,
    viewer: Viewer,
    fields: TargetFields,
    mode: Mode,
) -> PageResult<Response> {
    let ctx = context(&app, &viewer.caller, &fields, mode).await?;
    let form = ActivationForm {
        target: fields,
        ..Default::default()
    };
    let fresh = ctx.mfa_fresh;
    Ok(render_status(
        StatusCode::OK,
        &page(&app, &viewer, &ctx, mode, &form, fresh, FieldErrors::new()),
    ))
}

pub async fn activate_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<TargetFields>,
) -> PageResult<Response> {
    show(app, viewer, q, Mode::Activate).await
}

pub async fn extend_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<TargetFields>,
) -> PageResult<Response> {
    show(app, viewer, q, Mode::Extend).await
}

pub async fn renew_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<TargetFields>,
) -> PageResult<Response> {
    show(app, viewer, q, Mode::Renew).await
}

pub async fn activate(
    State(app): State<AppState>,
    posted: Posted<ActivationForm>,
) -> PageResult<Response> {
    post(app, posted, Mode::Activate).await
}

pub async fn extend(
    State(app): State<AppState>,
    posted: Posted<ActivationForm>,
) -> PageResult<Response> {
    post(app, posted, Mode::Extend).await
}

pub async fn renew(
    State(app): State<AppState>,
    posted: Posted<ActivationForm>,
) -> PageResult<Response> {
    post(app, posted, Mode::Renew).await
}

/// Where each API refusal detail belongs on the form.
fn field_of(target: &str, code_field: bool) -> Option<&'static str> {
    match target {
        "justification" => Some("justification"),
        "ticketInfo" | "ticketInfo.ticketNumber" => Some("ticket_number"),
        "ticketInfo.ticketSystem" => Some("ticket_system"),
        t if t.starts_with("scheduleInfo.expiration") => Some("duration"),
        "scheduleInfo.startDateTime" => Some("start"),
        "mfa" if code_field => Some("code"),
        _ => None,
    }
}

/// A `datetime-local` value (no zone), read as UTC.
/// A `datetime-local` value in the viewer's zone (`offset` minutes east of UTC, as the browser
/// reported it for that very moment), or in UTC without one. An offset beyond any real zone
/// (±14 h) is refused rather than guessed.
fn parse_start(raw: &str, offset: Option<&str>) -> Option<DateTime<Utc>> {
    let offset = match offset.map(str::trim).filter(|o| !o.is_empty()) {
        None => 0,
        Some(o) => o.parse::<i64>().ok().filter(|m| m.abs() <= 14 * 60)?,
    };
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
        .map(|n| n.and_utc() - TimeDelta::minutes(offset))
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

async fn post(app: AppState, posted: Posted<ActivationForm>, mode: Mode) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let ctx = match context(&app, &viewer.caller, &form.target, mode).await {
        Ok(ctx) => ctx,
        // A double submit of an activation whose eligibility has been used up, and the like:
        // the clear page says why; nothing was changed.
        Err(e) => return Err(e),
    };
    let now = app.clock.now();
    let mut errors = FieldErrors::new();

    let duration = match clean(&form.duration) {
        None => {
            errors.add("duration", "Choose how long you need it.");
            None
        }
        Some(raw) => match eligo_core::duration_words::parse(&raw) {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(
                    "duration",
                    format!(
                        "'{raw}' is not a duration: write how long you need it, like 90 minutes or 3h, or pick one of the suggestions."
                    ),
                );
                None
            }
        },
    };
    let start = match (mode, clean(&form.start)) {
        (Mode::Activate, Some(raw)) => match parse_start(&raw, form.start_offset.as_deref()) {
            Some(t) => Some(t),
            None => {
                errors.add(
                    "start",
                    "Give the start as a date and time, like 2026-11-22T14:30.",
                );
                None
            }
        },
        _ => None,
    };
    let ticket_number = clean(&form.ticket_number);
    let ticket_system = clean(&form.ticket_system);
    let ticket = (ticket_number.is_some() || ticket_system.is_some()).then(|| Ticket {
        number: ticket_number.clone().unwrap_or_default(),
        system: ticket_system.clone().unwrap_or_default(),
    });
    let need_code = ctx.mfa_required && !ctx.mfa_fresh;
    // Refusals about the second factor go beside its field (the code's, or the passkey's note).
    let ask_code = need_code && ctx.factors.any();

    let (role_definition_id, directory_scope_id) = ctx.target.fields();
    let new = |validation_only: bool| submit::NewRequest {
        kind: RequestKind::Assignment,
        action: mode.action(),
        principal_id: viewer.caller.id,
        role_definition_id,
        directory_scope_id: directory_scope_id.clone(),
        justification: clean(&form.justification),
        ticket: ticket.clone(),
        schedule_info: duration.map(|d| ScheduleInfo {
            start_date_time: start,
            expiration: ExpirationInfo {
                kind: ExpirationType::AfterDuration,
                end_date_time: None,
                duration: Some(d),
            },
        }),
        is_validation_only: validation_only,
    };

    let refuse = |errors: FieldErrors, status: StatusCode, fresh: bool| {
        Ok(render_status(
            status,
            &page(&app, &viewer, &ctx, mode, &form, fresh, errors),
        ))
    };

    if !errors.is_empty() {
        return refuse(errors, StatusCode::BAD_REQUEST, ctx.mfa_fresh);
    }

    let mut caller = viewer.caller.clone();
    if need_code {
        // Would everything else be accepted? A dry run with the second factor taken as proven
        // (`isValidationOnly` writes nothing), so a refused form does not use up a code.
        let mut proven = caller.clone();
        proven.session.last_mfa_at = Some(now);
        if let Err(e) = submit::submit(&app, &proven, new(true)).await {
            if e.status().is_server_error() {
                return Err(e.into());
            }
            errors.absorb(&e, |t| field_of(t, ask_code));
        }
        if !ctx.factors.any() {
            errors.add_general(
                "This needs a code from an authenticator app or a passkey, and you have set up neither. Set one up under Security info (/portal/security), then come back.",
            );
            return refuse(errors, StatusCode::BAD_REQUEST, false);
        }
        let given = Proof::of(form.code.as_deref(), form.passkey.as_deref());
        match &given {
            Proof::Missing if ctx.factors.totp => errors.add(
                "code",
                "Enter the six-digit code your authenticator app shows.",
            ),
            Proof::Missing => errors.add(
                "code",
                "Use your passkey: submit again and answer your browser's prompt.",
            ),
            Proof::Code(code) => {
                if let Some(problem) = proof::code_shape_problem(code) {
                    errors.add("code", problem);
                }
            }
            Proof::Passkey(_) | Proof::Unreadable => {}
        }
        if !errors.is_empty() {
            return refuse(errors, StatusCode::BAD_REQUEST, false);
        }
        match proof::step_up(&app, &caller, &given).await {
            Ok(at) => caller.session.last_mfa_at = Some(at),
            Err(e) if e.code == "MfaNotEnrolled" => {
                errors.add_general(
                    "Set up an authenticator app or a passkey under Security info (/portal/security) first.",
                );
                return refuse(errors, StatusCode::BAD_REQUEST, false);
            }
            Err(e) if e.status().is_client_error() => {
                errors.add("code", proof::refusal_text(&given, &e));
                let status = if e.status() == StatusCode::TOO_MANY_REQUESTS {
                    e.status()
                } else {
                    StatusCode::BAD_REQUEST
                };
                return refuse(errors, status, false);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let fresh = caller.mfa_is_fresh(now, app.config.mfa_freshness);

    match submit::submit(&app, &caller, new(false)).await {
        Ok(request) => {
            let phrase = &ctx.view.phrase;
            if request.status == RequestStatus::PendingApproval {
                let flash = Flash::info(format!("Your request for {phrase} waits for approval."));
                return Ok(redirect_with(&app, "/portal/requests", flash));
            }
            let granted = request.granted_schedule.as_ref();
            let start = granted.and_then(|g| g.start_date_time);
            let end = granted.and_then(|g| g.expiration.end_date_time);
            let subject = if ctx.view.is_group {
                let mut s = phrase.clone();
                if let Some(first) = s.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                s
            } else {
                phrase.clone()
            };
            // "Now" as the request was decided: the clock has moved since this handler began.
            let decided_at = app.clock.now();
            let text = match (start, end) {
                (Some(s), Some(e)) if s > decided_at => format!(
                    "{subject} is scheduled from {} until {}.",
                    format_time(s),
                    format_time(e)
                ),
                (_, Some(e)) => format!("{subject} is active until {}.", format_time(e)),
                _ => format!("{subject} is active."),
            };
            Ok(redirect_with(&app, "/portal/roles", Flash::success(text)))
        }
        Err(e) if e.status().is_client_error() => {
            errors.absorb(&e, |t| field_of(t, ask_code && !fresh));
            refuse(errors, e.status(), fresh)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_is_read_in_the_viewers_zone() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            parse_start("2026-11-22T14:30", None),
            Some(utc("2026-11-22T14:30:00Z"))
        );
        // Berlin in winter (UTC+1), New York (UTC-5), India (UTC+5:30).
        assert_eq!(
            parse_start("2026-11-22T14:30", Some("60")),
            Some(utc("2026-11-22T13:30:00Z"))
        );
        assert_eq!(
            parse_start("2026-11-22T14:30", Some("-300")),
            Some(utc("2026-11-22T19:30:00Z"))
        );
        assert_eq!(
            parse_start("2026-11-22T14:30:00", Some("330")),
            Some(utc("2026-11-22T09:00:00Z"))
        );
        for bad in ["abc", "900", "-841", "1.5"] {
            assert_eq!(parse_start("2026-11-22T14:30", Some(bad)), None, "{bad}");
        }
        assert_eq!(parse_start("tomorrow", Some("60")), None);
    }
}
