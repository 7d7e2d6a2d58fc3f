//! An administrator's assignments: `assign --eligible|--active` and `unassign`.

use anyhow::Context;
use serde_json::{Value, json};

use super::http::{ASSIGNMENT_REQUESTS, ELIGIBILITY_REQUESTS, Pim};
use super::text::{self, print_json, when};
use super::{AssignArgs, UnassignArgs};

fn endpoint(eligible: bool) -> (&'static str, &'static str) {
    if eligible {
        (ELIGIBILITY_REQUESTS, "eligible for")
    } else {
        (ASSIGNMENT_REQUESTS, "active in")
    }
}

pub async fn assign(pim: &Pim, a: AssignArgs) -> anyhow::Result<()> {
    let role = pim.role(&a.role).await?;
    let principal = pim.principal_id(&a.principal).await?;
    let (path, what) = endpoint(a.eligible);
    let mut body = json!({
        "action": "adminAssign",
        "principalId": principal,
        "roleDefinitionId": role.id,
        "directoryScopeId": a.scope,
    });
    if let Some(j) = a.justification {
        body["justification"] = json!(j);
    }
    if let Some(t) = &a.ticket {
        body["ticketInfo"] = text::ticket(t)?;
    }
    let expiration = match (&a.duration, &a.until, a.permanent) {
        (Some(d), _, _) => Some(json!({ "type": "afterDuration", "duration": text::duration(d)? })),
        (_, Some(u), _) => {
            Some(json!({ "type": "afterDateTime", "endDateTime": text::instant(u, "--until")? }))
        }
        (_, _, true) => Some(json!({ "type": "noExpiration" })),
        // Nothing said: the server's default (no end), refused where the policy wants one.
        _ => None,
    };
    if expiration.is_some() || a.start.is_some() {
        let mut info = json!({});
        if let Some(e) = expiration {
            info["expiration"] = e;
        }
        if let Some(s) = &a.start {
            info["startDateTime"] = json!(text::instant(s, "--start")?);
        }
        body["scheduleInfo"] = info;
    }
    let request = pim
        .post(path, &body)
        .await
        .with_context(|| format!("assigning {} to {}", role.name, a.principal))?;
    if a.json {
        print_json(&request);
        return Ok(());
    }
    say!(
        "{} is {what} {} at {}{} (request {})",
        a.principal,
        role.name,
        a.scope,
        span(&request),
        request["id"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// ` until T`, ` from S until T` (a later start), or ` permanently`.
fn span(request: &Value) -> String {
    let info = &request["scheduleInfo"];
    let end = &info["expiration"]["endDateTime"];
    let until = if end.is_null() {
        " permanently".to_string()
    } else {
        format!(" until {}", when(end))
    };
    if request["status"] == "Granted" {
        format!(" from {}{until}", when(&info["startDateTime"]))
    } else {
        until
    }
}

pub async fn unassign(pim: &Pim, a: UnassignArgs) -> anyhow::Result<()> {
    let role = pim.role(&a.role).await?;
    let principal = pim.principal_id(&a.principal).await?;
    let (path, what) = endpoint(a.eligible);
    let mut body = json!({
        "action": "adminRemove",
        "principalId": principal,
        "roleDefinitionId": role.id,
        "directoryScopeId": a.scope,
    });
    if let Some(j) = a.justification {
        body["justification"] = json!(j);
    }
    let request = pim
        .post(path, &body)
        .await
        .with_context(|| format!("removing {} from {}", role.name, a.principal))?;
    if a.json {
        print_json(&request);
        return Ok(());
    }
    say!(
        "{} is no longer {what} {} at {} (request {})",
        a.principal,
        role.name,
        a.scope,
        request["id"].as_str().unwrap_or("?")
    );
    Ok(())
}
