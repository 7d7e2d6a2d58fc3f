//! Sealing the stored secrets when the store opens (see `seal`), compiled once per backend like
//! `shared_sql.rs`. One pass finds every secret not yet sealed under the primary key — plaintext
//! from before secrets were sealed, or sealed under an earlier key during a rotation — and seals
//! it again, in the opening transaction; a key that does not open the database is refused
//! before anything is written.

use sqlx::Row;

use super::Db;
use super::shared::SqlTx;
use crate::seal::{self, place};
use crate::{Result, StoreError};

/// The server secret that proves a key is the database's: a known text sealed under it.
const KEY_CHECK: &str = "master-key-check";
const KEY_CHECK_TEXT: &[u8] = b"eligo master key check";

/// The id of the key the database's secrets are sealed under, or None when it holds no sealed
/// secret yet (a new database, or one from before secrets were sealed).
pub(super) async fn sealed_with(pool: &sqlx::Pool<Db>) -> Result<Option<String>> {
    let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
        .bind(KEY_CHECK)
        .fetch_optional(pool)
        .await?;
    Ok(row
        .map(|r| r.try_get::<String, _>(0))
        .transpose()?
        .and_then(|v| seal::sealed_with(&v).map(str::to_string)))
}

impl SqlTx {
    /// Seals every stored secret under the primary key; how many values were sealed again.
    pub(super) async fn reseal(&mut self) -> Result<u64> {
        self.check_key().await?;
        let current = format!("{}%", seal::current_prefix(&self.keys));
        let mut count = 0;

        let rows =
            sqlx::query("SELECT principal_id, kind, data FROM credentials WHERE data NOT LIKE $1")
                .bind(&current)
                .fetch_all(self.conn().await?)
                .await?;
        for r in rows {
            let (principal, kind, stored): (String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let id = super::shared::parse_uuid(&principal)?;
            let place = place::credential(id, &kind);
            let plain = self.plain_json(&place, stored)?;
            sqlx::query("UPDATE credentials SET data = $3 WHERE principal_id = $1 AND kind = $2")
                .bind(&principal)
                .bind(&kind)
                .bind(self.keys.seal(&place, &plain))
                .execute(self.conn().await?)
                .await?;
            count += 1;
        }

        for (table, column, place_of) in [
            (
                "connectors",
                "settings",
                place::connector as fn(uuid::Uuid) -> String,
            ),
            ("subscriptions", "data", place::subscription),
        ] {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, {column} FROM {table} WHERE {column} NOT LIKE $1"
            )))
            .bind(&current)
            .fetch_all(self.conn().await?)
            .await?;
            for r in rows {
                let (id, stored): (String, String) = (r.try_get(0)?, r.try_get(1)?);
                let place = place_of(super::shared::parse_uuid(&id)?);
                let plain = self.plain_json(&place, stored)?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET {column} = $2 WHERE id = $1"
                )))
                .bind(&id)
                .bind(self.keys.seal(&place, &plain))
                .execute(self.conn().await?)
                .await?;
                count += 1;
            }
        }

        let rows = sqlx::query("SELECT name, value FROM server_secrets WHERE value NOT LIKE $1")
            .bind(&current)
            .fetch_all(self.conn().await?)
            .await?;
        for r in rows {
            let (name, stored): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let place = place::server_secret(&name);
            // Before sealing, server secrets were stored as hex.
            let plain = match seal::sealed_with(&stored) {
                Some(_) => self.open_bytes(&place, &stored)?,
                None => hex::decode(stored.trim())
                    .map_err(|e| StoreError::Corrupt(format!("{place}: {e}")))?,
            };
            sqlx::query("UPDATE server_secrets SET value = $2 WHERE name = $1")
                .bind(&name)
                .bind(self.keys.seal(&place, &plain))
                .execute(self.conn().await?)
                .await?;
            count += 1;
        }

        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, 0) \
             ON CONFLICT DO NOTHING",
        )
        .bind(KEY_CHECK)
        .bind(
            self.keys
                .seal(&place::server_secret(KEY_CHECK), KEY_CHECK_TEXT),
        )
        .execute(self.conn().await?)
        .await?;
        Ok(count)
    }

    /// Refuses a ring none of whose keys opens the key check (when there is one).
    async fn check_key(&mut self) -> Result<()> {
        let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
            .bind(KEY_CHECK)
            .fetch_optional(self.conn().await?)
            .await?;
        let Some(stored) = row.map(|r| r.try_get::<String, _>(0)).transpose()? else {
            return Ok(());
        };
        match self.keys.open(&place::server_secret(KEY_CHECK), &stored) {
            Ok(text) if text == KEY_CHECK_TEXT => Ok(()),
            Ok(_) => Err(StoreError::Corrupt(format!(
                "{KEY_CHECK} holds another text"
            ))),
            Err(seal::SealError::UnknownKey(id)) => Err(StoreError::MasterKey(format!(
                "this database's secrets are sealed under master key {id}, but the key given is {}",
                self.keys.primary_id()
            ))),
            Err(e) => Err(StoreError::MasterKey(format!(
                "the database's key check does not open with master key {}: {e}",
                self.keys.primary_id()
            ))),
        }
    }

    /// The JSON text of a credential, connector or subscription as stored: opened when sealed
    /// (under an earlier key), checked to be JSON when still plaintext.
    fn plain_json(&self, place: &str, stored: String) -> Result<Vec<u8>> {
        if seal::sealed_with(&stored).is_some() {
            return self.open_bytes(place, &stored);
        }
        serde_json::from_str::<serde_json::Value>(&stored)
            .map_err(|e| StoreError::Corrupt(format!("{place}: {e}")))?;
        Ok(stored.into_bytes())
    }
}
