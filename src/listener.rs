//! The accept loop of `eligo serve`, built to stay up under abuse (threat-model rule 9).
//!
//! - A connection must send its request headers within `ELIGO_HEADER_READ_TIMEOUT` (also the
//!   time an idle keep-alive connection may wait for its next request): a client that sends
//!   nothing, or trickles its headers, is closed instead of holding a file descriptor forever.
//! - At most `ELIGO_MAX_CONNECTIONS` connections are served at once; beyond that a new one is
//!   closed at once (counted in `eligo_connections_refused_total`) rather than queued.
//! - The open-file limit is raised to the hard limit at start, so the cap, not the kernel, is
//!   what bounds connections (and the health check keeps a descriptor to answer with).
//! - Shutdown stops accepting, lets in-flight requests finish (up to 10 s), then returns.
//!
//! Per-request limits (a request timeout, a cap on requests in flight answered 503 with
//! `Retry-After`) are layers of the router (`router::build_router`), so the tests see them too.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long in-flight requests may take to finish once shutdown is asked for.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// Built-in TLS (`ELIGO_TLS_CERT_FILE`, `ELIGO_TLS_KEY_FILE`): the certificate is read again on
/// SIGHUP, so a renewed one is served without a restart (a bad one is refused, and the old one
/// stays in use).
#[derive(Clone)]
pub struct Tls {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    acceptor: Arc<std::sync::RwLock<tokio_rustls::TlsAcceptor>>,
}

impl Tls {
    pub fn load(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Self {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            acceptor: Arc::new(std::sync::RwLock::new(acceptor(cert, key)?)),
        })
    }

    /// Reads the files again; keeps the current certificate when they are unusable.
    pub fn reload(&self) -> anyhow::Result<()> {
        let fresh = acceptor(&self.cert, &self.key)?;
        *self.acceptor.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    fn current(&self) -> tokio_rustls::TlsAcceptor {
        self.acceptor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("reading ELIGO_TLS_CERT_FILE {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("reading ELIGO_TLS_KEY_FILE {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| anyhow::anyhow!("the TLS certificate and key do not fit: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Raises the soft open-file limit as far as the hard limit allows; returns the new limit.
pub fn raise_open_file_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<Tls>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a moment
                    // rather than spin, and say so.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!("eligo_connections_refused_total").increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            router.oneshot(req)
        });
        let watcher = graceful.watcher();
        let http = http.clone();
        let tls = tls.as_ref().map(Tls::current);
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            // Timeouts and resets end connections all the time: not worth a log line each.
            let ended = match tls {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(acceptor) => {
                    // The handshake, too, must finish within the header timeout.
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => {
                            watcher
                                .watch(http.serve_connection(TokioIo::new(tls_stream), service))
                                .await
                        }
                        _ => Ok(()),
                    }
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within 10 s of shutdown");
    }
}
