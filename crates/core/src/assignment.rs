//! The decision on an administrator's request for an eligibility or an active assignment
//! (adminAssign, adminUpdate, adminExtend, adminRenew): the window it asks for against the
//! policy's admin expiration rule, and the admin enablement rules (justification, ticket, MFA).
//! Like activations, never clamped: every broken rule is reported.

use chrono::{DateTime, TimeDelta, Utc};

use crate::activation::{Expiration, Ticket, enablement_broken, end_of};
use crate::invalid::Invalid;
use crate::policy::{Enablement, ExpirationRule};

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
}

/// The window `[start, end)` an admin request grants (end None: permanent), or every broken
/// rule. The maximum counts from the later of the start and `now`, so an extension is measured
/// from today, not from when the assignment began.
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
    let start = request.start.unwrap_or(now);
    if start < now - TimeDelta::minutes(5) {
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
        }
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
