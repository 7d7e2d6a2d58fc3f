//! The scheduler: announces schedules that start later at their start, ends schedules at their
//! end, and expires requests whose approval stage timed out. It sleeps until the next due
//! moment the store reports (or until a write wakes it), so work is done within moments of
//! falling due; on start it catches up whatever fell due while Eligo was down.
//!
//! Exactly once: each item is re-read inside the write transaction that handles it, and its
//! "pending" flag is cleared in that same transaction with the audit entry, so a crash either
//! leaves the item due (handled after restart) or handled (never again). Reads never depend on
//! the scheduler: an ended schedule stops granting at its end whether or not it has run.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use eligo_core::audit::Initiator;
use eligo_core::request::RequestStatus;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::Tx;
use tokio::sync::Notify;

use crate::app::App;
use crate::error::ApiResult;
use crate::service::access;
use crate::service::pim::{load_target, role_event, schedule_event};

/// How many due items one transaction handles.
const BATCH: i64 = 200;
/// The longest the scheduler sleeps without looking (a safety net; writes wake it anyway).
const MAX_NAP: Duration = Duration::from_secs(30);

/// Wakes the scheduler after a write that may have created earlier due work.
#[derive(Default)]
pub struct Waker {
    notify: Notify,
}

impl Waker {
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub started: usize,
    pub ended: usize,
    pub expired_requests: usize,
}

/// Handles everything due at the clock's `now`. Tests call this after moving the mock clock.
pub async fn run_due(app: &App) -> ApiResult<Pass> {
    let now = app.clock.now();
    let mut pass = Pass::default();
    loop {
        let mut tx = app.store.write().await?;
        let schedules = tx.due_role_schedules(now, BATCH).await?;
        let requests = tx.due_schedule_requests(now, BATCH).await?;
        if schedules.is_empty() && requests.is_empty() {
            return Ok(pass);
        }
        let before = pass;
        for schedule in &schedules {
            handle_schedule(&mut *tx, schedule, now, &mut pass).await?;
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
            let target =
                load_target(&mut *tx, request.role_definition_id, request.principal_id).await?;
            tx.append_audit(role_event(
                now,
                "PIM activation request expired",
                Initiator::system(),
                &target,
                &request,
            ))
            .await?;
            pass.expired_requests += 1;
        }
        tx.commit().await?;
        if pass == before {
            // Nothing the store called due was actually due: never spin on it.
            return Ok(pass);
        }
    }
}

async fn handle_schedule(
    tx: &mut dyn Tx,
    schedule: &RoleSchedule,
    now: DateTime<Utc>,
    pass: &mut Pass,
) -> ApiResult<()> {
    let mut s = schedule.clone();
    let role = tx.get_role_definition(s.role_definition_id).await?;
    let role_name = role.as_ref().map(|r| r.display_name.clone());
    let principal = access::principal_summary(tx, s.principal_id)
        .await?
        .map(|p| p.display_name);
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
        metrics::histogram!("eligo_expiry_lag_seconds")
            .record(lag.num_microseconds().unwrap_or(0) as f64 / 1e6);
        tx.append_audit(
            schedule_event(
                now,
                activity,
                Initiator::system(),
                &s,
                role_name.as_deref(),
                principal.as_deref(),
            )
            .detail("lagMilliseconds", lag.num_milliseconds().to_string()),
        )
        .await?;
        pass.ended += 1;
    }
    tx.update_role_schedule(&s).await?;
    Ok(())
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
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = app.scheduler.notify.notified() => {}
        }
    }
}

async fn pass_and_next(app: &App) -> ApiResult<Option<DateTime<Utc>>> {
    let pass = run_due(app).await?;
    if pass != Pass::default() {
        tracing::info!(?pass, "scheduler pass");
    }
    let mut tx = app.store.read().await?;
    Ok(tx.next_due().await?)
}
