//! The Alerts page (PIM alerts, Graph beta `roleManagementAlerts`): every alert, active ones
//! first, with its severity, open incidents (each said in a line: who, what role, counts) and
//! last scan; a Refresh button, Remediate on the incidents of definitions that have a fix, and
//! each alert's configuration form. Reading goes through `pim_alerts::reader` (refused without
//! `alerts/read`), every action through the same `service::pim_alerts` use cases as the API
//! (`alerts/update` with a fresh second factor, audited there), so the page decides nothing.

mod config;
mod view;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use eligo_core::pim_alerts::{AlertKind, Configuration};
use serde::Deserialize;

use crate::app::AppState;
use crate::notify::alert_mail::ALERTS_PAGE;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    FieldErrors, PageError, PageResult, redirect_with, render, render_status, sentence,
};
use crate::service::pim_alerts::{self as service, RefreshOf};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(ALERTS_PAGE, get(list))
        .route("/portal/admin/alerts/refresh", post(refresh))
        .route("/portal/admin/alerts/{id}/configure", post(configure))
        .route(
            "/portal/admin/alerts/{id}/incidents/{incident}/remediate",
            post(remediate),
        )
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

async fn list(
    State(app): State<AppState>,
    viewer: crate::portal::session::Viewer,
) -> PageResult<Response> {
    let page = view::page(&app, &viewer, None).await?;
    Ok(render(&page))
}

async fn refresh(State(app): State<AppState>, posted: Posted<Empty>) -> PageResult<Response> {
    let of = RefreshOf::Scope {
        scope_id: eligo_core::pim_alerts::SCOPE_ID,
        scope_type: eligo_core::pim_alerts::SCOPE_TYPE,
    };
    let done = service::refresh(&app, &posted.viewer.caller, of).await?;
    Ok(redirect_with(
        &app,
        ALERTS_PAGE,
        Flash::success(format!(
            "Every alert was scanned: {} incident{} raised, {} resolved.",
            done.raised,
            if done.raised == 1 { "" } else { "s" },
            done.resolved
        )),
    ))
}

async fn remediate(
    State(app): State<AppState>,
    Path((id, incident)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> PageResult<Response> {
    match service::remediate(&app, &posted.viewer.caller, &id, &incident).await {
        Ok(()) => Ok(redirect_with(
            &app,
            ALERTS_PAGE,
            Flash::success("The fix was applied and the alert scanned again."),
        )),
        // Refusals about the incident itself (no fix, resolved already, a conflict) are said
        // on the page; a missing permission or factor ends on the error page.
        Err(e) if matches!(e.status(), StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => Ok(
            redirect_with(&app, ALERTS_PAGE, Flash::warning(sentence(e.message))),
        ),
        Err(e) => Err(PageError::Api(e)),
    }
}

async fn configure(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<config::ConfigForm>,
) -> PageResult<Response> {
    let viewer = posted.viewer;
    // Which thresholds the alert has comes from its definition, not from a read as the viewer:
    // the use case alone decides (and audits) whether the viewer may change it. An id naming
    // no alert sends `isEnabled` only, and the use case answers 404.
    let tenant = service::tenant_id(&app).await?;
    let shape = AlertKind::from_id(tenant, &id)
        .map(|kind| Configuration::default_for(kind).to_graph(tenant, kind))
        .unwrap_or_default();
    let body = posted.form.body(&shape);
    match service::update_configuration(&app, &viewer.caller, &id, &body).await {
        Ok(_) => Ok(redirect_with(
            &app,
            ALERTS_PAGE,
            Flash::success("The alert's configuration was saved; the next scan applies it."),
        )),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let mut errors = FieldErrors::new();
            errors.absorb(&e, config::field_of);
            let refused = view::Refused { id, errors, body };
            let page = view::page(&app, &viewer, Some(refused)).await?;
            Ok(render_status(StatusCode::BAD_REQUEST, &page))
        }
        Err(e) => Err(PageError::Api(e)),
    }
}
