//! Administration round trips shaped like Graph, authorization, and `$ref` semantics.

use axum::http::StatusCode;
use eligo_core::roles::ids;
use serde_json::{Value, json};

use super::support::*;
use crate::harness::*;

#[tokio::test]
async fn an_identity_governance_administrator_builds_the_scenario() {
    let t = TestApp::new().await;
    let (_, iga) = t.admin("iga", ids::IDENTITY_GOVERNANCE_ADMINISTRATOR).await;
    let fallback = t.user("fallback").await;
    let irm = t.group("Insider Risk Management Admins").await;

    // A catalog, published by default; enum values in any case, answered as Graph writes them.
    let (s, c) = t
        .post(
            &em("/catalogs"),
            &iga,
            json!({ "@odata.type": "#microsoft.graph.accessPackageCatalog", "displayName": "Compliance",
                    "description": "Compliance tools", "isExternallyVisible": false, "state": "Published" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["state"], "published");
    assert_eq!(c["catalogType"], "userManaged");
    let catalog = id_of(&c);

    // The group enters the catalog with its Member and Owner roles.
    let r = t.add_group_resource(&iga, catalog, irm).await;
    assert_eq!(r["requestType"], "adminAdd");
    assert_eq!(r["state"], "delivered");
    assert_eq!(r["resource"]["originSystem"], "AadGroup");
    assert_eq!(
        r["resource"]["displayName"],
        "Insider Risk Management Admins"
    );
    let (s, roles) = t
        .get(&em(&format!("/catalogs/{catalog}/resourceRoles")), &iga)
        .await;
    assert_eq!(s, StatusCode::OK, "{roles}");
    let origins: Vec<&str> = roles["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["originId"].as_str().unwrap())
        .collect();
    assert_eq!(origins, [format!("Member_{irm}"), format!("Owner_{irm}")]);
    let (_, resources) = t
        .get(&em(&format!("/catalogs/{catalog}/resources")), &iga)
        .await;
    assert_eq!(resources["value"][0]["originId"], json!(irm));

    // A package with the group's membership.
    let package = t.package(&iga, catalog, "Insider Risk Management").await;
    let (s, rs) = t
        .post(
            &em(&format!("/accessPackages/{package}/resourceRoleScopes")),
            &iga,
            json!({ "role": { "originId": format!("Member_{irm}"), "displayName": "Member", "originSystem": "AadGroup",
                              "resource": { "id": r["resource"]["id"], "originId": irm, "originSystem": "AadGroup" } },
                    "scope": { "originId": irm, "originSystem": "AadGroup", "isRootScope": true } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rs}");
    let rs_id = rs["id"].as_str().unwrap().to_string();
    assert_eq!(
        rs_id,
        format!(
            "{}_{}",
            rs["role"]["id"].as_str().unwrap(),
            rs["scope"]["id"].as_str().unwrap()
        )
    );
    assert_eq!(rs["role"]["displayName"], "Member");
    assert_eq!(rs["scope"]["isRootScope"], true);
    let (s, again) = t
        .post(
            &em(&format!("/accessPackages/{package}/resourceRoleScopes")),
            &iga,
            json!({ "role": { "id": rs["role"]["id"] }, "scope": { "id": rs["scope"]["id"] } }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");
    assert_eq!(code(&again), "ResourceRoleScopeExists");

    // The policy, every field as sent, read back as Graph writes it.
    let policy = t.policy(&iga, package, manager_approval(fallback)).await;
    assert_eq!(policy["allowedTargetScope"], "allMemberUsers");
    assert_eq!(policy["accessPackage"]["id"], json!(package));
    assert_eq!(policy["catalog"]["id"], json!(catalog));
    assert_eq!(policy["expiration"]["duration"], "P30D");
    let stage = &policy["requestApprovalSettings"]["stages"][0];
    assert_eq!(stage["durationBeforeAutomaticDenial"], "P2D");
    assert_eq!(stage["minimumApprovals"], 1);
    assert_eq!(
        stage["primaryApprovers"][0]["@odata.type"],
        "#microsoft.graph.requestorManager"
    );
    assert_eq!(
        policy["reviewSettings"]["expirationBehavior"],
        "removeAccess"
    );
    let q = &policy["questions"][0];
    assert_eq!(
        q["@odata.type"],
        "#microsoft.graph.accessPackageTextInputQuestion"
    );
    assert!(q["id"].as_str().is_some_and(|id| !id.is_empty()), "{q}");
    let policy_id = id_of(&policy);

    // $expand as Graph clients write it.
    let (s, p) = t
        .get(
            &em(&format!("/accessPackages/{package}?$expand=resourceRoleScopes($expand=role,scope),assignmentPolicies")),
            &iga,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["catalog"]["id"], json!(catalog));
    assert_eq!(p["resourceRoleScopes"][0]["id"], json!(rs_id));
    assert_eq!(
        p["resourceRoleScopes"][0]["role"]["originId"],
        json!(format!("Member_{irm}"))
    );
    assert_eq!(p["assignmentPolicies"][0]["id"], json!(policy_id));
    let (s, _) = t
        .get(
            &em(&format!("/accessPackages/{package}?$expand=everything")),
            &iga,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // PATCH changes only what it names; PUT replaces.
    let (s, patched) = t
        .patch(
            &em(&format!("/assignmentPolicies/{policy_id}")),
            &iga,
            json!({ "expiration": { "type": "AfterDuration", "duration": "P14D" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["expiration"]["duration"], "P14D");
    assert_eq!(
        patched["questions"], policy["questions"],
        "kept, ids and all"
    );
    let (s, replaced) = t
        .put(
            &em(&format!("/assignmentPolicies/{policy_id}")),
            &iga,
            json!({ "displayName": "Admins assign", "allowedTargetScope": "notSpecified" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["questions"], json!([]));
    assert_eq!(replaced["expiration"]["type"], "noExpiration");

    let (s, pkg) = t
        .patch(
            &em(&format!("/accessPackages/{package}")),
            &iga,
            json!({ "isHidden": true }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{pkg}");
    assert_eq!(pkg["isHidden"], true);

    // Every write is audited under EntitlementManagement.
    for activity in [
        "Create catalog",
        "Add resource to catalog",
        "Create access package",
        "Add resource role to access package",
        "Create access package assignment policy",
        "Update access package assignment policy",
        "Update access package",
    ] {
        let entries = t.audited_as(activity).await;
        assert!(
            entries
                .iter()
                .any(|e| e["category"] == "EntitlementManagement" && e["result"] == "success"),
            "{activity}: {entries:?}"
        );
    }

    // A catalog with packages stays; a resource in use stays.
    let (s, b) = t.delete(&em(&format!("/catalogs/{catalog}")), &iga).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(code(&b), "CatalogHasAccessPackages");
    let (s, b) = t
        .post(
            &em("/resourceRequests"),
            &iga,
            json!({ "requestType": "adminRemove", "catalog": { "id": catalog },
                    "resource": { "originId": irm, "originSystem": "AadGroup" } }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(code(&b), "ResourceInUse");

    // Taken apart in order.
    let (s, _) = t
        .delete(
            &em(&format!(
                "/accessPackages/{package}/resourceRoleScopes/{rs_id}"
            )),
            &iga,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t
        .delete(&em(&format!("/accessPackages/{package}")), &iga)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t
        .get(&em(&format!("/assignmentPolicies/{policy_id}")), &iga)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the policy went with its package");
    let (s, _) = t.delete(&em(&format!("/catalogs/{catalog}")), &iga).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn without_the_role_nothing_changes_and_the_refusal_is_audited() {
    let t = TestApp::new().await;
    let (who, user) = t.admin("helpdesk", ids::HELPDESK_ADMINISTRATOR).await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;

    let (s, b) = t
        .post(&em("/catalogs"), &user, json!({ "displayName": "Mine" }))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, _) = t
        .post(
            &em("/accessPackages"),
            &user,
            json!({ "displayName": "Mine", "catalog": { "id": catalog } }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t.delete(&em(&format!("/catalogs/{catalog}")), &user).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t.get(&em("/catalogs"), &user).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "reading needs the role too");
    t.assert_one_refusal("Create catalog", "Authorization_RequestDenied", who)
        .await;

    let (_, all) = t.get(&em("/catalogs"), BOOTSTRAP).await;
    assert_eq!(all["value"].as_array().unwrap().len(), 1, "nothing changed");
    let (_, packages) = t.get(&em("/accessPackages"), BOOTSTRAP).await;
    assert_eq!(packages["value"], json!([]));

    // A Global Reader reads and changes nothing.
    let (_, reader) = t.admin("reader", ids::GLOBAL_READER).await;
    let (s, _) = t.get(&em(&format!("/catalogs/{catalog}")), &reader).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t
        .patch(
            &em(&format!("/catalogs/{catalog}")),
            &reader,
            json!({ "displayName": "x" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn what_a_catalog_hands_out_needs_what_handing_it_out_directly_would() {
    let t = TestApp::new().await;
    let (_, iga) = t.admin("iga", ids::IDENTITY_GOVERNANCE_ADMINISTRATOR).await;
    let catalog = t.catalog(&iga, "Tier 0").await;
    let (s, ra) = t
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": "Role holders", "mailNickname": "roleholders", "securityEnabled": true, "isAssignableToRole": true }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ra}");
    let request = |origin: Value, system: &str| {
        json!({ "requestType": "adminAdd", "catalog": { "id": catalog },
                "resource": { "originId": origin, "originSystem": system } })
    };
    // A role-assignable group is protected; a directory role is a role assignment.
    let (s, b) = t
        .post(
            &em("/resourceRequests"),
            &iga,
            request(ra["id"].clone(), "AadGroup"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(code(&b), "ProtectedGroup");
    let (s, b) = t
        .post(
            &em("/resourceRequests"),
            &iga,
            request(json!(ids::GLOBAL_ADMINISTRATOR), "DirectoryRole"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (_, resources) = t
        .get(&em(&format!("/catalogs/{catalog}/resources")), &iga)
        .await;
    assert_eq!(resources["value"], json!([]));

    // Break-glass (Global Administrator) may; a role brings Eligible and Active.
    let (s, b) = t
        .post(
            &em("/resourceRequests"),
            BOOTSTRAP,
            request(json!(ids::HELPDESK_ADMINISTRATOR), "directoryRole"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["resource"]["displayName"], "Helpdesk Administrator");
    let (_, roles) = t
        .get(&em(&format!("/catalogs/{catalog}/resourceRoles")), &iga)
        .await;
    let names: Vec<&str> = roles["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Eligible", "Active"]);
    let (s, b) = t
        .post(
            &em("/resourceRequests"),
            BOOTSTRAP,
            request(json!(ids::HELPDESK_ADMINISTRATOR), "DirectoryRole"),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(code(&b), "ResourceAlreadyInCatalog");
}

#[tokio::test]
async fn incompatibility_holds_both_ways_and_a_repeat_changes_nothing() {
    let t = TestApp::new().await;
    let (_, iga) = t.admin("iga", ids::IDENTITY_GOVERNANCE_ADMINISTRATOR).await;
    let catalog = t.catalog(&iga, "Compliance").await;
    let officer = t.package(&iga, catalog, "Compliance Officer").await;
    let helpdesk = t.package(&iga, catalog, "Help Desk Technician").await;
    let group = t.group("Help desk").await;
    let ref_to = |what: &str, id: uuid::Uuid| json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/identityGovernance/entitlementManagement/{what}/{id}") });
    let add = format!("/accessPackages/{officer}/incompatibleAccessPackages/$ref");
    for _ in 0..2 {
        let (s, b) = t
            .post(&em(&add), &iga, ref_to("accessPackages", helpdesk))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    assert_eq!(
        t.audited_as("Add incompatible access package").await.len(),
        1,
        "once"
    );
    let (_, declared) = t
        .get(
            &em(&format!(
                "/accessPackages/{officer}/incompatibleAccessPackages"
            )),
            &iga,
        )
        .await;
    assert_eq!(declared["value"][0]["id"], json!(helpdesk));
    let (_, reverse) = t
        .get(
            &em(&format!(
                "/accessPackages/{helpdesk}/accessPackagesIncompatibleWith"
            )),
            &iga,
        )
        .await;
    assert_eq!(reverse["value"][0]["id"], json!(officer));
    assert_eq!(reverse["value"].as_array().unwrap().len(), 1);

    let (s, b) = t
        .post(&em(&add), &iga, ref_to("accessPackages", officer))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code(&b), "SelfIncompatible");
    let (s, _) = t
        .post(
            &em(&add),
            &iga,
            ref_to("accessPackages", uuid::Uuid::new_v4()),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let groups = format!("/accessPackages/{officer}/incompatibleGroups");
    let (s, b) = t
        .post(
            &em(&format!("{groups}/$ref")),
            &iga,
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/groups/{group}") }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, listed) = t.get(&em(&groups), &iga).await;
    assert_eq!(listed["value"][0]["displayName"], "Help desk");

    let (s, _) = t
        .delete(
            &em(&format!(
                "/accessPackages/{officer}/incompatibleAccessPackages/{helpdesk}/$ref"
            )),
            &iga,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = t
        .delete(
            &em(&format!(
                "/accessPackages/{officer}/incompatibleAccessPackages/{helpdesk}/$ref"
            )),
            &iga,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing left to remove");
    let (s, _) = t.delete(&em(&format!("{groups}/{group}/$ref")), &iga).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, listed) = t.get(&em(&groups), &iga).await;
    assert_eq!(listed["value"], json!([]));
}
