//! The hot reads use the index meant for them, on both backends (issue 18, item 7): the plan the
//! database gives for each read, built exactly as the store runs it (`Tx::explain`), names that
//! index, so dropping it or changing the query so it no longer applies fails here.

use std::sync::Arc;

use eligo_core::directory::Relation::{Member, Owner};
use eligo_core::schedule::ScheduleKind::{Active, Eligible};
use eligo_core::target::{GroupAccess, Target};
use eligo_store::{
    GroupQuery, HotQuery, ScheduleQuery, ServicePrincipalQuery, Store, Targets, UserQuery,
};

use crate::common::*;

const GROUPS: u128 = 200;
const USERS: u128 = 400;

/// A store where a group is a small part of the whole: 200 groups, 400 users, 4,000 PIM for
/// Groups schedules and 2,000 direct relations spread over the groups, 400 role schedules.
async fn seed(store: &Arc<dyn Store>) {
    let mut tx = write(store).await;
    for g in 0..GROUPS {
        tx.insert_group(&group(10_000 + g, &format!("G{g}"), false))
            .await
            .unwrap();
    }
    for u in 0..USERS {
        tx.insert_user(&user(20_000 + u, &format!("u{u}@x.com"), "U"))
            .await
            .unwrap();
    }
    for n in 0..4_000u128 {
        let g = id(10_000 + n % GROUPS);
        let access = if n % 10 == 0 {
            GroupAccess::Owner
        } else {
            GroupAccess::Member
        };
        let (role, scope) = Target::Group { group: g, access }.fields();
        let kind = if n % 3 == 0 { Eligible } else { Active };
        let principal = id(20_000 + (n * 7) % USERS);
        tx.insert_role_schedule(&schedule(
            100_000 + n,
            kind,
            principal,
            role,
            &scope,
            10,
            None,
        ))
        .await
        .unwrap();
    }
    for n in 0..2_000u128 {
        let g = id(10_000 + n % GROUPS);
        let relation = if n % 10 == 0 { Owner } else { Member };
        tx.add_relation(g, id(20_000 + (n * 13) % USERS), relation, n as i64)
            .await
            .unwrap();
    }
    for n in 0..400u128 {
        let role = id(0x100_0000 + n % 4);
        let kind = if n % 2 == 0 { Eligible } else { Active };
        tx.insert_role_schedule(&schedule(
            200_000 + n,
            kind,
            id(20_000 + n),
            role,
            "/",
            10,
            None,
        ))
        .await
        .unwrap();
    }
    commit(tx).await;
}

/// The plan, one string, and whether it reads the whole table anywhere.
fn full_scan(plan: &str, table: &str) -> bool {
    // SQLite: `SCAN role_schedules` (a `SEARCH` uses an index); PostgreSQL: `Seq Scan on t`.
    plan.contains(&format!("SCAN {table}")) && !plan.contains(&format!("SEARCH {table}"))
        || plan.contains(&format!("Seq Scan on {table}"))
}

/// Asserts `list_role_schedules(query)` reads through `index`, never the whole table.
/// The index led by the holder: SQLite's one (0028), PostgreSQL's (0004).
const BY_HOLDER: &[&str] = &["role_schedules_by_holder", "role_schedules_principal_role"];

async fn schedules_read_through(
    tx: &mut dyn eligo_store::Tx,
    query: &ScheduleQuery,
    index: &[&str],
) {
    let plan = tx
        .explain(&HotQuery::Schedules(query.clone()))
        .await
        .unwrap()
        .join("\n");
    assert!(
        index.iter().any(|i| plan.contains(i)),
        "{query:?} must be read through {index:?}:\n{plan}"
    );
    assert!(!full_scan(&plan, "role_schedules"), "{plan}");
}

async fn hot_reads_use_their_index(store: Arc<dyn Store>) {
    seed(&store).await;
    let asked = id(10_007);
    let mut tx = read(&store).await;

    // `holders_of_group`: the active memberships of one group.
    let (role, scope) = Target::Group {
        group: asked,
        access: GroupAccess::Member,
    }
    .fields();
    let query = ScheduleQuery {
        kind: Some(Active),
        targets: Targets::Groups,
        role_definition_id: Some(role),
        directory_scope_id: Some(scope),
        ..Default::default()
    };
    schedules_read_through(&mut *tx, &query, &["role_schedules_scope"]).await;
    // The plan is of the query the store answers with: only that group's active memberships.
    let got = tx.list_role_schedules(&query).await.unwrap();
    assert!(!got.is_empty());
    assert!(
        got.iter()
            .all(|s| s.kind == Active && s.target().group() == Some((asked, GroupAccess::Member)))
    );

    // One principal's schedules of every role ("my roles", the privileged check): the prefix
    // of the index led by the holder, the narrower index having gone (0026).
    let query = ScheduleQuery {
        kind: Some(Eligible),
        principal_ids: Some(vec![id(20_007)]),
        ..Default::default()
    };
    schedules_read_through(&mut *tx, &query, BY_HOLDER).await;
    // What an activation reads first: a principal's and its groups' schedules of one role,
    // of either kind. Not through the role's index (every holder of the role), which SQLite
    // took when the holder's index did not lead with the role after the holder.
    let (role, _) = Target::Group {
        group: asked,
        access: GroupAccess::Owner,
    }
    .fields();
    let query = ScheduleQuery {
        principal_ids: Some(vec![id(20_007), id(10_003)]),
        role_definition_id: Some(role),
        ..Default::default()
    };
    schedules_read_through(&mut *tx, &query, BY_HOLDER).await;

    // The direct members of one group: the primary key (group_id, relation, principal_id).
    for relation in [Member, Owner] {
        let plan = tx
            .explain(&HotQuery::RelationsOfGroup(asked, relation))
            .await
            .unwrap()
            .join("\n");
        assert!(
            plan.contains("group_relations_pkey")
                || plan.contains("USING PRIMARY KEY")
                || plan.contains("sqlite_autoindex_group_relations_1"),
            "one group's relations must be read through the primary key:\n{plan}"
        );
        assert!(!full_scan(&plan, "group_relations"), "{plan}");
    }

    // A name typed into a filter or the people picker: the names starting with it, a range of
    // an index in byte order (PostgreSQL: 0029's `COLLATE "C"` one), not every name of the
    // kind before them. (A user's name or UPN has no index giving its matches in name order:
    // see `push_name_or_upn_prefix`.)
    let typed = || Some("g1".to_string());
    for (what, query, ranges) in [
        (
            "groups",
            HotQuery::Groups(GroupQuery {
                display_name_prefix: typed(),
                ..Default::default()
            }),
            &[
                "principals_kind_name (kind=? AND display_name_lower>? AND display_name_lower<?)",
                "principals_kind_name_bytes",
            ][..],
        ),
        (
            "service principals",
            HotQuery::ServicePrincipals(ServicePrincipalQuery {
                display_name_prefix: typed(),
                ..Default::default()
            }),
            &[
                "principals_kind_name (kind=? AND display_name_lower>? AND display_name_lower<?)",
                "principals_kind_name_bytes",
            ][..],
        ),
        (
            "users",
            HotQuery::Users(UserQuery {
                display_name_prefix: typed(),
                ..Default::default()
            }),
            &[
                "principals_kind_name (kind=? AND display_name_lower>? AND display_name_lower<?)",
                "principals_kind_name_bytes",
            ][..],
        ),
    ] {
        let plan = tx.explain(&query).await.unwrap().join("\n");
        assert!(
            ranges.iter().any(|r| plan.contains(r)),
            "{what} starting with a prefix must be a range of their index:\n{plan}"
        );
        assert!(!full_scan(&plan, "principals"), "{what}: {plan}");
    }
    drop(tx);

    // The open-request check of every activation: one principal's pending requests for one
    // role, among 3,000 requests of 400 principals, two thirds of them pending.
    let mut tx = write(&store).await;
    for n in 0..3_000u128 {
        let mut request =
            crate::requests::request(300_000 + n, id(20_000 + n % USERS), t(n as i64));
        if n % 3 != 0 {
            request.status = eligo_core::request::RequestStatus::PendingApproval;
        }
        tx.insert_schedule_request(&request).await.unwrap();
    }
    commit(tx).await;
    let mut tx = read(&store).await;
    let asked = crate::requests::request(0, id(20_007), t(0));
    let query = eligo_store::RequestQuery {
        kind: Some(asked.kind),
        principal_id: Some(asked.principal_id),
        role_definition_id: Some(asked.role_definition_id),
        directory_scope_id: Some(asked.directory_scope_id.clone()),
        status: Some(eligo_core::request::RequestStatus::PendingApproval),
        ..Default::default()
    };
    let plan = tx
        .explain(&HotQuery::Requests(query.clone()))
        .await
        .unwrap()
        .join("\n");
    assert!(
        plan.contains("schedule_requests_principal_status"),
        "one principal's pending requests must be read through its index, not every pending one:\n{plan}"
    );
    assert!(!full_scan(&plan, "schedule_requests"), "{plan}");
    let got = tx
        .list_schedule_requests(&query, eligo_store::Page::ALL)
        .await
        .unwrap();
    assert!(!got.is_empty());
    assert!(got.iter().all(|r| r.principal_id == id(20_007)
        && r.status == eligo_core::request::RequestStatus::PendingApproval));
}

contract!(
    hot_reads_use_their_index =>
    hot_reads_use_their_index_sqlite,
    hot_reads_use_their_index_postgres,
);
