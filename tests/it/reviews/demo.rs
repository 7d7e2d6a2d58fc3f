//! The demo tenant's access review (`eligo serve --demo`): Global Administrator eligibility,
//! reviewed by the managers, already running at seeding with Ada's decisions waiting in My
//! reviews; the recommendation keeps Grace (activated three days ago), denies Frank (eligible
//! for half a year, never activated), and at the end the result is applied on its own.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use eligo::service::demo::{DEMO_PASSWORD, reviews::REVIEW};
use eligo_core::roles::ids::GLOBAL_ADMINISTRATOR;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;
use crate::portal::browser::Browser;

async fn user(t: &TestApp, nick: &str) -> (Uuid, Option<Uuid>) {
    let mut tx = t.app.store.read().await.unwrap();
    let u = tx
        .find_user_by_upn(&format!("{nick}@contoso.example"))
        .await
        .unwrap()
        .expect("a demo user");
    (u.id, u.manager_id)
}

async fn demo_review(t: &TestApp) -> Value {
    let (s, b) = t.get(&ar("/definitions"), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["displayName"] == REVIEW)
        .cloned()
        .expect("the demo review")
}

#[tokio::test]
async fn the_demo_review_runs_from_seeding_and_denies_the_stale_eligibility() {
    let t = TestApp::demo().await;
    let (ada, _) = user(&t, "ada").await;
    let (dave, _) = user(&t, "dave").await;
    let (frank, frank_manager) = user(&t, "frank").await;
    let (grace, grace_manager) = user(&t, "grace").await;
    assert_eq!(frank_manager, Some(ada));
    assert_eq!(grace_manager, Some(ada));

    let def = demo_review(&t).await;
    assert_eq!(def["status"], "InProgress");
    assert_eq!(def["reviewers"][0]["query"], "./manager");
    assert_eq!(
        def["fallbackReviewers"][0]["query"],
        format!("/users/{dave}")
    );
    let s = &def["settings"];
    assert_eq!(s["recommendationsEnabled"], true);
    assert_eq!(s["recommendationLookBackDuration"], "P30D");
    assert_eq!(s["defaultDecision"], "Recommendation");
    assert_eq!(s["autoApplyDecisionsEnabled"], true);
    assert_eq!(s["recurrence"]["pattern"]["type"], "absoluteMonthly");
    assert_eq!(s["recurrence"]["pattern"]["interval"], 3);
    let def_id = id_of(&def);
    let instance = t.instance(def_id).await;
    assert_eq!(instance["status"], "InProgress");
    let instance_id = id_of(&instance);

    let all = t.decisions(BOOTSTRAP, def_id, instance_id).await;
    let frank_item = about(&all, frank);
    assert_eq!(frank_item["recommendation"], "Deny");
    assert_eq!(
        frank_item["recommendationReason"],
        "no activation in the last 30 days (never)"
    );
    let grace_item = about(&all, grace);
    assert_eq!(grace_item["recommendation"], "Approve", "{grace_item}");

    // Ada, their manager, finds them under My reviews.
    let mut b = Browser::signed_in(&t, "ada@contoso.example", DEMO_PASSWORD).await;
    let list = b.get("/portal/reviews").await;
    assert!(list.has(REVIEW), "{}", list.body);
    let page = b.get(&format!("/portal/reviews/{instance_id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Frank Former-Admin") && page.has("Grace Global-Ops"));

    // Ada accepts the recommendations through the API; at the end the review applies itself.
    let (s, body) = t
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "username": "ada@contoso.example", "password": DEMO_PASSWORD })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    {
        let mut tx = t.app.store.write().await.unwrap();
        let mut record = tx
            .get_token(&eligo::auth::token::digest(&token))
            .await
            .unwrap()
            .unwrap();
        record.last_mfa_at = Some(t.clock.now_utc());
        tx.update_token(&record).await.unwrap();
        tx.commit().await.unwrap();
    }
    let (s, b2) = t
        .post(
            &ar(&format!(
                "/definitions/{def_id}/instances/{instance_id}/acceptRecommendations"
            )),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b2}");
    assert!(
        t.eligible_for(frank)
            .await
            .contains(&GLOBAL_ADMINISTRATOR.to_string())
    );
    t.tick(TimeDelta::days(14)).await;
    assert_eq!(t.instance(def_id).await["status"], "Applied");
    assert!(
        !t.eligible_for(frank)
            .await
            .contains(&GLOBAL_ADMINISTRATOR.to_string())
    );
    assert!(
        t.eligible_for(grace)
            .await
            .contains(&GLOBAL_ADMINISTRATOR.to_string())
    );
}
