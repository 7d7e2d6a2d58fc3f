//! Refusals that change nothing: scopes, reviewers and recurrences Eligo cannot honour, names
//! of things that do not exist, decisions by the wrong person or at the wrong time.

use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

async fn refused(t: &TestApp, body: Value) -> Vec<String> {
    let (s, b) = t.post(&ar("/definitions"), BOOTSTRAP, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code(&b), "InvalidAccessReview", "{b}");
    detail_codes(&b)
}

#[tokio::test]
async fn definitions_eligo_cannot_honour_are_refused_with_every_reason_and_nothing_is_kept() {
    let t = TestApp::new().await;
    let team = t.group("Team").await;
    let base = json!({ "displayName": "R", "scope": group_scope(team), "reviewers": [] });
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    assert_eq!(
        refused(
            &t,
            with(json!({ "scope": { "query": "/users", "queryType": "MicrosoftGraph" } }))
        )
        .await,
        ["UnsupportedScope"]
    );
    assert_eq!(
        refused(&t, with(json!({ "scope": { "@odata.type": "#microsoft.graph.principalResourceMembershipsScope" } }))).await,
        ["UnsupportedScope"]
    );
    assert_eq!(
        refused(&t, with(json!({ "reviewers": [{ "query": "/me" }] }))).await,
        ["UnsupportedReviewerQuery"]
    );
    assert_eq!(
        refused(&t, with(json!({ "settings": { "recurrence": {
            "pattern": { "type": "relativeMonthly", "interval": 1 }, "range": { "type": "noEnd" } } } }))).await,
        ["UnsupportedRecurrence"]
    );
    assert_eq!(
        refused(
            &t,
            with(
                json!({ "settings": { "instanceDurationInDays": 10, "recurrence": {
            "pattern": { "type": "weekly", "interval": 1 }, "range": { "type": "noEnd" } } } })
            )
        )
        .await,
        ["UnsupportedRecurrence"]
    );
    assert_eq!(
        refused(&t, with(json!({ "settings": { "recurrence": {
            "pattern": { "type": "weekly", "interval": 1 }, "range": { "type": "numbered", "numberOfOccurrences": 0 } } } }))).await,
        ["UnsupportedRecurrence"]
    );
    assert_eq!(
        refused(&t, with(json!({ "scope": group_scope(Uuid::new_v4()) }))).await,
        ["UnknownResource"]
    );
    assert_eq!(
        refused(
            &t,
            with(json!({ "reviewers": [user_reviewer(Uuid::new_v4())] }))
        )
        .await,
        ["UnknownReviewer"]
    );
    assert_eq!(
        refused(&t, with(json!({ "scope": { "@odata.type": "#microsoft.graph.accessReviewInactiveUsersQueryScope",
                                             "query": format!("/groups/{team}/members"), "inactiveDuration": "soon" } }))).await,
        ["InvalidDuration"]
    );
    assert_eq!(
        refused(
            &t,
            with(json!({ "colour": "blue", "stageSettings": [{}, {}, {}, {}] }))
        )
        .await,
        ["UnknownProperty", "TooManyStages"]
    );
    let (s, b) = t.get(&ar("/definitions"), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["value"], json!([]));
}

#[tokio::test]
async fn decisions_need_a_reviewer_a_fresh_second_factor_a_valid_value_and_a_running_stage() {
    let t = TestApp::new().await;
    let rev = t.person("rev").await;
    let team = t.group("Team").await;
    let dora = t.user("dora").await;
    t.add_member(team, dora).await;
    let def = t
        .review(
            BOOTSTRAP,
            json!({ "displayName": "R", "scope": group_scope(team), "reviewers": [user_reviewer(rev.id)],
                    "settings": { "instanceDurationInDays": 1, "justificationRequiredOnApproval": true } }),
        )
        .await;
    let def_id = id_of(&def);
    let instance = id_of(&t.instance(def_id).await);
    let item = id_of(&t.my_decisions(&rev.token, def_id, instance).await[0]);
    let path = ar(&format!(
        "/definitions/{def_id}/instances/{instance}/decisions/{item}"
    ));
    // An approval without its justification; a value that is no decision.
    let (s, b) = t
        .patch(&path, &rev.token, json!({ "decision": "Approve" }))
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "JustificationRequired")
    );
    let (s, b) = t
        .patch(&path, &rev.token, json!({ "decision": "NotReviewed" }))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidDecision"));
    let (s, b) = t
        .patch(&path, &rev.token, json!({ "decision": "Maybe" }))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "InvalidDecision"));
    // A stale second factor.
    t.clock.advance(TimeDelta::hours(2));
    let (s, b) = t
        .patch(&path, &rev.token, json!({ "decision": "Deny" }))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "MfaRequired"));
    let items = t.decisions(BOOTSTRAP, def_id, instance).await;
    assert_eq!(items[0]["decision"], "NotReviewed");
    // After the end.
    t.tick(TimeDelta::days(1)).await;
    let rev = Person {
        token: t.sign_in("rev").await,
        ..rev
    };
    let (s, b) = t
        .patch(&path, &rev.token, json!({ "decision": "Deny" }))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "ReviewNotInProgress"));
    let (s, b) = t
        .post(
            &ar(&format!(
                "/definitions/{def_id}/instances/{instance}/acceptRecommendations"
            )),
            &rev.token,
            json!({}),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "ReviewNotInProgress"));
    assert_eq!(
        t.decisions(BOOTSTRAP, def_id, instance).await[0]["decision"],
        "NotReviewed"
    );
    // A reviewer does not run the review.
    let (s, _) = t
        .post(
            &ar(&format!(
                "/definitions/{def_id}/instances/{instance}/applyDecisions"
            )),
            &rev.token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // An unknown function argument.
    let (s, _) = t
        .get(
            &ar("/definitions/filterByCurrentUser(on='principal')"),
            &rev.token,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
