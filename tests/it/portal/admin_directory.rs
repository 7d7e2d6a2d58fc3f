//! Directory administration in the portal: the Administration home, users, groups (members,
//! owners, nesting), service principals and connectors, driven through their forms on the demo
//! tenant. Every refusal changes nothing; the API confirms it.

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::browser::{Browser, Page};
use crate::harness::{BOOTSTRAP, TestApp, id_of, member_ids};

const DEMO_PASSWORD: &str = eligo::service::demo::DEMO_PASSWORD;
const NEW_PASSWORD: &str = "a long initial password";

/// Administrators get a session with a fresh second factor (they enrol an authenticator);
/// everyone else signs in with the password.
async fn signed_in<'a>(t: &'a TestApp, nick: &str) -> Browser<'a> {
    let upn = format!("{nick}@contoso.example");
    if matches!(nick, "ada" | "uma") {
        return Browser::signed_in_with_mfa(t, &upn, DEMO_PASSWORD).await.0;
    }
    Browser::signed_in(t, &upn, DEMO_PASSWORD).await
}

/// The users with this UPN, through the API (0 or 1).
async fn users_named(t: &TestApp, upn: &str) -> Vec<Value> {
    let (status, body) = t
        .get(
            &format!("/v1/users?$filter=userPrincipalName eq '{upn}'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().clone()
}

async fn user_id(t: &TestApp, upn: &str) -> Uuid {
    id_of(&users_named(t, upn).await[0])
}

async fn group_id(t: &TestApp, name: &str) -> Uuid {
    let (status, body) = t
        .get(
            &format!("/v1/groups?$filter=displayName eq '{name}'"),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id_of(&body["value"][0])
}

async fn enabled(t: &TestApp, id: Uuid) -> bool {
    let (_, body) = t.get(&format!("/v1/users/{id}"), BOOTSTRAP).await;
    body["accountEnabled"].as_bool().unwrap()
}

fn assert_refused(page: &Page) {
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.has("You do not have access"), "{}", page.body);
}

#[tokio::test]
async fn the_administration_home_shows_the_sections_with_counts_and_alerts() {
    let t = TestApp::demo().await;
    let mut b = signed_in(&t, "ada").await;
    let home = b.get("/portal/admin").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    for section in [
        "/portal/admin/users",
        "/portal/admin/groups",
        "/portal/admin/service-principals",
        "/portal/admin/roles",
        "/portal/admin/connectors",
    ] {
        assert!(home.has(&format!("href=\"{section}\"")), "{section}");
    }
    // The seven demo people, the two its access review is about and the bootstrap
    // administrator; the three demo groups and the three the demo's access packages hand out.
    assert!(home.has("<strong>10</strong> users"), "{}", home.body);
    assert!(home.has("<strong>6</strong> groups"), "{}", home.body);
    assert!(home.has("Open alerts") && home.has("No open alerts."));
    assert!(home.has("aria-current=\"page\">Administration"));

    // Every page of the section renders for a Global Administrator (how fast is measured by
    // `cargo bench --bench portal`, not asserted here).
    let helpdesk = group_id(&t, "Helpdesk Team").await;
    let carol = user_id(&t, "carol@contoso.example").await;
    for path in [
        "/portal/admin".to_string(),
        "/portal/admin/users".to_string(),
        format!("/portal/admin/users/{carol}"),
        "/portal/admin/groups".to_string(),
        format!("/portal/admin/groups/{helpdesk}"),
        "/portal/admin/service-principals".to_string(),
        "/portal/admin/connectors".to_string(),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
    }

    // A User Administrator sees only what their role allows.
    let mut uma = signed_in(&t, "uma").await;
    let home = uma.get("/portal/admin").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.has("href=\"/portal/admin/users\""));
    assert!(!home.has("href=\"/portal/admin/connectors\""));
    assert!(!home.has("Open alerts"));
}

#[tokio::test]
async fn ada_creates_a_user_and_bad_input_keeps_what_was_typed_and_creates_nothing() {
    let t = TestApp::demo().await;
    let mut b = signed_in(&t, "ada").await;
    let form = b.get("/portal/admin/users/new").await;
    assert_eq!(form.status, StatusCode::OK);

    // An empty display name: a field error, the user name kept, nothing created.
    let page = b
        .submit(
            "/portal/admin/users",
            &[
                ("upn", "zoe@contoso.example"),
                ("display_name", "  "),
                ("password", NEW_PASSWORD),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.has("Enter a display name."));
    assert!(page.has("class=\"form-errors\" role=\"alert\""));
    assert!(page.has("aria-invalid=\"true\" aria-describedby=\"display_name-error\""));
    assert_eq!(
        page.input_value("upn").as_deref(),
        Some("zoe@contoso.example")
    );
    assert!(users_named(&t, "zoe@contoso.example").await.is_empty());

    // A user name the core refuses: its words, under the field.
    let page = b
        .submit(
            "/portal/admin/users",
            &[
                ("upn", "not-a-upn"),
                ("display_name", "Zoe"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("upn-error"), "{}", page.body);
    assert_eq!(page.input_value("display_name").as_deref(), Some("Zoe"));

    // A duplicate user name: a field error, nothing created, the input kept.
    let page = b
        .submit(
            "/portal/admin/users",
            &[
                ("upn", "erin@contoso.example"),
                ("display_name", "Erin Again"),
                ("password", NEW_PASSWORD),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("already exists"), "{}", page.body);
    assert_eq!(
        page.input_value("display_name").as_deref(),
        Some("Erin Again")
    );
    let erin = &users_named(&t, "erin@contoso.example").await[0];
    assert_eq!(erin["displayName"], "Erin Employee");

    // The real thing, then the same form posted twice: one user, and a clear answer.
    let fields = [
        ("upn", "zoe@contoso.example"),
        ("display_name", "Zoe New"),
        ("password", NEW_PASSWORD),
        ("enabled", "on"),
    ];
    let done = b.submit("/portal/admin/users", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Zoe New (zoe@contoso.example) was created."));
    assert!(page.has("Enabled"));
    let second = b.submit("/portal/admin/users", &fields).await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert!(second.has("already exists"));
    assert_eq!(users_named(&t, "zoe@contoso.example").await.len(), 1);
    // The new user can sign in with the initial password.
    Browser::signed_in(&t, "zoe@contoso.example", NEW_PASSWORD).await;

    // The list finds them by the start of the name or of the user name.
    let list = b.get("/portal/admin/users?q=zo").await;
    assert!(list.has("Zoe New") && !list.has("Erin Employee"));
    let list = b.get("/portal/admin/users?q=zoe%40").await;
    assert!(list.has("Zoe New") && !list.has("Erin Employee"));
    let list = b.get("/portal/admin/users?q=erin").await;
    assert!(list.has("Erin Employee") && !list.has("Zoe New"));
    let list = b.get("/portal/admin/users?q=zoe%40contoso.example").await;
    assert!(list.has("Zoe New"));
    let list = b.get("/portal/admin/users?q=nobody-here").await;
    assert!(list.has("No user matches"));
    let list = b.get("/portal/admin/users?page=2").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.has("There are no users."));
}

#[tokio::test]
async fn ada_edits_disables_and_deletes_a_user_and_sees_roles_and_groups() {
    let t = TestApp::demo().await;
    let erin = user_id(&t, "erin@contoso.example").await;
    let mut b = signed_in(&t, "ada").await;
    let page = b.get(&format!("/portal/admin/users/{erin}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("Helpdesk Team") && page.has("Direct member"));
    assert!(page.has("Holds no role and is eligible for none."));

    // Carol: eligible for Global Administrator directly, and through Tier 0 (once a member).
    let carol = user_id(&t, "carol@contoso.example").await;
    let page = b.get(&format!("/portal/admin/users/{carol}")).await;
    assert!(page.has("Global Administrator") && page.has("Eligible"));
    assert!(page.has(&format!(
        "/portal/admin/roles/{}",
        eligo_core::roles::ids::GLOBAL_ADMINISTRATOR
    )));

    // An empty name is a field error; the typed value stays.
    let url = format!("/portal/admin/users/{erin}");
    let page = b
        .submit(&url, &[("display_name", ""), ("enabled", "on")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("Enter a display name."));

    let done = b.submit(&url, &[("display_name", "Erin Renamed")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Saved: Erin Renamed (disabled)."));
    assert!(!enabled(&t, erin).await);
    // The same post again changes nothing and says so.
    let again = b.submit(&url, &[("display_name", "Erin Renamed")]).await;
    let page = b.follow(&again).await;
    assert!(page.has("Nothing was changed"));

    // Delete, and a second delete says it is gone.
    let delete = format!("/portal/admin/users/{erin}/delete");
    let done = b.submit(&delete, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = b.follow(&done).await;
    assert!(page.has("The user was deleted."));
    let (status, _) = t.get(&format!("/v1/users/{erin}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let again = b.submit(&delete, &[]).await;
    let page = b.follow(&again).await;
    assert!(page.has("no longer exists"));
    let gone = b.get(&format!("/portal/admin/users/{erin}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let bad = b.get("/portal/admin/users/not-an-id").await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ada_manages_a_group_members_owners_and_nesting() {
    let t = TestApp::demo().await;
    let mut b = signed_in(&t, "ada").await;
    let form = b.get("/portal/admin/groups/new").await;
    assert!(form.has("Fixed when the group is created"));
    let page = b
        .submit(
            "/portal/admin/groups",
            &[("display_name", ""), ("description", "kept text")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("Enter a name for the group."));
    assert!(page.has(">kept text</textarea>"));
    let page = b
        .submit(
            "/portal/admin/groups",
            &[
                ("display_name", "Portal Team"),
                ("mail_nickname", "has space"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("mail_nickname-error"), "{}", page.body);
    let done = b
        .submit(
            "/portal/admin/groups",
            &[
                ("display_name", "Portal Team"),
                ("description", "Made in the portal"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let group = group_id(&t, "Portal Team").await;
    let page = b.follow(&done).await;
    assert!(page.has("The group Portal Team was created."));
    assert!(page.has(&format!("/portal/admin/groups/{group}/settings/member")));
    assert!(page.has(&format!("/portal/admin/groups/{group}/settings/owner")));

    let add = format!("/portal/admin/groups/{group}/add");
    let remove = format!("/portal/admin/groups/{group}/remove");
    // Members by user name, owners too; nothing found and several found are field errors.
    let done = b
        .submit(
            &add,
            &[("relation", "member"), ("who", "erin@contoso.example")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b
        .submit(&add, &[("relation", "member"), ("who", "No Such Thing")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("Nothing is called"));
    assert_eq!(page.input_value("who").as_deref(), Some("No Such Thing"));
    let page = b
        .submit(
            &add,
            &[("relation", "member"), ("who", "erin@contoso.example")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("is already a member"), "{}", page.body);
    // Two users with the same name: the form says which, and asks for the user name.
    for upn in ["twin1@contoso.example", "twin2@contoso.example"] {
        let (status, body) = t
            .post(
                "/v1/users",
                BOOTSTRAP,
                json!({ "userPrincipalName": upn, "displayName": "Twin" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let page = b
        .submit(&add, &[("relation", "member"), ("who", "Twin")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("Several are called"), "{}", page.body);
    assert!(page.has("twin1@contoso.example") && page.has("twin2@contoso.example"));
    let done = b
        .submit(
            &add,
            &[("relation", "owner"), ("who", "bob@contoso.example")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // A group cannot own a group: the core's words.
    let page = b
        .submit(&add, &[("relation", "owner"), ("who", "Helpdesk Team")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("A group cannot own a group."), "{}", page.body);

    // Nesting Helpdesk Team brings Alice in, through it.
    let done = b
        .submit(&add, &[("relation", "member"), ("who", "Helpdesk Team")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Helpdesk Team is now a member of this group."));
    assert!(page.has("Alice Helpdesk-Lead"), "{}", page.body);
    assert!(page.has("Through <a href"), "{}", page.body);
    assert!(page.has("Groups inside this group"));
    let helpdesk = group_id(&t, "Helpdesk Team").await;
    let nested = b.get(&format!("/portal/admin/groups/{helpdesk}")).await;
    assert!(nested.has(&format!(
        "href=\"/portal/admin/groups/{group}\">Portal Team"
    )));
    // A loop is refused in words.
    let page = b
        .submit(
            &format!("/portal/admin/groups/{helpdesk}/add"),
            &[("relation", "member"), ("who", "Portal Team")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("member of itself"), "{}", page.body);

    let erin = user_id(&t, "erin@contoso.example").await;
    let bob = user_id(&t, "bob@contoso.example").await;
    assert!(member_ids(&t, group, "members").await.contains(&erin));
    assert!(member_ids(&t, group, "owners").await.contains(&bob));
    let transitive = member_ids(&t, group, "transitiveMembers").await;
    assert!(transitive.contains(&user_id(&t, "alice@contoso.example").await));

    // Removing, twice: the second says it was already done.
    let erin_s = erin.to_string();
    let done = b
        .submit(&remove, &[("relation", "member"), ("principal", &erin_s)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(page.has("Erin Employee is no longer a member of this group."));
    let again = b
        .submit(&remove, &[("relation", "member"), ("principal", &erin_s)])
        .await;
    let page = b.follow(&again).await;
    assert!(page.has("nothing was changed"));
    let bob_s = bob.to_string();
    let done = b
        .submit(&remove, &[("relation", "owner"), ("principal", &bob_s)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(!member_ids(&t, group, "members").await.contains(&erin));
    assert!(!member_ids(&t, group, "owners").await.contains(&bob));

    // The list shows it; role-assignable groups carry a badge.
    let list = b.get("/portal/admin/groups?q=Port").await;
    assert!(list.has("Portal Team") && !list.has("Tier 0 Operators"));
    let list = b.get("/portal/admin/groups").await;
    assert!(list.has("Tier 0 Operators") && list.has("Role-assignable"));

    // PIM for Groups: Carol is eligible for Tier 0 membership.
    let tier0 = group_id(&t, "Tier 0 Operators").await;
    let page = b.get(&format!("/portal/admin/groups/{tier0}")).await;
    assert!(
        page.has("Carol Security") && page.has("Eligible"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_user_administrator_manages_erin_but_not_a_role_holder_nor_tier_0() {
    let t = TestApp::demo().await;
    let erin = user_id(&t, "erin@contoso.example").await;
    let ada = user_id(&t, "ada@contoso.example").await;
    let tier0 = group_id(&t, "Tier 0 Operators").await;
    let mut b = signed_in(&t, "uma").await;

    let page = b.get(&format!("/portal/admin/users/{erin}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("Reading who holds which role needs"));
    let done = b
        .submit(
            &format!("/portal/admin/users/{erin}"),
            &[("display_name", "Erin Employee")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(!enabled(&t, erin).await);

    // Ada holds a role: disabling her is refused, and nothing changes.
    let page = b.get(&format!("/portal/admin/users/{ada}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let refused = b
        .submit(
            &format!("/portal/admin/users/{ada}"),
            &[("display_name", "Ada Administrator")],
        )
        .await;
    assert_refused(&refused);
    assert!(refused.has("only a Global or Privileged Authentication Administrator"));
    assert!(enabled(&t, ada).await);
    let refused = b
        .submit(&format!("/portal/admin/users/{ada}/delete"), &[])
        .await;
    assert_refused(&refused);
    assert_eq!(users_named(&t, "ada@contoso.example").await.len(), 1);

    // Tier 0 Operators is role-assignable: no forms, and a forged-by-hand post is refused.
    let page = b.get(&format!("/portal/admin/groups/{tier0}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has("Add member"));
    assert!(page.has("Only a Privileged Role Administrator"));
    let erin_s = erin.to_string();
    let refused = b
        .submit(
            &format!("/portal/admin/groups/{tier0}/add"),
            &[("relation", "member"), ("who", "erin@contoso.example")],
        )
        .await;
    assert_refused(&refused);
    assert!(member_ids(&t, tier0, "members").await.is_empty());
    let ada_s = ada.to_string();
    let refused = b
        .submit(
            &format!("/portal/admin/groups/{tier0}/remove"),
            &[("relation", "owner"), ("principal", &ada_s)],
        )
        .await;
    assert_refused(&refused);
    assert_eq!(member_ids(&t, tier0, "owners").await, vec![ada]);
    // Creating a role-assignable group is refused too; an ordinary one works.
    let page = b
        .submit(
            "/portal/admin/groups",
            &[("display_name", "Sneaky"), ("role_assignable", "on")],
        )
        .await;
    assert_refused(&page);
    let (_, body) = t
        .get("/v1/groups?$filter=displayName eq 'Sneaky'", BOOTSTRAP)
        .await;
    assert!(body["value"].as_array().unwrap().is_empty());
    let _ = erin_s;
}

#[tokio::test]
async fn erin_has_no_administration_and_a_deep_link_is_refused() {
    let t = TestApp::demo().await;
    let mut b = signed_in(&t, "erin").await;
    let page = b.get("/portal/security").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has("href=\"/portal/admin\""), "{}", page.body);
    for path in [
        "/portal/admin",
        "/portal/admin/users",
        "/portal/admin/users/new",
        "/portal/admin/groups",
        "/portal/admin/service-principals",
        "/portal/admin/connectors",
    ] {
        let page = b.get(path).await;
        assert_refused(&page);
    }
    // A post (with a valid token from a page she may see) changes nothing.
    b.get("/portal/security").await;
    let page = b
        .submit(
            "/portal/admin/users",
            &[
                ("upn", "mallory@contoso.example"),
                ("display_name", "Mallory"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_refused(&page);
    assert!(users_named(&t, "mallory@contoso.example").await.is_empty());
}

#[tokio::test]
async fn a_global_reader_reads_everything_and_changes_nothing() {
    let t = TestApp::demo().await;
    let erin = user_id(&t, "erin@contoso.example").await;
    let helpdesk = group_id(&t, "Helpdesk Team").await;
    let mut b = signed_in(&t, "dave").await;
    let list = b.get("/portal/admin/users").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.has("Erin Employee") && !list.has("New user"));
    let page = b.get(&format!("/portal/admin/users/{erin}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has("Delete user") && !page.has("name=\"display_name\""));
    assert_refused(&b.get("/portal/admin/users/new").await);
    let page = b.get(&format!("/portal/admin/groups/{helpdesk}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has("Add member"));
    assert!(
        b.get("/portal/admin/connectors")
            .await
            .has("There are no connectors yet.")
    );
    assert!(b.get("/portal/admin/service-principals").await.status == StatusCode::OK);

    let refused = b
        .submit(
            "/portal/admin/users",
            &[
                ("upn", "dave2@contoso.example"),
                ("display_name", "Dave Two"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_refused(&refused);
    assert!(users_named(&t, "dave2@contoso.example").await.is_empty());
    let refused = b
        .submit(
            &format!("/portal/admin/users/{erin}"),
            &[("display_name", "Changed")],
        )
        .await;
    assert_refused(&refused);
    assert!(enabled(&t, erin).await);
    let refused = b
        .submit(
            &format!("/portal/admin/groups/{helpdesk}/add"),
            &[("relation", "member"), ("who", "bob@contoso.example")],
        )
        .await;
    assert_refused(&refused);
    assert_eq!(member_ids(&t, helpdesk, "members").await.len(), 2);
}

#[tokio::test]
async fn a_forged_token_changes_nothing() {
    let t = TestApp::demo().await;
    let erin = user_id(&t, "erin@contoso.example").await;
    let mut b = signed_in(&t, "ada").await;
    b.get("/portal/admin/users/new").await;
    let page = b
        .post_raw(
            "/portal/admin/users",
            &[
                ("csrf", "forged"),
                ("upn", "eve@contoso.example"),
                ("display_name", "Eve"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.has("This form has expired"));
    assert!(users_named(&t, "eve@contoso.example").await.is_empty());
    let page = b
        .post_raw(&format!("/portal/admin/users/{erin}/delete"), &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(users_named(&t, "erin@contoso.example").await.len(), 1);
}

#[tokio::test]
async fn service_principals_show_their_secret_once_and_can_be_deleted() {
    let t = TestApp::demo().await;
    let mut b = signed_in(&t, "ada").await;
    let list = b.get("/portal/admin/service-principals").await;
    assert!(list.has("There are no service principals."));
    let page = b
        .submit("/portal/admin/service-principals", &[("display_name", " ")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has("Enter a name for the service principal."));
    let page = b
        .submit(
            "/portal/admin/service-principals",
            &[("display_name", "Nightly sync")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Copy the client secret now."));
    let secret = page.attr("data-secret").unwrap();
    assert!(secret.starts_with("elgs_"), "{secret}");
    let list = b.get("/portal/admin/service-principals").await;
    assert!(list.has("Nightly sync") && !list.has(&secret));
    let (_, body) = t.get("/v1/servicePrincipals", BOOTSTRAP).await;
    let id = id_of(&body["value"][0]);

    // An owner can be a service principal, by its name.
    let group = group_id(&t, "Helpdesk Team").await;
    b.get(&format!("/portal/admin/groups/{group}")).await;
    let done = b
        .submit(
            &format!("/portal/admin/groups/{group}/add"),
            &[("relation", "owner"), ("who", "Nightly sync")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(member_ids(&t, group, "owners").await.contains(&id));

    b.get("/portal/admin/service-principals").await;
    let done = b
        .submit(
            &format!("/portal/admin/service-principals/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = b.follow(&done).await;
    assert!(page.has("The service principal was deleted"));
    let (status, _) = t
        .get(&format!("/v1/servicePrincipals/{id}"), BOOTSTRAP)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_connectors_page_shows_health_and_reconcile_reports_an_unreachable_system() {
    let t = TestApp::demo().await;
    let (status, body) = t
        .post(
            "/v1/connectors",
            BOOTSTRAP,
            json!({ "type": "scim", "displayName": "Unreachable SCIM",
                "settings": { "baseUrl": "http://127.0.0.1:9/scim/v2", "bearerToken": "secret-token-value", "timeoutSeconds": 2 } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let connector = id_of(&body);
    let (status, body) = t
        .post(
            "/v1/connectors",
            BOOTSTRAP,
            json!({ "type": "webhook", "displayName": "Idle hook",
                "settings": { "url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef-secret" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let idle = id_of(&body);
    let group = group_id(&t, "Helpdesk Team").await;
    let (status, body) = t
        .post(
            &format!("/v1/groups/{group}/provisioning"),
            BOOTSTRAP,
            json!({ "connectorId": connector, "target": "helpdesk" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let mut b = signed_in(&t, "ada").await;
    let page = b.get("/portal/admin/connectors").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Unreachable SCIM") && page.has("SCIM 2.0"));
    assert!(page.has("http://127.0.0.1:9/scim/v2"));
    assert!(!page.has("secret-token-value"));
    assert!(page.has("Helpdesk Team") && page.has("<code>helpdesk</code>"));
    assert!(page.has("Failures in a row") && page.has("Reconcile now"));
    assert!(page.has("Connectors are configured through the API"));
    let group_page = b.get(&format!("/portal/admin/groups/{group}")).await;
    assert!(group_page.has("Unreachable SCIM (scim)"));

    let report = b
        .submit(
            &format!("/portal/admin/connectors/{connector}/reconcile"),
            &[],
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(
        report.has("Reconciliation failed for 1 of 1"),
        "{}",
        report.body
    );
    assert!(report.has("Could not reconcile:"));
    assert!(report.has("Failing"));
    let page = b.get("/portal/admin/connectors").await;
    assert!(page.has("badge-bad\">Failing"), "{}", page.body);
    // Failing again and again raises an alert, which the Administration home shows.
    for _ in 0..3 {
        b.get("/portal/admin/connectors").await;
        b.submit(
            &format!("/portal/admin/connectors/{connector}/reconcile"),
            &[],
        )
        .await;
    }
    let home = b.get("/portal/admin").await;
    assert!(
        home.has("Downstream connector &#34;Unreachable SCIM&#34; keeps failing")
            || home.has("Downstream connector &quot;Unreachable SCIM&quot; keeps failing")
            || home.has("Downstream connector &#x22;Unreachable SCIM&#x22; keeps failing"),
        "{}",
        home.body
    );
    assert!(home.has("badge-bad\">High"));

    let report = b
        .submit(&format!("/portal/admin/connectors/{idle}/reconcile"), &[])
        .await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.has("nothing to reconcile"));

    // A reader sees the page but cannot reconcile.
    let mut dave = signed_in(&t, "dave").await;
    let page = dave.get("/portal/admin/connectors").await;
    assert!(page.has("Unreachable SCIM") && !page.has("Reconcile now"));
    let refused = dave
        .submit(
            &format!("/portal/admin/connectors/{connector}/reconcile"),
            &[],
        )
        .await;
    assert_refused(&refused);
}

/// `principal`'s eligible (or active) access to `group`, as the API reads it: (accessId,
/// endDateTime) of each.
async fn group_access(
    t: &TestApp,
    group: Uuid,
    principal: Uuid,
    what: &str,
) -> Vec<(String, String)> {
    let (status, body) = t
        .get(
            &format!(
                "/v1/identityGovernance/privilegedAccess/group/{what}ScheduleInstances?$filter=groupId eq '{group}' and principalId eq '{principal}'"
            ),
            BOOTSTRAP,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["accessId"].as_str().unwrap().to_string(),
                v["endDateTime"].as_str().unwrap_or("permanent").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn ada_gives_group_access_through_pim_edits_and_removes_it() {
    let t = TestApp::demo().await;
    let group = group_id(&t, "Compliance Portal Admins").await;
    let erin = user_id(&t, "erin@contoso.example").await;
    let bob = user_id(&t, "bob@contoso.example").await;
    let mut b = signed_in(&t, "ada").await;
    let path = format!("/portal/admin/groups/{group}");
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Privileged access"));
    assert!(page.has("Bob Exchange"), "{}", page.body);
    // The principal field works typed, and carries the picker's hook.
    assert!(
        page.has("name=\"principal\" value=\"\" data-picker=\"principals\""),
        "{}",
        page.body
    );
    let assign = format!("{path}/pim/assign");
    // Nobody by that name: a field error, nothing assigned.
    let refused = b
        .submit(
            &assign,
            &[
                ("principal", "nobody@contoso.example"),
                ("access", "member"),
                ("kind", "eligible"),
                ("end_type", "duration"),
                ("duration", "30 days"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.has("id=\"pim-principal-error\""),
        "{}",
        refused.body
    );
    assert_eq!(refused.input_value("duration").as_deref(), Some("30 days"));
    // Beyond the settings' maximum (eligibility: a year): on the duration field.
    let refused = b
        .submit(
            &assign,
            &[
                ("principal", "erin@contoso.example"),
                ("access", "owner"),
                ("kind", "eligible"),
                ("end_type", "duration"),
                ("duration", "P400D"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.has("id=\"duration-error\""), "{}", refused.body);
    assert!(
        group_access(&t, group, erin, "eligibility")
            .await
            .is_empty()
    );

    let done = b
        .submit(
            &assign,
            &[
                ("principal", "erin@contoso.example"),
                ("access", "owner"),
                ("kind", "eligible"),
                ("end_type", "duration"),
                ("duration", "30 days"),
                ("justification", "covers for Bob"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.follow(&done).await;
    assert!(
        page.has(
            "Erin Employee is now eligible for ownership of this group until 2026-12-22 10:00 UTC."
        ),
        "{}",
        page.body
    );
    assert_eq!(
        group_access(&t, group, erin, "eligibility").await,
        [("owner".to_string(), "2026-12-22T10:00:00Z".to_string())]
    );

    // Edit it from its row: the same form as a role's, for the group's ownership.
    let edit = format!(
        "/portal/admin/assignments/edit?group={group}&access=owner&principal={erin}&kind=eligible"
    );
    assert!(page.has(&edit.replace('&', "&#38;")), "{}", page.body);
    let form = b.get(&edit).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.has("ownership of Compliance Portal Admins"));
    let saved = b
        .submit(
            "/portal/admin/assignments/edit",
            &[
                ("group", &group.to_string()),
                ("access", "owner"),
                ("principal", &erin.to_string()),
                ("kind", "eligible"),
                ("end_type", "date"),
                ("end_date", "2026-12-01T09:00"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), Some(path.as_str()));
    assert_eq!(
        group_access(&t, group, erin, "eligibility").await,
        [("owner".to_string(), "2026-12-01T09:00:00Z".to_string())]
    );
    // Ending within 14 days now: Extend is offered on its row.
    let page = b.get(&path).await;
    assert!(
        page.has("/portal/admin/assignments/extend?group="),
        "{}",
        page.body
    );

    // Active membership, then removed.
    let done = b
        .submit(
            &assign,
            &[
                ("principal", &erin.to_string()),
                ("access", "member"),
                ("kind", "active"),
                ("end_type", "duration"),
                ("duration", "8 hours"),
                ("justification", "audit week"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(member_ids(&t, group, "members").await.contains(&erin));
    let removed = b
        .submit(
            &format!("{path}/pim/remove"),
            &[
                ("principal", &erin.to_string()),
                ("access", "member"),
                ("kind", "active"),
            ],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert!(
        b.follow(&removed)
            .await
            .has("Removed: Erin Employee no longer has active membership")
    );
    assert!(!member_ids(&t, group, "members").await.contains(&erin));
    // Bob's eligibility is untouched.
    assert_eq!(group_access(&t, group, bob, "eligibility").await.len(), 1);
}

#[tokio::test]
async fn a_group_lists_the_roles_it_carries() {
    let t = TestApp::demo().await;
    let tier0 = group_id(&t, "Tier 0 Operators").await;
    let mut b = signed_in(&t, "ada").await;
    let page = b.get(&format!("/portal/admin/groups/{tier0}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has("Roles this group carries"));
    assert!(
        page.has("<a href=\"/portal/admin/roles/e8611ab8-c189-46e8-94e1-60213ab1f814\">Privileged Role Administrator</a>"),
        "{}",
        page.body
    );
    // A group that carries none says so.
    let team = group_id(&t, "Helpdesk Team").await;
    let page = b.get(&format!("/portal/admin/groups/{team}")).await;
    assert!(page.has("This group holds no role and is eligible for none."));
}

#[tokio::test]
async fn a_user_administrator_may_not_give_access_to_a_protected_group() {
    let t = TestApp::demo().await;
    let tier0 = group_id(&t, "Tier 0 Operators").await;
    let erin = user_id(&t, "erin@contoso.example").await;
    let carol = user_id(&t, "carol@contoso.example").await;
    let uma = user_id(&t, "uma@contoso.example").await;
    let mut b = signed_in(&t, "uma").await;
    let path = format!("/portal/admin/groups/{tier0}");
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // No form, no actions: Tier 0 Operators is role-assignable.
    assert!(!page.has("/pim/assign"));
    assert!(!page.has("/pim/remove"));
    let refused = b
        .submit(
            &format!("{path}/pim/assign"),
            &[
                ("principal", "erin@contoso.example"),
                ("access", "member"),
                ("kind", "active"),
                ("end_type", "duration"),
                ("duration", "8 hours"),
            ],
        )
        .await;
    assert_refused(&refused);
    let refused = b
        .submit(
            &format!("{path}/pim/remove"),
            &[
                ("principal", &carol.to_string()),
                ("access", "member"),
                ("kind", "eligible"),
            ],
        )
        .await;
    assert_refused(&refused);
    let refused = b
        .submit(
            "/portal/admin/assignments/edit",
            &[
                ("group", &tier0.to_string()),
                ("access", "member"),
                ("principal", &carol.to_string()),
                ("kind", "eligible"),
                ("end_type", "permanent"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(group_access(&t, tier0, erin, "assignment").await.is_empty());
    assert_eq!(group_access(&t, tier0, carol, "eligibility").await.len(), 1);
    assert!(!member_ids(&t, tier0, "members").await.contains(&erin));
    t.assert_one_refusal(
        "Add member to group in PIM requested",
        "ProtectedGroup",
        uma,
    )
    .await;
}
