//! Access packages: create, change and delete them; add and remove their resource roles; and
//! declare which packages and groups they are incompatible with (separation of duties).

use eligo_core::entitlement::incompatible::check_pair;
use eligo_core::entitlement::package::{AccessPackage, ResourceRoleScope, catalog_of};
use eligo_core::entitlement::resource::{OriginSystem, Resource, ResourceRole, ResourceScope};
use eligo_store::Tx;
use serde_json::Value;
use uuid::Uuid;

use super::{event, invalid, may_manage};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

const KIND: &str = "AccessPackage";

pub async fn create(app: &App, caller: &Caller, body: Value) -> UseCaseResult<AccessPackage> {
    let activity = "Create access package";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let id = Uuid::new_v4();
        let now = app.clock.now();
        let catalog = catalog_of(&body);
        let package = AccessPackage::create(id, catalog.clone().unwrap_or_default(), &body, now);
        let mut problems = package.as_ref().err().cloned().unwrap_or_default();
        let mut tx = app.store.write().await?;
        match &catalog {
            Ok(c) if tx.get_catalog(*c).await?.is_none() => {
                problems.push(eligo_core::invalid::Invalid::new(
                    "UnknownCatalog",
                    "catalog.id",
                    "no catalog has this id",
                ))
            }
            Ok(_) => {}
            Err(e) => problems.insert(0, e.clone()),
        }
        let package = match package {
            Ok(p) if problems.is_empty() => p,
            _ => return Err(invalid("InvalidAccessPackage", "access package", problems)),
        };
        tx.insert_package(&package).await?;
        tx.append_audit(event(app, caller, activity).target(
            package.id,
            KIND,
            Some(&package.display_name),
        ))
        .await?;
        tx.commit().await?;
        Ok(package)
    })
    .await
}

pub async fn update(
    app: &App,
    caller: &Caller,
    id: UseCaseResult<Uuid>,
    body: Value,
) -> UseCaseResult<AccessPackage> {
    let activity = "Update access package";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let mut tx = app.store.write().await?;
        let mut package = load(&mut *tx, id?).await?;
        package
            .update(&body, app.clock.now())
            .map_err(|p| invalid("InvalidAccessPackage", "access package", p))?;
        tx.update_package(&package).await?;
        tx.append_audit(event(app, caller, activity).target(
            package.id,
            KIND,
            Some(&package.display_name),
        ))
        .await?;
        tx.commit().await?;
        Ok(package)
    })
    .await
}

/// Deletes the package with its policies, resource roles and incompatibility rules; refused
/// (409) while it has live assignments, as in Graph. Expired assignments and past requests stay
/// as history.
pub async fn delete(app: &App, caller: &Caller, id: UseCaseResult<Uuid>) -> UseCaseResult<()> {
    let activity = "Delete access package";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let mut tx = app.store.write().await?;
        let package = load(&mut *tx, id?).await?;
        let live = tx
            .list_assignments(&eligo_store::AssignmentQuery {
                package: Some(package.id),
                ..Default::default()
            })
            .await?
            .iter()
            .filter(|a| a.is_live())
            .count();
        if live > 0 {
            return Err(Failure::conflict(
                "AccessPackageHasAssignments",
                format!(
                    "the access package has {live} live assignment(s); remove them before deleting it"
                ),
            ));
        }
        tx.delete_package(package.id).await?;
        tx.append_audit(event(app, caller, activity).target(
            package.id,
            KIND,
            Some(&package.display_name),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

pub(crate) async fn load(tx: &mut dyn Tx, id: Uuid) -> UseCaseResult<AccessPackage> {
    tx.get_package(id)
        .await?
        .ok_or_else(|| Failure::not_found("access package"))
}

/// The role and scope a `resourceRoleScopes` POST names: the role by id, or by its origin id
/// (`Member_{groupId}`) and system with its resource by id or origin id; the scope by id, or
/// the resource's root scope.
#[derive(Debug, Default)]
pub struct RoleScopeRequest {
    pub role_id: Option<Uuid>,
    pub role_origin_id: Option<String>,
    pub origin_system: Option<OriginSystem>,
    pub resource_id: Option<Uuid>,
    pub resource_origin_id: Option<String>,
    pub scope_id: Option<Uuid>,
    pub scope_origin_id: Option<String>,
}

/// A role scope with the records it names, to show.
pub struct RoleScopeView {
    pub role_scope: ResourceRoleScope,
    pub role: ResourceRole,
    pub scope: ResourceScope,
    pub resource: Option<Resource>,
}

pub async fn add_role_scope(
    app: &App,
    caller: &Caller,
    package: UseCaseResult<Uuid>,
    req: RoleScopeRequest,
) -> UseCaseResult<RoleScopeView> {
    let activity = "Add resource role to access package";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let mut tx = app.store.write().await?;
        let package = load(&mut *tx, package?).await?;
        let (role, scope, resource) = resolve(&mut *tx, &package, &req).await?;
        let role_scope = ResourceRoleScope {
            package_id: package.id,
            role_id: role.id,
            scope_id: scope.id,
            created_date_time: app.clock.now(),
        };
        if !tx.add_role_scope(&role_scope).await? {
            return Err(Failure::conflict(
                "ResourceRoleScopeExists",
                "the package has this role at this scope already",
            )
            .with_detail("ResourceRoleScopeExists", "role"));
        }
        // With the new role in it: refused, nothing is kept.
        super::hand_out::may_hand_out(app, &mut *tx, caller, package.id).await?;
        tx.append_audit(
            event(app, caller, activity)
                .target(package.id, KIND, Some(&package.display_name))
                .target(
                    &role.origin_id,
                    "AccessPackageResourceRole",
                    Some(&role.display_name),
                )
                .detail("resource", resource.display_name.clone()),
        )
        .await?;
        tx.commit().await?;
        Ok(RoleScopeView {
            role_scope,
            role,
            scope,
            resource: Some(resource),
        })
    })
    .await
}

/// Finds the role and scope a request names in the package's catalog; each unknown one is a
/// detail of one 400.
async fn resolve(
    tx: &mut dyn Tx,
    package: &AccessPackage,
    req: &RoleScopeRequest,
) -> UseCaseResult<(ResourceRole, ResourceScope, Resource)> {
    let unknown = |what: &'static str, at: &str| {
        Failure::bad_request(
            "InvalidResourceRoleScope",
            format!("the {what} is not in the package's catalog"),
        )
        .with_detail(what_code(what), at)
    };
    let role = match (req.role_id, &req.role_origin_id) {
        (Some(id), _) => tx
            .get_resource_role(id)
            .await?
            .filter(|r| r.catalog_id == package.catalog_id),
        (None, Some(origin)) => {
            let resource = match (req.resource_id, &req.resource_origin_id) {
                (Some(id), _) => tx.get_resource(id).await?,
                (None, origin_id) => {
                    // The resource's origin id, or what follows the role name in the role's.
                    let origin_id = origin_id
                        .clone()
                        .or_else(|| origin.split_once('_').map(|(_, rest)| rest.to_string()));
                    let system = req.origin_system.unwrap_or(OriginSystem::AadGroup);
                    match origin_id {
                        Some(o) => tx.find_resource(package.catalog_id, system, &o).await?,
                        None => None,
                    }
                }
            }
            .filter(|r| r.catalog_id == package.catalog_id);
            match resource {
                Some(r) => tx
                    .list_resource_roles(package.catalog_id, Some(r.id))
                    .await?
                    .into_iter()
                    .find(|role| role.origin_id.eq_ignore_ascii_case(origin)),
                None => None,
            }
        }
        (None, None) => {
            return Err(Failure::bad_request(
                "InvalidResourceRoleScope",
                "name the role by id, or by originId and originSystem",
            )
            .with_detail("MissingField", "role.originId"));
        }
    }
    .ok_or_else(|| unknown("resource role", "role"))?;
    let scopes = tx.list_resource_scopes(role.resource_id).await?;
    let scope = scopes
        .into_iter()
        .find(|s| match (req.scope_id, &req.scope_origin_id) {
            (Some(id), _) => s.id == id,
            (None, Some(origin)) => s.origin_id.eq_ignore_ascii_case(origin),
            (None, None) => s.is_root_scope,
        })
        .ok_or_else(|| unknown("resource scope", "scope"))?;
    let resource = tx
        .get_resource(role.resource_id)
        .await?
        .ok_or_else(|| unknown("resource", "role.resource"))?;
    Ok((role, scope, resource))
}

fn what_code(what: &str) -> &'static str {
    match what {
        "resource role" => "UnknownResourceRole",
        "resource scope" => "UnknownResourceScope",
        _ => "UnknownResource",
    }
}

pub async fn remove_role_scope(
    app: &App,
    caller: &Caller,
    package: UseCaseResult<Uuid>,
    role_scope_id: &str,
) -> UseCaseResult<()> {
    let activity = "Remove resource role from access package";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let mut tx = app.store.write().await?;
        let package = load(&mut *tx, package?).await?;
        let (role, scope) = ResourceRoleScope::parse_id(role_scope_id)
            .ok_or_else(|| Failure::not_found("resource role scope"))?;
        if !tx.remove_role_scope(package.id, role, scope).await? {
            return Err(Failure::not_found("resource role scope"));
        }
        tx.append_audit(
            event(app, caller, activity)
                .target(package.id, KIND, Some(&package.display_name))
                .detail("resourceRoleScope", role_scope_id.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// What a separation-of-duties rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incompatible {
    Package(Uuid),
    Group(Uuid),
}

/// Declares (`add`) or withdraws a rule. Declaring one twice is a no-op answered the same; the
/// other side must exist (a 404 names it).
pub async fn incompatible(
    app: &App,
    caller: &Caller,
    package: UseCaseResult<Uuid>,
    other: UseCaseResult<Incompatible>,
    add: bool,
) -> UseCaseResult<()> {
    let activity = match (add, other.as_ref().ok()) {
        (true, Some(Incompatible::Group(_))) => "Add incompatible group",
        (false, Some(Incompatible::Group(_))) => "Remove incompatible group",
        (true, _) => "Add incompatible access package",
        (false, _) => "Remove incompatible access package",
    };
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let other = other?;
        let mut tx = app.store.write().await?;
        let package = load(&mut *tx, package?).await?;
        let at = app.clock.now().timestamp_micros();
        let (changed, target) = match other {
            Incompatible::Package(o) => {
                check_pair(package.id, o)?;
                let other = load(&mut *tx, o).await?;
                let changed = if add {
                    tx.add_incompatible_package(package.id, o, at).await?
                } else {
                    tx.remove_incompatible_package(package.id, o).await?
                };
                (changed, (o, KIND, other.display_name))
            }
            Incompatible::Group(g) => {
                let group = tx
                    .get_group(g)
                    .await?
                    .ok_or_else(|| Failure::not_found("group"))?;
                let changed = if add {
                    tx.add_incompatible_group(package.id, g, at).await?
                } else {
                    tx.remove_incompatible_group(package.id, g).await?
                };
                (changed, (g, "Group", group.display_name))
            }
        };
        if !add && !changed {
            return Err(Failure::not_found("incompatibility"));
        }
        if changed {
            tx.append_audit(
                event(app, caller, activity)
                    .target(package.id, KIND, Some(&package.display_name))
                    .target(target.0, target.1, Some(&target.2)),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    })
    .await
}
