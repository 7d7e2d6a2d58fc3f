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
    /// Recompute every hash of the chain; exits 1 if it is broken.
    Verify,
    /// Write every entry as JSON lines, oldest first.
    Export {
        /// Output file (default: standard output).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

pub async fn run(config: Config, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let store = eligo_store::open(config.database_url.expose()).await?;
    let mut tx = store.read().await?;
    let code = match command {
        AuditCommand::Verify => {
            let verdict = verify_chain(&mut *tx).await?;
            println!("{}", serde_json::to_string_pretty(&verdict)?);
            if verdict.valid {
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
