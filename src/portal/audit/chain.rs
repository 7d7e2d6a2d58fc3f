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
    pub async fn status(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        force_full: bool,
    ) -> Result<ChainStatus, StoreError> {
        let mut last = self.last.lock().await;
        let recent = last
            .as_ref()
            .filter(|c| !force_full && c.full_at <= now && now - c.full_at < FULL_RECHECK);
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
