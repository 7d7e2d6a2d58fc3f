//! `filterByCurrentUser(on='allowedRequestor')` and `getApplicablePolicyRequirements`: who may
//! request what, for several kinds of subject sets.

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

const MINE: &str = "/accessPackages/filterByCurrentUser(on='allowedRequestor')";

async fn requestable(t: &TestApp, token: &str) -> Vec<Uuid> {
    let (s, b) = t.get(&em(MINE), token).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["value"].as_array().unwrap().iter().map(id_of).collect()
}

#[tokio::test]
async fn each_person_sees_the_packages_they_may_request() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let bob = t.user("bob").await;
    let boss = t.user("boss").await;
    let grand = t.user("grandboss").await;
    t.set_manager(bob, boss).await;
    t.set_manager(boss, grand).await;
    let helpdesk = t.group("Help desk").await;
    t.add_member(helpdesk, bob).await;

    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let everyone = t.package(BOOTSTRAP, catalog, "Everyone").await;
    t.policy(BOOTSTRAP, everyone, open_to("allMemberUsers", json!([])))
        .await;
    let only_alice = t.package(BOOTSTRAP, catalog, "Alice only").await;
    t.policy(
        BOOTSTRAP,
        only_alice,
        open_to(
            "specificDirectoryUsers",
            json!([{ "@odata.type": "#microsoft.graph.singleUser", "userId": alice }]),
        ),
    )
    .await;
    let helpdesk_members = t.package(BOOTSTRAP, catalog, "Help desk members").await;
    t.policy(
        BOOTSTRAP,
        helpdesk_members,
        open_to(
            "SpecificDirectoryUsers",
            json!([{ "@odata.type": "microsoft.graph.groupMembers", "groupId": helpdesk }]),
        ),
    )
    .await;
    // Managers two levels up request for their people; nobody for themselves.
    let for_reports = t.package(BOOTSTRAP, catalog, "Requested by managers").await;
    t.policy(
        BOOTSTRAP,
        for_reports,
        json!({ "allowedTargetScope": "allMemberUsers",
                "requestorSettings": { "enableTargetsToSelfAddAccess": false, "enableOnBehalfRequestorsToAddAccess": true,
                    "onBehalfRequestors": [{ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 2 }] } }),
    )
    .await;
    let admins_only = t.package(BOOTSTRAP, catalog, "Admins assign").await;
    t.policy(
        BOOTSTRAP,
        admins_only,
        json!({ "allowedTargetScope": "notSpecified" }),
    )
    .await;
    let hidden = t.package(BOOTSTRAP, catalog, "Hidden").await;
    t.policy(BOOTSTRAP, hidden, open_to("allMemberUsers", json!([])))
        .await;
    let (s, _) = t
        .patch(
            &em(&format!("/accessPackages/{hidden}")),
            BOOTSTRAP,
            json!({ "isHidden": true }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };
    for (nick, expect) in [
        ("alice", vec![everyone, only_alice]),
        ("bob", vec![everyone, helpdesk_members]),
        ("boss", vec![everyone]),
        ("grandboss", vec![everyone, for_reports]),
    ] {
        let token = t.sign_in(nick).await;
        assert_eq!(
            sorted(requestable(&t, &token).await),
            sorted(expect),
            "{nick}"
        );
    }

    // A published catalog only.
    let (s, _) = t
        .patch(
            &em(&format!("/catalogs/{catalog}")),
            BOOTSTRAP,
            json!({ "state": "Unpublished" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let alice_token = t.sign_in("alice").await;
    assert!(requestable(&t, &alice_token).await.is_empty());
    let (s, b) = t
        .get(
            &em("/accessPackages/filterByCurrentUser(on='target')"),
            &alice_token,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn requirements_are_those_of_the_policies_the_caller_may_use() {
    let t = TestApp::new().await;
    t.user("alice").await;
    let fallback = t.user("fallback").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let package = t
        .package(BOOTSTRAP, catalog, "Insider Risk Management")
        .await;
    let policy = t
        .policy(BOOTSTRAP, package, manager_approval(fallback))
        .await;
    t.policy(
        BOOTSTRAP,
        package,
        json!({ "displayName": "Admins", "allowedTargetScope": "notSpecified" }),
    )
    .await;
    let token = t.sign_in("alice").await;
    let url = em(&format!(
        "/accessPackages/{package}/getApplicablePolicyRequirements"
    ));
    let (s, b) = t.post(&url, &token, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let value = b["value"].as_array().unwrap();
    assert_eq!(value.len(), 1, "{b}");
    let r: &Value = &value[0];
    assert_eq!(r["policyId"], policy["id"]);
    assert_eq!(r["policyDisplayName"], "Employees, manager approval");
    assert_eq!(r["isApprovalRequiredForAdd"], true);
    assert_eq!(r["isRequestorJustificationRequired"], true);
    assert_eq!(r["allowCustomAssignmentSchedule"], true);
    assert_eq!(r["questions"], policy["questions"]);
    assert_eq!(r["schedule"]["expiration"]["duration"], "P30D");
    let (s, _) = t
        .post(
            &em(&format!(
                "/accessPackages/{}/getApplicablePolicyRequirements",
                Uuid::new_v4()
            )),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
