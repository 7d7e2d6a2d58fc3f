//! The outbox: every side effect of a change (a mail, a webhook event, a membership change in
//! a downstream system) is written as a job in the same transaction as the change, and
//! delivered after the commit by `worker`, with retries and a dead letter. A crash between the
//! commit and the delivery loses nothing: the job is in the database, and runs after restart.
//!
//! Jobs are idempotent and say *what to make true*, not what to do: a provisioning job names a
//! member and a mapped group, and its delivery reads the desired state at that moment. So a job
//! that runs twice, late, or after a newer one, still converges.

pub mod backoff;
pub mod delivery;
pub mod jobs;
pub mod pushed;
pub mod worker;

pub use jobs::Payload;
