//! Role schedules: what a principal is eligible for or holds actively, at which scope, and for
//! which half-open window `[start, end)`. Access whose end has passed is never granted, even
//! before any expiry job has run: every read goes through `is_current`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScheduleKind {
    Eligible,
    Active,
}

impl ScheduleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::Eligible => "eligible",
            ScheduleKind::Active => "active",
        }
    }
}

/// How an active assignment came to be: given by an administrator, or activated by its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssignmentType {
    Assigned,
    Activated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleSchedule {
    pub id: Uuid,
    pub kind: ScheduleKind,
    pub principal_id: Uuid,
    pub role_definition_id: Uuid,
    pub directory_scope_id: String,
    pub start_date_time: DateTime<Utc>,
    /// None: permanent.
    pub end_date_time: Option<DateTime<Utc>>,
    pub assignment_type: AssignmentType,
    pub created_by: Option<Uuid>,
    pub created_date_time: DateTime<Utc>,
    /// The schedule request that created (or last changed) this schedule.
    #[serde(default)]
    pub created_using: Option<Uuid>,
    /// For an activation: the eligibility schedule it was activated from.
    #[serde(default)]
    pub linked_eligibility_id: Option<Uuid>,
    /// The start lay in the future when granted and the scheduler has not yet announced it.
    #[serde(default)]
    pub start_pending: bool,
    /// The schedule has an end that the scheduler has not yet processed (nor a deactivation).
    #[serde(default)]
    pub end_pending: bool,
}

impl RoleSchedule {
    /// What this schedule gives: a role at a scope, or a group membership or ownership.
    pub fn target(&self) -> crate::target::Target {
        crate::target::Target::of(self.role_definition_id, &self.directory_scope_id)
    }

    /// A new schedule granted at `now`; the scheduler owes it a start notice when it starts
    /// later and an expiry when it has an end.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: Uuid,
        kind: ScheduleKind,
        principal_id: Uuid,
        role_definition_id: Uuid,
        directory_scope_id: impl Into<String>,
        window: (DateTime<Utc>, Option<DateTime<Utc>>),
        assignment_type: AssignmentType,
        created_by: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Self {
        let (start, end) = window;
        Self {
            id,
            kind,
            principal_id,
            role_definition_id,
            directory_scope_id: directory_scope_id.into(),
            start_date_time: start,
            end_date_time: end,
            assignment_type,
            created_by,
            created_date_time: now,
            created_using: None,
            linked_eligibility_id: None,
            start_pending: start > now,
            end_pending: end.is_some(),
        }
    }

    /// Has this schedule ended (or been cut short) by `now`? Ended schedules are kept for the
    /// record but never grant.
    pub fn has_ended(&self, now: DateTime<Utc>) -> bool {
        self.end_date_time.is_some_and(|end| end <= now)
    }

    /// Half-open window: granted from `start` (inclusive) until `end` (exclusive).
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.start_date_time <= now && self.end_date_time.is_none_or(|end| now < end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the window, at or after its end a schedule never grants, and before its
        /// start neither.
        #[test]
        fn ended_access_never_grants(start in 0i64..10_000, len in 0i64..10_000, at in 0i64..30_000) {
            let t = |s| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
            let s = RoleSchedule::new(
                Uuid::nil(), ScheduleKind::Active, Uuid::nil(), Uuid::nil(), "/",
                (t(start), Some(t(start + len))), AssignmentType::Activated, None, t(0),
            );
            let now = t(at);
            if at >= start + len || at < start {
                prop_assert!(!s.is_current(now));
            } else {
                prop_assert!(s.is_current(now));
            }
            prop_assert_eq!(s.has_ended(now), at >= start + len);
        }
    }

    #[test]
    fn window_is_half_open() {
        let t = |s| DateTime::from_timestamp(s, 0).unwrap();
        let s = RoleSchedule::new(
            Uuid::nil(),
            ScheduleKind::Active,
            Uuid::nil(),
            Uuid::nil(),
            "/",
            (t(100), Some(t(200))),
            AssignmentType::Assigned,
            None,
            t(0),
        );
        assert!(!s.is_current(t(99)));
        assert!(s.is_current(t(100)));
        assert!(s.is_current(t(199)));
        assert!(!s.is_current(t(200)), "ended access never grants");
        assert!(
            RoleSchedule {
                end_date_time: None,
                ..s
            }
            .is_current(t(10_000))
        );
    }
}
