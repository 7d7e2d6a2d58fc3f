//! What a self action is about, and where its request goes: a role at a scope, or a group's
//! membership or ownership (PIM for Groups), each named as `eligo roles` names it. Request and
//! approval ids are taken whole or by a unique prefix of the caller's own.

use anyhow::bail;
use serde_json::{Value, json};

use super::http::{
    ASSIGNMENT_REQUESTS, GROUP_APPROVALS, GROUP_ASSIGNMENT_REQUESTS, Pim, ROLE_APPROVALS, Role,
    encode, is_id, quoted,
};

/// A role at a directory scope, or an access to a group.
pub enum Target {
    Role {
        role: Role,
        scope: String,
    },
    Group {
        id: String,
        name: String,
        access: String,
    },
}

impl Target {
    /// From what people typed: a role (name or id) at a scope, or `--group` (name or id, as
    /// `eligo roles` lists it) with `--access member|owner`.
    pub async fn resolve(
        pim: &Pim,
        role: Option<&str>,
        group: Option<&str>,
        access: &str,
        scope: &str,
    ) -> anyhow::Result<Self> {
        match (role, group) {
            (Some(role), None) => Ok(Self::Role {
                role: pim.role(role).await?,
                scope: scope.to_string(),
            }),
            (None, Some(group)) => {
                let (id, name) = my_group(pim, group).await?;
                Ok(Self::Group {
                    id,
                    name,
                    access: access.to_string(),
                })
            }
            // clap's argument group makes it exactly one.
            _ => bail!("give either a role or --group"),
        }
    }

    /// `Helpdesk Administrator`, `member of group Compliance Portal Admins`.
    pub fn label(&self) -> String {
        match self {
            Self::Role { role, .. } => role.name.clone(),
            Self::Group { name, access, .. } => format!("{access} of group {name}"),
        }
    }

    /// Where its assignment requests go.
    pub fn requests(&self) -> &'static str {
        Family::of_target(self).requests()
    }

    /// The body of a self action (`selfActivate`, ...) by `principal`.
    pub fn body(&self, action: &str, principal: &str) -> Value {
        let mut body = json!({ "action": action, "principalId": principal });
        match self {
            Self::Role { role, scope } => {
                body["roleDefinitionId"] = json!(role.id);
                body["directoryScopeId"] = json!(scope);
            }
            Self::Group { id, access, .. } => {
                body["groupId"] = json!(id);
                body["accessId"] = json!(access);
            }
        }
        body
    }
}

/// A group among the caller's own group accesses (`GET /v1/me/roles`, which anyone may read),
/// by id or display name (any case); else, by name, from the directory.
async fn my_group(pim: &Pim, group: &str) -> anyhow::Result<(String, String)> {
    let mine = pim.get("/v1/me/roles").await?;
    let mut found: Vec<(String, String)> = Vec::new();
    for r in mine["value"].as_array().into_iter().flatten() {
        let (Some(id), Some(_)) = (r["groupId"].as_str(), r["accessId"].as_str()) else {
            continue;
        };
        let name = r["groupDisplayName"].as_str().unwrap_or(id);
        if (id.eq_ignore_ascii_case(group) || name.eq_ignore_ascii_case(group))
            && !found.iter().any(|(known, _)| known == id)
        {
            found.push((id.to_string(), name.to_string()));
        }
    }
    match found.len() {
        1 => return Ok(found.remove(0)),
        0 => {}
        _ => {
            let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
            bail!(
                "several of your groups are named '{group}': give the group's id ({})",
                ids.join(", ")
            )
        }
    }
    if is_id(group) {
        // Not one of yours: the server says what is wrong with it.
        return Ok((group.to_string(), group.to_string()));
    }
    let filter = format!("displayName eq {}", quoted(group));
    let path = format!("/v1/groups?$filter={}", encode(&filter));
    if let Ok(Ok(found)) = pim.send(reqwest::Method::GET, &path, None).await
        && let Some(id) = found["value"].get(0).and_then(|g| g["id"].as_str())
    {
        return Ok((id.to_string(), group.to_string()));
    }
    bail!(
        "no group '{group}' among your group accesses (eligo roles lists them; a group's name or id both work)"
    )
}

/// Roles' or groups' half of the PIM API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Roles,
    Groups,
}

impl Family {
    /// The family of a request or approval as the server shaped it (groups name `groupId`).
    pub fn of(v: &Value) -> Self {
        if v["groupId"].is_string() {
            Self::Groups
        } else {
            Self::Roles
        }
    }

    fn of_target(t: &Target) -> Self {
        match t {
            Target::Role { .. } => Self::Roles,
            Target::Group { .. } => Self::Groups,
        }
    }

    pub fn requests(self) -> &'static str {
        match self {
            Self::Roles => ASSIGNMENT_REQUESTS,
            Self::Groups => GROUP_ASSIGNMENT_REQUESTS,
        }
    }

    pub fn approvals(self) -> &'static str {
        match self {
            Self::Roles => ROLE_APPROVALS,
            Self::Groups => GROUP_APPROVALS,
        }
    }
}

/// The one row whose `id` starts with `given` (any case): a whole id or a prefix of one, as
/// the tables show them. None is an error that says so of `what` and where to look (`hint`);
/// several is an error that lists them, each with `describe`.
pub fn pick<'a>(
    given: &str,
    rows: &'a [Value],
    what: &str,
    hint: &str,
    describe: impl Fn(&Value) -> String,
) -> anyhow::Result<&'a Value> {
    let prefix = given.trim().to_ascii_lowercase();
    if prefix.is_empty() {
        bail!("give an id ({hint})");
    }
    let matching: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["id"]
                .as_str()
                .is_some_and(|id| id.to_ascii_lowercase().starts_with(&prefix))
        })
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => bail!("{what} has an id starting with '{given}' ({hint})"),
        several => {
            let lines: Vec<String> = several
                .iter()
                .map(|r| format!("  {}  {}", r["id"].as_str().unwrap_or("?"), describe(r)))
                .collect();
            bail!(
                "'{given}' is the start of {} ids; give more of the one you mean:\n{}",
                several.len(),
                lines.join("\n")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_by_unique_prefix() {
        let rows = vec![
            json!({"id": "ab12cd34-0000-0000-0000-000000000001", "status": "Denied"}),
            json!({"id": "ab12ef56-0000-0000-0000-000000000002", "status": "Granted"}),
            json!({"id": "ffee0000-0000-0000-0000-000000000003", "status": "Canceled"}),
        ];
        let status = |r: &Value| r["status"].as_str().unwrap().to_string();
        let hint = "eligo requests lists them";
        let what = "no request of yours";
        let one = pick("AB12CD", &rows, what, hint, status).unwrap();
        assert_eq!(one["status"], "Denied");
        let whole = pick(
            "ffee0000-0000-0000-0000-000000000003",
            &rows,
            what,
            hint,
            status,
        );
        assert_eq!(whole.unwrap()["status"], "Canceled");
        let several = pick("ab12", &rows, what, hint, status)
            .unwrap_err()
            .to_string();
        assert!(
            several.contains("'ab12' is the start of 2 ids")
                && several.contains("ab12cd34-0000-0000-0000-000000000001  Denied")
                && several.contains("ab12ef56-0000-0000-0000-000000000002  Granted"),
            "{several}"
        );
        let none = pick("0123", &rows, what, hint, status)
            .unwrap_err()
            .to_string();
        assert_eq!(
            none,
            "no request of yours has an id starting with '0123' (eligo requests lists them)"
        );
        assert!(pick(" ", &rows, what, hint, status).is_err());
    }

    #[test]
    fn families_by_shape() {
        assert_eq!(
            Family::of(&json!({"groupId": "g", "accessId": "member"})),
            Family::Groups
        );
        assert_eq!(Family::of(&json!({"roleDefinitionId": "r"})), Family::Roles);
        assert_eq!(Family::Groups.requests(), GROUP_ASSIGNMENT_REQUESTS);
        assert_eq!(Family::Roles.approvals(), ROLE_APPROVALS);
    }
}
