//! Schedules read at a start, handed in batches to a thread that places them in the index while
//! the task reads on.
//!
//! A start on a million schedules kept one core busy reading and taking rows apart, and the
//! same core placing them, while the other waited on the database (BENCHMARKS.md, "The index
//! placed on a thread of its own"). A batch owns what it holds: the schedules' fixed fields in
//! a vector and their scopes back to back in one string, so a batch costs two allocations, not
//! one per schedule.

use std::ops::Range;

use chrono::{DateTime, Utc};
use eligo_core::schedule::ScheduleKind;
use eligo_store::IndexedSchedule;
use uuid::Uuid;

/// Schedules per batch: enough that handing a batch over costs nothing per schedule, few
/// enough that the thread starts placing early (a few hundred KiB a batch).
pub(super) const BATCH: usize = 4096;

/// A schedule's fields but its scope, which is a range of the batch's `scopes`.
struct Row {
    id: Uuid,
    kind: ScheduleKind,
    principal_id: Uuid,
    role_definition_id: Uuid,
    scope: Range<usize>,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    end_pending: bool,
    activated: bool,
}

#[derive(Default)]
pub(super) struct ScheduleBatch {
    rows: Vec<Row>,
    scopes: String,
}

impl ScheduleBatch {
    pub(super) fn with_capacity(rows: usize) -> Self {
        Self {
            rows: Vec::with_capacity(rows),
            scopes: String::new(),
        }
    }

    pub(super) fn push(&mut self, s: &IndexedSchedule) {
        let at = self.scopes.len();
        self.scopes.push_str(s.directory_scope_id);
        self.rows.push(Row {
            id: s.id,
            kind: s.kind,
            principal_id: s.principal_id,
            role_definition_id: s.role_definition_id,
            scope: at..self.scopes.len(),
            start: s.start,
            end: s.end,
            end_pending: s.end_pending,
            activated: s.activated,
        });
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The schedules as pushed, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = IndexedSchedule<'_>> {
        self.rows.iter().map(|r| IndexedSchedule {
            id: r.id,
            kind: r.kind,
            principal_id: r.principal_id,
            role_definition_id: r.role_definition_id,
            directory_scope_id: &self.scopes[r.scope.clone()],
            start: r.start,
            end: r.end,
            end_pending: r.end_pending,
            activated: r.activated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(n: u128, scope: &str) -> IndexedSchedule<'_> {
        IndexedSchedule {
            id: Uuid::from_u128(n),
            kind: if n.is_multiple_of(2) {
                ScheduleKind::Active
            } else {
                ScheduleKind::Eligible
            },
            principal_id: Uuid::from_u128(1_000 + n),
            role_definition_id: Uuid::from_u128(2_000 + n),
            directory_scope_id: scope,
            start: DateTime::from_timestamp(n as i64, 0).expect("a time"),
            end: n
                .is_multiple_of(3)
                .then(|| DateTime::from_timestamp(10_000, 0).expect("a time")),
            end_pending: n.is_multiple_of(5),
            activated: n.is_multiple_of(7),
        }
    }

    #[test]
    fn a_batch_gives_back_what_was_pushed_in_order() {
        let scopes = ["/", "", "/administrativeUnits/ü-1", "a:b\n", ""];
        let pushed: Vec<IndexedSchedule> = (0..40u128)
            .map(|n| schedule(n, scopes[n as usize % scopes.len()]))
            .collect();
        let mut batch = ScheduleBatch::with_capacity(4);
        for s in &pushed {
            batch.push(s);
        }
        assert_eq!(batch.len(), pushed.len());
        assert_eq!(batch.iter().collect::<Vec<_>>(), pushed);
    }
}
