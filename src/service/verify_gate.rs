//! The ration of full audit chain walks, held by the server for its whole life (`App`), below
//! the use case that walks (`crate::service::audit`).

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::audit::Verdict;
use tokio::sync::watch;

use crate::failure::{Failure, Kind, UseCaseResult};

pub(crate) type WalkResult = Result<Verdict, String>;

/// Rations full walks of the chain on one server: single flight (a caller arriving during a
/// walk waits for that walk's verdict — it started after nothing the caller could have asked
/// about later) and at most one walk started per interval (a caller after a walk ended and
/// before the interval passed gets 429). Nothing is remembered past the walk itself.
#[derive(Default)]
pub struct VerifyGate {
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    /// The walk in progress (its verdict is `None` until it ends).
    running: Option<watch::Receiver<Option<WalkResult>>>,
    /// When the last walk started (the app's clock).
    last_started: Option<DateTime<Utc>>,
}

impl VerifyGate {
    /// Joins the walk in progress, or starts `walk` (on a task of its own, so a caller that
    /// goes away does not cancel it for the others), or refuses as throttled.
    pub async fn run<F, Fut>(
        &self,
        now: DateTime<Utc>,
        interval: TimeDelta,
        walk: F,
    ) -> UseCaseResult<Verdict>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = WalkResult> + Send + 'static,
    {
        let mut receiver = {
            let mut state = self.state.lock().expect("verify gate lock");
            let in_progress = state
                .running
                .as_ref()
                .filter(|r| r.borrow().is_none() && r.has_changed().is_ok())
                .cloned();
            match in_progress {
                Some(r) => r,
                None => {
                    if let Some(at) = state.last_started
                        && now >= at
                        && now < at + interval
                    {
                        let wait = (at + interval - now).num_milliseconds();
                        let secs = u64::try_from((wait + 999) / 1000).unwrap_or(1).max(1);
                        let mut e = Failure::new(
                            Kind::Throttled,
                            "TooManyRequests",
                            format!(
                                "the audit chain was walked moments ago; a full walk starts at most once every {} s on this server: try again in {secs} s",
                                interval.num_seconds()
                            ),
                        );
                        e.retry_after_secs = Some(secs);
                        return Err(e);
                    }
                    let (sender, receiver) = watch::channel(None);
                    state.running = Some(receiver.clone());
                    state.last_started = Some(now);
                    let walking = walk();
                    tokio::spawn(async move {
                        let verdict = walking.await;
                        let _ = sender.send(Some(verdict));
                    });
                    receiver
                }
            }
        };
        let outcome = receiver.wait_for(|v| v.is_some()).await;
        match outcome.as_deref() {
            Ok(Some(Ok(verdict))) => Ok(verdict.clone()),
            Ok(Some(Err(e))) => Err(Failure::internal("walking the audit chain", e)),
            // The walk's task ended without a verdict (it panicked).
            _ => Err(Failure::internal(
                "walking the audit chain",
                "the walk ended without a verdict",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn verdict(entries: u64) -> Verdict {
        Verdict {
            valid: true,
            entries,
            head_hash: String::new(),
            first_bad_sequence: None,
        }
    }

    #[tokio::test]
    async fn callers_during_a_walk_share_it_and_none_starts_before_the_interval() {
        let gate = Arc::new(VerifyGate::default());
        let walks = Arc::new(AtomicUsize::new(0));
        let (release, released) = watch::channel(false);
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let interval = TimeDelta::seconds(10);
        let start = |gate: Arc<VerifyGate>, at: DateTime<Utc>| {
            let walks = walks.clone();
            let mut released = released.clone();
            tokio::spawn(async move {
                gate.run(at, interval, move || async move {
                    walks.fetch_add(1, Ordering::SeqCst);
                    let _ = released.wait_for(|r| *r).await;
                    Ok(verdict(0))
                })
                .await
            })
        };
        let first = start(gate.clone(), t0);
        // Wait until the first walk runs, then ask twice more (later, still in the interval
        // and past it): both join the walk in progress.
        while walks.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let second = start(gate.clone(), t0 + TimeDelta::seconds(1));
        let third = start(gate.clone(), t0 + TimeDelta::seconds(30));
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        for h in [first, second, third] {
            assert!(h.await.unwrap().is_ok());
        }
        assert_eq!(walks.load(Ordering::SeqCst), 1, "one walk served all three");
        // After it: refused within the interval, with when to come back.
        let refused = gate
            .run(t0 + TimeDelta::seconds(4), interval, || async {
                Ok(verdict(0))
            })
            .await
            .unwrap_err();
        assert_eq!(refused.kind, Kind::Throttled);
        assert_eq!(refused.retry_after_secs, Some(6));
        // Past it: a new walk (nothing cached).
        let counted = walks.clone();
        gate.run(t0 + TimeDelta::seconds(10), interval, move || async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(verdict(0))
        })
        .await
        .unwrap();
        assert_eq!(walks.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_walk_is_an_internal_error_for_everyone_waiting() {
        let gate = VerifyGate::default();
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let e = gate
            .run(t0, TimeDelta::zero(), || async {
                Err("disk on fire".to_string())
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind, Kind::Internal);
        // With no interval, the next caller may walk again at once.
        assert!(
            gate.run(t0, TimeDelta::zero(), || async { Ok(verdict(0)) })
                .await
                .is_ok()
        );
    }
}
