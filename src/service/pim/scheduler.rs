//! The scheduler: announces schedules that start later at their start, ends schedules at their
//! end, expires requests whose approval stage timed out, and removes access package
//! assignments at their end (`service::entitlement::assignments::expiry`). It sleeps until the next due
//! moment the store reports (or until a write wakes it), so work is done within moments of
//! falling due; on start it catches up whatever fell due while Eligo was down.
//!
//! Exactly once: each item is re-read inside the write transaction that handles it, and its
//! "pending" flag is cleared in that same transaction with the audit entry, so a crash either
//! leaves the item due (handled after restart) or handled (never again). Reads never depend on
//! the scheduler: an ended schedule stops granting at its end whether or not it has run.
//!
//! Several servers: every duty's once-ness is in the store, never in a server's memory. A pass
//! reads what is due inside its write transaction, which on PostgreSQL holds the audit head's
//! lock, so passes are serial across servers and the second finds the first's flags cleared
//! (starts, ends, approval timeouts, package requests and notices, review stages). Reminders
//! carry once keys and the look for them is a `claim_duty` marker committed with them; the
//! digest records its period as a server secret in its sending transaction; alert incidents
//! are raised once by their key in the scan's transaction; an audit feed's cursor moves only
//! from the value its job started at.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use eligo_core::audit::Initiator;
use eligo_core::request::{RequestStatus, ScheduleRequest};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::{Principal, Tx};
use uuid::Uuid;

use crate::app::App;
use crate::failure::UseCaseResult;
use crate::notify::event::NoticeKind;
use crate::service::pim::{bare_request_event, cascade, load_target, role_event, schedule_event};
use crate::service::{access, entitlement, notices, reviews};
use eligo_core::target::Target as AccessTarget;

/// How many due items one transaction handles. Small enough that a write queued behind one
/// (the outbox claiming the removals due at the same ends, or recording them) waits tens of
/// milliseconds, not hundreds: on PostgreSQL a pass of 200 expiries held the write lock for
/// about 0.3 s while the removals waited for it.
const BATCH: i64 = 50;
/// The longest the scheduler sleeps without looking (a safety net; writes wake it anyway).
const MAX_NAP: Duration = Duration::from_secs(30);

pub use crate::waker::Waker;

/// The next moment a request (or the schedule it created) owes the scheduler work.
pub fn next_due_of(request: &ScheduleRequest, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let schedule = request
        .granted_schedule
        .as_ref()
        .and_then(|g| match g.start_date_time {
            Some(start) if start > now => Some(start),
            _ => g.expiration.end_date_time,
        });
    [schedule, request.deadline()].into_iter().flatten().min()
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub started: usize,
    pub ended: usize,
    pub expired_requests: usize,
    /// Access package assignments removed at their end.
    pub expired_assignments: usize,
    /// Access package requests denied because a stage was not decided in time.
    pub timed_out_package_requests: usize,
    /// Access package reminders and escalation notices that fell due (sent, or found not due).
    pub package_notices: usize,
    /// Scheduled access package requests delivered (or denied) at their start.
    pub started_package_requests: usize,
    /// Access review instances started, and stages (or instances) ended.
    pub reviews_started: usize,
    pub review_stages_ended: usize,
    /// Access review reminders sent halfway through a stage.
    pub reviews_reminded: usize,
}

/// Handles everything due at the clock's `now`. Tests call this after moving the mock clock.
pub async fn run_due(app: &App) -> UseCaseResult<Pass> {
    let now = app.clock.now();
    let mut pass = Pass::default();
    loop {
        let mut tx = app.store.write().await?;
        let schedules = tx.due_role_schedules(now, BATCH).await?;
        let requests = tx.due_schedule_requests(now, BATCH).await?;
        let assignments = tx.due_assignments(now, BATCH).await?;
        let em_requests = tx.due_assignment_requests(now, BATCH).await?;
        let em_notices = entitlement::notices::Due::read(&mut *tx, now, BATCH).await?;
        let reviews_due = reviews::lifecycle::any_due(&mut *tx, now).await?;
        if schedules.is_empty()
            && requests.is_empty()
            && assignments.is_empty()
            && em_requests.is_empty()
            && em_notices.is_empty()
            && !reviews_due
        {
            return Ok(pass);
        }
        let before = pass;
        let mut names = Names::default();
        names.prefetch_principals(&mut *tx, &schedules).await?;
        let mut ended_at = Vec::new();
        let listens = notices::anyone_listens(app, &mut *tx).await?;
        for schedule in &schedules {
            if let Some(end) =
                handle_schedule(&mut *tx, schedule, now, &mut pass, &mut names).await?
            {
                ended_at.push(end);
                // What was drawn through an expired group membership ends with it.
                cascade::after_schedule_ended(app, &mut *tx, schedule, &Initiator::system(), now)
                    .await?;
                if listens {
                    announce_end(app, &mut *tx, schedule, end, now).await?;
                }
            }
        }
        for request in &requests {
            let mut request = request.clone();
            if request.status != RequestStatus::PendingApproval {
                continue;
            }
            let Some(mut approval) = request.approval.clone() else {
                continue;
            };
            if !approval.expire(now) {
                continue;
            }
            request.approval = Some(approval);
            request.status = RequestStatus::Canceled;
            request.status_detail =
                Some("expired: no decision within the approval stage's timeout".into());
            request.completed_date_time = Some(now);
            tx.update_schedule_request(&request).await?;
            // The principal or group may have been deleted meanwhile: the expiry is recorded
            // all the same (a missing name must never stall the scheduler).
            let event = match load_target(&mut *tx, &request.target(), request.principal_id).await {
                Ok(target) => {
                    notices::after_request(app, &mut *tx, &target, &request, None, now).await?;
                    role_event(
                        now,
                        "PIM activation request expired",
                        Initiator::system(),
                        &target,
                        &request,
                    )
                }
                Err(e) if e.kind == crate::failure::Kind::NotFound => {
                    bare_request_event(now, "PIM activation request expired", &request)
                }
                Err(e) => return Err(e),
            };
            tx.append_audit(event).await?;
            pass.expired_requests += 1;
        }
        for assignment in &assignments {
            if entitlement::assignments::expiry::expire(app, &mut *tx, assignment, now).await? {
                pass.expired_assignments += 1;
                entitlement::notices::expired(app, &mut *tx, assignment.id, now).await?;
            }
        }
        for request in &em_requests {
            // A `scheduled` request is due at its start; one waiting for approval at its
            // stage's deadline.
            if entitlement::assignments::scheduled::start(app, &mut *tx, request, now).await? {
                pass.started_package_requests += 1;
            } else if entitlement::assignments::callouts::time_out(&mut *tx, request, now).await?
                || entitlement::assignments::approve::time_out(&mut *tx, request, now).await?
            {
                pass.timed_out_package_requests += 1;
                entitlement::notices::timed_out(app, &mut *tx, request.id, now).await?;
            }
        }
        pass.package_notices += em_notices.handle(app, &mut *tx, now).await?;
        if reviews_due {
            let reviewed = reviews::lifecycle::run_due(app, &mut *tx, now, BATCH).await?;
            pass.reviews_started += reviewed.started;
            pass.review_stages_ended += reviewed.stages_ended;
            pass.reviews_reminded += reviewed.reminded;
        }
        tx.commit().await?;
        // The lag an auditor sees: from each end to the commit of its expiry entry.
        let committed = app.clock.now();
        for end in ended_at {
            let lag = committed - end;
            metrics::histogram!("eligo_expiry_lag_seconds")
                .record(lag.num_microseconds().unwrap_or(0) as f64 / 1e6);
        }
        if pass == before {
            // Nothing the store called due was actually due: never spin on it.
            return Ok(pass);
        }
    }
}

/// "Your access has ended" for a schedule the pass just expired (nothing when its role, group
/// or principal is gone).
async fn announce_end(
    app: &App,
    tx: &mut dyn Tx,
    schedule: &RoleSchedule,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    match load_target(tx, &schedule.target(), schedule.principal_id).await {
        Ok(target) => {
            let occasion = format!("expired:{}:{}", schedule.id, end.timestamp());
            notices::about_schedule(
                app,
                tx,
                &target,
                schedule,
                NoticeKind::Expired,
                None,
                Some(occasion),
                now,
            )
            .await
        }
        Err(e) if e.kind == crate::failure::Kind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// How far ahead "your access ends soon" reminders go out, and the window in which each is
/// sent: a schedule is reminded once while its end lies within `(lead - window, lead]` from
/// now, and only if it started before that (a two-hour activation needs no 14-day notice).
const REMINDERS: [(i64, i64); 2] = [(14, 7), (1, 1)];

/// How often the servers look for reminders between them (their windows are days wide).
pub const REMINDER_LOOK_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Writes the reminders due at `now` (idempotent: each is written once, by its once key).
pub async fn remind_expiring(app: &App, now: DateTime<Utc>) -> UseCaseResult<usize> {
    let mut tx = app.store.write().await?;
    let written = remind_in(app, &mut *tx, now).await?;
    tx.commit().await?;
    Ok(written)
}

/// Looks for reminders unless some server looked within [`REMINDER_LOOK_EVERY`] (the look is
/// recorded in the store with the reminders it writes, so N servers look once per period
/// between them, not N times). None when it did not look.
pub async fn remind_if_due(app: &App) -> UseCaseResult<Option<usize>> {
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    if !tx
        .claim_duty("pim.reminders", now, REMINDER_LOOK_EVERY)
        .await?
    {
        return Ok(None);
    }
    let written = remind_in(app, &mut *tx, now).await?;
    tx.commit().await?;
    Ok(Some(written))
}

async fn remind_in(app: &App, tx: &mut dyn Tx, now: DateTime<Utc>) -> UseCaseResult<usize> {
    if !notices::anyone_listens(app, &mut *tx).await? {
        return Ok(0);
    }
    let mut written = 0;
    for (lead_days, window_days) in REMINDERS {
        let lead = chrono::TimeDelta::days(lead_days);
        let window = chrono::TimeDelta::days(window_days);
        let ending = tx
            .schedules_ending_between(now + lead - window, now + lead, 5_000)
            .await?;
        for schedule in ending {
            let Some(end) = schedule.end_date_time else {
                continue;
            };
            if schedule.start_date_time > end - lead || schedule.start_date_time > now {
                continue;
            }
            let target =
                match load_target(&mut *tx, &schedule.target(), schedule.principal_id).await {
                    Ok(t) => t,
                    Err(e) if e.kind == crate::failure::Kind::NotFound => continue,
                    Err(e) => return Err(e),
                };
            let occasion = format!("expiring:{}:{}:{lead_days}", schedule.id, end.timestamp());
            notices::about_schedule(
                app,
                &mut *tx,
                &target,
                &schedule,
                NoticeKind::Expiring,
                Some(lead_days as u32),
                Some(occasion),
                now,
            )
            .await?;
            written += 1;
        }
    }
    Ok(written)
}

/// Display names looked up once per pass (a thousand expiries of one role read it once).
#[derive(Default)]
struct Names {
    roles: HashMap<Uuid, Option<String>>,
    principals: HashMap<Uuid, Option<String>>,
}

impl Names {
    /// The display names of the principals of `schedules`, in one read per thousand (a pass
    /// that ends a thousand activations would otherwise read each holder twice).
    async fn prefetch_principals(
        &mut self,
        tx: &mut dyn Tx,
        schedules: &[RoleSchedule],
    ) -> UseCaseResult<()> {
        let ids: Vec<Uuid> = schedules.iter().map(|s| s.principal_id).collect();
        for principal in tx.get_principals(&ids).await? {
            let (id, name) = match principal {
                Principal::User(u) => (u.id, u.display_name),
                Principal::Group(g) => (g.id, g.display_name),
                Principal::ServicePrincipal(sp) => (sp.id, sp.display_name),
            };
            self.principals.insert(id, Some(name));
        }
        Ok(())
    }
}

/// Handles one due schedule; returns its end when this pass expired it.
async fn handle_schedule(
    tx: &mut dyn Tx,
    schedule: &RoleSchedule,
    now: DateTime<Utc>,
    pass: &mut Pass,
    names: &mut Names,
) -> UseCaseResult<Option<DateTime<Utc>>> {
    let mut s = schedule.clone();
    let mut expired = None;
    // What the schedule gives: a role, or a group (PIM for Groups), named by its id.
    let (governed, is_group) = match s.target() {
        AccessTarget::Group { group, .. } => (group, true),
        AccessTarget::Role { role, .. } => (role, false),
    };
    if let std::collections::hash_map::Entry::Vacant(slot) = names.roles.entry(governed) {
        let name = if is_group {
            tx.get_group(governed).await?.map(|g| g.display_name)
        } else {
            tx.get_role_definition(governed)
                .await?
                .map(|r| r.display_name)
        };
        slot.insert(name);
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = names.principals.entry(s.principal_id)
    {
        let p = access::principal_summary(tx, s.principal_id).await?;
        slot.insert(p.map(|p| p.display_name));
    }
    let role_name = names.roles[&governed].clone();
    let principal = names.principals[&s.principal_id].clone();
    if s.start_pending && s.start_date_time <= now {
        s.start_pending = false;
        let activity = match (s.kind, s.assignment_type) {
            (ScheduleKind::Active, AssignmentType::Activated) => {
                "Add member to role completed (PIM activation)"
            }
            (ScheduleKind::Active, AssignmentType::Assigned) => {
                "Add member to role (PIM assignment started)"
            }
            (ScheduleKind::Eligible, _) => "Add eligible member to role (PIM eligibility started)",
        };
        tx.append_audit(
            schedule_event(
                now,
                activity,
                Initiator::system(),
                &s,
                role_name.as_deref(),
                principal.as_deref(),
            )
            .modified("Status", "Scheduled", "Started")
            .detail("scheduled", "true"),
        )
        .await?;
        if let Some(request_id) = s.created_using
            && let Some(mut request) = tx.get_schedule_request(request_id).await?
            && request.status == RequestStatus::Granted
        {
            request.status = RequestStatus::Provisioned;
            tx.update_schedule_request(&request).await?;
        }
        pass.started += 1;
    }
    if s.end_pending && s.end_date_time.is_some_and(|end| end <= now) {
        s.end_pending = false;
        let activity = match (s.kind, s.assignment_type) {
            (ScheduleKind::Active, AssignmentType::Activated) => {
                "Remove member from role (PIM activation expired)"
            }
            (ScheduleKind::Active, AssignmentType::Assigned) => {
                "Remove member from role (PIM assignment expired)"
            }
            (ScheduleKind::Eligible, _) => {
                "Remove eligible member from role (PIM eligibility expired)"
            }
        };
        let lag = now - s.end_date_time.unwrap_or(now);
        expired = s.end_date_time;
        tx.append_audit(
            schedule_event(
                now,
                activity,
                Initiator::system(),
                &s,
                role_name.as_deref(),
                principal.as_deref(),
            )
            .modified("Status", "Started", "Expired")
            .detail(
                "noticedAfterMilliseconds",
                lag.num_milliseconds().to_string(),
            ),
        )
        .await?;
        pass.ended += 1;
    }
    tx.update_role_schedule(&s).await?;
    Ok(expired)
}

/// The background loop `eligo serve` runs: a pass, then sleep until the next due moment (or a
/// wake-up from a write), forever. Errors are logged and retried after a pause.
pub async fn run_forever(app: Arc<App>) {
    loop {
        let nap = match pass_and_next(&app).await {
            Ok(Some(next)) => {
                let wait = next - app.clock.now();
                wait.to_std().unwrap_or(Duration::ZERO).min(MAX_NAP)
            }
            Ok(None) => MAX_NAP,
            Err(e) => {
                tracing::error!(error = ?e.message, "scheduler pass failed; retrying");
                Duration::from_secs(1)
            }
        };
        if nap.is_zero() {
            continue;
        }
        app.scheduler
            .plan(app.clock.now() + chrono::TimeDelta::from_std(nap).unwrap_or_default());
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = app.scheduler.notify.notified() => {}
        }
    }
}

async fn pass_and_next(app: &App) -> UseCaseResult<Option<DateTime<Utc>>> {
    // Until the next look is planned, any write that creates due work wakes the loop (the
    // wake-up is kept by `Notify` if it comes before the loop waits), so nothing committed
    // between reading `next_due` and planning is missed.
    app.scheduler.planned.store(i64::MIN, Ordering::Release);
    let pass = run_due(app).await?;
    if pass != Pass::default() {
        tracing::info!(?pass, "scheduler pass");
    }
    // Reminders are looked for every ten minutes by one of the servers.
    remind_if_due(app).await?;
    let mut tx = app.store.read().await?;
    Ok(tx.next_due().await?)
}
