//! `eligo bench checkpoints`: what a signed audit checkpoint costs (`crate::checkpoint`). The
//! chain is made by real audited writes (users created through the use case); then the head is
//! signed after every `every` writes — Ed25519 over (sequence, hash, time), appended to the
//! checkpoint file and synced, as the server does every `ELIGO_AUDIT_CHECKPOINT_INTERVAL` — and
//! finally every checkpoint is verified against the chain, as `eligo audit verify --checkpoints`
//! does (signature, and the entry at its sequence still the one signed).

use std::time::Duration;

use crate::clock::Stopwatch;
use crate::service::directory::{self, NewUser};

use super::{BenchDb, Outcome, api, bench_admin, ms, percentile};

pub async fn run(url: Option<String>, writes: usize, every: usize) -> anyhow::Result<Outcome> {
    let db = BenchDb::new(url);
    let app = db.open(|_| {}).await?;
    let result = measure(&app, writes, every.max(1)).await;
    app.store.close().await;
    db.remove();
    result
}

async fn measure(app: &crate::app::App, writes: usize, every: usize) -> anyhow::Result<Outcome> {
    let admin = bench_admin(app).await?;
    let dir = std::env::temp_dir().join(format!(
        "eligo-bench-checkpoints-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let signer = crate::checkpoint::Signer::open(&dir)?;
    let mut sign_times: Vec<Duration> = Vec::new();
    let mut write_times: Vec<Duration> = Vec::new();
    for i in 0..writes {
        let t = Stopwatch::start();
        directory::create_user(
            app,
            &admin,
            NewUser {
                user_principal_name: format!("cp-{i}@bench.example"),
                display_name: format!("Checkpoint {i}"),
                mail: None,
                mail_nickname: None,
                password: None,
                manager_id: None,
                account_enabled: true,
            },
        )
        .await
        .map_err(api)?;
        write_times.push(t.elapsed());
        if (i + 1) % every == 0 {
            let (sequence, hash) = app.store.read().await?.audit_head().await?;
            let t = Stopwatch::start();
            signer.write(sequence, &hash, app.clock.now())?;
            sign_times.push(t.elapsed());
        }
    }

    let t = Stopwatch::start();
    let (key, checkpoints) = crate::checkpoint::read_dir(&dir)?;
    let tx = std::sync::Arc::new(tokio::sync::Mutex::new(app.store.read().await?));
    let verdict = crate::checkpoint::verify_against(&key, &checkpoints, |sequence| {
        let tx = tx.clone();
        async move {
            let mut tx = tx.lock().await;
            let entry = tx.audit_after(sequence - 1, 1).await?;
            Ok(entry
                .into_iter()
                .find(|e| e.sequence == sequence)
                .map(|e| e.hash))
        }
    })
    .await?;
    let verify = t.elapsed();
    let _ = std::fs::remove_dir_all(&dir);

    sign_times.sort();
    write_times.sort();
    let mut problems = Vec::new();
    if !verdict.valid {
        problems.push(format!("checkpoints do not verify: {:?}", verdict.problem));
    }
    let per_checkpoint_verify = verify / checkpoints.len().max(1) as u32;
    Ok(Outcome {
        line: format!(
            "RESULT bench=checkpoints backend={} writes={} checkpoints={} sign_p50_ms={:.3} sign_p99_ms={:.3} write_p50_ms={:.3} verify_total_ms={:.1} verify_per_checkpoint_us={:.1}",
            app.store.backend(),
            writes,
            checkpoints.len(),
            ms(percentile(&sign_times, 0.50)),
            ms(percentile(&sign_times, 0.99)),
            ms(percentile(&write_times, 0.50)),
            ms(verify),
            per_checkpoint_verify.as_secs_f64() * 1e6,
        ),
        details: Vec::new(),
        problems,
    })
}
