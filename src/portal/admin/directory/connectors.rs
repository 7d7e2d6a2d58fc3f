//! Connectors: each downstream system with its health, the groups provisioned through it, its
//! failed deliveries, and "Reconcile now" (the same use case as
//! `POST /v1/connectors/{id}/reconcile`). Connectors are created and changed through the API.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use eligo_store::{ConnectorRow, JobStatus, Page};
use serde::Deserialize;
use uuid::Uuid;

use super::{Shown, page, path_id, principal_ref};
use crate::app::{App, AppState};
use crate::portal::form::Posted;
use crate::portal::page::{Chrome, PageResult, Section, render};
use crate::portal::session::Viewer;
use crate::service::connectors as service;

pub struct Health {
    /// `healthy`, `failing` or `unknown`.
    pub status: String,
    pub last_success: Option<Shown>,
    pub last_failure: Option<Shown>,
    pub last_error: Option<String>,
    pub failures: i64,
}

impl Health {
    fn of(row: &ConnectorRow) -> Self {
        let h = &row.health;
        Self {
            status: h["status"].as_str().unwrap_or("unknown").to_string(),
            last_success: Shown::parse(h["lastSuccessDateTime"].as_str()),
            last_failure: Shown::parse(h["lastFailureDateTime"].as_str()),
            last_error: h["lastError"].as_str().map(String::from),
            failures: h["consecutiveFailures"].as_i64().unwrap_or(0),
        }
    }
}

pub struct MappedGroup {
    pub id: Uuid,
    pub name: String,
    pub target: String,
}

pub struct FailedJobs {
    pub count: usize,
    pub last_error: Option<String>,
}

pub struct ConnectorView {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    /// Where it connects (the URL setting), never a secret.
    pub endpoint: String,
    pub health: Health,
    pub groups: Vec<MappedGroup>,
    /// None: the viewer may not read the outbox.
    pub failed: Option<FailedJobs>,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/connectors.html")]
struct ConnectorsPage {
    chrome: Chrome,
    connectors: Vec<ConnectorView>,
    may_reconcile: bool,
}

pub struct ReportLine {
    pub group: MappedGroup,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub strays: Vec<String>,
    pub unresolved: Vec<String>,
    pub listing_unsupported: bool,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/reconcile.html")]
struct ReconcilePage {
    chrome: Chrome,
    name: String,
    kind: String,
    reports: Vec<ReportLine>,
    failed: usize,
    health: Health,
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

fn endpoint(row: &ConnectorRow) -> String {
    ["url", "baseUrl"]
        .iter()
        .find_map(|k| row.settings[*k].as_str())
        .unwrap_or("")
        .to_string()
}

fn group_name(app: &App, id: Uuid) -> String {
    principal_ref(app, id).name
}

async fn views(app: &App, viewer: &Viewer) -> PageResult<Vec<ConnectorView>> {
    // The read decision: the use case lists connectors only for those who may read them.
    let rows = page(service::list(app, &viewer.caller).await)?;
    let mut tx = app.store.read().await?;
    let mappings = tx.list_mappings(None, None).await?;
    let connector_of: HashMap<Uuid, Uuid> =
        mappings.iter().map(|m| (m.id, m.connector_id)).collect();
    let failed_jobs = if viewer.can.read_outbox {
        Some(
            tx.list_jobs(Some(JobStatus::Failed), Page { top: 1000, skip: 0 })
                .await?,
        )
    } else {
        None
    };
    Ok(rows
        .iter()
        .map(|row| {
            let failed = failed_jobs.as_ref().map(|jobs| {
                let mine: Vec<_> = jobs
                    .iter()
                    .filter(|j| {
                        j.payload["mappingId"]
                            .as_str()
                            .and_then(|m| Uuid::parse_str(m).ok())
                            .and_then(|m| connector_of.get(&m))
                            == Some(&row.id)
                    })
                    .collect();
                FailedJobs {
                    count: mine.len(),
                    last_error: mine
                        .iter()
                        .max_by_key(|j| j.updated_at)
                        .and_then(|j| j.last_error.clone()),
                }
            });
            ConnectorView {
                id: row.id,
                name: row.display_name.clone(),
                kind: row.kind.clone(),
                endpoint: endpoint(row),
                health: Health::of(row),
                groups: mappings
                    .iter()
                    .filter(|m| m.connector_id == row.id)
                    .map(|m| MappedGroup {
                        id: m.group_id,
                        name: group_name(app, m.group_id),
                        target: m.target.clone(),
                    })
                    .collect(),
                failed,
            }
        })
        .collect())
}

pub async fn list(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let connectors = views(&app, &viewer).await?;
    Ok(render(&ConnectorsPage {
        chrome: viewer.chrome(Section::Administration),
        connectors,
        may_reconcile: viewer.can.update_provisioning,
    }))
}

pub async fn reconcile(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Empty>,
) -> PageResult<Response> {
    let viewer = posted.viewer;
    let id = path_id(&id, "connector")?;
    let reports = page(service::reconcile_now(&app, &viewer.caller, id).await)?;
    let row = page(service::get(&app, &viewer.caller, id).await)?;
    let lines: Vec<ReportLine> = reports
        .into_iter()
        .map(|r| ReportLine {
            group: MappedGroup {
                id: r.group_id,
                name: group_name(&app, r.group_id),
                target: r.target,
            },
            added: r.added,
            removed: r.removed,
            strays: r.strays,
            unresolved: r.unresolved,
            listing_unsupported: r.listing_unsupported,
            error: r.error,
        })
        .collect();
    Ok(render(&ReconcilePage {
        chrome: viewer.chrome(Section::Administration),
        name: row.display_name.clone(),
        kind: row.kind.clone(),
        failed: lines.iter().filter(|l| l.error.is_some()).count(),
        reports: lines,
        health: Health::of(&row),
    }))
}
