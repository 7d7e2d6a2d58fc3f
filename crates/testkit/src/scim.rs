//! A real SCIM 2.0 service provider for tests: PyPI `scim2-server`, in memory, on a free loopback
//! port with a random bearer token. Each [`ScimServer`] is its own process (and its own data);
//! dropping it kills the process. [`ScimServer::stop`] and [`ScimServer::start`] take it down and
//! bring it back on the same port, empty (it keeps nothing across a restart).
//!
//! Without `scim2-server` on PATH, [`scim_server`] returns `None` after a loud message, except
//! under CI (`CI` set and non-empty), where it panics: CI never skips.
//!
//! Seeding (users, groups) is plain SCIM over HTTP: the tests do it with their own client.

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;

use crate::component::{self, Running};

const PROGRAM: &str = "scim2-server";
/// How long one start may take before it is given up (it usually takes under a second).
const START_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(25);
/// Starts on a fresh port when the chosen one was taken meanwhile.
const START_ATTEMPTS: u32 = 3;

/// A running (or stopped) `scim2-server`.
pub struct ScimServer {
    port: u16,
    token: String,
    /// Its stderr and stdout, for the message when it does not start.
    log: PathBuf,
    process: Option<Running>,
}

/// Starts a fresh `scim2-server`, or returns `None` (after a loud message) when it is not
/// installed outside CI.
///
/// # Panics
/// When it is installed but does not start, and under CI when it is not installed.
pub async fn scim_server() -> Option<ScimServer> {
    if component::find_on_path(PROGRAM).is_none() {
        return skip();
    }
    let token = format!("t{}", uuid::Uuid::new_v4().simple());
    let log = std::env::temp_dir().join(format!("eligo-scim-{}.log", uuid::Uuid::new_v4()));
    let mut failures = Vec::new();
    for _ in 0..START_ATTEMPTS {
        let mut server = ScimServer {
            port: crate::free_port(),
            token: token.clone(),
            log: log.clone(),
            process: None,
        };
        match server.try_start().await {
            Ok(()) => return Some(server),
            Err(e) => failures.push(e),
        }
    }
    panic!(
        "testkit: {PROGRAM} did not start after {START_ATTEMPTS} attempts:\n{}",
        failures.join("\n")
    );
}

impl ScimServer {
    /// The SCIM base URL, e.g. `http://127.0.0.1:40123/v2` (`/Users`, `/Groups` below it).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v2", self.port)
    }

    /// The bearer token it accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (its data goes with it); the port stays reserved for [`Self::start`].
    pub fn stop(&mut self) {
        if let Some(running) = self.process.take() {
            running.kill();
        }
    }

    /// Starts it again on the same port, empty, and waits until it answers.
    ///
    /// # Panics
    /// When it does not start (e.g. another process took the port meanwhile).
    pub async fn start(&mut self) {
        self.stop();
        if let Err(e) = self.try_start().await {
            panic!(
                "testkit: {PROGRAM} did not start again on port {}: {e}",
                self.port
            );
        }
    }

    async fn try_start(&mut self) -> Result<(), String> {
        let mut command = Command::new(PROGRAM);
        command
            .args(["--hostname", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--bearer-token", &self.token]);
        self.process = Some(Running::spawn(command, &self.log, PROGRAM, spawn_watchdog)?);
        let (port, token) = (self.port, self.token.clone());
        component::await_ready(
            &mut self.process,
            port,
            &self.log,
            START_TIMEOUT,
            POLL,
            || answers(port, token.clone()),
        )
        .await
    }
}

/// Whether our server (it knows our token) answers on the port.
async fn answers(port: u16, token: String) -> bool {
    tokio::task::spawn_blocking(move || authenticated_get(port, &token, "/v2/Users?count=1"))
        .await
        .ok()
        .flatten()
        .is_some_and(|status| status == 200)
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_file(&self.log);
    }
}

/// A tiny HTTP/1.0 GET (the testkit has no HTTP client): the status code, if any answer came.
fn authenticated_get(port: u16, token: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    // "HTTP/1.0 200"
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Kills the server's process group once the test process (our parent) has exited.
fn spawn_watchdog(server_pid: u32) -> Result<Child, String> {
    const SCRIPT: &str = r#"
        parent=$1 server=$2
        while kill -0 "$parent" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 1; done
        kill -KILL "-$server" 2>/dev/null  # dash: no "--" before a process group
    "#;
    let server_pid = server_pid.to_string();
    component::spawn_watchdog("scim", SCRIPT, &[OsStr::new(&server_pid)])
}

/// No scim2-server: say so loudly (once), or panic under CI.
fn skip() -> Option<ScimServer> {
    static WARNED: OnceLock<()> = OnceLock::new();
    component::skip(
        &WARNED,
        &format!("{PROGRAM} is not on PATH; CI must not skip SCIM tests: pip install scim2-server"),
        &[
            &format!("SCIM tests SKIPPED: {PROGRAM} is not on PATH."),
            "Install it with: pip install scim2-server",
        ],
    )
}
