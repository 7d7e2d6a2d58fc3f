//! `eligo bench writes`: audited writes (create user) through the real use case and store, on
//! SQLite or PostgreSQL, then the cost of verifying the audit chain. With `--servers N` the
//! writers take turns over N servers on one PostgreSQL database.

use crate::api::audit::verify_chain;
use crate::clock::Stopwatch;
use crate::service::directory::{self, NewUser};

use super::{BenchDb, Outcome, api, bench_admin, ms, percentile};

pub async fn run(
    url: Option<String>,
    count: usize,
    concurrency: usize,
    servers: usize,
) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let apps = db.open_servers(servers, |_| {}).await?;
    let app = apps[0].clone();
    let admin = bench_admin(&app).await?;
    let per_task = count.div_ceil(concurrency);
    let cpu = super::thread_cpu::ThreadCpu::now();
    let total = Stopwatch::start();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (app, admin) = (apps[t % apps.len()].clone(), admin.clone());
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
                    .map_err(api)?;
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
    let cpu = super::thread_cpu::ThreadCpu::now().per_op_since(&cpu, lat.len());
    lat.sort();
    let mut tx = app.store.read().await?;
    let (entries, _) = tx.audit_head().await?;
    let v = Stopwatch::start();
    let verdict = verify_chain(&mut *tx).await?;
    let verify = v.elapsed();
    let per_100k_ms = ms(verify) * 100_000.0 / entries.max(1) as f64;
    let line = format!(
        "RESULT backend={} servers={} writes={} concurrency={} writes_per_sec={:.0} p50_ms={:.2} p99_ms={:.2} audit_entries={} verify_ms={:.0} verify_ms_per_100k={:.0} chain_valid={}",
        app.store.backend(),
        apps.len(),
        lat.len(),
        concurrency,
        lat.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        entries,
        ms(verify),
        per_100k_ms,
        verdict.valid
    );
    drop(tx);
    for app in &apps {
        app.store.close().await;
    }
    db.remove();
    let problems = if verdict.valid {
        vec![]
    } else {
        vec![format!("the audit chain does not verify: {verdict:?}")]
    };
    Ok(Outcome {
        line,
        // Of the timed part, the in-process clients' threads included.
        details: cpu
            .map(|cpu| format!("DETAIL bench=writes {cpu}"))
            .into_iter()
            .collect(),
        problems,
    })
}
