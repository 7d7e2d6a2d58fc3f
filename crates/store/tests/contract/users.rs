//! Users: round trips, case-insensitive UPNs, filters, paging and uniqueness.

use std::sync::Arc;

use eligo_core::directory::{PrincipalKind, User};
use eligo_store::{Page, Store, UserQuery};

use crate::common::*;

async fn list(store: &Arc<dyn Store>, query: UserQuery, page: Page) -> Vec<User> {
    read(store)
        .await
        .list_users(&query, page)
        .await
        .expect("list_users")
}

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.display_name.as_str()).collect()
}

async fn users_insert_get_find_update(store: Arc<dyn Store>) {
    let mut alice = user(10, "Alice@Contoso.com", "Alice Adams");
    alice.mail = Some("Alice.Adams@Contoso.com".into());
    alice.mail_nickname = Some("alice".into());
    alice.manager_id = Some(id(99));
    let bob = user(11, "bob@contoso.com", "Bob");
    insert_users(&store, &[alice.clone(), bob.clone()]).await;

    let mut tx = read(&store).await;
    assert_eq!(tx.get_user(alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(tx.get_user(bob.id).await.unwrap(), Some(bob.clone()));
    assert_eq!(tx.get_user(id(12)).await.unwrap(), None);
    for upn in [
        "Alice@Contoso.com",
        "alice@contoso.com",
        "ALICE@CONTOSO.COM",
    ] {
        assert_eq!(
            tx.find_user_by_upn(upn).await.unwrap(),
            Some(alice.clone()),
            "find_user_by_upn({upn:?})"
        );
    }
    assert_eq!(
        tx.find_user_by_upn("carol@contoso.com").await.unwrap(),
        None
    );
    assert_eq!(
        tx.principal_kind(alice.id).await.unwrap(),
        Some(PrincipalKind::User)
    );
    assert_eq!(tx.count_principals().await.unwrap(), 2);
    drop(tx);

    // Update every field a user can change, the UPN included.
    let renamed = User {
        user_principal_name: "Alice.Smith@Contoso.com".into(),
        display_name: "Alice Smith".into(),
        mail: Some("alice.smith@contoso.com".into()),
        account_enabled: false,
        manager_id: None,
        ..alice.clone()
    };
    let mut tx = write(&store).await;
    tx.update_user(&renamed).await.unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(tx.get_user(alice.id).await.unwrap(), Some(renamed.clone()));
    assert_eq!(
        tx.find_user_by_upn("alice@contoso.com").await.unwrap(),
        None,
        "the old UPN no longer finds the user"
    );
    assert_eq!(
        tx.find_user_by_upn("ALICE.SMITH@contoso.COM")
            .await
            .unwrap(),
        Some(renamed.clone())
    );
    let query = UserQuery {
        upn: Some("alice.smith@CONTOSO.com".into()),
        ..UserQuery::default()
    };
    assert_eq!(
        tx.list_users(&query, Page::ALL).await.unwrap(),
        vec![renamed.clone()]
    );
    let query = UserQuery {
        mail: Some("ALICE.SMITH@contoso.com".into()),
        ..UserQuery::default()
    };
    assert_eq!(
        tx.list_users(&query, Page::ALL).await.unwrap(),
        vec![renamed.clone()],
        "the mail filter follows the update and ignores case"
    );
    assert_eq!(tx.count_principals().await.unwrap(), 2);
    drop(tx);

    // Renaming into another user's UPN (in another case) is a conflict too.
    let mut tx = write(&store).await;
    let clash = User {
        user_principal_name: "BOB@contoso.com".into(),
        ..renamed.clone()
    };
    assert_conflict(tx.update_user(&clash).await, "update_user onto bob's UPN");
    drop(tx);
    let mut tx = read(&store).await;
    assert_eq!(tx.get_user(alice.id).await.unwrap(), Some(renamed));
    assert_eq!(
        tx.find_user_by_upn("bob@contoso.com").await.unwrap(),
        Some(bob)
    );
}
contract!(
    users_insert_get_find_update =>
    users_insert_get_find_update_sqlite,
    users_insert_get_find_update_postgres,
);

async fn users_list_filters(store: Arc<dyn Store>) {
    let mut bob = user(30, "bob@x.com", "Bob");
    bob.mail = Some("Bob@Mail.Example".into());
    let users = [
        // Same display name in two cases: ordered by id (10 before 20) whatever the case.
        user(20, "alice1@x.com", "Alice Adams"),
        user(10, "alice2@x.com", "alice adams"),
        user(40, "al@x.com", "Al Bundy"),
        user(50, "carol@x.com", "Carol"),
        bob,
    ];
    insert_users(&store, &users).await;
    // A group whose name would match the user filters: kinds never mix.
    let mut tx = write(&store).await;
    tx.insert_group(&group(60, "Alice Adams", false))
        .await
        .unwrap();
    commit(tx).await;

    let all = list(&store, UserQuery::default(), Page::ALL).await;
    assert_eq!(
        names(&all),
        ["Al Bundy", "alice adams", "Alice Adams", "Bob", "Carol"],
        "ordered by display name (ignoring case), then id"
    );
    assert_eq!(all[1].id, id(10));
    assert_eq!(all[2].id, id(20));

    let by_name = list(
        &store,
        UserQuery {
            display_name: Some("ALICE ADAMS".into()),
            ..UserQuery::default()
        },
        Page::ALL,
    )
    .await;
    assert_eq!(
        by_name.iter().map(|u| u.id).collect::<Vec<_>>(),
        [id(10), id(20)],
        "display_name matches whole names, ignoring case"
    );
    let partial = UserQuery {
        display_name: Some("Alice".into()),
        ..UserQuery::default()
    };
    assert!(list(&store, partial, Page::ALL).await.is_empty());

    let by_upn = list(
        &store,
        UserQuery {
            upn: Some("BOB@X.COM".into()),
            ..UserQuery::default()
        },
        Page::ALL,
    )
    .await;
    assert_eq!(names(&by_upn), ["Bob"]);

    let by_mail = list(
        &store,
        UserQuery {
            mail: Some("bob@mail.example".into()),
            ..UserQuery::default()
        },
        Page::ALL,
    )
    .await;
    assert_eq!(names(&by_mail), ["Bob"]);

    let both = UserQuery {
        upn: Some("alice1@x.com".into()),
        display_name: Some("alice adams".into()),
        ..UserQuery::default()
    };
    assert_eq!(
        list(&store, both, Page::ALL)
            .await
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>(),
        [id(20)],
        "filters combine with AND"
    );
    let disjoint = UserQuery {
        upn: Some("bob@x.com".into()),
        display_name: Some("Carol".into()),
        ..UserQuery::default()
    };
    assert!(list(&store, disjoint, Page::ALL).await.is_empty());
}
contract!(
    users_list_filters =>
    users_list_filters_sqlite,
    users_list_filters_postgres,
);

async fn users_list_display_name_prefix(store: Arc<dyn Store>) {
    let users = [
        user(10, "a1@x.com", "Alice Adams"),
        user(11, "a2@x.com", "alice Baker"),
        user(12, "a3@x.com", "Al Bundy"),
        user(13, "p1@x.com", "100% Real"),
        user(14, "p2@x.com", "100 Percent"),
        user(15, "p3@x.com", "1000 Island"),
        user(16, "u1@x.com", "a_b Under"),
        user(17, "u2@x.com", "axb Other"),
        user(18, "b@x.com", "Bob"),
    ];
    insert_users(&store, &users).await;
    let mut tx = write(&store).await;
    tx.insert_group(&group(30, "Alpha Group", false))
        .await
        .unwrap();
    commit(tx).await;

    let prefix = |p: &str| UserQuery {
        display_name_prefix: Some(p.into()),
        ..UserQuery::default()
    };
    let cases: &[(&str, &[&str])] = &[
        ("al", &["Al Bundy", "Alice Adams", "alice Baker"]),
        ("ALICE", &["Alice Adams", "alice Baker"]),
        ("alice adams", &["Alice Adams"]),
        ("Alice Adams and more", &[]),
        // LIKE wildcards in the prefix match only themselves.
        ("100%", &["100% Real"]),
        ("100", &["100 Percent", "100% Real", "1000 Island"]),
        ("a_b", &["a_b Under"]),
        ("a_", &["a_b Under"]),
        ("%", &[]),
        ("_", &[]),
        ("zzz", &[]),
    ];
    for (p, expected) in cases {
        let found = list(&store, prefix(p), Page::ALL).await;
        // Compared as sets: how punctuation sorts depends on the database's collation.
        assert_eq!(
            sorted(names(&found)),
            sorted(expected.iter().copied()),
            "display_name_prefix {p:?}"
        );
    }

    // The prefix combines with the other filters and with paging.
    let combined = UserQuery {
        upn: Some("A2@X.COM".into()),
        ..prefix("al")
    };
    assert_eq!(
        names(&list(&store, combined, Page::ALL).await),
        ["alice Baker"]
    );
    let page = Page { top: 1, skip: 1 };
    assert_eq!(
        names(&list(&store, prefix("al"), page).await),
        ["Alice Adams"]
    );

    // By user principal name prefix, and by either (what a person typing into a picker means).
    let upn = |p: &str| UserQuery {
        upn_prefix: Some(p.into()),
        ..UserQuery::default()
    };
    let either = |p: &str| UserQuery {
        name_or_upn_prefix: Some(p.into()),
        ..UserQuery::default()
    };
    let cases: &[(UserQuery, &[&str])] = &[
        (upn("A"), &["Al Bundy", "Alice Adams", "alice Baker"]),
        (upn("p1@"), &["100% Real"]),
        (upn("%"), &[]),
        (either("u"), &["a_b Under", "axb Other"]),
        (either("b"), &["Bob"]),
        (either("al"), &["Al Bundy", "Alice Adams", "alice Baker"]),
        (either("_"), &[]),
    ];
    for (query, expected) in cases {
        let found = list(&store, query.clone(), Page::ALL).await;
        assert_eq!(
            sorted(names(&found)),
            sorted(expected.iter().copied()),
            "{query:?}"
        );
    }
}
contract!(
    users_list_display_name_prefix =>
    users_list_display_name_prefix_sqlite,
    users_list_display_name_prefix_postgres,
);

async fn users_list_paging(store: Arc<dyn Store>) {
    // Inserted out of order, with ties on the display name (in different cases).
    let users = [
        user(7, "g@x.com", "Gamma"),
        user(3, "b2@x.com", "beta"),
        user(9, "a@x.com", "Alpha"),
        user(2, "b1@x.com", "Beta"),
        user(5, "d@x.com", "Delta"),
        user(8, "b3@x.com", "BETA"),
        user(1, "e@x.com", "Epsilon"),
    ];
    insert_users(&store, &users).await;
    let expected: Vec<_> = [9, 2, 3, 8, 5, 1, 7].into_iter().map(id).collect();

    let all = list(&store, UserQuery::default(), Page::ALL).await;
    assert_eq!(all.iter().map(|u| u.id).collect::<Vec<_>>(), expected);

    let mut paged = Vec::new();
    for skip in (0..9).step_by(3) {
        let page = list(&store, UserQuery::default(), Page { top: 3, skip }).await;
        assert_eq!(
            page.len(),
            expected.len().saturating_sub(skip as usize).min(3)
        );
        paged.extend(page.into_iter().map(|u| u.id));
    }
    assert_eq!(paged, expected, "pages of 3 concatenate to the whole list");

    let page = |top, skip| Page { top, skip };
    let ids = |users: Vec<User>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(
        ids(list(&store, UserQuery::default(), page(2, 1)).await),
        expected[1..3]
    );
    assert!(
        list(&store, UserQuery::default(), page(0, 0))
            .await
            .is_empty()
    );
    assert!(
        list(&store, UserQuery::default(), page(5, 7))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(list(&store, UserQuery::default(), page(100, 5)).await),
        expected[5..]
    );
    // Paging applies after filtering.
    let betas = UserQuery {
        display_name: Some("beta".into()),
        ..UserQuery::default()
    };
    assert_eq!(ids(list(&store, betas, page(2, 1)).await), [id(3), id(8)]);
}
contract!(
    users_list_paging =>
    users_list_paging_sqlite,
    users_list_paging_postgres,
);

async fn users_duplicate_upn_conflict(store: Arc<dyn Store>) {
    let alice = user(10, "alice@contoso.com", "Alice");
    insert_users(&store, std::slice::from_ref(&alice)).await;

    let carol = user(12, "carol@contoso.com", "Carol");
    let mut tx = write(&store).await;
    tx.insert_user(&carol).await.unwrap();
    tx.append_audit(event(
        100,
        eligo_core::audit::Category::UserManagement,
        "Add user",
    ))
    .await
    .unwrap();
    let impostor = user(11, "ALICE@Contoso.COM", "Not Alice");
    assert_conflict(tx.insert_user(&impostor).await, "insert_user, same UPN");
    drop(tx);

    // The failed transaction left nothing behind: not carol, not its audit entry.
    let mut tx = read(&store).await;
    assert_eq!(tx.get_user(carol.id).await.unwrap(), None);
    assert_eq!(tx.get_user(impostor.id).await.unwrap(), None);
    assert_eq!(tx.principal_kind(carol.id).await.unwrap(), None);
    assert_eq!(tx.count_principals().await.unwrap(), 1);
    assert_eq!(
        tx.find_user_by_upn("alice@contoso.com").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(tx.audit_head().await.unwrap().0, 0);
    drop(tx);

    // The same id twice is a conflict as well (not a silent overwrite).
    let mut tx = write(&store).await;
    let same_id = user(10, "other@contoso.com", "Other");
    assert!(
        tx.insert_user(&same_id).await.is_err(),
        "a second principal with the same id must be refused"
    );
    drop(tx);

    // The writer is usable again, and the refused rows never appear.
    let mut tx = write(&store).await;
    tx.insert_user(&carol).await.unwrap();
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.get_user(carol.id).await.unwrap(), Some(carol));
    assert_eq!(tx.get_user(alice.id).await.unwrap(), Some(alice));
    assert_eq!(tx.count_principals().await.unwrap(), 2);
}
contract!(
    users_duplicate_upn_conflict =>
    users_duplicate_upn_conflict_sqlite,
    users_duplicate_upn_conflict_postgres,
);

async fn users_display_name_prefix_unicode(store: Arc<dyn Store>) {
    // Names whose lower-case form is longer than the original (Turkish dotted capital I:
    // "İ" lower-cases to "i" + U+0307) must still be found by their own prefix.
    let users = [
        user(10, "i1@x.com", "İlkay Gündoğan"),
        user(11, "s1@x.com", "Straße"),
        user(12, "e1@x.com", "Émile"),
    ];
    insert_users(&store, &users).await;
    let cases: &[(&str, &[&str])] = &[
        ("émi", &["Émile"]),
        ("ÉMILE", &["Émile"]),
        ("STRA", &["Straße"]),
        ("İlkay", &["İlkay Gündoğan"]),
        ("İ", &["İlkay Gündoğan"]),
    ];
    for (p, expected) in cases {
        let query = UserQuery {
            display_name_prefix: Some(p.to_string()),
            ..UserQuery::default()
        };
        let found = list(&store, query, Page::ALL).await;
        assert_eq!(names(&found), *expected, "display_name_prefix {p:?}");
    }
}
contract!(
    users_display_name_prefix_unicode =>
    users_display_name_prefix_unicode_sqlite,
    users_display_name_prefix_unicode_postgres,
);
