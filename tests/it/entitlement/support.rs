//! Building a catalog, a group resource, a package and a policy through the API.

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;

pub const EM: &str = "/v1/identityGovernance/entitlementManagement";

pub fn em(path: &str) -> String {
    format!("{EM}{path}")
}

impl TestApp {
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(axum::http::Method::PUT, path, Some(token), Some(body))
            .await
    }

    pub async fn group(&self, name: &str) -> Uuid {
        let (s, b) = self
            .post(
                "/v1/groups",
                BOOTSTRAP,
                json!({ "displayName": name, "mailNickname": name.replace(' ', ""), "securityEnabled": true }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        id_of(&b)
    }

    pub async fn add_member(&self, group: Uuid, member: Uuid) {
        let (s, b) = self
            .post(
                &format!("/v1/groups/{group}/members/$ref"),
                BOOTSTRAP,
                json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}") }),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }

    pub async fn set_manager(&self, user: Uuid, manager: Uuid) {
        let (s, b) = self
            .patch(
                &format!("/v1/users/{user}"),
                BOOTSTRAP,
                json!({ "managerId": manager }),
            )
            .await;
        assert!(s.is_success(), "{b}");
    }

    pub async fn catalog(&self, token: &str, name: &str) -> Uuid {
        let (s, b) = self
            .post(&em("/catalogs"), token, json!({ "displayName": name }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        id_of(&b)
    }

    pub async fn add_group_resource(&self, token: &str, catalog: Uuid, group: Uuid) -> Value {
        let (s, b) = self
            .post(
                &em("/resourceRequests"),
                token,
                json!({ "requestType": "AdminAdd", "catalog": { "id": catalog },
                        "resource": { "originId": group, "originSystem": "AadGroup" } }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }

    pub async fn package(&self, token: &str, catalog: Uuid, name: &str) -> Uuid {
        let (s, b) = self
            .post(
                &em("/accessPackages"),
                token,
                json!({ "displayName": name, "catalog": { "id": catalog } }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        id_of(&b)
    }

    pub async fn policy(&self, token: &str, package: Uuid, body: Value) -> Value {
        let mut body = body;
        body["accessPackage"] = json!({ "id": package });
        if body.get("displayName").is_none() {
            body["displayName"] = json!("Policy");
        }
        let (s, b) = self.post(&em("/assignmentPolicies"), token, body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }
}

/// The scenario's policy: members request with a justification, the manager approves (a
/// fallback approver named), 30 days, a case number matching a pattern.
pub fn manager_approval(fallback: Uuid) -> Value {
    json!({
        "displayName": "Employees, manager approval",
        "description": "One stage: the requester's manager",
        "allowedTargetScope": "allMemberUsers",
        "specificAllowedTargets": [],
        "expiration": { "type": "afterDuration", "duration": "P30D" },
        "requestorSettings": { "enableTargetsToSelfAddAccess": true, "enableTargetsToSelfUpdateAccess": true,
                               "enableTargetsToSelfRemoveAccess": true, "allowCustomAssignmentSchedule": true,
                               "enableOnBehalfRequestorsToAddAccess": false, "onBehalfRequestors": [] },
        "requestApprovalSettings": {
            "isApprovalRequiredForAdd": true, "isApprovalRequiredForUpdate": true, "isRequestorJustificationRequired": true,
            "stages": [{ "durationBeforeAutomaticDenial": "P2D", "isApproverJustificationRequired": true,
                         "isEscalationEnabled": false, "durationBeforeEscalation": "PT0S",
                         "primaryApprovers": [{ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 }],
                         "fallbackPrimaryApprovers": [{ "@odata.type": "#microsoft.graph.singleUser", "userId": fallback }],
                         "escalationApprovers": [], "fallbackEscalationApprovers": [] }] },
        "questions": [{ "@odata.type": "#microsoft.graph.accessPackageTextInputQuestion", "sequence": 1,
                        "text": "Case number", "isRequired": true, "isSingleLineQuestion": true,
                        "regexPattern": "^IRM-[0-9]+$" },
                      { "@odata.type": "#microsoft.graph.accessPackageMultipleChoiceQuestion", "sequence": 2,
                        "text": "Site", "isRequired": false, "isMultipleSelectionAllowed": false,
                        "choices": [{ "actualValue": "par", "text": "Paris" }, { "actualValue": "lis", "text": "Lisbon" }] }],
        "reviewSettings": { "isEnabled": true, "expirationBehavior": "RemoveAccess", "isRecommendationEnabled": true,
                            "isReviewerJustificationRequired": true, "isSelfReview": false,
                            "primaryReviewers": [{ "@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1 }],
                            "fallbackReviewers": [],
                            "schedule": { "startDateTime": "2030-01-01T00:00:00Z",
                                          "expiration": { "type": "afterDuration", "duration": "P14D" },
                                          "recurrence": { "pattern": { "type": "absoluteMonthly", "interval": 3 },
                                                          "range": { "type": "noEnd", "startDate": "2030-01-01" } } } },
        "notificationSettings": { "isAssignmentNotificationDisabled": false },
        "customExtensionStageSettings": [],
    })
}

/// Everyone may ask for themselves, no approval.
pub fn open_to(scope: &str, targets: Value) -> Value {
    json!({
        "allowedTargetScope": scope,
        "specificAllowedTargets": targets,
        "requestorSettings": { "enableTargetsToSelfAddAccess": true },
    })
}
