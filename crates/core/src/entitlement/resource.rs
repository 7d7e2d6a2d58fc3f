//! Resources in a catalog and their roles and scopes. A group enters with the roles `Member`
//! and `Owner`; **Eligo**: a directory role enters with `Eligible` and `Active`, so a package
//! can hand out PIM eligibility (or an active assignment) for a role. Each resource has one
//! root scope (a group as a whole; a role at the directory root).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::read::graph_enum;

graph_enum! {
    /// Where a resource comes from.
    pub enum OriginSystem {
        AadGroup = "AadGroup",
        /// Eligo: a directory role definition.
        DirectoryRole = "DirectoryRole",
    }
}

impl OriginSystem {
    /// The roles a resource of this kind offers, as Graph names them.
    pub fn role_names(self) -> [&'static str; 2] {
        match self {
            OriginSystem::AadGroup => ["Member", "Owner"],
            OriginSystem::DirectoryRole => ["Eligible", "Active"],
        }
    }

    /// The origin id of a resource's root scope: the group itself; the directory root for a
    /// role.
    pub fn root_scope_origin(self, resource_origin_id: &str) -> String {
        match self {
            OriginSystem::AadGroup => resource_origin_id.to_string(),
            OriginSystem::DirectoryRole => "/".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub id: Uuid,
    pub catalog_id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    /// The group's or the role definition's id.
    pub origin_id: String,
    pub origin_system: OriginSystem,
    pub created_date_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRole {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub catalog_id: Uuid,
    /// `Member`, `Owner`, `Eligible` or `Active`.
    pub display_name: String,
    /// `{displayName}_{resource originId}`, e.g. `Member_{groupId}`.
    pub origin_id: String,
    pub origin_system: OriginSystem,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceScope {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub origin_id: String,
    pub origin_system: OriginSystem,
    pub is_root_scope: bool,
}

/// A resource as it enters a catalog, with its roles and root scope; the ids are fresh ones
/// the caller draws (`ids` yields as many as needed: the resource, each role, the scope).
#[derive(Debug, Clone, PartialEq)]
pub struct NewResource {
    pub resource: Resource,
    pub roles: Vec<ResourceRole>,
    pub scope: ResourceScope,
}

impl NewResource {
    pub fn of(
        catalog_id: Uuid,
        origin_system: OriginSystem,
        origin_id: &str,
        display_name: &str,
        description: Option<String>,
        now: DateTime<Utc>,
        mut ids: impl FnMut() -> Uuid,
    ) -> Self {
        let resource = Resource {
            id: ids(),
            catalog_id,
            display_name: display_name.to_string(),
            description,
            origin_id: origin_id.to_string(),
            origin_system,
            created_date_time: now,
        };
        let roles = origin_system
            .role_names()
            .iter()
            .map(|name| ResourceRole {
                id: ids(),
                resource_id: resource.id,
                catalog_id,
                display_name: name.to_string(),
                origin_id: format!("{name}_{origin_id}"),
                origin_system,
            })
            .collect();
        let scope = ResourceScope {
            id: ids(),
            resource_id: resource.id,
            origin_id: origin_system.root_scope_origin(origin_id),
            origin_system,
            is_root_scope: true,
        };
        Self {
            resource,
            roles,
            scope,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_brings_member_and_owner() {
        let mut n = 0u128;
        let group = "0b3c5a4e-9a8b-4b7c-8a3e-1f2d3c4b5a69";
        let r = NewResource::of(
            Uuid::from_u128(100),
            OriginSystem::parse("aadgroup").unwrap(),
            group,
            "Insider Risk Management Admins",
            None,
            DateTime::<Utc>::UNIX_EPOCH,
            || {
                n += 1;
                Uuid::from_u128(n)
            },
        );
        let origins: Vec<_> = r.roles.iter().map(|r| r.origin_id.as_str()).collect();
        assert_eq!(
            origins,
            [format!("Member_{group}"), format!("Owner_{group}")]
        );
        assert_eq!(r.scope.origin_id, group);
        assert!(r.scope.is_root_scope);
        let ids = [r.resource.id, r.roles[0].id, r.roles[1].id, r.scope.id];
        assert_eq!(
            ids.iter().collect::<std::collections::BTreeSet<_>>().len(),
            4
        );
    }

    #[test]
    fn a_role_brings_eligible_and_active() {
        assert_eq!(
            OriginSystem::DirectoryRole.role_names(),
            ["Eligible", "Active"]
        );
        assert_eq!(OriginSystem::DirectoryRole.root_scope_origin("x"), "/");
    }
}
