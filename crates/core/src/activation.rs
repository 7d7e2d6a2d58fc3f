//! The decision on a request for an active assignment: does it satisfy the role's policy, and
//! if so, from when to when does it grant? Pure: the caller supplies the policy, what the
//! principal is eligible for and already holds, whether its MFA is fresh, and `now`.
//! A request is never clamped: anything over a maximum is refused, with one detail per broken
//! rule (the codes Graph's clients branch on).

use chrono::{DateTime, TimeDelta, Utc};

use crate::invalid::Invalid;
use crate::policy::{Enablement, ExpirationRule, PolicyRules};
use crate::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use crate::scope;

/// How the requester asked the access to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiration {
    NoExpiration,
    AfterDateTime(DateTime<Utc>),
    AfterDuration(TimeDelta),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub number: String,
    pub system: String,
}

/// A self-activation (or self-extension) as the core sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationRequest {
    pub directory_scope_id: String,
    pub justification: Option<String>,
    pub ticket: Option<Ticket>,
    /// None: now.
    pub start: Option<DateTime<Utc>>,
    pub expiration: Expiration,
    pub mfa_is_fresh: bool,
    /// The authentication context class the session's identity provider vouched for (OIDC
    /// `acr`); None for a session Eligo authenticated itself.
    pub acr: Option<String>,
}

/// What a valid request grants, and whether someone must approve it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub needs_approval: bool,
}

pub const RULE_FAILED: &str = "RoleAssignmentRequestPolicyValidationFailed";

/// When one's own activation may be deactivated: None when it may be now (it has run
/// `min_duration`, or it has not started, so it is withdrawn), else the moment it may be.
/// A minimum run keeps activate/deactivate flapping out of the audit trail and the downstream
/// systems.
pub fn deactivatable_from(
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    min_duration: TimeDelta,
) -> Option<DateTime<Utc>> {
    (start <= now && now - start < min_duration).then(|| start + min_duration)
}

/// The authentication-context rule: with a `claimValue`, met only by a session whose identity
/// provider vouched for that `acr` at sign-in (whatever else the session proved). Without one
/// (stored before Eligo could carry `acr`), it is enforced as the strongest thing Eligo checks
/// itself, a fresh second factor: never activation without MFA.
fn authentication_context_broken(
    rule: &crate::policy::AuthenticationContextRule,
    mfa_rule_on: bool,
    request: &ActivationRequest,
) -> Option<Invalid> {
    if !rule.is_enabled {
        return None;
    }
    match rule.claim_value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(wanted) => (request.acr.as_deref() != Some(wanted)).then(|| {
            Invalid::new(
                "AuthenticationContextRule",
                "acr",
                format!(
                    "This role's policy requires the authentication context '{wanted}'. Sign in again through your organisation's single sign-on so that it asks for it, then try again."
                ),
            )
        }),
        None => (!mfa_rule_on && !request.mfa_is_fresh).then(|| {
            Invalid::new(
                "MfaRule",
                "mfa",
                "This role's policy requires an authentication context, which needs a recent multi-factor authentication. Verify your identity again, then try again.",
            )
        }),
    }
}

/// The code of a request refused because another one for the same access waits for approval.
pub const PENDING_REQUEST_EXISTS: &str = "PendingRequestExists";

/// The code of a self-activation refused because the caller already holds an activation of the
/// same access, at a scope covering (or covered by) the one asked, that has not started yet:
/// one scheduled activation at a time, so access never runs on without a fresh request.
pub const SCHEDULED_ACTIVATION_EXISTS: &str = "ScheduledActivationExists";

/// The code of a self-activation that would start later, queued behind an activation of the
/// same access the caller holds now: chained windows would keep access running for days on
/// one second factor (and one approval each, decided long before it is used).
pub const ACTIVATION_WOULD_CHAIN: &str = "ActivationWouldChain";

/// The code of a self-activation asked to start further ahead than `MAX_START_AHEAD`.
pub const START_TOO_FAR_AHEAD: &str = "ActivationStartTooFarAhead";

/// How far ahead a self-activation may be scheduled to start: far enough for next week's
/// change window, not so far that a second factor proved today stands for a use months away.
pub const MAX_START_AHEAD: TimeDelta = TimeDelta::days(7);

/// How close to `now` a requested start still counts as "now" (clock skew between client and
/// server), both ways.
const START_TOLERANCE: TimeDelta = TimeDelta::minutes(5);

/// Decides a self-activation. `eligible` are the principal's eligibility schedules for this
/// role (direct or through groups); `active` its active schedules for this role; `pending` the
/// ids of its activation requests for this role and scope still waiting for approval (a second
/// one is a duplicate, refused with its own code naming the request that waits).
pub fn decide_activation(
    rules: &PolicyRules,
    request: &ActivationRequest,
    eligible: &[RoleSchedule],
    active: &[RoleSchedule],
    pending: &[uuid::Uuid],
    now: DateTime<Utc>,
    min_duration: TimeDelta,
) -> Result<Grant, Vec<Invalid>> {
    if let Some(waiting) = pending.first() {
        return Err(vec![Invalid::new(
            PENDING_REQUEST_EXISTS,
            waiting.to_string(),
            format!(
                "Your request {waiting} for this at this scope is waiting for approval. Cancel it, \
                 or wait for the decision."
            ),
        )]);
    }
    let mut broken = Vec::new();
    let enabled = &rules.enablement_end_user_assignment;
    let start = request.start.unwrap_or(now).max(now);
    if request.start.is_some_and(|s| s < now - START_TOLERANCE) {
        broken.push(Invalid::new(
            "ExpirationRule",
            "scheduleInfo.startDateTime",
            "The start is in the past. Start now or at a later time.",
        ));
    }
    if request.start.is_some_and(|s| s > now + MAX_START_AHEAD) {
        broken.push(Invalid::new(
            START_TOO_FAR_AHEAD,
            "scheduleInfo.startDateTime",
            format!(
                "An activation starts at most {} ahead. Ask again nearer the time.",
                crate::duration_words::in_words(MAX_START_AHEAD)
            ),
        ));
    }
    // One activation at a time per access and scope family: a self-activation is refused
    // while one the caller holds has not started yet, and a later-starting one is refused
    // while one runs, so back-to-back windows cannot all be asked for in one MFA window.
    let related = |a: &&RoleSchedule| {
        a.kind == ScheduleKind::Active
            && a.assignment_type == AssignmentType::Activated
            && !a.has_ended(now)
            && (scope::covers(&a.directory_scope_id, &request.directory_scope_id)
                || scope::covers(&request.directory_scope_id, &a.directory_scope_id))
    };
    let scheduled = request.start.is_some_and(|s| s > now + START_TOLERANCE);
    if active
        .iter()
        .filter(related)
        .any(|a| a.start_date_time > now)
    {
        broken.push(Invalid::new(
            SCHEDULED_ACTIVATION_EXISTS,
            "scheduleInfo.startDateTime",
            "You already have an activation of this that has not started yet. Cancel it, or wait until it has started and ended.",
        ));
    } else if scheduled && active.iter().filter(related).any(|a| a.is_current(now)) {
        broken.push(Invalid::new(
            ACTIVATION_WOULD_CHAIN,
            "scheduleInfo.startDateTime",
            "This is active for you now. Ask for a later activation once this one has ended (or extend it).",
        ));
    }

    let end = match end_of(
        &rules.expiration_end_user_assignment,
        start,
        request.expiration,
    ) {
        Ok(end) => Some(end),
        Err(e) => {
            broken.push(e);
            None
        }
    };
    if let Some(end) = end
        && end - start < min_duration
    {
        broken.push(Invalid::new(
            "ActiveDurationTooShort",
            "scheduleInfo.expiration",
            format!(
                "An activation lasts at least {}. Ask for a longer one.",
                crate::duration_words::in_words(min_duration)
            ),
        ));
    }

    let needs_justification = enabled.contains(&Enablement::Justification)
        || (rules.approval_end_user_assignment.is_approval_required
            && rules
                .approval_end_user_assignment
                .is_requestor_justification_required);
    broken.extend(enablement_broken(
        enabled,
        needs_justification,
        request.justification.as_deref(),
        request.ticket.as_ref(),
        request.mfa_is_fresh,
    ));
    broken.extend(authentication_context_broken(
        &rules.authentication_context_end_user_assignment,
        enabled.contains(&Enablement::MultiFactorAuthentication),
        request,
    ));

    // Eligibility must cover the whole requested window at the requested scope.
    if let Some(end) = end {
        let covering = eligible.iter().any(|e| {
            e.kind == ScheduleKind::Eligible
                && scope::covers(&e.directory_scope_id, &request.directory_scope_id)
                && e.start_date_time <= start
                && e.end_date_time.is_none_or(|eend| end <= eend)
        });
        if !covering {
            let any_now = eligible.iter().any(|e| {
                e.is_current(start)
                    && scope::covers(&e.directory_scope_id, &request.directory_scope_id)
            });
            let message = if any_now {
                "Your eligibility ends before this activation would. Ask for a shorter one."
            } else {
                "You are not eligible for this role at this scope at that time. Ask an administrator to make you eligible."
            };
            broken.push(Invalid::new("NoEligibility", "roleDefinitionId", message));
        }
        let overlapping = active.iter().any(|a| {
            a.directory_scope_id == request.directory_scope_id
                && a.start_date_time < end
                && a.end_date_time.is_none_or(|aend| start < aend)
        });
        if overlapping {
            broken.push(Invalid::new(
                "RoleAssignmentExists",
                "roleDefinitionId",
                "This role is already active (or scheduled) at this scope. Extend it instead, or wait until it ends.",
            ));
        }
    }

    match (broken.is_empty(), end) {
        (true, Some(end)) => Ok(Grant {
            start,
            end,
            needs_approval: rules.approval_end_user_assignment.is_approval_required,
        }),
        _ => Err(broken),
    }
}

/// The enablement rules a request breaks: justification (when `needs_justification`; never
/// over 500 characters), ticket number and system, and a recent MFA.
pub fn enablement_broken(
    enabled: &[Enablement],
    needs_justification: bool,
    justification: Option<&str>,
    ticket: Option<&Ticket>,
    mfa_is_fresh: bool,
) -> Vec<Invalid> {
    let mut broken = Vec::new();
    let needs_justification = needs_justification || enabled.contains(&Enablement::Justification);
    if needs_justification && justification.is_none_or(|j| j.trim().is_empty()) {
        broken.push(Invalid::new(
            "JustificationRule",
            "justification",
            "This role's policy requires a justification. Say why you need it.",
        ));
    }
    if justification.is_some_and(|j| j.chars().count() > 500) {
        broken.push(Invalid::new(
            "JustificationRule",
            "justification",
            "A justification is at most 500 characters. Shorten it.",
        ));
    }
    if enabled.contains(&Enablement::Ticketing)
        && !ticket.is_some_and(|t| !t.number.trim().is_empty() && !t.system.trim().is_empty())
    {
        broken.push(Invalid::new(
            "TicketingRule",
            "ticketInfo",
            "This role's policy requires a ticket number and the ticket system. Enter both.",
        ));
    }
    if enabled.contains(&Enablement::MultiFactorAuthentication) && !mfa_is_fresh {
        broken.push(Invalid::new(
            "MfaRule",
            "mfa",
            "This role's policy requires a recent multi-factor authentication. Verify your identity again, then try again.",
        ));
    }
    broken
}

/// The end a request asks for, checked against an expiration rule. Never clamped.
pub fn end_of(
    rule: &ExpirationRule,
    start: DateTime<Utc>,
    expiration: Expiration,
) -> Result<DateTime<Utc>, Invalid> {
    let too_long = || {
        Invalid::new(
            "ExpirationRule",
            "scheduleInfo.expiration",
            format!(
                "That is longer than this role's maximum of {max}. Ask for {max} or less.",
                max = crate::duration_words::in_words(rule.maximum_duration)
            ),
        )
    };
    let end = match expiration {
        Expiration::NoExpiration if rule.is_expiration_required => {
            return Err(Invalid::new(
                "ExpirationRule",
                "scheduleInfo.expiration",
                "This role does not allow permanent access. Choose when it ends.",
            ));
        }
        // Allowed to be permanent; represented as the far future by callers that need an end.
        Expiration::NoExpiration => DateTime::<Utc>::MAX_UTC,
        Expiration::AfterDuration(d) if d <= TimeDelta::zero() => {
            return Err(Invalid::new(
                "ExpirationRule",
                "scheduleInfo.expiration.duration",
                "The duration must be longer than zero.",
            ));
        }
        Expiration::AfterDuration(d) => start.checked_add_signed(d).ok_or_else(too_long)?,
        Expiration::AfterDateTime(t) if t <= start => {
            return Err(Invalid::new(
                "ExpirationRule",
                "scheduleInfo.expiration.endDateTime",
                "The end must be after the start.",
            ));
        }
        Expiration::AfterDateTime(t) => t,
    };
    if rule.is_expiration_required && end - start > rule.maximum_duration {
        return Err(too_long());
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::AssignmentType;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn t(mins: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + mins * 60, 0).unwrap()
    }

    fn sched(kind: ScheduleKind, scope: &str, start: i64, end: Option<i64>) -> RoleSchedule {
        RoleSchedule::new(
            Uuid::nil(),
            kind,
            Uuid::nil(),
            Uuid::nil(),
            scope,
            (t(start), end.map(t)),
            AssignmentType::Assigned,
            None,
            t(start),
        )
    }

    fn request(minutes: i64) -> ActivationRequest {
        ActivationRequest {
            directory_scope_id: "/".into(),
            justification: Some("incident 42".into()),
            ticket: None,
            start: None,
            expiration: Expiration::AfterDuration(TimeDelta::minutes(minutes)),
            mfa_is_fresh: true,
            acr: None,
        }
    }

    #[test]
    fn authentication_context_is_met_by_the_providers_acr_only() {
        use crate::policy::AuthenticationContextRule;
        let rule = |is_enabled: bool, claim: Option<&str>| AuthenticationContextRule {
            is_enabled,
            claim_value: claim.map(String::from),
        };
        let req = |mfa: bool, acr: Option<&str>| ActivationRequest {
            mfa_is_fresh: mfa,
            acr: acr.map(String::from),
            ..request(60)
        };
        let code = |rule: &AuthenticationContextRule, mfa_rule: bool, r: &ActivationRequest| {
            authentication_context_broken(rule, mfa_rule, r).map(|i| i.code)
        };
        let c1 = rule(true, Some("c1"));
        // (rule, MFA rule on, fresh MFA, session acr) -> refusal
        type Case<'a> = (
            &'a AuthenticationContextRule,
            bool,
            bool,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: [Case; 9] = [
            (&c1, false, true, Some("c1"), None),
            (&c1, false, false, Some("c1"), None),
            (&c1, false, true, None, Some("AuthenticationContextRule")),
            (
                &c1,
                true,
                true,
                Some("c2"),
                Some("AuthenticationContextRule"),
            ),
            (
                &c1,
                false,
                true,
                Some("C1"),
                Some("AuthenticationContextRule"),
            ),
            (&rule(false, Some("c1")), false, false, None, None),
            (&rule(true, None), false, false, None, Some("MfaRule")),
            (&rule(true, Some("  ")), false, true, None, None),
            (&rule(true, None), true, false, None, None),
        ];
        for (i, (r, mfa_rule, mfa, acr, want)) in cases.into_iter().enumerate() {
            assert_eq!(code(r, mfa_rule, &req(mfa, acr)), want, "case {i}");
        }
    }

    fn codes(
        rules: &PolicyRules,
        req: &ActivationRequest,
        eligible: &[RoleSchedule],
        active: &[RoleSchedule],
    ) -> Vec<&'static str> {
        match decide_activation(
            rules,
            req,
            eligible,
            active,
            &[],
            t(0),
            TimeDelta::minutes(5),
        ) {
            Ok(_) => vec![],
            Err(broken) => broken.iter().map(|b| b.code).collect(),
        }
    }

    #[test]
    fn deactivation_waits_for_the_minimum_run_unless_not_started() {
        let min = TimeDelta::minutes(5);
        assert_eq!(deactivatable_from(t(0), t(0), min), Some(t(5)));
        assert_eq!(deactivatable_from(t(0), t(4), min), Some(t(5)));
        assert_eq!(deactivatable_from(t(0), t(5), min), None);
        assert_eq!(
            deactivatable_from(t(10), t(0), min),
            None,
            "scheduled: withdrawn"
        );
    }

    #[test]
    fn back_to_back_self_activations_are_refused() {
        let rules = PolicyRules::default();
        let elig = [sched(ScheduleKind::Eligible, "/", -100, None)];
        let activated = |scope: &str, start: i64, end: i64| {
            let mut s = sched(ScheduleKind::Active, scope, start, Some(end));
            s.assignment_type = AssignmentType::Activated;
            s
        };
        let at = |start: i64, minutes: i64| ActivationRequest {
            start: Some(t(start)),
            ..request(minutes)
        };
        // [now, +8h] runs: [+8h, +16h] would chain onto it.
        let running = [activated("/", 0, 480)];
        assert_eq!(
            codes(&rules, &at(480, 480), &elig, &running),
            [ACTIVATION_WOULD_CHAIN]
        );
        // Also when the running one is at a scope covering the one asked.
        let mut narrow = at(480, 480);
        narrow.directory_scope_id = "/administrativeUnits/x".into();
        assert_eq!(
            codes(&rules, &narrow, &elig, &running),
            [ACTIVATION_WOULD_CHAIN]
        );
        // A scheduled one not started yet: nothing more, now or later, at any related scope.
        let scheduled = [activated("/", 120, 600)];
        assert_eq!(
            codes(&rules, &request(60), &elig, &scheduled),
            [SCHEDULED_ACTIVATION_EXISTS]
        );
        assert_eq!(
            codes(&rules, &at(600, 480), &elig, &scheduled),
            [SCHEDULED_ACTIVATION_EXISTS]
        );
        assert_eq!(
            codes(&rules, &narrow, &elig, &scheduled),
            [SCHEDULED_ACTIVATION_EXISTS]
        );
        // An ended activation, or an administrator's assignment, does not count.
        let ended = [activated("/", -600, -120)];
        assert!(codes(&rules, &at(480, 480), &elig, &ended).is_empty());
        let assigned = [sched(ScheduleKind::Active, "/", 0, Some(480))];
        assert!(codes(&rules, &at(480, 480), &elig, &assigned).is_empty());
        // Nor one at a scope neither covering nor covered by the one asked.
        let other_scope = [activated("/administrativeUnits/y", 0, 480)];
        assert!(codes(&rules, &narrow, &elig, &other_scope).is_empty());
        // At most a week ahead.
        assert!(codes(&rules, &at(7 * 24 * 60, 60), &elig, &[]).is_empty());
        assert_eq!(
            codes(&rules, &at(8 * 24 * 60, 60), &elig, &[]),
            [START_TOO_FAR_AHEAD]
        );
    }

    #[test]
    fn a_request_while_another_waits_is_refused_naming_the_waiting_one() {
        let rules = PolicyRules::default();
        let elig = [sched(ScheduleKind::Eligible, "/", -100, Some(10_000))];
        let waiting = uuid::Uuid::from_u128(42);
        let broken = decide_activation(
            &rules,
            &request(60),
            &elig,
            &[],
            &[waiting],
            t(0),
            TimeDelta::minutes(5),
        )
        .unwrap_err();
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].code, PENDING_REQUEST_EXISTS);
        assert_eq!(broken[0].target, waiting.to_string());
        assert!(broken[0].message.contains(&waiting.to_string()));
    }

    #[test]
    fn each_rule_refuses_with_its_code() {
        let rules = PolicyRules::default();
        let elig = [sched(ScheduleKind::Eligible, "/", -100, Some(10_000))];
        assert_eq!(codes(&rules, &request(60), &elig, &[]), Vec::<&str>::new());
        assert_eq!(
            codes(&rules, &request(9 * 60), &elig, &[]),
            ["ExpirationRule"],
            "8 h maximum, never clamped"
        );
        assert_eq!(
            codes(&rules, &request(4), &elig, &[]),
            ["ActiveDurationTooShort"]
        );
        assert_eq!(
            codes(
                &rules,
                &ActivationRequest {
                    justification: None,
                    ..request(60)
                },
                &elig,
                &[]
            ),
            ["JustificationRule"]
        );
        assert_eq!(
            codes(
                &rules,
                &ActivationRequest {
                    mfa_is_fresh: false,
                    ..request(60)
                },
                &elig,
                &[]
            ),
            ["MfaRule"]
        );
        assert_eq!(codes(&rules, &request(60), &[], &[]), ["NoEligibility"]);
        let active = [sched(ScheduleKind::Active, "/", -10, Some(30))];
        assert_eq!(
            codes(&rules, &request(60), &elig, &active),
            ["RoleAssignmentExists"]
        );
        let mut ticketed = rules.clone();
        ticketed
            .enablement_end_user_assignment
            .push(Enablement::Ticketing);
        assert_eq!(
            codes(&ticketed, &request(60), &elig, &[]),
            ["TicketingRule"]
        );
        let with_ticket = ActivationRequest {
            ticket: Some(Ticket {
                number: "CHG-1".into(),
                system: "ServiceNow".into(),
            }),
            ..request(60)
        };
        assert!(codes(&ticketed, &with_ticket, &elig, &[]).is_empty());
        // Every broken rule is reported at once.
        let all_wrong = ActivationRequest {
            justification: None,
            mfa_is_fresh: false,
            ..request(9 * 60)
        };
        assert_eq!(
            codes(&ticketed, &all_wrong, &[], &[]),
            [
                "ExpirationRule",
                "JustificationRule",
                "TicketingRule",
                "MfaRule"
            ]
        );
    }

    #[test]
    fn eligibility_bounds_scope_and_time() {
        let rules = PolicyRules::default();
        let narrow = [sched(
            ScheduleKind::Eligible,
            "/administrativeUnits/a",
            -100,
            Some(10_000),
        )];
        assert_eq!(
            codes(&rules, &request(60), &narrow, &[]),
            ["NoEligibility"],
            "an AU eligibility does not reach /"
        );
        let ends_soon = [sched(ScheduleKind::Eligible, "/", -100, Some(30))];
        assert_eq!(
            codes(&rules, &request(60), &ends_soon, &[]),
            ["NoEligibility"],
            "never past the eligibility's end"
        );
        assert!(codes(&rules, &request(30), &ends_soon, &[]).is_empty());
        let later = ActivationRequest {
            start: Some(t(120)),
            ..request(60)
        };
        let g = decide_activation(
            &rules,
            &later,
            &[sched(ScheduleKind::Eligible, "/", -100, None)],
            &[],
            &[],
            t(0),
            TimeDelta::minutes(5),
        )
        .unwrap();
        assert_eq!((g.start, g.end), (t(120), t(180)), "scheduled activation");
        let past = ActivationRequest {
            start: Some(t(-60)),
            ..request(60)
        };
        assert_eq!(
            codes(
                &rules,
                &past,
                &[sched(ScheduleKind::Eligible, "/", -100, None)],
                &[]
            ),
            ["ExpirationRule"]
        );
    }

    #[test]
    fn approval_is_reported_not_skipped() {
        let mut rules = PolicyRules::default();
        rules.approval_end_user_assignment.is_approval_required = true;
        let g = decide_activation(
            &rules,
            &request(60),
            &[sched(ScheduleKind::Eligible, "/", -100, None)],
            &[],
            &[],
            t(0),
            TimeDelta::minutes(5),
        )
        .unwrap();
        assert!(g.needs_approval);
    }

    proptest! {
        /// Every granted activation lies within one of its eligibilities and within the maximum.
        #[test]
        fn grants_lie_within_eligibility(
            e_start in -500i64..500, e_len in 1i64..2000, r_start in -10i64..600, r_len in -5i64..700, max in 5i64..600,
        ) {
            let mut rules = PolicyRules::default();
            rules.expiration_end_user_assignment.maximum_duration = TimeDelta::minutes(max);
            let elig = [sched(ScheduleKind::Eligible, "/", e_start, Some(e_start + e_len))];
            let req = ActivationRequest { start: Some(t(r_start)), ..request(r_len) };
            if let Ok(g) = decide_activation(&rules, &req, &elig, &[], &[], t(0), TimeDelta::minutes(5)) {
                prop_assert!(g.start >= t(e_start) && g.end <= t(e_start + e_len));
                prop_assert!(g.end - g.start <= TimeDelta::minutes(max));
                prop_assert!(g.end - g.start >= TimeDelta::minutes(5));
                prop_assert!(g.start >= t(0) - TimeDelta::minutes(5));
            }
        }
    }
}
