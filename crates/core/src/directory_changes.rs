//! What a directory change did to a user, group or service principal, property by property
//! (Graph's property names, as Entra's audit log records them): the modified properties of its
//! audit entry. `None` on one side is a creation or a deletion: every property then goes from
//! or to nothing. Pure; an unchanged property is not listed.

use crate::audit::ModifiedProperty;
use crate::directory::{Group, ServicePrincipal, User};

fn text(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn collect(props: Vec<(&str, String, String)>) -> Vec<ModifiedProperty> {
    props
        .into_iter()
        .filter(|(_, old, new)| old != new)
        .map(|(name, old, new)| ModifiedProperty {
            display_name: name.to_string(),
            old_value: old,
            new_value: new,
        })
        .collect()
}

pub fn user(old: Option<&User>, new: Option<&User>) -> Vec<ModifiedProperty> {
    let each = |f: fn(&User) -> Option<String>| (old.and_then(f), new.and_then(f));
    let props = [
        (
            "userPrincipalName",
            each(|u| Some(u.user_principal_name.clone())),
        ),
        ("displayName", each(|u| Some(u.display_name.clone()))),
        ("mail", each(|u| u.mail.clone())),
        ("mailNickname", each(|u| u.mail_nickname.clone())),
        ("manager", each(|u| u.manager_id.map(|m| m.to_string()))),
        (
            "accountEnabled",
            each(|u| Some(u.account_enabled.to_string())),
        ),
    ];
    collect(
        props
            .into_iter()
            .map(|(name, (o, n))| (name, text(o), text(n)))
            .collect(),
    )
}

pub fn group(old: Option<&Group>, new: Option<&Group>) -> Vec<ModifiedProperty> {
    let each = |f: fn(&Group) -> Option<String>| (old.and_then(f), new.and_then(f));
    let props = [
        ("displayName", each(|g| Some(g.display_name.clone()))),
        ("description", each(|g| g.description.clone())),
        ("mailNickname", each(|g| g.mail_nickname.clone())),
        (
            "securityEnabled",
            each(|g| Some(g.security_enabled.to_string())),
        ),
        (
            "isAssignableToRole",
            each(|g| Some(g.is_assignable_to_role.to_string())),
        ),
    ];
    collect(
        props
            .into_iter()
            .map(|(name, (o, n))| (name, text(o), text(n)))
            .collect(),
    )
}

pub fn service_principal(
    old: Option<&ServicePrincipal>,
    new: Option<&ServicePrincipal>,
) -> Vec<ModifiedProperty> {
    let each = |f: fn(&ServicePrincipal) -> Option<String>| (old.and_then(f), new.and_then(f));
    let props = [
        ("displayName", each(|s| Some(s.display_name.clone()))),
        ("appId", each(|s| Some(s.app_id.to_string()))),
        (
            "accountEnabled",
            each(|s| Some(s.account_enabled.to_string())),
        ),
    ];
    collect(
        props
            .into_iter()
            .map(|(name, (o, n))| (name, text(o), text(n)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use uuid::Uuid;

    use super::*;

    fn ada() -> User {
        User {
            id: Uuid::from_u128(1),
            user_principal_name: "ada@contoso.example".into(),
            display_name: "Ada".into(),
            mail: None,
            mail_nickname: None,
            manager_id: None,
            account_enabled: true,
            created_date_time: DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    fn names(p: &[ModifiedProperty]) -> Vec<(&str, &str, &str)> {
        p.iter()
            .map(|p| {
                (
                    p.display_name.as_str(),
                    p.old_value.as_str(),
                    p.new_value.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn an_update_lists_what_changed_with_old_and_new() {
        let old = ada();
        let mut new = old.clone();
        new.display_name = "Ada Lovelace".into();
        new.manager_id = Some(Uuid::from_u128(2));
        assert_eq!(
            names(&user(Some(&old), Some(&new))),
            [
                ("displayName", "Ada", "Ada Lovelace"),
                ("manager", "", "00000000-0000-0000-0000-000000000002"),
            ]
        );
        assert!(user(Some(&old), Some(&old)).is_empty());
    }

    #[test]
    fn creation_and_deletion_list_every_set_property() {
        let created = user(None, Some(&ada()));
        assert_eq!(
            names(&created),
            [
                ("userPrincipalName", "", "ada@contoso.example"),
                ("displayName", "", "Ada"),
                ("accountEnabled", "", "true"),
            ]
        );
        assert!(
            user(Some(&ada()), None)
                .iter()
                .all(|p| p.new_value.is_empty())
        );
    }
}
