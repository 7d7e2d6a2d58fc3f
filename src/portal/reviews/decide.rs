//! A reviewer's acts in the portal: one decision (`decisions::record`) or every recommendation
//! accepted (`decisions::batch`). The use cases check everything (a reviewer of that decision,
//! the stage still running, a justification when the review asks for one, a fresh second
//! factor); this only reads the form and words the answer.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use eligo_core::review::Decision;
use serde::Deserialize;
use uuid::Uuid;

use super::{MAX_JUSTIFICATION, detail_page, mine, parse_id};
use crate::app::{App, AppState};
use crate::error::{ApiError, Kind};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{FieldErrors, PageResult, redirect_with, render_status, sentence};
use crate::portal::session::Viewer;
use crate::service::reviews::decisions;

#[derive(Debug, Deserialize)]
pub struct DecideForm {
    decision: Option<String>,
    justification: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {}

/// The step-up page, coming back to the instance.
pub fn step_up_href(instance: Uuid) -> String {
    format!("/portal/step-up?next=%2Fportal%2Freviews%2F{instance}")
}

fn wants_step_up(e: &ApiError) -> bool {
    e.details.iter().any(|d| d.code == "MfaRequired")
}

fn back(instance: Uuid) -> String {
    format!("/portal/reviews/{instance}")
}

pub async fn record(
    State(app): State<AppState>,
    Path((id, decision_id)): Path<(String, String)>,
    posted: Posted<DecideForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = parse_id(&id)?;
    let decision_id = parse_id(&decision_id)?;
    let (def, _) = mine(&app, &viewer, id).await?;
    let field = format!("justification-{decision_id}");
    let mut errors = FieldErrors::new();
    let decision = match form
        .decision
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "approve" => Some(Decision::Approve),
        "deny" => Some(Decision::Deny),
        "dontknow" => Some(Decision::DontKnow),
        _ => {
            errors.add(&field, "Choose Approve, Deny or Don't know.");
            None
        }
    };
    let justification = form.justification.unwrap_or_default().trim().to_string();
    if justification.chars().count() > MAX_JUSTIFICATION {
        errors.add(
            &field,
            format!("The justification is too long: at most {MAX_JUSTIFICATION} characters."),
        );
    }
    let Some(decision) = decision.filter(|_| errors.is_empty()) else {
        return refused(&app, &viewer, id, errors).await;
    };
    let given = (!justification.is_empty()).then_some(justification);
    match decisions::record(
        &app,
        &viewer.caller,
        def.id,
        id,
        decision_id,
        decision,
        given,
    )
    .await
    {
        Ok(item) => Ok(redirect_with(
            &app,
            &back(id),
            Flash::success(format!(
                "Recorded: {} for {} ({}).",
                super::view::decision_text(item.decision),
                item.principal.display_name,
                super::view::access_phrase(&item),
            )),
        )),
        Err(e) if wants_step_up(&e) => Ok(Redirect::to(&step_up_href(id)).into_response()),
        Err(e) if e.kind == Kind::Invalid => {
            errors.add(&field, e.message);
            refused(&app, &viewer, id, errors).await
        }
        Err(e) if e.kind == Kind::Conflict => {
            errors.add_general(format!("{} Nothing was changed.", sentence(e.message)));
            refused(&app, &viewer, id, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn accept(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<AcceptForm>,
) -> PageResult<Response> {
    let Posted { viewer, .. } = posted;
    let id = parse_id(&id)?;
    let (def, _) = mine(&app, &viewer, id).await?;
    let batch = decisions::Batch {
        accept_recommendations: true,
        ..Default::default()
    };
    match decisions::batch(&app, &viewer.caller, def.id, id, batch).await {
        Ok(0) => Ok(redirect_with(
            &app,
            &back(id),
            Flash::info("No undecided decision has a recommendation to accept."),
        )),
        Ok(n) => Ok(redirect_with(
            &app,
            &back(id),
            Flash::success(format!(
                "Accepted {n} {}.",
                if n == 1 {
                    "recommendation"
                } else {
                    "recommendations"
                }
            )),
        )),
        Err(e) if wants_step_up(&e) => Ok(Redirect::to(&step_up_href(id)).into_response()),
        Err(e) if matches!(e.kind, Kind::Invalid | Kind::Conflict) => {
            let mut errors = FieldErrors::new();
            errors.add_general(format!("{} Nothing was changed.", sentence(e.message)));
            refused(&app, &viewer, id, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The instance again, saying why nothing was recorded.
async fn refused(
    app: &App,
    viewer: &Viewer,
    id: Uuid,
    errors: FieldErrors,
) -> PageResult<Response> {
    let status = if errors.general.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::CONFLICT
    };
    Ok(render_status(
        status,
        &detail_page(app, viewer, id, errors).await?,
    ))
}
