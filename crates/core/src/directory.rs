//! Principals of the directory: users, groups and service principals, and the rules their
//! fields obey. Credentials (password hashes, TOTP secrets, client secrets) are deliberately
//! absent: they live in the store's credential records and never travel with a principal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::invalid::Invalid;

/// What kind of principal an id names. Groups are principals too: they can be members of
/// other groups and, when role-assignable, hold roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PrincipalKind {
    User,
    Group,
    ServicePrincipal,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Group => "group",
            PrincipalKind::ServicePrincipal => "servicePrincipal",
        }
    }

    /// The object's type as audit targets and Graph's `@odata.type` name it.
    pub fn type_name(self) -> &'static str {
        match self {
            PrincipalKind::User => "User",
            PrincipalKind::Group => "Group",
            PrincipalKind::ServicePrincipal => "ServicePrincipal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(PrincipalKind::User),
            "group" => Some(PrincipalKind::Group),
            "servicePrincipal" => Some(PrincipalKind::ServicePrincipal),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: Uuid,
    pub user_principal_name: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub mail_nickname: Option<String>,
    pub manager_id: Option<Uuid>,
    pub account_enabled: bool,
    pub created_date_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: Option<String>,
    pub security_enabled: bool,
    /// Fixed at creation: a role-assignable group can hold roles, so its membership is
    /// protected like a role assignment.
    pub is_assignable_to_role: bool,
    pub created_date_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: Uuid,
    pub display_name: String,
    /// The client id a workload signs in with (Graph's `appId`).
    pub app_id: Uuid,
    pub account_enabled: bool,
    pub created_date_time: DateTime<Utc>,
}

/// Group relation: a member holds what the group holds; an owner manages the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Relation {
    Member,
    Owner,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Member => "member",
            Relation::Owner => "owner",
        }
    }
}

pub const MAX_NAME_LEN: usize = 256;
pub const MAX_DESCRIPTION_LEN: usize = 1024;

/// A user principal name is `local@domain`: one `@`, no whitespace or control characters,
/// both sides non-empty. Compared case-insensitively everywhere.
pub fn validate_upn(upn: &str) -> Result<(), Invalid> {
    let bad = |why: &str| {
        Err(Invalid::new(
            "InvalidUserPrincipalName",
            "userPrincipalName",
            why,
        ))
    };
    if upn.is_empty() || upn.len() > 113 {
        return bad("must be between 1 and 113 characters");
    }
    if upn.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain whitespace or control characters");
    }
    match upn.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            if domain.starts_with('.') || domain.ends_with('.') {
                return bad("the domain part is malformed");
            }
            Ok(())
        }
        _ => bad("must have the form local@domain"),
    }
}

pub fn validate_display_name(name: &str) -> Result<(), Invalid> {
    if name.trim().is_empty() {
        return Err(Invalid::new(
            "InvalidDisplayName",
            "displayName",
            "must not be empty",
        ));
    }
    if name.chars().count() > MAX_NAME_LEN || name.chars().any(|c| c.is_control()) {
        return Err(Invalid::new(
            "InvalidDisplayName",
            "displayName",
            "must be at most 256 characters without control characters",
        ));
    }
    Ok(())
}

pub fn validate_description(text: &str) -> Result<(), Invalid> {
    if text.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(Invalid::new(
            "InvalidDescription",
            "description",
            "must be at most 1024 characters",
        ));
    }
    Ok(())
}

pub fn validate_mail(mail: &str) -> Result<(), Invalid> {
    validate_upn(mail)
        .map_err(|_| Invalid::new("InvalidMail", "mail", "must be an address local@domain"))
}

/// A mail nickname (Graph's `mailNickname`): 1 to 64 printable ASCII characters, no spaces.
pub fn validate_mail_nickname(nick: &str) -> Result<(), Invalid> {
    let ok =
        (1..=64).contains(&nick.len()) && nick.bytes().all(|b| b.is_ascii_graphic() && b != b'@');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            "InvalidMailNickname",
            "mailNickname",
            "must be 1 to 64 printable ASCII characters without spaces or '@'",
        ))
    }
}

/// Passwords: long enough to resist guessing, short enough not to be a hashing DoS.
pub fn validate_password(password: &str) -> Result<(), Invalid> {
    let n = password.chars().count();
    if !(12..=256).contains(&n) {
        return Err(Invalid::new(
            "InvalidPassword",
            "passwordProfile.password",
            "must be between 12 and 256 characters",
        ));
    }
    Ok(())
}

/// A group can be nested only as a member of an ordinary group: a role-assignable group must
/// never gain members through nesting (Entra refuses it too), or role holders would change
/// without anyone touching the role.
pub fn check_nesting(
    parent: &Group,
    member_kind: PrincipalKind,
    relation: Relation,
) -> Result<(), Invalid> {
    if member_kind == PrincipalKind::Group {
        if relation == Relation::Owner {
            return Err(Invalid::new(
                "InvalidOwner",
                "id",
                "a group cannot own a group",
            ));
        }
        if parent.is_assignable_to_role {
            return Err(Invalid::new(
                "NestingNotAllowed",
                "id",
                "a group cannot be nested into a role-assignable group",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_upn(upn: &str, ok: bool) {
        assert_eq!(validate_upn(upn).is_ok(), ok, "{upn:?}");
    }

    #[test]
    fn upns() {
        check_upn("alice@contoso.com", true);
        check_upn("a.b+c@x", true);
        check_upn("", false);
        check_upn("alice", false);
        check_upn("@contoso.com", false);
        check_upn("alice@", false);
        check_upn("a@b@c", false);
        check_upn("al ice@contoso.com", false);
        check_upn("alice@.contoso", false);
        check_upn(&format!("{}@x.y", "a".repeat(120)), false);
    }

    #[test]
    fn display_names_and_passwords() {
        assert!(validate_display_name("Alice").is_ok());
        assert!(validate_display_name("  ").is_err());
        assert!(validate_display_name("a\u{0}b").is_err());
        assert!(validate_password("short").is_err());
        assert!(validate_password("correct horse battery").is_ok());
        assert!(validate_password(&"x".repeat(257)).is_err());
        assert!(validate_mail_nickname("AdeleV").is_ok());
        assert!(validate_mail_nickname("a b").is_err());
        assert!(validate_mail_nickname("a\u{0}").is_err());
        assert!(validate_mail_nickname(&"n".repeat(65)).is_err());
    }

    #[test]
    fn nesting_rules() {
        let g = |ra| Group {
            id: Uuid::nil(),
            display_name: "g".into(),
            description: None,
            mail_nickname: None,
            security_enabled: true,
            is_assignable_to_role: ra,
            created_date_time: DateTime::<Utc>::MIN_UTC,
        };
        assert!(check_nesting(&g(false), PrincipalKind::Group, Relation::Member).is_ok());
        assert!(check_nesting(&g(true), PrincipalKind::Group, Relation::Member).is_err());
        assert!(check_nesting(&g(true), PrincipalKind::User, Relation::Member).is_ok());
        assert!(check_nesting(&g(false), PrincipalKind::Group, Relation::Owner).is_err());
    }
}
