//! A person's own access: `roles`, `activate`, `deactivate`, `extend`, `requests`, `cancel`.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::http::{ASSIGNMENT_REQUESTS, Pim, Refusal, Role, encode, quoted};
use super::text::{self, print_json, table, when};
use super::{ActivateArgs, ExtendArgs};

pub async fn roles(pim: &Pim, json: bool) -> anyhow::Result<()> {
    let mine = pim.get("/v1/me/roles").await?;
    if json {
        print_json(&mine);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = mine["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let via = match r["via"]["type"].as_str() {
                Some("group") => format!(
                    "group {}",
                    r["via"]["displayName"]
                        .as_str()
                        .or(r["via"]["id"].as_str())
                        .unwrap_or("?")
                ),
                _ => "direct".to_string(),
            };
            let kind = match (r["kind"].as_str(), r["assignmentType"].as_str()) {
                (Some("active"), Some("Assigned")) => "active (assigned)".to_string(),
                (Some(k), _) => k.to_string(),
                (None, _) => "?".to_string(),
            };
            let mut notes = Vec::new();
            if r["isCurrent"] == false {
                notes.push(format!("starts {}", when(&r["startDateTime"])));
            }
            if r["expiringSoon"] == true {
                notes.push("expiring soon".to_string());
            }
            // A group access (PIM for Groups) names the group and the access instead.
            let (what, scope) = match r["accessId"].as_str() {
                Some(access) => (
                    format!(
                        "{} of group {}",
                        access,
                        name_or_id(&r["groupDisplayName"], &r["groupId"])
                    ),
                    "-".to_string(),
                ),
                None => (
                    name_or_id(&r["roleDisplayName"], &r["roleDefinitionId"]),
                    r["directoryScopeId"].as_str().unwrap_or("/").to_string(),
                ),
            };
            vec![
                what,
                scope,
                kind,
                when(&r["endDateTime"]),
                via,
                notes.join(", "),
            ]
        })
        .collect();
    if rows.is_empty() {
        say!("no eligible or active roles");
    } else {
        say!(
            "{}",
            table(&["ROLE", "SCOPE", "KIND", "UNTIL", "VIA", ""], &rows)
        );
    }
    Ok(())
}

fn name_or_id(name: &Value, id: &Value) -> String {
    match name.as_str() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => id.as_str().unwrap_or("?").to_string(),
    }
}

/// The body of a self action on `role` at `scope`.
async fn self_request(pim: &Pim, action: &str, role: &Role, scope: &str) -> anyhow::Result<Value> {
    let me = pim.me().await?;
    let id = me["id"]
        .as_str()
        .context("the server did not say who you are")?;
    Ok(json!({
        "action": action,
        "principalId": id,
        "roleDefinitionId": role.id,
        "directoryScopeId": scope,
    }))
}

fn add_justification_and_ticket(
    body: &mut Value,
    justification: Option<String>,
    ticket: Option<&str>,
) -> anyhow::Result<()> {
    if let Some(j) = justification {
        body["justification"] = json!(j);
    }
    if let Some(t) = ticket {
        body["ticketInfo"] = text::ticket(t)?;
    }
    Ok(())
}

/// Reads a TOTP code: the one given, or one typed on standard input after a prompt on stderr.
pub(super) fn otp_code(given: Option<String>) -> anyhow::Result<String> {
    if let Some(code) = given {
        return Ok(code.trim().to_string());
    }
    eprint!("This needs a fresh MFA. TOTP code: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line)?;
    let code = line.trim().to_string();
    if !std::io::stdin().is_terminal() {
        // Nothing echoed the end of the line: end the prompt's line here.
        eprintln!();
    }
    if read == 0 || code.is_empty() {
        bail!("a fresh MFA is needed: give --otp CODE, or type the code from your authenticator");
    }
    Ok(code)
}

/// Submits a self action; when the only thing wrong is a stale MFA, steps up with a TOTP code
/// and submits once more. Every broken rule of a final refusal is in the error.
async fn submit_self(pim: &Pim, body: &Value, otp: Option<String>) -> anyhow::Result<Value> {
    let first = pim
        .send(reqwest::Method::POST, ASSIGNMENT_REQUESTS, Some(body))
        .await?;
    let refusal = match first {
        Ok(request) => return Ok(request),
        Err(r) => r,
    };
    let only_mfa = refusal.status == 400
        && refusal.has_detail("MfaRule")
        && refusal.details.iter().all(|(c, _, _)| c == "MfaRule");
    if !only_mfa {
        return Err(refusal.into());
    }
    let code = otp_code(otp)?;
    pim.send(
        reqwest::Method::POST,
        "/v1/auth/stepup",
        Some(&json!({ "otp": code })),
    )
    .await?
    .map_err(|r: Refusal| anyhow::Error::new(r).context("step-up MFA failed"))?;
    Ok(pim
        .send(reqwest::Method::POST, ASSIGNMENT_REQUESTS, Some(body))
        .await??)
}

/// One sentence about what a request came to.
fn outcome(role: &Role, request: &Value) -> String {
    let id = request["id"].as_str().unwrap_or("?");
    let info = &request["scheduleInfo"];
    let end = when(&info["expiration"]["endDateTime"]);
    match request["status"].as_str().unwrap_or("?") {
        "Provisioned" => format!("{} is active until {end} (request {id})", role.name),
        "Granted" | "ScheduleCreated" => format!(
            "{} will be active from {} until {end} (request {id})",
            role.name,
            when(&info["startDateTime"])
        ),
        "PendingApproval" => format!("{}: waiting for approval (request {id})", role.name),
        "Revoked" => format!("{} is no longer active (request {id})", role.name),
        other => {
            let detail = request["statusDetail"].as_str().unwrap_or_default();
            format!("{}: request {id} is {other} {detail}", role.name)
                .trim_end()
                .to_string()
        }
    }
}

pub async fn activate(pim: &Pim, a: ActivateArgs) -> anyhow::Result<()> {
    let role = pim.role(&a.role).await?;
    let mut body = self_request(pim, "selfActivate", &role, &a.scope).await?;
    add_justification_and_ticket(&mut body, a.justification, a.ticket.as_deref())?;
    let mut schedule = json!({
        "expiration": { "type": "afterDuration", "duration": text::duration(&a.duration)? },
    });
    if let Some(start) = &a.start {
        schedule["startDateTime"] = json!(text::instant(start, "--start")?);
    }
    body["scheduleInfo"] = schedule;
    let request = submit_self(pim, &body, a.otp)
        .await
        .with_context(|| format!("activating {}", role.name))?;
    if a.json {
        print_json(&request);
    } else {
        say!("{}", outcome(&role, &request));
    }
    Ok(())
}

pub async fn deactivate(pim: &Pim, role: &str, scope: &str) -> anyhow::Result<()> {
    let role = pim.role(role).await?;
    let body = self_request(pim, "selfDeactivate", &role, scope).await?;
    let request = pim
        .post(ASSIGNMENT_REQUESTS, &body)
        .await
        .with_context(|| format!("deactivating {}", role.name))?;
    say!(
        "{} deactivated (request {})",
        role.name,
        request["id"].as_str().unwrap_or("?")
    );
    Ok(())
}

pub async fn extend(pim: &Pim, a: ExtendArgs) -> anyhow::Result<()> {
    let role = pim.role(&a.role).await?;
    let mut body = self_request(pim, "selfExtend", &role, &a.scope).await?;
    add_justification_and_ticket(&mut body, a.justification, a.ticket.as_deref())?;
    body["scheduleInfo"] = json!({
        "expiration": { "type": "afterDuration", "duration": text::duration(&a.duration)? },
    });
    let request = submit_self(pim, &body, a.otp)
        .await
        .with_context(|| format!("extending {}", role.name))?;
    say!("{}", outcome(&role, &request));
    Ok(())
}

const STATUSES: [&str; 10] = [
    "Canceled",
    "Denied",
    "Failed",
    "Granted",
    "PendingApproval",
    "PendingProvisioning",
    "PendingScheduleCreation",
    "Provisioned",
    "Revoked",
    "ScheduleCreated",
];

pub async fn requests(
    pim: &Pim,
    all: bool,
    status: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let mut conditions = Vec::new();
    if !all {
        let me = pim.me().await?;
        let id = me["id"]
            .as_str()
            .context("the server did not say who you are")?;
        conditions.push(format!("principalId eq {}", quoted(id)));
    }
    if let Some(s) = status {
        let canonical = STATUSES
            .iter()
            .find(|k| k.eq_ignore_ascii_case(s))
            .with_context(|| format!("--status is one of {}", STATUSES.join(", ")))?;
        conditions.push(format!("status eq {}", quoted(canonical)));
    }
    let mut path = ASSIGNMENT_REQUESTS.to_string();
    if !conditions.is_empty() {
        path = format!("{path}?$filter={}", encode(&conditions.join(" and ")));
    }
    let rows = pim.all(&path).await?;
    if json {
        print_json(&json!({ "value": rows }));
        return Ok(());
    }
    if rows.is_empty() {
        say!("no requests");
        return Ok(());
    }
    let names: HashMap<String, String> = pim
        .roles()
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let mut principals: HashMap<String, String> = HashMap::new();
    if all {
        for r in &rows {
            let id = r["principalId"].as_str().unwrap_or("?");
            if !principals.contains_key(id) {
                principals.insert(id.to_string(), pim.principal_name(id).await);
            }
        }
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let role = r["roleDefinitionId"].as_str().unwrap_or("?");
            let mut row = vec![
                r["id"].as_str().unwrap_or("?").to_string(),
                when(&r["createdDateTime"]),
                r["action"].as_str().unwrap_or("?").to_string(),
                names.get(role).cloned().unwrap_or_else(|| role.to_string()),
            ];
            if all {
                let id = r["principalId"].as_str().unwrap_or("?");
                row.push(
                    principals
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| id.to_string()),
                );
            }
            row.push(r["status"].as_str().unwrap_or("?").to_string());
            let end = &r["scheduleInfo"]["expiration"]["endDateTime"];
            row.push(if end.is_null() {
                String::new()
            } else {
                when(end)
            });
            row
        })
        .collect();
    let header: &[&str] = if all {
        &[
            "ID",
            "CREATED",
            "ACTION",
            "ROLE",
            "PRINCIPAL",
            "STATUS",
            "UNTIL",
        ]
    } else {
        &["ID", "CREATED", "ACTION", "ROLE", "STATUS", "UNTIL"]
    };
    say!("{}", table(header, &table_rows));
    Ok(())
}

pub async fn cancel(pim: &Pim, id: &str) -> anyhow::Result<()> {
    pim.call(
        reqwest::Method::POST,
        &format!("{ASSIGNMENT_REQUESTS}/{}/cancel", encode(id)),
        None,
    )
    .await
    .with_context(|| format!("canceling request {id}"))?;
    say!("canceled request {id}");
    Ok(())
}
