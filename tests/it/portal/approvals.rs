//! Approvals in the portal (demo tenant): Alice asks for Security Administrator through the
//! API, Ada sees it under Approvals and decides in the portal; every refusal changes nothing.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use eligo::service::demo::DEMO_PASSWORD;
use eligo_core::roles::ids;
use serde_json::{Value, json};

use crate::harness::{ASSIGNMENT_URL, BOOTSTRAP, NowUtc, TestApp};
use crate::portal::browser::Browser;

const ROLE: &str = ids::SECURITY_ADMINISTRATOR;

/// A demo user signed in through the API with an authenticator: (token, TOTP secret).
async fn enrolled(t: &TestApp, nick: &str) -> (String, String) {
    let (status, body) = t
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(
                json!({ "username": format!("{nick}@contoso.example"), "password": DEMO_PASSWORD }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    let (status, body) = t
        .post("/v1/me/authenticationMethods/totp", &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secret = body["secret"].as_str().unwrap().to_string();
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/totp/verify",
            &token,
            json!({ "otp": code }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    (token, secret)
}

/// Proves a fresh second factor on `token`'s session (the next TOTP step: a code works once).
async fn step_up(t: &TestApp, token: &str, secret: &str) {
    t.clock.advance(TimeDelta::seconds(30));
    let code = eligo::auth::totp::code_at(secret, t.clock.now_utc()).unwrap();
    let (status, body) = t
        .post("/v1/auth/stepup", token, json!({ "otp": code }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Alice asks for Security Administrator (Ada approves it); returns the request.
pub async fn alice_requests(t: &TestApp) -> (String, String, Value) {
    let (token, secret) = enrolled(t, "alice").await;
    step_up(t, &token, &secret).await;
    let me = t.get("/v1/me", &token).await.1;
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            &token,
            json!({
                "action": "selfActivate", "principalId": me["id"], "roleDefinitionId": ROLE,
                "directoryScopeId": "/", "justification": "Phishing alert INC-42",
                "ticketInfo": { "ticketNumber": "INC-42", "ticketSystem": "ServiceNow" },
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT2H" } },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PendingApproval");
    (token, secret, body)
}

pub async fn request_status(t: &TestApp, id: &str) -> String {
    let (status, body) = t.get(&format!("{ASSIGNMENT_URL}/{id}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["status"].as_str().unwrap().to_string()
}

async fn has_security_admin(t: &TestApp, token: &str) -> bool {
    t.active_roles(token).await.iter().any(|r| r == ROLE)
}

/// The audit entries of `activity` (exact), newest first.
async fn audit_of(t: &TestApp, activity: &str) -> Vec<Value> {
    let (status, body) = t
        .get(
            &format!("/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq '{activity}'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().clone()
}

#[tokio::test]
async fn ada_sees_alices_request_and_approves_it_in_the_portal() {
    let t = TestApp::demo().await;
    let (alice_token, _, request) = alice_requests(&t).await;
    let id = request["id"].as_str().unwrap().to_string();
    let mut ada = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;

    let list = ada.get("/portal/approvals").await;
    assert_eq!(list.status, StatusCode::OK);
    for needle in [
        "Alice Helpdesk-Lead",
        "Security Administrator",
        "Phishing alert INC-42",
        "INC-42 (ServiceNow)",
        "2 hours",
        "Stage 1 of 1",
        "Waiting",
        "when approved",
        &format!("/portal/approvals/{id}"),
    ] {
        assert!(list.has(needle), "{needle} in {}", list.body);
    }
    assert!(list.has("You have not decided any request lately."));

    let page = ada.get(&format!("/portal/approvals/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("name=\"justification\""));
    assert!(page.has("value=\"approve\"") && page.has("value=\"deny\""));
    assert!(!has_security_admin(&t, &alice_token).await);

    let done = ada
        .submit(
            &format!("/portal/approvals/{id}"),
            &[
                ("step", &page.input_value("step").unwrap()),
                ("justification", "Confirmed with the SOC"),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/portal/approvals"));
    let back = ada.follow(&done).await;
    assert!(
        back.has("Approved: Alice Helpdesk-Lead&#39;s request for Security Administrator.")
            || back.has("Approved: Alice Helpdesk-Lead&#x27;s request for Security Administrator."),
        "{}",
        back.body
    );
    assert!(back.has("Nothing waits on your decision right now."));
    // Recently decided by Ada, from the audit log.
    assert!(back.has("Recently decided by you"));
    assert!(back.has("badge-ok\">Approved"));

    assert_ne!(request_status(&t, &id).await, "PendingApproval");
    assert!(has_security_admin(&t, &alice_token).await);
    let approvals = audit_of(&t, "Add member to role request approved (PIM activation)").await;
    let entry = approvals
        .iter()
        .find(|e| {
            e["targetResources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == id.as_str())
        })
        .expect("the approval is audited");
    assert_eq!(
        entry["initiatedBy"]["user"]["userPrincipalName"],
        "ada@contoso.example"
    );
    let details = entry["additionalDetails"].to_string();
    assert!(details.contains("Confirmed with the SOC"), "{details}");

    // A second submit of the same form: already decided, nothing changes.
    let before = audit_of(&t, "Add member to role request approved (PIM activation)")
        .await
        .len();
    let again = ada
        .submit(
            &format!("/portal/approvals/{id}"),
            &[
                ("step", &page.input_value("step").unwrap()),
                ("justification", "Confirmed with the SOC"),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(
        again.has("This request was already decided"),
        "{}",
        again.body
    );
    assert!(
        again.has("already decided by Ada Administrator"),
        "{}",
        again.body
    );
    assert_eq!(
        audit_of(&t, "Add member to role request approved (PIM activation)")
            .await
            .len(),
        before
    );

    // The decided request, opened again: its stage shows who decided, no form.
    let page = ada.get(&format!("/portal/approvals/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("Confirmed with the SOC"));
    assert!(page.has("Ada Administrator"));
    assert!(!page.has("name=\"justification\""));
}

#[tokio::test]
async fn ada_denies_and_nothing_is_granted() {
    let t = TestApp::demo().await;
    let (alice_token, _, request) = alice_requests(&t).await;
    let id = request["id"].as_str().unwrap().to_string();
    let mut ada = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    ada.get(&format!("/portal/approvals/{id}")).await;
    let done = ada
        .submit(
            &format!("/portal/approvals/{id}"),
            &[
                ("justification", "No incident open for this"),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let back = ada.follow(&done).await;
    assert!(back.has("Denied: Alice Helpdesk-Lead"), "{}", back.body);
    assert!(back.has("badge-bad\">Denied"));
    assert_eq!(request_status(&t, &id).await, "Denied");
    assert!(!has_security_admin(&t, &alice_token).await);
    let denied = audit_of(&t, "Add member to role request denied (PIM activation)").await;
    assert_eq!(denied.len(), 1);
    assert!(
        denied[0]["additionalDetails"]
            .to_string()
            .contains("No incident open for this")
    );
}

#[tokio::test]
async fn refusals_change_nothing() {
    let t = TestApp::demo().await;
    let (alice_token, secret, request) = alice_requests(&t).await;
    let id = request["id"].as_str().unwrap().to_string();
    let path = format!("/portal/approvals/{id}");

    // Erin may not even see it: a clear page, on a deep link and on a post.
    let mut erin = Browser::signed_in(&t, "erin@contoso.example", DEMO_PASSWORD).await;
    let list = erin.get("/portal/approvals").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.has("Nothing waits on your decision right now."));
    assert!(!list.has(&id));
    let page = erin.get(&path).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.has("Not found"));
    let post = erin
        .submit(&path, &[("justification", "sure"), ("decision", "approve")])
        .await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    // A malformed id is a page too, not an error.
    assert_eq!(
        erin.get("/portal/approvals/not-an-id").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(request_status(&t, &id).await, "PendingApproval");

    // Dave (Global Reader) may read it, but is no approver: no form, and a post is refused.
    let (mut dave, _) =
        Browser::signed_in_with_mfa(&t, "dave@contoso.example", DEMO_PASSWORD).await;
    let read = dave.get(&path).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(
        read.has("You are not an approver of the stage now waiting"),
        "{}",
        read.body
    );
    assert!(!read.has("name=\"justification\""));
    let post = dave
        .submit(
            &path,
            &[("justification", "looks fine"), ("decision", "approve")],
        )
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN, "{}", post.body);
    assert!(post.has("You are not an approver of this request"));
    assert_eq!(request_status(&t, &id).await, "PendingApproval");

    // Alice sees her own request but cannot decide it.
    t.clock.advance(TimeDelta::seconds(30));
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let mut alice = Browser::new(&t);
    let signed = alice
        .sign_in("alice@contoso.example", DEMO_PASSWORD, Some(&code))
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let own = alice.get(&path).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.has("This is your request"), "{}", own.body);
    assert!(!own.has("name=\"justification\""));
    let post = alice
        .submit(
            &path,
            &[("justification", "me, myself"), ("decision", "approve")],
        )
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN, "{}", post.body);
    assert!(post.has("You cannot decide your own request"));
    assert_eq!(request_status(&t, &id).await, "PendingApproval");

    // Ada: a missing justification is a field error; what was chosen stays, nothing changes.
    let mut ada = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    ada.get(&path).await;
    let missing = ada
        .submit(&path, &[("justification", "   "), ("decision", "approve")])
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.has("form-errors"));
    assert!(missing.has("id=\"justification-error\""));
    assert!(missing.has("aria-invalid=\"true\""));
    assert_eq!(request_status(&t, &id).await, "PendingApproval");
    // Too long: the text is kept.
    let long = "x".repeat(2001);
    let too_long = ada
        .submit(&path, &[("justification", &long), ("decision", "deny")])
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert!(too_long.has("at most 2000 characters"));
    assert!(too_long.has(&long));
    // No decision chosen.
    let none = ada.submit(&path, &[("justification", "fine")]).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    assert!(none.has("Choose Approve or Deny."));
    assert!(none.has(">fine</textarea>"));
    // A forged token.
    let forged = ada
        .post_raw(
            &path,
            &[
                ("csrf", "forged"),
                ("justification", "fine"),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.has("This form has expired"));
    assert_eq!(request_status(&t, &id).await, "PendingApproval");
    assert!(!has_security_admin(&t, &alice_token).await);
    assert!(
        audit_of(&t, "Add member to role request approved (PIM activation)")
            .await
            .is_empty()
    );

    // Canceled by Alice: Ada is told it no longer waits.
    let (status, body) = t
        .post(
            &format!("{ASSIGNMENT_URL}/{id}/cancel"),
            &alice_token,
            json!({}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let late = ada
        .submit(&path, &[("justification", "ok"), ("decision", "approve")])
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.has("canceled by the requester"), "{}", late.body);
    assert_eq!(request_status(&t, &id).await, "Canceled");
}

#[tokio::test]
async fn the_approval_mail_links_to_the_request_in_the_portal_and_link_pages_to_eligo() {
    use eligo::notify::event::{Notice, NoticeKind, NoticeStage, NoticeTarget, Party};
    use eligo::notify::templates::{Audience, render};
    let t = TestApp::demo().await;
    let (_, _, request) = alice_requests(&t).await;
    let id = uuid::Uuid::parse_str(request["id"].as_str().unwrap()).unwrap();
    let party = |n: u128, name: &str| Party {
        id: uuid::Uuid::from_u128(n),
        display_name: name.into(),
        user_principal_name: None,
    };
    let notice = Notice {
        id: uuid::Uuid::from_u128(1),
        kind: NoticeKind::ActivationRequested,
        occurred_at: t.clock.now_utc(),
        principal: party(2, "Alice Helpdesk-Lead"),
        actor: None,
        target: NoticeTarget {
            kind: "role".into(),
            id: uuid::Uuid::parse_str(ROLE).unwrap(),
            display_name: "Security Administrator".into(),
            directory_scope_id: Some("/".into()),
            access_id: None,
        },
        assignment: "active".into(),
        request_id: Some(id),
        justification: Some("Phishing alert INC-42".into()),
        ticket_number: None,
        ticket_system: None,
        start: None,
        end: None,
        stage: Some(NoticeStage {
            number: 1,
            of: 1,
            step_id: uuid::Uuid::from_u128(3),
        }),
        days_left: None,
        reviewer_justification: None,
    };
    let mail = render(
        &notice,
        &Audience::Approver {
            approve_url: "https://eligo.example/approvals/decide?token=A".into(),
            deny_url: "https://eligo.example/approvals/decide?token=D".into(),
        },
        "https://eligo.example/",
    );
    let link = format!("https://eligo.example/portal/approvals/{id}");
    assert!(
        mail.text.contains(&format!("Review in Eligo: {link}")),
        "{}",
        mail.text
    );
    assert!(
        mail.html.contains(&format!("href=\"{link}\"")),
        "{}",
        mail.html
    );

    // The deep link of the mail, without a session: sign in first, then back to the request.
    let mut b = Browser::new(&t);
    let path = format!("/portal/approvals/{id}");
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let next = page.location().unwrap().to_string();
    assert!(next.starts_with("/portal/sign-in?next="), "{next}");
    b.follow(&page).await;
    let done = b
        .submit(
            "/portal/sign-in",
            &[
                ("username", "ada@contoso.example"),
                ("password", DEMO_PASSWORD),
                ("next", &path),
            ],
        )
        .await;
    assert_eq!(done.location(), Some(path.as_str()));
    let page = b.follow(&done).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("Phishing alert INC-42"));

    // The one-click pages lead into the portal.
    let (status, body) = t
        .call(Method::GET, "/approvals/decide?token=garbage", None, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let html = body.as_str().unwrap();
    assert!(
        html.contains("href=\"/portal/approvals\"") && html.contains("Open Eligo"),
        "{html}"
    );
}

#[tokio::test]
async fn a_group_membership_request_is_decided_the_same_way() {
    const G: &str = "/v1/identityGovernance/privilegedAccess/group";
    let t = TestApp::demo().await;
    let (_, groups) = t
        .get(
            "/v1/groups?$filter=displayName eq 'Compliance Portal Admins'",
            BOOTSTRAP,
        )
        .await;
    let group = groups["value"][0]["id"].as_str().unwrap().to_string();
    let (_, ada) = t
        .get(
            "/v1/users?$filter=userPrincipalName eq 'ada@contoso.example'",
            BOOTSTRAP,
        )
        .await;
    let ada_id = ada["value"][0]["id"].as_str().unwrap().to_string();
    // The group's member policy asks Ada to approve.
    let (status, body) = t
        .get(
            &format!(
                "/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '{group}' and scopeType eq 'Group' and roleDefinitionId eq 'member'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let policy = body["value"][0]["policyId"].as_str().unwrap().to_string();
    let (status, body) = t
        .patch(
            &format!(
                "/v1/policies/roleManagementPolicies/{policy}/rules/Approval_EndUser_Assignment"
            ),
            BOOTSTRAP,
            json!({ "setting": { "isApprovalRequired": true, "approvalStages": [
                { "approvalStageTimeOutInDays": 1, "primaryApprovers": [
                    { "@odata.type": "#microsoft.graph.singleUser", "userId": ada_id } ] } ] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (bob, secret) = enrolled(&t, "bob").await;
    step_up(&t, &bob, &secret).await;
    let me = t.get("/v1/me", &bob).await.1;
    let (status, request) = t
        .post(
            &format!("{G}/assignmentScheduleRequests"),
            &bob,
            json!({ "action": "selfActivate", "principalId": me["id"], "groupId": group,
                    "accessId": "member", "justification": "Quarterly export",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["status"], "PendingApproval");
    let id = request["id"].as_str().unwrap().to_string();

    let mut ada = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    let list = ada.get("/portal/approvals").await;
    for needle in [
        "Bob Exchange",
        "Group membership",
        "Compliance Portal Admins",
        "Quarterly export",
        "1 hour",
    ] {
        assert!(list.has(needle), "{needle} in {}", list.body);
    }
    let path = format!("/portal/approvals/{id}");
    ada.get(&path).await;
    let done = ada
        .submit(
            &path,
            &[("justification", "Export is due"), ("decision", "approve")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let back = ada.follow(&done).await;
    assert!(back.has("Approved: Bob Exchange"), "{}", back.body);
    let (_, members) = t
        .get(&format!("/v1/groups/{group}/members"), BOOTSTRAP)
        .await;
    assert!(
        members.to_string().contains(me["id"].as_str().unwrap()),
        "{members}"
    );
}

async fn user_id(t: &TestApp, nick: &str) -> String {
    let (_, body) = t
        .get(
            &format!("/v1/users?$filter=userPrincipalName eq '{nick}@contoso.example'"),
            BOOTSTRAP,
        )
        .await;
    body["value"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn two_stages_one_decision_each_and_a_stale_form_changes_nothing() {
    let t = TestApp::demo().await;
    let (ada_id, uma_id) = (user_id(&t, "ada").await, user_id(&t, "uma").await);
    t.set_rule(
        ROLE,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [
            { "approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true, "primaryApprovers": [
                { "@odata.type": "#microsoft.graph.singleUser", "userId": ada_id } ] },
            { "approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true, "primaryApprovers": [
                { "@odata.type": "#microsoft.graph.singleUser", "userId": uma_id } ] } ] } }),
    )
    .await;
    let (alice_token, _, request) = alice_requests(&t).await;
    let id = request["id"].as_str().unwrap().to_string();
    let path = format!("/portal/approvals/{id}");

    // Uma's stage has not started: nothing waits on her yet.
    let mut uma = Browser::signed_in_with_mfa(&t, "uma@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    assert!(
        uma.get("/portal/approvals")
            .await
            .has("Nothing waits on your decision right now.")
    );

    let mut ada = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    let page = ada.get(&path).await;
    assert!(page.has("Stage 1 of 2") && page.has("Stage 2 of 2"));
    let step = page.input_value("step").unwrap();
    let fields = [
        ("step", step.as_str()),
        ("justification", "First look is fine"),
        ("decision", "approve"),
    ];
    let done = ada.submit(&path, &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let back = ada.follow(&done).await;
    assert!(back.has("Approved stage 1:"), "{}", back.body);
    assert!(back.has("now waits for stage 2"), "{}", back.body);
    // The same form again: that stage is decided; nothing changes.
    let stale = ada.submit(&path, &fields).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(stale.has("already decided"), "{}", stale.body);
    assert_eq!(request_status(&t, &id).await, "PendingApproval");

    // Uma now sees it, with Ada's decision in stage 1, and completes it.
    let list = uma.get("/portal/approvals").await;
    assert!(list.has("Alice Helpdesk-Lead"), "{}", list.body);
    assert!(list.has("First look is fine"));
    assert!(list.has("Ada Administrator"));
    uma.get(&path).await;
    let done = uma
        .submit(
            &path,
            &[
                ("justification", "Second look too"),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let back = uma.follow(&done).await;
    assert!(back.has("Approved: Alice Helpdesk-Lead"), "{}", back.body);
    assert!(has_security_admin(&t, &alice_token).await);
}

/// The step of request `id` now waiting.
async fn current_step(t: &TestApp, id: &str) -> uuid::Uuid {
    let mut tx = t.app.store.read().await.unwrap();
    let request = tx
        .get_schedule_request(uuid::Uuid::parse_str(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    request.approval.unwrap().steps[0].id
}

#[tokio::test]
async fn an_approve_link_carries_ada_through_sign_in_and_her_code_decides() {
    use eligo::notify::links::{self, Decision, LinkClaims};
    let t = TestApp::demo().await;
    let (alice_token, _, request) = alice_requests(&t).await;
    let id = request["id"].as_str().unwrap().to_string();
    let (_, ada_secret) = enrolled(&t, "ada").await;
    let ada_id = t
        .app
        .store
        .read()
        .await
        .unwrap()
        .find_user_by_upn("ada@contoso.example")
        .await
        .unwrap()
        .unwrap()
        .id;
    let token = links::sign(
        &t.app.link_key,
        &LinkClaims {
            request_id: uuid::Uuid::parse_str(&id).unwrap(),
            step_id: current_step(&t, &id).await,
            approver_id: ada_id,
            decision: Decision::Approve,
            expires_at: t.clock.now_utc() + TimeDelta::days(1),
            nonce: uuid::Uuid::new_v4(),
        },
    );

    // The link, in a browser without a session: the request, and "Sign in to decide".
    let mut b = Browser::new(&t);
    let page = b.get(&format!("/approvals/decide?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Sign in to decide"), "{}", page.body);
    let href = page.attr("href").unwrap().replace("&#38;", "&");
    let form = b.get(&href).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(
        form.input_value("username").as_deref(),
        Some("ada@contoso.example"),
        "the link's approver is filled in"
    );
    let next = form.input_value("next").unwrap();
    assert_eq!(next, format!("/approvals/decide?token={token}"));

    // Ada signs in with her code and comes back to the link's page, now with its form.
    t.clock.advance(TimeDelta::seconds(30));
    let code = eligo::auth::totp::code_at(&ada_secret, t.clock.now_utc()).unwrap();
    let done = b
        .submit(
            "/portal/sign-in",
            &[
                ("username", "ada@contoso.example"),
                ("password", DEMO_PASSWORD),
                ("code", &code),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some(next.as_str()));
    let page = b.follow(&done).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Confirm approval"), "{}", page.body);
    assert!(!page.has("name=\"code\""), "her sign-in code is fresh");
    assert_eq!(request_status(&t, &id).await, "PendingApproval");
    let decided = b
        .submit(
            "/approvals/decide",
            &[("token", &token), ("justification", "Checked INC-42")],
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.body);
    assert!(decided.has("Request approved"), "{}", decided.body);
    assert_eq!(request_status(&t, &id).await, "Provisioned");
    assert!(has_security_admin(&t, &alice_token).await);
    let entries = audit_of(&t, "Add member to role request approved (PIM activation)").await;
    assert_eq!(entries[0]["initiatedBy"]["user"]["id"], json!(ada_id));
}

#[tokio::test]
async fn a_decision_long_after_sign_in_asks_for_the_code_first() {
    let t = TestApp::demo().await;
    let (alice_token, _, request) = alice_requests(&t).await;
    let id = request["id"].as_str().unwrap().to_string();
    let (mut ada, secret) =
        Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD).await;
    t.clock
        .advance(t.app.config.mfa_freshness + TimeDelta::minutes(1));
    let path = format!("/portal/approvals/{id}");
    let page = ada.get(&path).await;
    assert!(page.has("name=\"code\""), "{}", page.body);
    let before = t.recorded_changes().await;
    for code in ["", "12ab56", "000000"] {
        let page = ada
            .submit(
                &path,
                &[
                    ("decision", "approve"),
                    ("justification", "ok"),
                    ("code", code),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
        assert!(page.has("Nothing was decided yet"), "{}", page.body);
    }
    assert_eq!(t.recorded_changes().await, before, "nothing decided");
    assert_eq!(request_status(&t, &id).await, "PendingApproval");
    t.clock.advance(TimeDelta::seconds(30));
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let page = ada
        .submit(
            &path,
            &[
                ("decision", "approve"),
                ("justification", "ok"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(request_status(&t, &id).await, "Provisioned");
    assert!(has_security_admin(&t, &alice_token).await);
}

/// Several requests decided at once: the menu counts what waits, one justification goes on
/// each, each is decided and audited on its own, and what could not be decided is said.
#[tokio::test]
async fn ada_approves_two_requests_at_once_and_the_menu_counts_them() {
    let t = TestApp::demo().await;
    let (alice_token, _, first) = alice_requests(&t).await;
    let (carol_token, carol_secret) = enrolled(&t, "carol").await;
    let carol = t.get("/v1/me", &carol_token).await.1;
    let carol_id = uuid::Uuid::parse_str(carol["id"].as_str().unwrap()).unwrap();
    t.make_eligible(carol_id, ROLE).await;
    step_up(&t, &carol_token, &carol_secret).await;
    let (status, second) = t
        .post(
            ASSIGNMENT_URL,
            &carol_token,
            json!({
                "action": "selfActivate", "principalId": carol["id"], "roleDefinitionId": ROLE,
                "directoryScopeId": "/", "justification": "Phishing alert INC-43",
                "ticketInfo": { "ticketNumber": "INC-43", "ticketSystem": "ServiceNow" },
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let (first, second) = (
        first["id"].as_str().unwrap().to_string(),
        second["id"].as_str().unwrap().to_string(),
    );
    let mut ada = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD)
        .await
        .0;
    let list = ada.get("/portal/approvals").await;
    assert!(list.has("aria-label=\"2 waiting on you\""), "{}", list.body);
    assert!(list.has("Decide the selected requests together"));

    // Without a justification: refused, nothing decided.
    let refused = ada
        .submit(
            "/portal/approvals/bulk",
            &[("pick", &first), ("pick", &second), ("decision", "approve")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("Nothing was decided."));
    assert_eq!(request_status(&t, &first).await, "PendingApproval");

    // Both, plus a request that does not exist.
    let unknown = uuid::Uuid::new_v4().to_string();
    let done = ada
        .submit(
            "/portal/approvals/bulk",
            &[
                ("pick", &first),
                ("pick", &second),
                ("pick", &unknown),
                ("decision", "approve"),
                ("justification", "Both on the phishing bridge"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let back = ada.follow(&done).await;
    assert!(back.has("Approved 2 requests"), "{}", back.body);
    assert!(
        back.has(&format!("Not decided: {unknown}: no such request")),
        "{}",
        back.body
    );
    assert!(
        !back.has("Approvals <span class=\"count\""),
        "the count is gone"
    );
    assert_eq!(request_status(&t, &first).await, "Provisioned");
    assert_eq!(request_status(&t, &second).await, "Provisioned");
    assert!(has_security_admin(&t, &alice_token).await);
    assert!(has_security_admin(&t, &carol_token).await);
    let approved = audit_of(&t, "Add member to role request approved (PIM activation)").await;
    assert_eq!(approved.len(), 2, "each decision audited on its own");
    for entry in &approved {
        assert!(entry.to_string().contains("Both on the phishing bridge"));
    }
}
