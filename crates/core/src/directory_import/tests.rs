use std::collections::HashSet;

use uuid::Uuid;

use super::*;

fn user(key: &str) -> SourceUser {
    SourceUser {
        key: key.into(),
        dn: key.into(),
        user_name: format!("{key}@example.org"),
        uid: Some(key.into()),
        display_name: key.to_uppercase(),
        mail: Some(format!("{key}@example.org")),
        manager: None,
        enabled: true,
    }
}

fn group(key: &str, members: &[&str]) -> SourceGroup {
    SourceGroup {
        key: key.into(),
        dn: key.into(),
        display_name: key.to_uppercase(),
        description: None,
        members: members.iter().map(|m| m.to_string()).collect(),
        members_partial: false,
    }
}

fn full(users: Vec<SourceUser>, groups: Vec<SourceGroup>) -> Snapshot {
    Snapshot {
        users,
        groups,
        complete: true,
        members_by_uid: false,
    }
}

/// What Eligo would hold after applying `plan` of `snapshot` over nothing: every new entry
/// gets an id, members and managers resolved.
fn imported(snapshot: &Snapshot) -> (Known, std::collections::HashMap<String, Uuid>) {
    let p = plan(snapshot, &Known::default());
    let mut ids = std::collections::HashMap::new();
    for (n, u) in p.create_users.iter().enumerate() {
        ids.insert(u.key.clone(), Uuid::from_u128(1000 + n as u128));
    }
    for (n, g) in p.create_groups.iter().enumerate() {
        ids.insert(g.key.clone(), Uuid::from_u128(5000 + n as u128));
    }
    let id = |r: &Ref| match r {
        Ref::Known(id) => *id,
        Ref::New(key) => ids[key],
    };
    let users = p
        .create_users
        .iter()
        .map(|u| KnownUser {
            id: ids[&u.key],
            key: u.key.clone(),
            dn: u.dn.clone(),
            uid: u.uid.clone(),
            user_name: u.user_name.clone(),
            display_name: u.display_name.clone(),
            mail: u.mail.clone(),
            manager: p
                .managers
                .iter()
                .find(|(who, _)| id(who) == ids[&u.key])
                .and_then(|(_, m)| m.as_ref().map(id)),
            enabled: u.enabled,
            source_enabled: u.enabled,
        })
        .collect();
    let groups = p
        .create_groups
        .iter()
        .map(|g| KnownGroup {
            id: ids[&g.key],
            key: g.key.clone(),
            dn: g.dn.clone(),
            display_name: g.display_name.clone(),
            description: g.description.clone(),
            members: p
                .add_members
                .iter()
                .filter(|(grp, _)| id(grp) == ids[&g.key])
                .map(|(_, m)| id(m))
                .collect(),
        })
        .collect();
    (
        Known {
            users,
            groups,
            taken: HashSet::new(),
        },
        ids,
    )
}

#[test]
fn a_first_import_creates_users_groups_nesting_and_managers() {
    let mut bob = user("bob");
    bob.manager = Some("alice".into());
    let snapshot = full(
        vec![user("alice"), bob],
        vec![
            group("admins", &["alice", "outsider"]),
            group("staff", &["bob", "admins", "staff"]),
        ],
    );
    let p = plan(&snapshot, &Known::default());
    assert_eq!(p.create_users.len(), 2);
    assert_eq!(p.create_groups.len(), 2);
    assert_eq!(
        p.managers,
        vec![(Ref::New("bob".into()), Some(Ref::New("alice".into())))]
    );
    let new = |k: &str| Ref::New(k.into());
    // An unknown member is ignored, and a group is never its own member.
    assert_eq!(
        p.add_members,
        vec![
            (new("admins"), new("alice")),
            (new("staff"), new("admins")),
            (new("staff"), new("bob")),
        ]
    );
    assert!(p.skipped.is_empty() && p.update_users.is_empty());
}

#[test]
fn importing_the_same_directory_again_changes_nothing() {
    let mut bob = user("bob");
    bob.manager = Some("alice".into());
    let snapshot = full(
        vec![user("alice"), bob],
        vec![group("g", &["alice", "bob"]), group("h", &["g"])],
    );
    let (known, _) = imported(&snapshot);
    let again = plan(&snapshot, &known);
    assert!(again.is_empty(), "{again:?}");
    assert!(again.skipped.is_empty());
}

#[test]
fn changed_attributes_are_updated_and_members_follow() {
    let before = full(
        vec![user("alice"), user("bob")],
        vec![group("g", &["alice"])],
    );
    let (known, ids) = imported(&before);
    let mut alice = user("alice");
    alice.display_name = "Alice Smith".into();
    alice.mail = None;
    let mut g = group("g", &["bob"]);
    g.description = Some("the team".into());
    let p = plan(&full(vec![alice, user("bob")], vec![g]), &known);
    assert_eq!(p.update_users.len(), 1);
    let u = &p.update_users[0];
    assert_eq!(u.id, ids["alice"]);
    assert_eq!(u.display_name.as_deref(), Some("Alice Smith"));
    assert_eq!(u.mail, Some(None));
    assert_eq!(u.user_name, None);
    assert_eq!(u.enabled, None);
    assert_eq!(p.update_groups.len(), 1);
    assert_eq!(
        p.update_groups[0].description,
        Some(Some("the team".into()))
    );
    assert_eq!(
        p.add_members,
        vec![(Ref::Known(ids["g"]), Ref::Known(ids["bob"]))]
    );
    assert_eq!(p.remove_members, vec![(ids["g"], ids["alice"])]);
}

#[test]
fn only_a_full_pass_deactivates_and_empties_what_is_gone() {
    let before = full(
        vec![user("alice"), user("bob")],
        vec![group("g", &["alice", "bob"]), group("h", &["bob"])],
    );
    let (known, ids) = imported(&before);
    // An incremental pass sees only what changed: nothing is gone.
    let mut incremental = full(vec![], vec![]);
    incremental.complete = false;
    assert!(plan(&incremental, &known).is_empty());

    let p = plan(
        &full(vec![user("alice")], vec![group("g", &["alice"])]),
        &known,
    );
    assert_eq!(p.deactivations(), 1);
    let off = &p.update_users[0];
    assert_eq!(
        (off.id, off.enabled, off.source.enabled),
        (ids["bob"], Some(false), Some(false))
    );
    assert_eq!(p.groups_removed, vec![ids["h"]]);
    let mut removed = p.remove_members.clone();
    removed.sort();
    let mut expect = vec![(ids["h"], ids["bob"]), (ids["g"], ids["bob"])];
    expect.sort();
    assert_eq!(removed, expect);
}

#[test]
fn an_incremental_pass_names_members_imported_before() {
    let before = full(
        vec![user("alice"), user("bob")],
        vec![group("g", &["alice"])],
    );
    let (known, ids) = imported(&before);
    let mut carol = user("carol");
    carol.manager = Some("alice".into());
    let changed = Snapshot {
        users: vec![carol],
        groups: vec![group("g", &["alice", "bob", "carol"])],
        complete: false,
        members_by_uid: false,
    };
    let p = plan(&changed, &known);
    assert_eq!(p.create_users.len(), 1);
    assert_eq!(p.deactivations(), 0);
    assert_eq!(
        p.managers,
        vec![(Ref::New("carol".into()), Some(Ref::Known(ids["alice"])))]
    );
    assert_eq!(
        p.add_members,
        vec![
            (Ref::Known(ids["g"]), Ref::Known(ids["bob"])),
            (Ref::Known(ids["g"]), Ref::New("carol".into())),
        ]
    );
    assert!(p.remove_members.is_empty());
}

#[test]
fn a_name_eligo_or_another_source_holds_is_never_taken_over() {
    let mut known = Known::default();
    known.taken.insert("admin@example.org".into());
    let mut admin = user("admin");
    admin.user_name = "Admin@Example.org".into();
    let snapshot = full(
        vec![admin, user("bob")],
        vec![group("g", &["admin", "bob"])],
    );
    let p = plan(&snapshot, &known);
    assert_eq!(p.create_users.len(), 1);
    assert_eq!(p.create_users[0].key, "bob");
    assert_eq!(p.skipped.len(), 1);
    assert!(
        p.skipped[0].reason.contains("never taken over"),
        "{:?}",
        p.skipped
    );
    // The skipped entry is no member of anything either.
    assert_eq!(
        p.add_members,
        vec![(Ref::New("g".into()), Ref::New("bob".into()))]
    );

    // Nor by renaming an imported user to it.
    let (mut known, _) = imported(&full(vec![user("bob")], vec![]));
    known.taken.insert("admin@example.org".into());
    let mut bob = user("bob");
    bob.user_name = "admin@example.org".into();
    let p = plan(&full(vec![bob], vec![]), &known);
    assert!(p.update_users.is_empty() && p.create_users.is_empty());
    assert_eq!(p.skipped.len(), 1);
}

#[test]
fn bad_and_duplicate_entries_are_skipped_with_a_reason() {
    let mut nodomain = user("x");
    nodomain.user_name = "x".into();
    let mut twin = user("twin");
    twin.user_name = "alice@example.org".into();
    let mut badmail = user("m");
    badmail.mail = Some("not a mail".into());
    let mut badgroup = group("bad", &[]);
    badgroup.display_name = String::new();
    let p = plan(
        &full(vec![user("alice"), nodomain, twin, badmail], vec![badgroup]),
        &Known::default(),
    );
    assert_eq!(p.create_users.len(), 1);
    let reasons: Vec<&str> = p.skipped.iter().map(|s| s.dn.as_str()).collect();
    assert_eq!(reasons, vec!["x", "twin", "m", "bad"]);

    // An imported user whose entry turns bad is skipped, not deactivated; a group read only in
    // part loses nobody.
    let (known, ids) = imported(&full(
        vec![user("alice"), user("bob")],
        vec![group("g", &["alice", "bob"])],
    ));
    let mut broken = user("alice");
    broken.display_name = String::new();
    let mut partial = group("g", &["bob"]);
    partial.members_partial = true;
    let p = plan(&full(vec![broken, user("bob")], vec![partial]), &known);
    assert_eq!(p.deactivations(), 0, "{p:?}");
    assert!(p.remove_members.is_empty());
    assert_eq!(p.skipped.len(), 2);
    assert!(ids.contains_key("alice"));
}

#[test]
fn the_directory_decides_the_account_state_only_when_it_changes() {
    let (mut known, ids) = imported(&full(vec![user("alice")], vec![]));
    // Disabled in the directory: deactivated.
    let mut off = user("alice");
    off.enabled = false;
    let p = plan(&full(vec![off.clone()], vec![]), &known);
    assert_eq!(p.deactivations(), 1);

    // An administrator's emergency stop is kept while the directory still says enabled.
    known.users[0].enabled = false;
    assert!(plan(&full(vec![user("alice")], vec![]), &known).is_empty());

    // Disabled then enabled again in the directory: re-enabled.
    known.users[0].source_enabled = false;
    let p = plan(&full(vec![user("alice")], vec![]), &known);
    assert_eq!(p.update_users.len(), 1);
    assert_eq!(
        (p.update_users[0].id, p.update_users[0].enabled),
        (ids["alice"], Some(true))
    );
    // Gone once is recorded; gone again changes nothing.
    known.users[0].source_enabled = false;
    known.users[0].enabled = true;
    assert!(plan(&full(vec![], vec![]), &known).update_users.is_empty());
}

#[test]
fn a_renamed_entry_keeps_its_user() {
    let (known, ids) = imported(&full(vec![user("alice")], vec![group("g", &["alice"])]));
    let mut moved = user("alice");
    moved.key = "uid=alice,ou=moved".into();
    moved.dn = moved.key.clone();
    let p = plan(
        &full(vec![moved], vec![group("g", &["uid=alice,ou=moved"])]),
        &known,
    );
    assert!(p.create_users.is_empty());
    assert_eq!(p.deactivations(), 0);
    assert_eq!(p.update_users.len(), 1);
    assert_eq!(p.update_users[0].id, ids["alice"]);
    assert_eq!(p.update_users[0].source.key, "uid=alice,ou=moved");
    assert!(p.add_members.is_empty() && p.remove_members.is_empty());
}

/// An incremental pass reads only changed entries, so it cannot tell a moved entry from a new
/// one that repeats a known userName: it leaves the account alone, and a full pass decides.
#[test]
fn only_a_full_pass_gives_an_account_to_another_entry() {
    let (known, ids) = imported(&full(vec![user("alice")], vec![]));
    let mut other = user("alice");
    other.key = "uid=alice,ou=elsewhere".into();
    other.dn = other.key.clone();
    other.mail = Some("mallory@example.org".into());
    let incremental = Snapshot {
        users: vec![other.clone()],
        groups: vec![],
        complete: false,
        members_by_uid: false,
    };
    let p = plan(&incremental, &known);
    assert!(p.update_users.is_empty(), "{:?}", p.update_users);
    assert!(p.create_users.is_empty());
    assert_eq!(p.skipped.len(), 1);
    assert!(p.skipped[0].reason.contains("full pass"), "{:?}", p.skipped);
    // A full pass that still reads the old entry keeps the account with it.
    let both = plan(&full(vec![user("alice"), other.clone()], vec![]), &known);
    assert!(both.update_users.iter().all(|u| u.source.key == "alice"));
    assert!(both.create_users.is_empty());
    assert_eq!(both.skipped.len(), 1);
    // A full pass without it moves the account to the new entry.
    let moved = plan(&full(vec![other], vec![]), &known);
    assert_eq!(moved.update_users.len(), 1);
    assert_eq!(moved.update_users[0].id, ids["alice"]);
}

#[test]
fn posix_groups_name_members_by_uid() {
    let snapshot = Snapshot {
        users: vec![user("alice"), user("bob")],
        groups: vec![group("g", &["bob", "nobody"])],
        complete: true,
        members_by_uid: true,
    };
    let p = plan(&snapshot, &Known::default());
    assert_eq!(
        p.add_members,
        vec![(Ref::New("g".into()), Ref::New("bob".into()))]
    );
}
