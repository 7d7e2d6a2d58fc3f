//! Catalog resources are protected (threat-model rule 3): a group in a catalog changes only
//! with the rights a protected group needs, and a group a package hands out is neither deleted
//! nor removed from its catalog while the package uses it (409 `ResourceInUse` naming the
//! package, nothing changed); once the package lets go, the group goes with its catalog
//! resources.

use axum::http::StatusCode;
use eligo_core::roles::ids;
use serde_json::json;

use super::support::*;
use crate::harness::*;

#[tokio::test]
async fn a_group_in_a_catalog_is_protected_from_a_user_administrator() {
    let t = TestApp::new().await;
    let plain = t.user("plain").await;
    let (_, ua) = t.admin("uma", ids::USER_ADMINISTRATOR).await;
    let ordinary = t.group("Helpdesk Team").await;
    let handed_out = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    t.add_group_resource(BOOTSTRAP, catalog, handed_out).await;

    let add = |g: uuid::Uuid| format!("/v1/groups/{g}/members");
    let (s, b) = t.post(&add(ordinary), &ua, json!({ "id": plain })).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    // Who can add themselves to a group a catalog hands out skips its approval.
    let (s, b) = t.post(&add(handed_out), &ua, json!({ "id": plain })).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(t.members(handed_out).await.is_empty());
    let (s, _) = t.delete(&format!("/v1/groups/{handed_out}"), &ua).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Whoever changes protected groups still may.
    let (_, pra) = t.admin("pria", ids::PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let (s, b) = t.post(&add(handed_out), &pra, json!({ "id": plain })).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
}

#[tokio::test]
async fn a_group_a_package_uses_is_not_deleted_nor_removed_from_its_catalog() {
    let t = TestApp::new().await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t
        .group_package(catalog, "Insider Risk Management", group, json!({}))
        .await;

    let (s, b) = t.delete(&format!("/v1/groups/{group}"), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(code(&b), "ResourceInUse");
    let message = b["error"]["message"].as_str().unwrap();
    assert!(message.contains("'Insider Risk Management'"), "{message}");
    assert!(message.contains(&p.package.to_string()), "{message}");
    let (s, _) = t.get(&format!("/v1/groups/{group}"), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "the group stays");

    let (s, b) = t
        .post(
            &em("/resourceRequests"),
            BOOTSTRAP,
            json!({ "requestType": "adminRemove", "catalog": { "id": catalog },
                    "resource": { "originId": group, "originSystem": "AadGroup" } }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(code(&b), "ResourceInUse");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'Insider Risk Management'"),
        "{b}"
    );

    // Once the package goes, so may the group, and its catalog resource goes with it.
    let (s, b) = t
        .delete(&em(&format!("/accessPackages/{}", p.package)), BOOTSTRAP)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = t.delete(&format!("/v1/groups/{group}"), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = t
        .get(&em(&format!("/catalogs/{catalog}/resources")), BOOTSTRAP)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["value"].as_array().unwrap().is_empty(), "{b}");
}
