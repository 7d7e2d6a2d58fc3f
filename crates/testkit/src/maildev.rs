//! A throw-away SMTP server with an HTTP API to read mail back: maildev (npm `maildev@2.2.1`),
//! one per caller.
//!
//! [`maildev`] starts `maildev --ip 127.0.0.1 --web-ip 127.0.0.1 -s SMTP -w HTTP` on two free
//! loopback ports, keeping mail in its own temp dir, and waits until both ports answer. Send to
//! [`Maildev::smtp_url`]; read what arrived with `GET {api_url}/email` (a JSON array of mails
//! with `subject`, `text`, `html`, `from`/`to` as `[{address, name}]`, `headers`, `envelope`);
//! `DELETE {api_url}/email/all` empties it. [`maildev_with_auth`] also requires SMTP AUTH.
//! Dropping a [`Maildev`] kills it and removes its directory.
//!
//! Without `maildev` on PATH the helpers return `None` after a loud message, except under CI
//! (`CI` set and non-empty), where they panic: CI never skips.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::component;

/// How long maildev (node) may take to listen on both ports.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// A start is retried on fresh ports (a free port may be taken before maildev binds it).
const START_ATTEMPTS: u32 = 3;

/// A running maildev on 127.0.0.1.
pub struct Maildev {
    smtp_port: u16,
    web_port: u16,
    dir: PathBuf,
    child: Child,
    /// Kills maildev and removes `dir` once the test process is gone; owned so it lives as long.
    _watchdog: Option<std::process::Child>,
}

/// A fresh maildev, or `None` (after a loud message) when it is not installed outside CI.
///
/// # Panics
/// When maildev cannot be started, and under CI when it is not installed.
pub async fn maildev() -> Option<Maildev> {
    launch(None).await
}

/// Like [`maildev`], but SMTP clients must authenticate (AUTH PLAIN/LOGIN) as `user`/`password`.
///
/// # Panics
/// As [`maildev`].
pub async fn maildev_with_auth(user: &str, password: &str) -> Option<Maildev> {
    launch(Some((user, password))).await
}

impl Maildev {
    /// `smtp://127.0.0.1:PORT` (plain SMTP, no TLS).
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    /// `http://127.0.0.1:PORT`: `GET /email` lists what arrived.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.web_port)
    }

    pub fn smtp_port(&self) -> u16 {
        self.smtp_port
    }

    pub fn web_port(&self) -> u16 {
        self.web_port
    }
}

impl Drop for Maildev {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn launch(auth: Option<(&str, &str)>) -> Option<Maildev> {
    let Some(bin) = component::find_on_path("maildev") else {
        return skip();
    };
    let mut failures = Vec::new();
    for _ in 0..START_ATTEMPTS {
        match start(&bin, auth).await {
            Ok(m) => return Some(m),
            Err(e) => failures.push(e),
        }
    }
    panic!(
        "testkit: maildev did not start after {START_ATTEMPTS} attempts:\n{}",
        failures.join("\n")
    );
}

async fn start(bin: &Path, auth: Option<(&str, &str)>) -> Result<Maildev, String> {
    let smtp_port = crate::free_port();
    let mut web_port = crate::free_port();
    while web_port == smtp_port {
        web_port = crate::free_port();
    }
    let dir = std::env::temp_dir().join(format!("eligo-maildev-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("mail"))
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let log = std::fs::File::create(dir.join("maildev.log"))
        .map_err(|e| format!("cannot create maildev.log: {e}"))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot clone the log handle: {e}"))?;
    let mut cmd = Command::new(bin);
    cmd.args(["--ip", "127.0.0.1", "--web-ip", "127.0.0.1"])
        .arg("-s")
        .arg(smtp_port.to_string())
        .arg("-w")
        .arg(web_port.to_string())
        .arg("--mail-directory")
        .arg(dir.join("mail"));
    if let Some((user, password)) = auth {
        cmd.args(["--incoming-user", user, "--incoming-pass", password]);
    }
    let mut child = cmd
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;

    let fail = |dir: &Path, why: String| {
        let log = std::fs::read_to_string(dir.join("maildev.log")).unwrap_or_default();
        let _ = std::fs::remove_dir_all(dir);
        format!("maildev on ports {smtp_port}/{web_port}: {why}\nmaildev.log:\n{log}")
    };
    let ready = tokio::time::timeout(START_TIMEOUT, async {
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("exited early ({status})"));
            }
            if web_answers(web_port).await && smtp_greets(smtp_port).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    match ready {
        Ok(Ok(())) => {
            let watchdog = child.id().and_then(|pid| spawn_watchdog(pid, &dir));
            Ok(Maildev {
                smtp_port,
                web_port,
                dir,
                child,
                _watchdog: watchdog,
            })
        }
        Ok(Err(why)) => {
            let _ = child.kill().await;
            Err(fail(&dir, why))
        }
        Err(_) => {
            let _ = child.kill().await;
            Err(fail(
                &dir,
                format!("not ready after {} s", START_TIMEOUT.as_secs()),
            ))
        }
    }
}

/// Does `GET /healthz` on the web port answer 200?
async fn web_answers(port: u16) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut buf = [0u8; 32];
        let n = s.read(&mut buf).await.ok()?;
        let head = String::from_utf8_lossy(&buf[..n]).into_owned();
        Some(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"))
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// Does the SMTP port greet with 220?
async fn smtp_greets(port: u16) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await.ok()?;
        let greeting = buf[..n].starts_with(b"220");
        let _ = s.write_all(b"QUIT\r\n").await;
        Some(greeting)
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// Waits for the test process to exit, then kills maildev (`pid`) and removes `dir`; it stops
/// by itself once `dir` is gone (the [`Maildev`] was dropped).
fn spawn_watchdog(pid: u32, dir: &Path) -> Option<std::process::Child> {
    const SCRIPT: &str = r#"
        parent=$1 child=$2 dir=$3
        while kill -0 "$parent" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
        if [ -d "$dir" ]; then kill -KILL "$child" 2>/dev/null; rm -rf "$dir"; fi
    "#;
    let pid = pid.to_string();
    component::spawn_watchdog("maildev", SCRIPT, &[OsStr::new(&pid), dir.as_os_str()]).ok()
}

/// Not on PATH: say so loudly (once), or panic under CI.
fn skip() -> Option<Maildev> {
    static WARNED: OnceLock<()> = OnceLock::new();
    component::skip(
        &WARNED,
        "maildev is not on PATH; CI must not skip mail tests: npm install -g maildev@2.2.1",
        &[
            "Mail (SMTP) tests SKIPPED: maildev is not on PATH.",
            "Install it with: npm install -g maildev@2.2.1",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn maildev_starts_listens_and_stops() {
        let Some(m) = maildev().await else {
            return;
        };
        assert!(m.smtp_url().starts_with("smtp://127.0.0.1:"));
        assert!(web_answers(m.web_port()).await);
        assert!(smtp_greets(m.smtp_port()).await);
        let (port, dir) = (m.web_port(), m.dir.clone());
        drop(m);
        // Killed and cleaned up.
        let mut gone = false;
        for _ in 0..100 {
            if !web_answers(port).await {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(gone, "maildev still answers after drop");
        assert!(!dir.exists());
    }
}
