//! A throw-away OpenLDAP server for `eligo bench ldap-import`: `slapd -h ldap://127.0.0.1:PORT/
//! -f slapd.conf -d 0` with back_mdb in a temp dir (the same shape the tests' testkit starts,
//! which the binary cannot depend on), killed and removed when dropped. Seeded over LDAP.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use ldap3::{Ldap, LdapConnAsync};

use crate::clock::Stopwatch;

pub const BASE_DN: &str = "dc=bench,dc=example";
pub const ADMIN_DN: &str = "cn=admin,dc=bench,dc=example";
pub const ADMIN_PASSWORD: &str = "bench-admin-secret";

pub struct Slapd {
    pub url: String,
    dir: PathBuf,
    _child: tokio::process::Child,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Slapd {
    /// Starts `slapd` (the binary at `program`) and waits until it accepts connections.
    pub async fn start(program: &str) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("eligo-bench-slapd-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("data"))?;
        let mut conf = String::new();
        for schema in ["core", "cosine", "inetorgperson", "nis"] {
            conf.push_str(&format!("include /etc/ldap/schema/{schema}.schema\n"));
        }
        conf.push_str(&format!(
            "modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {d}/slapd.pid\n\
             sizelimit unlimited\ndatabase mdb\nmaxsize 1073741824\ndbnosync\n\
             suffix \"{BASE_DN}\"\nrootdn \"{ADMIN_DN}\"\nrootpw {ADMIN_PASSWORD}\n\
             directory {d}/data\nindex objectClass eq\n",
            d = dir.display()
        ));
        std::fs::write(dir.join("slapd.conf"), conf)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let url = format!("ldap://127.0.0.1:{port}/");
        let child = tokio::process::Command::new(program)
            .args(["-h", &url, "-f"])
            .arg(dir.join("slapd.conf"))
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {program} (apt-get install slapd)"))?;
        let server = Self {
            url: format!("ldap://127.0.0.1:{port}"),
            dir,
            _child: child,
        };
        let waited = Stopwatch::start();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if waited.elapsed() > Duration::from_secs(20) {
                bail!("slapd did not listen on {url} within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(server)
    }

    /// A connection bound as the rootdn.
    pub async fn admin(&self) -> anyhow::Result<Ldap> {
        let (conn, mut ldap) = LdapConnAsync::new(&self.url).await?;
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN_DN, ADMIN_PASSWORD)
            .await?
            .success()?;
        Ok(ldap)
    }
}

/// One entry for `Ldap::add`.
pub type Entry = (String, Vec<(String, HashSet<String>)>);

pub fn entry(dn: String, attrs: Vec<(&str, Vec<String>)>) -> Entry {
    (
        dn,
        attrs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_iter().collect()))
            .collect(),
    )
}

/// Adds `entries` in order, `width` at a time on the one connection.
pub async fn add_all(ldap: &Ldap, entries: Vec<Entry>, width: usize) -> anyhow::Result<()> {
    let mut set = tokio::task::JoinSet::new();
    for (dn, attrs) in entries {
        if set.len() >= width
            && let Some(done) = set.join_next().await
        {
            done??;
        }
        let mut ldap = ldap.clone();
        set.spawn(async move {
            ldap.add(&dn, attrs)
                .await?
                .success()
                .with_context(|| format!("adding {dn}"))?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = set.join_next().await {
        done??;
    }
    Ok(())
}
