//! Importing people and groups from an organisation's directory (LDAP / Active Directory,
//! issue 19 item 4): what the directory says (`Snapshot`), what Eligo holds from this source
//! (`Known`), and the pure decision between them (`plan`). The server reads the directory,
//! loads what Eligo has, asks `plan`, and applies the result through the ordinary directory
//! use cases, acting as the source. Nothing here does I/O.
//!
//! Entries are keyed by a normalised DN (the server normalises); members are named by DN or,
//! for `memberUid` groups, by uid. Eligo never imports into privileged state: the plan only
//! creates plain users (no roles) and groups that are never role-assignable, and never names
//! an object this source does not own.

mod plan;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use uuid::Uuid;

pub use plan::plan;

/// A user as the directory describes it, already mapped to Eligo's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUser {
    /// The normalised DN (the identity of the entry).
    pub key: String,
    /// The DN as read, for reports.
    pub dn: String,
    /// Becomes the userPrincipalName.
    pub user_name: String,
    /// The entry's uid, which `memberUid` groups name their members by.
    pub uid: Option<String>,
    pub display_name: String,
    pub mail: Option<String>,
    /// The manager's normalised DN.
    pub manager: Option<String>,
    /// What the directory says of the account (disabled entries are imported disabled).
    pub enabled: bool,
}

/// A group as the directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceGroup {
    pub key: String,
    pub dn: String,
    pub display_name: String,
    pub description: Option<String>,
    /// Member references: normalised DNs (users or groups), or uids (`memberUid`).
    pub members: Vec<String>,
    /// The directory answered only part of the members (Active Directory's ranged values
    /// beyond what one read returns): nobody is removed on this evidence.
    pub members_partial: bool,
}

/// What one read of the directory returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub users: Vec<SourceUser>,
    pub groups: Vec<SourceGroup>,
    /// Every entry under the bases (a full pass), as opposed to only the entries changed since
    /// the last high-water mark (incremental). Only a complete snapshot can tell what was
    /// removed from the directory.
    pub complete: bool,
    /// Members are uids (`memberUid`), not DNs.
    pub members_by_uid: bool,
}

/// A user Eligo holds from this source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownUser {
    pub id: Uuid,
    pub key: String,
    pub dn: String,
    pub uid: Option<String>,
    pub user_name: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub manager: Option<Uuid>,
    /// Eligo's account state now (an administrator may have disabled it).
    pub enabled: bool,
    /// The directory's account state at the last import. The import changes Eligo's state
    /// only when the directory's changes: an administrator's emergency stop is not undone by
    /// the next pass just because the directory still says "enabled".
    pub source_enabled: bool,
}

/// A group Eligo holds from this source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownGroup {
    pub id: Uuid,
    pub key: String,
    pub dn: String,
    pub display_name: String,
    pub description: Option<String>,
    /// Its direct members from this source (Eligo's PIM memberships are schedules, not
    /// direct members, and are never listed here).
    pub members: Vec<Uuid>,
}

/// What Eligo holds from this source, and the names it must not take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub users: Vec<KnownUser>,
    pub groups: Vec<KnownGroup>,
    /// Lower-cased userPrincipalNames held by accounts this source does not own (Eligo's own,
    /// break-glass, another source's): an entry claiming one is skipped, never merged.
    pub taken: HashSet<String>,
}

/// A principal the plan names: one Eligo has, or one the plan creates (by key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ref {
    Known(Uuid),
    New(String),
}

/// A change to a user Eligo holds; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUpdate {
    pub id: Uuid,
    /// The entry the user comes from now (new after a rename in the directory).
    pub source: SourceState,
    pub user_name: Option<String>,
    pub display_name: Option<String>,
    pub mail: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// What the source record of a principal keeps about its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceState {
    pub key: String,
    pub dn: String,
    pub uid: Option<String>,
    /// Users only: the directory's account state as last read.
    pub enabled: Option<bool>,
}

/// A change to a group Eligo holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupUpdate {
    pub id: Uuid,
    pub source: SourceState,
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
}

/// An entry the import leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub dn: String,
    pub reason: String,
}

/// Everything one import changes, in the order it must be applied: users, then groups, then
/// managers and memberships (which name them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub create_users: Vec<SourceUser>,
    /// Attribute changes, re-enabling, and deactivations (`enabled: Some(false)`: disabled
    /// in the directory, or gone from it).
    pub update_users: Vec<UserUpdate>,
    pub create_groups: Vec<SourceGroup>,
    pub update_groups: Vec<GroupUpdate>,
    /// (user, new manager or none).
    pub managers: Vec<(Ref, Option<Ref>)>,
    /// (group, member) pairs to add.
    pub add_members: Vec<(Ref, Ref)>,
    /// (group, member) pairs to remove.
    pub remove_members: Vec<(Uuid, Uuid)>,
    /// Groups gone from the directory (their members were removed above; the group stays, so
    /// Eligo's own eligibilities on it can be seen and ended by an administrator).
    pub groups_removed: Vec<Uuid>,
    pub skipped: Vec<Skipped>,
}

impl Plan {
    /// Users the plan turns off.
    pub fn deactivations(&self) -> usize {
        self.update_users
            .iter()
            .filter(|u| u.enabled == Some(false))
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.create_users.is_empty()
            && self.update_users.is_empty()
            && self.create_groups.is_empty()
            && self.update_groups.is_empty()
            && self.managers.is_empty()
            && self.add_members.is_empty()
            && self.remove_members.is_empty()
    }
}
