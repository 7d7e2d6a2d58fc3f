//! Role definitions (built-in and custom) and role schedules with every query filter.

use std::sync::Arc;

use eligo_core::roles::{RoleDefinition, RolePermission, built_in_roles, ids};
use eligo_core::schedule::{RoleSchedule, ScheduleKind};
use eligo_store::{RoleQuery, ScheduleQuery, Store};
use uuid::Uuid;

use crate::common::*;

fn custom_role(n: u128, display_name: &str) -> RoleDefinition {
    RoleDefinition {
        id: id(n),
        display_name: display_name.into(),
        description: None,
        is_built_in: false,
        is_enabled: true,
        template_id: None,
        role_permissions: vec![RolePermission {
            allowed_resource_actions: vec!["microsoft.directory/users/read".into()],
        }],
        created_date_time: Some(t_us(1_700_000_000, 42)),
    }
}

async fn insert_built_ins(store: &Arc<dyn Store>) -> Vec<RoleDefinition> {
    let roles = built_in_roles();
    let mut tx = write(store).await;
    for role in &roles {
        tx.insert_role_definition(role).await.unwrap();
    }
    commit(tx).await;
    roles
}

async fn role_definitions(store: Arc<dyn Store>) {
    let built_ins = insert_built_ins(&store).await;
    assert_eq!(built_ins.len(), 11);

    let mut tx = read(&store).await;
    for role in &built_ins {
        assert_eq!(
            tx.get_role_definition(role.id).await.unwrap().as_ref(),
            Some(role),
            "get_role_definition({})",
            role.display_name
        );
    }
    assert_eq!(tx.get_role_definition(id(404)).await.unwrap(), None);

    let all = tx
        .list_role_definitions(&RoleQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), built_ins.len());
    let mut expected = built_ins.clone();
    expected.sort_by_key(|r| r.display_name.to_lowercase());
    assert_eq!(all, expected, "all roles, ordered by display name");

    let ga: Uuid = ids::GLOBAL_ADMINISTRATOR.parse().unwrap();
    let gr: Uuid = ids::GLOBAL_READER.parse().unwrap();
    for (name, expected) in [
        ("Global Administrator", Some(ga)),
        ("global administrator", Some(ga)),
        ("GLOBAL READER", Some(gr)),
        ("Global", None),
        ("Global Administrators", None),
    ] {
        let query = RoleQuery {
            display_name: Some(name.into()),
        };
        let found = tx.list_role_definitions(&query).await.unwrap();
        assert_eq!(
            found.iter().map(|r| r.id).collect::<Vec<_>>(),
            expected.into_iter().collect::<Vec<_>>(),
            "display_name {name:?}"
        );
    }
    drop(tx);

    // Custom roles round-trip; a display name is unique whatever its case.
    let custom = custom_role(50, "Directory Readers (custom)");
    let mut tx = write(&store).await;
    tx.insert_role_definition(&custom).await.unwrap();
    commit(tx).await;

    let mut tx = write(&store).await;
    assert_conflict(
        tx.insert_role_definition(&custom_role(51, "global ADMINISTRATOR"))
            .await,
        "insert_role_definition, same display name",
    );
    drop(tx);
    let mut tx = write(&store).await;
    assert_conflict(
        tx.insert_role_definition(&custom_role(50, "Another name"))
            .await,
        "insert_role_definition, same id",
    );
    drop(tx);

    let mut tx = read(&store).await;
    assert_eq!(
        tx.get_role_definition(custom.id).await.unwrap(),
        Some(custom.clone())
    );
    assert_eq!(tx.get_role_definition(id(51)).await.unwrap(), None);
    assert_eq!(
        tx.list_role_definitions(&RoleQuery::default())
            .await
            .unwrap()
            .len(),
        12
    );
    let query = RoleQuery {
        display_name: Some("DIRECTORY READERS (CUSTOM)".into()),
    };
    assert_eq!(
        tx.list_role_definitions(&query).await.unwrap(),
        vec![custom]
    );
}
contract!(
    role_definitions =>
    role_definitions_sqlite,
    role_definitions_postgres,
);

fn schedule_ids(schedules: &[RoleSchedule]) -> Vec<Uuid> {
    sorted(schedules.iter().map(|s| s.id))
}

async fn role_schedules(store: Arc<dyn Store>) {
    use ScheduleKind::{Active, Eligible};
    insert_built_ins(&store).await;
    let ga: Uuid = ids::GLOBAL_ADMINISTRATOR.parse().unwrap();
    let ua: Uuid = ids::USER_ADMINISTRATOR.parse().unwrap();
    let (u1, u2, g1) = (id(10), id(11), id(20));
    let au = "/administrativeUnits/5c2d7e0a-0000-0000-0000-000000000001";

    let schedules = [
        schedule(101, Eligible, u1, ga, "/", 100, Some(200)),
        schedule(102, Active, u1, ga, "/", 150, None),
        schedule(103, Eligible, u2, ua, au, 50, Some(10_000)),
        schedule(104, Active, g1, ua, "/", 300, Some(400)),
        schedule(105, Eligible, u1, ua, au, 400, None),
    ];
    let mut tx = write(&store).await;
    tx.insert_user(&user(10, "u1@x.com", "U1")).await.unwrap();
    tx.insert_user(&user(11, "u2@x.com", "U2")).await.unwrap();
    tx.insert_group(&group(20, "G1", true)).await.unwrap();
    for s in &schedules {
        tx.insert_role_schedule(s).await.unwrap();
    }
    commit(tx).await;

    let mut tx = read(&store).await;
    let mut all = tx
        .list_role_schedules(&ScheduleQuery::default())
        .await
        .unwrap();
    all.sort_by_key(|s| s.id);
    assert_eq!(all, schedules, "every field round-trips");

    let s = |n: &[u128]| -> Vec<Uuid> { n.iter().map(|&n| id(n)).collect() };
    let cases: Vec<(&str, ScheduleQuery, Vec<Uuid>)> = vec![
        (
            "kind eligible",
            ScheduleQuery {
                kind: Some(Eligible),
                ..Default::default()
            },
            s(&[101, 103, 105]),
        ),
        (
            "kind active",
            ScheduleQuery {
                kind: Some(Active),
                ..Default::default()
            },
            s(&[102, 104]),
        ),
        (
            "one principal",
            ScheduleQuery {
                principal_ids: Some(vec![u1]),
                ..Default::default()
            },
            s(&[101, 102, 105]),
        ),
        (
            "several principals",
            ScheduleQuery {
                principal_ids: Some(vec![g1, u1, id(404)]),
                ..Default::default()
            },
            s(&[101, 102, 104, 105]),
        ),
        (
            "no principals at all",
            ScheduleQuery {
                principal_ids: Some(vec![]),
                ..Default::default()
            },
            vec![],
        ),
        (
            "no principals, other filters set",
            ScheduleQuery {
                kind: Some(Eligible),
                targets: eligo_store::Targets::Roles,
                principal_ids: Some(vec![]),
                ..Default::default()
            },
            vec![],
        ),
        (
            "unknown principal",
            ScheduleQuery {
                principal_ids: Some(vec![id(404)]),
                ..Default::default()
            },
            vec![],
        ),
        (
            "role",
            ScheduleQuery {
                role_definition_id: Some(ga),
                ..Default::default()
            },
            s(&[101, 102]),
        ),
        (
            "scope",
            ScheduleQuery {
                directory_scope_id: Some(au.into()),
                ..Default::default()
            },
            s(&[103, 105]),
        ),
        (
            "root scope",
            ScheduleQuery {
                directory_scope_id: Some("/".into()),
                ..Default::default()
            },
            s(&[101, 102, 104]),
        ),
        (
            "every filter",
            ScheduleQuery {
                kind: Some(Eligible),
                targets: eligo_store::Targets::Roles,
                principal_ids: Some(vec![u1, u2]),
                role_definition_id: Some(ua),
                directory_scope_id: Some(au.into()),
            },
            s(&[103, 105]),
        ),
        (
            "every filter, narrower",
            ScheduleQuery {
                kind: Some(Eligible),
                targets: eligo_store::Targets::Roles,
                principal_ids: Some(vec![u1]),
                role_definition_id: Some(ua),
                directory_scope_id: Some(au.into()),
            },
            s(&[105]),
        ),
        (
            "every filter, nothing matches",
            ScheduleQuery {
                kind: Some(Active),
                targets: eligo_store::Targets::Roles,
                principal_ids: Some(vec![u1]),
                role_definition_id: Some(ua),
                directory_scope_id: Some(au.into()),
            },
            vec![],
        ),
    ];
    for (what, query, expected) in cases {
        let found = tx.list_role_schedules(&query).await.unwrap();
        assert_eq!(schedule_ids(&found), expected, "{what}: {query:?}");
    }
    drop(tx);

    // Schedules go with their principal.
    let mut tx = write(&store).await;
    assert!(tx.delete_principal(u1).await.unwrap());
    commit(tx).await;
    let mut tx = read(&store).await;
    let left = tx
        .list_role_schedules(&ScheduleQuery::default())
        .await
        .unwrap();
    assert_eq!(schedule_ids(&left), s(&[103, 104]));
}
contract!(
    role_schedules =>
    role_schedules_sqlite,
    role_schedules_postgres,
);

async fn role_policies(store: Arc<dyn Store>) {
    use eligo_core::policy::{RolePolicy, ScopeType};
    let mut policy =
        RolePolicy::default_for(ScopeType::DirectoryRole, "/", ids::GLOBAL_ADMINISTRATOR);
    assert_eq!(
        read(&store).await.get_policy(&policy.id).await.unwrap(),
        None,
        "never stored: defaults apply"
    );

    policy
        .rules
        .apply(
            "Expiration_EndUser_Assignment",
            &serde_json::json!({"isExpirationRequired": true, "maximumDuration": "PT1H"}),
        )
        .unwrap();
    policy.last_modified_date_time = Some(t(1_000));
    let mut tx = write(&store).await;
    tx.put_policy(&policy, 1_000).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        read(&store).await.get_policy(&policy.id).await.unwrap(),
        Some(policy.clone())
    );

    // A second change replaces the first (upsert), and a rolled-back one leaves it.
    policy
        .rules
        .approval_end_user_assignment
        .is_approval_required = true;
    let mut tx = write(&store).await;
    tx.put_policy(&policy, 2_000).await.unwrap();
    tx.commit().await.unwrap();
    let mut changed = policy.clone();
    changed
        .rules
        .approval_end_user_assignment
        .is_approval_required = false;
    let mut tx = write(&store).await;
    tx.put_policy(&changed, 3_000).await.unwrap();
    drop(tx);
    assert_eq!(
        read(&store).await.get_policy(&policy.id).await.unwrap(),
        Some(policy)
    );
}
contract!(role_policies => role_policies_sqlite, role_policies_postgres);

/// Role definitions a committed batch read are kept for the batches after it (stored roles
/// never change); one read in a transaction that did not commit, where it was added, is not:
/// neither alone nor as a member after others in a batch.
async fn a_role_read_where_it_was_added_is_not_kept_unless_committed(store: Arc<dyn Store>) {
    let kept = custom_role(1, "Kept");
    let mut tx = write(&store).await;
    tx.insert_role_definition(&kept).await.unwrap();
    assert_eq!(
        tx.get_role_definition(kept.id).await.unwrap(),
        Some(kept.clone())
    );
    commit(tx).await;

    // Alone: added, read, dropped.
    let alone = custom_role(2, "Alone");
    let mut tx = write(&store).await;
    tx.insert_role_definition(&alone).await.unwrap();
    assert!(tx.get_role_definition(alone.id).await.unwrap().is_some());
    drop(tx);

    // A member after another: added, read, dropped; the batch commits without it.
    let member = custom_role(3, "Member");
    let first = write(&store).await;
    let dropped = {
        let store = store.clone();
        let member = member.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            tx.insert_role_definition(&member).await.unwrap();
            assert!(tx.get_role_definition(member.id).await.unwrap().is_some());
        })
    };
    until_waiting(&store, 1).await;
    commit(first).await;
    within("dropped member", dropped).await.unwrap();

    for tx in [write(&store).await, read(&store).await] {
        let mut tx = tx;
        assert_eq!(
            tx.get_role_definition(kept.id).await.unwrap(),
            Some(kept.clone())
        );
        assert_eq!(tx.get_role_definition(alone.id).await.unwrap(), None);
        assert_eq!(tx.get_role_definition(member.id).await.unwrap(), None);
    }
}
contract!(
    a_role_read_where_it_was_added_is_not_kept_unless_committed =>
    a_role_read_where_it_was_added_is_not_kept_unless_committed_sqlite,
    a_role_read_where_it_was_added_is_not_kept_unless_committed_postgres,
);
