//! The picker behind every "who" field: `/portal/pick` answers matches by name or user-name
//! prefix, only of the kinds the viewer may read, each with the text that names it alone;
//! and a form that gets a name matching nothing or several things says which to type.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::browser::{Browser, Page};
use crate::harness::{BOOTSTRAP, TestApp};

const DEMO_PASSWORD: &str = eligo::service::demo::DEMO_PASSWORD;

fn results(page: &Page) -> Vec<Value> {
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body: Value = serde_json::from_str(&page.body).unwrap();
    body["results"].as_array().unwrap().clone()
}

fn values(page: &Page) -> Vec<String> {
    results(page)
        .iter()
        .map(|r| r["value"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn matches_people_and_groups_by_name_or_user_name_prefix() {
    let t = TestApp::demo().await;
    let (mut b, _) = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD).await;

    // A display-name prefix, case-insensitive, and a user-name prefix find the same person.
    let by_name = b.get("/portal/pick?kinds=users&q=car").await;
    assert_eq!(values(&by_name), ["carol@contoso.example"]);
    assert_eq!(results(&by_name)[0]["label"], "Carol Security");
    let by_upn = b.get("/portal/pick?kinds=users&q=carol%40con").await;
    assert_eq!(values(&by_upn), ["carol@contoso.example"]);

    // Groups are chosen by their name when it is theirs alone.
    let groups = b.get("/portal/pick?kinds=groups&q=helpd").await;
    assert_eq!(values(&groups), ["Helpdesk Team"]);
    assert_eq!(results(&groups)[0]["detail"], "Group");

    // Users are not offered where only groups are accepted, and the reverse.
    assert!(values(&b.get("/portal/pick?kinds=groups&q=car").await).is_empty());
    assert!(values(&b.get("/portal/pick?kinds=users&q=help").await).is_empty());

    // One character is not searched; nothing matching is an empty list, not an error.
    assert!(values(&b.get("/portal/pick?kinds=people&q=a").await).is_empty());
    assert!(values(&b.get("/portal/pick?kinds=people&q=zzz").await).is_empty());

    // An object id finds its principal.
    let (_, carol) = t
        .get(
            "/v1/users?$filter=userPrincipalName eq 'carol@contoso.example'",
            BOOTSTRAP,
        )
        .await;
    let id = carol["value"][0]["id"].as_str().unwrap();
    let by_id = b
        .get(&format!("/portal/pick?kinds=principals&q={id}"))
        .await;
    assert_eq!(values(&by_id), ["carol@contoso.example"]);
}

#[tokio::test]
async fn a_name_two_groups_share_is_chosen_by_id() {
    let t = TestApp::demo().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, body) = t
            .post(
                "/v1/groups",
                BOOTSTRAP,
                json!({"displayName": "Twin Team", "mailNickname": "twin", "securityEnabled": true, "mailEnabled": false}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let (mut b, _) = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD).await;
    let mut found = values(&b.get("/portal/pick?kinds=groups&q=twin").await);
    found.sort();
    ids.sort();
    assert_eq!(found, ids, "each twin is named by its id");
}

#[tokio::test]
async fn a_viewer_sees_only_the_kinds_they_may_read() {
    let t = TestApp::demo().await;
    // Erin holds no directory role: the picker refuses as `/v1/users` does.
    let mut erin = Browser::signed_in(&t, "erin@contoso.example", DEMO_PASSWORD).await;
    let refused = erin.get("/portal/pick?kinds=people&q=ad").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // Without a session the picker sends to sign-in and says nothing.
    let mut anonymous = Browser::new(&t);
    let page = anonymous.get("/portal/pick?kinds=people&q=ad").await;
    assert!(page.status.is_redirection(), "{}", page.status);
    assert!(!page.body.contains("Ada"));
}

#[tokio::test]
async fn without_javascript_a_form_offers_the_closest_matches_to_type() {
    let t = TestApp::demo().await;
    let (mut b, _) = Browser::signed_in_with_mfa(&t, "ada@contoso.example", DEMO_PASSWORD).await;
    let (_, helpdesk) = t
        .get(
            "/v1/groups?$filter=displayName eq 'Helpdesk Team'",
            BOOTSTRAP,
        )
        .await;
    let group = helpdesk["value"][0]["id"].as_str().unwrap().to_string();
    let add = format!("/portal/admin/groups/{group}/add");
    b.get(&format!("/portal/admin/groups/{group}")).await;
    // "Car" names nobody exactly; the error offers Carol with the user name to type.
    let page = b
        .submit(&add, &[("relation", "member"), ("who", "Car")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(
        page.has("Nothing is called “Car”. Did you mean Carol Security (carol@contoso.example)?"),
        "{}",
        page.body
    );
    // A whole display name is enough when it is one person's.
    let done = b
        .submit(&add, &[("relation", "member"), ("who", "Carol Security")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}

#[tokio::test]
async fn an_owner_who_may_not_list_the_directory_gets_no_names_in_the_error() {
    let t = TestApp::demo().await;
    let (_, body) = t
        .get(
            "/v1/groups?$filter=displayName eq 'Compliance Portal Admins'",
            BOOTSTRAP,
        )
        .await;
    let group = body["value"][0]["id"].as_str().unwrap().to_string();
    // Bob owns the group but holds no directory role: he may not list the directory, so a
    // form he posts by hand names nobody in its error.
    let mut bob = Browser::signed_in(&t, "bob@contoso.example", DEMO_PASSWORD).await;
    bob.get("/portal/roles").await;
    let page = bob
        .submit(
            &format!("/portal/admin/groups/{group}/add"),
            &[("relation", "member"), ("who", "Car")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.has("Nothing is called “Car”."), "{}", page.body);
    assert!(!page.has("carol@contoso.example"), "{}", page.body);
    // The picker refuses him too.
    let refused = bob.get("/portal/pick?kinds=principals&q=car").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
