//! LDAP / Active Directory import (issue 19, items 4 and 5) against a real slapd from the
//! testkit: a first pass creates users, groups, nesting and managers; later passes follow
//! changes incrementally and find removals in a full pass (deactivation runs the cascades);
//! what the directory owns answers 409 naming the import while PIM keeps working on top; an
//! entry never takes over an account the import does not own; bad settings are 400; a directory
//! that is down changes nothing; the schedule imports once per interval.

mod cases;
mod faults;

use axum::http::StatusCode;
use eligo_core::directory::{Group, User};
use eligo_testkit::slapd::Slapd;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::*;

pub const NAME: &str = "Corp directory";

/// Alice; Bob (managed by Alice); Carol. `admins` holds Alice and Carol; `staff` holds Bob and
/// the group `admins` (nesting).
pub async fn seed(ldap: &Slapd) {
    let people = ldap.people_dn();
    let groups = ldap.groups_dn();
    let person = |uid: &str, extra: &str| {
        format!(
            "dn: uid={uid},{people}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid} Example\n\
             sn: {uid}\nmail: {uid}@example.org\n{extra}\n"
        )
    };
    let mut ldif = person("alice", "");
    ldif.push_str(&person("bob", &format!("manager: uid=alice,{people}\n")));
    ldif.push_str(&person("carol", ""));
    ldif.push_str(&format!(
        "dn: cn=admins,{groups}\nobjectClass: groupOfNames\ncn: admins\ndescription: Directory \
         administrators\nmember: uid=alice,{people}\nmember: uid=carol,{people}\n\n\
         dn: cn=staff,{groups}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=bob,{people}\n\
         member: cn=admins,{groups}\n\n"
    ));
    ldap.add_ldif(&ldif).await;
}

pub fn settings(ldap: &Slapd, import: Value) -> Value {
    let mut block = json!({
        "groupBaseDn": ldap.groups_dn(),
        "upnSuffix": "example.org",
        "disabledFilter": "(employeeType=disabled)",
    });
    for (k, v) in import.as_object().expect("object") {
        block[k] = v.clone();
    }
    json!({ "url": ldap.url(), "bindDn": ldap.admin_dn(), "bindPassword": ldap.admin_password(),
            "userBaseDn": ldap.people_dn(), "timeoutSeconds": 5, "import": block })
}

/// An LDAP connector that imports, created by the break-glass Global Administrator.
pub async fn connector(t: &TestApp, settings: Value) -> Uuid {
    let (status, body) = t
        .post(
            "/v1/connectors",
            BOOTSTRAP,
            json!({ "type": "ldap", "displayName": NAME, "settings": settings }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    id_of(&body)
}

/// `POST /v1/connectors/{id}/import[?query]` as break-glass.
pub async fn import(t: &TestApp, connector: Uuid, query: &str) -> (StatusCode, Value) {
    t.post(
        &format!("/v1/connectors/{connector}/import{query}"),
        BOOTSTRAP,
        json!({}),
    )
    .await
}

/// An import that must succeed; its summary.
pub async fn imported(t: &TestApp, connector: Uuid, query: &str) -> Value {
    let (status, body) = import(t, connector, query).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub async fn user(t: &TestApp, upn: &str) -> Option<User> {
    let mut tx = t.app.store.read().await.unwrap();
    tx.find_user_by_upn(upn).await.unwrap()
}

/// The group the import created for `cn`.
pub async fn group(t: &TestApp, connector: Uuid, cn: &str) -> Group {
    let mut tx = t.app.store.read().await.unwrap();
    for row in tx.list_sourced(connector, "group").await.unwrap() {
        let g = tx.get_group(row.principal_id).await.unwrap().unwrap();
        if g.display_name == cn {
            return g;
        }
    }
    panic!("no imported group {cn}");
}

/// The ids `/v1/groups/{id}/transitiveMembers` answers.
pub async fn transitive_members(t: &TestApp, group: Uuid) -> Vec<Uuid> {
    member_ids(t, group, "transitiveMembers").await
}
