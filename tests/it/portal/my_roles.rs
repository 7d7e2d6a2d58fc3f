//! "My roles" and "My requests" in the portal: activating (with step-up when the policy wants
//! a fresh second factor), deactivating, extending and renewing, requests that wait for
//! approval and their cancellation, and every refusal keeping what was typed and changing
//! nothing.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use eligo_core::roles::ids;
use serde_json::{Value, json};

use super::browser::{Browser, Page};
use crate::harness::{BOOTSTRAP, NowUtc, TestApp};

const DEMO_PASSWORD: &str = eligo::service::demo::DEMO_PASSWORD;
const ALICE: &str = "alice@contoso.example";
const BOB: &str = "bob@contoso.example";

/// An API token for a demo user (taken before they enrol an authenticator).
async fn api_token(t: &TestApp, upn: &str) -> String {
    let (status, body) = t
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "username": upn, "password": DEMO_PASSWORD })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// Enrols an authenticator through Security info; returns its secret. The session's second
/// factor is fresh afterwards.
async fn enrol(b: &mut Browser<'_>, t: &TestApp) -> String {
    b.get("/portal/security").await;
    let page = b.submit("/portal/security/totp", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = b.get("/portal/security/totp").await;
    let secret = page.attr("data-secret").expect("the secret");
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let done = b
        .submit("/portal/security/totp/verify", &[("code", &code)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    secret
}

/// The part of a page from `start` to the end of its table.
fn section<'p>(page: &'p Page, start: &str) -> &'p str {
    let Some(at) = page.body.find(start) else {
        return "";
    };
    let rest = &page.body[at..];
    &rest[..rest.find("</table>").unwrap_or(rest.len())]
}

/// The caller's current activations (kind active, activated) of `role` from `/v1/me/roles`.
async fn activations(t: &TestApp, token: &str, role: &str) -> Vec<Value> {
    let (status, body) = t.get("/v1/me/roles", token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["kind"] == "active"
                && (r["roleDefinitionId"] == role || r["groupId"] == role)
                && r["assignmentType"] == "Activated"
        })
        .cloned()
        .collect()
}

async fn my_requests(t: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = t
        .get(
            "/v1/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='principal')",
            token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().clone()
}

fn activate_path(role: &str) -> String {
    format!("/portal/roles/activate?role={role}&scope=/")
}

#[tokio::test]
async fn alice_activates_helpdesk_sees_it_active_and_deactivates_it() {
    let t = TestApp::demo().await;
    let token = api_token(&t, ALICE).await;
    let helpdesk = ids::HELPDESK_ADMINISTRATOR;
    let mut b = Browser::signed_in(&t, ALICE, DEMO_PASSWORD).await;

    // Without an authenticator, My roles says where to set one up.
    let page = b.get("/portal/roles").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("Helpdesk Administrator") && page.has("Security Administrator"));
    assert!(page.has("href=\"/portal/security\""), "the MFA banner");
    assert!(
        page.has(&format!(
            "/portal/roles/activate?role={helpdesk}&#38;scope=%2F"
        )),
        "{}",
        page.body
    );
    // The activation form says no authenticator, cannot be sent, and links to Security info
    // with the way back here.
    let form = b.get(&activate_path(helpdesk)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.has("you have not set one up"));
    assert!(form.has("class=\"primary\" disabled"), "{}", form.body);
    let back_here = format!("/portal/roles/activate?role={helpdesk}&scope=%2F");
    let encoded = serde_urlencoded::to_string([("next", &back_here)]).unwrap();
    assert!(
        form.has(&format!(
            "/portal/security?{}",
            encoded.replace('&', "&#38;")
        )) || form.has(&format!("/portal/security?{encoded}")),
        "{}",
        form.body
    );

    // Enrolling from there comes back to the form.
    let security = b.get(&format!("/portal/security?{encoded}")).await;
    assert!(
        security.has(&format!(
            "name=\"next\" value=\"{}\"",
            back_here.replace('&', "&#38;")
        )) || security.has(&back_here),
        "{}",
        security.body
    );
    let begun = b
        .submit("/portal/security/totp", &[("next", &back_here)])
        .await;
    assert_eq!(begun.status, StatusCode::SEE_OTHER, "{}", begun.body);
    let page = b.follow(&begun).await;
    let secret = page.attr("data-secret").expect("the secret");
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let done = b
        .submit(
            "/portal/security/totp/verify",
            &[("code", &code), ("next", &back_here)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some(back_here.as_str()));
    // Another site is never where it goes.
    let evil = b
        .get("/portal/security?next=https%3A%2F%2Fevil.example%2F")
        .await;
    assert!(!evil.has("evil.example"), "{}", evil.body);
    let page = b.get("/portal/roles").await;
    assert!(
        !page.has("you have not set one up yet"),
        "no banner once enrolled"
    );

    let form = b.get(&activate_path(helpdesk)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.has("Activate Helpdesk Administrator"));
    assert!(form.has("Lasts at most 8 hours"));
    assert!(form.has("No approval needed"));
    assert!(!form.has("name=\"code\""), "MFA is fresh from enrolment");
    // Any length up to the maximum, in words or short form; the presets are suggestions.
    assert!(form.has("<option value=\"2 hours\">"), "{}", form.body);
    assert!(form.has("Any length up to 8 hours"));
    assert!(form.has("value=\"8 hours\""), "the maximum is the default");

    let done = b
        .submit(
            "/portal/roles/activate",
            &[
                ("role", helpdesk),
                ("scope", "/"),
                ("duration", "1 hour and 60 minutes"),
                ("justification", "password reset backlog"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/portal/roles"));
    let page = b.follow(&done).await;
    assert!(
        page.has("Helpdesk Administrator is active until 2026-11-22 12:00 UTC"),
        "{}",
        page.body
    );
    let active = section(&page, "id=\"active\"");
    assert!(active.contains("Helpdesk Administrator"), "{active}");
    assert!(active.contains("datetime=\"2026-11-22T12:00:00Z\" data-countdown"));
    // Deactivate is offered only once it can work; until then the row says when.
    assert!(active.contains("Extend"), "{active}");
    assert!(!active.contains("/portal/roles/deactivate"), "{active}");
    assert!(
        active
            .contains("You can deactivate from 2026-11-22 10:05 UTC, 5 minutes after activating."),
        "{active}"
    );
    assert_eq!(activations(&t, &token, helpdesk).await.len(), 1);
    assert_eq!(
        activations(&t, &token, helpdesk).await[0]["endDateTime"],
        "2026-11-22T12:00:00Z"
    );

    // The same form again (a double submit): a clear message, still one activation.
    let again = b
        .submit(
            "/portal/roles/activate",
            &[
                ("role", helpdesk),
                ("scope", "/"),
                ("duration", "PT2H"),
                ("justification", "password reset backlog"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(again.has("already active"));
    assert!(again.has("password reset backlog"), "input kept");
    assert_eq!(activations(&t, &token, helpdesk).await.len(), 1);

    // Deactivating at once is refused (the minimum duration), and nothing changes.
    let early = b
        .submit(
            "/portal/roles/deactivate",
            &[("role", helpdesk), ("scope", "/")],
        )
        .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST, "{}", early.body);
    assert!(early.has("form-errors"));
    assert!(
        early.has("You can deactivate it from 2026-11-22 10:05 UTC"),
        "{}",
        early.body
    );
    assert_eq!(activations(&t, &token, helpdesk).await.len(), 1);

    t.clock.advance(TimeDelta::minutes(6));
    let roles = b.get("/portal/roles").await;
    assert!(section(&roles, "id=\"active\"").contains("/portal/roles/deactivate"));
    let done = b
        .submit(
            "/portal/roles/deactivate",
            &[("role", helpdesk), ("scope", "/")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Helpdesk Administrator is deactivated."));
    assert!(!section(&page, "id=\"active\"").contains("Helpdesk Administrator"));
    assert!(activations(&t, &token, helpdesk).await.is_empty());
    // It can be renewed for a day.
    let ended = section(&page, "id=\"ended\"");
    assert!(ended.contains("Helpdesk Administrator") && ended.contains("Renew"));
}

#[tokio::test]
async fn after_twenty_minutes_the_form_asks_for_a_code_and_a_wrong_one_activates_nothing() {
    let t = TestApp::demo().await;
    let token = api_token(&t, ALICE).await;
    let helpdesk = ids::HELPDESK_ADMINISTRATOR;
    let mut b = Browser::signed_in(&t, ALICE, DEMO_PASSWORD).await;
    let secret = enrol(&mut b, &t).await;
    t.clock.advance(TimeDelta::minutes(20));

    let form = b.get(&activate_path(helpdesk)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.has("Code from your authenticator"));
    assert!(form.has("name=\"code\""));

    let right = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let wrong: String = right
        .chars()
        .map(|c| {
            if c == '9' {
                '0'
            } else {
                ((c as u8) + 1) as char
            }
        })
        .collect();
    let fields = |code: &str| {
        vec![
            ("role", helpdesk.to_string()),
            ("scope", "/".to_string()),
            ("duration", "PT1H".to_string()),
            ("justification", "on call".to_string()),
            ("code", code.to_string()),
        ]
    };
    let wrong_fields = fields(&wrong);
    let wrong_fields: Vec<(&str, &str)> =
        wrong_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = b.submit("/portal/roles/activate", &wrong_fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("That code is incorrect"));
    assert!(refused.has("id=\"code-error\""));
    assert!(refused.has("on call"), "the justification is kept");
    assert!(activations(&t, &token, helpdesk).await.is_empty());

    // No code at all: a field error too, nothing activated.
    let no_code = b
        .submit(
            "/portal/roles/activate",
            &[
                ("role", helpdesk),
                ("scope", "/"),
                ("duration", "PT1H"),
                ("justification", "on call"),
            ],
        )
        .await;
    assert_eq!(no_code.status, StatusCode::BAD_REQUEST);
    assert!(no_code.has("Enter the six-digit code"));
    assert!(activations(&t, &token, helpdesk).await.is_empty());

    let right_fields = fields(&right);
    let right_fields: Vec<(&str, &str)> =
        right_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = b.submit("/portal/roles/activate", &right_fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Helpdesk Administrator is active until 2026-11-22 11:20 UTC"));
    assert_eq!(activations(&t, &token, helpdesk).await.len(), 1);
}

#[tokio::test]
async fn a_role_that_needs_approval_waits_in_my_requests_and_can_be_canceled() {
    let t = TestApp::demo().await;
    let token = api_token(&t, ALICE).await;
    let security = ids::SECURITY_ADMINISTRATOR;
    let mut b = Browser::signed_in(&t, ALICE, DEMO_PASSWORD).await;
    enrol(&mut b, &t).await;

    let form = b.get(&activate_path(security)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.has("This role needs approval: your request will wait for an approver."));
    assert!(form.has("Request approval"));

    // Without the justification the policy asks for: refused, nothing asked.
    let refused = b
        .submit(
            "/portal/roles/activate",
            &[
                ("role", security),
                ("scope", "/"),
                ("duration", "PT1H"),
                ("ticket_number", "INC-7"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("id=\"justification-error\""));
    assert_eq!(
        refused.input_value("ticket_number").as_deref(),
        Some("INC-7")
    );
    assert!(my_requests(&t, &token).await.is_empty());

    let done = b
        .submit(
            "/portal/roles/activate",
            &[
                ("role", security),
                ("scope", "/"),
                ("duration", "PT1H"),
                ("justification", "phishing campaign review"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/portal/requests"));
    let page = b.follow(&done).await;
    assert!(page.has("Your request for Security Administrator waits for approval."));
    assert!(page.has("Waiting for approval"));
    assert!(page.has("Stage 1"));
    assert!(page.has("Waiting for a decision"));
    assert!(page.has("phishing campaign review"));
    assert!(page.has("data-confirm="));
    assert!(activations(&t, &token, security).await.is_empty());
    let id = page.input_value("id").expect("the cancel form");

    // My roles shows the waiting request where Activate was, with the request and Cancel.
    let roles = b.get("/portal/roles").await;
    let eligible = section(&roles, "id=\"eligible\"");
    let row_start = eligible.find("Security Administrator").expect("the row");
    let row = &eligible[row_start..];
    let row = &row[..row.find("</tr>").unwrap_or(row.len())];
    assert!(row.contains("Waiting for approval"), "{row}");
    assert!(
        row.contains(&format!("/portal/requests#request-{id}")),
        "{row}"
    );
    assert!(row.contains("Cancel request"), "{row}");
    assert!(
        !row.contains("/portal/roles/activate?"),
        "no Activate while one waits: {row}"
    );

    // A second try is refused with its own answer naming the waiting request; nothing new.
    let again = b
        .submit(
            "/portal/roles/activate",
            &[
                ("role", security),
                ("scope", "/"),
                ("duration", "PT1H"),
                ("justification", "second try"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(again.has("is waiting for approval"), "{}", again.body);
    assert!(again.has(&id), "{}", again.body);
    assert_eq!(my_requests(&t, &token).await.len(), 1);

    let done = b.submit("/portal/requests/cancel", &[("id", &id)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Your request for Security Administrator is canceled."));
    assert!(page.has("badge-info\">Canceled"));
    assert!(!page.has("Cancel request"));
    let requests = my_requests(&t, &token).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["status"], "Canceled");
}

#[tokio::test]
async fn refused_activations_keep_the_input_and_change_nothing() {
    let t = TestApp::demo().await;
    let token = api_token(&t, ALICE).await;
    let helpdesk = ids::HELPDESK_ADMINISTRATOR;
    let mut b = Browser::signed_in(&t, ALICE, DEMO_PASSWORD).await;
    enrol(&mut b, &t).await;
    b.get(&activate_path(helpdesk)).await;

    let post = |duration: &'static str, start: &'static str| {
        vec![
            ("role", helpdesk),
            ("scope", "/"),
            ("duration", duration),
            ("justification", "kept text"),
            ("start", start),
        ]
    };
    // A crafted duration above the maximum.
    let page = b.submit("/portal/roles/activate", &post("PT9H", "")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.has("id=\"duration-error\""));
    assert!(page.has("maximum"));
    assert!(page.has("kept text"));
    // Not a duration at all.
    let page = b
        .submit("/portal/roles/activate", &post("forever", ""))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("is not a duration"), "{}", page.body);
    // A later start in the past, and one that is not a time.
    let page = b
        .submit("/portal/roles/activate", &post("PT1H", "2026-11-22T08:00"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.has("id=\"start-error\""));
    assert!(page.has("The start is in the past"));
    assert_eq!(
        page.input_value("start").as_deref(),
        Some("2026-11-22T08:00")
    );
    let page = b
        .submit("/portal/roles/activate", &post("PT1H", "tomorrow"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("id=\"start-error\""));
    assert_eq!(page.input_value("start").as_deref(), Some("tomorrow"));
    assert!(activations(&t, &token, helpdesk).await.is_empty());
    assert!(my_requests(&t, &token).await.is_empty());

    // A role alice is not eligible for: a clear page, by link and by post.
    let global = ids::GLOBAL_ADMINISTRATOR;
    let page = b.get(&activate_path(global)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("You are not eligible for Global Administrator"));
    let page = b
        .submit(
            "/portal/roles/activate",
            &[
                ("role", global),
                ("scope", "/"),
                ("duration", "PT1H"),
                ("justification", "x"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("You are not eligible for Global Administrator"));
    // A link naming nothing.
    let page = b.get("/portal/roles/activate?role=nonsense").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // A forged anti-forgery token: 403, nothing changed.
    let page = b
        .post_raw(
            "/portal/roles/activate",
            &[
                ("csrf", "forged"),
                ("role", helpdesk),
                ("scope", "/"),
                ("duration", "PT1H"),
                ("justification", "x"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(activations(&t, &token, helpdesk).await.is_empty());
    assert!(my_requests(&t, &token).await.is_empty());

    // A later start in the future is scheduled.
    let done = b
        .submit("/portal/roles/activate", &post("PT1H", "2026-11-22T15:00"))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has(
        "Helpdesk Administrator is scheduled from 2026-11-22 15:00 UTC until 2026-11-22 16:00 UTC."
    ));
    assert!(section(&page, "id=\"active\"").contains("Scheduled"));
}

#[tokio::test]
async fn extend_and_renew_an_activation() {
    let t = TestApp::demo().await;
    let token = api_token(&t, ALICE).await;
    let helpdesk = ids::HELPDESK_ADMINISTRATOR;
    let mut b = Browser::signed_in(&t, ALICE, DEMO_PASSWORD).await;
    enrol(&mut b, &t).await;

    // Nothing to extend or renew yet: a clear page.
    let page = b
        .get(&format!("/portal/roles/extend?role={helpdesk}&scope=/"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("no running activation"));
    let page = b
        .get(&format!("/portal/roles/renew?role={helpdesk}&scope=/"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);

    b.get(&activate_path(helpdesk)).await;
    let done = b
        .submit(
            "/portal/roles/activate",
            &[("role", helpdesk), ("scope", "/"), ("duration", "PT1H")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    let form = b
        .get(&format!("/portal/roles/extend?role={helpdesk}&scope=/"))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("Extend Helpdesk Administrator"));
    assert!(form.has("Currently ends"));
    assert!(!form.has("name=\"start\""));
    // An extension ending before the current end is refused.
    let page = b
        .submit(
            "/portal/roles/extend",
            &[
                ("role", helpdesk),
                ("scope", "/"),
                ("duration", "PT30M"),
                ("justification", "more work"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.has("id=\"duration-error\""));
    assert!(page.has("more work"));
    assert_eq!(
        activations(&t, &token, helpdesk).await[0]["endDateTime"],
        "2026-11-22T11:00:00Z"
    );
    let done = b
        .submit(
            "/portal/roles/extend",
            &[
                ("role", helpdesk),
                ("scope", "/"),
                ("duration", "PT4H"),
                ("justification", "more work"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Helpdesk Administrator is active until 2026-11-22 14:00 UTC"));
    let now = activations(&t, &token, helpdesk).await;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0]["endDateTime"], "2026-11-22T14:00:00Z");

    // Deactivate, then renew.
    t.clock.advance(TimeDelta::minutes(6));
    let done = b
        .submit(
            "/portal/roles/deactivate",
            &[("role", helpdesk), ("scope", "/")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let form = b
        .get(&format!("/portal/roles/renew?role={helpdesk}&scope=/"))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("Renew Helpdesk Administrator"));
    let done = b
        .submit(
            "/portal/roles/renew",
            &[
                ("role", helpdesk),
                ("scope", "/"),
                ("duration", "PT1H"),
                ("justification", "again"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Helpdesk Administrator is active until 2026-11-22 11:06 UTC"));
    assert_eq!(activations(&t, &token, helpdesk).await.len(), 1);
}

#[tokio::test]
async fn bob_needs_a_ticket_for_exchange_and_activates_group_membership() {
    let t = TestApp::demo().await;
    let token = api_token(&t, BOB).await;
    let exchange = ids::EXCHANGE_ADMINISTRATOR;
    let mut b = Browser::signed_in(&t, BOB, DEMO_PASSWORD).await;
    enrol(&mut b, &t).await;

    let form = b.get(&activate_path(exchange)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.has("Needs a ticket number and ticket system."));
    assert!(form.has("Lasts at most 2 hours"));
    let page = b
        .submit(
            "/portal/roles/activate",
            &[
                ("role", exchange),
                ("scope", "/"),
                ("duration", "PT1H"),
                ("justification", "mailbox migration"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.has("id=\"ticket_number-error\""));
    assert!(page.has("mailbox migration"));
    assert!(activations(&t, &token, exchange).await.is_empty());

    // Membership of Compliance Portal Admins, found on My roles.
    let roles = b.get("/portal/roles").await;
    let eligible = section(&roles, "id=\"eligible\"");
    assert!(eligible.contains("Compliance Portal Admins"));
    assert!(eligible.contains("Group membership"));
    let at = eligible.find("/portal/roles/activate?group=").unwrap();
    let link = &eligible[at..];
    let link = link[..link.find('"').unwrap()]
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let group = link
        .split("group=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let form = b.get(&link).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("Activate membership of Compliance Portal Admins"));
    let done = b
        .submit(
            "/portal/roles/activate",
            &[
                ("group", &group),
                ("access", "member"),
                ("duration", "PT1H"),
                ("justification", "retention policy audit"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(
        page.has("Membership of Compliance Portal Admins is active until 2026-11-22 11:00 UTC"),
        "{}",
        page.body
    );
    let active = section(&page, "id=\"active\"");
    assert!(active.contains("Compliance Portal Admins"), "{active}");
    assert_eq!(activations(&t, &token, &group).await.len(), 1);
    // The group lists him as a member now.
    let (status, members) = t
        .get(&format!("/v1/groups/{group}/members"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert!(members.to_string().contains("Bob Exchange"));
}

#[tokio::test]
async fn a_role_through_a_group_shows_how_it_comes_and_group_access_can_be_ended() {
    let t = TestApp::demo().await;
    let mut b = Browser::signed_in(&t, "carol@contoso.example", DEMO_PASSWORD).await;
    enrol(&mut b, &t).await;
    let roles = b.get("/portal/roles").await;
    let eligible = section(&roles, "id=\"eligible\"");
    assert!(eligible.contains("Tier 0 Operators"), "{eligible}");
    assert!(!eligible.contains("Privileged Role Administrator"));
    let at = eligible.find("/portal/roles/activate?group=").unwrap();
    let link = &eligible[at..];
    let link = link[..link.find('"').unwrap()].replace("&#38;", "&");
    let form = b.get(&link).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let group = form.input_value("group").expect("the group field");
    let done = b
        .submit(
            "/portal/roles/activate",
            &[
                ("group", &group),
                ("access", "member"),
                ("duration", "PT1H"),
                ("justification", "break-glass drill"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    // The group's eligibility for Privileged Role Administrator now reaches carol.
    let eligible = section(&page, "id=\"eligible\"");
    assert!(
        eligible.contains("Privileged Role Administrator"),
        "{eligible}"
    );
    assert!(eligible.contains("Via group Tier 0 Operators"));
    let active = section(&page, "id=\"active\"");
    assert!(active.contains("Tier 0 Operators") && active.contains("You can deactivate from"));

    t.clock.advance(TimeDelta::minutes(6));
    let done = b
        .submit(
            "/portal/roles/deactivate",
            &[("group", &group), ("access", "member")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Your membership of Tier 0 Operators has ended."));
    assert!(!section(&page, "id=\"active\"").contains("Tier 0 Operators"));
    assert!(!section(&page, "id=\"eligible\"").contains("Privileged Role Administrator"));
}

#[tokio::test]
async fn without_an_authenticator_nothing_is_activated_and_others_requests_cannot_be_canceled() {
    let t = TestApp::demo().await;
    let alice_token = api_token(&t, ALICE).await;
    let helpdesk = ids::HELPDESK_ADMINISTRATOR;
    let mut b = Browser::signed_in(&t, ALICE, DEMO_PASSWORD).await;
    b.get(&activate_path(helpdesk)).await;
    let page = b
        .submit(
            "/portal/roles/activate",
            &[
                ("role", helpdesk),
                ("scope", "/"),
                ("duration", "PT1H"),
                ("justification", "no app yet"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.has("href=\"/portal/security\""));
    assert!(page.has("no app yet"));
    assert!(activations(&t, &alice_token, helpdesk).await.is_empty());

    // Alice asks for Security Administrator; bob cannot cancel her request.
    enrol(&mut b, &t).await;
    b.get(&activate_path(ids::SECURITY_ADMINISTRATOR)).await;
    let done = b
        .submit(
            "/portal/roles/activate",
            &[
                ("role", ids::SECURITY_ADMINISTRATOR),
                ("scope", "/"),
                ("duration", "PT1H"),
                ("justification", "review"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let id = my_requests(&t, &alice_token).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bob = Browser::signed_in(&t, BOB, DEMO_PASSWORD).await;
    let page = bob.get("/portal/requests").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("You have made no requests yet"));
    let page = bob.submit("/portal/requests/cancel", &[("id", &id)]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(
        my_requests(&t, &alice_token).await[0]["status"],
        "PendingApproval"
    );
    // Cancelling twice: the second changes nothing and says so calmly.
    b.get("/portal/requests").await;
    let done = b.submit("/portal/requests/cancel", &[("id", &id)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let done = b.submit("/portal/requests/cancel", &[("id", &id)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let requests = my_requests(&t, &alice_token).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["status"], "Canceled");
}

const SECURITY_ADMIN: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";

/// The end of a demo user's eligibility for `role`, as the API reads it.
async fn eligibility_end(t: &TestApp, upn: &str, role: &str) -> String {
    let (_, users) = t
        .get(
            &format!("/v1/users?$filter=userPrincipalName eq '{upn}'"),
            BOOTSTRAP,
        )
        .await;
    let id = users["value"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId eq '{id}' and roleDefinitionId eq '{role}'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"][0]["endDateTime"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}

#[tokio::test]
async fn alice_asks_for_an_extension_ada_declines_then_extends() {
    let t = TestApp::demo().await;
    let mut alice = Browser::signed_in(&t, ALICE, DEMO_PASSWORD).await;
    let page = alice.get("/portal/roles").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let eligible = section(&page, "id=\"eligible\"");
    assert!(
        eligible.contains("Eligibility ends in 10 days"),
        "{eligible}"
    );
    // A year away: the days are said, no extension offered.
    assert!(
        eligible.contains("Eligibility ends in 365 days"),
        "{eligible}"
    );
    let link = format!(
        "/portal/roles/request-extension?role={SECURITY_ADMIN}&#38;scope=%2F&#38;kind=eligible"
    );
    assert!(eligible.contains(&link), "{eligible}");
    assert_eq!(
        eligible.matches("Request extension").count(),
        1,
        "{eligible}"
    );

    let form = alice.get(&link.replace("&#38;", "&")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("Request an extension of Security Administrator"));
    assert_eq!(form.input_value("duration").as_deref(), Some("365 days"));
    let post = "/portal/roles/request-extension";
    let target = [
        ("role", SECURITY_ADMIN),
        ("scope", "/"),
        ("kind", "eligible"),
    ];
    let with = |more: &[(&'static str, &'static str)]| {
        let mut v = target.to_vec();
        v.extend_from_slice(more);
        v
    };
    // No reason given, and longer than an administrator may give: both said, nothing asked.
    let refused = alice
        .submit(
            post,
            &with(&[("duration", "400 days"), ("justification", "")]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.has("id=\"justification-error\""),
        "{}",
        refused.body
    );
    assert!(refused.has("id=\"duration-error\""), "{}", refused.body);
    assert_eq!(refused.input_value("duration").as_deref(), Some("400 days"));
    let asked = alice
        .submit(
            post,
            &with(&[
                ("duration", "90 days"),
                ("justification", "the audit runs into March"),
            ]),
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    let page = alice.follow(&asked).await;
    assert!(
        page.has("Your request to extend Security Administrator waits for an administrator."),
        "{}",
        page.body
    );
    assert!(
        page.has("Extension requested</span> <span class=\"muted\">Waiting for an administrator")
    );
    assert!(!section(&page, "id=\"eligible\"").contains("Request extension"));
    let requests = alice.get("/portal/requests").await;
    assert!(
        requests.has("Waiting for an administrator"),
        "{}",
        requests.body
    );
    assert!(requests.has("Extend the eligibility (asks an administrator)"));
    // Asking twice: refused, naming the request that waits.
    let twice = alice
        .submit(
            post,
            &with(&[("duration", "30 days"), ("justification", "again")]),
        )
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST, "{}", twice.body);
    assert!(twice.has("waits for an administrator"), "{}", twice.body);

    // Ada sees it on the role's page and declines it: nothing else changes.
    let (mut ada, _) = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD).await;
    let role_page = format!("/portal/admin/roles/{SECURITY_ADMIN}");
    let page = ada.get(&role_page).await;
    assert!(page.has("Extension requests"), "{}", page.body);
    assert!(page.has("the audit runs into March"));
    assert!(page.has("Extension requested"));
    let id = page.body[page.body.find("id=\"extension-").unwrap() + 14..]
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let before = eligibility_end(&t, ALICE, SECURITY_ADMIN).await;
    let declined = ada
        .submit(
            "/portal/admin/assignments/decline",
            &[("id", id.as_str()), ("reason", "ask again in February")],
        )
        .await;
    assert_eq!(declined.status, StatusCode::SEE_OTHER, "{}", declined.body);
    let page = ada.follow(&declined).await;
    assert!(
        page.has("Declined: Alice Helpdesk-Lead&#39;s extension request."),
        "{}",
        page.body
    );
    assert!(!page.has("the audit runs into March"));
    assert_eq!(eligibility_end(&t, ALICE, SECURITY_ADMIN).await, before);
    let requests = alice.get("/portal/requests").await;
    assert!(
        requests.has("declined by Ada Administrator: ask again in February"),
        "{}",
        requests.body
    );
    // Declining twice: said, nothing changes.
    let again = ada
        .submit("/portal/admin/assignments/decline", &[("id", id.as_str())])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(ada.follow(&again).await.has("no longer waits"));

    // Alice asks again; Ada extends it from the request, which completes it.
    let page = alice.get("/portal/roles").await;
    assert!(section(&page, "id=\"eligible\"").contains("Request extension"));
    let asked = alice
        .submit(
            post,
            &with(&[
                ("duration", "90 days"),
                ("justification", "the audit runs into March"),
            ]),
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    let page = ada.get(&role_page).await;
    let extend =
        format!("/portal/admin/assignments/extend?role={SECURITY_ADMIN}&scope=%2F&principal=");
    assert!(page.has(&extend.replace('&', "&#38;")), "{}", page.body);
    let alice_id = page.body[page.body.find(&extend.replace('&', "&#38;")).unwrap()
        + extend.replace('&', "&#38;").len()..]
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let form = ada.get(&format!("{extend}{alice_id}&kind=eligible")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    // The form starts from what Alice asked for.
    assert!(form.has("Extension requested on"), "{}", form.body);
    assert_eq!(
        form.input_value("end_date").as_deref(),
        Some("2027-02-20T10:00")
    );
    let done = ada
        .submit(
            "/portal/admin/assignments/extend",
            &[
                ("role", SECURITY_ADMIN),
                ("scope", "/"),
                ("principal", alice_id.as_str()),
                ("kind", "eligible"),
                ("end_type", "date"),
                ("end_date", "2027-02-20T10:00"),
                ("justification", "audit"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        ada.follow(&done)
            .await
            .has("Their extension request is completed.")
    );
    assert_eq!(
        eligibility_end(&t, ALICE, SECURITY_ADMIN).await,
        "2027-02-20T10:00:00Z"
    );
    let requests = alice.get("/portal/requests").await;
    assert!(
        requests.has("extended by an administrator"),
        "{}",
        requests.body
    );
    let page = alice.get("/portal/roles").await;
    assert!(!page.has("Extension requested</span>"));
    assert!(!section(&page, "id=\"eligible\"").contains("Request extension"));
}

#[tokio::test]
async fn nobody_asks_to_extend_someone_elses_eligibility() {
    let t = TestApp::demo().await;
    let alice = api_token(&t, ALICE).await;
    let (_, users) = t
        .get(
            "/v1/users?$filter=userPrincipalName eq 'bob@contoso.example'",
            BOOTSTRAP,
        )
        .await;
    let bob = users["value"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = t
        .post(
            crate::harness::ELIGIBILITY_URL,
            &alice,
            json!({
                "action": "selfExtend", "principalId": bob, "roleDefinitionId": ids::EXCHANGE_ADMINISTRATOR,
                "directoryScopeId": "/", "justification": "for Bob",
                "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P30D"}}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Nothing waits for an administrator.
    let (_, waiting) = t
        .get(
            "/v1/roleManagement/directory/roleEligibilityScheduleRequests?$filter=status eq 'PendingAdminDecision'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(waiting["value"].as_array().unwrap().len(), 0, "{waiting}");
    // And the portal's form only ever asks for the signed-in person: Bob's eligibility is not
    // Alice's to extend, whatever the link says.
    let mut b = Browser::signed_in(&t, ALICE, DEMO_PASSWORD).await;
    let page = b
        .get(&format!(
            "/portal/roles/request-extension?role={}&scope=%2F&kind=eligible",
            ids::EXCHANGE_ADMINISTRATOR
        ))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.has("nothing to extend"));
}
