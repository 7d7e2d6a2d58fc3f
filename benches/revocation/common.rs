//! What both parts of the benchmark share: a real Eligo in-process (real clock, scheduler and
//! outbox worker running as `eligo serve` runs them), HTTP through the router, the wall clock,
//! and percentiles.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, Utc};
use eligo::app::AppState;
use eligo::clock::{Clock, SystemClock};
use eligo::config::{Config, Secret};
use eligo::router::build_router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

pub const BOOTSTRAP: &str = "bench-bootstrap-token-0123456789";
pub const PASSWORD: &str = "correct horse battery staple";

/// The wall clock, read through Eligo's one sanctioned clock.
pub fn now() -> DateTime<Utc> {
    SystemClock.now()
}

/// Milliseconds from `from` to `to` (negative when `to` is earlier).
pub fn ms_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

/// Sleeps until the wall clock reads `at` (returns at once when it has passed).
pub async fn sleep_until(at: DateTime<Utc>) {
    if let Ok(wait) = (at - now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}

/// Nearest-rank percentile of `sorted` (ascending); 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// Where an Eligo keeps its data.
pub enum Backend {
    Sqlite,
    /// A database URL from the testkit.
    Postgres(String),
}

/// A real Eligo in-process: the store, the access index, the scheduler and the outbox worker
/// (not the reconciler), and the router driven with `oneshot` as the integration tests do.
pub struct Eligo {
    pub app: AppState,
    router: Router,
    dir: PathBuf,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Eligo {
    pub async fn open(backend: Backend, smtp_url: Option<String>) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("eligo-bench-revocation-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.join("eligo.db").display()),
            Backend::Postgres(url) => url,
        };
        let mut config = Config::defaults();
        config.database_url = Secret::new(url);
        config.data_dir = dir.clone();
        config.bootstrap_token = Some(Secret::new(BOOTSTRAP));
        config.master_key = Some(Secret::new(eligo::keys::BENCH_KEY));
        config.smtp_url = smtp_url.map(Secret::new);
        config.mail_from = "eligo@contoso.example".into();
        // slapd and the SMTP sink listen on loopback, which Eligo calls only when allowed.
        config.outbound_allow = eligo::config::networks::parse("127.0.0.0/8, ::1")
            .expect("the loopback networks parse");
        // The reconciler is not started; should anything consult the interval, it is long.
        config.reconcile_interval = chrono::TimeDelta::days(1);
        let (app, _) = eligo::server::prepare(config, Arc::new(SystemClock), false).await?;
        // Exactly as `eligo serve` starts them (src/server.rs), minus the reconciler.
        let tasks = vec![
            tokio::spawn(eligo::service::pim::scheduler::run_forever(app.clone())),
            tokio::spawn(eligo::outbox::worker::run_forever(app.clone())),
        ];
        let router = build_router(app.clone());
        Ok(Self {
            app,
            router,
            dir,
            tasks,
        })
    }

    pub fn backend(&self) -> &'static str {
        self.app.store.backend()
    }

    /// One request through the router, as a client would send it.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let uri = path.replace(' ', "%20").replace('\'', "%27");
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }?;
        let resp = self.router.clone().oneshot(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Ok((status, body))
    }

    /// A request that must answer `want`; returns the body.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        want: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.call(method.clone(), path, Some(token), body).await?;
        if status != want {
            bail!("{method} {path}: expected {want}, got {status}: {answer}");
        }
        Ok(answer)
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> anyhow::Result<Value> {
        self.expect(Method::POST, path, token, Some(body), StatusCode::CREATED)
            .await
    }

    /// Stops the background loops and closes the store.
    pub async fn close(mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
        self.app.store.close().await;
    }
}

impl Drop for Eligo {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn id_of(v: &Value) -> anyhow::Result<Uuid> {
    v["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .with_context(|| format!("no id in {v}"))
}

/// Polls `check` every `every` until it returns Some, or fails after `limit`.
pub async fn wait_for<T, F, Fut>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = now() + chrono::TimeDelta::from_std(limit)?;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if now() > deadline {
            bail!("timed out after {} s waiting for {what}", limit.as_secs());
        }
        tokio::time::sleep(every).await;
    }
}
