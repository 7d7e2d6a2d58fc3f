//! Subject sets: who a policy names as allowed requestors, on-behalf requestors, approvers or
//! reviewers. Graph's polymorphic `subjectSet`, told apart by `@odata.type`. A set is resolved
//! against facts at the moment of a decision (groups change, managers change); some sets name
//! people relative to someone else (the requestor's manager), so resolution takes both.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};
use uuid::Uuid;

use super::read::odata_type;
use super::requestor::PrincipalFacts;
use crate::invalid::Invalid;

/// The highest `managerLevel` Graph allows: 1 is the manager, 2 the manager's manager.
pub const MAX_MANAGER_LEVEL: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectSet {
    SingleUser {
        user_id: Uuid,
        description: Option<String>,
    },
    /// Eligo: a named service principal, for `specificDirectoryServicePrincipals`.
    SingleServicePrincipal {
        service_principal_id: Uuid,
        description: Option<String>,
    },
    GroupMembers {
        group_id: Uuid,
        description: Option<String>,
    },
    /// The manager of the person the set is resolved for, `manager_level` steps up.
    RequestorManager {
        manager_level: u8,
    },
    InternalSponsors,
    ExternalSponsors,
    TargetUserSponsors,
    /// Read so that it round-trips and can be refused by name: Eligo has no dynamic rules.
    AttributeRuleMembers {
        membership_rule: String,
    },
    /// Read so that it can be refused by name: Eligo has no connected organizations.
    ConnectedOrganizationMembers {
        connected_organization_id: String,
    },
}

/// Where a set is used: each place accepts some kinds only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// `specificAllowedTargets`: principals named absolutely.
    AllowedTargets,
    /// `onBehalfRequestors`, approvers, reviewers: may be relative to the target.
    Relative,
}

impl SubjectSet {
    pub fn type_name(&self) -> &'static str {
        match self {
            SubjectSet::SingleUser { .. } => "singleUser",
            SubjectSet::SingleServicePrincipal { .. } => "singleServicePrincipal",
            SubjectSet::GroupMembers { .. } => "groupMembers",
            SubjectSet::RequestorManager { .. } => "requestorManager",
            SubjectSet::InternalSponsors => "internalSponsors",
            SubjectSet::ExternalSponsors => "externalSponsors",
            SubjectSet::TargetUserSponsors => "targetUserSponsors",
            SubjectSet::AttributeRuleMembers { .. } => "attributeRuleMembers",
            SubjectSet::ConnectedOrganizationMembers { .. } => "connectedOrganizationMembers",
        }
    }

    /// Does this set contain `candidate`, for a decision concerning `subject` (the target of
    /// a request, whose manager `requestorManager` names)? Sponsors are nobody: Eligo keeps
    /// no sponsors yet, so a stage naming only them goes to its fallback approvers.
    pub fn contains(&self, candidate: &PrincipalFacts, subject: &PrincipalFacts) -> bool {
        match self {
            SubjectSet::SingleUser { user_id, .. } => candidate.id == *user_id,
            SubjectSet::SingleServicePrincipal {
                service_principal_id,
                ..
            } => candidate.id == *service_principal_id,
            SubjectSet::GroupMembers { group_id, .. } => candidate.groups.contains(group_id),
            SubjectSet::RequestorManager { manager_level } => subject
                .managers
                .get(usize::from(*manager_level).saturating_sub(1))
                .is_some_and(|m| *m == candidate.id),
            SubjectSet::InternalSponsors
            | SubjectSet::ExternalSponsors
            | SubjectSet::TargetUserSponsors => subject.sponsors.contains(&candidate.id),
            SubjectSet::AttributeRuleMembers { .. }
            | SubjectSet::ConnectedOrganizationMembers { .. } => false,
        }
    }

    /// The directory objects the set names, to check that they exist: (id, is a group).
    pub fn names(&self) -> Option<(Uuid, NamedKind)> {
        match self {
            SubjectSet::SingleUser { user_id, .. } => Some((*user_id, NamedKind::User)),
            SubjectSet::SingleServicePrincipal {
                service_principal_id,
                ..
            } => Some((*service_principal_id, NamedKind::ServicePrincipal)),
            SubjectSet::GroupMembers { group_id, .. } => Some((*group_id, NamedKind::Group)),
            _ => None,
        }
    }

    /// The rules a set breaks where it is used (`at` is its path in the body).
    pub fn check(&self, used: Use, at: &str, problems: &mut Vec<Invalid>) {
        match self {
            SubjectSet::AttributeRuleMembers { .. } => problems.push(Invalid::new(
                "UnsupportedSubjectSet",
                at,
                "attributeRuleMembers is not supported: Eligo has no dynamic membership rules; name a group instead",
            )),
            SubjectSet::ConnectedOrganizationMembers { .. } => problems.push(Invalid::new(
                "UnsupportedSubjectSet",
                at,
                "connectedOrganizationMembers is not supported: Eligo has no connected organizations",
            )),
            SubjectSet::RequestorManager { manager_level }
                if !(1..=MAX_MANAGER_LEVEL).contains(manager_level) =>
            {
                problems.push(Invalid::new(
                    "InvalidManagerLevel",
                    format!("{at}.managerLevel"),
                    "must be 1 (the manager) or 2 (the manager's manager)",
                ))
            }
            SubjectSet::RequestorManager { .. }
            | SubjectSet::InternalSponsors
            | SubjectSet::ExternalSponsors
            | SubjectSet::TargetUserSponsors
                if used == Use::AllowedTargets =>
            {
                problems.push(Invalid::new(
                    "InvalidSubjectSet",
                    at,
                    format!(
                        "{} names people relative to a requestor; who may be assigned is named with singleUser, singleServicePrincipal or groupMembers (a manager who requests for their reports belongs in requestorSettings.onBehalfRequestors)",
                        self.type_name()
                    ),
                ))
            }
            _ => {}
        }
    }
}

/// What kind of directory object a set names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedKind {
    User,
    ServicePrincipal,
    Group,
}

/// Checks every set of a list (`at` is the list's path).
pub fn check_all(sets: &[SubjectSet], used: Use, at: &str, problems: &mut Vec<Invalid>) {
    if sets.len() > 50 {
        problems.push(Invalid::new("TooManySubjectSets", at, "at most 50"));
    }
    for (i, s) in sets.iter().enumerate() {
        s.check(used, &format!("{at}[{i}]"), problems);
    }
}

impl Serialize for SubjectSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = format!("#microsoft.graph.{}", self.type_name());
        let mut v = match self {
            SubjectSet::SingleUser {
                user_id,
                description,
            } => json!({ "userId": user_id, "description": description }),
            SubjectSet::SingleServicePrincipal {
                service_principal_id,
                description,
            } => json!({ "servicePrincipalId": service_principal_id, "description": description }),
            SubjectSet::GroupMembers {
                group_id,
                description,
            } => json!({ "groupId": group_id, "description": description }),
            SubjectSet::RequestorManager { manager_level } => {
                json!({ "managerLevel": manager_level })
            }
            SubjectSet::AttributeRuleMembers { membership_rule } => {
                json!({ "membershipRule": membership_rule })
            }
            SubjectSet::ConnectedOrganizationMembers {
                connected_organization_id,
            } => json!({ "connectedOrganizationId": connected_organization_id }),
            _ => json!({}),
        };
        v["@odata.type"] = Value::String(t);
        v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SubjectSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let Some(kind) = odata_type(&v) else {
            return Err(D::Error::custom(
                "a subject set needs its @odata.type (e.g. #microsoft.graph.singleUser)",
            ));
        };
        let id = |field: &str| -> Result<Uuid, D::Error> {
            let text = v
                .get(field)
                .and_then(Value::as_str)
                .ok_or_else(|| D::Error::custom(format!("{kind} needs {field}")))?;
            Uuid::parse_str(text)
                .map_err(|_| D::Error::custom(format!("{field} '{text}' is not a GUID")))
        };
        let text = |field: &str| v.get(field).and_then(Value::as_str).map(String::from);
        let set = match kind.to_ascii_lowercase().as_str() {
            "singleuser" => SubjectSet::SingleUser {
                user_id: id("userId")?,
                description: text("description"),
            },
            "singleserviceprincipal" => SubjectSet::SingleServicePrincipal {
                service_principal_id: id("servicePrincipalId")?,
                description: text("description"),
            },
            "groupmembers" => SubjectSet::GroupMembers {
                group_id: id("groupId")?,
                description: text("description"),
            },
            "requestormanager" => SubjectSet::RequestorManager {
                manager_level: match v.get("managerLevel") {
                    None | Some(Value::Null) => 1,
                    Some(n) => n
                        .as_u64()
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| D::Error::custom("managerLevel must be 1 or 2"))?,
                },
            },
            "internalsponsors" => SubjectSet::InternalSponsors,
            "externalsponsors" => SubjectSet::ExternalSponsors,
            "targetusersponsors" => SubjectSet::TargetUserSponsors,
            "attributerulemembers" => SubjectSet::AttributeRuleMembers {
                membership_rule: text("membershipRule").unwrap_or_default(),
            },
            "connectedorganizationmembers" => SubjectSet::ConnectedOrganizationMembers {
                connected_organization_id: text("connectedOrganizationId").unwrap_or_default(),
            },
            _ => {
                return Err(D::Error::custom(format!(
                    "'{kind}' is not a subject set Eligo knows (singleUser, singleServicePrincipal, groupMembers, requestorManager, internalSponsors, externalSponsors, targetUserSponsors)"
                )));
            }
        };
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(v: Value) -> Result<SubjectSet, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn every_spelling_of_the_type_reads() {
        let id = "62e90394-69f5-4237-9190-012177145e10";
        for t in [
            "#microsoft.graph.singleUser",
            "microsoft.graph.singleUser",
            "#microsoft.graph.SingleUser",
            "singleUser",
        ] {
            assert_eq!(
                read(json!({"@odata.type": t, "userId": id})).unwrap(),
                SubjectSet::SingleUser {
                    user_id: Uuid::parse_str(id).unwrap(),
                    description: None
                },
                "{t}"
            );
        }
        assert_eq!(
            read(json!({"@odata.type": "#microsoft.graph.requestorManager"})).unwrap(),
            SubjectSet::RequestorManager { manager_level: 1 }
        );
        assert!(read(json!({"userId": id})).is_err(), "no type");
        assert!(
            read(json!({"@odata.type": "#microsoft.graph.everyone"}))
                .unwrap_err()
                .contains("everyone")
        );
        assert!(
            read(json!({"@odata.type": "#microsoft.graph.singleUser", "userId": "x"})).is_err()
        );
    }

    #[test]
    fn round_trips_as_graph_writes_it() {
        let set = SubjectSet::GroupMembers {
            group_id: Uuid::from_u128(7),
            description: Some("Help desk".into()),
        };
        let v = serde_json::to_value(&set).unwrap();
        assert_eq!(v["@odata.type"], "#microsoft.graph.groupMembers");
        assert_eq!(read(v).unwrap(), set);
    }

    #[test]
    fn places_accept_their_kinds() {
        let mut p = Vec::new();
        SubjectSet::RequestorManager { manager_level: 1 }.check(Use::AllowedTargets, "x", &mut p);
        SubjectSet::RequestorManager { manager_level: 3 }.check(Use::Relative, "y", &mut p);
        SubjectSet::AttributeRuleMembers {
            membership_rule: "user.department -eq \"Sales\"".into(),
        }
        .check(Use::Relative, "z", &mut p);
        SubjectSet::RequestorManager { manager_level: 2 }.check(Use::Relative, "ok", &mut p);
        let codes: Vec<_> = p.iter().map(|i| (i.code, i.target.as_str())).collect();
        assert_eq!(
            codes,
            [
                ("InvalidSubjectSet", "x"),
                ("InvalidManagerLevel", "y.managerLevel"),
                ("UnsupportedSubjectSet", "z")
            ]
        );
    }
}
