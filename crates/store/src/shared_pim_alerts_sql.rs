//! The SQL of every `PimAlertTx` method, compiled once per backend like `shared_sql.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::pim_alerts::{AlertKind, Configuration, Incident};
use sqlx::Row;
use uuid::Uuid;

use super::Db;
use super::shared::{SqlTx, conflict_on_unique, from_json, parse_uuid, to_json};
use crate::pim_alerts::{AlertScanTimes, PimAlertTx};
use crate::{Result, StoreError, from_micros, micros};

type DbRow = <Db as sqlx::Database>::Row;

macro_rules! incidents {
    ($where:literal) => {
        concat!(
            "SELECT id, definition, cause_key, raised_at, resolved_at, data \
             FROM pim_alert_incidents WHERE ",
            $where
        )
    };
}

fn kind_of(name: &str) -> Result<AlertKind> {
    AlertKind::from_name(name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown alert definition {name}")))
}

fn incident(row: &DbRow) -> Result<Incident> {
    Ok(Incident {
        id: parse_uuid(&row.try_get::<String, _>(0)?)?,
        kind: kind_of(&row.try_get::<String, _>(1)?)?,
        cause_key: row.try_get(2)?,
        raised_at: from_micros(row.try_get(3)?),
        resolved_at: row.try_get::<Option<i64>, _>(4)?.map(from_micros),
        data: from_json(&row.try_get::<String, _>(5)?)?,
    })
}

#[async_trait]
impl PimAlertTx for SqlTx {
    async fn get_alert_configuration(&mut self, kind: AlertKind) -> Result<Option<Configuration>> {
        let row = sqlx::query("SELECT data FROM pim_alert_configurations WHERE definition = $1")
            .bind(kind.name())
            .fetch_optional(self.conn().await?)
            .await?;
        row.map(|r| from_json(&r.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn put_alert_configuration(
        &mut self,
        kind: AlertKind,
        config: &Configuration,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO pim_alert_configurations (definition, modified_at, data) \
             VALUES ($1, $2, $3) \
             ON CONFLICT (definition) DO UPDATE SET modified_at = $2, data = $3",
        )
        .bind(kind.name())
        .bind(micros(at))
        .bind(to_json(config))
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    async fn insert_alert_incident(&mut self, i: &Incident) -> Result<()> {
        sqlx::query(
            "INSERT INTO pim_alert_incidents \
             (id, definition, cause_key, raised_at, resolved_at, data) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(i.id.to_string())
        .bind(i.kind.name())
        .bind(&i.cause_key)
        .bind(micros(i.raised_at))
        .bind(i.resolved_at.map(micros))
        .bind(to_json(&i.data))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("alert incident"))?;
        Ok(())
    }

    async fn resolve_alert_incident(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE pim_alert_incidents SET resolved_at = $2 \
             WHERE id = $1 AND resolved_at IS NULL",
        )
        .bind(id.to_string())
        .bind(micros(at))
        .execute(self.conn().await?)
        .await?
        .rows_affected()
            > 0)
    }

    async fn get_alert_incident(&mut self, id: Uuid) -> Result<Option<Incident>> {
        let row = sqlx::query(incidents!("id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.conn().await?)
            .await?;
        row.as_ref().map(incident).transpose()
    }

    async fn list_alert_incidents(
        &mut self,
        kind: AlertKind,
        open_only: bool,
    ) -> Result<Vec<Incident>> {
        let sql = if open_only {
            incidents!("definition = $1 AND resolved_at IS NULL ORDER BY raised_at, id")
        } else {
            incidents!("definition = $1 ORDER BY raised_at, id")
        };
        let rows = sqlx::query(sql)
            .bind(kind.name())
            .fetch_all(self.conn().await?)
            .await?;
        rows.iter().map(incident).collect()
    }

    async fn touch_alert(
        &mut self,
        kind: AlertKind,
        scanned: Option<DateTime<Utc>>,
        modified: Option<DateTime<Utc>>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO pim_alert_scans (definition, last_scanned_at, last_modified_at) \
             VALUES ($1, $2, $3) \
             ON CONFLICT (definition) DO UPDATE SET \
             last_scanned_at = COALESCE($2, pim_alert_scans.last_scanned_at), \
             last_modified_at = COALESCE($3, pim_alert_scans.last_modified_at)",
        )
        .bind(kind.name())
        .bind(scanned.map(micros))
        .bind(modified.map(micros))
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    async fn list_alert_times(&mut self) -> Result<Vec<AlertScanTimes>> {
        let rows = sqlx::query(
            "SELECT definition, last_scanned_at, last_modified_at FROM pim_alert_scans \
             ORDER BY definition",
        )
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AlertScanTimes {
                    kind: kind_of(&r.try_get::<String, _>(0)?)?,
                    last_scanned: r.try_get::<Option<i64>, _>(1)?.map(from_micros),
                    last_modified: r.try_get::<Option<i64>, _>(2)?.map(from_micros),
                })
            })
            .collect()
    }
}
