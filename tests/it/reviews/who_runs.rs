//! Who may run a review: whoever may remove the reviewed access directly. An Identity
//! Governance Administrator reviewing the Global Administrators, naming themselves reviewer
//! and denying them all would be a lock-out: refused.

use axum::http::StatusCode;
use eligo_core::roles::ids::{
    GLOBAL_ADMINISTRATOR, IDENTITY_GOVERNANCE_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR,
    USER_ADMINISTRATOR,
};
use serde_json::json;

use super::support::*;
use crate::harness::*;

#[tokio::test]
async fn a_review_needs_the_right_to_remove_what_it_reviews() {
    let t = TestApp::new().await;
    let iga = t
        .admin_person("iga", IDENTITY_GOVERNANCE_ADMINISTRATOR)
        .await;
    let pra = t.admin_person("pra", PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let ua = t.admin_person("ua", USER_ADMINISTRATOR).await;
    let target = t.user("target").await;
    t.eligible_for_a_year(target, GLOBAL_ADMINISTRATOR).await;
    let ga_review = json!({
        "displayName": "GA", "scope": eligibility_scope(GLOBAL_ADMINISTRATOR),
        "reviewers": [user_reviewer(iga.id)], "settings": { "autoApplyDecisionsEnabled": true }
    });
    let (s, b) = t
        .post(&ar("/definitions"), &iga.token, ga_review.clone())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    t.assert_one_refusal(
        "Create access review",
        "Authorization_RequestDenied",
        iga.id,
    )
    .await;
    // A Privileged Role Administrator may review role holders.
    let (s, b) = t.post(&ar("/definitions"), &pra.token, ga_review).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    // An ordinary group: an access review administrator may review it; a role-assignable
    // (protected) one only who may change its members.
    let ordinary = t.group("Ordinary").await;
    let (s, b) = t
        .post(
            &ar("/definitions"),
            &iga.token,
            json!({ "displayName": "O", "scope": group_scope(ordinary), "reviewers": [] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = t
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": "Tier0", "mailNickname": "tier0", "securityEnabled": true, "isAssignableToRole": true }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let tier0 = id_of(&b);
    for who in [&iga, &ua] {
        let (s, b) = t
            .post(
                &ar("/definitions"),
                &who.token,
                json!({ "displayName": "T", "scope": group_scope(tier0), "reviewers": [] }),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    }
    // Readers: the IGA sees its own and what it may run; the user administrator only the
    // ordinary group's review, which it could run too.
    let (_, b) = t.get(&ar("/definitions"), &ua.token).await;
    let names: Vec<&str> = b["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["O"], "{b}");
    let (_, b) = t.get(&ar("/definitions"), &iga.token).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 2, "{b}");
}
