//! The application's shared state: what every request, use case and background task holds
//! (the store, the clock, the configuration and the long-lived parts). Built once by
//! `wiring` (`App::open`); routed by `router`.

use std::sync::Arc;

use eligo_store::Store;

use crate::auth::throttle::Throttle;
use crate::clock::Clock;
use crate::config::Config;

pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub throttle: Throttle,
    pub scheduler: crate::waker::Waker,
    /// Who holds what now: the effective-access index, kept current by the store's journal
    /// and change log (`service::access::feed`).
    pub access: Arc<crate::service::access::live::LiveIndex>,
    /// Set at SIGTERM: `/readyz` answers 503 while requests are still served (the drain).
    pub draining: std::sync::atomic::AtomicBool,
    /// Every live session by token hash, kept current like the index (`auth::sessions`).
    pub sessions: crate::auth::sessions::SessionTable,
    /// The key that signs one-click approval links (from `ELIGO_LINK_SECRET`, or generated
    /// once and kept in the store).
    pub link_key: [u8; 32],
    /// Wakes the outbox worker when a commit writes a job.
    pub jobs: crate::waker::Waker,
    /// Wakes the PIM alert scanner after a change to who holds what (`pim_alerts::run_forever`).
    pub alert_scans: crate::waker::Waker,
    /// Live clients of the downstream connectors, and the per-mapping locks.
    pub connectors: crate::provisioning::registry::Registry,
    /// The SMTP relay, when `ELIGO_SMTP_URL` is set.
    pub mailer: Option<crate::notify::mail::Mailer>,
    /// Posts signed webhook events.
    pub webhooks: crate::notify::webhooks::WebhookClient,
    /// The audit chain's last verification, for the portal's Audit page.
    pub chain_check: crate::portal::audit::chain::ChainCheck,
    /// The head each `audit.entry` webhook feed was last queued for.
    pub audit_feeds: crate::notify::audit_feed_heads::Planned,
    /// When each break-glass session was last announced (one notice per quiet period).
    pub breakglass: crate::service::breakglass_notices::Announced,
    /// Failed sign-ins and step-ups counted between their audit entries (bursts).
    pub failure_bursts: crate::auth::throttle::FailureBursts,
    /// `GET /v1/auditLogs/verify`: one walk at a time, at most one started per interval.
    pub audit_verify: crate::service::verify_gate::VerifyGate,
    /// The OpenID Connect providers' discovered metadata and keys (`auth::oidc`).
    pub oidc: crate::auth::oidc_provider::Providers,
}

pub type AppState = Arc<App>;
