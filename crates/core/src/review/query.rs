//! The queries an access review definition names its scope and its reviewers with. Graph
//! writes both as Microsoft Graph URLs (`/groups/{id}/transitiveMembers`,
//! `/roleManagement/directory/roleEligibilityScheduleInstances?$filter=...`); Eligo reads the
//! ones it can honour into what they mean, and refuses every other with the list it accepts,
//! so that a review never silently covers something else than its author meant.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a review looks at: whose access to what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Reviewed {
    /// The members of a group; `transitive`: members through nested groups too (flattened to
    /// the people and service principals at the bottom).
    GroupMembers { group_id: Uuid, transitive: bool },
    /// Who holds a directory role: eligibilities, active assignments, or both.
    Role {
        role_id: Uuid,
        eligible: bool,
        active: bool,
    },
    /// PIM for Groups eligibilities (member and owner) of a group.
    GroupEligibility { group_id: Uuid },
    /// The live assignments of an access package.
    PackageAssignments { package_id: Uuid },
}

impl Reviewed {
    /// The directory object the review is about (a group, a role, a package).
    pub fn resource_id(&self) -> Uuid {
        match *self {
            Reviewed::GroupMembers { group_id, .. } | Reviewed::GroupEligibility { group_id } => {
                group_id
            }
            Reviewed::Role { role_id, .. } => role_id,
            Reviewed::PackageAssignments { package_id } => package_id,
        }
    }
}

/// A parsed scope: what, and whether only users (Graph's `isof(principal, 'microsoft.graph.user')`
/// or a `/microsoft.graph.user` cast) are in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeQuery {
    pub reviewed: Reviewed,
    pub users_only: bool,
}

/// The query forms Eligo honours, for the error that refuses another.
pub const SCOPE_FORMS: &str = "/groups/{id}/members, /groups/{id}/transitiveMembers, \
/roleManagement/directory/roleDefinitions/{id}, \
/roleManagement/directory/roleEligibilityScheduleInstances?$filter=roleDefinitionId eq '{id}', \
/roleManagement/directory/roleAssignmentScheduleInstances?$filter=assignmentType eq 'Assigned' and roleDefinitionId eq '{id}', \
/identityGovernance/privilegedAccess/group/eligibilityScheduleInstances?$filter=groupId eq '{id}', \
/identityGovernance/entitlementManagement/assignments?$filter=accessPackage/id eq '{id}'";

/// Strips `https://graph.microsoft.com`, `/v1.0`, `/beta` and a trailing slash.
fn path_and_query(query: &str) -> (String, String) {
    let q = query.trim();
    let q = q
        .strip_prefix("https://graph.microsoft.com")
        .unwrap_or(q)
        .trim_start_matches('/');
    let q = q
        .strip_prefix("v1.0/")
        .or_else(|| q.strip_prefix("beta/"))
        .unwrap_or(q);
    let (path, filter) = q.split_once('?').unwrap_or((q, ""));
    (
        path.trim_end_matches('/').to_ascii_lowercase(),
        filter.to_string(),
    )
}

/// `name eq '<guid>'` inside a `$filter` (any case, with or without spaces around `eq`).
fn filter_id(filter: &str, name: &str) -> Option<Uuid> {
    let lower = filter.to_ascii_lowercase();
    let at = lower.find(&format!("{} eq", name.to_ascii_lowercase()))?;
    let rest = &filter[at + name.len()..];
    let open = rest.find('\'')?;
    let rest = &rest[open + 1..];
    let close = rest.find('\'')?;
    Uuid::parse_str(&rest[..close]).ok()
}

const USER_CAST: &str = "microsoft.graph.user";

/// Reads a scope query; None when Eligo does not honour it.
pub fn parse_scope(query: &str) -> Option<ScopeQuery> {
    let (path, filter) = path_and_query(query);
    let users_only = path.ends_with(USER_CAST) || filter.to_ascii_lowercase().contains(USER_CAST);
    let path = path
        .trim_end_matches(USER_CAST)
        .trim_end_matches('/')
        .to_string();
    let parts: Vec<&str> = path.split('/').collect();
    let reviewed = match parts.as_slice() {
        ["groups", id, rel] if *rel == "members" || *rel == "transitivemembers" => {
            Reviewed::GroupMembers {
                group_id: Uuid::parse_str(id).ok()?,
                transitive: *rel == "transitivemembers",
            }
        }
        ["rolemanagement", "directory", "roledefinitions", id] => Reviewed::Role {
            role_id: Uuid::parse_str(id).ok()?,
            eligible: true,
            active: true,
        },
        [
            "rolemanagement",
            "directory",
            "roleeligibilityscheduleinstances",
        ] => Reviewed::Role {
            role_id: filter_id(&filter, "roleDefinitionId")?,
            eligible: true,
            active: false,
        },
        [
            "rolemanagement",
            "directory",
            "roleassignmentscheduleinstances",
        ] => {
            // Only assignments made by an administrator: activations are reviewed through the
            // eligibility they come from.
            let lower = filter.to_ascii_lowercase().replace(' ', "");
            if !lower.contains("assignmenttypeeq'assigned'") {
                return None;
            }
            Reviewed::Role {
                role_id: filter_id(&filter, "roleDefinitionId")?,
                eligible: false,
                active: true,
            }
        }
        [
            "identitygovernance",
            "privilegedaccess",
            "group",
            "eligibilityscheduleinstances",
        ] => Reviewed::GroupEligibility {
            group_id: filter_id(&filter, "groupId")?,
        },
        ["identitygovernance", "entitlementmanagement", "assignments"] => {
            Reviewed::PackageAssignments {
                package_id: filter_id(&filter, "accessPackage/id")?,
            }
        }
        _ => return None,
    };
    Some(ScopeQuery {
        reviewed,
        users_only,
    })
}

/// Who reviews, as a definition names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ReviewerQuery {
    User {
        user_id: Uuid,
    },
    GroupOwners {
        group_id: Uuid,
    },
    /// Members of a group, nested ones included.
    GroupMembers {
        group_id: Uuid,
    },
    /// The manager of the person whose access is reviewed (`./manager`, queryRoot decisions).
    Manager,
}

pub const REVIEWER_FORMS: &str = "/users/{id}, /groups/{id}/owners, /groups/{id}/members, /groups/{id}/transitiveMembers, ./manager";

/// Reads a reviewer query (`queryRoot` only matters for `./manager`, where it must be
/// `decisions` or absent); None when Eligo does not honour it.
pub fn parse_reviewer(query: &str, query_root: Option<&str>) -> Option<ReviewerQuery> {
    let trimmed = query.trim();
    if trimmed.eq_ignore_ascii_case("./manager") {
        return match query_root {
            None => Some(ReviewerQuery::Manager),
            Some(root) if root.eq_ignore_ascii_case("decisions") => Some(ReviewerQuery::Manager),
            Some(_) => None,
        };
    }
    let (path, filter) = path_and_query(trimmed);
    if !filter.is_empty() {
        return None;
    }
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["users", id] => Some(ReviewerQuery::User {
            user_id: Uuid::parse_str(id).ok()?,
        }),
        ["groups", id, "owners"] => Some(ReviewerQuery::GroupOwners {
            group_id: Uuid::parse_str(id).ok()?,
        }),
        ["groups", id, rel] if *rel == "members" || *rel == "transitivemembers" => {
            Some(ReviewerQuery::GroupMembers {
                group_id: Uuid::parse_str(id).ok()?,
            })
        }
        _ => None,
    }
}

/// The reviewers a decision ends up with: the primary ones, or the fallback ones when the
/// primary resolve to nobody; never the reviewed principal themselves unless the review is a
/// self-review (then only they review), and never anyone in `holders_through`: those who hold
/// the reviewed access through the principal (the members of a reviewed group), whose own
/// access the decision is as well.
pub fn pick_reviewers(
    principal: Uuid,
    holders_through: &[Uuid],
    self_review: bool,
    primary: Vec<Uuid>,
    fallback: Vec<Uuid>,
) -> Vec<Uuid> {
    if self_review {
        return vec![principal];
    }
    let clean = |mut ids: Vec<Uuid>| {
        ids.retain(|id| *id != principal && !holders_through.contains(id));
        ids.sort();
        ids.dedup();
        ids
    };
    let primary = clean(primary);
    if primary.is_empty() {
        clean(fallback)
    } else {
        primary
    }
}
