//! Audit: the audit log for people who may read it (`auditLogs/read`), newest first, filtered
//! (time, actor and target by name or UPN prefix, category, activity by a part of it, result)
//! and paged; every entry with what it changed (a before/after table with names, `changes`)
//! and its details;
//! the filtered entries as a CSV or JSON download; and, at the top, whether the hash chain is
//! intact, from the very verification `GET /v1/auditLogs/verify` runs.

pub mod changes;
pub mod csv;
pub mod filters;

pub mod chain;

use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use eligo_core::audit::{AuditEntry, Initiator, Outcome};
use serde::Deserialize;

use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::portal::approvals::view::When;
use crate::portal::page::{
    Chrome, FieldErrors, PageError, PageResult, Section, render_status, worded,
};
use crate::portal::session::Viewer;
use crate::service::audit;

use filters::{CATEGORIES, Filters, Selection};

/// Entries per page.
pub const PAGE_SIZE: usize = 50;

/// The most entries one export holds.
pub const EXPORT_LIMIT: usize = 100_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/audit", get(page))
        .route("/portal/audit/export", get(export))
}

#[derive(Debug, Default, Deserialize)]
struct Params {
    #[serde(flatten)]
    filters: Filters,
    page: Option<String>,
    format: Option<String>,
    /// Walk the whole chain now, whatever the last full check.
    recheck: Option<String>,
}

/// One category in the `<select>`.
pub struct CategoryOption {
    pub value: &'static str,
    pub selected: bool,
}

/// One entry as the page shows it.
pub struct EntryView {
    pub sequence: i64,
    pub id: String,
    pub at: When,
    pub category: &'static str,
    pub activity: String,
    pub initiator: String,
    pub targets: Vec<String>,
    pub ok: bool,
    pub details: Vec<(String, String)>,
    /// What the entry changed, property by property (empty for what changes nothing).
    pub changes: Vec<changes::ChangeView>,
    pub hash: String,
}

/// The chain's verdict, in words.
pub struct ChainView {
    pub intact: bool,
    pub entries: u64,
    pub first_bad: Option<i64>,
    /// When the whole chain was last walked (newer entries are checked on every view).
    pub full_check: String,
}

#[derive(Template)]
#[template(path = "portal/audit/list.html")]
struct AuditPage {
    chrome: Chrome,
    chain: ChainView,
    filters: Filters,
    categories: Vec<CategoryOption>,
    errors: FieldErrors,
    entries: Vec<EntryView>,
    page: usize,
    previous: Option<String>,
    next: Option<String>,
    export_query: String,
}

/// "Ada Administrator (ada@contoso.example)" or "Eligo (app)".
pub fn initiator_text(i: &Initiator) -> String {
    match i {
        Initiator::User(a) => match &a.user_principal_name {
            Some(upn) if upn != &a.display_name => format!("{} ({upn})", a.display_name),
            _ => a.display_name.clone(),
        },
        Initiator::App(a) => format!("{} (app)", a.display_name),
    }
}

/// "Role: Security Administrator (id)".
pub fn target_texts(e: &AuditEntry) -> Vec<String> {
    e.target_resources
        .iter()
        .map(|t| match &t.display_name {
            Some(name) if !name.is_empty() => format!("{}: {name} ({})", t.kind, t.id),
            _ => format!("{}: {}", t.kind, t.id),
        })
        .collect()
}

fn entry_view(e: &AuditEntry, names: &changes::Names) -> EntryView {
    EntryView {
        sequence: e.sequence,
        id: e.id.to_string(),
        at: When::of(e.activity_date_time),
        category: e.category.as_str(),
        activity: e.activity_display_name.clone(),
        initiator: initiator_text(&e.initiated_by),
        targets: target_texts(e),
        ok: e.result == Outcome::Success,
        details: e
            .additional_details
            .iter()
            .map(|d| (d.key.clone(), d.value.clone()))
            .collect(),
        changes: names.changes(e),
        hash: e.hash.clone(),
    }
}

/// The audit log is for those who may read it (the service decides).
fn require_reader(app: &App, viewer: &Viewer) -> PageResult<()> {
    audit::reader(app, &viewer.caller).map(drop).map_err(worded(
        "reading the audit log needs auditLogs/read (for example Global Reader or Security Reader)",
    ))
}

fn params(q: Result<Query<Params>, QueryRejection>) -> Params {
    q.map(|Query(p)| p).unwrap_or_default()
}

async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    q: Result<Query<Params>, QueryRejection>,
) -> PageResult<Response> {
    require_reader(&app, &viewer)?;
    show(&app, viewer, params(q)).await
}

/// The page for `p`: 400 with the field errors when a filter is wrong.
async fn show(app: &AppState, viewer: Viewer, p: Params) -> PageResult<Response> {
    let page = p
        .page
        .as_deref()
        .and_then(|n| n.trim().parse::<usize>().ok())
        .filter(|n| (1..=1_000_000).contains(n))
        .unwrap_or(1);
    let mut tx = app.store.read().await?;
    let chain = app
        .chain_check
        .status(
            &mut *tx,
            app.clock.now(),
            p.recheck.is_some(),
            app.config.audit_verify_interval,
        )
        .await?;
    let verdict = chain.verdict;
    let mut errors = FieldErrors::new();
    let selection = filters::select(&p.filters, &mut errors);
    let (rows, more) = if errors.is_empty() {
        filters::fetch(&mut *tx, &selection, (page - 1) * PAGE_SIZE, PAGE_SIZE).await?
    } else {
        (Vec::new(), false)
    };
    // Every id the page's changes mention, named in one pass.
    let names = changes::Names::of(app, &mut *tx, &rows).await?;
    let base = p.filters.query_string();
    let link = |n: usize| {
        if base.is_empty() {
            format!("/portal/audit?page={n}")
        } else {
            format!("/portal/audit?{base}&page={n}")
        }
    };
    let chosen = p.filters.value("category").to_string();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(render_status(
        status,
        &AuditPage {
            chrome: viewer.chrome(Section::Audit),
            chain: ChainView {
                intact: verdict.valid,
                entries: verdict.entries,
                first_bad: verdict.first_bad_sequence,
                full_check: crate::notify::templates::format_time(chain.full_at),
            },
            categories: CATEGORIES
                .iter()
                .map(|c| CategoryOption {
                    value: c.as_str(),
                    selected: c.as_str().eq_ignore_ascii_case(chosen.trim()),
                })
                .collect(),
            entries: rows.iter().map(|e| entry_view(e, &names)).collect(),
            previous: (page > 1 && errors.is_empty()).then(|| link(page - 1)),
            next: (more && errors.is_empty()).then(|| link(page + 1)),
            page,
            export_query: base,
            filters: p.filters,
            errors,
        },
    ))
}

async fn export(
    State(app): State<AppState>,
    viewer: Viewer,
    q: Result<Query<Params>, QueryRejection>,
) -> PageResult<Response> {
    require_reader(&app, &viewer)?;
    let p = params(q);
    let format = p
        .format
        .as_deref()
        .map(|f| f.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "csv".to_string());
    if format != "csv" && format != "json" {
        return Err(PageError::Api(ApiError::bad_request(
            "Request_BadRequest",
            "The export format is csv or json.",
        )));
    }
    let mut tx = app.store.read().await?;
    let mut errors = FieldErrors::new();
    let selection: Selection = filters::select(&p.filters, &mut errors);
    if !errors.is_empty() {
        // The filters are wrong: the page says which, with what was typed.
        drop(tx);
        return show(&app, viewer, p).await;
    }
    let rows = filters::fetch_all(&mut *tx, &selection, EXPORT_LIMIT).await?;
    let stamp = app.clock.now().format("%Y%m%dT%H%M%SZ");
    let (body, content_type) = if format == "csv" {
        (csv::render(&rows), "text/csv; charset=utf-8")
    } else {
        (
            serde_json::to_string_pretty(&rows).map_err(|e| ApiError::internal("export", e))?,
            "application/json",
        )
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"eligo-audit-{stamp}.{format}\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
