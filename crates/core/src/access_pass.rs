//! Temporary Access Pass (Graph's `temporaryAccessPassAuthenticationMethod`): a one-time or
//! time-limited code a Global or Privileged Authentication Administrator issues so that a person
//! without an authenticator, or who lost theirs, can sign in once more and enrol one. Only its
//! hash is kept; these rules say when it is usable and what a request for one may ask.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Graph's bounds on `lifetimeInMinutes`: 10 minutes to 30 days.
pub const MIN_LIFETIME_MINUTES: i64 = 10;
pub const MAX_LIFETIME_MINUTES: i64 = 43_200;
/// Graph's default policy: one hour.
pub const DEFAULT_LIFETIME_MINUTES: i64 = 60;
/// How far ahead a pass may start (Graph allows scheduling; a pass waiting longer is a risk).
pub const MAX_START_AHEAD: TimeDelta = TimeDelta::days(30);

/// A pass as stored: never the pass itself, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPass {
    pub id: Uuid,
    pub hash: String,
    pub created_date_time: DateTime<Utc>,
    pub start_date_time: DateTime<Utc>,
    pub lifetime_in_minutes: i64,
    pub is_usable_once: bool,
    /// When a one-time pass was used (it is then spent).
    pub used_date_time: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
}

/// Why a pass can or cannot be used now (Graph's `methodUsabilityReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usability {
    EnabledByPolicy,
    NotYetValid,
    Expired,
    OneTimeUsed,
}

impl Usability {
    pub fn as_str(self) -> &'static str {
        match self {
            Usability::EnabledByPolicy => "EnabledByPolicy",
            Usability::NotYetValid => "NotYetValid",
            Usability::Expired => "Expired",
            Usability::OneTimeUsed => "OneTimeUsed",
        }
    }

    pub fn is_usable(self) -> bool {
        self == Usability::EnabledByPolicy
    }
}

impl AccessPass {
    pub fn end(&self) -> DateTime<Utc> {
        self.start_date_time + TimeDelta::minutes(self.lifetime_in_minutes)
    }

    pub fn usability(&self, now: DateTime<Utc>) -> Usability {
        if self.is_usable_once && self.used_date_time.is_some() {
            Usability::OneTimeUsed
        } else if now < self.start_date_time {
            Usability::NotYetValid
        } else if now >= self.end() {
            Usability::Expired
        } else {
            Usability::EnabledByPolicy
        }
    }
}

/// What an administrator asked for, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassRequest {
    pub start: DateTime<Utc>,
    pub lifetime_in_minutes: i64,
    pub is_usable_once: bool,
}

/// Why a request for a pass is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassRefusal {
    LifetimeOutOfRange,
    StartInThePast,
    StartTooFarAhead,
    /// The person already has a pass that is (or will be) usable: one at a time, as Graph.
    AlreadyHasOne,
}

impl PassRefusal {
    pub fn code(self) -> &'static str {
        match self {
            PassRefusal::LifetimeOutOfRange => "InvalidLifetime",
            PassRefusal::StartInThePast | PassRefusal::StartTooFarAhead => "InvalidStartDateTime",
            PassRefusal::AlreadyHasOne => "TemporaryAccessPassExists",
        }
    }

    pub fn message(self) -> String {
        match self {
            PassRefusal::LifetimeOutOfRange => format!(
                "lifetimeInMinutes must be between {MIN_LIFETIME_MINUTES} and {MAX_LIFETIME_MINUTES}"
            ),
            PassRefusal::StartInThePast => {
                "startDateTime must not be in the past (leave it out to start now)".into()
            }
            PassRefusal::StartTooFarAhead => "startDateTime is at most 30 days ahead".into(),
            PassRefusal::AlreadyHasOne => "this user already has a Temporary Access Pass that is usable or will be; delete it first".into(),
        }
    }
}

/// Checks a request for a pass against the bounds and the person's current pass.
pub fn check_request(
    start: Option<DateTime<Utc>>,
    lifetime_in_minutes: Option<i64>,
    is_usable_once: Option<bool>,
    current: Option<&AccessPass>,
    now: DateTime<Utc>,
) -> Result<PassRequest, PassRefusal> {
    let lifetime = lifetime_in_minutes.unwrap_or(DEFAULT_LIFETIME_MINUTES);
    if !(MIN_LIFETIME_MINUTES..=MAX_LIFETIME_MINUTES).contains(&lifetime) {
        return Err(PassRefusal::LifetimeOutOfRange);
    }
    // A minute's grace for clocks that differ a little between client and server.
    let start = match start {
        Some(s) if s < now - TimeDelta::minutes(1) => return Err(PassRefusal::StartInThePast),
        Some(s) if s > now + MAX_START_AHEAD => return Err(PassRefusal::StartTooFarAhead),
        Some(s) => s.max(now),
        None => now,
    };
    if let Some(current) = current {
        let u = current.usability(now);
        if u == Usability::EnabledByPolicy || u == Usability::NotYetValid {
            return Err(PassRefusal::AlreadyHasOne);
        }
    }
    Ok(PassRequest {
        start,
        lifetime_in_minutes: lifetime,
        is_usable_once: is_usable_once.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + TimeDelta::minutes(min)
    }

    fn pass(start: i64, lifetime: i64, once: bool, used: Option<i64>) -> AccessPass {
        AccessPass {
            id: Uuid::nil(),
            hash: String::new(),
            created_date_time: at(0),
            start_date_time: at(start),
            lifetime_in_minutes: lifetime,
            is_usable_once: once,
            used_date_time: used.map(at),
            created_by: None,
        }
    }

    #[test]
    fn a_pass_is_usable_from_its_start_until_its_end_and_once_when_one_time() {
        let p = pass(10, 60, false, None);
        assert_eq!(p.usability(at(9)), Usability::NotYetValid);
        assert_eq!(p.usability(at(10)), Usability::EnabledByPolicy);
        assert_eq!(p.usability(at(69)), Usability::EnabledByPolicy);
        assert_eq!(p.usability(at(70)), Usability::Expired);
        let used = pass(0, 60, true, Some(5));
        assert_eq!(used.usability(at(6)), Usability::OneTimeUsed);
        let reused = pass(0, 60, false, Some(5));
        assert_eq!(reused.usability(at(6)), Usability::EnabledByPolicy);
    }

    #[test]
    fn a_request_is_bounded_and_one_live_pass_at_a_time() {
        let now = at(0);
        let ok = check_request(None, None, None, None, now).unwrap();
        assert_eq!(ok.start, now);
        assert_eq!(ok.lifetime_in_minutes, DEFAULT_LIFETIME_MINUTES);
        assert!(!ok.is_usable_once);
        for bad in [0, 9, 43_201, -5] {
            assert_eq!(
                check_request(None, Some(bad), None, None, now),
                Err(PassRefusal::LifetimeOutOfRange)
            );
        }
        assert!(check_request(None, Some(10), None, None, now).is_ok());
        assert!(check_request(None, Some(43_200), None, None, now).is_ok());
        assert_eq!(
            check_request(Some(at(-10)), None, None, None, now),
            Err(PassRefusal::StartInThePast)
        );
        assert_eq!(
            check_request(Some(at(60 * 24 * 31)), None, None, None, now),
            Err(PassRefusal::StartTooFarAhead)
        );
        let live = pass(0, 60, false, None);
        let later = pass(30, 60, false, None);
        for current in [&live, &later] {
            assert_eq!(
                check_request(None, None, None, Some(current), now),
                Err(PassRefusal::AlreadyHasOne)
            );
        }
        let spent = pass(0, 60, true, Some(1));
        assert!(check_request(None, None, None, Some(&spent), at(2)).is_ok());
        assert!(check_request(None, None, None, Some(&live), at(61)).is_ok());
    }
}
