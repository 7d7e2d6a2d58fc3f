//! `eligo bench cold-start`: how long a server takes to start on a full store, and how much
//! memory it needs. The parent process fills a fresh store through the store's own writes (the
//! rows the use cases write: users, groups with nesting and owners, direct memberships, role
//! and PIM for Groups schedules eligible and active, assigned and activated, bounded and
//! permanent, ended and future, and live sessions), in a few large transactions, and writes a
//! sample of questions with their answers computed from the generated facts by the plain
//! reference evaluator (`eligo_core::access::naive`). Then it runs `eligo bench cold-start-open`
//! in a child process, which times what `eligo serve` does before it can answer a check
//! (`server::prepare`: open the store, build the index, the session table and the feed,
//! bootstrap), reports its own peak resident memory (so the fill's memory does not count), and
//! asks the sample of the index it built. Any wrong answer makes the command fail.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::access::naive::Naive;
use eligo_core::access::{Assignment, Member, Window};
use eligo_core::directory::{Group, Relation, User};
use eligo_core::schedule::{AssignmentType, RoleSchedule, ScheduleKind};
use eligo_core::target::{GroupAccess, Target, group_scope};
use eligo_store::{SessionChannel, TokenRecord};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::Stopwatch;
use crate::service::access::live::eligible;

use super::alert_scan::ROLES;
use super::{BenchDb, Outcome};

/// Rows per setup transaction.
const BATCH: usize = 5000;
/// Questions in the sample the started server must answer right.
const SAMPLE: usize = 2000;

pub struct Params {
    pub users: usize,
    pub groups: usize,
    pub assignments: usize,
    /// Keep the filled database and the sample for further `cold-start-open` runs.
    pub keep: bool,
}

/// One question of the sample and the reference evaluator's answer.
#[derive(Serialize, Deserialize)]
struct Question {
    /// `role`, `eligible`, `member` or `owner`.
    kind: String,
    principal: Uuid,
    /// The role, or the group.
    target: Uuid,
    scope: String,
    allowed: bool,
    /// When the access ends (the latest end among its paths); None if unbounded.
    end: Option<DateTime<Utc>>,
}

/// A deterministic spread of `i` over `0..n`, independent for each `salt` (splitmix64's
/// finaliser: a plain multiplicative hash modulo `n` keeps `i mod n`'s residues, which gave
/// every user ten schedules of one role).
fn spread(i: usize, salt: usize, n: usize) -> usize {
    let mut z = (i as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add((salt as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z % n as u64) as usize
}

/// What was written, in the reference evaluator's terms (see `service::access::live`).
#[derive(Default)]
struct Facts {
    members: Vec<Member>,
    assignments: Vec<Assignment>,
}

impl Facts {
    fn schedule(&mut self, s: &RoleSchedule, now: DateTime<Utc>) {
        if s.has_ended(now) || (s.end_date_time.is_some() && !s.end_pending) {
            return;
        }
        let window = Window::new(Some(s.start_date_time), s.end_date_time);
        let principal = s.principal_id.to_string();
        let (role, scope) = match (s.target(), s.kind) {
            (Target::Group { group, access }, ScheduleKind::Active) => {
                if access == GroupAccess::Member {
                    let group = group.to_string();
                    self.members.push(Member {
                        group,
                        member: principal,
                        window,
                    });
                    return;
                }
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
        self.assignments.push(Assignment {
            id: s.id.to_string(),
            principal,
            role,
            scope,
            window,
        });
    }
}

/// Writes `$rows` in transactions of [`BATCH`], each row by `$write` (on `$tx`, `$row`).
macro_rules! fill {
    ($app:expr, $rows:expr, |$tx:ident, $row:pat_param| $write:expr) => {
        for chunk in $rows.chunks(BATCH) {
            let mut $tx = $app.store.write().await?;
            for $row in chunk {
                $write;
            }
            $tx.commit().await?;
        }
    };
}

/// A filled store and its sample.
pub(super) struct Filled {
    pub(super) db: BenchDb,
    pub(super) sample: PathBuf,
    /// What was written, for a DETAIL line.
    summary: String,
}

impl Filled {
    pub(super) fn remove(self) {
        let _ = std::fs::remove_file(&self.sample);
        self.db.remove();
    }
}

pub async fn run(url: Option<String>, p: Params) -> anyhow::Result<Outcome> {
    let keep = p.keep;
    let filled = fill(url, p).await?;
    // The timed start in a process of its own: its peak memory is the server's alone.
    let child = std::process::Command::new(std::env::current_exe()?)
        .args(["bench", "cold-start-open", "--database-url", &filled.db.url])
        .arg("--sample")
        .arg(&filled.sample)
        .stderr(std::process::Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&child.stdout);
    let mut lines = stdout.lines().map(str::to_owned);
    let mut problems = Vec::new();
    if !child.status.success() {
        problems.push(format!("the timed start failed ({})", child.status));
    }
    let line = lines
        .next()
        .unwrap_or_else(|| "RESULT bench=cold-start failed".into());
    let mut details: Vec<String> = lines.collect();
    details.push(filled.summary.clone());
    if keep {
        details.push(format!(
            "DETAIL kept: eligo bench cold-start-open --database-url {} --sample {}",
            filled.db.url,
            filled.sample.display()
        ));
    } else {
        filled.remove();
    }
    Ok(Outcome {
        line,
        details,
        problems,
    })
}

/// The untimed half: a fresh store filled, and the sample written beside it.
pub(super) async fn fill(url: Option<String>, p: Params) -> anyhow::Result<Filled> {
    let db = BenchDb::new(url);
    let app = db.open(|_| {}).await?;
    let (users_before, groups_before, _) = app.access.principal_counts();
    anyhow::ensure!(
        users_before <= 1 && groups_before == 0,
        "the cold-start benchmark needs a fresh store"
    );
    let now = app.clock.now();
    let since = now - TimeDelta::days(60);
    let fill_watch = Stopwatch::start();
    let users: Vec<User> = (0..p.users)
        .map(|i| {
            let id = Uuid::new_v4();
            User {
                id,
                user_principal_name: format!("cs{i}-{}@bench.example", id.simple()),
                display_name: format!("User {i}"),
                mail: None,
                mail_nickname: None,
                manager_id: None,
                account_enabled: true,
                created_date_time: since,
            }
        })
        .collect();
    // Every tenth group is role-assignable (holds roles, never has groups in it).
    let groups: Vec<Group> = (0..p.groups)
        .map(|i| {
            let id = Uuid::new_v4();
            Group {
                id,
                display_name: format!("Group {i}"),
                description: None,
                mail_nickname: Some(format!("cs-group{i}-{}", id.simple())),
                security_enabled: true,
                is_assignable_to_role: i.is_multiple_of(10),
                created_date_time: since,
            }
        })
        .collect();
    fill!(app, users, |tx, u| tx.insert_user(u).await?);
    fill!(app, groups, |tx, g| tx.insert_group(g).await?);

    let mut facts = Facts::default();
    let mut relations = Vec::new();
    let ordinary = |j: usize| !j.is_multiple_of(10);
    // Nesting: seven ordinary groups in ten sit in an ordinary group with a lower index, so
    // chains run four or five groups deep.
    for j in 1..p.groups {
        let parent = j / 4;
        if ordinary(j) && j % 10 < 8 && parent > 0 && ordinary(parent) {
            relations.push((groups[parent].id, groups[j].id, Relation::Member));
        }
    }
    // Each user directly in one to three groups; each group with one owner.
    for (i, u) in users.iter().enumerate() {
        let mut mine: Vec<Uuid> = (0..=(i % 3))
            .map(|k| groups[spread(i, k, p.groups)].id)
            .collect();
        mine.sort();
        mine.dedup();
        relations.extend(mine.into_iter().map(|g| (g, u.id, Relation::Member)));
    }
    for (j, g) in groups.iter().enumerate() {
        relations.push((g.id, users[spread(j, 99, p.users)].id, Relation::Owner));
    }
    for &(g, m, r) in &relations {
        if r == Relation::Member {
            facts.members.push(Member {
                group: g.to_string(),
                member: m.to_string(),
                window: Window::ALWAYS,
            });
        } else {
            facts.assignments.push(Assignment {
                id: format!("owner:{g}:{m}"),
                principal: m.to_string(),
                role: "owner".into(),
                scope: group_scope(g),
                window: Window::ALWAYS,
            });
        }
    }
    let at = since.timestamp_micros();
    fill!(app, relations, |tx, &(g, m, r)| tx
        .add_relation(g, m, r, at)
        .await?);

    let schedules: Vec<RoleSchedule> = (0..p.assignments)
        .map(|i| schedule(i, &users, &groups, now))
        .collect();
    for s in &schedules {
        facts.schedule(s, now);
    }
    fill!(app, schedules, |tx, s| tx.insert_role_schedule(s).await?);
    // One live session per ten users (the session table is loaded at start too).
    let sessions: Vec<TokenRecord> = users
        .iter()
        .step_by(10)
        .map(|u| TokenRecord {
            token_hash: format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
            principal_id: u.id,
            created_at: now - TimeDelta::hours(1),
            expires_at: Some(now + TimeDelta::days(1)),
            revoked_at: None,
            last_mfa_at: Some(now - TimeDelta::hours(1)),
            amr: vec!["pwd".into(), "mfa".into()],
            channel: SessionChannel::Api,
            acr: None,
            acr_at: None,
        })
        .collect();
    fill!(app, sessions, |tx, t| tx.insert_token(t).await?);
    let fill_s = fill_watch.elapsed().as_secs_f64();
    app.store.close().await;
    drop(app);
    // PostgreSQL: what autovacuum would have done by now to a store this size. Without it
    // the start's index-only scans still visit the table for each row (BENCHMARKS.md,
    // "PostgreSQL's start as a `COPY`").
    eligo_store::settle_bulk_load(&db.url).await?;

    let sample = db.sample_path();
    write_sample(&sample, &facts, &users, &groups, now)?;
    let summary = format!(
        "DETAIL bench=cold-start users={} groups={} relations={} schedules={} sessions={} fill_s={fill_s:.0}",
        users.len(),
        groups.len(),
        relations.len(),
        schedules.len(),
        sessions.len(),
    );
    Ok(Filled {
        db,
        sample,
        summary,
    })
}

/// Schedule `i` of the generated store: a fifth eligible for a role (some starting later),
/// standing and activated role assignments, roles held by role-assignable groups, PIM for
/// Groups memberships and ownerships (active with windows, eligible), and one in ten already
/// over (half processed by the scheduler, half not yet).
fn schedule(i: usize, users: &[User], groups: &[Group], now: DateTime<Utc>) -> RoleSchedule {
    let user = users[spread(i, 1, users.len())].id;
    let role = Uuid::parse_str(ROLES[spread(i, 2, ROLES.len())]).expect("a built-in role id");
    let group = groups[spread(i, 3, groups.len())].id;
    let assignable = groups[spread(i, 4, groups.len() / 10 + 1) * 10 % groups.len()].id;
    let scope = if i.is_multiple_of(5) {
        format!("/administrativeUnits/au-{}", i % 40)
    } else {
        "/".to_string()
    };
    let days = |d: i64| now + TimeDelta::days(d);
    let group_target = |access| Target::Group { group, access }.fields();
    let (kind, holder, (role, scope), start, end, how) = match i % 20 {
        0..=5 => (
            ScheduleKind::Eligible,
            user,
            (role, scope),
            now - TimeDelta::days(30),
            (i.is_multiple_of(2)).then(|| days(180)),
            AssignmentType::Assigned,
        ),
        6 => (
            ScheduleKind::Eligible,
            user,
            (role, scope),
            days(2),
            Some(days(90)),
            AssignmentType::Assigned,
        ),
        7 | 8 => (
            ScheduleKind::Active,
            user,
            (role, scope),
            now - TimeDelta::days(30),
            (i.is_multiple_of(3)).then(|| days(60)),
            AssignmentType::Assigned,
        ),
        9 => (
            ScheduleKind::Active,
            user,
            (role, scope),
            now - TimeDelta::hours(1),
            Some(days(2)),
            AssignmentType::Activated,
        ),
        10 => (
            if i % 40 == 10 {
                ScheduleKind::Active
            } else {
                ScheduleKind::Eligible
            },
            assignable,
            (role, scope),
            now - TimeDelta::days(30),
            None,
            AssignmentType::Assigned,
        ),
        11..=13 => (
            ScheduleKind::Active,
            user,
            group_target(GroupAccess::Member),
            if i % 20 == 13 {
                days(1)
            } else {
                now - TimeDelta::hours(2)
            },
            Some(days(1 + (i % 30) as i64)),
            AssignmentType::Activated,
        ),
        14 | 15 => (
            ScheduleKind::Eligible,
            user,
            group_target(GroupAccess::Member),
            now - TimeDelta::days(10),
            Some(days(120)),
            AssignmentType::Assigned,
        ),
        16 => (
            ScheduleKind::Eligible,
            user,
            group_target(GroupAccess::Owner),
            now - TimeDelta::days(10),
            None,
            AssignmentType::Assigned,
        ),
        17 => (
            ScheduleKind::Active,
            user,
            group_target(GroupAccess::Owner),
            now - TimeDelta::hours(3),
            Some(days(3)),
            AssignmentType::Activated,
        ),
        // Over: 18 processed by the scheduler, 19 not yet.
        _ => (
            ScheduleKind::Active,
            user,
            (role, scope),
            now - TimeDelta::days(3),
            Some(now - TimeDelta::days(1)),
            AssignmentType::Activated,
        ),
    };
    let mut s = RoleSchedule::new(
        Uuid::new_v4(),
        kind,
        holder,
        role,
        scope,
        (start, end),
        how,
        None,
        start.min(now),
    );
    s.start_pending = start > now;
    s.end_pending = end.is_some() && i % 20 != 18;
    s
}

/// The sample: for spread-out users, a role and an eligibility check for each role, and
/// membership and ownership of a group they are likely to be in (one of their direct groups'
/// parents) and of a PIM for Groups target, answered by the reference evaluator.
fn write_sample(
    path: &Path,
    facts: &Facts,
    users: &[User],
    groups: &[Group],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let naive = Naive::new(&facts.members, &facts.assignments);
    let latest = |ends: std::collections::BTreeMap<String, Option<DateTime<Utc>>>| {
        if ends.is_empty() {
            return (false, None);
        }
        let end = if ends.values().any(Option::is_none) {
            None
        } else {
            ends.values().flatten().max().copied()
        };
        (true, end)
    };
    let mut out = String::new();
    for n in 0..SAMPLE {
        let principal = users[spread(n, 7, users.len())].id;
        let p = principal.to_string();
        let (kind, target, scope, (allowed, end)) = match n % 4 {
            0 | 1 => {
                let role = ROLES[n / 4 % ROLES.len()];
                let scope = if n % 8 < 4 {
                    "/".to_string()
                } else {
                    format!("/administrativeUnits/au-{}", n % 40)
                };
                let asked = if n.is_multiple_of(4) {
                    role.to_string()
                } else {
                    eligible(role)
                };
                let answer = latest(naive.grants(&p, now, &|a| {
                    a.role == asked && eligo_core::scope::covers(&a.scope, &scope)
                }));
                let kind = if n.is_multiple_of(4) {
                    "role"
                } else {
                    "eligible"
                };
                (kind, Uuid::parse_str(role)?, scope, answer)
            }
            2 => {
                let group = groups[spread(n, 8, groups.len()) / 4].id;
                let answer = match naive.membership(&p, &group.to_string(), now) {
                    Some(end) => (true, end),
                    None => (false, None),
                };
                ("member", group, String::new(), answer)
            }
            _ => {
                let group = groups[spread(n, 9, groups.len())].id;
                let gs = group_scope(group);
                let answer = latest(naive.grants(&p, now, &|a| a.role == "owner" && a.scope == gs));
                ("owner", group, String::new(), answer)
            }
        };
        let q = Question {
            kind: kind.into(),
            principal,
            target,
            scope,
            allowed,
            end,
        };
        out.push_str(&serde_json::to_string(&q)?);
        out.push('\n');
    }
    std::fs::write(path, out)?;
    Ok(())
}

/// The timed half, in its own process: starts the server's state over the store as `eligo
/// serve` does, then asks it the sample.
pub async fn open(url: String, sample: PathBuf) -> anyhow::Result<Outcome> {
    let questions: Vec<Question> = std::fs::read_to_string(&sample)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let db = BenchDb::existing(url);
    let watch = Stopwatch::start();
    let app = db.open(|_| {}).await?;
    let start_ms = super::ms(watch.elapsed());
    let rss = super::peak_rss();
    let now = app.clock.now();
    let live = &app.access;
    let mut problems = Vec::new();
    for q in &questions {
        let (allowed, end) = match q.kind.as_str() {
            "role" => {
                let d = live.check_role(q.principal, q.target, &q.scope, now);
                (d.allowed, d.expires_at)
            }
            "eligible" => {
                let d = live.check_eligible(q.principal, q.target, &q.scope, now);
                (d.allowed, d.expires_at)
            }
            "member" => {
                let m = live.member_of(q.principal, q.target, now);
                (m.member, m.end)
            }
            _ => {
                let d = live.owner_of(q.principal, q.target, now);
                (d.allowed, d.expires_at)
            }
        };
        if (allowed, end) != (q.allowed, q.end) {
            problems.push(format!(
                "{} {} {} {}: answered {allowed} until {end:?}, the store says {} until {:?}",
                q.kind, q.principal, q.target, q.scope, q.allowed, q.end
            ));
        }
    }
    let granted = questions.iter().filter(|q| q.allowed).count();
    let line = format!(
        "RESULT bench=cold-start backend={} ms={start_ms:.0} rss_mib={rss} checks={} granted={granted} mismatches={}",
        app.store.backend(),
        questions.len(),
        problems.len()
    );
    app.store.close().await;
    Ok(Outcome {
        line,
        details: Vec::new(),
        problems,
    })
}
