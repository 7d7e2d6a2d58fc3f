//! Availability under abuse (threat-model rule 9), against the real binary on a real socket:
//! connections that send nothing or trickle their headers are closed after
//! `ELIGO_HEADER_READ_TIMEOUT`, idle keep-alive connections too, and while hundreds of them are
//! open the health check and a sign-in still answer.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::support::*;
use crate::harness::{BOOTSTRAP, temp_dir};

/// Reads until the server closes the connection (EOF or reset) or `within` passes.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(within, read).await.is_ok()
}

#[tokio::test]
async fn silent_and_trickling_connections_are_closed_and_do_not_starve_the_health_check() {
    let dir = temp_dir("proc-abuse");
    let spec = Spec::sqlite(&dir).setting("ELIGO_HEADER_READ_TIMEOUT", "PT1S");
    let server = Server::start(&spec).await;
    let addr = format!("127.0.0.1:{}", server.port);

    // 400 connections that never send a byte.
    let mut silent = Vec::new();
    for _ in 0..400 {
        silent.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // One that trickles a request header a byte at a time (slowloris).
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let trickle = tokio::spawn(async move {
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
            .iter()
            .cycle()
            .take(200)
        {
            if slow.write_all(&[*b]).await.is_err() {
                return true; // closed by the server
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });

    // Meanwhile the health check and a sign-in answer.
    let api = server.client();
    let (status, body) = api.get("/healthz", BOOTSTRAP).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.sign_in("nobody@contoso.example", "wrong").await;
    assert_eq!(status, 401, "{body}");

    // The silent ones are closed once the header timeout passes.
    for (i, stream) in silent.iter_mut().enumerate().step_by(40) {
        assert!(
            closed_within(stream, Duration::from_secs(5)).await,
            "silent connection {i} still open"
        );
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(10), trickle)
            .await
            .expect("the trickling client was cut off")
            .unwrap(),
        "the trickling connection was closed by the server"
    );

    // A keep-alive connection idle after its answer is closed too.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut idle, Duration::from_secs(5)).await,
        "idle keep-alive still open"
    );

    let (status, _) = api.get("/healthz", BOOTSTRAP).await;
    assert_eq!(status, 200);
    assert_eq!(server.stop().await.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn metrics_have_a_listener_of_their_own() {
    let dir = temp_dir("proc-metrics");
    let port = eligo_testkit::free_port();
    let spec = Spec::sqlite(&dir).setting("ELIGO_METRICS_LISTEN", &format!("127.0.0.1:{port}"));
    let server = Server::start(&spec).await;
    let (status, _) = server.client().get("/healthz", BOOTSTRAP).await;
    assert_eq!(status, 200);
    let internal = http()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("the metrics listener answers");
    assert_eq!(internal.status(), 200);
    assert!(
        internal
            .text()
            .await
            .unwrap()
            .contains("eligo_http_requests_total")
    );
    let (status, _) = server.client().get("/metrics", BOOTSTRAP).await;
    assert_eq!(status, 404, "not on the main listener");
    assert_eq!(server.stop().await.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Built-in TLS: the server answers HTTPS with the configured certificate and HSTS, and plain
/// HTTP gets no answer.
#[tokio::test]
async fn built_in_tls_serves_https_with_hsts() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty()),
            "CI must not skip the TLS test: install openssl"
        );
        return;
    }
    let dir = temp_dir("proc-tls");
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let ca = eligo_testkit::slapd::make_certificates(&certs).await;
    let port = eligo_testkit::free_port();
    let spec = Spec::sqlite(&dir.join("data"));
    let mut cmd = eligo();
    cmd.arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("ELIGO_TLS_CERT_FILE", certs.join("server.pem"))
        .env("ELIGO_TLS_KEY_FILE", certs.join("server.key"))
        .env("ELIGO_PUBLIC_URL", format!("https://localhost:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in spec.env() {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("https://localhost:{port}/healthz");
    let mut answer = None;
    for _ in 0..200 {
        if let Ok(resp) = client.get(&url).send().await {
            answer = Some(resp);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = answer.expect("the server answers over TLS");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
    let plain = http()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plain HTTP is not served"
    );
    let _ = child.start_kill();
    let _ = child.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
}
