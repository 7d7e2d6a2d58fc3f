//! The Audit page's filters: what the form sends (every field text, so a malformed value is a
//! field error and never a 400 page), turned into the store's `AuditQuery` plus the result
//! filter the store does not index (applied while reading). The same filters drive the page,
//! its pager and the export.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use eligo_core::audit::{AuditEntry, Category, Outcome};
use eligo_store::{AuditQuery, Page, Tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::portal::page::{FieldErrors, PageResult};

/// Every category, in the order the `<select>` offers them.
pub const CATEGORIES: [Category; 8] = [
    Category::RoleManagement,
    Category::GroupManagement,
    Category::UserManagement,
    Category::ApplicationManagement,
    Category::Policy,
    Category::Authentication,
    Category::EntitlementManagement,
    Category::AccessReviews,
];

/// The filters as typed (kept as they are to show them again).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "is_blank")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub to: Option<String>,
    /// The viewer's zone at `from` and `to`, minutes east of UTC (the script fills it from the
    /// browser; without it the times are UTC).
    #[serde(default, skip_serializing_if = "is_blank")]
    pub from_offset: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub to_offset: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub activity: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    pub result: Option<String>,
}

fn is_blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Filters {
    /// The value of a field for its input (`value="{{ ... }}"`).
    pub fn value(&self, field: &str) -> &str {
        let v = match field {
            "from" => &self.from,
            "to" => &self.to,
            "from_offset" => &self.from_offset,
            "to_offset" => &self.to_offset,
            "actor" => &self.actor,
            "target" => &self.target,
            "category" => &self.category,
            "activity" => &self.activity,
            "result" => &self.result,
            _ => return "",
        };
        v.as_deref().unwrap_or("")
    }

    /// `from=...&category=...` with the filters in use (for the pager and export links).
    pub fn query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.query_string().is_empty()
    }
}

/// The filters, checked: what the store selects, and the result the rows must have.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub query: AuditQuery,
    pub result: Option<Outcome>,
}

impl Selection {
    fn keeps(&self, e: &AuditEntry) -> bool {
        self.result.is_none_or(|r| e.result == r)
    }
}

/// A `datetime-local` value (`2026-11-22T10:00`, seconds optional) read in the zone `offset`
/// minutes east of UTC (none: UTC), or an RFC 3339 time (which names its own offset). The bool
/// says whether seconds were given (a minute-precise "to" covers its whole minute).
fn parse_time(s: &str, offset: Option<&str>) -> Option<(DateTime<Utc>, bool)> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some((t.with_timezone(&Utc), true));
    }
    let offset = match offset.map(str::trim).filter(|o| !o.is_empty()) {
        None => 0,
        Some(o) => o.parse::<i64>().ok().filter(|m| m.abs() <= 14 * 60)?,
    };
    for (format, seconds) in [
        ("%Y-%m-%dT%H:%M", false),
        ("%Y-%m-%dT%H:%M:%S", true),
        ("%Y-%m-%dT%H:%M:%S%.f", true),
        ("%Y-%m-%d %H:%M", false),
        ("%Y-%m-%d %H:%M:%S", true),
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some((t.and_utc() - TimeDelta::minutes(offset), seconds));
        }
    }
    None
}

const TIME_HINT: &str = "Give a date and time such as 2026-11-22T10:00.";

/// Checks the filters; every problem goes to its field. Names are matched by the store against
/// what each entry recorded (an indexed prefix), so nothing is looked up here.
pub fn select(f: &Filters, errors: &mut FieldErrors) -> Selection {
    let mut s = Selection::default();
    if let Some(from) = text(&f.from) {
        match parse_time(from, f.from_offset.as_deref()) {
            Some((t, _)) => s.query.since = Some(t),
            None => errors.add(
                "from",
                format!("“From” is not a date and time. {TIME_HINT}"),
            ),
        }
    }
    if let Some(to) = text(&f.to) {
        match parse_time(to, f.to_offset.as_deref()) {
            Some((t, seconds)) => {
                let end = if seconds {
                    t
                } else {
                    t + TimeDelta::seconds(60) - TimeDelta::microseconds(1)
                };
                if s.query.since.is_some_and(|since| end < since) {
                    errors.add("to", "“To” is before “From”: choose a later time.");
                }
                s.query.until = Some(end);
            }
            None => errors.add("to", format!("“To” is not a date and time. {TIME_HINT}")),
        }
    }
    if let Some(c) = text(&f.category) {
        match Category::parse(c) {
            Some(c) => s.query.category = Some(c.as_str().to_string()),
            None => errors.add("category", "Choose one of the categories."),
        }
    }
    if let Some(a) = text(&f.activity) {
        // A part of the activity, any case: "role setting" finds "Update role setting in PIM".
        s.query.activity_contains = Some(a.to_string());
    }
    if let Some(r) = text(&f.result) {
        match r.to_ascii_lowercase().as_str() {
            "success" => s.result = Some(Outcome::Success),
            "failure" => s.result = Some(Outcome::Failure),
            _ => errors.add("result", "Choose success or failure."),
        }
    }
    // An id is matched exactly; anything else is the start of a name or UPN as the entry
    // recorded it (so someone renamed or deleted since is still found by what they were).
    if let Some(actor) = text(&f.actor) {
        match Uuid::parse_str(actor) {
            Ok(id) => s.query.initiator_id = Some(id),
            Err(_) => s.query.initiator_prefix = Some(actor.to_string()),
        }
    }
    if let Some(target) = text(&f.target) {
        match Uuid::parse_str(target) {
            Ok(id) => s.query.target_id = Some(id.to_string()),
            Err(_) => s.query.target_prefix = Some(target.to_string()),
        }
    }
    s
}

/// How many rows the store hands over at a time when the result filter reads through.
const BATCH: i64 = 1_000;

/// Entries `skip..skip + take` of the selection, newest first, and whether more follow.
pub async fn fetch(
    tx: &mut dyn Tx,
    s: &Selection,
    skip: usize,
    take: usize,
) -> PageResult<(Vec<AuditEntry>, bool)> {
    if s.result.is_none() {
        let mut rows = tx
            .list_audit(
                &s.query,
                Page {
                    top: take as i64 + 1,
                    skip: skip as i64,
                },
            )
            .await?;
        let more = rows.len() > take;
        rows.truncate(take);
        return Ok((rows, more));
    }
    // The store does not index the result: read through in batches, keeping matches.
    let mut kept = Vec::new();
    let mut offset = 0;
    loop {
        let batch = tx
            .list_audit(
                &s.query,
                Page {
                    top: BATCH,
                    skip: offset,
                },
            )
            .await?;
        let n = batch.len() as i64;
        kept.extend(batch.into_iter().filter(|e| s.keeps(e)));
        offset += n;
        if kept.len() > skip + take || n < BATCH {
            break;
        }
    }
    let more = kept.len() > skip + take;
    let rows = kept.into_iter().skip(skip).take(take).collect();
    Ok((rows, more))
}

/// Every entry of the selection, newest first, at most `limit`.
pub async fn fetch_all(
    tx: &mut dyn Tx,
    s: &Selection,
    limit: usize,
) -> PageResult<Vec<AuditEntry>> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let batch = tx
            .list_audit(
                &s.query,
                Page {
                    top: BATCH,
                    skip: offset,
                },
            )
            .await?;
        let n = batch.len() as i64;
        out.extend(batch.into_iter().filter(|e| s.keeps(e)));
        offset += n;
        if out.len() >= limit || n < BATCH {
            break;
        }
    }
    out.truncate(limit);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_utc() {
        let (t, s) = parse_time("2026-11-22T10:05", None).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T10:05:00+00:00");
        assert!(!s);
        assert!(parse_time("2026-11-22T10:05:30", None).unwrap().1);
        assert!(parse_time("2026-11-22T10:05:00Z", None).is_some());
        assert!(parse_time("yesterday", None).is_none());
        // Typed in Berlin in winter (UTC+1): 10:05 there is 09:05 UTC; an offset beyond any
        // zone's is refused; an RFC 3339 time keeps its own offset.
        let (berlin, _) = parse_time("2026-11-22T10:05", Some("60")).unwrap();
        assert_eq!(berlin, parse_time("2026-11-22T09:05", None).unwrap().0);
        assert!(parse_time("2026-11-22T10:05", Some("9999")).is_none());
        assert_eq!(
            parse_time("2026-11-22T10:05:00Z", Some("60")).unwrap().0,
            parse_time("2026-11-22T10:05:00", None).unwrap().0
        );
        assert!(parse_time("2026-13-40T10:05", None).is_none());
    }

    #[test]
    fn the_query_string_keeps_only_filters_in_use() {
        let f = Filters {
            category: Some("Policy".into()),
            actor: Some("  ".into()),
            activity: Some("Add member to role".into()),
            ..Default::default()
        };
        assert_eq!(
            f.query_string(),
            "category=Policy&activity=Add+member+to+role"
        );
    }
}
