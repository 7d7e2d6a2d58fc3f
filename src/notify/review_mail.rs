//! The mail that asks a reviewer to review access (a stage started, or a reminder): which
//! review, how many decisions wait on them, until when, and the link to the review in the
//! portal's My reviews.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::notify::templates::{RenderedMail, format_time, plain_mail};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewNotice {
    pub id: Uuid,
    pub review: String,
    pub description_for_reviewers: String,
    pub instance_id: Uuid,
    pub decisions: usize,
    pub ends_at: DateTime<Utc>,
    /// `(number, of)` for a review with several stages.
    pub stage: Option<(usize, usize)>,
    pub reminder: bool,
}

/// The reviewer's page for this instance.
pub fn review_url(public_url: &str, instance: Uuid) -> String {
    format!(
        "{}/portal/reviews/{instance}",
        public_url.trim_end_matches('/')
    )
}

pub fn render(n: &ReviewNotice, public_url: &str) -> RenderedMail {
    let stage = n
        .stage
        .filter(|(_, of)| *of > 1)
        .map(|(i, of)| format!(" (stage {i} of {of})"))
        .unwrap_or_default();
    let subject = if n.reminder {
        format!("Reminder: review access in {}{stage}", n.review)
    } else {
        format!("Review access in {}{stage}", n.review)
    };
    let mut paragraphs = vec![format!(
        "{} decision{} in the access review \"{}\" wait{} on you. For each person, approve the access they should keep and deny what they no longer need; the recommendation and its reason are shown beside each decision.",
        n.decisions,
        if n.decisions == 1 { "" } else { "s" },
        n.review,
        if n.decisions == 1 { "s" } else { "" },
    )];
    if !n.description_for_reviewers.trim().is_empty() {
        paragraphs.push(n.description_for_reviewers.clone());
    }
    paragraphs.push(format!(
        "Review them in My reviews: {}",
        review_url(public_url, n.instance_id)
    ));
    plain_mail(
        subject.clone(),
        subject,
        paragraphs,
        vec![
            ("Review", n.review.clone()),
            ("Decisions", n.decisions.to_string()),
            ("Ends", format_time(n.ends_at)),
        ],
        public_url,
        "You receive this mail because you are a reviewer in this access review.",
    )
}
