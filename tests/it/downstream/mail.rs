//! Mail: the SMTP mailer against a real SMTP server (maildev, read back over its HTTP API), and
//! the one-click approve/deny pages that approval mails link to (tokens minted here with the
//! app's link key, then GET to look and POST to decide, as a browser would).

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use eligo::notify::event::{Notice, NoticeKind, NoticeStage, NoticeTarget, Party};
use eligo::notify::links::{self, Decision, LinkClaims};
use eligo::notify::mail::{MailError, Mailer, OutgoingMail};
use eligo::notify::templates::{self, Audience};
use eligo_core::roles::ids;
use http_body_util::BodyExt;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

use crate::harness::*;

// ---------------------------------------------------------------------------------------------
// The mailer against maildev.

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Every mail maildev holds, waiting (briefly) until there are at least `n`.
async fn received(api: &str, n: usize) -> Vec<Value> {
    let client = http();
    for _ in 0..100 {
        let mails: Vec<Value> = client
            .get(format!("{api}/email"))
            .send()
            .await
            .expect("maildev answers")
            .json()
            .await
            .expect("maildev lists mail as JSON");
        if mails.len() >= n {
            return mails;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("maildev did not receive {n} mail(s)");
}

fn addresses(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["address"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test]
async fn the_mailer_sends_a_multipart_mail_that_arrives_whole() {
    let Some(maildev) = eligo_testkit::maildev::maildev().await else {
        return;
    };
    let mailer = Mailer::from_config(&maildev.smtp_url(), "Eligo <eligo@contoso.example>").unwrap();
    let mail = OutgoingMail {
        to: vec![
            "alice@contoso.example".into(),
            "Bob Builder <bob@contoso.example>".into(),
        ],
        subject: "Eligo: Zoë requests Exchange Administrator".into(),
        text: "Plain part: Zoë asks for Exchange Administrator.\n".into(),
        html: "<p>HTML part: <strong>Zoë</strong> asks.</p>".into(),
        message_id: "notice-1.alice@eligo.test".into(),
    };
    mailer.send(&mail).await.expect("sent");

    let mails = received(&maildev.api_url(), 1).await;
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m["subject"], "Eligo: Zoë requests Exchange Administrator");
    assert_eq!(
        addresses(&m["to"]),
        ["alice@contoso.example", "bob@contoso.example"]
    );
    assert_eq!(addresses(&m["from"]), ["eligo@contoso.example"]);
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .contains("Plain part: Zoë asks for Exchange Administrator."),
        "{m}"
    );
    assert!(
        m["html"]
            .as_str()
            .unwrap()
            .contains("<p>HTML part: <strong>Zoë</strong> asks.</p>"),
        "{m}"
    );
    let content_type = m["headers"]["content-type"].as_str().unwrap_or_default();
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{content_type}"
    );
    assert_eq!(m["headers"]["message-id"], "<notice-1.alice@eligo.test>");

    // The pooled connection is reused for a second mail.
    let second = OutgoingMail {
        to: vec!["carol@contoso.example".into()],
        message_id: "<notice-2@eligo.test>".into(),
        ..mail
    };
    mailer.send(&second).await.expect("sent again");
    let mails = received(&maildev.api_url(), 2).await;
    assert!(
        mails
            .iter()
            .any(|m| addresses(&m["to"]) == ["carol@contoso.example"])
    );
}

#[tokio::test]
async fn an_unreachable_relay_is_a_transient_failure_without_the_password() {
    // A port nothing listens on.
    let port = eligo_testkit::free_port();
    let mailer = Mailer::from_config(
        &format!("smtp://mailer:hunter22secret@127.0.0.1:{port}"),
        "eligo@contoso.example",
    )
    .unwrap();
    let mail = OutgoingMail {
        to: vec!["alice@contoso.example".into()],
        subject: "Eligo: test".into(),
        text: "t".into(),
        html: "<p>h</p>".into(),
        message_id: "x@eligo.test".into(),
    };
    match mailer.send(&mail).await {
        Err(MailError::Transient(message)) => {
            assert!(!message.contains("hunter22secret"), "{message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected a transient failure, got {other:?}"),
    }
}

#[tokio::test]
async fn credentials_in_the_url_authenticate_and_a_refusal_is_permanent() {
    let Some(maildev) =
        eligo_testkit::maildev::maildev_with_auth("eligo-mailer", "s3cret-pass").await
    else {
        return;
    };
    let port = maildev.smtp_port();
    let mail = OutgoingMail {
        to: vec!["alice@contoso.example".into()],
        subject: "Eligo: authenticated".into(),
        text: "t".into(),
        html: "<p>h</p>".into(),
        message_id: "auth@eligo.test".into(),
    };
    let good = Mailer::from_config(
        &format!("smtp://eligo-mailer:s3cret-pass@127.0.0.1:{port}"),
        "eligo@contoso.example",
    )
    .unwrap();
    good.send(&mail).await.expect("authenticated send");
    assert_eq!(
        received(&maildev.api_url(), 1).await[0]["subject"],
        "Eligo: authenticated"
    );

    let bad = Mailer::from_config(
        &format!("smtp://eligo-mailer:wrong-pass-42@127.0.0.1:{port}"),
        "eligo@contoso.example",
    )
    .unwrap();
    match bad.send(&mail).await {
        Err(MailError::Permanent(message)) => {
            assert!(!message.contains("wrong-pass-42"), "{message}");
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The one-click pages.

const ROLE: &str = ids::SECURITY_ADMINISTRATOR;

fn single(id: Uuid) -> Value {
    json!({ "@odata.type": "#microsoft.graph.singleUser", "userId": id })
}

async fn require_approval(t: &TestApp, stages: Value) {
    t.set_rule(
        ROLE,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": stages } }),
    )
    .await;
}

/// A request waiting for approval: (request id, first step id).
async fn pending_request(t: &TestApp, requester: &Person) -> (Uuid, Uuid) {
    t.make_eligible(requester.id, ROLE).await;
    t.step_up(requester).await;
    let (status, body) = t
        .activate(
            requester,
            ROLE,
            "PT2H",
            json!({ "justification": "Investigate <incident> & contain",
                    "ticketInfo": { "ticketNumber": "INC-42", "ticketSystem": "Jira" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PendingApproval");
    let id = id_of(&body);
    let mut tx = t.app.store.read().await.unwrap();
    let request = tx.get_schedule_request(id).await.unwrap().unwrap();
    (id, request.approval.unwrap().steps[0].id)
}

fn mint(t: &TestApp, request: Uuid, step: Uuid, approver: Uuid, decision: Decision) -> String {
    links::sign(
        &t.app.link_key,
        &LinkClaims {
            request_id: request,
            step_id: step,
            approver_id: approver,
            decision,
            expires_at: t.clock.now_utc() + TimeDelta::days(1),
            nonce: Uuid::new_v4(),
        },
    )
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

async fn page(t: &TestApp, req: Request<Body>) -> Answer {
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        html: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// Who the browser that follows a link is signed in as.
enum As {
    /// The approver the link was sent to, with a fresh second factor (the usual case).
    Approver,
    /// Nobody: no portal session.
    Nobody,
    /// A portal session of this principal (the raw session token).
    Session(String),
}

/// The portal session cookie the browser sends: for `As::Approver`, a fresh session of the
/// user the link names (when the link verifies and names a user).
async fn cookie_for(t: &TestApp, token: &str, who: As) -> Option<String> {
    let raw = match who {
        As::Nobody => return None,
        As::Session(raw) => raw,
        As::Approver => {
            let claims = links::verify(&t.app.link_key, token, t.clock.now_utc()).ok()?;
            t.app
                .store
                .read()
                .await
                .unwrap()
                .get_user(claims.approver_id)
                .await
                .unwrap()?;
            t.portal_session(claims.approver_id).await
        }
    };
    Some(raw)
}

fn with_cookie(
    req: axum::http::request::Builder,
    t: &TestApp,
    raw: Option<&str>,
) -> axum::http::request::Builder {
    match raw {
        Some(raw) => req.header(
            "cookie",
            format!("{}={raw}", eligo::portal::cookies::session_name(&t.app)),
        ),
        None => req,
    }
}

async fn open(t: &TestApp, token: &str) -> Answer {
    open_as(t, token, As::Approver).await
}

async fn open_as(t: &TestApp, token: &str, who: As) -> Answer {
    let raw = cookie_for(t, token, who).await;
    let req = with_cookie(Request::builder(), t, raw.as_deref())
        .method(Method::GET)
        .uri(format!("/approvals/decide?token={token}"))
        .body(Body::empty())
        .unwrap();
    page(t, req).await
}

async fn confirm(t: &TestApp, token: &str, justification: &str) -> Answer {
    confirm_as(t, token, justification, As::Approver, None).await
}

/// Posts the confirmation form as the approver's browser would: with the session's
/// anti-forgery token (and a code, when given).
async fn confirm_as(
    t: &TestApp,
    token: &str,
    justification: &str,
    who: As,
    code: Option<&str>,
) -> Answer {
    let raw = cookie_for(t, token, who).await;
    let csrf = raw
        .as_deref()
        .map(|raw| eligo::portal::session::csrf_for(&t.app, &eligo::auth::token::digest(raw)))
        .unwrap_or_default();
    let mut body = format!(
        "token={}&justification={}&csrf={}",
        utf8_percent_encode(token, NON_ALPHANUMERIC),
        utf8_percent_encode(justification, NON_ALPHANUMERIC),
        utf8_percent_encode(&csrf, NON_ALPHANUMERIC),
    );
    if let Some(code) = code {
        body.push_str(&format!("&code={code}"));
    }
    let req = with_cookie(Request::builder(), t, raw.as_deref())
        .method(Method::POST)
        .uri("/approvals/decide")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    page(t, req).await
}

async fn status_of(t: &TestApp, id: Uuid) -> String {
    let (status, body) = t.get(&format!("{ASSIGNMENT_URL}/{id}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["status"].as_str().unwrap().to_string()
}

/// How many audit entries exist: every change writes one, so an unchanged count means nothing
/// changed.
async fn audit_entries(t: &TestApp) -> u64 {
    let (status, body) = t.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["valid"], true);
    // The break-glass token's own uses are on the record too; they change nothing.
    t.recorded_changes().await as u64
}

fn assert_page_headers(a: &Answer) {
    let h = |name: &str| {
        a.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        h("content-security-policy"),
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
    );
    assert_eq!(h("referrer-policy"), "no-referrer");
    assert_eq!(h("cache-control"), "no-store");
    assert!(
        h("content-type").starts_with("text/html"),
        "{}",
        h("content-type")
    );
    assert!(a.html.starts_with("<!DOCTYPE html>"), "{}", a.html);
}

/// A refusal page: the status, the headers, no internal error text, nothing changed.
async fn assert_refused(t: &TestApp, a: &Answer, status: StatusCode, entries: u64) {
    assert_eq!(a.status, status, "{}", a.html);
    assert_page_headers(a);
    assert!(a.html.contains("Nothing was changed"), "{}", a.html);
    for internal in ["InternalServerError", "Request_", "\"error\"", "panicked"] {
        assert!(!a.html.contains(internal), "{internal} in {}", a.html);
    }
    assert_eq!(audit_entries(t).await, entries, "nothing changed");
}

#[tokio::test]
async fn the_link_page_shows_the_request_and_changes_nothing_then_confirming_approves_once() {
    let t = TestApp::new().await;
    let approver = t.person("ann").await;
    require_approval(&t, json!([{ "primaryApprovers": [single(approver.id)] }])).await;
    let requester = t.person("rick").await;
    let (id, step) = pending_request(&t, &requester).await;
    let token = mint(&t, id, step, approver.id, Decision::Approve);
    let before = audit_entries(&t).await;

    // Looking (a mail scanner, or the approver) changes nothing, however often.
    for _ in 0..2 {
        let a = open(&t, &token).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.html);
        assert_page_headers(&a);
        for needle in [
            "Approve this request?",
            "rick (rick@contoso.example)",
            "Security Administrator",
            "/ (the whole directory)",
            "2 hours",
            "Investigate &#60;incident&#62; &#38; contain",
            "INC-42 (Jira)",
            "1 of 1",
            "You are deciding as ann",
            "Confirm approval",
            "method=\"post\"",
        ] {
            assert!(a.html.contains(needle), "{needle} in {}", a.html);
        }
        assert!(a.html.contains(&token), "the form carries the token");
    }
    assert_eq!(status_of(&t, id).await, "PendingApproval");
    assert_eq!(audit_entries(&t).await, before, "GET changes nothing");

    // Confirming decides.
    let a = confirm(&t, &token, "Looks right").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert_page_headers(&a);
    assert!(a.html.contains("Request approved"), "{}", a.html);
    assert_eq!(status_of(&t, id).await, "Provisioned");
    assert_eq!(t.active_roles(&requester.token).await, [ROLE]);
    let (_, log) = t
        .get(
            "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Add member to role request approved (PIM activation)'",
            BOOTSTRAP,
        )
        .await;
    let entries = log["value"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["initiatedBy"]["user"]["id"], json!(approver.id));
    let (_, approval) = t
        .get(
            &format!("/v1/roleManagement/directory/roleAssignmentApprovals/{id}"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(approval["steps"][0]["reviewResult"], "Approve");
    assert_eq!(approval["steps"][0]["justification"], "Looks right");

    // Used twice: refused, nothing changes.
    let after = audit_entries(&t).await;
    let a = confirm(&t, &token, "again").await;
    assert_refused(&t, &a, StatusCode::CONFLICT, after).await;
    assert!(a.html.contains("already used"), "{}", a.html);
    // Opening it now says it was decided.
    let a = open(&t, &token).await;
    assert_refused(&t, &a, StatusCode::CONFLICT, after).await;
    assert_eq!(status_of(&t, id).await, "Provisioned");
}

#[tokio::test]
async fn a_deny_link_denies_with_the_approvers_justification() {
    let t = TestApp::new().await;
    let approver = t.person("ann").await;
    require_approval(&t, json!([{ "primaryApprovers": [single(approver.id)] }])).await;
    let requester = t.person("rick").await;
    let (id, step) = pending_request(&t, &requester).await;
    let token = mint(&t, id, step, approver.id, Decision::Deny);

    let a = open(&t, &token).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert!(a.html.contains("Deny this request?"), "{}", a.html);
    assert!(a.html.contains("Confirm denial"), "{}", a.html);

    let a = confirm(&t, &token, "Not during the change freeze").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert!(a.html.contains("Request denied"), "{}", a.html);
    assert_eq!(status_of(&t, id).await, "Denied");
    assert!(t.active_roles(&requester.token).await.is_empty());
    let (_, approval) = t
        .get(
            &format!("/v1/roleManagement/directory/roleAssignmentApprovals/{id}"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(approval["steps"][0]["reviewResult"], "Deny");
    assert_eq!(
        approval["steps"][0]["justification"],
        "Not during the change freeze"
    );

    // The approve link of the same mail now finds the request decided.
    let before = audit_entries(&t).await;
    let approve = mint(&t, id, step, approver.id, Decision::Approve);
    let a = confirm(&t, &approve, "").await;
    assert_refused(&t, &a, StatusCode::CONFLICT, before).await;
    assert!(a.html.contains("Denied"), "{}", a.html);
}

#[tokio::test]
async fn malformed_and_tampered_links_are_400_and_expired_ones_410() {
    let t = TestApp::new().await;
    let approver = t.person("ann").await;
    require_approval(&t, json!([{ "primaryApprovers": [single(approver.id)] }])).await;
    let requester = t.person("rick").await;
    let (id, step) = pending_request(&t, &requester).await;
    let token = mint(&t, id, step, approver.id, Decision::Approve);
    let before = audit_entries(&t).await;

    // Tampered: one character of the claims changed; signed with another key; garbage.
    let mut tampered = token.clone().into_bytes();
    tampered[5] = if tampered[5] == b'x' { b'y' } else { b'x' };
    let tampered = String::from_utf8(tampered).unwrap();
    let foreign = links::sign(
        &[9; 32],
        &LinkClaims {
            request_id: id,
            step_id: step,
            approver_id: approver.id,
            decision: Decision::Approve,
            expires_at: t.clock.now_utc() + TimeDelta::days(1),
            nonce: Uuid::new_v4(),
        },
    );
    for bad in [tampered.as_str(), foreign.as_str(), "garbage", "a.b"] {
        let a = open(&t, bad).await;
        assert_refused(&t, &a, StatusCode::BAD_REQUEST, before).await;
        let a = confirm(&t, bad, "").await;
        assert_refused(&t, &a, StatusCode::BAD_REQUEST, before).await;
    }
    // No token at all, and a body that is no form.
    let req = Request::builder()
        .uri("/approvals/decide")
        .body(Body::empty())
        .unwrap();
    assert_refused(&t, &page(&t, req).await, StatusCode::BAD_REQUEST, before).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/approvals/decide")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    assert_refused(&t, &page(&t, req).await, StatusCode::BAD_REQUEST, before).await;

    // Expired: a day later the genuine link is refused.
    t.clock.advance(TimeDelta::days(1));
    let a = open(&t, &token).await;
    assert_refused(&t, &a, StatusCode::GONE, before).await;
    let a = confirm(&t, &token, "late").await;
    assert_refused(&t, &a, StatusCode::GONE, before).await;
    assert!(a.html.contains("expired"), "{}", a.html);
    assert_eq!(status_of(&t, id).await, "PendingApproval");
}

#[tokio::test]
async fn a_link_for_someone_who_is_not_an_approver_is_403_and_stays_unused() {
    let t = TestApp::new().await;
    let approver = t.person("ann").await;
    let outsider = t.person("olga").await;
    let (_, group) = t
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": "Approvers", "securityEnabled": true, "isAssignableToRole": false }),
        )
        .await;
    let group = id_of(&group);
    t.post(
        &format!("/v1/groups/{group}/members"),
        BOOTSTRAP,
        json!({ "id": approver.id }),
    )
    .await;
    require_approval(
        &t,
        json!([{ "primaryApprovers": [{ "@odata.type": "#microsoft.graph.groupMembers", "groupId": group }] }]),
    )
    .await;
    let requester = t.person("rick").await;
    let (id, step) = pending_request(&t, &requester).await;
    let before = audit_entries(&t).await;

    let token = mint(&t, id, step, outsider.id, Decision::Approve);
    let a = open(&t, &token).await;
    assert_refused(&t, &a, StatusCode::FORBIDDEN, before).await;
    let a = confirm(&t, &token, "").await;
    assert_refused(&t, &a, StatusCode::FORBIDDEN, before).await;
    assert!(a.html.contains("not an approver"), "{}", a.html);
    assert_eq!(status_of(&t, id).await, "PendingApproval");

    // The requester's own link: refused too.
    let own = mint(&t, id, step, requester.id, Decision::Approve);
    let a = confirm(&t, &own, "").await;
    assert_refused(&t, &a, StatusCode::FORBIDDEN, before).await;

    // A link for an account that is disabled or does not exist: refused.
    let (status, body) = t
        .patch(
            &format!("/v1/users/{}", approver.id),
            BOOTSTRAP,
            json!({ "accountEnabled": false }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let before = audit_entries(&t).await;
    let disabled = mint(&t, id, step, approver.id, Decision::Approve);
    assert_refused(
        &t,
        &confirm(&t, &disabled, "").await,
        StatusCode::FORBIDDEN,
        before,
    )
    .await;
    let nobody = mint(&t, id, step, Uuid::new_v4(), Decision::Approve);
    assert_refused(&t, &open(&t, &nobody).await, StatusCode::FORBIDDEN, before).await;

    // The refused link was not used up: once its person becomes an approver, it works.
    t.post(
        &format!("/v1/groups/{group}/members"),
        BOOTSTRAP,
        json!({ "id": outsider.id }),
    )
    .await;
    let a = confirm(&t, &token, "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert_eq!(status_of(&t, id).await, "Provisioned");
}

#[tokio::test]
async fn a_link_decides_nothing_unless_its_approver_is_signed_in_with_a_fresh_second_factor() {
    let t = TestApp::new().await;
    let approver = t.person("ann").await;
    let other = t.person("olga").await;
    require_approval(&t, json!([{ "primaryApprovers": [single(approver.id)] }])).await;
    let requester = t.person("rick").await;
    let (id, step) = pending_request(&t, &requester).await;
    let token = mint(&t, id, step, approver.id, Decision::Approve);
    let before = audit_entries(&t).await;

    // Whoever holds the mail but no session (a forwarded mail, a mailbox taken over) sees the
    // request and a way to sign in as its approver, and no form.
    let a = open_as(&t, &token, As::Nobody).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert_page_headers(&a);
    assert!(a.html.contains("Sign in to decide"), "{}", a.html);
    assert!(!a.html.contains("method=\"post\""), "{}", a.html);
    let back = utf8_percent_encode(
        &format!("/approvals/decide?token={token}"),
        NON_ALPHANUMERIC,
    )
    .to_string();
    assert!(
        a.html.contains(&format!(
            "/portal/sign-in?next={back}&#38;username=ann%40contoso%2Eexample"
        )),
        "{}",
        a.html
    );
    let a = confirm_as(&t, &token, "", As::Nobody, None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.html);
    // An API token is no portal session, even the approver's own.
    let api = t.sign_in("ann").await;
    let a = open_as(&t, &token, As::Session(api.clone())).await;
    assert!(a.html.contains("Sign in to decide"), "{}", a.html);
    let a = confirm_as(&t, &token, "", As::Session(api), None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.html);
    // Signed in as somebody else: told so.
    let olga = t.portal_session(other.id).await;
    let a = open_as(&t, &token, As::Session(olga.clone())).await;
    assert_refused(&t, &a, StatusCode::FORBIDDEN, before).await;
    assert!(a.html.contains("sent to someone else"), "{}", a.html);
    let a = confirm_as(&t, &token, "", As::Session(olga), None).await;
    assert_refused(&t, &a, StatusCode::FORBIDDEN, before).await;
    assert_eq!(audit_entries(&t).await, before);
    assert_eq!(status_of(&t, id).await, "PendingApproval");

    // The approver's session without the anti-forgery token of its page: refused.
    let ann = t.portal_session(approver.id).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/approvals/decide")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "cookie",
            format!("{}={ann}", eligo::portal::cookies::session_name(&t.app)),
        )
        .body(Body::from(format!(
            "token={}&justification=x&csrf=forged",
            utf8_percent_encode(&token, NON_ALPHANUMERIC)
        )))
        .unwrap();
    assert_refused(&t, &page(&t, req).await, StatusCode::FORBIDDEN, before).await;

    // Signed in long ago: the form asks for the code, and the decision waits for it.
    t.clock
        .advance(t.app.config.mfa_freshness + TimeDelta::minutes(1));
    let a = open_as(&t, &token, As::Session(ann.clone())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert!(a.html.contains("name=\"code\""), "{}", a.html);
    let a = confirm_as(&t, &token, "ok", As::Session(ann.clone()), None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.html);
    assert!(a.html.contains("six-digit code"), "{}", a.html);
    let a = confirm_as(&t, &token, "ok", As::Session(ann.clone()), Some("000000")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.html);
    assert!(a.html.contains("incorrect"), "{}", a.html);
    assert_eq!(status_of(&t, id).await, "PendingApproval");
    t.clock.advance(TimeDelta::seconds(30));
    let code = eligo::auth::totp::code_at(&approver.secret, t.clock.now_utc()).unwrap();
    let a = confirm_as(&t, &token, "ok", As::Session(ann), Some(&code)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert!(a.html.contains("Request approved"), "{}", a.html);
    assert_eq!(status_of(&t, id).await, "Provisioned");
}

#[tokio::test]
async fn an_approver_without_an_authenticator_is_sent_to_set_one_up() {
    let t = TestApp::new().await;
    let approver = t.user("pat").await;
    require_approval(&t, json!([{ "primaryApprovers": [single(approver)] }])).await;
    let requester = t.person("rick").await;
    let (id, step) = pending_request(&t, &requester).await;
    let token = mint(&t, id, step, approver, Decision::Approve);
    // Pat signed in to the portal with the password alone (allowed without an authenticator).
    let session = t.portal_password_session(approver).await;
    let before = audit_entries(&t).await;
    let a = open_as(&t, &token, As::Session(session.clone())).await;
    assert_refused(&t, &a, StatusCode::FORBIDDEN, before).await;
    assert!(
        a.html.contains("needs your authenticator app"),
        "{}",
        a.html
    );
    let a = confirm_as(&t, &token, "ok", As::Session(session), Some("123456")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.html);
    assert_eq!(status_of(&t, id).await, "PendingApproval");
}

#[tokio::test]
async fn a_stage_that_requires_a_justification_asks_for_one_again() {
    let t = TestApp::new().await;
    let approver = t.person("ann").await;
    require_approval(
        &t,
        json!([{ "isApproverJustificationRequired": true, "primaryApprovers": [single(approver.id)] }]),
    )
    .await;
    let requester = t.person("rick").await;
    let (id, step) = pending_request(&t, &requester).await;
    let token = mint(&t, id, step, approver.id, Decision::Approve);

    let a = open(&t, &token).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.html.contains("(required)"), "{}", a.html);
    assert!(
        a.html.contains(" required aria-required=\"true\""),
        "{}",
        a.html
    );

    let before = audit_entries(&t).await;
    let a = confirm(&t, &token, "   ").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.html);
    assert_page_headers(&a);
    assert!(a.html.contains("requires a justification"), "{}", a.html);
    assert!(
        a.html.contains("Confirm approval"),
        "the form again: {}",
        a.html
    );
    assert_eq!(audit_entries(&t).await, before);
    assert_eq!(status_of(&t, id).await, "PendingApproval");

    let a = confirm(&t, &token, "Checked with the on-call lead").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert_eq!(status_of(&t, id).await, "Provisioned");
}

#[tokio::test]
async fn two_stages_a_link_completes_its_stage_and_a_stale_stage_link_is_409() {
    let t = TestApp::new().await;
    let first = t.person("ann").await;
    let second = t.person("ben").await;
    require_approval(
        &t,
        json!([{ "primaryApprovers": [single(first.id)] }, { "primaryApprovers": [single(second.id)] }]),
    )
    .await;
    let requester = t.person("rick").await;
    let (id, step) = pending_request(&t, &requester).await;
    let a = confirm(&t, &mint(&t, id, step, first.id, Decision::Approve), "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert!(a.html.contains("stage 2 of 2"), "{}", a.html);
    assert_eq!(status_of(&t, id).await, "PendingApproval");

    // A link for stage 1 made for the stage-2 approver: that stage is over.
    let before = audit_entries(&t).await;
    let stale = mint(&t, id, step, second.id, Decision::Approve);
    assert_refused(&t, &open(&t, &stale).await, StatusCode::CONFLICT, before).await;
    assert_refused(
        &t,
        &confirm(&t, &stale, "").await,
        StatusCode::CONFLICT,
        before,
    )
    .await;

    let step2 = {
        let mut tx = t.app.store.read().await.unwrap();
        tx.get_schedule_request(id)
            .await
            .unwrap()
            .unwrap()
            .approval
            .unwrap()
            .steps[1]
            .id
    };
    let a = confirm(&t, &mint(&t, id, step2, second.id, Decision::Approve), "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert_eq!(status_of(&t, id).await, "Provisioned");
}

// ---------------------------------------------------------------------------------------------
// End to end: an approval mail rendered, sent, read back, and its link followed.

fn party(id: Uuid, name: &str) -> Party {
    Party {
        id,
        display_name: name.into(),
        user_principal_name: Some(format!("{name}@contoso.example")),
    }
}

fn approval_notice(id: Uuid, step: Uuid, requester: Uuid, at: DateTime<Utc>) -> Notice {
    Notice {
        id: Uuid::new_v4(),
        kind: NoticeKind::ActivationRequested,
        occurred_at: at,
        principal: party(requester, "rick"),
        actor: Some(party(requester, "rick")),
        target: NoticeTarget {
            kind: "role".into(),
            id: Uuid::parse_str(ROLE).unwrap(),
            display_name: "Security Administrator".into(),
            directory_scope_id: Some("/".into()),
            access_id: None,
        },
        assignment: "active".into(),
        request_id: Some(id),
        justification: Some("Investigate <incident> & contain".into()),
        ticket_number: Some("INC-42".into()),
        ticket_system: Some("Jira".into()),
        start: None,
        end: None,
        stage: Some(NoticeStage {
            number: 1,
            of: 1,
            step_id: step,
        }),
        days_left: None,
        reviewer_justification: None,
    }
}

#[tokio::test]
async fn an_approval_mail_read_back_from_maildev_approves_through_its_link() {
    let Some(maildev) = eligo_testkit::maildev::maildev().await else {
        return;
    };
    let t = TestApp::new().await;
    let approver = t.person("ann").await;
    require_approval(&t, json!([{ "primaryApprovers": [single(approver.id)] }])).await;
    let requester = t.person("rick").await;
    let (id, step) = pending_request(&t, &requester).await;

    let now = t.clock.now_utc();
    let public_url = "https://eligo.contoso.example";
    let (approve_url, deny_url) = links::approval_links(
        &t.app.link_key,
        public_url,
        id,
        step,
        approver.id,
        now + t.app.config.link_lifetime,
        Uuid::new_v4(),
    );
    let notice = approval_notice(id, step, requester.id, now);
    let rendered = templates::render(
        &notice,
        &Audience::Approver {
            approve_url: approve_url.clone(),
            deny_url: deny_url.clone(),
        },
        public_url,
    );
    let mailer = Mailer::from_config(&maildev.smtp_url(), "eligo@contoso.example").unwrap();
    mailer
        .send(&OutgoingMail {
            to: vec!["ann@contoso.example".into()],
            subject: rendered.subject.clone(),
            text: rendered.text.clone(),
            html: rendered.html.clone(),
            message_id: format!("{}.{}@eligo", notice.id, approver.id),
        })
        .await
        .unwrap();

    let mails = received(&maildev.api_url(), 1).await;
    let m = &mails[0];
    assert_eq!(
        m["subject"],
        "Eligo: rick requests Security Administrator: your approval is needed"
    );
    let text = m["text"].as_str().unwrap();
    let html = m["html"].as_str().unwrap();
    assert!(
        text.contains(&approve_url) && text.contains(&deny_url),
        "{text}"
    );
    assert!(
        html.contains(&approve_url) && html.contains(&deny_url),
        "{html}"
    );
    assert!(
        html.contains("Investigate &#60;incident&#62; &#38; contain"),
        "{html}"
    );

    // Follow the approve link found in the mail's text, as the approver's browser would.
    let link = text
        .lines()
        .find(|l| l.starts_with(public_url) && l.contains("token="))
        .unwrap();
    assert_eq!(link, approve_url, "the approve link comes first");
    let token = link.split_once("token=").unwrap().1;
    let a = open(&t, token).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    let a = confirm(&t, token, "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.html);
    assert_eq!(status_of(&t, id).await, "Provisioned");
}

#[tokio::test]
async fn the_generated_link_key_is_kept_in_the_store_and_survives_a_restart() {
    let t = TestApp::new().await;
    assert_ne!(t.app.link_key, [0; 32]);
    let again = t.restarted(t.clock.now_utc()).await;
    assert_eq!(again.app.link_key, t.app.link_key, "one key per database");
    // A link minted before the restart still verifies after it.
    let approver = t.person("ann").await;
    require_approval(&t, json!([{ "primaryApprovers": [single(approver.id)] }])).await;
    let requester = t.person("rick").await;
    let (id, step) = pending_request(&t, &requester).await;
    let token = mint(&t, id, step, approver.id, Decision::Approve);
    assert_eq!(open(&again, &token).await.status, StatusCode::OK);
    // Another database has another key.
    let other = TestApp::new().await;
    assert_ne!(other.app.link_key, t.app.link_key);
}
