//! The master key as an operator meets it (issue 14, item 1): generated on first start of the
//! embedded default (mode 0600, with a loud note), a wrong or missing key refuses the start by
//! name and changes nothing, `eligo keys rotate` moves every secret to a new key, and PostgreSQL
//! asks for a key rather than inventing one per server.

use serde_json::json;

use super::support::*;
use crate::harness::*;

async fn subscription_count(server: &Server) -> usize {
    let (status, body) = server.client().get("/v1/subscriptions", BOOTSTRAP).await;
    assert_eq!(status, 200, "{body}");
    body["value"].as_array().expect("a list").len()
}

#[tokio::test]
async fn the_embedded_key_is_generated_refused_when_wrong_and_rotated() {
    let dir = temp_dir("proc-master-key");
    let spec = Spec::sqlite(&dir);
    let key_file = dir.join("master.key");

    // First start: the key is generated beside the database, readable by its owner only.
    let server = Server::start(&spec).await;
    assert!(
        server.stdout().contains("useless without it"),
        "the loud note: {}",
        server.stdout()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("master.key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
    let (status, body) = server
        .client()
        .post(
            "/v1/subscriptions",
            BOOTSTRAP,
            json!({ "url": "http://127.0.0.1:9/events", "secret": "a-subscription-secret-123",
                    "eventTypes": ["*"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let out = server.stop().await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    let first_key = std::fs::read_to_string(&key_file).unwrap();

    // Another key: refused, naming the key file, and nothing is changed.
    let other = dir.join("other.key");
    let out = run(
        &["keys", "generate", "-o", &other.display().to_string()],
        &[],
    )
    .await;
    assert!(out.ok(), "{}", out.show());
    let out = run_on(
        &spec,
        &["serve"],
        &[("ELIGO_MASTER_KEY_FILE", &other.display().to_string())],
    )
    .await;
    assert!(!out.ok(), "a wrong key must refuse the start");
    assert!(
        out.stderr.contains(&other.display().to_string())
            && out.stderr.contains("Nothing was changed"),
        "names the key file: {}",
        out.show()
    );

    // No key file at all: refused (a new key is never generated for a sealed database).
    std::fs::rename(&key_file, dir.join("kept.key")).unwrap();
    let out = run_on(&spec, &["serve"], &[]).await;
    assert!(!out.ok(), "a missing key must refuse the start");
    assert!(
        out.stderr.contains(&key_file.display().to_string()) && out.stderr.contains("restore"),
        "{}",
        out.show()
    );
    assert!(
        !key_file.exists(),
        "no key was generated for a sealed database"
    );
    std::fs::rename(dir.join("kept.key"), &key_file).unwrap();

    // The right key opens everything that was stored.
    let server = Server::start(&spec).await;
    assert_eq!(subscription_count(&server).await, 1);
    server.stop().await;

    // Rotation: a new key replaces the file, and the old one no longer opens the database.
    let old = dir.join("old.key");
    std::fs::write(&old, &first_key).unwrap();
    let out = run_on(&spec, &["keys", "rotate"], &[]).await;
    assert!(out.ok(), "{}", out.show());
    assert!(
        out.stdout.contains("sealed under master key"),
        "{}",
        out.show()
    );
    assert_ne!(std::fs::read_to_string(&key_file).unwrap(), first_key);
    assert!(!dir.join("master.key.next").exists());
    let server = Server::start(&spec).await;
    assert_eq!(subscription_count(&server).await, 1);
    server.stop().await;
    let out = run_on(
        &spec,
        &["serve"],
        &[("ELIGO_MASTER_KEY_FILE", &old.display().to_string())],
    )
    .await;
    assert!(!out.ok(), "the rotated-out key must not open the database");
    clean(&dir);
}

#[tokio::test]
async fn postgresql_needs_a_configured_key() {
    let Some(url) = eligo_testkit::postgres_database().await else {
        return;
    };
    let dir = temp_dir("proc-pg-key");
    let out = run(
        &["migrate"],
        &[
            ("ELIGO_DATABASE_URL", &url),
            ("ELIGO_DATA_DIR", &dir.display().to_string()),
        ],
    )
    .await;
    assert!(!out.ok(), "{}", out.show());
    assert!(
        out.stderr.contains("ELIGO_MASTER_KEY_FILE"),
        "says what to set: {}",
        out.show()
    );
    assert!(!dir.join("master.key").exists());
    clean(&dir);
}
