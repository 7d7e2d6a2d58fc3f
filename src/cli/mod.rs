//! The `eligo` command line: the server (`serve`, `migrate`), offline audit tools (`audit`),
//! benchmarks (`bench`), and a client that talks to a running server (`login`, `whoami`,
//! `mfa`, `users`, `groups`, PIM: `roles`, `activate`, `approvals`, `assign`, `policy`, ...,
//! access packages: `access`, `packages`, and PIM alerts: `alerts`). Every client error names the server it talked
//! to; `--json` prints the server's JSON.

mod alerts;
mod bench;
mod client;
mod mfa;
mod net;
mod offline;
mod packages;
mod pim;
mod reviews;
mod sso;
mod term;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};

#[derive(Parser)]
#[command(
    name = "eligo",
    version,
    about = "Eligo: just-in-time privileged access",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// A TOML configuration file (keys as the ELIGO_* variables without the prefix, lowercase).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BootstrapCommand {
    /// Replace a generated break-glass token with a new one (shown once, valid 24 hours).
    Rotate,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Seal every stored secret under a new master key (stop the server first). Without
    /// --new-key-file a new key is generated and replaces the key file once the database is
    /// sealed under it.
    Rotate {
        /// A key you made (`eligo keys generate`), for an inline or externally kept key.
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<PathBuf>,
    },
    /// Make a new master key file (mode 0600), e.g. for servers sharing PostgreSQL.
    Generate {
        /// Where to write it (never over an existing file).
        #[arg(long, short = 'o', value_name = "FILE")]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SQLite in ./eligo-data by default).
    Serve {
        #[command(flatten)]
        server: ServerArgs,
        /// Load the demo tenant on first start (users, groups, eligible roles).
        #[arg(long)]
        demo: bool,
        /// Address to listen on (overrides ELIGO_LISTEN).
        #[arg(long, value_name = "HOST:PORT")]
        listen: Option<std::net::SocketAddr>,
        /// Log format.
        #[arg(long, value_enum)]
        log_format: Option<LogFormat>,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The break-glass token, directly on the database.
    Bootstrap {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        command: BootstrapCommand,
    },
    /// The master key that seals stored secrets, directly on the database.
    Keys {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Work with the audit trail directly on the database (the server need not run).
    Audit {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        command: offline::AuditCommand,
    },
    /// Measure Eligo (prints figures; see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    #[command(flatten)]
    Client(client::ClientCommand),
    #[command(flatten)]
    Pim(pim::PimCommand),
    #[command(flatten)]
    Packages(packages::PackagesTop),
    /// Access reviews: decide what waits on you, or stop and apply a review you run.
    Reviews {
        #[command(subcommand)]
        command: reviews::ReviewsCommand,
    },
    #[command(flatten)]
    Alerts(alerts::AlertsTop),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &ServerArgs) -> anyhow::Result<Config> {
    Config::load(args.config.as_deref(), &|k| std::env::var(k).ok())
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("ELIGO_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            server,
            demo,
            listen,
            log_format,
        } => {
            let mut config = load_config(&server)?;
            if let Some(l) = listen {
                config.listen = l;
            }
            if let Some(f) = log_format {
                config.log_format = f;
            }
            init_logging(config.log_format);
            let _ = rustls::crypto::ring::default_provider().install_default();
            crate::server::serve(config, demo).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { server } => {
            let config = load_config(&server)?;
            let store = crate::keys::open_store(&config, false).await?;
            println!("schema up to date ({})", store.backend());
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { server, command } => offline::run(load_config(&server)?, command).await,
        Command::Bootstrap {
            server,
            command: BootstrapCommand::Rotate,
        } => {
            let config = load_config(&server)?;
            // Refused before the store is opened: starting would restore the configured token.
            if config.bootstrap_token.is_some() {
                return Err(crate::service::bootstrap::RotateRefused::Configured.into());
            }
            let (app, _) = crate::server::prepare(
                config,
                std::sync::Arc::new(crate::clock::SystemClock),
                false,
            )
            .await?;
            let token = crate::service::bootstrap::rotate(&app).await?;
            println!(
                "\nA new break-glass token for {} (valid 24 hours, shown only now); every earlier one has stopped working:\n\n    {token}\n",
                crate::service::bootstrap::BREAKGLASS_UPN
            );
            app.store.close().await;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Keys {
            command: KeysCommand::Generate { output },
            ..
        } => {
            let (key, text) = eligo_store::seal::MasterKey::generate();
            crate::keys::write_new_key_file(&output, &text)?;
            println!("master key {} written to {}", key.id(), output.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            server,
            command: KeysCommand::Rotate { new_key_file },
        } => {
            let config = load_config(&server)?;
            let done = match crate::keys::rotate(&config, new_key_file.as_deref()).await {
                Ok(done) => done,
                Err(e) if e.is::<crate::keys::NoDatabase>() => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
                Err(e) => return Err(e),
            };
            println!(
                "{} stored secrets sealed under master key {} (was {}).",
                done.resealed,
                done.new,
                done.old.as_deref().unwrap_or("none")
            );
            match &done.replaced {
                Some(path) => println!(
                    "{} now holds the new key. Back it up; backups of the database taken before now need the old key.",
                    path.display()
                ),
                None => println!(
                    "Configure the new key file on every server (ELIGO_MASTER_KEY_FILE) before starting them."
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { command } => {
            // Quiet unless asked (ELIGO_LOG=sqlx::query=debug counts a benchmark's statements).
            if std::env::var_os("ELIGO_LOG").is_some() {
                init_logging(LogFormat::Text);
            }
            bench::run(command).await
        }
        Command::Client(command) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            client::run(command).await
        }
        Command::Pim(command) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            pim::run(command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Packages(command) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            packages::run(command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reviews { command } => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            reviews::run(command).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Alerts(command) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            alerts::run(command).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
