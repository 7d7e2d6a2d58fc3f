//! Announcing what happened: a use case that changed a request or a schedule calls in here,
//! inside its transaction, and the notices it causes are written as outbox jobs with the
//! change — one mail per recipient, as the policy's notification rules decide, and one event
//! per matching webhook subscription.
//!
//! The rules (Entra's): `Notification_{Admin,Requestor,Approver}_{Admin_Eligibility,
//! Admin_Assignment,EndUser_Assignment}`, each with a level (None: nothing; Critical: only
//! mails that call for action — a request to approve, a denial, an access about to end; All),
//! default recipients on or off (admins: whoever holds Global Administrator or Privileged Role
//! Administrator now; requestor: the person whose access it is; approvers: the stage's
//! approvers now) and extra addresses.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use eligo_core::policy::{NotificationRule, RolePolicy};
use eligo_core::request::{RequestAction, RequestKind, RequestStatus, ScheduleRequest};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::Tx;
use uuid::Uuid;

use crate::app::App;
use crate::failure::UseCaseResult;
use crate::notify::event::{Notice, NoticeKind, NoticeStage, NoticeTarget, Party};
use crate::outbox::jobs::{MailAudience, Payload};
use crate::service::pim::{Governed, Target, approvers};

/// Which rule family a notice falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    AdminEligibility,
    AdminAssignment,
    EndUserAssignment,
}

impl Family {
    fn suffix(self) -> &'static str {
        match self {
            Family::AdminEligibility => "Admin_Eligibility",
            Family::AdminAssignment => "Admin_Assignment",
            Family::EndUserAssignment => "EndUser_Assignment",
        }
    }

    fn of_schedule(s: &RoleSchedule) -> Self {
        match (s.kind, s.assignment_type) {
            (ScheduleKind::Eligible, _) => Family::AdminEligibility,
            (ScheduleKind::Active, AssignmentType::Assigned) => Family::AdminAssignment,
            (ScheduleKind::Active, AssignmentType::Activated) => Family::EndUserAssignment,
        }
    }
}

/// Mails that call for action go out at the Critical level too.
fn is_critical(kind: NoticeKind) -> bool {
    matches!(
        kind,
        NoticeKind::ActivationRequested | NoticeKind::RequestDenied | NoticeKind::Expiring
    )
}

fn rule<'a>(policy: &'a RolePolicy, who: &str, family: Family) -> Option<&'a NotificationRule> {
    let id = format!("Notification_{who}_{}", family.suffix());
    policy
        .rules
        .notifications
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, r)| r)
}

/// Does `rule` send this notice, and to its default recipients?
fn sends(rule: Option<&NotificationRule>, kind: NoticeKind) -> Option<(bool, Vec<String>)> {
    let rule = rule?;
    let on = match rule.notification_level.as_str() {
        "All" => true,
        "Critical" => is_critical(kind),
        _ => false,
    };
    on.then(|| {
        (
            rule.is_default_recipients_enabled,
            rule.notification_recipients.clone(),
        )
    })
}

pub(crate) async fn party(tx: &mut dyn Tx, id: Uuid) -> UseCaseResult<Party> {
    let summary = crate::service::access::principal_summary(tx, id).await?;
    Ok(Party {
        id,
        display_name: summary
            .as_ref()
            .map(|s| s.display_name.clone())
            .unwrap_or_else(|| id.to_string()),
        user_principal_name: summary.and_then(|s| s.upn),
    })
}

/// Where a user's mail goes: their mail, else a UPN that is an address.
pub(crate) async fn address_of(
    tx: &mut dyn Tx,
    user: Uuid,
) -> UseCaseResult<Option<(Uuid, String)>> {
    Ok(tx.get_user(user).await?.and_then(|u| {
        if !u.account_enabled {
            return None;
        }
        u.mail
            .filter(|m| m.contains('@'))
            .or_else(|| Some(u.user_principal_name).filter(|m| m.contains('@')))
            .map(|m| (u.id, m))
    }))
}

fn notice_target(target: &Target, scope: &str) -> NoticeTarget {
    match &target.governed {
        Governed::Role(role) => NoticeTarget {
            kind: "role".into(),
            id: role.id,
            display_name: role.display_name.clone(),
            directory_scope_id: Some(scope.to_string()),
            access_id: None,
        },
        Governed::Group { group, access } => NoticeTarget {
            kind: "group".into(),
            id: group.id,
            display_name: group.display_name.clone(),
            directory_scope_id: None,
            access_id: Some(access.as_str().to_string()),
        },
    }
}

fn base_notice(
    kind: NoticeKind,
    target: &Target,
    scope: &str,
    principal: Party,
    actor: Option<Party>,
    assignment: &str,
    now: DateTime<Utc>,
) -> Notice {
    Notice {
        id: Uuid::new_v4(),
        kind,
        occurred_at: now,
        principal,
        actor,
        target: notice_target(target, scope),
        assignment: assignment.into(),
        request_id: None,
        justification: None,
        ticket_number: None,
        ticket_system: None,
        start: None,
        end: None,
        stage: None,
        days_left: None,
        reviewer_justification: None,
    }
}

/// The notices a request's new state causes, announced: called by the use cases after they
/// changed `request` (submitted, reviewed, expired), before their commit.
pub async fn after_request(
    app: &App,
    tx: &mut dyn Tx,
    target: &Target,
    request: &ScheduleRequest,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let is_self = request.action.is_self();
    let assignment = match request.kind {
        RequestKind::Eligibility => "eligible",
        RequestKind::Assignment => "active",
    };
    // The target was read for this principal in this transaction: its names are at hand.
    let principal = if target.principal_id == request.principal_id {
        Party {
            id: request.principal_id,
            display_name: target.principal.display_name.clone(),
            user_principal_name: target.principal.upn.clone(),
        }
    } else {
        party(tx, request.principal_id).await?
    };
    let actor = match actor {
        Some(a) if a == principal.id => Some(principal.clone()),
        Some(a) => Some(party(tx, a).await?),
        None => None,
    };
    let mut notice = base_notice(
        NoticeKind::Activated,
        target,
        &request.directory_scope_id,
        principal,
        actor,
        assignment,
        now,
    );
    notice.request_id = Some(request.id);
    notice.justification = request.justification.clone();
    notice.ticket_number = request.ticket_info.as_ref().map(|t| t.number.clone());
    notice.ticket_system = request.ticket_info.as_ref().map(|t| t.system.clone());
    let schedule = request
        .granted_schedule
        .as_ref()
        .unwrap_or(&request.schedule_info);
    notice.start = schedule.start_date_time;
    notice.end = schedule.expiration.end_date_time;
    let reviewed = request.approval.as_ref().and_then(|a| {
        a.steps
            .iter()
            .flat_map(|s| s.reviews.iter())
            .next_back()
            .and_then(|r| r.justification.clone())
    });
    let mut kinds = Vec::new();
    match request.status {
        RequestStatus::PendingApproval => kinds.push(NoticeKind::ActivationRequested),
        RequestStatus::Denied => kinds.push(NoticeKind::RequestDenied),
        RequestStatus::Canceled
            if request
                .status_detail
                .as_deref()
                .is_some_and(|d| d.starts_with("expired")) =>
        {
            kinds.push(NoticeKind::RequestExpired)
        }
        RequestStatus::Granted | RequestStatus::Provisioned => {
            if request.approval.is_some() {
                kinds.push(NoticeKind::RequestApproved);
            }
            kinds.push(match (is_self, request.kind) {
                (true, _) => NoticeKind::Activated,
                (false, RequestKind::Eligibility) => NoticeKind::EligibilityGranted,
                (false, RequestKind::Assignment) => NoticeKind::AssignmentGranted,
            });
            if matches!(request.action, RequestAction::AdminRemove) {
                kinds.clear();
            }
        }
        _ => {}
    }
    let family = match (is_self, request.kind) {
        (true, _) => Family::EndUserAssignment,
        (false, RequestKind::Eligibility) => Family::AdminEligibility,
        (false, RequestKind::Assignment) => Family::AdminAssignment,
    };
    for kind in kinds {
        let mut n = notice.clone();
        n.id = Uuid::new_v4();
        n.kind = kind;
        if matches!(
            kind,
            NoticeKind::RequestApproved | NoticeKind::RequestDenied
        ) {
            n.reviewer_justification = reviewed.clone();
        }
        let mut approvers = None;
        if kind == NoticeKind::ActivationRequested
            && let Some(approval) = &request.approval
            && let Some(i) = approval.current()
        {
            let step = &approval.steps[i];
            n.stage = Some(NoticeStage {
                number: i + 1,
                of: approval.steps.len(),
                step_id: step.id,
            });
            let who = approvers::approvers_of(tx, &app.access, request, step, now).await?;
            let requester = approvers::requester(request);
            let users: BTreeSet<Uuid> = who
                .primary
                .into_iter()
                .filter(|u| !requester.contains(u))
                .collect();
            approvers = Some((step.id, users));
        }
        announce(app, tx, &n, &target.policy, family, approvers, None, now).await?;
    }
    Ok(())
}

/// Notices about a schedule reaching its end or nearing it (`Expired`, `Expiring`).
/// `dedupe` names the occasion, so the same reminder is never sent twice.
#[allow(clippy::too_many_arguments)]
pub async fn about_schedule(
    app: &App,
    tx: &mut dyn Tx,
    target: &Target,
    schedule: &RoleSchedule,
    kind: NoticeKind,
    days_left: Option<u32>,
    dedupe: Option<String>,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let principal = party(tx, schedule.principal_id).await?;
    let assignment = match schedule.kind {
        ScheduleKind::Eligible => "eligible",
        ScheduleKind::Active => "active",
    };
    let mut n = base_notice(
        kind,
        target,
        &schedule.directory_scope_id,
        principal,
        None,
        assignment,
        now,
    );
    n.start = Some(schedule.start_date_time);
    n.end = schedule.end_date_time;
    n.days_left = days_left;
    n.request_id = schedule.created_using;
    announce(
        app,
        tx,
        &n,
        &target.policy,
        Family::of_schedule(schedule),
        None,
        dedupe,
        now,
    )
    .await
}

/// Writes the jobs for one notice: webhook events, then mails by the rules. Each job's once
/// key starts with `dedupe` (default: the notice's id).
#[allow(clippy::too_many_arguments)]
async fn announce(
    app: &App,
    tx: &mut dyn Tx,
    notice: &Notice,
    policy: &RolePolicy,
    family: Family,
    approvers: Option<(Uuid, BTreeSet<Uuid>)>,
    dedupe: Option<String>,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let occasion = dedupe.unwrap_or_else(|| notice.id.to_string());
    for sub in tx.list_subscriptions().await? {
        let wanted = sub.data["eventTypes"].as_array().is_some_and(|types| {
            types
                .iter()
                .filter_map(|t| t.as_str())
                .any(|t| t == "*" || t == notice.kind.as_str())
        });
        if wanted {
            let payload = Payload::Webhook {
                subscription_id: sub.id,
                notice: Box::new(notice.clone()),
            };
            let once = format!("{occasion}:subscription:{}", sub.id);
            tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
        }
    }
    if app.config.smtp_url.is_none() {
        return Ok(());
    }
    let mut mails: Vec<(String, MailAudience)> = Vec::new();
    let mut push = |to: String, audience: MailAudience| {
        if !mails
            .iter()
            .any(|(t, a)| t.eq_ignore_ascii_case(&to) && *a == audience)
        {
            mails.push((to, audience));
        }
    };
    match notice.kind {
        NoticeKind::ActivationRequested => {
            if let Some((defaults, extra)) = sends(rule(policy, "Approver", family), notice.kind) {
                if defaults && let Some((step_id, users)) = &approvers {
                    for user in users {
                        if let Some((id, to)) = address_of(tx, *user).await? {
                            push(
                                to,
                                MailAudience::Approver {
                                    approver_id: id,
                                    step_id: *step_id,
                                },
                            );
                        }
                    }
                }
                for to in extra {
                    push(to, MailAudience::ApproverAddress);
                }
            }
        }
        _ => {
            let admins = matches!(
                notice.kind,
                NoticeKind::Activated
                    | NoticeKind::EligibilityGranted
                    | NoticeKind::AssignmentGranted
            );
            if admins
                && let Some((defaults, extra)) = sends(rule(policy, "Admin", family), notice.kind)
            {
                if defaults {
                    for user in approvers::role_administrators(&app.access, now) {
                        if let Some((_, to)) = address_of(tx, user).await? {
                            push(to, MailAudience::Admin);
                        }
                    }
                }
                for to in extra {
                    push(to, MailAudience::Admin);
                }
            }
            if let Some((defaults, extra)) = sends(rule(policy, "Requestor", family), notice.kind) {
                if defaults && let Some((_, to)) = address_of(tx, notice.principal.id).await? {
                    push(to, MailAudience::Requestor);
                }
                for to in extra {
                    push(to, MailAudience::Requestor);
                }
            }
        }
    }
    for (to, audience) in mails {
        let once = format!("{occasion}:mail:{}", to.to_lowercase());
        let payload = Payload::Mail {
            to,
            audience,
            notice: Box::new(notice.clone()),
        };
        tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
    }
    Ok(())
}

/// Does anyone listen at all (mail configured, or a subscription)? Lets bulk work (a thousand
/// expiries at once) skip loading what notices would need when nobody would hear them.
pub async fn anyone_listens(app: &App, tx: &mut dyn Tx) -> UseCaseResult<bool> {
    Ok(app.config.smtp_url.is_some() || !tx.list_subscriptions().await?.is_empty())
}
