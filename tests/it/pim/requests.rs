//! Schedule requests of every action, for users, role-assignable groups and service
//! principals; the clear refusals; and who may see what.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;

fn admin_body(action: &str, principal: Uuid, role: &str, duration: Option<&str>) -> Value {
    let expiration = match duration {
        Some(d) => json!({ "type": "afterDuration", "duration": d }),
        None => json!({ "type": "noExpiration" }),
    };
    json!({
        "action": action, "principalId": principal, "roleDefinitionId": role,
        "directoryScopeId": "/", "justification": "quarterly access plan",
        "scheduleInfo": { "expiration": expiration },
    })
}

async fn instances(t: &TestApp, kind: &str, principal: Uuid) -> Vec<Value> {
    let (status, body) = t
        .get(
            &format!("/v1/roleManagement/directory/{kind}?$filter=principalId eq '{principal}'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().clone()
}

#[tokio::test]
async fn admins_assign_to_users_role_assignable_groups_and_service_principals() {
    let t = TestApp::new().await;
    let role = ids::SECURITY_READER;
    let user = t.user("uma").await;
    let (_, group) = t
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": "Tier 1", "securityEnabled": true, "isAssignableToRole": true }),
        )
        .await;
    let group = id_of(&group);
    let (_, plain) = t
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": "Plain", "securityEnabled": true, "isAssignableToRole": false }),
        )
        .await;
    let (_, sp) = t
        .post(
            "/v1/servicePrincipals",
            BOOTSTRAP,
            json!({ "displayName": "deployer" }),
        )
        .await;
    let sp_id = id_of(&sp);

    for principal in [user, group, sp_id] {
        let (status, body) = t
            .post(
                ASSIGNMENT_URL,
                BOOTSTRAP,
                admin_body("adminAssign", principal, role, Some("P30D")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "Provisioned");
        let (status, body) = t
            .post(
                ELIGIBILITY_URL,
                BOOTSTRAP,
                admin_body(
                    "adminAssign",
                    principal,
                    ids::SECURITY_ADMINISTRATOR,
                    Some("P90D"),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let active = instances(&t, "roleAssignmentScheduleInstances", sp_id).await;
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["assignmentType"], "Assigned");

    // An ordinary group cannot hold roles.
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            BOOTSTRAP,
            admin_body("adminAssign", id_of(&plain), role, Some("P30D")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "InvalidPrincipal");

    // The same assignment twice is a duplicate; permanent is refused by default.
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            BOOTSTRAP,
            admin_body("adminAssign", user, role, Some("P1D")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(detail_codes(&body), ["RoleAssignmentExists"]);
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            BOOTSTRAP,
            admin_body("adminAssign", t.user("vic").await, role, None),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(detail_codes(&body), ["ExpirationRule"]);

    // A member of the role-assignable group holds the role through it.
    let member = t.person("gina").await;
    let (status, _) = t
        .post(
            &format!("/v1/groups/{group}/members"),
            BOOTSTRAP,
            json!({ "id": member.id }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let through = instances(&t, "roleAssignmentScheduleInstances", member.id).await;
    assert_eq!(through.len(), 1);
    assert_eq!(through[0]["memberType"], "Group");
    assert_eq!(through[0]["principalId"], json!(member.id));

    // ...and can activate the eligibility the group has.
    t.step_up(&member).await;
    let (status, body) = t
        .activate(&member, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_service_principal_activates_its_eligibility_when_the_policy_allows_it() {
    let t = TestApp::new().await;
    let role = ids::EXCHANGE_ADMINISTRATOR;
    let (_, sp) = t
        .post(
            "/v1/servicePrincipals",
            BOOTSTRAP,
            json!({ "displayName": "mailflow" }),
        )
        .await;
    let sp_id = id_of(&sp);
    let (status, token) = t
        .call(
            axum::http::Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "clientId": sp["appId"], "clientSecret": sp["secret"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let token = token["access_token"].as_str().unwrap().to_string();
    t.make_eligible(sp_id, role).await;
    let activate = json!({
        "action": "selfActivate", "principalId": sp_id, "roleDefinitionId": role,
        "directoryScopeId": "/", "justification": "nightly mailbox migration",
        "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT30M" } },
    });
    // A workload cannot do MFA: the default policy refuses it...
    let (status, body) = t.post(ASSIGNMENT_URL, &token, activate.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(detail_codes(&body), ["MfaRule"]);
    // ...and a policy made for workloads lets it activate just in time.
    t.set_rule(
        role,
        "Enablement_EndUser_Assignment",
        json!({ "enabledRules": ["Justification"] }),
    )
    .await;
    let (status, body) = t.post(ASSIGNMENT_URL, &token, activate).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        instances(&t, "roleAssignmentScheduleInstances", sp_id).await[0]["assignmentType"],
        "Activated"
    );
}

#[tokio::test]
async fn unknown_and_malformed_requests_are_clear_4xx_and_change_nothing() {
    let t = TestApp::new().await;
    let user = t.person("ivan").await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    let before = t.recorded_changes().await;
    let with = |patch: Value| {
        let mut b = admin_body("adminAssign", user.id, role, Some("P1D"));
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            with(json!({ "roleDefinitionId": Uuid::new_v4() })),
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
        ),
        (
            with(json!({ "principalId": Uuid::new_v4() })),
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
        ),
        (
            with(json!({ "roleDefinitionId": "helpdesk" })),
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
        ),
        (
            with(json!({ "directoryScopeId": "no-slash" })),
            StatusCode::BAD_REQUEST,
            "InvalidScope",
        ),
        (
            with(json!({ "action": "adminDestroy" })),
            StatusCode::BAD_REQUEST,
            "InvalidRequestAction",
        ),
        (
            with(
                json!({ "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "8 hours" } } }),
            ),
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
        ),
        (
            with(json!({ "scheduleInfo": { "expiration": { "type": "afterDuration" } } })),
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
        ),
        (
            with(json!({ "scheduleInfo": { "expiration": { "type": "sometime" } } })),
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
        ),
        (
            with(
                json!({ "scheduleInfo": { "startDateTime": "2026-11-23T10:00:00Z", "expiration": { "type": "afterDateTime", "endDateTime": "2026-11-23T09:00:00Z" } } }),
            ),
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
        ),
        (
            with(json!({ "scheduleInfo": { "startDateTime": "yesterday" } })),
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
        ),
        (
            with(json!({ "scheduleInfo": { "recurrence": { "pattern": {} } } })),
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
        ),
        (
            with(json!({ "surprise": true })),
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
        ),
    ];
    for (body, status, expected) in cases {
        let (got, answer) = t.post(ELIGIBILITY_URL, BOOTSTRAP, body.clone()).await;
        assert_eq!(got, status, "{body} -> {answer}");
        assert!(
            code(&answer) == expected
                || (expected == "InvalidScope" && got == StatusCode::BAD_REQUEST),
            "{body} -> {answer}"
        );
    }
    // Self actions on eligibility requests, and admin actions by a non-admin.
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            &user.token,
            with(json!({ "action": "selfActivate" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = t
        .post(
            ASSIGNMENT_URL,
            &user.token,
            admin_body("adminAssign", user.id, role, Some("P1D")),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Activating without any eligibility.
    t.step_up(&user).await;
    let (status, body) = t.activate(&user, role, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(detail_codes(&body), ["NoEligibility"]);

    let after = t.recorded_changes().await;
    // Only the step-up's own audit entry was added.
    assert_eq!(after, before + 1);
    let (_, requests) = t.get(ELIGIBILITY_URL, BOOTSTRAP).await;
    assert_eq!(requests["value"], json!([]));
}

#[tokio::test]
async fn a_scheduled_activation_starts_on_time_and_can_be_canceled_before() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    let p = t.person("sam").await;
    t.make_eligible(p.id, role).await;
    t.step_up(&p).await;
    let start = t.clock.now_utc() + TimeDelta::hours(2);
    let (status, body) = t
        .activate(
            &p,
            role,
            "PT1H",
            json!({ "scheduleInfo": { "startDateTime": start, "expiration": { "type": "afterDuration", "duration": "PT1H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Granted");
    assert!(t.active_roles(&p.token).await.is_empty());
    assert_eq!(
        instances(&t, "roleAssignmentSchedules", p.id).await.len(),
        1
    );
    assert!(
        instances(&t, "roleAssignmentScheduleInstances", p.id)
            .await
            .is_empty()
    );

    let pass = t.tick(TimeDelta::hours(2)).await;
    assert_eq!(pass.started, 1);
    assert_eq!(t.active_roles(&p.token).await, [role]);
    let (_, request) = t
        .get(
            &format!("{ASSIGNMENT_URL}/{}", body["id"].as_str().unwrap()),
            &p.token,
        )
        .await;
    assert_eq!(request["status"], "Provisioned");
    assert_eq!(
        t.tick(TimeDelta::minutes(1)).await.started,
        0,
        "never twice"
    );

    // A second scheduled one (asked once the first has ended: none is queued behind a running
    // one), canceled before it starts, never grants.
    t.tick(TimeDelta::hours(1)).await;
    assert!(t.active_roles(&p.token).await.is_empty());
    let later = t.clock.now_utc() + TimeDelta::hours(3);
    t.step_up(&p).await;
    let (status, body) = t
        .activate(
            &p,
            role,
            "PT1H",
            json!({ "scheduleInfo": { "startDateTime": later, "expiration": { "type": "afterDuration", "duration": "PT1H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cancel = format!("{ASSIGNMENT_URL}/{}/cancel", body["id"].as_str().unwrap());
    let (status, _) = t.post(&cancel, &p.token, json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let pass = t.tick(TimeDelta::hours(3)).await;
    assert_eq!(pass.started, 0);
    assert!(t.active_roles(&p.token).await.is_empty());
}

#[tokio::test]
async fn activation_stays_within_the_eligibility_and_ends_with_it() {
    let t = TestApp::new().await;
    let role = ids::SECURITY_ADMINISTRATOR;
    let p = t.person("nora").await;
    let (status, elig) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            admin_body("adminAssign", p.id, role, Some("PT3H")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{elig}");
    t.step_up(&p).await;
    let (status, body) = t.activate(&p, role, "PT4H", json!({})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "never past the eligibility's end"
    );
    assert_eq!(detail_codes(&body), ["NoEligibility"]);
    let (status, _) = t.activate(&p, role, "PT2H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);

    // Removing the eligibility ends the activation drawn from it.
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            admin_body("adminRemove", p.id, role, None),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Revoked");
    assert!(t.active_roles(&p.token).await.is_empty());
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            admin_body("adminRemove", p.id, role, None),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "RoleAssignmentDoesNotExist");
}

#[tokio::test]
async fn extend_update_and_renew() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    let p = t.person("olga").await;
    t.make_eligible(p.id, role).await;
    t.step_up(&p).await;
    let (status, _) = t.activate(&p, role, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    // selfExtend: a new end within the maximum from now, with a fresh MFA again.
    t.clock.advance(TimeDelta::minutes(30));
    t.step_up(&p).await;
    let extend = |d: &str| {
        json!({
            "action": "selfExtend", "principalId": p.id, "roleDefinitionId": role,
            "directoryScopeId": "/", "justification": "still on it",
            "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": d } },
        })
    };
    let (status, body) = t.post(ASSIGNMENT_URL, &p.token, extend("PT9H")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(detail_codes(&body), ["ExpirationRule"]);
    let (status, body) = t.post(ASSIGNMENT_URL, &p.token, extend("PT2H")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let end = t.clock.now_utc() + TimeDelta::hours(2);
    assert_eq!(
        body["scheduleInfo"]["expiration"]["endDateTime"],
        json!(end)
    );
    t.clock.advance(TimeDelta::minutes(90));
    assert_eq!(
        t.active_roles(&p.token).await,
        [role],
        "still active past the old end"
    );

    // adminUpdate and adminExtend of an eligibility, then adminRenew once it ended.
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            admin_body("adminUpdate", p.id, role, Some("P2D")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            admin_body("adminExtend", p.id, role, Some("P1D")),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an extension must end later: {body}"
    );
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            admin_body("adminExtend", p.id, role, Some("P10D")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            admin_body("adminRenew", p.id, role, Some("P10D")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "nothing to renew yet");
    t.tick(TimeDelta::days(11)).await;
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            admin_body("adminRenew", p.id, role, Some("P10D")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        instances(&t, "roleEligibilityScheduleInstances", p.id)
            .await
            .len(),
        1
    );
}

/// An extension or an update of a schedule that has begun keeps its start, so the maximum
/// counts from there: a start named far in the future does not move it.
#[tokio::test]
async fn a_far_start_does_not_stretch_the_maximum_of_an_extension_or_update() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    t.set_rule(
        role,
        "Expiration_Admin_Eligibility",
        json!({ "isExpirationRequired": true, "maximumDuration": "P30D" }),
    )
    .await;
    let p = t.user("paul").await;
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            admin_body("adminAssign", p, role, Some("P10D")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let far = t.clock.now_utc() + TimeDelta::days(3000);
    let with_start = |action: &str, expiration: Value| {
        let mut body = admin_body(action, p, role, None);
        body["scheduleInfo"] = json!({ "startDateTime": far, "expiration": expiration });
        body
    };
    // The duration counts from today: 30 days from now, not from 3,000 days ahead.
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            with_start(
                "adminExtend",
                json!({ "type": "afterDuration", "duration": "P30D" }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let max_end = t.clock.now_utc() + TimeDelta::days(30);
    let schedules = instances(&t, "roleEligibilityScheduleInstances", p).await;
    assert_eq!(schedules.len(), 1);
    assert_eq!(schedules[0]["endDateTime"], json!(max_end), "{schedules:?}");
    // An end past the maximum from the kept start is refused, whatever start is named.
    for action in ["adminExtend", "adminUpdate"] {
        let end = far + TimeDelta::days(10);
        let (status, body) = t
            .post(
                ELIGIBILITY_URL,
                BOOTSTRAP,
                with_start(
                    action,
                    json!({ "type": "afterDateTime", "endDateTime": end }),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{action}: {body}");
        assert_eq!(detail_codes(&body), ["ExpirationRule"], "{action}");
    }
    let schedules = instances(&t, "roleEligibilityScheduleInstances", p).await;
    assert_eq!(
        schedules[0]["endDateTime"],
        json!(max_end),
        "nothing changed"
    );
}

#[tokio::test]
async fn eligo_own_admin_roles_unlock_the_admin_api_only_while_active() {
    let t = TestApp::new().await;
    let role = ids::PRIVILEGED_ROLE_ADMINISTRATOR;
    let p = t.person("priya").await;
    t.make_eligible(p.id, role).await;
    let target = t.user("target").await;
    let assign = admin_body("adminAssign", target, ids::SECURITY_READER, Some("P1D"));
    let (status, _) = t.post(ASSIGNMENT_URL, &p.token, assign.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "eligible is not active");
    t.step_up(&p).await;
    let (status, body) = t.activate(&p, role, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = t.post(ASSIGNMENT_URL, &p.token, assign.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.clock.advance(TimeDelta::hours(1));
    let (status, _) = t
        .post(
            ASSIGNMENT_URL,
            &p.token,
            admin_body("adminAssign", target, ids::GLOBAL_READER, Some("P1D")),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the window has closed");
    // Break-glass stays permanently active.
    let (status, _) = t
        .get(
            "/v1/roleManagement/directory/roleAssignmentSchedules",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn people_read_their_own_requests_and_schedules_and_filters_are_checked() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    let a = t.person("amy").await;
    let b = t.person("ben").await;
    t.make_eligible(a.id, role).await;
    t.make_eligible(b.id, role).await;
    t.step_up(&a).await;
    t.activate(&a, role, "PT1H", json!({})).await;

    let (status, mine) = t.get(ASSIGNMENT_URL, &a.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["value"].as_array().unwrap().len(), 1);
    // Graph's function form answers the same.
    let (status, same) = t
        .get(
            &format!("{ASSIGNMENT_URL}/filterByCurrentUser(on='principal')"),
            &a.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["value"], mine["value"]);
    let (status, inst) = t
        .get(
            "/v1/roleManagement/directory/roleAssignmentScheduleInstances/filterByCurrentUser(on='principal')",
            &a.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inst}");
    assert_eq!(inst["value"].as_array().unwrap().len(), 1);
    let schedule_id = inst["value"][0]["id"].as_str().unwrap();
    let (status, one) = t
        .get(
            &format!("/v1/roleManagement/directory/roleAssignmentSchedules/{schedule_id}"),
            &a.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["assignmentType"], "Activated");
    let (status, _) = t
        .get(
            &format!("/v1/roleManagement/directory/roleAssignmentSchedules/{schedule_id}"),
            &b.token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .get(
            &format!("{ASSIGNMENT_URL}/filterByCurrentUser(on='everyone')"),
            &a.token,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, theirs) = t.get(ASSIGNMENT_URL, &b.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(theirs["value"], json!([]));
    let (status, _) = t
        .get(
            &format!("{ASSIGNMENT_URL}?$filter=principalId eq '{}'", a.id),
            &b.token,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let id = mine["value"][0]["id"].as_str().unwrap();
    let (status, _) = t.get(&format!("{ASSIGNMENT_URL}/{id}"), &b.token).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "other people's requests are not disclosed"
    );

    let (status, all) = t
        .get(
            &format!(
                "{ASSIGNMENT_URL}?$filter=status eq 'Provisioned' and roleDefinitionId eq '{role}'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["value"].as_array().unwrap().len(), 1);
    for bad in [
        "?$filter=status eq 'Sleeping'",
        "?$filter=colour eq 'red'",
        "?$filter=principalId eq 'nope'",
        "?$orderby=status",
    ] {
        let (status, body) = t.get(&format!("{ASSIGNMENT_URL}{bad}"), BOOTSTRAP).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, body) = t
        .get(
            "/v1/roleManagement/directory/roleEligibilityScheduleInstances?$filter=roleDefinitionId eq 'x'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// A refused request changes nothing and is on the record once, as a failure of what it asked:
/// an assignment by someone holding no role, an eligibility by a Privileged Role Administrator
/// whose second factor is stale.
#[tokio::test]
async fn refused_requests_are_audited_as_what_they_asked() {
    let t = TestApp::new().await;
    let target = t.user("target").await;
    let olivia = t.user("olivia").await;
    let plain = t.sign_in("olivia").await;
    let (pra_id, pra) = t.admin("pria", ids::PRIVILEGED_ROLE_ADMINISTRATOR).await;
    t.clock.advance(TimeDelta::minutes(11));
    let before = t.recorded_changes().await;

    let assign = admin_body("adminAssign", target, ids::SECURITY_READER, Some("P1D"));
    let (status, body) = t.post(ASSIGNMENT_URL, &plain, assign).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "Authorization_RequestDenied"),
        "{body}"
    );
    let eligible = admin_body("adminAssign", target, ids::SECURITY_READER, Some("P30D"));
    let (status, body) = t.post(ELIGIBILITY_URL, &pra, eligible).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "MfaRequired"),
        "{body}"
    );

    assert_eq!(t.recorded_changes().await, before);
    for kind in [
        "roleAssignmentScheduleInstances",
        "roleEligibilityScheduleInstances",
    ] {
        assert_eq!(instances(&t, kind, target).await, Vec::<Value>::new());
    }
    t.assert_one_refusal(
        "Add member to role in PIM requested",
        "Authorization_RequestDenied",
        olivia,
    )
    .await;
    t.assert_one_refusal(
        "Add eligible member to role in PIM requested",
        "MfaRequired",
        pra_id,
    )
    .await;
}

#[tokio::test]
async fn back_to_back_self_activations_cannot_be_queued_in_one_mfa_window() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    let p = t.person("chain").await;
    t.make_eligible(p.id, role).await;
    t.step_up(&p).await;
    let now = t.clock.now_utc();
    let window = |from: TimeDelta| {
        json!({ "scheduleInfo": {
            "startDateTime": now + from,
            "expiration": { "type": "afterDuration", "duration": "PT8H" },
        } })
    };
    let (status, body) = t
        .activate(&p, role, "PT8H", window(TimeDelta::zero()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(t.active_roles(&p.token).await, [role]);
    // [+8h, +16h] and [+16h, +24h] behind it: refused, each with its stable code.
    let (status, body) = t
        .activate(&p, role, "PT8H", window(TimeDelta::hours(8)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        detail_codes(&body).contains(&"ActivationWouldChain".to_string()),
        "{body}"
    );
    let (status, body) = t
        .activate(&p, role, "PT8H", window(TimeDelta::hours(16)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        detail_codes(&body).contains(&"ActivationWouldChain".to_string()),
        "{body}"
    );
    assert_eq!(
        instances(&t, "roleAssignmentSchedules", p.id).await.len(),
        1,
        "only the first was granted"
    );
    // Nor may a start be put more than a week ahead, whatever else holds.
    let q = t.person("ahead").await;
    t.make_eligible(q.id, role).await;
    t.step_up(&q).await;
    let (status, body) = t
        .activate(
            &q,
            role,
            "PT1H",
            json!({ "scheduleInfo": {
                "startDateTime": t.clock.now_utc() + TimeDelta::days(8),
                "expiration": { "type": "afterDuration", "duration": "PT1H" },
            } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        detail_codes(&body).contains(&"ActivationStartTooFarAhead".to_string()),
        "{body}"
    );
    // A scheduled one not started yet: nothing more until it has run.
    let (status, body) = t
        .activate(
            &q,
            role,
            "PT1H",
            json!({ "scheduleInfo": {
                "startDateTime": t.clock.now_utc() + TimeDelta::hours(2),
                "expiration": { "type": "afterDuration", "duration": "PT1H" },
            } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = t.activate(&q, role, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        detail_codes(&body).contains(&"ScheduledActivationExists".to_string()),
        "{body}"
    );
}
