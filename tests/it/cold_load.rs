//! The access index a server builds at start (narrow rows, streamed, a schedule kept only in
//! the index) answers exactly as the index built the old way: every schedule read whole
//! (`list_role_schedules`) and placed from the record. The store has what changes an answer:
//! windows (ending, ended and processed, ended and not yet processed, starting later), nesting,
//! roles held by a role-assignable group, activations, PIM for Groups memberships and
//! ownerships (active and eligible), and direct ownership. Both are asked every question at
//! several instants, with paths; the schedule behind each path and the privilege facts too.

use chrono::{DateTime, TimeDelta, Utc};
use eligo::service::access::live::{LiveIndex, eligible};
use eligo_core::access::{Assignment, Index, Window};
use eligo_core::directory::{Relation, ServicePrincipal};
use eligo_core::roles::ids;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_core::target::{GroupAccess, Target, group_scope};
use uuid::Uuid;

use crate::access::{add_member, new_group};
use crate::harness::*;

/// The old start: every schedule whole, placed as `live.rs` placed a `RoleSchedule`.
async fn old_index(t: &TestApp, now: DateTime<Utc>) -> (Index, Vec<RoleSchedule>) {
    let mut tx = t.app.store.read().await.unwrap();
    let mut index = Index::new();
    let mut relations = Vec::new();
    tx.each_relation(&mut |group, principal, relation| {
        relations.push((group, principal, relation))
    })
    .await
    .unwrap();
    for (group, principal, relation) in relations {
        match relation {
            Relation::Member => {
                index.add_member(&group.to_string(), &principal.to_string(), Window::ALWAYS)
            }
            Relation::Owner => {
                index.add_assignment(Assignment {
                    id: format!("owner:{group}:{principal}"),
                    principal: principal.to_string(),
                    role: "owner".into(),
                    scope: group_scope(group),
                    window: Window::ALWAYS,
                });
            }
        }
    }
    let mut kept = Vec::new();
    for s in tx.list_role_schedules(&Default::default()).await.unwrap() {
        if s.has_ended(now) || (s.end_date_time.is_some() && !s.end_pending) {
            continue;
        }
        let window = Window::new(Some(s.start_date_time), s.end_date_time);
        let principal = s.principal_id.to_string();
        let (role, scope) = match (s.target(), s.kind) {
            (
                Target::Group {
                    group,
                    access: GroupAccess::Member,
                },
                ScheduleKind::Active,
            ) => {
                index.add_member(&group.to_string(), &principal, window);
                kept.push(s);
                continue;
            }
            (Target::Group { group, .. }, ScheduleKind::Active) => {
                ("owner".to_string(), group_scope(group))
            }
            (Target::Group { group, access }, ScheduleKind::Eligible) => {
                (eligible(access.as_str()), group_scope(group))
            }
            (Target::Role { role, scope }, ScheduleKind::Active) => (role.to_string(), scope),
            (Target::Role { role, scope }, ScheduleKind::Eligible) => {
                (eligible(&role.to_string()), scope)
            }
        };
        index.add_assignment(Assignment {
            id: s.id.to_string(),
            principal,
            role,
            scope,
            window,
        });
        kept.push(s);
    }
    (index, kept)
}

/// Writes one schedule as the use cases store it.
#[allow(clippy::too_many_arguments)]
async fn schedule(
    t: &TestApp,
    kind: ScheduleKind,
    principal: Uuid,
    target: Target,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    how: AssignmentType,
    processed: bool,
) -> RoleSchedule {
    let now = t.clock.now_utc();
    let (role, scope) = target.fields();
    let mut s = RoleSchedule::new(
        Uuid::new_v4(),
        kind,
        principal,
        role,
        scope,
        (start, end),
        how,
        None,
        now,
    );
    s.end_pending = end.is_some() && !processed;
    let mut tx = t.app.store.write().await.unwrap();
    tx.insert_role_schedule(&s).await.unwrap();
    tx.commit().await.unwrap();
    s
}

fn sorted<T: std::fmt::Debug>(v: &[T]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
    v.sort();
    v
}

async fn the_start_answers_as_before(t: TestApp) {
    let now = t.clock.now_utc();
    let h = |n: i64| now + TimeDelta::hours(n);
    let role = |r: &str| Uuid::parse_str(r).unwrap();
    let admins = new_group(&t, "Admins", true).await;
    let outer = new_group(&t, "Outer", false).await;
    let inner = new_group(&t, "Inner", false).await;
    let [ann, bob, cat, dan, eve] = [
        t.user("ann").await,
        t.user("bob").await,
        t.user("cat").await,
        t.user("dan").await,
        t.user("eve").await,
    ];
    add_member(&t, outer, inner).await;
    add_member(&t, inner, ann).await;
    add_member(&t, admins, bob).await;
    {
        let mut tx = t.app.store.write().await.unwrap();
        tx.add_relation(outer, cat, Relation::Owner, now.timestamp_micros())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let at = |r: &str, scope: &str| Target::Role {
        role: role(r),
        scope: scope.into(),
    };
    let group = |group, access| Target::Group { group, access };
    use AssignmentType::{Activated, Assigned};
    use ScheduleKind::{Active, Eligible};
    let s = |kind, who, target, start, end, how| {
        schedule(&t, kind, who, target, start, end, how, false)
    };
    // The role-assignable group holds a role for good and is eligible for another until +48h.
    s(
        Active,
        admins,
        at(ids::USER_ADMINISTRATOR, "/"),
        h(-1),
        None,
        Assigned,
    )
    .await;
    s(
        Eligible,
        admins,
        at(ids::SECURITY_READER, "/"),
        h(-1),
        Some(h(48)),
        Assigned,
    )
    .await;
    // Activations and assignments of a person: ending in 2h, starting in 24h, at a narrower scope.
    s(
        Active,
        ann,
        at(ids::GLOBAL_READER, "/"),
        h(-1),
        Some(h(2)),
        Activated,
    )
    .await;
    s(
        Active,
        bob,
        at(ids::GLOBAL_READER, "/"),
        h(24),
        Some(h(30)),
        Assigned,
    )
    .await;
    let unit = "/administrativeUnits/unit-1";
    s(
        Eligible,
        ann,
        at(ids::USER_ADMINISTRATOR, unit),
        h(-5),
        None,
        Assigned,
    )
    .await;
    // Over: not yet processed, and processed by the scheduler.
    s(
        Active,
        dan,
        at(ids::USER_ADMINISTRATOR, "/"),
        h(-5),
        Some(h(-1)),
        Activated,
    )
    .await;
    schedule(
        &t,
        Active,
        eve,
        at(ids::USER_ADMINISTRATOR, "/"),
        h(-5),
        Some(h(-2)),
        Activated,
        true,
    )
    .await;
    // PIM for Groups: an activated membership of the outer group until +3h, through which
    // nobody else gains; eligible membership of the role-assignable group; ownerships.
    s(
        Active,
        dan,
        group(outer, GroupAccess::Member),
        h(-1),
        Some(h(3)),
        Activated,
    )
    .await;
    s(
        Active,
        eve,
        group(admins, GroupAccess::Member),
        h(1),
        Some(h(5)),
        Assigned,
    )
    .await;
    s(
        Eligible,
        eve,
        group(admins, GroupAccess::Member),
        h(-1),
        Some(h(72)),
        Assigned,
    )
    .await;
    s(
        Active,
        dan,
        group(inner, GroupAccess::Owner),
        h(-1),
        Some(h(4)),
        Activated,
    )
    .await;
    s(
        Eligible,
        cat,
        group(inner, GroupAccess::Owner),
        h(-1),
        None,
        Assigned,
    )
    .await;

    let started = t.restarted(now).await;
    let cold: &LiveIndex = &started.app.access;
    let (old, kept) = old_index(&t, now).await;
    let people = [ann, bob, cat, dan, eve, admins, outer, inner];
    let roles = [
        ids::USER_ADMINISTRATOR,
        ids::SECURITY_READER,
        ids::GLOBAL_READER,
    ];
    let groups = [admins, outer, inner];
    let mut granted = 0;
    for when in [now, h(1), h(2), h(3) + TimeDelta::minutes(30), h(25), h(60)] {
        for p in people {
            let ps = p.to_string();
            for r in roles {
                for scope in ["/", unit] {
                    let d = cold.check_role(p, role(r), scope, when);
                    assert_eq!(d, old.check(&ps, r, scope, when), "{p} {r} {scope} {when}");
                    granted += usize::from(d.allowed);
                    let e = cold.check_eligible(p, role(r), scope, when);
                    assert_eq!(e, old.check(&ps, &eligible(r), scope, when));
                    granted += usize::from(e.allowed);
                    for path in d.paths.iter().chain(&e.paths) {
                        let held = cold.schedule(&path.assignment_id).unwrap();
                        let record = kept.iter().find(|s| s.id == held.id).unwrap();
                        assert_eq!(held.activated, record.assignment_type == Activated);
                        assert_eq!(held.end, record.end_date_time);
                    }
                }
            }
            for g in groups {
                let gs = g.to_string();
                assert_eq!(cold.member_of(p, g, when), old.is_member(&ps, &gs, when));
                let owner = cold.owner_of(p, g, when);
                assert_eq!(owner, old.check(&ps, "owner", &group_scope(g), when));
                granted += usize::from(owner.allowed);
                for path in &owner.paths {
                    // Direct ownership has no schedule; an activated one has.
                    assert_eq!(
                        cold.schedule(&path.assignment_id).is_some(),
                        !path.assignment_id.starts_with("owner:")
                    );
                }
            }
            let old_groups: Vec<Uuid> = old
                .groups_of(&ps, when)
                .iter()
                .map(|m| Uuid::parse_str(&m.group).unwrap())
                .collect();
            assert_eq!(sorted(&cold.groups_of(p, when)), sorted(&old_groups));
        }
        for g in groups {
            assert_eq!(
                sorted(&cold.members_of(g, when)),
                sorted(&old.members_of(&g.to_string(), when))
            );
        }
        for r in roles {
            let (holding, eligible_) = cold.exposure(role(r), when);
            assert_eq!(sorted(&holding), sorted(&old.holders_of(r, when)));
            assert_eq!(
                sorted(&eligible_),
                sorted(&old.holders_of(&eligible(r), when))
            );
        }
    }
    assert!(
        granted > 20,
        "the questions must grant something: {granted}"
    );
    // The index that followed every write agrees too (from now on: ended entries it still
    // holds grant nothing).
    for p in people {
        for r in roles {
            assert_eq!(
                t.app.access.check_role(p, role(r), "/", now),
                cold.check_role(p, role(r), "/", now)
            );
        }
    }
    // Privilege facts: the same, but for what the old start left out (ended schedules), which
    // the live index still holds until the scheduler prunes them.
    let facts = cold.privilege_facts();
    let live = t.app.access.privilege_facts();
    let current = |w: &Window| w.end.is_none_or(|e| e > now);
    assert_eq!(sorted(&facts.roles), {
        let v: Vec<_> = live
            .roles
            .iter()
            .filter(|f| current(&f.window))
            .copied()
            .collect();
        sorted(&v)
    });
    assert_eq!(sorted(&facts.memberships), sorted(&live.memberships));
    assert_eq!(sorted(&facts.ownerships), sorted(&live.ownerships));
    assert_eq!(sorted(&facts.pim_groups), sorted(&live.pim_groups));
    // Five schedules, and the break-glass account's Global Administrator.
    assert_eq!(facts.roles.len(), 6, "{:?}", facts.roles);
    assert_eq!(facts.role_assignable_groups, vec![admins]);
}

#[tokio::test]
async fn the_start_answers_as_the_whole_record_load_did() {
    the_start_answers_as_before(TestApp::new().await).await;
}

#[tokio::test]
async fn the_start_answers_as_the_whole_record_load_did_on_postgresql() {
    if let Some(t) = TestApp::postgres().await {
        the_start_answers_as_before(t).await;
    }
}

/// More schedules than the start hands its placing thread in a batch (4,096, `schedule_batch`):
/// every one held is placed and every one ended is not, whichever batch it fell in.
async fn the_start_places_every_batch(t: TestApp) {
    const UNITS: usize = 1_100;
    let now = t.clock.now_utc();
    let people = [
        t.user("ann").await,
        t.user("bob").await,
        t.user("cat").await,
    ];
    let roles = [
        ids::USER_ADMINISTRATOR,
        ids::SECURITY_READER,
        ids::GLOBAL_READER,
    ]
    .map(|r| Uuid::parse_str(r).unwrap());
    let held = |i: usize, j: usize, k: usize| !(i + j + k).is_multiple_of(7);
    let unit = |k: usize| format!("/administrativeUnits/{k}");
    let mut tx = t.app.store.write().await.unwrap();
    for (i, p) in people.iter().enumerate() {
        for (j, r) in roles.iter().enumerate() {
            for k in 0..UNITS {
                // Every seventh ended an hour ago, its end processed: not in the index.
                let end = (!held(i, j, k)).then(|| now - TimeDelta::hours(1));
                let s = RoleSchedule::new(
                    Uuid::new_v4(),
                    ScheduleKind::Active,
                    *p,
                    *r,
                    unit(k),
                    (now - TimeDelta::hours(2), end),
                    AssignmentType::Assigned,
                    None,
                    now,
                );
                tx.insert_role_schedule(&s).await.unwrap();
            }
        }
    }
    tx.commit().await.unwrap();

    let started = t.restarted(now).await;
    let cold = &started.app.access;
    let mut granted = 0;
    for (i, p) in people.iter().enumerate() {
        for (j, r) in roles.iter().enumerate() {
            for k in 0..UNITS {
                let d = cold.check_role(*p, *r, &unit(k), now);
                assert_eq!(d.allowed, held(i, j, k), "{p} {r} {k}");
                granted += usize::from(d.allowed);
            }
        }
    }
    assert!(
        granted > 2 * 4096,
        "{granted} placed: more than two batches"
    );
}

#[tokio::test]
async fn the_start_places_every_batch_of_schedules() {
    the_start_places_every_batch(TestApp::new().await).await;
}

#[tokio::test]
async fn the_start_places_every_batch_of_schedules_on_postgresql() {
    if let Some(t) = TestApp::postgres().await {
        the_start_places_every_batch(t).await;
    }
}

/// An older store, as a server of that version left it, for the next open to migrate.
#[derive(Clone, Copy)]
enum Old {
    /// Before 0025: its columns dropped and their migration forgotten, so the next open
    /// backfills every row from its record alone (and makes 0028's index again).
    V0024,
    /// Before 0027: SQLite's start index keyed by `id`, as 0025 made it.
    V0026,
    /// Before 0028: SQLite's two indexes led by the holder, 0004's and 0027's.
    V0027,
}

async fn back_to(t: &TestApp, old: Old) {
    let url = t.app.config.database_url.expose().to_string();
    let sqlite = url.starts_with("sqlite:");
    let statements: &[&'static str] = match old {
        Old::V0024 => &[
            // SQLite's covering index for the start (PostgreSQL has none).
            "DROP INDEX IF EXISTS role_schedules_by_holder",
            "ALTER TABLE role_schedules DROP COLUMN activated",
            "ALTER TABLE principals DROP COLUMN upn",
            "ALTER TABLE principals DROP COLUMN manager_id",
            "ALTER TABLE principals DROP COLUMN account_enabled",
            "DELETE FROM _sqlx_migrations WHERE version IN (25, 27, 28)",
        ],
        Old::V0026 if sqlite => &[
            "DROP INDEX role_schedules_by_holder",
            "CREATE INDEX role_schedules_principal_role ON role_schedules \
             (principal_id, role_definition_id, kind)",
            "CREATE INDEX role_schedules_index_load ON role_schedules (id, kind, principal_id, \
             role_definition_id, start_at, end_at, end_pending, activated, directory_scope_id)",
            "DELETE FROM _sqlx_migrations WHERE version IN (27, 28)",
        ],
        Old::V0026 => &["DELETE FROM _sqlx_migrations WHERE version IN (27, 28)"],
        Old::V0027 if sqlite => &[
            "DROP INDEX role_schedules_by_holder",
            "CREATE INDEX role_schedules_principal_role ON role_schedules \
             (principal_id, role_definition_id, kind)",
            "CREATE INDEX role_schedules_index_load_by_holder ON role_schedules (principal_id, \
             id, kind, role_definition_id, start_at, end_at, end_pending, activated, \
             directory_scope_id)",
            "DELETE FROM _sqlx_migrations WHERE version = 28",
        ],
        Old::V0027 => &["DELETE FROM _sqlx_migrations WHERE version = 28"],
    };
    macro_rules! run_on {
        ($pool:ty) => {{
            let pool = <$pool>::connect(&url).await.unwrap();
            for &q in statements {
                sqlx::query(q).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }};
    }
    if sqlite {
        run_on!(sqlx::SqlitePool)
    } else {
        run_on!(sqlx::PgPool)
    }
}

/// SQLite's indexes led by the holder, and those the start read before, after a start: only
/// 0028's, whatever the store was migrated from.
async fn start_indexes(t: &TestApp) -> Vec<String> {
    let url = t.app.config.database_url.expose().to_string();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let names = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' \
         AND (name LIKE 'role_schedules_index_load%' OR name LIKE 'role_schedules_%holder%' \
              OR name = 'role_schedules_principal_role') ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    names
}

/// What a start reads of principals and activations from their columns (migration 0025) is
/// what their records say, after every kind of write: activations made assigned and assigned
/// schedules made activations after insert, a manager set, changed and removed, an account
/// disabled, a UPN renamed, service principals and groups; and the same once a store of
/// migration 0024 is migrated, its rows backfilled from their records, or one of 0026 whose
/// start index SQLite makes again by holder.
async fn the_start_reads_every_write(t: TestApp, old_store: Option<Old>) {
    let now = t.clock.now_utc();
    let h = |n: i64| now + TimeDelta::hours(n);
    let group = new_group(&t, "Ops", true).await;
    let [boss, ann, bob, cat] = [
        t.user("boss").await,
        t.user("ann").await,
        t.user("bob").await,
        t.user("cat").await,
    ];
    let (sp_on, sp_off) = (Uuid::new_v4(), Uuid::new_v4());
    {
        let mut tx = t.app.store.write().await.unwrap();
        // ann: a manager, renamed, disabled; bob: a manager set then another; cat: one set
        // then removed.
        let mut u = tx.get_user(ann).await.unwrap().unwrap();
        u.manager_id = Some(boss);
        u.user_principal_name = "Ann.Renamed@Contoso.example".into();
        u.account_enabled = false;
        tx.update_user(&u).await.unwrap();
        for (who, manager) in [
            (bob, Some(cat)),
            (bob, Some(boss)),
            (cat, Some(boss)),
            (cat, None),
        ] {
            let mut u = tx.get_user(who).await.unwrap().unwrap();
            u.manager_id = manager;
            tx.update_user(&u).await.unwrap();
        }
        for (id, enabled) in [(sp_on, true), (sp_off, false)] {
            tx.insert_service_principal(&ServicePrincipal {
                id,
                display_name: format!("app {enabled}"),
                app_id: Uuid::new_v4(),
                account_enabled: enabled,
                created_date_time: now,
            })
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let role = |r: &str| Target::Role {
        role: Uuid::parse_str(r).unwrap(),
        scope: "/".into(),
    };
    use AssignmentType::{Activated, Assigned};
    let s = |who, r, how| {
        schedule(
            &t,
            ScheduleKind::Active,
            who,
            role(r),
            h(-1),
            Some(h(8)),
            how,
            false,
        )
    };
    let made_activated = s(ann, ids::GLOBAL_READER, Assigned).await;
    let made_assigned = s(bob, ids::GLOBAL_READER, Activated).await;
    let activated = s(cat, ids::SECURITY_READER, Activated).await;
    let assigned = s(boss, ids::SECURITY_READER, Assigned).await;
    {
        let mut tx = t.app.store.write().await.unwrap();
        for (mut changed, how) in [
            (made_activated.clone(), Activated),
            (made_assigned.clone(), Assigned),
        ] {
            changed.assignment_type = how;
            changed.end_date_time = Some(h(9));
            assert!(tx.update_role_schedule(&changed).await.unwrap());
        }
        tx.commit().await.unwrap();
    }
    if let Some(old) = old_store {
        back_to(&t, old).await;
    }

    let started = t.restarted(now).await;
    if t.app.config.database_url.expose().starts_with("sqlite:") {
        assert_eq!(start_indexes(&started).await, ["role_schedules_by_holder"]);
    }
    let cold = &started.app.access;
    let live = &t.app.access;
    // As the index that followed every write, and as written.
    for p in [group, boss, ann, bob, cat, sp_on, sp_off] {
        let summary = |a: &LiveIndex| {
            let s = a.summary(p).unwrap();
            (s.kind, s.display_name, s.upn, s.enabled, a.manager_of(p))
        };
        assert_eq!(summary(cold), summary(live), "{p}");
    }
    let said = |p| {
        let s = cold.summary(p).unwrap();
        (s.upn, s.enabled, cold.manager_of(p))
    };
    assert_eq!(
        said(ann),
        (
            Some("Ann.Renamed@Contoso.example".into()),
            false,
            Some(boss)
        )
    );
    assert_eq!(
        said(bob),
        (Some("bob@contoso.example".into()), true, Some(boss))
    );
    assert_eq!(said(cat), (Some("cat@contoso.example".into()), true, None));
    assert_eq!(said(sp_on), (None, true, None));
    assert_eq!(said(sp_off), (None, false, None));
    assert_eq!(said(group), (None, false, None));
    for (s, activated) in [
        (&made_activated, true),
        (&made_assigned, false),
        (&activated, true),
        (&assigned, false),
    ] {
        let held = cold.schedule(&s.id.to_string()).unwrap();
        assert_eq!(held.activated, activated, "{}", s.id);
        assert_eq!(Some(held), live.schedule(&s.id.to_string()));
    }
    assert_eq!(
        cold.schedule(&made_activated.id.to_string()).unwrap().end,
        Some(h(9))
    );
}

#[tokio::test]
async fn the_start_reads_principals_and_activations_as_written() {
    the_start_reads_every_write(TestApp::new().await, None).await;
}

#[tokio::test]
async fn the_start_reads_principals_and_activations_as_written_on_postgresql() {
    if let Some(t) = TestApp::postgres().await {
        the_start_reads_every_write(t, None).await;
    }
}

#[tokio::test]
async fn a_store_of_migration_0024_is_backfilled() {
    the_start_reads_every_write(TestApp::new().await, Some(Old::V0024)).await;
}

#[tokio::test]
async fn a_store_of_migration_0024_is_backfilled_on_postgresql() {
    if let Some(t) = TestApp::postgres().await {
        the_start_reads_every_write(t, Some(Old::V0024)).await;
    }
}

#[tokio::test]
async fn a_store_of_migration_0026_starts_by_holder() {
    the_start_reads_every_write(TestApp::new().await, Some(Old::V0026)).await;
}

#[tokio::test]
async fn a_store_of_migration_0026_starts_by_holder_on_postgresql() {
    if let Some(t) = TestApp::postgres().await {
        the_start_reads_every_write(t, Some(Old::V0026)).await;
    }
}

#[tokio::test]
async fn a_store_of_migration_0027_keeps_one_index_by_holder() {
    the_start_reads_every_write(TestApp::new().await, Some(Old::V0027)).await;
}

#[tokio::test]
async fn a_store_of_migration_0027_keeps_one_index_by_holder_on_postgresql() {
    if let Some(t) = TestApp::postgres().await {
        the_start_reads_every_write(t, Some(Old::V0027)).await;
    }
}
