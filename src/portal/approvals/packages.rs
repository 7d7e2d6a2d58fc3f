//! Access package requests on the Approvals page: those waiting on the viewer
//! (`filterByCurrentUser(on='approver')`), and the decision page
//! `/portal/approvals/packages/{requestId}` (the link approvers get by mail): requester,
//! target, package, justification, answers, schedule, every stage with its deadline and
//! decisions, and Approve / Deny. A decision goes through
//! `service::entitlement::assignments::approve::review`, the API's `PATCH .../stages/{id}`,
//! with the same fresh second factor as role approvals. Someone who may not see the approval
//! gets the API's 404; the page decides nothing.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::approval::{ReviewResult, StepStatus};
use eligo_core::entitlement::question::QuestionKind;
use eligo_core::entitlement::request::{AssignmentRequest, RequestState};
use eligo_store::Tx;
use serde::Deserialize;
use uuid::Uuid;

use super::view::{Names, ReviewView, StageView, When};
use super::{Asks, MAX_JUSTIFICATION, asks, asks_code, parse_id, refused, step_up};
use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::portal::access::{expiration_words, state_words};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageError, PageResult, Section, redirect_with, render_status,
};
use crate::portal::proof::Proof;
use crate::portal::session::Viewer;
use crate::service::entitlement::assignments::approve;
use crate::service::entitlement::mine::{self, ApprovalDetails};

/// One question and its answer.
pub struct AnswerView {
    pub question: String,
    pub answer: String,
}

/// One access package request, as the Approvals pages show it.
pub struct PackageView {
    pub id: Uuid,
    pub requester: String,
    pub requester_name: String,
    /// Whom it is for, when not the requester.
    pub target: Option<String>,
    pub package: String,
    pub policy: String,
    pub justification: String,
    pub answers: Vec<AnswerView>,
    /// "until 2030-01-31 17:00 UTC", or the policy's length.
    pub schedule: String,
    pub asked: When,
    pub status: &'static str,
    pub status_badge: &'static str,
    pub pending: bool,
    pub stages: Vec<StageView>,
    /// The stage now waiting (1-based) and its id.
    pub current: Option<(usize, Uuid)>,
    pub assigned_to_me: bool,
    pub justification_required: bool,
}

impl PackageView {
    pub fn phrase(&self) -> String {
        format!("{}'s request for {}", self.requester_name, self.package)
    }

    pub fn current_number(&self) -> usize {
        self.current.map_or(0, |(n, _)| n)
    }

    pub fn current_step(&self) -> String {
        self.current.map(|(_, s)| s.to_string()).unwrap_or_default()
    }
}

fn display_name(app: &App, id: Uuid) -> String {
    app.access
        .principal(id)
        .map(|(_, n)| n)
        .unwrap_or_else(|| format!("{id} (removed)"))
}

/// The view of one approval the viewer may see.
pub async fn build(
    app: &App,
    tx: &mut dyn Tx,
    names: &mut Names,
    d: &ApprovalDetails,
) -> PageResult<PackageView> {
    let r: &AssignmentRequest = &d.approval.request;
    let answers = r
        .answers
        .iter()
        .map(|a| {
            let q = d
                .policy
                .as_ref()
                .and_then(|p| p.questions.iter().find(|q| q.id == a.question_id));
            let answer = match q.map(|q| &q.kind) {
                Some(QuestionKind::MultipleChoice { choices, .. }) => choices
                    .iter()
                    .find(|c| c.actual_value == a.value)
                    .map(|c| c.text.clone())
                    .unwrap_or_else(|| a.value.clone()),
                _ => a.value.clone(),
            };
            AnswerView {
                question: q
                    .map(|q| q.text.clone())
                    .unwrap_or_else(|| "(a question no longer asked)".to_string()),
                answer,
            }
        })
        .collect();
    let schedule = match (&r.schedule.expiration, &d.policy) {
        (Some(e), _) => expiration_words(e),
        (None, Some(p)) => format!("{} (the policy's length)", expiration_words(&p.expiration)),
        (None, None) => "as the policy says".to_string(),
    };
    let pending = r.state == RequestState::PendingApproval;
    let of = d.approval.stages.len();
    let mut stages = Vec::with_capacity(of);
    let (mut current, mut assigned_to_me, mut justification_required) = (None, false, false);
    for (i, s) in d.approval.stages.iter().enumerate() {
        let step = &s.step;
        let mut reviews = Vec::new();
        for rv in &step.reviews {
            reviews.push(ReviewView {
                who: names.of(tx, rv.reviewed_by).await?,
                approved: rv.review_result == ReviewResult::Approve,
                justification: rv.justification.clone().unwrap_or_default(),
                at: When::of(rv.reviewed_date_time),
            });
        }
        let (status, badge) = match (step.status, step.result()) {
            (StepStatus::NotStarted, _) => ("Not started", "badge-info"),
            (StepStatus::InProgress, _) if pending => ("Waiting", "badge-warn"),
            (StepStatus::InProgress, _) => ("Not decided", "badge-info"),
            (StepStatus::Completed, ReviewResult::Approve) => ("Approved", "badge-ok"),
            (StepStatus::Completed, ReviewResult::Deny) => ("Denied", "badge-bad"),
            (StepStatus::Completed, ReviewResult::NotReviewed) => {
                ("Not decided in time", "badge-bad")
            }
        };
        let waiting = pending && step.status == StepStatus::InProgress;
        if waiting {
            current = Some((i + 1, step.id));
            assigned_to_me = s.assigned_to_me;
            justification_required = s.settings.is_approver_justification_required;
        }
        stages.push(StageView {
            number: i + 1,
            of,
            status,
            badge,
            needed: s.settings.minimum_approvals.max(1) as usize,
            approvals: step
                .reviews
                .iter()
                .filter(|r| r.review_result == ReviewResult::Approve)
                .count(),
            deadline: waiting.then(|| step.deadline()).flatten().map(When::of),
            reviews,
        });
    }
    let (status, status_badge) = state_words(r.state);
    Ok(PackageView {
        id: r.id,
        requester: names.of(tx, r.requestor_id).await?,
        requester_name: display_name(app, r.requestor_id),
        target: (r.target_id != r.requestor_id).then(|| display_name(app, r.target_id)),
        package: d
            .package
            .as_ref()
            .map(|p| p.display_name.clone())
            .unwrap_or_else(|| "(an access package that no longer exists)".to_string()),
        policy: d
            .policy
            .as_ref()
            .map(|p| p.display_name.clone())
            .unwrap_or_default(),
        justification: r.justification.clone().unwrap_or_default(),
        answers,
        schedule,
        asked: When::of(r.created_date_time),
        status,
        status_badge,
        pending,
        stages,
        current,
        assigned_to_me,
        justification_required,
    })
}

/// The access package requests waiting on the viewer, for the Approvals list.
pub async fn waiting(app: &App, viewer: &Viewer) -> PageResult<Vec<PackageView>> {
    let all = mine::waiting_on_me(app, &viewer.caller).await?;
    let mut tx = app.store.read().await?;
    let mut names = Names::default();
    let mut out = Vec::with_capacity(all.len());
    for d in &all {
        out.push(build(app, &mut *tx, &mut names, d).await?);
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "portal/approvals/package.html")]
struct PackagePage {
    chrome: Chrome,
    request: PackageView,
    not_yours: String,
    justification: String,
    errors: FieldErrors,
    max_justification: usize,
    nested: bool,
    ask_code: bool,
    offer_passkey: bool,
}

#[derive(Debug, Deserialize)]
pub struct DecideForm {
    decision: Option<String>,
    justification: Option<String>,
    step: Option<String>,
    code: Option<String>,
    passkey: Option<String>,
}

/// The approval as the viewer may see it (the API's 404 otherwise), and whether it was made
/// by or for the viewer (who never decides it).
async fn load(app: &App, viewer: &Viewer, id: Uuid) -> PageResult<(PackageView, bool)> {
    let d = mine::approval(app, &viewer.caller, id).await?;
    let r = &d.approval.request;
    let theirs = r.requestor_id == viewer.caller.id || r.target_id == viewer.caller.id;
    let mut tx = app.store.read().await?;
    Ok((
        build(app, &mut *tx, &mut Names::default(), &d).await?,
        theirs,
    ))
}

fn not_yours(request: &PackageView, theirs: bool) -> String {
    if !request.pending || request.assigned_to_me {
        return String::new();
    }
    if theirs {
        return "This is your request: someone else decides it.".to_string();
    }
    "You are not an approver of the stage now waiting, so you cannot decide it.".to_string()
}

fn page(
    asks: Asks,
    viewer: &Viewer,
    request: PackageView,
    requester: bool,
    justification: String,
    errors: FieldErrors,
) -> PackagePage {
    PackagePage {
        not_yours: not_yours(&request, requester),
        ask_code: asks.code,
        offer_passkey: asks.passkey,
        chrome: viewer.chrome(Section::Approvals),
        request,
        justification,
        errors,
        max_justification: MAX_JUSTIFICATION,
        nested: false,
    }
}

pub async fn detail(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = parse_id(&id)?;
    let (request, theirs) = load(&app, &viewer, id).await?;
    Ok(render_status(
        StatusCode::OK,
        &page(
            asks(&app, &viewer).await?,
            &viewer,
            request,
            theirs,
            String::new(),
            FieldErrors::new(),
        ),
    ))
}

pub async fn decide(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<DecideForm>,
) -> PageResult<Response> {
    let Posted { mut viewer, form } = posted;
    let id = parse_id(&id)?;
    let (request, theirs) = load(&app, &viewer, id).await?;
    if !request.pending {
        return Ok(refused(
            &viewer,
            StatusCode::CONFLICT,
            "This request was already decided",
            format!(
                "This request no longer waits for a decision (it is {}). Nothing was changed.",
                request.status.to_lowercase()
            ),
            None,
        ));
    }
    let mut errors = FieldErrors::new();
    let result = match form
        .decision
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "approve" => Some(ReviewResult::Approve),
        "deny" => Some(ReviewResult::Deny),
        _ => {
            errors.add("decision", "Choose Approve or Deny.");
            None
        }
    };
    let justification = form.justification.clone().unwrap_or_default();
    let trimmed = justification.trim().to_string();
    if trimmed.chars().count() > MAX_JUSTIFICATION {
        errors.add(
            "justification",
            format!("The justification is too long: at most {MAX_JUSTIFICATION} characters."),
        );
    }
    let step = match form
        .step
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => Some(
            Uuid::parse_str(s)
                .map_err(|_| PageError::Api(ApiError::not_found("approval stage")))?,
        ),
        None => request.current.map(|(_, s)| s),
    };
    if errors.is_empty() && asks_code(&app, &viewer) {
        let given = Proof::of(form.code.as_deref(), form.passkey.as_deref());
        step_up(&app, &mut viewer, &given, &mut errors).await?;
    }
    if let (Some(result), Some(step), true) = (result, step, errors.is_empty()) {
        let given = (!trimmed.is_empty()).then(|| trimmed.clone());
        match approve::review(&app, &viewer.caller, id, step, result, given).await {
            Ok(done) => return Ok(decided(&app, &request, &done, result)),
            Err(e) => match e.code {
                "ApproverJustificationRequired" => errors.add(
                    "justification",
                    "Give a justification: this stage asks approvers to say why.",
                ),
                "SelfApprovalNotAllowed" | "NotAnApprover" => {
                    return Ok(refused(
                        &viewer,
                        StatusCode::FORBIDDEN,
                        "You are not an approver of this request",
                        "Only the approvers of the stage now waiting may decide it, and never the person who asked or for whom it is. Nothing was changed.".to_string(),
                        None,
                    ));
                }
                _ if e.status() == StatusCode::CONFLICT || e.status() == StatusCode::GONE => {
                    return Ok(refused(
                        &viewer,
                        e.status(),
                        "This request was not decided",
                        format!(
                            "{} Nothing was changed.",
                            crate::portal::page::sentence(e.message)
                        ),
                        None,
                    ));
                }
                _ if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
                    errors.absorb(&e, |t| (t == "justification").then_some("justification"))
                }
                _ => return Err(e.into()),
            },
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(render_status(
        status,
        &page(
            asks(&app, &viewer).await?,
            &viewer,
            request,
            theirs,
            justification,
            errors,
        ),
    ))
}

/// Back to Approvals, saying what the decision did.
fn decided(
    app: &App,
    view: &PackageView,
    done: &AssignmentRequest,
    result: ReviewResult,
) -> Response {
    let phrase = view.phrase();
    let text = match (result, done.state) {
        (ReviewResult::Deny, _) => format!("Denied: {phrase}. Nothing is granted."),
        (_, RequestState::PendingApproval) => {
            let next = done.approval.as_ref().and_then(|a| a.progress.current());
            match next {
                Some(i) if i + 1 != view.current_number() => format!(
                    "Approved stage {}: {phrase} now waits for stage {}.",
                    view.current_number(),
                    i + 1
                ),
                _ => format!(
                    "Your approval of {phrase} was recorded; this stage needs more approvers."
                ),
            }
        }
        (_, RequestState::Denied) => format!(
            "Your approval of {phrase} was recorded, but the request could not be granted: {}",
            done.status
        ),
        _ => format!("Approved: {phrase}."),
    };
    let flash = if done.state == RequestState::Denied && result == ReviewResult::Approve {
        Flash::warning(text)
    } else {
        Flash::success(text)
    };
    redirect_with(app, "/portal/approvals", flash)
}
