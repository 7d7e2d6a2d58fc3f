//! Creating reviews and reading their instances and decisions through the API.

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;

pub const AR: &str = "/v1/identityGovernance/accessReviews";

pub fn ar(path: &str) -> String {
    format!("{AR}{path}")
}

/// A role's eligibility scope, as Graph's portal writes it.
pub fn eligibility_scope(role: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.accessReviewQueryScope",
        "queryType": "MicrosoftGraph",
        "query": format!("/roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal&$filter=(isof(principal,'microsoft.graph.user') and roleDefinitionId eq '{role}')"),
    })
}

pub fn group_scope(group: Uuid) -> Value {
    json!({ "@odata.type": "#microsoft.graph.accessReviewQueryScope", "queryType": "MicrosoftGraph",
            "query": format!("/groups/{group}/transitiveMembers") })
}

pub fn user_reviewer(id: Uuid) -> Value {
    json!({ "query": format!("/users/{id}"), "queryType": "MicrosoftGraph" })
}

pub fn manager_reviewer() -> Value {
    json!({ "query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions" })
}

impl TestApp {
    /// Creates a definition as `token`; asserts it was created.
    pub async fn review(&self, token: &str, body: Value) -> Value {
        let (s, b) = self.post(&ar("/definitions"), token, body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }

    pub async fn instances(&self, token: &str, def: Uuid) -> Vec<Value> {
        let (s, b) = self
            .get(&ar(&format!("/definitions/{def}/instances")), token)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["value"].as_array().unwrap().clone()
    }

    /// The only instance of `def`.
    pub async fn instance(&self, def: Uuid) -> Value {
        let all = self.instances(BOOTSTRAP, def).await;
        assert_eq!(all.len(), 1, "{all:?}");
        all[0].clone()
    }

    pub async fn decisions(&self, token: &str, def: Uuid, instance: Uuid) -> Vec<Value> {
        let (s, b) = self
            .get(
                &ar(&format!(
                    "/definitions/{def}/instances/{instance}/decisions"
                )),
                token,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["value"].as_array().unwrap().clone()
    }

    pub async fn my_decisions(&self, token: &str, def: Uuid, instance: Uuid) -> Vec<Value> {
        let (s, b) = self
            .get(
                &ar(&format!(
                    "/definitions/{def}/instances/{instance}/decisions/filterByCurrentUser(on='reviewer')"
                )),
                token,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["value"].as_array().unwrap().clone()
    }

    /// Records `decision` on `item` as `token`.
    pub async fn review_decide(
        &self,
        token: &str,
        def: Uuid,
        instance: Uuid,
        item: Uuid,
        decision: &str,
    ) -> (StatusCode, Value) {
        self.patch(
            &ar(&format!(
                "/definitions/{def}/instances/{instance}/decisions/{item}"
            )),
            token,
            json!({ "decision": decision, "justification": "reviewed" }),
        )
        .await
    }

    /// Role ids `principal` is eligible for now (at any scope).
    pub async fn eligible_for(&self, principal: Uuid) -> Vec<String> {
        let (s, b) = self
            .get(
                &format!("/v1/roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId eq '{principal}'"),
                BOOTSTRAP,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["roleDefinitionId"].as_str().unwrap().to_string())
            .collect()
    }

    /// Makes `principal` eligible for `role` for a year, through the API.
    pub async fn eligible_for_a_year(&self, principal: Uuid, role: &str) {
        let (status, body) = self
            .post(
                ELIGIBILITY_URL,
                BOOTSTRAP,
                json!({
                    "action": "adminAssign", "principalId": principal, "roleDefinitionId": role,
                    "directoryScopeId": "/", "justification": "standing eligibility",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P365D" } },
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

/// The decision about `principal` among `items`.
pub fn about(items: &[Value], principal: Uuid) -> Value {
    items
        .iter()
        .find(|d| d["principal"]["id"] == principal.to_string())
        .cloned()
        .unwrap_or_else(|| panic!("no decision about {principal} in {items:?}"))
}
