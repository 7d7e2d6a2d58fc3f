//! The SQL of every `HistoryTx` method, compiled once per backend like `shared_sql.rs`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::target::{GroupAccess, Target, group_scope};
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use super::Db;
use super::shared::{SqlTx, parse_uuid};
use crate::history::{Activation, HistoryTx, LastActivation, SignInActivity, SignInKind};
use crate::{Result, StoreError, from_micros, micros};

type DbRow = <Db as sqlx::Database>::Row;

/// The columns a target is stored in: kind, target id, access id, scope, group.
fn target_columns(target: &Target) -> (&'static str, String, &'static str, String, Option<String>) {
    match target {
        Target::Role { role, scope } => ("role", role.to_string(), "", scope.clone(), None),
        Target::Group { group, access } => (
            "group",
            group.to_string(),
            access.as_str(),
            group_scope(*group),
            Some(group.to_string()),
        ),
    }
}

fn target_from(kind: &str, id: &str, access: &str, scope: String) -> Result<Target> {
    let id = parse_uuid(id)?;
    match kind {
        "role" => Ok(Target::Role { role: id, scope }),
        "group" => Ok(Target::Group {
            group: id,
            access: GroupAccess::parse(access)
                .ok_or_else(|| StoreError::Corrupt(format!("activation access {access}")))?,
        }),
        other => Err(StoreError::Corrupt(format!(
            "activation target kind {other}"
        ))),
    }
}

fn activity_from(r: &DbRow, first: usize) -> Result<SignInActivity> {
    Ok(SignInActivity {
        last_interactive: r.try_get::<Option<i64>, _>(first)?.map(from_micros),
        last_non_interactive: r.try_get::<Option<i64>, _>(first + 1)?.map(from_micros),
    })
}

/// Keeps the newer of the stored time and the given one (a NULL given keeps the stored one).
const NEWER_INTERACTIVE: &str = "last_interactive_at = CASE \
     WHEN sign_in_activity.last_interactive_at IS NULL \
       OR excluded.last_interactive_at > sign_in_activity.last_interactive_at \
     THEN COALESCE(excluded.last_interactive_at, sign_in_activity.last_interactive_at) \
     ELSE sign_in_activity.last_interactive_at END";
const NEWER_NON_INTERACTIVE: &str = "last_non_interactive_at = CASE \
     WHEN sign_in_activity.last_non_interactive_at IS NULL \
       OR excluded.last_non_interactive_at > sign_in_activity.last_non_interactive_at \
     THEN COALESCE(excluded.last_non_interactive_at, sign_in_activity.last_non_interactive_at) \
     ELSE sign_in_activity.last_non_interactive_at END";

#[async_trait]
impl HistoryTx for SqlTx {
    async fn record_sign_in(
        &mut self,
        principal: Uuid,
        kind: SignInKind,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let (interactive, non_interactive) = match kind {
            SignInKind::Interactive => (Some(micros(at)), None),
            SignInKind::NonInteractive => (None, Some(micros(at))),
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO sign_in_activity (principal_id, last_interactive_at, \
             last_non_interactive_at) VALUES ($1, $2, $3) \
             ON CONFLICT (principal_id) DO UPDATE SET {NEWER_INTERACTIVE}, {NEWER_NON_INTERACTIVE}"
        )))
        .bind(principal.to_string())
        .bind(interactive)
        .bind(non_interactive)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    async fn sign_in_activity(&mut self, principal: Uuid) -> Result<Option<SignInActivity>> {
        let row = sqlx::query(
            "SELECT last_interactive_at, last_non_interactive_at FROM sign_in_activity \
             WHERE principal_id = $1",
        )
        .bind(principal.to_string())
        .fetch_optional(self.conn().await?)
        .await?;
        row.map(|r| activity_from(&r, 0)).transpose()
    }

    async fn sign_in_activity_of(
        &mut self,
        principals: &[Uuid],
    ) -> Result<HashMap<Uuid, SignInActivity>> {
        let mut found = HashMap::new();
        for chunk in principals.chunks(500) {
            let mut q = QueryBuilder::<Db>::new(
                "SELECT principal_id, last_interactive_at, last_non_interactive_at \
                 FROM sign_in_activity WHERE principal_id IN (",
            );
            let mut ids = q.separated(", ");
            for id in chunk {
                ids.push_bind(id.to_string());
            }
            q.push(")");
            for r in q.build().fetch_all(self.conn().await?).await? {
                found.insert(
                    parse_uuid(&r.try_get::<String, _>(0)?)?,
                    activity_from(&r, 1)?,
                );
            }
        }
        Ok(found)
    }

    async fn all_sign_in_activity(&mut self) -> Result<Vec<(Uuid, SignInActivity)>> {
        let rows = sqlx::query(
            "SELECT principal_id, last_interactive_at, last_non_interactive_at \
             FROM sign_in_activity ORDER BY principal_id",
        )
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    parse_uuid(&r.try_get::<String, _>(0)?)?,
                    activity_from(r, 1)?,
                ))
            })
            .collect()
    }

    async fn record_activation(&mut self, activation: &Activation) -> Result<()> {
        let (kind, target_id, access, scope, group) = target_columns(&activation.target);
        // Deferred: sent with the transaction's next statement (see `deferred_sql`).
        self.defer(8, activation.principal_id, None, |q| {
            q.push(
                "INSERT INTO activation_history (principal_id, target_kind, target_id, \
                 access_id, directory_scope_id, group_id, schedule_id, activated_at) VALUES (",
            );
            let mut values = q.separated(", ");
            values
                .push_bind(activation.principal_id.to_string())
                .push_bind(kind)
                .push_bind(target_id)
                .push_bind(access)
                .push_bind(scope)
                .push_bind(group)
                .push_bind(activation.schedule_id.to_string())
                .push_bind(micros(activation.activated_at));
            values.push_unseparated(")");
        })
        .await
    }

    async fn last_activation(
        &mut self,
        principal: Uuid,
        target: &Target,
    ) -> Result<Option<Activation>> {
        let (_, target_id, access, scope, _) = target_columns(target);
        let row = sqlx::query(
            "SELECT schedule_id, activated_at FROM activation_history \
             WHERE principal_id = $1 AND target_id = $2 AND access_id = $3 \
             AND directory_scope_id = $4 ORDER BY activated_at DESC LIMIT 1",
        )
        .bind(principal.to_string())
        .bind(target_id)
        .bind(access)
        .bind(scope)
        .fetch_optional(self.conn().await?)
        .await?;
        row.map(|r| {
            Ok(Activation {
                principal_id: principal,
                target: target.clone(),
                schedule_id: parse_uuid(&r.try_get::<String, _>(0)?)?,
                activated_at: from_micros(r.try_get(1)?),
            })
        })
        .transpose()
    }

    async fn count_activations(
        &mut self,
        principal: Uuid,
        target: &Target,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64> {
        let (_, target_id, access, scope, _) = target_columns(target);
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM activation_history \
             WHERE principal_id = $1 AND target_id = $2 AND access_id = $3 \
             AND directory_scope_id = $4 AND activated_at >= $5 AND activated_at < $6",
        )
        .bind(principal.to_string())
        .bind(target_id)
        .bind(access)
        .bind(scope)
        .bind(micros(from))
        .bind(micros(to))
        .fetch_one(self.conn().await?)
        .await?;
        Ok(count)
    }

    async fn last_activations(&mut self) -> Result<Vec<LastActivation>> {
        let rows = sqlx::query(
            "SELECT principal_id, target_id, access_id, directory_scope_id, \
             MAX(target_kind), MAX(activated_at), COUNT(*) FROM activation_history \
             GROUP BY principal_id, target_id, access_id, directory_scope_id \
             ORDER BY principal_id, target_id, access_id, directory_scope_id",
        )
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(4)?;
                Ok(LastActivation {
                    principal_id: parse_uuid(&r.try_get::<String, _>(0)?)?,
                    target: target_from(
                        &kind,
                        &r.try_get::<String, _>(1)?,
                        &r.try_get::<String, _>(2)?,
                        r.try_get(3)?,
                    )?,
                    activated_at: from_micros(r.try_get(5)?),
                    count: r.try_get(6)?,
                })
            })
            .collect()
    }

    async fn activations_between(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Activation>> {
        let rows = sqlx::query(
            "SELECT principal_id, target_kind, target_id, access_id, directory_scope_id, \
             schedule_id, activated_at FROM activation_history \
             WHERE activated_at >= $1 AND activated_at < $2 \
             ORDER BY principal_id, target_id, access_id, directory_scope_id, activated_at",
        )
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Activation {
                    principal_id: parse_uuid(&r.try_get::<String, _>(0)?)?,
                    target: target_from(
                        &r.try_get::<String, _>(1)?,
                        &r.try_get::<String, _>(2)?,
                        &r.try_get::<String, _>(3)?,
                        r.try_get(4)?,
                    )?,
                    schedule_id: parse_uuid(&r.try_get::<String, _>(5)?)?,
                    activated_at: from_micros(r.try_get(6)?),
                })
            })
            .collect()
    }
}
