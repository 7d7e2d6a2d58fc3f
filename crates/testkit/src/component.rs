//! What every real component here (PostgreSQL, slapd, maildev, scim2-server) needs alike: the
//! loud skip (or CI panic) when it is not installed, the watchdog that cleans up after a test
//! process that died without dropping it, finding programs on PATH, and seeing a port accept.
//!
//! Each component keeps its own wording: what is missing and how to install it are parameters.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// Whether we run under CI (`CI` set and non-empty), where no component may be skipped.
pub(crate) fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// A component is not installed: outside CI, print `warning` loudly (once per `warned`, one
/// `static` per component) and return `None`, so its tests skip; under CI, panic with
/// `testkit: {ci_panic}`, because CI never skips.
///
/// `warning` is the message's lines, each printed after `!!! ` between two bars of `!`.
pub(crate) fn skip<T>(warned: &OnceLock<()>, ci_panic: &str, warning: &[&str]) -> Option<T> {
    if in_ci() {
        panic!("testkit: {ci_panic}");
    }
    warned.get_or_init(|| {
        // Straight to the process's stderr: eprintln! would be captured by the test harness and
        // only shown for failing tests, and a skip must be seen even when the tests pass.
        let bar = "!".repeat(78);
        let mut message = format!("\n{bar}\n");
        for line in warning {
            message.push_str(&format!("!!! {line}\n"));
        }
        message.push_str(&format!("{bar}\n"));
        let _ = writeln!(std::io::stderr(), "{message}");
    });
    None
}

/// Starts a watchdog: `sh -c SCRIPT` named `eligo-testkit-{name}-watchdog`, with the test
/// process's pid as `$1` and `args` as `$2`, `$3`, ... The script waits for that pid to go (and
/// whatever else it watches), then kills the component and removes its files: a test process that
/// panics or is killed never drops what it started, and nothing else would clean up.
///
/// It runs in its own process group, so a Ctrl-C to the tests does not kill it before it cleans
/// up. Keep the returned `Child` (never drop or wait for it while the component lives).
pub(crate) fn spawn_watchdog(name: &str, script: &str, args: &[&OsStr]) -> Result<Child, String> {
    use std::os::unix::process::CommandExt;
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(format!("eligo-testkit-{name}-watchdog"))
        .arg(std::process::id().to_string())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot spawn the cleanup watchdog (sh): {e}"))
}

/// The directories on PATH, in order (none when PATH is unset).
pub(crate) fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}

/// The first executable file named `program` in a directory on PATH, as a shell would run it.
pub(crate) fn find_on_path(program: &str) -> Option<PathBuf> {
    path_dirs()
        .into_iter()
        .map(|dir| dir.join(program))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` (only connects, says nothing).
pub(crate) async fn accepts(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

/// A server process of a component (scim2-server, oidc-provider): in its own process group,
/// its output in a log file, watched by a watchdog that kills the group once the test process
/// has gone without dropping it.
pub(crate) struct Running {
    child: Child,
    watchdog: Child,
}

impl Running {
    /// Spawns `command` with stdout and stderr to `log` in a process group of its own, then its
    /// watchdog (`watchdog(pid)`). `what` names the program in an error.
    pub(crate) fn spawn(
        mut command: Command,
        log: &Path,
        what: &str,
        watchdog: impl FnOnce(u32) -> Result<Child, String>,
    ) -> Result<Self, String> {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot reopen {}: {e}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run {what}: {e}"))?;
        let watchdog = watchdog(child.id())?;
        Ok(Self { child, watchdog })
    }

    /// Kills the whole group (a shim and the server behind it alike) and the watchdog.
    pub(crate) fn kill(mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

/// Waits until `ready` says the server in `process` answers on `port`, polling every `poll` for
/// at most `timeout`. When it exits or never answers, it is killed (`process` left `None`) and
/// the error carries its log.
pub(crate) async fn await_ready<F, Fut>(
    process: &mut Option<Running>,
    port: u16,
    log: &Path,
    timeout: std::time::Duration,
    poll: std::time::Duration,
    mut ready: F,
) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let log_text = || std::fs::read_to_string(log).unwrap_or_default();
    for _ in 0..timeout.as_millis() / poll.as_millis().max(1) {
        let exited = match process.as_mut() {
            Some(running) => running.child.try_wait().ok().flatten(),
            None => None,
        };
        if let Some(status) = exited {
            if let Some(running) = process.take() {
                running.kill();
            }
            return Err(format!(
                "on port {port}: it exited ({status}):\n{}",
                log_text()
            ));
        }
        if ready().await {
            return Ok(());
        }
        tokio::time::sleep(poll).await;
    }
    if let Some(running) = process.take() {
        running.kill();
    }
    Err(format!(
        "on port {port}: no answer within {} s:\n{}",
        timeout.as_secs(),
        log_text()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_on_path_and_not_a_made_up_program() {
        assert!(find_on_path("sh").is_some_and(|p| p.ends_with("sh")));
        assert_eq!(find_on_path("eligo-no-such-program-here"), None);
    }

    #[test]
    fn watchdog_script_gets_its_name_our_pid_and_the_arguments() {
        let out = std::env::temp_dir().join(format!("eligo-wd-{}", uuid::Uuid::new_v4().simple()));
        let mut watchdog = spawn_watchdog(
            "probe",
            r#"echo "$0 $1 $2 $3" > "$2""#,
            &[out.as_os_str(), OsStr::new("x y")],
        )
        .unwrap();
        assert!(watchdog.wait().unwrap().success());
        let said = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        assert_eq!(
            said.trim_end(),
            format!(
                "eligo-testkit-probe-watchdog {} {} x y",
                std::process::id(),
                out.display()
            )
        );
    }

    #[tokio::test]
    async fn accepts_only_while_listening() {
        // The port stays bound (so no parallel test can take it) but refuses until it listens.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        assert!(!accepts(port).await, "bound but not listening");
        let listener = socket.listen(16).unwrap();
        assert!(accepts(port).await);
        drop(listener);
    }
}
