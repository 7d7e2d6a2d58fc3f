//! The README's tours as written: a block marked `<!-- tour: ... -->` runs in bash against a
//! real `eligo serve --demo` (its address put in place of the README's `127.0.0.1:8400`), with
//! curl and python3 as the README uses them and `oathtool` played by a few lines of Python
//! (RFC 6238, as the real one computes it).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::TimeDelta;
use eligo::clock::{Clock, SystemClock};

use super::support::*;
use crate::harness::temp_dir;

/// The shell block that follows the marker line starting with `marker` in README.md.
fn block(marker: &str) -> String {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .expect("README.md");
    let after = readme
        .split_once(marker)
        .unwrap_or_else(|| panic!("README.md has no {marker:?}"))
        .1;
    let body = after
        .split_once("```sh\n")
        .expect("a sh block after the marker")
        .1;
    body.split_once("\n```")
        .expect("the block ends")
        .0
        .to_string()
}

/// A folder holding `oathtool --totp -b SECRET`, the part of it the tours use.
fn oathtool(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("oathtool");
    std::fs::write(
        &script,
        "#!/usr/bin/env python3\n\
         import base64, hashlib, hmac, struct, sys, time\n\
         s = sys.argv[-1].upper()\n\
         key = base64.b32decode(s + '=' * (-len(s) % 8))\n\
         mac = hmac.new(key, struct.pack('>Q', int(time.time()) // 30), hashlib.sha1).digest()\n\
         o = mac[-1] & 15\n\
         print('%06d' % ((struct.unpack('>I', mac[o:o + 4])[0] & 0x7fffffff) % 1000000))\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

async fn run_tour(server: &Server, dir: &Path, marker: &str) -> Out {
    let script = block(marker).replace("http://127.0.0.1:8400", &server.base);
    let path = format!(
        "{}:{}",
        oathtool(dir).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .env("PATH", path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("the tour finishes within 120 s")
    .expect("running bash");
    Out {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn the_access_package_tour_runs_as_written() {
    let dir = temp_dir("proc-readme-packages");
    let server = Server::start(&Spec::sqlite(&dir).args(&["--demo"])).await;
    let out = run_tour(&server, &dir, "<!-- tour: access packages (API)").await;
    assert!(out.ok(), "the tour failed: {}", out.show());
    let lines: Vec<&str> = out.stdout.lines().collect();
    for package in [
        "Insider Risk Management",
        "Compliance Officer",
        "Help Desk Technician",
    ] {
        assert!(lines.contains(&package), "{package}: {}", out.show());
    }
    // In order: waiting, delivered after Alice's approval, held, the two requests, the removal.
    let states: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            ["pendingApproval", "delivered", "IncompatibleAccessPackage"].contains(l)
                || l.starts_with("[(")
        })
        .collect();
    assert_eq!(states.len(), 6, "{}", out.show());
    assert_eq!(states[0], "pendingApproval");
    assert_eq!(states[1], "delivered");
    let end = (SystemClock.now() + TimeDelta::days(30))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        states[2].starts_with(&format!("[('delivered', '{end}")),
        "30 days: {}",
        states[2]
    );
    assert_eq!(
        &states[3..],
        ["delivered", "IncompatibleAccessPackage", "delivered"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_access_review_tour_runs_as_written() {
    let dir = temp_dir("proc-readme-reviews");
    let server = Server::start(&Spec::sqlite(&dir).args(&["--demo"])).await;
    let out = run_tour(&server, &dir, "<!-- tour: access reviews (API)").await;
    assert!(out.ok(), "the tour failed: {}", out.show());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.contains(
            &"[('erin@contoso.example', 'NoInfoAvailable', 'access given less than 30 days ago: too recent to judge')]"
        ),
        "{}",
        out.show()
    );
    assert!(lines.contains(&"Applied"), "{}", out.show());
    assert_eq!(
        lines.last(),
        Some(&"['alice@contoso.example']"),
        "{}",
        out.show()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_scim_provisioning_tour_runs_as_written() {
    let dir = temp_dir("proc-readme-scim");
    let server = Server::start(&Spec::sqlite(&dir).args(&["--demo"])).await;
    let out = run_tour(&server, &dir, "<!-- tour: SCIM provisioning (API)").await;
    assert!(out.ok(), "the tour failed: {}", out.show());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        ["1", "1", "SourceAuthoritative", "False", "204", "401"],
        "{}",
        out.show()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
