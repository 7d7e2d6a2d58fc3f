//! The audit trail for webhook subscribers (threat-model rule 8: the trail leaves the database
//! as it is written, so its administrator cannot quietly rewrite what was already sent).
//!
//! - `audit.entry`: every entry, oldest first, one signed event per entry (the entry exactly as
//!   `GET /v1/auditLogs/directoryAudits` answers it; the event id is the entry's id, so a
//!   receiver deduplicates a repeat). Each subscription keeps its own cursor, the last sequence
//!   its receiver acknowledged (`auditCursor` in the subscription, starting at the head when it
//!   was made, so its first event is its own creation). Delivery is an outbox job per
//!   subscription (`audit.feed`, at most one waiting): it posts the entries after the cursor in
//!   order and stops at the first refusal; the worker then records the new cursor in the same
//!   transaction as the job's outcome, so a crash between a post and that record repeats
//!   entries (at least once) and never skips one. While a feed's job is pending or running on
//!   any server, no other is queued for it, so two servers do not post one feed at once (unless
//!   a delivery outlives its lease). A failing receiver is retried with the outbox's backoff and
//!   shows in `GET /v1/outbox`; entries wait for it, in order.
//! - `audit.checkpoint`: every signed checkpoint `crate::checkpoint` writes, as an outbox event
//!   per subscription, written right after the checkpoint reached its file.
//!
//! Subscribing to either needs permission to read the audit log (checked when the subscription
//! is made, by `service::subscriptions`); `*` never covers them.

use eligo_core::audit::{AuditEntry, Initiator, Outcome};
use eligo_store::{StoreError, SubscriptionRow, Tx};
use serde_json::Value;
use uuid::Uuid;

use crate::app::App;
use crate::checkpoint::Checkpoint;
use crate::failure::UseCaseResult;
use crate::notify::event::{SecurityEvent, subscribed_to};
use crate::notify::webhooks::{DeliveryError, OutgoingEvent};
use crate::outbox::delivery::{Delivery, Effect, Failure};
use crate::outbox::jobs::Payload;

/// Where a subscription keeps the last sequence its receiver acknowledged.
pub const CURSOR: &str = "auditCursor";
/// Entries posted by one job; a full batch queues the next job at once.
const BATCH: i64 = 100;

/// The coalesce key of a feed's jobs (`Payload::AuditFeed`).
fn feed_key(subscription: Uuid) -> String {
    Payload::AuditFeed {
        subscription_id: subscription,
    }
    .coalesce_key()
    .unwrap_or_default()
}

fn cursor_of(data: &Value) -> i64 {
    data[CURSOR].as_i64().unwrap_or(0)
}

fn wants_entries(row: &SubscriptionRow) -> bool {
    subscribed_to(&row.data["eventTypes"], SecurityEvent::AuditEntry)
}

/// For a new subscription's `data` (inside the transaction that stores it, before its audit
/// entry): an `audit.entry` feed starts after the current head, so it begins with the entry
/// that records the subscription itself.
pub async fn start_cursor(tx: &mut dyn Tx, data: &mut Value) -> Result<(), StoreError> {
    if subscribed_to(&data["eventTypes"], SecurityEvent::AuditEntry) {
        let (head, _) = tx.audit_head().await?;
        data[CURSOR] = head.into();
    }
    Ok(())
}

/// Queues a feed job for every `audit.entry` subscription behind the head. Called by every
/// worker pass and by a short poll in `eligo serve` (audit entries are written by every use
/// case; polling the head is cheaper than a hook in each). Returns how many were queued.
pub async fn plan(app: &App) -> UseCaseResult<usize> {
    let mut tx = app.store.read().await?;
    let feeds: Vec<(Uuid, i64)> = tx
        .list_subscriptions()
        .await?
        .iter()
        .filter(|s| wants_entries(s))
        .map(|s| (s.id, cursor_of(&s.data)))
        .collect();
    if feeds.is_empty() {
        return Ok(0);
    }
    let (head, _) = tx.audit_head().await?;
    let behind: Vec<Uuid> = {
        let planned = app.audit_feeds.heads.lock().expect("feed plan lock");
        feeds
            .iter()
            .filter(|(id, cursor)| *cursor < head && planned.get(id) != Some(&head))
            .map(|(id, _)| *id)
            .collect()
    };
    // A feed being delivered (on any server) is left to that delivery and looked at again on
    // the next plan, so nothing is written meanwhile and nothing waits for the next entry.
    let mut due = Vec::new();
    for id in behind {
        if !tx.job_in_flight(&feed_key(id)).await? {
            due.push(id);
        }
    }
    drop(tx);
    if due.is_empty() {
        return Ok(0);
    }
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut queued = Vec::new();
    for id in due {
        // One delivery of a feed at a time, whichever server runs it: re-checked under the
        // write lock, as claims are made under it too.
        if tx.job_in_flight(&feed_key(id)).await? {
            continue;
        }
        let job = Payload::AuditFeed {
            subscription_id: id,
        }
        .job(now, None);
        tx.enqueue_job(&job, now).await?;
        queued.push(id);
    }
    tx.commit().await?;
    let mut planned = app.audit_feeds.heads.lock().expect("feed plan lock");
    for id in &queued {
        planned.insert(*id, head);
    }
    Ok(queued.len())
}

/// Queues the feeds every half second, until aborted (`eligo serve`).
pub async fn run_forever(app: crate::app::AppState) {
    loop {
        if let Err(e) = plan(&app).await {
            tracing::warn!(error = ?e.message, "planning the audit feeds failed; retrying");
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

fn initiator_name(i: &Initiator) -> &str {
    match i {
        Initiator::User(a) | Initiator::App(a) => a
            .user_principal_name
            .as_deref()
            .unwrap_or(a.display_name.as_str()),
    }
}

/// The `audit.entry` event of one entry.
pub fn entry_event(entry: &AuditEntry) -> OutgoingEvent {
    let result = match entry.result {
        Outcome::Success => "",
        Outcome::Failure => " (failed)",
    };
    OutgoingEvent::new(
        entry.id,
        SecurityEvent::AuditEntry,
        entry.activity_date_time,
        &format!(
            "Audit #{}: {}{result} by {}",
            entry.sequence,
            entry.activity_display_name,
            initiator_name(&entry.initiated_by)
        ),
        serde_json::to_value(entry).expect("audit entries always serialize"),
    )
}

/// The `audit.feed` job: posts the entries after the subscription's cursor, in order, until
/// one is refused. The new cursor is an effect, recorded with the job's outcome.
pub async fn deliver(app: &App, subscription: Uuid) -> Delivery {
    let read = async {
        let mut tx = app.store.read().await?;
        let Some(row) = tx.get_subscription(subscription).await? else {
            return Ok(None);
        };
        if !wants_entries(&row) {
            return Ok(None);
        }
        let cursor = cursor_of(&row.data);
        let entries = tx.audit_after(cursor, BATCH).await?;
        Ok::<_, StoreError>(Some((row, cursor, entries)))
    };
    let (row, cursor, entries) = match read.await {
        Ok(Some(found)) => found,
        // Unsubscribed (or no longer wanting entries) since: nothing to do.
        Ok(None) => return Delivery::default(),
        Err(e) => return Delivery::failed(Failure::new(e.to_string()), None),
    };
    let (Some(url), Some(secret)) = (row.data["url"].as_str(), row.data["secret"].as_str()) else {
        return Delivery::failed(Failure::new("the subscription is unreadable"), None);
    };
    let mut last = cursor;
    let mut failure = None;
    for entry in &entries {
        let event = entry_event(entry);
        match app
            .webhooks
            .post_signed(
                url,
                secret.as_bytes(),
                event.id,
                &event.body(),
                app.clock.now(),
            )
            .await
        {
            Ok(()) => last = entry.sequence,
            Err(DeliveryError::Retryable(m)) | Err(DeliveryError::Refused(m)) => {
                failure = Some(Failure::new(format!(
                    "subscription {subscription}: audit entry {}: {m}",
                    entry.sequence
                )));
                break;
            }
        }
    }
    let mut effects = Vec::new();
    if last > cursor {
        effects.push(Effect::AuditCursor {
            subscription,
            from: cursor,
            to: last,
            more: failure.is_none() && entries.len() as i64 == BATCH,
        });
    }
    Delivery {
        effects,
        failure,
        connector: None,
    }
}

/// Records a feed's progress: moves the cursor from `from` to `to`, unless it moved meanwhile
/// (then this delivery repeated entries another one recorded, and the later cursor stays).
/// The subscription is rewritten whole: the store keeps it as one document.
pub async fn advance(
    tx: &mut dyn Tx,
    subscription: Uuid,
    from: i64,
    to: i64,
) -> Result<bool, StoreError> {
    let Some(mut row) = tx.get_subscription(subscription).await? else {
        return Ok(false);
    };
    if cursor_of(&row.data) != from || to <= from {
        return Ok(false);
    }
    row.data[CURSOR] = to.into();
    tx.delete_subscription(subscription).await?;
    tx.insert_subscription(&row).await?;
    Ok(true)
}

/// Queues the `audit.checkpoint` event of a checkpoint just written, for every subscriber.
/// Returns how many were queued.
pub async fn announce_checkpoint(app: &App, checkpoint: &Checkpoint) -> UseCaseResult<usize> {
    let subscribers: Vec<Uuid> = app
        .store
        .read()
        .await?
        .list_subscriptions()
        .await?
        .into_iter()
        .filter(|s| subscribed_to(&s.data["eventTypes"], SecurityEvent::AuditCheckpoint))
        .map(|s| s.id)
        .collect();
    if subscribers.is_empty() {
        return Ok(0);
    }
    let now = app.clock.now();
    let event = checkpoint_event(checkpoint);
    let mut tx = app.store.write().await?;
    for sub in &subscribers {
        let payload = Payload::Event {
            subscription_id: *sub,
            event: Box::new(event.clone()),
        };
        let once = format!(
            "checkpoint:{}:{}:{sub}",
            checkpoint.sequence,
            checkpoint.at.timestamp_micros()
        );
        tx.enqueue_job(&payload.job(now, Some(once)), now).await?;
    }
    tx.commit().await?;
    Ok(subscribers.len())
}

fn checkpoint_event(c: &Checkpoint) -> OutgoingEvent {
    OutgoingEvent::new(
        Uuid::new_v4(),
        SecurityEvent::AuditCheckpoint,
        c.at,
        &format!(
            "Audit checkpoint: the trail up to entry {} (hash {}) is signed",
            c.sequence,
            c.hash.chars().take(12).collect::<String>()
        ),
        serde_json::to_value(c).expect("checkpoints always serialize"),
    )
}

/// The cursor of `subscription`'s `audit.entry` feed (for diagnostics and tests).
pub async fn cursor(app: &App, subscription: Uuid) -> UseCaseResult<Option<i64>> {
    Ok(app
        .store
        .read()
        .await?
        .get_subscription(subscription)
        .await?
        .map(|row| cursor_of(&row.data)))
}
