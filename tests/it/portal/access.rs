//! "My access" and access package approvals in the portal: Alice requests a package through
//! the form (justification, answers; refusals as field errors naming the core's reasons), her
//! manager decides from the package decision page with a second factor, she removes, extends
//! and cancels; someone else sees and cancels nothing, and a post without the form's token
//! changes nothing. `GET /v1/me/approvals` lists the package request beside role requests.

use axum::http::StatusCode;
use chrono::TimeDelta;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::entitlement::support::*;
use crate::harness::*;
use crate::portal::browser::Browser;

fn upn(nick: &str) -> String {
    format!("{nick}@contoso.example")
}

/// Every assignment request, newest first, as an administrator reads them.
async fn requests(t: &TestApp) -> Vec<Value> {
    let (s, b) = t.get(&em(REQUESTS), BOOTSTRAP).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["value"].as_array().unwrap().clone()
}

struct World {
    alice: Uuid,
    group: Uuid,
    /// Needs the manager's approval, a justification and a case number (`manager_approval`).
    guarded: GroupPackage,
}

/// Alice, her manager Boss (signed up for the API first, before enrolling in the portal), and
/// the scenario's package whose policy asks for approval and answers.
async fn world(t: &TestApp) -> (World, String) {
    let alice = t.user("alice").await;
    let boss = t.user("boss").await;
    let boss_token = t.sign_in("boss").await;
    t.set_manager(alice, boss).await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    let guarded = t
        .group_package(catalog, "IRM", group, manager_approval(boss))
        .await;
    (
        World {
            alice,
            group,
            guarded,
        },
        boss_token,
    )
}

fn request_path(p: &GroupPackage) -> String {
    format!("/portal/access/packages/{}/request", p.package)
}

/// The form field of the question whose text is `text`, read from the form page.
fn answer_field(page: &str, text: &str) -> String {
    let at = page.find(text).expect("the question");
    let before = &page[..at];
    let start = before.rfind("answer-").expect("an answer field");
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_string()
}

#[tokio::test]
async fn a_request_with_answers_is_refused_field_by_field_then_approved_with_a_second_factor() {
    let t = TestApp::new().await;
    let (w, boss_token) = world(&t).await;
    let mut alice = Browser::signed_in(&t, &upn("alice"), PASSWORD).await;

    // Available lists the package with what its policy asks.
    let page = alice.get("/portal/access").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("My access") && page.has("IRM"), "{}", page.body);
    assert!(page.has("Needs approval") && page.has("justification required"));
    let form = alice.get(&request_path(&w.guarded)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("Case number") && form.has("^IRM-[0-9]+$") && form.has("Lisbon"));
    let case = answer_field(&form.body, "Case number");
    let site = answer_field(&form.body, "Paris");

    // No justification and a case number that does not match: both said, nothing stored.
    let refused = alice
        .submit(
            &request_path(&w.guarded),
            &[("justification", ""), (&case, "42"), (&site, "par")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.has("This policy requires a justification."),
        "{}",
        refused.body
    );
    assert!(refused.has("must match ^IRM-[0-9]+$"), "{}", refused.body);
    assert!(refused.has("value=\"42\""), "what was typed stays");
    assert!(requests(&t).await.is_empty());

    let sent = alice
        .submit(
            &request_path(&w.guarded),
            &[
                ("justification", "Insider risk case"),
                (&case, "IRM-42"),
                (&site, "par"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let history = alice.follow(&sent).await;
    assert!(history.has("waits for approval"), "{}", history.body);
    assert!(history.has("Waiting for approval") && history.has("Stage 1 of 1"));
    let all = requests(&t).await;
    assert_eq!(all.len(), 1);
    let id = all[0]["id"].as_str().unwrap().to_string();
    assert_eq!(all[0]["state"], "pendingApproval");

    // The API lists it for the manager beside role requests, told apart by kind.
    let (s, mine) = t.get("/v1/me/approvals", &boss_token).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(mine["value"][0]["kind"], "accessPackage", "{mine}");
    assert_eq!(mine["value"][0]["id"], json!(id));
    assert_eq!(mine["value"][0]["accessPackage"]["displayName"], "IRM");
    assert_eq!(
        mine["value"][0]["approval"]["stages"][0]["assignedToMe"],
        true
    );

    // The manager sees it under Approvals and on its decision page, with the answers.
    let (mut boss, secret) = Browser::signed_in_with_mfa(&t, &upn("boss"), PASSWORD).await;
    let list = boss.get("/portal/approvals").await;
    assert!(
        list.has("Access package requests waiting on you"),
        "{}",
        list.body
    );
    assert!(list.has(&format!("/portal/approvals/packages/{id}")));
    let decision = format!("/portal/approvals/packages/{id}");
    let page = boss.get(&decision).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "alice requests IRM",
        "Insider risk case",
        "IRM-42",
        "Paris",
        "Stage 1 of 1",
        "decide before",
    ] {
        assert!(page.has(shown), "{shown}: {}", page.body);
    }

    // Once the second factor is stale the decision asks for a code, and the stage for a
    // justification.
    t.clock
        .advance(t.app.config.mfa_freshness + TimeDelta::minutes(1));
    let page = boss.get(&decision).await;
    assert!(page.has("name=\"code\""), "{}", page.body);
    let no_code = boss
        .submit(
            &decision,
            &[("decision", "approve"), ("justification", "ok")],
        )
        .await;
    assert_eq!(no_code.status, StatusCode::BAD_REQUEST, "{}", no_code.body);
    assert!(no_code.has("six-digit code"));
    assert_eq!(requests(&t).await[0]["state"], "pendingApproval");
    t.clock.advance(TimeDelta::seconds(30));
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let no_reason = boss
        .submit(&decision, &[("decision", "approve"), ("code", &code)])
        .await;
    assert_eq!(
        no_reason.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_reason.body
    );
    assert!(no_reason.has("this stage asks approvers to say why"));
    let approved = boss
        .submit(
            &decision,
            &[("decision", "approve"), ("justification", "Known case")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let after = boss.follow(&approved).await;
    assert!(after.has("Approved: alice"), "{}", after.body);
    assert!(after.has("Recently decided by you") && after.has(&format!("packages/{id}")));
    assert_eq!(requests(&t).await[0]["state"], "delivered");
    assert!(t.members(w.group).await.contains(&w.alice));

    // Alice sees it active, with its end.
    let active = alice.get("/portal/access?tab=active").await;
    assert!(
        active.has("IRM") && active.has("Remove access"),
        "{}",
        active.body
    );
}

#[tokio::test]
async fn nobody_else_sees_decides_or_cancels_and_a_post_without_the_token_changes_nothing() {
    let t = TestApp::new().await;
    let (w, _) = world(&t).await;
    let alice_token = t.sign_in("alice").await;
    let (s, r) = t
        .ask(
            &alice_token,
            "userAdd",
            &w.guarded,
            None,
            json!({ "answers": [{ "value": "IRM-7", "answeredQuestion": { "id": first_question(&t, &w.guarded).await } }] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();

    // The mail's link, signed out: sign in first, then back to the same page.
    let decision = format!("/portal/approvals/packages/{id}");
    let signed_out = Browser::new(&t).get(&decision).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    let to = signed_out.location().unwrap().replace("%2D", "-");
    assert_eq!(
        to,
        format!("/portal/sign-in?next=%2Fportal%2Fapprovals%2Fpackages%2F{id}")
    );

    t.user("eve").await;
    let (mut eve, _) = Browser::signed_in_with_mfa(&t, &upn("eve"), PASSWORD).await;
    let page = eve.get(&decision).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    assert!(!page.has("IRM-7") && !page.has("alice"));
    let post = eve
        .submit(
            &decision,
            &[("decision", "approve"), ("justification", "x")],
        )
        .await;
    assert_eq!(post.status, StatusCode::NOT_FOUND, "{}", post.body);
    let list = eve.get("/portal/approvals").await;
    assert!(!list.has(&id));
    let cancel = eve
        .submit(&format!("/portal/access/requests/{id}/cancel"), &[])
        .await;
    assert_eq!(cancel.status, StatusCode::NOT_FOUND, "{}", cancel.body);
    let history = eve.get("/portal/access?tab=history").await;
    assert!(!history.has(&id) && !history.has("IRM"));
    assert_eq!(requests(&t).await[0]["state"], "pendingApproval");

    // Alice herself sees her request on the page but cannot decide it.
    let mut alice = Browser::signed_in(&t, &upn("alice"), PASSWORD).await;
    let page = alice.get(&decision).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("This is your request") && !page.has("name=\"decision\""));

    // A cancel without the form's token is refused; with it, the request ends.
    let forged = alice
        .post_raw(&format!("/portal/access/requests/{id}/cancel"), &[])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(requests(&t).await[0]["state"], "pendingApproval");
    alice.get("/portal/access?tab=history").await;
    let canceled = alice
        .submit(&format!("/portal/access/requests/{id}/cancel"), &[])
        .await;
    assert_eq!(canceled.status, StatusCode::SEE_OTHER, "{}", canceled.body);
    let history = alice.follow(&canceled).await;
    assert!(
        history.has("is canceled") && history.has("Canceled"),
        "{}",
        history.body
    );
    assert_eq!(requests(&t).await[0]["state"], "canceled");
}

async fn first_question(t: &TestApp, p: &GroupPackage) -> String {
    let (s, b) = t
        .get(&em(&format!("/assignmentPolicies/{}", p.policy)), BOOTSTRAP)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["questions"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_open_package_is_granted_extended_and_removed_from_my_access() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let group = t.group("Auditors").await;
    let catalog = t.catalog(BOOTSTRAP, "Audit").await;
    let open = t
        .group_package(
            catalog,
            "Audit reading",
            group,
            json!({ "expiration": { "type": "afterDuration", "duration": "P10D" } }),
        )
        .await;
    let mut b = Browser::signed_in(&t, &upn("alice"), PASSWORD).await;
    b.get(&request_path(&open)).await;
    let sent = b.submit(&request_path(&open), &[]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let active = b.follow(&sent).await;
    assert!(active.has("You now have Audit reading."), "{}", active.body);
    assert!(t.members(group).await.contains(&alice));
    let assignment =
        Uuid::parse_str(requests(&t).await[0]["assignment"]["id"].as_str().unwrap()).unwrap();
    assert!(active.has(&format!("/portal/access/assignments/{assignment}/extend")));
    let first_end = t.assignment(assignment).await["schedule"]["expiration"]["endDateTime"].clone();

    // Extend: a userUpdate under the same policy, a new window from now.
    t.clock.advance(TimeDelta::days(5));
    // (the portal session ended meanwhile)
    let mut b = Browser::signed_in(&t, &upn("alice"), PASSWORD).await;
    let extend = format!("/portal/access/assignments/{assignment}/extend");
    let form = b.get(&extend).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let done = b
        .submit(&extend, &[("justification", "still auditing")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(b.follow(&done).await.has("was extended"));
    let later_end = t.assignment(assignment).await["schedule"]["expiration"]["endDateTime"].clone();
    assert_ne!(first_end, later_end, "the end moved");

    // Remove access: a confirmation page, then userRemove.
    let remove = format!("/portal/access/assignments/{assignment}/remove");
    let confirm = b.get(&remove).await;
    assert!(confirm.has("Remove Audit reading?"), "{}", confirm.body);
    let removed = b.submit(&remove, &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let expired = b.follow(&removed).await;
    assert!(
        expired.has("You no longer have Audit reading."),
        "{}",
        expired.body
    );
    assert!(expired.has("Audit reading"));
    assert!(!t.members(group).await.contains(&alice));
    // Nothing left to remove or extend: the pages name nothing.
    assert_eq!(b.get(&remove).await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get(&extend).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_incompatible_package_is_refused_naming_the_conflict() {
    let t = TestApp::new().await;
    t.user("alice").await;
    let catalog = t.catalog(BOOTSTRAP, "Finance").await;
    let pay = t.group("Payments").await;
    let approve = t.group("Approvals").await;
    let payer = t.group_package(catalog, "Payer", pay, json!({})).await;
    let approver = t
        .group_package(catalog, "Payment approver", approve, json!({}))
        .await;
    let (s, b) = t
        .post(
            &em(&format!("/accessPackages/{}/incompatibleAccessPackages/$ref", approver.package)),
            BOOTSTRAP,
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/identityGovernance/entitlementManagement/accessPackages/{}", payer.package) }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let mut b = Browser::signed_in(&t, &upn("alice"), PASSWORD).await;
    b.get(&request_path(&payer)).await;
    assert_eq!(
        b.submit(&request_path(&payer), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    b.get(&request_path(&approver)).await;
    let refused = b.submit(&request_path(&approver), &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.has("incompatible") && refused.has("Payer"),
        "{}",
        refused.body
    );
    assert_eq!(requests(&t).await.len(), 1);
}

#[tokio::test]
async fn a_manager_requests_on_behalf_of_a_report_and_of_nobody_else() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let boss = t.user("boss").await;
    t.user("eve").await;
    t.set_manager(alice, boss).await;
    let group = t.group("Field team").await;
    let catalog = t.catalog(BOOTSTRAP, "Field").await;
    let p = t
        .group_package(
            catalog,
            "Field kit",
            group,
            json!({ "requestorSettings": { "enableTargetsToSelfAddAccess": false,
                "enableOnBehalfRequestorsToAddAccess": true,
                "onBehalfRequestors": [{ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 }] } }),
        )
        .await;
    let mut b = Browser::signed_in(&t, &upn("boss"), PASSWORD).await;
    let form = b.get(&request_path(&p)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("For whom") && form.has("data-picker"));

    let nobody = b.submit(&request_path(&p), &[]).await;
    assert_eq!(nobody.status, StatusCode::BAD_REQUEST);
    assert!(nobody.has("Enter whom you request this for."));
    let eve = b.submit(&request_path(&p), &[("for", &upn("eve"))]).await;
    assert_eq!(eve.status, StatusCode::BAD_REQUEST, "{}", eve.body);
    assert!(
        eve.has("You may not request Field kit for eve"),
        "{}",
        eve.body
    );
    assert!(requests(&t).await.is_empty());

    let sent = b
        .submit(
            &request_path(&p),
            &[("for", &upn("alice")), ("justification", "new starter")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let history = b.follow(&sent).await;
    assert!(
        history.has("on their behalf") && history.has("for alice"),
        "{}",
        history.body
    );
    let all = requests(&t).await;
    assert_eq!(all[0]["requestType"], "onBehalfAdd");
    assert!(t.members(group).await.contains(&alice));
}

#[tokio::test]
async fn a_request_may_start_later_and_waits_scheduled_until_then() {
    let t = TestApp::new().await;
    let alice = t.user("alice").await;
    let group = t.group("Auditors").await;
    let catalog = t.catalog(BOOTSTRAP, "Audit").await;
    let open = t
        .group_package(
            catalog,
            "Audit reading",
            group,
            json!({ "expiration": { "type": "afterDuration", "duration": "P10D" },
                    "requestorSettings": { "enableTargetsToSelfAddAccess": true,
                                           "allowCustomAssignmentSchedule": true } }),
        )
        .await;
    let mut b = Browser::signed_in(&t, &upn("alice"), PASSWORD).await;
    let form = b.get(&request_path(&open)).await;
    assert!(
        form.has("name=\"start\"") && form.has("name=\"end\""),
        "{}",
        form.body
    );

    // Not a time: said under the field, nothing requested.
    let refused = b
        .submit(&request_path(&open), &[("start", "next tuesday")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("Enter the start as a date and time"));
    assert!(requests(&t).await.is_empty());

    // Tomorrow at nine, typed in Berlin (UTC+1 in winter: 60 minutes east, as the page's
    // script reports it).
    let start = (t.clock.now_utc() + TimeDelta::days(1)).date_naive();
    let typed = format!("{start}T09:00");
    let sent = b
        .submit(
            &request_path(&open),
            &[("start", typed.as_str()), ("start_offset", "60")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let history = b.follow(&sent).await;
    assert!(
        history.has(&format!(
            "Your request for Audit reading is scheduled: it starts {start} 08:00 UTC."
        )),
        "{}",
        history.body
    );
    let r = &requests(&t).await[0];
    assert_eq!(r["state"], "scheduled", "{r}");
    assert!(
        t.members(group).await.is_empty(),
        "nothing before the start"
    );

    // The scheduler delivers it at its start.
    let until = start.and_hms_opt(8, 0, 0).unwrap().and_utc() - t.clock.now_utc();
    t.tick(until).await;
    assert_eq!(t.members(group).await, [alice]);

    // An extension form offers no start (an update applies when it is delivered).
    let assignment = Uuid::parse_str(
        requests(&t)
            .await
            .iter()
            .find(|r| r["state"] == "delivered")
            .unwrap()["assignment"]["id"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let mut b = Browser::signed_in(&t, &upn("alice"), PASSWORD).await;
    let extend = b
        .get(&format!("/portal/access/assignments/{assignment}/extend"))
        .await;
    assert_eq!(extend.status, StatusCode::OK, "{}", extend.body);
    assert!(!extend.has("name=\"start\""), "{}", extend.body);
}
