//! The weekly digest mail: each section of [`Digest`] as a paragraph (its summary) and its
//! lines, with the Alerts and Approvals pages linked.

use crate::notify::alert_mail::ALERTS_PAGE;
use crate::notify::digest::Digest;
use crate::notify::templates::{RenderedMail, format_time, plain_mail};

pub fn render(d: &Digest, public_url: &str) -> RenderedMail {
    let base = public_url.trim_end_matches('/');
    let mut paragraphs = vec![format!(
        "What needs your attention in Eligo, as of {}.",
        format_time(d.generated_at)
    )];
    for s in &d.sections {
        paragraphs.push(format!("{}: {}", s.title, s.summary));
        for line in &s.lines {
            paragraphs.push(format!("- {line}"));
        }
    }
    // Each section says its own count, so a section added later needs nothing here.
    let facts = vec![
        ("Alerts page", format!("{base}{ALERTS_PAGE}")),
        ("Approvals page", format!("{base}/portal/approvals")),
    ];
    plain_mail(
        format!("Weekly digest of {}", d.generated_at.format("%Y-%m-%d")),
        "Your weekly Eligo digest".into(),
        paragraphs,
        facts,
        public_url,
        "You receive this mail because you are a Global Administrator or Privileged Role Administrator (active or eligible) in Eligo.",
    )
}
