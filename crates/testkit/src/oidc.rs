//! A real OpenID Connect provider for Eligo's SSO tests: npm `oidc-provider` (OpenID Certified)
//! run by `tests/oidc/provider.mjs` with Node.js on a free loopback port, with one confidential
//! client. The test chooses who signs in next (account, claims, `acr`, `amr`, `auth_time`:
//! [`OidcProvider::set_login`]) and may spoil the next ID token ([`OidcProvider::tamper`]).
//! Dropping it kills the process; [`OidcProvider::stop`] takes it down (a provider that is
//! down) and [`OidcProvider::start`] brings it back on the same port.
//!
//! Without Node.js or the installed package, [`oidc_provider`] returns `None` after a loud
//! message, except under CI (`CI` set and non-empty), where it panics: CI never skips.

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;

use crate::component::{self, Running};

const START_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);
const START_ATTEMPTS: u32 = 3;

/// A running (or stopped) provider.
pub struct OidcProvider {
    port: u16,
    client_id: String,
    client_secret: String,
    redirect_uris: Vec<String>,
    dir: PathBuf,
    node: PathBuf,
    log: PathBuf,
    process: Option<Running>,
}

/// Starts a provider whose client may redirect to `redirect_uris`; `dir` is the folder with
/// `provider.mjs` and its `node_modules` (the workspace's `tests/oidc`).
///
/// # Panics
/// When it is installed but does not start, and under CI when it is not installed.
pub async fn oidc_provider(dir: &Path, redirect_uris: &[String]) -> Option<OidcProvider> {
    let Some(node) = component::find_on_path("node") else {
        return skip(
            "Node.js (node) is not on PATH",
            "apt-get install -y nodejs npm",
        );
    };
    if !dir.join("node_modules/oidc-provider/package.json").exists() {
        return skip(
            "npm oidc-provider is not installed for the SSO tests",
            &format!("npm ci --prefix {}", dir.display()),
        );
    }
    let log = std::env::temp_dir().join(format!("eligo-oidc-{}.log", uuid::Uuid::new_v4()));
    let mut failures = Vec::new();
    for _ in 0..START_ATTEMPTS {
        let mut p = OidcProvider {
            port: crate::free_port(),
            client_id: "eligo-test".into(),
            client_secret: format!("s{}", uuid::Uuid::new_v4().simple()),
            redirect_uris: redirect_uris.to_vec(),
            dir: dir.to_path_buf(),
            node: node.clone(),
            log: log.clone(),
            process: None,
        };
        match p.try_start().await {
            Ok(()) => return Some(p),
            Err(e) => failures.push(e),
        }
    }
    panic!(
        "testkit: oidc-provider did not start after {START_ATTEMPTS} attempts:\n{}",
        failures.join("\n")
    );
}

impl OidcProvider {
    /// The issuer, e.g. `http://127.0.0.1:40123`.
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// Who the next sign-ins are: `login` is JSON `{"account", "claims": {...}, "acr", "amr":
    /// [...], "authTime"}` (see `tests/oidc/provider.mjs`).
    pub async fn set_login(&self, login: &str) {
        let status = self.post("/test/login", login).await;
        assert_eq!(status, Some(204), "oidc-provider refused the login");
    }

    /// The next token response's ID token is spoiled: `audience`, `issuer`, `nonce`,
    /// `expired`, `signature`, `none` or `hs256`.
    pub async fn tamper(&self, mode: &str) {
        let status = self
            .post("/test/tamper", &format!("{{\"mode\":\"{mode}\"}}"))
            .await;
        assert_eq!(status, Some(204), "oidc-provider refused to tamper");
    }

    async fn post(&self, path: &str, body: &str) -> Option<u16> {
        let (port, path, body) = (self.port, path.to_string(), body.to_string());
        tokio::task::spawn_blocking(move || request(port, "POST", &path, &body))
            .await
            .ok()
            .flatten()
    }

    /// Kills the provider (a provider that is down); the port stays for [`Self::start`].
    pub fn stop(&mut self) {
        if let Some(running) = self.process.take() {
            running.kill();
        }
    }

    /// Starts it again on the same port (with new keys and no sessions).
    pub async fn start(&mut self) {
        self.stop();
        if let Err(e) = self.try_start().await {
            panic!("testkit: oidc-provider did not start again: {e}");
        }
    }

    async fn try_start(&mut self) -> Result<(), String> {
        let mut command = Command::new(&self.node);
        command
            .arg("provider.mjs")
            .current_dir(&self.dir)
            .env("PORT", self.port.to_string())
            .env("CLIENT_ID", &self.client_id)
            .env("CLIENT_SECRET", &self.client_secret)
            .env("REDIRECT_URIS", self.redirect_uris.join(","));
        self.process = Some(Running::spawn(command, &self.log, "node", spawn_watchdog)?);
        let port = self.port;
        component::await_ready(
            &mut self.process,
            port,
            &self.log,
            START_TIMEOUT,
            POLL,
            || async move {
                let discovery = tokio::task::spawn_blocking(move || {
                    request(port, "GET", "/.well-known/openid-configuration", "")
                });
                discovery.await.ok().flatten() == Some(200)
            },
        )
        .await
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_file(&self.log);
    }
}

/// A tiny HTTP/1.0 request (the testkit has no HTTP client): the status code, if any.
fn request(port: u16, method: &str, path: &str, body: &str) -> Option<u16> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn spawn_watchdog(pid: u32) -> Result<Child, String> {
    const SCRIPT: &str = r#"
        parent=$1 server=$2
        while kill -0 "$parent" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 1; done
        kill -KILL "-$server" 2>/dev/null
    "#;
    let pid = pid.to_string();
    component::spawn_watchdog("oidc", SCRIPT, &[OsStr::new(&pid)])
}

fn skip(what: &str, install: &str) -> Option<OidcProvider> {
    static WARNED: OnceLock<()> = OnceLock::new();
    component::skip(
        &WARNED,
        &format!("{what}; CI must not skip the SSO tests: {install}"),
        &[
            &format!("SSO (OpenID Connect) tests SKIPPED: {what}."),
            &format!("Install it with: {install}"),
        ],
    )
}
