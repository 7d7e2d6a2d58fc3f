//! Delivering notice jobs: one mail to one recipient, one event to one webhook subscription.
//! Approval mails get their one-click links here, at sending time, made for that approver.

use uuid::Uuid;

use crate::app::App;
use crate::notify::event::{BreakGlassUse, Notice};
use crate::notify::links;
use crate::notify::mail::OutgoingMail;
use crate::notify::package::PackageNotice;
use crate::notify::package_mail::{self, PackageAudience};
use crate::notify::templates::{self, Audience};
use crate::notify::webhooks::{DeliveryError, OutgoingEvent, event_body};
use crate::outbox::delivery::{Delivery, Failure};
use crate::outbox::jobs::MailAudience;

pub async fn mail(app: &App, to: &str, audience: &MailAudience, notice: &Notice) -> Delivery {
    let Some(mailer) = &app.mailer else {
        return Delivery::failed(
            Failure::new("mail is not configured (set ELIGO_SMTP_URL)"),
            None,
        );
    };
    let now = app.clock.now();
    let audience = match audience {
        MailAudience::Approver {
            approver_id,
            step_id,
        } => match notice.request_id {
            Some(request_id) => {
                let (approve_url, deny_url) = links::approval_links(
                    &app.link_key,
                    &app.config.public_url,
                    request_id,
                    *step_id,
                    *approver_id,
                    now + app.config.link_lifetime,
                    Uuid::new_v4(),
                );
                Audience::Approver {
                    approve_url,
                    deny_url,
                }
            }
            None => Audience::Admin,
        },
        // An extra address on the approver rule is told, without links (links are made for
        // a person who is an approver; an address is not one).
        MailAudience::ApproverAddress | MailAudience::Admin => Audience::Admin,
        MailAudience::Requestor => Audience::Requestor,
    };
    let rendered = templates::render(notice, &audience, &app.config.public_url);
    let host = app
        .config
        .mail_from
        .rsplit_once('@')
        .map_or("eligo.local", |(_, h)| h);
    let message = OutgoingMail {
        to: vec![to.to_string()],
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_id: format!("<{}.{}@{host}>", notice.id, Uuid::new_v4().simple()),
    };
    match mailer.send(&message).await {
        Ok(()) => {
            metrics::histogram!("eligo_notice_mail_latency_seconds", "kind" => notice.kind.as_str())
                .record(
                    (app.clock.now() - notice.occurred_at)
                        .num_microseconds()
                        .unwrap_or(0)
                        .max(0) as f64
                        / 1e6,
                );
            Delivery::default()
        }
        Err(e) if e.is_transient() => {
            Delivery::failed(Failure::new(format!("mail to {to}: {e}")), None)
        }
        Err(e) => Delivery::failed(Failure::permanent(format!("mail to {to}: {e}")), None),
    }
}

pub async fn webhook(app: &App, subscription: Uuid, notice: &Notice) -> Delivery {
    let row = match app.store.read().await {
        Ok(mut tx) => match tx.get_subscription(subscription).await {
            Ok(row) => row,
            Err(e) => return Delivery::failed(Failure::new(e.to_string()), None),
        },
        Err(e) => return Delivery::failed(Failure::new(e.to_string()), None),
    };
    // Unsubscribed since: nothing to deliver.
    let Some(row) = row else {
        return Delivery::default();
    };
    let (Some(url), Some(secret)) = (row.data["url"].as_str(), row.data["secret"].as_str()) else {
        return Delivery::failed(Failure::new("the subscription is unreadable"), None);
    };
    let body = event_body(notice, &app.config.public_url);
    match app
        .webhooks
        .post_signed(url, secret.as_bytes(), notice.id, &body, app.clock.now())
        .await
    {
        Ok(()) => Delivery::default(),
        Err(DeliveryError::Retryable(m)) | Err(DeliveryError::Refused(m)) => Delivery::failed(
            Failure::new(format!("subscription {subscription}: {m}")),
            None,
        ),
    }
}

/// Mails one access package notice to one recipient.
pub async fn package_mail(
    app: &App,
    to: &str,
    audience: PackageAudience,
    notice: &PackageNotice,
) -> Delivery {
    let Some(mailer) = &app.mailer else {
        return Delivery::failed(
            Failure::new("mail is not configured (set ELIGO_SMTP_URL)"),
            None,
        );
    };
    let rendered = package_mail::render(notice, audience, &app.config.public_url);
    let host = app
        .config
        .mail_from
        .rsplit_once('@')
        .map_or("eligo.local", |(_, h)| h);
    let message = OutgoingMail {
        to: vec![to.to_string()],
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_id: format!("<{}.{}@{host}>", notice.id, Uuid::new_v4().simple()),
    };
    match mailer.send(&message).await {
        Ok(()) => Delivery::default(),
        Err(e) if e.is_transient() => {
            Delivery::failed(Failure::new(format!("mail to {to}: {e}")), None)
        }
        Err(e) => Delivery::failed(Failure::permanent(format!("mail to {to}: {e}")), None),
    }
}

/// Mails one Global Administrator that the break-glass account was used.
pub async fn breakglass_mail(app: &App, to: &str, notice: &BreakGlassUse) -> Delivery {
    let rendered = templates::render_breakglass(notice, &app.config.public_url);
    rendered_mail(app, to, rendered, notice.id).await
}

/// Sends one mail already rendered (break-glass, PIM alert, digest and access review mails);
/// `seed` makes its Message-ID.
pub async fn rendered_mail(
    app: &App,
    to: &str,
    rendered: templates::RenderedMail,
    seed: Uuid,
) -> Delivery {
    let Some(mailer) = &app.mailer else {
        return Delivery::failed(
            Failure::new("mail is not configured (set ELIGO_SMTP_URL)"),
            None,
        );
    };
    let host = app
        .config
        .mail_from
        .rsplit_once('@')
        .map_or("eligo.local", |(_, h)| h);
    let message = OutgoingMail {
        to: vec![to.to_string()],
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_id: format!("<{}.{}@{host}>", seed, Uuid::new_v4().simple()),
    };
    match mailer.send(&message).await {
        Ok(()) => Delivery::default(),
        Err(e) if e.is_transient() => {
            Delivery::failed(Failure::new(format!("mail to {to}: {e}")), None)
        }
        Err(e) => Delivery::failed(Failure::permanent(format!("mail to {to}: {e}")), None),
    }
}

/// Where a subscription's events go and the secret that signs them; `Ok(None)` when it was
/// deleted since (nothing to deliver).
pub(crate) async fn subscription_target(
    app: &App,
    subscription: Uuid,
) -> Result<Option<(String, String, serde_json::Value)>, Failure> {
    let row = app
        .store
        .read()
        .await
        .map_err(|e| Failure::new(e.to_string()))?
        .get_subscription(subscription)
        .await
        .map_err(|e| Failure::new(e.to_string()))?;
    let Some(row) = row else {
        return Ok(None);
    };
    match (row.data["url"].as_str(), row.data["secret"].as_str()) {
        (Some(url), Some(secret)) => Ok(Some((
            url.to_string(),
            secret.to_string(),
            row.data["eventTypes"].clone(),
        ))),
        _ => Err(Failure::new("the subscription is unreadable")),
    }
}

/// Posts one security event (`breakglass.used`, `audit.checkpoint`) to one subscription.
pub async fn event(app: &App, subscription: Uuid, event: &OutgoingEvent) -> Delivery {
    let (url, secret) = match subscription_target(app, subscription).await {
        Ok(Some((url, secret, _))) => (url, secret),
        // Someone holding the break-glass token could delete the subscription before its
        // announcement went out: that lands in the dead letter, by name, not in silence.
        Ok(None) => {
            return Delivery::failed(
                Failure::permanent(format!(
                    "subscription {subscription} was deleted before this {} event was delivered",
                    event.event_type
                )),
                None,
            );
        }
        Err(failure) => return Delivery::failed(failure, None),
    };
    match app
        .webhooks
        .post_signed(
            &url,
            secret.as_bytes(),
            event.id,
            &event.body(),
            app.clock.now(),
        )
        .await
    {
        Ok(()) => Delivery::default(),
        Err(DeliveryError::Retryable(m)) | Err(DeliveryError::Refused(m)) => Delivery::failed(
            Failure::new(format!("subscription {subscription}: {m}")),
            None,
        ),
    }
}

/// Posts an access package custom extension's event to its endpoint, signed with the
/// extension's own secret. An extension deleted meanwhile, or its secret gone, is a permanent
/// failure named in the dead letter.
pub async fn callout(
    app: &App,
    extension: Uuid,
    event_id: Uuid,
    body: &serde_json::Value,
) -> Delivery {
    let target = async {
        let mut tx = app.store.read().await?;
        let url = tx
            .get_custom_extension(extension)
            .await?
            .map(|e| e.endpoint.url);
        let secret = tx
            .get_server_secret(&crate::service::entitlement::extensions::secret_name(
                extension,
            ))
            .await?;
        Ok::<_, eligo_store::StoreError>(url.zip(secret))
    };
    let (url, secret) = match target.await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Delivery::failed(
                Failure::permanent(format!(
                    "custom extension {extension} was deleted before its event was delivered"
                )),
                None,
            );
        }
        Err(e) => return Delivery::failed(Failure::new(e.to_string()), None),
    };
    match app
        .webhooks
        .post_signed(&url, &secret, event_id, body, app.clock.now())
        .await
    {
        Ok(()) => Delivery::default(),
        Err(DeliveryError::Retryable(m)) | Err(DeliveryError::Refused(m)) => Delivery::failed(
            Failure::new(format!("custom extension {extension}: {m}")),
            None,
        ),
    }
}
