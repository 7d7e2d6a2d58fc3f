//! What the access index reads at a server's start: `all_principals` from the columns
//! migration 0025 added (manager, account state, UPN as written), and `index_schedules` in
//! pages of `index_rows::PAGE` (4,096) schedules: every schedule the index holds at `now`
//! handed over exactly once, as its record says, across page boundaries (one of them inside a
//! holder's schedules), and `count_index_schedules` agreeing. SQLite hands them over by holder
//! (migration 0027), what the index's placing is fastest with; PostgreSQL in its own order.

use std::sync::Arc;

use eligo_core::roles::ids;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_store::{IndexedSchedule, PrincipalRow, Store};
use uuid::Uuid;

use crate::common::*;

/// More than two pages of the schedules held (about five in eight are).
const SCHEDULES: u128 = 14_000;

/// Scopes whose text could pass for the paging format's separators or the next schedule, or
/// for a `COPY` text stream's field and row ends and its NULL.
const SCOPES: [&str; 6] = [
    "/",
    "/administrativeUnits/ü-1",
    "/x,1,11:00000000-0000-0000-0000-000000000000a",
    "",
    "a:b:c\n,",
    "\t\\N\\.\r",
];

fn nth_schedule(n: u128, holder: Uuid, role: Uuid) -> RoleSchedule {
    let kind = if n.is_multiple_of(2) {
        ScheduleKind::Active
    } else {
        ScheduleKind::Eligible
    };
    // No end, ending after now, ended: not processed, and processed.
    let end = match n % 4 {
        0 => None,
        1 | 2 => Some(2_000 + n as i64),
        _ => Some(500),
    };
    let mut s = schedule(
        10_000 + n,
        kind,
        holder,
        role,
        SCOPES[n as usize % SCOPES.len()],
        100 + n as i64,
        end,
    );
    s.assignment_type = if n.is_multiple_of(3) {
        AssignmentType::Activated
    } else {
        AssignmentType::Assigned
    };
    s.end_pending = end.is_some() && !n.is_multiple_of(5);
    s
}

async fn the_start_reads_pages_of_schedules(store: Arc<dyn Store>) {
    // Three roles, so that pages also end inside a holder's schedules of one role.
    let roles = [
        ids::GLOBAL_READER,
        ids::SECURITY_READER,
        ids::GLOBAL_ADMINISTRATOR,
    ]
    .map(|r| Uuid::parse_str(r).unwrap());
    let (ann, bob, cat) = (id(1), id(2), id(3));
    let mut written = Vec::new();
    let mut tx = write(&store).await;
    tx.insert_user(&user(1, "ann@contoso.example", "Ann"))
        .await
        .unwrap();
    tx.insert_user(&user(2, "bob@contoso.example", "Bob"))
        .await
        .unwrap();
    tx.insert_user(&user(3, "cat@contoso.example", "Cat"))
        .await
        .unwrap();
    for n in 0..SCHEDULES {
        // Holders written interleaved; ann's held schedules alone are more than a page.
        let holder = match n % 7 {
            0 => bob,
            3 => cat,
            _ => ann,
        };
        let s = nth_schedule(n, holder, roles[(n / 5) as usize % roles.len()]);
        tx.insert_role_schedule(&s).await.unwrap();
        written.push(s);
    }
    // Changed after insert: the activation flag, the end, and whether it is processed.
    for s in written
        .iter_mut()
        .filter(|s| s.id.as_u128().is_multiple_of(11))
    {
        s.assignment_type = match s.assignment_type {
            AssignmentType::Activated => AssignmentType::Assigned,
            _ => AssignmentType::Activated,
        };
        s.end_date_time = Some(t(3_000));
        s.end_pending = !s.end_pending;
        assert!(tx.update_role_schedule(s).await.unwrap());
    }
    commit(tx).await;

    let now = t(1_000);
    let held: Vec<&RoleSchedule> = written
        .iter()
        .filter(|s| s.end_date_time.is_none_or(|e| s.end_pending && e > now))
        .collect();
    assert!(held.len() > 2 * 4096, "{}", held.len());
    let mut expected: Vec<String> = held
        .iter()
        .map(|s| format!("{:?}", IndexedSchedule::from(*s)))
        .collect();
    expected.sort();

    assert!(
        held.iter().filter(|s| s.principal_id == ann).count() > 4096,
        "a page boundary falls inside ann's schedules"
    );
    let mut tx = read(&store).await;
    let mut got = Vec::new();
    let mut order = Vec::new();
    tx.index_schedules(now, &mut |s| {
        got.push(format!("{s:?}"));
        let kind = match s.kind {
            eligo_core::schedule::ScheduleKind::Active => "active",
            eligo_core::schedule::ScheduleKind::Eligible => "eligible",
        };
        order.push((
            s.principal_id.to_string(),
            s.role_definition_id.to_string(),
            kind,
            s.id.to_string(),
        ));
    })
    .await
    .unwrap();
    if store.backend() == "sqlite" {
        // By holder, role, kind and id, as the keys' texts sort: the pages' keyset order.
        assert!(order.is_sorted(), "handed over by holder");
    }
    got.sort();
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
    assert_eq!(tx.count_index_schedules(now).await.unwrap(), held.len());
    // Later, everything with an end is over.
    let later = t(1_000_000);
    let mut count = 0;
    tx.index_schedules(later, &mut |s| {
        assert_eq!(s.end, None);
        count += 1;
    })
    .await
    .unwrap();
    assert_eq!(count, tx.count_index_schedules(later).await.unwrap());
    assert_eq!(
        count,
        written.iter().filter(|s| s.end_date_time.is_none()).count()
    );
}

contract!(the_start_reads_pages_of_schedules => the_start_reads_pages_of_schedules_sqlite, the_start_reads_pages_of_schedules_postgres);

async fn the_start_reads_principals_from_their_columns(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    let boss = user(1, "Boss@Contoso.example", "Boss");
    let mut ann = user(2, "ann@contoso.example", "Ann");
    ann.manager_id = Some(boss.id);
    let mut bob = user(3, "bob@contoso.example", "Bob");
    bob.manager_id = Some(boss.id);
    let mut off = service_principal(4, "Off", id(40));
    off.account_enabled = false;
    let on = service_principal(5, "On", id(50));
    // A name with a `COPY` text stream's field and row ends and its NULL.
    let ops = group(6, "Ops\t\\N\n", true);
    tx.insert_user(&boss).await.unwrap();
    tx.insert_user(&ann).await.unwrap();
    tx.insert_user(&bob).await.unwrap();
    tx.insert_service_principal(&off).await.unwrap();
    tx.insert_service_principal(&on).await.unwrap();
    tx.insert_group(&ops).await.unwrap();
    // After insert: ann renamed and disabled under another manager; bob's manager removed.
    ann.user_principal_name = "Ann.Renamed@Contoso.example".into();
    ann.account_enabled = false;
    ann.manager_id = Some(bob.id);
    tx.update_user(&ann).await.unwrap();
    bob.manager_id = None;
    tx.update_user(&bob).await.unwrap();
    commit(tx).await;

    let row = |id, kind, name: &str, manager, enabled, upn: Option<&str>| PrincipalRow {
        id,
        kind,
        display_name: name.into(),
        role_assignable: kind == eligo_core::directory::PrincipalKind::Group,
        manager,
        enabled,
        upn: upn.map(String::from),
    };
    use eligo_core::directory::PrincipalKind::{Group, ServicePrincipal, User};
    let mut expected = vec![
        row(
            boss.id,
            User,
            "Boss",
            None,
            true,
            Some("Boss@Contoso.example"),
        ),
        row(
            ann.id,
            User,
            "Ann",
            Some(bob.id),
            false,
            Some("Ann.Renamed@Contoso.example"),
        ),
        row(bob.id, User, "Bob", None, true, Some("bob@contoso.example")),
        row(off.id, ServicePrincipal, "Off", None, false, None),
        row(on.id, ServicePrincipal, "On", None, true, None),
        row(ops.id, Group, "Ops\t\\N\n", None, false, None),
    ];
    expected.sort_by_key(|r| r.id);
    let mut tx = read(&store).await;
    let mut got = tx.all_principals().await.unwrap();
    got.sort_by_key(|r| r.id); // in no particular order
    assert_eq!(got, expected);
}

contract!(the_start_reads_principals_from_their_columns => the_start_reads_principals_from_their_columns_sqlite, the_start_reads_principals_from_their_columns_postgres);

/// Principals read in pages (SQLite: `index_rows::PAGE` rows of the table at a time): more
/// than two pages, some deleted on the way so the pages have gaps, each one read once.
async fn the_start_reads_every_principal_once_across_pages(store: Arc<dyn Store>) {
    const USERS: u128 = 9_000;
    let mut tx = write(&store).await;
    for n in 1..=USERS {
        let name = format!("User {n}");
        tx.insert_user(&user(n, &format!("u{n}@contoso.example"), &name))
            .await
            .unwrap();
    }
    for n in (1..=USERS).filter(|n| n % 1_000 < 10) {
        assert!(tx.delete_principal(id(n)).await.unwrap());
    }
    commit(tx).await;
    let mut expected: Vec<Uuid> = (1..=USERS).filter(|n| n % 1_000 >= 10).map(id).collect();
    let mut tx = read(&store).await;
    let mut got: Vec<Uuid> = tx
        .all_principals()
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let n = r.id.as_u128();
            assert_eq!(r.display_name, format!("User {n}"));
            assert_eq!(r.upn, Some(format!("u{n}@contoso.example")));
            r.id
        })
        .collect();
    assert!(got.len() > 2 * 4096, "{}", got.len());
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}

contract!(the_start_reads_every_principal_once_across_pages => the_start_reads_every_principal_once_across_pages_sqlite, the_start_reads_every_principal_once_across_pages_postgres);
