//! Access review administration (`/portal/admin/reviews`): the definitions the viewer may read
//! with their status, a form that creates one with every setting (`form.rs`), a definition's
//! instances with their progress, and an instance's results with Stop, Apply, Reset, Send
//! reminder and a CSV export (`instance.rs`). Every read and act goes through
//! `service::reviews`, which decides who may run a review; the section itself opens only for
//! those `authorize::capabilities` says may administer reviews.

mod edit;
mod form;
mod instance;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use eligo_core::review::{Decision, Definition};
use uuid::Uuid;

use crate::app::AppState;
use crate::error::ApiError;
use crate::portal::admin::directory::{Shown, path_id};
use crate::portal::page::{Chrome, PageResult, Section, render};
use crate::portal::session::Viewer;
use crate::service::reviews::{decisions, definitions, instances};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/admin/reviews", get(list))
        .route(
            "/portal/admin/reviews/new",
            get(form::new_form).post(form::create),
        )
        .route("/portal/admin/reviews/{def}", get(definition))
        .route(
            "/portal/admin/reviews/{def}/edit",
            get(edit::edit_form).post(edit::update),
        )
        .route("/portal/admin/reviews/{def}/{action}", post(edit::act))
        .route(
            "/portal/admin/reviews/{def}/instances/{id}",
            get(instance::page),
        )
        .route(
            "/portal/admin/reviews/{def}/instances/{id}/export.csv",
            get(instance::export),
        )
        .route(
            "/portal/admin/reviews/{def}/instances/{id}/{action}",
            post(instance::act),
        )
}

/// The section is for those who may administer reviews; a reviewer who is not has My reviews.
fn gate(viewer: &Viewer) -> PageResult<()> {
    if viewer.can.administer_reviews {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "access review administration needs a role that may read or run access reviews",
        )
        .into())
    }
}

/// What a definition reviews, in words, from its scope query.
fn scope_text(def: &Definition) -> String {
    let query = def.scope["query"].as_str().unwrap_or_default();
    match &def.inactive_duration {
        Some(d) => format!("{query} (inactive for {d})"),
        None => query.to_string(),
    }
}

struct DefinitionRow {
    id: Uuid,
    name: String,
    status: &'static str,
    scope: String,
    created: Shown,
}

#[derive(Template)]
#[template(path = "portal/admin/reviews/list.html")]
struct ListPage {
    chrome: Chrome,
    definitions: Vec<DefinitionRow>,
}

async fn list(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    gate(&viewer)?;
    let mut defs = definitions::list(&app, &viewer.caller).await?;
    defs.sort_by_key(|d| std::cmp::Reverse(d.created_date_time));
    Ok(render(&ListPage {
        chrome: viewer.chrome(Section::AccessReviews),
        definitions: defs
            .iter()
            .map(|d| DefinitionRow {
                id: d.id,
                name: d.display_name.clone(),
                status: d.status.as_str(),
                scope: scope_text(d),
                created: Shown::of(d.created_date_time),
            })
            .collect(),
    }))
}

struct InstanceRow {
    id: Uuid,
    start: Shown,
    end: Shown,
    status: &'static str,
    decided: usize,
    total: usize,
}

#[derive(Template)]
#[template(path = "portal/admin/reviews/definition.html")]
struct DefinitionPage {
    chrome: Chrome,
    def: Definition,
    scope: String,
    reviewers: Vec<String>,
    fallback: Vec<String>,
    recurrence: String,
    instances: Vec<InstanceRow>,
}

async fn definition(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(def): Path<String>,
) -> PageResult<Response> {
    gate(&viewer)?;
    let id = path_id(&def, "access review")?;
    let def = definitions::get(&app, &viewer.caller, id).await?;
    let mut rows = Vec::new();
    for i in instances::list(&app, &viewer.caller, id).await? {
        let all = decisions::list(
            &app,
            &viewer.caller,
            id,
            i.id,
            decisions::Which::Latest,
            false,
        )
        .await?;
        rows.push(InstanceRow {
            id: i.id,
            start: Shown::of(i.start_date_time),
            end: Shown::of(i.end_date_time),
            status: i.status.as_str(),
            decided: all
                .iter()
                .filter(|d| d.decision != Decision::NotReviewed)
                .count(),
            total: all.len(),
        });
    }
    rows.sort_by(|a, b| b.start.iso.cmp(&a.start.iso));
    let queries = |sets: &[eligo_core::review::ReviewerSet]| -> Vec<String> {
        sets.iter().map(|s| s.query.clone()).collect()
    };
    let recurrence = match &def.settings.recurrence {
        None => "Once".to_string(),
        Some(r) => format!(
            "Every {} {} from {}{}",
            r.pattern.interval,
            match r.pattern.kind {
                eligo_core::review::settings::PatternType::Weekly => "week(s)",
                eligo_core::review::settings::PatternType::AbsoluteMonthly => "month(s)",
            },
            r.range.start_date,
            match (r.range.end_date, r.range.number_of_occurrences) {
                (Some(end), _) => format!(" until {end}"),
                (None, Some(n)) => format!(", {n} times"),
                _ => String::new(),
            }
        ),
    };
    Ok(render(&DefinitionPage {
        chrome: viewer.chrome(Section::AccessReviews),
        scope: scope_text(&def),
        reviewers: queries(&def.reviewers),
        fallback: queries(&def.fallback_reviewers),
        recurrence,
        def,
        instances: rows,
    }))
}
