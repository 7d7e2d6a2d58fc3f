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
}

impl RoleSchedule {
    /// Half-open window: granted from `start` (inclusive) until `end` (exclusive).
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.start_date_time <= now && self.end_date_time.is_none_or(|end| now < end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_half_open() {
        let t = |s| DateTime::from_timestamp(s, 0).unwrap();
        let s = RoleSchedule {
            id: Uuid::nil(),
            kind: ScheduleKind::Active,
            principal_id: Uuid::nil(),
            role_definition_id: Uuid::nil(),
            directory_scope_id: "/".into(),
            start_date_time: t(100),
            end_date_time: Some(t(200)),
            assignment_type: AssignmentType::Assigned,
            created_by: None,
            created_date_time: t(0),
        };
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
