//! One bound LDAP connection, shared by every operation and re-established when it breaks, and
//! the mapping of LDAP failures to [`ConnectorError`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, LdapResult};

use super::settings::{LdapSettings, tls_config};
use crate::connectors::ConnectorError;

/// An operation on a bound handle; it may run twice (once more on a fresh connection when the
/// first one turns out broken), which is fine since every operation is idempotent.
pub(super) type Op<'a, T> = Pin<Box<dyn Future<Output = Result<T, LdapError>> + Send + 'a>>;

/// The shared connection: `None` until first used and after it broke.
pub(super) struct Connection {
    live: tokio::sync::Mutex<Option<Live>>,
    generation: AtomicU64,
    outbound: crate::outbound::Outbound,
}

struct Live {
    id: u64,
    ldap: Ldap,
}

impl Connection {
    pub(super) fn new(outbound: crate::outbound::Outbound) -> Self {
        Self {
            live: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            outbound,
        }
    }

    /// Runs `op` on the bound connection (connecting and binding first if needed) within the
    /// settings' timeout. When a reused connection turns out broken, it is dropped and `op` runs
    /// once more on a fresh one.
    pub(super) async fn run<'a, T>(
        &'a self,
        settings: &'a LdapSettings,
        op: impl Fn(Ldap) -> Op<'a, T> + Send + Sync + 'a,
    ) -> Result<T, ConnectorError> {
        let used = AtomicU64::new(0);
        let work = async {
            loop {
                let (id, ldap, fresh) = self.handle(settings).await?;
                used.store(id, Ordering::Relaxed);
                match op(ldap).await {
                    Ok(value) => return Ok(value),
                    Err(e) if is_broken_connection(&e) => {
                        self.forget(id).await;
                        if fresh {
                            return Err(ConnectorError::Unavailable(format!(
                                "LDAP connection to {} lost: {e}",
                                settings.url
                            )));
                        }
                        tracing::debug!(url = %settings.url, error = %e, "LDAP connection broke; reconnecting");
                    }
                    Err(e) => return Err(map_error(e)),
                }
            }
        };
        match tokio::time::timeout(settings.timeout(), work).await {
            Ok(result) => result,
            Err(_) => {
                // A connection that does not answer in time is not trusted again.
                self.forget(used.load(Ordering::Relaxed)).await;
                Err(ConnectorError::Unavailable(format!(
                    "LDAP server {} did not answer within {} s",
                    settings.url, settings.timeout_seconds
                )))
            }
        }
    }

    /// A handle on the live connection, or a new bound one; `true` when new.
    async fn handle(&self, settings: &LdapSettings) -> Result<(u64, Ldap, bool), ConnectorError> {
        let mut live = self.live.lock().await;
        if let Some(current) = live.as_mut() {
            if !current.ldap.is_closed() {
                return Ok((current.id, current.ldap.clone(), false));
            }
            *live = None;
        }
        let ldap = connect(settings, &self.outbound).await?;
        let id = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *live = Some(Live {
            id,
            ldap: ldap.clone(),
        });
        Ok((id, ldap, true))
    }

    /// Drops connection `id` if it is still the live one (its last handle closes it).
    async fn forget(&self, id: u64) {
        let mut live = self.live.lock().await;
        if live.as_ref().is_some_and(|l| l.id == id) {
            *live = None;
        }
    }
}

/// Connects (TLS as configured), drives the connection on a task, and binds.
pub(super) async fn connect(
    settings: &LdapSettings,
    outbound: &crate::outbound::Outbound,
) -> Result<Ldap, ConnectorError> {
    // Rule 10: connect to an address the policy allows, and hand that very connection to the
    // LDAP client (which would otherwise resolve the name again, after the check).
    let url = reqwest::Url::parse(&settings.url)
        .map_err(|e| ConnectorError::Misconfigured(format!("url: {e}")))?;
    let port = url
        .port()
        .unwrap_or(if url.scheme() == "ldaps" { 636 } else { 389 });
    let stream = outbound
        .connect_tcp(url.host_str().unwrap_or(""), port, settings.timeout())
        .await
        .map_err(|e| match e {
            crate::outbound::ConnectError::Refused(r) => {
                ConnectorError::Misconfigured(r.to_string())
            }
            crate::outbound::ConnectError::Unreachable(m) => ConnectorError::Unavailable(m),
        })?
        .into_std()
        .map_err(|e| {
            ConnectorError::Unavailable(format!("cannot connect to {}: {e}", settings.url))
        })?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut conn_settings = LdapConnSettings::new()
        .set_conn_timeout(settings.timeout())
        .set_starttls(settings.start_tls)
        .set_std_stream(ldap3::StdStream::Tcp(stream));
    if let Some(pem) = &settings.ca_certificate_pem {
        conn_settings = conn_settings
            .set_config(tls_config(pem).map_err(|e| ConnectorError::Misconfigured(e.clone()))?);
    }
    let (conn, mut ldap) = LdapConnAsync::with_settings(conn_settings, &settings.url)
        .await
        .map_err(|e| match e {
            LdapError::LdapResult { result } => map_result(result),
            e => ConnectorError::Unavailable(format!("cannot connect to {}: {e}", settings.url)),
        })?;
    let url = settings.url.clone();
    tokio::spawn(async move {
        if let Err(e) = conn.drive().await {
            tracing::debug!(%url, error = %e, "LDAP connection ended");
        }
    });
    let bound = ldap
        .simple_bind(&settings.bind_dn, settings.bind_password.expose())
        .await
        .map_err(map_error)?;
    if bound.rc != 0 {
        let _ = ldap.unbind().await;
        return Err(map_result(bound));
    }
    Ok(ldap)
}

/// The connection itself failed (not the operation): worth one retry on a fresh connection.
fn is_broken_connection(e: &LdapError) -> bool {
    matches!(
        e,
        LdapError::Io { .. }
            | LdapError::OpSend { .. }
            | LdapError::ResultRecv { .. }
            | LdapError::IdScrubSend { .. }
            | LdapError::MiscSend { .. }
            | LdapError::EndOfStream
    )
}

pub(super) fn map_error(e: LdapError) -> ConnectorError {
    match e {
        LdapError::LdapResult { result } => map_result(result),
        e => ConnectorError::Unavailable(format!("LDAP: {e}")),
    }
}

/// A result code other than success: what it means for the caller.
pub(super) fn map_result(result: LdapResult) -> ConnectorError {
    let text = format!(
        "rc {} ({}){}",
        result.rc,
        describe(result.rc),
        if result.text.is_empty() {
            String::new()
        } else {
            format!(": {}", result.text)
        }
    );
    match result.rc {
        // invalidCredentials; insufficientAccessRights (the bind account may not do this).
        49 | 50 => ConnectorError::Unauthorized(text),
        // noSuchObject (the group or base is missing), invalidDNSyntax; undefinedAttributeType
        // and objectClassViolation (the entry is not the configured kind of group).
        32 => ConnectorError::Misconfigured(format!(
            "no such entry ({text}{})",
            if result.matched.is_empty() {
                String::new()
            } else {
                format!("; nearest existing: {}", result.matched)
            }
        )),
        17 | 34 | 65 => ConnectorError::Misconfigured(text),
        _ => ConnectorError::Unavailable(text),
    }
}

fn describe(rc: u32) -> &'static str {
    match rc {
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        8 => "strongerAuthRequired",
        11 => "adminLimitExceeded",
        13 => "confidentialityRequired",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        64 => "namingViolation",
        65 => "objectClassViolation",
        80 => "other",
        _ => "unknown",
    }
}
