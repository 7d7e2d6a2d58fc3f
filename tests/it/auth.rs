//! Sign-in with password and TOTP, step-up, replay protection, throttling, sessions.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use eligo::auth::totp;
use eligo_core::roles::ids;
use serde_json::{Value, json};

use crate::harness::*;

pub(crate) async fn token_request(t: &TestApp, body: Value) -> (StatusCode, Value) {
    t.call(Method::POST, "/v1/auth/token", None, Some(body))
        .await
}

pub(crate) fn login(nick: &str, password: &str) -> Value {
    json!({ "username": format!("{nick}@contoso.example"), "password": password })
}

/// Enrols TOTP for a signed-in user and returns the secret.
pub(crate) async fn enrol(t: &TestApp, token: &str) -> String {
    let (status, body) = t
        .post("/v1/me/authenticationMethods/totp", token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["otpauthUri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Eligo:")
    );
    let secret = body["secret"].as_str().unwrap().to_string();
    let code = totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/totp/verify",
            token,
            json!({ "otp": code }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    secret
}

#[tokio::test]
async fn password_sign_in_and_same_answer_for_unknown_user_and_wrong_password() {
    let t = TestApp::new().await;
    t.user("alice").await;
    let (status, body) = token_request(&t, login("alice", PASSWORD)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["amr"], json!(["pwd"]));
    assert_eq!(body["expires_in"], 8 * 3600);

    let (s1, wrong) = token_request(&t, login("alice", "not the password at all")).await;
    let (s2, unknown) = token_request(&t, login("nobody", PASSWORD)).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        wrong, unknown,
        "unknown user and wrong password must be indistinguishable"
    );
    assert_eq!(code(&wrong), "InvalidCredentials");

    // Both failures are in the audit trail.
    let (_, audit) = t
        .get(
            "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq 'User sign-in failed'",
            BOOTSTRAP,
        )
        .await;
    let entries = audit["value"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e["result"] == "failure"));
}

#[tokio::test]
async fn totp_enrolment_sign_in_with_otp_and_no_replay() {
    let t = TestApp::new().await;
    t.user("alice").await;
    let token = t.sign_in("alice").await;
    let secret = enrol(&t, &token).await;

    // A fresh code in the next step signs in with MFA.
    t.clock.advance(TimeDelta::seconds(30));
    let otp = totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let mut body = login("alice", PASSWORD);
    body["otp"] = json!(otp);
    let (status, issued) = token_request(&t, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["amr"], json!(["pwd", "otp"]));

    // The same code again is a replay.
    let (status, replay) = token_request(&t, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&replay), "InvalidCredentials");

    // A wrong code is refused and never yields a token.
    let mut bad = login("alice", PASSWORD);
    bad["otp"] = json!("000000");
    let (status, _) = token_request(&t, bad).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn step_up_records_fresh_mfa_on_the_session() {
    let t = TestApp::new().await;
    t.user("bob").await;
    let token = t.sign_in("bob").await;
    let (status, body) = t
        .post("/v1/auth/stepup", &token, json!({ "otp": "123456" }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "MfaNotEnrolled")
    );

    let secret = enrol(&t, &token).await;
    // With an authenticator, the password alone opens no session: the answer is the same as
    // for a wrong password (no oracle).
    let (status, body) = token_request(&t, login("bob", PASSWORD)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "InvalidCredentials")
    );
    let (status, wrong) = token_request(&t, login("bob", "not the password")).await;
    assert_eq!((status, &wrong), (StatusCode::UNAUTHORIZED, &body));
    let session = token;
    let (_, me) = t.get("/v1/me", &session).await;
    assert_eq!(
        me["session"]["lastMfaDateTime"],
        json!("2026-11-22T10:00:00Z"),
        "enrolling proved the new factor"
    );

    t.clock.advance(TimeDelta::minutes(2));
    let code_now = totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let (status, body) = t
        .post("/v1/auth/stepup", &session, json!({ "otp": code_now }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, me) = t.get("/v1/me", &session).await;
    assert_eq!(
        me["session"]["lastMfaDateTime"],
        json!("2026-11-22T10:02:00Z")
    );
    assert_eq!(me["session"]["amr"], json!(["pwd", "otp"]));

    // The same code cannot be used twice, even for step-up.
    let (status, _) = t
        .post("/v1/auth/stepup", &session, json!({ "otp": code_now }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn replacing_a_verified_authenticator_needs_fresh_mfa() {
    let t = TestApp::new().await;
    t.user("carol").await;
    let token = t.sign_in("carol").await;
    let secret = enrol(&t, &token).await;
    // A session whose second factor is no longer fresh cannot swap it.
    t.clock.advance(TimeDelta::minutes(11));
    let other = token;
    let (status, body) = t
        .post("/v1/me/authenticationMethods/totp", &other, json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // After step-up it can; the old authenticator keeps working until the new one is verified.
    t.clock.advance(TimeDelta::seconds(30));
    let c = totp::code_at(&secret, t.clock.now_utc()).unwrap();
    assert_eq!(
        t.post("/v1/auth/stepup", &other, json!({ "otp": c }))
            .await
            .0,
        StatusCode::OK
    );
    let (status, _) = t
        .post("/v1/me/authenticationMethods/totp", &other, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    t.clock.advance(TimeDelta::seconds(30));
    let c = totp::code_at(&secret, t.clock.now_utc()).unwrap();
    assert_eq!(
        t.post("/v1/auth/stepup", &other, json!({ "otp": c }))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn repeated_failures_throttle_the_account_then_recover() {
    let t = TestApp::new().await;
    t.user("dave").await;
    for _ in 0..5 {
        let (status, _) = token_request(&t, login("dave", "wrong password!!")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused while throttled.
    let (status, body) = token_request(&t, login("dave", PASSWORD)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests")
    );
    t.clock.advance(TimeDelta::minutes(16));
    let (status, _) = token_request(&t, login("dave", PASSWORD)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn sessions_expire_and_can_be_revoked() {
    let t = TestApp::new().await;
    t.user("erin").await;
    let token = t.sign_in("erin").await;
    assert_eq!(t.get("/v1/me", &token).await.0, StatusCode::OK);
    t.clock.advance(TimeDelta::hours(8));
    let (status, body) = t.get("/v1/me", &token).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken")
    );

    let token = t.sign_in("erin").await;
    assert_eq!(
        t.post("/v1/auth/logout", &token, json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(t.get("/v1/me", &token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        t.call(Method::GET, "/v1/me", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/v1/me", "elg_forged").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn disabled_accounts_cannot_sign_in_and_lose_their_sessions() {
    let t = TestApp::new().await;
    let id = t.user("frank").await;
    let token = t.sign_in("frank").await;
    let (status, _) = t
        .patch(
            &format!("/v1/users/{id}"),
            BOOTSTRAP,
            json!({ "accountEnabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(t.get("/v1/me", &token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        token_request(&t, login("frank", PASSWORD)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn service_principals_sign_in_with_their_secret() {
    let t = TestApp::new().await;
    let (status, sp) = t
        .post(
            "/v1/servicePrincipals",
            BOOTSTRAP,
            json!({ "displayName": "Deploy pipeline" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    let secret = sp["secret"].as_str().unwrap();
    let (status, issued) = token_request(
        &t,
        json!({ "clientId": sp["appId"], "clientSecret": secret }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let token = issued["access_token"].as_str().unwrap();
    let (_, me) = t.get("/v1/me", token).await;
    assert_eq!(me["@odata.type"], "#microsoft.graph.servicePrincipal");
    assert!(me.get("secret").is_none(), "the secret is shown only once");
    // A service principal without a role reads nothing else.
    assert_eq!(t.get("/v1/users", token).await.0, StatusCode::FORBIDDEN);
    let (status, _) = token_request(
        &t,
        json!({ "clientId": sp["appId"], "clientSecret": "elgs_wrong" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, listed) = t.get("/v1/servicePrincipals", BOOTSTRAP).await;
    assert!(listed["value"][0].get("secret").is_none());
}

#[tokio::test]
async fn bootstrap_token_is_break_glass_global_administrator() {
    let t = TestApp::new().await;
    let (status, me) = t.get("/v1/me", BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["userPrincipalName"], "breakglass@eligo.local");
    let (_, roles) = t
        .get("/v1/roleManagement/directory/roleDefinitions", BOOTSTRAP)
        .await;
    assert_eq!(roles["value"].as_array().unwrap().len(), 11);
    let (_, ga) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/roleDefinitions/{}",
                ids::GLOBAL_ADMINISTRATOR
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(ga["displayName"], "Global Administrator");
}

/// A sign-in as it arrives over a socket from `peer`, with an `X-Forwarded-For` header.
async fn sign_in_from(
    t: &TestApp,
    peer: &str,
    forwarded_for: Option<&str>,
    body: Value,
) -> StatusCode {
    let mut req =
        axum::http::Request::post("/v1/auth/token").header("content-type", "application/json");
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    let mut req = req.body(axum::body::Body::from(body.to_string())).unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(
            format!("{peer}:40000").parse().unwrap(),
        ));
    t.raw(req).await.0
}

fn bad_password(n: usize) -> Value {
    json!({ "username": format!("nobody{n}@contoso.example"), "password": "wrong" })
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_failures_do_not_block_the_others() {
    let t = TestApp::configured(|c| {
        c.trusted_proxies = eligo::config::networks::parse("10.0.0.0/8").unwrap();
    })
    .await;
    t.user("ann").await;
    let ann = json!({ "username": "ann@contoso.example", "password": PASSWORD });
    // An attacker behind the proxy fails 50 times across many accounts: its address is blocked.
    for n in 0..50 {
        let status = sign_in_from(&t, "10.0.0.1", Some("203.0.113.66"), bad_password(n)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let status = sign_in_from(&t, "10.0.0.1", Some("203.0.113.66"), ann.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Everyone else behind the same proxy signs in.
    let status = sign_in_from(&t, "10.0.0.1", Some("198.51.100.7"), ann.clone()).await;
    assert_eq!(status, StatusCode::OK);
    // A client that is not a trusted proxy cannot pick its address by writing the header.
    for n in 0..50 {
        let spoofed = format!("192.0.2.{n}");
        let body = bad_password(100 + n);
        let mut req = axum::http::Request::post("/v1/auth/token")
            .header("content-type", "application/json")
            .header("x-forwarded-for", spoofed)
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(
                "203.0.113.99:5555".parse().unwrap(),
            ));
        assert_eq!(t.raw(req).await.0, StatusCode::UNAUTHORIZED);
    }
    let status = sign_in_from(&t, "203.0.113.99", Some("198.51.100.8"), ann).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "counted against the real peer"
    );
}

#[tokio::test]
async fn a_throttled_account_still_signs_in_with_password_and_code() {
    let t = TestApp::new().await;
    let ann = t.person("ann").await;
    for _ in 0..5 {
        let (status, _) = token_request(
            &t,
            json!({ "username": "ann@contoso.example", "password": "guess" }),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The guesser is throttled, with or without a code, right password or not.
    for body in [
        json!({ "username": "ann@contoso.example", "password": PASSWORD }),
        json!({ "username": "ann@contoso.example", "password": "guess", "otp": "123456" }),
        json!({ "username": "ann@contoso.example", "password": PASSWORD, "otp": "000000" }),
    ] {
        let (status, answer) = token_request(&t, body.clone()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}: {answer}");
    }
    // Ann, with her password and her authenticator, is not locked out.
    t.clock.advance(TimeDelta::seconds(30));
    let code = totp::code_at(&ann.secret, t.clock.now_utc()).unwrap();
    let (status, body) = token_request(
        &t,
        json!({ "username": "ann@contoso.example", "password": PASSWORD, "otp": code }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn step_up_failures_slow_their_own_session_only() {
    let t = TestApp::new().await;
    let ann = t.person("ann").await;
    let bob = t.person("bob").await;
    for _ in 0..60 {
        let (status, _) = t
            .post("/v1/auth/stepup", &ann.token, json!({ "otp": "000000" }))
            .await;
        assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS);
    }
    // Bob's step-up is not slowed by Ann's failures (once one shared bucket for everyone).
    t.step_up(&bob).await;
}

#[tokio::test]
async fn the_configured_break_glass_token_cannot_be_signed_out_and_survives_a_revocation() {
    let t = TestApp::new().await;
    let (status, body) = t
        .call(Method::POST, "/v1/auth/logout", Some(BOOTSTRAP), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "BreakGlassTokenConfigured");
    let (status, _) = t.get("/v1/me", BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "still works");

    // Revoked behind its back (a cascade, a restored backup): the next start restores it.
    {
        let mut tx = t.app.store.write().await.unwrap();
        let hash = eligo::auth::token::digest(BOOTSTRAP);
        let mut record = tx.get_token(&hash).await.unwrap().unwrap();
        record.revoked_at = Some(t.clock.now_utc());
        tx.update_token(&record).await.unwrap();
        tx.commit().await.unwrap();
    }
    let (status, _) = t.get("/v1/me", BOOTSTRAP).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let again = t.restarted(t.clock.now_utc()).await;
    let (status, _) = again.get("/v1/me", BOOTSTRAP).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the configured value is authoritative"
    );

    // A new configured value replaces the old one.
    let url = t.app.config.database_url.expose().to_string();
    let rotated = TestApp::configured(|c| {
        c.database_url = eligo::config::Secret::new(url);
        c.bootstrap_token = Some(eligo::config::Secret::new(
            "rotated-break-glass-token-0123456789",
        ));
    })
    .await;
    let (status, _) = rotated
        .get("/v1/me", "rotated-break-glass-token-0123456789")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = rotated.get("/v1/me", BOOTSTRAP).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old value no longer opens anything"
    );
}

#[tokio::test]
async fn service_principal_secrets_rotate_with_add_and_remove_password() {
    let t = TestApp::new().await;
    let ga = t.admin_person("gina", ids::GLOBAL_ADMINISTRATOR).await;
    let (status, sp) = t
        .post(
            "/v1/servicePrincipals",
            &ga.token,
            json!({ "displayName": "Deploy pipeline" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    let id = id_of(&sp);
    let first = sp["secret"].as_str().unwrap().to_string();
    let sign_in = |secret: String| {
        let app_id = sp["appId"].clone();
        let t = &t;
        async move {
            token_request(t, json!({ "clientId": app_id, "clientSecret": secret }))
                .await
                .0
        }
    };
    let add = format!("/v1/servicePrincipals/{id}/addPassword");
    let end = t.clock.now_utc() + TimeDelta::days(1);
    let (status, added) = t
        .post(
            &add,
            &ga.token,
            json!({ "passwordCredential": { "displayName": "rotation 2026", "endDateTime": end } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["@odata.type"], "#microsoft.graph.passwordCredential");
    let second = added["secretText"].as_str().unwrap().to_string();
    assert_eq!(sign_in(second.clone()).await, StatusCode::OK);
    assert_eq!(sign_in(first.clone()).await, StatusCode::OK);
    let (_, session) = token_request(
        &t,
        json!({ "clientId": sp["appId"], "clientSecret": first }),
    )
    .await;
    let session = session["access_token"].as_str().unwrap().to_string();

    // The creation secret is taken back (key id 0...0): it no longer signs in, and the
    // service principal's sessions end.
    let (status, body) = t
        .post(
            &format!("/v1/servicePrincipals/{id}/removePassword"),
            &ga.token,
            json!({ "keyId": uuid::Uuid::nil() }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(sign_in(first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/v1/me", &session).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(second.clone()).await, StatusCode::OK);
    // Refusals: too long a life, no right, a stale second factor.
    let before = t.recorded_changes().await;
    let far = t.clock.now_utc() + TimeDelta::days(3 * 365);
    let (status, body) = t
        .post(
            &add,
            &ga.token,
            json!({ "passwordCredential": { "endDateTime": far } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, helpdesk) = t.admin("hank", ids::HELPDESK_ADMINISTRATOR).await;
    let (status, body) = t.post(&add, &helpdesk, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    t.clock.advance(TimeDelta::minutes(11));
    let (status, body) = t.post(&add, &ga.token, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "MfaRequired")
    );
    assert!(t.recorded_changes().await > before, "the admin was made");

    // A secret ends at its end.
    t.clock.advance(TimeDelta::days(2));
    assert_eq!(sign_in(second).await, StatusCode::UNAUTHORIZED);
}

/// Rules 4 and 9: whoever has the password alone must not guess the code at the pace of the
/// hashing threads. Wrong codes with the right password are counted apart: past the limit no
/// code is tried, the right one included, until the window passes. Someone without the
/// password cannot fill that count, so the owner is never locked out by strangers.
#[tokio::test]
async fn wrong_codes_with_the_right_password_are_limited() {
    let t = TestApp::new().await;
    let ann = t.person("ann").await;
    let wrong = || totp::code_at(&ann.secret, t.clock.now_utc() + TimeDelta::minutes(30)).unwrap();
    let with = |password: &str, otp: String| {
        let mut body = login("ann", password);
        body["otp"] = json!(otp);
        body
    };
    // Strangers (wrong password, any code) fill the account's throttle, not the code count.
    for _ in 0..8 {
        let (status, _) = token_request(&t, with("not-the-password", wrong())).await;
        assert!(status.is_client_error());
    }
    t.clock.advance(TimeDelta::seconds(30));
    let right = totp::code_at(&ann.secret, t.clock.now_utc()).unwrap();
    let (status, body) = token_request(&t, with(PASSWORD, right)).await;
    assert_eq!(status, StatusCode::OK, "the owner's whole proof: {body}");

    // The password holder guessing codes.
    for _ in 0..5 {
        let (status, body) = token_request(&t, with(PASSWORD, wrong())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    t.clock.advance(TimeDelta::seconds(30));
    let right = totp::code_at(&ann.secret, t.clock.now_utc()).unwrap();
    let (status, body) = token_request(&t, with(PASSWORD, right)).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "no code is tried now: {body}"
    );
    let refused = t.audited_as("User sign-in failed").await;
    assert!(
        refused
            .iter()
            .any(|e| e.to_string().contains("tooManyWrongCodes")),
        "{refused:?}"
    );
    // When the window has passed, the right code works again.
    t.clock.advance(TimeDelta::minutes(16));
    let right = totp::code_at(&ann.secret, t.clock.now_utc()).unwrap();
    let (status, body) = token_request(&t, with(PASSWORD, right)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Rule 9: a client id is not a secret, and a client secret cannot be guessed; so failures
/// sent by anyone never lock the service principal out: its right secret always signs in,
/// while the failures are still answered as throttled.
#[tokio::test]
async fn failures_by_others_never_lock_a_service_principal_out() {
    let t = TestApp::new().await;
    let (status, sp) = t
        .post(
            "/v1/servicePrincipals",
            BOOTSTRAP,
            json!({ "displayName": "Nightly sync" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    for _ in 0..8 {
        let (status, _) = token_request(
            &t,
            json!({ "clientId": sp["appId"], "clientSecret": "elgs_guess" }),
        )
        .await;
        assert!(status.is_client_error());
    }
    let (status, body) = token_request(
        &t,
        json!({ "clientId": sp["appId"], "clientSecret": "elgs_guess" }),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (status, issued) = token_request(
        &t,
        json!({ "clientId": sp["appId"], "clientSecret": sp["secret"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
}
