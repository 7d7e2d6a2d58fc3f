//! `eligo audit verify|export`: read the audit trail straight from the database, so an auditor
//! can check it without a running server (and without trusting one).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::api::audit::verify_chain;
use crate::config::Config;

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
            let verdict = verify_chain(&mut *tx).await?;
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
            let mut after = 0;
            loop {
                let batch = tx.audit_after(after, 5_000).await?;
                let Some(last) = batch.last() else { break };
                after = last.sequence;
                for entry in &batch {
                    serde_json::to_writer(&mut out, entry)?;
                    out.write_all(b"\n")?;
                }
            }
            out.flush()?;
            ExitCode::SUCCESS
        }
    };
    drop(tx);
    store.close().await;
    Ok(code)
}
