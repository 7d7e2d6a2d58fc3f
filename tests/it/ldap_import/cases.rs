//! What an import does: create, follow changes, deactivate, stay authoritative, keep PIM working.

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_testkit::slapd::slapd;
use serde_json::json;
use uuid::Uuid;

use super::*;

const G: &str = "/v1/identityGovernance/privilegedAccess/group";

#[tokio::test]
async fn a_first_import_creates_users_groups_nesting_and_managers() {
    let Some(ldap) = slapd().await else { return };
    seed(&ldap).await;
    let t = TestApp::new().await;
    let id = connector(&t, settings(&ldap, json!({}))).await;

    let summary = imported(&t, id, "").await;
    assert_eq!(summary["mode"], "full", "{summary}");
    assert_eq!(summary["created"], 3, "{summary}");
    assert_eq!(summary["groupsCreated"], 2, "{summary}");
    assert_eq!(summary["managersSet"], 1, "{summary}");
    assert_eq!(summary["membersAdded"], 4, "{summary}");
    assert_eq!(summary["skipped"], json!([]), "{summary}");
    assert!(summary["highWaterMark"].as_str().is_some(), "{summary}");

    let alice = user(&t, "alice@example.org").await.expect("alice");
    let bob = user(&t, "bob@example.org").await.expect("bob");
    let carol = user(&t, "carol@example.org").await.expect("carol");
    assert_eq!(bob.display_name, "bob Example");
    assert_eq!(bob.mail.as_deref(), Some("bob@example.org"));
    assert_eq!(bob.manager_id, Some(alice.id));
    assert!(alice.account_enabled && bob.account_enabled);

    // Nesting: staff holds bob and, through admins, alice and carol.
    let admins = group(&t, id, "admins").await;
    let staff = group(&t, id, "staff").await;
    assert_eq!(
        admins.description.as_deref(),
        Some("Directory administrators")
    );
    let mut members = transitive_members(&t, staff.id).await;
    members.sort();
    let mut expect = vec![admins.id, alice.id, bob.id, carol.id];
    expect.sort();
    assert_eq!(members, expect);

    // Never privileged: no role-assignable group, no role for anyone imported.
    assert!(!admins.is_assignable_to_role && !staff.is_assignable_to_role);
    let mut tx = t.app.store.read().await.unwrap();
    let held = tx
        .list_role_schedules(&eligo_store::ScheduleQuery {
            principal_ids: Some(vec![alice.id, bob.id, carol.id, admins.id, staff.id]),
            targets: eligo_store::Targets::All,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(held.is_empty(), "{held:?}");
    drop(tx);

    // Each change is audited as the import; the pass itself once, by who asked.
    let by_import = t
        .audited_as("Add user")
        .await
        .into_iter()
        .filter(|e| {
            e["initiatedBy"]["app"]["displayName"]
                .as_str()
                .is_some_and(|n| n == format!("LDAP import {NAME}"))
        })
        .count();
    assert_eq!(by_import, 3);
    assert_eq!(t.audited_as("Import from directory").await.len(), 1);

    // The same directory again changes nothing.
    let again = imported(&t, id, "?full=true").await;
    for field in [
        "created",
        "updated",
        "deactivated",
        "groupsCreated",
        "membersAdded",
        "membersRemoved",
        "managersSet",
    ] {
        assert_eq!(again[field], 0, "{field}: {again}");
    }
}

#[tokio::test]
async fn later_passes_follow_changes_and_a_full_pass_finds_removals() {
    let Some(ldap) = slapd().await else { return };
    seed(&ldap).await;
    let t = TestApp::new().await;
    let id = connector(&t, settings(&ldap, json!({}))).await;
    imported(&t, id, "").await;
    let carol = user(&t, "carol@example.org").await.unwrap();
    // Carol is signed in and has activated a role.
    let session = t
        .session_of(carol.id, eligo_store::SessionChannel::Api)
        .await;
    let (status, _) = t.get("/v1/me", &session).await;
    assert_eq!(status, StatusCode::OK);
    let now = t.clock.now_utc();
    let activation = Uuid::new_v4();
    {
        let mut tx = t.app.store.write().await.unwrap();
        tx.insert_role_schedule(&RoleSchedule::new(
            activation,
            ScheduleKind::Active,
            carol.id,
            Uuid::parse_str(eligo_core::roles::ids::USER_ADMINISTRATOR).unwrap(),
            "/",
            (now, Some(now + TimeDelta::hours(2))),
            AssignmentType::Activated,
            None,
            now,
        ))
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    // She is eligible for Global Administrator too: a privileged account, whose profile the
    // import may not change, but which it must still turn off when she leaves.
    t.make_eligible(carol.id, eligo_core::roles::ids::GLOBAL_ADMINISTRATOR)
        .await;

    let people = ldap.people_dn();
    let groups = ldap.groups_dn();
    // Leaving, she is renamed in the same change, as offboarding often does.
    ldap.modify_ldif(&format!(
        "dn: uid=bob,{people}\nchangetype: modify\nreplace: cn\ncn: Bob Builder\n\n\
         dn: uid=carol,{people}\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n\
         -\nreplace: cn\ncn: Carol (left)\n\n\
         dn: uid=dave,{people}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: dave\ncn: Dave\n\
         sn: dave\nmanager: uid=bob,{people}\n\n\
         dn: cn=staff,{groups}\nchangetype: modify\nadd: member\nmember: uid=dave,{people}\n\n"
    ))
    .await;
    let summary = imported(&t, id, "").await;
    assert_eq!(summary["mode"], "incremental", "{summary}");
    assert_eq!(summary["created"], 1, "{summary}");
    assert_eq!(summary["updated"], 1, "{summary}");
    assert_eq!(summary["deactivated"], 1, "{summary}");
    assert_eq!(summary["membersAdded"], 1, "{summary}");
    assert_eq!(summary["managersSet"], 1, "{summary}");
    // Her rename is refused (a privileged account's profile is changed only from above) and
    // reported; her account is off all the same.
    let skipped = summary["skipped"].to_string();
    assert!(
        skipped.contains("uid=carol") && skipped.contains("PrivilegedTarget"),
        "{summary}"
    );
    assert_eq!(
        user(&t, "carol@example.org").await.unwrap().display_name,
        "carol Example"
    );
    let bob = user(&t, "bob@example.org").await.unwrap();
    assert_eq!(bob.display_name, "Bob Builder");
    let dave = user(&t, "dave@example.org").await.unwrap();
    assert_eq!(dave.manager_id, Some(bob.id));
    assert!(
        transitive_members(&t, group(&t, id, "staff").await.id)
            .await
            .contains(&dave.id)
    );

    // Carol's deactivation ran the cascades: her session and her activation ended.
    assert!(!user(&t, "carol@example.org").await.unwrap().account_enabled);
    let (status, _) = t.get("/v1/me", &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    {
        let mut tx = t.app.store.read().await.unwrap();
        let ended = tx.get_role_schedule(activation).await.unwrap().unwrap();
        assert!(ended.has_ended(t.clock.now_utc()), "{ended:?}");
    }

    // A removal is not a change an incremental pass can see; a full pass finds it.
    ldap.modify_ldif(&format!("dn: uid=alice,{people}\nchangetype: delete\n\n"))
        .await;
    let summary = imported(&t, id, "").await;
    assert_eq!(summary["mode"], "incremental", "{summary}");
    assert_eq!(summary["deactivated"], 0, "{summary}");
    assert!(user(&t, "alice@example.org").await.unwrap().account_enabled);
    let summary = imported(&t, id, "?full=true").await;
    assert_eq!(summary["mode"], "full", "{summary}");
    assert_eq!(summary["deactivated"], 1, "{summary}");
    let alice = user(&t, "alice@example.org").await.unwrap();
    assert!(!alice.account_enabled);
    assert!(
        !transitive_members(&t, group(&t, id, "admins").await.id)
            .await
            .contains(&alice.id)
    );
    // Bob's manager is gone from the directory: no manager.
    assert_eq!(user(&t, "bob@example.org").await.unwrap().manager_id, None);

    // A full pass also comes on its own once fullSyncHours have passed.
    t.clock.advance(TimeDelta::hours(25));
    assert_eq!(imported(&t, id, "").await["mode"], "full");
}

#[tokio::test]
async fn the_directory_is_authoritative_and_pim_works_on_top() {
    let Some(ldap) = slapd().await else { return };
    seed(&ldap).await;
    let t = TestApp::new().await;
    let id = connector(&t, settings(&ldap, json!({}))).await;
    imported(&t, id, "").await;
    let bob = user(&t, "bob@example.org").await.unwrap();
    let staff = group(&t, id, "staff").await;
    let native = t.user("native").await;

    let attempts = [
        (
            Method::PATCH,
            format!("/v1/users/{}", bob.id),
            Some(json!({ "displayName": "Robert" })),
        ),
        (Method::DELETE, format!("/v1/users/{}", bob.id), None),
        (
            Method::PATCH,
            format!("/v1/groups/{}", staff.id),
            Some(json!({ "displayName": "Renamed" })),
        ),
        (
            Method::POST,
            format!("/v1/groups/{}/members", staff.id),
            Some(json!({ "id": native })),
        ),
        (
            Method::DELETE,
            format!("/v1/groups/{}/members/{}", staff.id, bob.id),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = t.call(method, &path, Some(BOOTSTRAP), body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {answer}");
        assert_eq!(code(&answer), "SourceAuthoritative", "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("the LDAP import \"{NAME}\"")),
            "{message}"
        );
    }

    // PIM for Groups on the imported group: carol (not a member in the directory) is made
    // eligible and activates; the next import leaves her activation alone.
    let carol = user(&t, "carol@example.org").await.unwrap();
    let (status, body) = t
        .post(
            &format!("{G}/eligibilityScheduleRequests"),
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": carol.id, "groupId": staff.id,
                    "accessId": "member", "justification": "on call",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = t
        .session_of(carol.id, eligo_store::SessionChannel::Api)
        .await;
    let (status, body) = t
        .post(
            &format!("{G}/assignmentScheduleRequests"),
            &token,
            json!({ "action": "selfActivate", "principalId": carol.id, "groupId": staff.id,
                    "accessId": "member", "justification": "incident",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let is_member = |t: &TestApp| {
        t.app
            .access
            .member_of(carol.id, staff.id, t.clock.now_utc())
            .member
    };
    assert!(is_member(&t));
    let summary = imported(&t, id, "?full=true").await;
    assert_eq!(summary["membersRemoved"], 0, "{summary}");
    assert!(is_member(&t));
}

#[tokio::test]
async fn an_entry_never_takes_over_an_account_the_import_does_not_own() {
    let Some(ldap) = slapd().await else { return };
    seed(&ldap).await;
    let t = TestApp::new().await;
    // A local Global Administrator, and a directory entry claiming the same name.
    let (root, _) = t
        .admin("root", eligo_core::roles::ids::GLOBAL_ADMINISTRATOR)
        .await;
    let people = ldap.people_dn();
    let groups = ldap.groups_dn();
    ldap.add_ldif(&format!(
        "dn: uid=root,{people}\nobjectClass: inetOrgPerson\nuid: root\ncn: Attacker\nsn: x\n\
         mail: attacker@evil.example\n\n"
    ))
    .await;
    ldap.modify_ldif(&format!(
        "dn: cn=staff,{groups}\nchangetype: modify\nadd: member\nmember: uid=root,{people}\n\n"
    ))
    .await;
    let id = connector(
        &t,
        settings(&ldap, json!({ "upnSuffix": "contoso.example" })),
    )
    .await;
    let summary = imported(&t, id, "").await;
    let skipped = summary["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{summary}");
    assert!(skipped[0]["dn"].as_str().unwrap().starts_with("uid=root"));
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("never taken over"),
        "{summary}"
    );
    let (status, kept) = t.get(&format!("/v1/users/{root}"), BOOTSTRAP).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept["displayName"], "root");
    assert_ne!(kept["mail"], "attacker@evil.example");
    let mut tx = t.app.store.read().await.unwrap();
    assert!(tx.get_source(root).await.unwrap().is_none());
    drop(tx);
    assert!(
        !transitive_members(&t, group(&t, id, "staff").await.id)
            .await
            .contains(&root)
    );
    // The administrator can still edit their own account.
    let (status, body) = t
        .patch(
            &format!("/v1/users/{root}"),
            BOOTSTRAP,
            json!({ "displayName": "Root" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// An imported group mapped downstream (here to another group of the same directory, through
/// the import's own connector): the members the directory gave it are pushed, and so is a PIM
/// activation on top, which leaves downstream again when it ends.
#[tokio::test]
async fn pim_on_an_imported_group_is_pushed_downstream() {
    let Some(ldap) = slapd().await else { return };
    seed(&ldap).await;
    let dave_dn = ldap.add_user("dave", "dave@example.org").await;
    let t = TestApp::new().await;
    let id = connector(&t, settings(&ldap, json!({}))).await;
    imported(&t, id, "").await;
    let staff = group(&t, id, "staff").await;
    let dave = user(&t, "dave@example.org")
        .await
        .expect("dave was imported");
    let target = ldap.add_group_of_names("staff-app", &[]).await;
    let (status, body) = t
        .post(
            &format!("/v1/groups/{}/provisioning", staff.id),
            BOOTSTRAP,
            json!({ "connectorId": id, "target": target }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let deliver = || async { eligo::outbox::worker::run_due(&t.app).await.unwrap() };
    deliver().await;
    let downstream = |members: Vec<String>| {
        members
            .iter()
            .map(|m| m.to_ascii_lowercase())
            .filter(|m| m.starts_with("uid="))
            .map(|m| {
                m.split(',')
                    .next()
                    .unwrap()
                    .trim_start_matches("uid=")
                    .to_string()
            })
            .collect::<std::collections::BTreeSet<_>>()
    };
    // Bob directly, Alice and Carol through the nested `admins`.
    assert_eq!(
        downstream(ldap.group_members(&target).await),
        ["alice", "bob", "carol"].map(String::from).into(),
    );

    // Dave, in no directory group, is made eligible in Eligo and activates.
    let (status, body) = t
        .post(
            &format!("{G}/eligibilityScheduleRequests"),
            BOOTSTRAP,
            json!({ "action": "adminAssign", "principalId": dave.id, "groupId": staff.id,
                    "accessId": "member", "justification": "on call",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "P30D" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = t
        .session_of(dave.id, eligo_store::SessionChannel::Api)
        .await;
    let (status, body) = t
        .post(
            &format!("{G}/assignmentScheduleRequests"),
            &token,
            json!({ "action": "selfActivate", "principalId": dave.id, "groupId": staff.id,
                    "accessId": "member", "justification": "incident",
                    "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    deliver().await;
    let members = ldap.group_members(&target).await;
    assert!(
        members.iter().any(|m| m.eq_ignore_ascii_case(&dave_dn)),
        "{members:?}"
    );

    // The activation ends: Dave leaves the downstream group, the others stay.
    t.tick(TimeDelta::hours(2)).await;
    deliver().await;
    assert_eq!(
        downstream(ldap.group_members(&target).await),
        ["alice", "bob", "carol"].map(String::from).into(),
    );
}
