//! The optional `import` block of an LDAP connector's settings: where users and groups are
//! read, how their attributes map to Eligo's fields, and how often (issue 19, item 4). Every
//! problem is reported with its field, as `import.<field>`.

use serde::Deserialize;
use serde_json::Value;

use super::dn;
use crate::connectors::SettingError;

/// How an LDAP connector imports people and groups. Defaults fit OpenLDAP's inetOrgPerson and
/// groupOfNames; the README lists the Active Directory values.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportSettings {
    /// Where users are read (subtree); the connector's `userBaseDn` when absent.
    #[serde(default)]
    pub user_base_dn: Option<String>,
    #[serde(default = "default_user_filter")]
    pub user_filter: String,
    /// Where groups are read (subtree).
    pub group_base_dn: String,
    #[serde(default = "default_group_filter")]
    pub group_filter: String,
    /// The attribute that becomes the userPrincipalName (uid, mail, userPrincipalName...).
    #[serde(default = "default_user_name")]
    pub user_name_attribute: String,
    /// Appended as `@suffix` to a userName without a domain (a uid or sAMAccountName).
    #[serde(default)]
    pub upn_suffix: Option<String>,
    #[serde(default = "default_cn")]
    pub display_name_attribute: String,
    #[serde(default = "default_mail")]
    pub mail_attribute: String,
    /// Holds the manager's DN.
    #[serde(default = "default_manager")]
    pub manager_attribute: String,
    #[serde(default = "default_cn")]
    pub group_name_attribute: String,
    #[serde(default)]
    pub member_attribute: MemberAttribute,
    /// Users matching this filter are imported disabled (Active Directory:
    /// `(userAccountControl:1.2.840.113556.1.4.803:=2)`).
    #[serde(default)]
    pub disabled_filter: Option<String>,
    /// Minutes between scheduled imports; 0 imports only on demand.
    #[serde(default = "default_interval")]
    pub interval_minutes: u32,
    /// Hours between full passes (which find removed entries); the passes between read only
    /// entries changed since the last one (`modifyTimestamp`).
    #[serde(default = "default_full_sync")]
    pub full_sync_hours: u32,
    /// Entries per page of the paged search (RFC 2696).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum MemberAttribute {
    /// Member DNs (groupOfNames, Active Directory groups); groups may nest.
    #[default]
    #[serde(rename = "member")]
    Member,
    /// Member DNs with an optional `#uid` suffix (groupOfUniqueNames).
    #[serde(rename = "uniqueMember")]
    UniqueMember,
    /// Member uids (posixGroup); no nesting.
    #[serde(rename = "memberUid")]
    MemberUid,
}

impl MemberAttribute {
    pub fn name(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::UniqueMember => "uniqueMember",
            Self::MemberUid => "memberUid",
        }
    }
}

fn default_user_filter() -> String {
    "(objectClass=person)".into()
}
fn default_group_filter() -> String {
    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)(objectClass=group))"
        .into()
}
fn default_user_name() -> String {
    "uid".into()
}
fn default_cn() -> String {
    "cn".into()
}
fn default_mail() -> String {
    "mail".into()
}
fn default_manager() -> String {
    "manager".into()
}
fn default_interval() -> u32 {
    60
}
fn default_full_sync() -> u32 {
    24
}
fn default_page_size() -> u32 {
    500
}

const FIELDS: &[&str] = &[
    "userBaseDn",
    "userFilter",
    "groupBaseDn",
    "groupFilter",
    "userNameAttribute",
    "upnSuffix",
    "displayNameAttribute",
    "mailAttribute",
    "managerAttribute",
    "groupNameAttribute",
    "memberAttribute",
    "disabledFilter",
    "intervalMinutes",
    "fullSyncHours",
    "pageSize",
];

impl ImportSettings {
    /// Checks the block; every problem is pushed to `errors` as `import.<field>`.
    pub fn check(value: &Value, errors: &mut Vec<SettingError>) {
        if value.is_null() {
            return;
        }
        let Some(object) = value.as_object() else {
            errors.push(SettingError::new("import", "must be a JSON object"));
            return;
        };
        let mut bad = |field: &str, message: String| {
            errors.push(SettingError::new(&format!("import.{field}"), message));
        };
        for key in object.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
            bad(key, format!("unknown field; known: {}", FIELDS.join(", ")));
        }
        if !object.contains_key("groupBaseDn") {
            bad("groupBaseDn", "required".into());
        }
        for (field, value) in object {
            if !FIELDS.contains(&field.as_str()) {
                continue;
            }
            if let Err(message) = check_field(field, value) {
                bad(field, message);
            }
        }
    }

    pub fn user_base_dn<'a>(&'a self, connector_base: &'a str) -> &'a str {
        self.user_base_dn.as_deref().unwrap_or(connector_base)
    }
}

fn text(value: &Value) -> Result<&str, String> {
    value.as_str().ok_or_else(|| "must be a string".to_string())
}

fn number(value: &Value, range: std::ops::RangeInclusive<u64>) -> Result<(), String> {
    match value.as_u64() {
        Some(n) if range.contains(&n) => Ok(()),
        _ => Err(format!(
            "must be a whole number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

fn check_field(field: &str, value: &Value) -> Result<(), String> {
    match field {
        "userBaseDn" | "groupBaseDn" => {
            dn::validate(text(value)?).map_err(|e| format!("not a valid DN: {e}"))
        }
        "userFilter" | "groupFilter" | "disabledFilter" => check_filter(text(value)?),
        "userNameAttribute"
        | "displayNameAttribute"
        | "mailAttribute"
        | "managerAttribute"
        | "groupNameAttribute" => check_attribute(text(value)?),
        "upnSuffix" => check_suffix(text(value)?),
        "memberAttribute" => MemberAttribute::deserialize(value)
            .map(|_| ())
            .map_err(|_| "must be member, uniqueMember or memberUid".into()),
        "intervalMinutes" => number(value, 0..=10_080),
        "fullSyncHours" => number(value, 1..=720),
        "pageSize" => number(value, 1..=5_000),
        _ => Ok(()),
    }
}

/// An LDAP filter in parentheses that the client can send (RFC 4515).
fn check_filter(filter: &str) -> Result<(), String> {
    if !filter.trim_start().starts_with('(') || ldap3::parse_filter(filter).is_err() {
        return Err("not a valid LDAP filter, like (objectClass=person)".into());
    }
    Ok(())
}

/// An attribute name (a descriptor like `userPrincipalName`, or a numeric OID).
fn check_attribute(name: &str) -> Result<(), String> {
    let descriptor = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = !name.is_empty()
        && name
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if (descriptor || oid) && name.len() <= 128 {
        Ok(())
    } else {
        Err("not an attribute name (letters, digits and '-', starting with a letter)".into())
    }
}

fn check_suffix(suffix: &str) -> Result<(), String> {
    let ok = !suffix.is_empty()
        && suffix.len() <= 100
        && !suffix.starts_with('.')
        && !suffix.ends_with('.')
        && suffix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err("must be a domain like example.org (without @)".into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Vec<String> {
        let mut errors = Vec::new();
        ImportSettings::check(&value, &mut errors);
        let mut fields: Vec<String> = errors.into_iter().map(|e| e.field).collect();
        fields.sort();
        fields
    }

    #[test]
    fn every_bad_field_is_named() {
        assert!(fields(json!({ "groupBaseDn": "ou=groups,dc=example,dc=org" })).is_empty());
        assert_eq!(
            fields(json!({
                "groupBaseDn": "not a dn",
                "userFilter": "objectClass=person",
                "disabledFilter": "(&(a=b)",
                "userNameAttribute": "u id",
                "upnSuffix": "@example.org",
                "memberAttribute": "members",
                "intervalMinutes": -1,
                "fullSyncHours": 0,
                "pageSize": 100000,
                "colour": "blue",
            })),
            vec![
                "import.colour",
                "import.disabledFilter",
                "import.fullSyncHours",
                "import.groupBaseDn",
                "import.intervalMinutes",
                "import.memberAttribute",
                "import.pageSize",
                "import.upnSuffix",
                "import.userFilter",
                "import.userNameAttribute",
            ]
        );
        assert_eq!(fields(json!({})), vec!["import.groupBaseDn"]);
        assert_eq!(fields(json!([])), vec!["import"]);
        // Active Directory's bit test is a filter like any other.
        assert!(
            fields(json!({
                "groupBaseDn": "OU=Groups,DC=corp,DC=example",
                "disabledFilter": "(userAccountControl:1.2.840.113556.1.4.803:=2)",
                "userNameAttribute": "userPrincipalName",
            }))
            .is_empty()
        );
    }
}
