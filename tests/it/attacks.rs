//! The paths to Global Administrator found in Security I (threat-model rules 1 to 6), each
//! written as the attacker tried it, each now a refused attempt that changes nothing.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids;
use serde_json::json;
use uuid::Uuid;

use crate::harness::*;

async fn group(t: &TestApp, name: &str, role_assignable: bool) -> Uuid {
    let (status, body) = t
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": name, "securityEnabled": true, "isAssignableToRole": role_assignable }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id_of(&body)
}

async fn add(t: &TestApp, group: Uuid, relation: &str, who: Uuid) {
    let (status, body) = t
        .post(
            &format!("/v1/groups/{group}/{relation}/$ref"),
            BOOTSTRAP,
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{who}") }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

async fn reset_password(t: &TestApp, token: &str, user: Uuid) -> (StatusCode, serde_json::Value) {
    t.patch(
        &format!("/v1/users/{user}"),
        token,
        json!({ "passwordProfile": { "password": "attacker chosen password 1" } }),
    )
    .await
}

/// Path 1: a Helpdesk or User Administrator resets the password of a role-less owner of a
/// role-assignable group that holds Global Administrator (then would sign in as the owner and
/// add themselves). The owner is privileged by rule 1, so only from above.
#[tokio::test]
async fn resetting_the_password_of_an_owner_of_a_tier0_group_is_refused() {
    let t = TestApp::new().await;
    let tier0 = group(&t, "Tier 0", true).await;
    t.grant(
        tier0,
        ids::GLOBAL_ADMINISTRATOR,
        eligo_core::schedule::ScheduleKind::Active,
        None,
    )
    .await;
    let owner = t.user("olga").await;
    add(&t, tier0, "owners", owner).await;
    for (nick, role) in [
        ("hda", ids::HELPDESK_ADMINISTRATOR),
        ("uad", ids::USER_ADMINISTRATOR),
    ] {
        let (_, attacker) = t.admin(nick, role).await;
        let before = t.recorded_changes().await;
        let (status, body) = reset_password(&t, &attacker, owner).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "PrivilegedTarget"),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Tier 0")
        );
        assert_eq!(t.recorded_changes().await, before, "nothing changed");
    }
    // The owner's password still works.
    t.password_sign_in("olga").await;
    // A Privileged Authentication Administrator may, with a fresh second factor.
    let (_, paa) = t
        .admin("paa", ids::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR)
        .await;
    assert!(
        reset_password(&t, &paa, owner).await.0.is_success(),
        "managed from above"
    );
}

/// Path 1, the other kinds of privilege: a member who holds a role through an activated
/// membership, a user eligible for membership of a PIM group, a named approver and the manager
/// who approves for a requester. Each is managed only from above.
#[tokio::test]
async fn eligible_members_approvers_and_managers_are_privileged() {
    let t = TestApp::new().await;
    let (_, uad) = t.admin("uad", ids::USER_ADMINISTRATOR).await;

    // Eligible for membership of a group handed out through PIM.
    let pim_group = group(&t, "Database Admins", false).await;
    let eli = t.user("eli").await;
    let (status, body) = t
        .post(
            "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests",
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": eli, "groupId": pim_group,
                    "accessId": "member",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A named approver of Global Administrator, and a requester's manager.
    let approver = t.user("appr").await;
    let manager = t.user("mgr").await;
    let requester = t.user("req").await;
    t.make_eligible(requester, ids::GLOBAL_ADMINISTRATOR).await;
    t.patch(
        &format!("/v1/users/{requester}"),
        BOOTSTRAP,
        json!({ "managerId": manager }),
    )
    .await;
    t.set_rule(
        ids::GLOBAL_ADMINISTRATOR,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [{ "primaryApprovers": [
            { "@odata.type": "#microsoft.graph.singleUser", "userId": approver },
            { "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 }
        ] }] } }),
    )
    .await;

    for (who, attack) in [
        (eli, json!({ "mail": "eli@attacker.example" })),
        (approver, json!({ "mail": "approver@attacker.example" })),
        (approver, json!({ "accountEnabled": false })),
        (
            manager,
            json!({ "userPrincipalName": "mgr2@contoso.example" }),
        ),
        // Path 3: making a puppet the requester's manager (the requester is privileged).
        (requester, json!({ "managerId": t.user("puppet").await })),
    ] {
        let before = t.recorded_changes().await;
        let (status, body) = t
            .patch(&format!("/v1/users/{who}"), &uad, attack.clone())
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "PrivilegedTarget"),
            "{attack}: {body}"
        );
        assert_eq!(
            t.recorded_changes().await,
            before,
            "{attack} changed nothing"
        );
    }
    // The display name steers nothing: still the User Administrator's to change.
    let (status, body) = t
        .patch(
            &format!("/v1/users/{approver}"),
            &uad,
            json!({ "displayName": "Approver" }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    // An ordinary user stays the User Administrator's to manage.
    let plain = t.user("plain").await;
    assert!(reset_password(&t, &uad, plain).await.0.is_success());
}

/// Path 4: a Groups Administrator adds itself to an ordinary group named as approvers of
/// Global Administrator, or fills a group mapped downstream. Both are protected groups.
#[tokio::test]
async fn a_groups_administrator_cannot_fill_an_approver_group() {
    let t = TestApp::new().await;
    let approvers = group(&t, "GA approvers", false).await;
    let nested = group(&t, "Helpers", false).await;
    add(&t, approvers, "members", nested).await;
    t.set_rule(
        ids::GLOBAL_ADMINISTRATOR,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [{ "primaryApprovers": [
            { "@odata.type": "#microsoft.graph.groupMembers", "groupId": approvers }
        ] }] } }),
    )
    .await;
    let (gad_id, gad) = t.admin("gad", ids::GROUPS_ADMINISTRATOR).await;
    for target in [approvers, nested] {
        let (status, body) = t
            .post(
                &format!("/v1/groups/{target}/members"),
                &gad,
                json!({ "id": gad_id }),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "ProtectedGroup"),
            "{body}"
        );
    }
    // An ordinary group is still the Groups Administrator's.
    let plain = group(&t, "Lunch club", false).await;
    let (status, body) = t
        .post(
            &format!("/v1/groups/{plain}/members"),
            &gad,
            json!({ "id": gad_id }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // Refusals are on the record as failures.
    let (_, audits) = t
        .get(
            &format!("/v1/auditLogs/directoryAudits?$filter=initiatedBy/user/id eq '{gad_id}'"),
            BOOTSTRAP,
        )
        .await;
    let failures = audits["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["result"] == "failure")
        .count();
    assert_eq!(failures, 2, "{audits}");
}

/// Path 2: a password alone opens no session for an account with an authenticator, on any
/// channel, and says nothing about whether the password was right; an API token is no portal
/// cookie; a password-only session cannot approve.
#[tokio::test]
async fn a_phished_password_opens_nothing() {
    let t = TestApp::new().await;
    let p = t.person("victim").await;
    let answer = |body: serde_json::Value| {
        t.call(axum::http::Method::POST, "/v1/auth/token", None, Some(body))
    };
    let (right, right_body) =
        answer(json!({ "username": "victim@contoso.example", "password": PASSWORD })).await;
    let (wrong, wrong_body) =
        answer(json!({ "username": "victim@contoso.example", "password": "wrong password!" }))
            .await;
    assert_eq!(
        (right, wrong),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(right_body, wrong_body, "no password oracle");

    // The API token in the portal's cookie: signed out, not signed in.
    let req = axum::http::Request::builder()
        .uri("/portal/roles")
        .header("cookie", format!("eligo_session={}", p.token))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(t.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/portal/sign-in")
    );

    // An approver whose second factor is stale cannot decide: MfaRequired, nothing decided.
    let approver = t.person("appr").await;
    t.set_rule(
        ids::SECURITY_ADMINISTRATOR,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [{ "primaryApprovers": [
            { "@odata.type": "#microsoft.graph.singleUser", "userId": approver.id }
        ] }] } }),
    )
    .await;
    t.make_eligible(p.id, ids::SECURITY_ADMINISTRATOR).await;
    let (status, body) = t
        .activate(&p, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let approval = body["approvalId"].as_str().unwrap().to_string();
    t.clock.advance(TimeDelta::minutes(11));
    let url = format!("/v1/roleManagement/directory/roleAssignmentApprovals/{approval}");
    let (_, a) = t.get(&url, &approver.token).await;
    let step = a["steps"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = t
        .patch(
            &format!("{url}/steps/{step}"),
            &approver.token,
            json!({ "reviewResult": "Approve", "justification": "ok" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "MfaRequired"),
        "{body}"
    );
    t.step_up(&approver).await;
    let (status, body) = t
        .patch(
            &format!("{url}/steps/{step}"),
            &approver.token,
            json!({ "reviewResult": "Approve", "justification": "ok" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// Path 5: removing a member from a role-assignable group ends the activation the member drew
/// from the group's eligibility, in the same transaction, with the cause on the record.
#[tokio::test]
async fn leaving_the_group_ends_what_was_activated_through_it() {
    let t = TestApp::new().await;
    let ops = group(&t, "Tier 0 Operators", true).await;
    t.make_eligible(ops, ids::SECURITY_READER).await;
    let p = t.person("mia").await;
    add(&t, ops, "members", p.id).await;
    t.step_up(&p).await;
    let (status, body) = t
        .activate(&p, ids::SECURITY_READER, "PT4H", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(t.active_roles(&p.token).await, [ids::SECURITY_READER]);

    let (status, body) = t
        .delete(
            &format!("/v1/groups/{ops}/members/{}/$ref", p.id),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(t.active_roles(&p.token).await.is_empty(), "ended at once");
    let (_, audits) = t
        .get("/v1/auditLogs/directoryAudits?$top=5", BOOTSTRAP)
        .await;
    assert!(
        audits["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["additionalDetails"]
                .as_array()
                .unwrap()
                .iter()
                .any(
                    |d| d["key"] == "cause" && d["value"] == "removed from group Tier 0 Operators"
                )),
        "{audits}"
    );
}

/// Rule 6 after an extension: an activation begun on the member's own eligibility and extended
/// past it on a group's is drawn from the group's from then on, so leaving the group ends it,
/// and it does not outlive both.
#[tokio::test]
async fn an_extension_drawn_from_a_group_ends_with_the_membership() {
    let t = TestApp::new().await;
    let role = ids::SECURITY_READER;
    let ops = group(&t, "Readers", true).await;
    t.make_eligible(ops, role).await;
    let p = t.person("mallory").await;
    // Her own eligibility ends in two hours.
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            json!({
                "action": "adminAssign", "principalId": p.id, "roleDefinitionId": role,
                "directoryScopeId": "/", "justification": "short project",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT2H" } },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.step_up(&p).await;
    let (status, body) = t.activate(&p, role, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Then she joins the group and extends to eight hours, which only its eligibility covers.
    add(&t, ops, "members", p.id).await;
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            &p.token,
            json!({
                "action": "selfExtend", "principalId": p.id, "roleDefinitionId": role,
                "directoryScopeId": "/", "justification": "still on it",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT8H" } },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = t
        .delete(
            &format!("/v1/groups/{ops}/members/{}/$ref", p.id),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(
        t.active_roles(&p.token).await.is_empty(),
        "the extension ended with the membership it was drawn from"
    );
    t.tick(TimeDelta::hours(3)).await;
    t.step_up(&p).await;
    assert!(t.active_roles(&p.token).await.is_empty());
}

/// Path 6: a self-extension of a role whose activation needs approval waits for approval.
#[tokio::test]
async fn extending_is_an_activation() {
    let t = TestApp::new().await;
    let approver = t.person("appr").await;
    let p = t.person("req").await;
    t.make_eligible(p.id, ids::SECURITY_ADMINISTRATOR).await;
    t.set_rule(
        ids::SECURITY_ADMINISTRATOR,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": [{ "primaryApprovers": [
            { "@odata.type": "#microsoft.graph.singleUser", "userId": approver.id }
        ] }] } }),
    )
    .await;
    let (_, body) = t
        .activate(&p, ids::SECURITY_ADMINISTRATOR, "PT1H", json!({}))
        .await;
    let url = format!(
        "/v1/roleManagement/directory/roleAssignmentApprovals/{}",
        body["approvalId"].as_str().unwrap()
    );
    let (_, a) = t.get(&url, &approver.token).await;
    let step = a["steps"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = t
        .patch(
            &format!("{url}/steps/{step}"),
            &approver.token,
            json!({ "reviewResult": "Approve", "justification": "ok" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            &p.token,
            json!({ "action": "selfExtend", "principalId": p.id,
                    "roleDefinitionId": ids::SECURITY_ADMINISTRATOR, "directoryScopeId": "/",
                    "justification": "more", "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT2H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["status"], "PendingApproval",
        "one approved hour is not forever"
    );
}

/// Path 7: an authentication context Eligo cannot enforce is refused, not stored.
#[tokio::test]
async fn an_unenforceable_authentication_context_is_refused() {
    let t = TestApp::new().await;
    let (_, pra) = t.admin("pra", ids::PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let (_, policies) = t
        .get(
            &format!("/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{}'", ids::GLOBAL_ADMINISTRATOR),
            &pra,
        )
        .await;
    let policy = policies["value"][0]["policyId"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = t
        .patch(
            &format!("/v1/policies/roleManagementPolicies/{policy}/rules/AuthenticationContext_EndUser_Assignment"),
            &pra,
            json!({ "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule",
                    "id": "AuthenticationContext_EndUser_Assignment", "isEnabled": true, "claimValue": "c1" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        detail_codes(&body).contains(&"AuthenticationContextNotSupported".to_string()),
        "{body}"
    );
}

/// Path 8: a pending TOTP enrolment belongs to the session that started it and expires; a
/// password reset ends the account's other sessions.
#[tokio::test]
async fn enrolment_is_bound_to_its_session_and_a_reset_ends_other_sessions() {
    let t = TestApp::new().await;
    t.user("nia").await;
    let first = t.password_sign_in("nia").await;
    let second = t.password_sign_in("nia").await;
    let (status, _) = t
        .post("/v1/me/authenticationMethods/totp", &first, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/totp/verify",
            &second,
            json!({ "otp": "123456" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "NoPendingEnrolment")
    );
    t.clock.advance(TimeDelta::minutes(11));
    let (status, body) = t
        .post(
            "/v1/me/authenticationMethods/totp/verify",
            &first,
            json!({ "otp": "123456" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "NoPendingEnrolment"),
        "expired"
    );

    // A reset of nia's password by an administrator ends both sessions.
    let nia = t.get("/v1/me", &first).await.1["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, uad) = t.admin("uad", ids::USER_ADMINISTRATOR).await;
    let (status, body) = reset_password(&t, &uad, Uuid::parse_str(&nia).unwrap()).await;
    assert!(status.is_success(), "{body}");
    for token in [&first, &second] {
        assert_eq!(t.get("/v1/me", token).await.0, StatusCode::UNAUTHORIZED);
    }
}

/// A role eligibility held by a role-assignable group, and a person eligible for (not in) that
/// group's membership through PIM for Groups: the person activates the membership for an hour,
/// then the role through it for eight. However the membership ends, the role ends with it.
async fn role_drawn_through_a_membership(t: &TestApp) -> (Person, Uuid) {
    const G: &str = "/v1/identityGovernance/privilegedAccess/group";
    let group = group(t, "Exchange operators", true).await;
    let (status, body) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": group, "roleDefinitionId": ids::EXCHANGE_ADMINISTRATOR,
                    "directoryScopeId": "/", "justification": "the team's role",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P90D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let p = t.person("mallory").await;
    let (status, body) = t
        .post(
            &format!("{G}/eligibilityScheduleRequests"),
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": p.id, "groupId": group, "accessId": "member",
                    "justification": "on-call rota",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.step_up(&p).await;
    let (status, body) = t
        .post(
            &format!("{G}/assignmentScheduleRequests"),
            &p.token,
            json!({ "action": "selfActivate", "principalId": p.id, "groupId": group, "accessId": "member",
                    "justification": "on call",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = t
        .activate(&p, ids::EXCHANGE_ADMINISTRATOR, "PT8H", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        t.active_roles(&p.token).await,
        [ids::EXCHANGE_ADMINISTRATOR]
    );
    (p, group)
}

async fn holds_role(t: &TestApp, who: Uuid, role: &str) -> bool {
    let (status, check) = t
        .get(
            &format!("/v1/access/check?principalId={who}&roleDefinitionId={role}"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    check["allowed"].as_bool().unwrap()
}

#[tokio::test]
async fn a_role_drawn_through_a_group_membership_ends_when_the_membership_expires() {
    let t = TestApp::new().await;
    let (p, _) = role_drawn_through_a_membership(&t).await;
    t.tick(TimeDelta::minutes(61)).await;
    assert!(
        !holds_role(&t, p.id, ids::EXCHANGE_ADMINISTRATOR).await,
        "the eight-hour activation ended with the one-hour membership"
    );
    let (_, log) = t
        .get(
            "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Remove member from role (PIM activation ended: no longer eligible through the group)'",
            BOOTSTRAP,
        )
        .await;
    let entries = log["value"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log}");
    assert!(
        entries[0]
            .to_string()
            .contains("membership of group Exchange operators ended"),
        "{log}"
    );
}

#[tokio::test]
async fn a_role_drawn_through_a_group_membership_ends_when_the_membership_is_deactivated_or_removed()
 {
    const G: &str = "/v1/identityGovernance/privilegedAccess/group";
    // Deactivated by its holder.
    let t = TestApp::new().await;
    let (p, group) = role_drawn_through_a_membership(&t).await;
    t.clock.advance(TimeDelta::minutes(6));
    let (status, body) = t
        .post(
            &format!("{G}/assignmentScheduleRequests"),
            &p.token,
            json!({ "action": "selfDeactivate", "principalId": p.id, "groupId": group, "accessId": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(!holds_role(&t, p.id, ids::EXCHANGE_ADMINISTRATOR).await);

    // Removed by an administrator.
    let t = TestApp::new().await;
    let (p, group) = role_drawn_through_a_membership(&t).await;
    let (status, body) = t
        .post(
            &format!("{G}/assignmentScheduleRequests"),
            BOOTSTRAP,
            json!({ "action": "adminRemove", "principalId": p.id, "groupId": group, "accessId": "member",
                    "justification": "rota changed" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(!holds_role(&t, p.id, ids::EXCHANGE_ADMINISTRATOR).await);

    // Its eligibility removed: the membership ends, and the role with it.
    let t = TestApp::new().await;
    let (p, group) = role_drawn_through_a_membership(&t).await;
    let (status, body) = t
        .post(
            &format!("{G}/eligibilityScheduleRequests"),
            BOOTSTRAP,
            json!({ "action": "adminRemove", "principalId": p.id, "groupId": group, "accessId": "member",
                    "justification": "left the rota" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(!holds_role(&t, p.id, ids::EXCHANGE_ADMINISTRATOR).await);
}
