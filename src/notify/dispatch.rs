//! Delivering notice jobs: one mail to one recipient, one event to one webhook subscription.

use uuid::Uuid;

use crate::app::App;
use crate::notify::event::Notice;
use crate::outbox::jobs::MailAudience;
use crate::outbox::worker::{Delivery, Failure};

pub async fn mail(app: &App, to: &str, audience: &MailAudience, notice: &Notice) -> Delivery {
    let _ = (app, to, audience, notice);
    Delivery::failed(Failure::new("mail delivery is being wired"), None)
}

pub async fn webhook(app: &App, subscription: Uuid, notice: &Notice) -> Delivery {
    let _ = (app, subscription, notice);
    Delivery::failed(Failure::new("webhook delivery is being wired"), None)
}
