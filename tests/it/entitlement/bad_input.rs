//! Bad input: a 400 with a stable code and a detail per broken rule, and nothing changed.

use axum::http::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

#[tokio::test]
async fn a_broken_policy_names_every_rule_and_changes_nothing() {
    let t = TestApp::new().await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let package = t
        .package(BOOTSTRAP, catalog, "Insider Risk Management")
        .await;
    let fallback = t.user("fallback").await;

    let mut body = manager_approval(fallback);
    body["accessPackage"] = json!({ "id": package });
    body["expiration"] = json!({ "type": "afterDuration", "duration": "-P5D" });
    body["questions"][0]["regexPattern"] = json!("^IRM-([0-9]+$");
    let stage = body["requestApprovalSettings"]["stages"][0].clone();
    body["requestApprovalSettings"]["stages"] = json!([stage, stage, stage, stage]);
    body["specificAllowedTargets"] =
        json!([{ "@odata.type": "#microsoft.graph.everyoneInTheBuilding" }]);
    let (s, b) = t.post(&em("/assignmentPolicies"), BOOTSTRAP, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code(&b), "InvalidAssignmentPolicy");
    let details = detail_codes(&b);
    for expected in [
        "InvalidValue",
        "InvalidDuration",
        "TooManyApprovalStages",
        "InvalidRegexPattern",
    ] {
        assert!(details.iter().any(|d| d == expected), "{expected}: {b}");
    }
    let targets: Vec<&str> = b["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["target"].as_str().unwrap())
        .collect();
    assert!(targets.contains(&"expiration.duration"), "{targets:?}");
    assert!(
        targets.contains(&"questions[0].regexPattern"),
        "{targets:?}"
    );
    assert!(
        targets.contains(&"specificAllowedTargets[0]"),
        "{targets:?}"
    );

    // Unknown ids: the package, a user named as approver.
    let mut body = manager_approval(Uuid::new_v4());
    body["accessPackage"] = json!({ "id": Uuid::new_v4() });
    body["displayName"] = json!("x");
    let (s, b) = t.post(&em("/assignmentPolicies"), BOOTSTRAP, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(detail_codes(&b), ["UnknownAccessPackage"]);
    let mut body = manager_approval(Uuid::new_v4());
    body["accessPackage"] = json!({ "id": package });
    let (s, b) = t.post(&em("/assignmentPolicies"), BOOTSTRAP, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(detail_codes(&b), ["UnknownPrincipal"]);
    assert_eq!(
        b["error"]["details"][0]["target"],
        "requestApprovalSettings.stages[0].fallbackPrimaryApprovers[0]"
    );

    // A question of a type Eligo does not know, a manager three levels up, an unknown field.
    let mut body = manager_approval(fallback);
    body["accessPackage"] = json!({ "id": package });
    body["questions"] = json!([{ "@odata.type": "#microsoft.graph.accessPackageSliderQuestion", "text": "How much?" }]);
    body["requestApprovalSettings"]["stages"][0]["primaryApprovers"][0]["managerLevel"] = json!(3);
    body["approvalMode"] = json!("Serial");
    let (s, b) = t.post(&em("/assignmentPolicies"), BOOTSTRAP, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        detail_codes(&b),
        [
            "UnknownProperty",
            "InvalidManagerLevel",
            "UnknownQuestionType"
        ]
    );

    let (_, all) = t.get(&em("/assignmentPolicies"), BOOTSTRAP).await;
    assert_eq!(all["value"], json!([]), "nothing was stored");
    assert!(
        t.audited_as("Create access package assignment policy")
            .await
            .is_empty()
    );

    // A good policy, then a bad PATCH: the policy stays as it was.
    let policy = t
        .policy(BOOTSTRAP, package, manager_approval(fallback))
        .await;
    let url = em(&format!("/assignmentPolicies/{}", id_of(&policy)));
    let (s, b) = t
        .patch(&url, BOOTSTRAP, json!({ "expiration": { "type": "afterDuration", "duration": "P1D", "colour": 1 }, "allowedTargetScope": "everybody" }))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(detail_codes(&b), ["InvalidValue", "UnknownProperty"]);
    let (_, after) = t.get(&url, BOOTSTRAP).await;
    assert_eq!(after, policy);
}

#[tokio::test]
async fn bad_catalogs_packages_and_role_scopes() {
    let t = TestApp::new().await;
    let (s, b) = t
        .post(
            &em("/catalogs"),
            BOOTSTRAP,
            json!({ "displayName": "", "state": "open", "catalogType": "serviceDefault" }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code(&b), "InvalidCatalog");
    assert_eq!(
        detail_codes(&b),
        ["InvalidDisplayName", "InvalidCatalogType", "InvalidValue"]
    );
    let (s, b) = t
        .post(
            &em("/accessPackages"),
            BOOTSTRAP,
            json!({ "displayName": "P", "catalog": { "id": Uuid::new_v4() } }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(detail_codes(&b), ["UnknownCatalog"]);
    let (_, all) = t.get(&em("/accessPackages"), BOOTSTRAP).await;
    assert_eq!(all["value"], json!([]));

    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let package = t.package(BOOTSTRAP, catalog, "P").await;
    let (s, b) = t
        .post(
            &em("/resourceRequests"),
            BOOTSTRAP,
            json!({ "requestType": "adminAdd", "catalog": { "id": catalog },
                    "resource": { "originId": Uuid::new_v4(), "originSystem": "AadGroup" } }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(detail_codes(&b), ["UnknownResource"]);
    // A group that is not in the package's catalog.
    let other = t.group("Elsewhere").await;
    let (s, b) = t
        .post(
            &em(&format!("/accessPackages/{package}/resourceRoleScopes")),
            BOOTSTRAP,
            json!({ "role": { "originId": format!("Member_{other}"), "originSystem": "AadGroup" },
                    "scope": { "originId": other, "originSystem": "AadGroup", "isRootScope": true } }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(detail_codes(&b), ["UnknownResourceRole"]);
    let (s, _) = t
        .get(
            &em(&format!("/accessPackages/{}", Uuid::new_v4())),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
