//! `eligo bench writes`: audited writes (create user) through the real use case and store, on
//! SQLite or PostgreSQL, then the cost of verifying the audit chain. Prints figures; asserts
//! nothing about them.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;

use crate::api::audit::verify_chain;
use crate::app::App;
use crate::auth::Caller;
use crate::clock::{Stopwatch, SystemClock};
use crate::config::{Config, Secret};
use crate::service::directory::{self, NewUser};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Audited writes per second and their latency, then audit verification cost.
    Writes {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Number of writes.
        #[arg(long, default_value_t = 2000)]
        count: usize,
        /// Concurrent writers.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
    },
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Writes {
            database_url,
            count,
            concurrency,
        } => writes(database_url, count, concurrency.max(1)).await,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn writes(url: Option<String>, count: usize, concurrency: usize) -> anyhow::Result<ExitCode> {
    // Without a URL, a scratch SQLite database that is removed afterwards.
    let scratch = url
        .is_none()
        .then(|| std::env::temp_dir().join(format!("eligo-bench-{}", uuid::Uuid::new_v4())));
    let url = match (url, &scratch) {
        (Some(u), _) => u,
        (None, Some(dir)) => format!("sqlite://{}", dir.join("eligo.db").display()),
        (None, None) => unreachable!("a scratch directory exists when no URL is given"),
    };
    let mut config = Config::defaults();
    config.database_url = Secret::new(url.clone());
    let (app, _) = crate::server::prepare(config, Arc::new(SystemClock), false).await?;
    let admin = bench_admin(&app).await?;
    let per_task = count.div_ceil(concurrency);
    let total = Stopwatch::start();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (app, admin) = (app.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_task);
            for i in 0..per_task {
                let new = NewUser {
                    user_principal_name: format!(
                        "bench-{t}-{i}-{}@bench.example",
                        uuid::Uuid::new_v4().simple()
                    ),
                    display_name: format!("Bench {t} {i}"),
                    mail: None,
                    mail_nickname: None,
                    password: None,
                    manager_id: None,
                    account_enabled: true,
                };
                let w = Stopwatch::start();
                directory::create_user(&app, &admin, new)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
                lat.push(w.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let elapsed = total.elapsed();
    lat.sort();
    let mut tx = app.store.read().await?;
    let (entries, _) = tx.audit_head().await?;
    let v = Stopwatch::start();
    let verdict = verify_chain(&mut *tx).await?;
    let verify = v.elapsed();
    let per_100k_ms = verify.as_secs_f64() * 1000.0 * 100_000.0 / entries.max(1) as f64;
    println!(
        "RESULT backend={} writes={} concurrency={} writes_per_sec={:.0} p50_ms={:.2} p99_ms={:.2} audit_entries={} verify_ms={:.0} verify_ms_per_100k={:.0} chain_valid={}",
        app.store.backend(),
        lat.len(),
        concurrency,
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.50).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0,
        entries,
        verify.as_secs_f64() * 1000.0,
        per_100k_ms,
        verdict.valid
    );
    drop(tx);
    app.store.close().await;
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(if verdict.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The break-glass account acts for the benchmark, exactly as an HTTP caller would.
async fn bench_admin(app: &App) -> anyhow::Result<Caller> {
    let mut tx = app.store.read().await?;
    let user = tx
        .find_user_by_upn(crate::service::bootstrap::BREAKGLASS_UPN)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("the benchmark needs a fresh store (no break-glass account found)")
        })?;
    let grants = crate::service::access::grants_of(&mut *tx, user.id, app.clock.now())
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    Ok(Caller {
        id: user.id,
        kind: eligo_core::directory::PrincipalKind::User,
        display_name: user.display_name,
        upn: Some(user.user_principal_name),
        session: eligo_store::TokenRecord {
            token_hash: String::new(),
            principal_id: user.id,
            created_at: app.clock.now(),
            expires_at: None,
            revoked_at: None,
            last_mfa_at: None,
            amr: vec!["bench".into()],
        },
        grants,
    })
}
