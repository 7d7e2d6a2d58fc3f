//! A shared, real PostgreSQL server for tests, and a fresh empty database per caller.
//!
//! Where the server comes from:
//! - `ELIGO_TEST_POSTGRES_URL` (a URL to a server where we may `CREATE DATABASE`, e.g.
//!   `postgres://postgres@127.0.0.1:5433/postgres`), if set and non-empty; otherwise
//! - a throw-away cluster started once per test process from the PostgreSQL binaries found in
//!   `/usr/lib/postgresql/<highest version>/bin` (or, failing that, `initdb`/`pg_ctl` on `PATH`),
//!   initialised into a temp dir and listening on a free loopback port. A watchdog process stops
//!   the cluster and deletes its directory once the test process has exited.
//!
//! Without a server (no URL, no binaries) [`postgres_database`] returns `None` after printing a
//! loud message once, except under CI (`CI` set and non-empty), where it panics: CI never skips.
//!
//! Every `#[tokio::test]` has its own runtime, so nothing here is tied to one: the cluster is started
//! with blocking std code on a blocking thread, and each call opens its own short-lived connection.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::component;

/// Environment variable naming an existing server to use instead of starting a cluster.
pub const POSTGRES_URL_ENV: &str = "ELIGO_TEST_POSTGRES_URL";

/// How long initdb, and then each start of the server, may take.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a failed start (most likely: the free port was taken meanwhile) is retried.
const START_ATTEMPTS: u32 = 3;

/// The shared server, resolved once per process: `Ok(Some(admin URL))`, `Ok(None)` when there
/// is no PostgreSQL to use, or `Err` with why starting it failed (reported to every caller).
static SERVER: OnceLock<Result<Option<String>, String>> = OnceLock::new();

/// The cluster this process started (kept so the watchdog `Child` is owned, never dropped).
static CLUSTER: Mutex<Option<Cluster>> = Mutex::new(None);

/// Returns the URL of a fresh, empty database (`t_<random>`) on the shared PostgreSQL server,
/// or `None` (after a loud message on stderr) when no PostgreSQL is available outside CI.
///
/// # Panics
/// When the server cannot be started or the database cannot be created, and under CI when no
/// PostgreSQL is available.
pub async fn postgres_database() -> Option<String> {
    let admin = match SERVER.get() {
        Some(resolved) => resolved.clone(),
        None => tokio::task::spawn_blocking(|| SERVER.get_or_init(resolve_server).clone())
            .await
            .unwrap_or_else(|e| panic!("testkit: starting PostgreSQL panicked: {e}")),
    };
    let admin = match admin {
        Ok(Some(url)) => url,
        Ok(None) => return skip(),
        Err(e) => panic!(
            "testkit: could not start PostgreSQL for tests: {e}\n(hint: the cluster lives in the \
             temp dir; as root it runs as user `postgres`, which must be able to reach it; or set \
             {POSTGRES_URL_ENV} to use an existing server)"
        ),
    };

    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("testkit: cannot connect to PostgreSQL at {admin}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("testkit: CREATE DATABASE {name} on {admin} failed: {e}"));
    // Closing politely is best-effort; the database exists either way.
    let _ = conn.close().await;
    Some(with_database(&admin, &name))
}

/// Drops a database [`postgres_database`] made, closing whatever connections are still open to
/// it, so a test binary's hundreds of databases do not fill the disk before it exits (each holds
/// several MiB of catalogs). The drop is queued to a janitor thread and done in the background:
/// PostgreSQL checkpoints for every `DROP DATABASE`, which the test need not wait for.
/// Best-effort: a database left behind goes with the cluster.
pub fn drop_postgres_database(url: &str) {
    let Some(Ok(Some(admin))) = SERVER.get() else {
        return;
    };
    let Some(name) = database_of(url) else {
        return;
    };
    static JANITOR: OnceLock<Mutex<std::sync::mpsc::Sender<String>>> = OnceLock::new();
    let janitor = JANITOR.get_or_init(|| {
        let (send, receive) = std::sync::mpsc::channel::<String>();
        let admin = admin.clone();
        std::thread::spawn(move || drop_databases(&admin, &receive));
        Mutex::new(send)
    });
    let _ = janitor
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(name.to_string());
}

/// How many finished databases the janitor lets gather before it drops them. PostgreSQL
/// checkpoints for every `DROP DATABASE`; dropped one by one, they slow the tests still running
/// (a third more time for the store's contracts), while in batches the checkpoints after the
/// first find little to write. Disk held meanwhile: about this many times 10 MiB. A smaller batch
/// is dropped once no test has finished for [`DROP_IDLE`].
const DROP_BATCH: usize = 24;
const DROP_IDLE: Duration = Duration::from_secs(1);

/// The janitor: drops the named databases a batch at a time, until the test process exits.
fn drop_databases(admin: &str, names: &std::sync::mpsc::Receiver<String>) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let mut batch = Vec::with_capacity(DROP_BATCH);
    loop {
        let idle = match names.recv_timeout(DROP_IDLE) {
            Ok(name) => {
                batch.push(name);
                false
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => true,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        };
        if batch.is_empty() || (batch.len() < DROP_BATCH && !idle) {
            continue;
        }
        runtime.block_on(async {
            let Ok(mut conn) = PgConnection::connect(admin).await else {
                return;
            };
            for name in batch.drain(..) {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            }
            let _ = conn.close().await;
        });
        batch.clear();
    }
}

/// The database a test URL names, when it is one of ours (`t_` and hex digits only, so it is
/// safe to splice into SQL).
fn database_of(url: &str) -> Option<&str> {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    let name = base.rsplit_once('/')?.1;
    let ours = name.strip_prefix("t_")?;
    (!ours.is_empty() && ours.bytes().all(|b| b.is_ascii_hexdigit())).then_some(name)
}

/// No PostgreSQL: say so loudly (once), or panic under CI.
fn skip() -> Option<String> {
    static WARNED: OnceLock<()> = OnceLock::new();
    component::skip(
        &WARNED,
        &format!(
            "no PostgreSQL found (no /usr/lib/postgresql/*/bin, no initdb on PATH) and \
             {POSTGRES_URL_ENV} is not set; CI must not skip PostgreSQL tests: install postgresql"
        ),
        &[
            "PostgreSQL tests SKIPPED: no PostgreSQL found",
            "(looked in /usr/lib/postgresql/*/bin and for initdb/pg_ctl on PATH).",
            &format!("Install postgresql, or set {POSTGRES_URL_ENV} to a server where"),
            "tests may CREATE DATABASE (e.g. postgres://postgres@127.0.0.1:5432/postgres).",
        ],
    )
}

/// `url` with its database (path) replaced by `database`, keeping any `?query`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Runs once per process, on a blocking thread.
fn resolve_server() -> Result<Option<String>, String> {
    if let Some(url) = std::env::var(POSTGRES_URL_ENV)
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Ok(Some(url));
    }
    let Some(bin) = find_bin_dir() else {
        return Ok(None);
    };
    let cluster = Cluster::start(&bin)?;
    let url = cluster.admin_url();
    *CLUSTER.lock().unwrap_or_else(|e| e.into_inner()) = Some(cluster);
    Ok(Some(url))
}

/// The bin dir of the highest PostgreSQL version under /usr/lib/postgresql, else the directory
/// of `initdb` on PATH (when `pg_ctl` is next to it).
fn find_bin_dir() -> Option<PathBuf> {
    let installed = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = version_key(&entry.file_name().to_string_lossy())?;
            let bin = entry.path().join("bin");
            is_cluster_bin_dir(&bin).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin);
    installed.or_else(|| {
        component::path_dirs()
            .into_iter()
            .find(|dir| is_cluster_bin_dir(dir))
    })
}

/// `pg_dump` of the installed PostgreSQL (for tests that read a database as its dump would show
/// it), or None when it is not installed.
pub fn pg_dump_binary() -> Option<PathBuf> {
    find_bin_dir()
        .map(|bin| bin.join("pg_dump"))
        .filter(|p| p.is_file())
}

/// "15" -> [15], "9.6" -> [9, 6]; anything else is not a version directory.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn is_cluster_bin_dir(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|tool| dir.join(tool).is_file())
}

/// A throw-away cluster in its own temp dir, owned by the `postgres` user when we are root.
struct Cluster {
    port: u16,
    /// Removes the cluster once this process has exited; owned here so it is never dropped.
    _watchdog: Child,
}

impl Cluster {
    fn start(bin: &Path) -> Result<Self, String> {
        let as_root = running_as_root();
        let dir = std::env::temp_dir().join(format!("eligo-pg-{}", uuid::Uuid::new_v4().simple()));
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let data = dir.join("data");

        // The watchdog first, so the directory goes away even if starting fails below.
        let watchdog = spawn_watchdog(bin, &dir, &data, as_root)?;

        if as_root {
            // initdb and postgres refuse to run as root: they run as `postgres`, which must own
            // the directory (and be able to reach it: the temp dir is world-traversable).
            run(
                Command::new("chown").arg("-R").arg("postgres").arg(&dir),
                "chown -R postgres",
                &dir,
            )?;
        }

        run(
            postgres_command(as_root, &bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale"])
                .arg("--no-sync"),
            "initdb",
            &dir,
        )?;

        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = crate::free_port();
            let options = format!(
                "-p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=300 -c max_wal_size=64MB \
                 -c min_wal_size=32MB -k {}",
                dir.display()
            );
            let started = run(
                postgres_command(as_root, &bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(dir.join("server.log"))
                    .arg("-o")
                    .arg(options)
                    .args(["-w", "-t", &START_TIMEOUT.as_secs().to_string(), "start"]),
                "pg_ctl start",
                &dir,
            );
            match started {
                Ok(()) => {
                    return Ok(Cluster {
                        port,
                        _watchdog: watchdog,
                    });
                }
                Err(e) => {
                    let log = fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                    failures.push(format!("on port {port}: {e}\nserver.log:\n{log}"));
                    let _ = fs::remove_file(dir.join("server.log"));
                }
            }
        }
        Err(format!(
            "PostgreSQL did not start after {START_ATTEMPTS} attempts (data dir {}):\n{}",
            data.display(),
            failures.join("\n")
        ))
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A command for a PostgreSQL binary, run as the `postgres` user when we are root.
fn postgres_command(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Waits for our (the test process's) exit, then stops the cluster and removes its directory
/// (postgres itself is detached by pg_ctl, so only this stops it when the tests die).
fn spawn_watchdog(bin: &Path, dir: &Path, data: &Path, as_root: bool) -> Result<Child, String> {
    const SCRIPT: &str = r#"
        parent=$1 pg_ctl=$2 data=$3 dir=$4 as_root=$5
        while kill -0 "$parent" 2>/dev/null; do sleep 1; done
        if [ -f "$data/postmaster.pid" ]; then
            if [ "$as_root" = yes ]; then
                runuser -u postgres -- "$pg_ctl" -D "$data" -m immediate -w stop
            else
                "$pg_ctl" -D "$data" -m immediate -w stop
            fi
            # If pg_ctl could not do it, stop the postmaster directly (SIGQUIT = immediate).
            if [ -f "$data/postmaster.pid" ]; then
                kill -QUIT "$(head -n 1 "$data/postmaster.pid")" 2>/dev/null
                sleep 2
            fi
        fi
        rm -rf "$dir"
    "#;
    let pg_ctl = bin.join("pg_ctl");
    let as_root = OsStr::new(if as_root { "yes" } else { "no" });
    component::spawn_watchdog(
        "pg",
        SCRIPT,
        &[
            pg_ctl.as_os_str(),
            data.as_os_str(),
            dir.as_os_str(),
            as_root,
        ],
    )
}

/// Runs `cmd` to completion within [`START_TIMEOUT`], its output going to files in `dir`
/// (not pipes: a daemon it starts must not hold them open). Errors include its stderr and stdout.
// Test support may read the wall clock: the product's injected-clock rule does not apply here.
#[allow(clippy::disallowed_methods)]
fn run(cmd: &mut Command, what: &str, dir: &Path) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let slug: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let out_path = dir.join(format!("{slug}.out"));
    let err_path = dir.join(format!("{slug}.err"));
    let out =
        File::create(&out_path).map_err(|e| format!("{what}: cannot create output file: {e}"))?;
    let err =
        File::create(&err_path).map_err(|e| format!("{what}: cannot create output file: {e}"))?;
    let mut child = cmd
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{what}: cannot run {cmd:?}: {e}"))?;
    let output = || {
        let stderr = fs::read_to_string(&err_path).unwrap_or_default();
        let stdout = fs::read_to_string(&out_path).unwrap_or_default();
        format!("command: {cmd:?}\n--- stderr ---\n{stderr}--- stdout ---\n{stdout}")
    };

    let deadline = std::time::Instant::now() + START_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{what} failed ({status})\n{}", output())),
            Ok(None) if std::time::Instant::now() >= deadline => {
                // Kill its whole process group (runuser and what it runs), then reap it.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what} timed out after {} s\n{}",
                    START_TIMEOUT.as_secs(),
                    output()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("{what}: cannot wait for it: {e}")),
        }
    }
}

/// A free TCP port on 127.0.0.1 (free when asked: bind it soon, and retry if it got taken).
pub(crate) fn free_loopback_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("testkit: cannot bind a free port on 127.0.0.1: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_the_path_and_keeps_the_query() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5433/postgres", "t_1"),
            "postgres://postgres@127.0.0.1:5433/t_1"
        );
        assert_eq!(
            with_database("postgres://u:p@h:5432/db?sslmode=disable", "t_2"),
            "postgres://u:p@h:5432/t_2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgresql://h:5432", "t_3"),
            "postgresql://h:5432/t_3"
        );
        assert_eq!(
            with_database("postgres://h/?host=/run/postgresql", "t_4"),
            "postgres://h/t_4?host=/run/postgresql"
        );
    }

    #[test]
    fn only_a_test_database_is_named_for_dropping() {
        assert_eq!(
            database_of("postgres://h:5432/t_0a1b?sslmode=disable"),
            Some("t_0a1b")
        );
        assert_eq!(database_of("postgres://h:5432/postgres"), None);
        assert_eq!(database_of("postgres://h:5432/t_"), None);
        assert_eq!(database_of("postgres://h:5432/t_1;DROP"), None);
    }

    #[test]
    fn versions_sort_numerically() {
        assert!(version_key("15") > version_key("9.6"));
        assert!(version_key("16") > version_key("15"));
        assert_eq!(version_key("main"), None);
    }
}
