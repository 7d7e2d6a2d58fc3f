//! `eligo packages ...`: an administrator's access packages and catalogs.

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::lookup::{Em, named, package_name, schedule};
use super::{AssignArgs, CatalogsCommand, ConflictsArgs, CreateArgs, PackagesCommand};
use crate::cli::pim::text::{human_duration, print_json, short_id, table, when};

pub async fn run(em: &Em, command: PackagesCommand) -> anyhow::Result<()> {
    match command {
        PackagesCommand::List { catalog, json } => list(em, catalog.as_deref(), json).await,
        PackagesCommand::Show { package, json } => show(em, &package, json).await,
        PackagesCommand::Create(a) => create(em, a).await,
        PackagesCommand::Delete { package } => {
            let p = em.package(&package).await?;
            em.delete(&format!("/accessPackages/{}", id(&p))).await?;
            say!("access package {} deleted", name(&p));
            Ok(())
        }
        PackagesCommand::Catalogs { command } => catalogs(em, command).await,
        PackagesCommand::Assign(a) => assign(em, a).await,
        PackagesCommand::Unassign {
            package,
            user,
            json,
        } => unassign(em, &package, &user, json).await,
        PackagesCommand::Requests { package, json } => requests(em, &package, json).await,
        PackagesCommand::Conflicts(a) => conflicts(em, a).await,
    }
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap_or_default()
}

fn name(v: &Value) -> &str {
    v["displayName"].as_str().unwrap_or_else(|| id(v))
}

async fn list(em: &Em, catalog: Option<&str>, json: bool) -> anyhow::Result<()> {
    let catalogs = em.all("/catalogs").await?;
    let rows = match catalog {
        Some(c) => {
            let c = named(&catalogs, c, "catalog")?;
            em.all(&format!("/catalogs/{}/accessPackages", id(&c)))
                .await?
        }
        None => em.all("/accessPackages").await?,
    };
    if json {
        print_json(&json!({ "value": rows }));
        return Ok(());
    }
    if rows.is_empty() {
        say!("no access packages");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|p| {
            vec![
                name(p).to_string(),
                package_name(&catalogs, &p["catalog"]["id"]),
                id(p).to_string(),
            ]
        })
        .collect();
    say!("{}", table(&["PACKAGE", "CATALOG", "ID"], &rows));
    Ok(())
}

async fn show(em: &Em, package: &str, json: bool) -> anyhow::Result<()> {
    let p = em.package(package).await?;
    let pid = id(&p).to_string();
    let full = em
        .get(&format!(
            "/accessPackages/{pid}?$expand=resourceRoleScopes($expand=role,scope),assignmentPolicies"
        ))
        .await?;
    let incompatible = em
        .all(&format!("/accessPackages/{pid}/incompatibleAccessPackages"))
        .await?;
    let groups = em
        .all(&format!("/accessPackages/{pid}/incompatibleGroups"))
        .await?;
    if json {
        let mut v = full;
        v["incompatibleAccessPackages"] = json!(incompatible);
        v["incompatibleGroups"] = json!(groups);
        print_json(&v);
        return Ok(());
    }
    let catalogs = em.all("/catalogs").await.unwrap_or_default();
    say!("{} ({pid})", name(&full));
    if let Some(d) = full["description"].as_str().filter(|d| !d.is_empty()) {
        say!("  {d}");
    }
    say!(
        "catalog: {}",
        package_name(&catalogs, &full["catalog"]["id"])
    );
    say!("hands out:");
    for rs in full["resourceRoleScopes"].as_array().into_iter().flatten() {
        let role = &rs["role"];
        let origin = role["originId"].as_str().unwrap_or("");
        let target = origin.split_once('_').map(|(_, g)| g).unwrap_or(origin);
        let what = match role["originSystem"].as_str() {
            Some("AadGroup") => format!(
                "{} of group {}",
                role["displayName"].as_str().unwrap_or("?"),
                em_group_name(em, target).await
            ),
            _ => format!("{} ({origin})", role["displayName"].as_str().unwrap_or("?")),
        };
        say!("  - {what}");
    }
    say!("policies:");
    for pol in full["assignmentPolicies"].as_array().into_iter().flatten() {
        say!("  - {}", policy_line(pol));
    }
    let others: Vec<&str> = incompatible.iter().map(name).collect();
    let groups: Vec<&str> = groups.iter().map(name).collect();
    say!(
        "incompatible with: {}",
        if others.is_empty() && groups.is_empty() {
            "nothing".to_string()
        } else {
            others
                .iter()
                .map(|n| format!("package {n}"))
                .chain(groups.iter().map(|g| format!("group {g}")))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    Ok(())
}

async fn em_group_name(em: &Em, id: &str) -> String {
    match em.conn.get(&format!("/v1/groups/{id}")).await {
        Ok(g) => g["displayName"].as_str().unwrap_or(id).to_string(),
        Err(_) => id.to_string(),
    }
}

/// A policy in one line: who may ask, approval, justification, how long.
fn policy_line(p: &Value) -> String {
    let mut parts = vec![format!(
        "{}: {}",
        name(p),
        p["allowedTargetScope"].as_str().unwrap_or("?")
    )];
    let approval = &p["requestApprovalSettings"];
    if approval["isApprovalRequiredForAdd"] == true {
        let stages = approval["stages"].as_array().map_or(0, Vec::len);
        parts.push(format!("approval ({stages} stage(s))"));
    } else {
        parts.push("no approval".into());
    }
    if approval["isRequestorJustificationRequired"] == true {
        parts.push("justification required".into());
    }
    let e = &p["expiration"];
    parts.push(match e["type"].as_str() {
        Some("afterDuration") => format!(
            "ends after {}",
            human_duration(e["duration"].as_str().unwrap_or("?"))
        ),
        Some("afterDateTime") => format!("ends {}", when(&e["endDateTime"])),
        _ => "no end".into(),
    });
    parts.join(", ")
}

async fn create(em: &Em, a: CreateArgs) -> anyhow::Result<()> {
    let catalog = em.catalog(&a.catalog).await?;
    let cid = id(&catalog).to_string();
    let policy = match &a.policy_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some(
                serde_json::from_str::<Value>(&text)
                    .with_context(|| format!("{} is not JSON", path.display()))?,
            )
        }
        None => None,
    };
    let mut groups = Vec::new();
    for g in &a.group {
        groups.push(em.group_id(g).await?);
    }
    let mut body = json!({ "displayName": a.name, "catalog": { "id": cid } });
    if let Some(d) = &a.description {
        body["description"] = json!(d);
    }
    let p = em.post("/accessPackages", &body).await?;
    let pid = id(&p).to_string();
    for g in &groups {
        add_group_to_catalog(em, &cid, g).await?;
        em.post(
            &format!("/accessPackages/{pid}/resourceRoleScopes"),
            &json!({ "role": { "originId": format!("Member_{g}"), "originSystem": "AadGroup" },
                     "scope": { "originId": g, "originSystem": "AadGroup" } }),
        )
        .await?;
    }
    if let Some(mut policy) = policy {
        policy["accessPackage"] = json!({ "id": pid });
        em.post("/assignmentPolicies", &policy).await?;
    }
    if a.json {
        print_json(&p);
    } else {
        say!(
            "access package {} created in {} ({pid}){}",
            a.name,
            name(&catalog),
            if groups.is_empty() {
                String::new()
            } else {
                format!(", handing out membership of {} group(s)", groups.len())
            }
        );
    }
    Ok(())
}

/// Adds a group to a catalog; one already there is fine.
async fn add_group_to_catalog(em: &Em, catalog: &str, group: &str) -> anyhow::Result<()> {
    let answer = em
        .conn
        .send(
            reqwest::Method::POST,
            &format!("{}/resourceRequests", super::lookup::EM),
            Some(
                &json!({ "requestType": "adminAdd", "catalog": { "id": catalog },
                          "resource": { "originId": group, "originSystem": "AadGroup" } }),
            ),
        )
        .await?;
    match answer {
        Ok(_) => Ok(()),
        Err(r)
            if r.code == "ResourceAlreadyInCatalog" || r.has_detail("ResourceAlreadyInCatalog") =>
        {
            Ok(())
        }
        Err(r) => Err(r.into()),
    }
}

async fn catalogs(em: &Em, command: CatalogsCommand) -> anyhow::Result<()> {
    match command {
        CatalogsCommand::List { json } => {
            let rows = em.all("/catalogs").await?;
            if json {
                print_json(&json!({ "value": rows }));
            } else if rows.is_empty() {
                say!("no catalogs");
            } else {
                let rows: Vec<Vec<String>> = rows
                    .iter()
                    .map(|c| {
                        vec![
                            name(c).to_string(),
                            c["description"].as_str().unwrap_or("").to_string(),
                            id(c).to_string(),
                        ]
                    })
                    .collect();
                say!("{}", table(&["CATALOG", "DESCRIPTION", "ID"], &rows));
            }
        }
        CatalogsCommand::Create {
            name: n,
            description,
            json,
        } => {
            let mut body = json!({ "displayName": n });
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            let c = em.post("/catalogs", &body).await?;
            if json {
                print_json(&c);
            } else {
                say!("catalog {n} created ({})", id(&c));
            }
        }
        CatalogsCommand::Delete { catalog } => {
            let c = em.catalog(&catalog).await?;
            em.delete(&format!("/catalogs/{}", id(&c))).await?;
            say!("catalog {} deleted", name(&c));
        }
        CatalogsCommand::AddGroup { catalog, group } => {
            let c = em.catalog(&catalog).await?;
            let g = em.group_id(&group).await?;
            add_group_to_catalog(em, id(&c), &g).await?;
            say!("group {group} is in catalog {}", name(&c));
        }
    }
    Ok(())
}

/// The package's policy named by `policy`, or its only one.
async fn policy_of(em: &Em, package: &Value, policy: Option<&str>) -> anyhow::Result<Value> {
    let all = em
        .all(&format!(
            "/accessPackages/{}/assignmentPolicies",
            id(package)
        ))
        .await?;
    match (policy, all.as_slice()) {
        (Some(p), _) => named(&all, p, "policy of this package"),
        (None, [one]) => Ok(one.clone()),
        (None, []) => bail!("'{}' has no assignment policy", name(package)),
        (None, many) => bail!(
            "'{}' has several policies; choose one with --policy: {}",
            name(package),
            many.iter().map(name).collect::<Vec<_>>().join(", ")
        ),
    }
}

async fn assign(em: &Em, a: AssignArgs) -> anyhow::Result<()> {
    let p = em.package(&a.package).await?;
    let user = em.user_id(&a.user).await?;
    let policy = policy_of(em, &p, a.policy.as_deref()).await?;
    let mut body = json!({
        "requestType": "adminAdd",
        "assignment": { "accessPackageId": id(&p), "assignmentPolicyId": id(&policy), "targetId": user },
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
        say!(
            "{} assigned to {}: {} (request {})",
            name(&p),
            a.user,
            r["state"].as_str().unwrap_or("?"),
            id(&r)
        );
    }
    Ok(())
}

async fn unassign(em: &Em, package: &str, user: &str, json: bool) -> anyhow::Result<()> {
    let p = em.package(package).await?;
    let uid = em.user_id(user).await?;
    let filter = format!(
        "accessPackage/id eq '{}' and target/objectId eq '{uid}' and state eq 'delivered'",
        id(&p)
    );
    let found = em
        .all(&format!(
            "/assignments?$filter={}",
            crate::cli::net::encode(&filter)
        ))
        .await?;
    let Some(a) = found.first() else {
        bail!("{user} holds no assignment of {}", name(&p));
    };
    let r = em
        .post(
            "/assignmentRequests",
            &json!({ "requestType": "adminRemove", "assignment": { "id": id(a) } }),
        )
        .await?;
    if json {
        print_json(&r);
    } else {
        say!(
            "{}'s assignment of {} removed: {} (request {})",
            user,
            name(&p),
            r["state"].as_str().unwrap_or("?"),
            id(&r)
        );
    }
    Ok(())
}

async fn requests(em: &Em, package: &str, json: bool) -> anyhow::Result<()> {
    let p = em.package(package).await?;
    let rows: Vec<Value> = em
        .all("/assignmentRequests?$expand=requestor")
        .await?
        .into_iter()
        .filter(|r| r["accessPackage"]["id"].as_str() == Some(id(&p)))
        .collect();
    if json {
        print_json(&json!({ "value": rows }));
        return Ok(());
    }
    if rows.is_empty() {
        say!("no requests for {}", name(&p));
        return Ok(());
    }
    let mut out = Vec::new();
    for r in &rows {
        let target = r["target"]["id"].as_str().unwrap_or("?");
        out.push(vec![
            short_id(id(r)),
            upn_of(em, target).await,
            r["requestType"].as_str().unwrap_or("?").to_string(),
            r["state"].as_str().unwrap_or("?").to_string(),
            when(&r["createdDateTime"]),
            r["justification"].as_str().unwrap_or("").to_string(),
        ]);
    }
    say!(
        "{}",
        table(
            &["ID", "TARGET", "TYPE", "STATE", "CREATED", "JUSTIFICATION"],
            &out
        )
    );
    Ok(())
}

async fn upn_of(em: &Em, user: &str) -> String {
    match em.conn.get(&format!("/v1/users/{user}")).await {
        Ok(u) => u["userPrincipalName"].as_str().unwrap_or(user).to_string(),
        Err(_) => user.to_string(),
    }
}

async fn conflicts(em: &Em, a: ConflictsArgs) -> anyhow::Result<()> {
    let p = em.package(&a.package).await?;
    let pid = id(&p).to_string();
    if let Some(other) = &a.add {
        let o = em.package(other).await?;
        em.post(
            &format!("/accessPackages/{pid}/incompatibleAccessPackages/$ref"),
            &json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/identityGovernance/entitlementManagement/accessPackages/{}", id(&o)) }),
        )
        .await?;
        say!("{} and {} are now incompatible", name(&p), name(&o));
    }
    if let Some(other) = &a.remove {
        let o = em.package(other).await?;
        em.delete(&format!(
            "/accessPackages/{pid}/incompatibleAccessPackages/{}/$ref",
            id(&o)
        ))
        .await?;
        say!("{} and {} are no longer incompatible", name(&p), name(&o));
    }
    let packages = em
        .all(&format!("/accessPackages/{pid}/incompatibleAccessPackages"))
        .await?;
    let with = em
        .all(&format!(
            "/accessPackages/{pid}/accessPackagesIncompatibleWith"
        ))
        .await?;
    let groups = em
        .all(&format!("/accessPackages/{pid}/incompatibleGroups"))
        .await?;
    let report = em
        .all(&format!("/accessPackages/{pid}/incompatibilityReport"))
        .await?;
    if a.json {
        print_json(&json!({ "incompatibleAccessPackages": packages,
            "accessPackagesIncompatibleWith": with, "incompatibleGroups": groups,
            "incompatibilityReport": report }));
        return Ok(());
    }
    let mut rules: Vec<Vec<String>> = Vec::new();
    for x in &packages {
        rules.push(vec![
            "package".into(),
            name(x).into(),
            "declared here".into(),
        ]);
    }
    for x in &with {
        rules.push(vec![
            "package".into(),
            name(x).into(),
            "declared there".into(),
        ]);
    }
    for x in &groups {
        rules.push(vec!["group".into(), name(x).into(), "declared here".into()]);
    }
    if rules.is_empty() {
        say!("{} is incompatible with nothing", name(&p));
    } else {
        say!(
            "{} is incompatible with:\n{}",
            name(&p),
            table(&["KIND", "NAME", "RULE"], &rules)
        );
    }
    if report.is_empty() {
        say!("nobody holds it together with something incompatible");
    } else {
        let rows: Vec<Vec<String>> = report
            .iter()
            .map(|r| {
                vec![
                    r["principal"]["userPrincipalName"]
                        .as_str()
                        .or(r["principal"]["displayName"].as_str())
                        .unwrap_or("?")
                        .to_string(),
                    format!(
                        "{} {}",
                        r["conflictsWith"]["kind"].as_str().unwrap_or(""),
                        r["conflictsWith"]["displayName"].as_str().unwrap_or("?")
                    ),
                ]
            })
            .collect();
        say!(
            "held together with something incompatible (granted before the rule):\n{}",
            table(&["WHO", "ALSO HOLDS"], &rows)
        );
    }
    Ok(())
}
