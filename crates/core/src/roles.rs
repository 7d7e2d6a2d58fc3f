//! Role definitions: the built-in directory roles (with Microsoft's template ids, so scripts
//! written for Entra work unchanged) and custom roles made of resource actions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authz::actions;
use crate::invalid::Invalid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolePermission {
    pub allowed_resource_actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    pub id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub is_built_in: bool,
    pub is_enabled: bool,
    pub template_id: Option<Uuid>,
    pub role_permissions: Vec<RolePermission>,
    pub created_date_time: Option<DateTime<Utc>>,
}

impl RoleDefinition {
    /// Every resource action this role allows (patterns may hold `*`).
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.role_permissions
            .iter()
            .flat_map(|p| p.allowed_resource_actions.iter().map(String::as_str))
    }
}

pub mod ids {
    pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
    pub const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
    pub const PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: &str =
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13";
    pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
    pub const GROUPS_ADMINISTRATOR: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
    pub const HELPDESK_ADMINISTRATOR: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
    pub const EXCHANGE_ADMINISTRATOR: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
    pub const SECURITY_ADMINISTRATOR: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
    pub const SECURITY_READER: &str = "5d6b6bb7-de71-4623-b4af-96380a352509";
    pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
    pub const IDENTITY_GOVERNANCE_ADMINISTRATOR: &str = "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e";
}

struct BuiltIn {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    actions: &'static [&'static str],
}

use actions::*;

const BUILT_INS: &[BuiltIn] = &[
    BuiltIn {
        id: ids::GLOBAL_ADMINISTRATOR,
        name: "Global Administrator",
        description: "Can manage all aspects of the directory and of Eligo.",
        actions: &["microsoft.directory/*"],
    },
    BuiltIn {
        id: ids::PRIVILEGED_ROLE_ADMINISTRATOR,
        name: "Privileged Role Administrator",
        description: "Can manage role assignments, role settings and role-assignable groups.",
        actions: &[
            "microsoft.directory/roleAssignments/*",
            "microsoft.directory/roleDefinitions/*",
            "microsoft.directory/roleManagementPolicies/*",
            "microsoft.directory/groups.roleAssignable/*",
            USERS_READ,
            GROUPS_READ,
            SERVICE_PRINCIPALS_READ,
            AUDIT_READ,
        ],
    },
    BuiltIn {
        id: ids::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
        name: "Privileged Authentication Administrator",
        description: "Can reset credentials of any user, administrators included.",
        actions: &[
            USERS_READ,
            USERS_CREDENTIALS,
            PRIVILEGED_CREDENTIALS,
            GROUPS_READ,
        ],
    },
    BuiltIn {
        id: ids::USER_ADMINISTRATOR,
        name: "User Administrator",
        description: "Can manage users and ordinary groups, and reset non-administrators' credentials.",
        actions: &[
            "microsoft.directory/users/*",
            "microsoft.directory/groups/*",
            SERVICE_PRINCIPALS_READ,
            ROLE_DEFINITIONS_READ,
        ],
    },
    BuiltIn {
        id: ids::GROUPS_ADMINISTRATOR,
        name: "Groups Administrator",
        description: "Can manage ordinary groups and their membership.",
        actions: &[
            "microsoft.directory/groups/*",
            USERS_READ,
            ROLE_DEFINITIONS_READ,
        ],
    },
    BuiltIn {
        id: ids::HELPDESK_ADMINISTRATOR,
        name: "Helpdesk Administrator",
        description: "Can reset passwords of non-administrators.",
        actions: &[USERS_READ, USERS_CREDENTIALS, GROUPS_READ],
    },
    BuiltIn {
        id: ids::EXCHANGE_ADMINISTRATOR,
        name: "Exchange Administrator",
        description: "Can manage the mail system; reads the directory.",
        actions: &["microsoft.office365.exchange/*", USERS_READ, GROUPS_READ],
    },
    BuiltIn {
        id: ids::SECURITY_ADMINISTRATOR,
        name: "Security Administrator",
        description: "Can read security information and manage security settings and alerts.",
        actions: &[
            USERS_READ,
            GROUPS_READ,
            SERVICE_PRINCIPALS_READ,
            ROLE_DEFINITIONS_READ,
            ROLE_ASSIGNMENTS_READ,
            POLICIES_READ,
            AUDIT_READ,
            "microsoft.directory/alerts/*",
        ],
    },
    BuiltIn {
        id: ids::SECURITY_READER,
        name: "Security Reader",
        description: "Can read security information and the audit log.",
        actions: &[
            USERS_READ,
            GROUPS_READ,
            SERVICE_PRINCIPALS_READ,
            ROLE_DEFINITIONS_READ,
            ROLE_ASSIGNMENTS_READ,
            POLICIES_READ,
            AUDIT_READ,
            "microsoft.directory/alerts/read",
        ],
    },
    BuiltIn {
        id: ids::GLOBAL_READER,
        name: "Global Reader",
        description: "Can read everything a Global Administrator can, and change nothing.",
        actions: &["microsoft.directory/*/read"],
    },
    BuiltIn {
        id: ids::IDENTITY_GOVERNANCE_ADMINISTRATOR,
        name: "Identity Governance Administrator",
        description: "Can manage access packages and access reviews.",
        actions: &[
            "microsoft.directory/entitlementManagement/*",
            "microsoft.directory/accessReviews/*",
            USERS_READ,
            GROUPS_READ,
        ],
    },
];

/// The built-in role definitions, as stored at bootstrap.
pub fn built_in_roles() -> Vec<RoleDefinition> {
    BUILT_INS
        .iter()
        .map(|b| {
            let id = Uuid::parse_str(b.id).expect("built-in role ids are valid GUIDs");
            let actions: Vec<String> = b.actions.iter().map(|a| a.to_string()).collect();
            RoleDefinition {
                id,
                display_name: b.name.into(),
                description: Some(b.description.into()),
                is_built_in: true,
                is_enabled: true,
                template_id: Some(id),
                role_permissions: vec![RolePermission {
                    allowed_resource_actions: actions,
                }],
                created_date_time: None,
            }
        })
        .collect()
}

/// Resource actions look like `namespace/resource/.../verb`; `*` stands for any run of
/// characters. Custom roles may use only `microsoft.directory/...` or other dotted namespaces.
pub fn validate_resource_action(action: &str) -> Result<(), Invalid> {
    let bad = || {
        Err(Invalid::new(
            "InvalidResourceAction",
            "rolePermissions.allowedResourceActions",
            format!("'{action}' is not of the form namespace/resource/verb"),
        ))
    };
    let mut parts = action.split('/');
    let namespace = parts.next().unwrap_or_default();
    if action.len() > 200 || !namespace.contains('.') || parts.clone().count() < 1 {
        return bad();
    }
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '-' | '_');
    if action
        .split('/')
        .any(|seg| seg.is_empty() || !seg.chars().all(ok_char))
    {
        return bad();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_use_microsoft_template_ids() {
        let roles = built_in_roles();
        assert_eq!(roles.len(), 11);
        let ga = roles
            .iter()
            .find(|r| r.display_name == "Global Administrator")
            .unwrap();
        assert_eq!(ga.id.to_string(), ids::GLOBAL_ADMINISTRATOR);
        assert!(
            roles
                .iter()
                .all(|r| r.is_built_in && r.template_id == Some(r.id))
        );
    }

    #[test]
    fn identity_governance_administers_entitlement_management() {
        use crate::authz::{Grants, HeldRole};
        let held = |id: &str| {
            let role = built_in_roles()
                .into_iter()
                .find(|r| r.id.to_string() == id)
                .unwrap();
            Grants {
                roles: vec![HeldRole {
                    actions: role.actions().map(String::from).collect(),
                    scope: "/".into(),
                }],
            }
        };
        for (role, read, update) in [
            (ids::IDENTITY_GOVERNANCE_ADMINISTRATOR, true, true),
            (ids::GLOBAL_ADMINISTRATOR, true, true),
            (ids::GLOBAL_READER, true, false),
            (ids::USER_ADMINISTRATOR, false, false),
            (ids::PRIVILEGED_ROLE_ADMINISTRATOR, false, false),
        ] {
            let g = held(role);
            assert_eq!(
                g.allows_directory(actions::ENTITLEMENT_READ),
                read,
                "{role}"
            );
            assert_eq!(
                g.allows_directory(actions::ENTITLEMENT_UPDATE),
                update,
                "{role}"
            );
        }
    }

    #[test]
    fn resource_actions() {
        assert!(validate_resource_action("microsoft.directory/users/create").is_ok());
        assert!(validate_resource_action("microsoft.directory/*").is_ok());
        assert!(validate_resource_action("users/create").is_err());
        assert!(validate_resource_action("microsoft.directory//x").is_err());
        assert!(validate_resource_action("microsoft.directory/a b").is_err());
    }
}
