//! Catalogs and their resources: create, change and delete catalogs; add a group or a
//! directory role to one (`resourceRequests` adminAdd) and take it out again (adminRemove).

use eligo_core::authz::{Operation, Protection};
use eligo_core::entitlement::catalog::Catalog;
use eligo_core::entitlement::resource::{NewResource, OriginSystem, Resource};
use serde_json::Value;
use uuid::Uuid;

use super::{event, invalid, may_manage};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::access::privilege;
use crate::service::authorize;

pub async fn create(app: &App, caller: &Caller, body: Value) -> UseCaseResult<Catalog> {
    let activity = "Create catalog";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let catalog = Catalog::create(Uuid::new_v4(), &body, app.clock.now())
            .map_err(|p| invalid("InvalidCatalog", "catalog", p))?;
        let mut tx = app.store.write().await?;
        tx.insert_catalog(&catalog).await?;
        tx.append_audit(event(app, caller, activity).target(
            catalog.id,
            "AccessPackageCatalog",
            Some(&catalog.display_name),
        ))
        .await?;
        tx.commit().await?;
        Ok(catalog)
    })
    .await
}

pub async fn update(
    app: &App,
    caller: &Caller,
    id: UseCaseResult<Uuid>,
    body: Value,
) -> UseCaseResult<Catalog> {
    let activity = "Update catalog";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let id = id?;
        let mut tx = app.store.write().await?;
        let mut catalog = tx
            .get_catalog(id)
            .await?
            .ok_or_else(|| Failure::not_found("catalog"))?;
        catalog
            .update(&body, app.clock.now())
            .map_err(|p| invalid("InvalidCatalog", "catalog", p))?;
        tx.update_catalog(&catalog).await?;
        tx.append_audit(event(app, caller, activity).target(
            catalog.id,
            "AccessPackageCatalog",
            Some(&catalog.display_name),
        ))
        .await?;
        tx.commit().await?;
        Ok(catalog)
    })
    .await
}

/// Refused while the catalog holds access packages (delete them first, as Graph wants); its
/// resources leave with it.
pub async fn delete(app: &App, caller: &Caller, id: UseCaseResult<Uuid>) -> UseCaseResult<()> {
    let activity = "Delete catalog";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let id = id?;
        let mut tx = app.store.write().await?;
        let catalog = tx
            .get_catalog(id)
            .await?
            .ok_or_else(|| Failure::not_found("catalog"))?;
        let packages = tx.list_packages(Some(id)).await?;
        if !packages.is_empty() {
            return Err(Failure::conflict(
                "CatalogHasAccessPackages",
                format!(
                    "the catalog still holds {} access package(s); delete them first",
                    packages.len()
                ),
            )
            .with_detail("CatalogHasAccessPackages", "id"));
        }
        tx.delete_catalog(id).await?;
        tx.append_audit(event(app, caller, activity).target(
            id,
            "AccessPackageCatalog",
            Some(&catalog.display_name),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// What a `resourceRequests` POST asks.
pub struct ResourceRequest {
    pub add: bool,
    pub catalog: Uuid,
    pub origin_system: OriginSystem,
    pub origin_id: String,
}

/// adminAdd: the group or role must exist, and putting it where packages hand it out needs
/// what handing it out directly would (`Operation::CatalogResource`). adminRemove: refused
/// while a package uses one of its roles. Answers the resource.
pub async fn request(app: &App, caller: &Caller, req: ResourceRequest) -> UseCaseResult<Resource> {
    let activity = if req.add {
        "Add resource to catalog"
    } else {
        "Remove resource from catalog"
    };
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let catalog = tx.get_catalog(req.catalog).await?.ok_or_else(|| {
            Failure::bad_request("UnknownCatalog", "the catalog does not exist")
                .with_detail("UnknownCatalog", "catalog.id")
        })?;
        let existing = tx
            .find_resource(catalog.id, req.origin_system, &req.origin_id)
            .await?;
        let resource = if req.add {
            if existing.is_some() {
                return Err(Failure::conflict(
                    "ResourceAlreadyInCatalog",
                    "the resource is in this catalog already",
                )
                .with_detail("ResourceAlreadyInCatalog", "resource.originId"));
            }
            let unknown = || {
                Failure::bad_request(
                    "UnknownResource",
                    format!(
                        "no {} has the id '{}'",
                        req.origin_system.as_str(),
                        req.origin_id
                    ),
                )
                .with_detail("UnknownResource", "resource.originId")
            };
            let origin = Uuid::parse_str(&req.origin_id).map_err(|_| unknown())?;
            let (name, description, op, protection) = match req.origin_system {
                OriginSystem::AadGroup => {
                    let group = tx.get_group(origin).await?.ok_or_else(unknown)?;
                    let protection =
                        privilege::of_group_besides_catalogs(app, &mut *tx, origin, now).await?;
                    (
                        group.display_name,
                        group.description,
                        Operation::CatalogResource {
                            directory_role: false,
                        },
                        protection,
                    )
                }
                OriginSystem::DirectoryRole => {
                    let role = tx.get_role_definition(origin).await?.ok_or_else(unknown)?;
                    (
                        role.display_name,
                        role.description,
                        Operation::CatalogResource {
                            directory_role: true,
                        },
                        Protection::Ordinary,
                    )
                }
            };
            authorize::check(app, caller, op, &protection)?;
            let new = NewResource::of(
                catalog.id,
                req.origin_system,
                &origin.to_string(),
                &name,
                description,
                now,
                Uuid::new_v4,
            );
            tx.insert_resource(&new).await?;
            new.resource
        } else {
            let resource =
                existing.ok_or_else(|| Failure::not_found("resource in this catalog"))?;
            let users = tx.packages_using_resource(resource.id).await?;
            if !users.is_empty() {
                let what = format!("resource '{}'", resource.display_name);
                return Err(
                    super::protect::in_use(&mut *tx, &what, &users, "resource.originId").await?,
                );
            }
            tx.delete_resource(resource.id).await?;
            resource
        };
        tx.append_audit(
            event(app, caller, activity)
                .target(
                    catalog.id,
                    "AccessPackageCatalog",
                    Some(&catalog.display_name),
                )
                .target(
                    &resource.origin_id,
                    resource.origin_system.as_str(),
                    Some(&resource.display_name),
                ),
        )
        .await?;
        tx.commit().await?;
        Ok(resource)
    })
    .await
}
