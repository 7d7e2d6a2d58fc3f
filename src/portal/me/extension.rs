//! "Request extension": the holder of an eligibility or an active assignment an administrator
//! gave, ending within 14 days, asks administrators to extend it — `selfExtend` through
//! `service::pim::submit`, as the API takes it. The request waits for an administrator (My
//! roles and My requests show it, with Cancel); nothing is granted here.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::request::{
    ExpirationInfo, ExpirationType, RequestAction, RequestKind, ScheduleInfo,
};
use serde::Deserialize;

use super::{TargetFields, TargetView, Targets, TimeView, target_fields};
use crate::app::{App, AppState};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::notify::templates::format_duration;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageError, PageResult, Section, redirect_with, render_status,
};
use crate::portal::session::Viewer;
use crate::service::pim::{extension, submit};

#[derive(Debug, Default, Deserialize)]
pub struct ExtensionForm {
    #[serde(flatten)]
    pub target: TargetFields,
    /// `eligible` or `active`.
    pub kind: Option<String>,
    pub duration: Option<String>,
    pub justification: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/me/request_extension.html")]
struct ExtensionPage {
    chrome: Chrome,
    heading: String,
    target: TargetView,
    kind_label: &'static str,
    hidden: Vec<(&'static str, String)>,
    end: TimeView,
    ends_in: String,
    maximum: String,
    duration: String,
    justification: String,
    errors: FieldErrors,
}

struct Context {
    kind: RequestKind,
    view: TargetView,
    hidden: Vec<(&'static str, String)>,
    end: chrono::DateTime<chrono::Utc>,
    maximum: chrono::TimeDelta,
}

fn kind_of(raw: Option<&str>) -> RequestKind {
    match raw.map(str::trim) {
        Some("active") => RequestKind::Assignment,
        _ => RequestKind::Eligibility,
    }
}

async fn context(app: &App, caller: &Caller, form: &ExtensionForm) -> PageResult<Context> {
    let target = form.target.target()?;
    let kind = kind_of(form.kind.as_deref());
    let me = caller.id;
    let now = app.clock.now();
    let (role, scope) = target.fields();
    let mut tx = app.store.read().await?;
    let mut targets = Targets::default();
    let Some(loaded) = targets.get(&mut *tx, &target, me).await? else {
        return Err(PageError::Api(ApiError::not_found("role or group")));
    };
    let view = targets.view(&mut *tx, &target, me).await?;
    let given = extension::given(&mut *tx, kind, me, role, &scope, now).await?;
    drop(tx);
    let Some(end) = given.and_then(|s| s.end_date_time) else {
        return Err(PageError::Api(ApiError::of_status(
            StatusCode::BAD_REQUEST,
            "NothingToDo",
            format!(
                "You have no {} assignment of {} with an end, so there is nothing to extend.",
                match kind {
                    RequestKind::Eligibility => "eligible",
                    RequestKind::Assignment => "active",
                },
                view.phrase
            ),
        )));
    };
    let rule = match kind {
        RequestKind::Eligibility => &loaded.policy.rules.expiration_admin_eligibility,
        RequestKind::Assignment => &loaded.policy.rules.expiration_admin_assignment,
    };
    let mut hidden = target_fields(&target);
    hidden.push((
        "kind",
        match kind {
            RequestKind::Eligibility => "eligible".into(),
            RequestKind::Assignment => "active".into(),
        },
    ));
    Ok(Context {
        kind,
        view,
        hidden,
        end,
        maximum: rule.maximum_duration,
    })
}

fn page(
    app: &App,
    viewer: &Viewer,
    ctx: &Context,
    form: &ExtensionForm,
    errors: FieldErrors,
) -> ExtensionPage {
    let now = app.clock.now();
    let kind_label = match ctx.kind {
        RequestKind::Eligibility => "Eligibility",
        RequestKind::Assignment => "Active assignment",
    };
    ExtensionPage {
        chrome: viewer.chrome(Section::MyRoles),
        heading: format!("Request an extension of {}", ctx.view.phrase),
        target: ctx.view.clone(),
        kind_label,
        hidden: ctx.hidden.clone(),
        end: TimeView::of(ctx.end),
        ends_in: eligo_core::assignment::ends_in_words(ctx.end, now),
        maximum: format_duration(ctx.maximum),
        duration: form
            .duration
            .clone()
            .unwrap_or_else(|| format_duration(ctx.maximum)),
        justification: form.justification.clone().unwrap_or_default(),
        errors,
    }
}

pub async fn form(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ExtensionForm>,
) -> PageResult<Response> {
    let ctx = context(&app, &viewer.caller, &q).await?;
    Ok(render_status(
        StatusCode::OK,
        &page(&app, &viewer, &ctx, &q, FieldErrors::new()),
    ))
}

pub async fn request(
    State(app): State<AppState>,
    posted: Posted<ExtensionForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let ctx = context(&app, &viewer.caller, &form).await?;
    let mut errors = FieldErrors::new();
    let raw = form.duration.as_deref().unwrap_or("").trim();
    let duration = match eligo_core::duration_words::parse(raw) {
        Ok(d) => Some(d),
        Err(_) => {
            errors.add(
                "duration",
                format!(
                    "'{raw}' is not a duration: write how long you need it from now, like 90 days or 6 months as 180 days."
                ),
            );
            None
        }
    };
    let mut status = StatusCode::BAD_REQUEST;
    if let Some(d) = duration {
        let target = form.target.target()?;
        let (role_definition_id, directory_scope_id) = target.fields();
        let new = submit::NewRequest {
            kind: ctx.kind,
            action: RequestAction::SelfExtend,
            principal_id: viewer.caller.id,
            role_definition_id,
            directory_scope_id,
            justification: form.justification.clone().filter(|j| !j.trim().is_empty()),
            ticket: None,
            schedule_info: Some(ScheduleInfo {
                start_date_time: None,
                expiration: ExpirationInfo {
                    kind: ExpirationType::AfterDuration,
                    end_date_time: None,
                    duration: Some(d),
                },
            }),
            is_validation_only: false,
        };
        match submit::submit(&app, &viewer.caller, new).await {
            Ok(_) => {
                return Ok(redirect_with(
                    &app,
                    "/portal/roles",
                    Flash::info(format!(
                        "Your request to extend {} waits for an administrator.",
                        ctx.view.phrase
                    )),
                ));
            }
            Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
                status = e.status();
                errors.absorb(&e, |t| match t {
                    "justification" => Some("justification"),
                    t if t.starts_with("scheduleInfo.expiration") => Some("duration"),
                    _ => None,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(render_status(
        status,
        &page(&app, &viewer, &ctx, &form, errors),
    ))
}
