//! The audit chain: sealing in order, verification, filters, rollback and serialized writers.

use std::sync::Arc;

use eligo_core::audit::{
    Actor, AuditEntry, AuditEvent, Category, ChainVerifier, GENESIS_HASH, Initiator, Verdict,
};
use eligo_store::{AuditQuery, Page, Store};
use uuid::Uuid;

use crate::common::*;

/// Appends `event` in its own committed write transaction.
async fn append(store: &Arc<dyn Store>, event: AuditEvent) -> AuditEntry {
    let mut tx = write(store).await;
    let entry = tx.append_audit(event).await.expect("append_audit");
    commit(tx).await;
    entry
}

async fn head(store: &Arc<dyn Store>) -> (i64, String) {
    read(store).await.audit_head().await.expect("audit_head")
}

/// Verifies the whole stored chain against the stored head.
async fn verify(store: &Arc<dyn Store>) -> Verdict {
    let mut tx = read(store).await;
    let entries = tx.audit_after(0, 1000).await.expect("audit_after");
    let (_, head_hash) = tx.audit_head().await.expect("audit_head");
    let mut verifier = ChainVerifier::new();
    entries.iter().for_each(|e| verifier.push(e));
    verifier.finish(Some(&head_hash))
}

fn by_user(n: u128, name: &str) -> Initiator {
    Initiator::User(Actor {
        id: Some(id(n)),
        display_name: name.into(),
        user_principal_name: Some(format!("{}@x.com", name.to_lowercase())),
    })
}

fn sequences(entries: &[AuditEntry]) -> Vec<i64> {
    entries.iter().map(|e| e.sequence).collect()
}

async fn audit_chain(store: Arc<dyn Store>) {
    assert_eq!(head(&store).await, (0, GENESIS_HASH.to_string()));
    assert!(
        read(&store)
            .await
            .audit_after(0, 1000)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(verify(&store).await.valid, "an empty chain is valid");

    let mut entries = Vec::new();
    let mut previous = GENESIS_HASH.to_string();
    for i in 0..5i64 {
        let event = AuditEvent::new(
            t_us(1_000 + i, 123_456),
            Category::UserManagement,
            format!("Update user #{i}"),
            by_user(10, "Alice"),
        )
        .target(id(100 + i as u128), "User", Some("Bob"))
        .detail("changed", "displayName");
        let entry = append(&store, event).await;
        assert_eq!(entry.sequence, i + 1, "sequences start at 1 without gaps");
        assert_eq!(entry.previous_hash, previous, "linked to the prior entry");
        assert_eq!(entry.hash, entry.compute_hash(), "sealed");
        assert_eq!(head(&store).await, (entry.sequence, entry.hash.clone()));
        previous = entry.hash.clone();
        entries.push(entry);
    }

    // Several appends in one transaction chain onto each other too.
    let mut tx = write(&store).await;
    let a = tx
        .append_audit(
            event(2_000, Category::GroupManagement, "Add group")
                .target(id(200), "Group", None)
                .failed("quota exceeded"),
        )
        .await
        .unwrap();
    let b = tx
        .append_audit(AuditEvent::new(
            t(2_001),
            Category::Authentication,
            "Sign-in",
            Initiator::App(Actor {
                id: Some(id(300)),
                display_name: "Pipeline".into(),
                user_principal_name: None,
            }),
        ))
        .await
        .unwrap();
    assert_eq!(tx.audit_head().await.unwrap(), (7, b.hash.clone()));
    commit(tx).await;
    assert_eq!((a.sequence, b.sequence), (6, 7));
    assert_eq!(a.previous_hash, previous);
    assert_eq!(b.previous_hash, a.hash);
    entries.extend([a, b.clone()]);

    let mut tx = read(&store).await;
    let stored = tx.audit_after(0, 1000).await.unwrap();
    assert_eq!(stored, entries, "every field round-trips");
    assert_eq!(tx.audit_head().await.unwrap(), (7, b.hash.clone()));
    assert_eq!(sequences(&tx.audit_after(2, 2).await.unwrap()), [3, 4]);
    assert_eq!(sequences(&tx.audit_after(5, 1000).await.unwrap()), [6, 7]);
    assert!(tx.audit_after(7, 1000).await.unwrap().is_empty());
    assert!(tx.audit_after(0, 0).await.unwrap().is_empty());
    drop(tx);

    let verdict = verify(&store).await;
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.entries, 7);
    assert_eq!(verdict.head_hash, b.hash);

    // Verification in batches, as an export would do it.
    let mut tx = read(&store).await;
    let mut verifier = ChainVerifier::new();
    let mut after = 0;
    loop {
        let batch = tx.audit_after(after, 3).await.unwrap();
        let Some(last) = batch.last() else { break };
        after = last.sequence;
        batch.iter().for_each(|e| verifier.push(e));
    }
    let verdict = verifier.finish(Some(&b.hash));
    assert!(verdict.valid && verdict.entries == 7, "{verdict:?}");
}
contract!(
    audit_chain =>
    audit_chain_sqlite,
    audit_chain_postgres,
);

async fn audit_list_filters(store: Arc<dyn Store>) {
    let (alice, bob) = (by_user(10, "Alice"), by_user(11, "Bob"));
    let user_b1 = id(0xB1).to_string();
    let role = "62E90394-69F5-4237-9190-012177145E10";
    let events = [
        AuditEvent::new(
            t(1_000),
            Category::UserManagement,
            "Add user",
            alice.clone(),
        )
        .target(&user_b1, "User", Some("B1")),
        AuditEvent::new(
            t(2_000),
            Category::GroupManagement,
            "Add member to group",
            alice.clone(),
        )
        .target(id(0xC1), "Group", Some("C1"))
        .target(&user_b1, "User", Some("B1"))
        // The same target twice is recorded (and found) once.
        .target(&user_b1, "User", Some("B1")),
        AuditEvent::new(
            t(3_000),
            Category::RoleManagement,
            "Add eligible member to role",
            bob.clone(),
        )
        .target(role, "Role", Some("Global Administrator"))
        .target(&user_b1, "User", Some("B1")),
        AuditEvent::new(
            t(4_000),
            Category::UserManagement,
            "Update user",
            Initiator::system(),
        )
        .target(id(0xB2), "User", None),
        AuditEvent::new(t(5_000), Category::UserManagement, "Add user", bob.clone()).target(
            id(0xB3),
            "User",
            None,
        ),
        AuditEvent::new(t(6_000), Category::Authentication, "Sign-in", alice.clone()),
    ];
    let mut entries = Vec::new();
    for e in events {
        entries.push(append(&store, e).await);
    }

    let mut tx = read(&store).await;
    let all = tx
        .list_audit(&AuditQuery::default(), Page::ALL)
        .await
        .unwrap();
    let mut newest_first = entries.clone();
    newest_first.reverse();
    assert_eq!(all, newest_first, "newest first, every field round-trips");

    let q = AuditQuery::default;
    let cases: Vec<(&str, AuditQuery, Vec<i64>)> = vec![
        (
            "category",
            AuditQuery {
                category: Some("UserManagement".into()),
                ..q()
            },
            vec![5, 4, 1],
        ),
        (
            "other category",
            AuditQuery {
                category: Some("GroupManagement".into()),
                ..q()
            },
            vec![2],
        ),
        (
            "activity",
            AuditQuery {
                activity: Some("Add user".into()),
                ..q()
            },
            vec![5, 1],
        ),
        (
            "activity, whole names only",
            AuditQuery {
                activity: Some("Add".into()),
                ..q()
            },
            vec![],
        ),
        (
            "initiator alice",
            AuditQuery {
                initiator_id: Some(id(10)),
                ..q()
            },
            vec![6, 2, 1],
        ),
        (
            "initiator bob",
            AuditQuery {
                initiator_id: Some(id(11)),
                ..q()
            },
            vec![5, 3],
        ),
        (
            "unknown initiator",
            AuditQuery {
                initiator_id: Some(id(12)),
                ..q()
            },
            vec![],
        ),
        (
            "target, asked in upper case",
            AuditQuery {
                target_id: Some(user_b1.to_uppercase()),
                ..q()
            },
            vec![3, 2, 1],
        ),
        (
            "target recorded in upper case, asked in lower case",
            AuditQuery {
                target_id: Some(role.to_lowercase()),
                ..q()
            },
            vec![3],
        ),
        (
            "target, exact",
            AuditQuery {
                target_id: Some(id(0xB2).to_string()),
                ..q()
            },
            vec![4],
        ),
        (
            "unknown target",
            AuditQuery {
                target_id: Some(id(0xB4).to_string()),
                ..q()
            },
            vec![],
        ),
        (
            "since (inclusive)",
            AuditQuery {
                since: Some(t(3_000)),
                ..q()
            },
            vec![6, 5, 4, 3],
        ),
        (
            "until (inclusive)",
            AuditQuery {
                until: Some(t(3_000)),
                ..q()
            },
            vec![3, 2, 1],
        ),
        (
            "since and until",
            AuditQuery {
                since: Some(t(2_000)),
                until: Some(t(4_000)),
                ..q()
            },
            vec![4, 3, 2],
        ),
        (
            "since, one microsecond later",
            AuditQuery {
                since: Some(t_us(2_000, 1)),
                until: Some(t_us(3_999, 999_999)),
                ..q()
            },
            vec![3],
        ),
        (
            "combined",
            AuditQuery {
                category: Some("UserManagement".into()),
                initiator_id: Some(id(11)),
                ..q()
            },
            vec![5],
        ),
        (
            "target and since",
            AuditQuery {
                target_id: Some(user_b1.clone()),
                since: Some(t(2_000)),
                ..q()
            },
            vec![3, 2],
        ),
        (
            "every filter",
            AuditQuery {
                category: Some("RoleManagement".into()),
                activity: Some("Add eligible member to role".into()),
                initiator_id: Some(id(11)),
                target_id: Some(user_b1.clone()),
                since: Some(t(3_000)),
                until: Some(t(3_000)),
                activity_prefix: Some("add ELIGIBLE".into()),
                activity_contains: Some("member".into()),
                initiator_prefix: Some("bob@".into()),
                target_prefix: Some("global".into()),
            },
            vec![3],
        ),
    ];
    for (what, query, expected) in cases {
        let found = tx.list_audit(&query, Page::ALL).await.unwrap();
        assert_eq!(sequences(&found), expected, "{what}: {query:?}");
    }

    // Paging, newest first.
    let page = |top, skip| Page { top, skip };
    for (p, expected) in [
        (page(2, 0), vec![6, 5]),
        (page(2, 2), vec![4, 3]),
        (page(2, 4), vec![2, 1]),
        (page(2, 6), vec![]),
        (page(0, 0), vec![]),
        (page(10, 3), vec![3, 2, 1]),
    ] {
        let found = tx.list_audit(&AuditQuery::default(), p).await.unwrap();
        assert_eq!(sequences(&found), expected, "{p:?}");
    }
    let users = AuditQuery {
        category: Some("UserManagement".into()),
        ..q()
    };
    assert_eq!(
        sequences(&tx.list_audit(&users, page(1, 1)).await.unwrap()),
        [4],
        "paging applies after filtering"
    );
}
contract!(
    audit_list_filters =>
    audit_list_filters_sqlite,
    audit_list_filters_postgres,
);

async fn audit_targets_differing_only_in_case(store: Arc<dyn Store>) {
    // One event naming the same target twice, once in upper case (e.g. as given in a request
    // path) and once as stored: appending must succeed and the target be found once.
    let target = id(0xB1).to_string();
    let entry = append(
        &store,
        event(1_000, Category::RoleManagement, "Add member to role")
            .target(target.to_uppercase(), "User", None)
            .target(&target, "User", None),
    )
    .await;
    assert_eq!(entry.sequence, 1);
    let query = AuditQuery {
        target_id: Some(target),
        ..AuditQuery::default()
    };
    let found = read(&store)
        .await
        .list_audit(&query, Page::ALL)
        .await
        .unwrap();
    assert_eq!(found, vec![entry]);
}
contract!(
    audit_targets_differing_only_in_case =>
    audit_targets_differing_only_in_case_sqlite,
    audit_targets_differing_only_in_case_postgres,
);

async fn audit_rollback_leaves_head(store: Arc<dyn Store>) {
    let first = append(&store, event(1_000, Category::Policy, "Update policy")).await;
    let second = append(&store, event(2_000, Category::Policy, "Update policy")).await;
    let before = head(&store).await;
    assert_eq!(before, (2, second.hash.clone()));

    let mut tx = write(&store).await;
    for i in 0..3 {
        let e = tx
            .append_audit(event(3_000 + i, Category::Policy, "Rolled back"))
            .await
            .unwrap();
        assert_eq!(e.sequence, 3 + i);
    }
    assert_eq!(tx.audit_head().await.unwrap().0, 5);
    drop(tx);

    assert_eq!(
        head(&store).await,
        before,
        "a rolled-back append moves nothing"
    );
    let mut tx = read(&store).await;
    assert_eq!(
        tx.audit_after(0, 1000).await.unwrap(),
        vec![first, second.clone()]
    );
    let rolled_back = AuditQuery {
        activity: Some("Rolled back".into()),
        ..AuditQuery::default()
    };
    assert!(
        tx.list_audit(&rolled_back, Page::ALL)
            .await
            .unwrap()
            .is_empty()
    );
    drop(tx);

    let third = append(&store, event(4_000, Category::Policy, "Update policy")).await;
    assert_eq!(third.sequence, 3, "the chain continues where it was");
    assert_eq!(third.previous_hash, second.hash);
    let verdict = verify(&store).await;
    assert!(verdict.valid && verdict.entries == 3, "{verdict:?}");
}
contract!(
    audit_rollback_leaves_head =>
    audit_rollback_leaves_head_sqlite,
    audit_rollback_leaves_head_postgres,
);

const TASKS: usize = 8;
const APPENDS_PER_TASK: usize = 10;

async fn audit_concurrent_appends(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0..APPENDS_PER_TASK {
                    let mut tx = write(&store).await;
                    // Load, decide, write: nobody else may move the head in between.
                    let (sequence, hash) = tx.audit_head().await.unwrap();
                    tokio::task::yield_now().await;
                    let entry = tx
                        .append_audit(
                            event(1_000 + i as i64, Category::Policy, &format!("task {task}"))
                                .detail("i", i.to_string()),
                        )
                        .await
                        .unwrap_or_else(|e| panic!("task {task} append {i}: {e}"));
                    assert_eq!(entry.sequence, sequence + 1, "task {task} append {i}");
                    assert_eq!(entry.previous_hash, hash, "task {task} append {i}");
                    tokio::task::yield_now().await;
                    tx.commit()
                        .await
                        .unwrap_or_else(|e| panic!("task {task} commit {i}: {e}"));
                    mine.push(entry);
                }
                mine
            })
        })
        .collect();
    let mut mine = Vec::new();
    for task in tasks {
        mine.push(within("concurrent appends", task).await.expect("task"));
    }

    let total = (TASKS * APPENDS_PER_TASK) as i64;
    let mut tx = read(&store).await;
    let chain = tx.audit_after(0, 1000).await.unwrap();
    assert_eq!(
        sequences(&chain),
        (1..=total).collect::<Vec<_>>(),
        "gap-free, no duplicates"
    );
    let (head_sequence, head_hash) = tx.audit_head().await.unwrap();
    assert_eq!(head_sequence, total);
    assert_eq!(head_hash, chain.last().unwrap().hash);
    drop(tx);
    let verdict = verify(&store).await;
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.entries, total as u64);

    // Every task's entries are in the chain, in the order that task committed them.
    for (task, entries) in mine.iter().enumerate() {
        assert_eq!(entries.len(), APPENDS_PER_TASK);
        let in_chain: Vec<&AuditEntry> = chain
            .iter()
            .filter(|e| e.activity_display_name == format!("task {task}"))
            .collect();
        assert_eq!(
            in_chain,
            entries.iter().collect::<Vec<_>>(),
            "task {task}'s entries"
        );
    }
    let distinct: std::collections::HashSet<Uuid> = chain.iter().map(|e| e.id).collect();
    assert_eq!(distinct.len(), chain.len(), "entry ids are unique");
}
contract!(
    audit_concurrent_appends =>
    audit_concurrent_appends_sqlite,
    audit_concurrent_appends_postgres,
);

/// Entries appended in a transaction are inserted together (at commit, or before a read of
/// the audit tables): the transaction reads its own entries and head at once, more entries
/// than one insert takes arrive whole, and a rollback leaves neither entries nor head.
async fn a_transaction_sees_the_entries_it_appended(store: Arc<dyn Store>) {
    append(&store, event(1, Category::UserManagement, "Before")).await;
    let mut tx = write(&store).await;
    let mut last = None;
    for n in 0..150 {
        let mut e = event(2, Category::RoleManagement, &format!("Entry {n}"));
        e.target_resources = vec![eligo_core::audit::TargetResource {
            id: Uuid::from_u128(1000 + n as u128).to_string(),
            kind: "User".into(),
            display_name: Some(format!("Target {n}")),
            user_principal_name: None,
            modified_properties: Vec::new(),
        }];
        last = Some(tx.append_audit(e).await.unwrap());
    }
    let last = last.unwrap();
    assert_eq!(tx.audit_head().await.unwrap(), (151, last.hash.clone()));
    assert_eq!(tx.audit_after(0, 1000).await.unwrap().len(), 151);
    let found = tx
        .list_audit(
            &AuditQuery {
                target_id: Some(Uuid::from_u128(1149).to_string()),
                ..Default::default()
            },
            Page { top: 10, skip: 0 },
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the last entry's target is searchable");
    drop(tx);
    assert_eq!(
        head(&store).await.0,
        1,
        "rolled back: the head did not move"
    );
    assert_eq!(verify(&store).await.entries, 1);

    let mut tx = write(&store).await;
    for n in 0..70 {
        tx.append_audit(event(3, Category::RoleManagement, &format!("Kept {n}")))
            .await
            .unwrap();
    }
    commit(tx).await;
    let verdict = verify(&store).await;
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.entries, 71);
    assert_eq!(head(&store).await.0, 71);
}
contract!(
    a_transaction_sees_the_entries_it_appended =>
    a_transaction_sees_the_entries_it_appended_sqlite,
    a_transaction_sees_the_entries_it_appended_postgres,
);
