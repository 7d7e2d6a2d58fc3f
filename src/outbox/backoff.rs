//! When to try a failed delivery again: exponential backoff with jitter, capped.

use chrono::{DateTime, TimeDelta, Utc};

/// The first retry comes after about this long.
const FIRST: TimeDelta = TimeDelta::seconds(2);
/// No wait is longer than this: a downstream that comes back is caught up within it.
const CAP: TimeDelta = TimeDelta::minutes(30);

/// The moment to retry after `attempts` failed attempts (1 = the first failed), with
/// `jitter` in [0, 1) spreading retries of many jobs failing together by up to +20%.
pub fn next_attempt(now: DateTime<Utc>, attempts: i64, jitter: f64) -> DateTime<Utc> {
    let exponent = attempts.clamp(1, 30) - 1;
    let base = FIRST
        .checked_mul(1i32 << exponent.min(20))
        .unwrap_or(CAP)
        .min(CAP);
    let extra = base.num_milliseconds() as f64 * 0.2 * jitter.clamp(0.0, 1.0);
    now + base + TimeDelta::milliseconds(extra as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let wait = |n| next_attempt(now, n, 0.0) - now;
        assert_eq!(wait(1), TimeDelta::seconds(2));
        assert_eq!(wait(2), TimeDelta::seconds(4));
        assert_eq!(wait(5), TimeDelta::seconds(32));
        assert_eq!(wait(12), CAP);
        assert_eq!(wait(1000), CAP);
        assert_eq!(wait(0), TimeDelta::seconds(2));
        let jittered = next_attempt(now, 1, 0.99) - now;
        assert!(jittered > TimeDelta::seconds(2) && jittered < TimeDelta::milliseconds(2400));
    }
}
