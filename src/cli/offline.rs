//! `eligo audit verify|export`: read the audit trail straight from the database, so an auditor
//! can check it without a running server (and without trusting one). Both walk the whole
//! trail in batches, with a progress bar on stderr when stderr is a terminal.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use eligo_core::audit::{ChainVerifier, Verdict};
use eligo_store::{StoreError, Tx};

use crate::config::Config;

/// Entries read at a time.
const BATCH: i64 = 5_000;

/// `service::audit::verify_chain`'s walk, entry by entry with the columns stored beside each
/// (a column changed to hide an entry from filtered views breaks the chain there), counting on
/// a progress bar.
async fn verify_with_progress(tx: &mut dyn Tx) -> Result<Verdict, StoreError> {
    let (last, head) = tx.audit_head().await?;
    let bar = super::term::progress(u64::try_from(last).unwrap_or(0), "verifying");
    let mut verifier = ChainVerifier::new();
    let mut after = 0;
    loop {
        let batch = tx.audit_stored_after(after, BATCH).await?;
        let Some((newest, _)) = batch.last() else {
            break;
        };
        after = newest.sequence;
        for (entry, columns) in &batch {
            verifier.push_stored(entry, columns);
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    Ok(verifier.finish(Some(&head)))
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute every hash of the chain; exits 1 if it is broken. With `--checkpoints DIR`,
    /// also check every signed checkpoint there against the chain (a truncated tail or a
    /// rewritten chain no longer matches what was signed).
    Verify {
        /// A directory of signed checkpoints (`ELIGO_AUDIT_CHECKPOINT_DIR` of the server).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Write every entry as JSON lines, oldest first.
    Export {
        /// Output file (default: standard output).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

pub async fn run(config: Config, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let store = match crate::keys::open_existing_store(&config).await {
        Ok(store) => store,
        Err(e) if e.is::<crate::keys::NoDatabase>() => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e),
    };
    let mut tx = store.read().await?;
    let code = match command {
        AuditCommand::Verify { checkpoints } => {
            let verdict = verify_with_progress(&mut *tx).await?;
            let mut valid = verdict.valid;
            let mut shown = serde_json::to_value(&verdict)?;
            if let Some(dir) = checkpoints {
                let (key, signed) = crate::checkpoint::read_dir(&dir)?;
                let tx = std::sync::Arc::new(tokio::sync::Mutex::new(tx));
                let lookup = |sequence: i64| {
                    let tx = tx.clone();
                    async move {
                        let mut tx = tx.lock().await;
                        let found = tx.audit_after(sequence - 1, 1).await?;
                        Ok(found
                            .into_iter()
                            .find(|e| e.sequence == sequence)
                            .map(|e| e.hash))
                    }
                };
                let checked = crate::checkpoint::verify_against(&key, &signed, lookup).await?;
                valid &= checked.valid;
                shown["valid"] = serde_json::json!(valid);
                shown["checkpoints"] = serde_json::to_value(&checked)?;
                println!("{}", serde_json::to_string_pretty(&shown)?);
                drop(tx);
                store.close().await;
                return Ok(if valid {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            println!("{}", serde_json::to_string_pretty(&shown)?);
            if valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        AuditCommand::Export { output } => {
            let mut out: Box<dyn Write> = match output {
                Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let (newest, _) = tx.audit_head().await?;
            let bar = super::term::progress(u64::try_from(newest).unwrap_or(0), "exporting");
            let mut after = 0;
            loop {
                let batch = tx.audit_after(after, BATCH).await?;
                let Some(last) = batch.last() else { break };
                after = last.sequence;
                for entry in &batch {
                    serde_json::to_writer(&mut out, entry)?;
                    out.write_all(b"\n")?;
                }
                bar.inc(batch.len() as u64);
            }
            out.flush()?;
            bar.finish_and_clear();
            ExitCode::SUCCESS
        }
    };
    drop(tx);
    store.close().await;
    Ok(code)
}
