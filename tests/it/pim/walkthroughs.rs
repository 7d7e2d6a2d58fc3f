//! The seed walkthroughs of the issue, end to end through the API: (a) Helpdesk Administrator,
//! MFA only, 8 h; (b) Exchange Administrator, MFA + justification + ticket, 2 h; (c) Global
//! Administrator with approval by another Global Administrator, 1 h; (d) activate, deactivate
//! early, and an auditor reads the whole story.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids;
use eligo_core::schedule::ScheduleKind;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn a_helpdesk_administrator_mfa_only_8_hours() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    t.set_rule(
        role,
        "Enablement_EndUser_Assignment",
        json!({ "enabledRules": ["MultiFactorAuthentication"] }),
    )
    .await;
    let alice = t.person("alice").await;
    t.make_eligible(alice.id, role).await;

    // No fresh MFA yet (enrolment is more than 10 minutes ago): refused with MfaRule only.
    t.clock.advance(TimeDelta::minutes(11));
    let (status, body) = t
        .activate(&alice, role, "PT8H", json!({ "justification": null }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "RoleAssignmentRequestPolicyValidationFailed");
    assert_eq!(detail_codes(&body), ["MfaRule"]);

    t.step_up(&alice).await;
    let (status, body) = t.activate(&alice, role, "PT9H", json!({})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "over the maximum is refused, not clamped"
    );
    assert_eq!(detail_codes(&body), ["ExpirationRule"]);

    let (status, body) = t
        .activate(&alice, role, "PT8H", json!({ "justification": null }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned");
    let start = t.clock.now_utc();
    assert_eq!(
        body["scheduleInfo"]["expiration"]["endDateTime"],
        json!(start + TimeDelta::hours(8))
    );
    assert_eq!(t.active_roles(&alice.token).await, [role]);

    // The role works at once: Helpdesk Administrator reads users.
    let (status, _) = t.get("/v1/users", &alice.token).await;
    assert_eq!(status, StatusCode::OK);

    // At the end time it goes by itself, also before the scheduler runs (a new session: the
    // old one ended with the working day).
    t.clock.advance(TimeDelta::hours(8));
    let token = t.sign_in("alice").await;
    assert!(t.active_roles(&token).await.is_empty());
    let (status, _) = t.get("/v1/users", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let pass = t.tick(TimeDelta::zero()).await;
    assert_eq!(pass.ended, 1);
}

#[tokio::test]
async fn b_exchange_administrator_needs_mfa_justification_and_ticket_for_2_hours() {
    let t = TestApp::new().await;
    let role = ids::EXCHANGE_ADMINISTRATOR;
    t.set_rule(
        role,
        "Enablement_EndUser_Assignment",
        json!({ "enabledRules": ["MultiFactorAuthentication", "Justification", "Ticketing"] }),
    )
    .await;
    t.set_rule(
        role,
        "Expiration_EndUser_Assignment",
        json!({ "isExpirationRequired": true, "maximumDuration": "PT2H" }),
    )
    .await;
    let bob = t.person("bob").await;
    t.make_eligible(bob.id, role).await;
    t.clock.advance(TimeDelta::minutes(11));

    // Everything missing at once: one detail per broken rule.
    let (status, body) = t
        .activate(&bob, role, "PT3H", json!({ "justification": "" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let mut codes = detail_codes(&body);
    codes.sort();
    assert_eq!(
        codes,
        [
            "ExpirationRule",
            "JustificationRule",
            "MfaRule",
            "TicketingRule"
        ]
    );

    // A dry run reports the same and changes nothing.
    t.step_up(&bob).await;
    let ticket = json!({ "ticketNumber": "CHG-4711", "ticketSystem": "ServiceNow" });
    let (status, body) = t
        .activate(
            &bob,
            role,
            "PT2H",
            json!({ "ticketInfo": ticket, "isValidationOnly": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["isValidationOnly"], true);
    assert!(t.active_roles(&bob.token).await.is_empty());

    let (status, body) = t
        .activate(&bob, role, "PT2H", json!({ "ticketInfo": ticket }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["ticketInfo"]["ticketNumber"], "CHG-4711");
    assert_eq!(t.active_roles(&bob.token).await, [role]);

    // A second activation of the same role and scope is a duplicate.
    let (status, body) = t
        .activate(&bob, role, "PT1H", json!({ "ticketInfo": ticket }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(detail_codes(&body), ["RoleAssignmentExists"]);

    // The instance carries the end, the type and how it comes.
    let (status, body) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/roleAssignmentScheduleInstances?$filter=principalId eq '{}'",
                bob.id
            ),
            &bob.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let instance = &body["value"][0];
    assert_eq!(instance["assignmentType"], "Activated");
    assert_eq!(instance["memberType"], "Direct");
    assert_eq!(
        instance["endDateTime"],
        json!(t.clock.now_utc() + TimeDelta::hours(2))
    );
}

#[tokio::test]
async fn c_global_administrator_needs_another_global_administrator_to_approve() {
    let t = TestApp::new().await;
    let role = ids::GLOBAL_ADMINISTRATOR;
    let approver = t.person("ada").await;
    t.grant(approver.id, role, ScheduleKind::Active, None).await;
    t.set_rule(
        role,
        "Enablement_EndUser_Assignment",
        json!({ "enabledRules": ["MultiFactorAuthentication", "Justification", "Ticketing"] }),
    )
    .await;
    t.set_rule(
        role,
        "Expiration_EndUser_Assignment",
        json!({ "isExpirationRequired": true, "maximumDuration": "PT1H" }),
    )
    .await;
    t.set_rule(
        role,
        "Approval_EndUser_Assignment",
        json!({ "setting": {
            "isApprovalRequired": true, "isRequestorJustificationRequired": true,
            "approvalMode": "SingleStage",
            "approvalStages": [{ "approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true,
                "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver.id }] }]
        }}),
    )
    .await;
    let carol = t.person("carol").await;
    t.make_eligible(carol.id, role).await;
    t.step_up(&carol).await;
    let ticket = json!({ "ticketNumber": "INC-1", "ticketSystem": "Jira" });
    let (status, request) = t
        .activate(&carol, role, "PT1H", json!({ "ticketInfo": ticket }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["status"], "PendingApproval");
    let approval_id = request["approvalId"].as_str().unwrap().to_string();
    assert!(
        t.active_roles(&carol.token).await.is_empty(),
        "nothing before approval"
    );

    // Carol cannot approve her own request; Ada sees it waiting on her.
    let (status, body) = t
        .get(
            &format!("/v1/roleManagement/directory/roleAssignmentApprovals/{approval_id}"),
            &carol.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["steps"][0]["assignedToMe"], false);
    let step = body["steps"][0]["id"].as_str().unwrap().to_string();
    let step_url =
        format!("/v1/roleManagement/directory/roleAssignmentApprovals/{approval_id}/steps/{step}");
    let (status, body) = t
        .patch(
            &step_url,
            &carol.token,
            json!({ "reviewResult": "Approve", "justification": "me" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "SelfApprovalNotAllowed");

    let (status, waiting) = t.get("/v1/me/approvals", &approver.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(waiting["value"][0]["id"], request["id"]);
    assert_eq!(
        waiting["value"][0]["approval"]["steps"][0]["assignedToMe"],
        true
    );

    // Approved 20 minutes later: the hour starts at approval, not at request time. Deciding
    // needs the approver's fresh second factor (rule 4).
    t.clock.advance(TimeDelta::minutes(20));
    t.step_up(&approver).await;
    let (status, body) = t
        .patch(
            &step_url,
            &approver.token,
            json!({ "reviewResult": "Approve" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "approver justification is required"
    );
    assert_eq!(code(&body), "ApproverJustificationRequired");
    let (status, body) = t
        .patch(
            &step_url,
            &approver.token,
            json!({ "reviewResult": "Approve", "justification": "known incident" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let approved_at = t.clock.now_utc();
    let (_, request) = t
        .get(
            &format!("{ASSIGNMENT_URL}/{}", request["id"].as_str().unwrap()),
            &carol.token,
        )
        .await;
    assert_eq!(request["status"], "Provisioned", "{request}");
    assert_eq!(
        request["scheduleInfo"]["expiration"]["endDateTime"],
        json!(approved_at + TimeDelta::hours(1))
    );
    assert_eq!(t.active_roles(&carol.token).await, [role]);

    // Approving again changes nothing.
    let (status, _) = t
        .patch(
            &step_url,
            &approver.token,
            json!({ "reviewResult": "Approve", "justification": "again" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, waiting) = t.get("/v1/me/approvals", &approver.token).await;
    assert_eq!(waiting["value"], json!([]));
}

#[tokio::test]
async fn d_activate_deactivate_early_and_the_auditor_reads_the_chain() {
    let t = TestApp::new().await;
    let role = ids::SECURITY_ADMINISTRATOR;
    let erin = t.person("erin").await;
    t.make_eligible(erin.id, role).await;
    t.step_up(&erin).await;
    let (status, body) = t.activate(&erin, role, "PT4H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Deactivating before the server minimum (PT5M) is refused.
    let deactivate = json!({
        "action": "selfDeactivate", "principalId": erin.id, "roleDefinitionId": role,
        "directoryScopeId": "/",
    });
    t.clock.advance(TimeDelta::minutes(2));
    let (status, body) = t
        .post(ASSIGNMENT_URL, &erin.token, deactivate.clone())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(detail_codes(&body), ["ActiveDurationTooShort"]);

    t.clock.advance(TimeDelta::minutes(40));
    let (status, body) = t
        .post(ASSIGNMENT_URL, &erin.token, deactivate.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Revoked");
    assert!(t.active_roles(&erin.token).await.is_empty());

    // Deactivating again: a clear 4xx, nothing changes.
    let (status, body) = t.post(ASSIGNMENT_URL, &erin.token, deactivate).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "RoleAssignmentDoesNotExist");

    // The scheduler owes nothing for a deactivated activation: no expiry entry later.
    let pass = t.tick(TimeDelta::hours(5)).await;
    assert_eq!(pass.ended, 0);

    let (_, auditor) = t.admin("audrey", ids::GLOBAL_READER).await;
    let (status, log) = t
        .get(
            &format!(
                "/v1/auditLogs/directoryAudits?$filter=targetId eq '{}'",
                erin.id
            ),
            &auditor,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let mut activities: Vec<String> = log["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["activityDisplayName"].as_str().unwrap().to_string())
        .collect();
    activities.reverse();
    let story: Vec<&str> = activities
        .iter()
        .map(String::as_str)
        .filter(|a| a.contains("role"))
        .collect();
    assert_eq!(
        story,
        [
            "Add eligible member to role in PIM completed (timebound)",
            "Add member to role requested (PIM activation)",
            "Add member to role completed (PIM activation)",
            "Remove member from role completed (PIM deactivate)",
        ]
    );
    let completed = log["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["activityDisplayName"] == "Add member to role completed (PIM activation)")
        .unwrap();
    let details = completed["additionalDetails"].to_string();
    assert!(details.contains("incident response"), "{details}");
    let (_, verdict) = t.get("/v1/auditLogs/verify", &auditor).await;
    assert_eq!(verdict["valid"], true);
}
