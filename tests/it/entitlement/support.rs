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

/// A catalog with one group resource and a package handing out its membership (or, with
/// `relation` "Owner", its ownership), under an open policy `policy` (merged onto
/// self-service, no approval).
pub struct GroupPackage {
    pub catalog: Uuid,
    pub package: Uuid,
    pub policy: Uuid,
}

pub const REQUESTS: &str = "/assignmentRequests";

impl TestApp {
    /// Adds `origin` (a group or a role definition) to the package with `role` (Member, Owner,
    /// Eligible, Active).
    pub async fn add_role_scope(
        &self,
        catalog: Uuid,
        package: Uuid,
        origin: &str,
        system: &str,
        role: &str,
    ) {
        let (s, r) = self
            .post(
                &em("/resourceRequests"),
                BOOTSTRAP,
                json!({ "requestType": "AdminAdd", "catalog": { "id": catalog },
                        "resource": { "originId": origin, "originSystem": system } }),
            )
            .await;
        assert!(
            s == StatusCode::CREATED || code(&r) == "ResourceAlreadyInCatalog",
            "{r}"
        );
        let scope = if system == "DirectoryRole" {
            "/"
        } else {
            origin
        };
        let (s, rs) = self
            .post(
                &em(&format!("/accessPackages/{package}/resourceRoleScopes")),
                BOOTSTRAP,
                json!({ "role": { "originId": format!("{role}_{origin}"), "originSystem": system,
                                  "resource": { "originId": origin, "originSystem": system } },
                        "scope": { "originId": scope, "originSystem": system, "isRootScope": true } }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{rs}");
    }

    /// A package in `catalog` giving membership of `group`, with one policy `extra` merged onto
    /// "every member user may ask for themselves and remove it, no approval".
    pub async fn group_package(
        &self,
        catalog: Uuid,
        name: &str,
        group: Uuid,
        extra: Value,
    ) -> GroupPackage {
        let package = self.package(BOOTSTRAP, catalog, name).await;
        self.add_role_scope(catalog, package, &group.to_string(), "AadGroup", "Member")
            .await;
        let policy = self.policy(BOOTSTRAP, package, open_policy(extra)).await;
        GroupPackage {
            catalog,
            package,
            policy: id_of(&policy),
        }
    }

    /// `requestType` for `target` (None: the caller) of `p` through its policy.
    pub async fn ask(
        &self,
        token: &str,
        kind: &str,
        p: &GroupPackage,
        target: Option<Uuid>,
        extra: Value,
    ) -> (StatusCode, Value) {
        let mut body = json!({ "requestType": kind, "justification": "audit work",
            "assignment": { "assignmentPolicyId": p.policy, "accessPackageId": p.package } });
        if let Some(t) = target {
            body["assignment"]["targetId"] = json!(t);
        }
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.post(&em(REQUESTS), token, body).await
    }

    /// Removes an assignment with `kind` (userRemove, adminRemove).
    pub async fn remove_assignment(
        &self,
        token: &str,
        kind: &str,
        assignment: Uuid,
    ) -> (StatusCode, Value) {
        self.post(
            &em(REQUESTS),
            token,
            json!({ "requestType": kind, "assignment": { "id": assignment } }),
        )
        .await
    }

    /// The direct members of `group`, from `/v1/groups/{id}/members`.
    pub async fn members(&self, group: Uuid) -> Vec<Uuid> {
        let (s, b) = self
            .get(&format!("/v1/groups/{group}/members"), BOOTSTRAP)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["value"].as_array().unwrap().iter().map(id_of).collect()
    }

    pub async fn assignment(&self, id: Uuid) -> Value {
        let (s, b) = self
            .get(&em(&format!("/assignments/{id}")), BOOTSTRAP)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }
}

/// Self-service for every member user, removable by its holder, no approval; `extra` merged.
pub fn open_policy(extra: Value) -> Value {
    let mut p = json!({
        "allowedTargetScope": "allMemberUsers",
        "requestorSettings": { "enableTargetsToSelfAddAccess": true, "enableTargetsToSelfRemoveAccess": true,
                               "enableTargetsToSelfUpdateAccess": true },
        "expiration": { "type": "afterDuration", "duration": "P30D" },
    });
    if let (Some(b), Some(e)) = (p.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    p
}

/// The assignment a delivered request made.
pub fn assignment_of(request: &Value) -> Uuid {
    Uuid::parse_str(request["assignment"]["id"].as_str().expect("an assignment")).unwrap()
}
