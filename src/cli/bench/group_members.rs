//! `eligo bench group-members`: what `GET /v1/groups/{id}/members` (and `/owners`) costs on a
//! full store. `users` users and `grants` grants: direct group memberships, PIM for Groups
//! membership and ownership schedules (active and eligible) spread over `groups` groups, and
//! directory-role schedules; one group of `members` members (half direct, half through an
//! active PIM membership) and a few owners is then read through the real use case
//! (`service::directory::reads::group_relation`, which the endpoint calls) `reads` times.
//! Setup is written through the store and not timed; the answer is checked on every read.

use chrono::TimeDelta;
use eligo_core::directory::{Group, Relation, User};
use eligo_core::roles::ids;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_core::target::{GroupAccess, Target};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Caller;
use crate::clock::Stopwatch;
use crate::service::directory::group_relation;

use super::{BenchDb, Outcome, api, bench_admin, ms, percentile};

const SETUP_BATCH: usize = 2000;

pub struct Params {
    pub users: usize,
    pub groups: usize,
    pub grants: usize,
    pub members: usize,
    pub reads: usize,
}

pub async fn run(url: Option<String>, p: Params) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let app = db.open(|_| {}).await?;
    let admin = bench_admin(&app).await?;
    let now = app.clock.now();
    let since = now - TimeDelta::days(30);
    let users = p.users.max(p.members + 10);
    let groups = p.groups.max(2);

    let mut user_ids = Vec::with_capacity(users);
    for chunk in (0..users).collect::<Vec<_>>().chunks(SETUP_BATCH) {
        let mut tx = app.store.write().await?;
        for i in chunk {
            let id = Uuid::new_v4();
            tx.insert_user(&User {
                id,
                user_principal_name: format!("gm{i}-{}@bench.example", id.simple()),
                display_name: format!("User {i}"),
                mail: None,
                mail_nickname: None,
                manager_id: None,
                account_enabled: true,
                created_date_time: since,
            })
            .await?;
            user_ids.push(id);
        }
        tx.commit().await?;
    }
    let mut group_ids = Vec::with_capacity(groups);
    {
        let mut tx = app.store.write().await?;
        for i in 0..groups {
            let id = Uuid::new_v4();
            tx.insert_group(&Group {
                id,
                display_name: format!("Group {i}"),
                description: None,
                mail_nickname: Some(format!("group{i}-{}", id.simple())),
                security_enabled: true,
                is_assignable_to_role: false,
                created_date_time: since,
            })
            .await?;
            group_ids.push(id);
        }
        tx.commit().await?;
    }
    let asked = group_ids[0];
    let schedule = |kind, principal, target: Target, end| {
        let (role, scope) = target.fields();
        RoleSchedule::new(
            Uuid::new_v4(),
            kind,
            principal,
            role,
            scope,
            (since, end),
            AssignmentType::Assigned,
            None,
            since,
        )
    };

    // The asked group: half its members direct, half through an active PIM membership (some
    // permanent, some ending in a week), three owners through PIM, plus eligible members
    // (eligibility is not membership).
    let owners = 3;
    let mut written = 0usize;
    {
        let mut tx = app.store.write().await?;
        for (i, user) in user_ids.iter().take(p.members).enumerate() {
            if i % 2 == 0 {
                tx.add_relation(asked, *user, Relation::Member, since.timestamp_micros())
                    .await?;
            } else {
                let end = (i % 4 == 1).then(|| now + TimeDelta::days(7));
                let target = Target::Group {
                    group: asked,
                    access: GroupAccess::Member,
                };
                tx.insert_role_schedule(&schedule(ScheduleKind::Active, *user, target, end))
                    .await?;
            }
            written += 1;
        }
        for user in user_ids.iter().skip(p.members).take(owners) {
            let target = Target::Group {
                group: asked,
                access: GroupAccess::Owner,
            };
            tx.insert_role_schedule(&schedule(ScheduleKind::Active, *user, target, None))
                .await?;
            written += 1;
        }
        for user in user_ids.iter().skip(p.members + owners).take(20) {
            let target = Target::Group {
                group: asked,
                access: GroupAccess::Member,
            };
            tx.insert_role_schedule(&schedule(ScheduleKind::Eligible, *user, target, None))
                .await?;
            written += 1;
        }
        tx.commit().await?;
    }

    // Everything else, over the other groups: a quarter direct memberships, a tenth role
    // schedules, the rest PIM for Groups schedules (memberships mostly, a few ownerships; two
    // in three active).
    let roles = [
        ids::SECURITY_READER,
        ids::GLOBAL_READER,
        ids::USER_ADMINISTRATOR,
    ];
    let rest = p.grants.saturating_sub(written);
    for chunk in (0..rest).collect::<Vec<_>>().chunks(SETUP_BATCH) {
        let mut tx = app.store.write().await?;
        for &i in chunk {
            let user = user_ids[(i * 7919) % users];
            let group = group_ids[1 + (i * 104_729) % (groups - 1)];
            match i % 20 {
                0..=4 => {
                    // A repeated (group, user) pair is simply not added again.
                    tx.add_relation(group, user, Relation::Member, since.timestamp_micros())
                        .await?;
                }
                5 | 6 => {
                    let role = Uuid::parse_str(roles[i % roles.len()])?;
                    let kind = if i % 2 == 0 {
                        ScheduleKind::Active
                    } else {
                        ScheduleKind::Eligible
                    };
                    let end = Some(now + TimeDelta::days(90));
                    tx.insert_role_schedule(&schedule(kind, user, Target::of(role, "/"), end))
                        .await?;
                }
                _ => {
                    let access = if i % 20 == 7 {
                        GroupAccess::Owner
                    } else {
                        GroupAccess::Member
                    };
                    let kind = if i % 3 == 0 {
                        ScheduleKind::Eligible
                    } else {
                        ScheduleKind::Active
                    };
                    let end = (i % 2 == 0).then(|| now + TimeDelta::days(30));
                    let target = Target::Group { group, access };
                    tx.insert_role_schedule(&schedule(kind, user, target, end))
                        .await?;
                }
            }
        }
        tx.commit().await?;
    }

    let mut problems = Vec::new();
    let reads = p.reads.max(1);
    let members = timed_reads(
        &app,
        &admin,
        asked,
        Relation::Member,
        p.members,
        reads,
        &mut problems,
    )
    .await?;
    let owned = timed_reads(
        &app,
        &admin,
        asked,
        Relation::Owner,
        owners,
        reads,
        &mut problems,
    )
    .await?;
    let line = format!(
        "RESULT bench=group-members backend={} users={users} groups={groups} grants={} members={} reads={} members_p50_ms={:.2} members_p99_ms={:.2} owners_p50_ms={:.2} owners_p99_ms={:.2}",
        app.store.backend(),
        p.grants.max(written),
        p.members,
        reads,
        ms(percentile(&members, 0.5)),
        ms(percentile(&members, 0.99)),
        ms(percentile(&owned, 0.5)),
        ms(percentile(&owned, 0.99)),
    );
    app.store.close().await;
    db.remove();
    Ok(Outcome {
        line,
        details: Vec::new(),
        problems,
    })
}

/// `reads` timed reads of the group's members (owners) through the use case, after five
/// untimed warm-up reads; each answer must hold `expect` objects. Sorted.
async fn timed_reads(
    app: &AppState,
    admin: &Caller,
    group: Uuid,
    relation: Relation,
    expect: usize,
    reads: usize,
    problems: &mut Vec<String>,
) -> anyhow::Result<Vec<std::time::Duration>> {
    for _ in 0..5 {
        group_relation(app, admin, group, relation)
            .await
            .map_err(api)?;
    }
    let mut times = Vec::with_capacity(reads);
    for _ in 0..reads {
        let w = Stopwatch::start();
        let got = group_relation(app, admin, group, relation)
            .await
            .map_err(api)?;
        times.push(w.elapsed());
        if got.len() != expect {
            problems.push(format!(
                "{relation:?}: {} answered, {expect} expected",
                got.len()
            ));
            break;
        }
    }
    times.sort();
    Ok(times)
}
