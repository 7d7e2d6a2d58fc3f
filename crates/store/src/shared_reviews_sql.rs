//! The SQL of every `ReviewTx` method, compiled once per backend like `shared_sql.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::review::{DecisionItem, Definition, Instance};
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use super::Db;
use super::shared::{SqlTx, conflict_on_unique, from_json, parse_uuid, to_json};
use crate::reviews::ReviewTx;
use crate::{Result, micros};

/// Rows per multi-row INSERT (well under both backends' bind-parameter limits).
const CHUNK: usize = 400;

fn rows_of<T: serde::de::DeserializeOwned>(
    rows: Vec<<Db as sqlx::Database>::Row>,
) -> Result<Vec<T>> {
    rows.iter()
        .map(|r| from_json(&r.try_get::<String, _>(0)?))
        .collect()
}

#[async_trait]
impl ReviewTx for SqlTx {
    async fn insert_review_definition(&mut self, d: &Definition) -> Result<()> {
        sqlx::query(
            "INSERT INTO review_definitions (id, created_at, next_start_at, data) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(d.id.to_string())
        .bind(micros(d.created_date_time))
        .bind(d.next_start.map(micros))
        .bind(to_json(d))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("access review definition"))?;
        Ok(())
    }

    async fn update_review_definition(&mut self, d: &Definition) -> Result<bool> {
        Ok(
            sqlx::query(
                "UPDATE review_definitions SET next_start_at = $2, data = $3 WHERE id = $1",
            )
            .bind(d.id.to_string())
            .bind(d.next_start.map(micros))
            .bind(to_json(d))
            .execute(self.conn().await?)
            .await?
            .rows_affected()
                > 0,
        )
    }

    async fn delete_review_definition(&mut self, id: Uuid) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM review_definitions WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn().await?)
            .await?
            .rows_affected()
            > 0)
    }

    async fn get_review_definition(&mut self, id: Uuid) -> Result<Option<Definition>> {
        let row = sqlx::query("SELECT data FROM review_definitions WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn().await?)
            .await?;
        row.map(|r| from_json(&r.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn list_review_definitions(&mut self) -> Result<Vec<Definition>> {
        let rows = sqlx::query("SELECT data FROM review_definitions ORDER BY created_at, id")
            .fetch_all(self.conn().await?)
            .await?;
        rows_of(rows)
    }

    async fn due_review_definitions(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Definition>> {
        let rows = sqlx::query(
            "SELECT data FROM review_definitions \
             WHERE next_start_at IS NOT NULL AND next_start_at <= $1 \
             ORDER BY next_start_at, id LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        rows_of(rows)
    }

    async fn insert_review_instance(&mut self, i: &Instance) -> Result<()> {
        sqlx::query(
            "INSERT INTO review_instances (id, definition_id, start_at, due_at, data) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(i.id.to_string())
        .bind(i.definition_id.to_string())
        .bind(micros(i.start_date_time))
        .bind(i.due_at().map(micros))
        .bind(to_json(i))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("access review instance"))?;
        Ok(())
    }

    async fn update_review_instance(&mut self, i: &Instance) -> Result<()> {
        sqlx::query("UPDATE review_instances SET due_at = $2, data = $3 WHERE id = $1")
            .bind(i.id.to_string())
            .bind(i.due_at().map(micros))
            .bind(to_json(i))
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    async fn get_review_instance(&mut self, id: Uuid) -> Result<Option<Instance>> {
        let row = sqlx::query("SELECT data FROM review_instances WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn().await?)
            .await?;
        row.map(|r| from_json(&r.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn list_review_instances(&mut self, definition_id: Uuid) -> Result<Vec<Instance>> {
        let rows = sqlx::query(
            "SELECT data FROM review_instances WHERE definition_id = $1 ORDER BY start_at, id",
        )
        .bind(definition_id.to_string())
        .fetch_all(self.conn().await?)
        .await?;
        rows_of(rows)
    }

    async fn due_review_instances(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Instance>> {
        let rows = sqlx::query(
            "SELECT data FROM review_instances \
             WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        rows_of(rows)
    }

    async fn insert_review_decisions(&mut self, items: &[DecisionItem]) -> Result<()> {
        for chunk in items.chunks(CHUNK) {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO review_decisions (id, instance_id, stage, principal_id, data) ",
            );
            q.push_values(chunk, |mut b, d| {
                b.push_bind(d.id.to_string())
                    .push_bind(d.instance_id.to_string())
                    .push_bind(d.stage as i64)
                    .push_bind(d.principal.id.to_string())
                    .push_bind(to_json(d));
            });
            q.build()
                .execute(self.conn().await?)
                .await
                .map_err(conflict_on_unique("access review decision"))?;
        }
        let pairs: Vec<(&DecisionItem, Uuid)> = items
            .iter()
            .flat_map(|d| d.reviewers.iter().map(move |r| (d, *r)))
            .collect();
        for chunk in pairs.chunks(CHUNK) {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO review_decision_reviewers (reviewer_id, decision_id, instance_id) ",
            );
            q.push_values(chunk, |mut b, (d, r)| {
                b.push_bind(r.to_string())
                    .push_bind(d.id.to_string())
                    .push_bind(d.instance_id.to_string());
            });
            q.build().execute(self.conn().await?).await?;
        }
        Ok(())
    }

    async fn update_review_decisions(&mut self, items: &[DecisionItem]) -> Result<()> {
        for d in items {
            sqlx::query("UPDATE review_decisions SET data = $2 WHERE id = $1")
                .bind(d.id.to_string())
                .bind(to_json(d))
                .execute(self.conn().await?)
                .await?;
        }
        Ok(())
    }

    async fn get_review_decision(&mut self, id: Uuid) -> Result<Option<DecisionItem>> {
        let row = sqlx::query("SELECT data FROM review_decisions WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn().await?)
            .await?;
        row.map(|r| from_json(&r.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn list_review_decisions(
        &mut self,
        instance_id: Uuid,
        stage: Option<usize>,
    ) -> Result<Vec<DecisionItem>> {
        let rows = match stage {
            Some(stage) => {
                sqlx::query(
                    "SELECT data FROM review_decisions WHERE instance_id = $1 AND stage = $2 \
                     ORDER BY principal_id, id",
                )
                .bind(instance_id.to_string())
                .bind(stage as i64)
                .fetch_all(self.conn().await?)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT data FROM review_decisions WHERE instance_id = $1 \
                     ORDER BY stage, principal_id, id",
                )
                .bind(instance_id.to_string())
                .fetch_all(self.conn().await?)
                .await?
            }
        };
        rows_of(rows)
    }

    async fn review_decisions_of_reviewer(
        &mut self,
        reviewer: Uuid,
        instance_id: Option<Uuid>,
    ) -> Result<Vec<DecisionItem>> {
        let rows = match instance_id {
            Some(instance) => {
                sqlx::query(
                    "SELECT d.data FROM review_decision_reviewers r \
                     JOIN review_decisions d ON d.id = r.decision_id \
                     WHERE r.reviewer_id = $1 AND r.instance_id = $2 \
                     ORDER BY d.stage, d.principal_id, d.id",
                )
                .bind(reviewer.to_string())
                .bind(instance.to_string())
                .fetch_all(self.conn().await?)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT d.data FROM review_decision_reviewers r \
                     JOIN review_decisions d ON d.id = r.decision_id \
                     WHERE r.reviewer_id = $1 ORDER BY r.instance_id, d.stage, d.principal_id, d.id",
                )
                .bind(reviewer.to_string())
                .fetch_all(self.conn().await?)
                .await?
            }
        };
        rows_of(rows)
    }

    async fn review_instances_of_reviewer(&mut self, reviewer: Uuid) -> Result<Vec<Uuid>> {
        let rows = sqlx::query(
            "SELECT DISTINCT instance_id FROM review_decision_reviewers WHERE reviewer_id = $1",
        )
        .bind(reviewer.to_string())
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| parse_uuid(&r.try_get::<String, _>(0)?))
            .collect()
    }
}
