//! The outbox as people see it: who may read the jobs, and sending a dead letter back to the
//! worker with its audit entry.

use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::actions;
use eligo_store::{Job, JobStatus, Page};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

/// Makes a failed job pending again, due now. Only dead letters are retried: a job still in
/// the worker's hands is refused (409). `id` as parsed from the request: a malformed one is
/// answered only to a caller who may retry, so a refused caller gets its 403 whatever it sent.
pub async fn retry(app: &App, caller: &Caller, id: UseCaseResult<Uuid>) -> UseCaseResult<Job> {
    authorize::audited(app, caller, "Retry outbox job", Category::Policy, async {
        authorize::act(app, caller, actions::OUTBOX_UPDATE, false)?;
        let id = id?;
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let job = tx
            .get_job(id)
            .await?
            .ok_or_else(|| Failure::not_found("job"))?;
        if !tx.retry_job(id, now).await? {
            return Err(Failure::conflict(
                "JobNotFailed",
                format!(
                    "this job is {}; only failed jobs are retried",
                    job.status.as_str()
                ),
            ));
        }
        tx.append_audit(
            AuditEvent::new(
                now,
                Category::Policy,
                "Retry outbox job",
                caller.initiator(),
            )
            .target(id, "OutboxJob", job.subject.as_deref())
            .detail("kind", job.kind.clone()),
        )
        .await?;
        let job = tx
            .get_job(id)
            .await?
            .ok_or_else(|| Failure::not_found("job"))?;
        tx.commit().await?;
        Ok(job)
    })
    .await
}

/// Reads jobs for a caller who may: obtained from [`reader`] only, so nothing reads them
/// without the decision. The handler parses its request in between, so a refused caller gets
/// its 403 whatever it sent.
pub struct Reader<'a> {
    app: &'a App,
}

pub fn reader<'a>(app: &'a App, caller: &Caller) -> UseCaseResult<Reader<'a>> {
    authorize::act(app, caller, actions::OUTBOX_READ, false)?;
    Ok(Reader { app })
}

impl Reader<'_> {
    /// Newest first, optionally only one status.
    pub async fn list(&self, status: Option<JobStatus>, page: Page) -> UseCaseResult<Vec<Job>> {
        Ok(self.app.store.read().await?.list_jobs(status, page).await?)
    }

    pub async fn get(&self, id: Uuid) -> UseCaseResult<Job> {
        self.app
            .store
            .read()
            .await?
            .get_job(id)
            .await?
            .ok_or_else(|| Failure::not_found("job"))
    }
}
