//! PIM alerts (`/v1/identityGovernance/roleManagementAlerts`, Graph beta) with the mock clock:
//! each alert of this slice raised at its threshold and not below, resolved when its cause goes
//! and raised anew when it comes back; configuration changes applied by the next refresh;
//! remediation through the administrators' own use cases; refusals that change nothing; audit.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids::{GLOBAL_ADMINISTRATOR, SECURITY_READER, USER_ADMINISTRATOR};
use eligo_core::schedule::ScheduleKind;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;

pub(crate) const BASE: &str = "/v1/identityGovernance/roleManagementAlerts";

/// The alert's id (`DirectoryRole_{tenant}_{name}`), as listed.
pub(crate) async fn alert_id(t: &TestApp, name: &str) -> String {
    let (status, body) = t
        .get(
            &format!("{BASE}/alerts?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let alerts = body["value"].as_array().unwrap();
    assert_eq!(alerts.len(), 9);
    alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .find(|id| id.ends_with(&format!("_{name}")))
        .expect("the alert")
}

pub(crate) async fn refresh(t: &TestApp) {
    let (status, body) = t
        .post(
            &format!("{BASE}/alerts/refresh"),
            BOOTSTRAP,
            json!({ "scopeId": "/", "scopeType": "DirectoryRole" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

pub(crate) async fn incidents(t: &TestApp, id: &str) -> Vec<Value> {
    let (status, body) = t
        .get(&format!("{BASE}/alerts/{id}/alertIncidents"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().clone()
}

/// The `activity` audit entries ("PIM alert raised", "PIM alert resolved") of alert `id`: the
/// bootstrap token the tests call with is the break-glass credential, whose use raises
/// `BreakGlassUsedAlert` too.
pub(crate) async fn audits_of(t: &TestApp, activity: &str, id: &str) -> Vec<Value> {
    t.audited_as(activity)
        .await
        .into_iter()
        .filter(|e| {
            e["targetResources"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["id"] == id))
        })
        .collect()
}

async fn alert(t: &TestApp, id: &str) -> Value {
    let (status, body) = t.get(&format!("{BASE}/alerts/{id}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// An active, time-bound assignment made through the API (so not "outside PIM").
async fn assign(t: &TestApp, principal: Uuid, role: &str) {
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            BOOTSTRAP,
            json!({
                "action": "adminAssign", "principalId": principal, "roleDefinitionId": role,
                "directoryScopeId": "/", "justification": "on call",
                "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn unassign(t: &TestApp, principal: Uuid, role: &str) {
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            BOOTSTRAP,
            json!({
                "action": "adminRemove", "principalId": principal, "roleDefinitionId": role,
                "directoryScopeId": "/", "justification": "no longer needed",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

fn assignees(incidents: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = incidents
        .iter()
        .map(|i| i["assigneeId"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn pim_alerts_too_many_global_admins_at_the_count_resolved_and_raised_again() {
    let t = TestApp::new().await;
    let id = alert_id(&t, "TooManyGlobalAdminsAssignedToTenantAlert").await;
    // The break-glass account and three more: four of five, below the count (every role
    // holder is a Global Administrator, so the share is met).
    let mut people = Vec::new();
    for nick in ["ada", "bob", "cyd", "dee"] {
        people.push(t.user(nick).await);
    }
    for p in &people[..3] {
        assign(&t, *p, GLOBAL_ADMINISTRATOR).await;
    }
    // Eligible Global Administrators do not count.
    t.make_eligible(people[3], GLOBAL_ADMINISTRATOR).await;
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty());
    let a = alert(&t, &id).await;
    assert_eq!(a["isActive"], false);
    assert_eq!(a["incidentCount"], 0);
    assert_eq!(
        a["lastScannedDateTime"]
            .as_str()
            .map(|s| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
        Some(t.clock.now_utc())
    );

    // The fifth: at the threshold, one incident per Global Administrator.
    assign(&t, people[3], GLOBAL_ADMINISTRATOR).await;
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert_eq!(found.len(), 5);
    assert!(assignees(&found).contains(&people[3].to_string()));
    let dee = found
        .iter()
        .find(|i| i["assigneeId"] == people[3].to_string())
        .unwrap();
    assert_eq!(
        dee["@odata.type"],
        "#microsoft.graph.tooManyGlobalAdminsAssignedToTenantAlertIncident"
    );
    assert_eq!(dee["assigneeUserPrincipalName"], "dee@contoso.example");
    assert_eq!(dee["assigneeDisplayName"], "dee");
    let a = alert(&t, &id).await;
    assert_eq!(a["isActive"], true);
    assert_eq!(a["incidentCount"], 5);
    // Raised once: another refresh raises nothing more.
    refresh(&t).await;
    assert_eq!(incidents(&t, &id).await, found);
    assert_eq!(audits_of(&t, "PIM alert raised", &id).await.len(), 5);

    // One removed: below again, every incident resolved.
    t.clock.advance(TimeDelta::minutes(1));
    unassign(&t, people[3], GLOBAL_ADMINISTRATOR).await;
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty());
    assert_eq!(audits_of(&t, "PIM alert resolved", &id).await.len(), 5);

    // Back: raised anew (new incidents), by the scheduler's scan too.
    assign(&t, people[3], GLOBAL_ADMINISTRATOR).await;
    t.clock.advance(TimeDelta::minutes(1));
    let done = eligo::service::pim_alerts::scan_all(&t.app).await.unwrap();
    assert_eq!(done.raised, 5);
    let again = incidents(&t, &id).await;
    assert_eq!(again.len(), 5);
    assert!(
        again
            .iter()
            .all(|i| !found.iter().any(|f| f["id"] == i["id"]))
    );
    assert_eq!(audits_of(&t, "PIM alert raised", &id).await.len(), 10);
}

#[tokio::test]
async fn pim_alerts_configuration_changes_the_share_and_a_refresh_applies_it() {
    let t = TestApp::new().await;
    let id = alert_id(&t, "TooManyGlobalAdminsAssignedToTenantAlert").await;
    let config = format!("{BASE}/alertConfigurations/{id}");
    let (status, body) = t.get(&config, BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["globalAdminCountThreshold"], 5);
    assert_eq!(body["percentageOfGlobalAdminsOutOfRolesThreshold"], 50);

    // Bad values: refused, each field named, nothing changed.
    let (status, body) = t
        .patch(
            &config,
            BOOTSTRAP,
            json!({ "globalAdminCountThreshold": 0, "percentageOfGlobalAdminsOutOfRolesThreshold": 150, "duration": "P1D" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "InvalidAlertConfiguration");
    let mut codes = detail_codes(&body);
    codes.sort();
    assert_eq!(codes, ["InvalidValue", "InvalidValue", "UnknownField"]);
    let (_, body) = t.get(&config, BOOTSTRAP).await;
    assert_eq!(body["globalAdminCountThreshold"], 5);

    // Two Global Administrators (break-glass and ada), two User Administrators: 2 of 4 = 50%.
    let ada = t.user("ada").await;
    assign(&t, ada, GLOBAL_ADMINISTRATOR).await;
    for nick in ["bob", "cyd"] {
        let p = t.user(nick).await;
        assign(&t, p, USER_ADMINISTRATOR).await;
    }
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty(), "2 is below 5");
    let (status, body) = t
        .patch(
            &config,
            BOOTSTRAP,
            json!({
                "@odata.type": "#microsoft.graph.tooManyGlobalAdminsAssignedToTenantAlertConfiguration",
                "globalAdminCountThreshold": 2,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["globalAdminCountThreshold"], 2);
    assert_eq!(
        t.audited_as("Update PIM alert configuration").await.len(),
        1
    );
    refresh(&t).await;
    assert_eq!(incidents(&t, &id).await.len(), 2, "2 of 4 is 50%");

    // A fifth role holder: 2 of 5 is 40%, below the share.
    let dee = t.user("dee").await;
    assign(&t, dee, USER_ADMINISTRATOR).await;
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty());
    // The share lowered to 40%: at it.
    let (status, _) = t
        .patch(
            &config,
            BOOTSTRAP,
            json!({ "percentageOfGlobalAdminsOutOfRolesThreshold": 40 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t
        .post(&format!("{BASE}/alerts/{id}/refresh"), BOOTSTRAP, json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(incidents(&t, &id).await.len(), 2);
    // Disabled: its incidents resolve.
    let (status, _) = t
        .patch(&config, BOOTSTRAP, json!({ "isEnabled": false }))
        .await;
    assert_eq!(status, StatusCode::OK);
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty());
}

#[tokio::test]
async fn pim_alerts_no_mfa_raised_and_remediated() {
    let t = TestApp::new().await;
    let id = alert_id(&t, "NoMfaOnRoleActivationAlert").await;
    refresh(&t).await;
    assert!(
        incidents(&t, &id).await.is_empty(),
        "the defaults demand MFA"
    );
    t.set_rule(
        USER_ADMINISTRATOR,
        "Enablement_EndUser_Assignment",
        json!({ "enabledRules": ["Justification"] }),
    )
    .await;
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let incident = &found[0];
    assert_eq!(
        incident["@odata.type"],
        "#microsoft.graph.noMfaOnRoleActivationAlertIncident"
    );
    assert_eq!(incident["roleTemplateId"], USER_ADMINISTRATOR);
    assert_eq!(incident["roleDisplayName"], "User Administrator");

    let incident_id = incident["id"].as_str().unwrap();
    let (status, body) = t
        .post(
            &format!("{BASE}/alerts/{id}/alertIncidents/{incident_id}/remediate"),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(incidents(&t, &id).await.is_empty());
    let (status, body) = t
        .get(
            &format!(
                "/v1/policies/roleManagementPolicies/DirectoryRole_{USER_ADMINISTRATOR}/rules/Enablement_EndUser_Assignment"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rules = body["enabledRules"].as_array().unwrap();
    assert!(
        rules.contains(&json!("MultiFactorAuthentication")),
        "{body}"
    );
    assert!(rules.contains(&json!("Justification")), "{body}");
    assert_eq!(t.audited_as("Remediate PIM alert incident").await.len(), 1);
    assert_eq!(audits_of(&t, "PIM alert resolved", &id).await.len(), 1);
    // Remediating it again: it is resolved.
    let (status, body) = t
        .post(
            &format!("{BASE}/alerts/{id}/alertIncidents/{incident_id}/remediate"),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "IncidentResolved");
}

#[tokio::test]
async fn pim_alerts_outside_pim_raised_and_remediated_by_removal() {
    outside_pim_raised_and_remediated(&TestApp::new().await).await;
}

/// The same on PostgreSQL (skipped loudly by the testkit where there is none).
#[tokio::test]
async fn pim_alerts_outside_pim_raised_and_remediated_on_postgres() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    outside_pim_raised_and_remediated(&t).await;
}

async fn outside_pim_raised_and_remediated(t: &TestApp) {
    let id = alert_id(t, "RolesAssignedOutsidePimAlert").await;
    // Through Eligo and time-bound: not outside. The break-glass account: by design.
    let ada = t.user("ada").await;
    assign(t, ada, USER_ADMINISTRATOR).await;
    refresh(t).await;
    assert!(incidents(t, &id).await.is_empty());

    // Written into the store as an import would: no request created it.
    let bob = t.user("bob").await;
    t.grant(
        bob,
        USER_ADMINISTRATOR,
        ScheduleKind::Active,
        Some(TimeDelta::days(30)),
    )
    .await;
    refresh(t).await;
    let found = incidents(t, &id).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let incident = &found[0];
    assert_eq!(
        incident["@odata.type"],
        "#microsoft.graph.rolesAssignedOutsidePrivilegedIdentityManagementAlertIncident"
    );
    assert_eq!(incident["assigneeId"], bob.to_string());
    assert_eq!(incident["assigneeUserPrincipalName"], "bob@contoso.example");
    assert_eq!(incident["roleDefinitionId"], USER_ADMINISTRATOR);
    assert_eq!(incident["roleDisplayName"], "User Administrator");
    assert!(incident["assignmentCreatedDateTime"].is_string());
    let raised = audits_of(t, "PIM alert raised", &id).await;
    assert_eq!(raised.len(), 1);

    // Remediation removes it as an administrator's removal does, and the incident resolves.
    let incident_id = incident["id"].as_str().unwrap();
    let (status, body) = t
        .post(
            &format!("{BASE}/alerts/{id}/alertIncidents/{incident_id}/remediate"),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(incidents(t, &id).await.is_empty());
    let (status, body) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/roleAssignmentScheduleInstances?$filter=principalId eq '{bob}'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["value"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(
        t.audited_as("Remove member from role in PIM completed")
            .await
            .len(),
        1
    );
    assert_eq!(t.audited_as("Remediate PIM alert incident").await.len(), 1);
}

#[tokio::test]
async fn pim_alerts_refused_callers_and_bad_input_change_nothing() {
    let t = TestApp::new().await;
    let id = alert_id(&t, "RolesAssignedOutsidePimAlert").await;
    let bob = t.user("bob").await;
    t.grant(
        bob,
        USER_ADMINISTRATOR,
        ScheduleKind::Active,
        Some(TimeDelta::days(30)),
    )
    .await;
    let reader = t.admin_person("rita", SECURITY_READER).await;
    // A Security Reader reads...
    let (status, body) = t
        .get(&format!("{BASE}/alertDefinitions"), &reader.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"].as_array().unwrap().len(), 9);
    // ...but neither refreshes nor changes a configuration.
    let (status, _) = t
        .post(
            &format!("{BASE}/alerts/refresh"),
            &reader.token,
            json!({ "scopeId": "/", "scopeType": "DirectoryRole" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .patch(
            &format!("{BASE}/alertConfigurations/{id}"),
            &reader.token,
            json!({ "isEnabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Someone without any role reads nothing.
    t.user("nobody").await;
    let plain = t.sign_in("nobody").await;
    let (status, _) = t.get(&format!("{BASE}/alerts"), &plain).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A Global Administrator whose second factor is stale is refused too.
    let admin = t.admin_person("gail", GLOBAL_ADMINISTRATOR).await;
    t.clock
        .advance(t.app.config.mfa_freshness + TimeDelta::minutes(1));
    let (status, body) = t
        .post(
            &format!("{BASE}/alerts/refresh"),
            &admin.token,
            json!({ "scopeId": "/", "scopeType": "DirectoryRole" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(!t.audited_as("Refresh PIM alerts").await.is_empty());
    // Nothing was scanned.
    assert!(incidents(&t, &id).await.is_empty());
    assert_eq!(alert(&t, &id).await["lastScannedDateTime"], Value::Null);
    assert!(t.audited_as("PIM alert raised").await.is_empty());

    // Bad input: each a 4xx with its code, nothing changed.
    let (status, body) = t
        .post(
            &format!("{BASE}/alerts/refresh"),
            BOOTSTRAP,
            json!({ "scopeId": "/administrativeUnits/x", "scopeType": "DirectoryRole" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "UnsupportedScope");
    let (status, body) = t
        .get(
            &format!("{BASE}/alerts?$filter=scopeId eq '/x' and scopeType eq 'DirectoryRole'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "UnsupportedScope");
    for path in [
        format!(
            "{BASE}/alerts/DirectoryRole_{}_TooManyGlobalAdminsAssignedToTenantAlert",
            Uuid::new_v4()
        ),
        format!("{BASE}/alertDefinitions/nope"),
        format!("{BASE}/alertConfigurations/nope"),
    ] {
        let (status, body) = t.get(&path, BOOTSTRAP).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let unknown = format!(
        "DirectoryRole_{}_RolesAssignedOutsidePimAlert",
        Uuid::new_v4()
    );
    let (status, _) = t
        .post(
            &format!("{BASE}/alerts/{unknown}/refresh"),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .patch(
            &format!("{BASE}/alertConfigurations/{unknown}"),
            BOOTSTRAP,
            json!({ "isEnabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(alert(&t, &id).await["lastScannedDateTime"], Value::Null);
    // Without the filter: the same nine alerts.
    let (status, body) = t.get(&format!("{BASE}/alerts"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"].as_array().unwrap().len(), 9);
    assert!(
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["isActive"] == false)
    );

    // An alert without a remediation.
    refresh(&t).await;
    let many = alert_id(&t, "TooManyGlobalAdminsAssignedToTenantAlert").await;
    let (status, _) = t
        .patch(
            &format!("{BASE}/alertConfigurations/{many}"),
            BOOTSTRAP,
            json!({ "globalAdminCountThreshold": 1, "percentageOfGlobalAdminsOutOfRolesThreshold": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    refresh(&t).await;
    let found = incidents(&t, &many).await;
    assert!(!found.is_empty());
    let incident_id = found[0]["id"].as_str().unwrap();
    let (status, body) = t
        .post(
            &format!("{BASE}/alerts/{many}/alertIncidents/{incident_id}/remediate"),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "AlertNotRemediable");
    // An incident of another alert.
    let (status, _) = t
        .post(
            &format!("{BASE}/alerts/{id}/alertIncidents/{incident_id}/remediate"),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(incidents(&t, &many).await.len(), found.len());
}

#[tokio::test]
async fn pim_alerts_permanent_privileged_assignment_made_through_eligo_is_outside_pim() {
    let t = TestApp::new().await;
    let id = alert_id(&t, "RolesAssignedOutsidePimAlert").await;
    // The role's settings allow permanent active assignments; one is made through the API.
    t.set_rule(
        USER_ADMINISTRATOR,
        "Expiration_Admin_Assignment",
        json!({ "isExpirationRequired": false, "maximumDuration": "P180D" }),
    )
    .await;
    let ada = t.user("ada").await;
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            BOOTSTRAP,
            json!({
                "action": "adminAssign", "principalId": ada, "roleDefinitionId": USER_ADMINISTRATOR,
                "directoryScopeId": "/", "justification": "standing",
                "scheduleInfo": { "expiration": { "type": "noExpiration" } },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    refresh(&t).await;
    let found = incidents(&t, &id).await;
    assert_eq!(assignees(&found), [ada.to_string()]);
    // Removed by an administrator: resolved at the next scan.
    unassign(&t, ada, USER_ADMINISTRATOR).await;
    refresh(&t).await;
    assert!(incidents(&t, &id).await.is_empty());
}

#[tokio::test]
async fn pim_alerts_tenant_id_is_kept_across_a_restart() {
    let t = TestApp::new().await;
    let before = alert_id(&t, "NoMfaOnRoleActivationAlert").await;
    let tenant = before
        .strip_prefix("DirectoryRole_")
        .and_then(|r| r.split('_').next())
        .unwrap();
    Uuid::parse_str(tenant).expect("the tenant id is a uuid");
    let again = t.restarted(t.clock.now_utc()).await;
    assert_eq!(alert_id(&again, "NoMfaOnRoleActivationAlert").await, before);
    let (status, body) = again
        .get(&format!("{BASE}/alertDefinitions/{before}"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["severityLevel"], "medium");
    assert_eq!(body["isRemediatable"], true);
}

/// A raised incident is announced once to `alert.raised` subscribers (and `*`), signed like
/// every webhook event; a refresh that raises nothing new sends nothing.
#[tokio::test]
async fn pim_alerts_a_raised_incident_is_an_alert_raised_event_once() {
    let t = TestApp::new().await;
    let id = alert_id(&t, "TooManyGlobalAdminsAssignedToTenantAlert").await;
    refresh(&t).await;
    let (url, inbox) = crate::breakglass::receiver(&t).await;
    let (status, body) = crate::breakglass::subscribe(&t, BOOTSTRAP, &url, &["alert.raised"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for nick in ["ada", "bob", "cyd", "dee"] {
        let p = t.user(nick).await;
        assign(&t, p, GLOBAL_ADMINISTRATOR).await;
    }
    refresh(&t).await;
    let raised = incidents(&t, &id).await;
    assert_eq!(raised.len(), 5, "{raised:?}");
    crate::breakglass::deliver(&t).await;
    let events = inbox.take();
    let ours: Vec<&Value> = events
        .iter()
        .filter(|e| e["data"]["alertId"] == json!(id))
        .collect();
    assert_eq!(ours.len(), 5, "{events:?}");
    assert!(ours.iter().all(|e| e["type"] == "alert.raised"));
    assert!(ours.iter().all(|e| e["data"]["severityLevel"] == "low"));
    refresh(&t).await;
    crate::breakglass::deliver(&t).await;
    assert!(
        inbox
            .take()
            .iter()
            .all(|e| e["data"]["alertId"] != json!(id)),
        "nothing new, nothing sent"
    );
}
