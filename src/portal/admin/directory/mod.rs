//! Administration of the directory: the Administration home, users, groups (members, owners,
//! nesting), service principals and downstream connectors. Every page's read is decided by the
//! service (a reader handed out only after the check, or a `may_*` question), what a page shows
//! comes from `Viewer::can`, and every change goes through the same `service::directory` and
//! `service::connectors` use cases as the API, so the portal can do nothing the API refuses
//! (a User Administrator cannot touch role holders nor role-assignable groups, whatever the
//! form says).

pub mod connectors;
pub mod group_pim;
pub mod groups;
pub mod home;
pub mod service_principals;
pub mod users;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use eligo_core::directory::PrincipalKind;
use eligo_store::Page;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::error::{ApiError, ApiResult};
use crate::portal::page::{FieldErrors, PageError, PageResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/admin", get(home::page))
        .route("/portal/admin/users", get(users::list).post(users::create))
        .route("/portal/admin/users/new", get(users::new_form))
        .route(
            "/portal/admin/users/{id}",
            get(users::details).post(users::update),
        )
        .route("/portal/admin/users/{id}/delete", post(users::delete))
        .route(
            "/portal/admin/groups",
            get(groups::list).post(groups::create),
        )
        .route("/portal/admin/groups/new", get(groups::new_form))
        .route("/portal/admin/groups/{id}", get(groups::details))
        .route("/portal/admin/groups/{id}/add", post(groups::add))
        .route("/portal/admin/groups/{id}/remove", post(groups::remove))
        .route(
            "/portal/admin/groups/{id}/pim/assign",
            post(group_pim::assign),
        )
        .route(
            "/portal/admin/groups/{id}/pim/remove",
            post(group_pim::remove),
        )
        .route(
            "/portal/admin/service-principals",
            get(service_principals::list).post(service_principals::create),
        )
        .route(
            "/portal/admin/service-principals/{id}/delete",
            post(service_principals::delete),
        )
        .route("/portal/admin/connectors", get(connectors::list))
        .route(
            "/portal/admin/connectors/{id}/reconcile",
            post(connectors::reconcile),
        )
}

/// Rows per page of a list.
pub const PAGE_SIZE: i64 = 50;

/// `?q=...&page=...` of a list page.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub q: Option<String>,
    pub page: Option<String>,
}

impl ListQuery {
    /// The search text, trimmed; None when empty.
    pub fn search(&self) -> Option<String> {
        self.q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(String::from)
    }

    /// The 1-based page number (anything unreadable is the first page).
    pub fn number(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|p| p.trim().parse::<i64>().ok())
            .filter(|n| *n >= 1 && *n <= 100_000)
            .unwrap_or(1)
    }

    /// The store page: one row more than shown, to know whether a next page exists.
    pub fn store_page(&self) -> Page {
        Page {
            top: PAGE_SIZE + 1,
            skip: (self.number() - 1) * PAGE_SIZE,
        }
    }
}

/// Links to the previous and next page of a list, keeping the search.
pub struct Pager {
    pub number: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// Cuts `rows` (fetched with `ListQuery::store_page`) to one page and says where the
    /// neighbours are.
    pub fn cut<T>(base: &str, query: &ListQuery, rows: &mut Vec<T>) -> Pager {
        let number = query.number();
        let more = rows.len() as i64 > PAGE_SIZE;
        rows.truncate(PAGE_SIZE as usize);
        let link = |n: i64| {
            let mut pairs = Vec::new();
            if let Some(q) = query.search() {
                pairs.push(("q", q));
            }
            pairs.push(("page", n.to_string()));
            format!(
                "{base}?{}",
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            )
        };
        Pager {
            number,
            prev: (number > 1).then(|| link(number - 1)),
            next: more.then(|| link(number + 1)),
        }
    }
}

/// A time as shown: machine-readable for `<time datetime>` and in words.
pub struct Shown {
    pub iso: String,
    pub text: String,
}

impl Shown {
    pub fn of(t: DateTime<Utc>) -> Self {
        Self {
            iso: t.to_rfc3339(),
            text: crate::notify::templates::format_time(t),
        }
    }

    /// A stored RFC 3339 text (connector health), shown the same way.
    pub fn parse(raw: Option<&str>) -> Option<Self> {
        let t = DateTime::parse_from_rfc3339(raw?).ok()?;
        Some(Self::of(t.with_timezone(&Utc)))
    }
}

/// A principal as a link in a list.
pub struct PrincipalRef {
    pub id: Uuid,
    pub name: String,
    /// `User`, `Group`, `Service principal`.
    pub kind: &'static str,
    /// Its page in the portal, when it has one.
    pub href: Option<String>,
    pub role_assignable: bool,
}

pub fn kind_words(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "User",
        PrincipalKind::Group => "Group",
        PrincipalKind::ServicePrincipal => "Service principal",
    }
}

/// Who `id` is, from the access index (no store read per row).
pub fn principal_ref(app: &App, id: Uuid) -> PrincipalRef {
    match app.access.principal(id) {
        Some((kind, name)) => PrincipalRef {
            id,
            name,
            kind: kind_words(kind),
            href: match kind {
                PrincipalKind::User => Some(format!("/portal/admin/users/{id}")),
                PrincipalKind::Group => Some(format!("/portal/admin/groups/{id}")),
                PrincipalKind::ServicePrincipal => None,
            },
            role_assignable: app.access.is_role_assignable(id),
        },
        None => PrincipalRef {
            id,
            name: id.to_string(),
            kind: "Deleted object",
            href: None,
            role_assignable: false,
        },
    }
}

/// The id in a page's path; anything else names nothing.
pub fn path_id(raw: &str, what: &str) -> PageResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| PageError::Api(ApiError::not_found(what)))
}

/// A form's checkbox: present (any value but `off`/`false`) means ticked.
pub fn ticked(v: &Option<String>) -> bool {
    v.as_deref()
        .is_some_and(|v| !matches!(v.trim(), "" | "off" | "false"))
}

/// Files a refusal of a form under its fields. `fields` maps the API's targets to the form's
/// field names and labels; a client error outside them goes to the form as a whole. Returns
/// the refusal back when it is not about the input (403, 404, a failure): the caller shows
/// it as an error page.
pub fn absorb_input_error(
    err: ApiError,
    errors: &mut FieldErrors,
    fields: &[(&str, &str, &str)],
) -> Result<(), ApiError> {
    if !(err.status() == axum::http::StatusCode::BAD_REQUEST
        || err.status() == axum::http::StatusCode::CONFLICT)
    {
        return Err(err);
    }
    let mut placed = false;
    for d in &err.details {
        let Some((target, field, label)) = fields.iter().find(|(t, _, _)| *t == d.target) else {
            continue;
        };
        let raw = if d.message.is_empty() {
            err.message.clone()
        } else {
            d.message.clone()
        };
        let text = if err.status() == axum::http::StatusCode::CONFLICT || d.code == "ObjectConflict"
        {
            format!("{label}: one with this value already exists.")
        } else {
            let bare = raw
                .strip_prefix(&format!("{target}: "))
                .unwrap_or(&raw)
                .trim_end_matches('.');
            format!("{label} {bare}.")
        };
        errors.add(field, text);
        placed = true;
    }
    if !placed {
        errors.add_general(err.message);
    }
    Ok(())
}

/// The API error as a page result, for the `?` in handlers that return it.
pub fn refused<T>(err: ApiError) -> PageResult<T> {
    Err(PageError::Api(err))
}

/// `ApiResult` to `PageResult` without losing the words.
pub fn page<T>(r: ApiResult<T>) -> PageResult<T> {
    r.map_err(PageError::from)
}
