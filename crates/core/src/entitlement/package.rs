//! Access packages: a named bundle of resource roles (at scopes) from one catalog, handed out
//! through its assignment policies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::read::{Fields, check_description, check_display_name};
use crate::invalid::Invalid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPackage {
    pub id: Uuid,
    pub catalog_id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    /// Left out of what a requestor is offered (a direct link still works).
    pub is_hidden: bool,
    pub created_date_time: DateTime<Utc>,
    pub modified_date_time: DateTime<Utc>,
}

const FIELDS: &[&str] = &[
    "id",
    "displayName",
    "description",
    "isHidden",
    "catalog",
    "catalogId",
    "createdDateTime",
    "modifiedDateTime",
];

/// The catalog a POST body names: `catalog: {id}` (v1.0) or `catalogId` (beta).
pub fn catalog_of(body: &Value) -> Result<Uuid, Invalid> {
    let raw = body
        .pointer("/catalog/id")
        .or_else(|| body.get("catalogId"))
        .ok_or_else(|| Invalid::new("MissingField", "catalog.id", "is required"))?;
    raw.as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Invalid::new("InvalidValue", "catalog.id", "must be a GUID"))
}

impl AccessPackage {
    pub fn create(
        id: Uuid,
        catalog_id: Uuid,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<Self, Vec<Invalid>> {
        let mut p = AccessPackage {
            id,
            catalog_id,
            display_name: String::new(),
            description: None,
            is_hidden: false,
            created_date_time: now,
            modified_date_time: now,
        };
        p.apply(body, true, now)?;
        Ok(p)
    }

    /// A PATCH: only the fields present change; the catalog cannot (Graph moves packages
    /// between catalogs with a PATCH of `catalog`, Eligo does not: their resources differ).
    pub fn update(&mut self, body: &Value, now: DateTime<Utc>) -> Result<(), Vec<Invalid>> {
        let mut next = self.clone();
        let mut problems = match next.apply(body, false, now) {
            Ok(()) => Vec::new(),
            Err(p) => p,
        };
        if body.get("catalog").is_some() || body.get("catalogId").is_some() {
            match catalog_of(body) {
                Ok(c) if c == self.catalog_id => {}
                _ => problems.push(Invalid::new(
                    "CatalogChangeNotSupported",
                    "catalog.id",
                    "a package stays in its catalog; create a new package in the other catalog",
                )),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        *self = next;
        Ok(())
    }

    fn apply(
        &mut self,
        body: &Value,
        creating: bool,
        now: DateTime<Utc>,
    ) -> Result<(), Vec<Invalid>> {
        let mut f = Fields::of(body, "");
        f.only(FIELDS);
        if (creating || f.has("displayName"))
            && let Some(name) = f.required::<String>("displayName")
        {
            check_display_name(&name, "displayName", &mut f.problems);
            self.display_name = name;
        }
        if f.has("description") {
            self.description = f.opt::<String>("description");
            if let Some(d) = &self.description {
                check_description(d, "description", &mut f.problems);
            }
        }
        if let Some(h) = f.opt("isHidden") {
            self.is_hidden = h;
        }
        self.modified_date_time = now;
        if f.problems.is_empty() {
            Ok(())
        } else {
            Err(f.problems)
        }
    }
}

/// A resource role at a scope, in a package. Graph's id is `{roleId}_{scopeId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRoleScope {
    pub package_id: Uuid,
    pub role_id: Uuid,
    pub scope_id: Uuid,
    pub created_date_time: DateTime<Utc>,
}

impl ResourceRoleScope {
    pub fn id(&self) -> String {
        format!("{}_{}", self.role_id, self.scope_id)
    }

    /// `{roleId}_{scopeId}` read back.
    pub fn parse_id(id: &str) -> Option<(Uuid, Uuid)> {
        let (role, scope) = id.split_once('_')?;
        Some((Uuid::parse_str(role).ok()?, Uuid::parse_str(scope).ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_names_its_catalog() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let c = Uuid::from_u128(9);
        let body = json!({"displayName": "Compliance Officer", "catalog": {"id": c}});
        assert_eq!(catalog_of(&body).unwrap(), c);
        assert_eq!(catalog_of(&json!({"catalogId": c})).unwrap(), c);
        assert!(catalog_of(&json!({})).is_err());
        let mut p = AccessPackage::create(Uuid::from_u128(1), c, &body, now).unwrap();
        assert!(!p.is_hidden);
        assert!(
            p.update(&json!({"catalog": {"id": Uuid::from_u128(10)}}), now)
                .is_err()
        );
        p.update(&json!({"isHidden": true, "catalog": {"id": c}}), now)
            .unwrap();
        assert!(p.is_hidden);
    }

    #[test]
    fn role_scope_ids() {
        let rs = ResourceRoleScope {
            package_id: Uuid::nil(),
            role_id: Uuid::from_u128(1),
            scope_id: Uuid::from_u128(2),
            created_date_time: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert_eq!(
            ResourceRoleScope::parse_id(&rs.id()),
            Some((rs.role_id, rs.scope_id))
        );
        assert_eq!(ResourceRoleScope::parse_id("nope"), None);
    }
}
