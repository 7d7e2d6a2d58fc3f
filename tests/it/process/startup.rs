//! Starting the server: the one-time bootstrap token, the demo tenant, JSON logs without
//! secrets, `migrate`, `--help`, and a bad configuration refused with a clear message.

use serde_json::Value;

use super::support::*;
use crate::harness::*;

/// The `elgb_...` tokens printed in `text`.
fn printed_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace())
        .filter(|w| w.starts_with("elgb_"))
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn first_start_prints_token_once() {
    let dir = temp_dir("proc-first");
    let spec = Spec::sqlite(&dir).without_bootstrap();

    let server = Server::start(&spec).await;
    server
        .wait_for_stdout("bootstrap token", |s| {
            s.lines().any(|l| l.trim_start().starts_with("elgb_"))
        })
        .await;
    let tokens = printed_tokens(&server.stdout());
    assert_eq!(tokens.len(), 1, "exactly one token: {}", server.stdout());
    let token = tokens[0].clone();
    assert!(token.len() > 20, "{token}");
    let api = server.client();
    let (status, me) = api.get("/v1/me", &token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["userPrincipalName"], "breakglass@eligo.local", "{me}");
    // It holds Global Administrator: it may create a user.
    let (status, body) = api
        .post(
            "/v1/users",
            &token,
            serde_json::json!({ "userPrincipalName": "first@contoso.example", "displayName": "First" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = api.get("/v1/me", "elgb_not-the-token").await;
    assert_eq!(status, 401);
    let first = server.stop().await;
    assert_eq!(first.code(), Some(0), "{}", first.show());
    assert_eq!(printed_tokens(&first.stdout).len(), 1, "{}", first.show());
    assert!(
        !first.stderr.contains(&token),
        "the token leaked into the logs: {}",
        first.show()
    );

    // A restart on the same data dir prints nothing, and the token still works.
    let server = Server::start(&spec).await;
    let (status, me) = server.client().get("/v1/me", &token).await;
    assert_eq!(status, 200, "{me}");
    let second = server.stop().await;
    assert_eq!(second.code(), Some(0), "{}", second.show());
    assert!(
        printed_tokens(&second.stdout).is_empty() && !second.stdout.contains("First start"),
        "a restart printed a token: {}",
        second.show()
    );
    assert!(!second.stderr.contains(&token), "{}", second.show());

    // `eligo bootstrap rotate` replaces it: the new one works, the old one no longer does.
    let out = run_on(&spec, &["bootstrap", "rotate"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let rotated = printed_tokens(&out.stdout);
    assert_eq!(rotated.len(), 1, "{}", out.show());
    assert_ne!(rotated[0], token);
    let server = Server::start(&spec).await;
    assert_eq!(server.client().get("/v1/me", &rotated[0]).await.0, 200);
    assert_eq!(server.client().get("/v1/me", &token).await.0, 401);
    assert_eq!(server.stop().await.code(), Some(0));
    // A configured token is rotated by changing the setting, not by the command.
    let out = run_on(
        &spec,
        &["bootstrap", "rotate"],
        &[(
            "ELIGO_BOOTSTRAP_TOKEN",
            "configured-break-glass-token-0123456789",
        )],
    )
    .await;
    assert!(!out.ok(), "{}", out.show());
    assert!(
        out.stderr.contains("ELIGO_BOOTSTRAP_TOKEN is configured"),
        "{}",
        out.show()
    );
    clean(&dir);
}

#[tokio::test]
async fn demo_users_sign_in() {
    let dir = temp_dir("proc-demo");
    let spec = Spec::sqlite(&dir).args(&["--demo"]);
    let server = Server::start(&spec).await;
    let api = server.client();
    for nick in ["ada", "uma", "dave", "alice", "bob", "carol", "erin"] {
        let upn = format!("{nick}@contoso.example");
        let (status, body) = api.sign_in(&upn, DEMO_PASSWORD).await;
        assert_eq!(status, 200, "{upn}: {body}");
        let token = body["access_token"].as_str().expect("a token");
        let (status, me) = api.get("/v1/me", token).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["userPrincipalName"], upn.as_str(), "{me}");
    }
    let (status, body) = api
        .sign_in("ada@contoso.example", "not-the-demo-password")
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(&body), "InvalidCredentials", "{body}");
    // A user the demo does not have gets the very same answer.
    let (status, body) = api.sign_in("nobody@contoso.example", DEMO_PASSWORD).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(&body), "InvalidCredentials", "{body}");
    let out = server.stop().await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    clean(&dir);
}

/// Starts `serve --demo --log-format json`, signs in (once right, once wrong), stops, and
/// returns the server's stderr.
async fn json_log_run(tag: &str) -> String {
    let dir = temp_dir(tag);
    let spec = Spec::sqlite(&dir).args(&["--demo", "--log-format", "json"]);
    let server = Server::start(&spec).await;
    let api = server.client();
    let (status, body) = api.sign_in("ada@contoso.example", DEMO_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = api
        .sign_in("ada@contoso.example", "Wrong-password-1!")
        .await;
    assert_eq!(status, 401);
    let (status, _) = api.get("/v1/me", BOOTSTRAP).await;
    assert_eq!(status, 200);
    let out = server.stop().await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    clean(&dir);
    out.stderr
}

#[tokio::test]
async fn json_logs() {
    let stderr = json_log_run("proc-json").await;
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no logs at all");
    let mut messages = Vec::new();
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}\n--- stderr ---\n{stderr}"));
        assert!(v["level"].is_string(), "{line}");
        assert!(v["timestamp"].is_string(), "{line}");
        messages.push(
            v["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    for expected in ["eligo listening", "shutdown requested", "eligo stopped"] {
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "no '{expected}' in {messages:?}"
        );
    }
    assert!(
        !stderr.contains(BOOTSTRAP),
        "the bootstrap token is in the logs:\n{stderr}"
    );
}

#[tokio::test]
async fn json_logs_never_show_the_demo_password() {
    let stderr = json_log_run("proc-json-pw").await;
    assert!(
        !stderr.contains(DEMO_PASSWORD),
        "a demo password is in the logs:\n{stderr}"
    );
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let dir = temp_dir("proc-migrate");
    let spec = Spec::sqlite(&dir.join("fresh"));
    for round in 0..2 {
        let out = run_on(&spec, &["migrate"], &[]).await;
        assert_eq!(out.code(), Some(0), "round {round}: {}", out.show());
        assert!(out.stdout.contains("schema up to date"), "{}", out.show());
    }
    assert!(dir.join("fresh").join("eligo.db").is_file());
    // A migrated, empty store is a valid (empty) chain, and the server starts on it.
    let out = run_on(&spec, &["audit", "verify"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let server = Server::start(&spec).await;
    let (status, me) = server.client().get("/v1/me", BOOTSTRAP).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(server.stop().await.code(), Some(0));
    // And migrating a store in use since then changes nothing.
    let out = run_on(&spec, &["migrate"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    clean(&dir);
}

#[tokio::test]
async fn help_and_bad_config() {
    let out = run(&["--help"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    for cmd in ["serve", "migrate", "audit", "login", "users", "groups"] {
        assert!(
            out.stdout.contains(cmd),
            "--help lacks {cmd}: {}",
            out.show()
        );
    }
    let out = run(&["users", "--help"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    for cmd in ["list", "show", "create", "delete"] {
        assert!(
            out.stdout.contains(cmd),
            "users --help lacks {cmd}: {}",
            out.show()
        );
    }
    let out = run(&["no-such-command"], &[]).await;
    assert!(!out.ok(), "{}", out.show());

    let dir = temp_dir("proc-badcfg");
    let data = dir.display().to_string();
    let out = run(
        &["serve"],
        &[("ELIGO_LISTEN", "nope"), ("ELIGO_DATA_DIR", &data)],
    )
    .await;
    assert!(
        !out.ok(),
        "serve accepted ELIGO_LISTEN=nope: {}",
        out.show()
    );
    assert!(
        out.stderr.contains("ELIGO_LISTEN") && out.stderr.contains("nope"),
        "the message does not name the bad setting: {}",
        out.show()
    );
    let out = run(
        &["serve"],
        &[
            ("ELIGO_BOOTSTRAP_TOKEN", "tooShortTok"),
            ("ELIGO_DATA_DIR", &data),
        ],
    )
    .await;
    assert!(!out.ok(), "{}", out.show());
    assert!(
        out.stderr.contains("ELIGO_BOOTSTRAP_TOKEN"),
        "{}",
        out.show()
    );
    // The message names the setting, never the secret's value.
    assert!(!out.stderr.contains("tooShortTok"), "{}", out.show());
    // The demo tenant (public passwords) is served on loopback only.
    let out = run(
        &["serve", "--demo", "--listen", "0.0.0.0:0"],
        &[("ELIGO_DATA_DIR", &data)],
    )
    .await;
    assert!(!out.ok(), "{}", out.show());
    assert!(out.stderr.contains("loopback"), "{}", out.show());
    clean(&dir);
}

#[tokio::test]
async fn bench_writes_smoke() {
    let dir = temp_dir("proc-bench");
    let tmp = dir.display().to_string();
    // TMPDIR: the benchmark's scratch database goes under this test's directory.
    let out = run(&["bench", "writes", "--count", "50"], &[("TMPDIR", &tmp)]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let result = out
        .stdout
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| panic!("no RESULT line: {}", out.show()));
    assert!(result.contains("chain_valid=true"), "{result}");
    assert!(result.contains("writes=50 "), "{result}");
    assert!(result.contains("backend=sqlite"), "{result}");
    clean(&dir);
}

/// One `eligo serve` per SQLite database (its index and session table follow only its own
/// commits): a second refuses to start and says why; after the first is killed the database
/// is free again.
#[tokio::test]
async fn a_second_server_on_one_sqlite_database_refuses_to_start() {
    let dir = temp_dir("proc-one-sqlite");
    let spec = Spec::sqlite(&dir);
    let first = Server::start(&spec).await;
    let out = run_on(&spec, &["serve", "--listen", "127.0.0.1:0"], &[]).await;
    assert!(!out.ok(), "a second server started: {}", out.show());
    assert!(
        out.stderr
            .contains("another eligo serve is using the SQLite database"),
        "{}",
        out.show()
    );
    first.kill9().await;
    let again = Server::start(&spec).await;
    again.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The activation benchmark over three servers on one PostgreSQL (issue 18's "one and three
/// servers"): every activation lands once and the chain the three servers wrote verifies; one
/// SQLite file is one server's, so asking for three there is refused.
#[tokio::test]
async fn bench_activations_over_three_servers() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let out = run(
        &[
            "bench",
            "activations",
            "--count",
            "30",
            "--concurrency",
            "6",
            "--servers",
            "3",
            "--database-url",
            &url,
        ],
        &[],
    )
    .await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let line = |prefix: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line: {}", out.show()))
            .to_string()
    };
    let result = line("RESULT ");
    assert!(
        result.contains("backend=postgres servers=3 count=30 "),
        "{result}"
    );
    let detail = line("DETAIL ");
    assert!(detail.contains("activations_found=30 "), "{detail}");
    assert!(detail.contains("chain_valid=true"), "{detail}");

    let dir = temp_dir("proc-bench-sqlite-three");
    let tmp = dir.display().to_string();
    let out = run(
        &["bench", "activations", "--count", "5", "--servers", "3"],
        &[("TMPDIR", &tmp)],
    )
    .await;
    assert!(!out.ok(), "{}", out.show());
    assert!(
        out.stderr.contains("share one PostgreSQL"),
        "{}",
        out.show()
    );
    clean(&dir);
}
