//! Pending OpenID Connect sign-ins (`Store::oidc_pending_*`), compiled once per backend like
//! `shared_throttle_sql.rs`: single statements on a pool.

use chrono::{DateTime, Utc};
use sqlx::{Pool, Row};

use super::Db;
use crate::{Result, from_micros, micros};

pub async fn put(
    pool: &Pool<Db>,
    state_hash: &str,
    expires_at: DateTime<Utc>,
    data: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("DELETE FROM oidc_pending WHERE expires_at < $1")
        .bind(micros(now))
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO oidc_pending (state_hash, expires_at, data) VALUES ($1, $2, $3)")
        .bind(state_hash)
        .bind(micros(expires_at))
        .bind(data.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn take(
    pool: &Pool<Db>,
    state_hash: &str,
) -> Result<Option<(DateTime<Utc>, serde_json::Value)>> {
    let row =
        sqlx::query("DELETE FROM oidc_pending WHERE state_hash = $1 RETURNING expires_at, data")
            .bind(state_hash)
            .fetch_optional(pool)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let data: String = row.try_get(1)?;
    let data =
        serde_json::from_str(&data).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
    Ok(Some((from_micros(row.try_get(0)?), data)))
}
