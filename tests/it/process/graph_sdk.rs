//! Eligo as Microsoft's Graph SDK for Python sees it: `tests/graph_sdk/walk.py` drives
//! `eligo serve --demo` with `msgraph-sdk` unchanged but for its base URL (PIM for roles,
//! entitlement management and access reviews from creation to applied decisions, including the SDK's own serialization quirks such as a `timedelta`
//! sent as `str(timedelta)`), and fails at the first answer a Graph client could not use.
//!
//! `msgraph-sdk` comes from PyPI (`python3 -m pip install msgraph-sdk`); `ELIGO_GRAPH_SDK_PYTHON`
//! names another interpreter (a virtualenv's). Without it the test skips after a loud message,
//! except under CI, where it fails: CI never skips.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::support::*;
use crate::harness::{BOOTSTRAP, temp_dir};

/// The whole walk takes a few seconds; this only bounds a hang.
const WALK_TIMEOUT: Duration = Duration::from_secs(120);

/// The interpreter that has `msgraph` importable, or None after a loud message (a panic
/// under CI).
async fn python_with_sdk() -> Option<String> {
    let python = std::env::var("ELIGO_GRAPH_SDK_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_string());
    let found = Command::new(&python)
        .args(["-c", "import msgraph"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !found {
        let install = "python3 -m pip install msgraph-sdk";
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "CI must not skip the Graph SDK test: {python} cannot import msgraph ({install})"
        );
        eprintln!(
            "\n!!! {python} cannot import msgraph: the Graph SDK test is SKIPPED. Install it with: {install}\n"
        );
        return None;
    }
    Some(python)
}

#[tokio::test]
async fn the_python_graph_sdk_drives_pim_entitlement_management_and_access_reviews() {
    let Some(python) = python_with_sdk().await else {
        return;
    };
    let dir = temp_dir("graph-sdk");
    let server = Server::start(&Spec::sqlite(&dir).args(&["--demo"])).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/graph_sdk/walk.py");
    let child = Command::new(&python)
        .arg(&script)
        .arg(format!("{}/v1", server.base))
        .arg(BOOTSTRAP)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("running the Graph SDK walk");
    let out = tokio::time::timeout(WALK_TIMEOUT, child.wait_with_output())
        .await
        .expect("the Graph SDK walk hung")
        .expect("the Graph SDK walk ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Graph SDK walk failed\n--- walk ---\n{stdout}{stderr}\n--- server ---\n{}",
        server.stderr()
    );
    assert!(stdout.contains("ok: deletes"), "{stdout}");
    assert!(stdout.contains("ok: access review applied"), "{stdout}");
}
