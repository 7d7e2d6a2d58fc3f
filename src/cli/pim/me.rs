//! A person's own access: `roles`, `activate`, `deactivate`, `extend` (of a role, or of a
//! group's membership or ownership), `requests` and `cancel`.

use std::collections::HashMap;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::http::{ASSIGNMENT_REQUESTS, GROUP_ASSIGNMENT_REQUESTS, Pim, Refusal, encode, quoted};
use super::target::{Family, Target, pick};
use super::text::{self, print_json, short_id, table, when};
use super::{ActivateArgs, DeactivateArgs, ExtendArgs};

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

/// The signed-in principal's id.
async fn my_id(pim: &Pim) -> anyhow::Result<String> {
    let me = pim.me().await?;
    me["id"]
        .as_str()
        .map(String::from)
        .context("the server did not say who you are")
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
    match crate::cli::term::ask("This needs a fresh MFA. TOTP code: ")? {
        Some(code) => Ok(code),
        None => bail!(
            "a fresh MFA is needed: give --otp CODE, or type the code from your authenticator"
        ),
    }
}

/// Submits a self action to `path`; when the only thing wrong is a stale MFA, steps up with a
/// TOTP code and submits once more. Every broken rule of a final refusal is in the error.
async fn submit_self(
    pim: &Pim,
    path: &str,
    body: &Value,
    otp: Option<String>,
) -> anyhow::Result<Value> {
    let first = pim.send(reqwest::Method::POST, path, Some(body)).await?;
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
    Ok(pim.send(reqwest::Method::POST, path, Some(body)).await??)
}

/// One sentence about what a request came to.
fn outcome(what: &str, request: &Value) -> String {
    let id = request["id"].as_str().unwrap_or("?");
    let info = &request["scheduleInfo"];
    let end = when(&info["expiration"]["endDateTime"]);
    match request["status"].as_str().unwrap_or("?") {
        "Provisioned" => format!("{what} is active until {end} (request {id})"),
        "Granted" | "ScheduleCreated" => format!(
            "{what} will be active from {} until {end} (request {id})",
            when(&info["startDateTime"])
        ),
        "PendingApproval" => format!("{what}: waiting for approval (request {id})"),
        "Revoked" => format!("{what} is no longer active (request {id})"),
        other => {
            let detail = request["statusDetail"].as_str().unwrap_or_default();
            format!("{what}: request {id} is {other} {detail}")
                .trim_end()
                .to_string()
        }
    }
}

pub async fn activate(pim: &Pim, a: ActivateArgs) -> anyhow::Result<()> {
    let target = Target::resolve(
        pim,
        a.role.as_deref(),
        a.group.as_deref(),
        &a.access,
        &a.scope,
    )
    .await?;
    let mut body = target.body("selfActivate", &my_id(pim).await?);
    add_justification_and_ticket(&mut body, a.justification, a.ticket.as_deref())?;
    let mut schedule = json!({
        "expiration": { "type": "afterDuration", "duration": text::duration(&a.duration)? },
    });
    if let Some(start) = &a.start {
        schedule["startDateTime"] = json!(text::instant(start, "--start")?);
    }
    body["scheduleInfo"] = schedule;
    let what = target.label();
    let request = submit_self(pim, target.requests(), &body, a.otp)
        .await
        .with_context(|| format!("activating {what}"))?;
    if a.json {
        print_json(&request);
    } else {
        say!("{}", outcome(&what, &request));
    }
    Ok(())
}

pub async fn deactivate(pim: &Pim, a: DeactivateArgs) -> anyhow::Result<()> {
    let target = Target::resolve(
        pim,
        a.role.as_deref(),
        a.group.as_deref(),
        &a.access,
        &a.scope,
    )
    .await?;
    let body = target.body("selfDeactivate", &my_id(pim).await?);
    let what = target.label();
    let request = pim
        .post(target.requests(), &body)
        .await
        .with_context(|| format!("deactivating {what}"))?;
    if a.json {
        print_json(&request);
    } else {
        say!(
            "{what} deactivated (request {})",
            request["id"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}

pub async fn extend(pim: &Pim, a: ExtendArgs) -> anyhow::Result<()> {
    let target = Target::resolve(
        pim,
        a.role.as_deref(),
        a.group.as_deref(),
        &a.access,
        &a.scope,
    )
    .await?;
    let mut body = target.body("selfExtend", &my_id(pim).await?);
    add_justification_and_ticket(&mut body, a.justification, a.ticket.as_deref())?;
    body["scheduleInfo"] = json!({
        "expiration": { "type": "afterDuration", "duration": text::duration(&a.duration)? },
    });
    let what = target.label();
    let request = submit_self(pim, target.requests(), &body, a.otp)
        .await
        .with_context(|| format!("extending {what}"))?;
    if a.json {
        print_json(&request);
    } else {
        say!("{}", outcome(&what, &request));
    }
    Ok(())
}

const STATUSES: [&str; 11] = [
    "Canceled",
    "Denied",
    "Failed",
    "Granted",
    "PendingAdminDecision",
    "PendingApproval",
    "PendingProvisioning",
    "PendingScheduleCreation",
    "Provisioned",
    "Revoked",
    "ScheduleCreated",
];

/// Requests for roles and for groups, newest first: the caller's own, or everyone's (`all`),
/// optionally of one status. Group requests the caller may not list are left out of `all`.
async fn request_rows(pim: &Pim, all: bool, status: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let mut conditions = Vec::new();
    if !all {
        conditions.push(format!("principalId eq {}", quoted(&my_id(pim).await?)));
    }
    if let Some(s) = status {
        let canonical = STATUSES
            .iter()
            .find(|k| k.eq_ignore_ascii_case(s))
            .with_context(|| format!("--status is one of {}", STATUSES.join(", ")))?;
        conditions.push(format!("status eq {}", quoted(canonical)));
    }
    let query = if conditions.is_empty() {
        String::new()
    } else {
        format!("?$filter={}", encode(&conditions.join(" and ")))
    };
    let mut rows = pim.all(&format!("{ASSIGNMENT_REQUESTS}{query}")).await?;
    match pim
        .send(
            reqwest::Method::GET,
            &format!("{GROUP_ASSIGNMENT_REQUESTS}{query}"),
            None,
        )
        .await?
    {
        Ok(first) => {
            rows.extend(first["value"].as_array().into_iter().flatten().cloned());
            if let Some(next) = first["@odata.nextLink"].as_str() {
                rows.extend(pim.all(next).await?);
            }
        }
        Err(r) if all && r.status == 403 => {}
        Err(r) => return Err(r.into()),
    }
    let created = |r: &Value| {
        r["createdDateTime"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    rows.sort_by_key(|r| std::cmp::Reverse(created(r)));
    Ok(rows)
}

/// What a request is for, for people: a role's name, or `member of group NAME`.
struct Names {
    roles: HashMap<String, String>,
    groups: HashMap<String, String>,
}

impl Names {
    async fn load(pim: &Pim, rows: &[Value]) -> anyhow::Result<Self> {
        let roles = if rows.iter().any(|r| Family::of(r) == Family::Roles) {
            pim.roles()
                .await?
                .into_iter()
                .map(|r| (r.id, r.name))
                .collect()
        } else {
            HashMap::new()
        };
        let mut groups = HashMap::new();
        if rows.iter().any(|r| Family::of(r) == Family::Groups) {
            // Your own group accesses name their groups; others are looked up.
            let mine = pim.get("/v1/me/roles").await?;
            for r in mine["value"].as_array().into_iter().flatten() {
                if let (Some(id), Some(name)) =
                    (r["groupId"].as_str(), r["groupDisplayName"].as_str())
                {
                    groups.insert(id.to_string(), name.to_string());
                }
            }
            for r in rows {
                if let Some(id) = r["groupId"].as_str()
                    && !groups.contains_key(id)
                {
                    groups.insert(id.to_string(), pim.group_name(id).await);
                }
            }
        }
        Ok(Self { roles, groups })
    }

    fn of(&self, r: &Value) -> String {
        if let Some(group) = r["groupId"].as_str() {
            let name = self.groups.get(group).map(String::as_str).unwrap_or(group);
            return format!(
                "{} of group {name}",
                r["accessId"].as_str().unwrap_or("member")
            );
        }
        let role = r["roleDefinitionId"].as_str().unwrap_or("?");
        self.roles
            .get(role)
            .cloned()
            .unwrap_or_else(|| role.to_string())
    }
}

pub async fn requests(
    pim: &Pim,
    all: bool,
    status: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let rows = request_rows(pim, all, status).await?;
    if json {
        print_json(&json!({ "value": rows }));
        return Ok(());
    }
    if rows.is_empty() {
        say!("no requests");
        return Ok(());
    }
    let names = Names::load(pim, &rows).await?;
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
            let mut row = vec![
                short_id(r["id"].as_str().unwrap_or("?")),
                when(&r["createdDateTime"]),
                r["action"].as_str().unwrap_or("?").to_string(),
                names.of(r),
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

/// A request of the caller's by its id or a unique prefix of it (as `eligo requests` shows
/// it), with the family whose API serves it; a whole id that is not the caller's is tried as
/// a role's request, then a group's.
async fn my_request(pim: &Pim, given: &str) -> anyhow::Result<(String, Option<Family>)> {
    let rows = request_rows(pim, false, None).await?;
    if is_whole_id(given) && !rows.iter().any(|r| r["id"].as_str() == Some(given.trim())) {
        return Ok((given.trim().to_ascii_lowercase(), None));
    }
    let names = Names::load(pim, &rows).await?;
    let found = pick(
        given,
        &rows,
        "no request of yours",
        "eligo requests lists yours",
        |r| {
            format!(
                "{}  {}  {}  {}",
                when(&r["createdDateTime"]),
                r["action"].as_str().unwrap_or("?"),
                names.of(r),
                r["status"].as_str().unwrap_or("?"),
            )
        },
    )?;
    Ok((
        found["id"].as_str().unwrap_or_default().to_string(),
        Some(Family::of(found)),
    ))
}

fn is_whole_id(s: &str) -> bool {
    uuid::Uuid::parse_str(s.trim()).is_ok()
}

pub async fn cancel(pim: &Pim, given: &str, json: bool) -> anyhow::Result<()> {
    let (id, family) = my_request(pim, given).await?;
    let families = match family {
        Some(f) => vec![f],
        None => vec![Family::Roles, Family::Groups],
    };
    let mut canceled = None;
    let mut last = None;
    for family in families {
        let path = format!("{}/{}/cancel", family.requests(), encode(&id));
        match pim.send(reqwest::Method::POST, &path, None).await? {
            Ok(_) => {
                canceled = Some(family);
                break;
            }
            // Not a request of this family: perhaps of the other.
            Err(r) if r.status == 404 => last = Some(r),
            Err(r) => {
                return Err(anyhow::Error::new(r).context(format!("canceling request {id}")));
            }
        }
    }
    let Some(family) = canceled else {
        let refusal = last.context("no family to try")?;
        return Err(anyhow::Error::new(refusal).context(format!("canceling request {id}")));
    };
    if json {
        let request = pim
            .get(&format!("{}/{}", family.requests(), encode(&id)))
            .await?;
        print_json(&request);
    } else {
        say!("canceled request {id}");
    }
    Ok(())
}
