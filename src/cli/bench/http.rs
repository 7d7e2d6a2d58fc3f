//! `eligo bench http-check`: the effective-access check over real HTTP. An in-process server
//! (the router `eligo serve` uses, on a loopback port) over a scratch store holding a directory
//! of `users` users in `groups` groups (nested in chains four deep) with roles held directly and
//! through a role-assignable group, loaded through the use cases (not HTTP, so setup is quick).
//! Every question's answer is verified first; then `concurrency` keep-alive clients ask for
//! `seconds` each in two modes: one `GET /v1/access/check` per question, and
//! `POST /v1/access/check` with 100 questions per request. The questions are asked by a user
//! holding Global Reader with an ordinary session (the break-glass token would audit every
//! request); a `GET` is authenticated from the session table, a `POST` reads its session from
//! the store.
//!
//! The clients run in the same process and on the same cores as the server, so on a small
//! machine they take part of its CPU: the figures are a floor for the server alone.

use std::time::Duration;

use chrono::TimeDelta;
use eligo_core::directory::Relation;
use eligo_core::request::{ExpirationType, RequestAction, RequestKind};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Caller;
use crate::clock::Stopwatch;
use crate::config::Secret;
use crate::service::directory::{self, NewGroup, NewUser};
use crate::service::pim::submit::{NewRequest, submit};

use super::{BenchDb, Outcome, api, bench_admin, expiring, ms, percentile};

/// Questions per batch request.
pub const BATCH: usize = 100;

/// Groups nest in chains this deep: group k is a member of group k-1 unless k is a multiple.
const CHAIN: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Modes {
    Single,
    Batch,
    Both,
}

pub struct Params {
    pub users: usize,
    pub groups: usize,
    pub concurrency: usize,
    pub duration: Duration,
    pub modes: Modes,
}

/// One question with the answer the loaded directory must give.
struct Question {
    body: Value,
    query: String,
    expect: bool,
}

/// What the loaded directory looks like, for the questions and their expected answers.
struct Directory {
    users: Vec<Uuid>,
    groups: Vec<Uuid>,
    /// Held through the role-assignable group (every tenth user is a member).
    via_group: Uuid,
    /// Held directly (every seventh user).
    direct: Uuid,
    /// The workload that asks: a user holding Global Reader, signed in with a password (an
    /// ordinary session; the break-glass token would audit every request it makes).
    reader_upn: String,
}

const READER_PASSWORD: &str = "bench-Reader-password-1";

fn role(id: &str) -> Uuid {
    Uuid::parse_str(id).expect("a built-in role id")
}

pub async fn run(url: Option<String>, p: Params) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let token = format!("bench-{}", Uuid::new_v4().simple());
    let app = db
        .open(|c| c.bootstrap_token = Some(Secret::new(token.clone())))
        .await?;
    let result = measure(&app, &p).await;
    app.store.close().await;
    db.remove();
    result
}

async fn measure(app: &AppState, p: &Params) -> anyhow::Result<Outcome> {
    let admin = bench_admin(app).await?;
    let setup = Stopwatch::start();
    let dir = load(app, &admin, p.users.max(1), p.groups.max(1)).await?;
    let setup = setup.elapsed();
    let questions = questions(&dir);

    let (base, server) = super::serve_in_process(app).await?;
    let signed_in: Value = reqwest::Client::new()
        .post(format!("{base}/v1/auth/token"))
        .json(&json!({ "username": dir.reader_upn, "password": READER_PASSWORD }))
        .send()
        .await?
        .json()
        .await?;
    let reader_token = signed_in["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the reader's sign-in failed: {signed_in}"))?
        .to_string();
    let token = reader_token.as_str();

    let mut problems = verify(&base, token, &questions).await?;
    let mut lines = Vec::new();
    if problems.is_empty() {
        if p.modes != Modes::Batch {
            lines.push(drive(&base, token, &questions, p, false).await?);
        }
        if p.modes != Modes::Single {
            lines.push(drive(&base, token, &questions, p, true).await?);
        }
    }
    server.stop().await?;

    let mut results = Vec::new();
    for (line, errors) in lines {
        if errors > 0 {
            problems.push(format!("{errors} requests failed: {line}"));
        }
        results.push(line);
    }
    let line = if results.is_empty() {
        "RESULT mode=none requests_per_sec=0 checks_per_sec=0 p50_ms=0 p99_ms=0 errors=0".into()
    } else {
        results.remove(0)
    };
    let mut details = results;
    details.push(format!(
        "DETAIL bench=http-check backend={} users={} groups={} questions={} role_holders_via_group={} direct_holders={} setup_ms={:.0}",
        app.store.backend(),
        dir.users.len(),
        dir.groups.len(),
        questions.len(),
        dir.users.len().div_ceil(10),
        dir.users.len().div_ceil(7),
        ms(setup),
    ));
    Ok(Outcome {
        line,
        details,
        problems,
    })
}

/// Untimed: the directory through the use cases, as the administrator.
async fn load(
    app: &AppState,
    admin: &Caller,
    users: usize,
    groups: usize,
) -> anyhow::Result<Directory> {
    let run = Uuid::new_v4().simple().to_string();
    let group = |name: String, role_assignable: bool| NewGroup {
        display_name: name,
        description: None,
        mail_nickname: None,
        security_enabled: true,
        is_assignable_to_role: role_assignable,
    };
    let tier = directory::create_group(app, admin, group(format!("HTTP bench tier {run}"), true))
        .await
        .map_err(api)?
        .id;
    let mut group_ids = Vec::with_capacity(groups);
    for k in 0..groups {
        let g = directory::create_group(app, admin, group(format!("HTTP bench group {k}"), false))
            .await
            .map_err(api)?;
        if k % CHAIN != 0 {
            directory::add_relation(app, admin, group_ids[k - 1], g.id, Relation::Member)
                .await
                .map_err(api)?;
        }
        group_ids.push(g.id);
    }
    let dir = Directory {
        users: Vec::with_capacity(users),
        groups: group_ids,
        via_group: role(eligo_core::roles::ids::HELPDESK_ADMINISTRATOR),
        direct: role(eligo_core::roles::ids::SECURITY_READER),
        reader_upn: format!("http-bench-reader-{run}@bench.example"),
    };
    assign(app, admin, tier, dir.via_group).await?;
    let reader = directory::create_user(
        app,
        admin,
        NewUser {
            user_principal_name: dir.reader_upn.clone(),
            display_name: "HTTP bench reader".into(),
            mail: None,
            mail_nickname: None,
            password: Some(READER_PASSWORD.into()),
            manager_id: None,
            account_enabled: true,
        },
    )
    .await
    .map_err(api)?;
    assign(
        app,
        admin,
        reader.id,
        role(eligo_core::roles::ids::GLOBAL_READER),
    )
    .await?;

    // Users in a few tasks (writes are serialized by the store either way).
    let tasks_n = 4.min(users);
    let mut tasks = Vec::new();
    for t in 0..tasks_n {
        let (app, admin, run) = (app.clone(), admin.clone(), run.clone());
        let (groups, direct) = (dir.groups.clone(), dir.direct);
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (t..users).step_by(tasks_n) {
                let user = directory::create_user(
                    &app,
                    &admin,
                    NewUser {
                        user_principal_name: format!("http-bench-{i}-{run}@bench.example"),
                        display_name: format!("HTTP bench {i}"),
                        mail: None,
                        mail_nickname: None,
                        password: None,
                        manager_id: None,
                        account_enabled: true,
                    },
                )
                .await
                .map_err(api)?;
                directory::add_relation(
                    &app,
                    &admin,
                    groups[i % groups.len()],
                    user.id,
                    Relation::Member,
                )
                .await
                .map_err(api)?;
                if i % 10 == 0 {
                    directory::add_relation(&app, &admin, tier, user.id, Relation::Member)
                        .await
                        .map_err(api)?;
                }
                if i % 7 == 0 {
                    assign(&app, &admin, user.id, direct).await?;
                }
                ids.push((i, user.id));
            }
            anyhow::Ok(ids)
        }));
    }
    let mut all = Vec::with_capacity(users);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    let mut dir = dir;
    dir.users = all.into_iter().map(|(_, id)| id).collect();
    Ok(dir)
}

/// An administrator's active assignment of `role` at `/` for 30 days.
async fn assign(app: &AppState, admin: &Caller, principal: Uuid, role: Uuid) -> anyhow::Result<()> {
    submit(
        app,
        admin,
        NewRequest {
            kind: RequestKind::Assignment,
            action: RequestAction::AdminAssign,
            principal_id: principal,
            role_definition_id: role,
            directory_scope_id: "/".into(),
            justification: Some("benchmark setup".into()),
            ticket: None,
            schedule_info: Some(expiring(
                ExpirationType::AfterDuration,
                None,
                Some(TimeDelta::days(30)),
            )),
            is_validation_only: false,
        },
    )
    .await
    .map_err(api)?;
    Ok(())
}

/// Four questions per user, interleaved so that neighbours ask about different principals:
/// the role held through the group, the role held directly, membership of a group up its
/// chain (always), and of the next group (only if that is up the chain too).
fn questions(dir: &Directory) -> Vec<Question> {
    let m = dir.groups.len();
    let mut out = Vec::with_capacity(dir.users.len() * 4);
    let role_q = |user: Uuid, role: Uuid, expect: bool| Question {
        query: format!("principalId={user}&roleDefinitionId={role}&directoryScopeId=%2F"),
        body: json!({ "principalId": user, "roleDefinitionId": role, "directoryScopeId": "/" }),
        expect,
    };
    let group_q = |user: Uuid, group: Uuid, expect: bool| Question {
        query: format!("principalId={user}&groupId={group}&accessId=member"),
        body: json!({ "principalId": user, "groupId": group, "accessId": "member" }),
        expect,
    };
    // A user in group k is a member of k and of every group up its chain.
    let member = |k: usize, j: usize| j <= k && j >= k - k % CHAIN;
    for kind in 0..4 {
        for (i, &user) in dir.users.iter().enumerate() {
            let k = i % m;
            out.push(match kind {
                0 => role_q(user, dir.via_group, i % 10 == 0),
                1 => role_q(user, dir.direct, i % 7 == 0),
                2 => {
                    let j = k - (i / m) % (k % CHAIN + 1);
                    group_q(user, dir.groups[j], member(k, j))
                }
                _ => {
                    let j = (k + 1) % m;
                    group_q(user, dir.groups[j], member(k, j))
                }
            });
        }
    }
    out
}

fn client() -> anyhow::Result<reqwest::Client> {
    // reqwest is built without a TLS provider of its own (plain HTTP here, but it asks).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Every question asked in batches, and a sample one by one; each answer must be the expected
/// one. Returns the mismatches.
async fn verify(base: &str, token: &str, questions: &[Question]) -> anyhow::Result<Vec<String>> {
    let http = client()?;
    let mut problems = Vec::new();
    for (n, chunk) in questions.chunks(BATCH).enumerate() {
        let body = json!({ "checks": chunk.iter().map(|q| &q.body).collect::<Vec<_>>() });
        let resp = http
            .post(format!("{base}/v1/access/check"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let answer: Value = resp.json().await?;
        anyhow::ensure!(status.is_success(), "batch {n}: {status} {answer}");
        for (q, a) in chunk
            .iter()
            .zip(answer["value"].as_array().into_iter().flatten())
        {
            if a["allowed"].as_bool() != Some(q.expect) || a.get("error").is_some() {
                problems.push(format!(
                    "mismatch: {} expected {} got {a}",
                    q.body, q.expect
                ));
            }
        }
    }
    for q in questions
        .iter()
        .step_by(questions.len().div_ceil(100).max(1))
    {
        let resp = http
            .get(format!("{base}/v1/access/check?{}", q.query))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status();
        let answer: Value = resp.json().await?;
        if !status.is_success() || answer["allowed"].as_bool() != Some(q.expect) {
            problems.push(format!(
                "mismatch (GET): {} expected {} got {status} {answer}",
                q.query, q.expect
            ));
        }
    }
    problems.truncate(20);
    Ok(problems)
}

/// `concurrency` clients, each with its own keep-alive connection, asking for `duration`.
/// Returns the RESULT line and the number of failed requests.
async fn drive(
    base: &str,
    token: &str,
    questions: &[Question],
    p: &Params,
    batch: bool,
) -> anyhow::Result<(String, u64)> {
    // What each request sends, prepared before the clock starts.
    let requests: Vec<String> = if batch {
        let n = questions.len().div_ceil(BATCH);
        (0..n.max(1))
            .map(|b| {
                let checks: Vec<&Value> = (0..BATCH)
                    .map(|i| &questions[(b * BATCH + i) % questions.len()].body)
                    .collect();
                json!({ "checks": checks }).to_string()
            })
            .collect()
    } else {
        questions
            .iter()
            .map(|q| format!("{base}/v1/access/check?{}", q.query))
            .collect()
    };
    let requests = std::sync::Arc::new(requests);
    let url = format!("{base}/v1/access/check");
    let auth = format!("Bearer {token}");
    let concurrency = p.concurrency.max(1);
    let duration = p.duration;
    let clock = std::sync::Arc::new(Stopwatch::start());
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (requests, url, auth, clock) =
            (requests.clone(), url.clone(), auth.clone(), clock.clone());
        let http = client()?;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut i = w * requests.len() / concurrency;
            while clock.elapsed() < duration {
                let one = &requests[i % requests.len()];
                i += 1;
                let started = Stopwatch::start();
                let sent = if batch {
                    http.post(&url)
                        .header(reqwest::header::AUTHORIZATION, &auth)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(one.clone())
                        .send()
                        .await
                } else {
                    http.get(one)
                        .header(reqwest::header::AUTHORIZATION, &auth)
                        .send()
                        .await
                };
                let ok = match sent {
                    Ok(resp) => {
                        let status = resp.status();
                        resp.bytes().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                lat.push(started.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    let elapsed = clock.elapsed();
    lat.sort();
    let requests_per_sec = lat.len() as f64 / elapsed.as_secs_f64();
    let per_request = if batch { BATCH as f64 } else { 1.0 };
    let line = format!(
        "RESULT mode={} requests_per_sec={:.0} checks_per_sec={:.0} p50_ms={:.3} p99_ms={:.3} errors={} concurrency={} seconds={:.1}",
        if batch { "batch" } else { "single" },
        requests_per_sec,
        requests_per_sec * per_request,
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        errors,
        concurrency,
        elapsed.as_secs_f64(),
    );
    Ok((line, errors))
}
