//! Access review administration in the portal (demo tenant): Ada creates reviews through the
//! form with every kind of setting (checked through the API), sees an instance's progress,
//! stops it, applies the denials and exports the results; a refused form says why per field
//! and creates nothing; Uma, a User Administrator, is refused the section.

use axum::http::StatusCode;
use eligo::service::demo::DEMO_PASSWORD;
use eligo_core::roles::ids::GLOBAL_ADMINISTRATOR;
use serde_json::Value;
use uuid::Uuid;

use super::browser::{Browser, Page};
use crate::harness::{BOOTSTRAP, TestApp, id_of};
use crate::reviews::support::ar;

async fn ada(t: &TestApp) -> Browser<'_> {
    Browser::signed_in_with_mfa(t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0
}

async fn user_id(t: &TestApp, upn: &str) -> Uuid {
    let (s, b) = t
        .get(
            &format!("/v1/users?$filter=userPrincipalName eq '{upn}'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    id_of(&b["value"][0])
}

/// The definition called `name`, through the API.
async fn definition(t: &TestApp, name: &str) -> Option<Value> {
    let (s, b) = t.get(&ar("/definitions"), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["displayName"] == name)
        .cloned()
}

async fn create(b: &mut Browser<'_>, fields: &[(&str, &str)]) -> Page {
    b.get("/portal/admin/reviews/new").await;
    b.submit("/portal/admin/reviews/new", fields).await
}

#[tokio::test]
async fn a_recurring_review_with_every_setting_is_created_through_the_form() {
    let t = TestApp::demo().await;
    let mut b = ada(&t).await;
    let list = b.get("/portal/admin/reviews").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.has("href=\"/portal/admin/reviews\""),
        "in the navigation"
    );
    let home = b.get("/portal/admin").await;
    assert!(
        home.has("<a href=\"/portal/admin/reviews\">Access reviews</a>"),
        "a card on the Administration home: {}",
        home.body
    );
    let done = create(
        &mut b,
        &[
            ("displayName", "GA eligibility, quarterly"),
            ("descriptionForAdmins", "Audit finding 12"),
            ("descriptionForReviewers", "Keep only who still needs it"),
            ("scopeKind", "role_eligible"),
            ("target", "Global Administrator"),
            ("inactiveDays", "45"),
            ("reviewers", "users"),
            (
                "reviewerUsers",
                "alice@contoso.example\ndave@contoso.example",
            ),
            ("fallback", "ada@contoso.example"),
            ("durationDays", "7"),
            ("recurrence", "monthly"),
            ("interval", "3"),
            ("startDate", "2030-01-15"),
            ("rangeEnd", "count"),
            ("occurrences", "4"),
            ("recommendations", "on"),
            ("lookBackDays", "60"),
            ("defaultDecisionEnabled", "on"),
            ("defaultDecision", "Deny"),
            ("autoApply", "on"),
            ("justificationRequired", "on"),
            ("mail", "on"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let def = definition(&t, "GA eligibility, quarterly")
        .await
        .expect("created");
    assert_eq!(
        done.location(),
        Some(format!("/portal/admin/reviews/{}", def["id"].as_str().unwrap()).as_str())
    );
    let (alice, dave, ada) = (
        user_id(&t, "alice@contoso.example").await,
        user_id(&t, "dave@contoso.example").await,
        user_id(&t, "ada@contoso.example").await,
    );
    assert_eq!(def["descriptionForAdmins"], "Audit finding 12");
    assert_eq!(
        def["descriptionForReviewers"],
        "Keep only who still needs it"
    );
    assert_eq!(
        def["scope"]["@odata.type"],
        "#microsoft.graph.accessReviewInactiveUsersQueryScope"
    );
    assert_eq!(def["scope"]["inactiveDuration"], "P45D");
    let query = def["scope"]["query"].as_str().unwrap();
    assert!(
        query.contains("roleEligibilityScheduleInstances") && query.contains(GLOBAL_ADMINISTRATOR),
        "{query}"
    );
    assert_eq!(def["reviewers"][0]["query"], format!("/users/{alice}"));
    assert_eq!(def["reviewers"][1]["query"], format!("/users/{dave}"));
    assert_eq!(
        def["fallbackReviewers"][0]["query"],
        format!("/users/{ada}")
    );
    let s = &def["settings"];
    assert_eq!(s["instanceDurationInDays"], 7);
    assert_eq!(s["recurrence"]["pattern"]["type"], "absoluteMonthly");
    assert_eq!(s["recurrence"]["pattern"]["interval"], 3);
    assert_eq!(s["recurrence"]["range"]["type"], "numbered");
    assert_eq!(s["recurrence"]["range"]["numberOfOccurrences"], 4);
    assert_eq!(s["recurrence"]["range"]["startDate"], "2030-01-15");
    assert_eq!(s["recommendationLookBackDuration"], "P60D");
    assert_eq!(s["defaultDecisionEnabled"], true);
    assert_eq!(s["defaultDecision"], "Deny");
    assert_eq!(s["autoApplyDecisionsEnabled"], true);
    assert_eq!(s["justificationRequiredOnApproval"], true);
    assert_eq!(s["mailNotificationsEnabled"], true);
    assert_eq!(s["reminderNotificationsEnabled"], false);
    // It starts in 2030: listed, with no instance yet.
    let page = b.follow(&done).await;
    assert!(page.has("No instance has started yet."), "{}", page.body);
    assert!(
        page.has("Every 3 month(s) from 2030-01-15, 4 times"),
        "{}",
        page.body
    );
    let list = b.get("/portal/admin/reviews").await;
    assert!(list.has("GA eligibility, quarterly"), "{}", list.body);
}

#[tokio::test]
async fn stages_are_built_in_order_and_refusals_land_on_their_fields() {
    let t = TestApp::demo().await;
    let mut b = ada(&t).await;
    let base = [
        ("displayName", "Tier 0 eligibility"),
        ("scopeKind", "group_eligibility"),
        ("target", "Tier 0 Operators"),
        ("durationDays", ""),
    ];
    // A second stage without a first, an unknown fallback and a target that names nothing.
    let mut fields = base.to_vec();
    fields[2] = ("target", "No Such Group");
    fields.extend([
        ("stage2Reviewers", "manager"),
        ("stage2Days", "3"),
        ("fallback", "nobody@contoso.example"),
    ]);
    let refused = create(&mut b, &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    for needle in [
        "Nothing is called “No Such Group”",
        "No user has the user name “nobody@contoso.example”",
        "Fill the stages in order",
    ] {
        assert!(refused.has(needle), "{needle} in {}", refused.body);
    }
    assert!(
        refused.has("value=\"No Such Group\""),
        "what was typed stays"
    );
    // The core's refusal (a stage of 400 days) comes back under the stage.
    let mut fields = base.to_vec();
    fields.extend([("stage1Reviewers", "owners"), ("stage1Days", "400")]);
    let refused = create(&mut b, &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.has("<p class=\"field-error\">Must be 1 to 365.</p>\n  </fieldset>"),
        "{}",
        refused.body
    );
    assert!(definition(&t, "Tier 0 eligibility").await.is_none());

    let mut fields = base.to_vec();
    fields.extend([
        ("stage1Reviewers", "owners"),
        ("stage1Days", "3"),
        ("stage1Move", "Approve"),
        ("stage1Move", "DontKnow"),
        ("stage2Reviewers", "users"),
        ("stage2Users", "dave@contoso.example"),
        ("stage2Days", "4"),
    ]);
    let done = create(&mut b, &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let def = definition(&t, "Tier 0 eligibility").await.unwrap();
    let stages = def["stageSettings"].as_array().unwrap();
    assert_eq!(stages.len(), 2, "{def}");
    assert!(
        stages[0]["reviewers"][0]["query"]
            .as_str()
            .unwrap()
            .ends_with("/owners")
    );
    assert_eq!(
        stages[0]["decisionsThatWillMoveToNextStage"],
        serde_json::json!(["Approve", "DontKnow"])
    );
    assert_eq!(stages[1]["dependsOn"], serde_json::json!(["1"]));
    assert_eq!(def["settings"]["instanceDurationInDays"], 7);
    assert!(
        def["scope"]["query"]
            .as_str()
            .unwrap()
            .contains("privilegedAccess/group/eligibilityScheduleInstances")
    );
}

#[tokio::test]
async fn progress_stop_apply_and_the_csv_export() {
    let t = TestApp::demo().await;
    let mut b = ada(&t).await;
    let carol = user_id(&t, "carol@contoso.example").await;
    let done = create(
        &mut b,
        &[
            ("displayName", "GA check"),
            ("scopeKind", "role_eligible"),
            ("target", "Global Administrator"),
            ("reviewers", "users"),
            ("reviewerUsers", "dave@contoso.example"),
            ("durationDays", "7"),
            ("recurrence", "none"),
            ("defaultDecisionEnabled", "on"),
            ("defaultDecision", "Deny"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let def = id_of(&definition(&t, "GA check").await.unwrap());
    let page = b.follow(&done).await;
    assert!(page.has("0/"), "{}", page.body);
    let instance = id_of(&t.instance(def).await);
    let total = t.decisions(BOOTSTRAP, def, instance).await.len();
    assert!(total >= 1);
    assert!(page.has(&format!("0/{total} decided")), "{}", page.body);
    let path = format!("/portal/admin/reviews/{def}/instances/{instance}");
    let results = b.get(&path).await;
    assert!(results.has("Carol Security"), "{}", results.body);
    assert!(results.has(">Stop<") && results.has("Send reminder"));
    assert!(!results.has(">Apply<"), "nothing to apply while it runs");

    let stopped = b.submit(&format!("{path}/stop"), &[]).await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER, "{}", stopped.body);
    let results = b.follow(&stopped).await;
    assert!(results.has("The review was stopped"), "{}", results.body);
    assert!(results.has("Completed"), "{}", results.body);
    assert!(results.has("badge-bad\">Denied"), "the default decision");
    // Stopped, not applied: Carol is still eligible until Ada applies.
    assert!(
        t.eligible_for(carol)
            .await
            .contains(&GLOBAL_ADMINISTRATOR.to_string())
    );
    let applied = b.submit(&format!("{path}/apply"), &[]).await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    let results = b.follow(&applied).await;
    assert!(results.has("Decisions applied"), "{}", results.body);
    assert!(
        !t.eligible_for(carol)
            .await
            .contains(&GLOBAL_ADMINISTRATOR.to_string())
    );

    let csv = b.get(&format!("{path}/export.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.headers["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let mut lines = csv.body.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("\"principalId\",\"principal\",\"userPrincipalName\",\"access\"")
    );
    let carol_line = lines
        .find(|l| l.contains("carol@contoso.example"))
        .expect("Carol's decision");
    for needle in [
        &format!("\"{carol}\""),
        "\"Eligible for Global Administrator\"",
        "\"Deny\"",
        "\"AppliedSuccessfully\"",
    ] {
        assert!(carol_line.contains(needle), "{needle} in {carol_line}");
    }
}

#[tokio::test]
async fn a_user_administrator_is_refused_the_section() {
    let t = TestApp::demo().await;
    let mut uma = Browser::signed_in_with_mfa(&t, "uma@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    let home = uma.get("/portal/admin").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        !home.has("href=\"/portal/admin/reviews\""),
        "not in her navigation"
    );
    for path in ["/portal/admin/reviews", "/portal/admin/reviews/new"] {
        let page = uma.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
    }
    let before = definition(&t, "Sneaky").await;
    assert!(before.is_none());
    let refused = uma
        .submit(
            "/portal/admin/reviews/new",
            &[
                ("displayName", "Sneaky"),
                ("scopeKind", "group_members"),
                ("target", "Helpdesk Team"),
                ("reviewers", "self"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(definition(&t, "Sneaky").await.is_none());
}

/// The demo's review: Ada decides two of her three decisions under My reviews, the results
/// show the progress, a reminder is asked for (audited; no mail server here), and a reset takes
/// every decision back to Not reviewed.
#[tokio::test]
async fn a_reminder_and_a_reset_on_the_running_demo_review() {
    let t = TestApp::demo().await;
    let mut b = ada(&t).await;
    let def = id_of(
        &definition(&t, eligo::service::demo::reviews::REVIEW)
            .await
            .unwrap(),
    );
    let instance = id_of(&t.instance(def).await);
    b.get(&format!("/portal/reviews/{instance}")).await;
    let done = b
        .submit(&format!("/portal/reviews/{instance}/accept"), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    let page = b.get(&format!("/portal/admin/reviews/{def}")).await;
    assert!(page.has("2/3 decided"), "{}", page.body);
    let path = format!("/portal/admin/reviews/{def}/instances/{instance}");
    b.get(&path).await;
    let reminded = b.submit(&format!("{path}/remind"), &[]).await;
    assert_eq!(reminded.status, StatusCode::SEE_OTHER, "{}", reminded.body);
    let page = b.follow(&reminded).await;
    // No mail server in this test: nobody is mailed, and the attempt is audited.
    assert!(page.has("Nobody was reminded"), "{}", page.body);
    let (s, audit) = t
        .get(
            "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Send access review reminder'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{audit}");
    assert_eq!(audit["value"].as_array().unwrap().len(), 1, "{audit}");
    let reset = b.submit(&format!("{path}/reset"), &[]).await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.body);
    let page = b.follow(&reset).await;
    assert!(page.has("Every decision was reset"), "{}", page.body);
    assert!(page.has("0/3 decided"), "{}", page.body);
    for d in t.decisions(BOOTSTRAP, def, instance).await {
        assert_eq!(d["decision"], "NotReviewed", "{d}");
    }
    // An action the page does not offer names nothing.
    let unknown = b.submit(&format!("{path}/delete"), &[]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
}

#[tokio::test]
async fn a_review_is_changed_through_its_filled_in_form_then_stopped_and_deleted() {
    let t = TestApp::demo().await;
    let mut b = ada(&t).await;
    let fields = [
        ("displayName", "Helpdesk members"),
        ("scopeKind", "group_members"),
        ("target", "Helpdesk Team"),
        ("reviewers", "users"),
        ("reviewerUsers", "dave@contoso.example"),
        ("durationDays", "7"),
        ("recurrence", "weekly"),
        ("interval", "2"),
        ("startDate", "2030-01-15"),
        ("rangeEnd", "none"),
        ("recommendations", "on"),
        ("lookBackDays", "30"),
        ("defaultDecision", "Recommendation"),
        ("mail", "on"),
    ];
    let done = create(&mut b, &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let def = definition(&t, "Helpdesk members").await.expect("created");
    let id = def["id"].as_str().unwrap().to_string();
    // The form comes back filled in from the definition.
    let edit = b.get(&format!("/portal/admin/reviews/{id}/edit")).await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    for shown in [
        "Helpdesk members",
        "Helpdesk Team",
        "dave@contoso.example",
        "2030-01-15",
    ] {
        assert!(edit.has(shown), "{shown}: {}", edit.body);
    }
    assert!(
        edit.has("cannot change"),
        "the scope is fixed: {}",
        edit.body
    );
    // A change: another name, 10 days, and an attempt at another scope (ignored).
    let mut changed: Vec<(&str, &str)> = fields
        .iter()
        .copied()
        .filter(|(k, _)| !["displayName", "durationDays", "target"].contains(k))
        .collect();
    changed.extend([
        ("displayName", "Helpdesk members, fortnightly"),
        ("durationDays", "10"),
        ("target", "Tier 0 Operators"),
    ]);
    let saved = b
        .submit(&format!("/portal/admin/reviews/{id}/edit"), &changed)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let def = definition(&t, "Helpdesk members, fortnightly")
        .await
        .expect("renamed");
    assert_eq!(def["settings"]["instanceDurationInDays"], 10);
    assert!(
        def["scope"]["query"]
            .as_str()
            .unwrap()
            .contains(&user_group(&t, "Helpdesk Team").await.to_string()),
        "{def}"
    );
    // A refused change says why on its field and changes nothing.
    let mut bad = changed.clone();
    bad.retain(|(k, _)| *k != "durationDays");
    bad.push(("durationDays", "30"));
    let refused = b
        .submit(&format!("/portal/admin/reviews/{id}/edit"), &bad)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(
        definition(&t, "Helpdesk members, fortnightly")
            .await
            .unwrap()["settings"]["instanceDurationInDays"],
        10
    );
    // Stop, then delete.
    b.get(&format!("/portal/admin/reviews/{id}")).await;
    let stopped = b
        .submit(&format!("/portal/admin/reviews/{id}/stop"), &[])
        .await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER, "{}", stopped.body);
    assert_eq!(
        definition(&t, "Helpdesk members, fortnightly")
            .await
            .unwrap()["status"],
        "Completed"
    );
    b.get(&format!("/portal/admin/reviews/{id}")).await;
    let deleted = b
        .submit(&format!("/portal/admin/reviews/{id}/delete"), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert!(
        definition(&t, "Helpdesk members, fortnightly")
            .await
            .is_none()
    );
}

async fn user_group(t: &TestApp, name: &str) -> Uuid {
    let (s, b) = t
        .get(
            &format!("/v1/groups?$filter=displayName eq '{name}'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    id_of(&b["value"][0])
}
