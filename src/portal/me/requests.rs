//! "My requests": the viewer's requests for roles and group accesses, newest first, with what
//! was asked, the status in words, and the approval stages so far; Cancel for one still
//! waiting (`approve::cancel`, as the API's cancel).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::approval::{ReviewResult, StepStatus};
use eligo_core::request::{RequestAction, RequestStatus, ScheduleRequest};
use eligo_store::{Page, RequestQuery, Targets as Which};
use serde::Deserialize;
use uuid::Uuid;

use super::{TargetView, Targets, TimeView};
use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::notify::templates::format_duration;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageError, PageResult, Section, redirect_with, render_status,
};
use crate::portal::session::Viewer;
use crate::service::pim::{approve, views};

/// How many requests the page lists (newest first).
const SHOWN: i64 = 100;

pub struct ReviewView {
    pub who: String,
    pub decision: &'static str,
    pub badge: &'static str,
    pub at: TimeView,
    pub justification: Option<String>,
}

pub struct StageView {
    pub label: String,
    pub status: &'static str,
    pub badge: &'static str,
    pub deadline: Option<TimeView>,
    pub reviews: Vec<ReviewView>,
}

pub struct RequestRow {
    pub id: String,
    pub target: TargetView,
    pub action: &'static str,
    pub status: &'static str,
    pub badge: &'static str,
    pub detail: Option<String>,
    pub duration: Option<String>,
    pub asked_start: Option<TimeView>,
    pub granted_start: Option<TimeView>,
    pub granted_end: Option<TimeView>,
    pub justification: Option<String>,
    pub ticket: Option<String>,
    pub created: TimeView,
    pub stages: Vec<StageView>,
    pub cancelable: bool,
}

#[derive(Template)]
#[template(path = "portal/me/requests.html")]
struct RequestsPage {
    chrome: Chrome,
    rows: Vec<RequestRow>,
    more: bool,
    errors: FieldErrors,
}

fn status_words(s: RequestStatus) -> (&'static str, &'static str) {
    match s {
        RequestStatus::PendingApproval => ("Waiting for approval", "badge-warn"),
        RequestStatus::PendingAdminDecision => ("Waiting for an administrator", "badge-warn"),
        RequestStatus::Granted
        | RequestStatus::Provisioned
        | RequestStatus::ScheduleCreated
        | RequestStatus::PendingProvisioning
        | RequestStatus::PendingScheduleCreation => ("Granted", "badge-ok"),
        RequestStatus::Denied => ("Denied", "badge-bad"),
        RequestStatus::Failed => ("Failed", "badge-bad"),
        RequestStatus::Canceled => ("Canceled", "badge-info"),
        RequestStatus::Revoked => ("Ended", "badge-info"),
    }
}

fn action_words(a: RequestAction) -> &'static str {
    match a {
        RequestAction::SelfActivate => "Activate",
        RequestAction::SelfDeactivate => "Deactivate",
        RequestAction::SelfExtend => "Extend",
        RequestAction::SelfRenew => "Renew",
        RequestAction::AdminAssign => "Assigned by an administrator",
        RequestAction::AdminUpdate => "Changed by an administrator",
        RequestAction::AdminRemove => "Removed by an administrator",
        RequestAction::AdminExtend => "Extended by an administrator",
        RequestAction::AdminRenew => "Renewed by an administrator",
    }
}

fn name_of(app: &App, id: Uuid) -> String {
    app.access
        .principal(id)
        .map(|(_, n)| n)
        .unwrap_or_else(|| "someone no longer in the directory".to_string())
}

fn stages(app: &App, r: &ScheduleRequest) -> Vec<StageView> {
    let Some(approval) = &r.approval else {
        return Vec::new();
    };
    approval
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let (status, badge) = match (step.status, step.result()) {
                (StepStatus::NotStarted, _) => ("Not started", "badge-info"),
                (StepStatus::InProgress, _) if r.status == RequestStatus::PendingApproval => {
                    ("Waiting for a decision", "badge-warn")
                }
                (StepStatus::InProgress, _) => ("Not decided", "badge-info"),
                (StepStatus::Completed, ReviewResult::Approve) => ("Approved", "badge-ok"),
                (StepStatus::Completed, ReviewResult::Deny) => ("Denied", "badge-bad"),
                (StepStatus::Completed, _) => ("Completed", "badge-info"),
            };
            StageView {
                label: format!("Stage {}", i + 1),
                status,
                badge,
                deadline: (step.status == StepStatus::InProgress
                    && r.status == RequestStatus::PendingApproval)
                    .then(|| step.deadline())
                    .flatten()
                    .map(TimeView::of),
                reviews: step
                    .reviews
                    .iter()
                    .map(|rv| {
                        let (decision, badge) = match rv.review_result {
                            ReviewResult::Approve => ("approved", "badge-ok"),
                            ReviewResult::Deny => ("denied", "badge-bad"),
                            _ => ("reviewed", "badge-info"),
                        };
                        ReviewView {
                            who: name_of(app, rv.reviewed_by),
                            decision,
                            badge,
                            at: TimeView::of(rv.reviewed_date_time),
                            justification: rv.justification.clone(),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

async fn build(app: &App, viewer: &Viewer, errors: FieldErrors) -> PageResult<RequestsPage> {
    let me = viewer.caller.id;
    let now = app.clock.now();
    let mut requests = views::requests(
        app,
        &viewer.caller,
        RequestQuery {
            principal_id: Some(me),
            targets: Which::All,
            ..Default::default()
        },
        Page {
            top: SHOWN + 1,
            skip: 0,
        },
    )
    .await?;
    let more = requests.len() as i64 > SHOWN;
    requests.truncate(SHOWN as usize);
    let mut tx = app.store.read().await?;
    let mut targets = Targets::default();
    let mut rows = Vec::with_capacity(requests.len());
    for r in &requests {
        let (status, badge) = status_words(r.status);
        let granted = r.granted_schedule.as_ref();
        // A scheduled activation that has not started can be withdrawn too (as the API
        // allows); the use case decides, the page only offers the button where it may work.
        let scheduled = r.status == RequestStatus::Granted
            && granted
                .and_then(|g| g.start_date_time)
                .is_some_and(|s| s > now)
            && r.action == RequestAction::SelfActivate;
        rows.push(RequestRow {
            id: r.id.to_string(),
            target: targets.view(&mut *tx, &r.target(), me).await?,
            action: if r.action == RequestAction::SelfExtend
                && r.kind == eligo_core::request::RequestKind::Eligibility
            {
                "Extend the eligibility (asks an administrator)"
            } else {
                action_words(r.action)
            },
            status,
            badge,
            detail: r.status_detail.clone(),
            duration: r.schedule_info.expiration.duration.map(format_duration),
            asked_start: r.schedule_info.start_date_time.map(TimeView::of),
            granted_start: granted.and_then(|g| g.start_date_time).map(TimeView::of),
            granted_end: granted
                .and_then(|g| g.expiration.end_date_time)
                .map(TimeView::of),
            justification: r.justification.clone(),
            ticket: r
                .ticket_info
                .as_ref()
                .map(|t| format!("{} ({})", t.number, t.system)),
            created: TimeView::of(r.created_date_time),
            stages: stages(app, r),
            cancelable: matches!(
                r.status,
                RequestStatus::PendingApproval | RequestStatus::PendingAdminDecision
            ) || scheduled,
        });
    }
    Ok(RequestsPage {
        chrome: viewer.chrome(Section::MyRequests),
        rows,
        more,
        errors,
    })
}

pub async fn page(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let page = build(&app, &viewer, FieldErrors::new()).await?;
    Ok(render_status(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct CancelForm {
    id: Option<String>,
}

pub async fn cancel(
    State(app): State<AppState>,
    posted: Posted<CancelForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let Some(id) = form
        .id
        .as_deref()
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
    else {
        return Err(PageError::Api(ApiError::not_found("request")));
    };
    match approve::cancel(&app, &viewer.caller, id).await {
        Ok(()) => {
            let request = views::request(&app, &viewer.caller, id).await?;
            let mut tx = app.store.read().await?;
            let view = Targets::default()
                .view(&mut *tx, &request.target(), viewer.caller.id)
                .await?;
            drop(tx);
            Ok(redirect_with(
                &app,
                "/portal/requests",
                Flash::success(format!("Your request for {} is canceled.", view.phrase)),
            ))
        }
        Err(e) if e.status() == StatusCode::NOT_FOUND => Err(e.into()),
        Err(e) if e.status().is_client_error() => {
            let mut errors = FieldErrors::new();
            errors.absorb(&e, |_| None);
            let status = e.status();
            let page = build(&app, &viewer, errors).await?;
            Ok(render_status(status, &page))
        }
        Err(e) => Err(e.into()),
    }
}
