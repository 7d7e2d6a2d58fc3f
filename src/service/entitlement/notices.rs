//! Announcing what happened to access package requests and assignments: the use cases call in
//! here inside the transaction that made the change, and the mails and webhook events it
//! causes are written as outbox jobs with that change (so a crash loses none, and a change
//! rolled back sends none). The scheduler calls in for what falls due later: a stage's
//! escalation, and the reminders 14 days and 1 day before an assignment ends (kept as due
//! times in the store, migration 0013, cleared or moved in the transaction that sends them).
//!
//! Who is told: the approvers of the stage now waiting, resolved exactly as a review resolves
//! them (`assignments::approvers::approvers_of`: named users, group members, the manager chain,
//! fallback when the primary set is nobody, never the requestor or the target), and the
//! escalation approvers when the stage escalates; the target and whoever asked on the target's
//! behalf for decisions and for the assignment's delivery, reminders and end. A policy's
//! `isAssignmentNotificationDisabled` silences the mails about the assignment (delivered,
//! ending, ended); subscribers still get their events. Each job has a once key naming its
//! occasion, so nothing is mailed twice for the same stage, reminder or end.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use eligo_core::entitlement::assignment::Assignment;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::reminder;
use eligo_core::entitlement::request::{AssignmentRequest, RequestState};
use eligo_store::Tx;
use uuid::Uuid;

use super::assignments::approvers;
use crate::app::App;
use crate::failure::UseCaseResult;
use crate::notify::package::{AnswerLine, PackageEvent, PackageNotice, PackageRef, PackageStage};
use crate::notify::package_mail::PackageAudience;
use crate::outbox::jobs::Payload;
use crate::service::notices::{address_of, party};

/// What a notice needs that the request or assignment only names.
struct Context {
    package: Option<AccessPackage>,
    policy: Option<AssignmentPolicy>,
}

async fn context(tx: &mut dyn Tx, package: Uuid, policy: Option<Uuid>) -> UseCaseResult<Context> {
    Ok(Context {
        package: tx.get_package(package).await?,
        policy: match policy {
            Some(p) => tx.get_assignment_policy(p).await?,
            None => None,
        },
    })
}

/// The notice about `request`, before its event and occasion-specific fields.
async fn base(
    tx: &mut dyn Tx,
    event: PackageEvent,
    request: &AssignmentRequest,
    ctx: &Context,
    now: DateTime<Utc>,
) -> UseCaseResult<PackageNotice> {
    let requestor = if request.requestor_id.is_nil() {
        None
    } else {
        Some(party(tx, request.requestor_id).await?)
    };
    let answers = request
        .answers
        .iter()
        .map(|a| AnswerLine {
            question: ctx
                .policy
                .as_ref()
                .and_then(|p| p.questions.iter().find(|q| q.id == a.question_id))
                .map_or_else(|| a.question_id.clone(), |q| q.text.clone()),
            answer: a.display_value.clone().unwrap_or_else(|| a.value.clone()),
        })
        .collect();
    Ok(PackageNotice {
        id: Uuid::new_v4(),
        event,
        occurred_at: now,
        package: PackageRef {
            id: request.access_package_id,
            display_name: ctx.package.as_ref().map_or_else(
                || request.access_package_id.to_string(),
                |p| p.display_name.clone(),
            ),
        },
        requestor,
        target: party(tx, request.target_id).await?,
        actor: None,
        request_id: Some(request.id),
        assignment_id: request.assignment_id,
        justification: request.justification.clone(),
        answers,
        stage: None,
        status: None,
        reason: None,
        start: None,
        end: None,
        days_left: None,
    })
}

/// A request now waits on its current stage (just made, or the stage before approved): its
/// approvers are mailed, and the stage's escalation is owed to the scheduler.
pub async fn stage_waiting(
    app: &App,
    tx: &mut dyn Tx,
    request: &AssignmentRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let Some((notice, approvers, escalation)) =
        waiting_notice(app, tx, request, false, now).await?
    else {
        return Ok(());
    };
    let occasion = format!("stage:{}:{}", request.id, stage_id(&notice));
    announce(
        app,
        tx,
        &notice,
        &occasion,
        approvers,
        PackageAudience::Approver,
        now,
    )
    .await?;
    // Escalation approvers are told when the stage escalates, if it is still undecided then.
    tx.set_request_notice(request.id, escalation.filter(|t| *t > now))
        .await?;
    Ok(())
}

fn stage_id(n: &PackageNotice) -> Uuid {
    n.stage.as_ref().map(|s| s.stage_id).unwrap_or_default()
}

/// The notice for the stage `request` waits on, with the approvers to mail (the primary
/// ones, or at escalation the escalation approvers who are not primary ones) and the moment it
/// escalates. None when it waits on nothing.
async fn waiting_notice(
    app: &App,
    tx: &mut dyn Tx,
    request: &AssignmentRequest,
    escalated: bool,
    now: DateTime<Utc>,
) -> UseCaseResult<Option<(PackageNotice, BTreeSet<Uuid>, Option<DateTime<Utc>>)>> {
    if request.state != RequestState::PendingApproval {
        return Ok(None);
    }
    let Some(approval) = &request.approval else {
        return Ok(None);
    };
    let Some(i) = approval.progress.current() else {
        return Ok(None);
    };
    let (step, settings) = (&approval.progress.steps[i], &approval.stages[i]);
    let who = approvers::approvers_of(app, request, settings, now);
    let approvers = if escalated {
        who.escalation.difference(&who.primary).copied().collect()
    } else {
        who.primary
    };
    let ctx = context(tx, request.access_package_id, request.assignment_policy_id).await?;
    let mut n = base(tx, PackageEvent::ApprovalRequested, request, &ctx, now).await?;
    n.stage = Some(PackageStage {
        number: i + 1,
        of: approval.progress.steps.len(),
        stage_id: step.id,
        deadline: step.deadline(),
        escalated,
    });
    n.start = request.schedule.start_date_time;
    Ok(Some((n, approvers, step.escalation_from())))
}

/// The scheduler: `request`'s escalation notice fell due. Mails the escalation approvers if
/// its stage still waits and has escalated; otherwise owes the right moment again, or nothing.
/// Its due time is cleared (or moved) in this transaction, so it is sent once.
pub async fn escalate(
    app: &App,
    tx: &mut dyn Tx,
    request: &AssignmentRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let waiting = waiting_notice(app, tx, request, true, now).await?;
    match waiting {
        Some((notice, approvers, Some(at))) if at <= now => {
            tx.set_request_notice(request.id, None).await?;
            let occasion = format!("escalated:{}:{}", request.id, stage_id(&notice));
            announce(
                app,
                tx,
                &notice,
                &occasion,
                approvers,
                PackageAudience::Approver,
                now,
            )
            .await
        }
        Some((_, _, Some(at))) => {
            tx.set_request_notice(request.id, Some(at)).await?;
            Ok(())
        }
        _ => {
            tx.set_request_notice(request.id, None).await?;
            Ok(())
        }
    }
}

/// After a review: the next stage now waits, or the request was denied (by the approver, or
/// by deciding it again at the last approval). An approval that delivered is announced by
/// [`delivered`].
pub async fn after_review(
    app: &App,
    tx: &mut dyn Tx,
    request: &AssignmentRequest,
    next_stage: bool,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    match request.state {
        RequestState::PendingApproval if next_stage => stage_waiting(app, tx, request, now).await,
        RequestState::Denied => denied(app, tx, request, now).await,
        _ => Ok(()),
    }
}

/// The scheduler denied the request `id` because its stage was not decided in time.
pub async fn timed_out(
    app: &App,
    tx: &mut dyn Tx,
    id: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    match tx.get_assignment_request(id).await? {
        Some(r) if r.state == RequestState::Denied => denied(app, tx, &r, now).await,
        _ => Ok(()),
    }
}

/// "Your request was denied" to the target and whoever asked: by an approver (with their
/// justification), `TimedOut`, or refused when decided again (the reason named).
async fn denied(
    app: &App,
    tx: &mut dyn Tx,
    request: &AssignmentRequest,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let ctx = context(tx, request.access_package_id, request.assignment_policy_id).await?;
    let mut n = base(tx, PackageEvent::RequestDenied, request, &ctx, now).await?;
    n.status = Some(request.status.clone());
    let last = request.approval.as_ref().and_then(|a| {
        a.progress
            .steps
            .iter()
            .flat_map(|s| s.reviews.iter())
            .max_by_key(|r| r.reviewed_date_time)
            .cloned()
    });
    if let Some(rest) = request.status.strip_prefix("Denied: ") {
        n.reason = Some(rest.to_string());
    } else if request.status == "Denied"
        && let Some(review) = last
    {
        n.actor = Some(party(tx, review.reviewed_by).await?);
        n.reason = review.justification;
    }
    let to = people(request.requestor_id, request.target_id);
    let occasion = format!("denied:{}", request.id);
    announce_people(app, tx, &n, &occasion, to, false, now).await
}

/// An add or update was delivered (at once, or at its last approval): the approval first when
/// there was one, then the delivery with its end; the assignment's first reminder is owed from
/// now (again for a new end after an update).
pub async fn delivered(
    app: &App,
    tx: &mut dyn Tx,
    request: &AssignmentRequest,
    assignment: &Assignment,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    tx.set_assignment_reminder(
        assignment.id,
        reminder::first_after(assignment.due_at(), now),
    )
    .await?;
    let ctx = context(
        tx,
        request.access_package_id,
        Some(assignment.assignment_policy_id),
    )
    .await?;
    let to = people(request.requestor_id, request.target_id);
    if request
        .approval
        .as_ref()
        .is_some_and(|a| a.progress.is_approved())
    {
        let mut n = base(tx, PackageEvent::RequestApproved, request, &ctx, now).await?;
        let last = request.approval.as_ref().and_then(|a| {
            a.progress
                .steps
                .iter()
                .flat_map(|s| s.reviews.iter())
                .max_by_key(|r| r.reviewed_date_time)
                .cloned()
        });
        if let Some(review) = last {
            n.actor = Some(party(tx, review.reviewed_by).await?);
            n.reason = review.justification;
        }
        let occasion = format!("approved:{}", request.id);
        announce_people(app, tx, &n, &occasion, to.clone(), false, now).await?;
    }
    let mut n = base(tx, PackageEvent::AssignmentDelivered, request, &ctx, now).await?;
    n.assignment_id = Some(assignment.id);
    n.start = Some(assignment.start_date_time);
    n.end = assignment.end_date_time;
    n.status = Some(assignment.status.clone());
    let occasion = format!("delivered:{}", request.id);
    announce_people(app, tx, &n, &occasion, to, silenced(&ctx), now).await
}

/// The assignment's reminder fell due (the scheduler): sends the nearest one whose moment came
/// and owes the next, in this transaction, so each goes out once.
pub async fn remind(
    app: &App,
    tx: &mut dyn Tx,
    assignment: &Assignment,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let due = reminder::on_due(assignment.due_at(), now);
    tx.set_assignment_reminder(assignment.id, due.next).await?;
    let (Some(days), Some(end)) = (due.days_left, assignment.end_date_time) else {
        return Ok(());
    };
    let Some((mut n, to, ctx)) =
        about_assignment(tx, PackageEvent::AssignmentExpiring, assignment, now).await?
    else {
        return Ok(());
    };
    n.days_left = Some(days);
    let occasion = format!("expiring:{}:{}:{days}", assignment.id, end.timestamp());
    announce_people(app, tx, &n, &occasion, to, silenced(&ctx), now).await
}

/// The assignment ended (`Expired` at its end) or was removed (`Removed`).
pub async fn ended(
    app: &App,
    tx: &mut dyn Tx,
    assignment: &Assignment,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let Some((mut n, to, ctx)) =
        about_assignment(tx, PackageEvent::AssignmentExpired, assignment, now).await?
    else {
        return Ok(());
    };
    n.status = Some(assignment.status.clone());
    let occasion = format!("ended:{}", assignment.id);
    announce_people(app, tx, &n, &occasion, to, silenced(&ctx), now).await
}

/// The scheduler expired the assignment `id`.
pub async fn expired(
    app: &App,
    tx: &mut dyn Tx,
    id: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    match tx.get_assignment(id).await? {
        Some(a) if !a.is_live() => ended(app, tx, &a, now).await,
        _ => Ok(()),
    }
}

/// A notice about an assignment, from the request that created it: to its target and whoever
/// asked for it.
async fn about_assignment(
    tx: &mut dyn Tx,
    event: PackageEvent,
    a: &Assignment,
    now: DateTime<Utc>,
) -> UseCaseResult<Option<(PackageNotice, Vec<Uuid>, Context)>> {
    let Some(request) = tx.get_assignment_request(a.created_by_request).await? else {
        return Ok(None);
    };
    let ctx = context(tx, a.access_package_id, Some(a.assignment_policy_id)).await?;
    let mut n = base(tx, event, &request, &ctx, now).await?;
    n.assignment_id = Some(a.id);
    n.start = Some(a.start_date_time);
    n.end = a.end_date_time;
    Ok(Some((n, people(request.requestor_id, a.target_id), ctx)))
}

/// Does the policy silence mails about the assignment?
fn silenced(ctx: &Context) -> bool {
    ctx.policy
        .as_ref()
        .is_some_and(|p| p.notification_settings.is_assignment_notification_disabled)
}

/// The target first, then whoever asked on their behalf (Eligo's own requests name nobody).
fn people(requestor: Uuid, target: Uuid) -> Vec<Uuid> {
    let mut out = vec![target];
    if requestor != target && !requestor.is_nil() {
        out.push(requestor);
    }
    out
}

/// Announces to the target (`people[0]`) and the requestor; `quiet`: events only, no mail.
async fn announce_people(
    app: &App,
    tx: &mut dyn Tx,
    n: &PackageNotice,
    occasion: &str,
    people: Vec<Uuid>,
    quiet: bool,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    events(app, tx, n, occasion, now).await?;
    if quiet {
        return Ok(());
    }
    for (i, who) in people.into_iter().enumerate() {
        let audience = if i == 0 {
            PackageAudience::Target
        } else {
            PackageAudience::Requestor
        };
        mail(app, tx, n, occasion, who, audience, now).await?;
    }
    Ok(())
}

/// Announces to `approvers` (events too).
async fn announce(
    app: &App,
    tx: &mut dyn Tx,
    n: &PackageNotice,
    occasion: &str,
    approvers: BTreeSet<Uuid>,
    audience: PackageAudience,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    events(app, tx, n, occasion, now).await?;
    for who in approvers {
        mail(app, tx, n, occasion, who, audience, now).await?;
    }
    Ok(())
}

/// One event per subscription that names this type (or `*`), signed when delivered.
async fn events(
    app: &App,
    tx: &mut dyn Tx,
    n: &PackageNotice,
    occasion: &str,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let name = n.event.as_str();
    for sub in tx.list_subscriptions().await? {
        let wanted = sub.data["eventTypes"].as_array().is_some_and(|types| {
            types
                .iter()
                .filter_map(|t| t.as_str())
                .any(|t| t == "*" || t == name)
        });
        if wanted {
            let payload = Payload::Event {
                subscription_id: sub.id,
                event: Box::new(n.event(&app.config.public_url)),
            };
            let once = format!("package:{occasion}:subscription:{}", sub.id);
            tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
        }
    }
    Ok(())
}

/// One mail to one person, when mail is configured and they have an address.
async fn mail(
    app: &App,
    tx: &mut dyn Tx,
    n: &PackageNotice,
    occasion: &str,
    who: Uuid,
    audience: PackageAudience,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    if app.config.smtp_url.is_none() {
        return Ok(());
    }
    let Some((_, to)) = address_of(tx, who).await? else {
        return Ok(());
    };
    let once = format!("package:{occasion}:mail:{}", to.to_lowercase());
    let payload = Payload::PackageMail {
        to,
        audience,
        notice: Box::new(n.clone()),
    };
    tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
    Ok(())
}

/// What the scheduler found owed at `now`: assignments' reminders and waiting requests'
/// escalations, read inside the pass's write transaction.
pub struct Due {
    reminders: Vec<Assignment>,
    escalations: Vec<AssignmentRequest>,
}

impl Due {
    pub async fn read(tx: &mut dyn Tx, now: DateTime<Utc>, limit: i64) -> UseCaseResult<Due> {
        Ok(Due {
            reminders: tx
                .due_assignment_reminders(now, limit)
                .await?
                .into_iter()
                .map(|(a, _)| a)
                .collect(),
            escalations: tx.due_request_notices(now, limit).await?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.reminders.is_empty() && self.escalations.is_empty()
    }

    /// Handles each (its due time cleared or moved in this transaction); how many.
    pub async fn handle(
        &self,
        app: &App,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
    ) -> UseCaseResult<usize> {
        for a in &self.reminders {
            // Re-read: an expiry earlier in this pass may have ended it.
            match tx.get_assignment(a.id).await? {
                Some(a) => remind(app, tx, &a, now).await?,
                None => {
                    tx.set_assignment_reminder(a.id, None).await?;
                }
            }
        }
        for r in &self.escalations {
            match tx.get_assignment_request(r.id).await? {
                Some(r) => escalate(app, tx, &r, now).await?,
                None => {
                    tx.set_request_notice(r.id, None).await?;
                }
            }
        }
        Ok(self.reminders.len() + self.escalations.len())
    }
}
