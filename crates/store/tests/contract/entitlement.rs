//! Entitlement management: catalogs, resources with their roles and scopes, packages and their
//! role scopes, assignment policies, and separation-of-duties rules, on both backends.

use std::sync::Arc;

use eligo_core::entitlement::catalog::Catalog;
use eligo_core::entitlement::package::{AccessPackage, ResourceRoleScope};
use eligo_core::entitlement::policy::{AssignmentPolicy, Placement};
use eligo_core::entitlement::resource::{NewResource, OriginSystem};
use eligo_store::Store;
use serde_json::json;

use crate::common::*;

fn catalog(n: u128, name: &str) -> Catalog {
    Catalog::create(id(n), &json!({ "displayName": name }), t(n as i64)).unwrap()
}

fn package(n: u128, catalog: u128, name: &str) -> AccessPackage {
    AccessPackage::create(
        id(n),
        id(catalog),
        &json!({ "displayName": name }),
        t(n as i64),
    )
    .unwrap()
}

fn resource(catalog: u128, group: u128, first_id: u128) -> NewResource {
    let mut next = first_id;
    NewResource::of(
        id(catalog),
        OriginSystem::AadGroup,
        &id(group).to_string(),
        "Insider Risk Management Admins",
        None,
        t(1),
        || {
            next += 1;
            id(next)
        },
    )
}

fn policy(n: u128, package: u128, catalog: u128) -> AssignmentPolicy {
    AssignmentPolicy::read(
        Placement {
            id: id(n),
            access_package_id: id(package),
            catalog_id: id(catalog),
            created: t(n as i64),
            now: t(n as i64),
        },
        &json!({
            "displayName": "Employees",
            "allowedTargetScope": "allMemberUsers",
            "requestorSettings": { "enableTargetsToSelfAddAccess": true },
            "expiration": { "type": "afterDuration", "duration": "P30D" },
            "questions": [{ "@odata.type": "#microsoft.graph.accessPackageTextInputQuestion",
                            "id": "case", "text": "Case number", "regexPattern": "^IRM-[0-9]+$" }],
        }),
        || unreachable!(),
    )
    .unwrap()
}

async fn catalogs_and_resources(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_group(&group(50, "IRM Admins", false))
        .await
        .unwrap();
    tx.insert_catalog(&catalog(1, "Compliance")).await.unwrap();
    tx.insert_catalog(&catalog(2, "Help desk")).await.unwrap();
    tx.insert_resource(&resource(1, 50, 100)).await.unwrap();
    // The same group in another catalog is another resource.
    tx.insert_resource(&resource(2, 50, 200)).await.unwrap();
    commit(tx).await;

    let mut tx = write(&store).await;
    assert_conflict(tx.insert_resource(&resource(1, 50, 300)).await, "originId");
    drop(tx);

    let mut tx = read(&store).await;
    let all = tx.list_catalogs().await.unwrap();
    assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>(), [id(1), id(2)]);
    assert_eq!(
        tx.get_catalog(id(1)).await.unwrap().unwrap(),
        catalog(1, "Compliance")
    );
    assert!(tx.get_catalog(id(9)).await.unwrap().is_none());
    let resources = tx.list_resources(id(1)).await.unwrap();
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0], resource(1, 50, 100).resource);
    let found = tx
        .find_resource(id(1), OriginSystem::AadGroup, &id(50).to_string())
        .await
        .unwrap();
    assert_eq!(found.map(|r| r.id), Some(id(101)));
    let roles = tx.list_resource_roles(id(1), None).await.unwrap();
    let names: Vec<_> = roles.iter().map(|r| r.display_name.as_str()).collect();
    assert_eq!(names, ["Member", "Owner"]);
    assert_eq!(
        tx.list_resource_roles(id(1), Some(id(101))).await.unwrap(),
        roles
    );
    assert_eq!(
        tx.get_resource_role(roles[1].id).await.unwrap().as_ref(),
        Some(&roles[1])
    );
    let scopes = tx.list_resource_scopes(id(101)).await.unwrap();
    assert_eq!(scopes, [resource(1, 50, 100).scope]);
    assert_eq!(
        tx.get_resource_scope(scopes[0].id).await.unwrap().as_ref(),
        Some(&scopes[0])
    );
    drop(tx);

    let mut tx = write(&store).await;
    let mut renamed = catalog(1, "Compliance");
    renamed
        .update(&json!({ "displayName": "Compliance and risk" }), t(5))
        .unwrap();
    assert!(tx.update_catalog(&renamed).await.unwrap());
    assert!(tx.delete_resource(id(201)).await.unwrap());
    assert!(!tx.delete_resource(id(201)).await.unwrap());
    assert!(tx.delete_catalog(id(2)).await.unwrap());
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(
        tx.get_catalog(id(1)).await.unwrap().unwrap().display_name,
        "Compliance and risk"
    );
    assert!(tx.get_catalog(id(2)).await.unwrap().is_none());
    assert!(
        tx.get_resource_role(id(202)).await.unwrap().is_none(),
        "roles go with their resource"
    );
}

contract!(catalogs_and_resources => catalogs_and_resources_sqlite, catalogs_and_resources_postgres);

async fn packages_policies_and_rules(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_group(&group(50, "IRM Admins", false))
        .await
        .unwrap();
    tx.insert_group(&group(51, "Help desk", false))
        .await
        .unwrap();
    tx.insert_catalog(&catalog(1, "Compliance")).await.unwrap();
    tx.insert_resource(&resource(1, 50, 100)).await.unwrap();
    for (n, name) in [
        (10, "Compliance Officer"),
        (11, "Help Desk Technician"),
        (12, "Auditor"),
    ] {
        tx.insert_package(&package(n, 1, name)).await.unwrap();
    }
    let member = ResourceRoleScope {
        package_id: id(10),
        role_id: id(102),
        scope_id: id(104),
        created_date_time: t(20),
    };
    assert!(tx.add_role_scope(&member).await.unwrap());
    assert!(!tx.add_role_scope(&member).await.unwrap(), "once");
    tx.insert_assignment_policy(&policy(30, 10, 1))
        .await
        .unwrap();
    tx.insert_assignment_policy(&policy(31, 11, 1))
        .await
        .unwrap();
    assert!(
        tx.add_incompatible_package(id(10), id(11), 40)
            .await
            .unwrap()
    );
    assert!(
        !tx.add_incompatible_package(id(10), id(11), 41)
            .await
            .unwrap()
    );
    assert!(
        tx.add_incompatible_package(id(12), id(10), 42)
            .await
            .unwrap()
    );
    assert!(tx.add_incompatible_group(id(10), id(51), 43).await.unwrap());
    assert!(!tx.add_incompatible_group(id(10), id(51), 44).await.unwrap());
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(tx.list_packages(None).await.unwrap().len(), 3);
    assert_eq!(
        tx.list_packages(Some(id(1))).await.unwrap()[0],
        package(10, 1, "Compliance Officer")
    );
    assert!(tx.list_packages(Some(id(2))).await.unwrap().is_empty());
    assert_eq!(
        tx.list_role_scopes(id(10)).await.unwrap(),
        vec![member.clone()]
    );
    assert_eq!(tx.packages_using_resource(id(101)).await.unwrap(), [id(10)]);
    assert_eq!(
        tx.get_assignment_policy(id(30)).await.unwrap().unwrap(),
        policy(30, 10, 1)
    );
    let of_officer = tx.list_assignment_policies(Some(id(10))).await.unwrap();
    assert_eq!(
        of_officer.iter().map(|p| p.id).collect::<Vec<_>>(),
        [id(30)]
    );
    assert_eq!(tx.list_assignment_policies(None).await.unwrap().len(), 2);
    assert_eq!(tx.incompatible_packages(id(10)).await.unwrap(), [id(11)]);
    assert_eq!(
        tx.packages_incompatible_with(id(10)).await.unwrap(),
        [id(12)]
    );
    assert_eq!(tx.incompatible_groups(id(10)).await.unwrap(), [id(51)]);
    let rules = tx.incompatibility_rules().await.unwrap();
    assert_eq!(
        sorted(rules.packages_against(id(10))),
        sorted([id(11), id(12)]),
        "both directions"
    );
    drop(tx);

    let mut tx = write(&store).await;
    let mut changed = policy(30, 10, 1);
    changed.display_name = "Employees, renamed".into();
    assert!(tx.update_assignment_policy(&changed).await.unwrap());
    let mut hidden = package(11, 1, "Help Desk Technician");
    hidden.is_hidden = true;
    assert!(tx.update_package(&hidden).await.unwrap());
    assert!(tx.remove_incompatible_group(id(10), id(51)).await.unwrap());
    assert!(!tx.remove_incompatible_group(id(10), id(51)).await.unwrap());
    assert!(
        tx.remove_role_scope(id(10), id(102), id(104))
            .await
            .unwrap()
    );
    assert!(tx.delete_assignment_policy(id(31)).await.unwrap());
    // Deleting a package takes its policies and every rule that names it, either side.
    assert!(tx.delete_package(id(10)).await.unwrap());
    assert!(!tx.delete_package(id(10)).await.unwrap());
    commit(tx).await;

    let mut tx = read(&store).await;
    assert!(tx.get_package(id(11)).await.unwrap().unwrap().is_hidden);
    assert!(tx.get_assignment_policy(id(30)).await.unwrap().is_none());
    assert!(tx.get_assignment_policy(id(31)).await.unwrap().is_none());
    assert!(tx.incompatible_packages(id(12)).await.unwrap().is_empty());
    assert_eq!(
        tx.incompatibility_rules().await.unwrap(),
        Default::default()
    );
    assert!(
        tx.packages_using_resource(id(101))
            .await
            .unwrap()
            .is_empty()
    );
    drop(tx);

    // A group's rules go with the group.
    let mut tx = write(&store).await;
    assert!(tx.add_incompatible_group(id(11), id(51), 50).await.unwrap());
    assert!(tx.delete_principal(id(51)).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert!(tx.incompatible_groups(id(11)).await.unwrap().is_empty());
}

contract!(packages_policies_and_rules => packages_policies_and_rules_sqlite, packages_policies_and_rules_postgres);

/// What protects a group or a role that is a catalog resource: the groups in any catalog, the
/// packages using a group or role through any catalog, and removing the resources of a group
/// that goes (only when no package uses them).
async fn resources_by_origin(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_group(&group(50, "IRM Admins", false))
        .await
        .unwrap();
    tx.insert_group(&group(51, "Help desk", false))
        .await
        .unwrap();
    tx.insert_catalog(&catalog(1, "Compliance")).await.unwrap();
    tx.insert_catalog(&catalog(2, "Help desk")).await.unwrap();
    tx.insert_resource(&resource(1, 50, 100)).await.unwrap();
    tx.insert_resource(&resource(2, 50, 200)).await.unwrap();
    tx.insert_resource(&resource(2, 51, 300)).await.unwrap();
    tx.insert_package(&package(10, 2, "Help Desk Technician"))
        .await
        .unwrap();
    // The package uses the group 50 through catalog 2's resource (201: roles 202, 203; scope 204).
    assert!(
        tx.add_role_scope(&ResourceRoleScope {
            package_id: id(10),
            role_id: id(202),
            scope_id: id(204),
            created_date_time: t(20),
        })
        .await
        .unwrap()
    );
    commit(tx).await;

    let mut tx = read(&store).await;
    let mut groups = vec![id(50).to_string(), id(51).to_string()];
    groups.sort();
    assert_eq!(
        tx.catalog_origin_ids(OriginSystem::AadGroup).await.unwrap(),
        groups,
        "each group once, whatever the number of catalogs"
    );
    assert!(
        tx.catalog_origin_ids(OriginSystem::DirectoryRole)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.packages_using_origin(OriginSystem::AadGroup, &id(50).to_string())
            .await
            .unwrap(),
        [id(10)]
    );
    assert!(
        tx.packages_using_origin(OriginSystem::AadGroup, &id(51).to_string())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.packages_using_origin(OriginSystem::DirectoryRole, &id(50).to_string())
            .await
            .unwrap()
            .is_empty()
    );
    drop(tx);

    let mut tx = write(&store).await;
    assert_eq!(
        tx.delete_resources_of_origin(OriginSystem::AadGroup, &id(51).to_string())
            .await
            .unwrap(),
        1
    );
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(
        tx.catalog_origin_ids(OriginSystem::AadGroup).await.unwrap(),
        [id(50).to_string()]
    );
    assert!(tx.get_resource_role(id(302)).await.unwrap().is_none());
}

contract!(resources_by_origin => resources_by_origin_sqlite, resources_by_origin_postgres);

fn extension(
    n: u128,
    catalog: u128,
    name: &str,
) -> eligo_core::entitlement::extension::CustomExtension {
    eligo_core::entitlement::extension::CustomExtension::create(
        id(n),
        id(catalog),
        &json!({ "displayName": name, "endpointConfiguration": {
            "@odata.type": "#microsoft.graph.httpRequestEndpoint", "targetUrl": "https://hooks.example/x" },
            "callbackConfiguration": { "timeoutDuration": "PT1H" } }),
        t(n as i64),
    )
    .unwrap()
}

/// A catalog's custom extensions: kept whole, listed oldest first, replaced, deleted, and gone
/// with their catalog.
async fn custom_extensions(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_catalog(&catalog(1, "Compliance")).await.unwrap();
    tx.insert_catalog(&catalog(2, "Help desk")).await.unwrap();
    tx.insert_custom_extension(&extension(20, 1, "SoD check"))
        .await
        .unwrap();
    tx.insert_custom_extension(&extension(21, 1, "Ticket"))
        .await
        .unwrap();
    tx.insert_custom_extension(&extension(22, 2, "Other"))
        .await
        .unwrap();
    commit(tx).await;
    let mut tx = write(&store).await;
    assert_conflict(
        tx.insert_custom_extension(&extension(20, 1, "Again")).await,
        "id",
    );
    drop(tx);

    let mut tx = read(&store).await;
    assert_eq!(
        tx.get_custom_extension(id(20)).await.unwrap().unwrap(),
        extension(20, 1, "SoD check")
    );
    let of_one = tx.list_custom_extensions(id(1)).await.unwrap();
    assert_eq!(
        of_one.iter().map(|e| e.id).collect::<Vec<_>>(),
        [id(20), id(21)]
    );
    drop(tx);

    let mut tx = write(&store).await;
    let mut renamed = extension(21, 1, "Ticket");
    renamed.display_name = "Ticket check".into();
    assert!(tx.update_custom_extension(&renamed).await.unwrap());
    assert!(
        !tx.update_custom_extension(&extension(29, 1, "x"))
            .await
            .unwrap()
    );
    assert!(tx.delete_custom_extension(id(20)).await.unwrap());
    assert!(!tx.delete_custom_extension(id(20)).await.unwrap());
    assert!(tx.delete_catalog(id(2)).await.unwrap());
    commit(tx).await;

    let mut tx = read(&store).await;
    assert!(tx.get_custom_extension(id(20)).await.unwrap().is_none());
    assert_eq!(
        tx.get_custom_extension(id(21))
            .await
            .unwrap()
            .unwrap()
            .display_name,
        "Ticket check"
    );
    assert!(
        tx.get_custom_extension(id(22)).await.unwrap().is_none(),
        "gone with its catalog"
    );
}

contract!(custom_extensions => custom_extensions_sqlite, custom_extensions_postgres);
