//! The composition root: `App::open` builds the long-lived parts over a store (the access
//! index and the session table from one snapshot, the link key, mail, webhooks, connectors),
//! subscribes them to every committed change (`service::access::feed`) and hands the
//! downstream planner to the store's commit hook. What runs it: `eligo serve`
//! (`server::prepare`), the benchmarks and the integration tests.

use std::sync::Arc;

use eligo_store::Store;

use crate::app::{App, AppState};
use crate::auth::throttle::Throttle;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::ApiError;

impl App {
    /// The application over `store`, with the access index built from it and subscribed to
    /// its writes (so this must run before anything writes).
    pub async fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> crate::error::ApiResult<AppState> {
        store.limit_group_commit(config.group_commit_max);
        let (index, head) =
            crate::service::access::live::LiveIndex::load(&*store, clock.now()).await?;
        let access = Arc::new(index);
        // Read after the index's snapshot: the log from `head` on brings it to the same state.
        let sessions = crate::service::access::feed::load_sessions(&*store, clock.now()).await?;
        let link_key = crate::notify::links::load_key(&store, &config).await?;
        let mailer = match &config.smtp_url {
            Some(url) => Some(
                crate::notify::mail::Mailer::from_config(url.expose(), &config.mail_from)
                    .map_err(|e| ApiError::internal("configuring mail (ELIGO_SMTP_URL)", e))?,
            ),
            None => None,
        };
        let outbound = crate::outbound::Outbound::allowing(config.outbound_allow.clone());
        let app = Arc::new(App {
            store: store.clone(),
            clock: clock.clone(),
            config,
            throttle: Throttle::default(),
            scheduler: Default::default(),
            access: access.clone(),
            sessions,
            draining: Default::default(),
            link_key,
            jobs: Default::default(),
            alert_scans: Default::default(),
            connectors: crate::provisioning::registry::Registry::new(outbound.clone()),
            mailer,
            webhooks: crate::notify::webhooks::WebhookClient::default().with_outbound(outbound),
            chain_check: Default::default(),
            audit_feeds: Default::default(),
            breakglass: Default::default(),
            failure_bursts: Default::default(),
            audit_verify: Default::default(),
            oidc: Default::default(),
        });
        // Every committed change (and on PostgreSQL every other server's, from the change
        // log after the snapshot the index was built from) reaches the index.
        store.listen(
            crate::service::access::feed::listener(Arc::downgrade(&app)),
            head,
        );
        if store.feed_status().is_some() {
            tokio::spawn(crate::service::access::feed::keep_following(
                Arc::downgrade(&app),
            ));
        }
        store.before_commit(Arc::new(crate::provisioning::planner::Planner {
            access,
            clock,
        }));
        Ok(app)
    }
}
