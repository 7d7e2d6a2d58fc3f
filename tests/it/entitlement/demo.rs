//! The demo tenant's access packages (`eligo serve --demo`): what the README's access-package
//! tour relies on is there, and the tour's main path works: Erin asks, her manager Alice
//! approves, Erin is in the group; the incompatible package is refused.

use axum::http::{Method, StatusCode};
use eligo::service::demo::DEMO_PASSWORD;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

async fn token(t: &TestApp, nick: &str) -> String {
    let (s, b) = t
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(
                json!({ "username": format!("{nick}@contoso.example"), "password": DEMO_PASSWORD }),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["access_token"].as_str().unwrap().to_string()
}

/// Marks `token`'s session as having proved a second factor now (approving needs one; the
/// portal and API tours enrol an authenticator for that).
async fn stepped_up(t: &TestApp, token: &str) {
    let mut tx = t.app.store.write().await.unwrap();
    let hash = eligo::auth::token::digest(token);
    let mut record = tx.get_token(&hash).await.unwrap().unwrap();
    record.last_mfa_at = Some(t.clock.now_utc());
    record.amr = vec!["pwd".into(), "otp".into()];
    tx.update_token(&record).await.unwrap();
    tx.commit().await.unwrap();
}

async fn user_id(t: &TestApp, nick: &str) -> (Uuid, Option<Uuid>) {
    let mut tx = t.app.store.read().await.unwrap();
    let u = tx
        .find_user_by_upn(&format!("{nick}@contoso.example"))
        .await
        .unwrap()
        .expect("a demo user");
    (u.id, u.manager_id)
}

async fn package_named(t: &TestApp, token: &str, name: &str) -> Value {
    let (s, b) = t.get(&em("/accessPackages"), token).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"] == name)
        .unwrap_or_else(|| panic!("no package {name}: {b}"))
        .clone()
}

/// As a requester sees it: the package among those they may request, and its one policy.
async fn requestable(t: &TestApp, token: &str, name: &str) -> (Value, String) {
    let (s, b) = t
        .get(
            &em("/accessPackages/filterByCurrentUser(on='allowedRequestor')"),
            token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let p = b["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"] == name)
        .unwrap_or_else(|| panic!("{name} is not requestable: {b}"))
        .clone();
    let (s, r) = t
        .post(
            &em(&format!(
                "/accessPackages/{}/getApplicablePolicyRequirements",
                p["id"].as_str().unwrap()
            )),
            token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let policy = r["value"][0]["policyId"].as_str().unwrap().to_string();
    (p, policy)
}

async fn only_policy(t: &TestApp, token: &str, package: &Value) -> Value {
    let (s, b) = t
        .get(
            &em(&format!(
                "/accessPackages/{}/assignmentPolicies",
                package["id"].as_str().unwrap()
            )),
            token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["value"].as_array().unwrap().len(), 1, "{b}");
    b["value"][0].clone()
}

async fn members(t: &TestApp, group: &str) -> Vec<String> {
    let (s, b) = t
        .get(&format!("/v1/groups/{group}/members"), BOOTSTRAP)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["userPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn the_demo_has_the_compliance_catalog_its_packages_and_a_manager_to_approve() {
    let t = TestApp::demo().await;
    let ada = token(&t, "ada").await;
    let (ada_id, _) = user_id(&t, "ada").await;
    let (alice_id, _) = user_id(&t, "alice").await;
    let (_, erins_manager) = user_id(&t, "erin").await;
    assert_eq!(erins_manager, Some(alice_id), "Erin reports to Alice");

    let (s, catalogs) = t.get(&em("/catalogs"), &ada).await;
    assert_eq!(s, StatusCode::OK, "{catalogs}");
    let compliance = catalogs["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["displayName"] == "Compliance")
        .expect("the Compliance catalog")
        .clone();
    let (_, packages) = t
        .get(
            &em(&format!(
                "/catalogs/{}/accessPackages",
                compliance["id"].as_str().unwrap()
            )),
            &ada,
        )
        .await;
    let mut names: Vec<&str> = packages["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["displayName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Compliance Officer",
            "Help Desk Technician",
            "Insider Risk Management"
        ]
    );

    // The IRM package hands out membership of the (empty) IRM admins group...
    let irm = package_named(&t, &ada, "Insider Risk Management").await;
    let (s, scopes) = t
        .get(
            &em(&format!(
                "/accessPackages/{}/resourceRoleScopes?$expand=role,scope",
                irm["id"].as_str().unwrap()
            )),
            &ada,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{scopes}");
    assert_eq!(scopes["value"].as_array().unwrap().len(), 1, "{scopes}");
    let role = &scopes["value"][0]["role"];
    assert_eq!(role["displayName"], "Member", "{scopes}");
    assert_eq!(role["originSystem"], "AadGroup", "{scopes}");
    let group = role["originId"]
        .as_str()
        .unwrap()
        .trim_start_matches("Member_")
        .to_string();
    let (_, g) = t.get(&format!("/v1/groups/{group}"), BOOTSTRAP).await;
    assert_eq!(g["displayName"], "Insider Risk Management Admins", "{g}");
    assert!(members(&t, &group).await.is_empty(), "empty at rest");

    // ... under the scenario's policy.
    let policy = only_policy(&t, &ada, &irm).await;
    assert_eq!(policy["allowedTargetScope"], "allMemberUsers", "{policy}");
    assert_eq!(policy["expiration"]["type"], "afterDuration", "{policy}");
    assert_eq!(policy["expiration"]["duration"], "P30D", "{policy}");
    let approval = &policy["requestApprovalSettings"];
    assert_eq!(approval["isApprovalRequiredForAdd"], true, "{policy}");
    assert_eq!(
        approval["isRequestorJustificationRequired"], true,
        "{policy}"
    );
    let stages = approval["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 1, "{policy}");
    assert_eq!(
        stages[0]["primaryApprovers"][0]["@odata.type"],
        "#microsoft.graph.requestorManager"
    );
    assert_eq!(stages[0]["primaryApprovers"][0]["managerLevel"], 1);
    assert_eq!(
        stages[0]["fallbackPrimaryApprovers"][0]["userId"],
        json!(ada_id)
    );

    // Compliance Officer and Help Desk Technician exclude each other.
    let officer = package_named(&t, &ada, "Compliance Officer").await;
    let (s, incompatible) = t
        .get(
            &em(&format!(
                "/accessPackages/{}/incompatibleAccessPackages",
                officer["id"].as_str().unwrap()
            )),
            &ada,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{incompatible}");
    assert_eq!(
        incompatible["value"][0]["displayName"], "Help Desk Technician",
        "{incompatible}"
    );
}

#[tokio::test]
async fn erin_asks_for_irm_alice_approves_and_the_incompatible_package_is_refused() {
    let t = TestApp::demo().await;
    let erin = token(&t, "erin").await;
    let alice = token(&t, "alice").await;
    let (irm, policy) = requestable(&t, &erin, "Insider Risk Management").await;
    let (s, r) = t
        .post(
            &em("/assignmentRequests"),
            &erin,
            json!({ "requestType": "userAdd", "justification": "Case IRM-42",
                    "assignment": { "accessPackageId": irm["id"], "assignmentPolicyId": policy } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "pendingApproval", "{r}");
    let request = r["id"].as_str().unwrap().to_string();

    stepped_up(&t, &alice).await;
    let (s, waiting) = t
        .get(
            &em("/accessPackageAssignmentApprovals/filterByCurrentUser(on='approver')"),
            &alice,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{waiting}");
    assert_eq!(waiting["value"][0]["id"], json!(request), "{waiting}");
    let stage = waiting["value"][0]["stages"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, b) = t
        .patch(
            &em(&format!(
                "/accessPackageAssignmentApprovals/{request}/stages/{stage}"
            )),
            &alice,
            json!({ "reviewResult": "Approve", "justification": "Erin is on the case" }),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let (_, r) = t
        .get(&em(&format!("/assignmentRequests/{request}")), &erin)
        .await;
    assert_eq!(r["state"], "delivered", "{r}");

    // Help Desk Technician (self-service), then Compliance Officer is refused.
    for (name, ok) in [
        ("Help Desk Technician", true),
        ("Compliance Officer", false),
    ] {
        let (p, policy) = requestable(&t, &erin, name).await;
        let (s, r) = t
            .post(
                &em("/assignmentRequests"),
                &erin,
                json!({ "requestType": "userAdd", "justification": "rota",
                        "assignment": { "accessPackageId": p["id"], "assignmentPolicyId": policy } }),
            )
            .await;
        if ok {
            assert_eq!(s, StatusCode::CREATED, "{r}");
            assert_eq!(r["state"], "delivered", "{name}: {r}");
        } else {
            assert!(s.is_client_error(), "{name}: {s} {r}");
        }
    }
}
