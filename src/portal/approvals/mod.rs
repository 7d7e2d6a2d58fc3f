//! Approvals: the requests (roles and group accesses) waiting on the signed-in person's
//! decision, each in full with an Approve / Deny form, and what they decided lately. A decision
//! goes through `service::pim::approve::review`, the very use case of the API's
//! `PATCH .../roleAssignmentApprovals/{id}/steps/{stepId}`, with the viewer as reviewer: the
//! portal can decide nothing the API would refuse.

pub mod packages;
pub mod view;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use eligo_core::approval::ReviewResult;
use eligo_core::request::{RequestStatus, ScheduleRequest};
use eligo_store::{AuditQuery, Page};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageError, PageResult, Section, redirect_with, render, render_status,
};
use crate::portal::proof::{self, Proof};
use crate::portal::session::Viewer;
use crate::service::authorize;
use crate::service::pim::approve;
use crate::service::sessions;

use view::{Names, RequestView, When};

/// The longest approver justification accepted (as the one-click approval page).
pub const MAX_JUSTIFICATION: usize = 2000;

/// How many of the viewer's recent decisions the list shows.
const RECENT: usize = 10;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/approvals", get(list))
        .route("/portal/approvals/bulk", axum::routing::post(bulk))
        .route("/portal/approvals/{id}", get(detail).post(decide))
        .route(
            "/portal/approvals/packages/{id}",
            get(packages::detail).post(packages::decide),
        )
}

/// One of the viewer's recent decisions, from the audit log.
pub struct RecentView {
    pub at: When,
    pub what: String,
    pub requester: String,
    pub approved: bool,
    /// The request's page ("" when there is none to open).
    pub href: String,
}

#[derive(Template)]
#[template(path = "portal/approvals/list.html")]
struct ListPage {
    chrome: Chrome,
    waiting: Vec<RequestView>,
    /// Access package requests waiting on the viewer, in their own section.
    packages: Vec<packages::PackageView>,
    recent: Vec<RecentView>,
    /// The shared request part sits one heading level deeper here.
    nested: bool,
    /// The bulk form asks for a code (the viewer's last second factor is not fresh).
    ask_code: bool,
    /// ... or offers the viewer's passkey.
    offer_passkey: bool,
    max_justification: usize,
    errors: FieldErrors,
    justification: String,
}

#[derive(Template)]
#[template(path = "portal/approvals/detail.html")]
struct DetailPage {
    chrome: Chrome,
    request: RequestView,
    /// Why the viewer cannot decide (shown instead of the form while the request waits).
    not_yours: String,
    justification: String,
    errors: FieldErrors,
    max_justification: usize,
    nested: bool,
    /// The viewer's last second factor is not fresh: the form asks for a code (rule 4), or
    /// offers their passkey.
    ask_code: bool,
    offer_passkey: bool,
}

#[derive(Template)]
#[template(path = "portal/approvals/refused.html")]
struct RefusedPage {
    chrome: Chrome,
    heading: String,
    message: String,
    request_id: Option<Uuid>,
}

#[derive(Debug, Deserialize)]
struct DecideForm {
    decision: Option<String>,
    justification: Option<String>,
    step: Option<String>,
    code: Option<String>,
    /// A passkey's answer (filled by `assets/passkey.js`).
    passkey: Option<String>,
}

/// Must the viewer's decision form ask for a second factor (their last one is not fresh)?
fn asks_code(app: &App, viewer: &Viewer) -> bool {
    !authorize::is_strong(&viewer.caller, app.clock.now(), app.config.mfa_freshness)
}

/// What a decision form asks for: a code (also from a person with no factor at all, whose
/// refusal then says to set one up) and the viewer's passkey when they have one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asks {
    pub code: bool,
    pub passkey: bool,
}

pub(super) async fn asks(app: &App, viewer: &Viewer) -> PageResult<Asks> {
    if !asks_code(app, viewer) {
        return Ok(Asks {
            code: false,
            passkey: false,
        });
    }
    let factors = sessions::second_factors(app, viewer.caller.id).await?;
    Ok(Asks {
        code: factors.totp || !factors.passkeys,
        passkey: factors.passkeys,
    })
}

async fn list(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let page = list_page(&app, &viewer, FieldErrors::new(), String::new()).await?;
    Ok(render(&page))
}

async fn list_page(
    app: &App,
    viewer: &Viewer,
    errors: FieldErrors,
    justification: String,
) -> PageResult<ListPage> {
    let waiting = approve::waiting_on(app, &viewer.caller).await?;
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let mut names = Names::default();
    let mut views = Vec::with_capacity(waiting.len());
    for request in &waiting {
        let steps =
            approve::steps_for(&mut *tx, &app.access, request, viewer.caller.id, now).await?;
        views.push(view::build(&mut *tx, &mut names, request, &steps, now).await?);
    }
    let recent = recent_decisions(app, &mut *tx, viewer.caller.id).await?;
    drop(tx);
    let asks = asks(app, viewer).await?;
    Ok(ListPage {
        packages: packages::waiting(app, viewer).await?,
        chrome: viewer.chrome(Section::Approvals),
        waiting: views,
        recent,
        nested: true,
        ask_code: asks.code,
        offer_passkey: asks.passkey,
        max_justification: MAX_JUSTIFICATION,
        errors,
        justification,
    })
}

/// Several requests decided at once with one justification: each still goes through
/// `approve::review` on its own (checked, audited and notified as if decided alone), and the
/// answer says what became of each. Only the stage each request is waiting at now is decided.
async fn bulk(
    State(app): State<AppState>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult<Response> {
    let Posted { mut viewer, form } = posted;
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = FieldErrors::new();
    let result = match value("decision").to_ascii_lowercase().as_str() {
        "approve" => Some(ReviewResult::Approve),
        "deny" => Some(ReviewResult::Deny),
        _ => {
            errors.add("decision", "Choose Approve selected or Deny selected.");
            None
        }
    };
    let picked: Vec<Uuid> = form
        .iter()
        .filter(|(k, _)| k == "pick")
        .filter_map(|(_, v)| Uuid::parse_str(v.trim()).ok())
        .collect();
    if picked.is_empty() {
        errors.add_general("Select the requests to decide.");
    }
    let justification = value("justification");
    if justification.is_empty() {
        errors.add(
            "justification",
            "Give a justification: say why you approve or deny these requests.",
        );
    } else if justification.chars().count() > MAX_JUSTIFICATION {
        errors.add(
            "justification",
            format!("The justification is too long: at most {MAX_JUSTIFICATION} characters."),
        );
    }
    if errors.is_empty() && asks_code(&app, &viewer) {
        let given = Proof::of(Some(&value("code")), Some(&value("passkey")));
        step_up(&app, &mut viewer, &given, &mut errors).await?;
    }
    let Some(result) = result.filter(|_| errors.is_empty()) else {
        let page = list_page(&app, &viewer, errors, justification).await?;
        return Ok(render_status(StatusCode::BAD_REQUEST, &page));
    };
    let mut done = Vec::new();
    let mut not_done = Vec::new();
    for id in picked {
        let (_, view) = match load(&app, &viewer, id).await {
            Ok(found) => found,
            Err(_) => {
                not_done.push(format!("{id}: no such request"));
                continue;
            }
        };
        let phrase = view.phrase();
        let Some((_, step)) = view.current.filter(|_| view.pending) else {
            not_done.push(format!("{phrase}: no longer waiting"));
            continue;
        };
        match approve::review(
            &app,
            &viewer.caller,
            id,
            step,
            result,
            Some(justification.clone()),
        )
        .await
        {
            Ok(_) => done.push(phrase),
            Err(e) if e.status().is_client_error() => {
                not_done.push(format!("{phrase}: {}", e.message))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let verb = if result == ReviewResult::Deny {
        "Denied"
    } else {
        "Approved"
    };
    let mut text = match done.len() {
        0 => "Nothing was decided.".to_string(),
        1 => format!("{verb} 1 request: {}.", done[0]),
        n => format!("{verb} {n} requests: {}.", done.join("; ")),
    };
    if !not_done.is_empty() {
        text.push_str(&format!(" Not decided: {}.", not_done.join("; ")));
    }
    let flash = if not_done.is_empty() {
        Flash::success(text)
    } else {
        Flash::warning(text)
    };
    Ok(redirect_with(&app, "/portal/approvals", flash))
}

/// The viewer's latest decisions: one indexed audit query (by initiator), no per-row reads.
async fn recent_decisions(
    app: &App,
    tx: &mut dyn eligo_store::Tx,
    who: Uuid,
) -> Result<Vec<RecentView>, PageError> {
    let entries = tx
        .list_audit(
            &AuditQuery {
                initiator_id: Some(who),
                ..Default::default()
            },
            Page { top: 200, skip: 0 },
        )
        .await?;
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            let result = e
                .additional_details
                .iter()
                .find(|d| d.key == "reviewResult")?
                .value
                .clone();
            let name = |i: usize| {
                e.target_resources
                    .get(i)
                    .and_then(|t| t.display_name.clone())
                    .unwrap_or_default()
            };
            // An access package review names the request, the package and its target.
            if let Some(r) = e
                .target_resources
                .iter()
                .find(|t| t.kind == "AccessPackageAssignmentRequest")
            {
                let of = |kind: &str| e.target_resources.iter().find(|t| t.kind == kind);
                return Some(RecentView {
                    at: When::of(e.activity_date_time),
                    what: of("AccessPackage")
                        .and_then(|t| t.display_name.clone())
                        .unwrap_or_default(),
                    requester: of("DirectoryObject")
                        .and_then(|t| Uuid::parse_str(&t.id).ok())
                        .and_then(|id| app.access.principal(id))
                        .map(|(_, n)| n)
                        .unwrap_or_default(),
                    approved: result == "Approve",
                    href: format!("/portal/approvals/packages/{}", r.id),
                });
            }
            Some(RecentView {
                at: When::of(e.activity_date_time),
                what: name(0),
                requester: name(1),
                approved: result == "Approve",
                href: e
                    .target_resources
                    .iter()
                    .find(|t| t.kind == "Request")
                    .map(|t| format!("/portal/approvals/{}", t.id))
                    .unwrap_or_default(),
            })
        })
        .take(RECENT)
        .collect())
}

fn parse_id(raw: &str) -> PageResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| PageError::Api(ApiError::not_found("approval")))
}

/// The request behind `id` as the viewer may see it (404 otherwise), and its view.
async fn load(app: &App, viewer: &Viewer, id: Uuid) -> PageResult<(ScheduleRequest, RequestView)> {
    let now = app.clock.now();
    let mut tx = app.store.read().await?;
    let request = approve::load_visible(&mut *tx, &app.access, &viewer.caller, id, now).await?;
    let steps = approve::steps_for(&mut *tx, &app.access, &request, viewer.caller.id, now).await?;
    let view = view::build(&mut *tx, &mut Names::default(), &request, &steps, now).await?;
    Ok((request, view))
}

/// Why `viewer` sees no form on a request that still waits.
fn not_yours(viewer: &Viewer, request: &ScheduleRequest, view: &RequestView) -> String {
    if !view.pending || view.assigned_to_me {
        return String::new();
    }
    if approve::requester(request).contains(&viewer.caller.id) {
        return "This is your request: someone else decides it. You will be told when they do."
            .to_string();
    }
    let reviewed = request.approval.as_ref().is_some_and(|a| {
        a.steps
            .iter()
            .flat_map(|s| &s.reviews)
            .any(|r| r.reviewed_by == viewer.caller.id)
    });
    if reviewed {
        return "You already decided this request; it now waits for other approvers.".to_string();
    }
    "You are not an approver of the stage now waiting, so you cannot decide it.".to_string()
}

async fn detail(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = parse_id(&id)?;
    let (request, view) = load(&app, &viewer, id).await?;
    let asks = asks(&app, &viewer).await?;
    Ok(render(&DetailPage {
        not_yours: not_yours(&viewer, &request, &view),
        ask_code: asks.code,
        offer_passkey: asks.passkey,
        chrome: viewer.chrome(Section::Approvals),
        request: view,
        justification: String::new(),
        errors: FieldErrors::new(),
        max_justification: MAX_JUSTIFICATION,
        nested: false,
    }))
}

fn refused(
    viewer: &Viewer,
    status: StatusCode,
    heading: &str,
    message: String,
    request_id: Option<Uuid>,
) -> Response {
    render_status(
        status,
        &RefusedPage {
            chrome: viewer.chrome(Section::Approvals),
            heading: heading.to_string(),
            message,
            request_id,
        },
    )
}

/// The page for a request that no longer waits: who decided it, or what ended it.
fn no_longer_waiting(viewer: &Viewer, request: &ScheduleRequest, view: &RequestView) -> Response {
    let message = match (request.status, view.last_decision()) {
        (RequestStatus::Canceled, _) => {
            "This request was canceled by the requester; there is nothing left to decide. Nothing was changed.".to_string()
        }
        (_, Some(last)) => format!(
            "This request was already decided by {last}; it is now {}. Nothing was changed.",
            request.status.as_str()
        ),
        (status, None) => format!(
            "This request no longer waits for a decision (it is {}). Nothing was changed.",
            status.as_str()
        ),
    };
    refused(
        viewer,
        StatusCode::CONFLICT,
        "This request was already decided",
        message,
        Some(request.id),
    )
}

async fn decide(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<DecideForm>,
) -> PageResult<Response> {
    let Posted { mut viewer, form } = posted;
    let id = parse_id(&id)?;
    let (request, view) = load(&app, &viewer, id).await?;
    if !view.pending {
        return Ok(no_longer_waiting(&viewer, &request, &view));
    }
    let mut errors = FieldErrors::new();
    let decision = form.decision.as_deref().unwrap_or("").trim().to_string();
    let result = match decision.to_ascii_lowercase().as_str() {
        "approve" => Some(ReviewResult::Approve),
        "deny" => Some(ReviewResult::Deny),
        _ => {
            errors.add("decision", "Choose Approve or Deny.");
            None
        }
    };
    let justification = form.justification.clone().unwrap_or_default();
    let trimmed = justification.trim().to_string();
    if trimmed.is_empty() {
        errors.add(
            "justification",
            "Give a justification: say why you approve or deny this request.",
        );
    } else if trimmed.chars().count() > MAX_JUSTIFICATION {
        errors.add(
            "justification",
            format!("The justification is too long: at most {MAX_JUSTIFICATION} characters."),
        );
    }
    // The stage the page was showing; a stale page for a stage that moved on is refused by
    // the use case (that stage is no longer in progress).
    let step = match form
        .step
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => match Uuid::parse_str(s) {
            Ok(s) => Some(s),
            Err(_) => return Err(PageError::Api(ApiError::not_found("approval step"))),
        },
        None => view.current.map(|(_, s)| s),
    };
    if errors.is_empty() && asks_code(&app, &viewer) {
        let given = Proof::of(form.code.as_deref(), form.passkey.as_deref());
        step_up(&app, &mut viewer, &given, &mut errors).await?;
    }
    if let (Some(result), Some(step), true) = (result, step, errors.is_empty()) {
        match approve::review(&app, &viewer.caller, id, step, result, Some(trimmed)).await {
            Ok(done) => return Ok(decided(&app, &view, &done, result)),
            Err(e) => match e.code {
                "ApproverJustificationRequired" => errors.add("justification", e.message),
                "SelfApprovalNotAllowed" => {
                    return Ok(refused(
                        &viewer,
                        StatusCode::FORBIDDEN,
                        "You cannot decide your own request",
                        "Nobody approves a request they made or that was made for them. Nothing was changed.".to_string(),
                        Some(id),
                    ));
                }
                "NotAnApprover" => {
                    return Ok(refused(
                        &viewer,
                        StatusCode::FORBIDDEN,
                        "You are not an approver of this request",
                        "Only the approvers of the stage now waiting may decide it. Nothing was changed.".to_string(),
                        Some(id),
                    ));
                }
                "ApprovalAlreadyReviewed" => {
                    return Ok(refused(
                        &viewer,
                        StatusCode::CONFLICT,
                        "You already decided this request",
                        "Your decision on this request was recorded before; each approver decides once. Nothing was changed.".to_string(),
                        Some(id),
                    ));
                }
                "ApprovalStepNotInProgress" => {
                    let (request, view) = load(&app, &viewer, id).await?;
                    if !view.pending {
                        return Ok(no_longer_waiting(&viewer, &request, &view));
                    }
                    return Ok(refused(
                        &viewer,
                        StatusCode::CONFLICT,
                        "This stage was already decided",
                        "The stage you were looking at is no longer waiting: the request moved on. Open it again to see where it stands. Nothing was changed.".to_string(),
                        Some(id),
                    ));
                }
                "ApprovalExpired" => {
                    return Ok(refused(
                        &viewer,
                        StatusCode::GONE,
                        "This request's approval has expired",
                        "The request was not decided in time; the requester may ask again. Nothing was changed.".to_string(),
                        Some(id),
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
    let asks = asks(&app, &viewer).await?;
    Ok(render_status(
        status,
        &DetailPage {
            not_yours: not_yours(&viewer, &request, &view),
            ask_code: asks.code,
            offer_passkey: asks.passkey,
            chrome: viewer.chrome(Section::Approvals),
            request: view,
            justification,
            errors,
            max_justification: MAX_JUSTIFICATION,
            nested: false,
        },
    ))
}

/// Proves the viewer's second factor with the code or passkey answer the form carried, or
/// says what is wrong.
async fn step_up(
    app: &App,
    viewer: &mut Viewer,
    given: &Proof,
    errors: &mut FieldErrors,
) -> PageResult<()> {
    let shape = match given {
        Proof::Missing => Some(
            "Enter the six-digit code your authenticator app shows now, or use your passkey: a decision on someone's access needs it.",
        ),
        Proof::Code(code) => proof::code_shape_problem(code),
        Proof::Passkey(_) | Proof::Unreadable => None,
    };
    if let Some(problem) = shape {
        errors.add("code", problem);
        return Ok(());
    }
    match proof::step_up(app, &viewer.caller, given).await {
        Ok(at) => viewer.caller.session.last_mfa_at = Some(at),
        Err(e) if e.code == "MfaNotEnrolled" => errors.add_general(
            "A decision needs a code from an authenticator app or a passkey, and you have set up neither: set one up under Security info (/portal/security) first.",
        ),
        Err(e) if e.status().is_client_error() => errors.add("code", proof::refusal_text(given, &e)),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Back to Approvals, saying what the decision did.
fn decided(
    app: &App,
    view: &RequestView,
    done: &ScheduleRequest,
    result: ReviewResult,
) -> Response {
    let phrase = view.phrase();
    let text = match (result, done.status) {
        (ReviewResult::Deny, _) => format!("Denied: {phrase}. Nothing is granted."),
        (_, RequestStatus::PendingApproval) => {
            let next = done.approval.as_ref().and_then(|a| a.current());
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
        (_, RequestStatus::Failed) => format!(
            "Your approval of {phrase} was recorded, but the access could not be granted: the request failed."
        ),
        _ => format!("Approved: {phrase}."),
    };
    let flash = if done.status == RequestStatus::Failed {
        Flash::warning(text)
    } else {
        Flash::success(text)
    };
    redirect_with(app, "/portal/approvals", flash)
}
