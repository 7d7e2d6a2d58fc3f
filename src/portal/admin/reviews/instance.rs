//! One instance of a review for its administrators: progress, the decisions (the latest about
//! each access), Stop / Apply / Reset / Send reminder through `service::reviews::instances`,
//! and the decisions as CSV. The use cases decide who may act (and ask a fresh second factor);
//! a stale one goes through the portal's step-up page and back here.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use eligo_core::review::{Decision, DecisionItem, InstanceStatus};
use serde::Deserialize;
use uuid::Uuid;

use super::gate;
use crate::app::AppState;
use crate::error::ApiError;
use crate::portal::admin::directory::{Shown, path_id};
use crate::portal::audit::csv::cell;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{Chrome, PageResult, Section, redirect_with, render, sentence};
use crate::portal::reviews::view::{access_phrase, decision_badge, decision_text};
use crate::portal::session::Viewer;
use crate::service::reviews::{decisions, definitions, instances};

struct Row {
    principal: String,
    upn: String,
    access: String,
    recommendation: &'static str,
    reason: String,
    decision: &'static str,
    badge: &'static str,
    reviewed_by: String,
    justification: String,
    applied: &'static str,
}

impl Row {
    fn of(d: &DecisionItem) -> Self {
        Self {
            principal: d.principal.display_name.clone(),
            upn: d.principal.user_principal_name.clone().unwrap_or_default(),
            access: access_phrase(d),
            recommendation: d.recommendation.as_str(),
            reason: d.recommendation_reason.clone(),
            decision: decision_text(d.decision),
            badge: decision_badge(d.decision),
            reviewed_by: d
                .reviewed_by
                .as_ref()
                .map(|p| p.display_name.clone())
                .unwrap_or_default(),
            justification: d.justification.clone().unwrap_or_default(),
            applied: d.apply_result.as_str(),
        }
    }
}

#[derive(Template)]
#[template(path = "portal/admin/reviews/instance.html")]
struct InstancePage {
    chrome: Chrome,
    def_id: Uuid,
    name: String,
    instance_id: Uuid,
    start: Shown,
    end: Shown,
    status: &'static str,
    in_progress: bool,
    completed: bool,
    decided: usize,
    rows: Vec<Row>,
}

fn ids(def: &str, id: &str) -> PageResult<(Uuid, Uuid)> {
    Ok((
        path_id(def, "access review")?,
        path_id(id, "access review instance")?,
    ))
}

async fn latest(
    app: &AppState,
    viewer: &Viewer,
    def: Uuid,
    id: Uuid,
) -> PageResult<Vec<DecisionItem>> {
    Ok(decisions::list(
        app,
        &viewer.caller,
        def,
        id,
        decisions::Which::Latest,
        false,
    )
    .await?)
}

pub async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((def, id)): Path<(String, String)>,
) -> PageResult<Response> {
    gate(&viewer)?;
    let (def_id, id) = ids(&def, &id)?;
    let def = definitions::get(&app, &viewer.caller, def_id).await?;
    let instance = instances::get(&app, &viewer.caller, def_id, id).await?;
    let items = latest(&app, &viewer, def_id, id).await?;
    Ok(render(&InstancePage {
        chrome: viewer.chrome(Section::AccessReviews),
        def_id,
        name: def.display_name,
        instance_id: id,
        start: Shown::of(instance.start_date_time),
        end: Shown::of(instance.end_date_time),
        status: instance.status.as_str(),
        in_progress: instance.is_in_progress(),
        completed: instance.status == InstanceStatus::Completed,
        decided: items
            .iter()
            .filter(|d| d.decision != Decision::NotReviewed)
            .count(),
        rows: items.iter().map(Row::of).collect(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct ActForm {}

pub async fn act(
    State(app): State<AppState>,
    Path((def, id, action)): Path<(String, String, String)>,
    posted: Posted<ActForm>,
) -> PageResult<Response> {
    let Posted { viewer, .. } = posted;
    gate(&viewer)?;
    let (def_id, id) = ids(&def, &id)?;
    let caller = &viewer.caller;
    let done = match action.as_str() {
        "stop" => instances::stop(&app, caller, def_id, id)
            .await
            .map(|()| "The review was stopped: its decisions are final.".to_string()),
        "apply" => instances::apply(&app, caller, def_id, id)
            .await
            .map(|n| format!("Decisions applied: {n} removed.")),
        "reset" => instances::reset(&app, caller, def_id, id)
            .await
            .map(|()| "Every decision was reset to Not reviewed.".to_string()),
        "remind" => instances::send_reminder(&app, caller, def_id, id)
            .await
            .map(|n| match n {
                0 => {
                    "Nobody was reminded: the review's mail is off, or every reviewer has decided."
                        .to_string()
                }
                1 => "1 reviewer who has not finished was reminded.".to_string(),
                n => format!("{n} reviewers who have not finished were reminded."),
            }),
        _ => return Err(ApiError::not_found("action").into()),
    };
    let back = format!("/portal/admin/reviews/{def_id}/instances/{id}");
    match done {
        Ok(text) => Ok(redirect_with(&app, &back, Flash::success(text))),
        Err(e) if e.details.iter().any(|d| d.code == "MfaRequired") => {
            let next =
                percent_encoding::utf8_percent_encode(&back, percent_encoding::NON_ALPHANUMERIC);
            Ok(Redirect::to(&format!("/portal/step-up?next={next}")).into_response())
        }
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            Ok(redirect_with(
                &app,
                &back,
                Flash::warning(format!(
                    "{} Nothing was changed.",
                    sentence(e.message.clone())
                )),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

const HEADER: [&str; 13] = [
    "principalId",
    "principal",
    "userPrincipalName",
    "access",
    "resourceId",
    "recommendation",
    "recommendationReason",
    "decision",
    "justification",
    "reviewedBy",
    "reviewedDateTime",
    "applyResult",
    "appliedDateTime",
];

fn csv(items: &[DecisionItem]) -> String {
    let line = |cells: Vec<String>| {
        let mut l = cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
        l.push_str("\r\n");
        l
    };
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let mut out = line(HEADER.iter().map(|h| h.to_string()).collect());
    for d in items {
        out.push_str(&line(vec![
            d.principal.id.to_string(),
            d.principal.display_name.clone(),
            d.principal.user_principal_name.clone().unwrap_or_default(),
            access_phrase(d),
            d.resource.id.to_string(),
            d.recommendation.as_str().to_string(),
            d.recommendation_reason.clone(),
            d.decision.as_str().to_string(),
            d.justification.clone().unwrap_or_default(),
            d.reviewed_by
                .as_ref()
                .map(|p| p.display_name.clone())
                .unwrap_or_default(),
            time(d.reviewed_date_time),
            d.apply_result.as_str().to_string(),
            time(d.applied_date_time),
        ]));
    }
    out
}

pub async fn export(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((def, id)): Path<(String, String)>,
) -> PageResult<Response> {
    gate(&viewer)?;
    let (def_id, id) = ids(&def, &id)?;
    let items = latest(&app, &viewer, def_id, id).await?;
    let mut resp = (StatusCode::OK, csv(&items)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"access-review-{id}.csv\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
