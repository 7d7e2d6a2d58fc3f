//! Support for the process-level tests: the real `eligo` binary started on a free loopback port
//! with its own data directory, its output captured, readiness found by polling `/healthz`, and
//! the child killed when its guard is dropped so that no `eligo` outlives a test.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

pub const BIN: &str = env!("CARGO_BIN_EXE_eligo");
pub const DEMO_PASSWORD: &str = "Eligo-demo-2026!";

/// Polling step and bound for "has it happened yet" loops (no fixed sleeps for synchronisation).
pub const STEP: Duration = Duration::from_millis(50);
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

/// A plain HTTP client. The crate uses rustls without a built-in provider, so install ring.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

/// `eligo` with no `ELIGO_*` variable inherited from the environment, stdin closed, and
/// killed if the handle is dropped.
pub fn eligo() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ELIGO_") {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// Where a server keeps its state: a data directory (SQLite inside unless `database_url`).
#[derive(Clone, Debug)]
pub struct Spec {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub bootstrap: Option<String>,
    pub args: Vec<String>,
    /// More `ELIGO_*` settings for the server.
    pub settings: Vec<(String, String)>,
}

impl Spec {
    pub fn sqlite(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            database_url: None,
            bootstrap: Some(crate::harness::BOOTSTRAP.to_string()),
            args: Vec::new(),
            settings: Vec::new(),
        }
    }

    /// Several servers share the database, so they share a configured master key.
    pub fn postgres(data_dir: &Path, url: String) -> Self {
        Self {
            database_url: Some(url),
            ..Self::sqlite(data_dir)
        }
        .setting("ELIGO_MASTER_KEY", crate::harness::TEST_MASTER_KEY)
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.to_string(), value.to_string()));
        self
    }

    pub fn without_bootstrap(mut self) -> Self {
        self.bootstrap = None;
        self
    }

    /// The store's environment, for `serve` and the offline commands alike.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "ELIGO_DATA_DIR".to_string(),
                self.data_dir.display().to_string(),
            ),
            // The tests' receivers, slapd and SCIM servers listen on loopback.
            ("ELIGO_OUTBOUND_ALLOW".to_string(), LOOPBACK.to_string()),
            // Tests verify the chain repeatedly; its ration is tested in `limits`.
            (
                "ELIGO_AUDIT_VERIFY_INTERVAL".to_string(),
                "PT0S".to_string(),
            ),
        ];
        if let Some(url) = &self.database_url {
            env.push(("ELIGO_DATABASE_URL".into(), url.clone()));
        }
        if let Some(t) = &self.bootstrap {
            env.push(("ELIGO_BOOTSTRAP_TOKEN".into(), t.clone()));
        }
        env.extend(self.settings.iter().cloned());
        env
    }
}

/// Loopback, which the tests' own components listen on (and nothing else internal).
pub const LOOPBACK: &str = "127.0.0.0/8, ::1";

/// Output of a finished process.
#[derive(Debug)]
pub struct Out {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn ok(&self) -> bool {
        self.status.success()
    }

    pub fn show(&self) -> String {
        format!(
            "status {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `eligo ARGS` to completion (bounded) with extra environment variables.
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = eligo();
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("eligo {args:?} did not finish within 60 s"))
        .unwrap_or_else(|e| panic!("eligo {args:?} could not be run: {e}"));
    Out {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Like [`run`] with a [`Spec`]'s store environment.
pub async fn run_on(spec: &Spec, args: &[&str], extra: &[(&str, &str)]) -> Out {
    let env = spec.env();
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(extra);
    run(args, &all).await
}

type Buffer = Arc<Mutex<String>>;

fn capture<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    mut pipe: R,
) -> (Buffer, JoinHandle<()>) {
    let buf = Buffer::default();
    let sink = buf.clone();
    let task = tokio::spawn(async move {
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => sink
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n])),
            }
        }
    });
    (buf, task)
}

enum Start {
    Ready,
    Exited(ExitStatus),
    TimedOut,
}

/// A running `eligo serve`; dropping it kills the process.
pub struct Server {
    child: Child,
    pub base: String,
    pub port: u16,
    stdout: Buffer,
    stderr: Buffer,
    readers: Vec<JoinHandle<()>>,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Already exited is fine; kill_on_drop is the second line of defence.
        let _ = self.child.start_kill();
    }
}

impl Server {
    /// Starts `eligo serve` on a free port and waits until `/healthz` answers 200. Retries on
    /// another port when the chosen one was taken between asking and binding.
    pub async fn start(spec: &Spec) -> Server {
        let mut last = String::new();
        for _attempt in 0..3 {
            let port = eligo_testkit::free_port();
            let mut cmd = eligo();
            cmd.arg("serve")
                .args(&spec.args)
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            // A setting may name the port the server gets ("{port}"), e.g. its public URL.
            for (k, v) in spec.env() {
                cmd.env(k, v.replace("{port}", &port.to_string()));
            }
            let mut child = cmd.spawn().expect("spawning eligo serve");
            let (stdout, out_task) = capture(child.stdout.take().expect("stdout piped"));
            let (stderr, err_task) = capture(child.stderr.take().expect("stderr piped"));
            let mut server = Server {
                child,
                base: format!("http://127.0.0.1:{port}"),
                port,
                stdout,
                stderr,
                readers: vec![out_task, err_task],
                http: http(),
            };
            match server.wait_ready().await {
                Start::Ready => return server,
                Start::Exited(status) => {
                    server.drain().await;
                    last = format!(
                        "eligo serve exited early with {status:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                        server.stdout(),
                        server.stderr()
                    );
                    if server.stderr().contains("binding") {
                        continue;
                    }
                    panic!("{last}");
                }
                Start::TimedOut => panic!(
                    "eligo serve did not answer /healthz within {READY_TIMEOUT:?}\n--- stderr ---\n{}",
                    server.stderr()
                ),
            }
        }
        panic!("eligo serve could not bind a free port: {last}");
    }

    async fn wait_ready(&mut self) -> Start {
        let url = format!("{}/healthz", self.base);
        let steps = READY_TIMEOUT.as_millis() / STEP.as_millis();
        for _ in 0..steps {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Start::Exited(status);
            }
            let probe = self.http.get(&url).timeout(Duration::from_secs(2)).send();
            if let Ok(resp) = probe.await
                && resp.status() == reqwest::StatusCode::OK
            {
                return Start::Ready;
            }
            tokio::time::sleep(STEP).await;
        }
        Start::TimedOut
    }

    /// Waits (bounded) for the output readers to reach end of file.
    async fn drain(&mut self) {
        for task in self.readers.drain(..) {
            let _ = tokio::time::timeout(EXIT_TIMEOUT, task).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends a signal with `kill -s NAME PID`.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -s {name} failed: {status:?}");
    }

    /// Waits (bounded) for the process to exit, then for its output to be read to the end.
    pub async fn wait_exit(&mut self, within: Duration) -> Out {
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "eligo serve did not exit within {within:?}\n--- stderr ---\n{}",
                    self.stderr()
                )
            })
            .expect("waiting for eligo serve");
        self.drain().await;
        Out {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }

    /// SIGTERM, then the exit (which must come within [`EXIT_TIMEOUT`]).
    pub async fn stop(mut self) -> Out {
        self.signal("TERM");
        self.wait_exit(EXIT_TIMEOUT).await
    }

    /// SIGKILL: no chance to clean up.
    pub async fn kill9(mut self) -> Out {
        self.child.start_kill().expect("sending SIGKILL");
        self.wait_exit(EXIT_TIMEOUT).await
    }

    /// Polls (bounded) until the captured stderr satisfies `pred`.
    pub async fn wait_for_stderr(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let steps = READY_TIMEOUT.as_millis() / STEP.as_millis();
        for _ in 0..steps {
            if pred(&self.stderr()) {
                return;
            }
            tokio::time::sleep(STEP).await;
        }
        panic!(
            "no {what} on stderr within {READY_TIMEOUT:?}\n--- stderr ---\n{}",
            self.stderr()
        );
    }

    /// Polls (bounded) until the captured stdout satisfies `pred`.
    pub async fn wait_for_stdout(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let steps = READY_TIMEOUT.as_millis() / STEP.as_millis();
        for _ in 0..steps {
            if pred(&self.stdout()) {
                return;
            }
            tokio::time::sleep(STEP).await;
        }
        panic!(
            "no {what} on stdout within {READY_TIMEOUT:?}\n--- stdout ---\n{}",
            self.stdout()
        );
    }

    pub fn client(&self) -> Api {
        Api {
            http: self.http.clone(),
            base: self.base.clone(),
        }
    }
}

/// A thin JSON client for one server.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, body))
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(body))
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// POST /v1/auth/token; (status, body).
    pub async fn sign_in(&self, upn: &str, password: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({ "username": upn, "password": password })),
        )
        .await
        .unwrap_or_else(|e| panic!("POST /v1/auth/token: {e}"))
    }

    /// Every userPrincipalName, following `@odata.nextLink` page by page.
    pub async fn all_upns(&self, token: &str) -> HashSet<String> {
        let mut upns = HashSet::new();
        let mut next = Some("/v1/users?$top=100".to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            assert!(pages < 1000, "paging does not end");
            let (status, body) = self.get(&path, token).await;
            assert_eq!(status, 200, "GET {path}: {body}");
            for u in body["value"].as_array().expect("a value array") {
                let upn = u["userPrincipalName"].as_str().expect("a UPN");
                assert!(upns.insert(upn.to_string()), "{upn} listed twice");
            }
            next = body["@odata.nextLink"].as_str().map(String::from);
        }
        upns
    }

    /// GET /v1/users?$filter=userPrincipalName eq '...' -> how many users match.
    pub async fn count_upn(&self, token: &str, upn: &str) -> usize {
        let (status, body) = self
            .call_query(
                "/v1/users",
                token,
                &[("$filter", format!("userPrincipalName eq '{upn}'"))],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["value"].as_array().expect("a value array").len()
    }

    pub async fn call_query(
        &self,
        path: &str,
        token: &str,
        query: &[(&str, String)],
    ) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }
}

/// Best-effort removal of a test's directory once it passed (kept on failure for inspection).
pub fn clean(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// One person at a terminal running `eligo` with the demo password: their own config
/// directory (session file).
pub struct Terminal {
    config: std::path::PathBuf,
}

impl Terminal {
    pub fn new(dir: &std::path::Path, name: &str) -> Self {
        Self {
            config: dir.join(format!("config-{name}")),
        }
    }

    pub async fn run(&self, args: &[&str]) -> Out {
        let mut cmd = eligo();
        cmd.args(args)
            .env("ELIGO_CONFIG_DIR", &self.config)
            .env("ELIGO_PASSWORD", DEMO_PASSWORD)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let output = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("eligo {args:?} did not finish within 60 s"))
            .expect("running eligo");
        Out {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub async fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args).await;
        assert_eq!(out.code(), Some(0), "eligo {args:?}: {}", out.show());
        out
    }

    pub async fn fails(&self, args: &[&str]) -> Out {
        let out = self.run(args).await;
        assert!(!out.ok(), "eligo {args:?} succeeded: {}", out.show());
        assert!(out.stderr.contains("error"), "{}", out.show());
        out
    }
}

/// The TOTP code `steps` periods of 30 s from now (a code is accepted once).
pub fn code_now(secret: &str, steps: i64) -> String {
    use eligo::clock::Clock;
    eligo::auth::totp::code_at(
        secret,
        eligo::clock::SystemClock.now() + chrono::TimeDelta::seconds(30 * steps),
    )
    .unwrap()
}
