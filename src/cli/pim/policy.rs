//! Role settings: `policy show` (a summary people can read) and `policy set` (PATCHes only the
//! rules whose settings were given, after checking every argument first).

use anyhow::{Context, bail};
use eligo_core::policy::{RolePolicy, ScopeType};
use serde_json::{Value, json};

use super::PolicySetArgs;
use super::http::{Pim, Role, encode};
use super::text::{self, human_duration, print_json, when};

/// A directory role's settings are the directory's (at `/`): they decide at every scope.
fn policy_path(role: &Role) -> String {
    let id = RolePolicy::id_for(ScopeType::DirectoryRole, "/", &role.id);
    format!("/v1/policies/roleManagementPolicies/{}", encode(&id))
}

fn rule<'a>(policy: &'a Value, id: &str) -> &'a Value {
    policy["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["id"] == id))
        .unwrap_or(&Value::Null)
}

fn requirements(enablement: &Value) -> String {
    let names: Vec<&str> = enablement["enabledRules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|r| match r {
            "MultiFactorAuthentication" => "MFA",
            "Justification" => "justification",
            "Ticketing" => "ticket",
            other => other,
        })
        .collect();
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

fn limit(expiration: &Value) -> String {
    let max = human_duration(expiration["maximumDuration"].as_str().unwrap_or("?"));
    if expiration["isExpirationRequired"] == false {
        format!("permanent allowed, or at most {max}")
    } else {
        format!("at most {max}")
    }
}

async fn approver(pim: &Pim, a: &Value) -> String {
    match a["@odata.type"].as_str() {
        Some("#microsoft.graph.singleUser") => {
            let id = a["userId"].as_str().unwrap_or("?");
            match pim.get(&format!("/v1/users/{}", encode(id))).await {
                Ok(u) => u["userPrincipalName"].as_str().unwrap_or(id).to_string(),
                Err(_) => format!("user {id}"),
            }
        }
        Some("#microsoft.graph.groupMembers") => {
            let id = a["groupId"].as_str().unwrap_or("?");
            match pim.get(&format!("/v1/groups/{}", encode(id))).await {
                Ok(g) => format!("members of {}", g["displayName"].as_str().unwrap_or(id)),
                Err(_) => format!("members of group {id}"),
            }
        }
        Some("#microsoft.graph.requestorManager") => "the requestor's manager".into(),
        _ => a.to_string(),
    }
}

async fn summary(pim: &Pim, role: &Role, policy: &Value) -> String {
    let mut out = vec![format!(
        "{} (policy {})",
        role.name,
        policy["id"].as_str().unwrap_or("?")
    )];
    let approval = &rule(policy, "Approval_EndUser_Assignment")["setting"];
    out.push("Activation".into());
    out.push(format!(
        "  duration:   {}",
        limit(rule(policy, "Expiration_EndUser_Assignment"))
    ));
    out.push(format!(
        "  requires:   {}",
        requirements(rule(policy, "Enablement_EndUser_Assignment"))
    ));
    let required = approval["isApprovalRequired"] == true;
    out.push(format!(
        "  approval:   {}",
        if required { "required" } else { "not required" }
    ));
    let stages = approval["approvalStages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, stage) in stages.iter().enumerate() {
        let mut who = Vec::new();
        for a in stage["primaryApprovers"].as_array().into_iter().flatten() {
            who.push(approver(pim, a).await);
        }
        if who.is_empty() && !required {
            continue;
        }
        let who = if who.is_empty() {
            "nobody (no approvers set)".to_string()
        } else {
            who.join(", ")
        };
        let n = stage["minimumApprovals"].as_u64().unwrap_or(1);
        let days = stage["approvalStageTimeOutInDays"].as_u64().unwrap_or(1);
        out.push(format!(
            "  stage {}:    {n} approval{} from {who}; times out after {days} day{}{}{}",
            i + 1,
            if n == 1 { "" } else { "s" },
            if days == 1 { "" } else { "s" },
            if stage["isApproverJustificationRequired"] == true {
                "; approver justification required"
            } else {
                ""
            },
            if required { "" } else { " (not in use)" },
        ));
    }
    out.push(format!(
        "Eligible assignments: {}; requires {}",
        limit(rule(policy, "Expiration_Admin_Eligibility")),
        requirements(rule(policy, "Enablement_Admin_Eligibility"))
    ));
    out.push(format!(
        "Active assignments:   {}; requires {}",
        limit(rule(policy, "Expiration_Admin_Assignment")),
        requirements(rule(policy, "Enablement_Admin_Assignment"))
    ));
    if !policy["lastModifiedDateTime"].is_null() {
        let by = match policy["lastModifiedBy"]["id"].as_str() {
            Some(id) => format!(" by {}", pim.principal_name(id).await),
            None => String::new(),
        };
        out.push(format!(
            "Last changed {}{by}",
            when(&policy["lastModifiedDateTime"])
        ));
    } else {
        out.push("Never changed: these are the defaults".into());
    }
    out.join("\n")
}

pub async fn show(pim: &Pim, role: &str, json: bool) -> anyhow::Result<()> {
    let role = pim.role(role).await?;
    let policy = pim
        .get(&format!("{}?$expand=rules", policy_path(&role)))
        .await
        .with_context(|| format!("reading the settings of {}", role.name))?;
    if json {
        print_json(&policy);
    } else {
        say!("{}", summary(pim, &role, &policy).await);
    }
    Ok(())
}

fn enabled_rules(list: &str) -> anyhow::Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let rule = match item.to_ascii_lowercase().as_str() {
            "none" => continue,
            "mfa" | "multifactorauthentication" => "MultiFactorAuthentication",
            "justification" => "Justification",
            "ticket" | "ticketing" => "Ticketing",
            _ => bail!(
                "--require takes mfa, justification, ticket (comma-separated) or none; not '{item}'"
            ),
        };
        if !out.contains(&rule) {
            out.push(rule);
        }
    }
    Ok(out)
}

async fn approver_json(pim: &Pim, who: &str) -> anyhow::Result<Value> {
    if who.contains('@') || uuid::Uuid::parse_str(who).is_ok() {
        let id = pim.user_id(who).await?;
        return Ok(json!({ "@odata.type": "#microsoft.graph.singleUser", "userId": id }));
    }
    let id = pim
        .group_id(who)
        .await
        .with_context(|| format!("--approver {who} is neither a UPN nor a group's name"))?;
    Ok(json!({ "@odata.type": "#microsoft.graph.groupMembers", "groupId": id }))
}

pub async fn set(pim: &Pim, a: PolicySetArgs) -> anyhow::Result<()> {
    if a.max_activation.is_none()
        && a.require.is_none()
        && a.approval.is_none()
        && a.approver.is_empty()
        && a.min_approvals.is_none()
    {
        bail!(
            "nothing to change: give --max-activation, --require, --approval, --approver or --min-approvals"
        );
    }
    let role = pim.role(&a.role).await?;
    let path = policy_path(&role);
    let policy = pim
        .get(&format!("{path}?$expand=rules"))
        .await
        .with_context(|| format!("reading the settings of {}", role.name))?;

    // Work out every change before making any.
    let mut patches: Vec<(&str, Value)> = Vec::new();
    if let Some(max) = &a.max_activation {
        let required = rule(&policy, "Expiration_EndUser_Assignment")["isExpirationRequired"]
            .as_bool()
            .unwrap_or(true);
        patches.push((
            "Expiration_EndUser_Assignment",
            json!({ "isExpirationRequired": required, "maximumDuration": text::duration(max)? }),
        ));
    }
    if let Some(list) = &a.require {
        patches.push((
            "Enablement_EndUser_Assignment",
            json!({ "enabledRules": enabled_rules(list)? }),
        ));
    }
    if a.approval.is_some() || !a.approver.is_empty() || a.min_approvals.is_some() {
        let mut setting = rule(&policy, "Approval_EndUser_Assignment")["setting"].clone();
        if !setting.is_object() {
            bail!("the server sent no approval rule for {}", role.name);
        }
        if let Some(on) = &a.approval {
            setting["isApprovalRequired"] = json!(on == "on");
        }
        let stages = setting["approvalStages"]
            .as_array_mut()
            .context("the approval rule has no stages list")?;
        if stages.is_empty() {
            stages.push(json!({
                "approvalStageTimeOutInDays": 1,
                "isApproverJustificationRequired": true,
                "primaryApprovers": [],
                "minimumApprovals": 1,
            }));
        }
        if !a.approver.is_empty() {
            let mut approvers = Vec::new();
            for who in &a.approver {
                approvers.push(approver_json(pim, who).await?);
            }
            stages[0]["primaryApprovers"] = json!(approvers);
        }
        if let Some(n) = a.min_approvals {
            stages[0]["minimumApprovals"] = json!(n);
        }
        patches.push(("Approval_EndUser_Assignment", json!({ "setting": setting })));
    }

    let mut done: Vec<&str> = Vec::new();
    for (rule_id, body) in &patches {
        pim.call(
            reqwest::Method::PATCH,
            &format!("{path}/rules/{rule_id}"),
            Some(body),
        )
        .await
        .with_context(|| {
            let before = if done.is_empty() {
                String::new()
            } else {
                format!(" ({} already changed)", done.join(", "))
            };
            format!("changing {rule_id} of {}{before}", role.name)
        })?;
        done.push(rule_id);
    }
    let after = pim.get(&format!("{path}?$expand=rules")).await?;
    if a.json {
        print_json(&after);
    } else {
        say!("{}", summary(pim, &role, &after).await);
    }
    Ok(())
}
