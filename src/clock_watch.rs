//! Watches this server's clock against the database's (several servers on PostgreSQL): each
//! server decides alone when an activation, an approval's deadline or a session ends, by its
//! own clock, so two servers whose clocks differ by a minute end the same access a minute
//! apart. Eligo cannot set the time; it says so, at start and then once a minute while the
//! skew lasts, in the log (a warning) and the `eligo_clock_skew_seconds` gauge, and in every
//! `/healthz` answer (`clock`).

use std::time::Duration;

use crate::app::AppState;
use crate::clock::Skew;

const EVERY: Duration = Duration::from_secs(60);

/// One reading: None on SQLite (one machine) or when the database did not answer.
pub async fn measure(app: &AppState) -> Option<Skew> {
    let before = app.clock.now();
    let theirs = app.store.database_time().await.ok()??;
    Some(Skew::measure(before, theirs, app.clock.now()))
}

pub async fn run_forever(app: AppState) {
    loop {
        if let Some(skew) = measure(&app).await {
            metrics::gauge!("eligo_clock_skew_seconds").set(skew.ms as f64 / 1000.0);
            if skew.is_too_large() {
                tracing::warn!(
                    skew_ms = skew.ms,
                    within_ms = skew.within_ms,
                    "this server's clock differs from the database's by more than a second \
                     (positive: this one is behind): time-bound access ends at another instant \
                     here than on a server with the right time; fix its time synchronisation"
                );
            }
        }
        tokio::time::sleep(EVERY).await;
    }
}
