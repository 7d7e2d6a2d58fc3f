//! Reading a directory for the import (issue 19, item 4): users, the disabled among them, and
//! groups with their members, by paged searches (RFC 2696) on a connection of its own, each
//! page bounded by the connector's timeout. With a high-water mark only entries whose
//! `modifyTimestamp` is at or after it are read (an incremental pass); without, everything
//! under the bases (a full pass). Nothing is written to the directory.

use std::collections::HashSet;

use eligo_core::directory_import::{Snapshot, SourceGroup, SourceUser};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, Scope, SearchEntry, ldap_escape};

use super::conn::{connect, map_error, map_result};
use super::import_settings::{ImportSettings, MemberAttribute};
use super::{LdapSettings, dn, values};
use crate::connectors::ConnectorError;
use crate::outbound::Outbound;

/// What one read found, and the high-water mark to ask from next time.
pub struct Read {
    pub snapshot: Snapshot,
    /// The latest `modifyTimestamp` among the entries read (or the mark asked with).
    pub high_water: Option<String>,
}

/// Reads users and groups as `import` says; `since` makes it an incremental pass.
pub async fn read(
    settings: &LdapSettings,
    import: &ImportSettings,
    outbound: &Outbound,
    since: Option<&str>,
) -> Result<Read, ConnectorError> {
    let timeout = settings.timeout();
    let mut ldap = tokio::time::timeout(timeout, connect(settings, outbound))
        .await
        .map_err(|_| {
            ConnectorError::Unavailable(format!(
                "LDAP server {} did not answer within {} s",
                settings.url, settings.timeout_seconds
            ))
        })??;
    let result = read_with(&mut ldap, settings, import, since).await;
    let _ = tokio::time::timeout(timeout, ldap.unbind()).await;
    result
}

async fn read_with(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    import: &ImportSettings,
    since: Option<&str>,
) -> Result<Read, ConnectorError> {
    let changed = since.map(|hw| format!("(modifyTimestamp>={})", ldap_escape(hw)));
    let both = |filter: &str, extra: Option<&str>| match (&changed, extra) {
        (None, None) => filter.to_string(),
        (c, e) => format!(
            "(&{filter}{}{})",
            e.unwrap_or_default(),
            c.as_deref().unwrap_or_default()
        ),
    };
    let search = Search {
        settings,
        page: i32::try_from(import.page_size).unwrap_or(500),
    };
    let user_base = import.user_base_dn(&settings.user_base_dn);
    let user_attrs = vec![
        import.user_name_attribute.clone(),
        import.display_name_attribute.clone(),
        import.mail_attribute.clone(),
        import.manager_attribute.clone(),
        "uid".into(),
        "modifyTimestamp".into(),
    ];
    let users = search
        .all(
            ldap,
            user_base,
            &both(&import.user_filter, None),
            user_attrs,
        )
        .await?;
    let disabled: HashSet<String> = match &import.disabled_filter {
        Some(f) => search
            .all(
                ldap,
                user_base,
                &both(&import.user_filter, Some(f)),
                vec!["1.1".into()],
            )
            .await?
            .iter()
            .map(|e| key(&e.dn))
            .collect(),
        None => HashSet::new(),
    };
    let member = import.member_attribute.name();
    let group_attrs = vec![
        import.group_name_attribute.clone(),
        "description".into(),
        member.to_string(),
        "modifyTimestamp".into(),
    ];
    let groups = search
        .all(
            ldap,
            &import.group_base_dn,
            &both(&import.group_filter, None),
            group_attrs,
        )
        .await?;

    let high_water = users
        .iter()
        .chain(&groups)
        .filter_map(|e| first(e, "modifyTimestamp"))
        .chain(since.map(str::to_string))
        .max();
    let snapshot = Snapshot {
        users: users.iter().map(|e| user(e, import, &disabled)).collect(),
        groups: groups.iter().map(|e| group(e, import)).collect(),
        complete: since.is_none(),
        members_by_uid: import.member_attribute == MemberAttribute::MemberUid,
    };
    Ok(Read {
        snapshot,
        high_water,
    })
}

/// The normal form of a DN, the key entries are matched by.
pub fn key(dn: &str) -> String {
    dn::normalize(dn).unwrap_or_else(|| dn.to_lowercase())
}

fn first(entry: &SearchEntry, attr: &str) -> Option<String> {
    values(entry, attr).next().cloned()
}

fn user(entry: &SearchEntry, import: &ImportSettings, disabled: &HashSet<String>) -> SourceUser {
    let key = key(&entry.dn);
    let mut user_name = first(entry, &import.user_name_attribute).unwrap_or_default();
    if let Some(suffix) = &import.upn_suffix
        && !user_name.is_empty()
        && !user_name.contains('@')
    {
        user_name = format!("{user_name}@{suffix}");
    }
    SourceUser {
        dn: entry.dn.clone(),
        display_name: first(entry, &import.display_name_attribute)
            .unwrap_or_else(|| user_name.clone()),
        mail: first(entry, &import.mail_attribute),
        manager: first(entry, &import.manager_attribute).map(|m| self::key(&m)),
        uid: first(entry, "uid"),
        enabled: !disabled.contains(&key),
        user_name,
        key,
    }
}

fn group(entry: &SearchEntry, import: &ImportSettings) -> SourceGroup {
    let attr = import.member_attribute.name();
    let members = values(entry, attr)
        .map(|m| match import.member_attribute {
            MemberAttribute::MemberUid => m.clone(),
            MemberAttribute::Member => key(m),
            // groupOfUniqueNames may suffix a DN with `#'0101'B` (an optional unique id).
            MemberAttribute::UniqueMember => key(m.rsplit_once('#').map_or(m.as_str(), |p| p.0)),
        })
        .collect();
    // Active Directory answers a large group's members in ranges (`member;range=0-1499`).
    let ranged = format!("{attr};range=").to_ascii_lowercase();
    let members_partial = entry
        .attrs
        .keys()
        .any(|name| name.to_ascii_lowercase().starts_with(&ranged));
    SourceGroup {
        key: key(&entry.dn),
        dn: entry.dn.clone(),
        display_name: first(entry, &import.group_name_attribute)
            .or_else(|| dn::first_value(&entry.dn))
            .unwrap_or_default(),
        description: first(entry, "description"),
        members,
        members_partial,
    }
}

struct Search<'a> {
    settings: &'a LdapSettings,
    page: i32,
}

impl Search<'_> {
    /// Every entry under `base` matching `filter`, page by page; each page within the timeout.
    async fn all(
        &self,
        ldap: &mut Ldap,
        base: &str,
        filter: &str,
        attrs: Vec<String>,
    ) -> Result<Vec<SearchEntry>, ConnectorError> {
        let timeout = self.settings.timeout();
        let late = || {
            ConnectorError::Unavailable(format!(
                "LDAP server {} did not answer within {} s",
                self.settings.url, self.settings.timeout_seconds
            ))
        };
        let adapters: Vec<Box<dyn Adapter<String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(self.page)),
        ];
        let mut stream = tokio::time::timeout(
            timeout,
            ldap.streaming_search_with(adapters, base, Scope::Subtree, filter, attrs),
        )
        .await
        .map_err(|_| late())?
        .map_err(map_error)?;
        let mut entries = Vec::new();
        loop {
            match tokio::time::timeout(timeout, stream.next()).await {
                Err(_) => return Err(late()),
                Ok(Err(e)) => return Err(map_error(e)),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(entry))) => entries.push(SearchEntry::construct(entry)),
            }
        }
        let outcome = stream.finish().await;
        if outcome.rc != 0 {
            return Err(super::about(base, map_result(outcome)));
        }
        Ok(entries)
    }
}

/// `mark` (an LDAP GeneralizedTime, `20261206051200Z` or `20261206051200.0Z`) moved back by
/// `by`, in the `YYYYMMDDHHMMSSZ` form every server compares; unchanged when unreadable.
pub fn rewind(mark: &str, by: std::time::Duration) -> String {
    let Some(digits) = mark.get(..14) else {
        return mark.to_string();
    };
    let Ok(at) = chrono::NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S") else {
        return mark.to_string();
    };
    let by = chrono::TimeDelta::from_std(by).unwrap_or_default();
    format!("{}Z", (at - by).format("%Y%m%d%H%M%S"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::rewind;

    #[test]
    fn a_mark_moves_back_in_either_form() {
        assert_eq!(
            rewind("20261206051200Z", Duration::from_secs(61)),
            "20261206051059Z"
        );
        assert_eq!(
            rewind("20260101000000.0Z", Duration::from_secs(1)),
            "20251231235959Z"
        );
        assert_eq!(rewind("garbage", Duration::from_secs(1)), "garbage");
    }
}
