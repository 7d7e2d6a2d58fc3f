//! What a provisioning client must never do, written as the attacker would try it: use its
//! token elsewhere, outlive its revocation, gain or grant privilege, take over an account it
//! did not provision; and who owns what between a source and Eligo's administrators.

use axum::http::{Method, StatusCode};
use eligo_core::roles::ids;
use serde_json::json;

use super::*;

const PIM_GROUP_ELIGIBILITY: &str =
    "/v1/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests";

#[tokio::test]
async fn a_client_token_is_its_own_kind_of_credential() {
    let t = TestApp::new().await;
    let (id, token) = client(&t, "Okta").await;
    let created = t.audited_as("Add SCIM client").await;
    assert_eq!(created.len(), 1);
    assert!(
        created[0]["initiatedBy"]["user"]["id"].is_string(),
        "{created:?}"
    );
    assert!(
        !created[0].to_string().contains(&token),
        "the token is never on the record"
    );

    // Listed without its token; only a Global Administrator manages clients.
    let (_, listed) = t.get("/v1/scim/clients", BOOTSTRAP).await;
    assert_eq!(listed["value"][0]["id"], json!(id));
    assert!(!listed.to_string().contains(&token));
    let (_, uad) = t.admin("uad", ids::USER_ADMINISTRATOR).await;
    let (status, body) = t
        .post("/v1/scim/clients", &uad, json!({ "displayName": "Mine" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = t.delete(&format!("/v1/scim/clients/{id}"), &uad).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, pra) = t.admin("pra", ids::PRIVILEGED_ROLE_ADMINISTRATOR).await;
    let (status, _) = t
        .post("/v1/scim/clients", &pra, json!({ "displayName": "Mine" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A session or API token is refused at /scim/v2, and the client's token on /v1.
    for other in [BOOTSTRAP, uad.as_str()] {
        let (status, body) = scim(&t, Method::GET, "/Users", other, None).await;
        scim_error(status, &body, StatusCode::UNAUTHORIZED, None);
    }
    let (status, _) = scim(&t, Method::GET, "/Users", "scim_guessed", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for path in [
        "/v1/users",
        "/v1/me",
        "/v1/scim/clients",
        "/v1/roleManagement/directory/roleDefinitions",
    ] {
        let (status, body) = t.get(path, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
    }
    let (status, _) = t
        .post(
            ASSIGNMENT_URL,
            &token,
            json!({ "action": "adminAssign", "principalId": id, "roleDefinitionId": ids::GLOBAL_ADMINISTRATOR, "directoryScopeId": "/" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no role assignment with a SCIM token"
    );

    // Revoked: refused at once, and on the record.
    scim_user(&t, &token, "before").await;
    let (status, _) = t.delete(&format!("/v1/scim/clients/{id}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = scim(&t, Method::GET, "/Users", &token, None).await;
    scim_error(status, &body, StatusCode::UNAUTHORIZED, None);
    let (status, _) = scim(&t, Method::POST, "/Users", &token, Some(user_body("after"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let revoked = t.audited_as("Revoke SCIM client").await;
    let outcomes: Vec<&str> = revoked
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["success", "failure"],
        "the refused attempt is on the record too"
    );
    let (status, _) = t.delete(&format!("/v1/scim/clients/{id}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked once");
    // What it provisioned is Eligo's own again: an administrator can clean it up.
    let before = t
        .get(
            "/v1/users?$filter=userPrincipalName eq 'before@idp.example'",
            BOOTSTRAP,
        )
        .await
        .1;
    let user = before["value"][0]["id"]
        .as_str()
        .expect("provisioned")
        .to_string();
    let (status, body) = t
        .patch(
            &format!("/v1/users/{user}"),
            BOOTSTRAP,
            json!({ "displayName": "Cleaned up" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = t.delete(&format!("/v1/users/{user}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn a_client_never_gains_or_grants_privilege() {
    let t = TestApp::new().await;
    let (client_id, token) = client(&t, "Okta").await;

    // A user it provisioned becomes eligible for Global Administrator in Eligo: from then on
    // the client may not change it at all (Graph's protected targets).
    let mut admin_body = user_body("admin");
    admin_body["password"] = json!(PASSWORD);
    let (status, created) = scim(&t, Method::POST, "/Users", &token, Some(admin_body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let admin = uuid::Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    t.make_eligible(admin, ids::GLOBAL_ADMINISTRATOR).await;
    let attempts = [
        (
            Method::PATCH,
            Some(patch_op(
                json!([{ "op": "replace", "path": "displayName", "value": "Mallory" }]),
            )),
        ),
        (
            Method::PATCH,
            Some(patch_op(
                json!([{ "op": "replace", "path": "emails", "value": [{ "value": "attacker@evil.example", "primary": true }] }]),
            )),
        ),
        (
            Method::PATCH,
            Some(patch_op(
                json!([{ "op": "replace", "path": "password", "value": "a new password of mine" }]),
            )),
        ),
        (
            Method::PATCH,
            Some(patch_op(
                json!([{ "op": "replace", "path": "active", "value": false }]),
            )),
        ),
        (Method::DELETE, None),
    ];
    for (method, body) in attempts {
        let (status, answer) = scim(&t, method, &format!("/Users/{admin}"), &token, body).await;
        scim_error(status, &answer, StatusCode::FORBIDDEN, None);
        assert!(
            answer["detail"]
                .as_str()
                .unwrap()
                .contains("PrivilegedTarget"),
            "{answer}"
        );
    }
    let (_, still) = t.get(&format!("/v1/users/{admin}"), BOOTSTRAP).await;
    assert_eq!(still["displayName"], "admin Tester");
    assert_eq!(still["accountEnabled"], json!(true));
    // Refusals are audited with the client as the initiator.
    let refused = t.audited_as("Update user").await;
    assert!(
        refused
            .iter()
            .any(|e| e["result"] == "failure" && e["initiatedBy"]["app"]["id"] == json!(client_id)),
        "{refused:?}"
    );

    // A group of its own handed out through PIM for Groups is protected: no membership change.
    let member = scim_user(&t, &token, "member").await;
    let group = scim_group(&t, &token, "Database Admins", &[]).await;
    let eli = t.user("eli").await;
    let (status, body) = t
        .post(
            PIM_GROUP_ELIGIBILITY,
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": eli, "groupId": group, "accessId": "member",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "Eligo's layer on an imported group works: {body}"
    );
    let ops = patch_op(json!([{ "op": "add", "path": "members", "value": [{ "value": member }] }]));
    let (status, answer) = scim(
        &t,
        Method::PATCH,
        &format!("/Groups/{group}"),
        &token,
        Some(ops),
    )
    .await;
    scim_error(status, &answer, StatusCode::FORBIDDEN, None);
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains("ProtectedGroup"),
        "{answer}"
    );
    let (status, answer) = scim(
        &t,
        Method::DELETE,
        &format!("/Groups/{group}"),
        &token,
        None,
    )
    .await;
    scim_error(status, &answer, StatusCode::FORBIDDEN, None);

    // No role-assignable group: SCIM has no such attribute, and it is refused as unknown.
    let (status, answer) = scim(
        &t,
        Method::POST,
        "/Groups",
        &token,
        Some(json!({ "schemas": [GROUP], "displayName": "Sneaky", "isAssignableToRole": true })),
    )
    .await;
    scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );

    // A role-assignable group of Eligo's cannot be reached either.
    let (status, ra) = t
        .post(
            "/v1/groups",
            BOOTSTRAP,
            json!({ "displayName": "Tier0", "securityEnabled": true, "isAssignableToRole": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ra}");
    let ra = ra["id"].as_str().unwrap();
    let ops = patch_op(json!([{ "op": "add", "path": "members", "value": [{ "value": member }] }]));
    let (status, _) = scim(
        &t,
        Method::PATCH,
        &format!("/Groups/{ra}"),
        &token,
        Some(ops),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, answer) = scim(
        &t,
        Method::POST,
        "/Groups",
        &token,
        Some(json!({ "schemas": [GROUP], "displayName": "Wrap", "members": [{ "value": ra }] })),
    )
    .await;
    scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    let (_, members) = t.get(&format!("/v1/groups/{ra}/members"), BOOTSTRAP).await;
    assert_eq!(members["value"], json!([]));
}

#[tokio::test]
async fn a_client_cannot_take_over_what_it_did_not_provision() {
    let t = TestApp::new().await;
    let (_, token) = client(&t, "Okta").await;
    let (_, other_token) = client(&t, "Workday").await;
    // An Eligo-native Global Administrator (the break-glass kind of account).
    let (native, _) = t.admin("root", ids::GLOBAL_ADMINISTRATOR).await;
    let native_group = {
        let (_, g) = t
            .post(
                "/v1/groups",
                BOOTSTRAP,
                json!({ "displayName": "Native", "securityEnabled": true }),
            )
            .await;
        g["id"].as_str().unwrap().to_string()
    };

    // It cannot see it, find it, change it, delete it, nor claim its userName.
    let (_, found) = scim(
        &t,
        Method::GET,
        "/Users?filter=userName eq \"root@contoso.example\"",
        &token,
        None,
    )
    .await;
    assert_eq!(found["totalResults"], json!(0), "{found}");
    let (_, all) = scim(&t, Method::GET, "/Users", &token, None).await;
    assert_eq!(all["totalResults"], json!(0), "{all}");
    let take_over = patch_op(
        json!([{ "op": "replace", "path": "emails", "value": [{ "value": "attacker@evil.example" }] }]),
    );
    for (method, path, body) in [
        (Method::GET, format!("/Users/{native}"), None),
        (
            Method::PATCH,
            format!("/Users/{native}"),
            Some(take_over.clone()),
        ),
        (
            Method::PUT,
            format!("/Users/{native}"),
            Some(user_body("root")),
        ),
        (Method::DELETE, format!("/Users/{native}"), None),
        (
            Method::PATCH,
            format!("/Groups/{native_group}"),
            Some(patch_op(
                json!([{ "op": "replace", "path": "displayName", "value": "Mine" }]),
            )),
        ),
    ] {
        let (status, body) = scim(&t, method, &path, &token, body).await;
        scim_error(status, &body, StatusCode::NOT_FOUND, None);
    }
    let mut claim = user_body("root");
    claim["userName"] = json!("root@contoso.example");
    let (status, body) = scim(&t, Method::POST, "/Users", &token, Some(claim)).await;
    scim_error(status, &body, StatusCode::CONFLICT, Some("uniqueness"));
    let (_, still) = t.get(&format!("/v1/users/{native}"), BOOTSTRAP).await;
    assert_eq!(still["mail"], json!(null));

    // Nor what another client provisioned; nor put either into its groups.
    let theirs = scim_user(&t, &other_token, "theirs").await;
    let (status, _) = scim(&t, Method::GET, &format!("/Users/{theirs}"), &token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for member in [theirs, native] {
        let (status, body) = scim(&t, Method::POST, "/Groups", &token, Some(json!({ "schemas": [GROUP], "displayName": "Grab", "members": [{ "value": member }] }))).await;
        scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
    // The same externalId in two clients is two objects.
    let mut same = user_body("same");
    same["userName"] = json!("same-okta@idp.example");
    let (status, _) = scim(&t, Method::POST, "/Users", &token, Some(same.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    same["userName"] = json!("same-workday@idp.example");
    let (status, _) = scim(&t, Method::POST, "/Users", &other_token, Some(same)).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_source_is_authoritative_and_eligo_keeps_its_layer() {
    let t = TestApp::new().await;
    let (client_id, token) = client(&t, "Okta").await;
    let user = scim_user(&t, &token, "imported").await;
    let other = scim_user(&t, &token, "other").await;
    let group = scim_group(&t, &token, "Imported", &[user]).await;
    let native = t.user("native").await;

    // What the source owns answers 409 naming the source, through the API...
    let attempts = [
        (
            Method::PATCH,
            format!("/v1/users/{user}"),
            Some(json!({ "displayName": "Renamed" })),
        ),
        (
            Method::PATCH,
            format!("/v1/users/{user}"),
            Some(json!({ "mail": "x@y.example" })),
        ),
        (
            Method::PATCH,
            format!("/v1/users/{user}"),
            Some(json!({ "managerId": native })),
        ),
        (Method::DELETE, format!("/v1/users/{user}"), None),
        (
            Method::PATCH,
            format!("/v1/groups/{group}"),
            Some(json!({ "displayName": "Renamed" })),
        ),
        (Method::DELETE, format!("/v1/groups/{group}"), None),
        (
            Method::POST,
            format!("/v1/groups/{group}/members/$ref"),
            Some(
                json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{native}") }),
            ),
        ),
        (
            Method::DELETE,
            format!("/v1/groups/{group}/members/{user}/$ref"),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = t.call(method, &path, Some(BOOTSTRAP), body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {answer}");
        assert_eq!(code(&answer), "SourceAuthoritative", "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("\"Okta\"") && message.contains(&client_id.to_string()),
            "{message}"
        );
    }
    let (_, kept) = t.get(&format!("/v1/users/{user}"), BOOTSTRAP).await;
    assert_eq!(kept["displayName"], "imported Tester");

    // ...while Eligo's own layer keeps working: an owner, a PIM eligibility, a role.
    let (status, body) = t
        .post(
            &format!("/v1/groups/{group}/owners/$ref"),
            BOOTSTRAP,
            json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{native}") }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = t
        .post(
            PIM_GROUP_ELIGIBILITY,
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": other, "groupId": group, "accessId": "member",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.make_eligible(user, ids::USER_ADMINISTRATOR).await;
    // An imported group is mapped to a downstream system like any other: its effective
    // members (the source's and Eligo's activations) are pushed by the existing connectors.
    let (status, connector) = t
        .post(
            "/v1/connectors",
            BOOTSTRAP,
            json!({ "type": "webhook", "displayName": "downstream",
                    "settings": { "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef-secret" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{connector}");
    let (status, mapping) = t
        .post(
            &format!("/v1/groups/{group}/provisioning"),
            BOOTSTRAP,
            json!({ "connectorId": connector["id"], "target": "finance" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{mapping}");
    // An administrator may always pull the emergency stop; re-enabling is the source's.
    let (status, body) = t
        .patch(
            &format!("/v1/users/{other}"),
            BOOTSTRAP,
            json!({ "accountEnabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = t
        .patch(
            &format!("/v1/users/{other}"),
            BOOTSTRAP,
            json!({ "accountEnabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

async fn account_enabled(t: &TestApp, id: Uuid) -> Value {
    t.get(&format!("/v1/users/{id}"), BOOTSTRAP).await.1["accountEnabled"].clone()
}

/// An administrator's emergency stop holds against the client's routine resends: the account
/// follows the client's `active` only when the client's word changes.
#[tokio::test]
async fn a_routine_put_does_not_undo_an_administrators_stop() {
    let t = TestApp::new().await;
    let (_, token) = client(&t, "Okta").await;
    let id = scim_user(&t, &token, "rita").await;
    let path = format!("/Users/{id}");
    let (status, body) = t
        .patch(
            &format!("/v1/users/{id}"),
            BOOTSTRAP,
            json!({ "accountEnabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // The client's next PUT says active: true again, as it did; another leaves it out.
    let mut without = user_body("rita");
    without.as_object_mut().unwrap().remove("active");
    for body in [user_body("rita"), without] {
        let (status, answer) = scim(&t, Method::PUT, &path, &token, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["active"], json!(false), "{answer}");
        assert_eq!(account_enabled(&t, id).await, json!(false));
    }
    // The client's word changing is applied: off, then on again.
    let off = patch_op(json!([{ "op": "replace", "path": "active", "value": false }]));
    let (status, answer) = scim(&t, Method::PATCH, &path, &token, Some(off)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(account_enabled(&t, id).await, json!(false));
    let (status, answer) = scim(&t, Method::PUT, &path, &token, Some(user_body("rita"))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        account_enabled(&t, id).await,
        json!(true),
        "the client turned it back on"
    );
}

/// A client's word is on the record even when it changes nothing of Eligo's own fields: an
/// externalId, a name part, another mail address, of a user or a group.
#[tokio::test]
async fn what_a_client_says_beyond_eligos_fields_is_audited() {
    let t = TestApp::new().await;
    let (_, token) = client(&t, "Okta").await;
    let id = scim_user(&t, &token, "sami").await;
    let ops = patch_op(json!([
        { "op": "replace", "path": "externalId", "value": "ext-sami-2" },
        { "op": "replace", "path": "name.givenName", "value": "Samuel" },
    ]));
    let (status, body) = scim(
        &t,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(ops),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let updates = t.audited_as("Update user").await;
    let modified = updates
        .iter()
        .find(|e| e["result"] == "success")
        .map(|e| e["targetResources"][0]["modifiedProperties"].to_string())
        .unwrap_or_default();
    assert!(
        modified.contains("externalId") && modified.contains("ext-sami-2"),
        "{updates:?}"
    );
    assert!(
        modified.contains("source.name") && modified.contains("Samuel"),
        "{updates:?}"
    );
    // The same document again changes nothing, and adds no entry.
    let (status, body) = scim(&t, Method::GET, &format!("/Users/{id}"), &token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut again = body.clone();
    again.as_object_mut().unwrap().remove("meta");
    let (status, body) = scim(
        &t,
        Method::PUT,
        &format!("/Users/{id}"),
        &token,
        Some(again),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(t.audited_as("Update user").await.len(), updates.len());
    // A group's externalId alone.
    let group = scim_group(&t, &token, "Finance", &[]).await;
    let ops = patch_op(json!([{ "op": "replace", "path": "externalId", "value": "g-fin-2" }]));
    let (status, body) = scim(
        &t,
        Method::PATCH,
        &format!("/Groups/{group}"),
        &token,
        Some(ops),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let groups = t.audited_as("Update group").await;
    assert!(
        groups.iter().any(|e| e["result"] == "success"
            && e["targetResources"][0]["modifiedProperties"]
                .to_string()
                .contains("g-fin-2")),
        "{groups:?}"
    );
}

#[tokio::test]
async fn deactivation_and_deletion_run_the_cascades() {
    let t = TestApp::new().await;
    let (_, token) = client(&t, "Okta").await;
    let mut body = user_body("leaver");
    body["userName"] = json!("leaver@contoso.example");
    body["password"] = json!(PASSWORD);
    let (status, created) = scim(&t, Method::POST, "/Users", &token, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let session = t.password_sign_in("leaver").await;
    let (status, _) = t.get("/v1/me", &session).await;
    assert_eq!(status, StatusCode::OK);

    let off = patch_op(json!([{ "op": "replace", "path": "active", "value": false }]));
    let (status, patched) = scim(
        &t,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(off),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["active"], json!(false));
    let (status, _) = t.get("/v1/me", &session).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the session ended with the account"
    );

    let on = patch_op(json!([{ "op": "replace", "value": { "active": true } }]));
    let (status, _) = scim(&t, Method::PATCH, &format!("/Users/{id}"), &token, Some(on)).await;
    assert_eq!(status, StatusCode::OK);
    let session = t.password_sign_in("leaver").await;
    let (status, _) = scim(&t, Method::DELETE, &format!("/Users/{id}"), &token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = t.get("/v1/me", &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!t.audited_as("Delete user").await.is_empty());
}
