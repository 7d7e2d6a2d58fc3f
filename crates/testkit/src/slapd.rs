//! A throw-away OpenLDAP server (slapd) for tests, one per caller.
//!
//! [`slapd`] starts `slapd -h ldap://127.0.0.1:PORT/ -f slapd.conf -d 0` in a temp dir: back_mdb
//! with the memberof and refint overlays, suffix `dc=example,dc=org`, rootdn
//! `cn=admin,dc=example,dc=org`, the core, cosine, inetorgperson and nis schemas, and the base
//! entries `ou=people` and `ou=groups`. [`slapd_tls`] also serves `ldaps://` and StartTLS with a
//! certificate (SAN `127.0.0.1` and `localhost`) from a throw-away CA made by the `openssl` CLI.
//!
//! The testkit has no LDAP library: entries are seeded and read back through the ldap-utils CLIs
//! (`ldapadd`, `ldapsearch`). [`Slapd::stop`] and [`Slapd::start`] stop and restart the server
//! on the same port (the data survives), to test "downstream down, then back". Dropping a
//! [`Slapd`] kills the server and removes its directory; a watchdog process does the same if the
//! test process dies first.
//!
//! Without slapd or ldap-utils (or openssl, for [`slapd_tls`]) the helpers return `None` after a
//! loud message, except under CI (`CI` set and non-empty), where they panic: CI never skips.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use crate::component;

const SLAPD: &str = "/usr/sbin/slapd";
const SCHEMA_DIR: &str = "/etc/ldap/schema";
const MODULE_DIR: &str = "/usr/lib/ldap";
const BASE_DN: &str = "dc=example,dc=org";
const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
const ADMIN_PASSWORD: &str = "admin-secret";
/// How long slapd may take to listen, and each CLI call to finish.
const START_TIMEOUT: Duration = Duration::from_secs(20);
const START_ATTEMPTS: u32 = 3;

/// A running (or stopped) slapd on 127.0.0.1, owning its temp dir.
pub struct Slapd {
    dir: PathBuf,
    port: u16,
    /// The ldaps:// port, for [`slapd_tls`].
    tls_port: Option<u16>,
    ca_pem: Option<String>,
    child: Option<Child>,
    /// Kills slapd and removes `dir` once the test process is gone; owned so it lives as long.
    _watchdog: Option<std::process::Child>,
}

/// A fresh slapd with the base entries, or `None` (after a loud message) when slapd or
/// ldap-utils are not installed outside CI.
///
/// # Panics
/// When slapd cannot be started or seeded, and under CI when it is not installed.
pub async fn slapd() -> Option<Slapd> {
    if let Some(missing) = missing_tools(false) {
        return skip(&missing);
    }
    Some(Slapd::launch(false).await)
}

/// Like [`slapd`], also serving `ldaps://` ([`Slapd::ldaps_url`]) and StartTLS on
/// [`Slapd::url`], with a certificate from a throw-away CA ([`Slapd::ca_pem`]).
///
/// # Panics
/// As [`slapd`]; also needs the `openssl` CLI.
pub async fn slapd_tls() -> Option<Slapd> {
    if let Some(missing) = missing_tools(true) {
        return skip(&missing);
    }
    Some(Slapd::launch(true).await)
}

impl Slapd {
    /// `ldap://127.0.0.1:PORT` (StartTLS works on it too for [`slapd_tls`]).
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://127.0.0.1:PORT`, only for a server from [`slapd_tls`].
    pub fn ldaps_url(&self) -> Option<String> {
        self.tls_port.map(|p| format!("ldaps://127.0.0.1:{p}"))
    }

    /// The PEM of the CA that issued the server's certificate, only for [`slapd_tls`].
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `dc=example,dc=org`.
    pub fn base_dn(&self) -> &'static str {
        BASE_DN
    }

    /// `ou=people,dc=example,dc=org`.
    pub fn people_dn(&self) -> String {
        format!("ou=people,{BASE_DN}")
    }

    /// `ou=groups,dc=example,dc=org`.
    pub fn groups_dn(&self) -> String {
        format!("ou=groups,{BASE_DN}")
    }

    /// The rootdn, `cn=admin,dc=example,dc=org` (not an entry in the tree).
    pub fn admin_dn(&self) -> &'static str {
        ADMIN_DN
    }

    pub fn admin_password(&self) -> &'static str {
        ADMIN_PASSWORD
    }

    /// Adds an inetOrgPerson `uid=UID,ou=people,...` with that mail; returns its DN.
    pub async fn add_user(&self, uid: &str, mail: &str) -> String {
        let dn = format!("uid={uid},ou=people,{BASE_DN}");
        self.add_ldif(&user_ldif(&dn, uid, mail)).await;
        dn
    }

    /// Adds many users in one `ldapadd`; returns their DNs in order.
    pub async fn add_users(&self, users: &[(&str, &str)]) -> Vec<String> {
        let mut ldif = String::new();
        let dns = users
            .iter()
            .map(|(uid, mail)| {
                let dn = format!("uid={uid},ou=people,{BASE_DN}");
                ldif.push_str(&user_ldif(&dn, uid, mail));
                dn
            })
            .collect();
        self.add_ldif(&ldif).await;
        dns
    }

    /// Adds a groupOfNames `cn=CN,ou=groups,...`; returns its DN. The schema requires a member:
    /// with none given, the admin DN is its only member (the connector's default placeholder).
    pub async fn add_group_of_names(&self, cn: &str, member_dns: &[&str]) -> String {
        let dn = format!("cn={cn},ou=groups,{BASE_DN}");
        let mut ldif = format!("dn: {dn}\nobjectClass: groupOfNames\ncn: {cn}\n");
        if member_dns.is_empty() {
            ldif.push_str(&format!("member: {ADMIN_DN}\n"));
        }
        for member in member_dns {
            ldif.push_str(&format!("member: {member}\n"));
        }
        ldif.push('\n');
        self.add_ldif(&ldif).await;
        dn
    }

    /// Adds a posixGroup `cn=CN,ou=groups,...` with those memberUid values; returns its DN.
    pub async fn add_posix_group(&self, cn: &str, gid: u32, member_uids: &[&str]) -> String {
        let dn = format!("cn={cn},ou=groups,{BASE_DN}");
        let mut ldif = format!("dn: {dn}\nobjectClass: posixGroup\ncn: {cn}\ngidNumber: {gid}\n");
        for uid in member_uids {
            ldif.push_str(&format!("memberUid: {uid}\n"));
        }
        ldif.push('\n');
        self.add_ldif(&ldif).await;
        dn
    }

    /// The `member` and `memberUid` values of the entry `dn`, as stored, sorted.
    ///
    /// # Panics
    /// When the entry does not exist or ldapsearch fails.
    pub async fn group_members(&self, dn: &str) -> Vec<String> {
        let out = self
            .cli(
                "ldapsearch",
                &["-LLL", "-o", "ldif-wrap=no", "-s", "base", "-b", dn],
                &["member", "memberUid"],
                None,
            )
            .await;
        let mut values: Vec<String> = out
            .lines()
            .filter_map(|line| {
                let (attr, value) = line.split_once(':')?;
                let attr = attr.to_ascii_lowercase();
                (attr == "member" || attr == "memberuid").then(|| match value.strip_prefix(':') {
                    Some(b64) => String::from_utf8(base64_decode(b64.trim()))
                        .expect("testkit: ldapsearch value is not UTF-8"),
                    None => value.trim_start().to_string(),
                })
            })
            .collect();
        values.sort();
        values
    }

    /// Runs `ldapadd` as the admin with this LDIF.
    ///
    /// # Panics
    /// When ldapadd fails.
    pub async fn add_ldif(&self, ldif: &str) {
        self.cli("ldapadd", &[], &[], Some(ldif)).await;
    }

    /// Runs `ldapmodify` as the admin with this LDIF.
    ///
    /// # Panics
    /// When ldapmodify fails.
    pub async fn modify_ldif(&self, ldif: &str) {
        self.cli("ldapmodify", &[], &[], Some(ldif)).await;
    }

    /// Stops the server (SIGKILL, like a crash or a network cut); the data stays.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        let _ = std::fs::remove_file(self.dir.join("slapd.pid"));
    }

    /// Starts the server again on the same port(s) after [`Slapd::stop`]; no-op when running.
    ///
    /// # Panics
    /// When it does not start.
    pub async fn start(&mut self) {
        if self.child.is_some() {
            return;
        }
        let child = spawn_slapd(&self.dir, self.port, self.tls_port)
            .await
            .unwrap_or_else(|e| panic!("testkit: restarting slapd failed: {e}"));
        self.child = Some(child);
    }

    async fn launch(tls: bool) -> Slapd {
        let dir =
            std::env::temp_dir().join(format!("eligo-slapd-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("data"))
            .unwrap_or_else(|e| panic!("testkit: cannot create {}: {e}", dir.display()));
        let watchdog = spawn_watchdog(&dir);
        let ca_pem = if tls {
            Some(make_certificates(&dir).await)
        } else {
            None
        };
        std::fs::write(dir.join("slapd.conf"), slapd_conf(&dir, tls))
            .unwrap_or_else(|e| panic!("testkit: cannot write slapd.conf: {e}"));

        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = crate::free_port();
            let tls_port = tls.then(crate::free_port);
            match spawn_slapd(&dir, port, tls_port).await {
                Ok(child) => {
                    let slapd = Slapd {
                        dir,
                        port,
                        tls_port,
                        ca_pem,
                        child: Some(child),
                        _watchdog: watchdog,
                    };
                    slapd.add_ldif(&base_ldif()).await;
                    return slapd;
                }
                Err(e) => failures.push(e),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!(
            "testkit: slapd did not start after {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// Runs an ldap-utils CLI bound as the admin; returns its stdout.
    async fn cli(
        &self,
        tool: &str,
        args: &[&str],
        trailing: &[&str],
        stdin: Option<&str>,
    ) -> String {
        let url = self.url();
        let mut cmd = Command::new(tool);
        cmd.args(["-x", "-H", &url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD])
            .args(args)
            .args(trailing)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("testkit: cannot run {tool}: {e}"));
        // Written while the output is read: ldapadd answers each entry as it goes, and a
        // large input written first would fill its output pipe and hang both sides.
        let writer = stdin.map(|input| {
            let mut pipe = child.stdin.take().expect("piped stdin");
            let input = input.to_string();
            let tool = tool.to_string();
            tokio::spawn(async move {
                pipe.write_all(input.as_bytes())
                    .await
                    .unwrap_or_else(|e| panic!("testkit: cannot write to {tool}: {e}"));
            })
        });
        let out = tokio::time::timeout(START_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("testkit: {tool} timed out"))
            .unwrap_or_else(|e| panic!("testkit: {tool} failed to run: {e}"));
        if let Some(writer) = writer {
            writer.await.expect("the input was written");
        }
        if !out.status.success() {
            panic!(
                "testkit: {tool} {args:?} {trailing:?} failed ({})\n--- stderr ---\n{}\n--- stdout \
                 ---\n{}\n--- input ---\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout),
                stdin.unwrap_or("")
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn user_ldif(dn: &str, uid: &str, mail: &str) -> String {
    format!(
        "dn: {dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\nmail: {mail}\n\n"
    )
}

fn base_ldif() -> String {
    format!(
        "dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: \
         Example\n\ndn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people\n\ndn: \
         ou=groups,{BASE_DN}\nobjectClass: organizationalUnit\nou: groups\n\n"
    )
}

fn slapd_conf(dir: &Path, tls: bool) -> String {
    let dir = dir.display();
    let mut conf = String::new();
    for schema in ["core", "cosine", "inetorgperson", "nis"] {
        conf.push_str(&format!("include {SCHEMA_DIR}/{schema}.schema\n"));
    }
    conf.push_str(&format!(
        "modulepath {MODULE_DIR}\nmoduleload back_mdb\nmoduleload memberof\nmoduleload refint\n\
         pidfile {dir}/slapd.pid\n"
    ));
    if tls {
        conf.push_str(&format!(
            "TLSCACertificateFile {dir}/ca.pem\nTLSCertificateFile {dir}/server.pem\n\
             TLSCertificateKeyFile {dir}/server.key\n"
        ));
    }
    conf.push_str(&format!(
        "database mdb\nmaxsize 67108864\ndbnosync\nsuffix \"{BASE_DN}\"\nrootdn \"{ADMIN_DN}\"\n\
         rootpw {ADMIN_PASSWORD}\ndirectory {dir}/data\n\
         overlay memberof\noverlay refint\nrefint_attributes member\n"
    ));
    conf
}

/// Starts slapd in the foreground (`-d 0`) and waits until it accepts connections.
// Test support may read the wall clock: the product's injected-clock rule does not apply here.
#[allow(clippy::disallowed_methods)]
async fn spawn_slapd(dir: &Path, port: u16, tls_port: Option<u16>) -> Result<Child, String> {
    let mut urls = format!("ldap://127.0.0.1:{port}/");
    if let Some(tls_port) = tls_port {
        urls.push_str(&format!(" ldaps://127.0.0.1:{tls_port}/"));
    }
    let log_path = dir.join("slapd.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create log: {e}"))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot dup log: {e}"))?;
    let mut child = Command::new(SLAPD)
        .arg("-h")
        .arg(&urls)
        .arg("-f")
        .arg(dir.join("slapd.conf"))
        .args(["-d", "0"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {SLAPD}: {e}"))?;
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!(
                "slapd -h {urls} exited ({status})\n--- log ---\n{log}"
            ));
        }
        let plain = component::accepts(port).await;
        let secure = match tls_port {
            Some(p) => component::accepts(p).await,
            None => true,
        };
        if plain && secure {
            return Ok(child);
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill().await;
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!(
                "slapd -h {urls} did not listen in time\n--- log ---\n{log}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A throw-away CA and a server certificate (SAN 127.0.0.1, localhost) in `dir`
/// (`ca.pem`, `server.pem`, `server.key`); returns the CA's PEM. Needs the `openssl` CLI.
pub async fn make_certificates(dir: &Path) -> String {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap_or_else(|e| panic!("testkit: cannot write server.ext: {e}"));
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "3"],
            &["-subj", "/CN=Eligo Test CA"],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat(),
        [
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "3",
            "-extfile",
            "server.ext",
        ],
    ];
    for args in steps {
        let out = Command::new("openssl")
            .args(&args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap_or_else(|e| panic!("testkit: cannot run openssl: {e}"));
        if !out.status.success() {
            panic!(
                "testkit: openssl {args:?} failed ({})\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    std::fs::read_to_string(dir.join("ca.pem"))
        .unwrap_or_else(|e| panic!("testkit: cannot read ca.pem: {e}"))
}

/// Waits for the test process to exit, then kills slapd (by its pidfile) and removes `dir`.
fn spawn_watchdog(dir: &Path) -> Option<std::process::Child> {
    const SCRIPT: &str = r#"
        parent=$1 dir=$2
        while kill -0 "$parent" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
        if [ -f "$dir/slapd.pid" ]; then kill -KILL "$(cat "$dir/slapd.pid")" 2>/dev/null; fi
        rm -rf "$dir"
    "#;
    component::spawn_watchdog("slapd", SCRIPT, &[dir.as_os_str()]).ok()
}

/// The first tool we need that is not installed, if any.
fn missing_tools(tls: bool) -> Option<String> {
    if !Path::new(SLAPD).is_file() {
        return Some(SLAPD.to_string());
    }
    if !Path::new(&format!("{SCHEMA_DIR}/nis.schema")).is_file() {
        return Some(format!("{SCHEMA_DIR}/nis.schema"));
    }
    let mut tools = vec!["ldapadd", "ldapsearch", "ldapmodify"];
    if tls {
        tools.push("openssl");
    }
    tools
        .into_iter()
        .find(|tool| component::find_on_path(tool).is_none())
        .map(str::to_string)
}

/// Not installed: say so loudly (once), or panic under CI.
fn skip<T>(missing: &str) -> Option<T> {
    static WARNED: OnceLock<()> = OnceLock::new();
    component::skip(
        &WARNED,
        &format!(
            "{missing} not found; CI must not skip LDAP tests: install slapd, ldap-utils and \
             openssl"
        ),
        &[
            &format!("LDAP tests SKIPPED: {missing} not found."),
            "Install them: apt-get install -y slapd ldap-utils openssl",
        ],
    )
}

/// Standard base64 (as ldapsearch prints `attr:: value`).
fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes() {
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(base64_decode("YQ=="), b"a");
    }

    #[tokio::test]
    async fn starts_seeds_reads_and_restarts() {
        let Some(mut server) = slapd().await else {
            return;
        };
        let alice = server.add_user("alice", "alice@example.org").await;
        let group = server.add_group_of_names("ops", &[&alice]).await;
        assert_eq!(server.group_members(&group).await, vec![alice.clone()]);
        let posix = server
            .add_posix_group("devs", 5000, &["alice", "bob"])
            .await;
        assert_eq!(server.group_members(&posix).await, vec!["alice", "bob"]);
        server.stop().await;
        server.start().await;
        assert_eq!(server.group_members(&group).await, vec![alice]);
    }

    #[tokio::test]
    async fn tls_server_serves_ldaps() {
        let Some(server) = slapd_tls().await else {
            return;
        };
        assert!(server.ca_pem().unwrap().contains("BEGIN CERTIFICATE"));
        assert!(
            server
                .ldaps_url()
                .unwrap()
                .starts_with("ldaps://127.0.0.1:")
        );
        assert!(server.group_members(&server.groups_dn()).await.is_empty());
    }
}
