//! `eligo access approvals|approve|deny`: deciding access package requests as an approver
//! (the requester's manager, a named approver...). The server decides who may; a decision
//! needs a fresh second factor, proved with --otp here or `eligo mfa stepup` before.

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::DecideArgs;
use super::lookup::{EM, Em, by_prefix};
use crate::cli::pim::text::{print_json, short_id, table};

/// The stage that waits on the caller: in progress and assigned to them.
fn waiting_stage(approval: &Value) -> Option<&Value> {
    let stages = approval["stages"].as_array()?;
    stages
        .iter()
        .find(|s| s["assignedToMe"] == true && s["status"] == "InProgress")
        .or_else(|| stages.iter().find(|s| s["assignedToMe"] == true))
}

const MINE: &str = "/accessPackageAssignmentApprovals/filterByCurrentUser(on='approver')";

pub async fn list(em: &Em, json: bool) -> anyhow::Result<()> {
    let rows = em.all(MINE).await?;
    if json {
        print_json(&json!({ "value": rows }));
        return Ok(());
    }
    if rows.is_empty() {
        say!("no access package requests wait on you");
        return Ok(());
    }
    // The approval is what an approver may read (the request itself is its requester's and
    // administrators'; asking for it would be a refused, audited read).
    let out: Vec<Vec<String>> = rows
        .iter()
        .map(|a| {
            let stage = waiting_stage(a);
            vec![
                short_id(a["id"].as_str().unwrap_or_default()),
                a["id"].as_str().unwrap_or_default().to_string(),
                stage
                    .and_then(|s| s["displayName"].as_str())
                    .unwrap_or("?")
                    .to_string(),
                stage
                    .and_then(|s| s["status"].as_str())
                    .unwrap_or("?")
                    .to_string(),
            ]
        })
        .collect();
    say!("{}", table(&["ID", "REQUEST", "STAGE", "STATUS"], &out));
    Ok(())
}

pub async fn decide(em: &Em, a: DecideArgs, approve: bool) -> anyhow::Result<()> {
    let rows = em.all(MINE).await?;
    let approval = by_prefix(&rows, &a.id, "request waiting on you")?;
    let id = approval["id"].as_str().unwrap_or_default().to_string();
    let stage = waiting_stage(approval).context("no stage of this request waits on you")?;
    let stage_id = stage["id"].as_str().unwrap_or_default();
    if let Some(code) = &a.otp {
        em.conn
            .post("/v1/auth/stepup", &json!({ "otp": code }))
            .await
            .context("step-up MFA failed")?;
    }
    let mut body = json!({ "reviewResult": if approve { "Approve" } else { "Deny" } });
    if let Some(j) = &a.justification {
        body["justification"] = json!(j);
    }
    let path = format!("{EM}/accessPackageAssignmentApprovals/{id}/stages/{stage_id}");
    match em
        .conn
        .send(reqwest::Method::PATCH, &path, Some(&body))
        .await?
    {
        Ok(_) => {}
        Err(r) if r.status == 403 && r.has_detail("MfaRequired") => {
            bail!(
                "{r}\n  deciding needs a fresh second factor: give --otp CODE (or run eligo mfa stepup)"
            )
        }
        Err(r) => return Err(r.into()),
    }
    let after = em
        .get(&format!("/accessPackageAssignmentApprovals/{id}"))
        .await?;
    if a.json {
        print_json(&after);
        return Ok(());
    }
    let stages = after["stages"].as_array().cloned().unwrap_or_default();
    let next = stages
        .iter()
        .find(|s| s["status"] == "InProgress" || s["status"] == "NotStarted");
    let done = if approve { "approved" } else { "denied" };
    let stage_name = stage["displayName"].as_str().unwrap_or("the stage");
    match (approve, next) {
        (true, Some(n)) => say!(
            "{done} {stage_name} of request {id}; {} now waits on its approvers",
            n["displayName"].as_str().unwrap_or("the next stage")
        ),
        (true, None) => say!("{done} {stage_name} of request {id}: the access is delivered"),
        (false, _) => say!("{done} {stage_name} of request {id}: the request is denied"),
    }
    Ok(())
}
