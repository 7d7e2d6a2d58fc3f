//! Delivering notice jobs: one mail to one recipient, one event to one webhook subscription.
//! Approval mails get their one-click links here, at sending time, made for that approver.

use uuid::Uuid;

use crate::app::App;
use crate::notify::event::Notice;
use crate::notify::links;
use crate::notify::mail::OutgoingMail;
use crate::notify::templates::{self, Audience};
use crate::notify::webhooks::{DeliveryError, event_body};
use crate::outbox::jobs::MailAudience;
use crate::outbox::worker::{Delivery, Failure};

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
