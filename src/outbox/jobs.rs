//! The kinds of outbox jobs and their payloads (stored as JSON; the `kind` column is the tag).

use chrono::{DateTime, Utc};
use eligo_store::NewJob;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::notify::alert_mail::AlertRaised;
use crate::notify::digest::Digest;
use crate::notify::event::{BreakGlassUse, Notice};
use crate::notify::package::PackageNotice;
use crate::notify::package_mail::PackageAudience;
use crate::notify::webhooks::OutgoingEvent;

/// Who a mail is for, and so how it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "audience")]
pub enum MailAudience {
    /// An approver of the stage now waiting: the mail carries one-click links made for them.
    Approver {
        approver_id: Uuid,
        step_id: Uuid,
    },
    /// An approver-rule recipient who is not a user (an extra address): no links.
    ApproverAddress,
    Requestor,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Payload {
    /// One mail to one recipient.
    #[serde(rename = "mail")]
    Mail {
        to: String,
        audience: MailAudience,
        notice: Box<Notice>,
    },
    /// One notice to one webhook subscription.
    #[serde(rename = "webhook")]
    Webhook {
        subscription_id: Uuid,
        notice: Box<Notice>,
    },
    /// One access package notice mailed to one recipient.
    #[serde(rename = "mail.package")]
    PackageMail {
        to: String,
        audience: PackageAudience,
        notice: Box<PackageNotice>,
    },
    /// One break-glass use mailed to one Global Administrator.
    #[serde(rename = "mail.breakglass")]
    BreakGlassMail {
        to: String,
        notice: Box<BreakGlassUse>,
    },
    /// One access review mail (a stage to review, a reminder) to one reviewer.
    #[serde(rename = "mail.review")]
    ReviewMail {
        to: String,
        notice: Box<crate::notify::review_mail::ReviewNotice>,
    },
    /// One PIM alert's new incidents mailed to one Global or Privileged Role Administrator.
    #[serde(rename = "mail.alert")]
    AlertMail {
        to: String,
        notice: Box<AlertRaised>,
    },
    /// The weekly digest mailed to one Global or Privileged Role Administrator.
    #[serde(rename = "mail.digest")]
    DigestMail { to: String, digest: Box<Digest> },
    /// One security event (`breakglass.used`, `audit.checkpoint`) to one subscription.
    #[serde(rename = "event")]
    Event {
        subscription_id: Uuid,
        event: Box<OutgoingEvent>,
    },
    /// Bring one subscription's `audit.entry` feed up to the audit head: every entry after the
    /// cursor kept with the subscription, in order (`notify::audit_feed`).
    #[serde(rename = "audit.feed")]
    AuditFeed { subscription_id: Uuid },
    /// An access package custom extension's event (`service::entitlement::assignments::
    /// callouts`): the very body posted on every attempt, signed with the extension's secret.
    #[serde(rename = "extension.callout")]
    Callout {
        extension_id: Uuid,
        event_id: Uuid,
        body: serde_json::Value,
    },
    /// Make one principal's presence in one mapped downstream group match Eligo: add when a
    /// member now, remove when not. `cause_at` is when the change happened (for an expiry,
    /// the end time), from which revocation latency is measured.
    #[serde(rename = "provision.member")]
    ProvisionMember {
        mapping_id: Uuid,
        principal_id: Uuid,
        cause_at: DateTime<Utc>,
    },
    /// Make a whole mapped group match what Eligo has pushed and wants (after a nesting
    /// change or a new mapping): add every member missing, remove what Eligo pushed and no
    /// longer wants. Strays Eligo never pushed are reconciliation's business.
    #[serde(rename = "provision.group")]
    ProvisionGroup {
        mapping_id: Uuid,
        cause_at: DateTime<Utc>,
    },
}

impl Payload {
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Mail { .. } => "mail",
            Payload::Webhook { .. } => "webhook",
            Payload::PackageMail { .. } => "mail.package",
            Payload::BreakGlassMail { .. } => "mail.breakglass",
            Payload::ReviewMail { .. } => "mail.review",
            Payload::AlertMail { .. } => "mail.alert",
            Payload::DigestMail { .. } => "mail.digest",
            Payload::Event { .. } => "event",
            Payload::AuditFeed { .. } => "audit.feed",
            Payload::Callout { .. } => "extension.callout",
            Payload::ProvisionMember { .. } => "provision.member",
            Payload::ProvisionGroup { .. } => "provision.group",
        }
    }

    /// What the job concerns, shown by `GET /v1/outbox`.
    fn subject(&self) -> String {
        match self {
            Payload::Mail { to, .. }
            | Payload::BreakGlassMail { to, .. }
            | Payload::ReviewMail { to, .. }
            | Payload::AlertMail { to, .. }
            | Payload::DigestMail { to, .. }
            | Payload::PackageMail { to, .. } => format!("mail:{to}"),
            Payload::Webhook {
                subscription_id, ..
            }
            | Payload::Event {
                subscription_id, ..
            }
            | Payload::AuditFeed { subscription_id } => format!("subscription:{subscription_id}"),
            Payload::Callout { extension_id, .. } => format!("extension:{extension_id}"),
            Payload::ProvisionMember {
                mapping_id,
                principal_id,
                ..
            } => format!("provisioning:{mapping_id}:{principal_id}"),
            Payload::ProvisionGroup { mapping_id, .. } => format!("provisioning:{mapping_id}"),
        }
    }

    /// Provisioning jobs re-read the desired state when they run, so one pending job per
    /// member and mapping (or per mapping) is enough; so does an audit feed, which reads its
    /// cursor when it runs. A mail or an event is never merged.
    pub fn coalesce_key(&self) -> Option<String> {
        match self {
            Payload::ProvisionMember { .. } | Payload::ProvisionGroup { .. } => {
                Some(self.subject())
            }
            Payload::AuditFeed { subscription_id } => Some(format!("audit.feed:{subscription_id}")),
            _ => None,
        }
    }

    /// The job to write for this payload, due at `due_at`; `once_key` keeps it from ever being
    /// written twice (a reminder, a notice to a recipient).
    pub fn job(&self, due_at: DateTime<Utc>, once_key: Option<String>) -> NewJob {
        NewJob {
            id: Uuid::new_v4(),
            kind: self.kind().to_string(),
            payload: serde_json::to_value(self).expect("payloads serialize"),
            coalesce_key: self.coalesce_key(),
            once_key,
            subject: Some(self.subject()),
            due_at,
        }
    }

    /// A provisioning job due at `due_at` under its own coalesce key `key` (a removal planned
    /// for an end time must not merge with the job that pushed the member in).
    pub fn job_keyed(&self, due_at: DateTime<Utc>, key: String) -> NewJob {
        NewJob {
            coalesce_key: Some(key),
            ..self.job(due_at, None)
        }
    }

    pub fn from_job(payload: &serde_json::Value) -> Result<Self, String> {
        serde_json::from_value(payload.clone()).map_err(|e| format!("unreadable job payload: {e}"))
    }
}
