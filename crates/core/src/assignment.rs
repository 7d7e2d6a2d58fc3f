//! The decision on an administrator's request for an eligibility or an active assignment
//! (adminAssign, adminUpdate, adminExtend, adminRenew): the window it asks for against the
//! policy's admin expiration rule, and the admin enablement rules (justification, ticket, MFA).
//! Like activations, never clamped: every broken rule is reported. Also when an assignment
//! an administrator gave may be extended or renewed, and the decision on its holder's request
//! that administrators extend it (Graph's `selfExtend` of such a schedule).

use chrono::{DateTime, TimeDelta, Utc};

use crate::activation::{Expiration, Ticket, enablement_broken, end_of};
use crate::invalid::Invalid;
use crate::policy::{Enablement, ExpirationRule};

/// An assignment ending within this window may be extended: an administrator's Extend, and its
/// holder's request for an extension (Entra: 14 days).
pub const EXTEND_WINDOW: TimeDelta = TimeDelta::days(14);

/// How far back an ended assignment can still be renewed (Entra: 90 days).
pub const RENEWABLE_FOR: TimeDelta = TimeDelta::days(90);

/// Does an assignment that ends at `end` (None: permanent) end soon enough to be extended?
/// Only one that has not ended: an ended one is renewed.
pub fn extendable(end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    end.is_some_and(|e| now < e && e - now <= EXTEND_WINDOW)
}

/// Has an assignment that ended at `end` ended recently enough to be renewed?
pub fn renewable(end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    end.is_some_and(|e| e <= now && now - e <= RENEWABLE_FOR)
}

/// When `end` comes, in calendar days (UTC) from `now`: "today", "tomorrow", "in 12 days";
/// "has ended" once it has passed.
pub fn ends_in_words(end: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if end <= now {
        return "has ended".into();
    }
    match (end.date_naive() - now.date_naive()).num_days() {
        0 => "today".into(),
        1 => "tomorrow".into(),
        n => format!("in {n} days"),
    }
}

/// The code of an extension request refused because one for the same assignment waits.
pub const EXTENSION_REQUEST_EXISTS: &str = "PendingRequestExists";

/// A holder's request that administrators extend an assignment they were given.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtensionAsk {
    /// The assignment's current end (None: permanent).
    pub current_end: Option<DateTime<Utc>>,
    pub justification: Option<String>,
    /// How long the holder would like it to last, counted from now.
    pub expiration: Expiration,
    /// The id of a request of theirs for this assignment that already waits.
    pub waiting: Option<uuid::Uuid>,
}

/// May the holder ask for this extension now? The assignment must end within
/// [`EXTEND_WINDOW`], nothing of theirs may wait already, a justification says why, and what
/// they ask must end after the current end and within the admin expiration rule an
/// administrator's extension would meet. Returns the end asked for (None: permanent), or every
/// broken rule. It grants nothing: an administrator decides.
pub fn decide_extension_request(
    rule: &ExpirationRule,
    ask: &ExtensionAsk,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Vec<Invalid>> {
    if let Some(waiting) = ask.waiting {
        return Err(vec![Invalid::new(
            EXTENSION_REQUEST_EXISTS,
            waiting.to_string(),
            format!(
                "your extension request {waiting} for this waits for an administrator: cancel it, or wait for the decision"
            ),
        )]);
    }
    let mut broken = Vec::new();
    match ask.current_end {
        None => broken.push(Invalid::new(
            "ExpirationRule",
            "scheduleInfo.expiration",
            "this assignment is permanent; there is nothing to extend",
        )),
        Some(end) if end <= now => broken.push(Invalid::new(
            "ExpirationRule",
            "scheduleInfo.expiration",
            "this assignment has ended; an administrator can renew it",
        )),
        Some(_) if !extendable(ask.current_end, now) => broken.push(Invalid::new(
            "ExpirationRule",
            "scheduleInfo.expiration",
            "an extension can be requested within 14 days of the end",
        )),
        Some(_) => {}
    }
    if ask
        .justification
        .as_deref()
        .is_none_or(|j| j.trim().is_empty())
    {
        broken.push(Invalid::new(
            "JustificationRule",
            "justification",
            "say why you need it for longer",
        ));
    }
    let asked = decide_admin(
        rule,
        &[],
        &AdminRequest {
            justification: None,
            ticket: None,
            start: None,
            expiration: ask.expiration,
            mfa_is_fresh: true,
            kept_start: None,
        },
        now,
    );
    let asked_end = match asked {
        Ok((_, end)) => end,
        Err(e) => {
            broken.extend(e);
            None
        }
    };
    if let (Some(current), Some(asked)) = (ask.current_end, asked_end)
        && asked <= current
    {
        broken.push(Invalid::new(
            "ExpirationRule",
            "scheduleInfo.expiration",
            "an extension must end after the current end",
        ));
    }
    if broken.is_empty() {
        Ok(asked_end)
    } else {
        Err(broken)
    }
}

/// A window `[start, end)`; end None: permanent.
pub type Window = (DateTime<Utc>, Option<DateTime<Utc>>);

#[derive(Debug, Clone, PartialEq)]
pub struct AdminRequest {
    pub justification: Option<String>,
    pub ticket: Option<Ticket>,
    /// None: now.
    pub start: Option<DateTime<Utc>>,
    pub expiration: Expiration,
    pub mfa_is_fresh: bool,
    /// The existing schedule's start, when the change keeps it (an extension, or an update of
    /// a schedule that has begun): the window is measured from it, not from the start the
    /// request names, which would otherwise push the maximum's base into the future.
    pub kept_start: Option<DateTime<Utc>>,
}

/// The window `[start, end)` an admin request grants (end None: permanent), or every broken
/// rule. The maximum counts from the later of the start and `now`, so an extension is measured
/// from today, not from when the assignment began; a change that keeps the schedule's start
/// counts from that start (or now), whatever start it names.
pub fn decide_admin(
    expiration: &ExpirationRule,
    enablement: &[Enablement],
    request: &AdminRequest,
    now: DateTime<Utc>,
) -> Result<Window, Vec<Invalid>> {
    let mut broken = enablement_broken(
        enablement,
        false,
        request.justification.as_deref(),
        request.ticket.as_ref(),
        request.mfa_is_fresh,
    );
    let start = request.kept_start.or(request.start).unwrap_or(now);
    if request.kept_start.is_none() && start < now - TimeDelta::minutes(5) {
        broken.push(Invalid::new(
            "ExpirationRule",
            "scheduleInfo.startDateTime",
            "The start is in the past. Start now or at a later time.",
        ));
    }
    let end = match end_of(expiration, start.max(now), request.expiration) {
        Ok(end) if end == DateTime::<Utc>::MAX_UTC => None,
        Ok(end) if end <= start => {
            broken.push(Invalid::new(
                "ExpirationRule",
                "scheduleInfo.expiration.endDateTime",
                "The end must be after the start.",
            ));
            None
        }
        Ok(end) => Some(end),
        Err(e) => {
            broken.push(e);
            None
        }
    };
    if broken.is_empty() {
        Ok((start, end))
    } else {
        Err(broken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(mins: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + mins * 60, 0).unwrap()
    }

    fn rule(days: i64, required: bool) -> ExpirationRule {
        ExpirationRule {
            is_expiration_required: required,
            maximum_duration: TimeDelta::days(days),
        }
    }

    fn req(expiration: Expiration) -> AdminRequest {
        AdminRequest {
            justification: Some("onboarding".into()),
            ticket: None,
            start: None,
            expiration,
            mfa_is_fresh: false,
            kept_start: None,
        }
    }

    #[test]
    fn a_kept_start_is_where_the_maximum_counts_from() {
        // An extension naming a start 3,000 days ahead is still measured from today.
        let mut r = req(Expiration::AfterDuration(TimeDelta::days(365)));
        r.start = Some(t(3000 * 24 * 60));
        r.kept_start = Some(t(-10 * 24 * 60));
        assert_eq!(
            decide_admin(&rule(365, true), &[], &r, t(0)),
            Ok((t(-10 * 24 * 60), Some(t(365 * 24 * 60))))
        );
        let mut end = req(Expiration::AfterDateTime(t(3000 * 24 * 60)));
        end.start = Some(t(2900 * 24 * 60));
        end.kept_start = Some(t(-10 * 24 * 60));
        let err = decide_admin(&rule(365, true), &[], &end, t(0)).unwrap_err();
        assert_eq!(err[0].code, "ExpirationRule");
        // A kept start that has not come yet is where it counts from.
        let mut later = req(Expiration::AfterDuration(TimeDelta::days(30)));
        later.kept_start = Some(t(60));
        assert_eq!(
            decide_admin(&rule(365, true), &[], &later, t(0)),
            Ok((t(60), Some(t(60 + 30 * 24 * 60))))
        );
    }

    #[test]
    fn permanent_only_when_the_policy_allows_it() {
        let r = req(Expiration::NoExpiration);
        assert_eq!(
            decide_admin(&rule(365, false), &[], &r, t(0)),
            Ok((t(0), None))
        );
        let err = decide_admin(&rule(365, true), &[], &r, t(0)).unwrap_err();
        assert_eq!(err[0].code, "ExpirationRule");
    }

    #[test]
    fn over_the_maximum_is_refused_not_clamped() {
        let r = req(Expiration::AfterDuration(TimeDelta::days(366)));
        let err = decide_admin(&rule(365, true), &[], &r, t(0)).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].code, "ExpirationRule");
        let ok = req(Expiration::AfterDuration(TimeDelta::days(365)));
        assert_eq!(
            decide_admin(&rule(365, true), &[], &ok, t(0)),
            Ok((t(0), Some(t(365 * 24 * 60))))
        );
    }

    #[test]
    fn every_broken_enablement_rule_is_reported() {
        let mut r = req(Expiration::AfterDuration(TimeDelta::days(1)));
        r.justification = None;
        let all = [
            Enablement::Justification,
            Enablement::Ticketing,
            Enablement::MultiFactorAuthentication,
        ];
        let codes: Vec<_> = decide_admin(&rule(365, true), &all, &r, t(0))
            .unwrap_err()
            .iter()
            .map(|i| i.code)
            .collect();
        assert_eq!(codes, ["JustificationRule", "TicketingRule", "MfaRule"]);
    }

    #[test]
    fn extend_within_two_weeks_renew_within_ninety_days() {
        let day = 24 * 60;
        assert!(extendable(Some(t(14 * day)), t(0)));
        assert!(!extendable(Some(t(14 * day + 1)), t(0)));
        assert!(!extendable(None, t(0)));
        assert!(!extendable(Some(t(0)), t(0)));
        assert!(renewable(Some(t(0)), t(0)));
        assert!(renewable(Some(t(0)), t(90 * day)));
        assert!(!renewable(Some(t(0)), t(90 * day + 1)));
        assert!(!renewable(Some(t(1)), t(0)));
        assert!(!renewable(None, t(0)));
    }

    #[test]
    fn ends_in_calendar_days() {
        // t(0) is 2027-01-15 08:00 UTC.
        assert_eq!(ends_in_words(t(60), t(0)), "today");
        assert_eq!(ends_in_words(t(16 * 60 + 1), t(0)), "tomorrow");
        assert_eq!(ends_in_words(t(10 * 24 * 60), t(0)), "in 10 days");
        assert_eq!(ends_in_words(t(0), t(0)), "has ended");
    }

    fn ask(current_days: i64, asked: Expiration) -> ExtensionAsk {
        ExtensionAsk {
            current_end: Some(t(current_days * 24 * 60)),
            justification: Some("still on the project".into()),
            expiration: asked,
            waiting: None,
        }
    }

    #[test]
    fn an_extension_request_is_decided_like_the_extension_it_asks_for() {
        let d = |n| Expiration::AfterDuration(TimeDelta::days(n));
        assert_eq!(
            decide_extension_request(&rule(90, true), &ask(5, d(90)), t(0)),
            Ok(Some(t(90 * 24 * 60)))
        );
        // Beyond the maximum, not yet due, not after the current end: each said.
        let codes = |r: Result<_, Vec<Invalid>>| {
            r.unwrap_err()
                .iter()
                .map(|i| (i.code, i.message.clone()))
                .collect::<Vec<_>>()
        };
        let over = codes(decide_extension_request(
            &rule(90, true),
            &ask(5, d(91)),
            t(0),
        ));
        assert_eq!(over.len(), 1);
        assert_eq!(over[0].0, "ExpirationRule");
        let early = codes(decide_extension_request(
            &rule(90, true),
            &ask(30, d(60)),
            t(0),
        ));
        assert!(early[0].1.contains("within 14 days"), "{early:?}");
        let shorter = codes(decide_extension_request(
            &rule(90, true),
            &ask(5, d(3)),
            t(0),
        ));
        assert!(
            shorter[0].1.contains("after the current end"),
            "{shorter:?}"
        );
        let mut permanent = ask(5, d(30));
        permanent.current_end = None;
        assert!(decide_extension_request(&rule(90, true), &permanent, t(0)).is_err());
        let mut quiet = ask(5, d(30));
        quiet.justification = Some("  ".into());
        assert_eq!(
            codes(decide_extension_request(&rule(90, true), &quiet, t(0)))[0].0,
            "JustificationRule"
        );
        let mut twice = ask(5, d(30));
        twice.waiting = Some(uuid::Uuid::nil());
        assert_eq!(
            codes(decide_extension_request(&rule(90, true), &twice, t(0)))[0].0,
            EXTENSION_REQUEST_EXISTS
        );
        // Permanent only where the policy allows it.
        assert_eq!(
            decide_extension_request(&rule(90, false), &ask(5, Expiration::NoExpiration), t(0)),
            Ok(None)
        );
        assert!(
            decide_extension_request(&rule(90, true), &ask(5, Expiration::NoExpiration), t(0))
                .is_err()
        );
    }

    #[test]
    fn a_future_start_keeps_its_window() {
        let mut r = req(Expiration::AfterDateTime(t(120)));
        r.start = Some(t(60));
        assert_eq!(
            decide_admin(&rule(1, true), &[], &r, t(0)),
            Ok((t(60), Some(t(120))))
        );
        r.start = Some(t(-60));
        assert!(decide_admin(&rule(1, true), &[], &r, t(0)).is_err());
    }
}
