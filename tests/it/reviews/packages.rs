//! An access package policy's `reviewSettings` run as an access review of the policy's
//! assignments: denied assignments are removed (and what they gave with them) at the end.

use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::json;

use super::support::*;
use crate::entitlement::support::*;
use crate::harness::*;

#[tokio::test]
async fn a_policys_review_settings_review_its_assignments_and_remove_the_denied_ones() {
    let t = TestApp::new().await;
    let rev = t.person("rev").await;
    let group = t.group("Auditors").await;
    let catalog = t.catalog(BOOTSTRAP, "Audit").await;
    let p = t
        .group_package(
            catalog,
            "Audit access",
            group,
            json!({ "reviewSettings": {
                "isEnabled": true, "expirationBehavior": "removeAccess", "isRecommendationEnabled": true,
                "isReviewerJustificationRequired": false, "isSelfReview": false,
                "primaryReviewers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": rev.id }],
                "schedule": { "startDateTime": t.clock.now_utc() + TimeDelta::days(1),
                              "expiration": { "type": "afterDuration", "duration": "P5D" },
                              "recurrence": { "pattern": { "type": "weekly", "interval": 1 },
                                              "range": { "type": "noEnd" } } } } }),
        )
        .await;
    let keep = t.person("keep").await;
    let lose = t.person("lose").await;
    for who in [&keep, &lose] {
        let (s, b) = t.ask(&who.token, "userAdd", &p, None, json!({})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    assert_eq!(t.members(group).await.len(), 2);
    let (_, defs) = t.get(&ar("/definitions"), BOOTSTRAP).await;
    let defs = defs["value"].as_array().unwrap().clone();
    assert_eq!(defs.len(), 1, "{defs:?}");
    let def_id = id_of(&defs[0]);
    assert!(t.instances(BOOTSTRAP, def_id).await.is_empty());
    // The first review starts at the schedule's start.
    let pass = t.tick(TimeDelta::days(1)).await;
    assert_eq!(pass.reviews_started, 1);
    let instance = id_of(&t.instance(def_id).await);
    let rev = Person {
        token: t.sign_in("rev").await,
        ..rev
    };
    let items = t.my_decisions(&rev.token, def_id, instance).await;
    assert_eq!(items.len(), 2);
    let (s, b) = t
        .review_decide(
            &rev.token,
            def_id,
            instance,
            id_of(&about(&items, keep.id)),
            "Approve",
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    // Nobody decides about "lose": expirationBehavior removeAccess denies and applies at the end.
    t.tick(TimeDelta::days(5)).await;
    assert_eq!(t.members(group).await, [keep.id]);
    let all = t.decisions(BOOTSTRAP, def_id, instance).await;
    assert_eq!(about(&all, lose.id)["decision"], "Deny");
    assert_eq!(about(&all, lose.id)["applyResult"], "AppliedSuccessfully");
    let removed = t
        .audited_as("Remove access package assignment (access review)")
        .await;
    assert_eq!(removed.len(), 1);

    // Turning reviews off stops the review: no further instance.
    let (s, b) = t
        .patch(
            &em(&format!("/assignmentPolicies/{}", p.policy)),
            BOOTSTRAP,
            json!({ "reviewSettings": null }),
        )
        .await;
    assert!(s.is_success(), "{b}");
    t.tick(TimeDelta::days(14)).await;
    assert_eq!(t.instances(BOOTSTRAP, def_id).await.len(), 1);
    let (_, def) = t
        .get(&ar(&format!("/definitions/{def_id}")), BOOTSTRAP)
        .await;
    assert_eq!(def["status"], "Completed");
}

#[tokio::test]
async fn review_settings_eligo_cannot_run_refuse_the_policy() {
    let t = TestApp::new().await;
    let group = t.group("G").await;
    let catalog = t.catalog(BOOTSTRAP, "C").await;
    let package = t.package(BOOTSTRAP, catalog, "P").await;
    t.add_role_scope(catalog, package, &group.to_string(), "AadGroup", "Member")
        .await;
    let mut body = open_policy(json!({ "reviewSettings": {
        "isEnabled": true, "isSelfReview": true, "expirationBehavior": "keepAccess",
        "schedule": { "expiration": { "type": "afterDuration", "duration": "P3D" },
                      "recurrence": { "pattern": { "type": "daily", "interval": 1 }, "range": { "type": "noEnd" } } } } }));
    body["accessPackage"] = json!({ "id": package });
    body["displayName"] = json!("Daily");
    let (s, b) = t.post(&em("/assignmentPolicies"), BOOTSTRAP, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        detail_codes(&b).contains(&"UnsupportedRecurrence".to_string()),
        "{b}"
    );
    let (_, defs) = t.get(&ar("/definitions"), BOOTSTRAP).await;
    assert_eq!(defs["value"], json!([]));
}
