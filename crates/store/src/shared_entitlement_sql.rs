//! The SQL of every `EntitlementTx` method, compiled once per backend like `shared_sql.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::entitlement::assignment::Assignment;
use eligo_core::entitlement::catalog::Catalog;
use eligo_core::entitlement::extension::CustomExtension;
use eligo_core::entitlement::incompatible::Rules;
use eligo_core::entitlement::package::{AccessPackage, ResourceRoleScope};
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::request::AssignmentRequest;
use eligo_core::entitlement::resource::{
    NewResource, OriginSystem, Resource, ResourceRole, ResourceScope,
};
use serde::de::DeserializeOwned;
use sqlx::Row;
use uuid::Uuid;

use super::Db;
use super::shared::{SqlTx, conflict_on_unique, from_json, parse_uuid, to_json};
use crate::entitlement::{AssignmentQuery, AssignmentRequestQuery, EntitlementTx};
use crate::{Result, from_micros, micros};

type DbRow = <Db as sqlx::Database>::Row;

/// The records of rows whose first column is the JSON.
fn records<T: DeserializeOwned>(rows: Vec<DbRow>) -> Result<Vec<T>> {
    rows.iter()
        .map(|r| from_json(&r.try_get::<String, _>(0)?))
        .collect()
}

/// `SELECT data FROM table` with only the filters given (column = value), in `order`. Only
/// the filters present are in the SQL: a `($1 IS NULL OR col = $1)` filter keeps SQLite from
/// using the column's index, so a person's assignments would be found by reading everyone's.
fn filtered<const N: usize>(
    table: &str,
    filters: [(&str, Option<String>); N],
    order: &str,
) -> sqlx::QueryBuilder<Db> {
    let mut q = sqlx::QueryBuilder::new(format!("SELECT data FROM {table}"));
    let mut first = true;
    for (column, value) in filters {
        if let Some(v) = value {
            q.push(if first { " WHERE " } else { " AND " });
            q.push(column).push(" = ").push_bind(v);
            first = false;
        }
    }
    q.push(" ORDER BY ").push(order);
    q
}

fn record<T: DeserializeOwned>(row: Option<DbRow>) -> Result<Option<T>> {
    row.map(|r| from_json(&r.try_get::<String, _>(0)?))
        .transpose()
}

fn ids(rows: Vec<DbRow>) -> Result<Vec<Uuid>> {
    rows.iter()
        .map(|r| parse_uuid(&r.try_get::<String, _>(0)?))
        .collect()
}

impl SqlTx {
    async fn em_one<T: DeserializeOwned>(
        &mut self,
        sql: &'static str,
        id: Uuid,
    ) -> Result<Option<T>> {
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(self.conn().await?)
            .await?;
        record(row)
    }

    async fn em_all<T: DeserializeOwned>(&mut self, sql: &'static str, id: Uuid) -> Result<Vec<T>> {
        let rows = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_all(self.conn().await?)
            .await?;
        records(rows)
    }

    async fn em_ids(&mut self, sql: &'static str, id: Uuid) -> Result<Vec<Uuid>> {
        let rows = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_all(self.conn().await?)
            .await?;
        ids(rows)
    }

    async fn em_run(&mut self, sql: &'static str, a: Uuid, b: Option<Uuid>) -> Result<bool> {
        let mut q = sqlx::query(sql).bind(a.to_string());
        if let Some(b) = b {
            q = q.bind(b.to_string());
        }
        Ok(q.execute(self.conn().await?).await?.rows_affected() > 0)
    }
}

#[async_trait]
impl EntitlementTx for SqlTx {
    async fn insert_catalog(&mut self, c: &Catalog) -> Result<()> {
        sqlx::query("INSERT INTO em_catalogs (id, created_at, data) VALUES ($1, $2, $3)")
            .bind(c.id.to_string())
            .bind(micros(c.created_date_time))
            .bind(to_json(c))
            .execute(self.conn().await?)
            .await
            .map_err(conflict_on_unique("id"))?;
        Ok(())
    }

    async fn update_catalog(&mut self, c: &Catalog) -> Result<bool> {
        let done = sqlx::query("UPDATE em_catalogs SET data = $2 WHERE id = $1")
            .bind(c.id.to_string())
            .bind(to_json(c))
            .execute(self.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_catalog(&mut self, id: Uuid) -> Result<Option<Catalog>> {
        self.em_one("SELECT data FROM em_catalogs WHERE id = $1", id)
            .await
    }

    async fn list_catalogs(&mut self) -> Result<Vec<Catalog>> {
        let rows = sqlx::query("SELECT data FROM em_catalogs ORDER BY created_at, id")
            .fetch_all(self.conn().await?)
            .await?;
        records(rows)
    }

    async fn delete_catalog(&mut self, id: Uuid) -> Result<bool> {
        // Its resources go with it (their roles and scopes by cascade); its packages must be
        // gone already, or the database refuses.
        self.em_run("DELETE FROM em_resources WHERE catalog_id = $1", id, None)
            .await?;
        self.em_run("DELETE FROM em_catalogs WHERE id = $1", id, None)
            .await
    }

    async fn insert_resource(&mut self, new: &NewResource) -> Result<()> {
        let r = &new.resource;
        sqlx::query(
            "INSERT INTO em_resources (id, catalog_id, origin_system, origin_id, created_at, data) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.id.to_string())
        .bind(r.catalog_id.to_string())
        .bind(r.origin_system.as_str())
        .bind(&r.origin_id)
        .bind(micros(r.created_date_time))
        .bind(to_json(r))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("originId"))?;
        for (position, role) in new.roles.iter().enumerate() {
            sqlx::query(
                "INSERT INTO em_resource_roles (id, resource_id, catalog_id, position, data) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(role.id.to_string())
            .bind(r.id.to_string())
            .bind(r.catalog_id.to_string())
            .bind(position as i64)
            .bind(to_json(role))
            .execute(self.conn().await?)
            .await?;
        }
        sqlx::query("INSERT INTO em_resource_scopes (id, resource_id, data) VALUES ($1, $2, $3)")
            .bind(new.scope.id.to_string())
            .bind(r.id.to_string())
            .bind(to_json(&new.scope))
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    async fn get_resource(&mut self, id: Uuid) -> Result<Option<Resource>> {
        self.em_one("SELECT data FROM em_resources WHERE id = $1", id)
            .await
    }

    async fn find_resource(
        &mut self,
        catalog: Uuid,
        origin_system: OriginSystem,
        origin_id: &str,
    ) -> Result<Option<Resource>> {
        let row = sqlx::query(
            "SELECT data FROM em_resources \
             WHERE catalog_id = $1 AND origin_system = $2 AND origin_id = $3",
        )
        .bind(catalog.to_string())
        .bind(origin_system.as_str())
        .bind(origin_id)
        .fetch_optional(self.conn().await?)
        .await?;
        record(row)
    }

    async fn list_resources(&mut self, catalog: Uuid) -> Result<Vec<Resource>> {
        self.em_all(
            "SELECT data FROM em_resources WHERE catalog_id = $1 ORDER BY created_at, id",
            catalog,
        )
        .await
    }

    async fn delete_resource(&mut self, id: Uuid) -> Result<bool> {
        self.em_run("DELETE FROM em_resources WHERE id = $1", id, None)
            .await
    }

    async fn list_resource_roles(
        &mut self,
        catalog: Uuid,
        resource: Option<Uuid>,
    ) -> Result<Vec<ResourceRole>> {
        match resource {
            Some(resource) => {
                self.em_all(
                    "SELECT data FROM em_resource_roles WHERE resource_id = $1 ORDER BY position",
                    resource,
                )
                .await
            }
            None => {
                self.em_all(
                    "SELECT ro.data FROM em_resource_roles ro \
                     JOIN em_resources re ON re.id = ro.resource_id \
                     WHERE ro.catalog_id = $1 ORDER BY re.created_at, re.id, ro.position",
                    catalog,
                )
                .await
            }
        }
    }

    async fn get_resource_role(&mut self, id: Uuid) -> Result<Option<ResourceRole>> {
        self.em_one("SELECT data FROM em_resource_roles WHERE id = $1", id)
            .await
    }

    async fn list_resource_scopes(&mut self, resource: Uuid) -> Result<Vec<ResourceScope>> {
        self.em_all(
            "SELECT data FROM em_resource_scopes WHERE resource_id = $1 ORDER BY id",
            resource,
        )
        .await
    }

    async fn get_resource_scope(&mut self, id: Uuid) -> Result<Option<ResourceScope>> {
        self.em_one("SELECT data FROM em_resource_scopes WHERE id = $1", id)
            .await
    }

    async fn packages_using_resource(&mut self, resource: Uuid) -> Result<Vec<Uuid>> {
        self.em_ids(
            "SELECT DISTINCT rs.package_id FROM em_role_scopes rs \
             JOIN em_resource_roles ro ON ro.id = rs.role_id \
             WHERE ro.resource_id = $1 ORDER BY rs.package_id",
            resource,
        )
        .await
    }

    async fn insert_custom_extension(&mut self, e: &CustomExtension) -> Result<()> {
        sqlx::query(
            "INSERT INTO em_custom_extensions (id, catalog_id, created_at, data) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(e.id.to_string())
        .bind(e.catalog_id.to_string())
        .bind(micros(e.created_date_time))
        .bind(to_json(e))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("id"))?;
        Ok(())
    }

    async fn update_custom_extension(&mut self, e: &CustomExtension) -> Result<bool> {
        Ok(
            sqlx::query("UPDATE em_custom_extensions SET data = $2 WHERE id = $1")
                .bind(e.id.to_string())
                .bind(to_json(e))
                .execute(self.conn().await?)
                .await?
                .rows_affected()
                > 0,
        )
    }

    async fn get_custom_extension(&mut self, id: Uuid) -> Result<Option<CustomExtension>> {
        self.em_one("SELECT data FROM em_custom_extensions WHERE id = $1", id)
            .await
    }

    async fn list_custom_extensions(&mut self, catalog: Uuid) -> Result<Vec<CustomExtension>> {
        self.em_all(
            "SELECT data FROM em_custom_extensions WHERE catalog_id = $1 ORDER BY created_at, id",
            catalog,
        )
        .await
    }

    async fn delete_custom_extension(&mut self, id: Uuid) -> Result<bool> {
        self.em_run("DELETE FROM em_custom_extensions WHERE id = $1", id, None)
            .await
    }

    async fn catalog_origin_ids(&mut self, origin_system: OriginSystem) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT origin_id FROM em_resources WHERE origin_system = $1 \
             ORDER BY origin_id",
        )
        .bind(origin_system.as_str())
        .fetch_all(self.conn().await?)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<_, _>>()?)
    }

    async fn packages_using_origin(
        &mut self,
        origin_system: OriginSystem,
        origin_id: &str,
    ) -> Result<Vec<Uuid>> {
        let rows = sqlx::query(
            "SELECT DISTINCT rs.package_id FROM em_role_scopes rs \
             JOIN em_resource_roles ro ON ro.id = rs.role_id \
             JOIN em_resources r ON r.id = ro.resource_id \
             WHERE r.origin_system = $1 AND r.origin_id = $2 ORDER BY rs.package_id",
        )
        .bind(origin_system.as_str())
        .bind(origin_id)
        .fetch_all(self.conn().await?)
        .await?;
        ids(rows)
    }

    async fn delete_resources_of_origin(
        &mut self,
        origin_system: OriginSystem,
        origin_id: &str,
    ) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM em_resources WHERE origin_system = $1 AND origin_id = $2")
                .bind(origin_system.as_str())
                .bind(origin_id)
                .execute(self.conn().await?)
                .await?
                .rows_affected(),
        )
    }

    async fn insert_package(&mut self, p: &AccessPackage) -> Result<()> {
        sqlx::query(
            "INSERT INTO em_packages (id, catalog_id, created_at, data) VALUES ($1, $2, $3, $4)",
        )
        .bind(p.id.to_string())
        .bind(p.catalog_id.to_string())
        .bind(micros(p.created_date_time))
        .bind(to_json(p))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("id"))?;
        Ok(())
    }

    async fn update_package(&mut self, p: &AccessPackage) -> Result<bool> {
        let done = sqlx::query("UPDATE em_packages SET data = $2 WHERE id = $1")
            .bind(p.id.to_string())
            .bind(to_json(p))
            .execute(self.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_package(&mut self, id: Uuid) -> Result<Option<AccessPackage>> {
        self.em_one("SELECT data FROM em_packages WHERE id = $1", id)
            .await
    }

    async fn list_packages(&mut self, catalog: Option<Uuid>) -> Result<Vec<AccessPackage>> {
        match catalog {
            Some(c) => {
                self.em_all(
                    "SELECT data FROM em_packages WHERE catalog_id = $1 ORDER BY created_at, id",
                    c,
                )
                .await
            }
            None => {
                let rows = sqlx::query("SELECT data FROM em_packages ORDER BY created_at, id")
                    .fetch_all(self.conn().await?)
                    .await?;
                records(rows)
            }
        }
    }

    async fn delete_package(&mut self, id: Uuid) -> Result<bool> {
        // Spelled out rather than left to cascades, so both backends do the same in any order.
        for sql in [
            "DELETE FROM em_incompatible_packages WHERE package_id = $1 OR other_id = $1",
            "DELETE FROM em_incompatible_groups WHERE package_id = $1",
            "DELETE FROM em_policies WHERE package_id = $1",
            "DELETE FROM em_role_scopes WHERE package_id = $1",
        ] {
            self.em_run(sql, id, None).await?;
        }
        self.em_run("DELETE FROM em_packages WHERE id = $1", id, None)
            .await
    }

    async fn add_role_scope(&mut self, rs: &ResourceRoleScope) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO em_role_scopes (package_id, role_id, scope_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(rs.package_id.to_string())
        .bind(rs.role_id.to_string())
        .bind(rs.scope_id.to_string())
        .bind(micros(rs.created_date_time))
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_role_scope(&mut self, package: Uuid, role: Uuid, scope: Uuid) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM em_role_scopes WHERE package_id = $1 AND role_id = $2 AND scope_id = $3",
        )
        .bind(package.to_string())
        .bind(role.to_string())
        .bind(scope.to_string())
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_role_scopes(&mut self, package: Uuid) -> Result<Vec<ResourceRoleScope>> {
        let rows = sqlx::query(
            "SELECT role_id, scope_id, created_at FROM em_role_scopes WHERE package_id = $1 \
             ORDER BY created_at, role_id, scope_id",
        )
        .bind(package.to_string())
        .fetch_all(self.conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ResourceRoleScope {
                    package_id: package,
                    role_id: parse_uuid(&r.try_get::<String, _>(0)?)?,
                    scope_id: parse_uuid(&r.try_get::<String, _>(1)?)?,
                    created_date_time: from_micros(r.try_get(2)?),
                })
            })
            .collect()
    }

    async fn insert_assignment_policy(&mut self, p: &AssignmentPolicy) -> Result<()> {
        sqlx::query(
            "INSERT INTO em_policies (id, package_id, created_at, data) VALUES ($1, $2, $3, $4)",
        )
        .bind(p.id.to_string())
        .bind(p.access_package_id.to_string())
        .bind(micros(p.created_date_time))
        .bind(to_json(p))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("id"))?;
        Ok(())
    }

    async fn update_assignment_policy(&mut self, p: &AssignmentPolicy) -> Result<bool> {
        let done = sqlx::query("UPDATE em_policies SET data = $2 WHERE id = $1")
            .bind(p.id.to_string())
            .bind(to_json(p))
            .execute(self.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_assignment_policy(&mut self, id: Uuid) -> Result<Option<AssignmentPolicy>> {
        self.em_one("SELECT data FROM em_policies WHERE id = $1", id)
            .await
    }

    async fn list_assignment_policies(
        &mut self,
        package: Option<Uuid>,
    ) -> Result<Vec<AssignmentPolicy>> {
        match package {
            Some(p) => {
                self.em_all(
                    "SELECT data FROM em_policies WHERE package_id = $1 ORDER BY created_at, id",
                    p,
                )
                .await
            }
            None => {
                let rows = sqlx::query("SELECT data FROM em_policies ORDER BY created_at, id")
                    .fetch_all(self.conn().await?)
                    .await?;
                records(rows)
            }
        }
    }

    async fn delete_assignment_policy(&mut self, id: Uuid) -> Result<bool> {
        self.em_run("DELETE FROM em_policies WHERE id = $1", id, None)
            .await
    }

    async fn add_incompatible_package(
        &mut self,
        package: Uuid,
        other: Uuid,
        at: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO em_incompatible_packages (package_id, other_id, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(package.to_string())
        .bind(other.to_string())
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_incompatible_package(&mut self, package: Uuid, other: Uuid) -> Result<bool> {
        self.em_run(
            "DELETE FROM em_incompatible_packages WHERE package_id = $1 AND other_id = $2",
            package,
            Some(other),
        )
        .await
    }

    async fn incompatible_packages(&mut self, package: Uuid) -> Result<Vec<Uuid>> {
        self.em_ids(
            "SELECT other_id FROM em_incompatible_packages WHERE package_id = $1 \
             ORDER BY created_at, other_id",
            package,
        )
        .await
    }

    async fn packages_incompatible_with(&mut self, package: Uuid) -> Result<Vec<Uuid>> {
        self.em_ids(
            "SELECT package_id FROM em_incompatible_packages WHERE other_id = $1 \
             ORDER BY created_at, package_id",
            package,
        )
        .await
    }

    async fn add_incompatible_group(
        &mut self,
        package: Uuid,
        group: Uuid,
        at: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO em_incompatible_groups (package_id, group_id, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(package.to_string())
        .bind(group.to_string())
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_incompatible_group(&mut self, package: Uuid, group: Uuid) -> Result<bool> {
        self.em_run(
            "DELETE FROM em_incompatible_groups WHERE package_id = $1 AND group_id = $2",
            package,
            Some(group),
        )
        .await
    }

    async fn incompatible_groups(&mut self, package: Uuid) -> Result<Vec<Uuid>> {
        self.em_ids(
            "SELECT group_id FROM em_incompatible_groups WHERE package_id = $1 \
             ORDER BY created_at, group_id",
            package,
        )
        .await
    }

    async fn incompatibility_rules(&mut self) -> Result<Rules> {
        let pairs = |rows: Vec<DbRow>| -> Result<Vec<(Uuid, Uuid)>> {
            rows.iter()
                .map(|r| {
                    Ok((
                        parse_uuid(&r.try_get::<String, _>(0)?)?,
                        parse_uuid(&r.try_get::<String, _>(1)?)?,
                    ))
                })
                .collect()
        };
        let packages = sqlx::query(
            "SELECT package_id, other_id FROM em_incompatible_packages ORDER BY package_id, other_id",
        )
        .fetch_all(self.conn().await?)
        .await?;
        let groups = sqlx::query(
            "SELECT package_id, group_id FROM em_incompatible_groups ORDER BY package_id, group_id",
        )
        .fetch_all(self.conn().await?)
        .await?;
        Ok(Rules {
            packages: pairs(packages)?,
            groups: pairs(groups)?,
        })
    }

    async fn insert_assignment_request(&mut self, r: &AssignmentRequest) -> Result<()> {
        sqlx::query(
            "INSERT INTO em_assignment_requests (id, package_id, policy_id, target_id, \
             requestor_id, assignment_id, state, created_at, data, due_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(r.id.to_string())
        .bind(r.access_package_id.to_string())
        .bind(r.assignment_policy_id.map(|p| p.to_string()))
        .bind(r.target_id.to_string())
        .bind(r.requestor_id.to_string())
        .bind(r.assignment_id.map(|a| a.to_string()))
        .bind(r.state.as_str())
        .bind(micros(r.created_date_time))
        .bind(to_json(r))
        .bind(r.deadline().map(micros))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("id"))?;
        Ok(())
    }

    async fn update_assignment_request(&mut self, r: &AssignmentRequest) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE em_assignment_requests SET assignment_id = $2, state = $3, data = $4, \
             due_at = $5, \
             notice_at = CASE WHEN $3 = 'pendingApproval' THEN notice_at ELSE NULL END \
             WHERE id = $1",
        )
        .bind(r.id.to_string())
        .bind(r.assignment_id.map(|a| a.to_string()))
        .bind(r.state.as_str())
        .bind(to_json(r))
        .bind(r.deadline().map(micros))
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_assignment_request(&mut self, id: Uuid) -> Result<Option<AssignmentRequest>> {
        self.em_one("SELECT data FROM em_assignment_requests WHERE id = $1", id)
            .await
    }

    async fn list_assignment_requests(
        &mut self,
        q: &AssignmentRequestQuery,
    ) -> Result<Vec<AssignmentRequest>> {
        let rows = filtered(
            "em_assignment_requests",
            [
                ("target_id", q.target.map(|t| t.to_string())),
                ("requestor_id", q.requestor.map(|t| t.to_string())),
                ("package_id", q.package.map(|t| t.to_string())),
                ("state", q.state.map(|s| s.as_str().to_string())),
            ],
            "created_at DESC, id DESC",
        )
        .build()
        .fetch_all(self.conn().await?)
        .await?;
        records(rows)
    }

    async fn insert_assignment(&mut self, a: &Assignment) -> Result<()> {
        sqlx::query(
            "INSERT INTO em_assignments (id, package_id, policy_id, target_id, state, due_at, \
             created_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(a.id.to_string())
        .bind(a.access_package_id.to_string())
        .bind(a.assignment_policy_id.to_string())
        .bind(a.target_id.to_string())
        .bind(a.state.as_str())
        .bind(a.due_at().map(micros))
        .bind(micros(a.created_date_time))
        .bind(to_json(a))
        .execute(self.conn().await?)
        .await
        .map_err(conflict_on_unique("id"))?;
        Ok(())
    }

    async fn update_assignment(&mut self, a: &Assignment) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE em_assignments SET state = $2, due_at = $3, data = $4, \
             remind_at = CASE WHEN $2 = 'expired' THEN NULL ELSE remind_at END WHERE id = $1",
        )
        .bind(a.id.to_string())
        .bind(a.state.as_str())
        .bind(a.due_at().map(micros))
        .bind(to_json(a))
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_assignment(&mut self, id: Uuid) -> Result<Option<Assignment>> {
        self.em_one("SELECT data FROM em_assignments WHERE id = $1", id)
            .await
    }

    async fn list_assignments(&mut self, q: &AssignmentQuery) -> Result<Vec<Assignment>> {
        let rows = filtered(
            "em_assignments",
            [
                ("package_id", q.package.map(|t| t.to_string())),
                ("target_id", q.target.map(|t| t.to_string())),
                ("state", q.state.map(|s| s.as_str().to_string())),
            ],
            "created_at, id",
        )
        .build()
        .fetch_all(self.conn().await?)
        .await?;
        records(rows)
    }

    async fn due_assignment_requests(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AssignmentRequest>> {
        let rows = sqlx::query(
            "SELECT data FROM em_assignment_requests WHERE due_at IS NOT NULL AND due_at <= $1 \
             ORDER BY due_at, id LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        records(rows)
    }

    async fn due_assignments(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Assignment>> {
        let rows = sqlx::query(
            "SELECT data FROM em_assignments WHERE due_at IS NOT NULL AND due_at <= $1 \
             ORDER BY due_at, id LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        records(rows)
    }

    async fn set_assignment_reminder(
        &mut self,
        id: Uuid,
        at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let done = sqlx::query("UPDATE em_assignments SET remind_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(at.map(micros))
            .execute(self.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn due_assignment_reminders(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Assignment, DateTime<Utc>)>> {
        let rows = sqlx::query(
            "SELECT data, remind_at FROM em_assignments \
             WHERE remind_at IS NOT NULL AND remind_at <= $1 ORDER BY remind_at, id LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                let a: Assignment = from_json(&r.try_get::<String, _>(0)?)?;
                Ok((a, from_micros(r.try_get::<i64, _>(1)?)))
            })
            .collect()
    }

    async fn set_request_notice(&mut self, id: Uuid, at: Option<DateTime<Utc>>) -> Result<bool> {
        let done = sqlx::query("UPDATE em_assignment_requests SET notice_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(at.map(micros))
            .execute(self.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn due_request_notices(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AssignmentRequest>> {
        let rows = sqlx::query(
            "SELECT data FROM em_assignment_requests \
             WHERE notice_at IS NOT NULL AND notice_at <= $1 ORDER BY notice_at, id LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?;
        records(rows)
    }
}
