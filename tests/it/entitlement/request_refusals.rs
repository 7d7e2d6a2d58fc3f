//! Requests refused: each a 400 with a stable code and a detail per broken rule, nothing
//! changed; separation of duties names the conflicting package or group, also when the group
//! is reached through nesting.

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

fn ref_to(what: &str, id: Uuid) -> Value {
    json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/identityGovernance/entitlementManagement/{what}/{id}") })
}

/// What a refusal must not have changed: requests, assignments, the group's members.
async fn snapshot(t: &TestApp, group: Uuid) -> (usize, usize, Vec<Uuid>) {
    let (_, r) = t.get(&em(REQUESTS), BOOTSTRAP).await;
    let (_, a) = t.get(&em("/assignments"), BOOTSTRAP).await;
    (
        r["value"].as_array().unwrap().len(),
        a["value"].as_array().unwrap().len(),
        t.members(group).await,
    )
}

#[tokio::test]
async fn every_bad_request_is_refused_with_a_detail_per_rule_and_changes_nothing() {
    let t = TestApp::new().await;
    t.user("alice").await;
    let bob = t.user("bob").await;
    let token = t.sign_in("alice").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t
        .group_package(
            catalog,
            "IRM",
            group,
            json!({
                "expiration": { "type": "afterDuration", "duration": "P1D" },
                "requestorSettings": { "enableTargetsToSelfAddAccess": true, "allowCustomAssignmentSchedule": true },
                "requestApprovalSettings": { "isRequestorJustificationRequired": true },
                "questions": [{ "@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "id": "case",
                                "text": "Case number", "isRequired": true, "regexPattern": "^IRM-[0-9]+$" }],
            }),
        )
        .await;
    let only_bob = t
        .group_package(
            catalog,
            "Bob only",
            group,
            json!({ "allowedTargetScope": "specificDirectoryUsers",
                    "specificAllowedTargets": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": bob }] }),
        )
        .await;
    let answer = |v: &str| {
        json!({ "answers": [{ "@odata.type": "#microsoft.graph.accessPackageAnswerString",
                                                "value": v, "answeredQuestion": { "id": "case" } }] })
    };
    let before = snapshot(&t, group).await;
    let unknown = Uuid::new_v4();
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "unknown package and policy",
            json!({ "requestType": "userAdd", "assignment": { "assignmentPolicyId": unknown, "accessPackageId": unknown } }),
            vec!["UnknownAccessPackage", "UnknownAssignmentPolicy"],
        ),
        (
            "unknown target",
            json!({ "requestType": "adminAdd", "assignment": { "targetId": unknown, "assignmentPolicyId": p.policy, "accessPackageId": p.package } }),
            vec!["UnknownTarget"],
        ),
        (
            "policy of another package",
            json!({ "requestType": "userAdd", "justification": "x", "assignment": { "assignmentPolicyId": only_bob.policy, "accessPackageId": p.package } }),
            vec!["PolicyNotOfPackage", "NotAllowedRequestor"],
        ),
        (
            "not an allowed requestor",
            json!({ "requestType": "userAdd", "assignment": { "assignmentPolicyId": only_bob.policy, "accessPackageId": only_bob.package } }),
            vec!["NotAllowedRequestor"],
        ),
        (
            "no justification, no answer",
            json!({ "requestType": "userAdd", "assignment": { "assignmentPolicyId": p.policy, "accessPackageId": p.package } }),
            vec!["JustificationRequired", "RequiredQuestionUnanswered"],
        ),
        (
            "too long",
            json!({ "requestType": "UserAdd", "justification": "x", "answers": answer("IRM-1")["answers"],
                 "assignment": { "assignmentPolicyId": p.policy, "accessPackageId": p.package },
                 "schedule": { "expiration": { "type": "afterDuration", "duration": "P2D" } } }),
            vec!["ExpirationRule"],
        ),
        (
            "too short",
            json!({ "requestType": "UserAdd", "justification": "x", "answers": answer("IRM-1")["answers"],
                 "accessPackageAssignment": { "assignmentPolicyId": p.policy, "accessPackageId": p.package },
                 "schedule": { "expiration": { "type": "afterDuration", "duration": "PT1M" } } }),
            vec!["AssignmentDurationTooShort"],
        ),
        (
            "bad answer",
            json!({ "requestType": "userAdd", "justification": "x", "answers": answer("nope")["answers"],
                 "assignment": { "assignmentPolicyId": p.policy, "accessPackageId": p.package } }),
            vec!["AnswerDoesNotMatchPattern"],
        ),
        (
            "malformed",
            json!({ "requestType": "grantEverything", "assignment": { "accessPackageId": "x" } }),
            vec!["InvalidValue", "InvalidValue"],
        ),
    ];
    for (what, body, codes) in cases {
        // An administrator's request is refused for lack of rights before anything else.
        let who = if what == "unknown target" {
            BOOTSTRAP
        } else {
            token.as_str()
        };
        let (s, b) = t.post(&em(REQUESTS), who, body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{what}: {b}");
        assert_eq!(code(&b), "InvalidRequest", "{what}: {b}");
        assert_eq!(detail_codes(&b), codes, "{what}: {b}");
    }
    assert_eq!(snapshot(&t, group).await, before, "nothing changed");

    // The same request done right is delivered; a second one is a duplicate.
    let mut ok = json!({ "requestType": "userAdd", "justification": "case work",
        "assignment": { "assignmentPolicyId": p.policy, "accessPackageId": p.package } });
    ok["answers"] = answer("IRM-42")["answers"].clone();
    let (s, b) = t.post(&em(REQUESTS), &token, ok.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let before = snapshot(&t, group).await;
    let (s, b) = t.post(&em(REQUESTS), &token, ok).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(detail_codes(&b), ["AssignmentExists"]);
    assert_eq!(snapshot(&t, group).await, before);
}

#[tokio::test]
async fn separation_of_duties_names_the_conflict() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let token = t.sign_in("alice").await;
    let officers = t.group("Compliance officers").await;
    let helpdesk_group = t.group("Help desk").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let officer = t
        .group_package(catalog, "Compliance Officer", officers, json!({}))
        .await;
    let helpdesk = t
        .group_package(catalog, "Help Desk Technician", helpdesk_group, json!({}))
        .await;
    let (s, b) = t
        .post(
            &em(&format!(
                "/accessPackages/{}/incompatibleAccessPackages/$ref",
                officer.package
            )),
            BOOTSTRAP,
            ref_to("accessPackages", helpdesk.package),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");

    let (s, r) = t.ask(&token, "userAdd", &helpdesk, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let before = snapshot(&t, officers).await;
    let (s, refused) = t.ask(&token, "userAdd", &officer, None, json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(detail_codes(&refused), ["IncompatibleAccessPackage"]);
    assert!(
        refused["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Help Desk Technician"),
        "{refused}"
    );
    // Declared on the officer package, it holds the other way as well, for administrators too.
    let (s, refused) = t
        .ask(BOOTSTRAP, "adminAdd", &officer, Some(alice), json!({}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(detail_codes(&refused), ["IncompatibleAccessPackage"]);
    assert_eq!(snapshot(&t, officers).await, before);

    // A group incompatible with the package, reached through nesting.
    let risky = t.group("Risky").await;
    let inner = t.group("Inner team").await;
    t.add_member(risky, inner).await;
    let bob = t.user("bob").await;
    let bob_token = t.sign_in("bob").await;
    t.add_member(inner, bob).await;
    let (s, b) = t
        .post(
            &em(&format!(
                "/accessPackages/{}/incompatibleGroups/$ref",
                officer.package
            )),
            BOOTSTRAP,
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/groups/{risky}") }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, refused) = t
        .ask(&bob_token, "userAdd", &officer, None, json!({}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(detail_codes(&refused), ["IncompatibleGroup"]);
    assert!(
        refused["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Risky"),
        "{refused}"
    );
    assert!(!t.members(officers).await.contains(&bob));

    // Holding the officer package, Carol may not take a package that would put her in the
    // group the officer package excludes.
    let carol = t.user("carol").await;
    let carol_token = t.sign_in("carol").await;
    let (s, r) = t
        .ask(&carol_token, "userAdd", &officer, None, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let into_risky = t
        .group_package(catalog, "Risky membership", risky, json!({}))
        .await;
    let (s, refused) = t
        .ask(&carol_token, "userAdd", &into_risky, None, json!({}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(detail_codes(&refused), ["IncompatibleGroup"]);
    let message = refused["error"]["details"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("Risky") && message.contains("Compliance Officer"),
        "{message}"
    );
    assert!(!t.members(risky).await.contains(&carol));
}
