//! What people type and read: durations (`1h`, `2h30m`, `PT1H`), times, tickets, and tables.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use eligo_core::duration::{format_duration, parse_duration};
use serde_json::{Value, json};

/// `1h`, `30m`, `2h30m`, `90 minutes`, `1.5 hours`, `1d` or an ISO 8601 duration (`PT1H`),
/// as ISO 8601 (`eligo_core::duration_words` reads them, as the portal does).
pub fn duration(text: &str) -> anyhow::Result<String> {
    let d = eligo_core::duration_words::parse(text).map_err(|_| {
        anyhow::anyhow!(
            "'{text}' is not a duration: write e.g. 1h, 90m, 2h30m, \"90 minutes\", 1d or ISO 8601 like PT1H"
        )
    })?;
    Ok(format_duration(d))
}

/// A duration for people: `PT2H30M` -> `2h30m`, `P365D` -> `365d`.
pub fn human_duration(iso: &str) -> String {
    let Ok(d) = parse_duration(iso) else {
        return iso.to_string();
    };
    let mut secs = d.num_seconds();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= len {
            out.push_str(&format!("{}{unit}", secs / len));
            secs %= len;
        }
    }
    out
}

/// An RFC 3339 time given on the command line, as the server wants it (UTC).
pub fn instant(text: &str, what: &str) -> anyhow::Result<String> {
    let t = DateTime::parse_from_rfc3339(text.trim()).with_context(|| {
        format!("{what} must be an RFC 3339 time, e.g. 2026-05-01T09:00:00Z (got '{text}')")
    })?;
    Ok(t.with_timezone(&Utc).to_rfc3339())
}

/// A time from the server for people: `2026-05-01 09:00 UTC`; null is `permanent`.
pub fn when(v: &Value) -> String {
    match v.as_str() {
        None => "permanent".into(),
        Some(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t
                .with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            Err(_) => s.to_string(),
        },
    }
}

/// `SYSTEM:NUMBER` as Graph's ticketInfo.
pub fn ticket(text: &str) -> anyhow::Result<Value> {
    match text.split_once(':') {
        Some((system, number)) if !system.trim().is_empty() && !number.trim().is_empty() => {
            Ok(json!({ "ticketSystem": system.trim(), "ticketNumber": number.trim() }))
        }
        _ => bail!("--ticket is SYSTEM:NUMBER, e.g. ServiceNow:CHG-4711 (got '{text}')"),
    }
}

/// Left-aligned columns, two spaces apart, with a header; trailing spaces trimmed.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// An id as the tables show it: its first 8 characters (commands take any unique prefix).
pub fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

pub fn print_json(v: &Value) {
    say!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn durations_people_write() {
        assert_eq!(duration("1h").unwrap(), "PT1H");
        assert_eq!(duration("30m").unwrap(), "PT30M");
        assert_eq!(duration("2h30m").unwrap(), "PT2H30M");
        assert_eq!(duration("PT1H").unwrap(), "PT1H");
        assert_eq!(duration("1d").unwrap(), format_duration(TimeDelta::days(1)));
        assert_eq!(duration("90s").unwrap(), "PT1M30S");
        assert_eq!(duration("1.5h").unwrap(), "PT1H30M");
        assert_eq!(duration("90 minutes").unwrap(), "PT1H30M");
        for bad in ["", "h", "1", "1x", "1h1h", "-1h", "0m", "pt1h"] {
            assert!(duration(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(human_duration("PT2H30M"), "2h30m");
        assert_eq!(human_duration("PT8H"), "8h");
    }

    #[test]
    fn tickets_and_tables() {
        assert_eq!(
            ticket("ServiceNow:CHG-4711").unwrap(),
            json!({ "ticketSystem": "ServiceNow", "ticketNumber": "CHG-4711" })
        );
        assert!(ticket("CHG-4711").is_err());
        assert!(ticket(":1").is_err());
        let t = table(
            &["A", "BB"],
            &[vec!["long".into(), "x".into()], vec!["s".into(), "".into()]],
        );
        assert_eq!(t, "A     BB\nlong  x\ns");
    }
}
