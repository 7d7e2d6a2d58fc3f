//! The PIM alert scanner of a real `eligo serve`: with a scan interval of a day, a change to
//! who holds a role still raises its alert within seconds (the scan that follows a change).

use std::time::Duration;

use serde_json::json;

use super::support::*;
use crate::harness::*;

const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

#[tokio::test]
async fn a_change_to_who_holds_a_role_is_scanned_without_waiting_for_the_interval() {
    let dir = temp_dir("proc-alert-scans");
    let server =
        Server::start(&Spec::sqlite(&dir).setting("ELIGO_ALERT_SCAN_INTERVAL", "P1D")).await;
    let api = server.client();
    // Five more Global Administrators than the break-glass account: six, all of the
    // privileged: both thresholds of TooManyGlobalAdminsAssignedToTenantAlert are passed.
    for i in 0..5 {
        let (s, user) = api
            .post(
                "/v1/users",
                BOOTSTRAP,
                json!({ "userPrincipalName": format!("ga{i}@contoso.example"), "displayName": format!("ga{i}"),
                        "password": PASSWORD }),
            )
            .await;
        assert_eq!(s, 201, "{user}");
        let (s, body) = api
            .post(
                "/v1/roleManagement/directory/roleAssignmentScheduleRequests",
                BOOTSTRAP,
                json!({ "action": "adminAssign", "principalId": user["id"], "roleDefinitionId": GLOBAL_ADMINISTRATOR,
                        "directoryScopeId": "/", "justification": "too many",
                        "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    let mut incidents = 0;
    for _ in 0..300 {
        let (s, alerts) = api
            .get(
                "/v1/identityGovernance/roleManagementAlerts/alerts",
                BOOTSTRAP,
            )
            .await;
        assert_eq!(s, 200, "{alerts}");
        incidents = alerts["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["id"]
                    .as_str()
                    .is_some_and(|id| id.ends_with("_TooManyGlobalAdminsAssignedToTenantAlert"))
            })
            .and_then(|a| a["incidentCount"].as_i64())
            .unwrap_or(0);
        if incidents > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(incidents, 6, "the change was not scanned within 30 s");
    server.stop().await;
}
