//! What meets at the end of an assignment: the scheduler's expiry and the holder's removal at
//! the same moment take the access back once; an extension approved after the end brings
//! nothing back (no one keeps access past its end by having asked for more in time).

use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::json;

use super::support::*;
use crate::harness::*;

const APPROVALS: &str = "/accessPackageAssignmentApprovals";

#[tokio::test]
async fn expiry_and_removal_at_once_take_the_access_back_once() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let token = t.sign_in("alice").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t
        .group_package(
            catalog,
            "One hour",
            group,
            json!({ "expiration": { "type": "afterDuration", "duration": "PT1H" } }),
        )
        .await;
    let (_, r) = t.ask(&token, "userAdd", &p, None, json!({})).await;
    let assignment = assignment_of(&r);
    assert_eq!(t.members(group).await, [alice]);

    t.clock.advance(TimeDelta::hours(1));
    let (pass, removal) = tokio::join!(
        eligo::service::pim::scheduler::run_due(&t.app),
        t.remove_assignment(&token, "userRemove", assignment)
    );
    let pass = pass.expect("scheduler pass");
    // Either may come first; the loser finds nothing left to take back and says so (a 4xx,
    // never a 5xx), or the scheduler finds it already removed.
    assert!(
        removal.0 == StatusCode::CREATED || removal.0.is_client_error(),
        "{removal:?}"
    );
    assert_eq!(
        pass.expired_assignments + usize::from(removal.0 == StatusCode::CREATED),
        1,
        "exactly one of them removed it: {removal:?}"
    );
    assert!(t.members(group).await.is_empty());
    let a = t.assignment(assignment).await;
    assert_eq!(a["state"], "expired", "{a}");
    let removed = t
        .audited_as("Remove member from group")
        .await
        .into_iter()
        .filter(|e| e.to_string().contains(&assignment.to_string()))
        .count();
    assert_eq!(removed, 1, "the membership is taken back once");
    assert_eq!(
        t.tick(TimeDelta::minutes(1)).await.expired_assignments,
        0,
        "and never again"
    );
}

#[tokio::test]
async fn an_extension_approved_after_the_end_brings_nothing_back() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let boss = t.person("boss").await;
    t.set_manager(alice, boss.id).await;
    let token = t.sign_in("alice").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let p = t
        .group_package(
            catalog,
            "A day, more with approval",
            group,
            json!({ "expiration": { "type": "afterDuration", "duration": "P1D" },
                    "requestApprovalSettings": { "isApprovalRequiredForAdd": false,
                        "isApprovalRequiredForUpdate": true,
                        "stages": [{ "durationBeforeAutomaticDenial": "P7D",
                            "primaryApprovers": [{ "@odata.type": "#microsoft.graph.requestorManager",
                                                   "managerLevel": 1 }] }] } }),
        )
        .await;
    let (s, r) = t.ask(&token, "userAdd", &p, None, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "delivered", "{r}");
    let assignment = assignment_of(&r);

    // Near the end Alice asks for a day more; it waits for her manager.
    t.clock.advance(TimeDelta::hours(23));
    let token = t.sign_in("alice").await;
    let (s, update) = t
        .post(
            &em(REQUESTS),
            &token,
            json!({ "requestType": "userUpdate", "justification": "the case runs on",
                    "assignment": { "id": assignment, "accessPackageId": p.package,
                                    "assignmentPolicyId": p.policy } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{update}");
    assert_eq!(update["state"], "pendingApproval", "{update}");
    let request = update["id"].as_str().unwrap().to_string();

    // The end comes first: the access goes, the waiting extension does not hold it open.
    assert_eq!(t.tick(TimeDelta::hours(1)).await.expired_assignments, 1);
    assert!(t.members(group).await.is_empty());

    // The manager approves afterwards: nothing comes back, and the request says why.
    let boss = Person {
        token: t.sign_in("boss").await,
        ..boss
    };
    t.step_up(&boss).await;
    let (s, a) = t
        .get(&em(&format!("{APPROVALS}/{request}")), BOOTSTRAP)
        .await;
    let decided = if s == StatusCode::OK && a["stages"][0]["id"].is_string() {
        let stage = a["stages"][0]["id"].as_str().unwrap().to_string();
        t.patch(
            &em(&format!("{APPROVALS}/{request}/stages/{stage}")),
            &boss.token,
            json!({ "reviewResult": "Approve", "justification": "fine" }),
        )
        .await
    } else {
        (s, a)
    };
    assert!(!decided.0.is_server_error(), "{decided:?}");
    assert!(
        t.members(group).await.is_empty(),
        "the membership came back"
    );
    let a = t.assignment(assignment).await;
    assert_eq!(a["state"], "expired", "{a}");
    let (_, r) = t
        .get(&em(&format!("{REQUESTS}/{request}")), BOOTSTRAP)
        .await;
    // Decided again at the last approval, the extension finds no live assignment to extend.
    assert_eq!(r["state"], "denied", "{r}");
    assert_eq!(t.tick(TimeDelta::days(2)).await.expired_assignments, 0);
    assert!(t.members(group).await.is_empty());
}
