//! PIM for Groups through the HTTP API: eligible membership and ownership, self-activation with
//! the group's own policy and approvals, active memberships in members/owners, expiry, roles
//! reached through an activated membership of a role-assignable group, who may administer, and
//! bad input.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::access::new_group;
use crate::harness::*;

const G: &str = "/v1/identityGovernance/privilegedAccess/group";

fn url(what: &str) -> String {
    format!("{G}/{what}")
}

/// Makes `principal` eligible for `access` of `group` for 30 days, as break-glass.
async fn make_group_eligible(t: &TestApp, principal: Uuid, group: Uuid, access: &str) -> Value {
    let (status, body) = t
        .post(
            &url("eligibilityScheduleRequests"),
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": principal, "groupId": group,
                    "accessId": access, "justification": "on-call rota",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn self_activate(
    t: &TestApp,
    p: &Person,
    group: Uuid,
    access: &str,
    duration: &str,
) -> (StatusCode, Value) {
    t.post(
        &url("assignmentScheduleRequests"),
        &p.token,
        json!({ "action": "selfActivate", "principalId": p.id, "groupId": group,
                "accessId": access, "justification": "deploying the hotfix",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": duration } } }),
    )
    .await
}

async fn member_ids(t: &TestApp, group: Uuid, relation: &str) -> Vec<String> {
    let (status, body) = t
        .get(&format!("/v1/groups/{group}/{relation}"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

async fn is_member(t: &TestApp, who: Uuid, group: Uuid) -> bool {
    let (status, body) = t
        .get(
            &format!("/v1/access/check?principalId={who}&groupId={group}&accessId=member"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["allowed"].as_bool().unwrap()
}

#[tokio::test]
async fn eligible_member_activates_is_a_member_until_the_end_and_not_after() {
    let t = TestApp::new().await;
    let group = new_group(&t, "Prod database operators", false).await;
    let alice = t.person("alice").await;
    let eligibility = make_group_eligible(&t, alice.id, group, "member").await;
    assert_eq!(eligibility["groupId"], group.to_string());
    assert_eq!(eligibility["accessId"], "member");
    assert!(
        eligibility.get("roleDefinitionId").is_none(),
        "{eligibility}"
    );

    // Eligible is not a member.
    assert!(
        !member_ids(&t, group, "members")
            .await
            .contains(&alice.id.to_string())
    );
    assert!(!is_member(&t, alice.id, group).await);

    // The group's member policy has the defaults (MFA and justification): step up, activate.
    t.step_up(&alice).await;
    let (status, body) = self_activate(&t, &alice, group, "member", "PT2H").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned");
    assert_eq!(
        body["@odata.type"],
        "#microsoft.graph.privilegedAccessGroupAssignmentScheduleRequest"
    );
    let end = t.clock.now_utc() + TimeDelta::hours(2);
    assert!(
        member_ids(&t, group, "members")
            .await
            .contains(&alice.id.to_string())
    );
    assert!(is_member(&t, alice.id, group).await);

    // It shows in the group instances (not in the roles'), in /v1/me/roles and transitively.
    let (_, body) = t
        .get(
            &format!(
                "{}?$filter=groupId eq '{group}'",
                url("assignmentScheduleInstances")
            ),
            BOOTSTRAP,
        )
        .await;
    let value = body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1, "{body}");
    assert_eq!(value[0]["assignmentType"], "Activated");
    assert_eq!(value[0]["accessId"], "member");
    assert_eq!(value[0]["endDateTime"], json!(end));
    let (_, body) = t
        .get(
            "/v1/roleManagement/directory/roleAssignmentScheduleInstances",
            BOOTSTRAP,
        )
        .await;
    assert!(
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("groupId").is_none()),
        "{body}"
    );
    let (_, mine) = t.get("/v1/me/roles", &alice.token).await;
    let kinds: Vec<(String, String)> = mine["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["groupDisplayName"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(kinds.contains(&("eligible".into(), "Prod database operators".into())));
    assert!(kinds.contains(&("active".into(), "Prod database operators".into())));
    let (_, body) = t
        .get(
            &format!("/v1/users/{}/transitiveMemberOf", alice.id),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(body["value"][0]["id"], group.to_string());

    // A second activation while one runs is a duplicate.
    let (status, body) = self_activate(&t, &alice, group, "member", "PT1H").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(detail_codes(&body), ["RoleAssignmentExists"]);

    // At the end: not a member, before and after the scheduler; the expiry audited once.
    t.clock.advance(TimeDelta::hours(2));
    assert!(!is_member(&t, alice.id, group).await);
    assert!(
        !member_ids(&t, group, "members")
            .await
            .contains(&alice.id.to_string())
    );
    let pass = t.tick(TimeDelta::zero()).await;
    assert_eq!(pass.ended, 1);
    let (_, audit) = t
        .get(
            &format!("/v1/auditLogs/directoryAudits?$filter=targetId eq '{group}'"),
            BOOTSTRAP,
        )
        .await;
    let expired: Vec<&Value> = audit["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["activityDisplayName"] == "Remove member from group (PIM activation expired)")
        .collect();
    assert_eq!(expired.len(), 1, "{audit}");
    assert_eq!(expired[0]["category"], "GroupManagement");
}

#[tokio::test]
async fn a_group_policy_with_approval_and_owners_by_activation() {
    let t = TestApp::new().await;
    let group = new_group(&t, "Payments break-glass", false).await;
    let alice = t.person("alice").await;
    let bob = t.person("bob").await;
    make_group_eligible(&t, alice.id, group, "member").await;

    // The member policy of this group asks bob to approve.
    let (status, body) = t
        .get(
            &format!(
                "/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '{group}' and scopeType eq 'Group' and roleDefinitionId eq 'member'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let policy = body["value"][0]["policyId"].as_str().unwrap().to_string();
    let (status, body) = t
        .patch(
            &format!(
                "/v1/policies/roleManagementPolicies/{policy}/rules/Approval_EndUser_Assignment"
            ),
            BOOTSTRAP,
            json!({ "setting": { "isApprovalRequired": true, "approvalStages": [
                { "approvalStageTimeOutInDays": 1, "primaryApprovers": [
                    { "@odata.type": "#microsoft.graph.singleUser", "userId": bob.id } ] } ] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    t.step_up(&alice).await;
    let (status, request) = self_activate(&t, &alice, group, "member", "PT1H").await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["status"], "PendingApproval");
    let approval = request["approvalId"].as_str().unwrap();
    assert!(!is_member(&t, alice.id, group).await);

    // The approval lives under the group API, not the roles'.
    let (status, _) = t
        .get(
            &format!("/v1/roleManagement/directory/roleAssignmentApprovals/{approval}"),
            &bob.token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = t
        .get(&url(&format!("assignmentApprovals/{approval}")), &bob.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["steps"][0]["assignedToMe"], true);
    let step = body["steps"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = t
        .patch(
            &url(&format!("assignmentApprovals/{approval}/steps/{step}")),
            &bob.token,
            json!({ "reviewResult": "Approve", "justification": "known change" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(is_member(&t, alice.id, group).await);

    // Ownership by activation: carol, active owner for an hour, may manage the members —
    // but never add herself.
    let carol_id = t.person("carol").await.id;
    let carol = t.sign_in("carol").await;
    let dave = t.user("dave").await;
    let (status, _) = t
        .post(
            &format!("/v1/groups/{group}/members"),
            &carol,
            json!({ "id": dave }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = t
        .post(
            &url("assignmentScheduleRequests"),
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": carol_id, "groupId": group,
                    "accessId": "owner", "justification": "covering for the owner",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        member_ids(&t, group, "owners")
            .await
            .contains(&carol_id.to_string())
    );
    let (status, body) = t
        .post(
            &format!("/v1/groups/{group}/members"),
            &carol,
            json!({ "id": dave }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = t
        .post(
            &format!("/v1/groups/{group}/members"),
            &carol,
            json!({ "id": carol_id }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // After the hour she is no owner and may not.
    t.clock.advance(TimeDelta::hours(1));
    let carol = t.sign_in("carol").await;
    let (status, _) = t
        .delete(&format!("/v1/groups/{group}/members/{dave}"), &carol)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_activated_membership_of_a_role_assignable_group_carries_its_roles() {
    let t = TestApp::new().await;
    let group = new_group(&t, "Exchange operators", true).await;
    let role = ids::EXCHANGE_ADMINISTRATOR;
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": group, "roleDefinitionId": role,
                    "directoryScopeId": "/", "justification": "the team's role",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P90D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let alice = t.person("alice").await;
    make_group_eligible(&t, alice.id, group, "member").await;
    assert!(t.active_roles(&alice.token).await.is_empty());

    t.step_up(&alice).await;
    let (status, body) = self_activate(&t, &alice, group, "member", "PT1H").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The role comes through the group (memberType Group) and works at once.
    assert_eq!(t.active_roles(&alice.token).await, [role]);
    let (_, check) = t
        .get(
            &format!(
                "/v1/access/check?principalId={}&roleDefinitionId={role}",
                alice.id
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(check["allowed"], true);
    assert_eq!(
        check["paths"][0]["via"][0]["displayName"],
        "Exchange operators"
    );
    assert_eq!(
        check["expiresAt"],
        json!(t.clock.now_utc() + TimeDelta::hours(1))
    );
    t.clock.advance(TimeDelta::hours(1));
    let token = t.sign_in("alice").await;
    assert!(t.active_roles(&token).await.is_empty());
}

#[tokio::test]
async fn who_may_administer_group_access_and_bad_input_changes_nothing() {
    let t = TestApp::new().await;
    let ordinary = new_group(&t, "Ordinary", false).await;
    let protected = new_group(&t, "Tier 0", true).await;
    let alice = t.user("alice").await;
    let (_, groups_admin) = t.admin("gadmin", ids::GROUPS_ADMINISTRATOR).await;
    let plain = t.sign_in("alice").await;

    let assign = |group: Uuid, access: &str, principal: Uuid| {
        json!({ "action": "adminAssign", "principalId": principal, "groupId": group,
                "accessId": access, "justification": "x",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P7D" } } })
    };
    let eligibility = url("eligibilityScheduleRequests");
    // A plain user may not; a Groups Administrator may for an ordinary group but not for a
    // role-assignable one; the break-glass Global Administrator may.
    let (status, _) = t
        .post(&eligibility, &plain, assign(ordinary, "member", alice))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = t
        .post(
            &eligibility,
            &groups_admin,
            assign(ordinary, "member", alice),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = t
        .post(
            &eligibility,
            &groups_admin,
            assign(protected, "member", alice),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = t
        .post(&eligibility, BOOTSTRAP, assign(protected, "owner", alice))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let before = t.get(&url("eligibilitySchedules"), BOOTSTRAP).await.1["value"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, 2);
    let audit_before = t.recorded_changes().await;

    // Bad input: clear 4xx, nothing changes.
    let bad = [
        (assign(ordinary, "admin", alice), StatusCode::BAD_REQUEST),
        (
            assign(Uuid::new_v4(), "member", alice),
            StatusCode::NOT_FOUND,
        ),
        (
            assign(ordinary, "member", Uuid::new_v4()),
            StatusCode::NOT_FOUND,
        ),
        // A group is nested through the directory, not given PIM membership.
        (
            assign(ordinary, "member", protected),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "action": "adminAssign", "principalId": alice, "groupId": ordinary,
                    "accessId": "member", "roleDefinitionId": ids::GLOBAL_ADMINISTRATOR }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "action": "adminAssign", "principalId": alice, "groupId": "nope",
                    "accessId": "member" }),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (body, want) in bad {
        let (status, answer) = t.post(&eligibility, BOOTSTRAP, body.clone()).await;
        assert_eq!(status, want, "{body}: {answer}");
        assert!(answer["error"]["code"].is_string());
    }
    // The group accesses' reserved ids are not roles.
    let (status, _) = t
        .post(
            ELIGIBILITY_URL,
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": alice,
                    "roleDefinitionId": "00000000-0000-0000-0000-0000000a0001",
                    "directoryScopeId": format!("/groups/{ordinary}") }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let after = t.get(&url("eligibilitySchedules"), BOOTSTRAP).await.1["value"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before);
    assert_eq!(t.recorded_changes().await, audit_before);

    // Deleting a group ends what PIM gave on it; activating afterwards is a clear 404.
    let (status, _) = t.delete(&format!("/v1/groups/{ordinary}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let left = t.get(&url("eligibilitySchedules"), BOOTSTRAP).await.1["value"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(left, 1);
    let (status, _) = t
        .post(
            &url("assignmentScheduleRequests"),
            &plain,
            json!({ "action": "selfActivate", "principalId": alice, "groupId": ordinary,
                    "accessId": "member", "justification": "x",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn activating_while_the_group_is_deleted_never_leaves_a_member_behind() {
    for round in 0..4 {
        let t = TestApp::new().await;
        let group = new_group(&t, "Short-lived", false).await;
        let alice = t.person("alice").await;
        make_group_eligible(&t, alice.id, group, "member").await;
        t.step_up(&alice).await;
        let delete_path = format!("/v1/groups/{group}");
        let (activation, deletion) = tokio::join!(
            self_activate(&t, &alice, group, "member", "PT1H"),
            t.delete(&delete_path, BOOTSTRAP),
        );
        assert_eq!(deletion.0, StatusCode::NO_CONTENT, "round {round}");
        assert!(
            activation.0 == StatusCode::CREATED || activation.0 == StatusCode::NOT_FOUND,
            "round {round}: {activation:?}"
        );
        // Whichever came first, nothing is left: no schedule, no membership anywhere.
        let (_, body) = t.get(&url("assignmentScheduleInstances"), BOOTSTRAP).await;
        assert_eq!(body["value"], json!([]), "round {round}");
        let (_, groups) = t
            .get(
                &format!("/v1/users/{}/transitiveMemberOf", alice.id),
                BOOTSTRAP,
            )
            .await;
        assert_eq!(groups["value"], json!([]), "round {round}");
        let again = t.restarted(t.clock.now_utc()).await;
        let (_, groups) = again
            .get(
                &format!("/v1/users/{}/transitiveMemberOf", alice.id),
                BOOTSTRAP,
            )
            .await;
        assert_eq!(groups["value"], json!([]), "round {round}");
    }
}
