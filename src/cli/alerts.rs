//! `eligo alerts list|refresh|remediate`: PIM alerts from the command line, a thin client of
//! `/v1/identityGovernance/roleManagementAlerts` (reading needs `alerts/read`; refresh and
//! remediate `alerts/update` with a fresh second factor, proved with --otp or `eligo mfa
//! stepup`). Incidents are named by id or a unique prefix of one, as `eligo alerts list` shows
//! them; each is said in one line (`pim_alerts::describe`, as the mails and the portal say it).

use anyhow::{Context, bail};
use clap::Subcommand;
use eligo_core::pim_alerts::describe;
use serde_json::{Value, json};

use crate::cli::net::Conn;
use crate::cli::pim::text::{print_json, short_id, table, when};

/// `println!` that does not panic when the reader went away (`eligo alerts list | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

const BASE: &str = "/v1/identityGovernance/roleManagementAlerts";

#[derive(Subcommand)]
pub enum AlertsTop {
    /// PIM alerts: what slipped around Eligo (too many Global Administrators, roles assigned
    /// outside PIM, ...), their incidents, a rescan, and the fix where there is one.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
}

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// The active alerts with their incident counts and incidents (--all: every alert).
    List {
        /// Every alert, active or not.
        #[arg(long)]
        all: bool,
        /// Print the server's JSON (alerts, each with its definition and incidents).
        #[arg(long)]
        json: bool,
    },
    /// Scan every alert now.
    Refresh {
        /// The authenticator's current code, to prove a fresh second factor first.
        #[arg(long)]
        otp: Option<String>,
    },
    /// Apply the fix an incident's alert names (remove the assignment, require MFA, ...).
    Remediate {
        /// The incident: its id or a unique prefix of it (as `eligo alerts list` shows it).
        incident: String,
        /// Only look among this alert's incidents (its name, e.g. RolesAssignedOutsidePimAlert,
        /// or its id).
        #[arg(long)]
        alert: Option<String>,
        /// The authenticator's current code, to prove a fresh second factor first.
        #[arg(long)]
        otp: Option<String>,
    },
}

/// One alert with its definition and open incidents.
struct Alert {
    alert: Value,
    definition: Value,
    incidents: Vec<Value>,
}

impl Alert {
    fn id(&self) -> &str {
        self.alert["id"].as_str().unwrap_or_default()
    }

    /// The definition's name, the id's last part.
    fn name(&self) -> &str {
        self.id().rsplit('_').next().unwrap_or_default()
    }

    fn count(&self) -> u64 {
        self.alert["incidentCount"].as_u64().unwrap_or(0)
    }

    fn title(&self) -> &str {
        self.definition["displayName"].as_str().unwrap_or_default()
    }
}

/// Every alert with its definition; the incidents of those that have some.
async fn alerts(conn: &Conn) -> anyhow::Result<Vec<Alert>> {
    let list = conn
        .all(&format!(
            "{BASE}/alerts?$filter={}",
            crate::cli::net::encode("scopeId eq '/' and scopeType eq 'DirectoryRole'")
        ))
        .await?;
    let definitions = conn.all(&format!("{BASE}/alertDefinitions")).await?;
    let mut out = Vec::new();
    for alert in list {
        let definition = definitions
            .iter()
            .find(|d| d["id"] == alert["alertDefinitionId"])
            .cloned()
            .unwrap_or_default();
        let mut a = Alert {
            alert,
            definition,
            incidents: Vec::new(),
        };
        if a.count() > 0 {
            a.incidents = conn
                .all(&format!("{BASE}/alerts/{}/alertIncidents", a.id()))
                .await?;
        }
        out.push(a);
    }
    Ok(out)
}

async fn step_up(conn: &Conn, otp: Option<&str>) -> anyhow::Result<()> {
    if let Some(code) = otp {
        conn.post("/v1/auth/stepup", &json!({ "otp": code }))
            .await
            .context("step-up MFA failed")?;
    }
    Ok(())
}

/// A refusal for want of a fresh second factor, with what to do about it.
fn explain(r: crate::cli::net::Refusal) -> anyhow::Error {
    if r.status == 403 && r.has_detail("MfaRequired") {
        anyhow::anyhow!(
            "{r}\n  this needs a fresh second factor: give --otp CODE (or run eligo mfa stepup)"
        )
    } else {
        r.into()
    }
}

fn summary(all: &[Alert]) -> String {
    let active: Vec<&Alert> = all.iter().filter(|a| a.count() > 0).collect();
    let incidents: u64 = active.iter().map(|a| a.count()).sum();
    match active.len() {
        0 => "no alert is active".into(),
        1 => format!("1 alert is active ({incidents} incidents)"),
        n => format!("{n} alerts are active ({incidents} incidents)"),
    }
}

pub async fn run(command: AlertsTop) -> anyhow::Result<()> {
    let conn = Conn::signed_in()?;
    let AlertsTop::Alerts { command } = command;
    match command {
        AlertsCommand::List { all, json } => list(&conn, all, json).await,
        AlertsCommand::Refresh { otp } => {
            step_up(&conn, otp.as_deref()).await?;
            let body = json!({ "scopeId": "/", "scopeType": "DirectoryRole" });
            conn.send(
                reqwest::Method::POST,
                &format!("{BASE}/alerts/refresh"),
                Some(&body),
            )
            .await?
            .map_err(explain)?;
            say!("every alert scanned: {}", summary(&alerts(&conn).await?));
            Ok(())
        }
        AlertsCommand::Remediate {
            incident,
            alert,
            otp,
        } => remediate(&conn, &incident, alert.as_deref(), otp.as_deref()).await,
    }
}

async fn list(conn: &Conn, all: bool, json: bool) -> anyhow::Result<()> {
    let mut rows = alerts(conn).await?;
    if !all {
        rows.retain(|a| a.count() > 0);
    }
    if json {
        let value: Vec<Value> = rows
            .iter()
            .map(|a| {
                let mut v = a.alert.clone();
                v["alertDefinition"] = a.definition.clone();
                v["alertIncidents"] = json!(a.incidents);
                v
            })
            .collect();
        print_json(&json!({ "value": value }));
        return Ok(());
    }
    if rows.is_empty() {
        say!("no alert is active (eligo alerts list --all shows every alert)");
        return Ok(());
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|a| {
            vec![
                a.name().to_string(),
                a.definition["severityLevel"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
                a.count().to_string(),
                match a.alert["lastScannedDateTime"] {
                    Value::Null => "never".into(),
                    ref t => when(t),
                },
            ]
        })
        .collect();
    say!(
        "{}",
        table(
            &["ALERT", "SEVERITY", "INCIDENTS", "LAST SCANNED"],
            &table_rows
        )
    );
    for a in rows.iter().filter(|a| !a.incidents.is_empty()) {
        say!("\n{} ({}):", a.title(), a.name());
        for i in &a.incidents {
            say!(
                "  {}  {}",
                short_id(i["id"].as_str().unwrap_or_default()),
                describe(i)
            );
        }
    }
    Ok(())
}

async fn remediate(
    conn: &Conn,
    incident: &str,
    alert: Option<&str>,
    otp: Option<&str>,
) -> anyhow::Result<()> {
    let all = alerts(conn).await?;
    let wanted = incident.trim().to_lowercase();
    if wanted.is_empty() {
        bail!("name the incident by its id or a prefix of it (eligo alerts list shows them)");
    }
    let found: Vec<(&Alert, &Value)> = all
        .iter()
        .filter(|a| alert.is_none_or(|n| a.name().eq_ignore_ascii_case(n) || a.id() == n))
        .flat_map(|a| a.incidents.iter().map(move |i| (a, i)))
        .filter(|(_, i)| {
            i["id"]
                .as_str()
                .is_some_and(|id| id.to_lowercase().starts_with(&wanted))
        })
        .collect();
    let (a, i) = match found.as_slice() {
        [one] => *one,
        [] => bail!("no open incident '{incident}' (eligo alerts list shows them)"),
        _ => bail!(
            "'{incident}' names {} incidents: give more of the id",
            found.len()
        ),
    };
    if a.definition["isRemediatable"] != true {
        bail!(
            "{} has no remediation: fix its cause, then run eligo alerts refresh",
            a.name()
        );
    }
    step_up(conn, otp).await?;
    let id = i["id"].as_str().unwrap_or_default();
    conn.send(
        reqwest::Method::POST,
        &format!("{BASE}/alerts/{}/alertIncidents/{id}/remediate", a.id()),
        None,
    )
    .await?
    .map_err(explain)?;
    let after = conn.get(&format!("{BASE}/alerts/{}", a.id())).await?;
    say!(
        "remediated incident {} of {} ({}); the alert has {} open incidents now",
        short_id(id),
        a.name(),
        describe(i),
        after["incidentCount"].as_u64().unwrap_or(0)
    );
    Ok(())
}
