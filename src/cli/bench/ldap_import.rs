//! `eligo bench ldap-import`: a directory of --users users (each but the first managed by an
//! earlier one) and --groups groups of --members users each, in a slapd the benchmark starts,
//! imported by an LDAP connector's import: the first (full) pass, then an incremental pass with
//! nothing changed, then a full pass with nothing changed. Every count is checked, and the
//! audit chain must verify. One RESULT line: the time of each pass and peak memory.

use std::time::Duration;

use serde_json::json;

use super::slapd::{ADMIN_DN, ADMIN_PASSWORD, BASE_DN, Slapd, add_all, entry};
use super::{Outcome, bench_admin, ms};
use crate::clock::Stopwatch;
use crate::service::ldap_import::{Summary, import_now};

pub struct Params {
    pub users: usize,
    pub groups: usize,
    pub members: usize,
    pub slapd: String,
}

pub async fn run(url: Option<String>, p: Params) -> anyhow::Result<Outcome> {
    let server = Slapd::start(&p.slapd).await?;
    let seeded = Stopwatch::start();
    seed(&server, &p).await?;
    let seed_time = seeded.elapsed();
    let db = super::BenchDb::new(url);
    let app = db
        .open(|c| {
            c.outbound_allow = crate::config::networks::parse("127.0.0.0/8").unwrap_or_default()
        })
        .await?;
    let result = measure(&app, &server, &p, seed_time).await;
    app.store.close().await;
    db.remove();
    result
}

async fn seed(server: &Slapd, p: &Params) -> anyhow::Result<()> {
    let ldap = server.admin().await?;
    let v = |s: &str| vec![s.to_string()];
    let base = vec![
        entry(
            BASE_DN.into(),
            vec![
                (
                    "objectClass",
                    vec!["dcObject".into(), "organization".into()],
                ),
                ("dc", v("bench")),
                ("o", v("Bench")),
            ],
        ),
        entry(
            format!("ou=people,{BASE_DN}"),
            vec![
                ("objectClass", v("organizationalUnit")),
                ("ou", v("people")),
            ],
        ),
        entry(
            format!("ou=groups,{BASE_DN}"),
            vec![
                ("objectClass", v("organizationalUnit")),
                ("ou", v("groups")),
            ],
        ),
    ];
    add_all(&ldap, base, 1).await?;
    let user_dn = |i: usize| format!("uid=user{i:06},ou=people,{BASE_DN}");
    let users = (0..p.users)
        .map(|i| {
            let uid = format!("user{i:06}");
            let mut attrs: Vec<(&str, Vec<String>)> = vec![
                ("objectClass", v("inetOrgPerson")),
                ("uid", v(&uid)),
                ("cn", vec![format!("User {i:06}")]),
                ("sn", vec![format!("{i:06}")]),
                ("mail", vec![format!("{uid}@bench.example")]),
            ];
            if i > 0 {
                attrs.push(("manager", vec![user_dn(i / 10)]));
            }
            entry(user_dn(i), attrs)
        })
        .collect();
    add_all(&ldap, users, 64).await?;
    let groups = (0..p.groups)
        .map(|g| {
            let members: Vec<String> = (0..p.members)
                .map(|k| user_dn((g * p.members + k) % p.users.max(1)))
                .collect();
            entry(
                format!("cn=group{g:05},ou=groups,{BASE_DN}"),
                vec![
                    ("objectClass", v("groupOfNames")),
                    ("cn", vec![format!("group{g:05}")]),
                    ("member", members),
                ],
            )
        })
        .collect();
    add_all(&ldap, groups, 64).await?;
    Ok(())
}

fn check(
    summary: &Summary,
    what: &str,
    created: usize,
    groups: usize,
    members: usize,
    problems: &mut Vec<String>,
) {
    let a = &summary.applied;
    if a.created != created
        || a.groups_created != groups
        || a.members_added != members
        || !a.skipped.is_empty()
    {
        problems.push(format!(
            "{what}: created {} users, {} groups, {} members, skipped {} (expected {created}, {groups}, {members}, 0): {:?}",
            a.created, a.groups_created, a.members_added, a.skipped.len(),
            a.skipped.iter().take(3).collect::<Vec<_>>()
        ));
    }
}

async fn measure(
    app: &crate::app::AppState,
    server: &Slapd,
    p: &Params,
    seed_time: Duration,
) -> anyhow::Result<Outcome> {
    let admin = bench_admin(app).await?;
    let settings = json!({
        "url": server.url, "bindDn": ADMIN_DN, "bindPassword": ADMIN_PASSWORD,
        "userBaseDn": format!("ou=people,{BASE_DN}"), "timeoutSeconds": 60,
        "import": { "groupBaseDn": format!("ou=groups,{BASE_DN}"), "upnSuffix": "bench.example",
                    "intervalMinutes": 0, "pageSize": 1000 },
    });
    let connector =
        crate::service::connectors::create(app, &admin, "ldap", "bench directory", settings)
            .await
            .map_err(super::api)?;
    let mut problems = Vec::new();
    let members = p.groups * p.members.min(p.users);

    let started = Stopwatch::start();
    let first = import_now(app, &admin, connector.id, false)
        .await
        .map_err(super::api)?;
    let first_time = started.elapsed();
    check(
        &first,
        "first pass",
        p.users,
        p.groups,
        members,
        &mut problems,
    );
    if first.applied.managers_set != p.users.saturating_sub(1) {
        problems.push(format!(
            "first pass set {} managers",
            first.applied.managers_set
        ));
    }

    let started = Stopwatch::start();
    let second = import_now(app, &admin, connector.id, false)
        .await
        .map_err(super::api)?;
    let incremental_time = started.elapsed();
    check(&second, "incremental pass", 0, 0, 0, &mut problems);
    if second.mode != "incremental" {
        problems.push(format!("the second pass was {}", second.mode));
    }

    let started = Stopwatch::start();
    let third = import_now(app, &admin, connector.id, true)
        .await
        .map_err(super::api)?;
    let full_time = started.elapsed();
    check(&third, "full pass", 0, 0, 0, &mut problems);

    let verdict = super::chain_verifies(app).await?;
    if !verdict.valid {
        problems.push(format!("the audit chain does not verify: {verdict:?}"));
    }
    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    let line = format!(
        "RESULT users={} groups={} members_per_group={} seed_s={:.1} first_import_s={:.1} users_per_s={:.0} members_per_s={:.0} incremental_unchanged_ms={:.0} incremental_read={} full_unchanged_s={:.2} peak_rss_mib={}",
        p.users,
        p.groups,
        p.members,
        seed_time.as_secs_f64(),
        first_time.as_secs_f64(),
        rate(p.users, first_time),
        rate(members, first_time),
        ms(incremental_time),
        second.users_read + second.groups_read,
        full_time.as_secs_f64(),
        super::peak_rss(),
    );
    Ok(Outcome {
        line,
        details: vec![
            "DETAIL first_import: read everything (paged), create users, groups, managers, members through the audited use cases; incremental_unchanged: the next pass with nothing changed (reads entries at or after the high-water mark minus the last read's duration); full_unchanged: a full pass that changes nothing".to_string(),
        ],
        problems,
    })
}
