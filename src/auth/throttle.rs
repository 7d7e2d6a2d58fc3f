//! Sign-in throttling: after too many failures in a window, further attempts for that account
//! (or from that address) are refused until the window passes, whatever the password. The
//! counts live in the store (`Store::throttle_*`, a row per key with its count and window
//! start), written in each failure's own small transaction and read at every sign-in, so every
//! server on one database sees the same counts: N servers give a guesser the budget of one.
//! Each server keeps a copy of the counts it last read or wrote, only for the re-check made
//! after waiting for a password-hashing slot (`blocked_as_seen`), which must not add a query
//! to every queued attempt. Time comes from the injected clock.
//!
//! [`FailureBursts`] keeps the audit trail of failures from becoming the attacker's lever: a
//! guesser's every attempt would otherwise be one serialized audit write. The first failure of
//! a burst is written at once (nobody hides by failing fast); further ones with the same
//! activity, account, address or session and reason are counted in memory and written as one
//! entry (`failureCount`) when the burst ends, every window while it lasts, before the
//! account's next successful sign-in, and at graceful shutdown. Those counts stay per server:
//! they decide only how failures are grouped in the trail, never whether one is refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::audit::AuditEvent;
use eligo_store::{Store, StoreError};

/// Besides the account, what else a failure counts against: the client's address (sign-in), or
/// the session that tried (step-up: its owner's other sessions and everyone else are not
/// slowed by it).
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Address(Option<&'a str>),
    Session(&'a str),
}

/// What a limit per client address counts `address` under: an IPv4 address itself, an IPv6
/// address by its /64 (one subscriber's network: whoever has one address of it has them all,
/// and would otherwise get a fresh allowance per address). Text that is no address counts as
/// itself.
pub fn limit_key(address: &str) -> String {
    match address.parse::<IpAddr>() {
        // An IPv4-mapped IPv6 address counts as the IPv4 address it carries.
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Ok(IpAddr::V6(v6)) => ipnet::Ipv6Net::new(v6, 64)
            .map(|net| net.trunc().to_string())
            .unwrap_or_else(|_| address.to_string()),
        Ok(v4) => v4.to_string(),
        Err(_) => address.to_string(),
    }
}

pub struct Throttle {
    window: TimeDelta,
    per_account: u32,
    per_address: u32,
    /// The counts this server last read or wrote, by key (see the module's text).
    seen: Mutex<HashMap<String, (u32, DateTime<Utc>)>>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new(TimeDelta::minutes(15), 5, 50)
    }
}

/// Keys remembered at most in the copy; past that, the oldest windows are forgotten.
const MAX_SEEN: usize = 100_000;

impl Throttle {
    pub fn new(window: TimeDelta, per_account: u32, per_address: u32) -> Self {
        Self {
            window,
            per_account,
            per_address,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn keys(account: &str, scope: Scope) -> Vec<(String, bool)> {
        let mut keys = vec![(format!("acct:{}", account.to_lowercase()), true)];
        match scope {
            Scope::Address(Some(a)) => keys.push((format!("addr:{}", limit_key(a)), false)),
            // No address (in-process calls): never one bucket shared by everyone.
            Scope::Address(None) => {}
            Scope::Session(hash) => keys.push((format!("session:{hash}"), false)),
        }
        keys
    }

    fn names(keys: &[(String, bool)]) -> Vec<String> {
        keys.iter().map(|(k, _)| k.clone()).collect()
    }

    /// Seconds until the caller may try again, if it is blocked now: the store's counts, as
    /// every server sees them.
    pub async fn blocked(
        &self,
        store: &dyn Store,
        account: &str,
        scope: Scope<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let keys = Self::keys(account, scope);
        let counts = store
            .throttle_counts(&Self::names(&keys), now - self.window)
            .await?;
        let mut seen = self.seen.lock().expect("throttle lock");
        for (key, _) in &keys {
            seen.remove(key);
        }
        for (key, failures, since) in counts {
            seen.insert(key, (u32::try_from(failures).unwrap_or(u32::MAX), since));
        }
        Ok(self.verdict(&seen, &keys, now))
    }

    /// As [`Self::blocked`], from the counts this server last read or wrote (no query).
    pub fn blocked_as_seen(&self, account: &str, scope: Scope, now: DateTime<Utc>) -> Option<u64> {
        let seen = self.seen.lock().expect("throttle lock");
        self.verdict(&seen, &Self::keys(account, scope), now)
    }

    fn verdict(
        &self,
        seen: &HashMap<String, (u32, DateTime<Utc>)>,
        keys: &[(String, bool)],
        now: DateTime<Utc>,
    ) -> Option<u64> {
        keys.iter().find_map(|(key, is_account)| {
            let (count, since) = seen.get(key)?;
            let limit = if *is_account {
                self.per_account
            } else {
                self.per_address
            };
            let until = *since + self.window;
            (*count >= limit && now < until).then(|| (until - now).num_seconds().max(1) as u64)
        })
    }

    /// Counts a failure in the store (its own small transaction), and in this server's copy.
    pub async fn record_failure(
        &self,
        store: &dyn Store,
        account: &str,
        scope: Scope<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let keys = Self::keys(account, scope);
        store
            .throttle_failure(&Self::names(&keys), now, self.window)
            .await?;
        let mut seen = self.seen.lock().expect("throttle lock");
        for (key, _) in keys {
            let entry = seen.entry(key).or_insert((0, now));
            if now >= entry.1 + self.window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
        // Forget old windows so the copy cannot grow without bound.
        if seen.len() > MAX_SEEN {
            let window = self.window;
            seen.retain(|_, (_, since)| now < *since + window);
        }
        Ok(())
    }

    /// Wrong second-factor codes sent with the account's right password (by whoever has the
    /// password): counted apart from password failures, which let the whole proof through, so
    /// that the code cannot be guessed at the pace of the hashing threads. Seconds until a code
    /// may be tried again, if none may now. Only someone who knows the password can fill it,
    /// and a passkey still signs the owner in meanwhile.
    pub async fn codes_blocked(
        &self,
        store: &dyn Store,
        user: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let key = Self::code_key(user);
        let counts = store
            .throttle_counts(std::slice::from_ref(&key), now - self.window)
            .await?;
        Ok(counts.into_iter().find_map(|(_, failures, since)| {
            let until = since + self.window;
            (failures >= i64::from(self.per_account) && now < until)
                .then(|| (until - now).num_seconds().max(1) as u64)
        }))
    }

    /// Counts a wrong code sent with the right password (see [`Self::codes_blocked`]).
    pub async fn record_wrong_code(
        &self,
        store: &dyn Store,
        user: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        store
            .throttle_failure(&[Self::code_key(user)], now, self.window)
            .await
    }

    fn code_key(user: uuid::Uuid) -> String {
        format!("code:{user}")
    }

    /// The account signed in: its failures are forgotten (its address's are not).
    pub async fn record_success(&self, store: &dyn Store, account: &str) -> Result<(), StoreError> {
        let key = format!("acct:{}", account.to_lowercase());
        store.throttle_clear(&key).await?;
        self.seen.lock().expect("throttle lock").remove(&key);
        Ok(())
    }

    /// Forgets the stored windows that are over (any server may do it; it changes no answer).
    pub async fn prune(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<u64, StoreError> {
        store.prune_throttle(now - self.window).await
    }
}

/// One burst of failures with the same key.
struct Burst {
    /// The account as typed (lowercase), so a success can flush what it counted.
    account: String,
    /// The latest failure, written or counted.
    last: DateTime<Utc>,
    /// When this key's last entry was written.
    written: DateTime<Utc>,
    /// Failures counted since then, the first of them, and the latest one's event.
    pending: u32,
    first_pending: Option<DateTime<Utc>>,
    template: Option<AuditEvent>,
}

impl Burst {
    fn new(account: String, now: DateTime<Utc>) -> Self {
        Self {
            account,
            last: now,
            written: now,
            pending: 0,
            first_pending: None,
            template: None,
        }
    }

    fn count(&mut self, event: AuditEvent, now: DateTime<Utc>) {
        self.pending += 1;
        self.last = now;
        self.first_pending.get_or_insert(now);
        self.template = Some(event);
    }

    /// The entry for what was counted (the latest failure's, with the count), written at `now`.
    fn flush(&mut self, now: DateTime<Utc>) -> Option<AuditEvent> {
        let template = self.template.take()?;
        let count = std::mem::take(&mut self.pending);
        let first = self
            .first_pending
            .take()
            .unwrap_or(template.activity_date_time);
        let last = template.activity_date_time;
        self.written = now;
        let mut event = template
            .detail("failureCount", count.to_string())
            .detail(
                "firstFailureDateTime",
                first.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            )
            .detail(
                "lastFailureDateTime",
                last.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            );
        event.activity_date_time = now;
        Some(event)
    }
}

/// Bursts of failed attempts between their audit entries (see the module's text). The caller
/// writes whatever [`FailureBursts::record`], [`FailureBursts::due`] and
/// [`FailureBursts::take_account`] hand back, in that order, in one transaction.
#[derive(Default)]
pub struct FailureBursts {
    bursts: Mutex<HashMap<String, Burst>>,
}

/// Keys tracked at most; past that a failure is simply written (loud, never lost).
const MAX_BURSTS: usize = 100_000;

impl FailureBursts {
    /// The key of a failure: its activity, the account, the scope and the reason it failed.
    pub fn key(event: &AuditEvent, account: &str, scope: Scope) -> String {
        let reason = event
            .additional_details
            .iter()
            .find(|d| d.key == "reason")
            .map_or("", |d| d.value.as_str());
        let scope = match scope {
            Scope::Address(Some(a)) => format!("addr:{a}"),
            Scope::Address(None) => "addr:-".to_string(),
            Scope::Session(hash) => format!("session:{hash}"),
        };
        format!(
            "{}\u{1f}{}\u{1f}{scope}\u{1f}{reason}",
            event.activity_display_name,
            account.to_lowercase()
        )
    }

    /// A failure at `now`: returns the entries to write now, in order. The first failure of a
    /// burst is always among them; a repeat within `window` of the previous one is counted
    /// (and its burst's entry comes out once the burst has been counting for a whole window).
    pub fn record(
        &self,
        key: String,
        account: &str,
        event: AuditEvent,
        now: DateTime<Utc>,
        window: TimeDelta,
    ) -> Vec<AuditEvent> {
        let mut map = self.bursts.lock().expect("failure bursts lock");
        let mut out = Vec::new();
        match map.get_mut(&key) {
            Some(burst) if now < burst.last + window && now >= burst.last => {
                burst.count(event, now);
                if now >= burst.written + window {
                    out.extend(burst.flush(now));
                }
            }
            Some(burst) => {
                // The previous burst ended (or the clock went back): what it counted first,
                // then this failure as the first of a new one.
                out.extend(burst.flush(now));
                *burst = Burst::new(account.to_lowercase(), now);
                out.push(event);
            }
            None => {
                if map.len() < MAX_BURSTS {
                    map.insert(key, Burst::new(account.to_lowercase(), now));
                }
                out.push(event);
            }
        }
        out
    }

    /// The entries due at `now`: bursts that ended (no failure for `window`) or have counted
    /// for a whole window; with `all`, everything counted (graceful shutdown). Forgets bursts
    /// that are over and written.
    pub fn due(&self, now: DateTime<Utc>, window: TimeDelta, all: bool) -> Vec<AuditEvent> {
        let mut map = self.bursts.lock().expect("failure bursts lock");
        let mut out = Vec::new();
        for burst in map.values_mut() {
            if burst.pending > 0
                && (all || now >= burst.last + window || now >= burst.written + window)
            {
                out.extend(burst.flush(now));
            }
        }
        map.retain(|_, b| b.pending > 0 || now < b.last + window);
        out.sort_by_key(|e| e.activity_date_time);
        out
    }

    /// The entries counted for `account`, before its successful sign-in is written (so the
    /// trail reads failures, then the success).
    pub fn take_account(&self, account: &str, now: DateTime<Utc>) -> Vec<AuditEvent> {
        let account = account.to_lowercase();
        let mut map = self.bursts.lock().expect("failure bursts lock");
        map.values_mut()
            .filter(|b| b.account == account && b.pending > 0)
            .filter_map(|b| b.flush(now))
            .collect()
    }

    /// Failures counted and not yet written.
    pub fn pending(&self) -> u64 {
        let map = self.bursts.lock().expect("failure bursts lock");
        map.values().map(|b| u64::from(b.pending)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_an_ipv6_network_as_one_client() {
        assert_eq!(limit_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            limit_key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            limit_key("2001:db8:1:2::7")
        );
        assert_ne!(limit_key("2001:db8:1:3::1"), limit_key("2001:db8:1:2::1"));
        assert_eq!(limit_key("203.0.113.9"), "203.0.113.9");
        assert_eq!(limit_key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(limit_key("-"), "-");
    }

    /// A fresh store, and the directory it lives in (removed when dropped).
    async fn store() -> (tempfile::TempDir, std::sync::Arc<dyn Store>) {
        use eligo_store::seal::{Keyring, MasterKey};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let keys = |_: Option<&str>| {
            let key = MasterKey::from_bytes(&[7; 32]).map_err(|e| e.to_string())?;
            Ok(Keyring::new(key, Vec::new()))
        };
        (dir, eligo_store::open(&url, &keys).await.unwrap())
    }

    #[tokio::test]
    async fn blocks_after_limit_until_window_passes() {
        let (_dir, s) = store().await;
        let t = Throttle::new(TimeDelta::minutes(15), 3, 100);
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let here = Scope::Address(Some("1.2.3.4"));
        for _ in 0..3 {
            assert!(
                t.blocked(&*s, "Alice@x", here, now)
                    .await
                    .unwrap()
                    .is_none()
            );
            t.record_failure(&*s, "alice@x", here, now).await.unwrap();
        }
        let there = Scope::Address(Some("5.6.7.8"));
        assert_eq!(
            t.blocked(&*s, "ALICE@x", there, now).await.unwrap(),
            Some(900)
        );
        assert_eq!(t.blocked_as_seen("ALICE@x", there, now), Some(900));
        assert!(
            t.blocked(&*s, "bob@x", here, now).await.unwrap().is_none(),
            "address limit is higher"
        );
        let later = now + TimeDelta::minutes(15);
        assert!(
            t.blocked(&*s, "alice@x", Scope::Address(None), later)
                .await
                .unwrap()
                .is_none()
        );
        // A failure after the window starts a new one.
        t.record_failure(&*s, "alice@x", here, later).await.unwrap();
        assert!(
            t.blocked(&*s, "alice@x", here, later)
                .await
                .unwrap()
                .is_none()
        );
        t.record_success(&*s, "alice@x").await.unwrap();
        assert!(
            t.blocked(&*s, "alice@x", Scope::Address(None), now)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            t.prune(&*s, later + TimeDelta::minutes(16)).await.unwrap(),
            1,
            "the address"
        );
    }

    #[tokio::test]
    async fn two_servers_count_against_one_budget() {
        let (_dir, s) = store().await;
        let (one, two) = (Throttle::default(), Throttle::default());
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let here = Scope::Address(Some("1.2.3.4"));
        for n in 0..5 {
            let server = if n % 2 == 0 { &one } else { &two };
            assert!(
                server
                    .blocked(&*s, "eve@x", here, now)
                    .await
                    .unwrap()
                    .is_none()
            );
            server
                .record_failure(&*s, "eve@x", here, now)
                .await
                .unwrap();
        }
        assert!(
            one.blocked(&*s, "eve@x", here, now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            two.blocked(&*s, "eve@x", here, now)
                .await
                .unwrap()
                .is_some()
        );
        // A success on either clears the account for both.
        two.record_success(&*s, "eve@x").await.unwrap();
        assert!(
            one.blocked(&*s, "eve@x", here, now)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn step_up_failures_count_against_their_session_not_a_shared_bucket() {
        let (_dir, s) = store().await;
        let t = Throttle::new(TimeDelta::minutes(15), 100, 3);
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        for n in 0..3 {
            t.record_failure(&*s, &format!("u{n}@x"), Scope::Session("s1"), now)
                .await
                .unwrap();
        }
        assert!(
            t.blocked(&*s, "v@x", Scope::Session("s1"), now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            t.blocked(&*s, "v@x", Scope::Session("s2"), now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            t.blocked(&*s, "v@x", Scope::Address(None), now)
                .await
                .unwrap()
                .is_none()
        );
    }

    fn failure(at: DateTime<Utc>, reason: &str) -> AuditEvent {
        AuditEvent::new(
            at,
            eligo_core::audit::Category::Authentication,
            "User sign-in failed",
            eligo_core::audit::Initiator::system(),
        )
        .failed(reason)
    }

    fn detail<'a>(e: &'a AuditEvent, key: &str) -> Option<&'a str> {
        e.additional_details
            .iter()
            .find(|d| d.key == key)
            .map(|d| d.value.as_str())
    }

    #[test]
    fn a_burst_is_written_first_and_then_as_one_counted_entry() {
        let b = FailureBursts::default();
        let w = TimeDelta::seconds(60);
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let scope = Scope::Address(Some("1.2.3.4"));
        let key = |e: &AuditEvent| FailureBursts::key(e, "Alice@x", scope);
        let e = failure(t0, "invalidCredentials");
        assert_eq!(
            b.record(key(&e), "Alice@x", e, t0, w).len(),
            1,
            "the first at once"
        );
        for i in 1..=9 {
            let at = t0 + TimeDelta::seconds(i);
            let e = failure(at, "invalidCredentials");
            assert!(b.record(key(&e), "alice@x", e, at, w).is_empty());
        }
        assert_eq!(b.pending(), 9);
        // Not yet over: nothing due.
        assert!(b.due(t0 + TimeDelta::seconds(30), w, false).is_empty());
        // A different reason is a burst of its own, written at once.
        let e = failure(t0, "throttled");
        assert_eq!(b.record(key(&e), "alice@x", e, t0, w).len(), 1);
        // The burst ends a window after its last failure: one entry with the count.
        let end = t0 + TimeDelta::seconds(9) + w;
        let due = b.due(end, w, false);
        assert_eq!(due.len(), 1);
        assert_eq!(detail(&due[0], "failureCount"), Some("9"));
        assert_eq!(detail(&due[0], "reason"), Some("invalidCredentials"));
        assert_eq!(due[0].activity_date_time, end);
        assert_eq!(b.pending(), 0);
        // The next failure starts a new burst: written at once again.
        let e = failure(end, "invalidCredentials");
        assert_eq!(b.record(key(&e), "alice@x", e, end, w).len(), 1);
    }

    #[test]
    fn a_steady_guesser_gets_one_entry_per_window_and_shutdown_loses_nothing() {
        let b = FailureBursts::default();
        let w = TimeDelta::seconds(60);
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let scope = Scope::Session("s1");
        let mut written = 0;
        let mut counted = 0u64;
        for i in 0..300 {
            let at = t0 + TimeDelta::seconds(i);
            let e = failure(at, "invalidOtp");
            let k = FailureBursts::key(&e, "bob@x", scope);
            for out in b.record(k, "bob@x", e, at, w) {
                written += 1;
                counted += detail(&out, "failureCount").map_or(1, |c| c.parse().unwrap());
            }
        }
        // One at once, then one per minute of the five.
        assert!((5..=6).contains(&written), "{written}");
        let rest = b.due(t0 + TimeDelta::seconds(300), w, true);
        for out in &rest {
            counted += detail(out, "failureCount").unwrap().parse::<u64>().unwrap();
        }
        assert_eq!(counted, 300, "every failure is counted somewhere");
        assert_eq!(b.pending(), 0);
    }

    #[test]
    fn a_success_takes_what_was_counted_for_its_account() {
        let b = FailureBursts::default();
        let w = TimeDelta::seconds(60);
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        for i in 0..3 {
            let at = t0 + TimeDelta::seconds(i);
            let e = failure(at, "invalidCredentials");
            let k = FailureBursts::key(&e, "carol@x", Scope::Address(None));
            b.record(k, "carol@x", e, at, w);
        }
        assert!(b.take_account("dave@x", t0).is_empty());
        let taken = b.take_account("CAROL@x", t0 + TimeDelta::seconds(3));
        assert_eq!(taken.len(), 1);
        assert_eq!(detail(&taken[0], "failureCount"), Some("2"));
    }

    #[tokio::test]
    async fn address_limit_applies_across_accounts() {
        let (_dir, s) = store().await;
        let t = Throttle::new(TimeDelta::minutes(15), 100, 2);
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let here = Scope::Address(Some("9.9.9.9"));
        t.record_failure(&*s, "a@x", here, now).await.unwrap();
        t.record_failure(&*s, "b@x", here, now).await.unwrap();
        assert!(t.blocked(&*s, "c@x", here, now).await.unwrap().is_some());
    }
}
