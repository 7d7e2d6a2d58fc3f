//! A name typed into the people picker or a name filter (issue 18, item 7): the store answers
//! with every user, group or service principal whose name (or UPN) starts with it, whatever
//! its case, punctuation or accents, and only those, as a plain `starts_with` on the lower-cased
//! names would; in name order, a page at a time. The reads are ranges of an index in byte
//! order (`plans.rs` holds them to it), which punctuation and accents must not bend.

use std::sync::Arc;

use eligo_store::{GroupQuery, Page, ServicePrincipalQuery, Store, UserQuery};
use uuid::Uuid;

use crate::common::*;

const USERS: &[(&str, &str)] = &[
    ("Ann Lee", "ann@x.com"),
    ("ann-marie", "am@x.com"),
    ("Anna", "anna.b@x.com"),
    ("ÄNNE", "aenne@x.com"),
    ("Bob", "ann.bob@x.com"),
    ("Zoë", "zoe@x.com"),
    ("zz top", "zz@x.com"),
    ("AB-C", "abc1@x.com"),
    ("ab c", "abc2@x.com"),
    ("abc", "abc3@x.com"),
    ("Ab\u{10FFFF}x", "max@x.com"),
];
const GROUPS: &[&str] = &["Admins", "admins-eu", "Ádmins", "Auditors", "ab c", "AB-C"];
const APPS: &[&str] = &["Pipeline", "pipeline-2", "Robot", "pipe dream", "Ånd"];
const PREFIXES: &[&str] = &[
    "a",
    "an",
    "ann",
    "ann-m",
    "anna.",
    "ä",
    "AB",
    "ab-",
    "ab ",
    "ab\u{10FFFF}",
    "z",
    "zo",
    "zoë",
    "pipe",
    "PIPELINE-",
    "x",
    "ad",
    "ád",
    "å",
    "\u{10FFFF}",
];

fn starts(name: &str, prefix: &str) -> bool {
    name.to_lowercase().starts_with(&prefix.to_lowercase())
}

/// `names` (with their ids) that `keep` keeps, in the store's order: by lower-cased name, then id.
fn expected(mut names: Vec<(String, Uuid)>, keep: impl Fn(&str, Uuid) -> bool) -> Vec<Uuid> {
    names.retain(|(n, id)| keep(n, *id));
    names.sort_by_key(|(n, id)| (n.to_lowercase(), *id));
    names.into_iter().map(|(_, id)| id).collect()
}

/// The ids of the users `query` lists, in order.
async fn users_found(tx: &mut dyn eligo_store::Tx, query: &UserQuery, page: Page) -> Vec<Uuid> {
    (tx.list_users(query, page).await.unwrap())
        .iter()
        .map(|u| u.id)
        .collect()
}

async fn a_prefix_finds_exactly_the_names_starting_with_it(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    let mut users = Vec::new();
    for (n, (name, upn)) in USERS.iter().enumerate() {
        let u = user(100 + n as u128, upn, name);
        tx.insert_user(&u).await.unwrap();
        users.push(u);
    }
    let mut groups = Vec::new();
    for (n, name) in GROUPS.iter().enumerate() {
        let g = group(200 + n as u128, name, false);
        tx.insert_group(&g).await.unwrap();
        groups.push(g);
    }
    let mut apps = Vec::new();
    for (n, name) in APPS.iter().enumerate() {
        let s = service_principal(300 + n as u128, name, id(400 + n as u128));
        tx.insert_service_principal(&s).await.unwrap();
        apps.push(s);
    }
    commit(tx).await;

    let names = |v: &[(String, Uuid)]| v.to_vec();
    let user_names: Vec<(String, Uuid)> = users
        .iter()
        .map(|u| (u.display_name.clone(), u.id))
        .collect();
    let group_names: Vec<(String, Uuid)> = groups
        .iter()
        .map(|g| (g.display_name.clone(), g.id))
        .collect();
    let app_names: Vec<(String, Uuid)> = apps
        .iter()
        .map(|s| (s.display_name.clone(), s.id))
        .collect();
    let upn_of = |id: Uuid| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.user_principal_name.clone())
            .unwrap_or_default()
    };

    let mut tx = read(&store).await;
    for prefix in PREFIXES {
        let p = Some(prefix.to_string());
        let by_name_or_upn = UserQuery {
            name_or_upn_prefix: p.clone(),
            ..Default::default()
        };
        let by_upn = UserQuery {
            upn_prefix: p.clone(),
            ..Default::default()
        };
        for (query, what) in [(by_name_or_upn, "name or UPN"), (by_upn, "UPN")] {
            let got = users_found(&mut *tx, &query, Page::ALL).await;
            let want = expected(names(&user_names), |n, id| {
                (query.upn_prefix.is_none() && starts(n, prefix)) || starts(&upn_of(id), prefix)
            });
            assert_eq!(got, want, "users by {what} starting with {prefix:?}");
        }

        let query = GroupQuery {
            display_name_prefix: p.clone(),
            ..Default::default()
        };
        let got: Vec<Uuid> = (tx.list_groups(&query, Page::ALL).await.unwrap())
            .iter()
            .map(|g| g.id)
            .collect();
        let want = expected(names(&group_names), |n, _| starts(n, prefix));
        assert_eq!(got, want, "groups starting with {prefix:?}");

        let query = ServicePrincipalQuery {
            display_name_prefix: p,
            ..Default::default()
        };
        let got: Vec<Uuid> = (tx.list_service_principals(&query, Page::ALL).await.unwrap())
            .iter()
            .map(|s| s.id)
            .collect();
        let want = expected(names(&app_names), |n, _| starts(n, prefix));
        assert_eq!(got, want, "service principals starting with {prefix:?}");
    }

    // An exact name, any case; and a page of a prefix's matches.
    let exact = tx
        .list_service_principals(
            &ServicePrincipalQuery {
                display_name: Some("PIPELINE".into()),
                ..Default::default()
            },
            Page::ALL,
        )
        .await
        .unwrap();
    assert_eq!(exact, vec![apps[0].clone()]);
    let query = UserQuery {
        name_or_upn_prefix: Some("a".into()),
        ..Default::default()
    };
    let page = users_found(&mut *tx, &query, Page { top: 2, skip: 1 }).await;
    let all_a = expected(names(&user_names), |n, id| {
        starts(n, "a") || starts(&upn_of(id), "a")
    });
    assert_eq!(page, all_a[1..3].to_vec());
}
contract!(
    a_prefix_finds_exactly_the_names_starting_with_it =>
    a_prefix_finds_exactly_the_names_starting_with_it_sqlite,
    a_prefix_finds_exactly_the_names_starting_with_it_postgres,
);

/// A NUL searched for: SQLite compares it and finds nothing; PostgreSQL refuses the text, and
/// says so (`is_unstorable_text`, answered as a 400 rather than a fault).
async fn a_nul_is_found_nowhere_or_refused_as_input(store: Arc<dyn Store>) {
    let mut tx = read(&store).await;
    let query = UserQuery {
        name_or_upn_prefix: Some("a\0".into()),
        ..Default::default()
    };
    match (store.backend(), tx.list_users(&query, Page::ALL).await) {
        ("sqlite", Ok(found)) => assert!(found.is_empty()),
        ("sqlite", Err(e)) => panic!("SQLite compares a NUL: {e}"),
        (_, Ok(found)) => panic!("PostgreSQL refuses a NUL, but answered {found:?}"),
        (_, Err(e)) => assert!(e.is_unstorable_text(), "{e}"),
    }
}
contract!(
    a_nul_is_found_nowhere_or_refused_as_input =>
    a_nul_is_found_nowhere_or_refused_as_input_sqlite,
    a_nul_is_found_nowhere_or_refused_as_input_postgres,
);
