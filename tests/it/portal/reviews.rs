//! "My reviews" in the portal: a reviewer sees what waits on them, decides one access with a
//! justification, accepts the recommendations for the rest; anyone else sees nothing and
//! decides nothing, a forged or stale form changes nothing, and a stale second factor goes
//! through the step-up page first.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids::USER_ADMINISTRATOR;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;
use crate::portal::browser::Browser;
use crate::reviews::support::*;

/// Bob and Cam eligible for User Administrator for 60 days, never activated; a review of that
/// eligibility by Mia asking a justification on approval. Returns (definition, instance, Mia).
async fn reviewed_by_mia(t: &TestApp) -> (Uuid, Uuid, Uuid) {
    let bob = t.user("bob").await;
    let cam = t.user("cam").await;
    for p in [bob, cam] {
        t.eligible_for_a_year(p, USER_ADMINISTRATOR).await;
    }
    t.clock.advance(TimeDelta::days(60));
    let mia = t.user("mia").await;
    let def = t
        .review(
            BOOTSTRAP,
            json!({
                "displayName": "User Administrator eligibility",
                "descriptionForReviewers": "Keep only who still needs it.",
                "scope": eligibility_scope(USER_ADMINISTRATOR),
                "reviewers": [user_reviewer(mia)],
                "settings": {
                    "instanceDurationInDays": 7, "recommendationsEnabled": true,
                    "recommendationLookBackDuration": "P30D",
                    "justificationRequiredOnApproval": true,
                }
            }),
        )
        .await;
    let def_id = id_of(&def);
    let instance = id_of(&t.instance(def_id).await);
    (def_id, instance, mia)
}

async fn by_name(t: &TestApp, def: Uuid, instance: Uuid, name: &str) -> Value {
    t.decisions(BOOTSTRAP, def, instance)
        .await
        .into_iter()
        .find(|d| d["principal"]["displayName"] == name)
        .unwrap_or_else(|| panic!("no decision about {name}"))
}

#[tokio::test]
async fn a_reviewer_decides_in_the_portal_and_accepts_the_recommendations() {
    let t = TestApp::new().await;
    let (def, instance, mia) = reviewed_by_mia(&t).await;
    let (mut b, _) = Browser::signed_in_with_mfa(&t, "mia@contoso.example", PASSWORD).await;

    let list = b.get("/portal/reviews").await;
    assert_eq!(list.status, StatusCode::OK);
    for needle in [
        "User Administrator eligibility",
        "2 of 2",
        &format!("/portal/reviews/{instance}"),
        "My reviews <span class=\"count\" aria-label=\"2 waiting on you\">2</span>",
    ] {
        assert!(list.has(needle), "{needle} in {}", list.body);
    }

    let path = format!("/portal/reviews/{instance}");
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "Keep only who still needs it.",
        "bob@contoso.example",
        "cam@contoso.example",
        "Eligible for User Administrator",
        "no activation in the last 30 days (never)",
        "badge-bad\">Deny",
        "Accept all recommendations",
        "(required to approve)",
    ] {
        assert!(page.has(needle), "{needle} in {}", page.body);
    }
    let bob = by_name(&t, def, instance, "bob").await;
    let bob_path = format!("{path}/decisions/{}", bob["id"].as_str().unwrap());

    // Approving without the justification the review asks for records nothing.
    let refused = b.submit(&bob_path, &[("decision", "approve")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("field-error"), "{}", refused.body);
    assert_eq!(
        by_name(&t, def, instance, "bob").await["decision"],
        "NotReviewed"
    );

    let done = b
        .submit(
            &bob_path,
            &[("decision", "approve"), ("justification", "Still on call")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some(path.as_str()));
    let back = b.follow(&done).await;
    assert!(back.has("Recorded: Approved for bob"), "{}", back.body);
    let bob = by_name(&t, def, instance, "bob").await;
    assert_eq!(bob["decision"], "Approve");
    assert_eq!(bob["justification"], "Still on call");
    assert_eq!(bob["reviewedBy"]["id"], mia.to_string());

    let done = b.submit(&format!("{path}/accept"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let back = b.follow(&done).await;
    assert!(back.has("Accepted 1 recommendation."), "{}", back.body);
    assert!(back.has("0 of 2 undecided"), "{}", back.body);
    assert_eq!(by_name(&t, def, instance, "cam").await["decision"], "Deny");
    // Bob's decision stays the reviewer's own.
    assert_eq!(
        by_name(&t, def, instance, "bob").await["decision"],
        "Approve"
    );
    let list = b.get("/portal/reviews").await;
    assert!(list.has("All 2 decided"), "{}", list.body);
    assert!(!list.has("waiting on you\">"), "{}", list.body);
}

#[tokio::test]
async fn a_form_without_its_token_changes_nothing() {
    let t = TestApp::new().await;
    let (def, instance, _) = reviewed_by_mia(&t).await;
    let (mut b, _) = Browser::signed_in_with_mfa(&t, "mia@contoso.example", PASSWORD).await;
    let cam = by_name(&t, def, instance, "cam").await;
    let before = t.recorded_changes().await;
    for (path, fields) in [
        (
            format!(
                "/portal/reviews/{instance}/decisions/{}",
                cam["id"].as_str().unwrap()
            ),
            vec![("decision", "deny"), ("csrf", "forged")],
        ),
        (format!("/portal/reviews/{instance}/accept"), vec![]),
    ] {
        let page = b.post_raw(&path, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        assert!(page.has("This form has expired"), "{}", page.body);
    }
    assert_eq!(t.recorded_changes().await, before);
    assert_eq!(
        by_name(&t, def, instance, "cam").await["decision"],
        "NotReviewed"
    );
}

#[tokio::test]
async fn someone_else_neither_sees_nor_decides_the_review() {
    let t = TestApp::new().await;
    let (def, instance, _) = reviewed_by_mia(&t).await;
    t.user("ann").await;
    let (mut ann, _) = Browser::signed_in_with_mfa(&t, "ann@contoso.example", PASSWORD).await;
    let list = ann.get("/portal/reviews").await;
    assert!(list.has("No access review waits on you"), "{}", list.body);
    assert!(!list.has("User Administrator eligibility"), "{}", list.body);
    let page = ann.get(&format!("/portal/reviews/{instance}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    assert!(!page.has("bob@contoso.example"));

    // Forged posts, with Ann's own valid token, for decisions that are Mia's.
    let cam = by_name(&t, def, instance, "cam").await;
    let before = t.recorded_changes().await;
    let forged = ann
        .submit(
            &format!(
                "/portal/reviews/{instance}/decisions/{}",
                cam["id"].as_str().unwrap()
            ),
            &[("decision", "approve"), ("justification", "mine now")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{}", forged.body);
    let forged = ann
        .submit(&format!("/portal/reviews/{instance}/accept"), &[])
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{}", forged.body);
    assert_eq!(t.recorded_changes().await, before);
    for d in t.decisions(BOOTSTRAP, def, instance).await {
        assert_eq!(d["decision"], "NotReviewed", "{d}");
    }
}

#[tokio::test]
async fn a_stale_second_factor_goes_through_step_up_and_back() {
    let t = TestApp::new().await;
    let (def, instance, _) = reviewed_by_mia(&t).await;
    let (mut b, secret) = Browser::signed_in_with_mfa(&t, "mia@contoso.example", PASSWORD).await;
    t.clock
        .advance(t.app.config.mfa_freshness + TimeDelta::minutes(1));
    let path = format!("/portal/reviews/{instance}");
    let page = b.get(&path).await;
    let step_up = format!("/portal/step-up?next=%2Fportal%2Freviews%2F{instance}");
    assert!(page.has(&step_up.replace('&', "&amp;")), "{}", page.body);

    let asked = b.submit(&format!("{path}/accept"), &[]).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    assert_eq!(asked.location(), Some(step_up.as_str()));
    assert_eq!(
        by_name(&t, def, instance, "cam").await["decision"],
        "NotReviewed"
    );

    let form = b.follow(&asked).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    t.clock.advance(TimeDelta::seconds(30));
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let verified = b
        .submit(
            "/portal/step-up",
            &[
                ("code", &code),
                ("next", &form.input_value("next").unwrap()),
            ],
        )
        .await;
    assert_eq!(verified.status, StatusCode::SEE_OTHER, "{}", verified.body);
    assert_eq!(verified.location(), Some(path.as_str()));
    b.follow(&verified).await;
    let done = b.submit(&format!("{path}/accept"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some(path.as_str()));
    assert_eq!(by_name(&t, def, instance, "cam").await["decision"], "Deny");
}

#[tokio::test]
async fn dont_know_is_recorded_and_nothing_is_decided_once_the_review_ended() {
    let t = TestApp::new().await;
    let (def, instance, _) = reviewed_by_mia(&t).await;
    let (mut b, secret) = Browser::signed_in_with_mfa(&t, "mia@contoso.example", PASSWORD).await;
    let path = format!("/portal/reviews/{instance}");
    b.get(&path).await;
    let cam = by_name(&t, def, instance, "cam").await;
    let cam_path = format!("{path}/decisions/{}", cam["id"].as_str().unwrap());
    let done = b.submit(&cam_path, &[("decision", "dontknow")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        by_name(&t, def, instance, "cam").await["decision"],
        "DontKnow"
    );
    let unknown = b.submit(&cam_path, &[("decision", "maybe")]).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    assert!(
        unknown.has("Choose Approve, Deny or Don&#39;t know.")
            || unknown.has("Choose Approve, Deny or Don&#x27;t know."),
        "{}",
        unknown.body
    );

    // The review ends; the page says so, offers no form, and a stale form changes nothing.
    t.tick(TimeDelta::days(7)).await;
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let signed = b
        .sign_in("mia@contoso.example", PASSWORD, Some(&code))
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let page = b.get(&path).await;
    assert!(
        page.has("decisions can no longer be changed"),
        "{}",
        page.body
    );
    assert!(!page.has("Accept all recommendations"), "{}", page.body);
    let late = b
        .submit(
            &cam_path,
            &[("decision", "deny"), ("justification", "late")],
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert!(late.has("Nothing was changed."), "{}", late.body);
    assert_eq!(
        by_name(&t, def, instance, "cam").await["decision"],
        "DontKnow"
    );
    let list = b.get("/portal/reviews").await;
    assert!(list.has("Reviews you took part in"), "{}", list.body);
}
