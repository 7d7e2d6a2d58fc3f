//! The PIM commands' view of the server: calls that keep the server's error (code, message and
//! every detail) instead of flattening it, and the lookups that turn what people type (a role's
//! name, a UPN, a group's name) into ids.

use anyhow::{Context, bail};
use serde_json::Value;

use crate::cli::net::Conn;
pub use crate::cli::net::{Refusal, encode};

/// Where every role request goes.
pub const ASSIGNMENT_REQUESTS: &str = "/v1/roleManagement/directory/roleAssignmentScheduleRequests";
pub const ELIGIBILITY_REQUESTS: &str =
    "/v1/roleManagement/directory/roleEligibilityScheduleRequests";
/// Where requests for a group's membership or ownership go (PIM for Groups).
pub const GROUP_ASSIGNMENT_REQUESTS: &str =
    "/v1/identityGovernance/privilegedAccess/group/assignmentScheduleRequests";
pub const ROLE_APPROVALS: &str = "/v1/roleManagement/directory/roleAssignmentApprovals";
pub const GROUP_APPROVALS: &str =
    "/v1/identityGovernance/privilegedAccess/group/assignmentApprovals";

/// A signed-in client (the session `eligo login` saved).
pub struct Pim {
    conn: Conn,
}

/// A quoted OData string literal.
pub fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn is_id(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

impl Pim {
    pub fn open() -> anyhow::Result<Self> {
        Ok(Self {
            conn: Conn::signed_in()?,
        })
    }

    /// One call; `Err` only for transport failures, the server's refusals are `Ok(Err(..))`.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Result<Value, Refusal>> {
        self.conn.send(method, path, body).await
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        Ok(self.send(method, path, body).await??)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Every row of a paged collection, following `@odata.nextLink`.
    pub async fn all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        self.conn.all(path).await
    }

    /// The signed-in principal (`GET /v1/me`).
    pub async fn me(&self) -> anyhow::Result<Value> {
        self.get("/v1/me").await
    }

    /// A role definition from its id or its display name (case-insensitive when unambiguous).
    pub async fn role(&self, role: &str) -> anyhow::Result<Role> {
        if is_id(role) {
            let v = self
                .get(&format!(
                    "/v1/roleManagement/directory/roleDefinitions/{role}"
                ))
                .await?;
            return Ok(Role::from(&v));
        }
        let filter = format!("displayName eq {}", quoted(role));
        let found = self
            .get(&format!(
                "/v1/roleManagement/directory/roleDefinitions?$filter={}",
                encode(&filter)
            ))
            .await?;
        if let Some(v) = found["value"].get(0) {
            return Ok(Role::from(v));
        }
        let all = self.roles().await?;
        let matching: Vec<&Role> = all
            .iter()
            .filter(|r| r.name.eq_ignore_ascii_case(role))
            .collect();
        match matching.as_slice() {
            [one] => Ok((*one).clone()),
            [] => bail!("no role named '{role}' (eligo roles lists yours; names or ids both work)"),
            _ => bail!("several roles are named '{role}'; give the role's id"),
        }
    }

    /// Every role definition.
    pub async fn roles(&self) -> anyhow::Result<Vec<Role>> {
        let all = self
            .get("/v1/roleManagement/directory/roleDefinitions")
            .await?;
        Ok(all["value"]
            .as_array()
            .into_iter()
            .flatten()
            .map(Role::from)
            .collect())
    }

    /// A user id from an id or a userPrincipalName.
    pub async fn user_id(&self, user: &str) -> anyhow::Result<String> {
        if is_id(user) {
            return Ok(user.to_string());
        }
        self.find_user(user)
            .await?
            .with_context(|| format!("no user {user}"))
    }

    async fn find_user(&self, upn: &str) -> anyhow::Result<Option<String>> {
        let filter = format!("userPrincipalName eq {}", quoted(upn));
        let found = self
            .get(&format!("/v1/users?$filter={}", encode(&filter)))
            .await?;
        Ok(first_id(&found))
    }

    /// A principal for people: a user's UPN, a group's or service principal's display name, or
    /// the id when the caller may not read it.
    pub async fn principal_name(&self, id: &str) -> String {
        for (collection, field) in [
            ("users", "userPrincipalName"),
            ("groups", "displayName"),
            ("servicePrincipals", "displayName"),
        ] {
            let path = format!("/v1/{collection}/{}", encode(id));
            if let Ok(Ok(found)) = self.send(reqwest::Method::GET, &path, None).await
                && let Some(name) = found[field].as_str()
            {
                return name.to_string();
            }
        }
        id.to_string()
    }

    /// A group id from a display name.
    pub async fn group_id(&self, name: &str) -> anyhow::Result<String> {
        self.find_group(name)
            .await?
            .with_context(|| format!("no group named {name}"))
    }

    /// A group's display name, or its id when the caller may not read it.
    pub async fn group_name(&self, id: &str) -> String {
        let path = format!("/v1/groups/{}", encode(id));
        match self.send(reqwest::Method::GET, &path, None).await {
            Ok(Ok(g)) => g["displayName"].as_str().unwrap_or(id).to_string(),
            _ => id.to_string(),
        }
    }

    pub async fn find_group(&self, name: &str) -> anyhow::Result<Option<String>> {
        let filter = format!("displayName eq {}", quoted(name));
        let found = self
            .get(&format!("/v1/groups?$filter={}", encode(&filter)))
            .await?;
        Ok(first_id(&found))
    }

    async fn find_service_principal(&self, name: &str) -> anyhow::Result<Option<String>> {
        let all = match self
            .send(reqwest::Method::GET, "/v1/servicePrincipals", None)
            .await?
        {
            Ok(first) => first,
            // Someone who may not list service principals can still name users and groups.
            Err(r) if r.status == 403 => return Ok(None),
            Err(r) => return Err(r.into()),
        };
        let mut rows: Vec<Value> = all["value"].as_array().cloned().unwrap_or_default();
        if let Some(next) = all["@odata.nextLink"].as_str() {
            rows.extend(self.all(next).await?);
        }
        let matching: Vec<&Value> = rows
            .iter()
            .filter(|sp| sp["displayName"].as_str() == Some(name))
            .collect();
        match matching.as_slice() {
            [] => Ok(None),
            [one] => Ok(one["id"].as_str().map(String::from)),
            _ => bail!("several service principals are named '{name}'; give the id"),
        }
    }

    /// A principal id from an id, a userPrincipalName, a group's display name or a service
    /// principal's display name.
    pub async fn principal_id(&self, principal: &str) -> anyhow::Result<String> {
        if is_id(principal) {
            return Ok(principal.to_string());
        }
        if principal.contains('@')
            && let Some(id) = self.find_user(principal).await?
        {
            return Ok(id);
        }
        let group = self.find_group(principal).await?;
        let sp = self.find_service_principal(principal).await?;
        match (group, sp) {
            (Some(g), None) => Ok(g),
            (None, Some(s)) => Ok(s),
            (Some(_), Some(_)) => {
                bail!("'{principal}' names both a group and a service principal; give the id")
            }
            (None, None) => bail!(
                "no user, group or service principal '{principal}' (a UPN, a display name or an id)"
            ),
        }
    }
}

fn first_id(collection: &Value) -> Option<String> {
    collection["value"].get(0)?["id"].as_str().map(String::from)
}

#[derive(Clone, Debug)]
pub struct Role {
    pub id: String,
    pub name: String,
}

impl From<&Value> for Role {
    fn from(v: &Value) -> Self {
        Self {
            id: v["id"].as_str().unwrap_or_default().to_string(),
            name: v["displayName"].as_str().unwrap_or_default().to_string(),
        }
    }
}
