//! `eligo bench sign-in`: password-and-code sign-ins over real HTTP (`POST /v1/auth/token`), on
//! an in-process server (the router `eligo serve` uses, on a loopback port, behind a trusted
//! proxy so each client has its own address), first quietly and then while an attacker sends
//! wrong passwords for the same accounts at `attack_rate` per second from another address. Both
//! phases run in the same process, one after the other, so their figures compare directly.
//!
//! Every sign-in is a whole proof (password and a TOTP code), as a person's is: under attack the
//! throttle must slow the guesser and never the owner. Each user signs in once per phase (a
//! code is accepted once), so a phase ends when its time or its users run out. The secrets are
//! sealed at rest, so every sign-in also opens the password hash and the TOTP seed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::totp::TotpCredential;
use crate::clock::Stopwatch;
use crate::service::directory::{self, NewUser};
use crate::service::sessions;

use super::{BenchDb, Outcome, api, bench_admin, ms, percentile};

const PASSWORD: &str = "Bench-sign-in-password-1!";
const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

pub struct Params {
    pub users: usize,
    pub concurrency: usize,
    pub duration: Duration,
    pub attack_rate: u32,
}

pub async fn run(url: Option<String>, p: Params) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let app = db
        .open(|c| {
            // The clients reach the server through a "proxy" on loopback that names them.
            c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a network")];
        })
        .await?;
    let result = measure(&app, &p).await;
    app.store.close().await;
    db.remove();
    result
}

/// One phase's figures.
struct Phase {
    signed_in: usize,
    refused: usize,
    throughput: f64,
    p50: Duration,
    p99: Duration,
    attempts: usize,
}

async fn measure(app: &AppState, p: &Params) -> anyhow::Result<Outcome> {
    let admin = bench_admin(app).await?;
    let setup = Stopwatch::start();
    let upns = load(app, &admin, p.users.max(2)).await?;
    let setup = setup.elapsed();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = crate::router::build_router(app.clone());
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });
    let base = format!("http://{addr}");

    let (first, second) = upns.split_at(upns.len() / 2);
    let quiet = phase(&base, first, p, 0).await?;
    let attacked = phase(&base, second, p, p.attack_rate).await?;
    let _ = stop.send(());
    server.await??;

    let mut problems = Vec::new();
    for (name, ph) in [("quiet", &quiet), ("attacked", &attacked)] {
        if ph.refused > 0 {
            problems.push(format!(
                "{name}: {} of the owners' sign-ins were refused",
                ph.refused
            ));
        }
    }
    let line = format!(
        "RESULT bench=sign-in backend={} users={} concurrency={} quiet_per_s={:.1} quiet_p50_ms={:.2} quiet_p99_ms={:.2} attack_rate={} attacked_per_s={:.1} attacked_p50_ms={:.2} attacked_p99_ms={:.2} bad_passwords_sent={} refused={}",
        app.store.backend(),
        upns.len(),
        p.concurrency,
        quiet.throughput,
        ms(quiet.p50),
        ms(quiet.p99),
        p.attack_rate,
        attacked.throughput,
        ms(attacked.p50),
        ms(attacked.p99),
        attacked.attempts,
        quiet.refused + attacked.refused,
    );
    let details = vec![format!(
        "DETAIL setup_s={:.1} quiet_signed_in={} attacked_signed_in={}",
        setup.as_secs_f64(),
        quiet.signed_in,
        attacked.signed_in
    )];
    Ok(Outcome {
        line,
        details,
        problems,
    })
}

/// Users with the same password and an enrolled authenticator (written directly: enrolment is
/// not what is measured).
async fn load(
    app: &AppState,
    admin: &crate::auth::Caller,
    users: usize,
) -> anyhow::Result<Vec<String>> {
    let hash = crate::auth::password::hash(PASSWORD);
    let totp = TotpCredential {
        secret_base32: SEED.into(),
        verified: true,
        last_step: None,
        pending_session: None,
        pending_until: None,
    };
    let mut upns = Vec::with_capacity(users);
    for i in 0..users {
        let upn = format!("signin-{i}-{}@bench.example", Uuid::new_v4().simple());
        let user = directory::create_user(
            app,
            admin,
            NewUser {
                user_principal_name: upn.clone(),
                display_name: format!("Sign-in {i}"),
                mail: None,
                mail_nickname: None,
                password: None,
                manager_id: None,
                account_enabled: true,
            },
        )
        .await
        .map_err(api)?;
        let mut tx = app.store.write().await?;
        let at = app.clock.now().timestamp_micros();
        tx.put_credential(user.id, sessions::PASSWORD, &json!({ "hash": hash }), at)
            .await?;
        tx.put_credential(user.id, sessions::TOTP, &json!(totp), at)
            .await?;
        tx.commit().await?;
        upns.push(upn);
    }
    Ok(upns)
}

async fn phase(base: &str, upns: &[String], p: &Params, attack_rate: u32) -> anyhow::Result<Phase> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(p.concurrency + 1)
        .build()?;
    let upns = Arc::new(upns.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let phase_clock = Arc::new(Stopwatch::start());
    let duration = p.duration;

    // The attacker: wrong passwords for the same accounts, from its own address, paced.
    let attacker = (attack_rate > 0).then(|| {
        let (http, base, upns) = (http.clone(), base.to_string(), upns.clone());
        let phase_clock = phase_clock.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / attack_rate as f64));
            let mut sent = 0usize;
            let mut i = 0usize;
            while phase_clock.elapsed() < duration {
                tick.tick().await;
                let upn = upns[i % upns.len()].clone();
                i += 1;
                let req = http
                    .post(format!("{base}/v1/auth/token"))
                    .header("x-forwarded-for", "203.0.113.66")
                    .json(&json!({ "username": upn, "password": "Wrong-guess-123!" }));
                // Not awaited in line: the attacker does not wait for answers to keep its pace.
                tokio::spawn(async move {
                    let _ = req.send().await;
                });
                sent += 1;
            }
            sent
        })
    });

    let started = Stopwatch::start();
    let mut clients = Vec::new();
    for c in 0..p.concurrency.max(1) {
        let (http, base, upns, next) = (http.clone(), base.to_string(), upns.clone(), next.clone());
        let phase_clock = phase_clock.clone();
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut refused = 0usize;
            while phase_clock.elapsed() < duration {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(upn) = upns.get(i) else { break };
                let otp = crate::auth::totp::code_at(
                    SEED,
                    crate::clock::Clock::now(&crate::clock::SystemClock),
                )
                .expect("a valid seed");
                let t = Stopwatch::start();
                let answer = http
                    .post(format!("{base}/v1/auth/token"))
                    .header("x-forwarded-for", format!("198.51.100.{}", c % 250 + 1))
                    .json(&json!({ "username": upn, "password": PASSWORD, "otp": otp }))
                    .send()
                    .await;
                let elapsed = t.elapsed();
                match answer {
                    Ok(r) if r.status().is_success() => latencies.push(elapsed),
                    _ => refused += 1,
                }
            }
            (latencies, refused)
        }));
    }
    let mut latencies = Vec::new();
    let mut refused = 0;
    for client in clients {
        let (l, r) = client.await?;
        latencies.extend(l);
        refused += r;
    }
    let elapsed = started.elapsed();
    let attempts = match attacker {
        Some(task) => task.await?,
        None => 0,
    };
    latencies.sort();
    Ok(Phase {
        signed_in: latencies.len(),
        refused,
        throughput: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        attempts,
    })
}
