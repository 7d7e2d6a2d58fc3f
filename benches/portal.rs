//! `cargo bench --bench portal`: server time of every main portal page on the demo tenant
//! (issue 6's goal: each under 100 ms), in-process through the same router `eligo serve` runs,
//! signed in through the sign-in form like a browser. Each page is fetched `--count N` times
//! (default 200) after a warm-up; prints p50, p99 and max per page and one `RESULT` line each.
//! The audit log is first grown by `--audit-entries N` entries (default 100,000; 0 skips it),
//! each saying what it changed (role-setting saves naming approvers by id, user updates,
//! activations), so the Audit page is measured rendering before/after with names on a long
//! history, filtered by actor, target and activity too. Fails (exit 1) when a page does not
//! answer 200.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use eligo::config::{Config, Secret};
use eligo_core::roles::ids;

const PASSWORD: &str = eligo::service::demo::DEMO_PASSWORD;

struct Args {
    count: usize,
    audit_entries: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        count: 200,
        audit_entries: 100_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> anyhow::Result<usize> {
            let v = it.next().with_context(|| format!("{name} needs a value"))?;
            v.parse()
                .with_context(|| format!("{name} {v}: not a number"))
        };
        match arg.as_str() {
            "--count" => args.count = value("--count")?,
            "--audit-entries" => args.audit_entries = value("--audit-entries")?,
            "--bench" => {}
            other => bail!("unknown argument {other}; use --count N, --audit-entries N"),
        }
    }
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    Ok(args)
}

/// A browser's cookie jar, reduced to what the portal sets.
struct Session {
    cookies: Vec<(String, String)>,
}

impl Session {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, resp: &axum::response::Response) {
        for set in resp.headers().get_all(header::SET_COOKIE) {
            let Some(pair) = set.to_str().ok().and_then(|s| s.split(';').next()) else {
                continue;
            };
            if let Some((k, v)) = pair.split_once('=') {
                self.cookies.retain(|(name, _)| name != k);
                if !v.is_empty() {
                    self.cookies.push((k.to_string(), v.to_string()));
                }
            }
        }
    }
}

async fn fetch(router: &Router, session: &mut Session, req: Request<Body>) -> (StatusCode, String) {
    let resp = router.clone().oneshot(req).await.expect("router answers");
    session.absorb(&resp);
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn hidden(body: &str, name: &str) -> Option<String> {
    let at = body.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    Some(body[at..at + body[at..].find('"')?].to_string())
}

async fn sign_in(router: &Router, upn: &str) -> anyhow::Result<Session> {
    let mut s = Session { cookies: vec![] };
    let req = Request::get("/portal/sign-in").body(Body::empty())?;
    let (_, page) = fetch(router, &mut s, req).await;
    let csrf = hidden(&page, "csrf").context("the sign-in form has a csrf field")?;
    let form = serde_urlencoded::to_string([
        ("csrf", csrf.as_str()),
        ("username", upn),
        ("password", PASSWORD),
        ("next", "/portal/roles"),
    ])?;
    let req = Request::post("/portal/sign-in")
        .header(header::COOKIE, s.header())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))?;
    let (status, body) = fetch(router, &mut s, req).await;
    if status != StatusCode::SEE_OTHER {
        bail!("signing in {upn}: {status} {body}");
    }
    Ok(s)
}

/// Appends `n` entries through the store's real audit path (hash chain, index columns and
/// names), 1,000 per transaction, as a long-running tenant's history: every entry records what
/// it changed, with ids the page must name.
async fn grow_audit_log(app: &eligo::app::AppState, n: usize) -> anyhow::Result<()> {
    use eligo_core::audit::{Actor, AuditEvent, Category, Initiator};
    let now = eligo::clock::Clock::now(&eligo::clock::SystemClock);
    let mut tx = app.store.read().await?;
    let people: Vec<eligo_core::directory::User> = tx
        .list_users(&Default::default(), eligo_store::Page::ALL)
        .await?;
    drop(tx);
    let actor = |u: &eligo_core::directory::User| {
        Initiator::User(Actor {
            id: Some(u.id),
            display_name: u.display_name.clone(),
            user_principal_name: Some(u.user_principal_name.clone()),
        })
    };
    let mut left = n;
    let mut i = 0usize;
    while left > 0 {
        let batch = left.min(1000);
        let mut tx = app.store.write().await?;
        for _ in 0..batch {
            let by = &people[i % people.len()];
            let other = &people[(i + 1) % people.len()];
            let event = match i % 3 {
                0 => AuditEvent::new(
                    now,
                    Category::Policy,
                    "Update role setting in PIM",
                    actor(by),
                )
                .target(
                    format!("DirectoryRole_{}", ids::SECURITY_ADMINISTRATOR),
                    "Policy",
                    Some("Security Administrator"),
                )
                .modified("Activation maximum duration", "PT8H", "PT3H")
                .modified("Activation requires approval", "No", "Yes")
                .modified(
                    "Approvers (stage 1)",
                    by.id.to_string(),
                    format!("{}, {}", other.id, by.id),
                )
                .target(
                    ids::SECURITY_ADMINISTRATOR,
                    "DirectoryRole",
                    Some("Security Administrator"),
                ),
                1 => AuditEvent::new(now, Category::UserManagement, "Update user", actor(by))
                    .target_user(other.id, &other.display_name, &other.user_principal_name)
                    .modified(
                        "displayName",
                        format!("{} (old)", other.display_name),
                        other.display_name.clone(),
                    )
                    .modified("manager", "", by.id.to_string()),
                _ => AuditEvent::new(
                    now,
                    Category::RoleManagement,
                    "Add member to role completed (PIM activation)",
                    actor(other),
                )
                .target(
                    ids::HELPDESK_ADMINISTRATOR,
                    "Role",
                    Some("Helpdesk Administrator"),
                )
                .target_user(other.id, &other.display_name, &other.user_principal_name)
                .target(uuid::Uuid::new_v4(), "Schedule", None)
                .modified("Assignment type", "", "Activated")
                .modified("Scope", "", "/")
                .modified("Start", "", "2026-11-22T10:00:00Z")
                .modified("End", "", "2026-11-22T13:00:00Z")
                .detail("justification", "x".repeat(200)),
            };
            tx.append_audit(event).await?;
            i += 1;
        }
        tx.commit().await?;
        left -= batch;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let dir = std::env::temp_dir().join(format!("eligo-bench-portal-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut config = Config::defaults();
    config.database_url = Secret::new(format!("sqlite://{}", dir.join("eligo.db").display()));
    config.data_dir = dir.clone();
    config.master_key = Some(Secret::new(eligo::keys::BENCH_KEY));
    let clock = Arc::new(eligo::clock::SystemClock);
    let (app, _) = eligo::server::prepare(config, clock, true).await?;
    let router = eligo::router::build_router(app.clone());

    if args.audit_entries > 0 {
        grow_audit_log(&app, args.audit_entries).await?;
    }

    let mut ada = sign_in(&router, "ada@contoso.example").await?;
    let mut alice = sign_in(&router, "alice@contoso.example").await?;
    let ga = ids::GLOBAL_ADMINISTRATOR;
    let helpdesk = ids::HELPDESK_ADMINISTRATOR;
    let helpdesk_team = app
        .store
        .read()
        .await?
        .list_groups(
            &eligo_store::GroupQuery {
                display_name: Some("Helpdesk Team".into()),
                ..Default::default()
            },
            eligo_store::Page::ALL,
        )
        .await?
        .first()
        .context("the demo tenant has the Helpdesk Team")?
        .id;
    let pages: Vec<(&str, String)> = vec![
        ("alice", "/portal/roles".into()),
        (
            "alice",
            format!("/portal/roles/activate?role={helpdesk}&scope=%2F"),
        ),
        ("alice", "/portal/requests".into()),
        ("alice", "/portal/security".into()),
        ("ada", "/portal/approvals".into()),
        ("ada", "/portal/admin".into()),
        ("ada", "/portal/admin/users".into()),
        ("ada", "/portal/admin/groups".into()),
        ("ada", "/portal/admin/roles".into()),
        ("ada", format!("/portal/admin/roles/{ga}")),
        ("ada", format!("/portal/admin/roles/{helpdesk}")),
        ("ada", format!("/portal/admin/roles/{ga}/settings")),
        (
            "ada",
            format!("/portal/admin/roles/{ga}/settings?tab=assignment"),
        ),
        (
            "ada",
            format!("/portal/admin/roles/{ga}/settings?tab=notification"),
        ),
        ("ada", format!("/portal/admin/groups/{helpdesk_team}")),
        ("ada", "/portal/pick?kinds=principals&q=car".into()),
        ("ada", "/portal/admin/connectors".into()),
        ("ada", "/portal/audit".into()),
        ("ada", "/portal/audit?actor=ada".into()),
        ("ada", "/portal/audit?target=dave+aud".into()),
        ("ada", "/portal/audit?activity=role+setting".into()),
        (
            "ada",
            "/portal/audit?category=Policy&target=security".into(),
        ),
        // The worst case: a part of an activity no entry has reads the whole log.
        ("ada", "/portal/audit?activity=no+such+activity".into()),
    ];
    println!(
        "portal page server time, demo tenant, {} requests per page{}",
        args.count,
        if args.audit_entries > 0 {
            format!(", audit log grown by {}", args.audit_entries)
        } else {
            String::new()
        }
    );
    println!(
        "{:<58} {:>9} {:>9} {:>9}",
        "page", "p50 ms", "p99 ms", "max ms"
    );
    let mut failed = false;
    for (who, path) in &pages {
        let session = if *who == "ada" { &mut ada } else { &mut alice };
        let mut times = Vec::with_capacity(args.count);
        for round in 0..(args.count + 5) {
            let req = Request::get(path.as_str())
                .header(header::COOKIE, session.header())
                .body(Body::empty())?;
            let started = eligo::clock::Stopwatch::start();
            let (status, _) = fetch(&router, session, req).await;
            let took = started.elapsed();
            if status != StatusCode::OK {
                println!("{who} {path}: answered {status}");
                failed = true;
                break;
            }
            if round >= 5 {
                times.push(took);
            }
        }
        if times.is_empty() {
            continue;
        }
        times.sort();
        let (p50, p99, max) = (
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            *times.last().unwrap(),
        );
        let label = format!("{who} {path}");
        println!(
            "{label:<58} {:>9.2} {:>9.2} {:>9.2}",
            ms(p50),
            ms(p99),
            ms(max)
        );
        println!(
            "RESULT portal_page page=\"{path}\" as={who} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
            ms(p50),
            ms(p99),
            ms(max)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failed {
        bail!("some pages did not answer 200");
    }
    Ok(())
}
