//! Role settings through Graph's policy API.

use axum::http::StatusCode;
use eligo_core::roles::ids;
use serde_json::json;

use crate::harness::*;

async fn policy_id_of(t: &TestApp, role: &str) -> String {
    let path = format!(
        "/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{role}'"
    );
    let (status, body) = t.get(&path, BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"][0]["roleDefinitionId"], role);
    body["value"][0]["policyId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_unchanged_role_has_the_contract_defaults() {
    let t = TestApp::new().await;
    let id = policy_id_of(&t, ids::HELPDESK_ADMINISTRATOR).await;
    let (status, policy) = t
        .get(
            &format!("/v1/policies/roleManagementPolicies/{id}?$expand=rules"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert_eq!(policy["scopeType"], "DirectoryRole");
    let rule = |rid: &str| {
        policy["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == rid)
            .unwrap()
            .clone()
    };
    assert_eq!(
        rule("Expiration_Admin_Eligibility")["maximumDuration"],
        "P365D"
    );
    assert_eq!(
        rule("Expiration_Admin_Assignment")["maximumDuration"],
        "P180D"
    );
    assert_eq!(
        rule("Expiration_EndUser_Assignment")["maximumDuration"],
        "PT8H"
    );
    assert_eq!(
        rule("Enablement_EndUser_Assignment")["enabledRules"],
        json!(["MultiFactorAuthentication", "Justification"])
    );
    assert_eq!(
        rule("Approval_EndUser_Assignment")["setting"]["isApprovalRequired"],
        false
    );
    assert_eq!(
        rule("Approval_EndUser_Assignment")["setting"]["approvalStages"][0]["approvalStageTimeOutInDays"],
        1
    );
    let (_, plain) = t
        .get(
            &format!("/v1/policies/roleManagementPolicies/{id}"),
            BOOTSTRAP,
        )
        .await;
    assert!(
        plain.get("rules").is_none(),
        "rules only with $expand=rules"
    );
    let (_, all) = t.get("/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'", BOOTSTRAP).await;
    assert_eq!(
        all["value"].as_array().unwrap().len(),
        11,
        "one policy per role"
    );
    // Reading stores nothing and audits nothing.
    let (_, v) = t
        .get(
            "/v1/auditLogs/directoryAudits?$filter=category eq 'Policy'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(v["value"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn global_administrator_settings_from_the_scenarios() {
    let t = TestApp::new().await;
    let (pra_id, pra) = t.admin("pria", ids::PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let approver = t.user("gail").await;
    let id = policy_id_of(&t, ids::GLOBAL_ADMINISTRATOR).await;
    let rules = format!("/v1/policies/roleManagementPolicies/{id}/rules");
    let (status, body) = t
        .patch(&format!("{rules}/Expiration_EndUser_Assignment"), &pra, json!({
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "id": "Expiration_EndUser_Assignment", "isExpirationRequired": true, "maximumDuration": "PT1H",
            "target": { "caller": "EndUser", "operations": ["All"], "level": "Assignment" }
        }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["maximumDuration"], "PT1H");
    let (status, _) = t
        .patch(
            &format!("{rules}/Enablement_EndUser_Assignment"),
            &pra,
            json!({
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
                "enabledRules": ["MultiFactorAuthentication", "Justification", "Ticketing"]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t
        .patch(&format!("{rules}/Approval_EndUser_Assignment"), &pra, json!({
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
            "setting": {
                "@odata.type": "#microsoft.graph.approvalSettings",
                "isApprovalRequired": true, "isApprovalRequiredForExtension": false,
                "isRequestorJustificationRequired": true, "approvalMode": "SingleStage",
                "approvalStages": [{
                    "@odata.type": "#microsoft.graph.unifiedApprovalStage",
                    "approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": true,
                    "escalationTimeInMinutes": 0, "isEscalationEnabled": false,
                    "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver }],
                    "escalationApprovers": [], "minimumApprovals": 1
                }]
            }
        }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["setting"]["approvalStages"][0]["primaryApprovers"][0]["userId"],
        json!(approver)
    );

    let (_, policy) = t
        .get(
            &format!("/v1/policies/roleManagementPolicies/{id}?$expand=rules"),
            &pra,
        )
        .await;
    assert_eq!(policy["lastModifiedBy"]["id"], json!(pra_id));
    let (_, audit) = t.get("/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Update role setting in PIM'", &pra).await;
    assert_eq!(audit["value"].as_array().unwrap().len(), 3);
    assert_eq!(audit["value"][0]["category"], "Policy");
}

/// A directory role's settings are the directory's: an activation at any scope is decided by
/// them, so settings named at another scope are not accepted (they would be shown as in force
/// while nothing enforced them).
#[tokio::test]
async fn directory_role_settings_exist_at_the_root_only() {
    let t = TestApp::new().await;
    let role = ids::HELPDESK_ADMINISTRATOR;
    let scoped = format!("DirectoryRole_{role}_~administrativeUnits~hr");
    let (status, body) = t
        .patch(
            &format!(
                "/v1/policies/roleManagementPolicies/{scoped}/rules/Approval_EndUser_Assignment"
            ),
            BOOTSTRAP,
            json!({ "setting": { "isApprovalRequired": true } }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = t
        .get(
            &format!("/v1/policies/roleManagementPolicies/{scoped}"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = t
        .get(
            &format!("/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/administrativeUnits/hr' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{role}'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "Request_UnsupportedQuery");
    // The root's settings are untouched and decide an activation at the unit as well.
    let p = t.person("hana").await;
    t.make_eligible(p.id, role).await;
    t.step_up(&p).await;
    let (status, body) = t.activate(&p, role, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned", "{body}");
}

#[tokio::test]
async fn bad_rules_and_wrong_callers_change_nothing() {
    let t = TestApp::new().await;
    let (ua_id, ua) = t.admin("uma", ids::USER_ADMINISTRATOR).await;
    let id = policy_id_of(&t, ids::EXCHANGE_ADMINISTRATOR).await;
    let rule =
        format!("/v1/policies/roleManagementPolicies/{id}/rules/Expiration_EndUser_Assignment");
    let good = json!({ "isExpirationRequired": true, "maximumDuration": "PT2H" });
    assert_eq!(
        t.patch(&rule, &ua, good.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    for (body, expect) in [
        (
            json!({ "isExpirationRequired": true, "maximumDuration": "two hours" }),
            "InvalidPolicyRule",
        ),
        (
            json!({ "isExpirationRequired": "yes", "maximumDuration": "PT2H" }),
            "InvalidPolicyRule",
        ),
        (
            json!({ "id": "Approval_EndUser_Assignment", "isExpirationRequired": true, "maximumDuration": "PT2H" }),
            "Request_BadRequest",
        ),
    ] {
        let (status, resp) = t.patch(&rule, BOOTSTRAP, body).await;
        assert_eq!(
            (status, code(&resp)),
            (StatusCode::BAD_REQUEST, expect),
            "{resp}"
        );
    }
    let (status, _) = t
        .patch(
            &format!("/v1/policies/roleManagementPolicies/{id}/rules/No_Such_Rule"),
            BOOTSTRAP,
            good.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = t.get("/v1/policies/roleManagementPolicies/DirectoryRole_00000000-0000-0000-0000-000000000000", BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .get("/v1/policies/roleManagementPolicies/garbage", BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .get(
            "/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, r) = t.get(&rule, BOOTSTRAP).await;
    assert_eq!(r["maximumDuration"], "PT8H", "nothing changed");
    let (_, v) = t
        .get(
            "/v1/auditLogs/directoryAudits?$filter=category eq 'Policy'",
            BOOTSTRAP,
        )
        .await;
    // Nothing changed; only the User Administrator's refused attempt is on the record.
    assert_eq!(v["value"].as_array().unwrap().len(), 1, "{v}");
    t.assert_one_refusal(
        "Update role setting in PIM",
        "Authorization_RequestDenied",
        ua_id,
    )
    .await;
}

/// Rule 4: a policy change needs a second factor proved within the freshness window. A stale
/// Privileged Role Administrator changes nothing, and the refusal is on the record once.
#[tokio::test]
async fn a_stale_second_factor_changes_no_policy() {
    let t = TestApp::new().await;
    let (pra_id, pra) = t.admin("pria", ids::PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let id = policy_id_of(&t, ids::EXCHANGE_ADMINISTRATOR).await;
    let rule =
        format!("/v1/policies/roleManagementPolicies/{id}/rules/Expiration_EndUser_Assignment");
    t.clock.advance(chrono::TimeDelta::minutes(11));
    let before = t.recorded_changes().await;
    let (status, body) = t
        .patch(
            &rule,
            &pra,
            json!({ "isExpirationRequired": true, "maximumDuration": "PT2H" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "MfaRequired"),
        "{body}"
    );
    let (_, r) = t.get(&rule, BOOTSTRAP).await;
    assert_eq!(r["maximumDuration"], "PT8H", "nothing changed");
    assert_eq!(t.recorded_changes().await, before);
    t.assert_one_refusal("Update role setting in PIM", "MfaRequired", pra_id)
        .await;
}

#[tokio::test]
async fn groups_have_member_and_owner_policies() {
    let t = TestApp::new().await;
    let (_, g) = t
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": "Bridge", "securityEnabled": true }),
        )
        .await;
    let gid = g["id"].as_str().unwrap();
    let (status, body) = t
        .get(&format!("/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '{gid}' and scopeType eq 'Group'"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let kinds: Vec<_> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["roleDefinitionId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["member", "owner"]);
    let pid = body["value"][0]["policyId"].as_str().unwrap();
    let (status, _) = t
        .patch(
            &format!(
                "/v1/policies/roleManagementPolicies/{pid}/rules/Expiration_EndUser_Assignment"
            ),
            BOOTSTRAP,
            json!({ "isExpirationRequired": true, "maximumDuration": "PT1H" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let unknown = uuid::Uuid::new_v4();
    let (status, _) = t
        .get(&format!("/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '{unknown}' and scopeType eq 'Group'"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_upper_case_policy_id_names_the_policy_enforcement_reads() {
    let t = TestApp::new().await;
    let role = ids::SECURITY_ADMINISTRATOR;
    let upper = format!("DirectoryRole_{}", role.to_uppercase());
    let approver = t.person("appr").await;
    let (status, body) = t
        .patch(
            &format!("/v1/policies/roleManagementPolicies/{upper}/rules/Approval_EndUser_Assignment"),
            BOOTSTRAP,
            json!({ "setting": { "isApprovalRequired": true, "approvalStages": [{
                "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver.id }]
            }] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Read back through the upper-case id: the one canonical (lower-case) policy answers.
    let (status, policy) = t
        .get(
            &format!("/v1/policies/roleManagementPolicies/{upper}"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert_eq!(policy["id"], format!("DirectoryRole_{role}"), "{policy}");
    // The filter by an upper-case role definition id answers the lower-case ids too.
    let (status, body) = t
        .get(
            &format!(
                "/v1/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{}'",
                role.to_uppercase()
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"][0]["roleDefinitionId"], role, "{body}");
    assert_eq!(
        body["value"][0]["policyId"],
        format!("DirectoryRole_{role}"),
        "{body}"
    );
    // And the change is the one activation is decided by.
    let p = t.person("req").await;
    t.make_eligible(p.id, role).await;
    t.step_up(&p).await;
    let (status, body) = t.activate(&p, role, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PendingApproval", "{body}");
    assert!(t.active_roles(&p.token).await.is_empty());
}
