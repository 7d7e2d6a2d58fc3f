//! The OpenAPI document as a contract, held against the real server: `openapi-spec-validator`
//! accepts `/openapi.json`, and Schemathesis, driving `eligo serve --demo` as break-glass from
//! that document alone, finds no server error, no answer outside its operation's schema, no
//! status the operation does not declare, and no well-formed request refused as malformed.
//!
//! Both tools come from PyPI (`python3 -m pip install schemathesis openapi-spec-validator`).
//! Without them these tests skip after a loud message, except under CI (`CI` set and non-empty),
//! where they fail: CI never skips.
//!
//! `ELIGO_SCHEMATHESIS_EXAMPLES` (default 5) and `ELIGO_SCHEMATHESIS_SEED` (default fixed, so a
//! failure reproduces) widen or vary a run by hand.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;

use super::support::*;
use crate::harness::{BOOTSTRAP, temp_dir};

/// What a whole Schemathesis run of the default size may take (a few minutes on two busy cores
/// since SCIM, passkeys and SSO added operations); larger runs get proportionally more.
const RUN_TIMEOUT: Duration = Duration::from_secs(420);

/// The checks the contract is held to.
const CHECKS: &str = "not_a_server_error,response_schema_conformance,status_code_conformance,positive_data_acceptance";

/// Operations left out of the run: signing out ends the session the whole run uses, so every
/// later request would only be a 401.
const EXCLUDED: &[&str] = &["postV1AuthLogout"];

/// Where Schemathesis must accept a 400 for a request that fits the schema, and why: each of
/// these refusals depends on data or on the clock, which no JSON Schema can state. The codes are
/// documented on the operations; everything else must take what its schema allows.
const CONFIG: &str = r#"
# managerId must name an existing user (400 InvalidManager).
[[operations]]
include-operation-id = ["postV1Users", "patchV1UsersById"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# What may be a member or owner of which group depends on both (400 NestingCycle, InvalidOwner,
# NestingNotAllowed).
[[operations]]
include-operation-id = ["postV1GroupsByIdMembers", "postV1GroupsByIdMembersRef", "postV1GroupsByIdOwners", "postV1GroupsByIdOwnersRef"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# A code is right only for the account's authenticator, which break-glass has none of (400
# MfaNotEnrolled, NoPendingEnrolment, InvalidOtp).
[[operations]]
include-operation-id = ["postV1AuthStepup", "postV1MeAuthenticationMethodsTotpVerify"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# Passkeys: an assertion or attestation is right only for a challenge the server issued to this
# session or sign-in (400 NoPendingCeremony, InvalidAttestation, InvalidPublicKeyCredential,
# MfaNotEnrolled; 401 InvalidCredentials), and the test server's public URL is an IP address,
# which WebAuthn cannot use (400 PasskeysUnavailable).
[[operations]]
include-operation-id = ["postV1MeAuthenticationMethodsPasskeysRegistrationOptions", "postV1MeAuthenticationMethodsPasskeys", "postV1AuthPasskeysSignInOptions", "postV1AuthPasskeysSignIn", "postV1AuthPasskeysStepUpOptions", "postV1AuthPasskeysStepUp"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# A connector's settings are checked by its type (LDAP DNs, URLs, CA certificates: 400
# InvalidConnectorSettings), and a mapping names an existing connector (400 InvalidConnector).
[[operations]]
include-operation-id = ["postV1Connectors", "patchV1ConnectorsById", "postV1GroupsByIdProvisioning"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# Times relative to now: a client secret ends in the future and within two years (400
# InvalidEndDateTime); a Temporary Access Pass starts from now to 30 days ahead (400
# InvalidStartDateTime), one per user (400 TemporaryAccessPassExists).
[[operations]]
include-operation-id = ["postV1ServicePrincipalsByIdAddPassword", "postV1UsersByIdAuthenticationTemporaryAccessPassMethods"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# A policy rule's body is the one of the rule the path names (400 InvalidPolicyRule); a review
# needs a justification when the stage's policy asks for one (400 ApproverJustificationRequired),
# for roles, groups and access packages alike.
[[operations]]
include-operation-id = ["patchV1PoliciesRoleManagementPoliciesByIdRulesByRuleId", "patchV1RoleManagementDirectoryRoleAssignmentApprovalsByIdStepsByStepId", "patchV1IdentityGovernancePrivilegedAccessGroupAssignmentApprovalsByIdStepsByStepId", "patchV1IdentityGovernanceEntitlementManagementAccessPackageAssignmentApprovalsByIdStagesByStageId"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# Entitlement management: what a body names must exist where it is named (a package's catalog,
# a policy's package and the people it names, a resource's group or role, a role in the
# package's catalog: 400 UnknownCatalog, UnknownAccessPackage, UnknownPrincipal,
# UnknownResource, InvalidResourceRoleScope), a package is not incompatible with itself (400
# SelfIncompatible), and a policy's settings are held to rules between their fields
# (governance.md section 1: 400 InvalidAssignmentPolicy).
[[operations]]
include-operation-id = ["postV1IdentityGovernanceEntitlementManagementAccessPackages", "postV1IdentityGovernanceEntitlementManagementAssignmentPolicies", "putV1IdentityGovernanceEntitlementManagementAssignmentPoliciesById", "patchV1IdentityGovernanceEntitlementManagementAssignmentPoliciesById", "postV1IdentityGovernanceEntitlementManagementResourceRequests", "postV1IdentityGovernanceEntitlementManagementAccessPackagesByIdResourceRoleScopes", "postV1IdentityGovernanceEntitlementManagementAccessPackagesByIdIncompatibleAccessPackagesRef"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# An assignment request names a package, policy, target or assignment that must exist, and is
# decided against its policy, the target's assignments and separation of duties (400
# InvalidRequest with a detail per broken rule).
[[operations]]
include-operation-id = ["postV1IdentityGovernanceEntitlementManagementAssignmentRequests"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# A custom extension's URL is held to the outbound rules where its name resolves (400
# OutboundRefused); a resume must name the stage and the call its request waits on (400
# InvalidResume when the type and the stage disagree, 403 StageInstanceMismatch, 409
# RequestNotWaitingForCallback).
[[operations]]
include-operation-id = ["postV1IdentityGovernanceEntitlementManagementCatalogsByIdCustomWorkflowExtensions", "patchV1IdentityGovernanceEntitlementManagementCatalogsByIdCustomWorkflowExtensionsByExtensionId", "postV1IdentityGovernanceEntitlementManagementAssignmentRequestsByIdResume"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# A PIM alert configuration takes only the thresholds of its own type, which the one schema of
# the PATCH body cannot say per path id (400 InvalidAlertConfiguration, UnknownField).
[[operations]]
include-operation-id = ["patchV1IdentityGovernanceRoleManagementAlertsAlertConfigurationsById"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# An access review definition is held to rules between its fields and must name what exists
# (governance.md section 2: 400 InvalidAccessReview); an approval may need a justification
# where the definition asks for one (400 JustificationRequired).
[[operations]]
include-operation-id = ["postV1IdentityGovernanceAccessReviewsDefinitions", "putV1IdentityGovernanceAccessReviewsDefinitionsById", "patchV1IdentityGovernanceAccessReviewsDefinitionsByIdInstancesByInstanceIdDecisionsByDecisionId", "postV1IdentityGovernanceAccessReviewsDefinitionsByIdInstancesByInstanceIdBatchRecordDecisions"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
"#;

/// A program on PATH, or None after a loud message (a panic under CI).
fn tool(program: &str, install: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "CI must not skip the OpenAPI contract tests: {program} is not installed ({install})"
        );
        eprintln!(
            "\n!!! {program} is not installed: the OpenAPI contract test is SKIPPED. Install it with: {install}\n"
        );
    }
    found
}

fn setting(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Runs `program args` in `dir`, bounded; (success, stdout and stderr).
async fn run_tool(program: &Path, args: &[String], dir: &Path, within: Duration) -> (bool, String) {
    let child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    let output = tokio::time::timeout(within, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{} did not finish within {within:?}", program.display()))
        .expect("waiting for the tool");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The served document, saved to `dir`.
async fn fetch_document(server: &Server, dir: &Path) -> PathBuf {
    let (status, doc) = server.client().get("/openapi.json", BOOTSTRAP).await;
    assert_eq!(status, 200, "{doc}");
    let file = dir.join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    file
}

/// What the run starts from beyond the demo tenant, so that answers with approvals and PIM
/// requests are held against their schemas too: Alice's activation of Security Administrator
/// waits on break-glass's approval (the role's policy asks for it, and no longer for MFA), and
/// Bob is made eligible for a group's membership. Returns the ids the run is given to use.
struct Seeded {
    role_requests: Vec<String>,
    group_requests: Vec<String>,
    policies: Vec<String>,
    roles: Vec<String>,
    users: Vec<String>,
    groups: Vec<String>,
}

fn ids(body: &Value, field: &str) -> Vec<String> {
    body["value"]
        .as_array()
        .unwrap_or_else(|| panic!("a collection: {body}"))
        .iter()
        .filter_map(|v| v[field].as_str().map(String::from))
        .collect()
}

async fn seed(api: &Api) -> Seeded {
    let (status, me) = api.get("/v1/me", BOOTSTRAP).await;
    assert_eq!(status, 200, "{me}");
    let breakglass = me["id"].as_str().unwrap().to_string();
    let (_, users) = api.get("/v1/users?$top=100", BOOTSTRAP).await;
    let user = |upn: &str| {
        users["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["userPrincipalName"] == upn)
            .and_then(|u| u["id"].as_str())
            .unwrap_or_else(|| panic!("{upn} in the demo tenant: {users}"))
            .to_string()
    };
    let (alice, bob) = (user("alice@contoso.example"), user("bob@contoso.example"));
    let (_, roles) = api
        .get("/v1/roleManagement/directory/roleDefinitions", BOOTSTRAP)
        .await;
    let security = roles["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["displayName"] == "Security Administrator")
        .and_then(|r| r["id"].as_str())
        .expect("Security Administrator")
        .to_string();
    let policy = format!("DirectoryRole_{security}");
    let rules = format!("/v1/policies/roleManagementPolicies/{policy}/rules");
    let patch = |rule: &str, body: Value| {
        let path = format!("{rules}/{rule}");
        async move {
            let (status, answer) = api
                .call(reqwest::Method::PATCH, &path, Some(BOOTSTRAP), Some(body))
                .await
                .unwrap();
            assert_eq!(status, 200, "PATCH {path}: {answer}");
        }
    };
    patch(
        "Enablement_EndUser_Assignment",
        json!({ "enabledRules": ["Justification"] }),
    )
    .await;
    patch(
        "Approval_EndUser_Assignment",
        json!({ "setting": {
            "isApprovalRequired": true,
            "isApprovalRequiredForExtension": false,
            "isRequestorJustificationRequired": true,
            "approvalMode": "SingleStage",
            "approvalStages": [{
                "approvalStageTimeOutInDays": 1,
                "isApproverJustificationRequired": true,
                "escalationTimeInMinutes": 0,
                "isEscalationEnabled": false,
                "primaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": breakglass }],
                "escalationApprovers": [],
            }],
        } }),
    )
    .await;
    let (status, token) = api.sign_in("alice@contoso.example", DEMO_PASSWORD).await;
    assert_eq!(status, 200, "{token}");
    let (status, request) = api
        .post(
            "/v1/roleManagement/directory/roleAssignmentScheduleRequests",
            token["access_token"].as_str().unwrap(),
            json!({
                "action": "selfActivate",
                "principalId": alice,
                "roleDefinitionId": security,
                "directoryScopeId": "/",
                "justification": "incident 42",
                "ticketInfo": { "ticketNumber": "INC-42", "ticketSystem": "ServiceNow" },
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } },
            }),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    assert_eq!(request["status"], "PendingApproval", "{request}");
    let (_, groups) = api.get("/v1/groups?$top=100", BOOTSTRAP).await;
    let group_ids = ids(&groups, "id");
    let (status, group_request) = api
        .post(
            "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests",
            BOOTSTRAP,
            json!({
                "action": "adminAssign",
                "principalId": bob,
                "groupId": group_ids[0],
                "accessId": "owner",
                "justification": "on call",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } },
            }),
        )
        .await;
    assert_eq!(status, 201, "{group_request}");
    let (_, assignments) = api
        .get(
            "/v1/policies/roleManagementPolicyAssignments?$filter=scopeId%20eq%20'/'%20and%20scopeType%20eq%20'DirectoryRole'",
            BOOTSTRAP,
        )
        .await;
    let mut policies = ids(&assignments, "policyId");
    policies.retain(|p| *p != policy);
    policies.truncate(3);
    policies.push(policy);
    Seeded {
        role_requests: vec![request["id"].as_str().unwrap().to_string()],
        group_requests: vec![group_request["id"].as_str().unwrap().to_string()],
        policies,
        roles: ids(&roles, "id"),
        // Never break-glass's own account: the run must not take away its own session.
        users: ids(&users, "id")
            .into_iter()
            .filter(|id| *id != breakglass)
            .collect(),
        groups: group_ids,
    }
}

/// The seeded ids as dictionaries, each used for half the values of the `{id}` of the paths
/// that name such objects (the other half random, as Schemathesis draws them).
fn dictionaries(seeded: &Seeded) -> String {
    let list = |ids: &[String]| serde_json::to_string(ids).unwrap();
    let mut out = String::new();
    for (name, values, paths) in [
        (
            "role_requests",
            &seeded.role_requests,
            r"^/v1/roleManagement/directory/(roleAssignmentScheduleRequests|roleAssignmentApprovals)/\{id\}",
        ),
        (
            "group_requests",
            &seeded.group_requests,
            r"^/v1/identityGovernance/privilegedAccess/group/(eligibilityScheduleRequests|assignmentApprovals)/\{id\}",
        ),
        (
            "policies",
            &seeded.policies,
            r"^/v1/policies/roleManagementPolicies/\{id\}",
        ),
        (
            "roles",
            &seeded.roles,
            r"^/v1/roleManagement/directory/roleDefinitions/\{id\}",
        ),
        ("users", &seeded.users, r"^/v1/users/\{id\}"),
        ("groups", &seeded.groups, r"^/v1/groups/\{id\}"),
    ] {
        out.push_str(&format!(
            "\n[dictionaries.{name}]\nvalues = {}\n\n[[operations]]\ninclude-path-regex = '{paths}'\nparameters = {{ \"path.id\" = {{ dictionary = \"{name}\", probability = 0.5 }} }}\n",
            list(values)
        ));
    }
    out
}

#[tokio::test]
async fn openapi_spec_validator_accepts_the_served_document() {
    let Some(validator) = tool(
        "openapi-spec-validator",
        "python3 -m pip install openapi-spec-validator",
    ) else {
        return;
    };
    let dir = temp_dir("proc-openapi-validator");
    let server = Server::start(&Spec::sqlite(&dir.join("data"))).await;
    let file = fetch_document(&server, &dir).await;
    let (ok, out) = run_tool(
        &validator,
        &[file.display().to_string()],
        &dir,
        Duration::from_secs(60),
    )
    .await;
    assert!(ok, "openapi-spec-validator refused /openapi.json:\n{out}");
    assert!(out.contains("OK"), "{out}");
    server.stop().await;
    clean(&dir);
}

#[tokio::test]
async fn schemathesis_finds_no_breach_of_the_openapi_contract() {
    let Some(schemathesis) = tool("schemathesis", "python3 -m pip install schemathesis") else {
        return;
    };
    let dir = temp_dir("proc-schemathesis");
    let server = Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo"])).await;
    let seeded = seed(&server.client()).await;
    let config = dir.join("schemathesis.toml");
    std::fs::write(&config, format!("{CONFIG}{}", dictionaries(&seeded))).unwrap();

    let mut args = vec![
        "--config-file".to_string(),
        config.display().to_string(),
        "run".to_string(),
        format!("{}/openapi.json", server.base),
        "--header".to_string(),
        format!("Authorization: Bearer {BOOTSTRAP}"),
        "--checks".to_string(),
        CHECKS.to_string(),
        "--max-examples".to_string(),
        setting("ELIGO_SCHEMATHESIS_EXAMPLES", "5"),
        "--seed".to_string(),
        setting("ELIGO_SCHEMATHESIS_SEED", "20261205"),
        // One worker: Python 3.11 before 3.11.8 (Debian 12's) can fail parsing in
        // Hypothesis from several threads at once ("AST constructor recursion depth mismatch").
        "--workers".to_string(),
        "1".to_string(),
        "--generation-database".to_string(),
        "none".to_string(),
        "--no-color".to_string(),
        "--output-truncate".to_string(),
        "true".to_string(),
        "--request-timeout".to_string(),
        "30".to_string(),
    ];
    for op in EXCLUDED {
        args.push("--exclude-operation-id".to_string());
        args.push(op.to_string());
    }
    let examples: u64 = setting("ELIGO_SCHEMATHESIS_EXAMPLES", "5")
        .parse()
        .unwrap_or(5);
    // A slower machine may allow more (ELIGO_SCHEMATHESIS_TIMEOUT_SECS); never less.
    let allowed: u64 = setting("ELIGO_SCHEMATHESIS_TIMEOUT_SECS", "0")
        .parse()
        .unwrap_or(0);
    let within = RUN_TIMEOUT
        .max(Duration::from_secs(35 * examples))
        .max(Duration::from_secs(allowed));
    let started = eligo::clock::Stopwatch::start();
    let (ok, out) = run_tool(&schemathesis, &args, &dir, within).await;
    eprintln!("schemathesis ran for {:?}", started.elapsed());
    assert!(
        ok,
        "Schemathesis found breaches of the OpenAPI contract:\n{out}\n--- server stderr ---\n{}",
        server.stderr()
    );
    // Every operation was tested, and the run did not go on as a stranger: break-glass still
    // signs in (no 401 wave made the run vacuous).
    assert!(out.contains("Tested: "), "{out}");
    let (status, me) = server.client().get("/v1/me", BOOTSTRAP).await;
    assert_eq!(
        status, 200,
        "break-glass lost its session during the run: {me}"
    );
    // The audit chain still verifies (a walk is refused with 429 for a few seconds after the
    // run's own).
    let mut verdict = Value::Null;
    for _ in 0..(2 * READY_TIMEOUT.as_millis() / STEP.as_millis()) {
        let (status, answer) = server.client().get("/v1/auditLogs/verify", BOOTSTRAP).await;
        verdict = answer;
        if status != 429 {
            assert_eq!(status, 200, "{verdict}");
            break;
        }
        tokio::time::sleep(STEP).await;
    }
    assert_eq!(verdict["valid"], Value::Bool(true), "{verdict}");
    server.stop().await;
    clean(&dir);
}

/// Found by Schemathesis: `filterByCurrentUser(on='approver')` ignored the query options (a
/// `$filter` or a malformed `$skiptoken` answered the unfiltered list). They are the
/// collection's: a filter applies, paging pages, a malformed option is refused.
#[tokio::test]
async fn what_waits_on_me_takes_the_collections_query_options() {
    let dir = temp_dir("proc-approver-options");
    let server = Server::start(&Spec::sqlite(&dir.join("data")).args(&["--demo"])).await;
    let api = server.client();
    let seeded = seed(&api).await;
    let mine = "/v1/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')";
    let (status, all) = api.get(mine, BOOTSTRAP).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(ids(&all, "id"), seeded.role_requests);
    let query = |q: &str| format!("{mine}?{q}");
    let (status, pending) = api
        .get(&query("$filter=status%20eq%20'PendingApproval'"), BOOTSTRAP)
        .await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(ids(&pending, "id"), seeded.role_requests);
    let (status, denied) = api
        .get(&query("$filter=status%20eq%20'Denied'"), BOOTSTRAP)
        .await;
    assert_eq!(status, 200, "{denied}");
    assert_eq!(denied["value"], json!([]));
    for bad in [
        "$skiptoken=garbage",
        "$top=0",
        "$filter=nonsense",
        "$orderby=createdDateTime",
    ] {
        let (status, body) = api.get(&query(bad), BOOTSTRAP).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, verdict) = api.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["valid"], Value::Bool(true), "{verdict}");
    server.stop().await;
    clean(&dir);
}
