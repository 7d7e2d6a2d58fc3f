//! `BreakGlassUsedAlert`: one incident per announced use of the break-glass account (its
//! bootstrap token presented, or a sign-in to it), from the audit entries the server reads.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{Cause, Facts};

/// How long an incident of a break-glass use stays active: seven days after the use, then it
/// resolves on its own. A security administrator expects every use to be visible long enough
/// to be looked into whatever the on-call rota (a weekend included, and a week matches the
/// weekly digest), and does not expect to have to clear an alert by hand for a use already
/// explained: the use itself stays in the audit log. Nothing removes a use, so there is no
/// remediation.
pub const BREAK_GLASS_WINDOW: TimeDelta = TimeDelta::days(7);

/// One announced use of the break-glass account, as its audit entry records it (uses within
/// the quiet period of an earlier one are audited but not announced, so they are part of that
/// incident).
#[derive(Debug, Clone, PartialEq)]
pub struct BreakGlassUse {
    /// The announcement's id (the `breakglass.used` event id): the incident's key.
    pub notice_id: String,
    pub account_id: Uuid,
    pub account_upn: Option<String>,
    pub at: DateTime<Utc>,
    /// `bootstrapToken` or `signIn`.
    pub credential: &'static str,
    /// The client address, when the entry has one.
    pub ip_address: Option<String>,
}

/// One incident per use within [`BREAK_GLASS_WINDOW`] before `facts.now`; a use older than
/// that is no cause any more, so its incident resolves.
pub fn break_glass_used(facts: &Facts) -> Vec<Cause> {
    facts
        .break_glass_uses
        .iter()
        .filter(|u| u.at <= facts.now && facts.now - u.at < BREAK_GLASS_WINDOW)
        .map(|u| Cause {
            key: u.notice_id.clone(),
            data: json!({
                "accountId": u.account_id.to_string(),
                "accountUserPrincipalName": u.account_upn,
                "usedDateTime": u.at,
                "credential": u.credential,
                "ipAddress": u.ip_address,
            }),
        })
        .collect()
}
