//! Reading the audit trail and verifying its hash chain. There is deliberately no use case that
//! changes or deletes an entry.

use eligo_core::audit::{AuditEntry, ChainVerifier, Verdict};
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

    /// Walks the whole chain in one snapshot.
    pub async fn verify(&self) -> UseCaseResult<Verdict> {
        let mut tx = self.app.store.read().await?;
        Ok(verify_chain(&mut *tx).await?)
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
