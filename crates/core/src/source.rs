//! Who owns what: a user or group provisioned by an inbound source (a SCIM client, or the
//! import of an LDAP / Active Directory connector) is that source's to change; Eligo keeps its own layer on top (PIM eligibilities and activations,
//! ownerships, role assignments, downstream provisioning). This module only decides; the store
//! keeps each principal's source beside it.

use uuid::Uuid;

/// Where a principal came from, when not from Eligo itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub kind: SourceKind,
    /// The SCIM client or connector that created it (its id and its name as it is now).
    pub client_id: Uuid,
    pub client_name: String,
    /// The source's own id for it (SCIM `externalId`, an entry's DN), when it has one.
    pub external_id: Option<String>,
}

/// What kind of source a principal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// An inbound SCIM provisioning client pushed it.
    ScimClient,
    /// An LDAP / Active Directory connector's import read it.
    LdapImport,
}

impl Source {
    /// The source as people read it: `the SCIM client "Okta"`, `the LDAP import "Corp AD"`.
    pub fn describe(&self) -> String {
        match self.kind {
            SourceKind::ScimClient => format!("the SCIM client \"{}\"", self.client_name),
            SourceKind::LdapImport => format!("the LDAP import \"{}\"", self.client_name),
        }
    }
}

/// Who wants to change a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editor {
    /// An administrator through the API or the portal, or Eligo's own flows.
    Eligo,
    /// An inbound source acting on its own objects: a SCIM client, or a connector's import
    /// (by its id).
    Provisioner(Uuid),
}

/// What the change touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Attributes the source owns: names, mail, manager, enabled, a group's direct members,
    /// the object's existence.
    Owned,
    /// Turning an account off: an emergency stop an administrator may always pull, even on
    /// an account a source owns (re-enabling is the source's).
    Disable,
}

/// Why a change is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The source is authoritative for this object (a 409 naming the source).
    SourceAuthoritative { source: Source },
    /// A source reaching for an object it did not provision (Eligo's own, or another
    /// source's): it may neither see nor change it.
    NotProvisionedByClient,
}

impl Conflict {
    pub fn code(&self) -> &'static str {
        match self {
            Conflict::SourceAuthoritative { .. } => "SourceAuthoritative",
            Conflict::NotProvisionedByClient => "NotProvisionedByClient",
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::SourceAuthoritative { source } => write!(
                f,
                "this object is provisioned by {} ({}), which is authoritative for its names, mail, manager, enabled state and direct members: change it there (Eligo's eligibilities, activations, ownerships and role assignments on it can be changed here)",
                source.describe(),
                source.client_id
            ),
            Conflict::NotProvisionedByClient => {
                write!(f, "this object was not provisioned by this source")
            }
        }
    }
}

/// May `editor` make `change` to a principal whose source is `source`?
pub fn may_change(source: Option<&Source>, editor: Editor, change: Change) -> Result<(), Conflict> {
    match (source, editor) {
        (None, Editor::Eligo) => Ok(()),
        (None, Editor::Provisioner(_)) => Err(Conflict::NotProvisionedByClient),
        (Some(s), Editor::Provisioner(c)) if s.client_id == c => Ok(()),
        (Some(_), Editor::Provisioner(_)) => Err(Conflict::NotProvisionedByClient),
        (Some(_), Editor::Eligo) if change == Change::Disable => Ok(()),
        (Some(s), Editor::Eligo) => Err(Conflict::SourceAuthoritative { source: s.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_owns_what() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let from_a = Source {
            kind: SourceKind::ScimClient,
            client_id: a,
            client_name: "Okta".into(),
            external_id: Some("x".into()),
        };
        let check = |source: Option<&Source>, editor, change, expect: Result<(), &str>| {
            assert_eq!(
                may_change(source, editor, change).map_err(|c| c.code()),
                expect,
                "{source:?} {editor:?} {change:?}"
            );
        };
        check(None, Editor::Eligo, Change::Owned, Ok(()));
        check(
            None,
            Editor::Provisioner(a),
            Change::Owned,
            Err("NotProvisionedByClient"),
        );
        check(
            None,
            Editor::Provisioner(a),
            Change::Disable,
            Err("NotProvisionedByClient"),
        );
        check(Some(&from_a), Editor::Provisioner(a), Change::Owned, Ok(()));
        check(
            Some(&from_a),
            Editor::Provisioner(b),
            Change::Disable,
            Err("NotProvisionedByClient"),
        );
        check(
            Some(&from_a),
            Editor::Eligo,
            Change::Owned,
            Err("SourceAuthoritative"),
        );
        check(Some(&from_a), Editor::Eligo, Change::Disable, Ok(()));
        let message = may_change(Some(&from_a), Editor::Eligo, Change::Owned)
            .unwrap_err()
            .to_string();
        assert!(message.contains("the SCIM client \"Okta\""), "{message}");
        let ldap = Source {
            kind: SourceKind::LdapImport,
            client_name: "Corp AD".into(),
            ..from_a.clone()
        };
        let message = may_change(Some(&ldap), Editor::Eligo, Change::Owned)
            .unwrap_err()
            .to_string();
        assert!(message.contains("the LDAP import \"Corp AD\""), "{message}");
        check(Some(&ldap), Editor::Provisioner(a), Change::Owned, Ok(()));
    }
}
