//! Passkeys in a real Chromium (`tests/e2e/passkey.mjs`): a CDP virtual authenticator on host
//! `localhost` answers the portal's WebAuthn calls (`assets/passkey.js`) against a real
//! `eligo serve --demo` whose public URL is `http://localhost:PORT` (the RP ID is its host).
//! The second factor's freshness is a few seconds, so the walk sees it go stale and steps up.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::e2e::run_walk;
use crate::harness::{BOOTSTRAP, temp_dir};
use crate::process::support::{Server, Spec};

/// How long a second factor counts as fresh on the walk's server.
const FRESHNESS_SECS: u64 = 15;

#[tokio::test]
async fn a_passkey_is_added_used_and_removed_in_chromium_with_a_virtual_authenticator() {
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let Some(runner) = eligo_testkit::browser::runner(&scripts) else {
        return;
    };
    let dir = temp_dir("e2e-passkey");
    let spec = Spec::sqlite(&dir)
        .args(&["--demo"])
        .setting("ELIGO_PUBLIC_URL", "http://localhost:{port}")
        .setting("ELIGO_MFA_FRESHNESS", &format!("PT{FRESHNESS_SECS}S"))
        .setting("ELIGO_MIN_DURATION", "PT1S");
    let server = Server::start(&spec).await;
    let env = [
        ("ELIGO_URL", format!("http://localhost:{}", server.port)),
        ("FRESHNESS_MS", (FRESHNESS_SECS * 1000).to_string()),
        ("SHOTS", dir.join("screenshots").display().to_string()),
    ];
    run_walk(
        &runner,
        "passkey.mjs",
        &env,
        &server,
        Duration::from_secs(180),
    )
    .await;
    // What the walk did is in the audit log: the registration, the passkey sign-in, the
    // step-up and the removal, each under alice's name.
    let api = server.client();
    let (status, body) = api
        .get("/v1/auditLogs/directoryAudits?$top=999", BOOTSTRAP)
        .await;
    assert_eq!(status, 200, "{body}");
    let entries = body["value"].as_array().unwrap();
    let by_alice = |activity: &str, needle: &str| {
        entries.iter().any(|e: &Value| {
            let text = e.to_string();
            e["activityDisplayName"] == activity
                && e["result"] == "success"
                && text.contains("alice@contoso.example")
                && text.contains(needle)
        })
    };
    assert!(by_alice("User registered security info", "passkey"));
    assert!(by_alice("User signed in", "pwd,fido"));
    assert!(by_alice("Step-up authentication", "passkey"));
    assert!(by_alice("User deleted security info", "passkey"));
    let _ = std::fs::remove_dir_all(&dir);
}
