//! Groups and service principals, and how principal kinds stay apart.

use std::sync::Arc;

use eligo_core::directory::{Group, PrincipalKind};
use eligo_store::{GroupQuery, Page, Principal, Store};

use crate::common::*;

fn names(groups: &[Group]) -> Vec<&str> {
    groups.iter().map(|g| g.display_name.as_str()).collect()
}

async fn groups_and_service_principals(store: Arc<dyn Store>) {
    let admins = group(20, "Role Admins", true);
    let staff = group(21, "staff", false);
    let zeta = group(22, "Zeta", false);
    let app = id(0xA99);
    let pipeline = service_principal(30, "Pipeline", app);
    let robot = service_principal(31, "A Robot", id(0xA98));
    let alice = user(10, "alice@x.com", "Alice");

    let mut tx = write(&store).await;
    for g in [&zeta, &admins, &staff] {
        tx.insert_group(g).await.unwrap();
    }
    tx.insert_service_principal(&pipeline).await.unwrap();
    tx.insert_service_principal(&robot).await.unwrap();
    tx.insert_user(&alice).await.unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(tx.get_group(admins.id).await.unwrap(), Some(admins.clone()));
    assert_eq!(tx.get_group(staff.id).await.unwrap(), Some(staff.clone()));
    assert_eq!(tx.get_group(id(23)).await.unwrap(), None);

    let all = tx
        .list_groups(&GroupQuery::default(), Page::ALL)
        .await
        .unwrap();
    assert_eq!(
        all,
        vec![admins.clone(), staff.clone(), zeta.clone()],
        "only groups, ordered by display name ignoring case"
    );
    let assignable = GroupQuery {
        is_assignable_to_role: Some(true),
        ..GroupQuery::default()
    };
    assert_eq!(
        tx.list_groups(&assignable, Page::ALL).await.unwrap(),
        vec![admins.clone()]
    );
    let ordinary = GroupQuery {
        is_assignable_to_role: Some(false),
        ..GroupQuery::default()
    };
    assert_eq!(
        names(&tx.list_groups(&ordinary, Page::ALL).await.unwrap()),
        ["staff", "Zeta"]
    );
    let by_name = GroupQuery {
        display_name: Some("STAFF".into()),
        ..GroupQuery::default()
    };
    assert_eq!(
        tx.list_groups(&by_name, Page::ALL).await.unwrap(),
        vec![staff.clone()]
    );
    let none = GroupQuery {
        display_name: Some("staff".into()),
        is_assignable_to_role: Some(true),
        ..GroupQuery::default()
    };
    assert!(tx.list_groups(&none, Page::ALL).await.unwrap().is_empty());
    assert_eq!(
        names(
            &tx.list_groups(&GroupQuery::default(), Page { top: 1, skip: 1 })
                .await
                .unwrap()
        ),
        ["staff"]
    );

    // Service principals.
    assert_eq!(
        tx.get_service_principal(pipeline.id).await.unwrap(),
        Some(pipeline.clone())
    );
    assert_eq!(
        tx.find_service_principal_by_app_id(app).await.unwrap(),
        Some(pipeline.clone())
    );
    assert_eq!(
        tx.find_service_principal_by_app_id(pipeline.id)
            .await
            .unwrap(),
        None,
        "the object id is not an app id"
    );
    assert_eq!(
        tx.find_service_principal_by_app_id(id(0xA97))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tx.list_service_principals(&Default::default(), Page::ALL)
            .await
            .unwrap(),
        vec![robot.clone(), pipeline.clone()]
    );
    assert_eq!(
        tx.list_service_principals(&Default::default(), Page { top: 1, skip: 1 })
            .await
            .unwrap(),
        vec![pipeline.clone()]
    );

    // Kinds never mix: an id of one kind is "not found" for the others.
    assert_eq!(tx.get_user(admins.id).await.unwrap(), None);
    assert_eq!(tx.get_user(pipeline.id).await.unwrap(), None);
    assert_eq!(tx.get_group(alice.id).await.unwrap(), None);
    assert_eq!(tx.get_group(pipeline.id).await.unwrap(), None);
    assert_eq!(tx.get_service_principal(admins.id).await.unwrap(), None);
    assert_eq!(tx.get_service_principal(alice.id).await.unwrap(), None);
    assert_eq!(
        tx.find_user_by_upn("alice@x.com").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        tx.list_users(&Default::default(), Page::ALL).await.unwrap(),
        vec![alice.clone()]
    );

    assert_eq!(
        tx.principal_kind(alice.id).await.unwrap(),
        Some(PrincipalKind::User)
    );
    assert_eq!(
        tx.principal_kind(admins.id).await.unwrap(),
        Some(PrincipalKind::Group)
    );
    assert_eq!(
        tx.principal_kind(pipeline.id).await.unwrap(),
        Some(PrincipalKind::ServicePrincipal)
    );
    assert_eq!(tx.principal_kind(id(404)).await.unwrap(), None);
    assert_eq!(tx.count_principals().await.unwrap(), 6);
    drop(tx);

    // Updating a group.
    let renamed = Group {
        display_name: "Staff Members".into(),
        description: None,
        ..staff.clone()
    };
    let mut tx = write(&store).await;
    tx.update_group(&renamed).await.unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.get_group(staff.id).await.unwrap(), Some(renamed.clone()));
    let by_new_name = GroupQuery {
        display_name: Some("staff members".into()),
        ..GroupQuery::default()
    };
    assert_eq!(
        tx.list_groups(&by_new_name, Page::ALL).await.unwrap(),
        vec![renamed]
    );
    drop(tx);

    // A second service principal for the same application is a conflict.
    let mut tx = write(&store).await;
    assert_conflict(
        tx.insert_service_principal(&service_principal(32, "Pipeline 2", app))
            .await,
        "insert_service_principal, same appId",
    );
    drop(tx);
    let mut tx = read(&store).await;
    assert_eq!(tx.get_service_principal(id(32)).await.unwrap(), None);
    assert_eq!(tx.count_principals().await.unwrap(), 6);
}
contract!(
    groups_and_service_principals =>
    groups_and_service_principals_sqlite,
    groups_and_service_principals_postgres,
);

async fn groups_list_display_name_prefix(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    for g in [
        group(20, "Admins", false),
        group(21, "admins_eu", true),
        group(22, "adminsXeu", false),
        group(23, "50% Off", false),
        group(24, "50 Cent", false),
    ] {
        tx.insert_group(&g).await.unwrap();
    }
    tx.insert_user(&user(10, "admin@x.com", "Admin User"))
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    let cases: &[(&str, Option<bool>, &[&str])] = &[
        ("ADMIN", None, &["Admins", "admins_eu", "adminsXeu"]),
        ("admins_", None, &["admins_eu"]),
        ("admins_", Some(false), &[]),
        ("admin", Some(true), &["admins_eu"]),
        ("50%", None, &["50% Off"]),
        ("%", None, &[]),
    ];
    for (prefix, assignable, expected) in cases {
        let query = GroupQuery {
            display_name_prefix: Some(prefix.to_string()),
            is_assignable_to_role: *assignable,
            ..GroupQuery::default()
        };
        let found = tx.list_groups(&query, Page::ALL).await.unwrap();
        assert_eq!(
            sorted(names(&found)),
            sorted(expected.iter().copied()),
            "display_name_prefix {prefix:?}, is_assignable_to_role {assignable:?}"
        );
    }
}
contract!(
    groups_list_display_name_prefix =>
    groups_list_display_name_prefix_sqlite,
    groups_list_display_name_prefix_postgres,
);

/// Principals of every kind read by id in one call: in the order asked, each once, the missing
/// left out; more ids than one statement takes.
async fn principals_by_id(store: Arc<dyn Store>) {
    let (g, u, s) = (
        group(20, "G", false),
        user(10, "u@x.com", "U"),
        service_principal(30, "S", id(0xA1)),
    );
    let mut tx = write(&store).await;
    tx.insert_group(&g).await.unwrap();
    tx.insert_user(&u).await.unwrap();
    tx.insert_service_principal(&s).await.unwrap();
    for n in 0..1_500u128 {
        tx.insert_user(&user(1_000 + n, &format!("m{n}@x.com"), "M"))
            .await
            .unwrap();
    }
    commit(tx).await;

    let mut tx = read(&store).await;
    let got = tx
        .get_principals(&[s.id, id(99), u.id, g.id, u.id])
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            Principal::ServicePrincipal(s.clone()),
            Principal::User(u.clone()),
            Principal::Group(g.clone()),
        ]
    );
    assert!(tx.get_principals(&[]).await.unwrap().is_empty());
    let many: Vec<_> = (0..1_500u128).rev().map(|n| id(1_000 + n)).collect();
    let got = tx.get_principals(&many).await.unwrap();
    let ids: Vec<_> = got
        .iter()
        .map(|p| match p {
            Principal::User(u) => u.id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, many);
}

contract!(
    principals_by_id =>
    principals_by_id_sqlite,
    principals_by_id_postgres,
);

/// A transaction keeps the principals it read (a use case reads its caller several times), so
/// what it answers must follow the transaction's own writes: an update, a delete, an insert
/// of an id read as missing, and a kind asked for that the principal is not.
async fn a_transaction_reads_its_own_principal_writes(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    tx.insert_user(&user(1, "a@x.com", "A")).await.unwrap();
    tx.insert_group(&group(2, "G", false)).await.unwrap();
    commit(tx).await;

    let mut tx = write(&store).await;
    let mut a = tx.get_user(id(1)).await.unwrap().expect("user 1");
    assert!(
        tx.get_group(id(1)).await.unwrap().is_none(),
        "a user is no group"
    );
    assert!(tx.get_service_principal(id(1)).await.unwrap().is_none());
    assert_eq!(
        tx.principal_kind(id(1)).await.unwrap(),
        Some(PrincipalKind::User)
    );
    a.display_name = "A renamed".into();
    a.account_enabled = false;
    tx.update_user(&a).await.unwrap();
    let again = tx.get_user(id(1)).await.unwrap().expect("user 1");
    assert_eq!(
        (again.display_name.as_str(), again.account_enabled),
        ("A renamed", false)
    );
    assert_eq!(
        tx.get_principals(&[id(1)]).await.unwrap(),
        vec![Principal::User(a.clone())]
    );

    assert!(tx.get_principals(&[id(3)]).await.unwrap().is_empty());
    assert!(tx.get_user(id(3)).await.unwrap().is_none());
    let c = user(3, "c@x.com", "C");
    tx.insert_user(&c).await.unwrap();
    assert_eq!(tx.get_user(id(3)).await.unwrap(), Some(c));

    assert!(tx.get_group(id(2)).await.unwrap().is_some());
    assert!(tx.delete_principal(id(2)).await.unwrap());
    assert!(tx.get_group(id(2)).await.unwrap().is_none());
    assert_eq!(tx.principal_kind(id(2)).await.unwrap(), None);
    commit(tx).await;

    // What was committed is what the next transaction reads.
    let mut tx = read(&store).await;
    assert_eq!(tx.get_user(id(1)).await.unwrap(), Some(a));
    assert!(tx.get_user(id(3)).await.unwrap().is_some());
    assert!(tx.get_principals(&[id(2)]).await.unwrap().is_empty());
}

contract!(
    a_transaction_reads_its_own_principal_writes =>
    a_transaction_reads_its_own_principal_writes_sqlite,
    a_transaction_reads_its_own_principal_writes_postgres,
);
