//! What the Approvals pages show about one request: who asks for what, where, when and why,
//! and every approval stage so far (who decided what, when, with what justification). Built
//! from the same loaded target and steps the API shapes (`service::pim::approve::steps_for`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use eligo_core::activation::Expiration;
use eligo_core::approval::{ReviewResult, Step, StepStatus};
use eligo_core::request::{RequestStatus, ScheduleRequest};
use eligo_store::Tx;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::notify::templates::{format_duration, format_time};
use crate::service::access;
use crate::service::pim::{Governed, load_target};

/// A moment, for `<time datetime="{{ rfc3339 }}">{{ text }}</time>`.
#[derive(Debug, Clone)]
pub struct When {
    pub rfc3339: String,
    pub text: String,
}

impl When {
    pub fn of(t: DateTime<Utc>) -> Self {
        Self {
            rfc3339: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: format_time(t),
        }
    }
}

/// One approver's decision.
pub struct ReviewView {
    pub who: String,
    pub approved: bool,
    pub justification: String,
    pub at: When,
}

impl ReviewView {
    pub fn result(&self) -> &'static str {
        if self.approved { "Approved" } else { "Denied" }
    }

    pub fn badge(&self) -> &'static str {
        if self.approved {
            "badge-ok"
        } else {
            "badge-bad"
        }
    }
}

/// One approval stage.
pub struct StageView {
    pub number: usize,
    pub of: usize,
    pub status: &'static str,
    pub badge: &'static str,
    pub needed: usize,
    pub approvals: usize,
    pub deadline: Option<When>,
    pub reviews: Vec<ReviewView>,
}

/// One request, as the Approvals pages show it.
pub struct RequestView {
    pub id: Uuid,
    /// "Alice Helpdesk-Lead (alice@contoso.example)".
    pub requester: String,
    /// "Alice Helpdesk-Lead", for sentences.
    pub requester_name: String,
    /// Who filed it for the requester, when someone else did.
    pub filed_by: Option<String>,
    /// "Role" or "Group membership" / "Group ownership".
    pub kind: String,
    /// The role's or the group's name.
    pub what: String,
    /// The scope of a role; empty for a group.
    pub scope: String,
    /// "when approved" or a time.
    pub start: Option<When>,
    /// "8 hours", "until ...", "no end (permanent)".
    pub duration: String,
    pub justification: String,
    pub ticket: String,
    pub asked: When,
    pub status: &'static str,
    pub status_badge: &'static str,
    pub pending: bool,
    pub stages: Vec<StageView>,
    /// The stage now waiting (1-based), with its step id.
    pub current: Option<(usize, Uuid)>,
    /// May the viewer decide the stage now waiting?
    pub assigned_to_me: bool,
    /// Does the stage now waiting ask approvers for a justification (the portal always does)?
    pub justification_required: bool,
}

impl RequestView {
    /// "Alice's request for Security Administrator".
    pub fn phrase(&self) -> String {
        format!("{}'s request for {}", self.requester_name, self.what)
    }

    pub fn current_number(&self) -> usize {
        self.current.map_or(0, |(n, _)| n)
    }

    pub fn current_step(&self) -> String {
        self.current.map(|(_, s)| s.to_string()).unwrap_or_default()
    }

    /// The last decision recorded, as "Ada Administrator (Approved)".
    pub fn last_decision(&self) -> Option<String> {
        self.stages
            .iter()
            .flat_map(|s| &s.reviews)
            .max_by_key(|r| r.at.rfc3339.clone())
            .map(|r| format!("{} ({})", r.who, r.result()))
    }
}

pub fn status_of(status: RequestStatus) -> (&'static str, &'static str) {
    let badge = match status {
        RequestStatus::PendingApproval => "badge-warn",
        RequestStatus::Denied | RequestStatus::Failed => "badge-bad",
        RequestStatus::Canceled => "badge-info",
        _ => "badge-ok",
    };
    let label = match status {
        RequestStatus::PendingApproval => "Waiting for approval",
        other => other.as_str(),
    };
    (label, badge)
}

/// Names of principals, each looked up once.
#[derive(Default)]
pub struct Names(HashMap<Uuid, String>);

impl Names {
    pub async fn of(&mut self, tx: &mut dyn Tx, id: Uuid) -> ApiResult<String> {
        if let Some(n) = self.0.get(&id) {
            return Ok(n.clone());
        }
        let name = match access::principal_summary(tx, id).await? {
            Some(p) => match p.upn {
                Some(upn) if upn != p.display_name => format!("{} ({upn})", p.display_name),
                _ => p.display_name,
            },
            None => format!("{id} (removed)"),
        };
        self.0.insert(id, name.clone());
        Ok(name)
    }
}

/// The view of `request`, whose steps (with "assigned to me") `steps_for` gave.
pub async fn build(
    tx: &mut dyn Tx,
    names: &mut Names,
    request: &ScheduleRequest,
    steps: &[(Step, bool)],
    now: DateTime<Utc>,
) -> ApiResult<RequestView> {
    let target = load_target(tx, &request.target(), request.principal_id).await?;
    let requester = match &target.principal.upn {
        Some(upn) if upn != &target.principal.display_name => {
            format!("{} ({upn})", target.principal.display_name)
        }
        _ => target.principal.display_name.clone(),
    };
    let filed_by = if request.created_by != request.principal_id {
        Some(names.of(tx, request.created_by).await?)
    } else {
        None
    };
    let (kind, what, scope) = match &target.governed {
        Governed::Role(role) => (
            "Role".to_string(),
            role.display_name.clone(),
            if request.directory_scope_id == "/" {
                "/ (the whole directory)".to_string()
            } else {
                request.directory_scope_id.clone()
            },
        ),
        Governed::Group { group, access } => (
            format!("Group {access}ship"),
            group.display_name.clone(),
            String::new(),
        ),
    };
    let start = request
        .schedule_info
        .start_date_time
        .filter(|s| *s > now)
        .map(When::of);
    let duration = match request.schedule_info.expiration() {
        Expiration::AfterDuration(d) => format_duration(d),
        Expiration::AfterDateTime(end) => format!("until {}", format_time(end)),
        Expiration::NoExpiration => "no end (permanent)".to_string(),
    };
    let ticket = match &request.ticket_info {
        Some(t) => match (t.number.trim(), t.system.trim()) {
            ("", "") => String::new(),
            (n, "") => n.to_string(),
            ("", s) => s.to_string(),
            (n, s) => format!("{n} ({s})"),
        },
        None => String::new(),
    };
    let of = steps.len();
    let mut stages = Vec::new();
    let mut current = None;
    let mut assigned_to_me = false;
    let mut justification_required = false;
    for (i, (step, assigned)) in steps.iter().enumerate() {
        let mut reviews = Vec::new();
        for r in &step.reviews {
            reviews.push(ReviewView {
                who: names.of(tx, r.reviewed_by).await?,
                approved: r.review_result == ReviewResult::Approve,
                justification: r.justification.clone().unwrap_or_default(),
                at: When::of(r.reviewed_date_time),
            });
        }
        let (status, badge) = match (step.status, step.result()) {
            (StepStatus::NotStarted, _) => ("Not started", "badge-info"),
            (StepStatus::InProgress, _) => ("Waiting", "badge-warn"),
            (StepStatus::Completed, ReviewResult::Approve) => ("Approved", "badge-ok"),
            (StepStatus::Completed, ReviewResult::Deny) => ("Denied", "badge-bad"),
            (StepStatus::Completed, ReviewResult::NotReviewed) => {
                ("Not decided in time", "badge-bad")
            }
        };
        if step.status == StepStatus::InProgress && request.status == RequestStatus::PendingApproval
        {
            current = Some((i + 1, step.id));
            assigned_to_me = *assigned;
            justification_required = step.settings.is_approver_justification_required;
        }
        stages.push(StageView {
            number: i + 1,
            of,
            status,
            badge,
            needed: step.settings.minimum_approvals.max(1) as usize,
            approvals: step
                .reviews
                .iter()
                .filter(|r| r.review_result == ReviewResult::Approve)
                .count(),
            deadline: (step.status == StepStatus::InProgress)
                .then(|| step.deadline())
                .flatten()
                .map(When::of),
            reviews,
        });
    }
    let (status, status_badge) = status_of(request.status);
    Ok(RequestView {
        id: request.id,
        requester,
        requester_name: target.principal.display_name.clone(),
        filed_by,
        kind,
        what,
        scope,
        start,
        duration,
        justification: request.justification.clone().unwrap_or_default(),
        ticket,
        asked: When::of(request.created_date_time),
        status,
        status_badge,
        pending: request.status == RequestStatus::PendingApproval,
        stages,
        current,
        assigned_to_me,
        justification_required,
    })
}
