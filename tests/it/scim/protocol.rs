//! The protocol: discovery, CRUD, filters, paging, PATCH, and bad input answered with SCIM's
//! errors while nothing changes.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::*;

#[tokio::test]
async fn discovery_endpoints_describe_what_eligo_keeps() {
    let t = TestApp::new().await;
    let (_, token) = client(&t, "Okta").await;
    let (status, spc) = scim(&t, Method::GET, "/ServiceProviderConfig", &token, None).await;
    assert_eq!(status, StatusCode::OK, "{spc}");
    assert_eq!(spc["patch"]["supported"], json!(true));
    assert_eq!(spc["filter"]["supported"], json!(true));
    let (_, types) = scim(&t, Method::GET, "/ResourceTypes", &token, None).await;
    assert_eq!(types["totalResults"], json!(2));
    let (status, user_type) = scim(&t, Method::GET, "/ResourceTypes/User", &token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        user_type["schemaExtensions"][0]["schema"],
        json!(ENTERPRISE)
    );
    let (_, schemas) = scim(&t, Method::GET, "/Schemas", &token, None).await;
    assert_eq!(schemas["totalResults"], json!(3));
    let (status, user_schema) =
        scim(&t, Method::GET, &format!("/Schemas/{USER}"), &token, None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = user_schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "userName",
            "name",
            "displayName",
            "emails",
            "active",
            "password"
        ]
    );
    let (status, body) = scim(&t, Method::GET, "/Nothing", &token, None).await;
    scim_error(status, &body, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn user_lifecycle_with_filters_paging_and_patch() {
    let t = TestApp::new().await;
    let (client_id, token) = client(&t, "Okta").await;
    let manager = scim_user(&t, &token, "boss").await;
    let mut body = user_body("bjensen");
    body["schemas"] = json!([USER, ENTERPRISE]);
    body[ENTERPRISE] = json!({ "manager": { "value": manager } });
    let (status, created) = scim(&t, Method::POST, "/Users", &token, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["userName"], "bjensen@idp.example");
    assert_eq!(created["externalId"], "ext-bjensen");
    assert_eq!(created["name"]["givenName"], "bjensen");
    assert_eq!(created[ENTERPRISE]["manager"]["value"], json!(manager));
    assert!(created["meta"]["location"].as_str().unwrap().ends_with(&id));

    // Eligo's own view: the same user, mail from the primary email, its manager.
    let (status, graph) = t.get(&format!("/v1/users/{id}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK, "{graph}");
    assert_eq!(graph["userPrincipalName"], "bjensen@idp.example");
    assert_eq!(graph["mail"], "bjensen@mail.example");

    // The SCIM creation is on the record with the client as an application initiator.
    let added = t.audited_as("Add user").await;
    assert!(
        added
            .iter()
            .any(|e| e["initiatedBy"]["app"]["id"] == json!(client_id)),
        "{added:?}"
    );

    for n in 0..5 {
        scim_user(&t, &token, &format!("page{n}")).await;
    }
    let (_, found) = scim(
        &t,
        Method::GET,
        "/Users?filter=userName eq \"BJENSEN@idp.example\"",
        &token,
        None,
    )
    .await;
    assert_eq!(found["totalResults"], json!(1), "{found}");
    assert_eq!(found["Resources"][0]["id"], json!(id));
    let (_, found) = scim(
        &t,
        Method::GET,
        "/Users?filter=externalId eq \"ext-bjensen\"",
        &token,
        None,
    )
    .await;
    assert_eq!(found["totalResults"], json!(1), "{found}");
    let (_, found) = scim(
        &t,
        Method::GET,
        "/Users?filter=userName sw \"page\" and active eq true",
        &token,
        None,
    )
    .await;
    assert_eq!(found["totalResults"], json!(5), "{found}");
    let (_, found) = scim(
        &t,
        Method::GET,
        "/Users?filter=emails.value co \"bjensen\" or displayName eq \"boss Tester\"",
        &token,
        None,
    )
    .await;
    assert_eq!(found["totalResults"], json!(2), "{found}");
    let (_, found) = scim(
        &t,
        Method::GET,
        "/Users?filter=name.familyName pr",
        &token,
        None,
    )
    .await;
    assert_eq!(found["totalResults"], json!(7), "{found}");
    let (_, page) = scim(&t, Method::GET, "/Users?startIndex=3&count=2", &token, None).await;
    assert_eq!(page["totalResults"], json!(7));
    assert_eq!(page["startIndex"], json!(3));
    assert_eq!(page["itemsPerPage"], json!(2));
    assert_eq!(page["Resources"].as_array().unwrap().len(), 2);

    // PATCH: replace a sub-attribute, add an email, remove the manager.
    let ops = patch_op(json!([
        { "op": "replace", "path": "name.givenName", "value": "Barbara" },
        { "op": "add", "path": "emails", "value": [{ "value": "b@home.example", "type": "home" }] },
        { "op": "remove", "path": format!("{ENTERPRISE}:manager") },
        { "op": "replace", "value": { "displayName": "Babs Jensen" } },
    ]));
    let (status, patched) = scim(
        &t,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(ops),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"]["givenName"], "Barbara");
    assert_eq!(patched["emails"].as_array().unwrap().len(), 2);
    assert_eq!(patched["displayName"], "Babs Jensen");
    assert!(patched.get(ENTERPRISE).is_none(), "{patched}");
    let ops = patch_op(json!([{ "op": "remove", "path": "emails[type eq \"home\"]" }]));
    let (status, patched) = scim(
        &t,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(ops),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["emails"].as_array().unwrap().len(), 1);

    // PUT replaces the whole resource.
    let mut put = user_body("bjensen");
    put["displayName"] = json!("B. Jensen");
    put["emails"] = json!([]);
    let (status, replaced) =
        scim(&t, Method::PUT, &format!("/Users/{id}"), &token, Some(put)).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["displayName"], "B. Jensen");
    assert!(replaced.get("emails").is_none(), "{replaced}");
    let (_, graph) = t.get(&format!("/v1/users/{id}"), BOOTSTRAP).await;
    assert_eq!(graph["mail"], json!(null));

    // A userName without a domain is kept as sent.
    let mut plain = user_body("x");
    plain["userName"] = json!("plainname");
    plain["externalId"] = json!("plain");
    let (status, created) = scim(&t, Method::POST, "/Users", &token, Some(plain)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["userName"], "plainname");
    let (_, found) = scim(
        &t,
        Method::GET,
        "/Users?filter=userName eq \"plainname\"",
        &token,
        None,
    )
    .await;
    assert_eq!(found["totalResults"], json!(1), "{found}");

    let (status, _) = scim(&t, Method::DELETE, &format!("/Users/{id}"), &token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = scim(&t, Method::GET, &format!("/Users/{id}"), &token, None).await;
    scim_error(status, &body, StatusCode::NOT_FOUND, None);
}

#[tokio::test]
async fn groups_with_members_put_and_patch() {
    let t = TestApp::new().await;
    let (_, token) = client(&t, "Okta").await;
    let a = scim_user(&t, &token, "a").await;
    let b = scim_user(&t, &token, "b").await;
    let c = scim_user(&t, &token, "c").await;
    let g = scim_group(&t, &token, "Engineers", &[a, b]).await;
    let (_, got) = scim(&t, Method::GET, &format!("/Groups/{g}"), &token, None).await;
    assert_eq!(got["members"].as_array().unwrap().len(), 2, "{got}");
    assert_eq!(got["externalId"], "g-Engineers");
    // Eligo's view: the same direct members.
    let (_, members) = t.get(&format!("/v1/groups/{g}/members"), BOOTSTRAP).await;
    assert_eq!(members["value"].as_array().unwrap().len(), 2, "{members}");

    let ops = patch_op(json!([
        { "op": "add", "path": "members", "value": [{ "value": c }] },
        { "op": "remove", "path": format!("members[value eq \"{a}\"]") },
    ]));
    let (status, patched) = scim(
        &t,
        Method::PATCH,
        &format!("/Groups/{g}"),
        &token,
        Some(ops),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let ids: Vec<&str> = patched["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&b.to_string().as_str()) && ids.contains(&c.to_string().as_str()));

    // Nested: a group may be a member of an ordinary group.
    let inner = scim_group(&t, &token, "Inner", &[]).await;
    let put = json!({ "schemas": [GROUP], "displayName": "Engineering", "members": [{ "value": inner }] });
    let (status, replaced) =
        scim(&t, Method::PUT, &format!("/Groups/{g}"), &token, Some(put)).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["displayName"], "Engineering");
    assert!(
        replaced["members"][0]["$ref"]
            .as_str()
            .unwrap()
            .contains("/Groups/")
    );
    assert!(replaced.get("externalId").is_none(), "{replaced}");

    let (_, found) = scim(
        &t,
        Method::GET,
        "/Groups?filter=displayName eq \"engineering\"",
        &token,
        None,
    )
    .await;
    assert_eq!(found["totalResults"], json!(1), "{found}");
    let (_, found) = scim(
        &t,
        Method::GET,
        &format!("/Groups?filter=members.value eq \"{inner}\""),
        &token,
        None,
    )
    .await;
    assert_eq!(found["totalResults"], json!(1), "{found}");

    let (status, _) = scim(&t, Method::DELETE, &format!("/Groups/{g}"), &token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = t.get(&format!("/v1/groups/{g}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_input_is_a_scim_error_and_changes_nothing() {
    let t = TestApp::new().await;
    let (_, token) = client(&t, "Okta").await;
    let id = scim_user(&t, &token, "keep").await;
    let before = t.audited_as("Update user").await.len();
    let total = total_users(&t, &token).await;

    let mut unknown = user_body("u1");
    unknown["title"] = json!("Boss");
    let mut wrong_schema = user_body("u2");
    wrong_schema["schemas"] = json!(["urn:example:Widget"]);
    let mut no_schema = user_body("u3");
    no_schema.as_object_mut().unwrap().remove("schemas");
    let mut bad_type = user_body("u4");
    bad_type["active"] = json!("yes");
    let mut bad_mail = user_body("u5");
    bad_mail["emails"] = json!([{ "value": "not an address" }]);
    let mut bad_manager = user_body("u6");
    bad_manager["schemas"] = json!([USER, ENTERPRISE]);
    bad_manager[ENTERPRISE] = json!({ "manager": { "value": "nobody" } });
    let mut ext_unknown = user_body("u7");
    ext_unknown["schemas"] = json!([USER, ENTERPRISE]);
    ext_unknown[ENTERPRISE] = json!({ "costCenter": "42" });
    let duplicate = user_body("keep");
    for (body, status_want, scim_type) in [
        (unknown, StatusCode::BAD_REQUEST, "invalidSyntax"),
        (wrong_schema, StatusCode::BAD_REQUEST, "invalidValue"),
        (no_schema, StatusCode::BAD_REQUEST, "invalidSyntax"),
        (bad_type, StatusCode::BAD_REQUEST, "invalidValue"),
        (bad_mail, StatusCode::BAD_REQUEST, "invalidValue"),
        (bad_manager, StatusCode::BAD_REQUEST, "invalidValue"),
        (ext_unknown, StatusCode::BAD_REQUEST, "invalidSyntax"),
        (duplicate, StatusCode::CONFLICT, "uniqueness"),
    ] {
        let (status, body) = scim(&t, Method::POST, "/Users", &token, Some(body)).await;
        scim_error(status, &body, status_want, Some(scim_type));
    }
    // The same externalId twice for one client is a uniqueness error too.
    let mut same_ext = user_body("other");
    same_ext["externalId"] = json!("ext-keep");
    let (status, body) = scim(&t, Method::POST, "/Users", &token, Some(same_ext)).await;
    scim_error(status, &body, StatusCode::CONFLICT, Some("uniqueness"));

    for filter in [
        "userName ne \"x\"",
        "title eq \"x\"",
        "not (userName eq \"x\")",
        "emails[type eq \"work\"]",
        "userName eq",
    ] {
        let (status, body) = scim(
            &t,
            Method::GET,
            &format!("/Users?filter={filter}"),
            &token,
            None,
        )
        .await;
        scim_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
        );
    }

    for (ops, scim_type) in [
        (json!([{ "op": "remove" }]), "noTarget"),
        (
            json!([{ "op": "move", "path": "displayName", "value": "x" }]),
            "invalidSyntax",
        ),
        (
            json!([{ "op": "replace", "path": "title", "value": "x" }]),
            "invalidPath",
        ),
        (
            json!([{ "op": "replace", "path": "emails[type eq \"none\"].value", "value": "x@y" }]),
            "noTarget",
        ),
        (
            json!([{ "op": "replace", "path": "active", "value": "no" }]),
            "invalidValue",
        ),
        (
            json!([{ "op": "replace", "path": "displayName" }]),
            "invalidValue",
        ),
    ] {
        let (status, body) = scim(
            &t,
            Method::PATCH,
            &format!("/Users/{id}"),
            &token,
            Some(patch_op(ops)),
        )
        .await;
        scim_error(status, &body, StatusCode::BAD_REQUEST, Some(scim_type));
    }
    let (status, body) = scim(
        &t,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        Some(json!({ "schemas": [USER], "Operations": [] })),
    )
    .await;
    scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );

    // Malformed JSON, a wrong media type.
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Users")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(axum::body::Body::from("{\"schemas\": ["))
        .unwrap();
    let (status, body) = t.raw(req).await;
    scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Users")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "text/plain")
        .body(axum::body::Body::from(user_body("plain").to_string()))
        .unwrap();
    let (status, body) = t.raw(req).await;
    scim_error(status, &body, StatusCode::UNSUPPORTED_MEDIA_TYPE, None);

    assert_eq!(total_users(&t, &token).await, total, "nothing was created");
    assert_eq!(
        t.audited_as("Update user").await.len(),
        before,
        "nothing was changed"
    );
    let (_, kept) = scim(&t, Method::GET, &format!("/Users/{id}"), &token, None).await;
    assert_eq!(kept["displayName"], "keep Tester");
}

async fn total_users(t: &TestApp, token: &str) -> serde_json::Value {
    let (_, all) = scim(t, Method::GET, "/Users", token, None).await;
    all["totalResults"].clone()
}

#[tokio::test]
async fn attributes_projection_and_search() {
    let t = TestApp::new().await;
    let (_, token) = client(&t, "Okta").await;
    let id = scim_user(&t, &token, "proj").await;
    scim_group(&t, &token, "Team", &[id]).await;
    let (_, only) = scim(
        &t,
        Method::GET,
        &format!("/Users/{id}?attributes=userName,name.givenName"),
        &token,
        None,
    )
    .await;
    assert_eq!(only["userName"], "proj@idp.example");
    assert_eq!(only["name"], json!({ "givenName": "proj" }));
    assert!(
        only.get("emails").is_none() && only["id"] == json!(id),
        "{only}"
    );
    let (_, without) = scim(
        &t,
        Method::GET,
        &format!("/Users/{id}?excludedAttributes=emails,name"),
        &token,
        None,
    )
    .await;
    assert!(
        without.get("emails").is_none() && without.get("name").is_none(),
        "{without}"
    );
    assert_eq!(without["displayName"], "proj Tester");

    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "displayName sw \"proj\"",
        "attributes": ["displayName"],
        "startIndex": 1,
        "count": 10,
    });
    let (status, found) = scim(&t, Method::POST, "/Users/.search", &token, Some(search)).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["totalResults"], json!(1));
    assert!(found["Resources"][0].get("userName").is_none());
    let everything = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"] });
    let (_, found) = scim(&t, Method::POST, "/.search", &token, Some(everything)).await;
    assert_eq!(found["totalResults"], json!(2), "users and groups: {found}");
    let (status, body) = scim(
        &t,
        Method::POST,
        "/.search",
        &token,
        Some(json!({ "schemas": [USER] })),
    )
    .await;
    scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );
}

/// A list without a filter reads only its page: the right groups in creation order, the
/// total of all the client's groups, and members only when the answer shows them.
#[tokio::test]
async fn group_pages_answer_in_order_with_members_only_when_shown() {
    let t = TestApp::new().await;
    let (_, token) = client(&t, "Okta").await;
    let (_, other) = client(&t, "Workday").await;
    let a = scim_user(&t, &token, "a").await;
    let mut groups = Vec::new();
    for n in 0..5 {
        groups.push(scim_group(&t, &token, &format!("G{n}"), &[a]).await);
    }
    // Another client's group is never counted nor shown.
    scim_group(&t, &other, "Theirs", &[]).await;

    let ids = |page: &serde_json::Value| -> Vec<String> {
        page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = scim(&t, Method::GET, "/Groups?count=100", &token, None).await;
    let all = ids(&all);
    let mut expected: Vec<String> = groups.iter().map(Uuid::to_string).collect();
    expected.sort();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "exactly the client's groups");
    let (_, page) = scim(
        &t,
        Method::GET,
        "/Groups?startIndex=2&count=2",
        &token,
        None,
    )
    .await;
    assert_eq!(page["totalResults"], json!(5), "{page}");
    assert_eq!(page["itemsPerPage"], json!(2));
    assert_eq!(
        ids(&page),
        all[1..3],
        "the page is the second and third of one order"
    );
    assert_eq!(
        page["Resources"][0]["members"][0]["value"],
        json!(a.to_string())
    );

    for query in [
        "/Groups?excludedAttributes=members",
        "/Groups?attributes=displayName",
        "/Groups?attributes=urn:ietf:params:scim:schemas:core:2.0:Group:displayName&count=10",
    ] {
        let (_, page) = scim(&t, Method::GET, query, &token, None).await;
        assert_eq!(page["totalResults"], json!(5), "{query}: {page}");
        for r in page["Resources"].as_array().unwrap() {
            assert!(r.get("members").is_none(), "{query}: {r}");
            assert!(r["displayName"].as_str().unwrap().starts_with('G'), "{r}");
        }
    }
    let (_, page) = scim(
        &t,
        Method::GET,
        "/Groups?attributes=members.value",
        &token,
        None,
    )
    .await;
    assert_eq!(
        page["Resources"][0]["members"][0]["value"],
        json!(a.to_string()),
        "{page}"
    );
    // Past the end: the total, and no resources.
    let (_, page) = scim(&t, Method::GET, "/Groups?startIndex=9", &token, None).await;
    assert_eq!(page["totalResults"], json!(5));
    assert_eq!(page["itemsPerPage"], json!(0));
    assert_eq!(page["Resources"], json!([]));
}

/// A group write is one transaction: when one of its member changes is refused, the names and
/// the other members stay as they were, and the audit trail holds no part of it.
#[tokio::test]
async fn a_group_write_is_whole_or_not_at_all() {
    let t = TestApp::new().await;
    let (_, token) = client(&t, "Okta").await;
    let a = scim_user(&t, &token, "a").await;
    let b = scim_user(&t, &token, "b").await;
    let inner = scim_group(&t, &token, "Inner", &[a]).await;
    let outer = scim_group(&t, &token, "Outer", &[inner]).await;
    let entries = |body: &Value| body["value"].as_array().map_or(0, Vec::len);
    let (_, before) = t
        .get("/v1/auditLogs/directoryAudits?$top=500", BOOTSTRAP)
        .await;

    // Adding `outer` to `inner` would make a cycle: with it, b's add and the rename are undone.
    let put = json!({
        "schemas": [GROUP],
        "displayName": "Renamed",
        "members": [{ "value": a }, { "value": b }, { "value": outer }],
    });
    let (status, body) = scim(
        &t,
        Method::PUT,
        &format!("/Groups/{inner}"),
        &token,
        Some(put),
    )
    .await;
    assert!(status.is_client_error(), "{status} {body}");
    let ops = patch_op(json!([
        { "op": "add", "path": "members", "value": [{ "value": b }, { "value": outer }] },
        { "op": "remove", "path": format!("members[value eq \"{a}\"]") },
    ]));
    let (status, body) = scim(
        &t,
        Method::PATCH,
        &format!("/Groups/{inner}"),
        &token,
        Some(ops),
    )
    .await;
    assert!(status.is_client_error(), "{status} {body}");

    let (_, got) = scim(&t, Method::GET, &format!("/Groups/{inner}"), &token, None).await;
    assert_eq!(got["displayName"], "Inner", "{got}");
    let members: Vec<&str> = got["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, [a.to_string()], "{got}");
    let (_, eligo) = t
        .get(&format!("/v1/groups/{inner}/members"), BOOTSTRAP)
        .await;
    assert_eq!(eligo["value"].as_array().unwrap().len(), 1, "{eligo}");
    // No member change nor rename is on the record (a refusal may be, as a failure).
    let (_, after) = t
        .get("/v1/auditLogs/directoryAudits?$top=500", BOOTSTRAP)
        .await;
    let added: Vec<&Value> = after["value"]
        .as_array()
        .unwrap()
        .iter()
        .take(entries(&after) - entries(&before))
        .collect();
    let about_groups: Vec<&&Value> = added
        .iter()
        .filter(|e| {
            e["activityDisplayName"]
                .as_str()
                .is_some_and(|a| a.to_ascii_lowercase().contains("group"))
        })
        .collect();
    for entry in about_groups {
        assert_eq!(entry["result"], "failure", "{entry}");
    }

    // The same changes without the cycle go through whole.
    let ops = patch_op(json!([
        { "op": "add", "path": "members", "value": [{ "value": b }] },
        { "op": "remove", "path": format!("members[value eq \"{a}\"]") },
        { "op": "replace", "path": "displayName", "value": "Renamed" },
    ]));
    let (status, got) = scim(
        &t,
        Method::PATCH,
        &format!("/Groups/{inner}"),
        &token,
        Some(ops),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["displayName"], "Renamed");
    assert_eq!(got["members"][0]["value"], json!(b.to_string()), "{got}");
    assert_eq!(got["members"].as_array().unwrap().len(), 1);
}
