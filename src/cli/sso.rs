//! `eligo login --sso`: single sign-on from a terminal by RFC 8252's loopback redirect. The CLI
//! listens on 127.0.0.1 on a port of its own, asks the server for the provider's authorization
//! URL (the server keeps the state, nonce and PKCE verifier), prints it for the person to open,
//! waits for the browser to come back with the code, and trades code, state and its own binding
//! secret for an API session. Nothing is read from anywhere but that one loopback request.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::net::Conn;

/// How long the person has to finish in the browser.
const WAIT: Duration = Duration::from_secs(300);

/// Signs in through the server's provider; answers the server's token response.
pub async fn login(conn: &Conn, provider: Option<&str>) -> anyhow::Result<Value> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("listening on a loopback port for the browser to come back")?;
    let port = listener.local_addr()?.port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let started = conn
        .post(
            "/auth/oidc/cli/start",
            &json!({ "provider": provider, "redirectUri": redirect }),
        )
        .await?;
    let url = started["authorizationUrl"]
        .as_str()
        .context("the server sent no authorization URL")?;
    let binding = started["binding"]
        .as_str()
        .context("the server sent no binding")?
        .to_string();
    eprintln!(
        "To sign in with {}, open this address in a browser on this machine:\n\n  {url}\n\nWaiting for the browser to come back to {redirect} ...",
        started["provider"]
            .as_str()
            .unwrap_or("your identity provider")
    );
    let (state, code, iss) = tokio::time::timeout(WAIT, wait_for_code(&listener))
        .await
        .context("no sign-in came back within five minutes")??;
    conn.post(
        "/auth/oidc/cli/token",
        &json!({ "state": state, "code": code, "binding": binding, "iss": iss }),
    )
    .await
}

/// The first request to `/callback` with a code (or an error) ends the wait.
async fn wait_for_code(listener: &TcpListener) -> anyhow::Result<(String, String, Option<String>)> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let mut buf = vec![0u8; 8192];
        let n = match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => continue,
        };
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        let target = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("");
        let Some(query) = target.strip_prefix("/callback?") else {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            continue;
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let (message, outcome) = match (get("state"), get("code"), get("error")) {
            (Some(s), Some(c), _) => (
                "Signed in. You can close this window and go back to the terminal.",
                Ok((s, c, get("iss"))),
            ),
            (_, _, Some(e)) => (
                "The identity provider did not sign you in. See the terminal.",
                Err(anyhow::anyhow!("the identity provider answered {e}")),
            ),
            _ => (
                "This address expects the identity provider's answer.",
                Err(anyhow::anyhow!("the browser came back without a code")),
            ),
        };
        let body = format!("<!doctype html><title>Eligo</title><p>{message}</p>");
        let _ = stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await;
        let _ = stream.shutdown().await;
        return match outcome {
            Ok(pair) => Ok(pair),
            Err(e) => bail!(e),
        };
    }
}
