//! When assignments made under a policy end (Graph's `expirationPattern`).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::read::{Fields, duration, graph_enum};

/// The longest assignment a policy may give: ten years, as role settings.
pub fn max_duration() -> TimeDelta {
    TimeDelta::days(3650)
}

graph_enum! {
    pub enum ExpirationType {
        NotSpecified = "notSpecified",
        NoExpiration = "noExpiration",
        AfterDateTime = "afterDateTime",
        AfterDuration = "afterDuration",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expiration {
    #[serde(rename = "type")]
    pub kind: ExpirationType,
    pub end_date_time: Option<DateTime<Utc>>,
    #[serde(with = "crate::policy::iso_duration_opt")]
    pub duration: Option<TimeDelta>,
}

impl Default for Expiration {
    /// Graph's default for a new policy: no end.
    fn default() -> Self {
        Self {
            kind: ExpirationType::NoExpiration,
            end_date_time: None,
            duration: None,
        }
    }
}

impl Expiration {
    /// Reads `expiration` from a policy body: each type with the field it needs, a duration
    /// above zero and within ten years, an end in the future. Never clamped.
    pub fn read(f: &mut Fields, now: DateTime<Utc>) -> Expiration {
        let Some(mut e) = f.sub("expiration") else {
            return Expiration::default();
        };
        e.only(&["type", "endDateTime", "duration"]);
        let kind = e.opt::<ExpirationType>("type");
        let end_date_time = e.opt::<DateTime<Utc>>("endDateTime");
        let duration = duration(&mut e, "duration", max_duration());
        let kind = kind.unwrap_or(match (end_date_time, duration) {
            (Some(_), _) => ExpirationType::AfterDateTime,
            (_, Some(_)) => ExpirationType::AfterDuration,
            _ => ExpirationType::NoExpiration,
        });
        match kind {
            ExpirationType::AfterDateTime if end_date_time.is_none() && !e.has("endDateTime") => {
                e.push(
                    "MissingField",
                    "endDateTime",
                    "afterDateTime needs endDateTime",
                );
            }
            ExpirationType::AfterDateTime if end_date_time.is_some_and(|t| t <= now) => {
                e.push("InvalidEndDateTime", "endDateTime", "must be in the future");
            }
            ExpirationType::AfterDuration if duration.is_none() && !e.has("duration") => {
                e.push("MissingField", "duration", "afterDuration needs duration");
            }
            _ => {}
        }
        let out = Expiration {
            kind,
            end_date_time: end_date_time.filter(|_| kind == ExpirationType::AfterDateTime),
            duration: duration.filter(|_| kind == ExpirationType::AfterDuration),
        };
        f.absorb(e);
        out
    }

    /// The longest an assignment may last from `start`, if bounded.
    pub fn end_from(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.kind {
            ExpirationType::AfterDateTime => self.end_date_time,
            ExpirationType::AfterDuration => self.duration.map(|d| start + d),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn read(v: Value) -> (Expiration, Vec<String>) {
        let body = json!({ "expiration": v });
        let mut f = Fields::of(&body, "");
        let e = Expiration::read(&mut f, DateTime::<Utc>::UNIX_EPOCH);
        (
            e,
            f.problems
                .iter()
                .map(|p| format!("{} {}", p.code, p.target))
                .collect(),
        )
    }

    #[test]
    fn every_type_with_what_it_needs() {
        let (e, p) = read(json!({"type": "AfterDuration", "duration": "P30D"}));
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(e.duration, Some(TimeDelta::days(30)));
        assert_eq!(serde_json::to_value(&e).unwrap()["duration"], "P30D");
        assert_eq!(
            read(json!({"type": "afterDuration"})).1,
            ["MissingField expiration.duration"]
        );
        assert_eq!(
            read(json!({"type": "afterDuration", "duration": "-P1D"})).1,
            ["InvalidDuration expiration.duration"]
        );
        assert_eq!(
            read(json!({"type": "afterDuration", "duration": "P4000D"})).1,
            ["InvalidDuration expiration.duration"]
        );
        assert_eq!(
            read(json!({"type": "afterDateTime", "endDateTime": "1960-01-01T00:00:00Z"})).1,
            ["InvalidEndDateTime expiration.endDateTime"]
        );
        assert_eq!(
            read(json!({"type": "never"})).1,
            ["InvalidValue expiration.type"]
        );
        assert_eq!(
            read(json!({"type": "noExpiration"})).0.kind,
            ExpirationType::NoExpiration
        );
    }
}
