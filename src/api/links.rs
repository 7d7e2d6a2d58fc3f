//! The one-click approve/deny pages that approval mails link to: HTML, outside the JSON API and
//! its OpenAPI document.
//!
//! A link identifies the request, the stage and the approver it was sent to; it is not itself a
//! credential. The decision is the approver's, signed in to the portal, with a fresh second
//! factor as any decision on someone's access (threat-model rule 4): whoever else reads the mail
//! (a forwarded message, a mailbox taken over, a mail scanner) decides nothing.
//!
//! `GET /approvals/decide?token=T` only reads: mail scanners open links before people do, so it
//! verifies the token and shows what would be decided. Without a portal session it offers
//! "Sign in" (the approver's user name filled in, coming back here); signed in as the approver it
//! shows a Confirm form (asking for the authenticator code when the last one is not fresh);
//! signed in as someone else it says so. `POST /approvals/decide` (form: token, anti-forgery
//! token, code, justification) steps up when a code is given, then asks
//! `service::pim::approve::review_by_link`, which decides in one write transaction (the link
//! consumed, the approver checked as the stage's approver now, the review recorded with its
//! audit entry) or, on any refusal, changes nothing (the link stays unused). Every answer is a
//! page with a status that says what happened, never internal error text.

use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use eligo_core::activation::Expiration;
use eligo_core::approval::{Refusal, ReviewResult};
use eligo_core::audit::Actor;
use eligo_core::request::{RequestStatus, ScheduleRequest};
use eligo_store::Tx;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::notify::links::{self, Decision, LinkClaims, LinkRefusal};
use crate::notify::templates::{format_duration, format_time};
use crate::portal::session::csrf_for;
use crate::portal::{cookies, csrf};
use crate::service::authorize;
use crate::service::pim::approve;
use crate::service::pim::{Governed, load_target};
use crate::service::sessions;

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
    csrf: Option<String>,
    code: Option<String>,
    justification: Option<String>,
}

/// A labelled value in a page's table.
struct Fact {
    label: &'static str,
    value: String,
}

impl Fact {
    fn copy(&self) -> Fact {
        Fact {
            label: self.label,
            value: self.value.clone(),
        }
    }
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
    csrf: String,
    ask_code: bool,
    justification: String,
    justification_required: bool,
    max_justification: usize,
    approve: bool,
    button: &'static str,
    note: String,
}

#[derive(Template)]
#[template(path = "links/sign_in_first.html")]
struct SignInFirstPage {
    title: String,
    heading: String,
    intro: String,
    error: Option<String>,
    facts: Vec<Fact>,
    href: String,
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
        if e.status().is_server_error() {
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
            "ApprovalLinkUsed" => Refused::Used,
            "ApprovalLinkForAnotherApprover" => Refused::NotApprover,
            _ => Refused::Other(e.status(), e.message),
        }
    }
}

/// `GET /approvals/decide?token=T`: what the link would decide, and (for its approver, signed
/// in) a form to confirm; anyone else is asked to sign in as that approver. Changes nothing.
async fn show(
    State(app): State<AppState>,
    headers: HeaderMap,
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
    let view = match confirmation(&app, &claims, now).await {
        Ok(view) => view,
        Err(refused) => return refused.page(),
    };
    match viewer_of(&app, &headers, &claims).await {
        Ok(viewer) => confirm_page(&app, &view, &claims, &viewer, token, String::new(), None),
        Err(refused) => refused.into_page(&view, &token),
    }
}

/// The signed-in approver a link was sent to, from the portal session cookie, and whether the
/// form must ask for their code.
struct LinkViewer {
    caller: Caller,
    ask_code: bool,
}

/// Why the signed-in person cannot decide through this link now.
enum NotSignedIn {
    /// No portal session: sign in as the approver and come back.
    SignIn,
    /// Signed in as somebody else.
    Other(String),
    /// The approver has no authenticator, so cannot give the decision its second factor.
    NoAuthenticator,
    Failed(Refused),
}

impl NotSignedIn {
    fn into_page(self, view: &View, token: &str) -> Page {
        match self {
            NotSignedIn::SignIn => sign_in_page(view, token, StatusCode::OK, None),
            NotSignedIn::Other(name) => message(
                StatusCode::FORBIDDEN,
                "This link was sent to someone else",
                &[
                    &format!(
                        "The link is {}'s, and you are signed in as {name}. Only the approver it was sent to can decide through it: sign out of the portal, then open the link again.",
                        view.approver_name
                    ),
                    NOTHING_CHANGED,
                ],
            ),
            NotSignedIn::NoAuthenticator => message(
                StatusCode::FORBIDDEN,
                "Deciding needs your authenticator app",
                &[
                    "A decision on someone's access is confirmed with the code of your authenticator app, and you have none set up. Set one up under Security info in the portal (/portal/security), then open the link again.",
                    NOTHING_CHANGED,
                ],
            ),
            NotSignedIn::Failed(refused) => refused.page(),
        }
    }
}

async fn viewer_of(
    app: &AppState,
    headers: &HeaderMap,
    claims: &LinkClaims,
) -> Result<LinkViewer, NotSignedIn> {
    let Some(raw) = cookies::get(headers, cookies::session_name(app)) else {
        return Err(NotSignedIn::SignIn);
    };
    let caller = match Caller::from_portal_cookie(app, raw).await {
        Ok(c) => c,
        Err(e) if e.status() == StatusCode::UNAUTHORIZED => return Err(NotSignedIn::SignIn),
        Err(e) => return Err(NotSignedIn::Failed(e.into())),
    };
    if caller.id != claims.approver_id {
        return Err(NotSignedIn::Other(caller.display_name.clone()));
    }
    let fresh = authorize::is_strong(&caller, app.clock.now(), app.config.mfa_freshness);
    if !fresh
        && !sessions::has_authenticator(app, caller.id)
            .await
            .map_err(|e| NotSignedIn::Failed(e.into()))?
    {
        return Err(NotSignedIn::NoAuthenticator);
    }
    Ok(LinkViewer {
        caller,
        ask_code: !fresh,
    })
}

/// The request, and a button that signs in as the link's approver and comes back here.
fn sign_in_page(view: &View, token: &str, status: StatusCode, error: Option<String>) -> Page {
    let back = format!("/approvals/decide?token={token}");
    let href = format!(
        "/portal/sign-in?next={}&username={}",
        utf8_percent_encode(&back, NON_ALPHANUMERIC),
        utf8_percent_encode(&view.approver_upn, NON_ALPHANUMERIC)
    );
    Page {
        status,
        html: render(&SignInFirstPage {
            title: "Sign in to decide".to_string(),
            heading: "Sign in to decide".to_string(),
            intro: format!(
                "This request waits for {}'s decision. Sign in as {} (with your authenticator app's code), and you come back here to confirm.",
                view.approver_name, view.approver_upn
            ),
            error,
            facts: view.facts.iter().map(Fact::copy).collect(),
            href,
        }),
    }
}

/// What the confirmation page shows about a request.
struct View {
    approver_name: String,
    approver_upn: String,
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
        approver_upn: approver.user_principal_name.clone().unwrap_or_default(),
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
    app: &App,
    view: &View,
    claims: &LinkClaims,
    viewer: &LinkViewer,
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
            facts: view.facts.iter().map(Fact::copy).collect(),
            token,
            csrf: csrf_for(app, &viewer.caller.session.token_hash),
            ask_code: viewer.ask_code,
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

/// `POST /approvals/decide`: records the decision the link makes, as the signed-in approver,
/// after their code when their last second factor is not fresh.
async fn decide(
    State(app): State<AppState>,
    headers: HeaderMap,
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
    let mut viewer = match viewer_of(&app, &headers, &claims).await {
        Ok(viewer) => viewer,
        Err(not) => {
            // Say why the request cannot be decided first, then who should sign in.
            let view = match confirmation(&app, &claims, now).await {
                Ok(view) => view,
                Err(refused) => return refused.page(),
            };
            return match not {
                NotSignedIn::SignIn => {
                    let error = "Sign in as the approver, then confirm again.".to_string();
                    sign_in_page(&view, &token, StatusCode::UNAUTHORIZED, Some(error))
                }
                other => other.into_page(&view, &token),
            };
        }
    };
    if !csrf::verify(
        &app.link_key,
        "session",
        &viewer.caller.session.token_hash,
        form.csrf.as_deref().unwrap_or(""),
    ) {
        return message(
            StatusCode::FORBIDDEN,
            "This form had expired",
            &[
                "The confirmation did not come from this page in your session. Open the link again.",
                NOTHING_CHANGED,
            ],
        );
    }
    let typed = form.justification.unwrap_or_default();
    let justification = Some(typed.trim().to_string()).filter(|j| !j.is_empty());
    let again =
        async |viewer: &LinkViewer, error: String| match confirmation(&app, &claims, now).await {
            Ok(view) => confirm_page(
                &app,
                &view,
                &claims,
                viewer,
                token.clone(),
                typed.clone(),
                Some(error),
            ),
            Err(refused) => refused.page(),
        };
    if justification
        .as_ref()
        .is_some_and(|j| j.chars().count() > MAX_JUSTIFICATION)
    {
        let error =
            format!("The justification is too long: at most {MAX_JUSTIFICATION} characters.");
        return again(&viewer, error).await;
    }
    if viewer.ask_code {
        let code = form.code.unwrap_or_default().trim().to_string();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            let error = "Enter the six-digit code your authenticator app shows now.";
            return again(&viewer, error.to_string()).await;
        }
        match sessions::step_up(&app, &viewer.caller, &code).await {
            Ok(at) => viewer.caller.session.last_mfa_at = Some(at),
            Err(e) if e.status() == StatusCode::TOO_MANY_REQUESTS => {
                return again(&viewer, e.message).await;
            }
            Err(e) if e.status().is_client_error() => {
                let error = "That code is incorrect or was already used. Wait for the next code and try again.";
                return again(&viewer, error.to_string()).await;
            }
            Err(e) => return Refused::from(e).page(),
        }
        viewer.ask_code = false;
    }
    let link = approve::LinkDecision {
        token_hash: links::token_hash(&token),
        request_id: claims.request_id,
        step_id: claims.step_id,
        approver_id: claims.approver_id,
        result: match claims.decision {
            Decision::Approve => ReviewResult::Approve,
            Decision::Deny => ReviewResult::Deny,
        },
    };
    match approve::review_by_link(&app, &viewer.caller, &link, justification).await {
        Ok(request) => decided_page(&claims, &request),
        Err(e) if e.code == "ApproverJustificationRequired" => {
            let error = "This stage requires a justification: say why you decide this way.";
            again(&viewer, error.to_string()).await
        }
        Err(e) if e.code == "ApprovalStepNotInProgress" => {
            Refused::NoLongerPending(status_of(&app, claims.request_id).await).page()
        }
        Err(e) => Refused::from(e).page(),
    }
}

/// A request's status now, for a clearer page when it moved on.
async fn status_of(app: &App, id: Uuid) -> Option<RequestStatus> {
    let mut tx = app.store.read().await.ok()?;
    let request = tx.get_schedule_request(id).await.ok()??;
    Some(request.status)
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
