//! "My reviews": the access review instances waiting on the signed-in reviewer and, per
//! instance, their decisions with the recommendation and its reason, to Approve, Deny or
//! answer Don't know, one by one or by accepting every recommendation. Reading goes through
//! `service::reviews::instances::mine` and `decisions::list`, every act through
//! `decisions::record` and `decisions::batch`, the use cases of the API: the portal decides
//! nothing the API would refuse. A decision needs a fresh second factor; when the session's is
//! stale the reviewer is sent through the portal's step-up page and back.

mod decide;
pub mod view;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use eligo_core::review::{Decision, Definition, Instance};
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::portal::approvals::view::When;
use crate::portal::page::{Chrome, FieldErrors, PageError, PageResult, Section, render};
use crate::portal::session::Viewer;
use crate::service::authorize;
use crate::service::reviews::{decisions, instances};

use view::DecisionView;

/// The longest reviewer justification accepted (as for approvals).
pub const MAX_JUSTIFICATION: usize = 2000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/reviews", get(list))
        .route("/portal/reviews/{id}", get(detail))
        .route("/portal/reviews/{id}/accept", post(decide::accept))
        .route(
            "/portal/reviews/{id}/decisions/{decision}",
            post(decide::record),
        )
}

/// One instance in the reviewer's list.
struct InstanceRow {
    id: Uuid,
    name: String,
    ends: When,
    status: &'static str,
    in_progress: bool,
    undecided: usize,
    total: usize,
}

#[derive(Template)]
#[template(path = "portal/reviews/list.html")]
struct ListPage {
    chrome: Chrome,
    waiting: Vec<InstanceRow>,
    /// Instances no longer in progress the viewer reviewed in.
    past: Vec<InstanceRow>,
}

#[derive(Template)]
#[template(path = "portal/reviews/detail.html")]
struct DetailPage {
    chrome: Chrome,
    instance_id: Uuid,
    name: String,
    description: String,
    ends: When,
    status: &'static str,
    in_progress: bool,
    justification_required: bool,
    /// The session's second factor is stale: deciding will ask for it first.
    ask_step_up: bool,
    step_up_href: String,
    decisions: Vec<DecisionView>,
    undecided: usize,
    /// Refusals keyed `justification-{decision id}` or general.
    errors: FieldErrors,
    max_justification: usize,
}

async fn list(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let mut waiting = Vec::new();
    let mut past = Vec::new();
    for (def, instance) in instances::mine(&app, &viewer.caller, None).await? {
        let mine = my_decisions(&app, &viewer, &def, &instance).await?;
        let row = InstanceRow {
            id: instance.id,
            name: def.display_name.clone(),
            ends: When::of(instance.end_date_time),
            status: instance.status.as_str(),
            in_progress: instance.is_in_progress(),
            undecided: mine
                .iter()
                .filter(|d| d.decision == Decision::NotReviewed)
                .count(),
            total: mine.len(),
        };
        if row.in_progress {
            waiting.push(row);
        } else {
            past.push(row);
        }
    }
    Ok(render(&ListPage {
        chrome: viewer.chrome(Section::Reviews),
        waiting,
        past,
    }))
}

/// The viewer's decisions in the instance (the latest stage's).
async fn my_decisions(
    app: &App,
    viewer: &Viewer,
    def: &Definition,
    instance: &Instance,
) -> PageResult<Vec<eligo_core::review::DecisionItem>> {
    Ok(decisions::list(
        app,
        &viewer.caller,
        def.id,
        instance.id,
        decisions::Which::Latest,
        true,
    )
    .await?)
}

fn parse_id(raw: &str) -> PageResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| not_found())
}

fn not_found() -> PageError {
    PageError::Api(ApiError::not_found("access review"))
}

/// The instance the viewer reviews in, with its definition; the not-found page for anyone
/// else (a reviewer learns nothing of reviews they are not part of).
async fn mine(app: &App, viewer: &Viewer, id: Uuid) -> PageResult<(Definition, Instance)> {
    instances::mine(app, &viewer.caller, None)
        .await?
        .into_iter()
        .find(|(_, i)| i.id == id)
        .ok_or_else(not_found)
}

async fn detail(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = parse_id(&id)?;
    Ok(render(
        &detail_page(&app, &viewer, id, FieldErrors::new()).await?,
    ))
}

async fn detail_page(
    app: &App,
    viewer: &Viewer,
    id: Uuid,
    errors: FieldErrors,
) -> PageResult<DetailPage> {
    let (def, instance) = mine(app, viewer, id).await?;
    let items = my_decisions(app, viewer, &def, &instance).await?;
    let earlier = decisions::histories(app, &viewer.caller, def.id, instance.id).await?;
    let views: Vec<DecisionView> = items
        .iter()
        .map(|d| DecisionView::of(d).with_earlier(earlier.get(&d.id)))
        .collect();
    Ok(DetailPage {
        chrome: viewer.chrome(Section::Reviews),
        instance_id: instance.id,
        name: def.display_name.clone(),
        description: def.description_for_reviewers.clone(),
        ends: When::of(instance.end_date_time),
        status: instance.status.as_str(),
        in_progress: instance.is_in_progress(),
        justification_required: def.settings.justification_required_on_approval,
        ask_step_up: !authorize::is_strong(
            &viewer.caller,
            app.clock.now(),
            app.config.mfa_freshness,
        ),
        step_up_href: decide::step_up_href(instance.id),
        undecided: views.iter().filter(|d| !d.decided).count(),
        decisions: views,
        errors,
        max_justification: MAX_JUSTIFICATION,
    })
}
