//! Sign-in, sessions, anti-forgery tokens, TOTP enrolment and step-up in the portal.

use axum::http::{StatusCode, header};
use chrono::TimeDelta;

use super::browser::Browser;
use crate::harness::{NowUtc, PASSWORD, TestApp};

const DEMO_PASSWORD: &str = eligo::service::demo::DEMO_PASSWORD;

#[tokio::test]
async fn a_deep_link_signs_in_first_and_comes_back() {
    let t = TestApp::demo().await;
    let mut b = Browser::new(&t);
    let page = b.get("/portal/security").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location(),
        Some("/portal/sign-in?next=%2Fportal%2Fsecurity")
    );
    let form = b.follow(&page).await;
    assert!(form.has("Sign in to continue"));
    assert_eq!(
        form.input_value("next").as_deref(),
        Some("/portal/security")
    );
    let done = b
        .submit(
            "/portal/sign-in",
            &[
                ("username", "alice@contoso.example"),
                ("password", DEMO_PASSWORD),
                ("next", "/portal/security"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/portal/security"));
    let cookie = done
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("eligo_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: no Secure flag");
    let page = b.get("/portal/security").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("Alice Helpdesk-Lead"));
    assert!(page.has("Not set up"));
}

#[tokio::test]
async fn over_tls_the_session_cookie_is_secure_and_host_bound() {
    let t = TestApp::configured(|c| c.public_url = "https://eligo.example".into()).await;
    t.user("zed").await;
    let mut b = Browser::new(&t);
    let page = b.sign_in("zed@contoso.example", PASSWORD, None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("__Host-eligo_session="))
        .expect("a __Host- session cookie");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_wrong_password_keeps_the_user_name_and_says_so_without_a_session() {
    let t = TestApp::demo().await;
    let mut b = Browser::new(&t);
    let page = b
        .sign_in("alice@contoso.example", "not the password", None)
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.has("The user name, password or code is incorrect"));
    assert_eq!(
        page.input_value("username").as_deref(),
        Some("alice@contoso.example")
    );
    assert!(!b.cookies.contains_key("eligo_session"));
    // Missing fields are named next to the field.
    let page = b
        .submit("/portal/sign-in", &[("username", "alice@contoso.example")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("Enter your password."));
    assert!(page.has("aria-invalid=\"true\""));
}

#[tokio::test]
async fn a_sign_in_form_without_its_cookie_or_token_is_refused() {
    let t = TestApp::demo().await;
    let mut b = Browser::new(&t);
    // Posted from elsewhere: no pre-session cookie, a made-up token.
    let page = b
        .post_raw(
            "/portal/sign-in",
            &[
                ("csrf", "forged"),
                ("username", "alice@contoso.example"),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.has("The sign-in form had expired"));
    assert!(!b.cookies.contains_key("eligo_session"));
}

#[tokio::test]
async fn forms_without_the_sessions_token_change_nothing() {
    let t = TestApp::demo().await;
    let mut b = Browser::signed_in(&t, "alice@contoso.example", DEMO_PASSWORD).await;
    b.get("/portal/security").await;
    for token in ["", "forged", "qaIKO8hcXBpWurTBnUw2bjQuRCIqFVDWM2R_wLEk6Jw"] {
        let page = b
            .post_raw("/portal/security/totp", &[("csrf", token)])
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{token}");
        assert!(page.has("This form has expired"));
    }
    // Nothing started: no enrolment is pending.
    let page = b.get("/portal/security/totp").await;
    assert_eq!(page.location(), Some("/portal/security"));
    // A token from an earlier session is stale after signing out and in again.
    let old = b.csrf.clone().unwrap();
    b.submit("/portal/sign-out", &[]).await;
    b.sign_in("alice@contoso.example", DEMO_PASSWORD, None)
        .await;
    let page = b.post_raw("/portal/security/totp", &[("csrf", &old)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sign_out_ends_the_session_for_good() {
    let t = TestApp::demo().await;
    let mut b = Browser::signed_in(&t, "alice@contoso.example", DEMO_PASSWORD).await;
    b.get("/portal/security").await;
    let session = b.cookies["eligo_session"].clone();
    let csrf = b.csrf.clone().unwrap();
    let page = b.submit("/portal/sign-out", &[]).await;
    assert_eq!(page.location(), Some("/portal/sign-in?signed_out=1"));
    assert!(!b.cookies.contains_key("eligo_session"));
    // The old cookie, replayed, is dead: a page asks to sign in, a post says the session ended.
    b.cookies.insert("eligo_session".into(), session);
    let page = b.get("/portal/security").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let page = b
        .post_raw("/portal/security/totp", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.has("Your session has ended"));
}

#[tokio::test]
async fn a_session_ends_after_the_idle_timeout_but_use_keeps_it_alive() {
    let t = TestApp::demo().await;
    let mut b = Browser::signed_in(&t, "alice@contoso.example", DEMO_PASSWORD).await;
    // Used every 20 minutes for two hours: still alive (idle timeout 30 minutes).
    for _ in 0..6 {
        t.clock.advance(TimeDelta::minutes(20));
        let page = b.get("/portal/security").await;
        assert_eq!(page.status, StatusCode::OK, "at {}", t.clock.now_utc());
    }
    let csrf = b.csrf.clone().unwrap();
    t.clock.advance(TimeDelta::minutes(31));
    let page = b
        .post_raw("/portal/security/totp", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.has("Your session has ended"));
    let page = b.get("/portal/security").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_session_never_outlives_the_token_lifetime() {
    let t = TestApp::demo().await;
    let mut b = Browser::signed_in(&t, "alice@contoso.example", DEMO_PASSWORD).await;
    for _ in 0..(8 * 4) {
        t.clock.advance(TimeDelta::minutes(15));
        b.get("/portal/security").await;
    }
    t.clock.advance(TimeDelta::minutes(1));
    let page = b.get("/portal/security").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "8 h absolute lifetime");
}

#[tokio::test]
async fn enrolling_totp_shows_a_qr_code_and_then_sign_in_needs_the_code() {
    let t = TestApp::demo().await;
    let mut b = Browser::signed_in(&t, "alice@contoso.example", DEMO_PASSWORD).await;
    b.get("/portal/security").await;
    let page = b.submit("/portal/security/totp", &[]).await;
    assert_eq!(page.location(), Some("/portal/security/totp"));
    let page = b.follow(&page).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("<svg"), "a QR code");
    let secret = page.attr("data-secret").expect("the secret in words");
    // A wrong code keeps the enrolment pending and says why, next to the field.
    let wrong = b
        .submit("/portal/security/totp/verify", &[("code", "12345x")])
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.has("The code is six digits."));
    assert_eq!(wrong.attr("data-secret").as_deref(), Some(secret.as_str()));
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let done = b
        .submit("/portal/security/totp/verify", &[("code", &code)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(
        page.has("Your authenticator is set up"),
        "the flash shows once"
    );
    let page = b.get("/portal/security").await;
    assert!(!page.has("Your authenticator is set up"));
    assert!(page.has("badge-ok"));

    // Signing in now needs the code.
    let mut other = Browser::new(&t);
    let page = other
        .sign_in("alice@contoso.example", DEMO_PASSWORD, None)
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    // The same words as for a wrong password: no oracle for the password (rule 4).
    assert!(page.has("The user name, password or code is incorrect"));
    assert!(!page.has("Your account has an authenticator"));
    assert!(!other.cookies.contains_key("eligo_session"));
    t.clock.advance(TimeDelta::seconds(30));
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let page = other
        .sign_in("alice@contoso.example", DEMO_PASSWORD, Some(&code))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    // The same code again is a replay.
    let mut third = Browser::new(&t);
    let page = third
        .sign_in("alice@contoso.example", DEMO_PASSWORD, Some(&code))
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn step_up_returns_to_where_it_was_asked_and_refuses_wrong_codes() {
    let t = TestApp::demo().await;
    let mut b = Browser::signed_in(&t, "alice@contoso.example", DEMO_PASSWORD).await;
    // Without an authenticator, the step-up page sends people to set one up.
    let page = b.get("/portal/step-up?next=/portal/requests").await;
    assert_eq!(page.location(), Some("/portal/security"));
    b.get("/portal/security").await;
    b.submit("/portal/security/totp", &[]).await;
    let page = b.get("/portal/security/totp").await;
    let secret = page.attr("data-secret").unwrap();
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    b.submit("/portal/security/totp/verify", &[("code", &code)])
        .await;
    t.clock.advance(TimeDelta::minutes(20));
    let page = b.get("/portal/step-up?next=/portal/requests").await;
    assert_eq!(page.status, StatusCode::OK);
    let page = b
        .submit(
            "/portal/step-up",
            &[("code", "000000"), ("next", "/portal/requests")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("That code is incorrect or was already used"));
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let page = b
        .submit(
            "/portal/step-up",
            &[("code", &code), ("next", "https://evil.example/")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/portal/roles"), "no open redirect");
}

#[tokio::test]
async fn unknown_portal_pages_are_pages_and_the_api_stays_json() {
    let t = TestApp::demo().await;
    let mut b = Browser::new(&t);
    let page = b.get("/portal/no-such-page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.has("Not found"));
    let (status, body) = t
        .call(axum::http::Method::GET, "/v1/nothing", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    let page = b.get("/").await;
    assert_eq!(page.location(), Some("/portal"));
    let css = b.get("/portal/static/portal.css").await;
    assert_eq!(css.status, StatusCode::OK);
}

#[tokio::test]
async fn a_temporary_access_pass_opens_security_info_to_replace_a_lost_authenticator() {
    let t = TestApp::new().await;
    let lou = t.person("lou").await;
    let (status, body) = t
        .post(
            &format!(
                "/v1/users/{}/authentication/temporaryAccessPassMethods",
                lou.id
            ),
            crate::harness::BOOTSTRAP,
            serde_json::json!({ "isUsableOnce": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let pass = body["temporaryAccessPass"].as_str().unwrap().to_string();

    let mut b = Browser::new(&t);
    let form = b.get("/portal/sign-in").await;
    assert!(form.has("href=\"/portal/sign-in/pass\""), "{}", form.body);
    let form = b.get("/portal/sign-in/pass").await;
    assert_eq!(form.status, StatusCode::OK);
    let wrong = b
        .submit(
            "/portal/sign-in/pass",
            &[
                ("username", "lou@contoso.example"),
                ("pass", "not-the-pass"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    assert!(
        wrong.has("Temporary Access Pass is incorrect"),
        "{}",
        wrong.body
    );
    let done = b
        .submit(
            "/portal/sign-in/pass",
            &[("username", "lou@contoso.example"), ("pass", &pass)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/portal/security"));
    let page = b.follow(&done).await;
    assert!(
        page.has("You signed in with a Temporary Access Pass"),
        "{}",
        page.body
    );
    // Replacing needs no code from the lost authenticator in this session.
    let begun = b.submit("/portal/security/totp", &[]).await;
    assert_eq!(
        begun.location(),
        Some("/portal/security/totp"),
        "{}",
        begun.body
    );
    let page = b.get("/portal/security/totp").await;
    let secret = page.attr("data-secret").expect("the new secret");
    t.clock.advance(TimeDelta::seconds(30));
    let code = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let verified = b
        .submit("/portal/security/totp/verify", &[("code", &code)])
        .await;
    assert_eq!(verified.status, StatusCode::SEE_OTHER, "{}", verified.body);
    // The old authenticator's sessions ended; the pass was one-time.
    let (status, _) = t.get("/v1/me", &lou.token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut again = Browser::new(&t);
    again.get("/portal/sign-in/pass").await;
    let refused = again
        .submit(
            "/portal/sign-in/pass",
            &[("username", "lou@contoso.example"), ("pass", &pass)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}
