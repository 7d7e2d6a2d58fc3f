//! Sign-in and activation history (migration 0015), on both backends: the last sign-in per
//! principal keeps the newest time of each kind, an activation is appended once per grant, the
//! reads a review or an alert makes are answered (counts over `[from, to)`: the start included,
//! the end not), a rolled-back transaction leaves nothing, and a deleted principal's (or
//! group's) history goes with it.

use std::sync::Arc;

use eligo_core::target::{GroupAccess, Target};
use eligo_store::{Activation, LastActivation, SignInActivity, SignInKind, Store};
use uuid::Uuid;

use crate::common::*;

fn role(n: u128, scope: &str) -> Target {
    Target::Role {
        role: id(n),
        scope: scope.into(),
    }
}

fn activation(principal: u128, target: &Target, schedule: u128, at: i64) -> Activation {
    Activation {
        principal_id: id(principal),
        target: target.clone(),
        schedule_id: id(schedule),
        activated_at: t(at),
    }
}

async fn directory(store: &Arc<dyn Store>) {
    let mut tx = write(store).await;
    tx.insert_user(&user(1, "ada@contoso.com", "Ada"))
        .await
        .unwrap();
    tx.insert_user(&user(2, "bob@contoso.com", "Bob"))
        .await
        .unwrap();
    tx.insert_service_principal(&service_principal(3, "Robot", Uuid::from_u128(333)))
        .await
        .unwrap();
    tx.insert_group(&group(4, "Ops", true)).await.unwrap();
    commit(tx).await;
}

async fn sign_ins_keep_the_newest(store: Arc<dyn Store>) {
    directory(&store).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.sign_in_activity(id(1)).await.unwrap(), None);
    drop(tx);

    let mut tx = write(&store).await;
    tx.record_sign_in(id(1), SignInKind::Interactive, t_us(100, 5))
        .await
        .unwrap();
    tx.record_sign_in(id(1), SignInKind::Interactive, t(300))
        .await
        .unwrap();
    // An older sign-in committed later (a slow request) does not move the time back.
    tx.record_sign_in(id(1), SignInKind::Interactive, t(200))
        .await
        .unwrap();
    tx.record_sign_in(id(3), SignInKind::NonInteractive, t(50))
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = write(&store).await;
    // The other kind is kept apart and does not touch the first.
    tx.record_sign_in(id(1), SignInKind::NonInteractive, t(250))
        .await
        .unwrap();
    tx.record_sign_in(id(3), SignInKind::NonInteractive, t(40))
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    let ada = SignInActivity {
        last_interactive: Some(t(300)),
        last_non_interactive: Some(t(250)),
    };
    let robot = SignInActivity {
        last_interactive: None,
        last_non_interactive: Some(t(50)),
    };
    assert_eq!(tx.sign_in_activity(id(1)).await.unwrap(), Some(ada));
    assert_eq!(ada.last_any(), Some(t(300)));
    assert_eq!(tx.sign_in_activity(id(3)).await.unwrap(), Some(robot));
    assert_eq!(tx.sign_in_activity(id(2)).await.unwrap(), None);
    let some = tx
        .sign_in_activity_of(&[id(1), id(2), id(3), id(99)])
        .await
        .unwrap();
    assert_eq!(some.len(), 2);
    assert_eq!(some[&id(1)], ada);
    assert_eq!(some[&id(3)], robot);
    assert!(tx.sign_in_activity_of(&[]).await.unwrap().is_empty());
    assert_eq!(
        tx.all_sign_in_activity().await.unwrap(),
        vec![(id(1), ada), (id(3), robot)]
    );
}

contract!(sign_ins_keep_the_newest => sign_ins_keep_the_newest_sqlite, sign_ins_keep_the_newest_postgres);

/// A sign-in is recorded in the transaction that accepts it: one that is rolled back (refused,
/// or crashed before its commit) leaves nothing.
async fn a_rolled_back_sign_in_records_nothing(store: Arc<dyn Store>) {
    directory(&store).await;
    let mut tx = write(&store).await;
    tx.record_sign_in(id(2), SignInKind::Interactive, t(10))
        .await
        .unwrap();
    let user = id(1);
    let target = role(50, "/");
    tx.record_activation(&activation(1, &target, 70, 10))
        .await
        .unwrap();
    drop(tx);
    let mut tx = read(&store).await;
    assert_eq!(tx.sign_in_activity(id(2)).await.unwrap(), None);
    assert!(tx.all_sign_in_activity().await.unwrap().is_empty());
    assert_eq!(tx.last_activation(user, &target).await.unwrap(), None);
    assert!(tx.last_activations().await.unwrap().is_empty());
    assert!(
        tx.activations_between(t(0), t(10_000))
            .await
            .unwrap()
            .is_empty()
    );
}

contract!(a_rolled_back_sign_in_records_nothing => a_rolled_back_sign_in_records_nothing_sqlite, a_rolled_back_sign_in_records_nothing_postgres);

async fn activations_are_counted_per_target(store: Arc<dyn Store>) {
    directory(&store).await;
    let admin = role(50, "/");
    let admin_in_unit = role(50, "/administrativeUnits/1");
    let member = Target::Group {
        group: id(4),
        access: GroupAccess::Member,
    };
    let owner = Target::Group {
        group: id(4),
        access: GroupAccess::Owner,
    };
    let mut tx = write(&store).await;
    for (n, at) in [(70, 100), (71, 200), (72, 300)] {
        tx.record_activation(&activation(1, &admin, n, at))
            .await
            .unwrap();
    }
    tx.record_activation(&activation(1, &admin_in_unit, 73, 400))
        .await
        .unwrap();
    tx.record_activation(&activation(1, &member, 74, 150))
        .await
        .unwrap();
    tx.record_activation(&activation(2, &admin, 75, 500))
        .await
        .unwrap();
    tx.record_activation(&activation(3, &owner, 76, 600))
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(
        tx.last_activation(id(1), &admin).await.unwrap(),
        Some(activation(1, &admin, 72, 300))
    );
    assert_eq!(
        tx.last_activation(id(1), &admin_in_unit).await.unwrap(),
        Some(activation(1, &admin_in_unit, 73, 400))
    );
    assert_eq!(
        tx.last_activation(id(1), &member).await.unwrap(),
        Some(activation(1, &member, 74, 150))
    );
    assert_eq!(tx.last_activation(id(1), &owner).await.unwrap(), None);
    assert_eq!(tx.last_activation(id(2), &member).await.unwrap(), None);

    // [from, to): the start is included, the end is not.
    let count = async |tx: &mut Box<dyn eligo_store::Tx>, from, to| {
        tx.count_activations(id(1), &admin, t(from), t(to))
            .await
            .unwrap()
    };
    assert_eq!(count(&mut tx, 100, 300).await, 2);
    assert_eq!(count(&mut tx, 100, 301).await, 3);
    assert_eq!(count(&mut tx, 101, 300).await, 1);
    assert_eq!(count(&mut tx, 0, 100).await, 0);
    assert_eq!(count(&mut tx, 300, 300).await, 0);
    assert_eq!(count(&mut tx, 0, 10_000).await, 3);
    assert_eq!(
        tx.count_activations(id(1), &member, t(150), t(151))
            .await
            .unwrap(),
        1
    );

    let all = tx.last_activations().await.unwrap();
    let expect = |p: u128, target: &Target, at: i64, count: i64| LastActivation {
        principal_id: id(p),
        target: target.clone(),
        activated_at: t(at),
        count,
    };
    // Every activation in [from, to), by principal, target and time.
    let between = tx.activations_between(t(150), t(500)).await.unwrap();
    let mut expected = vec![
        activation(1, &admin, 71, 200),
        activation(1, &admin, 72, 300),
        activation(1, &admin_in_unit, 73, 400),
        activation(1, &member, 74, 150),
    ];
    expected.sort_by_key(|a| (a.principal_id, target_key(&a.target), a.activated_at));
    assert_eq!(between, expected);
    assert_eq!(
        tx.activations_between(t(500), t(601)).await.unwrap(),
        vec![
            activation(2, &admin, 75, 500),
            activation(3, &owner, 76, 600)
        ]
    );
    assert!(
        tx.activations_between(t(601), t(10_000))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        sorted_by_key(all),
        sorted_by_key(vec![
            expect(1, &admin, 300, 3),
            expect(1, &admin_in_unit, 400, 1),
            expect(1, &member, 150, 1),
            expect(2, &admin, 500, 1),
            expect(3, &owner, 600, 1),
        ])
    );
}

/// The order the store lists targets in: target id, access, scope.
fn target_key(target: &Target) -> (String, String, String) {
    match target {
        Target::Role { role, scope } => (role.to_string(), String::new(), scope.clone()),
        Target::Group { group, access } => (
            group.to_string(),
            access.as_str().to_string(),
            String::new(),
        ),
    }
}

fn sorted_by_key(mut items: Vec<LastActivation>) -> Vec<LastActivation> {
    items.sort_by_key(|a| (a.principal_id, a.activated_at));
    items
}

contract!(activations_are_counted_per_target => activations_are_counted_per_target_sqlite, activations_are_counted_per_target_postgres);

/// A deleted principal's history goes with it; so does a deleted group's activations.
async fn history_goes_with_its_principal(store: Arc<dyn Store>) {
    directory(&store).await;
    let admin = role(50, "/");
    let member = Target::Group {
        group: id(4),
        access: GroupAccess::Member,
    };
    let mut tx = write(&store).await;
    tx.record_sign_in(id(1), SignInKind::Interactive, t(10))
        .await
        .unwrap();
    tx.record_sign_in(id(2), SignInKind::Interactive, t(20))
        .await
        .unwrap();
    tx.record_activation(&activation(1, &admin, 70, 10))
        .await
        .unwrap();
    tx.record_activation(&activation(2, &admin, 71, 20))
        .await
        .unwrap();
    tx.record_activation(&activation(2, &member, 72, 30))
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = write(&store).await;
    assert!(tx.delete_principal(id(1)).await.unwrap());
    assert!(tx.delete_principal(id(4)).await.unwrap());
    commit(tx).await;

    let mut tx = read(&store).await;
    assert_eq!(tx.sign_in_activity(id(1)).await.unwrap(), None);
    assert_eq!(tx.last_activation(id(1), &admin).await.unwrap(), None);
    assert_eq!(tx.last_activation(id(2), &member).await.unwrap(), None);
    assert_eq!(
        tx.all_sign_in_activity().await.unwrap(),
        vec![(
            id(2),
            SignInActivity {
                last_interactive: Some(t(20)),
                last_non_interactive: None
            }
        )]
    );
    let all = tx.last_activations().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].principal_id, id(2));
    assert_eq!(all[0].target, admin);
}

contract!(history_goes_with_its_principal => history_goes_with_its_principal_sqlite, history_goes_with_its_principal_postgres);
