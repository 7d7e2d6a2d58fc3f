//! Layered configuration: built-in defaults, then an optional TOML file (`--config`), then
//! `ELIGO_*` environment variables, then `ELIGO_*_FILE` for secrets (the file's content wins).
//! Secrets are wrapped in `Secret`, whose `Debug` never shows them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::TimeDelta;
use serde::Deserialize;

pub mod networks;
pub mod oidc;
pub mod syslog;

/// A value that must not reach logs or `Debug` output.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Who may enrol a first authenticator after signing in with a password alone
/// (`ELIGO_FIRST_FACTOR_ENROLMENT`). Whoever holds a password could otherwise bind their own
/// authenticator to an account that has none yet, and own its second factor from then on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirstFactorEnrolment {
    /// Anyone signed in may enrol their first authenticator.
    #[default]
    Open,
    /// Privileged principals (threat-model rule 1) need a Temporary Access Pass session.
    PassForPrivileged,
    /// Everyone needs a Temporary Access Pass session.
    PassAlways,
}

impl FirstFactorEnrolment {
    pub fn parse(v: &str) -> anyhow::Result<Self> {
        Ok(match v {
            "open" => Self::Open,
            "pass-for-privileged" => Self::PassForPrivileged,
            "pass-always" => Self::PassAlways,
            _ => bail!(
                "ELIGO_FIRST_FACTOR_ENROLMENT must be open, pass-for-privileged or pass-always"
            ),
        })
    }
}

/// Which forwarding header the trusted proxies write. Only that one is read: a proxy that
/// appends to one usually passes the other through as the client sent it, so reading both
/// would let the client name any address (and dodge or aim the sign-in throttle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (nginx, HAProxy, Envoy, cloud load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=...`.
    Forwarded,
}

impl ForwardedHeader {
    pub fn parse(v: &str) -> anyhow::Result<Self> {
        Ok(match v.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Self::XForwardedFor,
            "forwarded" => Self::Forwarded,
            _ => bail!("ELIGO_FORWARDED_HEADER must be x-forwarded-for or forwarded"),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Secret because a PostgreSQL URL may carry a password.
    pub database_url: Secret,
    /// The shortest activation Eligo grants, and the least time an activation must have run
    /// before it is self-deactivated.
    pub min_duration: TimeDelta,
    pub bootstrap_token: Option<Secret>,
    pub token_lifetime: TimeDelta,
    /// How recent a session's MFA must be for actions that demand step-up.
    pub mfa_freshness: TimeDelta,
    /// How far behind the database this server's access index may be before it answers 503
    /// rather than from stale state (several servers on PostgreSQL; issue 18).
    pub max_staleness: TimeDelta,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    /// Where mail goes (`smtp://host:port`, `smtps://user:pass@host`, `?tls=required` for
    /// StartTLS); None: no mail is sent (notices still reach webhooks).
    pub smtp_url: Option<Secret>,
    /// The From address of Eligo's mail.
    pub mail_from: String,
    /// The address people reach Eligo at, for links in mail (no trailing slash).
    pub public_url: String,
    /// The key that signs one-click approval links; None: one is generated and kept in the
    /// store, so links survive restarts.
    pub link_secret: Option<Secret>,
    /// How long a one-click approval link stays valid.
    pub link_lifetime: TimeDelta,
    /// How often every provisioned group is compared with its downstream group.
    pub reconcile_interval: TimeDelta,
    /// Delivery attempts before an outbox job is dead-lettered (status failed).
    pub outbox_max_attempts: u32,
    /// Write transactions committed together at most (`ELIGO_GROUP_COMMIT_MAX`; 1 turns
    /// group commit off).
    pub group_commit_max: usize,
    /// How long an outbox claim holds (`ELIGO_OUTBOX_LEASE`): a job whose server died is
    /// delivered by another after it. Longer than any delivery takes.
    pub outbox_lease: TimeDelta,
    /// A portal session ends after this long without a request (its absolute end is
    /// `token_lifetime`).
    pub portal_idle_timeout: TimeDelta,
    /// After SIGTERM, how long the server keeps serving while `/readyz` says 503, so a load
    /// balancer stops sending it requests before it stops accepting them (rolling restarts).
    pub shutdown_drain: TimeDelta,
    /// Who may enrol a first authenticator without a Temporary Access Pass.
    pub first_factor_enrolment: FirstFactorEnrolment,
    /// Peers whose `Forwarded` / `X-Forwarded-For` headers are believed (reverse proxies).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The header those proxies write (the other is ignored).
    pub forwarded_header: ForwardedHeader,
    /// Internal addresses connectors and webhooks may call all the same (`crate::outbound`).
    pub outbound_allow: Vec<ipnet::IpNet>,
    /// How long a connection may take to send a request's headers (and may stay idle between
    /// requests); see `crate::listener`.
    pub header_read_timeout: TimeDelta,
    /// How long a request may take before it is answered 408.
    pub request_timeout: TimeDelta,
    /// Connections served at once; more are closed at once.
    pub max_connections: usize,
    /// Requests in flight at once; more are answered 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// Where signed audit checkpoints and their key live (`crate::checkpoint`); None: the
    /// `audit-checkpoints` folder of the data directory.
    pub audit_checkpoint_dir: Option<PathBuf>,
    /// How often the audit head is signed.
    pub audit_checkpoint_interval: TimeDelta,
    /// Built-in TLS: the certificate chain and private key (PEM), both or neither.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Where every audit entry is appended as a JSON line for a SIEM (`crate::export`).
    pub audit_export_file: Option<PathBuf>,
    /// Where every audit entry is sent as an RFC 5424 syslog message (`crate::export`): a unix
    /// datagram socket or `udp://host:port` (loopback unless `outbound_allow` lists it).
    pub audit_export_syslog: Option<syslog::SyslogTarget>,
    /// A break-glass session is announced (mail to Global Administrators, `breakglass.used`)
    /// at its first use and then at most once per this period while it is used.
    pub breakglass_notice_interval: TimeDelta,
    /// How often the scheduler scans for PIM alerts (`ELIGO_ALERT_SCAN_INTERVAL`, hourly).
    pub alert_scan_interval: TimeDelta,
    /// How often the digest is mailed to the Global and Privileged Role Administrators
    /// (`ELIGO_DIGEST_INTERVAL`, weekly; zero disables it).
    pub digest_interval: TimeDelta,
    /// Failed sign-ins and step-ups: the first of a burst is audited at once, the rest of the
    /// burst (same account, address or session, same reason) is counted and audited as one
    /// entry when the burst ends or every this long.
    pub audit_failure_window: TimeDelta,
    /// The full audit chain walk (`GET /v1/auditLogs/verify`) starts at most once per this long
    /// on a server; callers during a walk share it.
    pub audit_verify_interval: TimeDelta,
    /// Request bodies of the sign-in and authentication routes (`crate::api::limits`).
    pub max_auth_body_bytes: usize,
    /// Request bodies of the bulk administration routes (connectors, role settings).
    pub max_admin_body_bytes: usize,
    /// `/metrics` answers only with `Authorization: Bearer <this>` on the main listener.
    pub metrics_token: Option<Secret>,
    /// `/metrics` is served only on this (internal) address, not on the main listener.
    pub metrics_listen: Option<SocketAddr>,
    /// The master key that seals stored secrets (`crate::keys`), given inline
    /// (`ELIGO_MASTER_KEY`); `master_key_file` is the usual way.
    pub master_key: Option<Secret>,
    /// The file holding the master key (`ELIGO_MASTER_KEY_FILE`); None on SQLite: `master.key`
    /// in the data directory, generated on first start.
    pub master_key_file: Option<PathBuf>,
    /// Earlier master keys still accepted while secrets are sealed again under the new one
    /// (`ELIGO_MASTER_KEY_PREVIOUS_FILE`, comma-separated files).
    pub master_key_previous_files: Vec<PathBuf>,
    /// This server among those sharing one database (`ELIGO_SERVER_ID`; a fresh UUID v4 per
    /// process start otherwise): the outbox jobs it claims carry it, so a restart with the same
    /// id takes its own unfinished claims back at once and never another live server's.
    pub server_id: String,
    /// OpenID Connect providers people may sign in with (`config::oidc`); empty: none.
    pub oidc: Vec<oidc::OidcProvider>,
    /// Whether people may sign in with a password (`ELIGO_PASSWORD_SIGNIN`, default true).
    /// The break-glass account keeps its local credential whatever this says.
    pub password_sign_in: bool,
}

/// The TOML file's shape: every key optional, names as in the environment without `ELIGO_`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<Secret>,
    min_duration: Option<String>,
    bootstrap_token: Option<Secret>,
    token_lifetime: Option<String>,
    mfa_freshness: Option<String>,
    max_staleness: Option<String>,
    log_format: Option<LogFormat>,
    smtp_url: Option<Secret>,
    mail_from: Option<String>,
    public_url: Option<String>,
    link_secret: Option<Secret>,
    link_lifetime: Option<String>,
    reconcile_interval: Option<String>,
    outbox_max_attempts: Option<u32>,
    group_commit_max: Option<usize>,
    outbox_lease: Option<String>,
    portal_idle_timeout: Option<String>,
    shutdown_drain: Option<String>,
    first_factor_enrolment: Option<FirstFactorEnrolment>,
    trusted_proxies: Option<String>,
    forwarded_header: Option<ForwardedHeader>,
    outbound_allow: Option<String>,
    header_read_timeout: Option<String>,
    request_timeout: Option<String>,
    max_connections: Option<usize>,
    max_in_flight: Option<usize>,
    audit_checkpoint_dir: Option<PathBuf>,
    audit_checkpoint_interval: Option<String>,
    metrics_token: Option<Secret>,
    metrics_listen: Option<SocketAddr>,
    audit_export_file: Option<PathBuf>,
    audit_export_syslog: Option<String>,
    breakglass_notice_interval: Option<String>,
    alert_scan_interval: Option<String>,
    digest_interval: Option<String>,
    audit_failure_window: Option<String>,
    audit_verify_interval: Option<String>,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    master_key: Option<Secret>,
    master_key_file: Option<PathBuf>,
    master_key_previous_file: Option<String>,
    server_id: Option<String>,
    oidc: Option<Vec<oidc::FileProvider>>,
    password_signin: Option<bool>,
}

impl Config {
    /// Where signed audit checkpoints go.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.audit_checkpoint_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-checkpoints"))
    }

    pub fn defaults() -> Self {
        let data_dir = PathBuf::from("./eligo-data");
        Self {
            listen: "127.0.0.1:8400".parse().expect("valid default address"),
            database_url: Secret::new(sqlite_url(&data_dir)),
            data_dir,
            min_duration: TimeDelta::minutes(5),
            bootstrap_token: None,
            token_lifetime: TimeDelta::hours(8),
            mfa_freshness: TimeDelta::minutes(10),
            max_staleness: TimeDelta::seconds(1),
            log_format: LogFormat::Text,
            max_body_bytes: 64 * 1024,
            smtp_url: None,
            mail_from: "eligo@localhost".into(),
            public_url: "http://127.0.0.1:8400".into(),
            link_secret: None,
            link_lifetime: TimeDelta::days(1),
            reconcile_interval: TimeDelta::minutes(5),
            outbox_max_attempts: 10,
            group_commit_max: 32,
            outbox_lease: TimeDelta::seconds(60),
            portal_idle_timeout: TimeDelta::minutes(30),
            shutdown_drain: TimeDelta::zero(),
            first_factor_enrolment: FirstFactorEnrolment::Open,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            outbound_allow: Vec::new(),
            header_read_timeout: TimeDelta::seconds(10),
            request_timeout: TimeDelta::seconds(30),
            max_connections: 4096,
            max_in_flight: 256,
            audit_checkpoint_dir: None,
            audit_checkpoint_interval: TimeDelta::minutes(5),
            metrics_token: None,
            metrics_listen: None,
            audit_export_file: None,
            audit_export_syslog: None,
            breakglass_notice_interval: TimeDelta::hours(1),
            alert_scan_interval: TimeDelta::hours(1),
            digest_interval: TimeDelta::days(7),
            audit_failure_window: TimeDelta::minutes(1),
            audit_verify_interval: TimeDelta::seconds(10),
            max_auth_body_bytes: 16 * 1024,
            max_admin_body_bytes: 1024 * 1024,
            tls_cert_file: None,
            tls_key_file: None,
            master_key: None,
            master_key_file: None,
            master_key_previous_files: Vec::new(),
            server_id: uuid::Uuid::new_v4().to_string(),
            oidc: Vec::new(),
            password_sign_in: true,
        }
    }

    /// Builds the configuration from a file (if any) and an environment lookup; `env` is a
    /// parameter so tests need not touch the process environment.
    pub fn load(file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut cfg = Self::defaults();
        let mut database_url_given = false;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            let f: FileConfig = toml::from_str(&text)
                .with_context(|| format!("parsing config file {}", path.display()))?;
            database_url_given |= f.database_url.is_some();
            cfg.apply_file(f)?;
        }
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let secret = |name: &str| -> anyhow::Result<Option<Secret>> {
            if let Some(path) = var(&format!("{name}_FILE")) {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {name}_FILE"))?;
                return Ok(Some(Secret::new(text.trim_end_matches(['\n', '\r']))));
            }
            Ok(var(name).map(Secret::new))
        };
        if let Some(v) = var("ELIGO_LISTEN") {
            cfg.listen = v
                .parse()
                .with_context(|| format!("ELIGO_LISTEN={v} is not host:port"))?;
        }
        if let Some(v) = var("ELIGO_DATA_DIR") {
            cfg.data_dir = PathBuf::from(v);
        }
        if let Some(v) = secret("ELIGO_DATABASE_URL")? {
            cfg.database_url = v;
            database_url_given = true;
        }
        if let Some(v) = var("ELIGO_MIN_DURATION") {
            cfg.min_duration = duration("ELIGO_MIN_DURATION", &v)?;
        }
        if let Some(v) = secret("ELIGO_BOOTSTRAP_TOKEN")? {
            cfg.bootstrap_token = Some(v);
        }
        if let Some(v) = var("ELIGO_TOKEN_LIFETIME") {
            cfg.token_lifetime = duration("ELIGO_TOKEN_LIFETIME", &v)?;
        }
        if let Some(v) = var("ELIGO_SHUTDOWN_DRAIN") {
            cfg.shutdown_drain = digest_interval("ELIGO_SHUTDOWN_DRAIN", &v)?;
        }
        if let Some(v) = var("ELIGO_PORTAL_IDLE_TIMEOUT") {
            cfg.portal_idle_timeout = duration("ELIGO_PORTAL_IDLE_TIMEOUT", &v)?;
        }
        if let Some(v) = var("ELIGO_MFA_FRESHNESS") {
            cfg.mfa_freshness = duration("ELIGO_MFA_FRESHNESS", &v)?;
        }
        if let Some(v) = var("ELIGO_MAX_STALENESS") {
            cfg.max_staleness = duration("ELIGO_MAX_STALENESS", &v)?;
        }
        if let Some(v) = var("ELIGO_TRUSTED_PROXIES") {
            cfg.trusted_proxies = crate::config::networks::parse(&v)
                .map_err(|e| anyhow::anyhow!("ELIGO_TRUSTED_PROXIES: {e}"))?;
        }
        if let Some(v) = var("ELIGO_FORWARDED_HEADER") {
            cfg.forwarded_header = ForwardedHeader::parse(&v)?;
        }
        if let Some(v) = var("ELIGO_AUDIT_CHECKPOINT_DIR") {
            cfg.audit_checkpoint_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = var("ELIGO_AUDIT_CHECKPOINT_INTERVAL") {
            cfg.audit_checkpoint_interval = duration("ELIGO_AUDIT_CHECKPOINT_INTERVAL", &v)?;
        }
        if let Some(v) = var("ELIGO_HEADER_READ_TIMEOUT") {
            cfg.header_read_timeout = duration("ELIGO_HEADER_READ_TIMEOUT", &v)?;
        }
        if let Some(v) = var("ELIGO_REQUEST_TIMEOUT") {
            cfg.request_timeout = duration("ELIGO_REQUEST_TIMEOUT", &v)?;
        }
        if let Some(v) = var("ELIGO_MAX_CONNECTIONS") {
            cfg.max_connections = positive("ELIGO_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = var("ELIGO_MAX_IN_FLIGHT") {
            cfg.max_in_flight = positive("ELIGO_MAX_IN_FLIGHT", &v)?;
        }
        if let Some(v) = var("ELIGO_OUTBOUND_ALLOW") {
            cfg.outbound_allow = crate::config::networks::parse(&v)
                .map_err(|e| anyhow::anyhow!("ELIGO_OUTBOUND_ALLOW: {e}"))?;
        }
        if let Some(v) = var("ELIGO_FIRST_FACTOR_ENROLMENT") {
            cfg.first_factor_enrolment = FirstFactorEnrolment::parse(&v)?;
        }
        if let Some(v) = var("ELIGO_LOG_FORMAT") {
            cfg.log_format = match v.as_str() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                _ => bail!("ELIGO_LOG_FORMAT must be text or json"),
            };
        }
        if let Some(v) = var("ELIGO_TLS_CERT_FILE") {
            cfg.tls_cert_file = Some(PathBuf::from(v));
        }
        if let Some(v) = var("ELIGO_TLS_KEY_FILE") {
            cfg.tls_key_file = Some(PathBuf::from(v));
        }
        if cfg.tls_cert_file.is_some() != cfg.tls_key_file.is_some() {
            bail!("ELIGO_TLS_CERT_FILE and ELIGO_TLS_KEY_FILE go together: set both or neither");
        }
        // The key file is kept as a path (not read like other `_FILE` secrets): `eligo keys
        // rotate` replaces it, and a refusal names it.
        if let Some(v) = var("ELIGO_MASTER_KEY_FILE") {
            cfg.master_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = var("ELIGO_MASTER_KEY") {
            cfg.master_key = Some(Secret::new(v));
        }
        if let Some(v) = var("ELIGO_MASTER_KEY_PREVIOUS_FILE") {
            cfg.master_key_previous_files = path_list(&v);
        }
        if cfg.master_key.is_some() && cfg.master_key_file.is_some() {
            bail!("ELIGO_MASTER_KEY and ELIGO_MASTER_KEY_FILE: set one, not both");
        }
        if let Some(v) = var("ELIGO_AUDIT_EXPORT_FILE") {
            cfg.audit_export_file = Some(PathBuf::from(v));
        }
        if let Some(v) = var("ELIGO_AUDIT_EXPORT_SYSLOG") {
            cfg.audit_export_syslog = Some(
                syslog::SyslogTarget::parse(&v)
                    .map_err(|e| anyhow::anyhow!("ELIGO_AUDIT_EXPORT_SYSLOG: {e}"))?,
            );
        }
        if let Some(v) = var("ELIGO_BREAKGLASS_NOTICE_INTERVAL") {
            cfg.breakglass_notice_interval = duration("ELIGO_BREAKGLASS_NOTICE_INTERVAL", &v)?;
        }
        if let Some(v) = var("ELIGO_ALERT_SCAN_INTERVAL") {
            cfg.alert_scan_interval = duration("ELIGO_ALERT_SCAN_INTERVAL", &v)?;
        }
        if let Some(v) = var("ELIGO_OUTBOX_LEASE") {
            cfg.outbox_lease = duration("ELIGO_OUTBOX_LEASE", &v)?;
        }
        if let Some(v) = var("ELIGO_SERVER_ID") {
            cfg.server_id = server_id(&v)?;
        }
        if let Some(v) = var("ELIGO_DIGEST_INTERVAL") {
            cfg.digest_interval = digest_interval("ELIGO_DIGEST_INTERVAL", &v)?;
        }
        if let Some(v) = var("ELIGO_AUDIT_FAILURE_WINDOW") {
            cfg.audit_failure_window = duration("ELIGO_AUDIT_FAILURE_WINDOW", &v)?;
        }
        if let Some(v) = var("ELIGO_AUDIT_VERIFY_INTERVAL") {
            cfg.audit_verify_interval = duration("ELIGO_AUDIT_VERIFY_INTERVAL", &v)?;
        }
        if let Some(v) = secret("ELIGO_METRICS_TOKEN")? {
            cfg.metrics_token = Some(v);
        }
        if let Some(v) = var("ELIGO_METRICS_LISTEN") {
            cfg.metrics_listen = Some(
                v.parse()
                    .with_context(|| format!("ELIGO_METRICS_LISTEN {v:?} is not an address"))?,
            );
        }
        if let Some(v) = secret("ELIGO_SMTP_URL")? {
            cfg.smtp_url = Some(v);
        }
        if let Some(v) = var("ELIGO_MAIL_FROM") {
            cfg.mail_from = v;
        }
        if let Some(v) = var("ELIGO_PUBLIC_URL") {
            cfg.public_url = v;
        }
        if let Some(v) = secret("ELIGO_LINK_SECRET")? {
            cfg.link_secret = Some(v);
        }
        if let Some(v) = var("ELIGO_LINK_LIFETIME") {
            cfg.link_lifetime = duration("ELIGO_LINK_LIFETIME", &v)?;
        }
        if let Some(v) = var("ELIGO_RECONCILE_INTERVAL") {
            cfg.reconcile_interval = duration("ELIGO_RECONCILE_INTERVAL", &v)?;
        }
        if let Some(v) = var("ELIGO_OUTBOX_MAX_ATTEMPTS") {
            cfg.outbox_max_attempts = v
                .parse()
                .with_context(|| format!("ELIGO_OUTBOX_MAX_ATTEMPTS={v} is not a number"))?;
        }
        if let Some(v) = var("ELIGO_GROUP_COMMIT_MAX") {
            cfg.group_commit_max = v
                .parse()
                .with_context(|| format!("ELIGO_GROUP_COMMIT_MAX={v} is not a number"))?;
        }
        if let Some(p) = oidc::from_env(&var)? {
            cfg.oidc.retain(|q| q.name != p.name);
            cfg.oidc.insert(0, p);
        }
        oidc::check(&cfg.oidc)?;
        if let Some(v) = var("ELIGO_PASSWORD_SIGNIN") {
            cfg.password_sign_in = oidc::password_sign_in(&v)?;
        }
        cfg.public_url = cfg.public_url.trim_end_matches('/').to_string();
        if !(cfg.public_url.starts_with("http://") || cfg.public_url.starts_with("https://")) {
            bail!("ELIGO_PUBLIC_URL must start with http:// or https://");
        }
        if !cfg.mail_from.contains('@') {
            bail!("ELIGO_MAIL_FROM must be an e-mail address");
        }
        if cfg.reconcile_interval < TimeDelta::seconds(10) {
            bail!("the reconciliation interval must be at least PT10S");
        }
        if cfg.outbox_max_attempts == 0 {
            bail!("ELIGO_OUTBOX_MAX_ATTEMPTS must be at least 1");
        }
        if !(1..=1000).contains(&cfg.group_commit_max) {
            bail!("ELIGO_GROUP_COMMIT_MAX must be between 1 (off) and 1000");
        }
        if let Some(s) = &cfg.link_secret
            && s.expose().len() < 32
        {
            bail!("ELIGO_LINK_SECRET must be at least 32 characters");
        }
        if !database_url_given {
            cfg.database_url = Secret::new(sqlite_url(&cfg.data_dir));
        }
        // A zero minimum would let an activation end the moment it starts (and be deactivated
        // at once); one second is the floor, for drills and tests on the real clock.
        if cfg.min_duration < TimeDelta::seconds(1) {
            bail!("the minimum duration must be at least PT1S");
        }
        if let Some(t) = &cfg.bootstrap_token
            && t.expose().len() < 16
        {
            bail!("ELIGO_BOOTSTRAP_TOKEN must be at least 16 characters");
        }
        // Below a minute a burst of break-glass requests would become a burst of mail.
        if cfg.breakglass_notice_interval < TimeDelta::minutes(1) {
            bail!("ELIGO_BREAKGLASS_NOTICE_INTERVAL must be at least PT1M");
        }
        // A scan reads every active assignment in a write transaction: not more than that.
        if cfg.alert_scan_interval < TimeDelta::minutes(1) {
            bail!("ELIGO_ALERT_SCAN_INTERVAL must be at least PT1M");
        }
        // A digest reads every pending request and the week's activations: not more than hourly.
        if cfg.outbox_lease < TimeDelta::seconds(1) {
            bail!("ELIGO_OUTBOX_LEASE must be at least PT1S");
        }
        if cfg.digest_interval > TimeDelta::zero() && cfg.digest_interval < TimeDelta::hours(1) {
            bail!("ELIGO_DIGEST_INTERVAL must be 0 (off) or at least PT1H");
        }
        if cfg.audit_failure_window < TimeDelta::seconds(1)
            || cfg.audit_failure_window > TimeDelta::hours(1)
        {
            bail!("ELIGO_AUDIT_FAILURE_WINDOW must be between PT1S and PT1H");
        }
        // The bound is how long a broken feed may go unnoticed on the servers that follow it,
        // answering from what they hold: seconds, never hours. Zero is the strictest (no wait:
        // an index behind the database answers 503 at once).
        if cfg.max_staleness > TimeDelta::minutes(1) {
            bail!("ELIGO_MAX_STALENESS must be at most PT1M");
        }
        if cfg.audit_verify_interval < TimeDelta::zero() {
            bail!("ELIGO_AUDIT_VERIFY_INTERVAL must not be negative");
        }
        Ok(cfg)
    }

    fn apply_file(&mut self, f: FileConfig) -> anyhow::Result<()> {
        if let Some(v) = f.oidc {
            self.oidc = oidc::from_file(v)?;
        }
        if let Some(v) = f.password_signin {
            self.password_sign_in = v;
        }
        if let Some(v) = f.listen {
            self.listen = v;
        }
        if let Some(v) = f.data_dir {
            self.database_url = Secret::new(sqlite_url(&v));
            self.data_dir = v;
        }
        if let Some(v) = f.database_url {
            self.database_url = v;
        }
        if let Some(v) = f.outbox_lease {
            self.outbox_lease = duration("outbox_lease", &v)?;
        }
        if let Some(v) = f.server_id {
            self.server_id = server_id(&v)?;
        }
        if let Some(v) = f.min_duration {
            self.min_duration = duration("min_duration", &v)?;
        }
        if let Some(v) = f.bootstrap_token {
            self.bootstrap_token = Some(v);
        }
        if let Some(v) = f.token_lifetime {
            self.token_lifetime = duration("token_lifetime", &v)?;
        }
        if let Some(v) = f.mfa_freshness {
            self.mfa_freshness = duration("mfa_freshness", &v)?;
        }
        if let Some(v) = f.max_staleness {
            self.max_staleness = duration("max_staleness", &v)?;
        }
        if let Some(v) = f.log_format {
            self.log_format = v;
        }
        if let Some(v) = f.smtp_url {
            self.smtp_url = Some(v);
        }
        if let Some(v) = f.mail_from {
            self.mail_from = v;
        }
        if let Some(v) = f.public_url {
            self.public_url = v;
        }
        if let Some(v) = f.link_secret {
            self.link_secret = Some(v);
        }
        if let Some(v) = f.link_lifetime {
            self.link_lifetime = duration("link_lifetime", &v)?;
        }
        if let Some(v) = f.reconcile_interval {
            self.reconcile_interval = duration("reconcile_interval", &v)?;
        }
        if let Some(v) = f.outbox_max_attempts {
            self.outbox_max_attempts = v;
        }
        if let Some(v) = f.group_commit_max {
            self.group_commit_max = v;
        }
        if let Some(v) = f.shutdown_drain {
            self.shutdown_drain = digest_interval("shutdown_drain", &v)?;
        }
        if let Some(v) = f.portal_idle_timeout {
            self.portal_idle_timeout = duration("portal_idle_timeout", &v)?;
        }
        if let Some(v) = f.first_factor_enrolment {
            self.first_factor_enrolment = v;
        }
        if let Some(v) = f.tls_cert_file {
            self.tls_cert_file = Some(v);
        }
        if let Some(v) = f.tls_key_file {
            self.tls_key_file = Some(v);
        }
        if let Some(v) = f.audit_export_file {
            self.audit_export_file = Some(v);
        }
        if let Some(v) = f.audit_export_syslog {
            self.audit_export_syslog = Some(
                syslog::SyslogTarget::parse(&v)
                    .map_err(|e| anyhow::anyhow!("audit_export_syslog: {e}"))?,
            );
        }
        if let Some(v) = f.breakglass_notice_interval {
            self.breakglass_notice_interval = duration("breakglass_notice_interval", &v)?;
        }
        if let Some(v) = f.alert_scan_interval {
            self.alert_scan_interval = duration("alert_scan_interval", &v)?;
        }
        if let Some(v) = f.digest_interval {
            self.digest_interval = digest_interval("digest_interval", &v)?;
        }
        if let Some(v) = f.audit_failure_window {
            self.audit_failure_window = duration("audit_failure_window", &v)?;
        }
        if let Some(v) = f.audit_verify_interval {
            self.audit_verify_interval = duration("audit_verify_interval", &v)?;
        }
        if let Some(v) = f.master_key {
            self.master_key = Some(v);
        }
        if let Some(v) = f.master_key_file {
            self.master_key_file = Some(v);
        }
        if let Some(v) = f.master_key_previous_file {
            self.master_key_previous_files = path_list(&v);
        }
        if let Some(v) = f.metrics_token {
            self.metrics_token = Some(v);
        }
        if let Some(v) = f.metrics_listen {
            self.metrics_listen = Some(v);
        }
        if let Some(v) = f.audit_checkpoint_dir {
            self.audit_checkpoint_dir = Some(v);
        }
        if let Some(v) = f.audit_checkpoint_interval {
            self.audit_checkpoint_interval = duration("audit_checkpoint_interval", &v)?;
        }
        if let Some(v) = f.header_read_timeout {
            self.header_read_timeout = duration("header_read_timeout", &v)?;
        }
        if let Some(v) = f.request_timeout {
            self.request_timeout = duration("request_timeout", &v)?;
        }
        if let Some(v) = f.max_connections.filter(|n| *n > 0) {
            self.max_connections = v;
        }
        if let Some(v) = f.max_in_flight.filter(|n| *n > 0) {
            self.max_in_flight = v;
        }
        if let Some(v) = f.outbound_allow {
            self.outbound_allow = crate::config::networks::parse(&v)
                .map_err(|e| anyhow::anyhow!("outbound_allow: {e}"))?;
        }
        if let Some(v) = f.trusted_proxies {
            self.trusted_proxies = crate::config::networks::parse(&v)
                .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
        }
        if let Some(v) = f.forwarded_header {
            self.forwarded_header = v;
        }
        Ok(())
    }
}

fn path_list(value: &str) -> Vec<PathBuf> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect()
}

fn positive(name: &str, value: &str) -> anyhow::Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("{name} must be a whole number above 0"),
    }
}

fn duration(name: &str, value: &str) -> anyhow::Result<TimeDelta> {
    eligo_core::duration::parse_duration(value).with_context(|| name.to_string())
}

/// A duration, or `0` for "off" (the digest's interval, the shutdown drain).
fn digest_interval(name: &str, value: &str) -> anyhow::Result<TimeDelta> {
    if value.trim() == "0" {
        return Ok(TimeDelta::zero());
    }
    duration(name, value)
}

/// A server id: printable, no spaces, at most 64 characters (it is logged and stored with
/// every outbox claim).
fn server_id(value: &str) -> anyhow::Result<String> {
    let v = value.trim();
    if v.is_empty()
        || v.len() > 64
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        bail!("ELIGO_SERVER_ID must be 1 to 64 letters, digits, '-', '_', '.' or ':'");
    }
    Ok(v.to_string())
}

pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("eligo.db").display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)], file: Option<&str>) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = file.map(|text| {
            let p = dir.path().join("eligo.toml");
            std::fs::write(&p, text).unwrap();
            p
        });
        Config::load(path.as_deref(), &|k| map.get(k).cloned())
    }

    #[test]
    fn several_oidc_providers_from_the_file_and_one_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("kc-secret");
        std::fs::write(&secret, "kc-secret\n").unwrap();
        let file = format!(
            "password_signin = false\n\n[[oidc]]\nname = \"entra\"\nissuer = \"https://login.example/t/v2.0\"\nclient_id = \"a\"\nprincipal_claim = \"upn\"\n\n[[oidc]]\nname = \"kc\"\ndisplay_name = \"Partners\"\nissuer = \"https://kc.example/realms/r\"\nclient_id = \"b\"\nclient_secret_file = \"{}\"\nauto_create = true\n",
            secret.display()
        );
        let c = load(&[], Some(&file)).unwrap();
        assert!(!c.password_sign_in);
        let names: Vec<&str> = c.oidc.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["entra", "kc"]);
        assert_eq!(c.oidc[0].principal_claim, oidc::PrincipalClaim::Upn);
        assert!(c.oidc[0].client_secret.is_none());
        assert_eq!(
            c.oidc[1].client_secret.as_ref().unwrap().expose(),
            "kc-secret"
        );
        assert!(c.oidc[1].auto_create && !c.oidc[0].auto_create);
        assert!(!format!("{c:?}").contains("kc-secret"));
        // The environment's provider comes first (and replaces one of the same name).
        let c = load(
            &[
                ("ELIGO_OIDC_ISSUER", "https://idp.example"),
                ("ELIGO_OIDC_CLIENT_ID", "c"),
                ("ELIGO_OIDC_NAME", "kc"),
                ("ELIGO_PASSWORD_SIGNIN", "true"),
            ],
            Some(&file),
        )
        .unwrap();
        let names: Vec<&str> = c.oidc.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["kc", "entra"]);
        assert_eq!(c.oidc[0].issuer, "https://idp.example");
        assert!(c.password_sign_in);
        // Two of one name, a bad name, a bad issuer: refused at start.
        let twice = "[[oidc]]\nname = \"x\"\nissuer = \"https://a\"\nclient_id = \"a\"\n[[oidc]]\nname = \"x\"\nissuer = \"https://b\"\nclient_id = \"b\"\n";
        assert!(load(&[], Some(twice)).is_err());
        let bad = "[[oidc]]\nname = \"a b\"\nissuer = \"https://a\"\nclient_id = \"a\"\n";
        assert!(load(&[], Some(bad)).is_err());
        let ftp = "[[oidc]]\nissuer = \"ftp://a\"\nclient_id = \"a\"\n";
        assert!(load(&[], Some(ftp)).is_err());
    }

    #[test]
    fn defaults_then_file_then_env() {
        let c = load(&[], None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8400");
        assert_eq!(c.database_url.expose(), "sqlite://./eligo-data/eligo.db");
        assert_eq!(c.min_duration, TimeDelta::minutes(5));

        let file = "listen = \"127.0.0.1:9000\"\nmin_duration = \"PT10M\"\ndata_dir = \"/tmp/x\"\n";
        let c = load(&[], Some(file)).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.database_url.expose(), "sqlite:///tmp/x/eligo.db");

        let c = load(
            &[
                ("ELIGO_LISTEN", "127.0.0.1:9100"),
                ("ELIGO_MIN_DURATION", "PT30M"),
            ],
            Some(file),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.min_duration, TimeDelta::minutes(30));
    }

    #[test]
    fn the_staleness_bound_is_seconds_not_hours() {
        let c = load(&[("ELIGO_MAX_STALENESS", "PT0.5S")], None).unwrap();
        assert_eq!(c.max_staleness, TimeDelta::milliseconds(500));
        assert_eq!(
            load(&[], None).unwrap().max_staleness,
            TimeDelta::seconds(1)
        );
        let strictest = load(&[("ELIGO_MAX_STALENESS", "PT0S")], None).unwrap();
        assert_eq!(strictest.max_staleness, TimeDelta::zero());
        for bad in ["PT61S", "P1000D", "-PT1S"] {
            let e = load(&[("ELIGO_MAX_STALENESS", bad)], None).unwrap_err();
            assert!(e.to_string().contains("ELIGO_MAX_STALENESS"), "{bad}: {e}");
        }
        let e = load(&[], Some("max_staleness = \"PT2M\"\n")).unwrap_err();
        assert!(e.to_string().contains("ELIGO_MAX_STALENESS"), "{e}");
    }

    #[test]
    fn secrets_come_from_files_and_never_show_in_debug() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bootstrap-token");
        std::fs::write(&p, "s3cr3t-bootstrap-token-value\n").unwrap();
        let c = load(&[("ELIGO_BOOTSTRAP_TOKEN_FILE", p.to_str().unwrap())], None).unwrap();
        assert_eq!(
            c.bootstrap_token.as_ref().unwrap().expose(),
            "s3cr3t-bootstrap-token-value"
        );
        let c2 = load(&[("ELIGO_DATABASE_URL", "postgres://u:hunter2@db/x")], None).unwrap();
        let shown = format!("{c:?} {c2:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn first_factor_enrolment_from_file_and_env() {
        assert_eq!(
            load(&[], None).unwrap().first_factor_enrolment,
            FirstFactorEnrolment::Open
        );
        let file = "first_factor_enrolment = \"pass-for-privileged\"\n";
        let c = load(&[], Some(file)).unwrap();
        assert_eq!(
            c.first_factor_enrolment,
            FirstFactorEnrolment::PassForPrivileged
        );
        let c = load(
            &[("ELIGO_FIRST_FACTOR_ENROLMENT", "pass-always")],
            Some(file),
        )
        .unwrap();
        assert_eq!(c.first_factor_enrolment, FirstFactorEnrolment::PassAlways);
        assert!(load(&[("ELIGO_FIRST_FACTOR_ENROLMENT", "closed")], None).is_err());
    }

    #[test]
    fn forwarded_header_from_file_and_env() {
        assert_eq!(
            load(&[], None).unwrap().forwarded_header,
            ForwardedHeader::XForwardedFor
        );
        let file = "forwarded_header = \"forwarded\"\n";
        let c = load(&[], Some(file)).unwrap();
        assert_eq!(c.forwarded_header, ForwardedHeader::Forwarded);
        let c = load(&[("ELIGO_FORWARDED_HEADER", "X-Forwarded-For")], Some(file)).unwrap();
        assert_eq!(c.forwarded_header, ForwardedHeader::XForwardedFor);
        assert!(load(&[("ELIGO_FORWARDED_HEADER", "both")], None).is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(load(&[("ELIGO_LISTEN", "nope")], None).is_err());
        assert!(load(&[("ELIGO_MIN_DURATION", "5 minutes")], None).is_err());
        assert!(load(&[("ELIGO_BOOTSTRAP_TOKEN", "short")], None).is_err());
        assert!(load(&[], Some("unknown_key = 1")).is_err());
    }

    #[test]
    fn the_server_id_is_given_or_fresh_per_start() {
        let a = load(&[], None).unwrap().server_id;
        let b = load(&[], None).unwrap().server_id;
        assert_ne!(a, b, "a fresh id per process start");
        assert!(uuid::Uuid::parse_str(&a).is_ok());
        let given = load(&[("ELIGO_SERVER_ID", "eligo-2")], None).unwrap();
        assert_eq!(given.server_id, "eligo-2");
        let file = load(&[], Some("server_id = \"node:a\"")).unwrap();
        assert_eq!(file.server_id, "node:a");
        assert!(load(&[("ELIGO_SERVER_ID", "two words")], None).is_err());
        assert_eq!(
            load(&[], None).unwrap().outbox_lease,
            TimeDelta::seconds(60)
        );
        let short = load(&[("ELIGO_OUTBOX_LEASE", "PT3S")], None).unwrap();
        assert_eq!(short.outbox_lease, TimeDelta::seconds(3));
        assert!(load(&[("ELIGO_OUTBOX_LEASE", "PT0S")], None).is_err());
        assert!(load(&[("ELIGO_SERVER_ID", "x".repeat(65).as_str())], None).is_err());
    }

    #[test]
    fn group_commit_is_on_by_default_bounded_and_can_be_turned_off() {
        assert_eq!(load(&[], None).unwrap().group_commit_max, 32);
        let off = load(&[("ELIGO_GROUP_COMMIT_MAX", "1")], None).unwrap();
        assert_eq!(off.group_commit_max, 1);
        let file = load(&[], Some("group_commit_max = 8")).unwrap();
        assert_eq!(file.group_commit_max, 8);
        for bad in ["0", "1001", "many", "-3"] {
            assert!(
                load(&[("ELIGO_GROUP_COMMIT_MAX", bad)], None).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_digest_is_weekly_off_at_zero_and_never_more_than_hourly() {
        assert_eq!(load(&[], None).unwrap().digest_interval, TimeDelta::days(7));
        let off = load(&[("ELIGO_DIGEST_INTERVAL", "0")], None).unwrap();
        assert_eq!(off.digest_interval, TimeDelta::zero());
        let daily = load(&[("ELIGO_DIGEST_INTERVAL", "P1D")], None).unwrap();
        assert_eq!(daily.digest_interval, TimeDelta::days(1));
        assert!(load(&[("ELIGO_DIGEST_INTERVAL", "PT30M")], None).is_err());
        assert!(load(&[("ELIGO_DIGEST_INTERVAL", "weekly")], None).is_err());
        let file = load(&[], Some("digest_interval = \"P14D\"")).unwrap();
        assert_eq!(file.digest_interval, TimeDelta::days(14));
    }

    #[test]
    fn audit_and_break_glass_settings() {
        let c = load(&[], None).unwrap();
        assert_eq!(c.breakglass_notice_interval, TimeDelta::hours(1));
        assert_eq!(c.alert_scan_interval, TimeDelta::hours(1));
        assert_eq!(c.audit_failure_window, TimeDelta::minutes(1));
        assert_eq!(c.audit_verify_interval, TimeDelta::seconds(10));
        assert_eq!(c.audit_export_syslog, None);
        assert_eq!(
            (c.max_auth_body_bytes, c.max_admin_body_bytes),
            (16 * 1024, 1024 * 1024)
        );
        let c = load(
            &[
                ("ELIGO_AUDIT_EXPORT_SYSLOG", "/dev/log"),
                ("ELIGO_BREAKGLASS_NOTICE_INTERVAL", "PT15M"),
                ("ELIGO_AUDIT_FAILURE_WINDOW", "PT30S"),
                ("ELIGO_AUDIT_VERIFY_INTERVAL", "PT0S"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            c.audit_export_syslog,
            Some(syslog::SyslogTarget::Unix("/dev/log".into()))
        );
        assert_eq!(c.breakglass_notice_interval, TimeDelta::minutes(15));
        assert_eq!(c.audit_failure_window, TimeDelta::seconds(30));
        assert_eq!(c.audit_verify_interval, TimeDelta::zero());
        let c = load(
            &[],
            Some(
                "audit_export_syslog = \"udp://127.0.0.1:514\"\naudit_verify_interval = \"PT1M\"\n",
            ),
        )
        .unwrap();
        assert!(matches!(
            c.audit_export_syslog,
            Some(syslog::SyslogTarget::Udp { port: 514, .. })
        ));
        assert_eq!(c.audit_verify_interval, TimeDelta::minutes(1));
        // A mail per request is what the quiet period prevents; a window of hours would keep
        // counts from the trail too long.
        for bad in [
            ("ELIGO_BREAKGLASS_NOTICE_INTERVAL", "PT10S"),
            ("ELIGO_AUDIT_FAILURE_WINDOW", "PT0S"),
            ("ELIGO_AUDIT_FAILURE_WINDOW", "PT2H"),
            ("ELIGO_AUDIT_EXPORT_SYSLOG", "tcp://h:514"),
        ] {
            assert!(load(&[bad], None).is_err(), "{bad:?}");
        }
    }
}
