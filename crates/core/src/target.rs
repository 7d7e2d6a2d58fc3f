//! What PIM gives: a directory role at a scope, or membership or ownership of a group (PIM for
//! Groups). Both travel through the same requests, approvals, schedules and scheduler, so a
//! group access is written in the role fields of a schedule or request: `role_definition_id`
//! is the access's well-known id ([`GroupAccess::role_id`]) and `directory_scope_id` is
//! `/groups/{groupId}`. [`Target::of`] reads them back; nothing else needs to know the encoding.
//! The well-known ids are not role definitions: no role can be created with them, and the
//! store keeps the group in a column of its own (so deleting the group deletes its schedules).

use std::fmt;

use uuid::Uuid;

/// Membership or ownership of a group (Graph's `accessId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupAccess {
    Member,
    Owner,
}

/// `00000000-0000-0000-0000-0000000a0001`: membership of a group, in a role field.
const MEMBER_ID: Uuid = Uuid::from_u128(0xa_0001);
/// `00000000-0000-0000-0000-0000000a0002`: ownership of a group, in a role field.
const OWNER_ID: Uuid = Uuid::from_u128(0xa_0002);

const GROUP_SCOPE_PREFIX: &str = "/groups/";

impl GroupAccess {
    pub const ALL: [GroupAccess; 2] = [GroupAccess::Member, GroupAccess::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupAccess::Member => "member",
            GroupAccess::Owner => "owner",
        }
    }

    /// Graph's `accessId`, exactly `member` or `owner`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(GroupAccess::Member),
            "owner" => Some(GroupAccess::Owner),
            _ => None,
        }
    }

    /// The id standing for this access in a schedule's or request's `role_definition_id`.
    pub fn role_id(self) -> Uuid {
        match self {
            GroupAccess::Member => MEMBER_ID,
            GroupAccess::Owner => OWNER_ID,
        }
    }

    pub fn from_role_id(id: Uuid) -> Option<Self> {
        match id {
            MEMBER_ID => Some(GroupAccess::Member),
            OWNER_ID => Some(GroupAccess::Owner),
            _ => None,
        }
    }
}

impl fmt::Display for GroupAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Is `id` one of the ids reserved for group accesses (never a role definition's)?
pub fn is_reserved_role_id(id: Uuid) -> bool {
    GroupAccess::from_role_id(id).is_some()
}

/// The scope standing for `group` in a schedule's or request's `directory_scope_id`.
pub fn group_scope(group: Uuid) -> String {
    format!("{GROUP_SCOPE_PREFIX}{group}")
}

/// How long a group's scope is: the prefix and a hyphenated id.
pub const GROUP_SCOPE_LEN: usize = GROUP_SCOPE_PREFIX.len() + uuid::fmt::Hyphenated::LENGTH;

/// [`group_scope`] spelled into `buf`, for a bulk build (a start places hundreds of thousands
/// of group schedules: no allocation each).
pub fn group_scope_in(group: Uuid, buf: &mut [u8; GROUP_SCOPE_LEN]) -> &str {
    let (prefix, id) = buf.split_at_mut(GROUP_SCOPE_PREFIX.len());
    prefix.copy_from_slice(GROUP_SCOPE_PREFIX.as_bytes());
    group.hyphenated().encode_lower(id);
    std::str::from_utf8(buf).expect("ASCII")
}

/// What a schedule or request is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Role { role: Uuid, scope: String },
    Group { group: Uuid, access: GroupAccess },
}

impl Target {
    /// Reads a target back from role fields (see the module documentation). A reserved role id
    /// with a scope that names no group is read as a role target, which matches no role.
    pub fn of(role_definition_id: Uuid, directory_scope_id: &str) -> Target {
        if let Some(access) = GroupAccess::from_role_id(role_definition_id)
            && let Some(group) = directory_scope_id
                .strip_prefix(GROUP_SCOPE_PREFIX)
                .and_then(|g| Uuid::parse_str(g).ok())
        {
            return Target::Group { group, access };
        }
        Target::Role {
            role: role_definition_id,
            scope: directory_scope_id.to_string(),
        }
    }

    /// The role fields of this target: `(role_definition_id, directory_scope_id)`.
    pub fn fields(&self) -> (Uuid, String) {
        match self {
            Target::Role { role, scope } => (*role, scope.clone()),
            Target::Group { group, access } => (access.role_id(), group_scope(*group)),
        }
    }

    /// The group, for a group target.
    pub fn group(&self) -> Option<(Uuid, GroupAccess)> {
        match self {
            Target::Group { group, access } => Some((*group, *access)),
            Target::Role { .. } => None,
        }
    }

    pub fn is_group(&self) -> bool {
        matches!(self, Target::Group { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_targets_round_trip_through_role_fields() {
        let group = Uuid::from_u128(42);
        for access in GroupAccess::ALL {
            let target = Target::Group { group, access };
            let (role, scope) = target.fields();
            assert_eq!(scope, format!("/groups/{group}"));
            assert_eq!(group_scope_in(group, &mut [0; GROUP_SCOPE_LEN]), scope);
            assert!(is_reserved_role_id(role));
            assert_eq!(Target::of(role, &scope), target);
            assert_eq!(GroupAccess::parse(access.as_str()), Some(access));
        }
    }

    #[test]
    fn role_targets_stay_roles() {
        let role = Uuid::from_u128(7);
        let t = Target::of(role, "/groups/not-a-guid");
        assert_eq!(
            t,
            Target::Role {
                role,
                scope: "/groups/not-a-guid".into()
            }
        );
        // A real role assigned at a scope under /groups is still a role.
        let g = group_scope(Uuid::from_u128(1));
        assert!(!Target::of(role, &g).is_group());
        assert!(!Target::of(GroupAccess::Member.role_id(), "/").is_group());
        assert_eq!(GroupAccess::parse("Member"), None);
    }
}
