//! `eligo bench alert-scan`: a full PIM alert scan (all nine definitions in one transaction) on
//! a directory of `users` users and `assignments` role assignments (eligible and active,
//! permanent and time-bound, spread over the built-in roles with a heavy Global Administrator
//! share), with sign-ins for most users and activations for a part of the eligibilities.
//! Timed: the first scan (which raises every incident) and a second one (nothing changed: the
//! steady state of the periodic scan). Setup is written through the store and not timed.

use chrono::TimeDelta;
use eligo_core::directory::User;
use eligo_core::roles::ids;
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_core::target::Target;
use eligo_store::{Activation, SignInKind};
use uuid::Uuid;

use crate::clock::Stopwatch;
use crate::service::pim_alerts;

use super::{BenchDb, Outcome, api};

const SETUP_BATCH: usize = 2000;

/// Built-in roles, Global Administrator first (also the cold-start benchmark's).
pub(super) const ROLES: &[&str] = &[
    ids::GLOBAL_ADMINISTRATOR,
    ids::PRIVILEGED_ROLE_ADMINISTRATOR,
    ids::USER_ADMINISTRATOR,
    ids::GROUPS_ADMINISTRATOR,
    ids::HELPDESK_ADMINISTRATOR,
    ids::SECURITY_ADMINISTRATOR,
    ids::SECURITY_READER,
    ids::GLOBAL_READER,
];

pub async fn run(url: Option<String>, users: usize, assignments: usize) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let app = db.open(|_| {}).await?;
    let now = app.clock.now();
    let mut ids_ = Vec::with_capacity(users);
    for chunk in (0..users).collect::<Vec<_>>().chunks(SETUP_BATCH) {
        let mut tx = app.store.write().await?;
        for i in chunk {
            let id = Uuid::new_v4();
            tx.insert_user(&User {
                id,
                user_principal_name: format!("u{i}-{}@bench.example", id.simple()),
                display_name: format!("User {i}"),
                mail: None,
                mail_nickname: None,
                manager_id: None,
                account_enabled: true,
                created_date_time: now - TimeDelta::days(400),
            })
            .await?;
            // Seven in ten signed in within the last two weeks; the rest long ago or never.
            if i % 10 < 7 {
                let at = now - TimeDelta::hours((i % 336) as i64);
                tx.record_sign_in(id, SignInKind::Interactive, at).await?;
            } else if i % 10 == 7 {
                tx.record_sign_in(id, SignInKind::Interactive, now - TimeDelta::days(120))
                    .await?;
            }
            ids_.push(id);
        }
        tx.commit().await?;
    }
    for chunk in (0..assignments).collect::<Vec<_>>().chunks(SETUP_BATCH) {
        let mut tx = app.store.write().await?;
        for i in chunk {
            let principal = ids_[(i * 7919) % ids_.len()];
            // A fifth of everything is Global Administrator.
            let role = if i % 5 == 0 {
                ids::GLOBAL_ADMINISTRATOR
            } else {
                ROLES[i % ROLES.len()]
            };
            let role = Uuid::parse_str(role)?;
            let (kind, end) = match i % 4 {
                0 => (ScheduleKind::Active, None),
                1 => (ScheduleKind::Active, Some(now + TimeDelta::days(90))),
                _ => (ScheduleKind::Eligible, Some(now + TimeDelta::days(180))),
            };
            let schedule = RoleSchedule::new(
                Uuid::new_v4(),
                kind,
                principal,
                role,
                "/",
                (now - TimeDelta::days(200), end),
                AssignmentType::Assigned,
                None,
                now - TimeDelta::days(200),
            );
            tx.insert_role_schedule(&schedule).await?;
            if kind == ScheduleKind::Eligible && i % 3 == 0 {
                tx.record_activation(&Activation {
                    principal_id: principal,
                    target: Target::of(role, "/"),
                    schedule_id: Uuid::new_v4(),
                    activated_at: now - TimeDelta::days((i % 60) as i64),
                })
                .await?;
            }
        }
        tx.commit().await?;
    }
    let w = Stopwatch::start();
    let first = pim_alerts::scan_all(&app).await.map_err(api)?;
    let first_ms = w.elapsed().as_secs_f64() * 1e3;
    let w = Stopwatch::start();
    let second = pim_alerts::scan_all(&app).await.map_err(api)?;
    let second_ms = w.elapsed().as_secs_f64() * 1e3;
    let mut problems = Vec::new();
    if first.raised == 0 {
        problems.push("the first scan raised nothing".to_string());
    }
    if second.raised != 0 || second.resolved != 0 {
        problems.push(format!(
            "a second scan over nothing new raised {} and resolved {}",
            second.raised, second.resolved
        ));
    }
    let line = format!(
        "RESULT bench=alert-scan backend={} users={users} assignments={assignments} first_scan_ms={first_ms:.0} steady_scan_ms={second_ms:.0}",
        app.store.backend()
    );
    let details = vec![format!(
        "DETAIL bench=alert-scan incidents_raised={} peak_rss_mib={}",
        first.raised,
        super::check::peak_rss_mib()
            .map(|m| format!("{m:.0}"))
            .unwrap_or_else(|| "?".into())
    )];
    app.store.close().await;
    db.remove();
    Ok(Outcome {
        line,
        details,
        problems,
    })
}
