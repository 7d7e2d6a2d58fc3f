//! Access package assignments: a target holding a package under one policy, from its start to
//! its end, and what delivering it actually gave. The record of what was given is what makes
//! removal safe: an assignment takes back only what it added, and only when no other live
//! assignment still gives the same access.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::read::graph_enum;
use crate::directory::Relation;
use crate::schedule::ScheduleKind;

graph_enum! {
    /// Graph's `accessPackageAssignmentState`.
    pub enum AssignmentState {
        Delivering = "delivering",
        Delivered = "delivered",
        Expired = "expired",
        DeliveryFailed = "deliveryFailed",
        PartiallyDelivered = "partiallyDelivered",
    }
}

/// What one resource role of the package gives the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Access {
    /// Membership or ownership of a group: an Eligo relation.
    Group { group: Uuid, relation: Relation },
    /// PIM eligibility or an active assignment of a directory role at `/`: a role schedule
    /// whose origin is the assignment.
    Role { role: Uuid, schedule: ScheduleKind },
}

/// One resource role of the package as delivered to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// The package's resource role this comes from.
    pub resource_role_id: Uuid,
    pub access: Access,
    /// Delivery made this true (idempotent: a reprocess delivers what is still false).
    pub delivered: bool,
    /// The group relation existed before this assignment and no live assignment had given it:
    /// someone else gave it (a direct membership), so removing the assignment never takes it.
    /// Handed on when another assignment already shared such a relation.
    #[serde(default)]
    pub independent: bool,
    /// The role schedule this assignment created (roles only).
    #[serde(default)]
    pub schedule_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub id: Uuid,
    pub access_package_id: Uuid,
    pub assignment_policy_id: Uuid,
    pub catalog_id: Uuid,
    pub target_id: Uuid,
    pub state: AssignmentState,
    /// Graph's free-text status (`Delivered`, `Expired`, `Removed`, ...).
    pub status: String,
    pub start_date_time: DateTime<Utc>,
    /// None: no end.
    pub end_date_time: Option<DateTime<Utc>>,
    pub expired_date_time: Option<DateTime<Utc>>,
    pub created_date_time: DateTime<Utc>,
    /// The request that created it, and the last one that changed it.
    pub created_by_request: Uuid,
    pub last_request: Uuid,
    pub grants: Vec<Grant>,
}

impl Assignment {
    /// Holds the package (every state but expired): counts against a duplicate add, for
    /// separation of duties, and as another grant of the same access.
    pub fn is_live(&self) -> bool {
        self.state != AssignmentState::Expired
    }

    /// The moment the scheduler owes it an expiry, while it is live and has an end.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        self.end_date_time.filter(|_| self.is_live())
    }

    /// The state that delivery leaves: everything given, part of it, or nothing yet.
    pub fn delivery_state(&self) -> AssignmentState {
        let given = self.grants.iter().filter(|g| g.delivered).count();
        if given == self.grants.len() {
            AssignmentState::Delivered
        } else if given == 0 {
            AssignmentState::DeliveryFailed
        } else {
            AssignmentState::PartiallyDelivered
        }
    }
}

/// On delivery of a group relation: is it someone else's (existed before, and was not just
/// shared among assignments)? `others` are the same relation's grants in the target's other
/// live assignments.
pub fn independent_on_delivery(exists: bool, others: &[&Grant]) -> bool {
    exists && (others.is_empty() || others.iter().any(|g| g.independent))
}

/// On removal: take the group relation back? Only what this assignment gave (not independent)
/// and only when no other live assignment still gives it.
pub fn take_back(mine: &Grant, others: &[&Grant]) -> bool {
    mine.delivered && !mine.independent && !others.iter().any(|g| g.delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(delivered: bool, independent: bool) -> Grant {
        Grant {
            resource_role_id: Uuid::nil(),
            access: Access::Group {
                group: Uuid::from_u128(1),
                relation: Relation::Member,
            },
            delivered,
            independent,
            schedule_id: None,
        }
    }

    #[test]
    fn never_removes_what_someone_else_gave() {
        // A direct membership before any assignment: independent, never taken back.
        assert!(independent_on_delivery(true, &[]));
        assert!(!take_back(&grant(true, true), &[]));
        // Given by this assignment alone: taken back.
        assert!(!independent_on_delivery(false, &[]));
        assert!(take_back(&grant(true, false), &[]));
        // Two packages give it: the first removal keeps it, the last takes it.
        let first = grant(true, false);
        assert!(!independent_on_delivery(true, &[&first]));
        let second = grant(true, false);
        assert!(!take_back(&first, &[&second]));
        assert!(take_back(&second, &[]));
        // A direct membership shared by two assignments stays independent in both.
        let direct = grant(true, true);
        assert!(independent_on_delivery(true, &[&direct]));
        // Nothing delivered, nothing to take.
        assert!(!take_back(&grant(false, false), &[]));
    }

    #[test]
    fn delivery_state_counts_what_was_given() {
        let mut a = Assignment {
            id: Uuid::nil(),
            access_package_id: Uuid::nil(),
            assignment_policy_id: Uuid::nil(),
            catalog_id: Uuid::nil(),
            target_id: Uuid::nil(),
            state: AssignmentState::Delivering,
            status: String::new(),
            start_date_time: DateTime::<Utc>::UNIX_EPOCH,
            end_date_time: None,
            expired_date_time: None,
            created_date_time: DateTime::<Utc>::UNIX_EPOCH,
            created_by_request: Uuid::nil(),
            last_request: Uuid::nil(),
            grants: vec![grant(true, false), grant(false, false)],
        };
        assert_eq!(a.delivery_state(), AssignmentState::PartiallyDelivered);
        a.grants[1].delivered = true;
        assert_eq!(a.delivery_state(), AssignmentState::Delivered);
        a.state = AssignmentState::Expired;
        a.end_date_time = Some(DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(a.due_at(), None);
    }
}
