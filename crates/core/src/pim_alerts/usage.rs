//! The scans that read sign-in and activation history (`StaleSignInAlert`,
//! `RedundantAssignmentAlert`, `SequentialActivationRenewalsAlert`), each from the plain facts
//! the server gathers in its transaction ([`Facts`]: the holdings, the holders, the last
//! sign-ins, the last and the recent activations). One incident per (assignee, role), keyed
//! `{assigneeId}_{roleDefinitionId}`, whatever the number of schedules or scopes behind it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::Configuration;
use super::scan::{Cause, Facts};

/// How far back `SequentialActivationRenewalsAlert` looks: the activations of the last 24
/// hours, `[now - 24h, now]`.
pub const SEQUENTIAL_WINDOW: TimeDelta = TimeDelta::hours(24);

fn key(principal: Uuid, role: Uuid) -> String {
    format!("{principal}_{role}")
}

/// The assignee's and the role's fields every incident of these scans carries.
fn who_and_what(
    facts: &Facts,
    principal: Uuid,
    role: Uuid,
) -> serde_json::Map<String, serde_json::Value> {
    let holder = facts.principals.get(&principal);
    let r = facts.roles.iter().find(|r| r.id == role);
    let mut out = serde_json::Map::new();
    out.insert("assigneeId".into(), json!(principal.to_string()));
    out.insert(
        "assigneeDisplayName".into(),
        json!(holder.map_or_else(|| principal.to_string(), |h| h.display_name.clone())),
    );
    out.insert(
        "assigneeUserPrincipalName".into(),
        json!(holder.and_then(|h| h.upn.clone())),
    );
    out.insert("roleDefinitionId".into(), json!(role.to_string()));
    out.insert(
        "roleDisplayName".into(),
        json!(r.map(|r| r.display_name.clone())),
    );
    out.insert(
        "roleTemplateId".into(),
        json!(r.and_then(|r| r.template_id).unwrap_or(role).to_string()),
    );
    out
}

fn privileged(facts: &Facts, role: Uuid) -> bool {
    facts
        .roles
        .iter()
        .find(|r| r.id == role)
        .is_none_or(|r| r.privileged)
}

/// `StaleSignInAlert`: one incident per (assignee, role) where the assignee holds a privileged
/// role, active or eligible, and has not signed in (either kind) within `duration`: their last
/// sign-in is older than `now - duration` (one exactly `duration` ago is within). Someone who
/// never signed in is judged by their account's creation instead: stale once the account is
/// older than `duration`, new before. The break-glass accounts are left out (they are meant to
/// stay unused; `BreakGlassUsedAlert` watches the opposite). `assignmentCreatedDateTime` is
/// the oldest of the holdings' creation times.
pub fn stale_sign_in(facts: &Facts, config: &Configuration) -> Vec<Cause> {
    let cutoff = facts.now - config.duration();
    let glass: BTreeSet<Uuid> = facts.break_glass.iter().copied().collect();
    let mut held: BTreeMap<(Uuid, Uuid), DateTime<Utc>> = BTreeMap::new();
    let holdings = facts
        .assignments
        .iter()
        .map(|a| (a.principal_id, a.role_definition_id, a.created_date_time))
        .chain(
            facts
                .eligibilities
                .iter()
                .map(|e| (e.principal_id, e.role_definition_id, e.created_date_time)),
        );
    for (principal, role, created) in holdings {
        if glass.contains(&principal) || !privileged(facts, role) {
            continue;
        }
        held.entry((principal, role))
            .and_modify(|t| *t = (*t).min(created))
            .or_insert(created);
    }
    held.into_iter()
        .filter_map(|((principal, role), created)| {
            let last = facts.last_sign_ins.get(&principal).copied();
            let since = last.or_else(|| facts.principals.get(&principal).map(|p| p.created))?;
            (since < cutoff).then(|| {
                let mut data = who_and_what(facts, principal, role);
                data.insert("assignmentCreatedDateTime".into(), json!(created));
                data.insert("lastSignInDateTime".into(), json!(last));
                Cause {
                    key: key(principal, role),
                    data: data.into(),
                }
            })
        })
        .collect()
}

/// `RedundantAssignmentAlert`: one incident per (assignee, role) where the assignee is eligible
/// for a privileged role and has not activated it (at any scope) within `duration`: the last
/// activation is older than `now - duration`, or there is none. An eligibility is judged only
/// once it is older than `duration` itself (its oldest schedule's creation before
/// `now - duration`): a new one is not redundant.
pub fn redundant_assignment(facts: &Facts, config: &Configuration) -> Vec<Cause> {
    let cutoff = facts.now - config.duration();
    let mut held: BTreeMap<(Uuid, Uuid), DateTime<Utc>> = BTreeMap::new();
    for e in &facts.eligibilities {
        if !privileged(facts, e.role_definition_id) {
            continue;
        }
        held.entry((e.principal_id, e.role_definition_id))
            .and_modify(|t| *t = (*t).min(e.created_date_time))
            .or_insert(e.created_date_time);
    }
    held.into_iter()
        .filter(|(_, created)| *created < cutoff)
        .filter_map(|((principal, role), _)| {
            let last = facts.last_activations.get(&(principal, role)).copied();
            last.is_none_or(|l| l < cutoff).then(|| {
                let mut data = who_and_what(facts, principal, role);
                data.insert("lastActivationDateTime".into(), json!(last));
                Cause {
                    key: key(principal, role),
                    data: data.into(),
                }
            })
        })
        .collect()
}

/// The sequences of `times` (sorted) whose consecutive gaps are each at most `interval`.
fn sequences(times: &[DateTime<Utc>], interval: TimeDelta) -> Vec<&[DateTime<Utc>]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=times.len() {
        if i == times.len() || times[i] - times[i - 1] > interval {
            out.push(&times[start..i]);
            start = i;
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// `SequentialActivationRenewalsAlert`: one incident per (assignee, role) with a sequence of
/// at least `sequentialActivationCounterThreshold` activations (at any scope) within the last
/// 24 hours ([`SEQUENTIAL_WINDOW`], `[now - 24h, now]`), each within
/// `timeIntervalBetweenActivations` of the one before (a gap of exactly the interval counts).
/// Of several such sequences the latest is reported. The incident resolves once no such
/// sequence is left in the window.
pub fn sequential_activation_renewals(facts: &Facts, config: &Configuration) -> Vec<Cause> {
    let from = facts.now - SEQUENTIAL_WINDOW;
    let threshold = config.sequential_count() as usize;
    let interval = config.sequential_interval();
    let mut by_pair: BTreeMap<(Uuid, Uuid), Vec<DateTime<Utc>>> = BTreeMap::new();
    for a in &facts.recent_activations {
        if a.at >= from && a.at <= facts.now {
            by_pair
                .entry((a.principal_id, a.role_definition_id))
                .or_default()
                .push(a.at);
        }
    }
    by_pair
        .into_iter()
        .filter_map(|((principal, role), mut times)| {
            times.sort();
            let run = sequences(&times, interval)
                .into_iter()
                .rev()
                .find(|s| s.len() >= threshold)?
                .to_vec();
            let mut data = who_and_what(facts, principal, role);
            data.remove("roleDefinitionId");
            data.insert("activationCount".into(), json!(run.len()));
            data.insert("sequenceStartDateTime".into(), json!(run.first()));
            data.insert("sequenceEndDateTime".into(), json!(run.last()));
            Some(Cause {
                key: key(principal, role),
                data: data.into(),
            })
        })
        .collect()
}
