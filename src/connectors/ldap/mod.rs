//! The LDAP / Active Directory connector: finds users under a base DN and changes the members of
//! groupOfNames (`member` DNs) or posixGroup (`memberUid` uids) entries.
//!
//! One bound connection is kept and shared by every operation (LDAP multiplexes requests on
//! it), re-established when it breaks; every operation, connecting included, is bounded by the
//! settings' timeout. Changes are idempotent: an add of a present member (rc 20) and a removal of
//! an absent one (rc 16) succeed. A groupOfNames must keep one `member`: the last real member is
//! swapped for a placeholder DN in one modify, and the placeholder is dropped in the same modify
//! that adds a real member again.

mod conn;
pub mod dn;
pub mod import;
mod import_settings;
mod settings;

use std::collections::HashSet;

use async_trait::async_trait;
use ldap3::{Mod, Scope, SearchEntry, ldap_escape};

pub use import_settings::{ImportSettings, MemberAttribute};
pub use settings::{GroupType, LdapSettings, MatchOn, SECRET_FIELDS, UserAttribute};

use self::conn::{Connection, map_result};
use super::{ConnectorError, DownstreamMember, DownstreamRef, MemberIdentity};

/// Checks a target (a group DN) before it is stored.
pub fn validate_target(target: &str) -> Result<(), String> {
    dn::validate(target).map_err(|e| format!("not a valid group DN: {e}"))
}

/// The LDAP connector for one directory.
pub struct LdapConnector {
    settings: LdapSettings,
    connection: Connection,
}

/// rc attributeOrValueExists, noSuchAttribute, objectClassViolation.
const ALREADY_THERE: u32 = 20;
const NOT_THERE: u32 = 16;
const OBJECT_CLASS_VIOLATION: u32 = 65;
/// Attempts at a group change that concurrent changes keep invalidating.
const CHANGE_ATTEMPTS: usize = 4;

impl LdapConnector {
    /// No I/O: the connection is made on first use.
    pub fn new(settings: LdapSettings) -> Self {
        Self {
            settings,
            connection: Connection::new(crate::outbound::Outbound::default()),
        }
    }

    /// The same connector under the deployment's outbound policy (`ELIGO_OUTBOUND_ALLOW`);
    /// before first use (the connection is made lazily).
    pub fn with_outbound(mut self, outbound: crate::outbound::Outbound) -> Self {
        self.connection = Connection::new(outbound);
        self
    }

    pub fn settings(&self) -> &LdapSettings {
        &self.settings
    }

    fn member_attribute(&self) -> &'static str {
        match self.settings.group_type {
            GroupType::GroupOfNames => "member",
            GroupType::PosixGroup => "memberUid",
        }
    }

    /// One modify of `target`; the result code is left to the caller.
    async fn modify(&self, target: &str, mods: Vec<Mod<String>>) -> Result<u32, ConnectorError> {
        let result = self
            .connection
            .run(&self.settings, |mut ldap| {
                let mods = mods.clone();
                Box::pin(async move { ldap.modify(target, mods).await })
            })
            .await?;
        match result.rc {
            0 | ALREADY_THERE | NOT_THERE | OBJECT_CLASS_VIOLATION => Ok(result.rc),
            _ => Err(about(target, map_result(result))),
        }
    }

    /// A modify where rc 65 is a configuration problem (the entry is not this kind of group).
    async fn modify_tolerating(
        &self,
        target: &str,
        mods: Vec<Mod<String>>,
        tolerated: u32,
    ) -> Result<(), ConnectorError> {
        match self.modify(target, mods).await? {
            0 => Ok(()),
            rc if rc == tolerated => Ok(()),
            rc => Err(unexpected(target, rc)),
        }
    }

    async fn add_to_group_of_names(
        &self,
        target: &str,
        member: &str,
    ) -> Result<(), ConnectorError> {
        let placeholder = self.settings.placeholder();
        if dn::same(member, placeholder) {
            return self
                .modify_tolerating(target, vec![add("member", member)], ALREADY_THERE)
                .await;
        }
        for _ in 0..CHANGE_ATTEMPTS {
            // Add the member and drop the placeholder in one step; either may already be done.
            match self
                .modify(
                    target,
                    vec![add("member", member), delete("member", placeholder)],
                )
                .await?
            {
                0 => return Ok(()),
                NOT_THERE => {
                    // No placeholder: a plain add.
                    match self.modify(target, vec![add("member", member)]).await? {
                        0 | ALREADY_THERE => return Ok(()),
                        rc => return Err(unexpected(target, rc)),
                    }
                }
                ALREADY_THERE => {
                    // Already a member: make sure the placeholder is gone too.
                    match self
                        .modify(target, vec![delete("member", placeholder)])
                        .await?
                    {
                        0 | NOT_THERE => return Ok(()),
                        // The member left meanwhile (the placeholder is then needed): again.
                        OBJECT_CLASS_VIOLATION => continue,
                        rc => return Err(unexpected(target, rc)),
                    }
                }
                rc => return Err(unexpected(target, rc)),
            }
        }
        Err(contended(target))
    }

    async fn remove_from_group_of_names(
        &self,
        target: &str,
        member: &str,
    ) -> Result<(), ConnectorError> {
        let placeholder = self.settings.placeholder();
        for _ in 0..CHANGE_ATTEMPTS {
            match self.modify(target, vec![delete("member", member)]).await? {
                0 | NOT_THERE => return Ok(()),
                // The last member: swap it for the placeholder in one step.
                OBJECT_CLASS_VIOLATION if !dn::same(member, placeholder) => {
                    match self
                        .modify(
                            target,
                            vec![add("member", placeholder), delete("member", member)],
                        )
                        .await?
                    {
                        0 => return Ok(()),
                        // Someone changed the group meanwhile: look again.
                        NOT_THERE | ALREADY_THERE => continue,
                        rc => return Err(unexpected(target, rc)),
                    }
                }
                // Only the placeholder itself is left: it stays.
                OBJECT_CLASS_VIOLATION => return Ok(()),
                rc => return Err(unexpected(target, rc)),
            }
        }
        Err(contended(target))
    }
}

fn add(attr: &str, value: &str) -> Mod<String> {
    Mod::Add(attr.to_string(), HashSet::from([value.to_string()]))
}

fn delete(attr: &str, value: &str) -> Mod<String> {
    Mod::Delete(attr.to_string(), HashSet::from([value.to_string()]))
}

fn unexpected(target: &str, rc: u32) -> ConnectorError {
    match rc {
        OBJECT_CLASS_VIOLATION => ConnectorError::Misconfigured(format!(
            "{target} refused the change (rc 65 objectClassViolation): is it the configured kind \
             of group (groupType)?"
        )),
        rc => ConnectorError::Unavailable(format!("{target}: unexpected LDAP result rc {rc}")),
    }
}

/// The error, naming the entry it is about.
fn about(dn: &str, error: ConnectorError) -> ConnectorError {
    match error {
        ConnectorError::Misconfigured(m) => ConnectorError::Misconfigured(format!("{dn}: {m}")),
        ConnectorError::Unavailable(m) => ConnectorError::Unavailable(format!("{dn}: {m}")),
        unauthorized @ ConnectorError::Unauthorized(_) => unauthorized,
    }
}

fn contended(target: &str) -> ConnectorError {
    ConnectorError::Unavailable(format!(
        "{target} kept changing under concurrent updates; try again"
    ))
}

/// The values of `attr` in `entry` (attribute names are case-insensitive).
fn values<'e>(entry: &'e SearchEntry, attr: &str) -> impl Iterator<Item = &'e String> {
    entry
        .attrs
        .iter()
        .filter(move |(name, _)| name.eq_ignore_ascii_case(attr))
        .flat_map(|(_, values)| values)
}

#[async_trait]
impl super::Downstream for LdapConnector {
    async fn resolve(
        &self,
        member: &MemberIdentity,
    ) -> Result<Option<DownstreamRef>, ConnectorError> {
        let upn = member.user_principal_name.as_str();
        let value = match self.settings.match_on {
            MatchOn::UpnPrefix => upn.split('@').next().unwrap_or_default(),
            MatchOn::UserPrincipalName => upn,
            MatchOn::Mail => member.mail.as_deref().unwrap_or_default(),
        };
        if value.is_empty() {
            return Ok(None);
        }
        let filter = format!(
            "({}={})",
            self.settings.user_attribute.name(),
            ldap_escape(value)
        );
        let posix = self.settings.group_type == GroupType::PosixGroup;
        let base = self.settings.user_base_dn.as_str();
        let filter = filter.as_str();
        let result = self
            .connection
            .run(&self.settings, |mut ldap| {
                Box::pin(async move {
                    let attrs: &[&str] = if posix { &["uid"] } else { &["1.1"] };
                    ldap.search(base, Scope::Subtree, filter, attrs.to_vec())
                        .await
                })
            })
            .await?;
        let ldap3::SearchResult(entries, outcome) = result;
        if outcome.rc != 0 {
            return Err(about(base, map_result(outcome)));
        }
        let mut entries = entries.into_iter().map(SearchEntry::construct);
        let Some(entry) = entries.next() else {
            return Ok(None);
        };
        let others = entries.count();
        if others > 0 {
            return Err(ConnectorError::Misconfigured(format!(
                "{} entries under {base} match {filter}: userAttribute must identify one user",
                others + 1
            )));
        }
        if !posix {
            return Ok(Some(entry.dn));
        }
        match values(&entry, "uid").next() {
            Some(uid) => Ok(Some(uid.clone())),
            None => Err(ConnectorError::Misconfigured(format!(
                "{} has no uid, which a posixGroup's memberUid needs",
                entry.dn
            ))),
        }
    }

    async fn add(&self, target: &str, member: &DownstreamRef) -> Result<(), ConnectorError> {
        match self.settings.group_type {
            GroupType::GroupOfNames => self.add_to_group_of_names(target, member).await,
            GroupType::PosixGroup => {
                self.modify_tolerating(target, vec![add("memberUid", member)], ALREADY_THERE)
                    .await
            }
        }
    }

    async fn remove(&self, target: &str, member: &DownstreamRef) -> Result<(), ConnectorError> {
        match self.settings.group_type {
            GroupType::GroupOfNames => self.remove_from_group_of_names(target, member).await,
            GroupType::PosixGroup => {
                self.modify_tolerating(target, vec![delete("memberUid", member)], NOT_THERE)
                    .await
            }
        }
    }

    async fn members(&self, target: &str) -> Result<Option<Vec<DownstreamMember>>, ConnectorError> {
        let attr = self.member_attribute();
        let result = self
            .connection
            .run(&self.settings, |mut ldap| {
                Box::pin(async move {
                    ldap.search(target, Scope::Base, "(objectClass=*)", vec![attr])
                        .await
                })
            })
            .await?;
        let ldap3::SearchResult(entries, outcome) = result;
        if outcome.rc != 0 {
            return Err(about(target, map_result(outcome)));
        }
        let Some(entry) = entries.into_iter().next().map(SearchEntry::construct) else {
            return Err(ConnectorError::Misconfigured(format!("{target} not found")));
        };
        let members = match self.settings.group_type {
            GroupType::GroupOfNames => {
                let placeholder = self.settings.placeholder();
                values(&entry, attr)
                    .filter(|dn| !dn::same(dn, placeholder))
                    .map(|dn| DownstreamMember {
                        reference: dn.clone(),
                        display: dn::first_value(dn).unwrap_or_else(|| dn.clone()),
                    })
                    .collect()
            }
            GroupType::PosixGroup => values(&entry, attr)
                .map(|uid| DownstreamMember {
                    reference: uid.clone(),
                    display: uid.clone(),
                })
                .collect(),
        };
        Ok(Some(members))
    }

    async fn probe(&self) -> Result<(), ConnectorError> {
        let base = self.settings.user_base_dn.as_str();
        let result = self
            .connection
            .run(&self.settings, |mut ldap| {
                Box::pin(async move {
                    ldap.search(base, Scope::Base, "(objectClass=*)", vec!["1.1"])
                        .await
                })
            })
            .await?;
        match result.1.rc {
            0 => Ok(()),
            _ => Err(about(base, map_result(result.1))),
        }
    }
}
