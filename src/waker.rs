//! Waking a sleeping background loop early, only when it must.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// Wakes a background loop (the scheduler, the outbox worker) when a write creates work due before the moment it planned to look
/// next (most writes do not: an activation ending in an hour needs no wake-up now).
pub struct Waker {
    pub(crate) notify: Notify,
    /// The loop's next planned look, in microseconds; `i64::MIN` until the loop has planned.
    pub(crate) planned: AtomicI64,
}

impl Default for Waker {
    fn default() -> Self {
        Self {
            notify: Notify::new(),
            planned: AtomicI64::new(i64::MIN),
        }
    }
}

impl Waker {
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Something falls due at `due`: wake the loop if it planned to look later than that.
    pub fn due_at(&self, due: Option<DateTime<Utc>>) {
        let planned = self.planned.load(Ordering::Acquire);
        if let Some(due) = due
            && (planned == i64::MIN || due.timestamp_micros() < planned)
        {
            self.notify.notify_one();
        }
    }

    pub(crate) fn plan(&self, at: DateTime<Utc>) {
        self.planned.store(at.timestamp_micros(), Ordering::Release);
    }
}
