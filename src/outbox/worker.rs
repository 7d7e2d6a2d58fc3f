//! Delivering outbox jobs: claim what is due (a lease, so a crashed worker's jobs come back;
//! each claim names this server's `ELIGO_SERVER_ID`), deliver them concurrently (the member
//! jobs of a mapping together, `provisioning::members`), and record the outcomes and their
//! consequences (what was pushed downstream, audit entries, connector health) as they arrive:
//! whatever has arrived when one record commits goes into the next, in one transaction of a
//! few set-based statements. The next claim waits until the whole batch is recorded, so a
//! member is never pushed by two batches at once.
//!
//! The loop sleeps until the next job is due and is woken by every commit that writes a job
//! (the store's journal reports `JobEnqueued`), so a job runs within moments of its commit.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use eligo_store::{Job, JobOutcome, JobStatus};
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::ApiResult;
use crate::outbox::backoff;
use crate::outbox::delivery::{Delivery, Effect, Failure};
use crate::outbox::jobs::Payload;
use crate::outbox::pushed::Pushed;
use crate::provisioning::members::{self, MemberJob};

/// Jobs claimed per transaction.
const BATCH: i64 = 512;
/// Deliveries in flight at once.
const IN_FLIGHT: usize = 32;
/// The longest the worker sleeps without looking (a safety net; commits wake it).
const MAX_NAP: Duration = Duration::from_secs(30);
/// One attempt's result.
pub struct Attempt {
    pub job: Job,
    pub delivery: Delivery,
}

/// What one `run_due` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Delivers everything due at the clock's `now`. Tests call this after a change (and after
/// moving the mock clock past a retry).
pub async fn run_due(app: &AppState) -> ApiResult<Delivered> {
    let mut total = Delivered::default();
    // Audit feeds behind the head get their job first (entries are written everywhere; the
    // feeds look at the head rather than hook into every write).
    crate::notify::audit_feed::plan(app).await?;
    loop {
        if app.store.server_id_taken() {
            tracing::warn!(
                server_id = %app.config.server_id,
                "another server runs with this server's id (it started while this one was cut \
                 off from the database): this one delivers no outbox job until it has the id back"
            );
            return Ok(total);
        }
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let jobs = tx
            .claim_jobs(
                now,
                now + app.config.outbox_lease,
                BATCH,
                &app.config.server_id,
            )
            .await?;
        tx.commit().await?;
        if jobs.is_empty() {
            return Ok(total);
        }
        // Outcomes are recorded while the rest of the batch is still being delivered:
        // whatever has arrived when the previous record is committed goes in the next one.
        let (sink, mut arrived) = tokio::sync::mpsc::unbounded_channel();
        let recording = async {
            let mut done = Delivered::default();
            while let Some(first) = arrived.recv().await {
                let mut attempts = vec![first];
                while let Ok(more) = arrived.try_recv() {
                    attempts.push(more);
                }
                let part = record(app, attempts).await?;
                done.delivered += part.delivered;
                done.retried += part.retried;
                done.failed += part.failed;
            }
            Ok::<_, crate::error::ApiError>(done)
        };
        // A failed record ends `recording` (what it had not recorded comes back after the
        // lease); the deliveries still finish before the error is answered.
        let ((), done) = tokio::join!(deliver_all(app, jobs, sink), recording);
        let done = done?;
        total.delivered += done.delivered;
        total.retried += done.retried;
        total.failed += done.failed;
        if done.delivered == 0 && done.failed == 0 && done.retried > 0 {
            // Everything failed and waits for a later retry: nothing more is due now.
            let mut tx = app.store.read().await?;
            if tx
                .next_job_due()
                .await?
                .is_none_or(|due| due > app.clock.now())
            {
                return Ok(total);
            }
        }
    }
}

/// Delivers `jobs` concurrently, sending each attempt to `sink` as it ends.
async fn deliver_all(app: &AppState, jobs: Vec<Job>, sink: UnboundedSender<Attempt>) {
    let limit = Arc::new(Semaphore::new(IN_FLIGHT));
    // Member pushes have permits of their own: a whole-group job holding one of `limit` may
    // wait for its mapping's lock, which a batch of member pushes holds until they are done.
    let pushes = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut members: BTreeMap<Uuid, Vec<(Job, MemberJob)>> = BTreeMap::new();
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let payload = Payload::from_job(&job.payload);
        if let Ok(Payload::ProvisionMember {
            mapping_id,
            principal_id,
            cause_at,
        }) = payload
        {
            let member = MemberJob {
                principal: principal_id,
                cause_at,
            };
            members.entry(mapping_id).or_default().push((job, member));
            continue;
        }
        let app = app.clone();
        let limit = limit.clone();
        let sink = sink.clone();
        set.spawn(async move {
            let _permit = limit.acquire_owned().await;
            // The recorder may have stopped (its transaction failed): the lease brings the job back.
            let _ = sink.send(deliver(&app, job, payload).await);
        });
    }
    for (mapping_id, batch) in members {
        let app = app.clone();
        let pushes = pushes.clone();
        let sink = sink.clone();
        set.spawn(async move {
            let (jobs, asks): (Vec<Job>, Vec<MemberJob>) = batch.into_iter().unzip();
            let mut jobs: Vec<Option<Job>> = jobs.into_iter().map(Some).collect();
            let mut report = |i: usize, delivery: Delivery| {
                if let Some(job) = jobs[i].take() {
                    let _ = sink.send(Attempt { job, delivery });
                }
            };
            members::deliver(&app, mapping_id, &asks, pushes, &mut report).await;
        });
    }
    drop(sink);
    while let Some(done) = set.join_next().await {
        // A panicking delivery leaves its jobs running; the lease brings them back.
        if let Err(e) = done {
            tracing::error!(error = %e, "an outbox delivery panicked");
        }
    }
}

async fn deliver(app: &AppState, job: Job, payload: Result<Payload, String>) -> Attempt {
    let payload = match payload {
        Ok(p) => p,
        Err(e) => {
            return Attempt {
                job,
                delivery: Delivery::failed(Failure::new(e), None),
            };
        }
    };
    let delivery = match &payload {
        // Member jobs are delivered by mapping (`deliver_all`); one alone is a batch of one.
        Payload::ProvisionMember {
            mapping_id,
            principal_id,
            cause_at,
        } => {
            let ask = MemberJob {
                principal: *principal_id,
                cause_at: *cause_at,
            };
            let mut done = None;
            let one = Arc::new(Semaphore::new(1));
            let mut keep = |_: usize, d: Delivery| done = Some(d);
            members::deliver(app, *mapping_id, &[ask], one, &mut keep).await;
            done.unwrap_or_default()
        }
        Payload::ProvisionGroup {
            mapping_id,
            cause_at,
        } => crate::provisioning::deliver::group(app, *mapping_id, *cause_at).await,
        Payload::Mail {
            to,
            audience,
            notice,
        } => crate::notify::dispatch::mail(app, to, audience, notice).await,
        Payload::Webhook {
            subscription_id,
            notice,
        } => crate::notify::dispatch::webhook(app, *subscription_id, notice).await,
        Payload::PackageMail {
            to,
            audience,
            notice,
        } => crate::notify::dispatch::package_mail(app, to, *audience, notice).await,
        Payload::BreakGlassMail { to, notice } => {
            crate::notify::dispatch::breakglass_mail(app, to, notice).await
        }
        Payload::ReviewMail { to, notice } => {
            let rendered = crate::notify::review_mail::render(notice, &app.config.public_url);
            crate::notify::dispatch::rendered_mail(app, to, rendered, notice.id).await
        }
        Payload::AlertMail { to, notice } => {
            let rendered = crate::notify::alert_mail::render(notice, &app.config.public_url);
            crate::notify::dispatch::rendered_mail(app, to, rendered, notice.id).await
        }
        Payload::DigestMail { to, digest } => {
            let rendered = crate::notify::digest_mail::render(digest, &app.config.public_url);
            crate::notify::dispatch::rendered_mail(app, to, rendered, digest.id).await
        }
        Payload::Event {
            subscription_id,
            event,
        } => crate::notify::dispatch::event(app, *subscription_id, event).await,
        Payload::AuditFeed { subscription_id } => {
            crate::notify::audit_feed::deliver(app, *subscription_id).await
        }
        Payload::Callout {
            extension_id,
            event_id,
            body,
        } => crate::notify::dispatch::callout(app, *extension_id, *event_id, body).await,
    };
    Attempt { job, delivery }
}

async fn record(app: &AppState, attempts: Vec<Attempt>) -> ApiResult<Delivered> {
    let now = app.clock.now();
    let max = i64::from(app.config.outbox_max_attempts);
    let mut done = Delivered::default();
    let mut tx = app.store.write().await?;
    // Each connector's last outcome in this batch decides its health.
    let mut health: HashMap<Uuid, Result<(), String>> = HashMap::new();
    let mut revoked = Vec::new();
    // Delivered jobs, and what they pushed, are recorded together at the end (a few
    // statements for the batch, not one per job).
    let mut delivered = Vec::new();
    let mut pushed = Pushed::default();
    for attempt in attempts {
        let kind = attempt.job.kind.clone();
        for effect in attempt.delivery.effects {
            match effect {
                Effect::Provisioned {
                    mapping,
                    principal,
                    reference,
                } => pushed.put(mapping, principal, reference),
                Effect::Unprovisioned { mapping, principal } => pushed.remove(mapping, principal),
                Effect::Audit(event) => {
                    tx.append_audit(*event).await?;
                }
                Effect::Revoked {
                    connector_kind,
                    latency,
                } => revoked.push((connector_kind, latency)),
                Effect::AuditCursor {
                    subscription,
                    from,
                    to,
                    more,
                } => {
                    let moved =
                        crate::notify::audit_feed::advance(&mut *tx, subscription, from, to)
                            .await?;
                    if moved && more {
                        let next = Payload::AuditFeed {
                            subscription_id: subscription,
                        };
                        tx.enqueue_job(&next.job(now, None), now).await?;
                    }
                }
            }
        }
        let outcome = match attempt.delivery.failure {
            None => {
                if let Some(c) = attempt.delivery.connector {
                    health.insert(c, Ok(()));
                }
                done.delivered += 1;
                JobOutcome::Delivered
            }
            Some(failure) => {
                if let Some(c) = failure.connector {
                    health.insert(c, Err(failure.message.clone()));
                }
                tracing::warn!(job = %attempt.job.id, kind = %kind, attempts = attempt.job.attempts,
                    error = %failure.message, "outbox delivery failed");
                if attempt.job.attempts >= max || failure.permanent {
                    done.failed += 1;
                    JobOutcome::Failed {
                        error: failure.message,
                    }
                } else {
                    done.retried += 1;
                    JobOutcome::Retry {
                        at: backoff::next_attempt(now, attempt.job.attempts, rand::random()),
                        error: failure.message,
                    }
                }
            }
        };
        let result = match &outcome {
            JobOutcome::Delivered => "delivered",
            JobOutcome::Retry { .. } => "retry",
            JobOutcome::Failed { .. } => "failed",
        };
        metrics::counter!("eligo_outbox_deliveries_total", "kind" => kind, "result" => result)
            .increment(1);
        match outcome {
            JobOutcome::Delivered => delivered.push(attempt.job.id),
            outcome => {
                tx.complete_job(attempt.job.id, &outcome, now).await?;
            }
        }
    }
    pushed.record(&mut *tx, now).await?;
    tx.complete_delivered_jobs(&delivered, now).await?;
    for (connector, outcome) in health {
        crate::provisioning::health::record(&mut *tx, connector, outcome, now).await?;
    }
    tx.commit().await?;
    for (kind, latency) in revoked {
        metrics::histogram!("eligo_revocation_latency_seconds", "connector" => kind)
            .record(latency.num_microseconds().unwrap_or(0).max(0) as f64 / 1e6);
    }
    Ok(done)
}

/// Jobs per status, as a gauge (refreshed after each pass).
async fn export_counts(app: &AppState) -> ApiResult<()> {
    let mut tx = app.store.read().await?;
    let counts = tx.count_jobs().await?;
    for status in [
        JobStatus::Pending,
        JobStatus::Running,
        JobStatus::Delivered,
        JobStatus::Failed,
    ] {
        let n = counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("eligo_outbox_jobs", "status" => status.as_str()).set(n as f64);
    }
    Ok(())
}

/// The background loop `eligo serve` runs. At start, jobs left running by a crash are
/// released at once: on SQLite all of them (one server per database: nobody else can hold a
/// claim); on PostgreSQL only those this server id claimed (`ELIGO_SERVER_ID` fixed across
/// restarts), never another server's: it may be alive and delivering, and if not, its lease
/// brings them back.
pub async fn run_forever(app: AppState) {
    let mine = (app.store.backend() != "sqlite").then_some(app.config.server_id.as_str());
    let released = async {
        let mut tx = app.store.write().await?;
        let n = tx.release_running_jobs(app.clock.now(), mine).await?;
        tx.commit().await?;
        Ok::<u64, crate::error::ApiError>(n)
    }
    .await;
    match released {
        Ok(n) if n > 0 => tracing::info!(jobs = n, "released jobs a previous run left"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = ?e.message, "could not release claimed jobs"),
    }
    let mut last_prune = app.clock.now() - TimeDelta::days(1);
    loop {
        app.jobs
            .planned
            .store(i64::MIN, std::sync::atomic::Ordering::Release);
        let nap = match pass_and_next(&app).await {
            Ok(Some(next)) => (next - app.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_NAP),
            Ok(None) => MAX_NAP,
            Err(e) => {
                tracing::error!(error = ?e.message, "outbox pass failed; retrying");
                Duration::from_secs(1)
            }
        };
        let now = app.clock.now();
        if now - last_prune > TimeDelta::hours(1) {
            last_prune = now;
            if let Err(e) = prune(&app, now).await {
                tracing::warn!(error = ?e.message, "pruning delivered jobs failed");
            }
        }
        if nap.is_zero() {
            continue;
        }
        app.jobs
            .plan(now + TimeDelta::from_std(nap).unwrap_or_default());
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = app.jobs.notify.notified() => {}
        }
    }
}

async fn pass_and_next(app: &AppState) -> ApiResult<Option<DateTime<Utc>>> {
    let done = run_due(app).await?;
    if done != Delivered::default() {
        tracing::debug!(?done, "outbox pass");
    }
    export_counts(app).await?;
    let mut tx = app.store.read().await?;
    Ok(tx.next_job_due().await?)
}

/// Delivered jobs are kept a week for the API, then forgotten (the audit log keeps the story);
/// so are throttle windows that are over.
async fn prune(app: &AppState, now: DateTime<Utc>) -> ApiResult<()> {
    let mut tx = app.store.write().await?;
    tx.prune_delivered_jobs(now - TimeDelta::days(7)).await?;
    tx.commit().await?;
    // Sign-in throttle windows that are over (shared by the servers, pruned by any).
    app.throttle.prune(&*app.store, now).await?;
    Ok(())
}
