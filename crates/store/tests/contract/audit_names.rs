//! Finding audit entries by the names they record (the initiator's and the targets' display
//! names and UPNs, by prefix) and by part of their activity; and the migration that derives
//! those names for entries written before it, exactly as the server derives them.

use std::sync::Arc;

use eligo_core::audit::{Actor, AuditEvent, Category, ChainVerifier, Initiator};
use eligo_store::{AuditQuery, Page, Store};

use crate::common::*;

fn by(name: &str, upn: Option<&str>) -> Initiator {
    Initiator::User(Actor {
        id: Some(id(name.len() as u128)),
        display_name: name.into(),
        user_principal_name: upn.map(String::from),
    })
}

async fn found(store: &Arc<dyn Store>, query: AuditQuery) -> Vec<String> {
    read(store)
        .await
        .list_audit(&query, Page::ALL)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.activity_display_name)
        .collect()
}

async fn seed(store: &Arc<dyn Store>) {
    let events = [
        AuditEvent::new(
            t(1_000),
            Category::UserManagement,
            "Add user",
            by("Ada Lovelace", Some("ada@contoso.example")),
        )
        .target_user(id(1), "Zoë Zed", "zoe@contoso.example"),
        AuditEvent::new(
            t(2_000),
            Category::Policy,
            "Update role setting in PIM",
            by("Adam Smith", Some("adam@contoso.example")),
        )
        .target("DirectoryRole_x", "Policy", None)
        .target(id(2), "Role", Some("Security Administrator"))
        .modified("Activation maximum duration", "PT8H", "PT3H"),
        AuditEvent::new(
            t(3_000),
            Category::RoleManagement,
            "Add member to role completed (PIM activation)",
            by("Bob_Jones", Some("bob%@contoso.example")),
        )
        .target(id(2), "Role", Some("Security Administrator"))
        .target_user(id(1), "Zoë Zed", "zoe@contoso.example"),
        AuditEvent::new(
            t(4_000),
            Category::Authentication,
            "User sign-in failed",
            by("ÉMILE", None),
        )
        .failed("invalidPassword"),
    ];
    let mut tx = write(store).await;
    for e in events {
        tx.append_audit(e).await.unwrap();
    }
    commit(tx).await;
}

async fn audit_name_filters(store: Arc<dyn Store>) {
    seed(&store).await;
    let actor = |p: &str| AuditQuery {
        initiator_prefix: Some(p.into()),
        ..Default::default()
    };
    let target = |p: &str| AuditQuery {
        target_prefix: Some(p.into()),
        ..Default::default()
    };
    let activity = |p: &str| AuditQuery {
        activity_contains: Some(p.into()),
        ..Default::default()
    };
    assert_eq!(
        found(&store, actor("ADA L")).await,
        ["Add user"],
        "display name, any case"
    );
    assert_eq!(found(&store, actor("ada@")).await, ["Add user"], "UPN");
    assert_eq!(
        found(&store, actor("Ad")).await,
        ["Update role setting in PIM", "Add user"],
        "newest first"
    );
    assert_eq!(
        found(&store, actor("adam@")).await,
        ["Update role setting in PIM"],
        "UPN"
    );
    assert_eq!(
        found(&store, actor("bob%")).await,
        ["Add member to role completed (PIM activation)"],
        "wildcards are plain characters"
    );
    assert!(found(&store, actor("b%")).await.is_empty());
    assert!(found(&store, actor("bob_j")).await.len() == 1);
    assert!(
        found(&store, actor("bobxj")).await.is_empty(),
        "_ is no wildcard"
    );
    assert_eq!(
        found(&store, actor("Émile")).await.len(),
        1,
        "non-ASCII as typed"
    );

    assert_eq!(
        found(&store, target("zoë")).await,
        ["Add member to role completed (PIM activation)", "Add user"]
    );
    assert_eq!(found(&store, target("ZOE@")).await.len(), 2, "target UPN");
    assert_eq!(found(&store, target("security adm")).await.len(), 2);
    assert!(
        found(&store, target("administrator")).await.is_empty(),
        "a prefix, not a part"
    );

    assert_eq!(
        found(&store, activity("ROLE")).await,
        [
            "Add member to role completed (PIM activation)",
            "Update role setting in PIM"
        ],
        "activity contains, any case"
    );
    assert_eq!(found(&store, activity("(pim")).await.len(), 1);
    assert!(found(&store, activity("%")).await.is_empty());
    let prefix = AuditQuery {
        activity_prefix: Some("add ".into()),
        ..Default::default()
    };
    assert_eq!(found(&store, prefix).await.len(), 2);

    // Combined with the other filters and paged.
    let both = AuditQuery {
        initiator_prefix: Some("a".into()),
        target_prefix: Some("security".into()),
        ..Default::default()
    };
    assert_eq!(found(&store, both).await, ["Update role setting in PIM"]);
    let mut tx = read(&store).await;
    let page = tx
        .list_audit(&actor("a"), Page { top: 1, skip: 1 })
        .await
        .unwrap();
    assert_eq!(page[0].activity_display_name, "Add user");
}
contract!(
    audit_name_filters =>
    audit_name_filters_sqlite,
    audit_name_filters_postgres,
);

/// Runs SQL behind the store's back, as a migration would.
async fn raw_execute(url: &str, sql: &'static str) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

/// The backfill part of migration 0008 (everything after its table), run again on entries
/// whose names were removed: the names it derives in SQL are exactly what `index_columns`
/// derives in Rust (non-ASCII, wildcards, long names), or verification would fail.
async fn audit_names_backfill_matches_the_entries(url: String) {
    let backend = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let store = open(&url, backend).await;
    seed(&store).await;
    let mut tx = write(&store).await;
    tx.append_audit(
        AuditEvent::new(
            t(5_000),
            Category::UserManagement,
            "Add user",
            by(&"Ŵ".repeat(200), Some(&"Long".repeat(50))),
        )
        .target(id(9), "Group", Some(""))
        .target(id(9), "Group", Some("Same"))
        .target(id(8), "Group", Some("SAME")),
    )
    .await
    .unwrap();
    commit(tx).await;
    store.close().await;
    drop(store);

    let migration = if backend == "sqlite" {
        include_str!("../../migrations/sqlite/0008_audit_names.sql")
    } else {
        include_str!("../../migrations/postgres/0008_audit_names.sql")
    };
    let backfill = migration
        .split_once("-- Entries written before this migration")
        .expect("the migration's backfill part")
        .1;
    let backfill = format!("-- {backfill}");
    raw_execute(&url, "DELETE FROM audit_names").await;
    raw_execute(&url, backfill.leak()).await;

    let store = open(&url, backend).await;
    let mut tx = read(&store).await;
    let mut verifier = ChainVerifier::new();
    let (_, head) = tx.audit_head().await.unwrap();
    eligo_store::feed_audit_verifier(&mut *tx, &mut verifier, 0)
        .await
        .unwrap();
    let verdict = verifier.finish(Some(&head));
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.entries, 5);
    drop(tx);
    assert_eq!(
        found(
            &store,
            AuditQuery {
                target_prefix: Some("zo".into()),
                ..Default::default()
            }
        )
        .await
        .len(),
        2
    );

    // And a name row removed behind Eligo's back is found by verification.
    raw_execute(
        &url,
        "DELETE FROM audit_names WHERE sequence = 2 AND kind = 'actor'",
    )
    .await;
    let mut tx = read(&store).await;
    let mut verifier = ChainVerifier::new();
    eligo_store::feed_audit_verifier(&mut *tx, &mut verifier, 0)
        .await
        .unwrap();
    assert_eq!(verifier.finish(Some(&head)).first_bad_sequence, Some(2));
}
contract_url!(
    audit_names_backfill_matches_the_entries =>
    audit_names_backfill_matches_the_entries_sqlite,
    audit_names_backfill_matches_the_entries_postgres,
);
