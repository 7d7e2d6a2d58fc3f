//! Webhook subscriptions to notices: who may read, add and remove them, and the writes with
//! their audit entries. A subscription's secret signs its deliveries (`notify::signing`); it
//! is stored as given and never answered.

use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::actions;
use eligo_store::SubscriptionRow;
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::notify::webhooks::validate_subscription;
use crate::service::authorize;

pub struct NewSubscription {
    pub url: String,
    pub event_types: Vec<String>,
    pub secret: String,
}

/// Subscribing reaches outside Eligo (events go wherever the URL says), so it needs a fresh
/// second factor like any other policy change.
pub async fn create(
    app: &App,
    caller: &Caller,
    new: NewSubscription,
) -> UseCaseResult<SubscriptionRow> {
    authorize::audited(
        app,
        caller,
        "Add webhook subscription",
        Category::Policy,
        async {
            authorize::act(app, caller, actions::SUBSCRIPTIONS_UPDATE, true)?;
            valid(&new)?;
            // The audit events carry the whole trail: only for those who may read it.
            if crate::notify::event::names_audit_events(&new.event_types) {
                authorize::act(app, caller, actions::AUDIT_READ, false)?;
            }
            let now = app.clock.now();
            let mut row = SubscriptionRow {
                id: Uuid::new_v4(),
                data: json!({
                    "url": new.url,
                    "eventTypes": new.event_types,
                    "secret": new.secret,
                    "createdBy": caller.id,
                }),
                created_at: now,
            };
            let mut tx = app.store.write().await?;
            crate::notify::audit_feed::start_cursor(&mut *tx, &mut row.data).await?;
            tx.insert_subscription(&row).await?;
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::Policy,
                    "Add webhook subscription",
                    caller.initiator(),
                )
                .target(row.id, "Subscription", None)
                .modified("url", "", new.url.clone())
                .modified("eventTypes", "", new.event_types.join(", "))
                .modified_secret("secret")
                .detail("url", new.url.clone()),
            )
            .await?;
            tx.commit().await?;
            Ok(row)
        },
    )
    .await
}

/// Every problem of the subscription at once, each under its field.
fn valid(new: &NewSubscription) -> UseCaseResult<()> {
    let Err(problems) = validate_subscription(&new.url, &new.event_types, &new.secret) else {
        return Ok(());
    };
    let summary: Vec<String> = problems.iter().map(|(f, m)| format!("{f}: {m}")).collect();
    Err(problems.iter().fold(
        Failure::bad_request(
            "InvalidSubscription",
            format!("the subscription is invalid: {}", summary.join("; ")),
        ),
        |e, (field, _)| e.with_detail("InvalidValue", field.clone()),
    ))
}

/// `id` as parsed from the request: a malformed one is answered only to a caller who may
/// unsubscribe, so a refused caller gets its 403 whatever it sent.
pub async fn delete(app: &App, caller: &Caller, id: UseCaseResult<Uuid>) -> UseCaseResult<()> {
    authorize::audited(
        app,
        caller,
        "Delete webhook subscription",
        Category::Policy,
        async {
            authorize::act(app, caller, actions::SUBSCRIPTIONS_UPDATE, true)?;
            let id = id?;
            let now = app.clock.now();
            let mut tx = app.store.write().await?;
            let gone = tx.get_subscription(id).await?;
            if !tx.delete_subscription(id).await? {
                return Err(Failure::not_found("subscription"));
            }
            let field = |k: &str| {
                gone.as_ref()
                    .and_then(|g| g.data.get(k))
                    .map(|v| match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Array(a) => a
                            .iter()
                            .filter_map(|x| x.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        other => other.to_string(),
                    })
                    .unwrap_or_default()
            };
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::Policy,
                    "Delete webhook subscription",
                    caller.initiator(),
                )
                .target(id, "Subscription", None)
                .modified("url", field("url"), "")
                .modified("eventTypes", field("eventTypes"), ""),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        },
    )
    .await
}

/// Reads subscriptions for a caller who may: obtained from [`reader`] only, so nothing reads
/// them without the decision. The handler parses its request in between, so a refused caller
/// gets its 403 whatever it sent.
pub struct Reader<'a> {
    app: &'a App,
}

pub fn reader<'a>(app: &'a App, caller: &Caller) -> UseCaseResult<Reader<'a>> {
    authorize::act(app, caller, actions::SUBSCRIPTIONS_READ, false)?;
    Ok(Reader { app })
}

impl Reader<'_> {
    pub async fn list(&self) -> UseCaseResult<Vec<SubscriptionRow>> {
        Ok(self.app.store.read().await?.list_subscriptions().await?)
    }

    pub async fn get(&self, id: Uuid) -> UseCaseResult<SubscriptionRow> {
        self.app
            .store
            .read()
            .await?
            .get_subscription(id)
            .await?
            .ok_or_else(|| Failure::not_found("subscription"))
    }
}
