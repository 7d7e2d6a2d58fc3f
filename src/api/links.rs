//! The one-click approve/deny pages that approval mails link to: HTML, outside the JSON API and
//! its OpenAPI document.
//!
//! `GET /approvals/decide?token=T` only reads: mail scanners open links before people do, so it
//! verifies the token and shows what would be decided, with a Confirm button. `POST
//! /approvals/decide` (form: token, justification) decides, in one write transaction: the link
//! is marked used, the approver checked (still a user, still enabled, still an approver of that
//! stage now) and the review recorded with its audit entry, or, on any refusal, the transaction
//! is dropped and nothing changes (the link stays unused). Every answer is a page with a status
//! that says what happened, never internal error text.

use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use eligo_core::activation::Expiration;
use eligo_core::approval::{Refusal, ReviewResult};
use eligo_core::audit::{Actor, Initiator};
use eligo_core::request::{RequestStatus, ScheduleRequest};
use eligo_store::Tx;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::notify::links::{self, Decision, LinkClaims, LinkRefusal};
use crate::notify::templates::{format_duration, format_time};
use crate::service::pim::approve::{self, Reviewer};
use crate::service::pim::{Governed, load_target, scheduler};

/// The longest justification accepted from the page.
const MAX_JUSTIFICATION: usize = 2000;

/// HTML pages, outside the JSON API and its OpenAPI document.
pub fn routes() -> Router<AppState> {
    Router::new().route("/approvals/decide", axum::routing::get(show).post(decide))
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DecideForm {
    token: Option<String>,
    justification: Option<String>,
}

/// A labelled value in a page's table.
struct Fact {
    label: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "links/message.html")]
struct MessagePage {
    title: String,
    heading: String,
    paragraphs: Vec<String>,
    facts: Vec<Fact>,
    ok: bool,
}

#[derive(Template)]
#[template(path = "links/confirm.html")]
struct ConfirmPage {
    title: String,
    heading: String,
    intro: String,
    error: Option<String>,
    facts: Vec<Fact>,
    token: String,
    justification: String,
    justification_required: bool,
    max_justification: usize,
    approve: bool,
    button: &'static str,
    note: String,
}

/// A page answer: status and HTML, with headers that keep the token in the URL to ourselves.
struct Page {
    status: StatusCode,
    html: String,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.html).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            ),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        resp
    }
}

fn render(template: &impl Template) -> String {
    template.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "rendering an approval page failed");
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Eligo</title></head>\
         <body><p>Eligo could not show this page. Nothing was changed.</p></body></html>"
            .to_string()
    })
}

fn message(status: StatusCode, heading: &str, paragraphs: &[&str]) -> Page {
    message_with(status, heading, paragraphs, Vec::new())
}

fn message_with(status: StatusCode, heading: &str, paragraphs: &[&str], facts: Vec<Fact>) -> Page {
    Page {
        status,
        html: render(&MessagePage {
            title: heading.to_string(),
            heading: heading.to_string(),
            paragraphs: paragraphs.iter().map(|p| p.to_string()).collect(),
            facts,
            ok: status.is_success(),
        }),
    }
}

const NOTHING_CHANGED: &str = "Nothing was changed.";

/// Why nothing was decided, as a page.
enum Refused {
    BadLink,
    Expired,
    Used,
    NotApprover,
    ApproverGone,
    OwnRequest,
    AlreadyReviewed,
    /// The stage requires a justification and none was given (the form is shown again).
    JustificationRequired,
    NoLongerPending(Option<RequestStatus>),
    ApprovalExpired,
    Gone,
    /// A 4xx the decision itself refused for, with its (client-facing) message.
    Other(StatusCode, String),
    Internal,
}

impl Refused {
    fn page(&self) -> Page {
        let open = "To decide, open the request in Eligo.";
        match self {
            Refused::BadLink => message(
                StatusCode::BAD_REQUEST,
                "This link is not valid",
                &[
                    "The link is incomplete or was changed. Open it again from the mail, or copy the whole address into your browser.",
                    NOTHING_CHANGED,
                ],
            ),
            Refused::Expired => message(
                StatusCode::GONE,
                "This link has expired",
                &[
                    "Approval links work for a limited time only.",
                    open,
                    NOTHING_CHANGED,
                ],
            ),
            Refused::Used => message(
                StatusCode::CONFLICT,
                "This link was already used",
                &["Each approval link works once.", NOTHING_CHANGED],
            ),
            Refused::NotApprover => message(
                StatusCode::FORBIDDEN,
                "You are not an approver of this request",
                &[
                    "Who may decide is checked when the link is used, and it has changed since the mail was sent (or the stage this link was for is not the one waiting).",
                    NOTHING_CHANGED,
                ],
            ),
            Refused::ApproverGone => message(
                StatusCode::FORBIDDEN,
                "This link can no longer be used",
                &[
                    "The account this link was made for no longer exists or is disabled.",
                    NOTHING_CHANGED,
                ],
            ),
            Refused::OwnRequest => message(
                StatusCode::FORBIDDEN,
                "You cannot decide your own request",
                &[
                    "Nobody approves a request they made or that was made for them.",
                    NOTHING_CHANGED,
                ],
            ),
            Refused::AlreadyReviewed => message(
                StatusCode::CONFLICT,
                "You already reviewed this request",
                &[
                    "Your decision on this request was recorded before; each approver decides once.",
                    NOTHING_CHANGED,
                ],
            ),
            Refused::JustificationRequired => message(
                StatusCode::BAD_REQUEST,
                "A justification is required",
                &[
                    "This stage requires approvers to say why. Open the link again and fill in the justification.",
                    NOTHING_CHANGED,
                ],
            ),
            Refused::NoLongerPending(status) => {
                let first = match status {
                    Some(s) if *s != RequestStatus::PendingApproval => format!(
                        "This request no longer waits for a decision (it is {}).",
                        s.as_str()
                    ),
                    _ => "The stage this link was for is no longer waiting for a decision."
                        .to_string(),
                };
                message(
                    StatusCode::CONFLICT,
                    "This request was already decided",
                    &[&first, NOTHING_CHANGED],
                )
            }
            Refused::ApprovalExpired => message(
                StatusCode::GONE,
                "This request's approval has expired",
                &[
                    "The request was not decided in time; the requester may ask again.",
                    NOTHING_CHANGED,
                ],
            ),
            Refused::Gone => message(
                StatusCode::NOT_FOUND,
                "This request no longer exists",
                &[
                    "The request, or what it asks for, was removed.",
                    NOTHING_CHANGED,
                ],
            ),
            Refused::Other(status, text) => message(
                *status,
                "The decision was refused",
                &[text.as_str(), NOTHING_CHANGED],
            ),
            Refused::Internal => message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                &[
                    "Eligo could not record the decision. Nothing was changed; try the link again later.",
                ],
            ),
        }
    }
}

impl From<LinkRefusal> for Refused {
    fn from(r: LinkRefusal) -> Self {
        match r {
            LinkRefusal::Malformed | LinkRefusal::Tampered => Refused::BadLink,
            LinkRefusal::Expired => Refused::Expired,
        }
    }
}

impl From<Refusal> for Refused {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::UnknownStep => Refused::Gone,
            Refusal::StepNotInProgress => Refused::NoLongerPending(None),
            Refusal::OwnRequest => Refused::OwnRequest,
            Refusal::NotAnApprover => Refused::NotApprover,
            Refusal::AlreadyReviewed => Refused::AlreadyReviewed,
            Refusal::JustificationRequired => Refused::JustificationRequired,
            Refusal::Expired => Refused::ApprovalExpired,
        }
    }
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        if e.status.is_server_error() {
            // Already logged with its context where it was made.
            return Refused::Internal;
        }
        match e.code {
            "Request_ResourceNotFound" | "ApprovalStepNotFound" => Refused::Gone,
            "ApprovalStepNotInProgress" => Refused::NoLongerPending(None),
            "SelfApprovalNotAllowed" => Refused::OwnRequest,
            "NotAnApprover" => Refused::NotApprover,
            "ApprovalAlreadyReviewed" => Refused::AlreadyReviewed,
            "ApprovalExpired" => Refused::ApprovalExpired,
            "ApproverJustificationRequired" => Refused::JustificationRequired,
            _ => Refused::Other(e.status, e.message),
        }
    }
}

/// `GET /approvals/decide?token=T`: what the link would decide, and a button to confirm.
/// Changes nothing.
async fn show(
    State(app): State<AppState>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Page {
    let token = match query {
        Ok(Query(TokenQuery { token: Some(t) })) => t,
        _ => return Refused::BadLink.page(),
    };
    let now = app.clock.now();
    let claims = match links::verify(&app.link_key, &token, now) {
        Ok(c) => c,
        Err(r) => return Refused::from(r).page(),
    };
    match confirmation(&app, &claims, now).await {
        Ok(view) => confirm_page(&view, &claims, token, String::new(), None),
        Err(refused) => refused.page(),
    }
}

/// What the confirmation page shows about a request.
struct View {
    approver_name: String,
    facts: Vec<Fact>,
    justification_required: bool,
}

/// Loads the request in a read transaction and checks that the link's approver could decide
/// its stage now.
async fn confirmation(app: &App, claims: &LinkClaims, now: DateTime<Utc>) -> Result<View, Refused> {
    let mut tx = app.store.read().await.map_err(ApiError::from)?;
    let approver = approver_actor(&mut *tx, claims.approver_id).await?;
    let request = tx
        .get_schedule_request(claims.request_id)
        .await
        .map_err(ApiError::from)?
        .filter(|r| r.approval.is_some())
        .ok_or(Refused::Gone)?;
    if request.status != RequestStatus::PendingApproval {
        return Err(Refused::NoLongerPending(Some(request.status)));
    }
    let approval = request.approval.as_ref().ok_or(Refused::Gone)?;
    let index = approval
        .steps
        .iter()
        .position(|s| s.id == claims.step_id)
        .ok_or(Refused::Gone)?;
    let step = &approval.steps[index];
    let who = approve::approvers_of(&mut *tx, &app.access, &request, step, now).await?;
    approval
        .may_review(
            index,
            claims.approver_id,
            &who,
            &approve::requester(&request),
            now,
        )
        .map_err(Refused::from)?;
    let facts = request_facts(&mut *tx, &request, index, now).await?;
    Ok(View {
        approver_name: approver.display_name,
        facts,
        justification_required: step.settings.is_approver_justification_required,
    })
}

/// The approver a link was made for, as the audit names them: a user that exists and is
/// enabled, or a refusal.
async fn approver_actor(tx: &mut dyn Tx, id: Uuid) -> Result<Actor, Refused> {
    let user = tx
        .get_user(id)
        .await
        .map_err(ApiError::from)?
        .filter(|u| u.account_enabled)
        .ok_or(Refused::ApproverGone)?;
    Ok(Actor {
        id: Some(user.id),
        display_name: user.display_name,
        user_principal_name: Some(user.user_principal_name),
    })
}

/// Who asks for what, where, for how long, why, and which stage waits.
async fn request_facts(
    tx: &mut dyn Tx,
    request: &ScheduleRequest,
    index: usize,
    now: DateTime<Utc>,
) -> Result<Vec<Fact>, Refused> {
    let target = load_target(tx, &request.target(), request.principal_id).await?;
    let mut facts = Vec::new();
    let person = |name: &str, upn: &Option<String>| match upn {
        Some(upn) if upn != name => format!("{name} ({upn})"),
        _ => name.to_string(),
    };
    facts.push(Fact {
        label: "Requester",
        value: person(&target.principal.display_name, &target.principal.upn),
    });
    if request.created_by != request.principal_id
        && let Some(filer) = crate::service::access::principal_summary(tx, request.created_by)
            .await
            .map_err(Refused::from)?
    {
        facts.push(Fact {
            label: "Filed by",
            value: person(&filer.display_name, &filer.upn),
        });
    }
    match &target.governed {
        Governed::Role(role) => {
            facts.push(Fact {
                label: "Role",
                value: role.display_name.clone(),
            });
            facts.push(Fact {
                label: "Scope",
                value: if request.directory_scope_id == "/" {
                    "/ (the whole directory)".to_string()
                } else {
                    request.directory_scope_id.clone()
                },
            });
        }
        Governed::Group { group, access } => {
            facts.push(Fact {
                label: "Group",
                value: group.display_name.clone(),
            });
            facts.push(Fact {
                label: "Access",
                value: format!("{access}ship"),
            });
        }
    }
    facts.push(Fact {
        label: "Start",
        value: match request.schedule_info.start_date_time {
            Some(start) if start > now => format_time(start),
            _ => "when approved".to_string(),
        },
    });
    let (label, value) = match request.schedule_info.expiration() {
        Expiration::AfterDuration(d) => ("Duration", format_duration(d)),
        Expiration::AfterDateTime(end) => ("Until", format_time(end)),
        Expiration::NoExpiration => ("Until", "no end (permanent)".to_string()),
    };
    facts.push(Fact { label, value });
    if let Some(j) = request
        .justification
        .as_ref()
        .filter(|j| !j.trim().is_empty())
    {
        facts.push(Fact {
            label: "Justification",
            value: j.clone(),
        });
    }
    if let Some(t) = &request.ticket_info {
        let value = match (t.number.trim(), t.system.trim()) {
            ("", "") => String::new(),
            (n, "") => n.to_string(),
            ("", s) => s.to_string(),
            (n, s) => format!("{n} ({s})"),
        };
        if !value.is_empty() {
            facts.push(Fact {
                label: "Ticket",
                value,
            });
        }
    }
    if let Some(approval) = &request.approval {
        let step = &approval.steps[index];
        let mut stage = format!("{} of {}", index + 1, approval.steps.len());
        let needed = step.settings.minimum_approvals.max(1) as usize;
        if needed > 1 {
            let given = step
                .reviews
                .iter()
                .filter(|r| r.review_result == ReviewResult::Approve)
                .count();
            stage.push_str(&format!(" ({given} of {needed} approvals so far)"));
        }
        facts.push(Fact {
            label: "Approval stage",
            value: stage,
        });
        if let Some(deadline) = step.deadline() {
            facts.push(Fact {
                label: "Decide before",
                value: format_time(deadline),
            });
        }
    }
    facts.push(Fact {
        label: "Requested",
        value: format_time(request.created_date_time),
    });
    Ok(facts)
}

fn confirm_page(
    view: &View,
    claims: &LinkClaims,
    token: String,
    justification: String,
    error: Option<String>,
) -> Page {
    let approve = claims.decision == Decision::Approve;
    let (heading, button) = if approve {
        ("Approve this request?", "Confirm approval")
    } else {
        ("Deny this request?", "Confirm denial")
    };
    let intro = format!(
        "You are deciding as {}. Check the request, then confirm: this {} it{}.",
        view.approver_name,
        if approve { "approves" } else { "denies" },
        if approve {
            " (or completes your part, when the stage needs more approvers)"
        } else {
            ", and nothing is granted"
        }
    );
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Page {
        status,
        html: render(&ConfirmPage {
            title: heading.to_string(),
            heading: heading.to_string(),
            intro,
            error,
            facts: view.facts.iter().map(|f| Fact {
                label: f.label,
                value: f.value.clone(),
            })
            .collect(),
            token,
            justification,
            justification_required: view.justification_required,
            max_justification: MAX_JUSTIFICATION,
            approve,
            button,
            note: "Nothing has been decided yet. The link works once; if you do not want to decide now, close this page."
                .to_string(),
        }),
    }
}

/// `POST /approvals/decide`: records the decision the link makes.
async fn decide(
    State(app): State<AppState>,
    form: Result<Form<DecideForm>, FormRejection>,
) -> Page {
    let Ok(Form(form)) = form else {
        return Refused::BadLink.page();
    };
    let Some(token) = form.token.filter(|t| !t.is_empty()) else {
        return Refused::BadLink.page();
    };
    let now = app.clock.now();
    let claims = match links::verify(&app.link_key, &token, now) {
        Ok(c) => c,
        Err(r) => return Refused::from(r).page(),
    };
    let justification = form
        .justification
        .map(|j| j.trim().to_string())
        .filter(|j| !j.is_empty());
    if justification
        .as_ref()
        .is_some_and(|j| j.chars().count() > MAX_JUSTIFICATION)
    {
        let error =
            format!("The justification is too long: at most {MAX_JUSTIFICATION} characters.");
        return again(
            &app,
            &claims,
            token,
            justification.unwrap_or_default(),
            error,
            now,
        )
        .await;
    }
    match record(&app, &claims, &token, justification, now).await {
        Ok(request) => decided_page(&claims, &request),
        Err(Refused::JustificationRequired) => {
            let error = "This stage requires a justification: say why you decide this way.";
            again(&app, &claims, token, String::new(), error.into(), now).await
        }
        Err(refused) => refused.page(),
    }
}

/// The confirmation form again, with what was typed and what to fix (400).
async fn again(
    app: &App,
    claims: &LinkClaims,
    token: String,
    typed: String,
    error: String,
    now: DateTime<Utc>,
) -> Page {
    match confirmation(app, claims, now).await {
        Ok(view) => confirm_page(&view, claims, token, typed, Some(error)),
        Err(refused) => refused.page(),
    }
}

/// The decision in one write transaction; dropped (nothing changes) on any refusal.
async fn record(
    app: &App,
    claims: &LinkClaims,
    token: &str,
    justification: Option<String>,
    now: DateTime<Utc>,
) -> Result<ScheduleRequest, Refused> {
    let mut tx = app.store.write().await.map_err(ApiError::from)?;
    if !tx
        .consume_link(&links::token_hash(token), now.timestamp_micros())
        .await
        .map_err(ApiError::from)?
    {
        return Err(Refused::Used);
    }
    let actor = approver_actor(&mut *tx, claims.approver_id).await?;
    // Tell a decided request from a stage that moved on, for a clearer page.
    if let Some(request) = tx
        .get_schedule_request(claims.request_id)
        .await
        .map_err(ApiError::from)?
        && request.approval.is_some()
        && request.status != RequestStatus::PendingApproval
    {
        return Err(Refused::NoLongerPending(Some(request.status)));
    }
    let reviewer = Reviewer {
        id: claims.approver_id,
        initiator: Initiator::User(actor),
    };
    let result = match claims.decision {
        Decision::Approve => ReviewResult::Approve,
        Decision::Deny => ReviewResult::Deny,
    };
    let request = approve::review_in(
        app,
        &mut *tx,
        &reviewer,
        claims.request_id,
        claims.step_id,
        result,
        justification,
        now,
    )
    .await?;
    tx.commit().await.map_err(ApiError::from)?;
    app.scheduler.due_at(scheduler::next_due_of(&request, now));
    Ok(request)
}

fn decided_page(claims: &LinkClaims, request: &ScheduleRequest) -> Page {
    let (heading, text): (&str, String) = match (claims.decision, request.status) {
        (Decision::Deny, _) => (
            "Request denied",
            "You denied the request. The requester will be told; nothing is granted.".into(),
        ),
        (Decision::Approve, RequestStatus::PendingApproval) => {
            let next = request
                .approval
                .as_ref()
                .and_then(|a| a.current().map(|i| (i, a.steps.len())));
            (
                "Approval recorded",
                match next {
                    Some((i, n)) if request.approval.as_ref().is_some_and(|a| a.steps[i].id != claims.step_id) => format!(
                        "Your approval completed this stage. The request now waits for stage {} of {n}.",
                        i + 1
                    ),
                    _ => "Your approval was recorded. This stage needs more approvers before the request goes on."
                        .into(),
                },
            )
        }
        (Decision::Approve, RequestStatus::Failed) => (
            "Approval recorded",
            "Your approval was recorded, but the access could not be granted; the request failed. The requester will be told."
                .into(),
        ),
        (Decision::Approve, _) => (
            "Request approved",
            "You approved the request; the access is granted. The requester will be told.".into(),
        ),
    };
    let facts = vec![
        Fact {
            label: "Request",
            value: request.id.to_string(),
        },
        Fact {
            label: "Status",
            value: request.status.as_str().to_string(),
        },
    ];
    message_with(StatusCode::OK, heading, &[text.as_str()], facts)
}
