//! The only place Eligo reads the ambient clock. Everything else asks a `Clock`, so tests drive
//! time with `MockClock::advance` instead of sleeping, and expiry logic can be tested at the
//! exact instant an access ends.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

pub trait Clock: Send + Sync + 'static {
    /// Now, truncated to the microsecond the store keeps.
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the wall clock
    fn now(&self) -> DateTime<Utc> {
        eligo_core::audit::truncate_to_micros(Utc::now())
    }
}

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct MockClock(Mutex<DateTime<Utc>>);

impl MockClock {
    pub fn at(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.0.lock().expect("clock lock");
        *now += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = to;
    }
}

impl Clock for MockClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// How far this server's clock is from another's (the database's), read between two
/// readings of ours: the other clock was read at some instant between `before` and `after`,
/// so it is compared with their midpoint, give or take half the interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skew {
    /// The other clock minus ours (positive: ours is behind), in milliseconds.
    pub ms: i64,
    /// Half the time the reading took, in milliseconds: the skew is `ms` give or take this.
    pub within_ms: i64,
}

impl Skew {
    /// Beyond this, two servers' decisions about the same instant (is this activation over?)
    /// differ noticeably: reported, and logged as a warning.
    pub const TOLERATED_MS: i64 = 1000;

    pub fn measure(before: DateTime<Utc>, other: DateTime<Utc>, after: DateTime<Utc>) -> Self {
        let half = (after - before) / 2;
        Self {
            ms: (other - (before + half)).num_milliseconds(),
            within_ms: half.num_milliseconds(),
        }
    }

    /// Off by more than tolerated even at the reading's most favourable instant.
    pub fn is_too_large(&self) -> bool {
        self.ms.abs() - self.within_ms > Self::TOLERATED_MS
    }
}

/// Elapsed-time measurement for metrics and benchmarks, which want real durations.
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    #[allow(clippy::disallowed_methods)] // measuring latency, not deciding anything
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn a_skew_is_read_against_the_midpoint_of_our_two_readings() {
        // Ours read 0 and 40; theirs 1,520: at our midpoint (20) theirs is 1,500 ahead.
        let s = Skew::measure(at(0), at(1520), at(40));
        assert_eq!(
            s,
            Skew {
                ms: 1500,
                within_ms: 20
            }
        );
        assert!(s.is_too_large());
        let behind = Skew::measure(at(0), at(-900), at(0));
        assert_eq!(behind.ms, -900);
        assert!(!behind.is_too_large());
        // 1,100 off, but the reading took 400: it may have been 900 off.
        assert!(!Skew::measure(at(0), at(1300), at(400)).is_too_large());
        assert!(Skew::measure(at(0), at(-1300), at(20)).is_too_large());
    }
}
