//! Direct group relations (member, owner): idempotent add and remove, both directions, and
//! cascading when a principal is deleted.

use std::sync::Arc;

use eligo_core::directory::Relation::{Member, Owner};
use eligo_store::{Store, Tx};
use uuid::Uuid;

use crate::common::*;

async fn members(tx: &mut Box<dyn Tx>, group: Uuid) -> Vec<Uuid> {
    sorted(tx.relations_of_group(group, Member).await.unwrap())
}

async fn owners(tx: &mut Box<dyn Tx>, group: Uuid) -> Vec<Uuid> {
    sorted(tx.relations_of_group(group, Owner).await.unwrap())
}

async fn member_of(tx: &mut Box<dyn Tx>, principal: Uuid) -> Vec<Uuid> {
    sorted(tx.groups_of_principal(principal, Member).await.unwrap())
}

async fn owner_of(tx: &mut Box<dyn Tx>, principal: Uuid) -> Vec<Uuid> {
    sorted(tx.groups_of_principal(principal, Owner).await.unwrap())
}

async fn relations(store: Arc<dyn Store>) {
    let (g1, g2, g3) = (id(20), id(21), id(22));
    let (u1, u2, s1) = (id(10), id(11), id(30));
    let mut tx = write(&store).await;
    tx.insert_group(&group(20, "G1", false)).await.unwrap();
    tx.insert_group(&group(21, "G2", false)).await.unwrap();
    tx.insert_group(&group(22, "G3", false)).await.unwrap();
    tx.insert_user(&user(10, "u1@x.com", "U1")).await.unwrap();
    tx.insert_user(&user(11, "u2@x.com", "U2")).await.unwrap();
    tx.insert_service_principal(&service_principal(30, "S1", id(0xA1)))
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = write(&store).await;
    assert!(tx.add_relation(g1, u1, Member, 100).await.unwrap());
    assert!(
        !tx.add_relation(g1, u1, Member, 101).await.unwrap(),
        "adding an existing relation reports false"
    );
    assert!(tx.add_relation(g1, u2, Member, 200).await.unwrap());
    assert!(tx.add_relation(g1, s1, Member, 300).await.unwrap());
    assert!(
        tx.add_relation(g1, u1, Owner, 400).await.unwrap(),
        "owner and member are separate relations"
    );
    assert!(!tx.add_relation(g1, u1, Owner, 401).await.unwrap());
    assert!(tx.add_relation(g2, u1, Member, 500).await.unwrap());
    assert!(
        tx.add_relation(g2, g3, Member, 600).await.unwrap(),
        "a group can be a member"
    );
    // Visible inside the writing transaction.
    assert_eq!(members(&mut tx, g1).await, [u1, u2, s1]);
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(members(&mut tx, g1).await, [u1, u2, s1]);
    assert_eq!(owners(&mut tx, g1).await, [u1]);
    assert_eq!(members(&mut tx, g2).await, [u1, g3]);
    assert_eq!(owners(&mut tx, g2).await, Vec::<Uuid>::new());
    assert_eq!(members(&mut tx, g3).await, Vec::<Uuid>::new());
    assert_eq!(member_of(&mut tx, u1).await, [g1, g2]);
    assert_eq!(owner_of(&mut tx, u1).await, [g1]);
    assert_eq!(member_of(&mut tx, u2).await, [g1]);
    assert_eq!(owner_of(&mut tx, u2).await, Vec::<Uuid>::new());
    assert_eq!(member_of(&mut tx, g3).await, [g2]);
    assert_eq!(member_of(&mut tx, s1).await, [g1]);
    assert_eq!(member_of(&mut tx, id(404)).await, Vec::<Uuid>::new());
    // The direct memberships of some groups with their time (owners left out), in one read.
    let at = |us: i64| chrono::DateTime::from_timestamp_micros(us).unwrap();
    let mut since = tx.memberships_since(&[g1, g3]).await.unwrap();
    since.sort();
    let mut want = vec![(g1, u1, at(100)), (g1, u2, at(200)), (g1, s1, at(300))];
    want.sort();
    assert_eq!(since, want);
    assert_eq!(
        tx.memberships_since(&[g2]).await.unwrap().len(),
        2,
        "a nested group is a member too"
    );
    assert!(tx.memberships_since(&[]).await.unwrap().is_empty());
    // Every relation at once, as the access index's start reads them, each exactly once.
    let mut all = Vec::new();
    tx.each_relation(&mut |group, principal, relation| {
        all.push((group, principal, relation == Owner))
    })
    .await
    .unwrap();
    all.sort();
    let mut want = vec![
        (g1, u1, false),
        (g1, u2, false),
        (g1, s1, false),
        (g1, u1, true),
        (g2, u1, false),
        (g2, g3, false),
    ];
    want.sort();
    assert_eq!(all, want);
    drop(tx);

    let mut tx = write(&store).await;
    assert!(tx.remove_relation(g1, u1, Member).await.unwrap());
    assert!(
        !tx.remove_relation(g1, u1, Member).await.unwrap(),
        "removing twice reports false"
    );
    assert!(
        !tx.remove_relation(g2, u2, Member).await.unwrap(),
        "removing what never existed reports false"
    );
    assert!(
        !tx.remove_relation(g2, u1, Owner).await.unwrap(),
        "removing the other relation kind reports false"
    );
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(members(&mut tx, g1).await, [u2, s1]);
    assert_eq!(owners(&mut tx, g1).await, [u1], "the owner relation stays");
    assert_eq!(member_of(&mut tx, u1).await, [g2]);
    drop(tx);

    // Deleting a principal removes its relations in both directions.
    let mut tx = write(&store).await;
    assert!(tx.delete_principal(u1).await.unwrap());
    assert!(
        !tx.delete_principal(u1).await.unwrap(),
        "deleting twice reports false"
    );
    assert!(tx.delete_principal(g3).await.unwrap());
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(tx.principal_kind(u1).await.unwrap(), None);
    assert_eq!(tx.get_user(u1).await.unwrap(), None);
    assert_eq!(owners(&mut tx, g1).await, Vec::<Uuid>::new());
    assert_eq!(members(&mut tx, g2).await, Vec::<Uuid>::new());
    assert_eq!(member_of(&mut tx, u1).await, Vec::<Uuid>::new());
    assert_eq!(owner_of(&mut tx, u1).await, Vec::<Uuid>::new());
    assert_eq!(member_of(&mut tx, g3).await, Vec::<Uuid>::new());
    assert_eq!(members(&mut tx, g1).await, [u2, s1], "others are untouched");
    assert_eq!(tx.count_principals().await.unwrap(), 4);
    drop(tx);

    // Deleting a group removes its members' relations to it.
    let mut tx = write(&store).await;
    assert!(tx.delete_principal(g1).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    assert_eq!(members(&mut tx, g1).await, Vec::<Uuid>::new());
    assert_eq!(member_of(&mut tx, u2).await, Vec::<Uuid>::new());
    assert_eq!(member_of(&mut tx, s1).await, Vec::<Uuid>::new());
    assert_eq!(tx.get_user(u2).await.unwrap().map(|u| u.id), Some(u2));
}
contract!(
    relations =>
    relations_sqlite,
    relations_postgres,
);
