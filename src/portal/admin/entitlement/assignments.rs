//! A package's assignments (who, state, start, end) with an administrator's direct assignment
//! (adminAdd, the target chosen with the picker) and removal (adminRemove), both sent as the
//! API's assignment requests through `assignments::submit`; and the package's request history:
//! every request with its events, from the request record (made, each stage's decisions, how
//! it ended) and, for those who may read it, the audit trail of the request.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::approval::ReviewResult;
use eligo_core::audit::Initiator;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::request::AssignmentRequest;
use eligo_store::{AssignmentQuery, AuditQuery, Page};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{absorb, reader, text};
use crate::app::{App, AppState};
use crate::portal::admin::directory::{Shown, path_id, principal_ref};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, redirect_with, render, render_status,
};
use crate::portal::picker;
use crate::portal::session::Viewer;
use crate::service::audit;
use crate::service::directory::{self, Kinds};
use crate::service::entitlement::assignments;

pub struct AssignmentLine {
    pub id: Uuid,
    pub who: String,
    pub state: &'static str,
    pub live: bool,
    pub start: Shown,
    pub end: Option<Shown>,
}

/// One thing that happened to a request.
pub struct Event {
    pub at: Shown,
    pub what: String,
    pub who: String,
    pub justification: String,
}

pub struct RequestLine {
    pub id: Uuid,
    pub kind: &'static str,
    pub state: &'static str,
    pub target: String,
    pub events: Vec<Event>,
}

#[derive(Template)]
#[template(path = "portal/admin/entitlement/assignments.html")]
struct AssignmentsPage {
    chrome: Chrome,
    package: AccessPackage,
    assignments: Vec<AssignmentLine>,
    requests: Vec<RequestLine>,
    policies: Vec<AssignmentPolicy>,
    may_manage: bool,
    target_input: String,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    who: Option<String>,
    policy: Option<String>,
    justification: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    assignment: Option<String>,
}

fn name(app: &App, id: Uuid) -> String {
    principal_ref(app, id).name
}

/// The events of a request from its record.
fn events_of(app: &App, r: &AssignmentRequest) -> Vec<Event> {
    let mut out = vec![Event {
        at: Shown::of(r.created_date_time),
        what: format!("Request made ({})", r.request_type.as_str()),
        who: name(app, r.requestor_id),
        justification: r.justification.clone().unwrap_or_default(),
    }];
    if let Some(a) = &r.approval {
        for (i, step) in a.progress.steps.iter().enumerate() {
            for review in &step.reviews {
                let verdict = match review.review_result {
                    ReviewResult::Approve => "approved",
                    ReviewResult::Deny => "denied",
                    ReviewResult::NotReviewed => continue,
                };
                out.push(Event {
                    at: Shown::of(review.reviewed_date_time),
                    what: format!("Stage {} {verdict}", i + 1),
                    who: name(app, review.reviewed_by),
                    justification: review.justification.clone().unwrap_or_default(),
                });
            }
        }
    }
    if let Some(done) = r.completed_date_time {
        out.push(Event {
            at: Shown::of(done),
            what: format!("Ended: {} ({})", r.state.as_str(), r.status),
            who: String::new(),
            justification: String::new(),
        });
    }
    out
}

async fn assignments_page(
    app: &App,
    viewer: &Viewer,
    id: Uuid,
    target_input: String,
    errors: FieldErrors,
) -> PageResult<AssignmentsPage> {
    let caller = &viewer.caller;
    let r = reader(app, viewer)?;
    let package = r.package(id).await?;
    let policies = r.policies(Some(id)).await?;
    let views = assignments::list_assignments(
        app,
        caller,
        AssignmentQuery {
            package: Some(id),
            ..Default::default()
        },
    )
    .await?;
    let mut lines: Vec<AssignmentLine> = views
        .into_iter()
        .map(|v| {
            let a = v.assignment;
            AssignmentLine {
                id: a.id,
                who: v
                    .target
                    .map(|t| match t.upn {
                        Some(u) => format!("{} ({u})", t.display_name),
                        None => t.display_name,
                    })
                    .unwrap_or_else(|| a.target_id.to_string()),
                state: a.state.as_str(),
                live: a.is_live(),
                start: Shown::of(a.start_date_time),
                end: a.end_date_time.map(Shown::of),
            }
        })
        .collect();
    lines.sort_by(|a, b| b.live.cmp(&a.live).then_with(|| a.who.cmp(&b.who)));
    let trail = audit::reader(app, caller).ok();
    let mut requests = Vec::new();
    for req in assignments::list_requests(app, caller)
        .await?
        .into_iter()
        .filter(|q| q.access_package_id == id)
    {
        let mut events = events_of(app, &req);
        if let Some(trail) = &trail {
            let query = AuditQuery {
                target_id: Some(req.id.to_string()),
                ..Default::default()
            };
            for e in trail.list(&query, Page { top: 50, skip: 0 }).await? {
                let who = match &e.initiated_by {
                    Initiator::User(a) | Initiator::App(a) => a.display_name.clone(),
                };
                events.push(Event {
                    at: Shown::of(e.activity_date_time),
                    what: format!("Audit: {}", e.activity_display_name),
                    who,
                    justification: String::new(),
                });
            }
        }
        events.sort_by(|a, b| a.at.iso.cmp(&b.at.iso));
        requests.push(RequestLine {
            id: req.id,
            kind: req.request_type.as_str(),
            state: req.state.as_str(),
            target: name(app, req.target_id),
            events,
        });
    }
    Ok(AssignmentsPage {
        chrome: viewer.chrome(Section::AccessPackages),
        package,
        assignments: lines,
        requests,
        policies,
        may_manage: viewer.can.manage_entitlement,
        target_input,
        errors,
    })
}

pub async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = path_id(&id, "access package")?;
    Ok(render(
        &assignments_page(&app, &viewer, id, String::new(), FieldErrors::new()).await?,
    ))
}

fn back(id: Uuid) -> String {
    format!("/portal/admin/entitlement/packages/{id}/assignments")
}

pub async fn add(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<AddForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "access package")?;
    let typed = text(&form.who);
    let mut errors = FieldErrors::new();
    let listable = directory::listable(&app, &viewer.caller, Kinds::ALL);
    let target = {
        let mut tx = app.store.read().await?;
        picker::resolve(&mut *tx, &typed, Kinds::ALL, listable).await?
    };
    match target {
        Err(message) => errors.add("who", message),
        Ok(target) => {
            let justification = text(&form.justification);
            let mut body = json!({
                "requestType": "adminAdd",
                "assignment": { "targetId": target.id, "accessPackageId": id,
                                "assignmentPolicyId": text(&form.policy) },
            });
            if !justification.is_empty() {
                body["justification"] = json!(justification);
            }
            match assignments::submit(&app, &viewer.caller, body).await {
                Ok(r) => {
                    return Ok(redirect_with(
                        &app,
                        &back(id),
                        Flash::success(format!(
                            "{} was assigned the package ({}).",
                            target.display_name,
                            r.state.as_str()
                        )),
                    ));
                }
                Err(e) => absorb(e, &mut errors, |t| {
                    if t.contains("assignmentPolicyId") {
                        Some(("policy".into(), "Policy".into()))
                    } else if t.contains("justification") {
                        Some(("justification".into(), "Justification".into()))
                    } else if t.contains("targetId") || t.contains("target") {
                        Some(("who".into(), "Assign to".into()))
                    } else {
                        None
                    }
                })?,
            }
        }
    }
    let page = assignments_page(&app, &viewer, id, typed, errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

pub async fn remove(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<RemoveForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "access package")?;
    let assignment = path_id(&text(&form.assignment), "access package assignment")?;
    let body = json!({ "requestType": "adminRemove", "assignment": { "id": assignment } });
    match assignments::submit(&app, &viewer.caller, body).await {
        Ok(_) => Ok(redirect_with(
            &app,
            &back(id),
            Flash::success("The assignment was removed, with what it gave."),
        )),
        Err(e) if e.status() == StatusCode::BAD_REQUEST || e.status() == StatusCode::CONFLICT => {
            Ok(redirect_with(
                &app,
                &back(id),
                Flash::warning(format!(
                    "Nothing was removed: {}.",
                    e.message.trim_end_matches('.')
                )),
            ))
        }
        Err(e) => Err(e.into()),
    }
}
