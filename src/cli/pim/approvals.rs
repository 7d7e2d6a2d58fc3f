//! An approver's side: `approvals` (what waits on me), `approve` and `deny`.

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::ReviewArgs;
use super::http::{ASSIGNMENT_REQUESTS, Pim, encode};
use super::text::{human_duration, print_json, table, when};

const APPROVALS: &str = "/v1/roleManagement/directory/roleAssignmentApprovals";

pub async fn list(pim: &Pim, json: bool) -> anyhow::Result<()> {
    let waiting = pim.get("/v1/me/approvals").await?;
    if json {
        print_json(&waiting);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = waiting["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let asked = &r["requestedScheduleInfo"]["expiration"];
            let length = match (asked["duration"].as_str(), asked["endDateTime"].is_null()) {
                (Some(d), _) => human_duration(d),
                (None, false) => format!("until {}", when(&asked["endDateTime"])),
                (None, true) => "permanent".into(),
            };
            let stage = r["approval"]["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["assignedToMe"] == true)
                .and_then(|s| s["displayName"].as_str())
                .unwrap_or("")
                .to_string();
            vec![
                r["id"].as_str().unwrap_or("?").to_string(),
                r["principalDisplayName"]
                    .as_str()
                    .or(r["principalId"].as_str())
                    .unwrap_or("?")
                    .to_string(),
                r["roleDisplayName"]
                    .as_str()
                    .or(r["roleDefinitionId"].as_str())
                    .unwrap_or("?")
                    .to_string(),
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

/// The step of an approval that waits on the caller.
fn my_step(approval: &Value) -> Option<&Value> {
    approval["steps"]
        .as_array()?
        .iter()
        .find(|s| s["assignedToMe"] == true)
}

pub async fn review(pim: &Pim, a: ReviewArgs, approve: bool) -> anyhow::Result<()> {
    let verb = if approve { "approve" } else { "deny" };
    let id = encode(a.id.trim());
    let approval = pim
        .get(&format!("{APPROVALS}/{id}"))
        .await
        .with_context(|| format!("reading approval {}", a.id))?;
    let Some(step) = my_step(&approval) else {
        let status = approval["status"].as_str().unwrap_or("?");
        bail!(
            "no stage of request {} waits on your decision (the request is {status})",
            a.id
        );
    };
    let step_id = step["id"].as_str().context("a step without an id")?;
    let stage = step["displayName"].as_str().unwrap_or("the stage");
    let mut body = json!({ "reviewResult": if approve { "Approve" } else { "Deny" } });
    if let Some(j) = a.justification {
        body["justification"] = json!(j);
    }
    let path = format!("{APPROVALS}/{id}/steps/{}", encode(step_id));
    let first = pim.send(reqwest::Method::PATCH, &path, Some(&body)).await?;
    if let Err(refusal) = first {
        // A decision needs a fresh second factor: ask for the code, step up, decide once more.
        if !(refusal.status == 403 && refusal.has_detail("MfaRequired")) {
            return Err(
                anyhow::Error::new(refusal).context(format!("trying to {verb} request {}", a.id))
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
            .map_err(|r| {
                anyhow::Error::new(r).context(format!("trying to {verb} request {}", a.id))
            })?;
    }
    // Say what it came to: the approver may read the request they reviewed.
    let now = match pim.get(&format!("{ASSIGNMENT_REQUESTS}/{id}")).await {
        Ok(r) => format!(
            "; the request is now {}",
            r["status"].as_str().unwrap_or("?")
        ),
        Err(_) => String::new(),
    };
    let done = if approve { "approved" } else { "denied" };
    say!("{done} {stage} of request {}{now}", a.id);
    Ok(())
}
