//! Users, groups, memberships and who may change them.

use axum::http::StatusCode;
use eligo_core::roles::ids;
use eligo_core::schedule::ScheduleKind;
use serde_json::json;
use uuid::Uuid;

use crate::harness::*;

async fn group(t: &TestApp, token: &str, name: &str, role_assignable: bool) -> Uuid {
    let (status, body) = t
        .post("/v1/groups", token, json!({ "displayName": name, "securityEnabled": true, "isAssignableToRole": role_assignable }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id_of(&body)
}

#[tokio::test]
async fn user_lifecycle_with_graph_spellings_filters_and_paging() {
    let t = TestApp::new().await;
    let (status, created) = t
        .post(
            "/v1/users",
            BOOTSTRAP,
            json!({
                "@odata.type": "#microsoft.graph.user",
                "accountEnabled": true,
                "displayName": "Adele Vance",
                "mailNickname": "AdeleV",
                "userPrincipalName": "AdeleV@contoso.example",
                "passwordProfile": { "forceChangePasswordNextSignIn": true, "password": PASSWORD }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = id_of(&created);
    assert!(created.get("passwordProfile").is_none() && !created.to_string().contains(PASSWORD));

    let (_, found) = t
        .get(
            "/v1/users?$filter=userPrincipalName eq 'adelev@CONTOSO.example'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(
        found["value"].as_array().unwrap().len(),
        1,
        "UPN compares case-insensitively"
    );
    let (_, found) = t
        .get(
            "/v1/users?$filter=startswith(displayName, 'adele')",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(found["value"][0]["id"], json!(id.to_string()));
    let (_, found) = t
        .get(
            "/v1/users?$filter=startswith(userPrincipalName, 'ADELEV@')",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(found["value"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["value"][0]["id"], json!(id.to_string()));

    let (status, _) = t
        .patch(
            &format!("/v1/users/{id}"),
            BOOTSTRAP,
            json!({ "displayName": "Adele V." }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, got) = t.get(&format!("/v1/users/{id}"), BOOTSTRAP).await;
    assert_eq!(got["displayName"], "Adele V.");

    let (status, body) = t
        .post(
            "/v1/users",
            BOOTSTRAP,
            json!({ "userPrincipalName": "ADELEV@contoso.example", "displayName": "dup" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue"
        )
    );

    for i in 0..5 {
        t.user(&format!("page{i}")).await;
    }
    // Page through everything two at a time; every user exactly once.
    let mut seen = Vec::new();
    let mut next = Some("/v1/users?$top=2".to_string());
    while let Some(link) = next {
        let (status, page) = t.get(&link, BOOTSTRAP).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["value"].as_array().unwrap().len() <= 2);
        seen.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].clone()),
        );
        next = page["@odata.nextLink"].as_str().map(String::from);
    }
    let mut unique = seen.clone();
    unique.sort_by_key(|v| v.to_string());
    unique.dedup();
    assert_eq!(seen.len(), 7, "break-glass, Adele and five more");
    assert_eq!(unique.len(), 7);

    assert_eq!(
        t.delete(&format!("/v1/users/{id}"), BOOTSTRAP).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&format!("/v1/users/{id}"), BOOTSTRAP).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_principal_without_a_role_reads_only_itself() {
    let t = TestApp::new().await;
    let me = t.user("erin").await;
    let other = t.user("frank").await;
    let token = t.sign_in("erin").await;
    assert_eq!(
        t.get(&format!("/v1/users/{me}"), &token).await.0,
        StatusCode::OK
    );
    let (status, body) = t.get(&format!("/v1/users/{other}"), &token).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "Authorization_RequestDenied")
    );
    assert_eq!(t.get("/v1/users", &token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/v1/groups", &token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        t.get("/v1/auditLogs/directoryAudits", &token).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = t
        .post(
            "/v1/users",
            &token,
            json!({ "userPrincipalName": "x@contoso.example", "displayName": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Role definitions are public to signed-in principals: people must see what they can activate.
    assert_eq!(
        t.get("/v1/roleManagement/directory/roleDefinitions", &token)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn user_administrators_never_touch_role_assignable_groups_or_administrators() {
    let t = TestApp::new().await;
    let (_, ua) = t.admin("uma", ids::USER_ADMINISTRATOR).await;
    let plain = t.user("erin").await;
    let admin = t.user("gina").await;
    // gina is only *eligible* for Global Administrator: that is enough to protect her account.
    t.grant(
        admin,
        ids::GLOBAL_ADMINISTRATOR,
        ScheduleKind::Eligible,
        None,
    )
    .await;

    let (status, _) = t
        .patch(
            &format!("/v1/users/{plain}"),
            &ua,
            json!({ "passwordProfile": { "password": "another long password" } }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "ordinary users' passwords are a user administrator's job"
    );
    let (status, body) = t
        .patch(
            &format!("/v1/users/{admin}"),
            &ua,
            json!({ "passwordProfile": { "password": "another long password" } }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        t.patch(
            &format!("/v1/users/{admin}"),
            &ua,
            json!({ "accountEnabled": false })
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.delete(&format!("/v1/users/{admin}"), &ua).await.0,
        StatusCode::FORBIDDEN
    );
    // Global Administrator may.
    let (status, _) = t
        .patch(
            &format!("/v1/users/{admin}"),
            BOOTSTRAP,
            json!({ "passwordProfile": { "password": "another long password" } }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let ordinary = group(&t, &ua, "Helpdesk Team", false).await;
    assert_eq!(
        t.post(
            &format!("/v1/groups/{ordinary}/members"),
            &ua,
            json!({ "id": plain })
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (status, _) = t
        .post(
            "/v1/groups",
            &ua,
            json!({ "displayName": "Tier 0", "securityEnabled": true, "isAssignableToRole": true }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let protected = group(&t, BOOTSTRAP, "Tier 0", true).await;
    let (status, _) = t
        .post(
            &format!("/v1/groups/{protected}/members"),
            &ua,
            json!({ "id": plain }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.delete(&format!("/v1/groups/{protected}"), &ua).await.0,
        StatusCode::FORBIDDEN
    );

    let (_, pra) = t.admin("pria", ids::PRIVILEGED_ROLE_ADMINISTRATOR).await;
    assert_eq!(
        t.post(
            &format!("/v1/groups/{protected}/members"),
            &pra,
            json!({ "id": plain })
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn roles_held_through_a_role_assignable_group_authorize() {
    let t = TestApp::new().await;
    let member = t.user("hank").await;
    let token = t.sign_in("hank").await;
    let tier0 = group(&t, BOOTSTRAP, "Readers", true).await;
    t.grant(tier0, ids::GLOBAL_READER, ScheduleKind::Active, None)
        .await;
    assert_eq!(t.get("/v1/users", &token).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        t.post(
            &format!("/v1/groups/{tier0}/members"),
            BOOTSTRAP,
            json!({ "id": member })
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get("/v1/users", &token).await.0,
        StatusCode::OK,
        "the group's role reaches its member at once"
    );
    assert_eq!(
        t.post(
            "/v1/users",
            &token,
            json!({ "userPrincipalName": "z@contoso.example", "displayName": "z" })
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // Eligibility grants nothing until activated.
    let idle = t.user("ivy").await;
    t.grant(
        idle,
        ids::GLOBAL_ADMINISTRATOR,
        ScheduleKind::Eligible,
        None,
    )
    .await;
    let ivy = t.sign_in("ivy").await;
    assert_eq!(t.get("/v1/users", &ivy).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_ended_role_grants_nothing_even_before_any_expiry_job() {
    let t = TestApp::new().await;
    let id = t.user("jack").await;
    t.grant(
        id,
        ids::GLOBAL_READER,
        ScheduleKind::Active,
        Some(chrono::TimeDelta::hours(1)),
    )
    .await;
    let token = t.sign_in("jack").await;
    assert_eq!(t.get("/v1/users", &token).await.0, StatusCode::OK);
    t.clock
        .advance(chrono::TimeDelta::minutes(59) + chrono::TimeDelta::seconds(59));
    assert_eq!(t.get("/v1/users", &token).await.0, StatusCode::OK);
    t.clock.advance(chrono::TimeDelta::seconds(1));
    assert_eq!(
        t.get("/v1/users", &token).await.0,
        StatusCode::FORBIDDEN,
        "the window is [start, end)"
    );
}

#[tokio::test]
async fn owners_manage_membership_but_never_add_themselves() {
    let t = TestApp::new().await;
    // Olga has an authenticator: changing members needs a fresh second factor.
    let owner = t.person("olga").await.id;
    let someone = t.user("sam").await;
    let g = group(&t, BOOTSTRAP, "Compliance Portal Admins", true).await;
    assert_eq!(t.post(&format!("/v1/groups/{g}/owners/$ref"), BOOTSTRAP, json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{owner}") })).await.0, StatusCode::NO_CONTENT);
    let token = t.sign_in("olga").await;
    assert_eq!(
        t.post(
            &format!("/v1/groups/{g}/members"),
            &token,
            json!({ "id": someone })
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = t
        .post(
            &format!("/v1/groups/{g}/members"),
            &token,
            json!({ "id": owner }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["details"][0]["code"], "SelfEscalationDenied");
    let (_, members) = t.get(&format!("/v1/groups/{g}/members"), &token).await;
    assert_eq!(members["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        t.delete(&format!("/v1/groups/{g}/members/{someone}/$ref"), &token)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    // A non-owner without a role cannot touch it.
    let sam = t.sign_in("sam").await;
    assert_eq!(
        t.post(
            &format!("/v1/groups/{g}/members"),
            &sam,
            json!({ "id": someone })
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}

/// Threat-model rule 3: an owner who may not add themselves may not add a group they are in
/// either, since nesting it makes them a member all the same.
#[tokio::test]
async fn owners_never_add_a_group_they_are_in() {
    let t = TestApp::new().await;
    let owner = t.person("olga").await.id;
    let g = group(&t, BOOTSTRAP, "Finance Approvers", false).await;
    let staff = group(&t, BOOTSTRAP, "All staff", false).await;
    let inner = group(&t, BOOTSTRAP, "Finance team", false).await;
    let other = group(&t, BOOTSTRAP, "Contractors", false).await;
    let add = |g: Uuid, id: Uuid| (format!("/v1/groups/{g}/members"), json!({ "id": id }));
    for (parent, child) in [(staff, inner), (inner, owner)] {
        let (path, body) = add(parent, child);
        assert_eq!(
            t.post(&path, BOOTSTRAP, body).await.0,
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(t.post(&format!("/v1/groups/{g}/owners/$ref"), BOOTSTRAP, json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{owner}") })).await.0, StatusCode::NO_CONTENT);
    let token = t.sign_in("olga").await;
    // Olga is in "All staff" through "Finance team": neither may be nested into her group.
    for nested in [staff, inner] {
        let (path, body) = add(g, nested);
        let (status, body) = t.post(&path, &token, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["details"][0]["code"], "SelfEscalationDenied");
    }
    let (_, of) = t
        .get(&format!("/v1/users/{owner}/transitiveMemberOf"), &token)
        .await;
    let ids: Vec<&str> = of["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["id"].as_str())
        .collect();
    assert!(!ids.contains(&g.to_string().as_str()), "{of}");
    // A group she is not in is hers to add.
    let (path, body) = add(g, other);
    assert_eq!(t.post(&path, &token, body).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn nesting_is_transitive_and_cycles_are_refused() {
    let t = TestApp::new().await;
    let u = t.user("nina").await;
    let a = group(&t, BOOTSTRAP, "A", false).await;
    let b = group(&t, BOOTSTRAP, "B", false).await;
    let c = group(&t, BOOTSTRAP, "C", false).await;
    let ra = group(&t, BOOTSTRAP, "RA", true).await;
    for (parent, child) in [(a, b), (b, c)] {
        assert_eq!(
            t.post(
                &format!("/v1/groups/{parent}/members"),
                BOOTSTRAP,
                json!({ "id": child })
            )
            .await
            .0,
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        t.post(
            &format!("/v1/groups/{c}/members"),
            BOOTSTRAP,
            json!({ "id": u })
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = t
        .post(
            &format!("/v1/groups/{c}/members"),
            BOOTSTRAP,
            json!({ "id": a }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "NestingCycle")
    );
    let (status, body) = t
        .post(
            &format!("/v1/groups/{ra}/members"),
            BOOTSTRAP,
            json!({ "id": a }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "NestingNotAllowed")
    );

    let (_, of) = t
        .get(&format!("/v1/users/{u}/transitiveMemberOf"), BOOTSTRAP)
        .await;
    let mut names: Vec<_> = of["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["A", "B", "C"]);
    let (_, members) = t
        .get(&format!("/v1/groups/{a}/transitiveMembers"), BOOTSTRAP)
        .await;
    assert_eq!(
        members["value"].as_array().unwrap().len(),
        3,
        "B, C and the user"
    );
    let (_, check) = t
        .post(
            &format!("/v1/users/{u}/checkMemberGroups"),
            BOOTSTRAP,
            json!({ "groupIds": [a, ra, c] }),
        )
        .await;
    assert_eq!(check["value"], json!([a.to_string(), c.to_string()]));
    // Removing the middle link cuts the path.
    assert_eq!(
        t.delete(&format!("/v1/groups/{a}/members/{b}"), BOOTSTRAP)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, check) = t
        .post(
            &format!("/v1/users/{u}/checkMemberGroups"),
            BOOTSTRAP,
            json!({ "groupIds": [a] }),
        )
        .await;
    assert_eq!(check["value"], json!([]));
}

#[tokio::test]
async fn custom_roles_authorize_by_their_actions() {
    let t = TestApp::new().await;
    let (status, role) = t
        .post(
            "/v1/roleManagement/directory/roleDefinitions",
            BOOTSTRAP,
            json!({ "displayName": "User Creator", "rolePermissions": [{ "allowedResourceActions": ["microsoft.directory/users/create"] }], "isEnabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    assert_eq!(role["isBuiltIn"], false);
    let (_, filtered) = t
        .get(
            "/v1/roleManagement/directory/roleDefinitions?$filter=displayName eq 'user creator'",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(filtered["value"].as_array().unwrap().len(), 1);
    let (_, token) = t.admin("cora", role["id"].as_str().unwrap()).await;
    assert_eq!(
        t.post(
            "/v1/users",
            &token,
            json!({ "userPrincipalName": "new@contoso.example", "displayName": "New" })
        )
        .await
        .0,
        StatusCode::CREATED
    );
    assert_eq!(
        t.get("/v1/users", &token).await.0,
        StatusCode::FORBIDDEN,
        "creating is not reading"
    );
}

#[tokio::test]
async fn directory_works_the_same_on_postgres() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    let u = t.user("pat").await;
    let g = group(&t, BOOTSTRAP, "PG Group", false).await;
    assert_eq!(
        t.post(
            &format!("/v1/groups/{g}/members"),
            BOOTSTRAP,
            json!({ "id": u })
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let token = t.sign_in("pat").await;
    assert_eq!(t.get("/v1/me", &token).await.1["id"], json!(u.to_string()));
    let (_, found) = t
        .get(
            "/v1/groups?$filter=startswith(displayName, 'pg')",
            BOOTSTRAP,
        )
        .await;
    assert_eq!(found["value"].as_array().unwrap().len(), 1);
    let (_, verify) = t.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(verify["valid"], true);
}
