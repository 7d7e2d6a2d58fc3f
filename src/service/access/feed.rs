//! How this server's access index follows every committed change, its own and (on PostgreSQL)
//! the other servers' (`eligo_store`'s change log, issue 18 item 1), and when it may be
//! trusted:
//! - each request's authentication reads the log's head number in the same snapshot as its
//!   session and waits until the index has applied it (`caught_up`): whatever a request is
//!   authorized on includes every commit made before it started, on any server;
//! - every write transaction, under the head lock, waits the same way (the store does it), so a
//!   use case that authorizes after opening its transaction decides on the database's state;
//! - when the log lost what the index needs (a server cut off longer than the log is kept),
//!   [`keep_following`] rebuilds the index from the tables; until then requests get 503.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use eligo_store::{Change, Listener, Store};

use crate::auth::sessions::SessionTable;

use crate::app::App;
use crate::failure::{Failure, UseCaseResult};

/// What every committed change does on this server: the index first, then the outbox worker
/// when it wrote a job (the job's delivery reads the index), then the alert scanner. A weak
/// reference: the store must not keep the app alive.
pub fn listener(app: Weak<App>) -> Listener {
    Arc::new(move |changes: &[Change]| {
        let Some(app) = app.upgrade() else { return };
        app.access.apply(changes);
        app.sessions.apply(changes, app.clock.now());
        let due = changes
            .iter()
            .filter_map(|c| match c {
                Change::JobEnqueued { due_at } => Some(*due_at),
                _ => None,
            })
            .min();
        app.jobs.due_at(due);
        // Who holds, may activate or is member of what changed: the alerts look again.
        if changes.iter().any(|c| {
            !matches!(
                c,
                Change::JobEnqueued { .. } | Change::Session(_) | Change::SessionsRevoked { .. }
            )
        }) {
            app.alert_scans.wake();
        }
    })
}

/// The staleness bound as a wait.
fn bound(app: &App) -> Duration {
    app.config
        .max_staleness
        .to_std()
        .unwrap_or(Duration::from_secs(1))
}

/// Waits until the index has applied change `head` (read in the request's snapshot), at most
/// the staleness bound: 503 when it cannot, never an answer from a state older than the request.
pub async fn caught_up(app: &App, head: u64) -> UseCaseResult<()> {
    if app.store.caught_up(head, bound(app)).await {
        return Ok(());
    }
    metrics::counter!("eligo_feed_behind_total").increment(1);
    Err(Failure::unavailable(
        "this server's access index is behind the database; try again in a moment",
    ))
}

/// Is the index known to hold everything committed up to the staleness bound ago? For answers
/// given without reading the database. Always true without a log (SQLite).
pub fn is_fresh(app: &App) -> bool {
    match app.store.feed_status() {
        None => true,
        Some(status) => !status.gap && status.confirmed_ago.is_some_and(|ago| ago <= bound(app)),
    }
}

/// The session table from the store: every session neither revoked nor expired at `now`.
pub async fn load_sessions(store: &dyn Store, now: DateTime<Utc>) -> UseCaseResult<SessionTable> {
    let mut tx = store.read().await?;
    Ok(SessionTable::load(tx.live_tokens(now).await?))
}

/// Rebuilds the index whenever the feed reports a gap; runs while the app lives.
pub async fn keep_following(app: Weak<App>) {
    loop {
        tokio::time::sleep(eligo_store::FEED_HEARTBEAT * 5).await;
        let Some(app) = app.upgrade() else { return };
        if !app.store.feed_status().is_some_and(|s| s.gap) {
            continue;
        }
        tracing::warn!("the change log lost entries this server needs; rebuilding its index");
        let rebuilt = async {
            let (index, head) = super::live::LiveIndex::load(&*app.store, app.clock.now()).await?;
            let sessions = load_sessions(&*app.store, app.clock.now()).await?;
            UseCaseResult::Ok((index, sessions, head))
        };
        match rebuilt.await {
            Ok((index, sessions, head)) => {
                app.access.replace(index);
                app.sessions.replace(sessions);
                app.store.listen(listener(Arc::downgrade(&app)), head);
                tracing::info!(head, "access index rebuilt; following the log again");
            }
            Err(e) => tracing::error!(error = %e.message, "rebuilding the access index failed"),
        }
    }
}
