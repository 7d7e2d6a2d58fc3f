//! Several stages: what the first stage's decisions send on to the second, who decides there,
//! and what counts at the end.

use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::json;

use super::support::*;
use crate::harness::*;

#[tokio::test]
async fn a_self_review_stage_then_an_auditor_decides_what_moved_on() {
    let t = TestApp::new().await;
    let auditor = t.person("auditor").await;
    let team = t.group("Finance").await;
    let ada = t.person("ada").await;
    let ben = t.person("ben").await;
    let cy = t.person("cy").await;
    for p in [&ada, &ben, &cy] {
        t.add_member(team, p.id).await;
    }
    let def = t
        .review(
            BOOTSTRAP,
            json!({
                "displayName": "Finance two-stage",
                "scope": group_scope(team),
                "stageSettings": [
                    { "stageId": "1", "dependsOn": [], "durationInDays": 2,
                      "decisionsThatWillMoveToNextStage": ["Approve", "NotReviewed"], "reviewers": [] },
                    { "stageId": "2", "dependsOn": ["1"], "durationInDays": 3,
                      "reviewers": [user_reviewer(auditor.id)] }
                ],
                "settings": { "autoApplyDecisionsEnabled": true }
            }),
        )
        .await;
    let def_id = id_of(&def);
    let instance = t.instance(def_id).await;
    assert_eq!(instance["stages"].as_array().unwrap().len(), 2);
    let instance_id = id_of(&instance);
    // Stage 1 is a self-review: each sees only their own decision.
    let own = t.my_decisions(&ada.token, def_id, instance_id).await;
    assert_eq!(own.len(), 1);
    assert!(
        t.my_decisions(&auditor.token, def_id, instance_id)
            .await
            .is_empty()
    );
    let (s, b) = t
        .review_decide(&ada.token, def_id, instance_id, id_of(&own[0]), "Approve")
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let cys = t.my_decisions(&cy.token, def_id, instance_id).await;
    let (s, b) = t
        .review_decide(&cy.token, def_id, instance_id, id_of(&cys[0]), "Deny")
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    // Ben does nothing. At the end of stage 1, Ada (Approve) and Ben (NotReviewed) go on.
    let pass = t.tick(TimeDelta::days(2)).await;
    assert_eq!(pass.review_stages_ended, 1);
    let ada = Person {
        token: t.sign_in("ada").await,
        ..ada
    };
    let auditor = Person {
        token: t.sign_in("auditor").await,
        ..auditor
    };
    let instance = t.instance(def_id).await;
    assert_eq!(instance["stages"][0]["status"], "Completed");
    assert_eq!(instance["stages"][1]["status"], "InProgress");
    let second = t.my_decisions(&auditor.token, def_id, instance_id).await;
    assert_eq!(second.len(), 2, "{second:?}");
    // Decision histories are off for reviewers here: the auditor sees no earlier decision.
    assert!(
        second.iter().all(|d| d.get("previousDecisions").is_none()),
        "{second:?}"
    );
    // Readers of the whole review see them.
    let all = t.decisions(BOOTSTRAP, def_id, instance_id).await;
    let ada_now = about(&all, ada.id);
    assert_eq!(
        ada_now["previousDecisions"][0]["decision"], "Approve",
        "{ada_now}"
    );
    assert_eq!(ada_now["previousDecisions"][0]["stage"], 1);
    // Ada can no longer change her stage-1 decision.
    let (s, b) = t
        .review_decide(&ada.token, def_id, instance_id, id_of(&own[0]), "Deny")
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(code(&b), "DecisionMovedOn");
    let (s, b) = t
        .post(
            &ar(&format!(
                "/definitions/{def_id}/instances/{instance_id}/batchRecordDecisions"
            )),
            &auditor.token,
            json!({ "decision": "Deny", "justification": "left the team", "principalId": ben.id }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = t
        .review_decide(
            &auditor.token,
            def_id,
            instance_id,
            id_of(&about(&second, ada.id)),
            "Approve",
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    t.tick(TimeDelta::days(3)).await;
    assert_eq!(t.instance(def_id).await["status"], "Applied");
    // Cy's stage-1 Deny and Ben's stage-2 Deny count; Ada stays.
    assert_eq!(t.members(team).await, [ada.id]);
    let latest = t.decisions(BOOTSTRAP, def_id, instance_id).await;
    assert_eq!(latest.len(), 3);
    assert_eq!(about(&latest, cy.id)["stage"], 1);
    assert_eq!(about(&latest, ben.id)["stage"], 2);
}

#[tokio::test]
async fn with_decision_histories_a_later_stage_reviewer_sees_what_the_earlier_stage_decided() {
    let t = TestApp::new().await;
    let first = t.person("first").await;
    let second = t.user("second").await;
    let team = t.group("History").await;
    let dee = t.user("dee").await;
    t.add_member(team, dee).await;
    let def = t
        .review(
            BOOTSTRAP,
            json!({
                "displayName": "With history",
                "scope": group_scope(team),
                "stageSettings": [
                    { "stageId": "1", "dependsOn": [], "durationInDays": 1,
                      "decisionsThatWillMoveToNextStage": ["Approve"], "reviewers": [user_reviewer(first.id)] },
                    { "stageId": "2", "dependsOn": ["1"], "durationInDays": 1,
                      "reviewers": [user_reviewer(second)] }
                ],
                "settings": { "decisionHistoriesForReviewersEnabled": true }
            }),
        )
        .await;
    let def_id = id_of(&def);
    let instance = id_of(&t.instance(def_id).await);
    let item = id_of(&t.my_decisions(&first.token, def_id, instance).await[0]);
    let (s, b) = t
        .review_decide(&first.token, def_id, instance, item, "Approve")
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    t.tick(TimeDelta::days(1)).await;
    let token = t.password_sign_in("second").await;
    let mine = t.my_decisions(&token, def_id, instance).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(
        mine[0]["previousDecisions"][0]["decision"], "Approve",
        "{mine:?}"
    );
    assert_eq!(
        mine[0]["previousDecisions"][0]["reviewedBy"]["id"],
        first.id.to_string()
    );
    // And in My reviews, beside the decision to make.
    let mut b =
        crate::portal::browser::Browser::signed_in(&t, "second@contoso.example", PASSWORD).await;
    let page = b.get(&format!("/portal/reviews/{instance}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Earlier stages"), "{}", page.body);
    assert!(
        page.has("Stage 1: Approved by first: reviewed"),
        "{}",
        page.body
    );
}
