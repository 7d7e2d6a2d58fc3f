//! How many single sign-ons may be started, per client address and in all, per minute on this
//! server (threat-model rule 9). Anyone can reach `/auth/oidc/start` before proving anything,
//! and each start writes a pending sign-in to the store and may read the provider's metadata:
//! unlimited, it would let one client fill the table and take the database's writes from
//! everyone's activations. A start past the limit is refused (429) before anything is read,
//! written or audited; the callbacks of starts already made still finish.
//!
//! The per-address allowance is generous because many people share an office's address; the
//! total bounds what many addresses together can write. The counts live in memory, per server
//! (they protect this server's share of the database, and a restart forgets them harmlessly),
//! in fixed one-minute windows dated by the injected clock, which is why this is not a
//! rate-limiting crate (those read a clock of their own).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// Starts per client address per window.
pub const PER_ADDRESS: u32 = 120;
/// Starts from every address together per window.
pub const TOTAL: u32 = 3_000;
const WINDOW: TimeDelta = TimeDelta::minutes(1);

pub struct StartLimit {
    per_address: u32,
    total: u32,
    window: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    began: Option<DateTime<Utc>>,
    total: u32,
    /// At most `total` entries: an address is counted only when its start is allowed.
    by_address: HashMap<String, u32>,
}

impl Default for StartLimit {
    fn default() -> Self {
        Self::new(PER_ADDRESS, TOTAL)
    }
}

impl StartLimit {
    pub fn new(per_address: u32, total: u32) -> Self {
        Self {
            per_address,
            total,
            window: Mutex::default(),
        }
    }

    /// Whether a start from `address` (None: unknown, counted as one address) may go on now;
    /// an allowed start is counted.
    pub fn allow(&self, address: Option<&str>, now: DateTime<Utc>) -> bool {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        // A clock set back starts a new window too, rather than holding the old one for good.
        let current = w.began.is_some_and(|b| now >= b && now - b < WINDOW);
        if !current {
            *w = Window {
                began: Some(now),
                ..Window::default()
            };
        }
        if w.total >= self.total {
            return false;
        }
        let key = address.map_or_else(|| "-".to_string(), crate::auth::throttle::limit_key);
        let count = w.by_address.get(&key).copied().unwrap_or(0);
        if count >= self.per_address {
            return false;
        }
        w.by_address.insert(key, count + 1);
        w.total += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn an_address_gets_its_allowance_per_window() {
        let limit = StartLimit::new(3, 100);
        for _ in 0..3 {
            assert!(limit.allow(Some("10.0.0.1"), at(0)));
        }
        assert!(!limit.allow(Some("10.0.0.1"), at(10)), "past the allowance");
        assert!(limit.allow(Some("10.0.0.2"), at(10)), "another address");
        assert!(!limit.allow(Some("10.0.0.1"), at(59)));
        assert!(limit.allow(Some("10.0.0.1"), at(60)), "the next window");
    }

    #[test]
    fn the_total_bounds_many_addresses_together() {
        let limit = StartLimit::new(10, 5);
        for i in 0..5 {
            assert!(limit.allow(Some(&format!("10.0.0.{i}")), at(0)));
        }
        assert!(!limit.allow(Some("10.0.0.99"), at(1)));
        assert!(limit.allow(Some("10.0.0.99"), at(61)));
    }

    #[test]
    fn refusals_are_not_counted_and_unknown_addresses_share_one_allowance() {
        let limit = StartLimit::new(2, 3);
        assert!(limit.allow(None, at(0)));
        assert!(limit.allow(None, at(0)));
        for _ in 0..10 {
            assert!(!limit.allow(None, at(1)));
        }
        // The refusals above took nothing from the total.
        assert!(limit.allow(Some("10.0.0.1"), at(2)));
        assert!(
            !limit.allow(Some("10.0.0.2"), at(2)),
            "the total is reached"
        );
    }

    #[test]
    fn a_clock_set_back_opens_a_new_window() {
        let limit = StartLimit::new(1, 10);
        assert!(limit.allow(Some("a"), at(100)));
        assert!(!limit.allow(Some("a"), at(101)));
        assert!(limit.allow(Some("a"), at(50)));
    }
}
