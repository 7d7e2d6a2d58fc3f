//! Provisioning to a real OpenLDAP (slapd with memberof and refint): a groupOfNames follows
//! the Eligo group's effective membership, keeps its schema-required member when the last one
//! leaves, and loses strays to reconciliation.

use axum::http::StatusCode;
use chrono::TimeDelta;
use eligo_testkit::slapd::{Slapd, slapd};
use serde_json::json;
use uuid::Uuid;

use super::{activities, connector, deliver, map};
use crate::access::{add_member, new_group};
use crate::harness::*;

const G: &str = "/v1/identityGovernance/privilegedAccess/group";

/// An Eligo group mapped to `cn=dba,ou=groups,...` (holding only the bind DN, as a new
/// groupOfNames must hold someone), with LDAP users for `uids`.
async fn setup(uids: &[&str]) -> Option<(TestApp, Slapd, Uuid, Uuid, String, Vec<String>)> {
    let ldap = slapd().await?;
    let mut dns = Vec::new();
    for uid in uids {
        dns.push(ldap.add_user(uid, &format!("{uid}@contoso.example")).await);
    }
    let group_dn = ldap.add_group_of_names("dba", &[]).await;
    let t = TestApp::new().await;
    let group = new_group(&t, "Database administrators", false).await;
    let connector = connector(
        &t,
        "ldap",
        json!({ "url": ldap.url(), "bindDn": ldap.admin_dn(), "bindPassword": ldap.admin_password(),
                "userBaseDn": ldap.people_dn(), "timeoutSeconds": 5 }),
    )
    .await;
    map(&t, group, connector, &group_dn).await;
    deliver(&t).await;
    Some((t, ldap, group, connector, group_dn, dns))
}

fn same(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v
            .iter()
            .map(|d| eligo::connectors::ldap::dn::normalize(d).unwrap())
            .collect();
        v.sort();
        v
    };
    norm(a) == norm(b)
}

#[tokio::test]
async fn a_group_of_names_follows_activation_and_expiry() {
    let Some((t, ldap, group, _, group_dn, dns)) = setup(&["ivan", "judy"]).await else {
        return;
    };
    let ivan = t.person("ivan").await;
    let (status, body) = t
        .post(
            &format!("{G}/eligibilityScheduleRequests"),
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": ivan.id, "groupId": group,
                    "accessId": "member", "justification": "dba rota",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.step_up(&ivan).await;
    let (status, body) = t
        .post(
            &format!("{G}/assignmentScheduleRequests"),
            &ivan.token,
            json!({ "action": "selfActivate", "principalId": ivan.id, "groupId": group,
                    "accessId": "member", "justification": "index rebuild",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT30M" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    deliver(&t).await;
    let members = ldap.group_members(&group_dn).await;
    assert!(same(&members, &[dns[0].clone()]), "{members:?}");

    let judy = t.user("judy").await;
    add_member(&t, group, judy).await;
    deliver(&t).await;
    assert!(same(&ldap.group_members(&group_dn).await, &dns));

    // At the end the removal is already waiting: it runs whether or not the scheduler has
    // processed the expiry yet (the scheduler's own pass then finds nothing left to remove).
    t.clock.advance(TimeDelta::minutes(30));
    deliver(&t).await;
    assert!(same(
        &ldap.group_members(&group_dn).await,
        &[dns[1].clone()]
    ));
    t.tick(TimeDelta::zero()).await;
    deliver(&t).await;
    assert!(same(
        &ldap.group_members(&group_dn).await,
        &[dns[1].clone()]
    ));

    // The last member leaves: the schema needs one, so the placeholder (the bind DN) stays.
    t.delete(&format!("/v1/groups/{group}/members/{judy}"), BOOTSTRAP)
        .await;
    deliver(&t).await;
    let left = ldap.group_members(&group_dn).await;
    assert!(same(&left, &[ldap.admin_dn().to_string()]), "{left:?}");
    assert!(
        activities(&t)
            .await
            .iter()
            .filter(|a| *a == "Remove member from group in downstream system (provisioning)")
            .count()
            >= 2
    );
}

/// Rule 6 downstream: disabling an account takes it out of every mapped group it is in, and
/// reconciliation does not put it back; enabling it again (still a member) puts it back.
#[tokio::test]
async fn a_disabled_member_is_taken_out_downstream() {
    let Some((t, ldap, group, connector, group_dn, dns)) = setup(&["lena", "omar"]).await else {
        return;
    };
    let lena = t.user("lena").await;
    let omar = t.user("omar").await;
    add_member(&t, group, lena).await;
    add_member(&t, group, omar).await;
    deliver(&t).await;
    assert!(same(&ldap.group_members(&group_dn).await, &dns));
    let enable = |on: bool| json!({ "accountEnabled": on });
    let (status, body) = t
        .patch(&format!("/v1/users/{lena}"), BOOTSTRAP, enable(false))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    deliver(&t).await;
    let members = ldap.group_members(&group_dn).await;
    assert!(same(&members, &[dns[1].clone()]), "{members:?}");
    let (status, body) = t
        .post(
            &format!("/v1/connectors/{connector}/reconcile"),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let members = ldap.group_members(&group_dn).await;
    assert!(same(&members, &[dns[1].clone()]), "{members:?}");
    let (status, body) = t
        .patch(&format!("/v1/users/{lena}"), BOOTSTRAP, enable(true))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    deliver(&t).await;
    assert!(same(&ldap.group_members(&group_dn).await, &dns));
}

#[tokio::test]
async fn reconciliation_removes_a_member_added_by_hand() {
    let Some((t, ldap, group, connector, group_dn, dns)) = setup(&["kim", "eve"]).await else {
        return;
    };
    let kim = t.user("kim").await;
    add_member(&t, group, kim).await;
    deliver(&t).await;
    ldap.modify_ldif(&format!(
        "dn: {group_dn}\nchangetype: modify\nadd: member\nmember: {}\n",
        dns[1]
    ))
    .await;
    // kim (the placeholder went when the first real member came) and eve, by hand.
    assert_eq!(ldap.group_members(&group_dn).await.len(), 2);

    let (status, body) = t
        .post(
            &format!("/v1/connectors/{connector}/reconcile"),
            BOOTSTRAP,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["value"][0]["strays"].as_array().unwrap().len(),
        1,
        "{body}"
    );
    let members = ldap.group_members(&group_dn).await;
    assert!(same(&members, &[dns[0].clone()]), "{members:?}");
    let (_, alerts) = t.get("/v1/alerts", BOOTSTRAP).await;
    assert_eq!(alerts["value"][0]["alertType"], "membersAddedOutsideEligo");
    assert!(
        alerts["value"][0]["member"]
            .as_str()
            .is_some_and(|m| m.contains("eve")),
        "{alerts}"
    );
}

#[tokio::test]
async fn provisioning_works_the_same_on_postgresql() {
    let Some(ldap) = slapd().await else {
        return;
    };
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    let dn = ldap.add_user("lena", "lena@contoso.example").await;
    let group_dn = ldap.add_group_of_names("pg", &[]).await;
    let group = new_group(&t, "PG operators", false).await;
    let c = connector(
        &t,
        "ldap",
        json!({ "url": ldap.url(), "bindDn": ldap.admin_dn(), "bindPassword": ldap.admin_password(),
                "userBaseDn": ldap.people_dn() }),
    )
    .await;
    map(&t, group, c, &group_dn).await;
    let lena = t.user("lena").await;
    add_member(&t, group, lena).await;
    assert_eq!(deliver(&t).await.failed, 0);
    assert!(same(&ldap.group_members(&group_dn).await, &[dn]));
    t.delete(&format!("/v1/groups/{group}/members/{lena}"), BOOTSTRAP)
        .await;
    deliver(&t).await;
    assert!(same(
        &ldap.group_members(&group_dn).await,
        &[ldap.admin_dn().to_string()]
    ));
}
