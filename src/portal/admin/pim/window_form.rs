//! The fields every administrator's assignment form shares (Add, Edit, Extend and Renew, for
//! roles and for group accesses): when it starts, how it ends, the justification and the ticket.
//! Read into a request's parts or field errors, shown again as typed, and a use case's refusal
//! filed under them. A `datetime-local` field is read in the viewer's zone when the portal's
//! script sent its offset (`data-local-time`), else as UTC; a time the server fills in is
//! written in UTC with `data-utc`, which the script shows in the viewer's zone.

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use eligo_core::activation::Ticket;
use eligo_core::request::{ExpirationInfo, ExpirationType, ScheduleInfo};
use serde::Deserialize;

use super::parse_typed_duration;
use crate::error::ApiError;
use crate::portal::page::FieldErrors;

/// The shared fields as posted.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct WindowFields {
    pub start: Option<String>,
    pub start_offset: Option<String>,
    pub end_type: Option<String>,
    pub duration: Option<String>,
    pub end_date: Option<String>,
    pub end_date_offset: Option<String>,
    pub justification: Option<String>,
    pub ticket_number: Option<String>,
    pub ticket_system: Option<String>,
}

/// A `datetime-local` field's text, and the UTC moment it stands for when the server knows it
/// (the script then shows that moment in the viewer's zone).
#[derive(Debug, Clone, Default)]
pub struct LocalInput {
    pub text: String,
    pub utc: Option<String>,
}

impl LocalInput {
    pub fn of(t: DateTime<Utc>) -> Self {
        Self {
            text: t.format("%Y-%m-%dT%H:%M").to_string(),
            utc: Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }

    fn typed(raw: &Option<String>, offset: &Option<String>) -> Self {
        let raw = raw.as_deref().unwrap_or("").trim();
        match parse_local_time(raw, offset.as_deref()) {
            Some(t) => Self::of(t),
            None => Self {
                text: raw.to_string(),
                utc: None,
            },
        }
    }
}

/// What the form shows.
#[derive(Debug, Clone)]
pub struct WindowValues {
    pub start: LocalInput,
    /// `permanent`, `duration` or `date`.
    pub end_type: String,
    pub duration: String,
    pub end_date: LocalInput,
    pub justification: String,
    pub ticket_number: String,
    pub ticket_system: String,
}

impl Default for WindowValues {
    fn default() -> Self {
        Self {
            start: LocalInput::default(),
            end_type: "duration".into(),
            duration: String::new(),
            end_date: LocalInput::default(),
            justification: String::new(),
            ticket_number: String::new(),
            ticket_system: String::new(),
        }
    }
}

/// What the fields ask for, once read.
pub struct Window {
    pub schedule_info: ScheduleInfo,
    pub justification: Option<String>,
    pub ticket: Option<Ticket>,
}

fn text(v: &Option<String>) -> String {
    v.as_deref().unwrap_or("").to_string()
}

impl WindowFields {
    /// The fields as typed, to show again.
    pub fn values(&self) -> WindowValues {
        WindowValues {
            start: LocalInput::typed(&self.start, &self.start_offset),
            end_type: self.end_type.clone().unwrap_or_else(|| "duration".into()),
            duration: text(&self.duration),
            end_date: LocalInput::typed(&self.end_date, &self.end_date_offset),
            justification: text(&self.justification),
            ticket_number: text(&self.ticket_number),
            ticket_system: text(&self.ticket_system),
        }
    }

    /// Reads the fields, filing what cannot be read under its field. `with_start`: the form
    /// has a start field (an extension starts nothing).
    pub fn read(&self, with_start: bool, errors: &mut FieldErrors) -> Option<Window> {
        let raw_start = self.start.as_deref().unwrap_or("").trim();
        let start = if !with_start || raw_start.is_empty() {
            None
        } else {
            match parse_local_time(raw_start, self.start_offset.as_deref()) {
                Some(t) => Some(t),
                None => {
                    errors.add(
                        "start",
                        "Write the start as a date and time, e.g. 2026-12-01T09:00.",
                    );
                    None
                }
            }
        };
        let expiration = match self.end_type.as_deref().unwrap_or("duration") {
            "permanent" => Some(ExpirationInfo {
                kind: ExpirationType::NoExpiration,
                end_date_time: None,
                duration: None,
            }),
            "duration" => match parse_typed_duration(self.duration.as_deref().unwrap_or("")) {
                Ok(d) => Some(ExpirationInfo {
                    kind: ExpirationType::AfterDuration,
                    end_date_time: None,
                    duration: Some(d),
                }),
                Err(m) => {
                    errors.add("duration", m);
                    None
                }
            },
            "date" => match parse_local_time(
                self.end_date.as_deref().unwrap_or(""),
                self.end_date_offset.as_deref(),
            ) {
                Some(t) => Some(ExpirationInfo {
                    kind: ExpirationType::AfterDateTime,
                    end_date_time: Some(t),
                    duration: None,
                }),
                None => {
                    errors.add(
                        "end_date",
                        "Write the end as a date and time, e.g. 2026-12-31T18:00.",
                    );
                    None
                }
            },
            _ => {
                errors.add("end_type", "Choose how the assignment ends.");
                None
            }
        };
        let number = self.ticket_number.as_deref().unwrap_or("").trim();
        let system = self.ticket_system.as_deref().unwrap_or("").trim();
        let ticket = (!number.is_empty() || !system.is_empty()).then(|| Ticket {
            number: number.to_string(),
            system: system.to_string(),
        });
        let expiration = expiration?;
        if !errors.is_empty() {
            return None;
        }
        Some(Window {
            schedule_info: ScheduleInfo {
                start_date_time: start,
                expiration,
            },
            justification: self.justification.clone().filter(|j| !j.trim().is_empty()),
            ticket,
        })
    }
}

/// Files a use case's refusal of the form under its fields; `end_type` is how the form asked
/// the assignment to end (where an expiration refusal belongs). A fresh second factor missing
/// is said in words. Returns the status the page answers with.
pub fn absorb(e: &ApiError, errors: &mut FieldErrors, end_type: &str) -> StatusCode {
    let end_field = match end_type {
        "permanent" => "end_type",
        "date" => "end_date",
        _ => "duration",
    };
    errors.absorb(e, |target| match target {
        "justification" => Some("justification"),
        "ticketInfo" | "ticketInfo.ticketNumber" => Some("ticket_number"),
        "ticketInfo.ticketSystem" => Some("ticket_system"),
        "scheduleInfo.startDateTime" => Some("start"),
        "directoryScopeId" => Some("scope"),
        t if t.starts_with("scheduleInfo.expiration") => Some(end_field),
        _ => None,
    });
    if e.details.iter().any(|d| d.code == "MfaRule") || e.code == "MfaRequired" {
        errors.add_general(
            "This needs a recent second factor: verify under Security info (step-up), then submit again.",
        );
    }
    if e.status() == StatusCode::BAD_REQUEST {
        StatusCode::BAD_REQUEST
    } else {
        e.status()
    }
}

/// A `datetime-local` value in the viewer's zone (`offset` minutes east of UTC, as the browser
/// reported it for that moment), or in UTC without one. An offset beyond any real zone (±14 h)
/// is refused rather than guessed.
pub fn parse_local_time(raw: &str, offset: Option<&str>) -> Option<DateTime<Utc>> {
    let offset = match offset.map(str::trim).filter(|o| !o.is_empty()) {
        None => 0,
        Some(o) => o.parse::<i64>().ok().filter(|m| m.abs() <= 14 * 60)?,
    };
    let raw = raw.trim();
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
        .map(|n| n.and_utc() - TimeDelta::minutes(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn times_are_read_in_the_viewers_zone() {
        assert_eq!(
            parse_local_time("2026-11-23T09:30", None),
            Some(utc("2026-11-23T09:30:00Z"))
        );
        assert_eq!(
            parse_local_time("2026-11-23T09:30", Some("60")),
            Some(utc("2026-11-23T08:30:00Z"))
        );
        assert_eq!(parse_local_time("2026-11-23T09:30", Some("900")), None);
        assert_eq!(parse_local_time("soon", None), None);
        // Shown again in UTC, with the moment for the script.
        let shown = LocalInput::typed(&Some("2026-11-23T09:30".into()), &Some("-300".into()));
        assert_eq!(shown.text, "2026-11-23T14:30");
        assert_eq!(shown.utc.as_deref(), Some("2026-11-23T14:30:00Z"));
        let bad = LocalInput::typed(&Some("next week".into()), &None);
        assert_eq!((bad.text.as_str(), bad.utc), ("next week", None));
    }

    #[test]
    fn every_unreadable_field_is_named() {
        let fields = WindowFields {
            start: Some("tomorrow".into()),
            end_type: Some("date".into()),
            end_date: Some("".into()),
            ..Default::default()
        };
        let mut errors = FieldErrors::new();
        assert!(fields.read(true, &mut errors).is_none());
        assert!(errors.of("start").is_some());
        assert!(errors.of("end_date").is_some());
        let fields = WindowFields {
            end_type: Some("duration".into()),
            duration: Some("30 days".into()),
            justification: Some("  ".into()),
            ..Default::default()
        };
        let mut errors = FieldErrors::new();
        let w = fields.read(true, &mut errors).unwrap();
        assert_eq!(
            w.schedule_info.expiration.duration,
            Some(TimeDelta::days(30))
        );
        assert_eq!(w.justification, None);
    }
}
