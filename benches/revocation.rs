//! `cargo bench --bench revocation`: revocation latency to a real LDAP server (issue 5's goal:
//! p99 under 1 s from the end of access to its removal downstream) and the latency of an
//! approver's mail through a real SMTP server, on loopback, with a real Eligo in-process
//! (real clock, its scheduler and outbox worker running as in `eligo serve`).
//!
//! Options (after `--`): `--count N` (or `ELIGO_BENCH_COUNT`; default 1,000 memberships),
//! `--mail-count M` (or `ELIGO_BENCH_MAIL_COUNT`; default 20 requests), `--lead-seconds S`
//! (how far ahead the common end lies; default 10 s + 15 ms per membership), `--postgres`
//! (also measure revocation on PostgreSQL from the testkit), `--no-mail`, `--no-revocation`.
//! Prints a summary and one `RESULT` line per figure (`DETAIL` lines break them down).
//! Skips a part loudly when slapd or maildev is not installed; fails (exit 1) when what it
//! measures did not happen (a member left downstream, a removal missing or doubled).

#[path = "revocation/common.rs"]
mod common;
#[path = "revocation/ldap.rs"]
mod ldap;
#[path = "revocation/mail.rs"]
mod mail;

use std::time::Duration;

use anyhow::{Context, bail};

struct Args {
    count: usize,
    mail_count: usize,
    lead: Option<Duration>,
    postgres: bool,
    mail: bool,
    revocation: bool,
}

fn env_number(name: &str) -> anyhow::Result<Option<usize>> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(Some(
            v.trim()
                .parse()
                .with_context(|| format!("{name}={v} is not a number"))?,
        )),
        _ => Ok(None),
    }
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        count: env_number("ELIGO_BENCH_COUNT")?.unwrap_or(1000),
        mail_count: env_number("ELIGO_BENCH_MAIL_COUNT")?.unwrap_or(20),
        lead: None,
        postgres: false,
        mail: true,
        revocation: true,
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
            "--mail-count" => args.mail_count = value("--mail-count")?,
            "--lead-seconds" => {
                args.lead = Some(Duration::from_secs(value("--lead-seconds")? as u64))
            }
            "--postgres" => args.postgres = true,
            "--no-mail" => args.mail = false,
            "--no-revocation" => args.revocation = false,
            // cargo bench passes --bench to harness-less targets.
            "--bench" => {}
            other => bail!(
                "unknown argument {other}; use --count N, --mail-count M, --lead-seconds S, \
                 --postgres, --no-mail, --no-revocation"
            ),
        }
    }
    if args.count == 0 || args.mail_count == 0 {
        bail!("counts must be at least 1");
    }
    Ok(args)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    if args.revocation {
        let options = ldap::Options {
            count: args.count,
            lead: args.lead,
        };
        let mut backends = vec![("sqlite", None)];
        if args.postgres {
            match eligo_testkit::postgres_database().await {
                Some(url) => backends.push(("postgres", Some(url))),
                None => eprintln!("\n!!! PostgreSQL revocation run SKIPPED: no PostgreSQL\n"),
            }
        }
        for (name, url) in backends {
            println!(
                "revocation ({name}): {} memberships ending together...",
                args.count
            );
            let backend = match url {
                Some(url) => common::Backend::Postgres(url),
                None => common::Backend::Sqlite,
            };
            if let Some(out) = ldap::run(&options, backend).await? {
                for line in &out {
                    println!("  {line}");
                }
                lines.extend(out);
            }
        }
    }
    if args.mail {
        println!("mail latency: {} approval requests...", args.mail_count);
        if let Some(out) = mail::run(args.mail_count).await? {
            for line in &out {
                println!("  {line}");
            }
            lines.extend(out);
        }
    }
    println!("\nSummary (times after the end E for revocation; after the POST for mail):");
    for line in &lines {
        if let Some(result) = line.strip_prefix("RESULT ") {
            println!("  {result}");
        }
    }
    println!();
    for line in &lines {
        println!("{line}");
    }
    Ok(())
}

fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ELIGO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("revocation bench: {e:#}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("revocation bench FAILED: {e:#}");
        std::process::exit(1);
    }
}
