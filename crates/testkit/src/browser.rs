//! A real browser for the portal's end-to-end tests: Debian's Chromium driven by npm
//! `playwright-core` (no browser download), from a Node.js script. This module finds the three
//! (node on PATH, `/usr/bin/chromium`, `playwright-core` installed under the script's folder)
//! and runs a script with a deadline; when one is missing it skips loudly (panics under CI).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use crate::component;

/// Where Debian's `chromium` package installs the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// What a browser script needs: Node.js and Chromium, with playwright-core installed in `dir`.
#[derive(Debug, Clone)]
pub struct Runner {
    pub node: PathBuf,
    pub chromium: PathBuf,
    /// The folder with `package.json` and `node_modules/playwright-core`.
    pub dir: PathBuf,
}

/// What a script printed and how it ended.
#[derive(Debug)]
pub struct Outcome {
    pub success: bool,
    pub output: String,
}

/// The runner for scripts in `dir`, or None (after a loud message) when something is missing.
pub fn runner(dir: &Path) -> Option<Runner> {
    let Some(node) = component::find_on_path("node") else {
        return skip(
            "Node.js (node) is not on PATH",
            "apt-get install -y nodejs npm",
        );
    };
    let chromium = PathBuf::from(CHROMIUM);
    if !chromium.exists() {
        return skip("Chromium is not installed", "apt-get install -y chromium");
    }
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return skip(
            "playwright-core is not installed for the end-to-end scripts",
            &format!("npm ci --prefix {}", dir.display()),
        );
    }
    Some(Runner {
        node,
        chromium,
        dir: dir.to_path_buf(),
    })
}

impl Runner {
    /// Runs `node SCRIPT` in the runner's folder with `env` (plus `CHROMIUM`), killed after
    /// `deadline`.
    pub async fn run(&self, script: &str, env: &[(&str, String)], deadline: Duration) -> Outcome {
        let mut cmd = tokio::process::Command::new(&self.node);
        cmd.arg(script)
            .current_dir(&self.dir)
            .env("CHROMIUM", &self.chromium)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return Outcome {
                    success: false,
                    output: format!("cannot start node: {e}"),
                };
            }
        };
        match tokio::time::timeout(deadline, child.wait_with_output()).await {
            Ok(Ok(out)) => Outcome {
                success: out.status.success(),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            },
            Ok(Err(e)) => Outcome {
                success: false,
                output: format!("node failed: {e}"),
            },
            Err(_) => Outcome {
                success: false,
                output: format!("the browser script did not finish within {deadline:?}"),
            },
        }
    }
}

fn skip(what: &str, install: &str) -> Option<Runner> {
    static WARNED: OnceLock<()> = OnceLock::new();
    component::skip(
        &WARNED,
        &format!("{what}; CI must not skip the browser tests: {install}"),
        &[
            &format!("Browser (end-to-end) tests SKIPPED: {what}."),
            &format!("Install it with: {install}"),
        ],
    )
}
