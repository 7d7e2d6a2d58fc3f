//! The packages commands' view of the server: calls that keep the server's refusal whole, and
//! the lookups that turn what people type (a package's or catalog's name, a UPN, an id prefix)
//! into ids.

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::cli::net::{Conn, encode};
use crate::cli::pim::text;

pub const EM: &str = "/v1/identityGovernance/entitlementManagement";

pub struct Em {
    pub conn: Conn,
}

impl Em {
    pub fn open() -> anyhow::Result<Self> {
        Ok(Self {
            conn: Conn::signed_in()?,
        })
    }

    /// `path` under entitlementManagement.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.conn.get(&format!("{EM}{path}")).await
    }

    pub async fn all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        self.conn.all(&format!("{EM}{path}")).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.conn.post(&format!("{EM}{path}"), body).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.conn
            .call(reqwest::Method::DELETE, &format!("{EM}{path}"), None)
            .await
    }

    /// The packages the caller may request (any signed-in person may ask).
    pub async fn requestable(&self) -> anyhow::Result<Vec<Value>> {
        self.all("/accessPackages/filterByCurrentUser(on='allowedRequestor')")
            .await
    }

    /// A package the caller may request, by display name or id.
    pub async fn requestable_package(&self, name: &str) -> anyhow::Result<Value> {
        let rows = self.requestable().await?;
        named(&rows, name, "access package you may request")
            .context("eligo access list shows the packages you may request")
    }

    /// Any package, by display name or id (an administrator's lookup).
    pub async fn package(&self, name: &str) -> anyhow::Result<Value> {
        let rows = self.all("/accessPackages").await?;
        named(&rows, name, "access package")
    }

    pub async fn catalog(&self, name: &str) -> anyhow::Result<Value> {
        let rows = self.all("/catalogs").await?;
        named(&rows, name, "catalog")
    }

    /// The caller's assignments (every state the server keeps).
    pub async fn my_assignments(&self) -> anyhow::Result<Vec<Value>> {
        self.all("/assignments/filterByCurrentUser(on='target')")
            .await
    }

    /// The caller's requests, newest first, each `accessPackage` with its displayName (from
    /// the packages they may request, else the request read with `$expand=accessPackage`).
    pub async fn my_requests(&self) -> anyhow::Result<Vec<Value>> {
        let mut rows = self
            .all("/assignmentRequests/filterByCurrentUser(on='target')")
            .await?;
        let mut known = self.requestable().await.unwrap_or_default();
        for r in rows.iter_mut() {
            let pid = r["accessPackage"]["id"].clone();
            if let Some(p) = known.iter().find(|p| p["id"] == pid) {
                r["accessPackage"] = p.clone();
                continue;
            }
            let path = format!(
                "/assignmentRequests/{}?$expand=accessPackage",
                r["id"].as_str().unwrap_or_default()
            );
            if let Ok(full) = self.get(&path).await
                && full["accessPackage"]["displayName"].is_string()
            {
                known.push(full["accessPackage"].clone());
                r["accessPackage"] = full["accessPackage"].clone();
            }
        }
        Ok(rows)
    }

    /// A user id from an id or a userPrincipalName.
    pub async fn user_id(&self, user: &str) -> anyhow::Result<String> {
        if uuid::Uuid::parse_str(user).is_ok() {
            return Ok(user.to_string());
        }
        let filter = format!("userPrincipalName eq '{}'", user.replace('\'', "''"));
        let found = self
            .conn
            .get(&format!("/v1/users?$filter={}", encode(&filter)))
            .await?;
        found["value"][0]["id"]
            .as_str()
            .map(String::from)
            .with_context(|| format!("no user {user} (a UPN or an id)"))
    }

    /// A group id from an id or a display name.
    pub async fn group_id(&self, group: &str) -> anyhow::Result<String> {
        if uuid::Uuid::parse_str(group).is_ok() {
            return Ok(group.to_string());
        }
        let filter = format!("displayName eq '{}'", group.replace('\'', "''"));
        let found = self
            .conn
            .get(&format!("/v1/groups?$filter={}", encode(&filter)))
            .await?;
        found["value"][0]["id"]
            .as_str()
            .map(String::from)
            .with_context(|| format!("no group named {group}"))
    }
}

/// The row whose id is `name`, or whose displayName is `name` (any case, when unambiguous).
pub fn named(rows: &[Value], name: &str, what: &str) -> anyhow::Result<Value> {
    if let Some(r) = rows.iter().find(|r| r["id"].as_str() == Some(name)) {
        return Ok(r.clone());
    }
    let exact: Vec<&Value> = rows
        .iter()
        .filter(|r| r["displayName"].as_str() == Some(name))
        .collect();
    let matching: Vec<&Value> = if exact.is_empty() {
        rows.iter()
            .filter(|r| {
                r["displayName"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .collect()
    } else {
        exact
    };
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("no {what} named '{name}' (a display name or an id)"),
        _ => bail!("several {what}s are named '{name}'; give the id"),
    }
}

/// The row whose id starts with `prefix` (as the tables show the first 8 characters).
pub fn by_prefix<'a>(rows: &'a [Value], prefix: &str, what: &str) -> anyhow::Result<&'a Value> {
    let p = prefix.trim().to_ascii_lowercase();
    if p.is_empty() {
        bail!("give the {what}'s id or the start of it");
    }
    let matching: Vec<&Value> = rows
        .iter()
        .filter(|r| r["id"].as_str().is_some_and(|id| id.starts_with(&p)))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => bail!("no {what} of yours has an id starting with '{prefix}'"),
        many => bail!(
            "'{prefix}' is the start of several {what} ids: {}",
            many.iter()
                .filter_map(|r| r["id"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The `schedule` of a request from what was typed; None leaves it to the policy.
pub fn schedule(
    start: Option<&str>,
    end: Option<&str>,
    duration: Option<&str>,
) -> anyhow::Result<Option<Value>> {
    let mut s = serde_json::Map::new();
    if let Some(start) = start {
        s.insert(
            "startDateTime".into(),
            json!(text::instant(start, "--start")?),
        );
    }
    if let Some(end) = end {
        s.insert(
            "expiration".into(),
            json!({ "type": "afterDateTime", "endDateTime": text::instant(end, "--end")? }),
        );
    } else if let Some(d) = duration {
        s.insert(
            "expiration".into(),
            json!({ "type": "afterDuration", "duration": text::duration(d)? }),
        );
    }
    Ok((!s.is_empty()).then_some(Value::Object(s)))
}

/// A package's name from a list of packages, or its id.
pub fn package_name(packages: &[Value], id: &Value) -> String {
    packages
        .iter()
        .find(|p| &p["id"] == id)
        .and_then(|p| p["displayName"].as_str())
        .or(id.as_str())
        .unwrap_or("?")
        .to_string()
}
