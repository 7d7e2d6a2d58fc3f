//! Catalog resources are protected (threat-model rule 3): a group that is a resource of any
//! catalog is a protected group (`service::access::privilege` passes them as
//! `package_groups`), and a group or role that a package hands out cannot be deleted, nor
//! removed from its catalog, while the package uses it (409 `ResourceInUse` naming the
//! package): otherwise its assignments would silently stop giving what they promise, or a
//! new object reusing the id would inherit them.

use eligo_core::entitlement::resource::OriginSystem;
use eligo_store::Tx;
use uuid::Uuid;

use crate::failure::{Failure, UseCaseResult};

/// The groups that are resources of any catalog.
pub async fn catalog_groups(tx: &mut dyn Tx) -> UseCaseResult<Vec<Uuid>> {
    Ok(tx
        .catalog_origin_ids(OriginSystem::AadGroup)
        .await?
        .iter()
        .filter_map(|id| Uuid::parse_str(id).ok())
        .collect())
}

/// The 409 for a resource that `packages` use, naming them (display name and id).
pub async fn in_use(
    tx: &mut dyn Tx,
    what: &str,
    packages: &[Uuid],
    target: &str,
) -> UseCaseResult<Failure> {
    let mut named = Vec::with_capacity(packages.len());
    for &id in packages {
        match tx.get_package(id).await? {
            Some(p) => named.push(format!("'{}' ({id})", p.display_name)),
            None => named.push(id.to_string()),
        }
    }
    Ok(Failure::conflict(
        "ResourceInUse",
        format!(
            "{what} is a resource of access package {}; remove it from the package first",
            named.join(", ")
        ),
    )
    .with_detail("ResourceInUse", target))
}

/// Before `origin_id` (a group or a role definition) is deleted, in the deleting transaction:
/// refused while a package uses it; otherwise the catalogs' resources naming it go with it.
pub async fn before_delete(
    tx: &mut dyn Tx,
    origin_system: OriginSystem,
    origin_id: Uuid,
) -> UseCaseResult<()> {
    let id = origin_id.to_string();
    let users = tx.packages_using_origin(origin_system, &id).await?;
    if !users.is_empty() {
        let what = match origin_system {
            OriginSystem::AadGroup => "this group",
            OriginSystem::DirectoryRole => "this role",
        };
        return Err(in_use(tx, what, &users, "id").await?);
    }
    tx.delete_resources_of_origin(origin_system, &id).await?;
    Ok(())
}
