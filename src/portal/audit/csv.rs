//! The audit export as CSV (RFC 4180): every cell quoted, quotes doubled, and a cell that a
//! spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return) prefixed with `'`, so an activity or a name typed by someone cannot become code.

use eligo_core::audit::{AuditEntry, Outcome};

use crate::portal::audit::{initiator_text, target_texts};

pub const HEADER: [&str; 11] = [
    "activityDateTime",
    "sequence",
    "id",
    "category",
    "activityDisplayName",
    "result",
    "initiatedBy",
    "initiatedById",
    "targetResources",
    "additionalDetails",
    "hash",
];

/// One cell, quoted and safe to open in a spreadsheet.
pub fn cell(value: &str) -> String {
    let risky = value
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    let value = if risky {
        format!("'{value}")
    } else {
        value.to_string()
    };
    format!("\"{}\"", value.replace('"', "\"\""))
}

fn row(cells: &[String]) -> String {
    let mut line = cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

pub fn render(entries: &[AuditEntry]) -> String {
    let mut out = row(&HEADER.map(String::from));
    for e in entries {
        out.push_str(&row(&[
            e.activity_date_time
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            e.sequence.to_string(),
            e.id.to_string(),
            e.category.as_str().to_string(),
            e.activity_display_name.clone(),
            match e.result {
                Outcome::Success => "success".to_string(),
                Outcome::Failure => "failure".to_string(),
            },
            initiator_text(&e.initiated_by),
            e.initiated_by
                .id()
                .map(|i| i.to_string())
                .unwrap_or_default(),
            target_texts(e).join("; "),
            e.additional_details
                .iter()
                .map(|d| format!("{}={}", d.key, d.value))
                .collect::<Vec<_>>()
                .join("; "),
            e.hash.clone(),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "\"plain\"");
        assert_eq!(cell("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for risky in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(cell(risky).starts_with("\"'"), "{risky}");
        }
        assert_eq!(cell("a\nb"), "\"a\nb\"");
        assert_eq!(cell(""), "\"\"");
    }
}
