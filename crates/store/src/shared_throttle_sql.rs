//! Sign-in throttle counts (`Store::throttle_*`), compiled once per backend like
//! `shared_sql.rs`: single statements on a pool, each its own transaction.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{Pool, QueryBuilder, Row};

use super::Db;
use crate::{Result, from_micros, micros};

pub async fn counts(
    pool: &Pool<Db>,
    keys: &[String],
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64, DateTime<Utc>)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new(
        "SELECT key, failures, window_start FROM throttle WHERE window_start > ",
    );
    q.push_bind(micros(since)).push(" AND key IN (");
    let mut list = q.separated(", ");
    for key in keys {
        list.push_bind(key.clone());
    }
    q.push(")");
    let rows = q.build().fetch_all(pool).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, from_micros(r.try_get(2)?))))
        .collect()
}

pub async fn failure(
    pool: &Pool<Db>,
    keys: &[String],
    now: DateTime<Utc>,
    window: TimeDelta,
) -> Result<()> {
    // One statement per key, in a fixed order: nothing to deadlock on between servers.
    let mut keys = keys.to_vec();
    keys.sort();
    keys.dedup();
    for key in keys {
        sqlx::query(
            "INSERT INTO throttle (key, failures, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN throttle.window_start <= $3 THEN 1 \
             ELSE throttle.failures + 1 END, \
             window_start = CASE WHEN throttle.window_start <= $3 THEN $2 \
             ELSE throttle.window_start END",
        )
        .bind(key)
        .bind(micros(now))
        .bind(micros(now - window))
        .execute(pool)
        .await?;
    }
    Ok(())
}

pub async fn clear(pool: &Pool<Db>, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM throttle WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn prune(pool: &Pool<Db>, before: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query("DELETE FROM throttle WHERE window_start < $1")
        .bind(micros(before))
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
