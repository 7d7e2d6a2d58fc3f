//! The SQL of every `EffectsTx` method, compiled once per backend like `shared_sql.rs` (each
//! backend includes this file next to it, with its own `Db`).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, QueryBuilder, Row};
use uuid::Uuid;

use super::Db;
use super::shared::{
    SqlTx, conflict_on_unique, from_json, parse_uuid, push_page, schedules_from_rows, to_json,
};
use crate::changes::Change;
use crate::effects::{
    AlertRow, ConnectorRow, EffectsTx, Job, JobOutcome, JobStatus, MappingRow, NewJob,
    ScimClientRow, SignInIdentityRow, SourceRow, SubscriptionRow,
};
use crate::seal::place;
use crate::{Page, Result, StoreError, from_micros, micros};

type DbRow = <Db as sqlx::Database>::Row;

/// Rows (or keys) per statement in the set-based `provisioned` methods (4 binds a row stays far
/// below either backend's limit on bound parameters).
const PROVISIONED_CHUNK: usize = 500;

/// Jobs per statement in `enqueue_jobs` (11 binds a row).
const ENQUEUE_CHUNK: usize = 200;

const JOB_COLUMNS: &str = "id, kind, payload, status, subject, attempts, next_attempt_at, \
     last_error, created_at, updated_at, delivered_at, claimed_by";

fn job_from_row(r: &DbRow) -> Result<Job> {
    let status: String = r.try_get(3)?;
    Ok(Job {
        id: parse_uuid(&r.try_get::<String, _>(0)?)?,
        kind: r.try_get(1)?,
        payload: from_json(&r.try_get::<String, _>(2)?)?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("job status {status}")))?,
        subject: r.try_get(4)?,
        attempts: r.try_get(5)?,
        next_attempt_at: from_micros(r.try_get(6)?),
        last_error: r.try_get(7)?,
        created_at: from_micros(r.try_get(8)?),
        updated_at: from_micros(r.try_get(9)?),
        delivered_at: r.try_get::<Option<i64>, _>(10)?.map(from_micros),
        claimed_by: r.try_get(11)?,
    })
}

fn connector_from_row(tx: &SqlTx, r: &DbRow) -> Result<ConnectorRow> {
    let id = parse_uuid(&r.try_get::<String, _>(0)?)?;
    Ok(ConnectorRow {
        id,
        kind: r.try_get(1)?,
        display_name: r.try_get(2)?,
        settings: tx.open_json(&place::connector(id), &r.try_get::<String, _>(3)?)?,
        health: from_json(&r.try_get::<String, _>(4)?)?,
        created_at: from_micros(r.try_get(5)?),
        updated_at: from_micros(r.try_get(6)?),
    })
}

fn mapping_from_row(r: &DbRow) -> Result<MappingRow> {
    Ok(MappingRow {
        id: parse_uuid(&r.try_get::<String, _>(0)?)?,
        group_id: parse_uuid(&r.try_get::<String, _>(1)?)?,
        connector_id: parse_uuid(&r.try_get::<String, _>(2)?)?,
        target: r.try_get(3)?,
        created_at: from_micros(r.try_get(4)?),
    })
}

fn subscription_from_row(tx: &SqlTx, r: &DbRow) -> Result<SubscriptionRow> {
    let id = parse_uuid(&r.try_get::<String, _>(0)?)?;
    Ok(SubscriptionRow {
        id,
        data: tx.open_json(&place::subscription(id), &r.try_get::<String, _>(1)?)?,
        created_at: from_micros(r.try_get(2)?),
    })
}

const SCIM_CLIENT_COLUMNS: &str =
    "id, display_name, token_hash, created_by, created_at, revoked_at";

fn scim_client_from_row(r: &DbRow) -> Result<ScimClientRow> {
    Ok(ScimClientRow {
        id: parse_uuid(&r.try_get::<String, _>(0)?)?,
        display_name: r.try_get(1)?,
        token_hash: r.try_get(2)?,
        created_by: r
            .try_get::<Option<String>, _>(3)?
            .map(|s| parse_uuid(&s))
            .transpose()?,
        created_at: from_micros(r.try_get(4)?),
        revoked_at: r.try_get::<Option<i64>, _>(5)?.map(from_micros),
    })
}

const SOURCE_COLUMNS: &str = "principal_id, kind, client_id, external_id, attributes, created_at";

fn source_from_row(r: &DbRow) -> Result<SourceRow> {
    Ok(SourceRow {
        principal_id: parse_uuid(&r.try_get::<String, _>(0)?)?,
        kind: r.try_get(1)?,
        client_id: parse_uuid(&r.try_get::<String, _>(2)?)?,
        external_id: r.try_get(3)?,
        attributes: from_json(&r.try_get::<String, _>(4)?)?,
        created_at: from_micros(r.try_get(5)?),
    })
}

const SIGN_IN_IDENTITY_COLUMNS: &str = "principal_id, issuer, subject, linked_at";

fn sign_in_identity_from_row(r: &DbRow) -> Result<SignInIdentityRow> {
    Ok(SignInIdentityRow {
        principal_id: parse_uuid(&r.try_get::<String, _>(0)?)?,
        issuer: r.try_get(1)?,
        subject: r.try_get(2)?,
        linked_at: from_micros(r.try_get(3)?),
    })
}

fn alert_from_row(r: &DbRow) -> Result<AlertRow> {
    Ok(AlertRow {
        id: parse_uuid(&r.try_get::<String, _>(0)?)?,
        kind: r.try_get(1)?,
        status: r.try_get(2)?,
        dedupe_key: r.try_get(3)?,
        data: from_json(&r.try_get::<String, _>(4)?)?,
        created_at: from_micros(r.try_get(5)?),
    })
}

/// Keeps a job's coalesce key when it goes back to pending, unless another pending job holds
/// it now (then both run; jobs are idempotent, and the unique index must not be broken).
const KEEP_COALESCE_KEY: &str = "coalesce_key = CASE WHEN EXISTS (SELECT 1 FROM outbox o2 \
     WHERE o2.coalesce_key = outbox.coalesce_key AND o2.status = 'pending' AND o2.id <> outbox.id) \
     THEN NULL ELSE coalesce_key END";

#[async_trait]
impl EffectsTx for SqlTx {
    async fn enqueue_job(&mut self, job: &NewJob, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO outbox (id, kind, payload, status, coalesce_key, once_key, subject, \
             attempts, next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, 'pending', $4, $5, $6, 0, $7, $8, $8) ON CONFLICT DO NOTHING",
        )
        .bind(job.id.to_string())
        .bind(&job.kind)
        .bind(to_json(&job.payload))
        .bind(&job.coalesce_key)
        .bind(&job.once_key)
        .bind(&job.subject)
        .bind(micros(job.due_at))
        .bind(micros(now))
        .execute(self.conn().await?)
        .await?;
        let written = done.rows_affected() == 1;
        if written {
            self.record_addition(Change::JobEnqueued { due_at: job.due_at });
        }
        Ok(written)
    }

    async fn enqueue_jobs(&mut self, jobs: &[NewJob], now: DateTime<Utc>) -> Result<usize> {
        let mut written = 0;
        for chunk in jobs.chunks(ENQUEUE_CHUNK) {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO outbox (id, kind, payload, status, coalesce_key, once_key, subject, \
                 attempts, next_attempt_at, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut row, job| {
                row.push_bind(job.id.to_string())
                    .push_bind(job.kind.clone())
                    .push_bind(to_json(&job.payload))
                    .push_bind("pending")
                    .push_bind(job.coalesce_key.clone())
                    .push_bind(job.once_key.clone())
                    .push_bind(job.subject.clone())
                    .push_bind(0_i64)
                    .push_bind(micros(job.due_at))
                    .push_bind(micros(now))
                    .push_bind(micros(now));
            });
            // Rows that collide with a job already there, or with one before them in this
            // statement, are skipped, as `enqueue_job` skips them one by one.
            q.push(" ON CONFLICT DO NOTHING RETURNING next_attempt_at");
            let due: Vec<i64> = q.build_query_scalar().fetch_all(self.conn().await?).await?;
            written += due.len();
            for at in due {
                self.record_addition(Change::JobEnqueued {
                    due_at: from_micros(at),
                });
            }
        }
        Ok(written)
    }

    async fn claim_jobs(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        server: &str,
    ) -> Result<Vec<Job>> {
        let sql = format!(
            "UPDATE outbox SET status = 'running', attempts = attempts + 1, \
             next_attempt_at = $1, updated_at = $2, claimed_by = $4 \
             WHERE id IN (SELECT id FROM outbox WHERE status IN ('pending', 'running') \
             AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3) \
             RETURNING {JOB_COLUMNS}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(micros(lease_until))
            .bind(micros(now))
            .bind(limit)
            .bind(server)
            .fetch_all(self.conn().await?)
            .await?;
        let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| j.created_at);
        Ok(jobs)
    }

    async fn complete_delivered_jobs(&mut self, ids: &[Uuid], now: DateTime<Utc>) -> Result<u64> {
        let mut done = 0;
        for chunk in ids.chunks(1000) {
            let mut q =
                QueryBuilder::<Db>::new("UPDATE outbox SET status = 'delivered', delivered_at = ");
            q.push_bind(micros(now))
                .push(", updated_at = ")
                .push_bind(micros(now))
                .push(", last_error = NULL WHERE status = 'running' AND id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.to_string());
            }
            q.push(")");
            done += q.build().execute(self.conn().await?).await?.rows_affected();
        }
        Ok(done)
    }

    async fn complete_job(
        &mut self,
        id: Uuid,
        outcome: &JobOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let id = id.to_string();
        let retry_sql = format!(
            "UPDATE outbox SET status = 'pending', next_attempt_at = $2, updated_at = $3, \
             last_error = $4, {KEEP_COALESCE_KEY} WHERE id = $1 AND status = 'running'"
        );
        let query = match outcome {
            JobOutcome::Delivered => sqlx::query(
                "UPDATE outbox SET status = 'delivered', delivered_at = $2, updated_at = $2, \
                 last_error = NULL WHERE id = $1 AND status = 'running'",
            )
            .bind(id)
            .bind(micros(now)),
            JobOutcome::Retry { at, error } => sqlx::query(AssertSqlSafe(retry_sql))
                .bind(id)
                .bind(micros(*at))
                .bind(micros(now))
                .bind(error.clone()),
            JobOutcome::Failed { error } => sqlx::query(
                "UPDATE outbox SET status = 'failed', updated_at = $2, last_error = $3 \
                 WHERE id = $1 AND status = 'running'",
            )
            .bind(id)
            .bind(micros(now))
            .bind(error.clone()),
        };
        Ok(query.execute(self.conn().await?).await?.rows_affected() == 1)
    }

    async fn job_in_flight(&mut self, coalesce_key: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM outbox WHERE coalesce_key = $1 AND status IN ('pending', 'running') \
             LIMIT 1",
        )
        .bind(coalesce_key)
        .fetch_optional(self.conn().await?)
        .await?;
        Ok(row.is_some())
    }

    async fn get_job(&mut self, id: Uuid) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM outbox WHERE id = $1");
        sqlx::query(AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.conn().await?)
            .await?
            .as_ref()
            .map(job_from_row)
            .transpose()
    }

    async fn list_jobs(&mut self, status: Option<JobStatus>, page: Page) -> Result<Vec<Job>> {
        let mut q = QueryBuilder::<Db>::new(format!("SELECT {JOB_COLUMNS} FROM outbox"));
        if let Some(status) = status {
            q.push(" WHERE status = ").push_bind(status.as_str());
        }
        q.push(" ORDER BY created_at DESC, id");
        push_page(&mut q, page);
        let rows = q.build().fetch_all(self.conn().await?).await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn retry_job(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let sql = format!(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2, \
             updated_at = $2, {KEEP_COALESCE_KEY} WHERE id = $1 AND status = 'failed'"
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(id.to_string())
            .bind(micros(now))
            .execute(self.conn().await?)
            .await?;
        let retried = done.rows_affected() == 1;
        if retried {
            self.record_addition(Change::JobEnqueued { due_at: now });
        }
        Ok(retried)
    }

    async fn next_job_due(&mut self) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE status IN ('pending', 'running')",
        )
        .fetch_one(self.conn().await?)
        .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?.map(from_micros))
    }

    async fn count_jobs(&mut self) -> Result<Vec<(JobStatus, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) FROM outbox GROUP BY status")
            .fetch_all(self.conn().await?)
            .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get(0)?;
                let status = JobStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("job status {status}")))?;
                Ok((status, r.try_get(1)?))
            })
            .collect()
    }

    async fn release_running_jobs(
        &mut self,
        now: DateTime<Utc>,
        server: Option<&str>,
    ) -> Result<u64> {
        let sql = format!(
            "UPDATE outbox SET status = 'pending', next_attempt_at = $1, updated_at = $1, \
             {KEEP_COALESCE_KEY} WHERE status = 'running' AND ($2 IS NULL OR claimed_by = $2)"
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(micros(now))
            .bind(server)
            .execute(self.conn().await?)
            .await?;
        Ok(done.rows_affected())
    }

    async fn prune_delivered_jobs(&mut self, before: DateTime<Utc>) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM outbox WHERE status = 'delivered' AND delivered_at < $1")
                .bind(micros(before))
                .execute(self.conn().await?)
                .await?;
        Ok(done.rows_affected())
    }

    async fn insert_connector(&mut self, row: &ConnectorRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO connectors (id, kind, display_name, settings, health, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(row.id.to_string())
        .bind(&row.kind)
        .bind(&row.display_name)
        .bind(self.seal_json(&place::connector(row.id), &row.settings))
        .bind(to_json(&row.health))
        .bind(micros(row.created_at))
        .bind(micros(row.updated_at))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("connector"))?;
        Ok(())
    }

    async fn update_connector(&mut self, row: &ConnectorRow) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE connectors SET display_name = $2, settings = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(row.id.to_string())
        .bind(&row.display_name)
        .bind(self.seal_json(&place::connector(row.id), &row.settings))
        .bind(micros(row.updated_at))
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_connector_health(&mut self, id: Uuid, health: &serde_json::Value) -> Result<()> {
        sqlx::query("UPDATE connectors SET health = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(to_json(health))
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    async fn get_connector(&mut self, id: Uuid) -> Result<Option<ConnectorRow>> {
        sqlx::query(
            "SELECT id, kind, display_name, settings, health, created_at, updated_at \
             FROM connectors WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.conn().await?)
        .await?
        .as_ref()
        .map(|r| connector_from_row(self, r))
        .transpose()
    }

    async fn list_connectors(&mut self) -> Result<Vec<ConnectorRow>> {
        let rows = sqlx::query(
            "SELECT id, kind, display_name, settings, health, created_at, updated_at \
             FROM connectors ORDER BY created_at, id",
        )
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter().map(|r| connector_from_row(self, r)).collect()
    }

    async fn delete_connector(&mut self, id: Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM connectors WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_mapping(&mut self, row: &MappingRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO provisioning (id, group_id, connector_id, target, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(row.id.to_string())
        .bind(row.group_id.to_string())
        .bind(row.connector_id.to_string())
        .bind(&row.target)
        .bind(micros(row.created_at))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique(
            "this connector already provisions that target",
        ))?;
        self.record(Change::Provisioning {
            group: row.group_id,
        });
        Ok(())
    }

    async fn get_mapping(&mut self, id: Uuid) -> Result<Option<MappingRow>> {
        sqlx::query(
            "SELECT id, group_id, connector_id, target, created_at FROM provisioning WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.conn().await?)
        .await?
        .as_ref()
        .map(mapping_from_row)
        .transpose()
    }

    async fn list_mappings(
        &mut self,
        group: Option<Uuid>,
        connector: Option<Uuid>,
    ) -> Result<Vec<MappingRow>> {
        let mut q = QueryBuilder::<Db>::new(
            "SELECT id, group_id, connector_id, target, created_at FROM provisioning WHERE 1 = 1",
        );
        if let Some(g) = group {
            q.push(" AND group_id = ").push_bind(g.to_string());
        }
        if let Some(c) = connector {
            q.push(" AND connector_id = ").push_bind(c.to_string());
        }
        q.push(" ORDER BY created_at, id");
        let rows = q.build().fetch_all(self.conn().await?).await?;
        rows.iter().map(mapping_from_row).collect()
    }

    async fn delete_mapping(&mut self, id: Uuid) -> Result<bool> {
        let Some(row) = self.get_mapping(id).await? else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM provisioning WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn().await?)
            .await?;
        self.record(Change::Provisioning {
            group: row.group_id,
        });
        Ok(true)
    }

    async fn put_provisioned(
        &mut self,
        mapping: Uuid,
        principal: Uuid,
        reference: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO provisioned (mapping_id, principal_id, reference, at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (mapping_id, principal_id) \
             DO UPDATE SET reference = excluded.reference, at = excluded.at",
        )
        .bind(mapping.to_string())
        .bind(principal.to_string())
        .bind(reference)
        .bind(micros(at))
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    async fn remove_provisioned(&mut self, mapping: Uuid, principal: Uuid) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM provisioned WHERE mapping_id = $1 AND principal_id = $2")
                .bind(mapping.to_string())
                .bind(principal.to_string())
                .execute(self.conn().await?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_provisioned(&mut self, mapping: Uuid, principal: Uuid) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT reference FROM provisioned WHERE mapping_id = $1 AND principal_id = $2",
        )
        .bind(mapping.to_string())
        .bind(principal.to_string())
        .fetch_optional(self.conn().await?)
        .await?;
        row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
    }

    async fn provisioned_refs(
        &mut self,
        mapping: Uuid,
        principals: &[Uuid],
    ) -> Result<HashMap<Uuid, String>> {
        let mut found = HashMap::with_capacity(principals.len());
        for chunk in principals.chunks(PROVISIONED_CHUNK) {
            let mut q = QueryBuilder::<Db>::new(
                "SELECT principal_id, reference FROM provisioned WHERE mapping_id = ",
            );
            q.push_bind(mapping.to_string())
                .push(" AND principal_id IN (");
            let mut list = q.separated(", ");
            for p in chunk {
                list.push_bind(p.to_string());
            }
            q.push(")");
            for r in q.build().fetch_all(self.conn().await?).await? {
                found.insert(parse_uuid(&r.try_get::<String, _>(0)?)?, r.try_get(1)?);
            }
        }
        Ok(found)
    }

    async fn put_provisioned_many(
        &mut self,
        mapping: Uuid,
        rows: &[(Uuid, String)],
        at: DateTime<Utc>,
    ) -> Result<()> {
        // One row per principal: a statement may not upsert the same row twice.
        let rows: BTreeMap<Uuid, &str> = rows.iter().map(|(p, r)| (*p, r.as_str())).collect();
        let rows: Vec<(Uuid, &str)> = rows.into_iter().collect();
        for chunk in rows.chunks(PROVISIONED_CHUNK) {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO provisioned (mapping_id, principal_id, reference, at) ",
            );
            q.push_values(chunk, |mut row, (principal, reference)| {
                row.push_bind(mapping.to_string())
                    .push_bind(principal.to_string())
                    .push_bind(reference.to_string())
                    .push_bind(micros(at));
            });
            q.push(
                " ON CONFLICT (mapping_id, principal_id) \
                 DO UPDATE SET reference = excluded.reference, at = excluded.at",
            );
            q.build().execute(self.conn().await?).await?;
        }
        Ok(())
    }

    async fn remove_provisioned_many(&mut self, mapping: Uuid, principals: &[Uuid]) -> Result<u64> {
        let mut removed = 0;
        for chunk in principals.chunks(PROVISIONED_CHUNK) {
            let mut q = QueryBuilder::<Db>::new("DELETE FROM provisioned WHERE mapping_id = ");
            q.push_bind(mapping.to_string())
                .push(" AND principal_id IN (");
            let mut list = q.separated(", ");
            for p in chunk {
                list.push_bind(p.to_string());
            }
            q.push(")");
            removed += q.build().execute(self.conn().await?).await?.rows_affected();
        }
        Ok(removed)
    }

    async fn list_provisioned(&mut self, mapping: Uuid) -> Result<Vec<(Uuid, String)>> {
        let rows = sqlx::query(
            "SELECT principal_id, reference FROM provisioned WHERE mapping_id = $1 \
             ORDER BY principal_id",
        )
        .bind(mapping.to_string())
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((parse_uuid(&r.try_get::<String, _>(0)?)?, r.try_get(1)?)))
            .collect()
    }

    async fn insert_subscription(&mut self, row: &SubscriptionRow) -> Result<()> {
        sqlx::query("INSERT INTO subscriptions (id, data, created_at) VALUES ($1, $2, $3)")
            .bind(row.id.to_string())
            .bind(self.seal_json(&place::subscription(row.id), &row.data))
            .bind(micros(row.created_at))
            .execute(self.conn().await?)
            .await
            .map_err(conflict_on_unique("subscription"))?;
        if let Some(cache) = self.batch_cache() {
            cache.subscriptions = None;
        }
        Ok(())
    }

    async fn get_subscription(&mut self, id: Uuid) -> Result<Option<SubscriptionRow>> {
        sqlx::query("SELECT id, data, created_at FROM subscriptions WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn().await?)
            .await?
            .as_ref()
            .map(|r| subscription_from_row(self, r))
            .transpose()
    }

    async fn list_subscriptions(&mut self) -> Result<Vec<SubscriptionRow>> {
        if let Some(kept) = self.batch_cache().and_then(|c| c.subscriptions.as_ref()) {
            return Ok(kept.clone());
        }
        let rows =
            sqlx::query("SELECT id, data, created_at FROM subscriptions ORDER BY created_at, id")
                .fetch_all(self.conn().await?)
                .await?;
        let subscriptions: Vec<SubscriptionRow> = rows
            .iter()
            .map(|r| subscription_from_row(self, r))
            .collect::<Result<_>>()?;
        if let Some(cache) = self.batch_cache() {
            cache.subscriptions = Some(subscriptions.clone());
        }
        Ok(subscriptions)
    }

    async fn delete_subscription(&mut self, id: Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM subscriptions WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn().await?)
            .await?;
        if let Some(cache) = self.batch_cache() {
            cache.subscriptions = None;
        }
        Ok(done.rows_affected() == 1)
    }

    async fn insert_scim_client(&mut self, row: &ScimClientRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO scim_clients (id, display_name, token_hash, created_by, created_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(row.id.to_string())
        .bind(&row.display_name)
        .bind(&row.token_hash)
        .bind(row.created_by.map(|u| u.to_string()))
        .bind(micros(row.created_at))
        .bind(row.revoked_at.map(micros))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("scim client"))?;
        Ok(())
    }

    async fn get_scim_client(&mut self, id: Uuid) -> Result<Option<ScimClientRow>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SCIM_CLIENT_COLUMNS} FROM scim_clients WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(self.conn().await?)
        .await?
        .as_ref()
        .map(scim_client_from_row)
        .transpose()
    }

    async fn scim_client_by_token(&mut self, token_hash: &str) -> Result<Option<ScimClientRow>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SCIM_CLIENT_COLUMNS} FROM scim_clients WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(self.conn().await?)
        .await?
        .as_ref()
        .map(scim_client_from_row)
        .transpose()
    }

    async fn list_scim_clients(&mut self) -> Result<Vec<ScimClientRow>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SCIM_CLIENT_COLUMNS} FROM scim_clients ORDER BY created_at, id"
        )))
        .fetch_all(self.conn().await?)
        .await?
        .iter()
        .map(scim_client_from_row)
        .collect()
    }

    async fn revoke_scim_client(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE scim_clients SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(micros(at))
        .bind(id.to_string())
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_source(&mut self, row: &SourceRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO principal_sources (principal_id, kind, client_id, external_id, \
             attributes, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (principal_id) DO UPDATE \
             SET external_id = excluded.external_id, attributes = excluded.attributes",
        )
        .bind(row.principal_id.to_string())
        .bind(&row.kind)
        .bind(row.client_id.to_string())
        .bind(&row.external_id)
        .bind(to_json(&row.attributes))
        .bind(micros(row.created_at))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("externalId"))?;
        Ok(())
    }

    async fn get_source(&mut self, principal: Uuid) -> Result<Option<SourceRow>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SOURCE_COLUMNS} FROM principal_sources WHERE principal_id = $1"
        )))
        .bind(principal.to_string())
        .fetch_optional(self.conn().await?)
        .await?
        .as_ref()
        .map(source_from_row)
        .transpose()
    }

    async fn find_by_external_id(
        &mut self,
        client: Uuid,
        kind: &str,
        external_id: &str,
    ) -> Result<Option<Uuid>> {
        let row = sqlx::query(
            "SELECT principal_id FROM principal_sources \
             WHERE client_id = $1 AND kind = $2 AND external_id = $3",
        )
        .bind(client.to_string())
        .bind(kind)
        .bind(external_id)
        .fetch_optional(self.conn().await?)
        .await?;
        row.map(|r| parse_uuid(&r.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn list_sourced(&mut self, client: Uuid, kind: &str) -> Result<Vec<SourceRow>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SOURCE_COLUMNS} FROM principal_sources WHERE client_id = $1 AND kind = $2 \
             ORDER BY created_at, principal_id"
        )))
        .bind(client.to_string())
        .bind(kind)
        .fetch_all(self.conn().await?)
        .await?
        .iter()
        .map(source_from_row)
        .collect()
    }

    async fn put_sign_in_identity(&mut self, row: &SignInIdentityRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO sign_in_identities (principal_id, issuer, subject, linked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (principal_id) DO UPDATE \
             SET issuer = excluded.issuer, subject = excluded.subject, \
             linked_at = excluded.linked_at",
        )
        .bind(row.principal_id.to_string())
        .bind(&row.issuer)
        .bind(&row.subject)
        .bind(micros(row.linked_at))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("sign-in identity"))?;
        Ok(())
    }

    async fn get_sign_in_identity(&mut self, principal: Uuid) -> Result<Option<SignInIdentityRow>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SIGN_IN_IDENTITY_COLUMNS} FROM sign_in_identities WHERE principal_id = $1"
        )))
        .bind(principal.to_string())
        .fetch_optional(self.conn().await?)
        .await?
        .as_ref()
        .map(sign_in_identity_from_row)
        .transpose()
    }

    async fn find_sign_in_identity(&mut self, issuer: &str, subject: &str) -> Result<Option<Uuid>> {
        let row = sqlx::query(
            "SELECT principal_id FROM sign_in_identities WHERE issuer = $1 AND subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(self.conn().await?)
        .await?;
        row.map(|r| parse_uuid(&r.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn delete_sign_in_identity(&mut self, principal: Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sign_in_identities WHERE principal_id = $1")
            .bind(principal.to_string())
            .execute(self.conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_alert(&mut self, row: &AlertRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO alerts (id, kind, status, dedupe_key, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(row.id.to_string())
        .bind(&row.kind)
        .bind(&row.status)
        .bind(&row.dedupe_key)
        .bind(to_json(&row.data))
        .bind(micros(row.created_at))
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_alert(&mut self, id: Uuid) -> Result<Option<AlertRow>> {
        sqlx::query(
            "SELECT id, kind, status, dedupe_key, data, created_at FROM alerts WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.conn().await?)
        .await?
        .as_ref()
        .map(alert_from_row)
        .transpose()
    }

    async fn list_alerts(&mut self, status: Option<&str>, page: Page) -> Result<Vec<AlertRow>> {
        let mut q = QueryBuilder::<Db>::new(
            "SELECT id, kind, status, dedupe_key, data, created_at FROM alerts",
        );
        if let Some(status) = status {
            q.push(" WHERE status = ").push_bind(status.to_string());
        }
        q.push(" ORDER BY created_at DESC, id");
        push_page(&mut q, page);
        let rows = q.build().fetch_all(self.conn().await?).await?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn update_alert(&mut self, row: &AlertRow) -> Result<bool> {
        let done =
            sqlx::query("UPDATE alerts SET status = $2, data = $3, dedupe_key = $4 WHERE id = $1")
                .bind(row.id.to_string())
                .bind(&row.status)
                .bind(to_json(&row.data))
                .bind(&row.dedupe_key)
                .execute(self.conn().await?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn schedules_ending_between(
        &mut self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<eligo_core::schedule::RoleSchedule>> {
        let rows = sqlx::query(
            "SELECT data, start_pending, end_pending FROM role_schedules \
             WHERE end_at > $1 AND end_at <= $2 ORDER BY end_at, id LIMIT $3",
        )
        .bind(micros(after))
        .bind(micros(until))
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        schedules_from_rows(rows)
    }

    async fn consume_link(&mut self, token_hash: &str, at: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO used_links (token_hash, used_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(token_hash)
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_duty(
        &mut self,
        duty: &str,
        now: DateTime<Utc>,
        every: chrono::TimeDelta,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO duty_runs (duty, last_run_at) VALUES ($1, $2) \
             ON CONFLICT (duty) DO UPDATE SET last_run_at = $2 \
             WHERE duty_runs.last_run_at <= $3 OR duty_runs.last_run_at > $2",
        )
        .bind(duty)
        .bind(micros(now))
        .bind(micros(now - every))
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn get_server_secret(&mut self, name: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(self.conn().await?)
            .await?;
        row.map(|r| self.open_bytes(&place::server_secret(name), &r.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn put_server_secret(&mut self, name: &str, value: &[u8], at: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(self.keys.seal(&place::server_secret(name), value))
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
