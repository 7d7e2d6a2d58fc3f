//! Multi-stage approval: stages in order, the two-person rule, group and manager approvers,
//! escalation, deny, timeout, cancel, and two approvers deciding at the same moment.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids;
use eligo_core::schedule::ScheduleKind;
use serde_json::{Value, json};

use crate::harness::*;

const ROLE: &str = ids::SECURITY_ADMINISTRATOR;

async fn require_approval(t: &TestApp, stages: Value) {
    t.set_rule(
        ROLE,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": true, "approvalStages": stages } }),
    )
    .await;
}

fn single(user: &Person) -> Value {
    json!({ "@odata.type": "#microsoft.graph.singleUser", "userId": user.id })
}

/// Requester activates; returns (request id, approval URL).
async fn request(t: &TestApp, p: &Person) -> (String, String) {
    t.step_up(p).await;
    let (status, body) = t.activate(p, ROLE, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PendingApproval");
    let approval = body["approvalId"].as_str().unwrap();
    (
        body["id"].as_str().unwrap().to_string(),
        format!("/v1/roleManagement/directory/roleAssignmentApprovals/{approval}"),
    )
}

async fn decide(t: &TestApp, url: &str, who: &Person, result: &str) -> (StatusCode, Value) {
    let (status, approval) = t.get(url, &who.token).await;
    assert_eq!(status, StatusCode::OK, "{approval}");
    let step = approval["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "InProgress")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| approval["steps"][0]["id"].as_str().unwrap().to_string());
    t.patch(
        &format!("{url}/steps/{step}"),
        &who.token,
        json!({ "reviewResult": result, "justification": "reviewed" }),
    )
    .await
}

async fn status_of(t: &TestApp, id: &str) -> Value {
    t.get(&format!("{ASSIGNMENT_URL}/{id}"), BOOTSTRAP).await.1
}

#[tokio::test]
async fn two_stages_with_a_two_person_rule_then_the_manager() {
    let t = TestApp::new().await;
    let (a1, a2, a3) = (
        t.person("a1").await,
        t.person("a2").await,
        t.person("a3").await,
    );
    let manager = t.person("boss").await;
    let (_, group) = t
        .post("/v1/groups", BOOTSTRAP, json!({ "displayName": "SecOps", "securityEnabled": true, "isAssignableToRole": false }))
        .await;
    let group = id_of(&group);
    for p in [&a1, &a2, &a3] {
        t.post(
            &format!("/v1/groups/{group}/members"),
            BOOTSTRAP,
            json!({ "id": p.id }),
        )
        .await;
    }
    require_approval(
        &t,
        json!([
            { "minimumApprovals": 2, "primaryApprovers": [{ "@odata.type": "#microsoft.graph.groupMembers", "groupId": group }] },
            { "primaryApprovers": [{ "@odata.type": "#microsoft.graph.requestorManager" }] },
        ]),
    )
    .await;
    let requester = t.person("req").await;
    let (status, body) = t
        .patch(
            &format!("/v1/users/{}", requester.id),
            BOOTSTRAP,
            json!({ "managerId": manager.id }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    t.make_eligible(requester.id, ROLE).await;
    let (id, url) = request(&t, &requester).await;

    // The manager's stage has not started: not assigned to them yet.
    let (_, waiting) = t.get("/v1/me/approvals", &manager.token).await;
    assert_eq!(waiting["value"], json!([]));
    assert_eq!(
        decide(&t, &url, &a1, "Approve").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status_of(&t, &id).await["status"],
        "PendingApproval",
        "one is not two"
    );
    let (status, body) = decide(&t, &url, &a1, "Approve").await;
    assert_eq!(status, StatusCode::CONFLICT, "nobody counts twice: {body}");
    assert_eq!(
        decide(&t, &url, &a2, "Approve").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status_of(&t, &id).await["status"],
        "PendingApproval",
        "stage 2 waits"
    );
    let (_, waiting) = t.get("/v1/me/approvals", &manager.token).await;
    assert_eq!(waiting["value"][0]["id"], json!(id));
    // a3 is not an approver of stage 2.
    assert_eq!(
        decide(&t, &url, &a3, "Approve").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        decide(&t, &url, &manager, "Approve").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(status_of(&t, &id).await["status"], "Provisioned");
    assert_eq!(t.active_roles(&requester.token).await, [ROLE]);

    let (_, approval) = t.get(&url, &requester.token).await;
    assert_eq!(approval["steps"][0]["reviewResult"], "Approve");
    assert_eq!(approval["steps"][0]["reviews"].as_array().unwrap().len(), 2);
    assert_eq!(approval["steps"][1]["reviewedBy"]["id"], json!(manager.id));
}

#[tokio::test]
async fn a_deny_ends_the_request_and_nothing_is_granted() {
    let t = TestApp::new().await;
    let approver = t.person("appr").await;
    require_approval(&t, json!([{ "primaryApprovers": [single(&approver)] }])).await;
    let p = t.person("req").await;
    t.make_eligible(p.id, ROLE).await;
    let (id, url) = request(&t, &p).await;
    assert_eq!(
        decide(&t, &url, &approver, "Deny").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(status_of(&t, &id).await["status"], "Denied");
    assert!(t.active_roles(&p.token).await.is_empty());
    // Cancelling a decided request is refused; a new request may be made.
    let (status, body) = t
        .post(
            &format!("{ASSIGNMENT_URL}/{id}/cancel"),
            &p.token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "RequestNotCancelable");
    request(&t, &p).await;
}

#[tokio::test]
async fn an_undecided_request_expires_after_the_stage_timeout() {
    let t = TestApp::new().await;
    let approver = t.person("appr").await;
    require_approval(
        &t,
        json!([{ "approvalStageTimeOutInDays": 2, "primaryApprovers": [single(&approver)] }]),
    )
    .await;
    let p = t.person("req").await;
    t.make_eligible(p.id, ROLE).await;
    let (id, url) = request(&t, &p).await;

    // A duplicate request while one waits is refused with its own code, naming the waiting
    // request, and creates nothing.
    let before = t
        .get(
            &format!("{ASSIGNMENT_URL}?$filter=principalId eq '{}'", p.id),
            BOOTSTRAP,
        )
        .await
        .1;
    let (status, body) = t.activate(&p, ROLE, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "PendingRequestExists", "{body}");
    assert_eq!(detail_codes(&body), ["PendingRequestExists"]);
    assert!(
        body["error"]["message"].as_str().unwrap().contains(&id),
        "{body}"
    );
    let after = t
        .get(
            &format!("{ASSIGNMENT_URL}?$filter=principalId eq '{}'", p.id),
            BOOTSTRAP,
        )
        .await
        .1;
    assert_eq!(
        before["value"].as_array().map(Vec::len),
        after["value"].as_array().map(Vec::len)
    );

    assert_eq!(t.tick(TimeDelta::days(1)).await.expired_requests, 0);
    assert_eq!(t.tick(TimeDelta::days(1)).await.expired_requests, 1);
    let request = status_of(&t, &id).await;
    assert_eq!(request["status"], "Canceled");
    assert!(
        request["statusDetail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let approver_token = t.sign_in("appr").await;
    let (status, _) = t.get(&url, &approver_token).await;
    assert_eq!(status, StatusCode::OK);
    let (_, waiting) = t.get("/v1/me/approvals", &approver_token).await;
    assert_eq!(waiting["value"], json!([]));
    let (_, log) = t
        .get(
            "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq 'PIM activation request expired'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(log["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        t.tick(TimeDelta::days(1)).await.expired_requests,
        0,
        "never twice"
    );
}

#[tokio::test]
async fn escalation_approvers_step_in_after_their_time_and_default_approvers_are_role_admins() {
    let t = TestApp::new().await;
    let primary = t.person("primary").await;
    let backup = t.person("backup").await;
    require_approval(
        &t,
        json!([{ "isEscalationEnabled": true, "escalationTimeInMinutes": 60,
                 "primaryApprovers": [single(&primary)], "escalationApprovers": [single(&backup)] }]),
    )
    .await;
    let p = t.person("req").await;
    t.make_eligible(p.id, ROLE).await;
    let (id, url) = request(&t, &p).await;
    assert_eq!(
        decide(&t, &url, &backup, "Approve").await.0,
        StatusCode::FORBIDDEN
    );
    t.clock.advance(TimeDelta::minutes(61));
    let backup_token = t.sign_in("backup").await;
    let backup = Person {
        token: backup_token,
        ..backup
    };
    assert_eq!(
        decide(&t, &url, &backup, "Approve").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(status_of(&t, &id).await["status"], "Provisioned");

    // Approval required with no approvers named: whoever holds Privileged Role Administrator.
    let t = TestApp::new().await;
    require_approval(&t, json!([{ "primaryApprovers": [] }])).await;
    let pra = t.person("pra").await;
    t.grant(
        pra.id,
        ids::PRIVILEGED_ROLE_ADMINISTRATOR,
        ScheduleKind::Active,
        None,
    )
    .await;
    let p = t.person("req").await;
    t.make_eligible(p.id, ROLE).await;
    let (id, url) = request(&t, &p).await;
    assert_eq!(
        decide(&t, &url, &pra, "Approve").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(status_of(&t, &id).await["status"], "Provisioned");
}

#[tokio::test]
async fn two_approvers_deciding_at_the_same_moment_grant_once() {
    let t = TestApp::new().await;
    let x = t.person("x").await;
    let y = t.person("y").await;
    require_approval(
        &t,
        json!([{ "primaryApprovers": [single(&x), single(&y)] }]),
    )
    .await;
    let p = t.person("req").await;
    t.make_eligible(p.id, ROLE).await;
    let (id, url) = request(&t, &p).await;
    let (rx, ry) = tokio::join!(
        decide(&t, &url, &x, "Approve"),
        decide(&t, &url, &y, "Approve")
    );
    let mut statuses = [rx.0, ry.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::NO_CONTENT, StatusCode::BAD_REQUEST],
        "{rx:?} {ry:?}"
    );
    assert_eq!(status_of(&t, &id).await["status"], "Provisioned");
    let (_, schedules) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/roleAssignmentSchedules?$filter=principalId eq '{}'",
                p.id
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(
        schedules["value"].as_array().unwrap().len(),
        1,
        "never a double grant"
    );
}

#[tokio::test]
async fn the_requester_cancels_a_pending_request_and_others_cannot() {
    let t = TestApp::new().await;
    let approver = t.person("appr").await;
    require_approval(&t, json!([{ "primaryApprovers": [single(&approver)] }])).await;
    let p = t.person("req").await;
    let other = t.person("other").await;
    t.make_eligible(p.id, ROLE).await;
    let (id, url) = request(&t, &p).await;
    let cancel = format!("{ASSIGNMENT_URL}/{id}/cancel");
    assert_eq!(
        t.post(&cancel, &other.token, json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.post(&cancel, &p.token, json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.post(&cancel, &p.token, json!({})).await.0,
        StatusCode::NO_CONTENT,
        "idempotent"
    );
    assert_eq!(status_of(&t, &id).await["status"], "Canceled");
    let (status, body) = decide(&t, &url, &approver, "Approve").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(t.active_roles(&p.token).await.is_empty());
}

#[tokio::test]
async fn extension_can_require_approval_too() {
    let t = TestApp::new().await;
    let approver = t.person("appr").await;
    t.set_rule(
        ROLE,
        "Approval_EndUser_Assignment",
        json!({ "setting": { "isApprovalRequired": false, "isApprovalRequiredForExtension": true,
            "approvalStages": [{ "primaryApprovers": [single(&approver)] }] } }),
    )
    .await;
    let p = t.person("req").await;
    t.make_eligible(p.id, ROLE).await;
    t.step_up(&p).await;
    let (status, body) = t.activate(&p, ROLE, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["status"], "Provisioned",
        "activation itself needs no approval"
    );
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            &p.token,
            json!({ "action": "selfExtend", "principalId": p.id, "roleDefinitionId": ROLE,
                "directoryScopeId": "/", "justification": "more time",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT3H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PendingApproval");
    let id = body["id"].as_str().unwrap().to_string();
    let url = format!(
        "/v1/roleManagement/directory/roleAssignmentApprovals/{}",
        body["approvalId"].as_str().unwrap()
    );
    t.clock.advance(TimeDelta::minutes(10));
    // Deciding needs the approver's fresh second factor (rule 4).
    t.step_up(&approver).await;
    assert_eq!(
        decide(&t, &url, &approver, "Approve").await.0,
        StatusCode::NO_CONTENT
    );
    let request = status_of(&t, &id).await;
    assert_eq!(request["status"], "Provisioned", "{request}");
    assert_eq!(
        request["scheduleInfo"]["expiration"]["endDateTime"],
        json!(t.clock.now_utc() + TimeDelta::hours(3))
    );
}

#[tokio::test]
async fn an_approval_grants_nothing_once_the_requester_was_disabled() {
    let t = TestApp::new().await;
    let approver = t.person("appr").await;
    require_approval(&t, json!([{ "primaryApprovers": [single(&approver)] }])).await;
    let p = t.person("req").await;
    t.make_eligible(p.id, ROLE).await;
    let (id, url) = request(&t, &p).await;
    let (status, body) = t
        .patch(
            &format!("/v1/users/{}", p.id),
            BOOTSTRAP,
            json!({ "accountEnabled": false }),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    // The waiting request ended with the account, audited as such.
    assert_eq!(status_of(&t, &id).await["status"], "Canceled");
    assert!(
        t.audited_as("Add member to role canceled (PIM activation)")
            .await
            .iter()
            .any(|e| e.to_string().contains("account disabled")),
        "the cancel is audited"
    );
    // The approver's decision now finds nothing to approve.
    let (status, body) = decide(&t, &url, &approver, "Approve").await;
    assert_ne!(status, StatusCode::NO_CONTENT, "{body}");
    assert_ne!(status_of(&t, &id).await["status"], "Provisioned");
    let (status, body) = t
        .patch(
            &format!("/v1/users/{}", p.id),
            BOOTSTRAP,
            json!({ "accountEnabled": true }),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let (_, schedules) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/roleAssignmentSchedules?$filter=principalId eq '{}'",
                p.id
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(schedules["value"], json!([]), "{schedules}");
    let (status, check) = t
        .get(
            &format!(
                "/v1/access/check?principalId={}&roleDefinitionId={ROLE}&directoryScopeId=/",
                p.id
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(check["allowed"], false, "{check}");
}
