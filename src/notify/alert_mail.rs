//! The mail announcing that a PIM alert scan raised incidents: which alert, how severe, how many
//! incidents it has open now and which are new, what the alert means and what to do about it
//! (the definition's own texts), and the link to the portal's Alerts page.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::notify::templates::{RenderedMail, format_time, plain_mail};

/// Where the portal lists the alerts; the mails link to it.
pub const ALERTS_PAGE: &str = "/portal/admin/alerts";

/// What one scan raised of one alert, as mailed (kept whole in the outbox job so the mail says
/// what was true when the incidents were raised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRaised {
    /// The first raised incident's id: the mail's occasion and Message-ID seed.
    pub id: Uuid,
    pub alert_id: String,
    pub alert_name: String,
    pub display_name: String,
    pub severity: String,
    pub description: String,
    pub mitigation_steps: String,
    /// The alert's unresolved incidents after the scan.
    pub open_incidents: usize,
    /// One line per incident this scan raised (`pim_alerts::describe`).
    pub raised: Vec<String>,
    pub raised_at: DateTime<Utc>,
}

pub fn render(n: &AlertRaised, public_url: &str) -> RenderedMail {
    let page = format!("{}{ALERTS_PAGE}", public_url.trim_end_matches('/'));
    let new = n.raised.len();
    let subject = format!(
        "PIM alert: {} ({} new incident{})",
        n.display_name,
        new,
        if new == 1 { "" } else { "s" }
    );
    let mut paragraphs = vec![
        format!(
            "A PIM alert scan at {} raised {new} new incident{} of the {} severity alert \"{}\"; it has {} open incident{} now.",
            format_time(n.raised_at),
            if new == 1 { "" } else { "s" },
            n.severity,
            n.display_name,
            n.open_incidents,
            if n.open_incidents == 1 { "" } else { "s" },
        ),
        format!("What it means: {}", n.description),
        format!("What to do: {}", n.mitigation_steps),
        format!("Review and remediate it on the Alerts page: {page}"),
    ];
    paragraphs.push("New incidents:".into());
    for line in &n.raised {
        paragraphs.push(format!("- {line}"));
    }
    plain_mail(
        subject,
        n.display_name.clone(),
        paragraphs,
        vec![
            ("Alert", n.alert_name.clone()),
            ("Severity", n.severity.clone()),
            ("Open incidents", n.open_incidents.to_string()),
            ("Alerts page", page.clone()),
        ],
        public_url,
        "You receive this mail because you are a Global Administrator or Privileged Role Administrator (active or eligible) in Eligo.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_the_alert_its_counts_its_meaning_and_links_the_page() {
        let n = AlertRaised {
            id: Uuid::nil(),
            alert_id: "DirectoryRole_x_TooManyGlobalAdminsAssignedToTenantAlert".into(),
            alert_name: "TooManyGlobalAdminsAssignedToTenantAlert".into(),
            display_name: "There are too many global administrators".into(),
            severity: "low".into(),
            description: "The number of Global Administrators reached the thresholds.".into(),
            mitigation_steps: "Make them eligible.".into(),
            open_incidents: 6,
            raised: vec!["Ada <a@b>".into(), "Bo".into()],
            raised_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        let m = render(&n, "https://eligo.example/");
        assert_eq!(
            m.subject,
            "Eligo: PIM alert: There are too many global administrators (2 new incidents)"
        );
        assert!(m.text.contains("it has 6 open incidents now"), "{}", m.text);
        assert!(m.text.contains("What it means: The number of Global"));
        assert!(m.text.contains("What to do: Make them eligible."));
        assert!(m.text.contains("https://eligo.example/portal/admin/alerts"));
        assert!(m.text.contains("- Bo"));
        // Names from the directory are escaped in the HTML part.
        assert!(m.html.contains("Ada &lt;a@b&gt;") || m.html.contains("Ada &#60;a@b&#62;"));
    }
}
