//! What the Alerts page shows, built from the reader's answers (the API's own JSON), active
//! alerts first, then by severity.

use askama::Template;
use chrono::{DateTime, Utc};
use eligo_core::pim_alerts::describe;
use serde_json::Value;

use super::config::THRESHOLDS;
use crate::app::App;
use crate::portal::admin::directory::Shown;
use crate::portal::page::{Chrome, FieldErrors, PageResult, Section};
use crate::portal::session::Viewer;
use crate::service::pim_alerts;

pub struct IncidentView {
    pub id: String,
    pub text: String,
}

pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub numeric: bool,
}

pub struct AlertView {
    pub id: String,
    pub display_name: String,
    pub name: String,
    pub severity: String,
    pub description: String,
    pub mitigation: String,
    pub incident_count: usize,
    pub active: bool,
    pub last_scanned: Option<Shown>,
    pub remediable: bool,
    pub incidents: Vec<IncidentView>,
    pub enabled: bool,
    pub fields: Vec<FieldView>,
    /// The refusal of this alert's configuration form, when it was just posted.
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "portal/admin/alerts.html")]
pub struct AlertsPage {
    pub chrome: Chrome,
    pub alerts: Vec<AlertView>,
    pub active: usize,
    /// The viewer may refresh, remediate and configure (the use cases still decide).
    pub may_update: bool,
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "high" => 0,
        "medium" => 1,
        _ => 2,
    }
}

/// A configuration form the use case refused: its alert, the refusal filed under its fields,
/// and the body it sent (shown again as typed, so nothing has to be typed twice).
pub struct Refused {
    pub id: String,
    pub errors: FieldErrors,
    pub body: Value,
}

/// A value as the form shows it: a JSON string bare, anything else as JSON.
fn shown(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), String::from)
}

/// The page, with `refused` shown on its alert.
pub async fn page(app: &App, viewer: &Viewer, refused: Option<Refused>) -> PageResult<AlertsPage> {
    let reader = pim_alerts::reader(app, &viewer.caller).await?;
    let definitions = reader.definitions();
    let configurations = reader.configurations().await?;
    let mut alerts = Vec::new();
    for alert in reader.alerts().await? {
        let id = text(&alert, "id");
        let def = definitions
            .iter()
            .find(|d| d["id"] == alert["id"])
            .cloned()
            .unwrap_or_default();
        let config = configurations
            .iter()
            .find(|c| c["id"] == alert["id"])
            .cloned()
            .unwrap_or_default();
        let count = alert["incidentCount"].as_u64().unwrap_or(0) as usize;
        let incidents = if count > 0 {
            reader
                .incidents(&id)
                .await?
                .iter()
                .map(|i| IncidentView {
                    id: text(i, "id"),
                    text: describe(i),
                })
                .collect()
        } else {
            Vec::new()
        };
        let mine = refused.as_ref().filter(|r| r.id == id);
        // What the form shows: what was just refused, else what is stored.
        let values = mine.map_or(&config, |r| &r.body);
        let fields = THRESHOLDS
            .iter()
            .filter(|t| config.get(t.name).is_some())
            .map(|t| FieldView {
                name: t.name,
                label: t.label,
                value: values.get(t.name).map(shown).unwrap_or_default(),
                numeric: t.numeric,
            })
            .collect();
        let errors = mine.map(|r| r.errors.clone()).unwrap_or_default();
        alerts.push(AlertView {
            name: id.rsplit('_').next().unwrap_or_default().to_string(),
            id,
            display_name: text(&def, "displayName"),
            severity: text(&def, "severityLevel"),
            description: text(&def, "description"),
            mitigation: text(&def, "mitigationSteps"),
            incident_count: count,
            active: alert["isActive"].as_bool().unwrap_or(false),
            last_scanned: alert["lastScannedDateTime"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| Shown::of(t.with_timezone(&Utc))),
            remediable: def["isRemediatable"].as_bool().unwrap_or(false),
            incidents,
            enabled: values["isEnabled"].as_bool().unwrap_or(true),
            fields,
            errors,
        });
    }
    // Active first, the most severe first; the definitions' order otherwise (a stable sort).
    alerts.sort_by_key(|a| (!a.active, severity_rank(&a.severity)));
    Ok(AlertsPage {
        chrome: viewer.chrome(Section::Alerts),
        active: alerts.iter().filter(|a| a.active).count(),
        alerts,
        may_update: viewer.can.update_alerts,
    })
}
