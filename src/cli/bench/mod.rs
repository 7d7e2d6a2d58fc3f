//! `eligo bench`: measurements of the real use cases and store, on SQLite or PostgreSQL. Each
//! benchmark prints one `RESULT key=value ...` line and exits non-zero only when the work itself
//! went wrong (a refused request, a missing row, a broken audit chain) — never because of a
//! figure. The figures and how they were taken are in BENCHMARKS.md.
//!
//! - `writes`: audited writes (create user), then the cost of verifying the audit chain.
//! - `activations`: self-activations without approval (policy check, durable write, audit).
//! - `expiry`: activations ending at the same instant, and how soon after it they are gone from
//!   reads and their expiry is in the audit log, with the real background scheduler.
//! - `package-requests`, `package-expiry`, `package-separation`: access packages requested and
//!   delivered without approval, assignments ending together under the real scheduler, and the
//!   separation-of-duties check on adding a group member with many packages and rules.
//! - `group-members`: `GET /v1/groups/{id}/members` (and `/owners`) of one group on a store of
//!   many users and grants (PIM for Groups schedules over many groups among them).
//! - `scim`: an identity provider pushing users and groups through the inbound SCIM server.
//! - `ldap-import`: an LDAP connector importing users and groups from a slapd it starts.
//! - `cold-start` (and its timed half `cold-start-open`): a server starting on a store of a
//!   million schedules, timed and measured in a child process, its answers checked.
//! - `gen` and `check`: the effective-access index (no database): `gen` writes a generated
//!   workload, `check` builds the index from a workload file, verifies every query's expected
//!   answer against the index and a plain reference evaluator (`reference`), and times both.

mod activations;
mod alert_scan;
mod check;
mod checkpoints;
mod cold_start;
mod expiry;
mod r#gen;
mod group_members;
mod http;
mod ldap_import;
mod oidc;
mod package_expiry;
mod packages;
mod propagation;
mod reference;
mod reviews;
mod scim;
mod signin;
mod slapd;
mod thread_cpu;
mod writes;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use clap::Subcommand;
use eligo_core::access::workload::Shape;
use eligo_core::request::{
    ExpirationInfo, ExpirationType, RequestAction, RequestKind, ScheduleInfo,
};
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::auth::Caller;
use crate::clock::SystemClock;
use crate::config::{Config, Secret};
use crate::error::ApiError;
use crate::service::directory::{self, NewUser};
use crate::service::pim::submit::{NewRequest, submit};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Access package requests (userAdd, a policy without approval) from the call until they
    /// answer `delivered`: per second, p50 and p99; then checks every membership is there.
    PackageRequests {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Number of requests (one user each).
        #[arg(long, default_value_t = 2000)]
        count: usize,
    },
    /// Access package assignments that all end at one instant T: how late after T each
    /// membership is gone, with the real scheduler as `eligo serve` runs it.
    PackageExpiry {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Number of assignments ending at T.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
    /// An access review of a group with this many members: the start (snapshot), a
    /// batchRecordDecisions denying all, and the stop with auto-apply until every removal is
    /// committed and pushed to a webhook downstream on loopback.
    Review {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Number of decisions (members of the reviewed group).
        #[arg(long, default_value_t = 10_000)]
        decisions: usize,
    },
    /// A full PIM alert scan over this many users and role assignments: the first scan and a
    /// steady-state one.
    AlertScan {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        #[arg(long, default_value_t = 20_000)]
        assignments: usize,
    },
    /// What separation of duties costs when a member is added to a group, with many packages
    /// and incompatibility rules: add-member p50/p99 to a group no rule names and to one a rule
    /// names.
    PackageSeparation {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Access packages (a group each).
        #[arg(long, default_value_t = 1000)]
        packages: usize,
        /// Packages declared incompatible with a group of their own.
        #[arg(long, default_value_t = 100)]
        rules: usize,
        /// Users holding a ruled package (read by the check when a ruled group is gained).
        #[arg(long, default_value_t = 1000)]
        holders: usize,
        /// Timed add-member calls of each kind.
        #[arg(long, default_value_t = 500)]
        adds: usize,
    },
    /// A group's members and owners read through the use case behind
    /// `GET /v1/groups/{id}/members` (`/owners`), on a store of --users users and --grants
    /// grants (direct memberships, PIM for Groups schedules over --groups groups, role
    /// schedules): p50 and p99 of each read, the answer checked every time.
    GroupMembers {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// Groups (the grants that are not role schedules are spread over them).
        #[arg(long, default_value_t = 500)]
        groups: usize,
        /// Grants: group memberships and role schedules, the read group's included.
        #[arg(long, default_value_t = 20_000)]
        grants: usize,
        /// Members of the read group (half direct, half through an active PIM membership).
        #[arg(long, default_value_t = 200)]
        members: usize,
        /// Timed reads of each kind.
        #[arg(long, default_value_t = 500)]
        reads: usize,
    },
    /// An identity provider pushing its directory through SCIM over HTTP: --users users (each
    /// looked up, then created) and --groups groups (each created, then filled with one PATCH
    /// of --members members). Time, rates, p50/p99 and peak memory.
    Scim {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        #[arg(long, default_value_t = 1000)]
        groups: usize,
        /// Members of each group.
        #[arg(long, default_value_t = 10)]
        members: usize,
        /// Concurrent requests.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// An LDAP connector's import from a slapd the benchmark starts and fills: --users users
    /// (with managers) and --groups groupOfNames of --members users; the first pass, then an
    /// incremental and a full pass with nothing changed. Times and peak memory.
    LdapImport {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        #[arg(long, default_value_t = 1000)]
        groups: usize,
        /// Members of each group.
        #[arg(long, default_value_t = 10)]
        members: usize,
        /// The slapd binary (`apt-get install slapd`).
        #[arg(long, default_value = "/usr/sbin/slapd")]
        slapd: String,
    },
    /// Two servers on one PostgreSQL (in this process, each with its own store and HTTP
    /// listener): the time from a write acknowledged by one to the other's index applying it
    /// unasked, and to its first right answer to `GET /v1/access/check` (p50, p99, max).
    Propagation {
        /// A PostgreSQL URL (a fresh database).
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Writes through the first server (half timed each way).
        #[arg(long, default_value_t = 1000)]
        rounds: usize,
    },
    /// A server starting on a full store: fills a fresh store (users, nested groups, owners,
    /// memberships, --assignments role and PIM for Groups schedules, sessions), then times in
    /// a child process what `eligo serve` does before it answers a check, with that process's
    /// peak memory, and checks a sample of answers against the generated facts.
    ColdStart {
        /// Database URL (a fresh database); default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Groups (a tenth role-assignable; the others nested in chains).
        #[arg(long, default_value_t = 10_000)]
        groups: usize,
        /// Role and PIM for Groups schedules (a tenth already over).
        #[arg(long, default_value_t = 1_000_000)]
        assignments: usize,
        /// Keep the filled store and the sample, and print the `cold-start-open` command that
        /// times another start on them.
        #[arg(long)]
        keep: bool,
    },
    /// The timed half of `cold-start`: starts over a store `cold-start --keep` filled, reports
    /// the time and this process's peak memory, and asks the sample.
    ColdStartOpen {
        #[arg(long)]
        database_url: String,
        /// The sample `cold-start` wrote (questions with their answers).
        #[arg(long, value_name = "FILE")]
        sample: PathBuf,
    },
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
        /// Servers on the one PostgreSQL database, the writers spread over them in turn.
        #[arg(long, default_value_t = 1)]
        servers: usize,
    },
    /// Self-activations without approval per second and their latency (setup not timed), then
    /// checks that every activation exists and the audit chain verifies.
    Activations {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Number of activations (one eligible user each).
        #[arg(long, default_value_t = 2000)]
        count: usize,
        /// Concurrent requesters.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Run the background scheduler during the timed phase, as `eligo serve` does (every
        /// request wakes it).
        #[arg(long)]
        with_scheduler: bool,
        /// Write transactions committed together at most, as `ELIGO_GROUP_COMMIT_MAX`
        /// (1: each commits alone, as before group commit).
        #[arg(long, default_value_t = 32)]
        group_commit_max: usize,
        /// Servers on the one PostgreSQL database, the requesters spread over them in turn.
        #[arg(long, default_value_t = 1)]
        servers: usize,
    },
    /// Activations that all end at one instant T: time from T until they are gone from what
    /// holds now, and until their expiry audit entries are committed by the real scheduler.
    Expiry {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Number of activations ending at T.
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
    /// Writes a generated effective-access workload (JSON lines, every query with its expected
    /// answer) to stdout, for `eligo bench check`. The same arguments give the same bytes.
    Gen {
        /// Users (each in one to three groups).
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Groups (nested up to --depth deep).
        #[arg(long, default_value_t = 10_000)]
        groups: usize,
        /// Role assignments (to users and groups); also the number of queries (at least 1,000)
        /// unless --queries says.
        #[arg(long, default_value_t = 20_000)]
        assignments: usize,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Levels of nested groups (1 to 8): chains up to this many groups deep.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=8))]
        depth: u8,
        /// A scope tree of this many scopes (at least 12), up to four levels below `/`; by
        /// default `/`, `/sub-N` and `/sub-N/rg-M` (11 to 40 subscriptions).
        #[arg(long)]
        scopes: Option<usize>,
        /// Zipf exponent of group sizes (e.g. 1.0: a few huge groups, many small; one user in
        /// fifty in 10 to 40 groups); 0, the default, draws groups uniformly.
        #[arg(long, default_value_t = 0.0)]
        skew: f64,
        /// Queries (default: as many as assignments, at least 1,000).
        #[arg(long)]
        queries: Option<usize>,
    },
    /// Builds the effective-access index from a workload file, checks every query against its
    /// `expect` (each mismatch on stderr; any makes the command fail), then times the checks on
    /// one thread: build time, checks per second, p50 and p99 latency, peak memory.
    Check {
        /// The workload file (as `eligo bench gen` writes it).
        #[arg(long, value_name = "FILE")]
        workload: PathBuf,
        /// Minimum duration of each of the two timed phases (throughput, then latency), in
        /// milliseconds; the query list is repeated until it is reached.
        #[arg(long, default_value_t = 1500)]
        measure_ms: u64,
    },
    /// The effective-access check over real HTTP: an in-process server on a loopback port with
    /// a loaded directory (answers verified first), then concurrent keep-alive clients asking
    /// `GET /v1/access/check` one question at a time, and `POST` in batches of 100. One RESULT
    /// line per mode: requests and checks per second, p50 and p99 latency, failed requests.
    HttpCheck {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Users (each in one group; every tenth in a role-assignable group holding a role,
        /// every seventh holding another role directly).
        #[arg(long, default_value_t = 1000)]
        users: usize,
        /// Groups (nested in chains four deep).
        #[arg(long, default_value_t = 100)]
        groups: usize,
        /// Concurrent clients, one keep-alive connection each.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds each mode runs.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Which modes to run.
        #[arg(long, value_enum, default_value_t = http::Modes::Both)]
        mode: http::Modes,
    },
    /// What a signed audit checkpoint costs: real audited writes, the head signed after every
    /// --every writes (Ed25519, appended and synced), then every checkpoint verified against the
    /// chain. One RESULT line: sign p50/p99, a write's p50 for scale, verification time.
    Checkpoints {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Audited writes.
        #[arg(long, default_value_t = 2000)]
        writes: usize,
        /// Sign the head after this many writes.
        #[arg(long, default_value_t = 10)]
        every: usize,
    },
    /// Single sign-on round trips on loopback against a real OpenID Connect provider (npm
    /// oidc-provider, started from --provider-dir): the browser's redirects, Eligo's start and
    /// callback (code redeemed with PKCE, ID token verified). One RESULT line: round trips per
    /// second, p50 and p99 of the whole and of Eligo's share.
    Oidc {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// The folder with provider.mjs and node_modules/oidc-provider (the repository's
        /// tests/oidc after `npm ci --prefix tests/oidc`).
        #[arg(long, default_value = "tests/oidc")]
        provider_dir: PathBuf,
        /// Sign-ins, one after another.
        #[arg(long, default_value_t = 200)]
        rounds: usize,
    },
    /// Password-and-code sign-ins over real HTTP: one phase quiet, one while an attacker sends
    /// wrong passwords for the same accounts at --attack-rate per second from another address.
    /// One RESULT line: sign-ins per second, p50 and p99 in each phase.
    SignIn {
        /// Database URL; default: a fresh SQLite file in a temporary directory.
        #[arg(long, env = "ELIGO_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Users (half sign in in each phase, each once).
        #[arg(long, default_value_t = 2000)]
        users: usize,
        /// Concurrent signing-in clients.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Seconds each phase runs at most.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Wrong passwords per second during the second phase.
        #[arg(long, default_value_t = 200)]
        attack_rate: u32,
    },
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let outcome = match command {
        BenchCommand::PackageRequests {
            database_url,
            count,
        } => packages::run_requests(database_url, count.max(1)).await?,
        BenchCommand::PackageExpiry {
            database_url,
            count,
        } => package_expiry::run(database_url, count.max(1)).await?,
        BenchCommand::Review {
            database_url,
            decisions,
        } => reviews::run(database_url, decisions.max(1)).await?,
        BenchCommand::AlertScan {
            database_url,
            users,
            assignments,
        } => alert_scan::run(database_url, users.max(1), assignments).await?,
        BenchCommand::PackageSeparation {
            database_url,
            packages: n,
            rules,
            holders,
            adds,
        } => {
            anyhow::ensure!(
                rules >= 1 && rules <= n,
                "--rules must be between 1 and --packages"
            );
            packages::run_separation(database_url, n, rules, holders.max(1), adds.max(1)).await?
        }
        BenchCommand::GroupMembers {
            database_url,
            users,
            groups,
            grants,
            members,
            reads,
        } => {
            group_members::run(
                database_url,
                group_members::Params {
                    users,
                    groups,
                    grants,
                    members,
                    reads,
                },
            )
            .await?
        }
        BenchCommand::Propagation {
            database_url,
            rounds,
        } => propagation::run(database_url, rounds).await?,
        BenchCommand::Scim {
            database_url,
            users,
            groups,
            members,
            concurrency,
        } => {
            scim::run(
                database_url,
                scim::Params {
                    users: users.max(1),
                    groups,
                    members,
                    concurrency: concurrency.max(1),
                },
            )
            .await?
        }
        BenchCommand::LdapImport {
            database_url,
            users,
            groups,
            members,
            slapd,
        } => {
            ldap_import::run(
                database_url,
                ldap_import::Params {
                    users: users.max(1),
                    groups,
                    members,
                    slapd,
                },
            )
            .await?
        }
        BenchCommand::ColdStart {
            database_url,
            users,
            groups,
            assignments,
            keep,
        } => {
            cold_start::run(
                database_url,
                cold_start::Params {
                    users: users.max(1),
                    groups: groups.max(10),
                    assignments,
                    keep,
                },
            )
            .await?
        }
        BenchCommand::ColdStartOpen {
            database_url,
            sample,
        } => cold_start::open(database_url, sample).await?,
        BenchCommand::Writes {
            database_url,
            count,
            concurrency,
            servers,
        } => writes::run(database_url, count, concurrency.max(1), servers.max(1)).await?,
        BenchCommand::Activations {
            database_url,
            count,
            concurrency,
            with_scheduler,
            group_commit_max,
            servers,
        } => {
            activations::run(
                database_url,
                count.max(1),
                concurrency.max(1),
                with_scheduler,
                group_commit_max.clamp(1, 1000),
                servers.max(1),
            )
            .await?
        }
        BenchCommand::Expiry {
            database_url,
            count,
        } => expiry::run(database_url, count.max(1)).await?,
        BenchCommand::Gen {
            users,
            groups,
            assignments,
            seed,
            depth,
            scopes,
            skew,
            queries,
        } => {
            let shape = Shape {
                depth: usize::from(depth),
                scopes,
                skew: skew.max(0.0),
                queries,
                ..Shape::new(users, groups, assignments, seed)
            };
            r#gen::run(&shape)?;
            return Ok(ExitCode::SUCCESS);
        }
        BenchCommand::Check {
            workload,
            measure_ms,
        } => check::run(&workload, Duration::from_millis(measure_ms))?,
        BenchCommand::Checkpoints {
            database_url,
            writes,
            every,
        } => checkpoints::run(database_url, writes.max(1), every).await?,
        BenchCommand::Oidc {
            database_url,
            provider_dir,
            rounds,
        } => oidc::run(database_url, provider_dir, rounds).await?,
        BenchCommand::SignIn {
            database_url,
            users,
            concurrency,
            seconds,
            attack_rate,
        } => {
            anyhow::ensure!(
                seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0,
                "--seconds must be a positive number of seconds (at most a day)"
            );
            signin::run(
                database_url,
                signin::Params {
                    users,
                    concurrency,
                    duration: Duration::from_secs_f64(seconds),
                    attack_rate,
                },
            )
            .await?
        }
        BenchCommand::HttpCheck {
            database_url,
            users,
            groups,
            concurrency,
            seconds,
            mode,
        } => {
            anyhow::ensure!(
                seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0,
                "--seconds must be a positive number of seconds (at most a day)"
            );
            http::run(
                database_url,
                http::Params {
                    users,
                    groups,
                    concurrency,
                    duration: Duration::from_secs_f64(seconds),
                    modes: mode,
                },
            )
            .await?
        }
    };
    println!("{}", outcome.line);
    for detail in &outcome.details {
        println!("{detail}");
    }
    Ok(if outcome.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        for p in &outcome.problems {
            eprintln!("error: {p}");
        }
        ExitCode::from(1)
    })
}

/// What a benchmark reports: its `RESULT` line, further `DETAIL` lines, and anything that went
/// wrong with the work itself (which makes the command fail).
pub struct Outcome {
    pub line: String,
    pub details: Vec<String>,
    pub problems: Vec<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The same, over milliseconds that may be negative (sorted ascending).
fn percentile_ms(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A use-case error with its code, message and every detail.
fn api(e: ApiError) -> anyhow::Error {
    let details: Vec<String> = e
        .details
        .iter()
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    anyhow::anyhow!("{}: {} [{}]", e.code, e.message, details.join("; "))
}

/// This process's peak resident memory in MiB, for a RESULT line (`?` where unknown).
fn peak_rss() -> String {
    check::peak_rss_mib()
        .map(|m| format!("{m:.0}"))
        .unwrap_or_else(|| "?".into())
}

/// A server in this process: the router `eligo serve` uses on a loopback port. Answers its
/// base URL and a handle that stops it (gracefully) and waits for it.
async fn serve_in_process(app: &AppState) -> anyhow::Result<(String, InProcessServer)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = crate::router::build_router(app.clone());
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });
    Ok((format!("http://{addr}"), InProcessServer { stop, task }))
}

struct InProcessServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl InProcessServer {
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await??;
        Ok(())
    }
}

/// The database a benchmark runs on: the given URL, or a scratch SQLite file removed afterwards.
struct BenchDb {
    url: String,
    scratch: Option<PathBuf>,
}

impl BenchDb {
    fn new(url: Option<String>) -> Self {
        match url {
            Some(url) => Self { url, scratch: None },
            None => {
                let dir = std::env::temp_dir().join(format!("eligo-bench-{}", Uuid::new_v4()));
                Self {
                    url: format!("sqlite://{}", dir.join("eligo.db").display()),
                    scratch: Some(dir),
                }
            }
        }
    }

    /// A database filled before (kept, never removed by this handle).
    fn existing(url: String) -> Self {
        Self { url, scratch: None }
    }

    /// Where a benchmark keeps a file beside its database (the scratch folder, or the
    /// temporary directory for a given URL).
    fn sample_path(&self) -> PathBuf {
        let name = format!("eligo-cold-start-{}.jsonl", Uuid::new_v4().simple());
        match &self.scratch {
            Some(dir) => dir.join(name),
            None => std::env::temp_dir().join(name),
        }
    }

    /// Opens the store and bootstraps it exactly as `eligo serve` does, with the real clock.
    async fn open(&self, tune: impl FnOnce(&mut Config)) -> anyhow::Result<AppState> {
        let mut config = Config::defaults();
        config.database_url = Secret::new(self.url.clone());
        // A fixed key: the benchmark's scratch database is sealed like a real one.
        config.master_key = Some(Secret::new(crate::keys::BENCH_KEY));
        tune(&mut config);
        let (app, _) = crate::server::prepare(config, Arc::new(SystemClock), false).await?;
        Ok(app)
    }

    /// `servers` servers over this one database, as that many `eligo serve` would be: each
    /// with its own connections, change feed, index and write queue. More than one needs
    /// PostgreSQL (one SQLite file is one server's).
    async fn open_servers(
        &self,
        servers: usize,
        tune: impl Fn(&mut Config),
    ) -> anyhow::Result<Vec<AppState>> {
        anyhow::ensure!(
            servers == 1 || self.url.starts_with("postgres"),
            "several servers share one PostgreSQL: give --database-url postgres://..."
        );
        let mut apps = Vec::with_capacity(servers);
        for _ in 0..servers.max(1) {
            apps.push(self.open(&tune).await?);
        }
        Ok(apps)
    }

    fn remove(self) {
        if let Some(dir) = self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
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
    let grants = app.access.grants(user.id, app.clock.now());
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
            amr: vec![crate::service::authorize::BOOTSTRAP_METHOD.into()],
            channel: eligo_store::SessionChannel::Api,
            acr: None,
            acr_at: None,
        },
        grants,
    })
}

/// The role the benchmarks activate (any built-in role but Global Administrator would do; the
/// break-glass account holds that one, and the expiry benchmark lists the role's holders).
fn bench_role() -> Uuid {
    Uuid::parse_str(eligo_core::roles::ids::SECURITY_READER).expect("a built-in role id")
}

/// `user` as the `Caller` extractor would build it for a session that has just passed MFA
/// (refresh `session.last_mfa_at` right before use).
async fn user_caller(app: &App, id: Uuid) -> anyhow::Result<Caller> {
    let mut tx = app.store.read().await?;
    let user = tx
        .get_user(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench user {id} vanished"))?;
    let now = app.clock.now();
    let grants = app.access.grants(id, now);
    Ok(Caller {
        id,
        kind: eligo_core::directory::PrincipalKind::User,
        display_name: user.display_name,
        upn: Some(user.user_principal_name),
        session: eligo_store::TokenRecord {
            token_hash: String::new(),
            principal_id: id,
            created_at: now,
            expires_at: None,
            revoked_at: None,
            last_mfa_at: Some(now),
            amr: vec!["pwd".into(), "mfa".into()],
            channel: eligo_store::SessionChannel::Api,
            acr: None,
            acr_at: None,
        },
        grants,
    })
}

fn expiring(
    kind: ExpirationType,
    end: Option<chrono::DateTime<chrono::Utc>>,
    duration: Option<TimeDelta>,
) -> ScheduleInfo {
    ScheduleInfo {
        start_date_time: None,
        expiration: ExpirationInfo {
            kind,
            end_date_time: end,
            duration,
        },
    }
}

/// A self-activation of `role` at `/` by `caller`, as `POST roleAssignmentScheduleRequests`
/// with action `selfActivate` would submit it.
fn self_activation(caller: &Caller, role: Uuid, schedule: ScheduleInfo) -> NewRequest {
    NewRequest {
        kind: RequestKind::Assignment,
        action: RequestAction::SelfActivate,
        principal_id: caller.id,
        role_definition_id: role,
        directory_scope_id: "/".into(),
        justification: Some("benchmark activation".into()),
        ticket: None,
        schedule_info: Some(schedule),
        is_validation_only: false,
    }
}

/// Untimed setup: `count` users created through the directory use case, each made eligible for
/// `role` (30 days) by the administrator through `submit` (adminAssign, eligibility), using
/// `concurrency` tasks. Returns each user as a caller with a fresh MFA session.
async fn eligible_users(
    app: &AppState,
    admin: &Caller,
    role: Uuid,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Caller>> {
    let run = Uuid::new_v4().simple().to_string();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (app, admin, run) = (app.clone(), admin.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (t..count).step_by(concurrency) {
                let user = directory::create_user(
                    &app,
                    &admin,
                    NewUser {
                        user_principal_name: format!("pim-bench-{i}-{run}@bench.example"),
                        display_name: format!("PIM bench {i}"),
                        mail: None,
                        mail_nickname: None,
                        password: None,
                        manager_id: None,
                        account_enabled: true,
                    },
                )
                .await
                .map_err(api)?;
                submit(
                    &app,
                    &admin,
                    NewRequest {
                        kind: RequestKind::Eligibility,
                        action: RequestAction::AdminAssign,
                        principal_id: user.id,
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
                ids.push(user.id);
            }
            anyhow::Ok(ids)
        }));
    }
    let mut callers = Vec::with_capacity(count);
    for t in tasks {
        for id in t.await?? {
            callers.push(user_caller(app, id).await?);
        }
    }
    Ok(callers)
}

/// Recomputes every hash of the audit chain.
async fn chain_verifies(app: &App) -> anyhow::Result<eligo_core::audit::Verdict> {
    let mut tx = app.store.read().await?;
    Ok(crate::api::audit::verify_chain(&mut *tx).await?)
}

#[cfg(test)]
mod tests {
    //! Smoke tests so the benchmarks cannot rot: tiny runs on SQLite whose `RESULT` lines must
    //! parse. Nothing here asserts a timing.

    use std::collections::HashMap;

    fn fields(line: &str) -> HashMap<String, String> {
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some("RESULT"), "{line}");
        words
            .map(|w| {
                let (k, v) = w.split_once('=').unwrap_or_else(|| panic!("{w} in {line}"));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    fn number(f: &HashMap<String, String>, key: &str) -> f64 {
        f.get(key)
            .unwrap_or_else(|| panic!("{key} missing from {f:?}"))
            .parse()
            .unwrap_or_else(|_| panic!("{key} is not a number in {f:?}"))
    }

    /// A small generated workload in a scratch file, removed on drop.
    struct ScratchWorkload(std::path::PathBuf);

    impl ScratchWorkload {
        fn generate() -> Self {
            let path = std::env::temp_dir().join(format!(
                "eligo-bench-workload-{}.jsonl",
                uuid::Uuid::new_v4().simple()
            ));
            let mut file = std::fs::File::create(&path).unwrap();
            let shape = eligo_core::access::workload::Shape::new(200, 20, 300, 5);
            super::r#gen::write(&mut file, &shape).unwrap();
            Self(path)
        }
    }

    impl Drop for ScratchWorkload {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn check_command(path: &std::path::Path) -> super::BenchCommand {
        super::BenchCommand::Check {
            workload: path.to_owned(),
            measure_ms: 20,
        }
    }

    #[tokio::test]
    async fn check_bench_agrees_with_a_generated_workload() {
        let file = ScratchWorkload::generate();
        let text = std::fs::read_to_string(&file.0).unwrap();
        let queries = text.lines().filter(|l| l.contains(r#""kind":"query""#));
        assert_eq!(queries.count(), 1000, "at least 1,000 queries");

        let out = super::check::run(&file.0, std::time::Duration::from_millis(20)).unwrap();
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let f = fields(&out.line);
        let keys: Vec<&str> = out
            .line
            .split_whitespace()
            .skip(1)
            .map(|w| w.split('=').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "checks_per_sec",
                "reference_checks_per_sec",
                "ratio",
                "p50_ns",
                "p99_ns",
                "build_ms",
                "rss_mib",
                "mismatches"
            ]
        );
        assert_eq!(number(&f, "mismatches"), 0.0);
        assert!(number(&f, "checks_per_sec") > 0.0);
        assert!(number(&f, "reference_checks_per_sec") > 0.0);
        assert!(number(&f, "ratio") > 0.0);
        assert!(number(&f, "p50_ns") <= number(&f, "p99_ns"));
        assert!(number(&f, "build_ms") >= 0.0);
        assert!(number(&f, "rss_mib") > 0.0);
        let detail = fields(&out.details[0].replacen("DETAIL", "RESULT", 1));
        assert_eq!(number(&detail, "queries"), 1000.0);
        assert_eq!(number(&detail, "checked"), 1000.0);
        assert_eq!(number(&detail, "assignments"), 300.0);

        let code = super::run(check_command(&file.0)).await.unwrap();
        assert_eq!(code, std::process::ExitCode::SUCCESS);
    }

    #[tokio::test]
    async fn check_bench_reports_a_wrong_expectation_and_fails() {
        let file = ScratchWorkload::generate();
        let text = std::fs::read_to_string(&file.0).unwrap();
        // Flip the expectation of the first query that expects access.
        let mut flipped = None;
        let lines: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if flipped.is_none()
                    && l.contains(r#""kind":"query""#)
                    && l.contains(r#""expect":true"#)
                {
                    flipped = Some((i, l.replace(r#""expect":true"#, r#""expect":false"#)));
                    flipped.as_ref().unwrap().1.clone()
                } else {
                    l.to_owned()
                }
            })
            .collect();
        let (_, line) = flipped.expect("some query expects access");
        std::fs::write(&file.0, lines.join("\n")).unwrap();
        let query: serde_json::Value = serde_json::from_str(&line).unwrap();

        let out = super::check::run(&file.0, std::time::Duration::from_millis(20)).unwrap();
        assert_eq!(
            number(&fields(&out.line), "mismatches"),
            1.0,
            "{}",
            out.line
        );
        assert_eq!(out.problems.len(), 1, "{:?}", out.problems);
        let problem = &out.problems[0];
        assert!(problem.starts_with("mismatch: query "), "{problem}");
        assert!(!problem.contains('\n'), "one line: {problem}");
        for key in ["principal", "role", "scope"] {
            let value = query[key].as_str().unwrap();
            assert!(
                problem.contains(&format!("\"{key}\":\"{value}\"")),
                "{key} in {problem}"
            );
        }
        assert!(problem.ends_with("answered true"), "{problem}");

        let code = super::run(check_command(&file.0)).await.unwrap();
        assert_eq!(code, std::process::ExitCode::from(1));
    }

    #[tokio::test]
    async fn check_bench_refuses_bad_files_with_the_line_number() {
        let file = ScratchWorkload::generate();
        let mut text = std::fs::read_to_string(&file.0).unwrap();
        let third = text.lines().take(2).map(|l| l.len() + 1).sum::<usize>();
        text.insert_str(third, "{\"kind\":\"query\",\"principal\":\"u1\"}\n");
        std::fs::write(&file.0, text).unwrap();
        let err = super::run(check_command(&file.0))
            .await
            .expect_err("a bad line fails");
        let message = format!("{err:#}");
        assert!(message.contains("line 3: missing field"), "{message}");
        assert!(message.contains(&file.0.display().to_string()), "{message}");

        let missing = file.0.with_extension("missing");
        let err = super::run(check_command(&missing))
            .await
            .expect_err("no file fails");
        let message = format!("{err:#}");
        assert!(message.starts_with("cannot read the workload"), "{message}");
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn activations_bench_runs_and_reports() {
        let out = super::activations::run(None, 20, 4, false, 32, 1)
            .await
            .unwrap();
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let f = fields(&out.line);
        assert_eq!(f["bench"], "activations");
        assert_eq!(f["backend"], "sqlite");
        assert_eq!(number(&f, "count"), 20.0);
        assert_eq!(number(&f, "concurrency"), 4.0);
        for key in ["per_sec", "p50_ms", "p99_ms", "max_ms"] {
            assert!(number(&f, key) >= 0.0, "{key}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn activations_bench_runs_with_the_scheduler() {
        let out = super::activations::run(None, 10, 2, true, 1, 1)
            .await
            .unwrap();
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        assert_eq!(fields(&out.line)["bench"], "activations");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_members_bench_checks_the_answer_and_reports() {
        let params = super::group_members::Params {
            users: 60,
            groups: 5,
            grants: 300,
            members: 20,
            reads: 5,
        };
        let out = super::group_members::run(None, params).await.unwrap();
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let f = fields(&out.line);
        assert_eq!(f["bench"], "group-members");
        assert_eq!(f["backend"], "sqlite");
        assert_eq!(number(&f, "members"), 20.0);
        assert_eq!(number(&f, "grants"), 300.0);
        for key in [
            "members_p50_ms",
            "members_p99_ms",
            "owners_p50_ms",
            "owners_p99_ms",
        ] {
            assert!(number(&f, key) >= 0.0, "{key}");
        }
    }

    /// The cold start's sample is answered right by a server started on the filled store (in
    /// this process: the test binary cannot be the child).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cold_start_bench_fills_a_store_and_a_start_answers_its_sample() {
        let params = super::cold_start::Params {
            users: 80,
            groups: 30,
            assignments: 1200,
            keep: false,
        };
        let filled = super::cold_start::fill(None, params).await.unwrap();
        let url = filled.db.url.clone();
        let out = super::cold_start::open(url, filled.sample.clone())
            .await
            .unwrap();
        filled.remove();
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let f = fields(&out.line);
        assert_eq!(f["bench"], "cold-start");
        assert_eq!(f["backend"], "sqlite");
        assert_eq!(number(&f, "mismatches"), 0.0);
        assert_eq!(number(&f, "checks"), 2000.0);
        // Enough of the sample grants for the check to mean something.
        assert!(number(&f, "granted") > 200.0, "{}", out.line);
        assert!(number(&f, "ms") > 0.0 && number(&f, "rss_mib") > 0.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expiry_bench_runs_and_reports() {
        let out = super::expiry::run(None, 20).await.unwrap();
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let f = fields(&out.line);
        assert_eq!(f["bench"], "expiry");
        assert_eq!(f["backend"], "sqlite");
        assert_eq!(number(&f, "count"), 20.0);
        for key in [
            "instances_p50_ms",
            "instances_p99_ms",
            "audit_p50_ms",
            "audit_p99_ms",
            "audit_max_ms",
        ] {
            number(&f, key);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_check_bench_verifies_answers_and_reports_both_modes() {
        let out = super::http::run(
            None,
            super::http::Params {
                users: 40,
                groups: 9,
                concurrency: 4,
                duration: std::time::Duration::from_millis(500),
                modes: super::http::Modes::Both,
            },
        )
        .await
        .unwrap();
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let mut lines = vec![out.line.clone()];
        lines.extend(
            out.details
                .iter()
                .filter(|d| d.starts_with("RESULT"))
                .cloned(),
        );
        assert_eq!(lines.len(), 2, "{lines:?}");
        for (line, mode) in lines.iter().zip(["single", "batch"]) {
            let keys: Vec<&str> = line
                .split_whitespace()
                .skip(1)
                .take(6)
                .map(|w| w.split('=').next().unwrap())
                .collect();
            assert_eq!(
                keys,
                [
                    "mode",
                    "requests_per_sec",
                    "checks_per_sec",
                    "p50_ms",
                    "p99_ms",
                    "errors"
                ],
                "{line}"
            );
            let f = fields(line);
            assert_eq!(f["mode"], mode);
            assert_eq!(number(&f, "errors"), 0.0, "{line}");
            assert!(number(&f, "requests_per_sec") > 0.0, "{line}");
            assert!(number(&f, "p50_ms") <= number(&f, "p99_ms"), "{line}");
            let per_request = if mode == "batch" { 100.0 } else { 1.0 };
            let (r, c) = (number(&f, "requests_per_sec"), number(&f, "checks_per_sec"));
            assert!((c - r * per_request).abs() <= per_request, "{line}");
        }
        let detail = out
            .details
            .iter()
            .find(|d| d.starts_with("DETAIL"))
            .expect("a DETAIL line");
        let d = fields(&detail.replacen("DETAIL", "RESULT", 1));
        assert_eq!(number(&d, "users"), 40.0);
        assert_eq!(number(&d, "questions"), 160.0);
    }
}
