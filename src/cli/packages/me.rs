//! `eligo access ...`: a person's own access packages.

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::lookup::{Em, by_prefix, named, package_name, schedule};
use super::{ExtendArgs, RequestArgs};
use crate::cli::pim::text::{print_json, short_id, table, when};

/// Assignments that no longer give anything are history, not "my access".
fn current(a: &Value) -> bool {
    !matches!(a["state"].as_str(), Some("expired" | "deleted"))
}

pub async fn list(em: &Em, json: bool) -> anyhow::Result<()> {
    let requestable = em.requestable().await?;
    let assignments: Vec<Value> = em
        .my_assignments()
        .await?
        .into_iter()
        .filter(current)
        .collect();
    if json {
        print_json(&json!({ "requestable": requestable, "assignments": assignments }));
        return Ok(());
    }
    let known = known_packages(em, &requestable).await;
    let rows: Vec<Vec<String>> = requestable
        .iter()
        .map(|p| {
            vec![
                p["displayName"].as_str().unwrap_or("?").to_string(),
                p["description"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        say!("no access packages you may request");
    } else {
        say!(
            "Packages you may request:\n{}",
            table(&["PACKAGE", "DESCRIPTION"], &rows)
        );
    }
    let rows: Vec<Vec<String>> = assignments
        .iter()
        .map(|a| {
            vec![
                package_name(&known, &a["accessPackage"]["id"]),
                a["state"].as_str().unwrap_or("?").to_string(),
                when(&a["schedule"]["expiration"]["endDateTime"]),
                short_id(a["id"].as_str().unwrap_or("")),
            ]
        })
        .collect();
    if rows.is_empty() {
        say!("\nno access package assignments");
    } else {
        say!(
            "\nYour assignments:\n{}",
            table(&["PACKAGE", "STATE", "UNTIL", "ID"], &rows)
        );
    }
    Ok(())
}

/// Packages whose names the caller can know: those they may request and those of their
/// requests (a package no longer requestable keeps its name in the request's expansion).
async fn known_packages(em: &Em, requestable: &[Value]) -> Vec<Value> {
    let mut known = requestable.to_vec();
    if let Ok(requests) = em.my_requests().await {
        known.extend(requests.iter().map(|r| r["accessPackage"].clone()));
    }
    known
}

pub async fn request(em: &Em, a: RequestArgs) -> anyhow::Result<()> {
    let package = em.requestable_package(&a.package).await?;
    let id = package["id"].as_str().unwrap_or_default().to_string();
    let name = package["displayName"].as_str().unwrap_or(&id).to_string();
    let requirements = em
        .post(
            &format!("/accessPackages/{id}/getApplicablePolicyRequirements"),
            &json!({}),
        )
        .await?;
    let policies: Vec<Value> = requirements["value"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut r| {
            r["id"] = r["policyId"].clone();
            r["displayName"] = r["policyDisplayName"].clone();
            r
        })
        .collect();
    let policy = match (&a.policy, policies.as_slice()) {
        (Some(p), _) => named(&policies, p, "policy of this package")?,
        (None, [one]) => one.clone(),
        (None, []) => bail!("no policy of '{name}' lets you request it"),
        (None, many) => bail!(
            "'{name}' has several policies for you; choose one with --policy: {}",
            many.iter()
                .filter_map(|p| p["displayName"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut answers = Vec::new();
    for raw in &a.answer {
        let (q, value) = raw
            .split_once('=')
            .with_context(|| format!("--answer is QUESTION=VALUE (got '{raw}')"))?;
        let question = policy["questions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| {
                x["id"].as_str() == Some(q.trim())
                    || x["text"]
                        .as_str()
                        .is_some_and(|t| t.eq_ignore_ascii_case(q.trim()))
            })
            .with_context(|| format!("the policy asks no question '{q}' (its id or its text)"))?;
        answers.push(
            json!({ "@odata.type": "#microsoft.graph.accessPackageAnswerString",
                             "value": value, "answeredQuestion": { "id": question["id"] } }),
        );
    }
    let mut body = json!({
        "requestType": "userAdd",
        "assignment": { "accessPackageId": id, "assignmentPolicyId": policy["id"] },
    });
    if let Some(j) = &a.justification {
        body["justification"] = json!(j);
    }
    if !answers.is_empty() {
        body["answers"] = json!(answers);
    }
    if let Some(s) = schedule(a.start.as_deref(), a.end.as_deref(), a.duration.as_deref())? {
        body["schedule"] = s;
    }
    let r = em.post("/assignmentRequests", &body).await?;
    if a.json {
        print_json(&r);
        return Ok(());
    }
    say!("{}", outcome(em, &name, &r).await);
    Ok(())
}

/// A sentence for a request's state: delivered (until when), waiting, or what else.
async fn outcome(em: &Em, name: &str, r: &Value) -> String {
    let id = r["id"].as_str().unwrap_or("?");
    match r["state"].as_str() {
        Some("delivered") => {
            let end = match r["assignment"]["id"].as_str() {
                Some(aid) => em
                    .my_assignments()
                    .await
                    .ok()
                    .and_then(|all| all.into_iter().find(|a| a["id"].as_str() == Some(aid)))
                    .map(|a| when(&a["schedule"]["expiration"]["endDateTime"])),
                None => None,
            };
            match end {
                Some(end) => format!("{name}: delivered, until {end} (request {id})"),
                None => format!("{name}: delivered (request {id})"),
            }
        }
        Some("pendingApproval") => format!("{name}: waiting for approval (request {id})"),
        Some(other) => format!("{name}: {other} (request {id})"),
        None => format!("{name}: request {id}"),
    }
}

/// One of the caller's current assignments: by id (prefix), or the one of a package.
async fn my_assignment(em: &Em, what: &str) -> anyhow::Result<(Value, String)> {
    let mine: Vec<Value> = em
        .my_assignments()
        .await?
        .into_iter()
        .filter(current)
        .collect();
    let requestable = em.requestable().await.unwrap_or_default();
    let known = known_packages(em, &requestable).await;
    let of_package: Vec<&Value> = mine
        .iter()
        .filter(|a| {
            let p = &a["accessPackage"]["id"];
            p.as_str() == Some(what) || package_name(&known, p).eq_ignore_ascii_case(what)
        })
        .collect();
    let found = match of_package.as_slice() {
        [one] => (*one).clone(),
        [] => by_prefix(&mine, what, "assignment")
            .with_context(|| format!("you hold no access package '{what}' (eligo access list)"))?
            .clone(),
        _ => bail!("you hold '{what}' more than once; give the assignment's id"),
    };
    let name = package_name(&known, &found["accessPackage"]["id"]);
    Ok((found, name))
}

pub async fn remove(em: &Em, what: &str, json: bool) -> anyhow::Result<()> {
    let (a, name) = my_assignment(em, what).await?;
    let r = em
        .post(
            "/assignmentRequests",
            &json!({ "requestType": "userRemove", "assignment": { "id": a["id"] } }),
        )
        .await?;
    if json {
        print_json(&r);
    } else {
        say!(
            "{name}: removed, the access is gone ({} request {})",
            r["state"].as_str().unwrap_or("?"),
            r["id"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}

pub async fn extend(em: &Em, a: ExtendArgs) -> anyhow::Result<()> {
    let (assignment, name) = my_assignment(em, &a.what).await?;
    let mut body = json!({
        "requestType": "userUpdate",
        "assignment": { "id": assignment["id"], "accessPackageId": assignment["accessPackage"]["id"],
                        "assignmentPolicyId": assignment["assignmentPolicy"]["id"] },
    });
    if let Some(j) = &a.justification {
        body["justification"] = json!(j);
    }
    if let Some(s) = schedule(None, a.end.as_deref(), a.duration.as_deref())? {
        body["schedule"] = s;
    }
    let r = em.post("/assignmentRequests", &body).await?;
    if a.json {
        print_json(&r);
    } else {
        say!("{}", outcome(em, &name, &r).await);
    }
    Ok(())
}

pub async fn requests(em: &Em, json: bool) -> anyhow::Result<()> {
    let rows = em.my_requests().await?;
    if json {
        print_json(&json!({ "value": rows }));
        return Ok(());
    }
    if rows.is_empty() {
        say!("no access package requests");
        return Ok(());
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                short_id(r["id"].as_str().unwrap_or("")),
                r["accessPackage"]["displayName"]
                    .as_str()
                    .or(r["accessPackage"]["id"].as_str())
                    .unwrap_or("?")
                    .to_string(),
                r["requestType"].as_str().unwrap_or("?").to_string(),
                r["state"].as_str().unwrap_or("?").to_string(),
                when(&r["createdDateTime"]),
                r["justification"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    say!(
        "{}",
        table(
            &["ID", "PACKAGE", "TYPE", "STATE", "CREATED", "JUSTIFICATION"],
            &table_rows
        )
    );
    Ok(())
}

pub async fn cancel(em: &Em, id: &str, json: bool) -> anyhow::Result<()> {
    let rows = em.my_requests().await?;
    let r = by_prefix(&rows, id, "request")?;
    let rid = r["id"].as_str().unwrap_or_default();
    let answer = em
        .post(&format!("/assignmentRequests/{rid}/cancel"), &json!({}))
        .await?;
    if json {
        print_json(&answer);
    } else {
        say!(
            "request {rid} for {} canceled",
            r["accessPackage"]["displayName"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}
