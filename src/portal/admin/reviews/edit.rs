//! Changing an access review: the creation form filled in from the definition (its scope shown
//! but fixed), posted through the same form reading to `definitions::replace`; and stopping or
//! deleting a whole review from its page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use eligo_core::review::query::ReviewerQuery;
use eligo_core::review::settings::{PatternType, RangeType};
use eligo_core::review::{Definition, Reviewed, ReviewerSet};
use eligo_store::Tx;
use uuid::Uuid;

use super::form::{Typed, body, edit_page, field_of};
use super::gate;
use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::portal::admin::directory::path_id;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    FieldErrors, PageResult, redirect_with, render, render_status, sentence,
};
use crate::portal::session::Viewer;
use crate::service::reviews::{definitions, snapshot};

/// `P30D` as `30` (the form asks for days).
fn days(iso: &str) -> String {
    eligo_core::duration::parse_duration(iso)
        .map(|d| d.num_days().to_string())
        .unwrap_or_default()
}

/// Named users as the form lists them: one UPN per line.
async fn user_lines(tx: &mut dyn Tx, sets: &[ReviewerSet]) -> PageResult<String> {
    let mut lines = Vec::new();
    for set in sets {
        if let Some(ReviewerQuery::User { user_id }) = set.meaning()
            && let Some(u) = tx.get_user(user_id).await?
        {
            lines.push(u.user_principal_name);
        }
    }
    Ok(lines.join("\n"))
}

/// The form's choice for a list of reviewer sets.
fn choice(sets: &[ReviewerSet]) -> &'static str {
    match sets.first().and_then(ReviewerSet::meaning) {
        None if sets.is_empty() => "self",
        Some(ReviewerQuery::Manager) => "manager",
        Some(ReviewerQuery::GroupOwners { .. }) => "owners",
        _ => "users",
    }
}

/// What the creation form would have to hold to describe `def`.
async fn typed_of(app: &App, def: &Definition) -> PageResult<Typed> {
    let mut tx = app.store.read().await?;
    let mut t = Typed::default();
    t.set("displayName", &def.display_name);
    t.set("descriptionForAdmins", &def.description_for_admins);
    t.set("descriptionForReviewers", &def.description_for_reviewers);
    let kind = match def.scope_query.reviewed {
        Reviewed::GroupMembers { .. } => "group_members",
        Reviewed::GroupEligibility { .. } => "group_eligibility",
        Reviewed::Role {
            eligible: true,
            active: false,
            ..
        } => "role_eligible",
        Reviewed::Role {
            eligible: false, ..
        } => "role_active",
        Reviewed::Role { .. } => "role_both",
        Reviewed::PackageAssignments { .. } => "package",
    };
    t.set("scopeKind", kind);
    let resource = snapshot::resource_of(&mut *tx, &def.scope_query.reviewed).await?;
    t.set("target", &resource.display_name);
    if let Some(d) = &def.inactive_duration {
        t.set("inactiveDays", &days(d));
    }
    if def.stage_settings.is_empty() {
        t.set("reviewers", choice(&def.reviewers));
        t.set(
            "reviewerUsers",
            &user_lines(&mut *tx, &def.reviewers).await?,
        );
    }
    t.set(
        "fallback",
        &user_lines(&mut *tx, &def.fallback_reviewers).await?,
    );
    let mut pairs = Vec::new();
    for (i, stage) in def.stage_settings.iter().enumerate() {
        let n = i + 1;
        t.set(&format!("stage{n}Reviewers"), choice(&stage.reviewers));
        t.set(
            &format!("stage{n}Users"),
            &user_lines(&mut *tx, &stage.reviewers).await?,
        );
        t.set(
            &format!("stage{n}Days"),
            &stage.duration_in_days.to_string(),
        );
        for d in &stage.decisions_that_will_move_to_next_stage {
            pairs.push((format!("stage{n}Move"), d.as_str().to_string()));
        }
    }
    let s = &def.settings;
    t.set("durationDays", &s.instance_duration_in_days.to_string());
    t.set("lookBackDays", &days(&s.recommendation_look_back_duration));
    t.set("defaultDecision", s.default_decision.as_str());
    for (field, on) in [
        ("recommendations", s.recommendations_enabled),
        ("defaultDecisionEnabled", s.default_decision_enabled),
        ("autoApply", s.auto_apply_decisions_enabled),
        (
            "justificationRequired",
            s.justification_required_on_approval,
        ),
        ("mail", s.mail_notifications_enabled),
        ("reminders", s.reminder_notifications_enabled),
    ] {
        t.set(field, if on { "on" } else { "" });
    }
    match &s.recurrence {
        None => t.set("recurrence", "none"),
        Some(r) => {
            t.set(
                "recurrence",
                match r.pattern.kind {
                    PatternType::Weekly => "weekly",
                    PatternType::AbsoluteMonthly => "monthly",
                },
            );
            t.set("interval", &r.pattern.interval.to_string());
            t.set("startDate", &r.range.start_date.to_string());
            match r.range.kind {
                RangeType::NoEnd => t.set("rangeEnd", "none"),
                RangeType::EndDate => {
                    t.set("rangeEnd", "date");
                    t.set(
                        "endDate",
                        &r.range.end_date.map(|d| d.to_string()).unwrap_or_default(),
                    );
                }
                RangeType::Numbered => {
                    t.set("rangeEnd", "count");
                    t.set(
                        "occurrences",
                        &r.range.number_of_occurrences.unwrap_or(1).to_string(),
                    );
                }
            }
        }
    }
    for (k, v) in pairs {
        t.push(&k, &v);
    }
    Ok(t)
}

pub async fn edit_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(def): Path<String>,
) -> PageResult<Response> {
    gate(&viewer)?;
    let id = path_id(&def, "access review")?;
    let def = definitions::get(&app, &viewer.caller, id).await?;
    let typed = typed_of(&app, &def).await?;
    Ok(render(&edit_page(
        &viewer,
        typed,
        FieldErrors::new(),
        id,
        &def.display_name,
    )))
}

pub async fn update(
    State(app): State<AppState>,
    Path(def): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    gate(&viewer)?;
    let id = path_id(&def, "access review")?;
    let old = definitions::get(&app, &viewer.caller, id).await?;
    let typed = Typed::of(form);
    let mut errors = FieldErrors::new();
    let back = format!("/portal/admin/reviews/{id}");
    if let Some(mut body) = body(&app, &viewer, &typed, &mut errors).await? {
        // What the review looks at is fixed: the posted scope fields are not read.
        body["scope"] = old.scope.clone();
        match definitions::replace(&app, &viewer.caller, id, body).await {
            Ok(def) => {
                return Ok(redirect_with(
                    &app,
                    &back,
                    Flash::success(format!(
                        "The access review “{}” was changed.",
                        def.display_name
                    )),
                ));
            }
            Err(e)
                if e.details.iter().any(|d| d.code == "MfaRequired") || e.code == "MfaRequired" =>
            {
                return Ok(step_up(&format!("{back}/edit")));
            }
            Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
                errors.absorb(&e, field_of)
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(render_status(
        StatusCode::BAD_REQUEST,
        &edit_page(&viewer, typed, errors, id, &old.display_name),
    ))
}

fn step_up(back: &str) -> Response {
    let next = percent_encoding::utf8_percent_encode(back, percent_encoding::NON_ALPHANUMERIC);
    Redirect::to(&format!("/portal/step-up?next={next}")).into_response()
}

/// `POST /portal/admin/reviews/{def}/stop|delete`.
pub async fn act(
    State(app): State<AppState>,
    Path((def, action)): Path<(String, String)>,
    posted: Posted<super::instance::ActForm>,
) -> PageResult<Response> {
    let Posted { viewer, .. } = posted;
    gate(&viewer)?;
    let id: Uuid = path_id(&def, "access review")?;
    let back = format!("/portal/admin/reviews/{id}");
    let done = match action.as_str() {
        "stop" => definitions::stop(&app, &viewer.caller, id).await.map(|()| {
            (
                back.clone(),
                "The review was stopped: no further instance starts.",
            )
        }),
        "delete" => definitions::delete(&app, &viewer.caller, id)
            .await
            .map(|()| {
                (
                    "/portal/admin/reviews".to_string(),
                    "The review was deleted with its instances and decisions.",
                )
            }),
        _ => return Err(ApiError::not_found("action").into()),
    };
    match done {
        Ok((to, text)) => Ok(redirect_with(&app, &to, Flash::success(text))),
        Err(e) if e.code == "MfaRequired" || e.details.iter().any(|d| d.code == "MfaRequired") => {
            Ok(step_up(&back))
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
