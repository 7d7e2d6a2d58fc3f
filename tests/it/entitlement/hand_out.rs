//! An entitlement administrator who may not assign roles cannot make themselves a role holder
//! through a package: once a role administrator has put a directory role in a catalog, adding
//! it to a package, writing that package's policies and assigning it need what assigning the
//! role needs; the same for a group protected for another reason than being in a catalog (here
//! nested in a PIM-for-Groups group). Ordinary groups stay theirs to hand out.

use axum::http::StatusCode;
use eligo_core::roles::ids;
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;
use crate::harness::*;

fn role_scope(origin: &str, system: &str, role: &str) -> Value {
    let scope = if system == "DirectoryRole" {
        "/"
    } else {
        origin
    };
    json!({ "role": { "originId": format!("{role}_{origin}"), "originSystem": system,
                      "resource": { "originId": origin, "originSystem": system } },
            "scope": { "originId": scope, "originSystem": system, "isRootScope": true } })
}

async fn scopes(t: &TestApp, package: Uuid) -> usize {
    let (s, b) = t
        .get(
            &em(&format!("/accessPackages/{package}/resourceRoleScopes")),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["value"].as_array().unwrap().len()
}

fn self_service() -> Value {
    json!({ "displayName": "Mine", "allowedTargetScope": "allMemberUsers",
            "expiration": { "type": "afterDuration", "duration": "P30D" },
            "requestorSettings": { "enableTargetsToSelfAddAccess": true },
            "requestApprovalSettings": { "isApprovalRequiredForAdd": false } })
}

#[tokio::test]
async fn a_governance_administrator_cannot_hand_themselves_a_role_through_a_package() {
    let t = TestApp::new().await;
    let (iga, token) = t.admin("iga", ids::IDENTITY_GOVERNANCE_ADMINISTRATOR).await;
    let ga = ids::GLOBAL_ADMINISTRATOR;
    // A role administrator put Global Administrator in a catalog, behind an approval.
    let catalog = t.catalog(BOOTSTRAP, "Tier 0").await;
    let package = t.package(BOOTSTRAP, catalog, "Break-fix").await;
    t.add_role_scope(catalog, package, ga, "DirectoryRole", "Active")
        .await;
    let ada = t.user("ada").await;
    let guarded = t
        .policy(BOOTSTRAP, package, open_policy(manager_approval(ada)))
        .await;
    let policy = guarded["id"].as_str().unwrap().to_string();

    // Its own package with the role: refused, and nothing is kept.
    let own = t.package(&token, catalog, "Mine").await;
    let (s, b) = t
        .post(
            &em(&format!("/accessPackages/{own}/resourceRoleScopes")),
            &token,
            role_scope(ga, "DirectoryRole", "Active"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(scopes(&t, own).await, 0);

    // The guarded package's policies: not opened, not replaced, not deleted.
    let (s, b) = t
        .patch(
            &em(&format!("/assignmentPolicies/{policy}")),
            &token,
            json!({ "requestApprovalSettings": { "isApprovalRequiredForAdd": false, "stages": [] } }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let mut open = self_service();
    open["accessPackage"] = json!({ "id": package });
    let (s, b) = t.post(&em("/assignmentPolicies"), &token, open).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) = t
        .delete(&em(&format!("/assignmentPolicies/{policy}")), &token)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (_, kept) = t
        .get(&em(&format!("/assignmentPolicies/{policy}")), BOOTSTRAP)
        .await;
    assert_eq!(
        kept["requestApprovalSettings"]["isApprovalRequiredForAdd"], true,
        "{kept}"
    );

    // Nor assigned to themselves directly.
    let (s, b) = t
        .post(
            &em(REQUESTS),
            &token,
            json!({ "requestType": "adminAdd",
                    "assignment": { "targetId": iga, "accessPackageId": package,
                                    "assignmentPolicyId": policy } }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (_, check) = t
        .get(
            &format!("/v1/access/check?principalId={iga}&roleDefinitionId={ga}"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(check["allowed"], false, "{check}");
    // Every refusal is in the audit trail as a failure.
    let (_, audit) = t
        .get("/v1/auditLogs/directoryAudits?$top=200", BOOTSTRAP)
        .await;
    let failures = audit["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["result"] == "failure" && e["initiatedBy"].to_string().contains(&iga.to_string())
        })
        .count();
    assert!(failures >= 5, "{failures} audited failures: {audit}");
}

#[tokio::test]
async fn a_group_nested_in_a_pim_group_is_not_theirs_to_hand_out_an_ordinary_one_is() {
    let t = TestApp::new().await;
    let (iga, token) = t.admin("iga", ids::IDENTITY_GOVERNANCE_ADMINISTRATOR).await;
    // Its members can activate membership of a PIM-for-Groups group; a group nested in it
    // reaches that too.
    let outer = t.group("Break-fix operators").await;
    let someone = t.user("someone").await;
    let (s, b) = t
        .post(
            "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests",
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": someone, "groupId": outer,
                    "accessId": "member", "justification": "rota",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let inner = t.group("Inner operators").await;
    let (s, b) = crate::access::add_member(&t, outer, inner).await;
    assert!(s.is_success(), "{b}");
    let plain = t.group("Auditors").await;
    let catalog = t.catalog(BOOTSTRAP, "Mixed").await;
    t.add_group_resource(BOOTSTRAP, catalog, inner).await;
    t.add_group_resource(BOOTSTRAP, catalog, plain).await;

    let package = t.package(&token, catalog, "Operators").await;
    let (s, b) = t
        .post(
            &em(&format!("/accessPackages/{package}/resourceRoleScopes")),
            &token,
            role_scope(&inner.to_string(), "AadGroup", "Member"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(code(&b), "ProtectedGroup", "{b}");
    assert_eq!(scopes(&t, package).await, 0);

    // An ordinary group in a catalog: the administrator builds, opens and assigns it.
    let audit = t.package(&token, catalog, "Audit").await;
    let (s, b) = t
        .post(
            &em(&format!("/accessPackages/{audit}/resourceRoleScopes")),
            &token,
            role_scope(&plain.to_string(), "AadGroup", "Member"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let policy = t.policy(&token, audit, self_service()).await;
    let (s, b) = t
        .post(
            &em(REQUESTS),
            &token,
            json!({ "requestType": "adminAdd",
                    "assignment": { "targetId": iga, "accessPackageId": audit,
                                    "assignmentPolicyId": policy["id"] } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "delivered", "{b}");
    assert_eq!(t.members(plain).await, [iga]);
}

/// Rule 1: whoever approves an access package request decides who gets what it gives, so a
/// User Administrator may not take over their account by resetting its password (then approve
/// as them). Someone no policy names stays theirs to manage.
#[tokio::test]
async fn an_access_package_approver_is_managed_only_from_above() {
    let t = TestApp::new().await;
    let approver = t.user("vera").await;
    let bystander = t.user("bert").await;
    let group = t.group("IRM Admins").await;
    let catalog = t.catalog(BOOTSTRAP, "Compliance").await;
    t.group_package(
        catalog,
        "IRM",
        group,
        json!({ "requestApprovalSettings": { "isApprovalRequiredForAdd": true,
            "stages": [{ "durationBeforeAutomaticDenial": "P2D",
                "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": approver }] }] } }),
    )
    .await;
    let (_, uad) = t.admin("uad", ids::USER_ADMINISTRATOR).await;
    let body = json!({ "passwordProfile": { "password": "attacker chosen password 1" } });
    let (s, b) = t
        .patch(&format!("/v1/users/{approver}"), &uad, body.clone())
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::FORBIDDEN, "PrivilegedTarget"),
        "{b}"
    );
    let (s, b) = t.patch(&format!("/v1/users/{bystander}"), &uad, body).await;
    assert!(s.is_success(), "{b}");
}
