//! Single sign-on through a real OpenID Connect provider (npm oidc-provider, started by the
//! testkit): the portal's code flow with PKCE and nonce over HTTP, the mapping of the provider's
//! claims to an Eligo user, `amr`/`acr`/`auth_time` in the session, and every way it must fail
//! (a spoiled ID token, a replayed code or state, another browser, a provider that is down)
//! with a clear answer, no session and nothing else changed.

use std::collections::HashMap;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use eligo::clock::Clock;
use eligo::config::oidc::{OidcProvider, PrincipalClaim};
use eligo::config::{Config, Secret};
use eligo_core::roles::ids;
use eligo_testkit::oidc::{OidcProvider as Idp, oidc_provider};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::*;

pub const PUBLIC_URL: &str = "http://127.0.0.1:8400";

fn provider_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc"))
}

/// A running provider and an Eligo that trusts it, its clock on the real time (the provider
/// dates its tokens by the wall clock).
pub struct Sso {
    pub t: TestApp,
    pub idp: Idp,
}

pub fn provider_config(idp: &Idp) -> OidcProvider {
    OidcProvider {
        name: "test".into(),
        display_name: "Test IdP".into(),
        issuer: idp.issuer(),
        client_id: idp.client_id().into(),
        client_secret: Some(Secret::new(idp.client_secret())),
        scopes: vec!["email".into(), "profile".into()],
        principal_claim: PrincipalClaim::Email,
        auto_create: false,
    }
}

impl Sso {
    pub async fn start(adjust: impl FnOnce(&mut Config, &mut OidcProvider)) -> Option<Self> {
        let idp = oidc_provider(
            provider_dir(),
            &[format!("{PUBLIC_URL}/auth/oidc/callback")],
        )
        .await?;
        let mut p = provider_config(&idp);
        let t = TestApp::configured(|c| {
            c.public_url = PUBLIC_URL.into();
            adjust(c, &mut p);
            c.oidc = vec![p];
        })
        .await;
        t.clock.set(eligo::clock::SystemClock.now());
        Some(Self { t, idp })
    }

    /// Who the provider signs in next.
    pub async fn login_as(
        &self,
        email: &str,
        amr: &[&str],
        acr: Option<&str>,
        auth_time: Option<DateTime<Utc>>,
    ) {
        let login = json!({
            "account": format!("sub-{email}"),
            "claims": { "email": email, "email_verified": true, "name": email, "preferred_username": email },
            "amr": amr, "acr": acr, "authTime": auth_time.map(|t| t.timestamp()),
        });
        self.idp.set_login(&login.to_string()).await;
    }
}

/// A response from the in-process router, headers and all.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub body: String,
}

pub async fn eligo(t: &TestApp, path: &str, cookie: Option<&str>) -> Answer {
    let mut req = Request::builder().uri(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let resp = t
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let body =
        String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into();
    Answer {
        status,
        location,
        cookies,
        body,
    }
}

/// The value a `Set-Cookie` list sets for `name` (None when absent or cleared).
pub fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies
        .iter()
        .rev()
        .find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| v.to_string())
        })
        .filter(|v| !v.is_empty())
}

/// Walks the provider's redirects (with its cookies) from `url` until it sends the browser
/// back to Eligo; answers that URL.
pub async fn through_provider(url: &str) -> String {
    through_provider_to(url, PUBLIC_URL).await
}

/// As [`through_provider`], until the provider sends the browser to an address under `back`.
pub async fn through_provider_to(url: &str, back: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut jar: HashMap<String, String> = HashMap::new();
    let mut url = url.to_string();
    for _ in 0..10 {
        if url.starts_with(back) {
            return url;
        }
        let cookie = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let resp = http
            .get(&url)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        for c in resp.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let pair = c.split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.to_ascii_lowercase().contains("expires=thu, 01 jan 1970") {
                    jar.remove(k);
                } else {
                    jar.insert(k.to_string(), v.to_string());
                }
            }
        }
        let status = resp.status();
        let Some(next) = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
        else {
            panic!(
                "the provider stopped at {url}: {status} {}",
                resp.text().await.unwrap_or_default()
            );
        };
        url = if next.starts_with("http") {
            next
        } else {
            let base = reqwest::Url::parse(&url).unwrap();
            base.join(&next).unwrap().to_string()
        };
    }
    panic!("too many redirects");
}

/// The callback URL's path and query (what the browser asks Eligo for).
pub fn local(url: &str) -> String {
    url.strip_prefix(PUBLIC_URL).unwrap().to_string()
}

/// One portal sign-in through the provider: the start, the provider, the callback.
/// Answers the callback's answer and the binding cookie it was sent with.
pub async fn portal_sso(t: &TestApp) -> (Answer, String, String) {
    let start = eligo(t, "/auth/oidc/start?next=/portal/approvals", None).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let binding = cookie_value(&start.cookies, "eligo_oidc").expect("binding cookie");
    let back = through_provider(start.location.as_deref().unwrap()).await;
    let cookie = format!("eligo_oidc={binding}");
    let answer = eligo(t, &local(&back), Some(&cookie)).await;
    (answer, cookie, back)
}

pub async fn session_of(t: &TestApp, raw: &str) -> eligo_store::TokenRecord {
    let mut tx = t.app.store.read().await.unwrap();
    tx.get_token(&eligo::auth::token::digest(raw))
        .await
        .unwrap()
        .expect("the session is stored")
}

async fn sessions_count(t: &TestApp) -> usize {
    t.app.sessions.len()
}

fn failures(entries: &[Value], reason: &str) -> usize {
    entries
        .iter()
        .filter(|e| e["result"] == "failure" && e.to_string().contains(reason))
        .count()
}

#[tokio::test]
async fn an_existing_user_signs_in_with_the_providers_mfa_and_acr() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    let alice = t.user("alice").await;
    let now = t.clock.now();
    let authenticated = now - TimeDelta::minutes(2);
    s.login_as(
        "Alice@Contoso.example",
        &["pwd", "otp"],
        Some("c1"),
        Some(authenticated),
    )
    .await;
    let (answer, _, _) = portal_sso(t).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/portal/approvals"));
    let raw = cookie_value(&answer.cookies, "eligo_session").expect("a session cookie");
    assert!(
        cookie_value(&answer.cookies, "eligo_oidc").is_none(),
        "the binding is cleared"
    );
    let session = session_of(t, &raw).await;
    assert_eq!(session.principal_id, alice);
    assert_eq!(session.channel, eligo_store::SessionChannel::Portal);
    assert_eq!(session.acr.as_deref(), Some("c1"));
    assert_eq!(session.amr, ["fed", "pwd", "otp"]);
    // The second factor is dated by the provider's auth_time, not by now.
    assert_eq!(
        session.last_mfa_at.map(|t| t.timestamp()),
        Some(authenticated.timestamp())
    );
    // The portal takes the session.
    let page = eligo(t, "/portal/roles", Some(&format!("eligo_session={raw}"))).await;
    assert_eq!(page.status, StatusCode::OK);
    let signed_in = t.audited_as("User signed in").await;
    let entry = signed_in
        .iter()
        .find(|e| e["targetResources"][0]["id"] == json!(alice))
        .expect("audited");
    let text = entry.to_string();
    assert!(
        text.contains("\"provider\"") && text.contains("\"test\""),
        "{text}"
    );
    assert!(!text.contains(&raw), "no token in the audit trail");
    assert!(!text.contains(s.idp.client_secret()));
}

#[tokio::test]
async fn without_a_second_factor_at_the_provider_the_session_must_step_up() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    let bob = t.user("bob").await;
    s.login_as("bob@contoso.example", &["pwd"], None, None)
        .await;
    let (answer, _, _) = portal_sso(t).await;
    let raw = cookie_value(&answer.cookies, "eligo_session").expect("signed in");
    let session = session_of(t, &raw).await;
    assert_eq!(session.last_mfa_at, None);
    assert_eq!(session.acr, None);
    // An activation whose policy asks for MFA is refused as before.
    t.make_eligible(bob, ids::SECURITY_ADMINISTRATOR).await;
    let p = Person {
        id: bob,
        token: raw,
        secret: String::new(),
    };
    let (status, body) = t
        .activate(&p, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        detail_codes(&body).contains(&"MfaRule".to_string()),
        "{body}"
    );
}

/// Rule 4 on the SSO channel: for an account with its own second factor, a provider that
/// reports a password alone opens no session; one that reports a second factor does.
#[tokio::test]
async fn a_password_alone_at_the_provider_opens_no_session_of_an_account_with_a_factor() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    // Dora has an authenticator app.
    t.person("dora").await;
    s.login_as("dora@contoso.example", &["pwd"], None, None)
        .await;
    let before = sessions_count(t).await;
    let (answer, _, _) = portal_sso(t).await;
    assert!(
        cookie_value(&answer.cookies, "eligo_session").is_none(),
        "{}",
        answer.body
    );
    assert!(answer.status.is_client_error(), "{}", answer.status);
    assert_eq!(sessions_count(t).await, before);
    let (_, audits) = t
        .get("/v1/auditLogs/directoryAudits?$top=5", BOOTSTRAP)
        .await;
    assert_eq!(
        failures(audits["value"].as_array().unwrap(), "secondFactorMissing"),
        1,
        "{audits}"
    );
    s.login_as("dora@contoso.example", &["pwd", "otp"], None, None)
        .await;
    let (answer, _, _) = portal_sso(t).await;
    assert!(
        cookie_value(&answer.cookies, "eligo_session").is_some(),
        "{}",
        answer.body
    );
}

/// Carol, eligible for Security Administrator, whose policy asks for the authentication
/// context `c1` and (the MFA rule off) nothing else but a justification, so the context
/// decides alone. With a provider configured the rule can be enabled (it is refused without).
async fn carol_and_a_context_rule(t: &TestApp) -> uuid::Uuid {
    let carol = t.user("carol").await;
    t.make_eligible(carol, ids::SECURITY_ADMINISTRATOR).await;
    t.set_rule(
        ids::SECURITY_ADMINISTRATOR,
        "AuthenticationContext_EndUser_Assignment",
        json!({ "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule", "id": "AuthenticationContext_EndUser_Assignment", "isEnabled": true, "claimValue": "c1" }),
    ).await;
    t.set_rule(
        ids::SECURITY_ADMINISTRATOR,
        "Enablement_EndUser_Assignment",
        json!({ "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule", "id": "Enablement_EndUser_Assignment", "enabledRules": ["Justification"] }),
    ).await;
    carol
}

#[tokio::test]
async fn the_authentication_context_rule_is_met_by_the_providers_acr_only() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    let carol = carol_and_a_context_rule(t).await;
    for (acr, ok) in [(Some("c2"), false), (None, false), (Some("c1"), true)] {
        s.login_as("carol@contoso.example", &["pwd", "mfa"], acr, None)
            .await;
        let (answer, _, _) = portal_sso(t).await;
        let raw = cookie_value(&answer.cookies, "eligo_session").expect("signed in");
        let p = Person {
            id: carol,
            token: raw,
            secret: String::new(),
        };
        let (status, body) = t
            .activate(&p, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
            .await;
        if ok {
            assert_eq!(status, StatusCode::CREATED, "{acr:?}: {body}");
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{acr:?}: {body}");
            assert_eq!(detail_codes(&body), ["AuthenticationContextRule"], "{body}");
        }
    }
}

/// The context rule asks for a recent proof, as the MFA rule does: an `acr` vouched for at a
/// sign-in longer ago than the freshness window no longer meets it.
#[tokio::test]
async fn an_authentication_context_proved_long_ago_meets_no_rule() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    let carol = carol_and_a_context_rule(t).await;
    let session = |raw: String| Person {
        id: carol,
        token: raw,
        secret: String::new(),
    };
    // Signed in through the provider with c1, then 11 minutes pass (the window is 10).
    s.login_as("carol@contoso.example", &["pwd", "mfa"], Some("c1"), None)
        .await;
    let (answer, _, _) = portal_sso(t).await;
    let p = session(cookie_value(&answer.cookies, "eligo_session").expect("signed in"));
    t.clock.advance(chrono::TimeDelta::minutes(11));
    let (status, body) = t
        .activate(&p, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(detail_codes(&body), ["AuthenticationContextRule"], "{body}");
    // A token without `auth_time` says nothing of when the context was proved: it never counts.
    s.login_as("carol@contoso.example", &["pwd", "mfa"], Some("c1"), None)
        .await;
    t.clock.set(eligo::clock::SystemClock.now());
    s.idp.tamper("no-auth-time").await;
    let (answer, _, _) = portal_sso(t).await;
    let p = session(cookie_value(&answer.cookies, "eligo_session").expect("signed in"));
    let (status, body) = t
        .activate(&p, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(detail_codes(&body), ["AuthenticationContextRule"], "{body}");
    // Asking the provider for the context asks for a sign-in within the window too.
    let start = eligo(t, "/auth/oidc/start?next=/portal/roles&acr=c1", None).await;
    let location = start.location.expect("to the provider");
    assert!(location.contains("acr_values=c1"), "{location}");
    assert!(location.contains("max_age=600"), "{location}");
    // Within the window, it does.
    s.login_as("carol@contoso.example", &["pwd", "mfa"], Some("c1"), None)
        .await;
    let (answer, _, _) = portal_sso(t).await;
    let p = session(cookie_value(&answer.cookies, "eligo_session").expect("signed in"));
    let (status, body) = t
        .activate(&p, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// A provider's token without `auth_time` may come from a sign-in hours old (no `max_age` was
/// asked): its `amr` is kept, but it proves no recent second factor, so the MFA rule still asks
/// for a step-up.
#[tokio::test]
async fn a_second_factor_without_auth_time_is_not_a_recent_one() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    let carol = t.user("carol").await;
    t.make_eligible(carol, ids::SECURITY_ADMINISTRATOR).await;
    s.login_as("carol@contoso.example", &["pwd", "mfa"], None, None)
        .await;
    s.idp.tamper("no-auth-time").await;
    let (answer, _, _) = portal_sso(t).await;
    let raw = cookie_value(&answer.cookies, "eligo_session").expect("signed in");
    let p = Person {
        id: carol,
        token: raw,
        secret: String::new(),
    };
    let (status, body) = t
        .activate(&p, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(detail_codes(&body), ["MfaRule"], "{body}");
    // The same sign-in with its `auth_time` is a recent second factor.
    let (answer, _, _) = portal_sso(t).await;
    let p = Person {
        token: cookie_value(&answer.cookies, "eligo_session").expect("signed in"),
        ..p
    };
    let (status, body) = t
        .activate(&p, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_spoiled_id_token_opens_no_session() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    t.user("dave").await;
    s.login_as("dave@contoso.example", &["pwd", "otp"], None, None)
        .await;
    for mode in [
        "audience",
        "issuer",
        "nonce",
        "expired",
        "signature",
        "none",
        "hs256",
    ] {
        let before = sessions_count(t).await;
        s.idp.tamper(mode).await;
        let (answer, _, _) = portal_sso(t).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{mode}: {}",
            answer.body
        );
        assert!(
            cookie_value(&answer.cookies, "eligo_session").is_none(),
            "{mode}"
        );
        assert!(
            answer.body.contains("could not be verified"),
            "{mode}: {}",
            answer.body
        );
        assert_eq!(sessions_count(t).await, before, "{mode}: no session");
    }
    let failed = t.audited_as("User sign-in failed").await;
    assert!(failures(&failed, "idTokenInvalid") >= 1, "{failed:?}");
    // And the provider's honest token still works.
    let (answer, _, _) = portal_sso(t).await;
    assert!(
        cookie_value(&answer.cookies, "eligo_session").is_some(),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_replayed_code_or_state_and_another_browser_are_refused() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    t.user("erin").await;
    s.login_as("erin@contoso.example", &["pwd"], None, None)
        .await;
    let (first, cookie, back) = portal_sso(t).await;
    assert!(cookie_value(&first.cookies, "eligo_session").is_some());
    let before = sessions_count(t).await;
    // The same callback again: its state was taken.
    let again = eligo(t, &local(&back), Some(&cookie)).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(again.body.contains("Start again"), "{}", again.body);
    // The used code with a fresh state of this browser: the provider refuses it.
    let start = eligo(t, "/auth/oidc/start", None).await;
    let binding = cookie_value(&start.cookies, "eligo_oidc").unwrap();
    let location = start.location.unwrap();
    let state = reqwest::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let code = reqwest::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .to_string();
    let replay = eligo(
        t,
        &format!("/auth/oidc/callback?state={state}&code={code}"),
        Some(&format!("eligo_oidc={binding}")),
    )
    .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(replay.body.contains("refused"), "{}", replay.body);
    // A sign-in finished in another browser (no binding cookie, or another's).
    let (_, _, back) = {
        let start = eligo(t, "/auth/oidc/start", None).await;
        let back = through_provider(start.location.as_deref().unwrap()).await;
        (start, String::new(), back)
    };
    let foreign = eligo(t, &local(&back), Some("eligo_oidc=someone-elses")).await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "{}", foreign.body);
    // An unknown state.
    let unknown = eligo(t, "/auth/oidc/callback?state=nope&code=nope", Some(&cookie)).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        sessions_count(t).await,
        before,
        "no session from any of them"
    );
    let failed = t.audited_as("User sign-in failed").await;
    for reason in ["unknownState", "codeRejected", "stateFromAnotherBrowser"] {
        assert!(failures(&failed, reason) >= 1, "{reason}: {failed:?}");
    }
}

#[tokio::test]
async fn a_sign_in_that_took_too_long_is_refused() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    t.user("frank").await;
    s.login_as("frank@contoso.example", &["pwd"], None, None)
        .await;
    let start = eligo(t, "/auth/oidc/start", None).await;
    let binding = cookie_value(&start.cookies, "eligo_oidc").unwrap();
    let back = through_provider(start.location.as_deref().unwrap()).await;
    t.clock.advance(TimeDelta::minutes(11));
    let late = eligo(t, &local(&back), Some(&format!("eligo_oidc={binding}"))).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "{}", late.body);
    assert!(late.body.contains("took too long"), "{}", late.body);
}

#[tokio::test]
async fn who_may_sign_in_through_the_provider() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    // Unknown person: refused, and nobody is created (auto-create is off by default).
    s.login_as("nobody@contoso.example", &["pwd"], None, None)
        .await;
    let (answer, _, _) = portal_sso(t).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert!(answer.body.contains("no Eligo account"), "{}", answer.body);
    let (_, users) = t
        .get(
            "/v1/users?$filter=userPrincipalName eq 'nobody@contoso.example'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(users["value"].as_array().unwrap().len(), 0);
    // An address the provider has not verified names nobody.
    t.user("gina").await;
    s.idp.set_login(&json!({
        "account": "sub-gina", "claims": { "email": "gina@contoso.example", "email_verified": false },
        "amr": ["pwd"],
    }).to_string()).await;
    let (answer, _, _) = portal_sso(t).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert!(answer.body.contains("not verified"), "{}", answer.body);
    // A disabled account.
    let hank = t.user("hank").await;
    let (status, _) = t
        .patch(
            &format!("/v1/users/{hank}"),
            BOOTSTRAP,
            json!({ "accountEnabled": false }),
        )
        .await;
    assert!(status.is_success());
    s.login_as("hank@contoso.example", &["pwd"], None, None)
        .await;
    let (answer, _, _) = portal_sso(t).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert!(answer.body.contains("disabled"), "{}", answer.body);
    // The break-glass account keeps its local credential only.
    s.login_as("breakglass@eligo.local", &["pwd", "mfa"], None, None)
        .await;
    let (answer, _, _) = portal_sso(t).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert!(answer.body.contains("emergency-access"), "{}", answer.body);
    assert!(cookie_value(&answer.cookies, "eligo_session").is_none());
    let failed = t.audited_as("User sign-in failed").await;
    for reason in [
        "unknownUser",
        "emailNotVerified",
        "accountDisabled",
        "breakGlassAccount",
    ] {
        assert!(failures(&failed, reason) >= 1, "{reason}: {failed:?}");
    }
}

#[tokio::test]
async fn auto_create_makes_an_ordinary_user_with_no_roles() {
    let Some(s) = Sso::start(|_, p| p.auto_create = true).await else {
        return;
    };
    let t = &s.t;
    s.login_as("ivan@contoso.example", &["pwd"], None, None)
        .await;
    let (answer, _, _) = portal_sso(t).await;
    let raw = cookie_value(&answer.cookies, "eligo_session").expect("signed in");
    let (status, me) = t.get("/v1/me", &raw).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["userPrincipalName"], "ivan@contoso.example");
    assert!(t.active_roles(&raw).await.is_empty());
    let added = t.audited_as("Add user").await;
    assert!(
        added
            .iter()
            .any(|e| e.to_string().contains("first single sign-on")),
        "{added:?}"
    );
    // The second time, the same user.
    let (answer, _, _) = portal_sso(t).await;
    let again = cookie_value(&answer.cookies, "eligo_session").unwrap();
    assert_eq!(
        session_of(t, &again).await.principal_id,
        session_of(t, &raw).await.principal_id
    );
}

#[tokio::test]
async fn a_provider_that_is_down_leaves_local_sign_in() {
    let Some(mut s) = Sso::start(|c, _| c.password_sign_in = false).await else {
        return;
    };
    let t = &s.t;
    t.user("judy").await;
    s.login_as("judy@contoso.example", &["pwd"], None, None)
        .await;
    s.idp.stop();
    let page = eligo(t, "/portal/sign-in", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sign in with Test IdP"), "{}", page.body);
    let start = eligo(t, "/auth/oidc/start", None).await;
    assert_eq!(
        start.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        start.body
    );
    assert!(start.body.contains("cannot be reached"), "{}", start.body);
    assert!(cookie_value(&start.cookies, "eligo_session").is_none());
    // Password sign-in is off: an ordinary user is refused, the break-glass account is not.
    let (status, body) = t
        .call(
            axum::http::Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "username": "judy@contoso.example", "password": PASSWORD })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "PasswordSignInDisabled");
    let (_, users) = t
        .get(
            "/v1/users?$filter=userPrincipalName eq 'breakglass@eligo.local'",
            BOOTSTRAP,
        )
        .await;
    let bg = users["value"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = t
        .patch(
            &format!("/v1/users/{bg}"),
            BOOTSTRAP,
            json!({ "passwordProfile": { "password": PASSWORD } }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (status, body) = t
        .call(
            axum::http::Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "username": "breakglass@eligo.local", "password": PASSWORD })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Back up, it works again.
    s.idp.start().await;
    s.login_as("judy@contoso.example", &["pwd"], None, None)
        .await;
    let (answer, _, _) = portal_sso(&s.t).await;
    assert!(
        cookie_value(&answer.cookies, "eligo_session").is_some(),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_response_naming_another_issuer_is_refused() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    t.user("kate").await;
    s.login_as("kate@contoso.example", &["pwd"], None, None)
        .await;
    let start = eligo(t, "/auth/oidc/start", None).await;
    let binding = cookie_value(&start.cookies, "eligo_oidc").unwrap();
    let back = through_provider(start.location.as_deref().unwrap()).await;
    // RFC 9207: the provider names itself; a mix-up names another.
    let url = reqwest::Url::parse(&back).unwrap();
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "iss" && v == s.idp.issuer()),
        "{back}"
    );
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "iss" {
                "http://127.0.0.1:1/other".into()
            } else {
                v.to_string()
            };
            (k.to_string(), v)
        })
        .collect();
    let query = serde_urlencoded::to_string(&pairs).unwrap();
    let answer = eligo(
        t,
        &format!("/auth/oidc/callback?{query}"),
        Some(&format!("eligo_oidc={binding}")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(cookie_value(&answer.cookies, "eligo_session").is_none());
}

/// Rule 9: anyone can start a single sign-on, and each start writes a pending sign-in. Past the
/// per-address allowance a start is refused (429, `Retry-After`) before anything is written or
/// audited; other addresses go on, and the next minute the address may start again.
#[tokio::test]
async fn single_sign_on_starts_are_limited_per_address() {
    let Some(s) = Sso::start(|_, _| {}).await else {
        return;
    };
    let t = &s.t;
    let start_from = |address: &'static str| {
        let t = &s.t;
        async move {
            let mut req = Request::builder()
                .uri("/auth/oidc/start?next=/portal/roles")
                .body(Body::empty())
                .unwrap();
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
                    address.parse().unwrap(),
                    40000,
                )));
            t.router.clone().oneshot(req).await.unwrap()
        }
    };
    let allowance = eligo::auth::oidc_starts::PER_ADDRESS;
    for _ in 0..allowance {
        let resp = start_from("192.0.2.10").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
    let head = async || {
        let mut tx = t.app.store.read().await.unwrap();
        tx.audit_head().await.unwrap().0
    };
    let audited = head().await;
    for _ in 0..20 {
        let resp = start_from("192.0.2.10").await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "60");
    }
    assert_eq!(head().await, audited, "refusals write nothing");
    // The CLI's start counts against the same allowance.
    let mut req = Request::builder()
        .method("POST")
        .uri("/auth/oidc/cli/start")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"redirectUri":"http://127.0.0.1:5555/callback"}"#,
        ))
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
            "192.0.2.10".parse().unwrap(),
            40001,
        )));
    let resp = t.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another address is not slowed.
    assert_eq!(
        start_from("192.0.2.11").await.status(),
        StatusCode::SEE_OTHER
    );
    // A minute later the address starts again, and its sign-in finishes.
    t.clock.advance(TimeDelta::seconds(61));
    assert_eq!(
        start_from("192.0.2.10").await.status(),
        StatusCode::SEE_OTHER
    );
    t.user("alice").await;
    s.login_as("alice@contoso.example", &["pwd"], None, None)
        .await;
    let (answer, _, _) = portal_sso(t).await;
    assert!(
        cookie_value(&answer.cookies, "eligo_session").is_some(),
        "{}",
        answer.body
    );
}
