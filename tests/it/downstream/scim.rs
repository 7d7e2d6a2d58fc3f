//! The SCIM connector against a real SCIM server (scim2-server, in memory) and, for answers that
//! server never gives (200 with a body, 5xx, garbage), against small fakes on loopback.

mod fake;
mod settings;

use eligo::connectors::scim::{ScimConnector, ScimSettings};
use eligo::connectors::{ConnectorError, Downstream, MemberIdentity};
use eligo_testkit::scim::{ScimServer, scim_server};
use serde_json::{Value, json};
use uuid::Uuid;

/// A connector to `base` with `token` (and any extra settings).
fn connector(base: &str, token: &str, extra: Value) -> ScimConnector {
    let mut settings = json!({ "baseUrl": base, "bearerToken": token, "timeoutSeconds": 5 });
    if let (Some(obj), Value::Object(extra)) = (settings.as_object_mut(), extra) {
        obj.extend(extra);
    }
    let settings = ScimSettings::parse(&settings).expect("valid settings");
    ScimConnector::with_outbound(settings, crate::harness::loopback()).expect("connector")
}

fn connect(server: &ScimServer) -> ScimConnector {
    connector(&server.base_url(), server.token(), json!({}))
}

fn identity(upn: &str, mail: Option<&str>) -> MemberIdentity {
    MemberIdentity {
        principal_id: Uuid::new_v4(),
        user_principal_name: upn.to_string(),
        mail: mail.map(str::to_string),
        display_name: upn.to_string(),
    }
}

/// Seeding the server with plain SCIM requests (also used by the provisioning tests).
pub(crate) struct Seed {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Seed {
    pub(crate) fn new(server: &ScimServer) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Seed {
            http: reqwest::Client::new(),
            base: server.base_url(),
            token: server.token().to_string(),
        }
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> String {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .expect("seed request");
        assert_eq!(resp.status(), 201, "seeding {path}");
        let created: Value = resp.json().await.expect("seed answer");
        created["id"].as_str().expect("id").to_string()
    }

    pub(crate) async fn user(&self, user_name: &str) -> String {
        let schemas = ["urn:ietf:params:scim:schemas:core:2.0:User"];
        self.post(
            "/Users",
            json!({ "schemas": schemas, "userName": user_name }),
        )
        .await
    }

    pub(crate) async fn group(&self, display_name: &str) -> String {
        let schemas = ["urn:ietf:params:scim:schemas:core:2.0:Group"];
        self.post(
            "/Groups",
            json!({ "schemas": schemas, "displayName": display_name }),
        )
        .await
    }

    /// The `value` of every member entry, duplicates kept.
    pub(crate) async fn members(&self, group_id: &str) -> Vec<String> {
        let group: Value = self
            .http
            .get(format!("{}/Groups/{group_id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("read group")
            .json()
            .await
            .expect("group JSON");
        group["members"]
            .as_array()
            .map(|members| {
                members
                    .iter()
                    .map(|m| m["value"].as_str().expect("value").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) async fn delete_group(&self, group_id: &str) {
        let resp = self
            .http
            .delete(format!("{}/Groups/{group_id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("delete group");
        assert_eq!(resp.status(), 204);
    }
}

#[tokio::test]
async fn resolve_finds_users_by_user_name_or_mail() {
    let Some(server) = scim_server().await else {
        return;
    };
    let seed = Seed::new(&server);
    let alice = seed.user("alice@example.org").await;
    let mail = seed.user("a.smith@mail.example").await;
    let scim = connect(&server);

    let found = scim.resolve(&identity("alice@example.org", None)).await;
    assert_eq!(found, Ok(Some(alice.clone())));
    // userName is not case-exact in SCIM.
    let found = scim.resolve(&identity("ALICE@example.org", None)).await;
    assert_eq!(found, Ok(Some(alice)));
    let unknown = scim.resolve(&identity("nobody@example.org", None)).await;
    assert_eq!(unknown, Ok(None));

    let by_mail = connector(
        &server.base_url(),
        server.token(),
        json!({ "userNameFrom": "mail" }),
    );
    let who = identity("alice@example.org", Some("a.smith@mail.example"));
    assert_eq!(by_mail.resolve(&who).await, Ok(Some(mail)));
    // Without a mail there is nobody to look for.
    let no_mail = identity("alice@example.org", None);
    assert_eq!(by_mail.resolve(&no_mail).await, Ok(None));
}

#[tokio::test]
async fn tricky_user_names_resolve_exactly() {
    let Some(server) = scim_server().await else {
        return;
    };
    let seed = Seed::new(&server);
    let names = [
        r#"we"ird"#,
        r#"we"ird\name"#,
        r#"we\"ird"#,
        "weird",
        "o'brien and sons",
        r#"") or userName pr or ("#,
        "ünïcødé@example.org",
    ];
    let mut ids = Vec::new();
    for name in names {
        ids.push(seed.user(name).await);
    }
    let scim = connect(&server);
    for (name, id) in names.iter().zip(&ids) {
        let found = scim.resolve(&identity(name, None)).await;
        assert_eq!(found, Ok(Some(id.clone())), "resolving {name:?}");
    }
    let missing = scim.resolve(&identity(r#"weird" or "1"#, None)).await;
    assert_eq!(missing, Ok(None));
}

#[tokio::test]
async fn adding_twice_leaves_one_member_and_removing_twice_is_fine() {
    let Some(server) = scim_server().await else {
        return;
    };
    let seed = Seed::new(&server);
    let alice = seed.user("alice").await;
    let bob = seed.user("bob").await;
    let group = seed.group("Payroll Admins").await;
    let scim = connect(&server);

    scim.add(&group, &alice).await.expect("first add");
    scim.add(&group, &alice).await.expect("second add");
    scim.add(&group, &bob).await.expect("add bob");
    let mut members = seed.members(&group).await;
    members.sort();
    let mut expected = vec![alice.clone(), bob.clone()];
    expected.sort();
    assert_eq!(members, expected, "exactly one entry each");

    scim.remove(&group, &alice).await.expect("first remove");
    scim.remove(&group, &alice).await.expect("second remove");
    scim.remove(&group, &"never-a-member".to_string())
        .await
        .expect("removing a stranger");
    assert_eq!(seed.members(&group).await, vec![bob.clone()]);

    let listed = scim
        .members(&group)
        .await
        .expect("members")
        .expect("listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].reference, bob);
    // scim2-server gives no display: the value stands in.
    assert_eq!(listed[0].display, bob);

    scim.remove(&group, &bob)
        .await
        .expect("remove the last one");
    assert_eq!(scim.members(&group).await, Ok(Some(Vec::new())));
}

#[tokio::test]
async fn groups_are_named_by_display_name_or_id() {
    let Some(server) = scim_server().await else {
        return;
    };
    let seed = Seed::new(&server);
    let alice = seed.user("alice").await;
    let bob = seed.user("bob").await;
    let group = seed.group(r#"Ops "night" \ shift"#).await;
    let scim = connect(&server);

    scim.add(r#"Ops "night" \ shift"#, &alice)
        .await
        .expect("by displayName");
    scim.add(&group, &bob).await.expect("by id");
    let by_name = scim.members(r#"Ops "night" \ shift"#).await.unwrap();
    let by_id = scim.members(&group).await.unwrap();
    assert_eq!(by_name, by_id);
    assert_eq!(by_id.map(|m| m.len()), Some(2));

    // Names that are not path segments, or look like paths, are still names.
    for name in ["..", "a/b", "50% off?"] {
        let id = seed.group(name).await;
        scim.add(name, &alice).await.expect(name);
        assert_eq!(seed.members(&id).await, vec![alice.clone()], "{name}");
    }
}

#[tokio::test]
async fn unknown_or_ambiguous_groups_are_misconfigured() {
    let Some(server) = scim_server().await else {
        return;
    };
    let seed = Seed::new(&server);
    let alice = seed.user("alice").await;
    seed.group("twins").await;
    seed.group("twins").await;
    let scim = connect(&server);

    for result in [
        scim.add("no such group", &alice).await,
        scim.remove("no such group", &alice).await,
        scim.members("no such group").await.map(|_| ()),
    ] {
        match result {
            Err(ConnectorError::Misconfigured(m)) => assert!(m.contains("no such group"), "{m}"),
            other => panic!("expected Misconfigured, got {other:?}"),
        }
    }
    match scim.add("twins", &alice).await {
        Err(ConnectorError::Misconfigured(m)) => assert!(m.contains("2 SCIM groups"), "{m}"),
        other => panic!("expected Misconfigured, got {other:?}"),
    }
}

#[tokio::test]
async fn a_deleted_group_is_forgotten() {
    let Some(server) = scim_server().await else {
        return;
    };
    let seed = Seed::new(&server);
    let alice = seed.user("alice").await;
    let old = seed.group("rotating").await;
    let scim = connect(&server);
    scim.add("rotating", &alice).await.expect("add");

    // Recreated under the same name: the remembered id answers 404, the name finds the new one.
    seed.delete_group(&old).await;
    let new = seed.group("rotating").await;
    scim.add("rotating", &alice)
        .await
        .expect("add to the new group");
    assert_eq!(seed.members(&new).await, vec![alice.clone()]);

    seed.delete_group(&new).await;
    assert!(matches!(
        scim.members("rotating").await,
        Err(ConnectorError::Misconfigured(_))
    ));
    assert!(matches!(
        scim.remove(&new, &alice).await,
        Err(ConnectorError::Misconfigured(_))
    ));
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_never_shown() {
    let Some(server) = scim_server().await else {
        return;
    };
    let seed = Seed::new(&server);
    let alice = seed.user("alice").await;
    let group = seed.group("g").await;
    let wrong = "wrong-token-f00d";
    let scim = connector(&server.base_url(), wrong, json!({}));

    let results = [
        scim.probe().await,
        scim.resolve(&identity("alice", None)).await.map(|_| ()),
        scim.add(&group, &alice).await,
        scim.remove(&group, &alice).await,
        scim.members(&group).await.map(|_| ()),
    ];
    for result in results {
        match result {
            Err(ConnectorError::Unauthorized(m)) => {
                assert!(m.contains("401"), "{m}");
                assert!(!m.contains(wrong), "the token leaked: {m}");
            }
            other => panic!("expected Unauthorized, got {other:?}"),
        }
    }
    assert_eq!(connect(&server).probe().await, Ok(()));
}

#[tokio::test]
async fn a_stopped_server_is_unavailable_until_it_is_back() {
    let Some(mut server) = scim_server().await else {
        return;
    };
    let seed = Seed::new(&server);
    let alice = seed.user("alice").await;
    seed.group("on-call").await;
    let scim = connect(&server);
    scim.add("on-call", &alice).await.expect("add while up");

    server.stop();
    let down = [
        scim.probe().await,
        scim.resolve(&identity("alice", None)).await.map(|_| ()),
        scim.add("on-call", &alice).await,
        scim.members("on-call").await.map(|_| ()),
    ];
    for result in down {
        assert!(
            matches!(&result, Err(ConnectorError::Unavailable(_))),
            "expected Unavailable, got {result:?}"
        );
    }

    // Back, empty (it is in memory): seed again; the remembered group id is stale and replaced.
    server.start().await;
    assert_eq!(scim.probe().await, Ok(()));
    let alice = seed.user("alice").await;
    let group = seed.group("on-call").await;
    let found = scim.resolve(&identity("alice", None)).await;
    assert_eq!(found, Ok(Some(alice.clone())));
    scim.add("on-call", &alice)
        .await
        .expect("add after restart");
    assert_eq!(seed.members(&group).await, vec![alice]);
}
