//! Temporary Access Pass: issued only by Tier 0 with fresh MFA, shown once, usable in its window
//! (once, when one-time), a sign-in that proves no second factor but lets the person enrol one;
//! and `ELIGO_FIRST_FACTOR_ENROLMENT`, which decides who needs a pass to enrol a first one.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use eligo::config::FirstFactorEnrolment;
use eligo_core::roles::ids;
use eligo_core::schedule::ScheduleKind;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;

fn methods(user: Uuid) -> String {
    format!("/v1/users/{user}/authentication/temporaryAccessPassMethods")
}

async fn issue(t: &TestApp, token: &str, user: Uuid, body: Value) -> (StatusCode, Value) {
    t.post(&methods(user), token, body).await
}

async fn pass_sign_in(t: &TestApp, nick: &str, pass: &str) -> (StatusCode, Value) {
    t.call(
        Method::POST,
        "/v1/auth/token",
        None,
        Some(json!({ "username": format!("{nick}@contoso.example"), "temporaryAccessPass": pass })),
    )
    .await
}

async fn begin_totp(t: &TestApp, token: &str) -> (StatusCode, Value) {
    t.post("/v1/me/authenticationMethods/totp", token, json!({}))
        .await
}

#[tokio::test]
async fn a_person_who_lost_their_authenticator_signs_in_with_a_pass_and_enrols_a_new_one() {
    let t = TestApp::new().await;
    let (_, ga) = t.admin("gina", ids::GLOBAL_ADMINISTRATOR).await;
    let lost = t.person("lou").await;

    let (status, body) = issue(
        &t,
        &ga,
        lost.id,
        json!({ "lifetimeInMinutes": 60, "isUsableOnce": true }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["@odata.type"],
        "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
    );
    assert_eq!(body["isUsable"], true);
    assert_eq!(body["methodUsabilityReason"], "EnabledByPolicy");
    assert_eq!(body["lifetimeInMinutes"], 60);
    assert_eq!(body["isUsableOnce"], true);
    let pass = body["temporaryAccessPass"].as_str().unwrap().to_string();
    assert_eq!(pass.len(), 16);
    let method = id_of(&body);

    // Shown once: reading it back gives the dates, never the pass.
    let (status, list) = t.get(&methods(lost.id), &ga).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert_eq!(list["value"][0]["temporaryAccessPass"], Value::Null);
    assert!(!list.to_string().contains(&pass));
    let (status, one) = t.get(&format!("{}/{method}", methods(lost.id)), &ga).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["id"], json!(method));
    // The person sees their own; nobody else without a credential role.
    let (status, _) = t.get(&methods(lost.id), &lost.token).await;
    assert_eq!(status, StatusCode::OK);
    let nosy = t.person("nora").await;
    let (status, body) = t.get(&methods(lost.id), &nosy.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A wrong pass, or the right one for another account, is a failed sign-in like any other.
    let (status, body) = pass_sign_in(&t, "lou", "abcdefghijkmnpqr").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(code(&body), "InvalidCredentials");
    let (status, _) = pass_sign_in(&t, "nora", &pass).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = pass_sign_in(&t, "lou", &pass).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["amr"], json!(["tap"]));
    let session = body["access_token"].as_str().unwrap().to_string();
    // One-time: spent.
    let (status, _) = pass_sign_in(&t, "lou", &pass).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, one) = t.get(&format!("{}/{method}", methods(lost.id)), &ga).await;
    assert_eq!(one["methodUsabilityReason"], "OneTimeUsed");
    assert_eq!(one["isUsable"], false);

    // The pass session is no second factor: nothing that needs MFA.
    let (status, body) = t
        .post("/v1/auth/stepup", &session, json!({ "otp": "000000" }))
        .await;
    assert!(status.is_client_error(), "{body}");

    // It replaces the lost authenticator without the old one; the other sessions end.
    let (status, body) = begin_totp(&t, &session).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secret = body["secret"].as_str().unwrap().to_string();
    t.clock.advance(TimeDelta::seconds(30));
    let code_now = eligo::auth::totp::code_at(&secret, t.clock.now_utc()).unwrap();
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/totp/verify",
            &session,
            json!({ "otp": code_now }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = t.get("/v1/me", &lost.token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old session ended");
    let (status, _) = t.get("/v1/me", &session).await;
    assert_eq!(status, StatusCode::OK, "the acting session stays");

    let (_, log) = t
        .get(
            "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Admin registered temporary access pass method for user'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(log["value"].as_array().unwrap().len(), 1, "{log}");
    assert!(
        !log.to_string().contains(&pass),
        "the audit never holds the pass"
    );
}

#[tokio::test]
async fn only_tier0_with_fresh_mfa_issues_a_pass_and_a_refusal_changes_nothing() {
    let t = TestApp::new().await;
    let target = t.user("tess").await;
    let before = t.recorded_changes().await;
    for role in [
        ids::USER_ADMINISTRATOR,
        ids::HELPDESK_ADMINISTRATOR,
        ids::PRIVILEGED_ROLE_ADMINISTRATOR,
        ids::GROUPS_ADMINISTRATOR,
    ] {
        let (_, token) = t.admin(&format!("a{}", &role[..8]), role).await;
        let before = t.recorded_changes().await;
        let (status, body) = issue(&t, &token, target, json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
        assert_eq!(code(&body), "Authorization_RequestDenied", "{role}");
        assert_eq!(t.recorded_changes().await, before, "{role}");
    }
    let (status, _) = issue(&t, &t.sign_in("tess").await, target, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not for oneself either");
    let (status, _) = t
        .call(Method::POST, &methods(target), None, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A Privileged Authentication Administrator whose second factor is stale: MfaRequired.
    let paa = t
        .admin_person("pat", ids::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR)
        .await;
    t.clock
        .advance(t.app.config.mfa_freshness + TimeDelta::minutes(1));
    let before_stale = t.recorded_changes().await;
    let (status, body) = issue(&t, &paa.token, target, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "MfaRequired");
    assert_eq!(t.recorded_changes().await, before_stale);
    let (status, list) = t.get(&methods(target), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list["value"].as_array().unwrap().is_empty(), "{list}");
    assert!(t.recorded_changes().await > before, "the admins were made");

    // Fresh: issued. Bad bodies and a second live pass: 400, nothing changes.
    t.step_up(&paa).await;
    for (body, expected) in [
        (json!({ "lifetimeInMinutes": 5 }), "InvalidLifetime"),
        (json!({ "lifetimeInMinutes": 50_000 }), "InvalidLifetime"),
        (
            json!({ "startDateTime": "2000-01-01T00:00:00Z" }),
            "InvalidStartDateTime",
        ),
    ] {
        let (status, answer) = issue(&t, &paa.token, target, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(code(&answer), expected, "{body}");
    }
    let (status, answer) = issue(&t, &paa.token, target, json!({ "unknown": 1 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, answer) = issue(&t, &paa.token, Uuid::new_v4(), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, first) = issue(&t, &paa.token, target, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let changes = t.recorded_changes().await;
    let (status, answer) = issue(&t, &paa.token, target, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(code(&answer), "TemporaryAccessPassExists");
    assert_eq!(t.recorded_changes().await, changes);
    // The first pass still works; once it has expired a new one may be issued.
    let pass = first["temporaryAccessPass"].as_str().unwrap();
    let (status, _) = pass_sign_in(&t, "tess", pass).await;
    assert_eq!(status, StatusCode::OK);
    t.clock.advance(TimeDelta::minutes(61));
    let (status, _) = pass_sign_in(&t, "tess", pass).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");
    let (_, list) = t.get(&methods(target), BOOTSTRAP).await;
    assert_eq!(list["value"][0]["methodUsabilityReason"], "Expired");
    t.step_up(&paa).await;
    let (status, answer) = issue(&t, &paa.token, target, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test]
async fn a_scheduled_pass_waits_for_its_start_and_a_deleted_one_opens_nothing() {
    let t = TestApp::new().await;
    let gina = t.admin_person("gina", ids::GLOBAL_ADMINISTRATOR).await;
    let ga = gina.token.clone();
    let user = t.user("sam").await;
    let start = t.clock.now_utc() + TimeDelta::hours(2);
    let (status, body) = issue(
        &t,
        &ga,
        user,
        json!({ "startDateTime": start, "lifetimeInMinutes": 30 }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["methodUsabilityReason"], "NotYetValid");
    let pass = body["temporaryAccessPass"].as_str().unwrap().to_string();
    let method = id_of(&body);
    let (status, _) = pass_sign_in(&t, "sam", &pass).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "not yet");
    t.clock.advance(TimeDelta::hours(2));
    let (status, _) = pass_sign_in(&t, "sam", &pass).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "usable many times within its window"
    );
    let (status, _) = pass_sign_in(&t, "sam", &pass).await;
    assert_eq!(status, StatusCode::OK);

    // A User Administrator may withdraw an ordinary person's pass, not a privileged one's.
    let (_, ua) = t.admin("ursula", ids::USER_ADMINISTRATOR).await;
    let (status, body) = t
        .delete(&format!("{}/{}", methods(user), Uuid::new_v4()), &ua)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = t.delete(&format!("{}/{method}", methods(user)), &ua).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = pass_sign_in(&t, "sam", &pass).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "deleted");
    let (_, list) = t.get(&methods(user), &ga).await;
    assert!(list["value"].as_array().unwrap().is_empty(), "{list}");

    let admin = t.user("adam").await;
    t.grant(
        admin,
        ids::GLOBAL_ADMINISTRATOR,
        ScheduleKind::Eligible,
        None,
    )
    .await;
    t.step_up(&gina).await;
    let (status, body) = issue(&t, &ga, admin, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let before = t.recorded_changes().await;
    let (status, answer) = t
        .delete(&format!("{}/{}", methods(admin), id_of(&body)), &ua)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(code(&answer), "PrivilegedTarget");
    assert_eq!(t.recorded_changes().await, before);

    // A pass session of an administrator is no strong session: administration needs MFA.
    let pass = body["temporaryAccessPass"].as_str().unwrap();
    let (status, session) = pass_sign_in(&t, "adam", pass).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let session = session["access_token"].as_str().unwrap();
    let (status, body) = t
        .post(
            "/v1/groups",
            session,
            json!({ "displayName": "x", "securityEnabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

async fn password_session(t: &TestApp, nick: &str) -> String {
    t.password_sign_in(nick).await
}

#[tokio::test]
async fn first_factor_enrolment_pass_always_needs_a_pass_for_everyone() {
    let t =
        TestApp::configured(|c| c.first_factor_enrolment = FirstFactorEnrolment::PassAlways).await;
    // Under pass-always even administrators enrol with a pass: the break-glass token issues.
    let ga = BOOTSTRAP;
    let user = t.user("olly").await;
    let token = password_session(&t, "olly").await;
    let before = t.recorded_changes().await;
    let (status, body) = begin_totp(&t, &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "TemporaryAccessPassRequired");
    assert_eq!(t.recorded_changes().await, before);
    let (_, body) = issue(&t, ga, user, json!({})).await;
    let (status, session) =
        pass_sign_in(&t, "olly", body["temporaryAccessPass"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = begin_totp(&t, session["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn first_factor_enrolment_pass_for_privileged_leaves_ordinary_people_alone() {
    let t =
        TestApp::configured(|c| c.first_factor_enrolment = FirstFactorEnrolment::PassForPrivileged)
            .await;
    t.user("olly").await;
    let (status, body) = begin_totp(&t, &password_session(&t, "olly").await).await;
    assert_eq!(status, StatusCode::OK, "ordinary: {body}");

    // Eligible for a role (privileged by rule 1): a stolen password must not bind the
    // thief's authenticator, so only a pass opens enrolment.
    let admin = t.user("priya").await;
    t.grant(
        admin,
        ids::SECURITY_ADMINISTRATOR,
        ScheduleKind::Eligible,
        None,
    )
    .await;
    let token = password_session(&t, "priya").await;
    let (status, body) = begin_totp(&t, &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "TemporaryAccessPassRequired");
    let (_, ga) = t.admin("gina", ids::GLOBAL_ADMINISTRATOR).await;
    let (_, body) = issue(&t, &ga, admin, json!({})).await;
    let (_, session) =
        pass_sign_in(&t, "priya", body["temporaryAccessPass"].as_str().unwrap()).await;
    let (status, body) = begin_totp(&t, session["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Rule 9: someone failing passwords for an account fills its count, which its pass shares;
/// the person onboarding with the pass still signs in, and wrong passes still answer as
/// throttled.
#[tokio::test]
async fn failed_passwords_by_others_do_not_lock_out_a_pass() {
    let t = TestApp::new().await;
    let (_, ga) = t.admin("gina", ids::GLOBAL_ADMINISTRATOR).await;
    let newcomer = t.user("nico").await;
    let (status, body) = issue(&t, &ga, newcomer, json!({ "lifetimeInMinutes": 60 })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let pass = body["temporaryAccessPass"].as_str().unwrap().to_string();
    for _ in 0..8 {
        let (status, _) = crate::auth::token_request(&t, crate::auth::login("nico", "guess")).await;
        assert!(status.is_client_error());
    }
    let (status, body) = pass_sign_in(&t, "nico", "AAAAAAAAAAAAAAAA").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (status, body) = pass_sign_in(&t, "nico", &pass).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
