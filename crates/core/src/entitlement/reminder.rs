//! When the holder of an access package assignment is told that it ends: 14 days and 1 day
//! before its end. The server keeps one due time per assignment (the next reminder owed); these
//! functions say what that time is when an assignment is delivered or its end moves, and, when
//! it falls due, which reminder to send and what is owed next. A reminder whose moment passed
//! while nothing ran is not sent late when a later one is due already (a clock that jumped past
//! both sends only the 1-day one; past the end, none: the expiry says it), nor when a week or
//! less is left.

use chrono::{DateTime, TimeDelta, Utc};

/// How many days before the end each reminder goes out, the nearest last.
pub const LEAD_DAYS: [u32; 2] = [14, 1];

fn at(end: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    end - TimeDelta::days(i64::from(days))
}

/// The first reminder owed after `now` for an assignment ending at `end` (none without an
/// end, and none whose moment has already passed: an assignment granted for 10 days gets only
/// the 1-day reminder).
pub fn first_after(end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let end = end?;
    LEAD_DAYS.iter().map(|&d| at(end, d)).find(|t| *t > now)
}

/// What to do when an assignment's reminder falls due at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The reminder to send (14 or 1 days left); none when nothing is due after all.
    pub days_left: Option<u32>,
    /// The next reminder owed.
    pub next: Option<DateTime<Utc>>,
}

/// A 14-day reminder is sent only while more than this many days are left (so a late one
/// never says "14 days" with 3 left; the 1-day one follows).
const STALE_AFTER_DAYS: i64 = 7;

/// The reminder due at `now` for an assignment ending at `end`: the nearest one whose moment
/// has come (so only one is sent however far the clock jumped), and the next one owed.
pub fn on_due(end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Due {
    let Some(end) = end.filter(|e| *e > now) else {
        return Due {
            days_left: None,
            next: None,
        };
    };
    let days_left = LEAD_DAYS
        .iter()
        .rev()
        .copied()
        .find(|&d| at(end, d) <= now)
        .filter(|&d| d == 1 || end - now > TimeDelta::days(STALE_AFTER_DAYS));
    Due {
        days_left,
        next: first_after(Some(end), now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_long_assignment_owes_both_reminders_in_turn() {
        let end = Some(t("2027-01-31T12:00:00Z"));
        let now = t("2027-01-01T12:00:00Z");
        let first = first_after(end, now).unwrap();
        assert_eq!(first, t("2027-01-17T12:00:00Z"));
        let due = on_due(end, first);
        assert_eq!(due.days_left, Some(14));
        assert_eq!(due.next, Some(t("2027-01-30T12:00:00Z")));
        let due = on_due(end, due.next.unwrap());
        assert_eq!(due.days_left, Some(1));
        assert_eq!(due.next, None);
    }

    #[test]
    fn a_short_assignment_owes_only_what_is_still_ahead() {
        let end = Some(t("2027-01-11T12:00:00Z"));
        assert_eq!(
            first_after(end, t("2027-01-01T12:00:00Z")),
            Some(t("2027-01-10T12:00:00Z"))
        );
        assert_eq!(first_after(end, t("2027-01-11T00:00:00Z")), None);
        assert_eq!(first_after(None, t("2027-01-01T12:00:00Z")), None);
    }

    #[test]
    fn a_jump_past_both_sends_only_the_nearest_and_past_the_end_none() {
        let end = Some(t("2027-01-31T12:00:00Z"));
        let due = on_due(end, t("2027-01-31T00:00:00Z"));
        assert_eq!(due.days_left, Some(1));
        assert_eq!(due.next, None);
        let due = on_due(end, t("2027-02-01T00:00:00Z"));
        assert_eq!(due.days_left, None);
        assert_eq!(due.next, None);
        // Late for the 14-day one (3 days left): none now, the 1-day one next.
        let due = on_due(end, t("2027-01-28T12:00:00Z"));
        assert_eq!(due.days_left, None);
        assert_eq!(due.next, Some(t("2027-01-30T12:00:00Z")));
        // Not due after all (the end moved later): nothing now, the new first one next.
        let due = on_due(end, t("2027-01-02T00:00:00Z"));
        assert_eq!(due.days_left, None);
        assert_eq!(due.next, Some(t("2027-01-17T12:00:00Z")));
    }
}
