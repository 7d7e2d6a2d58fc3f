//! Sign-in throttling: after too many failures in a window, further attempts for that account
//! (or from that address) are refused until the window passes, whatever the password. Counted
//! in memory per server: with several servers an attacker gets at most N times the budget,
//! which is still a hard limit. Time comes from the injected clock.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// Besides the account, what else a failure counts against: the client's address (sign-in), or
/// the session that tried (step-up: its owner's other sessions and everyone else are not
/// slowed by it).
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Address(Option<&'a str>),
    Session(&'a str),
}

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

    fn keys(account: &str, scope: Scope) -> Vec<(String, bool)> {
        let mut keys = vec![(format!("acct:{}", account.to_lowercase()), true)];
        match scope {
            Scope::Address(Some(a)) => keys.push((format!("addr:{a}"), false)),
            // No address (in-process calls): never one bucket shared by everyone.
            Scope::Address(None) => {}
            Scope::Session(hash) => keys.push((format!("session:{hash}"), false)),
        }
        keys
    }

    /// Seconds until the caller may try again, if it is blocked now.
    pub fn blocked(&self, account: &str, scope: Scope, now: DateTime<Utc>) -> Option<u64> {
        let map = self.failures.lock().expect("throttle lock");
        Self::keys(account, scope)
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

    pub fn record_failure(&self, account: &str, scope: Scope, now: DateTime<Utc>) {
        let mut map = self.failures.lock().expect("throttle lock");
        for (key, _) in Self::keys(account, scope) {
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
            assert!(
                t.blocked("Alice@x", Scope::Address(Some("1.2.3.4")), now)
                    .is_none()
            );
            t.record_failure("alice@x", Scope::Address(Some("1.2.3.4")), now);
        }
        assert_eq!(
            t.blocked("ALICE@x", Scope::Address(Some("5.6.7.8")), now),
            Some(900)
        );
        assert!(
            t.blocked("bob@x", Scope::Address(Some("1.2.3.4")), now)
                .is_none(),
            "address limit is higher"
        );
        assert!(
            t.blocked(
                "alice@x",
                Scope::Address(None),
                now + TimeDelta::minutes(15)
            )
            .is_none()
        );
        t.record_success("alice@x");
        assert!(t.blocked("alice@x", Scope::Address(None), now).is_none());
    }

    #[test]
    fn step_up_failures_count_against_their_session_not_a_shared_bucket() {
        let t = Throttle::new(TimeDelta::minutes(15), 100, 3);
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        for n in 0..3 {
            t.record_failure(&format!("u{n}@x"), Scope::Session("s1"), now);
        }
        assert!(t.blocked("v@x", Scope::Session("s1"), now).is_some());
        assert!(t.blocked("v@x", Scope::Session("s2"), now).is_none());
        assert!(t.blocked("v@x", Scope::Address(None), now).is_none());
    }

    #[test]
    fn address_limit_applies_across_accounts() {
        let t = Throttle::new(TimeDelta::minutes(15), 100, 2);
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        t.record_failure("a@x", Scope::Address(Some("9.9.9.9")), now);
        t.record_failure("b@x", Scope::Address(Some("9.9.9.9")), now);
        assert!(
            t.blocked("c@x", Scope::Address(Some("9.9.9.9")), now)
                .is_some()
        );
    }
}
