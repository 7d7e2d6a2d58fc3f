//! Separation of duties outside access package requests: adding a member to a group (nesting
//! included, through every level), PIM for Groups eligibility, active assignment and
//! activation are refused when they would give a holder of a package an incompatible group;
//! unrelated changes go through; and the incompatibility report lists who holds both already.

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

const G: &str = "/v1/identityGovernance/privilegedAccess/group";

async fn declare(t: &TestApp, package: Uuid, what: &str, url: String) {
    let (s, b) = t
        .post(
            &em(&format!("/accessPackages/{package}/{what}/$ref")),
            BOOTSTRAP,
            json!({ "@odata.id": url }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
}

async fn incompatible_group(t: &TestApp, package: Uuid, group: Uuid) {
    declare(
        t,
        package,
        "incompatibleGroups",
        format!("https://graph.microsoft.com/v1.0/groups/{group}"),
    )
    .await;
}

async fn add(t: &TestApp, group: Uuid, member: Uuid) -> (StatusCode, Value) {
    t.post(
        &format!("/v1/groups/{group}/members/$ref"),
        BOOTSTRAP,
        json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}") }),
    )
    .await
}

/// A 400 with `code`, naming everything in `names`.
fn assert_refused(s: StatusCode, b: &Value, code_: &str, names: &[&str]) {
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code(b), code_, "{b}");
    let message = b["error"]["message"].as_str().unwrap();
    for n in names {
        assert!(message.contains(n), "{n} in {message}");
    }
}

async fn failures(t: &TestApp, activity: &str, code_: &str) -> usize {
    t.audited_as(activity)
        .await
        .iter()
        .filter(|e| {
            e["result"] == "failure"
                && e["additionalDetails"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["key"] == "code" && d["value"] == code_)
        })
        .count()
}

async fn pim(t: &TestApp, token: &str, what: &str, body: Value) -> (StatusCode, Value) {
    let mut body = body;
    body["justification"] = json!("on-call rota");
    let duration = if what.starts_with("eligibility") {
        "P30D"
    } else {
        "PT4H"
    };
    body["scheduleInfo"] =
        json!({ "expiration": { "type": "afterDuration", "duration": duration } });
    t.post(&format!("{G}/{what}"), token, body).await
}

#[tokio::test]
async fn membership_paths_refuse_an_incompatible_group_and_nothing_else() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let alice_token = t.sign_in("alice").await;
    let bob = t.user("bob").await;
    let officers = t.group("Compliance officers").await;
    let risky = t.group("Risky").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let officer = t
        .group_package(catalog, "Compliance Officer", officers, json!({}))
        .await;
    let (s, r) = t
        .ask(&alice_token, "userAdd", &officer, None, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    // Carol is eligible for Risky before she holds the officer package: eligibility is no
    // membership, so her request goes through; activating it later is refused.
    let carol = t.user("carol").await;
    let carol_token = t.sign_in("carol").await;
    let (s, b) = pim(
        &t,
        BOOTSTRAP,
        "eligibilityScheduleRequests",
        json!({ "action": "adminAssign", "principalId": carol, "groupId": risky, "accessId": "member" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, r) = t
        .ask(&carol_token, "userAdd", &officer, None, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    incompatible_group(&t, officer.package, risky).await;

    // A direct member: refused, naming the person, the package and the group; audited.
    let (s, b) = add(&t, risky, alice).await;
    assert_refused(
        s,
        &b,
        "IncompatibleGroup",
        &["Compliance Officer", "Risky", &alice.to_string()],
    );
    assert!(!t.members(risky).await.contains(&alice));
    assert_eq!(
        failures(&t, "Add member to group", "IncompatibleGroup").await,
        1
    );

    // Unrelated changes go through: Bob (no package) into Risky, Alice into another group.
    let (s, b) = add(&t, risky, bob).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let team = t.group("Team").await;
    let (s, b) = add(&t, team, alice).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");

    // Nesting: the Team (Alice in it) into Risky, or into a group inside Risky.
    let (s, b) = add(&t, risky, team).await;
    assert_refused(
        s,
        &b,
        "IncompatibleGroup",
        &["Compliance Officer", "Risky", &alice.to_string()],
    );
    let inside = t.group("Risky sub-team").await;
    let (s, b) = add(&t, risky, inside).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = add(&t, inside, team).await;
    assert_refused(s, &b, "IncompatibleGroup", &["Risky", &alice.to_string()]);
    assert!(!t.members(inside).await.contains(&team));
    assert!(!t.members(risky).await.contains(&team));
    assert_eq!(
        failures(&t, "Add member to group", "IncompatibleGroup").await,
        3
    );

    // PIM for Groups: eligibility and active assignment of membership refused.
    for what in ["eligibilityScheduleRequests", "assignmentScheduleRequests"] {
        let (s, b) = pim(
            &t,
            BOOTSTRAP,
            what,
            json!({ "action": "adminAssign", "principalId": alice, "groupId": risky, "accessId": "member" }),
        )
        .await;
        assert_refused(s, &b, "IncompatibleGroup", &["Compliance Officer", "Risky"]);
    }
    // Ownership is not membership: unaffected.
    let (s, b) = pim(
        &t,
        BOOTSTRAP,
        "eligibilityScheduleRequests",
        json!({ "action": "adminAssign", "principalId": alice, "groupId": risky, "accessId": "owner" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // Activation of an eligibility given before: refused, audited.
    let (s, b) = pim(
        &t,
        &carol_token,
        "assignmentScheduleRequests",
        json!({ "action": "selfActivate", "principalId": carol, "groupId": risky, "accessId": "member" }),
    )
    .await;
    assert_refused(s, &b, "IncompatibleGroup", &["Risky", &carol.to_string()]);
    assert!(!t.members(risky).await.contains(&carol));
    assert_eq!(
        failures(
            &t,
            "Add member to group requested (PIM activation)",
            "IncompatibleGroup"
        )
        .await,
        1
    );
}

fn rows(report: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = report["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["principal"]["userPrincipalName"]
                    .as_str()
                    .unwrap()
                    .split('@')
                    .next()
                    .unwrap()
                    .to_string(),
                r["conflictsWith"]["kind"].as_str().unwrap().to_string(),
                r["conflictsWith"]["displayName"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn the_report_lists_who_held_both_before_the_rule_until_removed() {
    let t = TestApp::new().await;
    t.user("alice").await;
    let alice_token = t.sign_in("alice").await;
    let bob = t.user("bob").await;
    let bob_token = t.sign_in("bob").await;
    t.user("dave").await;
    let dave_token = t.sign_in("dave").await;
    let officers = t.group("Compliance officers").await;
    let helpdesk_group = t.group("Help desk").await;
    let risky = t.group("Risky").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let officer = t
        .group_package(catalog, "Compliance Officer", officers, json!({}))
        .await;
    let helpdesk = t
        .group_package(catalog, "Help Desk Technician", helpdesk_group, json!({}))
        .await;
    let mut alice_helpdesk = None;
    for (token, p) in [
        (&alice_token, &officer),
        (&alice_token, &helpdesk),
        (&bob_token, &officer),
        (&dave_token, &officer),
    ] {
        let (s, r) = t.ask(token, "userAdd", p, None, json!({})).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        if token == &alice_token && p.package == helpdesk.package {
            alice_helpdesk = Some(assignment_of(&r));
        }
    }
    t.add_member(risky, bob).await;
    let report = |p: Uuid| em(&format!("/accessPackages/{p}/incompatibilityReport"));
    // No rule yet: nobody.
    let (s, b) = t.get(&report(officer.package), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["value"], json!([]));

    declare(
        &t,
        officer.package,
        "incompatibleAccessPackages",
        format!(
            "https://graph.microsoft.com/v1.0/identityGovernance/entitlementManagement/accessPackages/{}",
            helpdesk.package
        ),
    )
    .await;
    incompatible_group(&t, officer.package, risky).await;
    let (s, b) = t.get(&report(officer.package), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        rows(&b),
        [
            (
                "alice".into(),
                "accessPackage".into(),
                "Help Desk Technician".into()
            ),
            ("bob".into(), "group".into(), "Risky".into()),
        ]
    );
    assert_eq!(
        b["value"][0]["accessPackage"]["displayName"],
        "Compliance Officer"
    );
    // The rule holds both ways: from the help desk package, Alice holds the officer package.
    let (s, b) = t.get(&report(helpdesk.package), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        rows(&b),
        [(
            "alice".into(),
            "accessPackage".into(),
            "Compliance Officer".into()
        )]
    );

    // A person without entitlement management rights may not read it.
    let (s, b) = t.get(&report(officer.package), &dave_token).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");

    // Removed, Alice is no longer listed.
    let (s, r) = t
        .remove_assignment(BOOTSTRAP, "adminRemove", alice_helpdesk.unwrap())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, b) = t.get(&report(officer.package), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(rows(&b), [("bob".into(), "group".into(), "Risky".into())]);
    let (s, b) = t.get(&report(Uuid::new_v4()), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
}

#[tokio::test]
async fn an_activation_approved_after_the_rule_was_declared_fails() {
    let t = TestApp::new().await;
    let alice_person = t.person("alice").await;
    let (alice, alice_token) = (alice_person.id, alice_person.token.clone());
    let bob_person = t.person("bob").await;
    let (bob, bob_token) = (bob_person.id, bob_person.token.clone());
    let officers = t.group("Compliance officers").await;
    let risky = t.group("Risky").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let officer = t
        .group_package(catalog, "Compliance Officer", officers, json!({}))
        .await;
    let (s, r) = t
        .ask(&alice_token, "userAdd", &officer, None, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, b) = pim(
        &t,
        BOOTSTRAP,
        "eligibilityScheduleRequests",
        json!({ "action": "adminAssign", "principalId": alice, "groupId": risky, "accessId": "member" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // Bob approves activations of Risky membership.
    let (s, b) = t
        .get(
            &format!(
                "/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '{risky}' and scopeType eq 'Group' and roleDefinitionId eq 'member'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let policy = b["value"][0]["policyId"].as_str().unwrap().to_string();
    let (s, b) = t
        .patch(
            &format!(
                "/v1/policies/roleManagementPolicies/{policy}/rules/Approval_EndUser_Assignment"
            ),
            BOOTSTRAP,
            json!({ "setting": { "isApprovalRequired": true, "approvalStages": [
                { "approvalStageTimeOutInDays": 1, "primaryApprovers": [
                    { "@odata.type": "#microsoft.graph.singleUser", "userId": bob } ] } ] } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    t.step_up(&alice_person).await;
    let (s, request) = pim(
        &t,
        &alice_token,
        "assignmentScheduleRequests",
        json!({ "action": "selfActivate", "principalId": alice, "groupId": risky, "accessId": "member" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{request}");
    assert_eq!(request["status"], "PendingApproval");
    // While it waits, the package is declared incompatible with the group.
    incompatible_group(&t, officer.package, risky).await;
    t.step_up(&bob_person).await;
    let approval = request["approvalId"].as_str().unwrap();
    let (s, b) = t
        .get(&format!("{G}/assignmentApprovals/{approval}"), &bob_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let step = b["steps"][0]["id"].as_str().unwrap().to_string();
    let (s, b) = t
        .patch(
            &format!("{G}/assignmentApprovals/{approval}/steps/{step}"),
            &bob_token,
            json!({ "reviewResult": "Approve", "justification": "known change" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert!(!t.members(risky).await.contains(&alice));
    let id = request["id"].as_str().unwrap();
    let (s, b) = t
        .get(&format!("{G}/assignmentScheduleRequests/{id}"), BOOTSTRAP)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "Failed", "{b}");
}
