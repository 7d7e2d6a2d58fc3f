//! The SIEM export to syslog (issue 14): every audit entry as one RFC 5424 message, to a unix
//! datagram socket or UDP on loopback that the test binds itself, in order, at least once, and
//! resumable through its cursor; a UDP target elsewhere is refused unless allowed.

use std::time::Duration;

use eligo::export::{SyslogExport, SyslogTarget};
use serde_json::Value;

use crate::harness::*;

/// One parsed RFC 5424 message: (PRI, the header fields, the structured data, the JSON entry).
struct Message {
    pri: u16,
    version: String,
    timestamp: String,
    app: String,
    msgid: String,
    sd: String,
    entry: Value,
}

fn parse(datagram: &[u8]) -> Message {
    let text = std::str::from_utf8(datagram).expect("UTF-8");
    let rest = text.strip_prefix('<').expect("<PRI>");
    let (pri, rest) = rest.split_once('>').unwrap();
    let mut fields = rest.splitn(7, ' ');
    let version = fields.next().unwrap().to_string();
    let timestamp = fields.next().unwrap().to_string();
    let _host = fields.next().unwrap();
    let app = fields.next().unwrap().to_string();
    let _procid = fields.next().unwrap();
    let msgid = fields.next().unwrap().to_string();
    let rest = fields.next().unwrap();
    let (sd, msg) = if rest.starts_with('[') {
        let end = rest.find("] ").expect("end of structured data");
        (rest[..=end].to_string(), &rest[end + 2..])
    } else {
        let (sd, msg) = rest.split_once(' ').unwrap();
        (sd.to_string(), msg)
    };
    let json = msg
        .strip_prefix('\u{feff}')
        .expect("a UTF-8 MSG starts with the BOM");
    Message {
        pri: pri.parse().unwrap(),
        version,
        timestamp,
        app,
        msgid,
        sd,
        entry: serde_json::from_str(json).expect("the entry as JSON"),
    }
}

/// A receiving unix datagram socket read on a thread of its own, as a syslog daemon reads
/// (a socket nobody reads holds only a few datagrams, then the sender waits).
struct Collector {
    got: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Collector {
    fn bind(path: &std::path::Path) -> Self {
        let socket = std::os::unix::net::UnixDatagram::bind(path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 70_000];
            while !s.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(n) = socket.recv(&mut buf) {
                    g.lock().unwrap().push(buf[..n].to_vec());
                }
            }
        });
        Self {
            got,
            stop,
            thread: Some(thread),
        }
    }

    /// The `n` datagrams received (waiting briefly for the last to be read), parsed.
    async fn take(&self, n: usize) -> Vec<Message> {
        for _ in 0..250 {
            if self.got.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let got: Vec<Vec<u8>> = std::mem::take(&mut *self.got.lock().unwrap());
        assert_eq!(got.len(), n, "datagrams received");
        got.iter().map(|d| parse(d)).collect()
    }

    /// Closes the socket (the receiver goes away).
    fn close(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn seqs(messages: &[Message]) -> Vec<i64> {
    messages
        .iter()
        .map(|m| m.entry["sequence"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn every_entry_goes_to_a_unix_datagram_socket_in_order_and_resumes_after_an_outage() {
    let dir = temp_dir("syslog");
    let path = dir.join("audit.sock");
    let t = TestApp::configured(|c| {
        c.audit_export_syslog = Some(SyslogTarget::Unix(path.clone()));
    })
    .await;
    let socket = Collector::bind(&path);
    t.user("exported").await;
    let mut export = SyslogExport::configured(&t.app).expect("configured");
    let sent = export.export_new(&t.app).await.unwrap();
    let got = socket.take(sent).await;
    let head = t
        .app
        .store
        .read()
        .await
        .unwrap()
        .audit_head()
        .await
        .unwrap()
        .0;
    assert_eq!(
        seqs(&got),
        (1..=head).collect::<Vec<_>>(),
        "every entry, in order"
    );
    for m in &got {
        assert_eq!(m.version, "1");
        assert_eq!(m.app, "eligo");
        assert_eq!(m.msgid, "audit");
        let seq = m.entry["sequence"].as_i64().unwrap();
        assert_eq!(m.sd, format!("[meta sequenceId=\"{seq}\"]"));
        // Facility 13 (log audit); severity informational, notice for a failure.
        let severity = if m.entry["result"] == "failure" { 5 } else { 6 };
        assert_eq!(m.pri, 13 * 8 + severity);
        assert!(m.timestamp.ends_with('Z') && m.timestamp.contains('T'));
    }
    let added = got
        .iter()
        .find(|m| m.entry["activityDisplayName"] == "Add user")
        .expect("the new user's entry");
    let (_, served) = t
        .get(
            "/v1/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Add user'",
            BOOTSTRAP,
        )
        .await;
    assert!(
        served["value"].as_array().unwrap().contains(&added.entry),
        "the message carries the entry exactly as served"
    );
    // Only what is new goes out (reading the entries above was itself audited).
    let more = export.export_new(&t.app).await.unwrap();
    let got = socket.take(more).await;
    assert_eq!(
        seqs(&got),
        (head + 1..=head + more as i64).collect::<Vec<_>>()
    );
    let head = head + more as i64;
    assert_eq!(export.export_new(&t.app).await.unwrap(), 0, "nothing twice");
    assert_eq!(export.cursor().unwrap(), head);

    // The receiver goes away: sending fails, and the cursor stays where it was.
    socket.close();
    std::fs::remove_file(&path).unwrap();
    t.user("while-down").await;
    assert!(export.export_new(&t.app).await.is_err());
    assert_eq!(export.cursor().unwrap(), head, "nothing skipped");
    // Back (and a new export, as after a restart): resumes after the cursor.
    let socket = Collector::bind(&path);
    let mut again = SyslogExport::configured(&t.app).unwrap();
    let sent = again.export_new(&t.app).await.unwrap();
    let got = socket.take(sent).await;
    let resumed = seqs(&got);
    assert_eq!(resumed.first(), Some(&(head + 1)), "{resumed:?}");
    assert!(resumed.windows(2).all(|w| w[1] == w[0] + 1), "{resumed:?}");
    assert!(got.iter().any(
        |m| m.entry["targetResources"][0]["userPrincipalName"] == "while-down@contoso.example"
    ));
    socket.close();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn udp_goes_to_a_loopback_receiver_and_is_refused_elsewhere_unless_allowed() {
    let receiver = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = receiver.local_addr().unwrap().port();
    let t = TestApp::configured(|c| {
        c.audit_export_syslog =
            Some(SyslogTarget::parse(&format!("udp://127.0.0.1:{port}")).unwrap());
        // Not even the tests' own allowance: loopback needs none.
        c.outbound_allow = Vec::new();
    })
    .await;
    t.user("over-udp").await;
    let mut export = SyslogExport::configured(&t.app).unwrap();
    let sent = export.export_new(&t.app).await.unwrap();
    assert!(sent > 0);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 70_000];
    while got.len() < sent {
        let n = tokio::time::timeout(Duration::from_secs(5), receiver.recv(&mut buf))
            .await
            .expect("a datagram")
            .unwrap();
        got.push(parse(&buf[..n]));
    }
    let s = seqs(&got);
    assert!(s.windows(2).all(|w| w[1] == w[0] + 1), "{s:?}");

    // A private address, not allowed: nothing is sent, the cursor does not move, and the error
    // says which setting would allow it (the allow list itself is unit-tested in `export`).
    let dir = temp_dir("syslog-refused");
    let mut refused = SyslogExport::new(
        SyslogTarget::parse("udp://10.255.255.1:514").unwrap(),
        Vec::new(),
        dir.join("cursor"),
    );
    let e = refused.export_new(&t.app).await.unwrap_err().to_string();
    assert!(e.contains("ELIGO_OUTBOUND_ALLOW"), "{e}");
    assert_eq!(refused.cursor().unwrap(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_setting_is_parsed_with_the_others() {
    let env = |k: &str| match k {
        "ELIGO_AUDIT_EXPORT_SYSLOG" => Some("udp://[::1]:5514".to_string()),
        _ => None,
    };
    let c = eligo::config::Config::load(None, &env).unwrap();
    assert_eq!(
        c.audit_export_syslog,
        Some(SyslogTarget::Udp {
            host: "::1".into(),
            port: 5514
        })
    );
    let bad = |k: &str| match k {
        "ELIGO_AUDIT_EXPORT_SYSLOG" => Some("syslog.example:514".to_string()),
        _ => None,
    };
    let e = eligo::config::Config::load(None, &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ELIGO_AUDIT_EXPORT_SYSLOG"), "{e}");
}

/// The real server: entries go to the socket as they are written, and a graceful stop first
/// writes the failures it was still counting, then sends them too — the trail and the SIEM
/// agree, to the last entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_exports_to_syslog_and_writes_counted_failures_before_it_stops() {
    use crate::process::support::{Server, Spec, clean, run_on};
    let dir = temp_dir("proc-syslog");
    let path = dir.join("syslog.sock");
    let socket = Collector::bind(&path);
    let spec = Spec::sqlite(&dir)
        .setting("ELIGO_AUDIT_EXPORT_SYSLOG", &path.display().to_string())
        // A long window: nothing counted is written before the stop.
        .setting("ELIGO_AUDIT_FAILURE_WINDOW", "PT1H");
    let server = Server::start(&spec).await;
    let (status, body) = server
        .client()
        .post(
            "/v1/users",
            BOOTSTRAP,
            serde_json::json!({ "userPrincipalName": "victim@contoso.example", "displayName": "V",
                                "passwordProfile": { "password": PASSWORD } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    for _ in 0..5 {
        let (status, _) = server
            .client()
            .sign_in("victim@contoso.example", "not the password")
            .await;
        assert_eq!(status, 401);
    }
    let out = server.stop().await;
    assert_eq!(out.code(), Some(0), "{}", out.show());
    // The offline verification counts the whole trail.
    let verify = run_on(&spec, &["audit", "verify"], &[]).await;
    assert_eq!(verify.code(), Some(0), "{}", verify.show());
    let verdict: Value = serde_json::from_str(&verify.stdout).unwrap();
    let entries = verdict["entries"].as_u64().unwrap() as usize;
    let got = socket.take(entries).await;
    assert_eq!(
        seqs(&got),
        (1..=entries as i64).collect::<Vec<_>>(),
        "every entry reached syslog, in order, once"
    );
    let failures: Vec<&Value> = got
        .iter()
        .map(|m| &m.entry)
        .filter(|e| e["activityDisplayName"] == "User sign-in failed")
        .collect();
    assert_eq!(
        failures.len(),
        2,
        "the first at once, the rest as one: {failures:?}"
    );
    let count = failures[1]["additionalDetails"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "failureCount")
        .and_then(|d| d["value"].as_str());
    assert_eq!(count, Some("4"), "{:?}", failures[1]);
    socket.close();
    clean(&dir);
}
