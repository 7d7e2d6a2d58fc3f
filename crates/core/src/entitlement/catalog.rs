//! Catalogs: containers of resources and access packages, administered together.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::read::{Fields, check_description, check_display_name, graph_enum};
use crate::invalid::Invalid;

graph_enum! {
    /// Graph's `accessPackageCatalogType`; administrators make `userManaged` ones only.
    pub enum CatalogType {
        UserManaged = "userManaged",
        ServiceDefault = "serviceDefault",
        ServiceManaged = "serviceManaged",
    }
}

graph_enum! {
    /// A catalog's packages can be requested only while it is published.
    pub enum CatalogState {
        Unpublished = "unpublished",
        Published = "published",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    pub id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub catalog_type: CatalogType,
    pub state: CatalogState,
    pub is_externally_visible: bool,
    pub created_date_time: DateTime<Utc>,
    pub modified_date_time: DateTime<Utc>,
}

const FIELDS: &[&str] = &[
    "id",
    "displayName",
    "description",
    "catalogType",
    "state",
    "isExternallyVisible",
    "createdDateTime",
    "modifiedDateTime",
];

impl Catalog {
    /// A new catalog from a POST body: published unless it says otherwise (as Graph).
    pub fn create(id: Uuid, body: &Value, now: DateTime<Utc>) -> Result<Self, Vec<Invalid>> {
        let mut c = Catalog {
            id,
            display_name: String::new(),
            description: None,
            catalog_type: CatalogType::UserManaged,
            state: CatalogState::Published,
            is_externally_visible: false,
            created_date_time: now,
            modified_date_time: now,
        };
        c.apply(body, true, now)?;
        Ok(c)
    }

    /// A PATCH: only the fields present change; on any problem nothing does.
    pub fn update(&mut self, body: &Value, now: DateTime<Utc>) -> Result<(), Vec<Invalid>> {
        let mut next = self.clone();
        next.apply(body, false, now)?;
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
        let name = if creating || f.has("displayName") {
            f.required::<String>("displayName")
        } else {
            None
        };
        if let Some(name) = name {
            check_display_name(&name, "displayName", &mut f.problems);
            self.display_name = name;
        }
        if f.has("description") {
            self.description = f.opt::<String>("description");
            if let Some(d) = &self.description {
                check_description(d, "description", &mut f.problems);
            }
        }
        if let Some(t) = f.opt::<CatalogType>("catalogType")
            && t != CatalogType::UserManaged
        {
            f.push(
                "InvalidCatalogType",
                "catalogType",
                "administrators make userManaged catalogs only",
            );
        }
        if let Some(state) = f.opt("state") {
            self.state = state;
        }
        if let Some(v) = f.opt("isExternallyVisible") {
            self.is_externally_visible = v;
        }
        self.modified_date_time = now;
        if f.problems.is_empty() {
            Ok(())
        } else {
            Err(f.problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_and_patch() {
        let now = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let mut c = Catalog::create(
            Uuid::from_u128(1),
            &json!({"displayName": "Compliance", "state": "Unpublished", "@odata.type": "#microsoft.graph.accessPackageCatalog"}),
            now,
        )
        .unwrap();
        assert_eq!(c.state, CatalogState::Unpublished);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["state"], "unpublished");
        assert_eq!(v["catalogType"], "userManaged");

        let before = c.clone();
        let err = c
            .update(
                &json!({"displayName": " ", "state": "open", "colour": 1}),
                now,
            )
            .unwrap_err();
        let codes: Vec<_> = err.iter().map(|i| i.target.as_str()).collect();
        assert_eq!(codes, ["colour", "displayName", "state"]);
        assert_eq!(c, before, "nothing changes on a problem");
        c.update(&json!({"description": "Insider risk"}), now)
            .unwrap();
        assert_eq!(c.description.as_deref(), Some("Insider risk"));
        assert!(Catalog::create(Uuid::nil(), &json!({}), now).is_err());
    }
}
