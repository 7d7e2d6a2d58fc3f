//! The audit chain's status for the Audit page. Walking the whole chain costs about 3 ms per
//! 1,000 entries, so a page view on a long history must not do it every time: the page checks
//! every entry written since its last look (incrementally, from the verifier's saved state),
//! and the whole chain again when that full check is older than `FULL_RECHECK` or the reader
//! asks for it. The page says when the whole chain was last checked.

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::audit::{ChainVerifier, Verdict};
use eligo_store::{StoreError, Tx};

/// How long a full walk of the chain is trusted before the next page view repeats it.
pub const FULL_RECHECK: TimeDelta = TimeDelta::minutes(1);

#[derive(Default)]
pub struct ChainCheck {
    last: tokio::sync::Mutex<Option<Checked>>,
}

struct Checked {
    full_at: DateTime<Utc>,
    verifier: ChainVerifier,
    last_sequence: i64,
}

pub struct ChainStatus {
    pub verdict: Verdict,
    /// When the whole chain was last walked.
    pub full_at: DateTime<Utc>,
}

impl ChainCheck {
    /// `force_full`: the reader asked for a whole walk. It is granted at most once per
    /// `min_interval` (`ELIGO_AUDIT_VERIFY_INTERVAL`, as the API's verify): a reader holding the
    /// button cannot keep the server walking. Entries written since the last look are checked
    /// either way, and the page says when the whole chain was last walked.
    pub async fn status(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        force_full: bool,
        min_interval: TimeDelta,
    ) -> Result<ChainStatus, StoreError> {
        let mut last = self.last.lock().await;
        let recent = last
            .as_ref()
            .filter(|c| !needs_full_walk(c.full_at, now, force_full, min_interval));
        let (mut verifier, mut after, full_at) = match recent {
            Some(c) => (c.verifier.clone(), c.last_sequence, c.full_at),
            None => (ChainVerifier::new(), 0, now),
        };
        let (_, head) = tx.audit_head().await?;
        after = eligo_store::feed_audit_verifier(tx, &mut verifier, after).await?;
        *last = Some(Checked {
            full_at,
            verifier: verifier.clone(),
            last_sequence: after,
        });
        Ok(ChainStatus {
            verdict: verifier.finish(Some(&head)),
            full_at,
        })
    }
}

/// Whether the page walks the whole chain again, the last whole walk being at `full_at`.
fn needs_full_walk(
    full_at: DateTime<Utc>,
    now: DateTime<Utc>,
    force: bool,
    min_interval: TimeDelta,
) -> bool {
    let age = now - full_at;
    full_at > now || age >= FULL_RECHECK || (force && age >= min_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forced_walk_is_granted_at_most_once_per_interval() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let at = |secs: i64| t0 + TimeDelta::seconds(secs);
        let ten = TimeDelta::seconds(10);
        assert!(
            !needs_full_walk(t0, at(5), true, ten),
            "asked again within the interval"
        );
        assert!(
            needs_full_walk(t0, at(10), true, ten),
            "asked after the interval"
        );
        assert!(
            !needs_full_walk(t0, at(30), false, ten),
            "not asked, within a minute"
        );
        assert!(
            needs_full_walk(t0, at(61), false, ten),
            "not asked, after a minute"
        );
        assert!(
            needs_full_walk(t0, at(0), true, TimeDelta::zero()),
            "no interval"
        );
        assert!(
            needs_full_walk(at(5), t0, false, ten),
            "a clock that went back"
        );
    }
}
