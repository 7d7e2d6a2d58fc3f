//! Sign-in throttling: after too many failures in a window, further attempts for that account
//! (or from that address) are refused until the window passes, whatever the password. Counted
//! in memory per server: with several servers an attacker gets at most N times the budget,
//! which is still a hard limit. Time comes from the injected clock.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

pub struct Throttle {
    window: TimeDelta,
    per_account: u32,
    per_address: u32,
    failures: Mutex<HashMap<String, (u32, DateTime<Utc>)>>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new(TimeDelta::minutes(15), 5, 50)
    }
}

impl Throttle {
    pub fn new(window: TimeDelta, per_account: u32, per_address: u32) -> Self {
        Self {
            window,
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(account: &str, address: Option<&str>) -> [(String, bool); 2] {
        [
            (format!("acct:{}", account.to_lowercase()), true),
            (format!("addr:{}", address.unwrap_or("-")), false),
        ]
    }

    /// Seconds until the caller may try again, if it is blocked now.
    pub fn blocked(&self, account: &str, address: Option<&str>, now: DateTime<Utc>) -> Option<u64> {
        let map = self.failures.lock().expect("throttle lock");
        Self::keys(account, address)
            .iter()
            .find_map(|(key, is_account)| {
                let (count, since) = map.get(key)?;
                let limit = if *is_account {
                    self.per_account
                } else {
                    self.per_address
                };
                let until = *since + self.window;
                (*count >= limit && now < until).then(|| (until - now).num_seconds().max(1) as u64)
            })
    }

    pub fn record_failure(&self, account: &str, address: Option<&str>, now: DateTime<Utc>) {
        let mut map = self.failures.lock().expect("throttle lock");
        for (key, _) in Self::keys(account, address) {
            let entry = map.entry(key).or_insert((0, now));
            if now >= entry.1 + self.window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
        // Forget old windows so the map cannot grow without bound.
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, (_, since)| now < *since + window);
        }
    }

    pub fn record_success(&self, account: &str) {
        let key = format!("acct:{}", account.to_lowercase());
        self.failures.lock().expect("throttle lock").remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit_until_window_passes() {
        let t = Throttle::new(TimeDelta::minutes(15), 3, 100);
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        for _ in 0..3 {
            assert!(t.blocked("Alice@x", Some("1.2.3.4"), now).is_none());
            t.record_failure("alice@x", Some("1.2.3.4"), now);
        }
        assert_eq!(t.blocked("ALICE@x", Some("5.6.7.8"), now), Some(900));
        assert!(
            t.blocked("bob@x", Some("1.2.3.4"), now).is_none(),
            "address limit is higher"
        );
        assert!(
            t.blocked("alice@x", None, now + TimeDelta::minutes(15))
                .is_none()
        );
        t.record_success("alice@x");
        assert!(t.blocked("alice@x", None, now).is_none());
    }

    #[test]
    fn address_limit_applies_across_accounts() {
        let t = Throttle::new(TimeDelta::minutes(15), 100, 2);
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        t.record_failure("a@x", Some("9.9.9.9"), now);
        t.record_failure("b@x", Some("9.9.9.9"), now);
        assert!(t.blocked("c@x", Some("9.9.9.9"), now).is_some());
    }
}
