//! How times and ends are written in audit values (`modifiedProperties`), so every use case
//! writes them alike.

use chrono::{DateTime, Utc};

/// A time as audit values write it (RFC 3339, seconds, UTC).
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An end as audit values write it: its time, or "permanent".
pub fn end_text(end: Option<DateTime<Utc>>) -> String {
    end.map(time_text).unwrap_or_else(|| "permanent".into())
}
