//! Crashes and shutdowns: nothing acknowledged is lost to `kill -9`, and SIGTERM lets the
//! request in flight finish before the process exits 0.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

use super::support::*;
use crate::harness::*;

/// Acknowledged writes to collect before the SIGKILL.
const ACKS_BEFORE_KILL: usize = 150;
/// One sequential writer plus this many concurrent ones.
const CONCURRENT_WRITERS: usize = 3;

/// Writes users until a request fails (the server is gone); records each UPN whose POST was
/// answered 201, and returns how many were sent at all.
async fn writer(
    api: Api,
    tag: String,
    acked: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicUsize>,
) -> usize {
    let mut sent = 0;
    for i in 0.. {
        let upn = format!("crash-{tag}-{i}@contoso.example");
        sent += 1;
        let body = json!({ "userPrincipalName": upn, "displayName": format!("Crash {tag} {i}") });
        match api
            .call(
                reqwest::Method::POST,
                "/v1/users",
                Some(BOOTSTRAP),
                Some(body),
            )
            .await
        {
            Ok((201, _)) => {
                acked.lock().await.push(upn);
                count.fetch_add(1, Ordering::SeqCst);
            }
            // Anything but 201 before the kill is a failure of its own.
            Ok((status, body)) => panic!("POST /v1/users for {upn}: {status} {body}"),
            // Connection reset / refused: the server was killed under us.
            Err(_) => break,
        }
    }
    sent
}

async fn kill_9_loses_no_acknowledged_write(spec: Spec) {
    let server = Server::start(&spec).await;
    let api = server.client();

    let acked = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..=CONCURRENT_WRITERS {
        writers.push(tokio::spawn(writer(
            api.clone(),
            format!("w{w}"),
            acked.clone(),
            count.clone(),
        )));
    }

    // Bounded wait for enough acknowledged writes; the writers keep going meanwhile, so the
    // SIGKILL lands while requests are in flight.
    let mut steps = 0;
    while count.load(Ordering::SeqCst) < ACKS_BEFORE_KILL {
        steps += 1;
        assert!(
            steps < 60_000 / 10,
            "only {} writes acknowledged in 60 s",
            count.load(Ordering::SeqCst)
        );
        assert!(
            writers.iter().all(|w| !w.is_finished()),
            "a writer stopped before the kill"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let killed = server.kill9().await;
    assert!(
        !killed.ok(),
        "SIGKILL should end the process abnormally: {}",
        killed.show()
    );
    let mut sent = 0;
    for w in writers {
        sent += tokio::time::timeout(Duration::from_secs(30), w)
            .await
            .expect("writers stop once the server is gone")
            .expect("writer task");
    }
    let acked: Vec<String> = acked.lock().await.clone();
    assert!(acked.len() >= ACKS_BEFORE_KILL);
    eprintln!(
        "kill -9: {} writes acknowledged, {} sent, {} in flight or refused at the kill",
        acked.len(),
        sent,
        sent - acked.len()
    );

    // Same database, new process.
    let server = Server::start(&spec).await;
    let api = server.client();
    let listed = api.all_upns(BOOTSTRAP).await;
    let lost: Vec<&String> = acked.iter().filter(|u| !listed.contains(*u)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost after kill -9: {lost:?}",
        lost.len()
    );
    // The listing agrees with the filtered lookup (first, last and a middle one).
    for upn in [&acked[0], &acked[acked.len() / 2], &acked[acked.len() - 1]] {
        assert_eq!(api.count_upn(BOOTSTRAP, upn).await, 1, "{upn}");
    }
    let (status, verdict) = api.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["valid"], true, "{verdict}");
    // Every acknowledged user has its "Add user" entry (plus the bootstrap's own entries).
    let entries = verdict["entries"].as_u64().expect("entries");
    assert!(entries as usize > acked.len(), "{verdict}");
    // No acknowledged user without its audit entry: spot-check the last acknowledged one.
    let last_id = {
        let (_, body) = api
            .call_query(
                "/v1/users",
                BOOTSTRAP,
                &[(
                    "$filter",
                    format!("userPrincipalName eq '{}'", acked[acked.len() - 1]),
                )],
            )
            .await;
        body["value"][0]["id"].as_str().expect("an id").to_string()
    };
    let (status, audits) = api
        .call_query(
            "/v1/auditLogs/directoryAudits",
            BOOTSTRAP,
            &[("$filter", format!("targetId eq '{last_id}'"))],
        )
        .await;
    assert_eq!(status, 200, "{audits}");
    assert!(
        audits["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["activityDisplayName"] == "Add user"),
        "{audits}"
    );
    // The verdict just before the stop (each use of the break-glass token is audited too).
    let (_, verdict) = api.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    let stopped = server.stop().await;
    assert!(stopped.ok(), "{}", stopped.show());

    let offline = run_on(&spec, &["audit", "verify"], &[]).await;
    assert_eq!(offline.code(), Some(0), "{}", offline.show());
    let v: Value = serde_json::from_str(&offline.stdout).expect("a JSON verdict");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["entries"], verdict["entries"], "{v}");
    assert_eq!(v["headHash"], verdict["headHash"], "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_write_sqlite() {
    let dir = temp_dir("proc-kill9");
    kill_9_loses_no_acknowledged_write(Spec::sqlite(&dir)).await;
    clean(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_write_postgres() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let dir = temp_dir("proc-kill9-pg");
    kill_9_loses_no_acknowledged_write(Spec::postgres(&dir, url)).await;
    clean(&dir);
}

/// Reads from `stream` until `done` says the bytes so far are complete, or end of file.
async fn read_until(stream: &mut tokio::net::TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let read = async {
        while !done(&got) {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), read)
        .await
        .expect("the server answered within 15 s");
    got
}

fn has_head_end(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| w == b"\r\n\r\n")
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let dir = temp_dir("proc-sigterm");
    let spec = Spec::sqlite(&dir);
    let server = Server::start(&spec).await;

    // A request that is provably in the handler when SIGTERM arrives: its headers are sent
    // with `Expect: 100-continue`, the server answers "100 Continue" only once the handler reads
    // the body, and the body follows only after the server has logged that it is shutting down.
    let upn = "inflight@contoso.example";
    let body = json!({ "userPrincipalName": upn, "displayName": "In flight", "passwordProfile": { "password": PASSWORD } })
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/users HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {BOOTSTRAP}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\
         Connection: close\r\n\r\n",
        server.port,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let interim = read_until(&mut stream, has_head_end).await;
    let interim = String::from_utf8_lossy(&interim).into_owned();
    assert!(
        interim.starts_with("HTTP/1.1 100"),
        "expected 100 Continue, got {interim:?}"
    );

    server.signal("TERM");
    server
        .wait_for_stderr("shutdown message", |s| s.contains("shutdown requested"))
        .await;

    // New connections are refused once shutdown has begun (bounded poll: the listener is
    // dropped right after the message).
    let mut refused = false;
    for _ in 0..100 {
        match tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await {
            Err(_) => {
                refused = true;
                break;
            }
            Ok(_) => tokio::time::sleep(STEP).await,
        }
    }
    assert!(refused, "new connections are still accepted after SIGTERM");

    // The request in flight completes.
    stream.write_all(body.as_bytes()).await.unwrap();
    let answer = read_until(&mut stream, |_| false).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the in-flight request did not complete: {answer:?}"
    );
    let json_start = answer.find("\r\n\r\n").expect("a body") + 4;
    let created: Value = serde_json::from_str(&answer[json_start..])
        .unwrap_or_else(|e| panic!("a complete JSON body ({e}): {answer:?}"));
    assert_eq!(created["userPrincipalName"], upn, "{created}");
    drop(stream);

    let mut server = server;
    let out = server.wait_exit(EXIT_TIMEOUT).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert!(out.stderr.contains("eligo stopped"), "{}", out.show());

    // What was answered is there after a restart, and the chain holds.
    let server = Server::start(&spec).await;
    let api2 = server.client();
    assert_eq!(api2.count_upn(BOOTSTRAP, upn).await, 1);
    let (_, verdict) = api2.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    // The new server signs the user in with the password given in flight.
    let (status, token) = api2.sign_in(upn, PASSWORD).await;
    assert_eq!(status, 200, "{token}");
    let out = server.stop().await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    clean(&dir);
}

/// A server stopped by SIGTERM while a client keeps writing: every answer is a complete 201 or
/// a clean connection error, never a 5xx or a truncated body, and every 201 survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_answers_or_refuses_cleanly() {
    let dir = temp_dir("proc-sigterm-load");
    let spec = Spec::sqlite(&dir);
    let server = Server::start(&spec).await;
    let api = server.client();

    let acked = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..3 {
        writers.push(tokio::spawn(writer(
            api.clone(),
            format!("t{w}"),
            acked.clone(),
            count.clone(),
        )));
    }
    let mut steps = 0;
    while count.load(Ordering::SeqCst) < 20 {
        steps += 1;
        assert!(steps < 3000, "writes are not being acknowledged");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut server = server;
    server.signal("TERM");
    let out = server.wait_exit(EXIT_TIMEOUT).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    for w in writers {
        // A writer panics on any answer but 201 (e.g. a 5xx during shutdown).
        tokio::time::timeout(Duration::from_secs(30), w)
            .await
            .expect("writers stop once the server is gone")
            .expect("every answer during shutdown was a 201 or a clean refusal");
    }
    let acked: HashSet<String> = acked.lock().await.iter().cloned().collect();
    let server = Server::start(&spec).await;
    let listed = server.client().all_upns(BOOTSTRAP).await;
    let lost: Vec<&String> = acked.difference(&listed).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    let out = server.stop().await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    clean(&dir);
}
