//! An approver's side: `approvals` (what waits on me: roles, groups and access packages),
//! `approve` and `deny` of a role or group request (by the request's id or a unique prefix of
//! it; access package requests are decided in the portal or through
//! `accessPackageAssignmentApprovals`).

use std::collections::HashMap;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::ReviewArgs;
use super::http::{Pim, encode};
use super::target::{Family, pick};
use super::text::{human_duration, print_json, short_id, table, when};

/// What waits on the caller, with the names of the groups among it.
async fn waiting(pim: &Pim) -> anyhow::Result<(Value, HashMap<String, String>)> {
    let waiting = pim.get("/v1/me/approvals").await?;
    let mut groups = HashMap::new();
    for r in waiting["value"].as_array().into_iter().flatten() {
        if let Some(id) = r["groupId"].as_str()
            && !groups.contains_key(id)
        {
            groups.insert(id.to_string(), pim.group_name(id).await);
        }
    }
    Ok((waiting, groups))
}

fn is_package(r: &Value) -> bool {
    r["kind"] == "accessPackage"
}

/// `Security Administrator`, `member of group Tier 0 Operators`, `access package IRM`.
fn what(r: &Value, groups: &HashMap<String, String>) -> String {
    if is_package(r) {
        let p = &r["accessPackage"];
        return format!(
            "access package {}",
            p["displayName"]
                .as_str()
                .or(p["id"].as_str())
                .unwrap_or("?")
        );
    }
    if let Some(group) = r["groupId"].as_str() {
        let name = groups.get(group).map(String::as_str).unwrap_or(group);
        return format!(
            "{} of group {name}",
            r["accessId"].as_str().unwrap_or("member")
        );
    }
    r["roleDisplayName"]
        .as_str()
        .filter(|n| !n.is_empty())
        .or(r["roleDefinitionId"].as_str())
        .unwrap_or("?")
        .to_string()
}

fn requester(r: &Value) -> String {
    if is_package(r) {
        let t = &r["target"];
        return t["displayName"]
            .as_str()
            .or(t["id"].as_str())
            .unwrap_or("?")
            .to_string();
    }
    r["principalDisplayName"]
        .as_str()
        .or(r["principalId"].as_str())
        .unwrap_or("?")
        .to_string()
}

pub async fn list(pim: &Pim, json: bool) -> anyhow::Result<()> {
    let (waiting, groups) = waiting(pim).await?;
    if json {
        print_json(&waiting);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = waiting["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let asked = if is_package(r) {
                &r["schedule"]["expiration"]
            } else {
                &r["requestedScheduleInfo"]["expiration"]
            };
            let length = match (asked["duration"].as_str(), asked["endDateTime"].is_null()) {
                (Some(d), _) => human_duration(d),
                (None, false) => format!("until {}", when(&asked["endDateTime"])),
                (None, true) if is_package(r) => "as its policy says".into(),
                (None, true) => "permanent".into(),
            };
            let stage = my_step(&r["approval"])
                .and_then(|s| s["displayName"].as_str())
                .unwrap_or("")
                .to_string();
            vec![
                short_id(r["id"].as_str().unwrap_or("?")),
                requester(r),
                what(r, &groups),
                length,
                r["justification"].as_str().unwrap_or("").to_string(),
                stage,
                when(&r["createdDateTime"]),
            ]
        })
        .collect();
    if rows.is_empty() {
        say!("nothing waits on your approval");
    } else {
        say!(
            "{}",
            table(
                &[
                    "ID",
                    "REQUESTED BY",
                    "ROLE",
                    "FOR",
                    "JUSTIFICATION",
                    "STAGE",
                    "CREATED"
                ],
                &rows
            )
        );
    }
    Ok(())
}

/// The step (an access package approval: the stage) of an approval that waits on the caller.
fn my_step(approval: &Value) -> Option<&Value> {
    approval["steps"]
        .as_array()
        .or(approval["stages"].as_array())?
        .iter()
        .find(|s| s["assignedToMe"] == true)
}

/// The approval `given` names (a whole id, or a unique prefix of one waiting on the caller),
/// read through its family's API.
async fn find(pim: &Pim, given: &str) -> anyhow::Result<(String, Family, Value)> {
    let (waiting, groups) = waiting(pim).await?;
    let all = waiting["value"].as_array().cloned().unwrap_or_default();
    if all.iter().any(|r| {
        is_package(r)
            && r["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(given.trim()))
    }) {
        bail!(
            "request {given} is for an access package: decide it in the portal (Approvals) or through accessPackageAssignmentApprovals"
        );
    }
    let rows: Vec<Value> = all.into_iter().filter(|r| !is_package(r)).collect();
    let whole = uuid::Uuid::parse_str(given.trim()).is_ok();
    let known = rows.iter().any(|r| {
        r["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(given.trim()))
    });
    let (id, families) = if whole && !known {
        // Not waiting on you (decided, or not yours to decide): the server says which.
        (
            given.trim().to_ascii_lowercase(),
            vec![Family::Roles, Family::Groups],
        )
    } else {
        let found = pick(
            given,
            &rows,
            "nothing waiting on your approval",
            "eligo approvals lists them",
            |r| format!("{}  {}", requester(r), what(r, &groups)),
        )?;
        (
            found["id"].as_str().unwrap_or_default().to_string(),
            vec![Family::of(found)],
        )
    };
    let mut last = None;
    for family in families {
        let path = format!("{}/{}", family.approvals(), encode(&id));
        match pim.send(reqwest::Method::GET, &path, None).await? {
            Ok(approval) => return Ok((id, family, approval)),
            Err(r) if r.status == 404 => last = Some(r),
            Err(r) => return Err(anyhow::Error::new(r).context(format!("reading approval {id}"))),
        }
    }
    let refusal = last.context("no family to try")?;
    Err(anyhow::Error::new(refusal).context(format!("reading approval {id}")))
}

pub async fn review(pim: &Pim, a: ReviewArgs, approve: bool) -> anyhow::Result<()> {
    let verb = if approve { "approve" } else { "deny" };
    let (id, family, approval) = find(pim, &a.id).await?;
    let Some(step) = my_step(&approval) else {
        let status = approval["status"].as_str().unwrap_or("?");
        bail!("no stage of request {id} waits on your decision (the request is {status})");
    };
    let step_id = step["id"].as_str().context("a step without an id")?;
    let stage = step["displayName"]
        .as_str()
        .unwrap_or("the stage")
        .to_string();
    let mut body = json!({ "reviewResult": if approve { "Approve" } else { "Deny" } });
    if let Some(j) = a.justification {
        body["justification"] = json!(j);
    }
    let approval_path = format!("{}/{}", family.approvals(), encode(&id));
    let path = format!("{approval_path}/steps/{}", encode(step_id));
    let first = pim.send(reqwest::Method::PATCH, &path, Some(&body)).await?;
    if let Err(refusal) = first {
        // A decision needs a fresh second factor: ask for the code, step up, decide once more.
        if !(refusal.status == 403 && refusal.has_detail("MfaRequired")) {
            return Err(
                anyhow::Error::new(refusal).context(format!("trying to {verb} request {id}"))
            );
        }
        let code = super::me::otp_code(a.otp)?;
        pim.send(
            reqwest::Method::POST,
            "/v1/auth/stepup",
            Some(&json!({ "otp": code })),
        )
        .await?
        .map_err(|r| anyhow::Error::new(r).context("step-up MFA failed"))?;
        pim.send(reqwest::Method::PATCH, &path, Some(&body))
            .await?
            .map_err(|r| anyhow::Error::new(r).context(format!("trying to {verb} request {id}")))?;
    }
    // Say what it came to: the approval as it is now (its status is the request's).
    let after = pim.get(&approval_path).await;
    if a.json {
        print_json(&after?);
        return Ok(());
    }
    let now = match after {
        Ok(r) => format!(
            "; the request is now {}",
            r["status"].as_str().unwrap_or("?")
        ),
        Err(_) => String::new(),
    };
    let done = if approve { "approved" } else { "denied" };
    say!("{done} {stage} of request {id}{now}");
    Ok(())
}
