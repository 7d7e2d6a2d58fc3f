//! What the digest says (`crate::service::digest` assembles it, `crate::notify::digest_mail`
//! renders it, and the outbox job carries it whole), apart from both so the mail and the job
//! need nothing of the use case.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// At most this many lines under a section (the count says how many there are in all).
const MAX_LINES: usize = 10;

/// The digest as mailed (kept whole in each mail's outbox job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    /// The mail's Message-ID seed.
    pub id: Uuid,
    pub generated_at: DateTime<Utc>,
    /// The start of the activations' window (`generated_at - LOOK_BACK`).
    pub since: DateTime<Utc>,
    pub sections: Vec<DigestSection>,
}

/// One part of the digest: a stable key, a title, how many things it counts, a sentence saying
/// so, and a line per thing (at most `MAX_LINES`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestSection {
    /// `alerts`, `activations`, `pimApprovals`, `packageApprovals`, `reviews`.
    pub key: String,
    pub title: String,
    pub count: usize,
    pub summary: String,
    pub lines: Vec<String>,
}

impl DigestSection {
    pub(crate) fn new(
        key: &str,
        title: &str,
        count: usize,
        summary: String,
        mut lines: Vec<String>,
    ) -> Self {
        if lines.len() > MAX_LINES {
            let more = lines.len() - MAX_LINES;
            lines.truncate(MAX_LINES);
            lines.push(format!("and {more} more"));
        }
        Self {
            key: key.into(),
            title: title.into(),
            count,
            summary,
            lines,
        }
    }
}
