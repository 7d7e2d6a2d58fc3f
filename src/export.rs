//! SIEM export of the audit trail (threat-model rule 8): every entry, oldest first, appended as
//! one JSON line to `ELIGO_AUDIT_EXPORT_FILE`, which a log shipper tails. Delivery is at least
//! once and resumable: the last exported sequence is kept beside the file (`<file>.cursor`) and
//! written only after the lines are on disk, so a crash in between repeats lines (a reader
//! deduplicates on `sequence`) but never skips one.
//!
//! `ELIGO_AUDIT_EXPORT_SYSLOG` sends the same entries, with the same cursor semantics (kept in
//! `<data dir>/audit-syslog.cursor`, advanced only past messages the socket accepted), as RFC 5424
//! syslog messages, one per entry: to a unix datagram socket (`/dev/log`, or any path), or to
//! `udp://host:port`. Audit entries name people and what they did, and UDP syslog is clear
//! text: a UDP target must be a loopback address (a local relay that forwards over TLS) unless
//! `ELIGO_OUTBOUND_ALLOW` lists it, checked on every resolved address at each (re)connection.
//! A unix datagram socket is reliable on its host; UDP may drop a datagram without anyone
//! knowing, which is why the file export and the `audit.entry` webhook exist.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
pub use crate::config::syslog::SyslogTarget;

/// How often the export looks for new entries.
const POLL: Duration = Duration::from_millis(500);
const BATCH: i64 = 1_000;

fn cursor_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".cursor");
    PathBuf::from(name)
}

/// The last sequence exported to `file` (0 when none).
pub fn cursor(file: &Path) -> anyhow::Result<i64> {
    read_cursor(&cursor_path(file))
}

fn read_cursor(path: &Path) -> anyhow::Result<i64> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim().parse()?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn save_cursor(file: &Path, sequence: i64) -> anyhow::Result<()> {
    write_cursor(&cursor_path(file), sequence)
}

/// Writes the cursor through a renamed temporary file, so a crash leaves the old or the new
/// value, never half of one.
fn write_cursor(path: &Path, sequence: i64) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(sequence.to_string().as_bytes())?;
    f.sync_data()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Appends every entry after the cursor; returns how many were written.
pub async fn export_new(app: &App, file: &Path) -> anyhow::Result<usize> {
    let mut after = cursor(file)?;
    let mut written = 0;
    loop {
        let batch = app.store.read().await?.audit_after(after, BATCH).await?;
        let Some(last) = batch.last() else {
            return Ok(written);
        };
        let last = last.sequence;
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)?;
        let mut lines = Vec::new();
        for entry in &batch {
            serde_json::to_writer(&mut lines, entry)?;
            lines.push(b'\n');
        }
        out.write_all(&lines)?;
        out.sync_data()?;
        save_cursor(file, last)?;
        written += batch.len();
        after = last;
    }
}

/// Exports new entries every half second, until aborted.
pub async fn run_forever(app: Arc<App>, file: PathBuf) {
    loop {
        if let Err(e) = export_new(&app, &file).await {
            tracing::error!(error = %e, file = %file.display(), "exporting the audit trail failed; retrying");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// RFC 5424 `log audit` facility.
const FACILITY_LOG_AUDIT: u8 = 13;
/// Severity of a successful action (informational) and of a refused or failed one (notice).
const SEVERITY_SUCCESS: u8 = 6;
const SEVERITY_FAILURE: u8 = 5;
/// The largest datagram sent: under UDP's 65,507 bytes, and a unix socket's default limits.
const MAX_DATAGRAM: usize = 65_000;
/// The byte order mark RFC 5424 puts before a UTF-8 MSG.
const BOM: &str = "\u{feff}";

/// The host name for the HOSTNAME field: printable ASCII without spaces, or `-`.
fn host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    if name.is_empty() { "-".into() } else { name }
}

/// One entry as an RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME eligo PROCID audit
/// [meta sequenceId="N"] BOM{entry as JSON}`. The JSON is the entry exactly as the file
/// export and the API write it; an entry too large for one datagram is sent as its header
/// fields with `"truncated": true` (the whole entry stays readable through the API).
pub fn rfc5424(entry: &eligo_core::audit::AuditEntry, host: &str, procid: u32) -> Vec<u8> {
    let severity = match entry.result {
        eligo_core::audit::Outcome::Success => SEVERITY_SUCCESS,
        eligo_core::audit::Outcome::Failure => SEVERITY_FAILURE,
    };
    let pri = u16::from(FACILITY_LOG_AUDIT) * 8 + u16::from(severity);
    let timestamp = entry
        .activity_date_time
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    // meta/sequenceId is defined as 1 to 2147483647; past that the JSON still carries it.
    let sd = if (1..=2_147_483_647).contains(&entry.sequence) {
        format!("[meta sequenceId=\"{}\"]", entry.sequence)
    } else {
        "-".to_string()
    };
    let header = format!("<{pri}>1 {timestamp} {host} eligo {procid} audit {sd} {BOM}");
    let json = serde_json::to_string(entry).expect("audit entries always serialize");
    let mut message = header.clone().into_bytes();
    if header.len() + json.len() <= MAX_DATAGRAM {
        message.extend_from_slice(json.as_bytes());
    } else {
        let stub = serde_json::json!({
            "id": entry.id,
            "sequence": entry.sequence,
            "activityDateTime": entry.activity_date_time,
            "activityDisplayName": entry.activity_display_name.chars().take(256).collect::<String>(),
            "category": entry.category,
            "result": entry.result,
            "previousHash": entry.previous_hash,
            "hash": entry.hash,
            "truncated": true,
        });
        message.extend_from_slice(stub.to_string().as_bytes());
    }
    message
}

/// Is a UDP syslog target allowed: loopback, or listed in `ELIGO_OUTBOUND_ALLOW`?
fn udp_allowed(ip: std::net::IpAddr, allow: &[ipnet::IpNet]) -> bool {
    let ip = ip.to_canonical();
    ip.is_loopback() || allow.iter().any(|net| net.contains(&ip))
}

enum Socket {
    Unix(tokio::net::UnixDatagram),
    Udp(tokio::net::UdpSocket),
}

impl Socket {
    async fn connect(target: &SyslogTarget, allow: &[ipnet::IpNet]) -> anyhow::Result<Self> {
        match target {
            SyslogTarget::Unix(path) => {
                let socket = tokio::net::UnixDatagram::unbound()?;
                socket.connect(path)?;
                Ok(Self::Unix(socket))
            }
            SyslogTarget::Udp { host, port } => {
                let addrs: Vec<std::net::SocketAddr> =
                    tokio::net::lookup_host((host.as_str(), *port))
                        .await?
                        .collect();
                if let Some(refused) = addrs.iter().find(|a| !udp_allowed(a.ip(), allow)) {
                    anyhow::bail!(
                        "{} is not a loopback address, and ELIGO_OUTBOUND_ALLOW does not list it: audit entries go over UDP syslog in clear text only to a local relay unless allowed",
                        refused.ip()
                    );
                }
                let addr = addrs
                    .first()
                    .ok_or_else(|| anyhow::anyhow!("{host} resolves to no address"))?;
                let local: std::net::SocketAddr = if addr.is_ipv4() {
                    "0.0.0.0:0".parse()?
                } else {
                    "[::]:0".parse()?
                };
                let socket = tokio::net::UdpSocket::bind(local).await?;
                socket.connect(addr).await?;
                Ok(Self::Udp(socket))
            }
        }
    }

    async fn send(&self, message: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Unix(s) => s.send(message).await,
            Self::Udp(s) => s.send(message).await,
        }
    }
}

/// The syslog export's state: where to, its cursor file, and the socket while it works.
pub struct SyslogExport {
    target: SyslogTarget,
    allow: Vec<ipnet::IpNet>,
    cursor_file: PathBuf,
    host: String,
    socket: Option<Socket>,
}

impl SyslogExport {
    /// The export `app`'s configuration asks for, if any.
    pub fn configured(app: &App) -> Option<Self> {
        let target = app.config.audit_export_syslog.clone()?;
        Some(Self::new(
            target,
            app.config.outbound_allow.clone(),
            app.config.data_dir.join("audit-syslog.cursor"),
        ))
    }

    pub fn new(target: SyslogTarget, allow: Vec<ipnet::IpNet>, cursor_file: PathBuf) -> Self {
        Self {
            target,
            allow,
            cursor_file,
            host: host_name(),
            socket: None,
        }
    }

    /// The last sequence the socket accepted (0 when none).
    pub fn cursor(&self) -> anyhow::Result<i64> {
        read_cursor(&self.cursor_file)
    }

    /// Sends every entry after the cursor, in order; returns how many went out. On an error
    /// the cursor stays after the last message sent and the socket is opened again next time.
    pub async fn export_new(&mut self, app: &App) -> anyhow::Result<usize> {
        let mut after = self.cursor()?;
        let mut sent = 0;
        let procid = std::process::id();
        loop {
            let batch = app.store.read().await?.audit_after(after, BATCH).await?;
            if batch.is_empty() {
                return Ok(sent);
            }
            if self.socket.is_none() {
                self.socket = Some(Socket::connect(&self.target, &self.allow).await?);
            }
            let socket = self.socket.as_ref().expect("connected above");
            let mut failed = None;
            for entry in &batch {
                match socket.send(&rfc5424(entry, &self.host, procid)).await {
                    Ok(_) => {
                        after = entry.sequence;
                        sent += 1;
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            write_cursor(&self.cursor_file, after)?;
            if let Some(e) = failed {
                self.socket = None;
                return Err(anyhow::anyhow!(
                    "sending audit entry {} to {}: {e}",
                    after + 1,
                    self.target
                ));
            }
        }
    }

    /// Sends new entries every half second, until aborted.
    pub async fn run_forever(mut self, app: Arc<App>) {
        loop {
            if let Err(e) = self.export_new(&app).await {
                tracing::error!(error = %e, target = %self.target, "exporting the audit trail to syslog failed; retrying");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_goes_to_loopback_unless_allowed() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(udp_allowed(ip("127.0.0.1"), &[]));
        assert!(udp_allowed(ip("::1"), &[]));
        assert!(udp_allowed(ip("::ffff:127.0.0.1"), &[]));
        assert!(!udp_allowed(ip("10.0.0.5"), &[]));
        assert!(!udp_allowed(ip("93.184.216.34"), &[]));
        let allow = crate::config::networks::parse("10.0.0.0/24").unwrap();
        assert!(udp_allowed(ip("10.0.0.5"), &allow));
    }
}
