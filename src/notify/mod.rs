//! Telling people and systems what happened: notices (what happened, to whom), e-mail over
//! SMTP, signed webhooks (the audit trail too: `audit_feed`), and the one-click approve/deny links carried by approval mails.

pub mod alert_mail;
pub mod audit_feed;
pub mod audit_feed_heads;
pub mod digest;
pub mod digest_mail;
pub mod dispatch;
pub mod event;
pub mod links;
pub mod mail;
pub mod package;
pub mod package_mail;
pub mod review_mail;
pub mod signing;
pub mod templates;
pub mod webhooks;
