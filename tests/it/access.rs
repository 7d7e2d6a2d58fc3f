//! The effective-access check (`GET|POST /v1/access/check`) and transitive membership, answered
//! by the live index: through role-assignable groups, nested groups and activations, exactly at
//! window edges, right after each answered write, and after a restart (rebuilt from the store).

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_core::roles::ids;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;

pub async fn new_group(t: &TestApp, name: &str, role_assignable: bool) -> Uuid {
    let (status, body) = t
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": name, "securityEnabled": true,
                    "isAssignableToRole": role_assignable }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id_of(&body)
}

pub async fn add_member(t: &TestApp, group: Uuid, member: Uuid) -> (StatusCode, Value) {
    t.post(
        &format!("/v1/groups/{group}/members"),
        BOOTSTRAP,
        json!({ "id": member }),
    )
    .await
}

async fn check_role(t: &TestApp, who: Uuid, role: &str, scope: &str) -> Value {
    let (status, body) = t
        .get(
            &format!(
                "/v1/access/check?principalId={who}&roleDefinitionId={role}&directoryScopeId={scope}"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn check_group(t: &TestApp, who: Uuid, group: Uuid, access: &str) -> Value {
    let (status, body) = t
        .get(
            &format!("/v1/access/check?principalId={who}&groupId={group}&accessId={access}"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn roles_through_role_assignable_groups_and_activations_with_their_paths() {
    let t = TestApp::new().await;
    let role = ids::EXCHANGE_ADMINISTRATOR;
    let admins = new_group(&t, "Messaging admins", true).await;
    let bob = t.user("bob").await;
    assert_eq!(check_role(&t, bob, role, "/").await["allowed"], false);

    // The group holds the role permanently; bob gets it by joining — at the next check.
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": admins, "roleDefinitionId": role,
                    "directoryScopeId": "/", "justification": "team role",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = add_member(&t, admins, bob).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let answer = check_role(&t, bob, role, "/administrativeUnits/emea").await;
    assert_eq!(answer["allowed"], true, "{answer}");
    let end = t.clock.now_utc() + TimeDelta::days(30);
    assert_eq!(answer["expiresAt"], json!(end), "{answer}");
    let path = &answer["paths"][0];
    assert_eq!(path["kind"], "directAssignment");
    assert_eq!(path["directoryScopeId"], "/");
    assert_eq!(path["via"][0]["id"], admins.to_string());
    assert_eq!(path["via"][0]["displayName"], "Messaging admins");
    assert!(
        path["description"]
            .as_str()
            .unwrap()
            .contains("through group 'Messaging admins'"),
        "{path}"
    );

    // Leaving the group: gone at the next check.
    let (status, _) = t
        .delete(&format!("/v1/groups/{admins}/members/{bob}"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(check_role(&t, bob, role, "/").await["allowed"], false);

    // An activation: allowed until its end, and exactly at the end no longer (no scheduler).
    let helpdesk = ids::HELPDESK_ADMINISTRATOR;
    let alice = t.person("alice").await;
    t.make_eligible(alice.id, helpdesk).await;
    t.step_up(&alice).await;
    let (status, body) = t.activate(&alice, helpdesk, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let end = t.clock.now_utc() + TimeDelta::hours(1);
    let answer = check_role(&t, alice.id, helpdesk, "/").await;
    assert_eq!(answer["allowed"], true);
    assert_eq!(answer["expiresAt"], json!(end));
    assert_eq!(answer["paths"][0]["kind"], "activation");
    assert_eq!(answer["paths"][0]["endDateTime"], json!(end));
    t.clock
        .advance(TimeDelta::hours(1) - TimeDelta::microseconds(1));
    assert_eq!(
        check_role(&t, alice.id, helpdesk, "/").await["allowed"],
        true
    );
    t.clock.advance(TimeDelta::microseconds(1));
    assert_eq!(
        check_role(&t, alice.id, helpdesk, "/").await["allowed"],
        false
    );

    // A restarted server rebuilds the index from the store and answers the same.
    let (status, _) = add_member(&t, admins, bob).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let again = t.restarted(t.clock.now_utc()).await;
    assert_eq!(check_role(&again, bob, role, "/").await["allowed"], true);
    assert_eq!(
        check_role(&again, alice.id, helpdesk, "/").await["allowed"],
        false
    );
}

#[tokio::test]
async fn nested_groups_members_and_owners() {
    let t = TestApp::new().await;
    let outer = new_group(&t, "All engineers", false).await;
    let inner = new_group(&t, "Platform team", false).await;
    let carol = t.user("carol").await;
    assert_eq!(add_member(&t, inner, carol).await.0, StatusCode::NO_CONTENT);
    assert_eq!(add_member(&t, outer, inner).await.0, StatusCode::NO_CONTENT);

    let answer = check_group(&t, carol, outer, "member").await;
    assert_eq!(answer["allowed"], true, "{answer}");
    assert_eq!(answer["paths"][0]["kind"], "nestedMembership");
    let via: Vec<&str> = answer["paths"][0]["via"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(via, ["Platform team", "All engineers"]);

    // transitiveMembers and transitiveMemberOf come from the same index.
    let (status, body) = t
        .get(&format!("/v1/groups/{outer}/transitiveMembers"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut ids: Vec<String> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut expected = vec![inner.to_string(), carol.to_string()];
    expected.sort();
    assert_eq!(ids, expected);
    let (_, body) = t
        .post(
            &format!("/v1/users/{carol}/checkMemberGroups"),
            BOOTSTRAP,
            json!({ "groupIds": [outer, inner, Uuid::new_v4()] }),
        )
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 2, "{body}");

    // Un-nesting is seen by the next check.
    let (status, _) = t
        .delete(&format!("/v1/groups/{outer}/members/{inner}"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        check_group(&t, carol, outer, "member").await["allowed"],
        false
    );
    assert_eq!(
        check_group(&t, carol, inner, "member").await["paths"][0]["kind"],
        "directMembership"
    );

    // Ownership.
    assert_eq!(
        check_group(&t, carol, inner, "owner").await["allowed"],
        false
    );
    let (status, body) = t
        .post(
            &format!("/v1/groups/{inner}/owners"),
            BOOTSTRAP,
            json!({ "id": carol }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let answer = check_group(&t, carol, inner, "owner").await;
    assert_eq!(answer["allowed"], true);
    assert_eq!(answer["paths"][0]["kind"], "directOwnership");

    // Deleting the group: nobody is a member of it any more, and it is unknown.
    let (status, _) = t.delete(&format!("/v1/groups/{inner}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = t
        .get(
            &format!("/v1/access/check?principalId={carol}&groupId={inner}&accessId=member"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn batch_checks_and_bad_questions() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin("root", ids::GLOBAL_ADMINISTRATOR).await;
    let dave = t.user("dave").await;
    let dave_token = t.sign_in("dave").await;
    let group = new_group(&t, "Ops", false).await;
    let ghost = Uuid::new_v4();

    let (status, body) = t
        .post(
            "/v1/access/check",
            BOOTSTRAP,
            json!({ "checks": [
                { "principalId": admin, "roleDefinitionId": ids::GLOBAL_ADMINISTRATOR,
                  "directoryScopeId": "/subscriptions/a" },
                { "principalId": dave, "roleDefinitionId": ids::GLOBAL_ADMINISTRATOR },
                { "principalId": ghost, "groupId": group, "accessId": "member" },
                { "principalId": dave, "groupId": group, "accessId": "owner" },
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let value = body["value"].as_array().unwrap();
    assert_eq!(value.len(), 4);
    assert_eq!(value[0]["allowed"], true);
    assert_eq!(value[1]["allowed"], false);
    assert_eq!(value[2]["allowed"], false);
    assert_eq!(value[2]["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(value[3]["allowed"], false);

    // Single checks: unknown ids are 404, malformed questions 400.
    let role = ids::GLOBAL_ADMINISTRATOR;
    for (url, want) in [
        (
            format!("/v1/access/check?principalId={ghost}&roleDefinitionId={role}"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/v1/access/check?principalId={dave}&roleDefinitionId={ghost}"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/v1/access/check?principalId={dave}&groupId={ghost}&accessId=member"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/v1/access/check?principalId={dave}&groupId={group}&accessId=admin"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/v1/access/check?principalId={dave}&groupId={group}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(
                "/v1/access/check?principalId={dave}&roleDefinitionId={role}&groupId={group}&accessId=member"
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(
                "/v1/access/check?principalId={dave}&roleDefinitionId={role}&directoryScopeId=x"
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/v1/access/check?principalId=nope&roleDefinitionId={role}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/v1/access/check?principalId={dave}&roleDefinitionId={role}&at=now"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(
                "/v1/access/check?principalId={dave}&principalId={dave}&roleDefinitionId={role}"
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/v1/access/check?roleDefinitionId={role}"),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, body) = t.get(&url, BOOTSTRAP).await;
        assert_eq!(status, want, "{url}: {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }

    // A batch with one malformed question answers nothing; too many questions is refused.
    let (status, body) = t
        .post(
            "/v1/access/check",
            BOOTSTRAP,
            json!({ "checks": [
                { "principalId": dave, "roleDefinitionId": role },
                { "principalId": dave, "groupId": group, "accessId": "boss" },
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("checks[1]")
    );
    let many: Vec<Value> = (0..1001)
        .map(|_| json!({ "principalId": dave, "roleDefinitionId": role }))
        .collect();
    let (status, _) = t
        .post("/v1/access/check", BOOTSTRAP, json!({ "checks": many }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Anyone may ask about themselves; about others only readers.
    let (status, _) = t
        .get(
            &format!("/v1/access/check?principalId={dave}&roleDefinitionId={role}"),
            &dave_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t
        .get(
            &format!("/v1/access/check?principalId={admin}&roleDefinitionId={role}"),
            &dave_token,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .post(
            "/v1/access/check",
            &dave_token,
            json!({ "checks": [
                { "principalId": dave, "roleDefinitionId": role },
                { "principalId": admin, "roleDefinitionId": role },
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn who_can_become_global_administrator() {
    let t = TestApp::new().await;
    let ga = ids::GLOBAL_ADMINISTRATOR;
    let tier0 = new_group(&t, "Tier 0 admins", true).await;
    let (status, body) = t
        .post(
            ASSIGNMENT_URL,
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": tier0, "roleDefinitionId": ga,
                    "directoryScopeId": "/", "justification": "tier 0",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P90D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let bob = t.user("bob").await;
    assert_eq!(add_member(&t, tier0, bob).await.0, StatusCode::NO_CONTENT);
    let alice = t.user("alice").await;
    t.make_eligible(alice, ga).await;
    let dave = t.person("dave").await;
    t.make_eligible(dave.id, ga).await;
    t.step_up(&dave).await;
    let (status, body) = t.activate(&dave, ga, "PT1H", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // carol can become Global Administrator by activating her membership of Tier 0.
    let carol = t.user("carol").await;
    let (status, body) = t
        .post(
            "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests",
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": carol, "groupId": tier0,
                    "accessId": "member", "justification": "break-glass rota",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, report) = t
        .get(
            &format!("/v1/roleManagement/directory/roleDefinitions/{ga}/exposure"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let marks: Vec<(String, String)> = report["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["displayName"].as_str().unwrap_or("?").to_string(),
                e["exposure"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("Emergency access", "standing"),
        ("Tier 0 admins", "standing"),
        ("bob", "standing"),
        ("dave", "active"),
        ("alice", "eligible"),
        ("dave", "eligible"),
        ("carol", "eligible"),
    ] {
        assert!(
            marks
                .iter()
                .any(|(n, m)| n.starts_with(expected.0) && m == expected.1),
            "{expected:?} missing from {marks:?}"
        );
    }
    let carol_entry = report["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["principalId"] == carol.to_string())
        .unwrap();
    assert_eq!(carol_entry["via"][0]["displayName"], "Tier 0 admins");
    assert_eq!(report["summary"]["active"], 1);
    assert_eq!(report["summary"]["eligible"], 3);

    // Readers only; unknown roles are 404.
    let token = t.sign_in("bob").await;
    let (status, _) = t
        .get(
            &format!("/v1/roleManagement/directory/roleDefinitions/{ga}/exposure"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "bob holds GA through Tier 0");
    let token = t.sign_in("alice").await;
    let (status, _) = t
        .get(
            &format!("/v1/roleManagement/directory/roleDefinitions/{ga}/exposure"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .get(
            &format!(
                "/v1/roleManagement/directory/roleDefinitions/{}/exposure",
                Uuid::new_v4()
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The same index on PostgreSQL: fed by the journal, rebuilt on restart.
#[tokio::test]
async fn the_index_on_postgresql() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    let outer = new_group(&t, "Outer", false).await;
    let inner = new_group(&t, "Inner", false).await;
    let erin = t.user("erin").await;
    assert_eq!(add_member(&t, inner, erin).await.0, StatusCode::NO_CONTENT);
    assert_eq!(add_member(&t, outer, inner).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        check_group(&t, erin, outer, "member").await["allowed"],
        true
    );
    let (status, body) = add_member(&t, inner, outer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a cycle: {body}");
    let again = t.restarted(t.clock.now_utc()).await;
    assert_eq!(
        check_group(&again, erin, outer, "member").await["allowed"],
        true
    );
}
