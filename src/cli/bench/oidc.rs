//! `eligo bench oidc`: single sign-on round trips on loopback. An in-process server (the
//! router `eligo serve` uses, on a loopback port) trusts a real provider, npm `oidc-provider`
//! started from `--provider-dir` (the repository's `tests/oidc`, after `npm ci` there); each
//! round is what a browser does: `GET /auth/oidc/start`, the provider's authorization endpoint,
//! its interaction (no form: the test provider signs the person in at once) and resume, then
//! Eligo's callback, which redeems the code with the PKCE verifier at the provider's token
//! endpoint, verifies the ID token against the provider's keys and opens a session. Rounds run
//! one after another. Reported: the whole round trip, and Eligo's share (start + callback,
//! the latter including the token request to the provider).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::json;

use crate::clock::Stopwatch;
use crate::config::Secret;
use crate::config::oidc::{OidcProvider, PrincipalClaim};
use crate::service::directory::{self, NewUser};

use super::{BenchDb, Outcome, bench_admin, ms, percentile};

const SECRET: &str = "bench-oidc-client-secret";

pub async fn run(
    url: Option<String>,
    provider_dir: PathBuf,
    rounds: usize,
) -> anyhow::Result<Outcome> {
    if !provider_dir
        .join("node_modules/oidc-provider/package.json")
        .exists()
    {
        bail!(
            "npm oidc-provider is not installed in {}: run npm ci --prefix {}",
            provider_dir.display(),
            provider_dir.display()
        );
    }
    let idp_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let mut idp = tokio::process::Command::new("node")
        .arg("provider.mjs")
        .current_dir(&provider_dir)
        .env("PORT", idp_port.to_string())
        .env("CLIENT_ID", "eligo-bench")
        .env("CLIENT_SECRET", SECRET)
        .env("REDIRECT_URIS", "http://127.0.0.1:1/auth/oidc/callback")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting node provider.mjs")?;
    let issuer = format!("http://127.0.0.1:{idp_port}");
    let result = measure(url, &issuer, &provider_dir, rounds.max(1)).await;
    let _ = idp.kill().await;
    result
}

async fn measure(
    url: Option<String>,
    issuer: &str,
    _dir: &Path,
    rounds: usize,
) -> anyhow::Result<Outcome> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    // The provider is up when its discovery document answers.
    let mut up = false;
    for _ in 0..200 {
        if http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::ensure!(up, "the provider did not start at {issuer}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let db = BenchDb::new(url);
    let app = db
        .open(|c| {
            c.public_url = base.clone();
            c.oidc = vec![OidcProvider {
                name: "bench".into(),
                display_name: "Bench IdP".into(),
                issuer: issuer.to_string(),
                client_id: "eligo-bench".into(),
                client_secret: Some(Secret::new(SECRET)),
                scopes: vec!["email".into(), "profile".into()],
                principal_claim: PrincipalClaim::Email,
                auto_create: false,
            }];
        })
        .await?;
    let admin = bench_admin(&app).await?;
    directory::create_user(
        &app,
        &admin,
        NewUser {
            user_principal_name: "sso@bench.example".into(),
            display_name: "SSO bench".into(),
            mail: None,
            mail_nickname: None,
            manager_id: None,
            account_enabled: true,
            password: None,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the bench user: {}", e.message))?;
    let login = json!({
        "account": "sso-bench",
        "claims": { "email": "sso@bench.example", "email_verified": true },
        "amr": ["pwd", "otp"], "acr": "c1",
    });
    let set = http
        .post(format!("{issuer}/test/login"))
        .json(&login)
        .send()
        .await?;
    anyhow::ensure!(
        set.status().as_u16() == 204,
        "the provider refused the login"
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = crate::router::build_router(app.clone());
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });

    let mut whole = Vec::with_capacity(rounds);
    let mut eligo = Vec::with_capacity(rounds);
    let mut failed = 0usize;
    // One warm-up round: discovery and the keys are read once and cached.
    let _ = round(&http, &base).await;
    for _ in 0..rounds {
        match round(&http, &base).await {
            Ok((w, e)) => {
                whole.push(w);
                eligo.push(e);
            }
            Err(e) => {
                failed += 1;
                if failed == 1 {
                    eprintln!("a round failed: {e:#}");
                }
            }
        }
    }
    let _ = stop.send(());
    server.await??;
    app.store.close().await;
    db.remove();
    whole.sort();
    eligo.sort();
    let total: Duration = whole.iter().sum();
    let per_s = if total.is_zero() {
        0.0
    } else {
        whole.len() as f64 / total.as_secs_f64()
    };
    let line = format!(
        "RESULT bench=oidc rounds={} signed_in={} failed={} per_s={:.1} round_trip_p50_ms={:.2} round_trip_p99_ms={:.2} eligo_p50_ms={:.2} eligo_p99_ms={:.2}",
        rounds,
        whole.len(),
        failed,
        per_s,
        ms(percentile(&whole, 0.5)),
        ms(percentile(&whole, 0.99)),
        ms(percentile(&eligo, 0.5)),
        ms(percentile(&eligo, 0.99)),
    );
    let problems = if failed > 0 {
        vec![format!("{failed} of {rounds} sign-ins failed")]
    } else {
        Vec::new()
    };
    Ok(Outcome {
        line,
        details: vec![format!(
            "DETAIL round_trip_max_ms={:.2} eligo_max_ms={:.2} (eligo = start + callback, the callback including the token request to the provider)",
            ms(whole.last().copied().unwrap_or_default()),
            ms(eligo.last().copied().unwrap_or_default())
        )],
        problems,
    })
}

/// One browser's sign-in; answers the whole time and Eligo's share.
async fn round(http: &reqwest::Client, base: &str) -> anyhow::Result<(Duration, Duration)> {
    let whole = Stopwatch::start();
    let start = Stopwatch::start();
    let resp = http.get(format!("{base}/auth/oidc/start")).send().await?;
    let mut ours = start.elapsed();
    anyhow::ensure!(
        resp.status().as_u16() == 303,
        "start answered {}",
        resp.status()
    );
    let mut jar: HashMap<String, String> = HashMap::new();
    keep(&mut jar, &resp);
    let mut url = location(&resp, base)?;
    for _ in 0..10 {
        let cookie = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let ours_now = url.starts_with(base);
        let sw = Stopwatch::start();
        let resp = http.get(&url).header("cookie", cookie).send().await?;
        if ours_now {
            ours += sw.elapsed();
            anyhow::ensure!(
                resp.status().as_u16() == 303
                    && resp
                        .headers()
                        .get_all("set-cookie")
                        .iter()
                        .any(|c| c.to_str().unwrap_or("").starts_with("eligo_session=")),
                "the callback answered {} without a session",
                resp.status()
            );
            return Ok((whole.elapsed(), ours));
        }
        keep(&mut jar, &resp);
        url = location(&resp, &url)?;
    }
    bail!("too many redirects")
}

fn keep(jar: &mut HashMap<String, String>, resp: &reqwest::Response) {
    for c in resp.headers().get_all("set-cookie") {
        let c = c.to_str().unwrap_or("");
        if let Some((k, v)) = c.split(';').next().and_then(|p| p.split_once('=')) {
            if v.is_empty() {
                jar.remove(k);
            } else {
                jar.insert(k.to_string(), v.to_string());
            }
        }
    }
}

fn location(resp: &reqwest::Response, from: &str) -> anyhow::Result<String> {
    let next = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .with_context(|| format!("no redirect from {from} ({})", resp.status()))?;
    Ok(reqwest::Url::parse(from)?.join(next)?.to_string())
}
