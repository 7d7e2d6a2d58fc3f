//! The store's side of side effects: the outbox (jobs written with the change that causes them),
//! connectors and the groups they provision, what was pushed downstream, webhook subscriptions,
//! alerts, used one-click links, and keys Eligo generates for itself.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{Page, Result};

/// Where an outbox job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting to run at `next_attempt_at`.
    Pending,
    /// Claimed by a worker until `next_attempt_at` (the lease); reclaimed after it.
    Running,
    Delivered,
    /// Dead letter: every attempt failed; retried only on request.
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Delivered => "delivered",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            JobStatus::Pending,
            JobStatus::Running,
            JobStatus::Delivered,
            JobStatus::Failed,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A job to write with the change that causes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: Uuid,
    /// What delivers it, e.g. `mail`, `webhook`, `provision.member`.
    pub kind: String,
    pub payload: Value,
    /// At most one pending job per key (see the migration).
    pub coalesce_key: Option<String>,
    /// Never two jobs with this key.
    pub once_key: Option<String>,
    /// What it concerns, for the API (a connector, subscription or recipient).
    pub subject: Option<String>,
    /// Not before this moment.
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub payload: Value,
    pub status: JobStatus,
    pub subject: Option<String>,
    /// Attempts started so far (a claim counts, so a job that crashes its worker ends up failed).
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The server (`ELIGO_SERVER_ID`) that claimed it last.
    pub claimed_by: Option<String>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Delivered,
    /// Try again at `at`.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Give up (dead letter).
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorRow {
    pub id: Uuid,
    /// `ldap`, `scim` or `webhook`.
    pub kind: String,
    pub display_name: String,
    /// Secrets included; the API never answers them.
    pub settings: Value,
    pub health: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An Eligo group mapped to a downstream group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingRow {
    pub id: Uuid,
    pub group_id: Uuid,
    pub connector_id: Uuid,
    pub target: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRow {
    pub id: Uuid,
    /// The subscription as stored (url, event types, secret, creator).
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

/// An inbound SCIM provisioning client. Its token is kept only as a hash.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimClientRow {
    pub id: Uuid,
    pub display_name: String,
    pub token_hash: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The source of a principal a provisioning client created (who owns what).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub principal_id: Uuid,
    /// `user` or `group`.
    pub kind: String,
    pub client_id: Uuid,
    pub external_id: Option<String>,
    /// The SCIM attributes Eligo's record has no field for (userName as sent, name, emails).
    pub attributes: Value,
    pub created_at: DateTime<Utc>,
}

/// The single sign-on identity an account is bound to (Graph's federated `identities`): the
/// provider's issuer and the subject it gave the person. One per account, and one account per
/// (issuer, subject).
#[derive(Debug, Clone, PartialEq)]
pub struct SignInIdentityRow {
    pub principal_id: Uuid,
    pub issuer: String,
    pub subject: String,
    pub linked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub id: Uuid,
    pub kind: String,
    /// `active` or `resolved`.
    pub status: String,
    /// At most one alert per key (a repeated finding updates nothing).
    pub dedupe_key: Option<String>,
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

/// Side-effect records, part of every `Tx`.
#[async_trait]
pub trait EffectsTx: Send {
    // Outbox.
    /// Writes `job` unless a pending job has its coalesce key or any job its once key (false).
    async fn enqueue_job(&mut self, job: &NewJob, now: DateTime<Utc>) -> Result<bool>;
    /// `enqueue_job` for each of `jobs`, one statement per few hundred; how many were written.
    async fn enqueue_jobs(&mut self, jobs: &[NewJob], now: DateTime<Utc>) -> Result<usize>;
    /// Claims up to `limit` jobs due at `now` (pending, or running with an expired lease), the
    /// earliest first, for `server`: each becomes running until `lease_until` with one more
    /// attempt. Called in a write transaction, so on PostgreSQL under the audit head's lock:
    /// claims are serial across servers, and a claimed job is nobody else's until its lease
    /// ends (no `SKIP LOCKED` needed, nothing else can hold its row).
    async fn claim_jobs(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        server: &str,
    ) -> Result<Vec<Job>>;
    /// Records that the running jobs of `ids` were delivered at `now`, in one statement per
    /// thousand; returns how many were still running (a reclaimed one is left alone).
    async fn complete_delivered_jobs(&mut self, ids: &[Uuid], now: DateTime<Utc>) -> Result<u64>;
    /// Records how a running job's attempt ended; false when it is not running (e.g. reclaimed).
    async fn complete_job(
        &mut self,
        id: Uuid,
        outcome: &JobOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Whether a pending or running job holds `coalesce_key` (e.g. a feed whose delivery is
    /// under way on some server, which a second job would repeat concurrently).
    async fn job_in_flight(&mut self, coalesce_key: &str) -> Result<bool>;
    async fn get_job(&mut self, id: Uuid) -> Result<Option<Job>>;
    /// Newest first.
    async fn list_jobs(&mut self, status: Option<JobStatus>, page: Page) -> Result<Vec<Job>>;
    /// A failed job back to pending, due at `now`, attempts reset; false unless it was failed.
    async fn retry_job(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<bool>;
    /// When the earliest pending or running job is due.
    async fn next_job_due(&mut self) -> Result<Option<DateTime<Utc>>>;
    /// Jobs per status.
    async fn count_jobs(&mut self) -> Result<Vec<(JobStatus, i64)>>;
    /// The running jobs `server` claimed back to pending, due at `now` (that server starting
    /// again: whatever it had claimed died with its previous process); None: every running job
    /// (a single server, on SQLite, starting: nobody else can hold a claim). Other servers'
    /// claims are left to their lease: they may be alive and delivering.
    async fn release_running_jobs(
        &mut self,
        now: DateTime<Utc>,
        server: Option<&str>,
    ) -> Result<u64>;
    /// Forgets delivered jobs finished before `before` (the outbox is not an archive; the
    /// audit log is).
    async fn prune_delivered_jobs(&mut self, before: DateTime<Utc>) -> Result<u64>;

    // Connectors.
    async fn insert_connector(&mut self, row: &ConnectorRow) -> Result<()>;
    /// Display name and settings; false when none.
    async fn update_connector(&mut self, row: &ConnectorRow) -> Result<bool>;
    async fn set_connector_health(&mut self, id: Uuid, health: &Value) -> Result<()>;
    async fn get_connector(&mut self, id: Uuid) -> Result<Option<ConnectorRow>>;
    async fn list_connectors(&mut self) -> Result<Vec<ConnectorRow>>;
    async fn delete_connector(&mut self, id: Uuid) -> Result<bool>;

    // Provisioning mappings and what was pushed.
    /// `Conflict` when the connector already provisions that target.
    async fn insert_mapping(&mut self, row: &MappingRow) -> Result<()>;
    async fn get_mapping(&mut self, id: Uuid) -> Result<Option<MappingRow>>;
    /// Filtered by group and/or connector; oldest first.
    async fn list_mappings(
        &mut self,
        group: Option<Uuid>,
        connector: Option<Uuid>,
    ) -> Result<Vec<MappingRow>>;
    async fn delete_mapping(&mut self, id: Uuid) -> Result<bool>;
    async fn put_provisioned(
        &mut self,
        mapping: Uuid,
        principal: Uuid,
        reference: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    async fn remove_provisioned(&mut self, mapping: Uuid, principal: Uuid) -> Result<bool>;
    /// The reference Eligo pushed for `principal` to this mapping's downstream group.
    async fn get_provisioned(&mut self, mapping: Uuid, principal: Uuid) -> Result<Option<String>>;
    /// `(principal, reference)` Eligo pushed to this mapping's downstream group.
    async fn list_provisioned(&mut self, mapping: Uuid) -> Result<Vec<(Uuid, String)>>;
    /// The references Eligo pushed to this mapping's downstream group for `principals` (one
    /// without is absent), in one read per few hundred: a batch of member jobs reads them once.
    async fn provisioned_refs(
        &mut self,
        mapping: Uuid,
        principals: &[Uuid],
    ) -> Result<HashMap<Uuid, String>>;
    /// `put_provisioned` for many members of one mapping at `at`, one statement per few hundred
    /// (a principal listed twice keeps its last reference).
    async fn put_provisioned_many(
        &mut self,
        mapping: Uuid,
        rows: &[(Uuid, String)],
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// `remove_provisioned` for many members of one mapping, one statement per few hundred;
    /// how many were recorded.
    async fn remove_provisioned_many(&mut self, mapping: Uuid, principals: &[Uuid]) -> Result<u64>;

    // Webhook subscriptions.
    async fn insert_subscription(&mut self, row: &SubscriptionRow) -> Result<()>;
    async fn get_subscription(&mut self, id: Uuid) -> Result<Option<SubscriptionRow>>;
    async fn list_subscriptions(&mut self) -> Result<Vec<SubscriptionRow>>;
    async fn delete_subscription(&mut self, id: Uuid) -> Result<bool>;

    // Inbound SCIM clients and the sources of what they provisioned.
    async fn insert_scim_client(&mut self, row: &ScimClientRow) -> Result<()>;
    async fn get_scim_client(&mut self, id: Uuid) -> Result<Option<ScimClientRow>>;
    /// The client whose token hashes to `token_hash`, revoked or not.
    async fn scim_client_by_token(&mut self, token_hash: &str) -> Result<Option<ScimClientRow>>;
    async fn list_scim_clients(&mut self) -> Result<Vec<ScimClientRow>>;
    /// False when there is no such client or it was revoked already.
    async fn revoke_scim_client(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<bool>;
    /// Conflict when the client has another principal of this kind with the same externalId.
    async fn put_source(&mut self, row: &SourceRow) -> Result<()>;
    async fn get_source(&mut self, principal: Uuid) -> Result<Option<SourceRow>>;
    /// The principal of `kind` the client knows as `external_id`.
    async fn find_by_external_id(
        &mut self,
        client: Uuid,
        kind: &str,
        external_id: &str,
    ) -> Result<Option<Uuid>>;
    /// Every principal of `kind` the client provisioned, oldest first.
    async fn list_sourced(&mut self, client: Uuid, kind: &str) -> Result<Vec<SourceRow>>;

    // Single sign-on identities.
    /// Binds the account to the identity, replacing its earlier one; Conflict when another
    /// account holds this identity.
    async fn put_sign_in_identity(&mut self, row: &SignInIdentityRow) -> Result<()>;
    async fn get_sign_in_identity(&mut self, principal: Uuid) -> Result<Option<SignInIdentityRow>>;
    /// The account bound to the provider's subject.
    async fn find_sign_in_identity(&mut self, issuer: &str, subject: &str) -> Result<Option<Uuid>>;
    /// False when the account had none.
    async fn delete_sign_in_identity(&mut self, principal: Uuid) -> Result<bool>;

    // Alerts.
    /// False when an alert with the same dedupe key exists.
    async fn insert_alert(&mut self, row: &AlertRow) -> Result<bool>;
    async fn get_alert(&mut self, id: Uuid) -> Result<Option<AlertRow>>;
    /// Newest first, optionally only one status.
    async fn list_alerts(&mut self, status: Option<&str>, page: Page) -> Result<Vec<AlertRow>>;
    async fn update_alert(&mut self, row: &AlertRow) -> Result<bool>;

    // Reminders.
    /// Schedules ending in `(after, until]`, earliest first, at most `limit` (for "ends in 14
    /// days" and "ends tomorrow" notices).
    async fn schedules_ending_between(
        &mut self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<eligo_core::schedule::RoleSchedule>>;

    // Periodic duties shared by the servers.
    /// Records that `duty` runs at `now`, unless it last ran less than `every` before `now`
    /// (false: another server, or this one, did it lately). Written in the duty's own
    /// transaction, so the run and its marker commit together; a clock gone back runs it.
    async fn claim_duty(
        &mut self,
        duty: &str,
        now: DateTime<Utc>,
        every: chrono::TimeDelta,
    ) -> Result<bool>;

    // One-click links and generated keys.
    /// Records a link as used; false when it was used before.
    async fn consume_link(&mut self, token_hash: &str, at: i64) -> Result<bool>;
    async fn get_server_secret(&mut self, name: &str) -> Result<Option<Vec<u8>>>;
    /// False when a secret with that name exists already (keep the stored one).
    async fn put_server_secret(&mut self, name: &str, value: &[u8], at: i64) -> Result<bool>;
}
