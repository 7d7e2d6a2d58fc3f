//! Reading the audit trail and verifying its hash chain. There is deliberately no use case that
//! changes or deletes an entry.
//!
//! Walking the whole chain costs time in proportion to its length, so the API's walk is
//! rationed ([`VerifyGate`]): callers during a walk share it, and at most one walk starts per
//! `ELIGO_AUDIT_VERIFY_INTERVAL`; beyond that the answer is 429 with `Retry-After`. A verdict is
//! never kept for later callers: one reached before someone rewrote the chain must not answer
//! after.
//!
//! Failed sign-ins and step-ups counted in bursts (`auth::throttle::FailureBursts`) are written
//! here ([`write_failures`], [`flush_failures`]).

use eligo_core::audit::{AuditEntry, AuditEvent, ChainVerifier, Verdict};
use eligo_core::authz::actions;
use eligo_store::{AuditQuery, Page, StoreError, Tx};

use crate::app::App;
use crate::auth::Caller;
use crate::failure::UseCaseResult;
use crate::service::authorize;

/// Reads the trail for a caller who may: obtained from [`reader`] only, so nothing reads it
/// without the decision. The handler parses its request in between, so a refused caller gets
/// its 403 whatever it sent.
pub struct Reader<'a> {
    app: &'a App,
}

pub fn reader<'a>(app: &'a App, caller: &Caller) -> UseCaseResult<Reader<'a>> {
    authorize::act(app, caller, actions::AUDIT_READ, false)?;
    Ok(Reader { app })
}

impl Reader<'_> {
    /// Newest first.
    pub async fn list(&self, query: &AuditQuery, page: Page) -> UseCaseResult<Vec<AuditEntry>> {
        Ok(self.app.store.read().await?.list_audit(query, page).await?)
    }

    /// The public key that signs audit checkpoints (base64), so an auditor can check the
    /// checkpoints file without trusting the server that wrote it.
    pub fn checkpoint_key(&self) -> UseCaseResult<String> {
        let signer = crate::checkpoint::Signer::open(&self.app.config.checkpoint_dir())
            .map_err(|e| crate::failure::Failure::internal("opening the checkpoint key", e))?;
        Ok(signer.public_key())
    }

    /// Walks the whole chain in one snapshot, through the server's [`VerifyGate`].
    pub async fn verify(&self) -> UseCaseResult<Verdict> {
        let store = self.app.store.clone();
        self.app
            .audit_verify
            .run(
                self.app.clock.now(),
                self.app.config.audit_verify_interval,
                move || async move {
                    let mut tx = store.read().await.map_err(|e| e.to_string())?;
                    verify_chain(&mut *tx).await.map_err(|e| e.to_string())
                },
            )
            .await
    }
}

/// Writes failure entries handed out by `FailureBursts`, in order, in one transaction. Should
/// the store refuse, the entries (counts included) go to the log whole rather than nowhere.
pub async fn write_failures(app: &App, events: Vec<AuditEvent>) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let write = async {
        let mut tx = app.store.write().await?;
        for event in &events {
            tx.append_audit(event.clone()).await?;
        }
        tx.commit().await
    };
    let result = write.await;
    if let Err(e) = &result {
        for event in &events {
            tracing::error!(error = %e, activity = %event.activity_display_name, at = %event.activity_date_time,
                details = ?event.additional_details, "a failure entry could not be written");
        }
    }
    result
}

/// Writes the counted failures that are due (bursts over, or counting for a whole window);
/// `all` writes every count (graceful shutdown). Returns how many entries were written.
pub async fn flush_failures(app: &App, all: bool) -> UseCaseResult<usize> {
    let due = app
        .failure_bursts
        .due(app.clock.now(), app.config.audit_failure_window, all);
    let n = due.len();
    write_failures(app, due).await?;
    Ok(n)
}

/// Writes due failure counts every second, until aborted (`eligo serve`).
pub async fn flush_failures_forever(app: crate::app::AppState) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if let Err(e) = flush_failures(&app, false).await {
            tracing::warn!(error = ?e.message, "writing counted failures failed");
        }
    }
}

/// Walks the whole chain in batches; shared by the API and `eligo audit verify`.
pub async fn verify_chain(tx: &mut dyn Tx) -> Result<Verdict, StoreError> {
    let (_, head) = tx.audit_head().await?;
    let mut verifier = ChainVerifier::new();
    // Entries with the columns stored beside them: a column changed to hide an entry from
    // filtered views breaks the chain there (rule 8).
    eligo_store::feed_audit_verifier(tx, &mut verifier, 0).await?;
    Ok(verifier.finish(Some(&head)))
}
