//! What every portal page shares: the chrome around it (who is signed in, the navigation their
//! roles allow as `service::authorize` answers it, the anti-forgery token for forms, a one-shot
//! message), rendering with the security headers, and the error page every refusal ends on. No
//! page ever shows internal error text: a 5xx says only that something went wrong on Eligo's
//! side.

use std::collections::BTreeMap;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::Caller;
use crate::error::{ApiError, Kind};
use crate::portal::flash::Flash;
use crate::service::authorize::Capabilities;

/// One entry of the main navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    /// This page's section: marked `aria-current="page"`.
    pub current: bool,
    /// A count shown beside the entry (requests, or review decisions, waiting on the viewer).
    pub count: Option<usize>,
}

/// The part of every signed-in page around its content.
pub struct Chrome {
    pub display_name: String,
    pub upn: String,
    /// The hidden `csrf` field of every form on the page.
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub flash: Option<Flash>,
}

/// The sections of the portal, each with the path its navigation entry leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    MyRoles,
    MyRequests,
    MyAccess,
    Approvals,
    Reviews,
    Administration,
    AccessPackages,
    Alerts,
    AccessReviews,
    Audit,
    Security,
}

impl Chrome {
    pub fn new(
        caller: &Caller,
        can: &Capabilities,
        csrf: String,
        flash: Option<Flash>,
        section: Section,
        waiting: usize,
        reviews_waiting: usize,
    ) -> Self {
        let mut nav = vec![
            (Section::MyRoles, "/portal/roles", "My roles"),
            (Section::MyRequests, "/portal/requests", "My requests"),
            (Section::MyAccess, "/portal/access", "My access"),
            (Section::Approvals, "/portal/approvals", "Approvals"),
            (Section::Reviews, "/portal/reviews", "My reviews"),
        ];
        if can.administer {
            nav.push((Section::Administration, "/portal/admin", "Administration"));
        }
        if can.read_entitlement || can.manage_entitlement {
            nav.push((
                Section::AccessPackages,
                "/portal/admin/entitlement/packages",
                "Access packages",
            ));
        }
        if can.read_alerts {
            nav.push((Section::Alerts, "/portal/admin/alerts", "Alerts"));
        }
        if can.administer_reviews {
            nav.push((
                Section::AccessReviews,
                "/portal/admin/reviews",
                "Access reviews",
            ));
        }
        if can.read_audit {
            nav.push((Section::Audit, "/portal/audit", "Audit"));
        }
        nav.push((Section::Security, "/portal/security", "Security info"));
        Self {
            display_name: caller.display_name.clone(),
            upn: caller.upn.clone().unwrap_or_default(),
            csrf,
            nav: nav
                .into_iter()
                .map(|(s, href, label)| NavItem {
                    href,
                    label,
                    current: s == section,
                    count: match s {
                        Section::Approvals => Some(waiting),
                        Section::Reviews => Some(reviews_waiting),
                        _ => None,
                    }
                    .filter(|n| *n > 0),
                })
                .collect(),
            flash,
        }
    }
}

/// Field-level messages of a form that was refused, keyed by the form field's name.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors {
    by_field: BTreeMap<String, String>,
    /// Messages about the form as a whole.
    pub general: Vec<String>,
}

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.by_field
            .entry(field.to_string())
            .or_insert_with(|| sentence(message.into()));
    }

    pub fn add_general(&mut self, message: impl Into<String>) {
        let message = sentence(message.into());
        if !self.general.contains(&message) {
            self.general.push(message);
        }
    }

    /// The message for `field`, for the template (`{% if let Some(e) = errors.of("x") %}`).
    pub fn of(&self, field: &str) -> Option<&str> {
        self.by_field.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty() && self.general.is_empty()
    }

    /// Every message, fields first (for the summary at the top of a refused form).
    pub fn all(&self) -> Vec<&str> {
        self.by_field
            .values()
            .map(String::as_str)
            .chain(self.general.iter().map(String::as_str))
            .collect()
    }

    /// Files an API refusal under the form's fields: each detail whose target `field_of`
    /// maps to a field goes there, the rest (and a refusal without details) to the form.
    pub fn absorb(&mut self, err: &ApiError, field_of: impl Fn(&str) -> Option<&'static str>) {
        if err.status().is_server_error() {
            self.add_general(GENERIC_FAILURE);
            return;
        }
        let mut placed = false;
        for d in &err.details {
            let text = if d.message.is_empty() {
                err.message.clone()
            } else {
                d.message.clone()
            };
            match field_of(&d.target) {
                Some(field) => {
                    self.add(field, text);
                    placed = true;
                }
                None => self.add_general(text),
            }
        }
        if !placed && err.details.iter().all(|d| field_of(&d.target).is_none()) {
            let message = sentence(err.message.clone());
            self.general.retain(|m| m != &message);
            self.general.push(message);
        }
    }
}

/// A message as a sentence on a page: a capital first letter and a full stop. The API's
/// messages are written for both people and programs; some still start lower-case.
pub fn sentence(message: String) -> String {
    let trimmed = message.trim();
    let mut chars = trimmed.chars();
    let Some(first) = chars.next() else {
        return message;
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?', ':']) {
        out.push('.');
    }
    out
}

pub const GENERIC_FAILURE: &str = "Something went wrong on Eligo's side and nothing was changed. Try again; if it keeps happening, tell your administrator.";

/// The Content Security Policy of every portal page: scripts and styles only from Eligo's
/// own static files, nothing inline, no framing, forms post only back to Eligo.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A rendered page with the portal's headers.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Renders `page` with status 200; a template that fails to render is a bug, shown as the
/// generic error page.
pub fn render<T: Template>(page: &T) -> Response {
    render_status(StatusCode::OK, page)
}

pub fn render_status<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => PageError::from(ApiError::internal("rendering a portal page", e)).into_response(),
    }
}

/// After a form post: 303 to `to`, with a one-shot message for that page.
pub fn redirect_with(app: &crate::app::App, to: &str, flash: Flash) -> Response {
    let mut resp = Redirect::to(to).into_response();
    let cookie = crate::portal::cookies::set(
        app,
        crate::portal::cookies::FLASH,
        &flash.seal(&app.link_key),
        Some(60),
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// Is `next` a path inside the portal, or the one-click approval page a mail link opened (so a
/// sign-in link cannot send people elsewhere)?
pub fn local_portal_path(next: &str) -> Option<&str> {
    let ok = (next.starts_with("/portal") || next.starts_with("/approvals/decide?"))
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control());
    ok.then_some(next)
}

#[derive(Template)]
#[template(path = "portal/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    heading: &'a str,
    message: &'a str,
    /// Where the one button leads.
    link: &'a str,
    link_label: &'a str,
}

/// Every way a portal request can end on an error page.
#[derive(Debug)]
pub enum PageError {
    /// No session: sign in, then come back to `next`.
    SignIn { next: Option<String> },
    /// The session ended (idle timeout, sign-out elsewhere) while posting a form.
    SessionEnded,
    /// The form's anti-forgery token is missing, stale or forged.
    Forged,
    /// An API refusal or failure, shown in words.
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::Api(e)
    }
}

impl From<eligo_store::StoreError> for PageError {
    fn from(e: eligo_store::StoreError) -> Self {
        PageError::Api(e.into())
    }
}

pub type PageResult<T> = Result<T, PageError>;

/// A refusal from the service in the page's own words (`text`: what the page needs, said for
/// people); any other failure passes unchanged. The service decided; this only words it:
/// `.map_err(worded("..."))`.
pub fn worded(text: &'static str) -> impl Fn(ApiError) -> PageError {
    move |e| {
        if e.kind == Kind::Denied {
            PageError::Api(ApiError::forbidden(text))
        } else {
            PageError::Api(e)
        }
    }
}

fn error_page(
    status: StatusCode,
    heading: &str,
    message: &str,
    link: &str,
    label: &str,
) -> Response {
    let page = ErrorPage {
        title: heading,
        heading,
        message,
        link,
        link_label: label,
    };
    match page.render() {
        Ok(body) => html(status, body),
        Err(_) => html(
            status,
            format!("<!DOCTYPE html><title>Eligo</title><p>{}</p>", status),
        ),
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                let to = match next.as_deref().and_then(local_portal_path) {
                    Some(n) => format!(
                        "/portal/sign-in?next={}",
                        percent_encoding::utf8_percent_encode(
                            n,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    ),
                    None => "/portal/sign-in".to_string(),
                };
                Redirect::to(&to).into_response()
            }
            PageError::SessionEnded => error_page(
                StatusCode::UNAUTHORIZED,
                "Your session has ended",
                "You were signed out (after a while without activity, or from elsewhere). Nothing was changed. Sign in again and repeat what you were doing.",
                "/portal/sign-in",
                "Sign in",
            ),
            PageError::Forged => error_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was out of date or did not come from this Eligo page, so it was not accepted and nothing was changed. Go back, reload the page and try again.",
                "/portal",
                "Back to the portal",
            ),
            PageError::Api(e) => {
                let status = e.status();
                let (heading, message) = match status {
                    s if s.is_server_error() => {
                        ("Something went wrong", GENERIC_FAILURE.to_string())
                    }
                    StatusCode::UNAUTHORIZED => (
                        "Your session has ended",
                        "Sign in again. Nothing was changed.".to_string(),
                    ),
                    StatusCode::FORBIDDEN if e.details.iter().any(|d| d.code == "MfaRequired") => (
                        "Verify it is you",
                        "This needs a recent second factor: verify under Security info (step-up), then submit again. Nothing was changed.".to_string(),
                    ),
                    StatusCode::FORBIDDEN => (
                        "You do not have access",
                        format!(
                            "Your current roles do not allow this. If you are eligible for a role that does, activate it under My roles first. ({})",
                            e.message
                        ),
                    ),
                    StatusCode::NOT_FOUND => (
                        "Not found",
                        "There is nothing here, or you may not see it.".to_string(),
                    ),
                    StatusCode::CONFLICT => ("Nothing was changed", e.message.clone()),
                    StatusCode::TOO_MANY_REQUESTS => ("Too many attempts", e.message.clone()),
                    _ => ("That did not work", e.message.clone()),
                };
                error_page(status, heading, &message, "/portal", "Back to the portal")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("the end is near".into()), "The end is near.");
        assert_eq!(sentence("Already fine.".into()), "Already fine.");
        assert_eq!(sentence("Why?".into()), "Why?");
        assert_eq!(sentence(String::new()), "");
    }
}
