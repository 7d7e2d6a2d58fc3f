//! The request form (`userAdd`: pick the policy when several apply, justification, every
//! question, a custom end when the policy allows one) and the extension form (`userUpdate` of
//! an assignment the viewer holds, under its policy). Both build the API's body and call
//! `assignments::submit` with the viewer as caller; a refusal comes back as field errors in
//! the core's words, and nothing was changed.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::entitlement::request::{AssignmentRequest, RequestState};
use serde_json::{Value, json};
use uuid::Uuid;

use super::form::{self, Asks, Fields, PolicyOption, QuestionView};
use super::parse_id;
use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::portal::admin::pim::window_form::parse_local_time;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageError, PageResult, Section, redirect_with, render_status,
};
use crate::portal::picker;
use crate::portal::session::Viewer;
use crate::service::directory::{self, Kinds};
use crate::service::entitlement::assignments;
use crate::service::entitlement::{mine, requestable};

#[derive(Template)]
#[template(path = "portal/access/request.html")]
struct RequestPage {
    chrome: Chrome,
    heading: String,
    description: String,
    action: String,
    /// The policies to pick from (none shown when there is one).
    policies: Vec<PolicyOption>,
    /// The policy the fields below belong to.
    policy: String,
    approval: bool,
    duration: String,
    justification_required: bool,
    justification: String,
    questions: Vec<QuestionView>,
    custom_schedule: bool,
    /// A new request may start later (`scheduled`); an extension applies when delivered.
    offer_start: bool,
    start: String,
    end: String,
    /// Offer "For whom" (a policy lets the viewer request on behalf of someone).
    on_behalf: bool,
    for_whom: String,
    errors: FieldErrors,
    submit_label: &'static str,
}

/// What a request form is about: a package to request, or an assignment to extend.
struct Subject {
    package: String,
    description: String,
    policies: Vec<Asks>,
    /// An extension names the assignment.
    assignment: Option<Uuid>,
    /// The form may ask for whom (`onBehalfAdd`).
    on_behalf: bool,
    /// Whom an on-behalf request is for (the policies above are then theirs).
    target: Option<Uuid>,
}

/// A package the viewer may request now (404 otherwise: nothing learned about it).
async fn requestable_package(app: &App, viewer: &Viewer, id: Uuid) -> PageResult<Subject> {
    let package = requestable::allowed_requestor(app, &viewer.caller)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| PageError::Api(ApiError::not_found("access package")))?;
    let policies: Vec<Asks> = requestable::requirements(app, &viewer.caller, Ok(id))
        .await?
        .into_iter()
        .map(Asks::of_requirements)
        .collect();
    let on_behalf = requestable::offers_on_behalf(app, &viewer.caller, id).await?;
    if policies.is_empty() && !on_behalf {
        return Err(PageError::Api(ApiError::not_found("access package")));
    }
    Ok(Subject {
        package: package.display_name,
        description: package.description.unwrap_or_default(),
        policies,
        assignment: None,
        on_behalf,
        target: None,
    })
}

/// One of the viewer's own live assignments, under its policy (404 otherwise).
async fn own_assignment(app: &App, viewer: &Viewer, id: Uuid) -> PageResult<Subject> {
    let mut mine = mine::my_access(app, &viewer.caller).await?;
    let not_found = || PageError::Api(ApiError::not_found("access package assignment"));
    let a = mine
        .assignments
        .iter()
        .find(|a| a.id == id && a.is_live())
        .ok_or_else(not_found)?;
    let policy = mine
        .policies
        .get(&a.assignment_policy_id)
        .ok_or_else(not_found)?;
    let package = mine.packages.remove(&a.access_package_id);
    Ok(Subject {
        package: package
            .as_ref()
            .map(|p| p.display_name.clone())
            .unwrap_or_default(),
        description: package.and_then(|p| p.description).unwrap_or_default(),
        policies: vec![Asks::of_update(policy)],
        assignment: Some(id),
        on_behalf: false,
        target: None,
    })
}

fn chosen<'a>(subject: &'a Subject, form: &Fields) -> Option<&'a Asks> {
    if subject.policies.len() == 1 {
        return subject.policies.first();
    }
    let picked = form::value(form, "policy");
    subject
        .policies
        .iter()
        .find(|p| p.id.to_string() == picked.trim())
}

fn page(
    viewer: &Viewer,
    subject: &Subject,
    form: &Fields,
    errors: FieldErrors,
    action: String,
) -> RequestPage {
    let picked = chosen(subject, form).or(subject.policies.first());
    let (heading, submit_label) = match subject.assignment {
        Some(_) => (
            format!("Extend {}", subject.package),
            "Ask for the extension",
        ),
        None => (format!("Request {}", subject.package), "Send the request"),
    };
    RequestPage {
        chrome: viewer.chrome(Section::MyAccess),
        heading,
        description: subject.description.clone(),
        action,
        policies: if subject.policies.len() > 1 {
            subject
                .policies
                .iter()
                .map(|p| form::policy_option(p, Some(p.id) == picked.map(|x| x.id)))
                .collect()
        } else {
            Vec::new()
        },
        policy: picked.map(|p| p.id.to_string()).unwrap_or_default(),
        approval: picked.is_some_and(|p| p.approval),
        duration: picked.map(Asks::duration).unwrap_or_default(),
        justification_required: picked.is_some_and(|p| p.justification),
        justification: form::value(form, "justification"),
        questions: picked.map(|p| form::questions(p, form)).unwrap_or_default(),
        custom_schedule: picked.is_some_and(|p| p.custom_schedule),
        offer_start: picked.is_some_and(|p| p.custom_schedule) && subject.assignment.is_none(),
        start: form::value(form, "start"),
        end: form::value(form, "end"),
        on_behalf: subject.on_behalf,
        for_whom: form::value(form, "for"),
        errors,
        submit_label,
    }
}

pub async fn form(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = parse_id(&id, "access package")?;
    let subject = requestable_package(&app, &viewer, id).await?;
    let action = format!("/portal/access/packages/{id}/request");
    Ok(render_status(
        StatusCode::OK,
        &page(&viewer, &subject, &Vec::new(), FieldErrors::new(), action),
    ))
}

pub async fn extend_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = parse_id(&id, "access package assignment")?;
    let subject = own_assignment(&app, &viewer, id).await?;
    let action = format!("/portal/access/assignments/{id}/extend");
    Ok(render_status(
        StatusCode::OK,
        &page(&viewer, &subject, &Vec::new(), FieldErrors::new(), action),
    ))
}

pub async fn submit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Fields>,
) -> PageResult<Response> {
    let id = parse_id(&id, "access package")?;
    let mut subject = requestable_package(&app, &posted.viewer, id).await?;
    let action = format!("/portal/access/packages/{id}/request");
    let typed = form::value(&posted.form, "for");
    if subject.on_behalf && !typed.trim().is_empty() {
        let mut errors = FieldErrors::new();
        match for_whom(&app, &posted.viewer, &subject, id, &typed).await? {
            Ok(Some((target, policies))) => {
                subject.target = Some(target);
                subject.policies = policies;
            }
            Ok(None) => {}
            Err(e) => errors.add("for", e),
        }
        if !errors.is_empty() {
            let page = page(&posted.viewer, &subject, &posted.form, errors, action);
            return Ok(render_status(StatusCode::BAD_REQUEST, &page));
        }
    }
    if subject.policies.is_empty() {
        let mut errors = FieldErrors::new();
        errors.add("for", "Enter whom you request this for.");
        let page = page(&posted.viewer, &subject, &posted.form, errors, action);
        return Ok(render_status(StatusCode::BAD_REQUEST, &page));
    }
    post(&app, posted, subject, id, action).await
}

pub async fn extend(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Fields>,
) -> PageResult<Response> {
    let id = parse_id(&id, "access package assignment")?;
    let subject = own_assignment(&app, &posted.viewer, id).await?;
    let action = format!("/portal/access/assignments/{id}/extend");
    post(&app, posted, subject, id, action).await
}

/// Whom "For whom" names, and the policies that let the viewer request the package for them
/// (`Ok(None)`: the viewer named themselves); the field's error otherwise.
async fn for_whom(
    app: &App,
    viewer: &Viewer,
    subject: &Subject,
    package: Uuid,
    typed: &str,
) -> PageResult<Result<Option<(Uuid, Vec<Asks>)>, String>> {
    let listable = directory::listable(app, &viewer.caller, Kinds::USERS);
    let mut tx = app.store.read().await?;
    let who = match picker::resolve(&mut *tx, typed, Kinds::USERS, listable).await? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    drop(tx);
    if who.id == viewer.caller.id {
        return Ok(Ok(None));
    }
    let policies: Vec<Asks> =
        requestable::requirements_on_behalf(app, &viewer.caller, package, who.id)
            .await?
            .into_iter()
            .map(Asks::of_requirements)
            .collect();
    if policies.is_empty() {
        return Ok(Err(format!(
            "You may not request {} for {}: no policy of it lets you ask on their behalf.",
            subject.package, who.display_name
        )));
    }
    Ok(Ok(Some((who.id, policies))))
}

/// The API's body for what the form carried, or the form's own errors (a policy not picked,
/// an end that is not a time).
fn body(subject: &Subject, package: Uuid, policy: &Asks, form: &Fields) -> (Value, Vec<String>) {
    let (answers, answer_fields) = form::answers(policy, form);
    let mut body = match (subject.assignment, subject.target) {
        (Some(a), _) => json!({ "requestType": "userUpdate", "assignment": { "id": a } }),
        (None, Some(t)) => json!({ "requestType": "onBehalfAdd",
            "assignment": { "accessPackageId": package, "assignmentPolicyId": policy.id, "targetId": t } }),
        (None, None) => json!({ "requestType": "userAdd",
            "assignment": { "accessPackageId": package, "assignmentPolicyId": policy.id } }),
    };
    body["answers"] = Value::Array(answers);
    let justification = form::value(form, "justification");
    if !justification.trim().is_empty() {
        body["justification"] = json!(justification);
    }
    (body, answer_fields)
}

/// The schedule the person typed (a start only on a new request), in their time zone; none
/// when both are empty (the policy's own). Whether it fits the policy is the core's to say.
fn schedule(
    form: &Fields,
    offer_start: bool,
) -> Result<Option<Value>, (&'static str, &'static str)> {
    let read = |field: &str| {
        let typed = form::value(form, field);
        if typed.trim().is_empty() {
            return Ok(None);
        }
        let offset = form::value(form, &format!("{field}_offset"));
        parse_local_time(&typed, Some(offset.as_str()))
            .map(Some)
            .ok_or(())
    };
    let start = if offer_start {
        read("start").map_err(|()| {
            (
                "start",
                "Enter the start as a date and time, such as 2030-01-31 09:00.",
            )
        })?
    } else {
        None
    };
    let end = read("end").map_err(|()| {
        (
            "end",
            "Enter the end as a date and time, such as 2030-01-31 17:00.",
        )
    })?;
    let mut schedule = json!({});
    if let Some(s) = start {
        schedule["startDateTime"] = json!(s);
    }
    if let Some(e) = end {
        schedule["expiration"] = json!({ "type": "afterDateTime", "endDateTime": e });
    }
    Ok((start.is_some() || end.is_some()).then_some(schedule))
}

async fn post(
    app: &App,
    posted: Posted<Fields>,
    subject: Subject,
    id: Uuid,
    action: String,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let mut errors = FieldErrors::new();
    let Some(policy) = chosen(&subject, &form) else {
        errors.add("policy", "Choose the policy to request under.");
        let page = page(&viewer, &subject, &form, errors, action);
        return Ok(render_status(StatusCode::BAD_REQUEST, &page));
    };
    let (mut body, answer_fields) = body(&subject, id, policy, &form);
    if policy.custom_schedule {
        let offer_start = subject.assignment.is_none();
        match schedule(&form, offer_start) {
            Ok(Some(schedule)) => body["schedule"] = schedule,
            Ok(None) => {}
            Err((field, message)) => errors.add(field, message),
        }
    }
    if !errors.is_empty() {
        let page = page(&viewer, &subject, &form, errors, action);
        return Ok(render_status(StatusCode::BAD_REQUEST, &page));
    }
    match assignments::submit(app, &viewer.caller, body).await {
        Ok(request) => Ok(done(app, &subject, &request)),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            form::absorb(&e, &mut errors, Some(policy), &answer_fields);
            let status = e.status();
            let page = page(&viewer, &subject, &form, errors, action);
            Ok(render_status(status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// Back to My access, saying what became of the request.
fn done(app: &App, subject: &Subject, request: &AssignmentRequest) -> Response {
    let what = &subject.package;
    let extension = subject.assignment.is_some();
    if subject.target.is_some() {
        let text = match request.state {
            RequestState::PendingApproval => {
                format!("Your request for {what} on their behalf was sent. It waits for approval.")
            }
            _ => format!(
                "Your request for {what} on their behalf was recorded: {}.",
                request.status
            ),
        };
        return redirect_with(app, "/portal/access?tab=history", Flash::success(text));
    }
    let (text, tab) = match request.state {
        RequestState::PendingApproval => (
            format!(
                "Your request for {what} was sent. It waits for approval; you will find it under Request history."
            ),
            "history",
        ),
        RequestState::Delivered if extension => {
            (format!("Your access to {what} was extended."), "active")
        }
        RequestState::Delivered => (format!("You now have {what}."), "active"),
        RequestState::Scheduled => (
            match request.schedule.start_date_time {
                Some(at) => format!(
                    "Your request for {what} is scheduled: it starts {} UTC.",
                    at.format("%Y-%m-%d %H:%M")
                ),
                None => format!("Your request for {what} is scheduled."),
            },
            "history",
        ),
        _ => (
            format!("Your request for {what} was recorded: {}.", request.status),
            "history",
        ),
    };
    redirect_with(
        app,
        &format!("/portal/access?tab={tab}"),
        Flash::success(text),
    )
}
