//! The offline audit tools on a stopped server's database: `eligo audit verify` detects an
//! entry changed behind Eligo's back, and `eligo audit export` writes the chain oldest first.

use serde_json::{Value, json};

use super::support::*;
use crate::harness::*;

/// Is the `sqlite3` command-line shell installed?
fn sqlite3_available() -> bool {
    std::process::Command::new("sqlite3")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[tokio::test]
async fn offline_audit_verify_detects_tampering() {
    let dir = temp_dir("proc-tamper");
    let spec = Spec::sqlite(&dir);
    let server = Server::start(&spec).await;
    let api = server.client();
    for i in 0..5 {
        let (status, body) = api
            .post(
                "/v1/users",
                BOOTSTRAP,
                json!({ "userPrincipalName": format!("audited-{i}@contoso.example"), "displayName": format!("Audited {i}") }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, online) = api.get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(online["valid"], true, "{online}");
    let out = server.stop().await;
    assert_eq!(out.code(), Some(0), "{}", out.show());

    // Intact: verify exits 0 and agrees with the server.
    let out = run_on(&spec, &["audit", "verify"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let verdict: Value = serde_json::from_str(&out.stdout).expect("a JSON verdict");
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["entries"], online["entries"], "{verdict}");
    assert_eq!(verdict["headHash"], online["headHash"], "{verdict}");
    let entries = verdict["entries"].as_u64().expect("entries");

    // Export: one JSON object per line, sequences 1..=entries, each linked to the previous.
    let export = dir.join("audit.jsonl");
    let out = run_on(
        &spec,
        &["audit", "export", "-o", &export.display().to_string()],
        &[],
    )
    .await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let text = std::fs::read_to_string(&export).expect("the export file");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len() as u64, entries);
    let mut previous_hash = "0".repeat(64);
    for (i, e) in lines.iter().enumerate() {
        assert!(e.is_object(), "{e}");
        assert_eq!(e["sequence"].as_u64(), Some(i as u64 + 1), "{e}");
        assert_eq!(
            e["previousHash"].as_str(),
            Some(previous_hash.as_str()),
            "{e}"
        );
        previous_hash = e["hash"].as_str().expect("a hash").to_string();
    }
    assert_eq!(verdict["headHash"].as_str(), Some(previous_hash.as_str()));
    // Without -o it goes to standard output, identically.
    let out = run_on(&spec, &["audit", "export"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert_eq!(out.stdout, text);

    // Find the entry of audited-2's creation, then change it behind Eligo's back.
    let victim = lines
        .iter()
        .find(|e| e.to_string().contains("audited-2@contoso.example"))
        .expect("the entry of audited-2")["sequence"]
        .as_u64()
        .unwrap();
    if !sqlite3_available() {
        // CI installs sqlite3 (.ci/run) and never skips.
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty()),
            "CI must not skip the tampering test: install sqlite3"
        );
        eprintln!(
            "\n!!! SKIPPED the tampering half of offline_audit_verify_detects_tampering: the \
             `sqlite3` shell is not installed (apt-get install sqlite3) !!!\n"
        );
        clean(&dir);
        return;
    }
    let db = dir.join("eligo.db");
    let sqlite3 = |sql: &str| {
        std::process::Command::new("sqlite3")
            .arg(&db)
            .arg(sql)
            .output()
            .expect("running sqlite3")
    };
    // The append-only trigger refuses the change as long as it is there.
    let refused = sqlite3(&format!(
        "UPDATE audit_log SET data = replace(data, 'audited-2@', 'mallory@') WHERE sequence = {victim};"
    ));
    assert!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stderr).contains("never updated"),
        "the append-only trigger did not refuse an update: {refused:?}"
    );
    let tampered = sqlite3(&format!(
        "DROP TRIGGER audit_log_no_update; \
         UPDATE audit_log SET data = replace(data, 'audited-2@', 'mallory@') WHERE sequence = {victim}; \
         SELECT changes();"
    ));
    assert!(tampered.status.success(), "{tampered:?}");
    assert_eq!(
        String::from_utf8_lossy(&tampered.stdout).trim(),
        "1",
        "{tampered:?}"
    );

    let out = run_on(&spec, &["audit", "verify"], &[]).await;
    assert_eq!(
        out.code(),
        Some(1),
        "tampering not detected: {}",
        out.show()
    );
    let broken: Value = serde_json::from_str(&out.stdout).expect("a JSON verdict");
    assert_eq!(broken["valid"], false, "{broken}");
    assert_eq!(
        broken["firstBadSequence"].as_u64(),
        Some(victim),
        "{broken}"
    );

    // The server reports the same.
    let server = Server::start(&spec).await;
    let (status, online) = server.client().get("/v1/auditLogs/verify", BOOTSTRAP).await;
    assert_eq!(status, 200, "{online}");
    assert_eq!(online["valid"], false, "{online}");
    assert_eq!(
        online["firstBadSequence"].as_u64(),
        Some(victim),
        "{online}"
    );
    assert_eq!(server.stop().await.code(), Some(0));
    clean(&dir);
}

/// The offline tools work on PostgreSQL too (ELIGO_DATABASE_URL).
#[tokio::test]
async fn offline_audit_on_postgres() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let dir = temp_dir("proc-offline-pg");
    let spec = Spec::postgres(&dir, url);
    let server = Server::start(&spec).await;
    let (status, body) = server
        .client()
        .post(
            "/v1/users",
            BOOTSTRAP,
            json!({ "userPrincipalName": "pg-audited@contoso.example", "displayName": "PG" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(server.stop().await.code(), Some(0));
    let out = run_on(&spec, &["audit", "verify"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let verdict: Value = serde_json::from_str(&out.stdout).expect("a JSON verdict");
    assert_eq!(verdict["valid"], true, "{verdict}");
    let out = run_on(&spec, &["audit", "export"], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    assert_eq!(
        Some(out.stdout.lines().count() as u64),
        verdict["entries"].as_u64()
    );
    assert!(out.stdout.contains("pg-audited@contoso.example"));
    // The SQLite file was never created: the URL wins over the data directory.
    assert!(!dir.join("eligo.db").exists());
    clean(&dir);
}

/// Rule 8: deleting the newest entries and moving the head back passes a chain walk, but not
/// the signed checkpoints written outside the database.
#[tokio::test]
async fn signed_checkpoints_catch_a_truncated_tail() {
    if !sqlite3_available() {
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty()),
            "CI must not skip the checkpoint test: install sqlite3"
        );
        return;
    }
    let dir = temp_dir("proc-checkpoints");
    let checkpoints = dir.join("checkpoints");
    let cp = checkpoints.display().to_string();
    let spec = Spec::sqlite(&dir)
        .setting("ELIGO_AUDIT_CHECKPOINT_DIR", &cp)
        .setting("ELIGO_AUDIT_CHECKPOINT_INTERVAL", "PT1S");
    let server = Server::start(&spec).await;
    let api = server.client();
    for i in 0..3 {
        let (status, body) = api
            .post(
                "/v1/users",
                BOOTSTRAP,
                json!({ "userPrincipalName": format!("signed-{i}@contoso.example"), "displayName": format!("Signed {i}") }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, key) = api.get("/v1/auditLogs/checkpointKey", BOOTSTRAP).await;
    assert_eq!(status, 200, "{key}");
    assert_eq!(key["algorithm"], "Ed25519");
    // Stopping signs the head once more.
    let out = server.stop().await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let lines = std::fs::read_to_string(checkpoints.join("checkpoints.jsonl")).unwrap();
    let last: Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    assert_eq!(last["publicKey"], key["publicKey"]);

    let out = run_on(&spec, &["audit", "verify", "--checkpoints", &cp], &[]).await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let verdict: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(verdict["checkpoints"]["valid"], true, "{verdict}");
    let head = last["sequence"].as_i64().unwrap();

    // Behind Eligo's back: the two newest entries deleted and the head moved back.
    let db = dir.join("eligo.db");
    let out = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(format!(
            "DROP TRIGGER audit_log_no_delete; \
             DELETE FROM audit_targets WHERE sequence > {keep}; \
             DELETE FROM audit_log WHERE sequence > {keep}; \
             UPDATE audit_head SET sequence = {keep}, \
               hash = (SELECT json_extract(data, '$.hash') FROM audit_log WHERE sequence = {keep});",
            keep = head - 2
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = run_on(&spec, &["audit", "verify"], &[]).await;
    assert_eq!(
        out.code(),
        Some(0),
        "the chain alone cannot tell: {}",
        out.show()
    );
    let out = run_on(&spec, &["audit", "verify", "--checkpoints", &cp], &[]).await;
    assert_eq!(out.code(), Some(1), "{}", out.show());
    let verdict: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(verdict["valid"], false, "{verdict}");
    assert_eq!(
        verdict["checkpoints"]["firstBadCheckpoint"],
        json!(head),
        "{verdict}"
    );
    clean(&dir);
}

/// Every audit entry reaches the SIEM file as a JSON line, in order, and an export resumes
/// where it stopped after a restart (no gap, nothing twice).
#[tokio::test]
async fn the_audit_trail_is_exported_as_json_lines_and_resumes_after_a_restart() {
    let dir = temp_dir("proc-siem");
    let file = dir.join("siem.jsonl");
    let spec = Spec::sqlite(&dir).setting("ELIGO_AUDIT_EXPORT_FILE", &file.display().to_string());
    for round in 0..2 {
        let server = Server::start(&spec).await;
        for i in 0..3 {
            let (status, body) = server
                .client()
                .post(
                    "/v1/users",
                    BOOTSTRAP,
                    json!({ "userPrincipalName": format!("siem-{round}-{i}@contoso.example"), "displayName": "S" }),
                )
                .await;
            assert_eq!(status, 201, "{body}");
        }
        let (_, verdict) = server.client().get("/v1/auditLogs/verify", BOOTSTRAP).await;
        let entries = verdict["entries"].as_u64().unwrap();
        let out = server.stop().await;
        assert_eq!(out.code(), Some(0), "{}", out.show());
        let text = std::fs::read_to_string(&file).expect("the export file");
        let sequences: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["sequence"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        let expected: Vec<u64> = (1..=entries).collect();
        assert_eq!(sequences, expected, "round {round}");
        assert!(text.contains(&format!("siem-{round}-2@contoso.example")));
    }
    clean(&dir);
}

/// An auditor in the wrong folder is told there is no database (exit code 2, the path named),
/// and nothing is created there: no database file, no master key.
#[tokio::test]
async fn offline_commands_never_create_a_store() {
    let dir = temp_dir("proc-no-data");
    let spec = Spec::sqlite(&dir);
    for args in [
        &["audit", "verify"][..],
        &["audit", "export"][..],
        &["keys", "rotate"][..],
    ] {
        let out = run_on(&spec, args, &[]).await;
        assert_eq!(out.code(), Some(2), "{args:?}: {}", out.show());
        assert!(
            out.stderr.contains("no Eligo database at") && out.stderr.contains("eligo.db"),
            "{args:?} names the path: {}",
            out.show()
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed a verdict: {}",
            out.show()
        );
    }
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "created {left:?}");

    // On PostgreSQL, a database without Eligo's schema is refused the same way.
    if let Some(url) = eligo_testkit::postgres_database().await {
        let spec = Spec::postgres(&dir, url);
        let out = run_on(&spec, &["audit", "verify"], &[]).await;
        assert_eq!(out.code(), Some(2), "{}", out.show());
    }
    clean(&dir);
}
