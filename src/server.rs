//! `eligo serve`: open the store, bootstrap, listen, and shut down gracefully on SIGTERM or
//! SIGINT (in-flight requests finish; nothing acknowledged is lost because every write is
//! committed before it is answered).

use std::sync::Arc;

use anyhow::Context;

use crate::app::{App, AppState};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::service::{bootstrap, demo};

/// Opens the store and runs first-start work; shared by `serve` and the tests.
pub async fn prepare(
    config: Config,
    clock: Arc<dyn Clock>,
    with_demo: bool,
) -> anyhow::Result<(AppState, bootstrap::FirstStart)> {
    let store = crate::keys::open_store(&config, true).await?;
    let app = App::open(store, clock, config)
        .await
        .map_err(|e| anyhow::anyhow!("building the access index: {e:?}"))?;
    bootstrap::ensure_built_in_roles(&app).await?;
    let first = bootstrap::first_start(&app).await?;
    bootstrap::ensure_configured_token(&app).await?;
    if with_demo && !matches!(first, bootstrap::FirstStart::NotFirst) {
        demo::load(&app).await?;
        // The demo password is in the README; it never goes to the logs.
        tracing::info!(domain = demo::DOMAIN, "demo tenant loaded");
    }
    Ok((app, first))
}

pub async fn serve(config: Config, with_demo: bool) -> anyhow::Result<()> {
    let listen = config.listen;
    // The demo tenant's passwords are in the README: never reachable from another machine.
    if with_demo && !listen.ip().is_loopback() {
        anyhow::bail!(
            "--demo serves a tenant whose passwords are public; it listens only on a loopback address (not {listen})"
        );
    }
    let _only_server = lock_sqlite(config.database_url.expose())?;
    let (app, first) = prepare(config, Arc::new(SystemClock), with_demo).await?;
    // Before the outbox worker releases the jobs this id left running: they must be a dead
    // run's, never a live server's with the same id.
    app.store
        .hold_server_id(&app.config.server_id)
        .await
        .context("holding this server's id")?;
    if let Some(note) = crate::keys::take_generated_note() {
        println!("\n{note}\n");
    }
    if let bootstrap::FirstStart::Generated(token) = &first {
        // Printed once, on the terminal only: this is the way in for the first administrator.
        println!(
            "\nFirst start: the emergency-access account {} holds Global Administrator.\n\
             Its one-time bootstrap token (valid 24 hours, shown only now):\n\n    {token}\n",
            bootstrap::BREAKGLASS_UPN
        );
    }
    let limits = crate::listener::ConnectionLimits {
        header_read_timeout: app
            .config
            .header_read_timeout
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(10)),
        max_connections: app.config.max_connections,
    };
    match crate::listener::raise_open_file_limit() {
        Some(n) => tracing::info!(open_files = n, "open-file limit raised"),
        None => tracing::warn!("could not raise the open-file limit"),
    }
    // Built-in TLS, the certificate read again on SIGHUP.
    let tls = match (&app.config.tls_cert_file, &app.config.tls_key_file) {
        (Some(cert), Some(key)) => Some(crate::listener::Tls::load(cert, key)?),
        _ => None,
    };
    #[cfg(unix)]
    if let Some(tls) = tls.clone() {
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            while hup.recv().await.is_some() {
                match tls.reload() {
                    Ok(()) => tracing::info!("TLS certificate reloaded"),
                    Err(e) => {
                        tracing::error!(error = %e, "TLS reload refused; the old certificate stays")
                    }
                }
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, store = app.store.backend(),
        server_id = %app.config.server_id, "eligo listening");
    // On stdout too, whatever the log filter or format (stderr may be JSON lines): operators
    // match outbox claims to servers by it.
    println!("eligo server id: {}", app.config.server_id);
    let store = app.store.clone();
    // Starts and ends schedules on time; catches up first whatever fell due while down.
    let scheduler = tokio::spawn(crate::service::pim::scheduler::run_forever(app.clone()));
    // Delivers side effects (mail, webhooks, downstream changes) as their commits wake it.
    let outbox = tokio::spawn(crate::outbox::worker::run_forever(app.clone()));
    // Compares every provisioned downstream group with Eligo's view on a timer.
    let reconciler = tokio::spawn(crate::provisioning::reconcile::run_forever(app.clone()));
    // Imports people and groups from the LDAP connectors that have an `import` block.
    let imports = tokio::spawn(crate::service::ldap_import::schedule::run_forever(
        app.clone(),
    ));
    // Scans for PIM alerts on a timer (ELIGO_ALERT_SCAN_INTERVAL), the first one interval on.
    let alert_scans = tokio::spawn(crate::service::pim_alerts::run_forever(app.clone()));
    // Mails the weekly digest once per ELIGO_DIGEST_INTERVAL (the period recorded in the store).
    let digests = tokio::spawn(crate::service::digest::run_forever(app.clone()));
    // Says when this server's clock is off the database's (several servers disagree on ends).
    let clock_watch = tokio::spawn(crate::clock_watch::run_forever(app.clone()));
    // Signs the audit head outside the database now and then, and once more at shutdown.
    let signer = Arc::new(
        crate::checkpoint::Signer::open(&app.config.checkpoint_dir())
            .context("opening the audit checkpoint key (ELIGO_AUDIT_CHECKPOINT_DIR)")?,
    );
    let checkpoints = tokio::spawn(crate::checkpoint::run_forever(app.clone(), signer.clone()));
    // Metrics on an internal address of their own, when configured.
    let metrics = match app.config.metrics_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding ELIGO_METRICS_LISTEN {addr}"))?;
            tracing::info!(address = %listener.local_addr()?, "metrics listening");
            Some(tokio::spawn(async move {
                let _ = axum::serve(listener, crate::router::metrics_router()).await;
            }))
        }
        None => None,
    };
    // Every audit entry for a SIEM, as JSON lines, when configured.
    let export = app
        .config
        .audit_export_file
        .clone()
        .map(|file| tokio::spawn(crate::export::run_forever(app.clone(), file)));
    // The same entries as RFC 5424 syslog messages, when configured.
    let syslog = crate::export::SyslogExport::configured(&app)
        .map(|export| tokio::spawn(export.run_forever(app.clone())));
    // audit.entry webhook feeds behind the head get their outbox job.
    let feeds = tokio::spawn(crate::notify::audit_feed::run_forever(app.clone()));
    // Counted failed sign-ins and step-ups are written when their burst ends.
    let failures = tokio::spawn(crate::service::audit::flush_failures_forever(app.clone()));
    let router = crate::router::build_router(app.clone());
    let drained = {
        let app = app.clone();
        async move {
            shutdown_signal().await;
            // Not ready any more, still serving: the load balancer moves on first.
            app.draining
                .store(true, std::sync::atomic::Ordering::Release);
            let drain = app.config.shutdown_drain.to_std().unwrap_or_default();
            if !drain.is_zero() {
                tracing::info!(
                    seconds = drain.as_secs_f64(),
                    "draining: /readyz answers 503"
                );
                tokio::time::sleep(drain).await;
            }
        }
    };
    crate::listener::serve(listener, router, limits, tls, drained).await;
    // No request runs any more: every failure counted goes to the trail before it is exported
    // and signed for the last time.
    failures.abort();
    feeds.abort();
    clock_watch.abort();
    match crate::service::audit::flush_failures(&app, true).await {
        Ok(n) if n > 0 => tracing::info!(entries = n, "counted failures written at shutdown"),
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = ?e.message, "writing counted failures at shutdown failed")
        }
    }
    if let Some(syslog) = syslog {
        syslog.abort();
        if let Some(mut export) = crate::export::SyslogExport::configured(&app)
            && let Err(e) = export.export_new(&app).await
        {
            tracing::error!(error = %e, "the final audit export to syslog failed");
        }
    }
    checkpoints.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    if let Some(export) = export {
        export.abort();
        // Whatever was written until the end goes out too.
        if let Some(file) = &app.config.audit_export_file
            && let Err(e) = crate::export::export_new(&app, file).await
        {
            tracing::error!(error = %e, "the final audit export failed");
        }
    }
    if let Err(e) = crate::checkpoint::sign_head(&app, &signer, &mut None).await {
        tracing::error!(error = %e, "writing the final audit checkpoint failed");
    }
    scheduler.abort();
    outbox.abort();
    reconciler.abort();
    imports.abort();
    alert_scans.abort();
    digests.abort();
    store.close().await;
    tracing::info!("eligo stopped");
    Ok(())
}

/// One `eligo serve` per SQLite database: its index and session table learn only its own
/// commits (there is no change log to follow, unlike PostgreSQL), so a second server on the
/// same file would answer from a state that never sees the first one's sign-outs and
/// revocations. The lock file is held until the process ends (a crash releases it too).
fn lock_sqlite(database_url: &str) -> anyhow::Result<Option<std::fs::File>> {
    let Some(path) = database_url.strip_prefix("sqlite://") else {
        return Ok(None);
    };
    let path = path.split('?').next().unwrap_or(path);
    let lock = std::path::PathBuf::from(format!("{path}.serve-lock"));
    if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .with_context(|| format!("opening {}", lock.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another eligo serve is using the SQLite database {path} (lock {}); one server per \
             SQLite database, or run several on PostgreSQL (README: Several servers)",
            lock.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", lock.display()))
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
