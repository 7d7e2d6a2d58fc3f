//! Durations as people write and read them: "3h", "90 minutes", "1 hour 30 minutes", "2d",
//! "1.5 hours", or Graph's ISO 8601 (`PT1H30M`); and back as words ("1 hour 30 minutes"). The
//! portal's duration field and the CLI's `--duration` read them; messages and pages say them.
//!
//! Strict where it matters: every number needs its unit (a bare "90" could be minutes or
//! hours), a unit appears once, and the total is positive and at most a number of seconds that
//! fits. Whether a length is allowed is the policy's business, not this module's.

use chrono::TimeDelta;

/// Why a text is not a duration, said to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a duration: write it like 90 minutes, 3h, 1h30m or 2 days")]
pub struct NotADuration {
    pub input: String,
}

const UNITS: &[(&[&str], i64)] = &[
    (&["w", "wk", "wks", "week", "weeks"], 7 * 86_400),
    (&["d", "day", "days"], 86_400),
    (&["h", "hr", "hrs", "hour", "hours"], 3_600),
    (&["m", "min", "mins", "minute", "minutes"], 60),
    (&["s", "sec", "secs", "second", "seconds"], 1),
];

/// Reads a duration in words or ISO 8601.
pub fn parse(text: &str) -> Result<TimeDelta, NotADuration> {
    let fail = || NotADuration {
        input: text.to_string(),
    };
    let trimmed = text.trim();
    if trimmed.starts_with('P') {
        return crate::duration::parse_duration(trimmed)
            .ok()
            .filter(|d| *d > TimeDelta::zero())
            .ok_or_else(fail);
    }
    let lower = trimmed.to_lowercase().replace(',', " ");
    let mut rest = lower.as_str();
    let mut seen = Vec::new();
    let mut total_millis: i128 = 0;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("and ") {
            rest = after.trim_start();
        }
        if rest.is_empty() {
            break;
        }
        let number_len = rest
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
            .count();
        let (number, after) = rest.split_at(number_len);
        let after = after.trim_start();
        let unit_len = after
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_alphabetic())
            .count();
        let (unit, after) = after.split_at(unit_len);
        if number.is_empty() || unit.is_empty() || number.matches('.').count() > 1 {
            return Err(fail());
        }
        let seconds = UNITS
            .iter()
            .find(|(names, _)| names.contains(&unit))
            .map(|(_, s)| *s)
            .ok_or_else(fail)?;
        if seen.contains(&seconds) {
            return Err(fail());
        }
        seen.push(seconds);
        let value: f64 = number.parse().map_err(|_| fail())?;
        if !value.is_finite() || value > 1e9 {
            return Err(fail());
        }
        // Millisecond precision is plenty for what people type; rounding, not truncation.
        total_millis += (value * seconds as f64 * 1000.0).round() as i128;
        rest = after;
    }
    if seen.is_empty() || total_millis <= 0 {
        return Err(fail());
    }
    let millis = i64::try_from(total_millis).map_err(|_| fail())?;
    TimeDelta::try_milliseconds(millis).ok_or_else(fail)
}

/// A duration in words: "5 minutes", "1 hour 30 minutes", "2 days"; under a minute, seconds.
pub fn in_words(d: TimeDelta) -> String {
    let total = d.num_seconds().max(0);
    if total < 60 {
        return match total {
            0 => "less than a second".into(),
            1 => "1 second".into(),
            n => format!("{n} seconds"),
        };
    }
    let minutes = total / 60;
    let (days, hours, minutes) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    let unit = |n: i64, one: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {one}s")),
    };
    [
        unit(days, "day"),
        unit(hours, "hour"),
        unit(minutes, "minute"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: i64) -> TimeDelta {
        TimeDelta::minutes(n)
    }

    #[test]
    fn reads_what_people_type() {
        for (text, expect) in [
            ("3h", m(180)),
            ("3 h", m(180)),
            ("90 minutes", m(90)),
            ("90min", m(90)),
            ("1h30m", m(90)),
            ("1 hour 30 minutes", m(90)),
            ("1 hour, 30 minutes", m(90)),
            ("1 hour and 30 minutes", m(90)),
            ("1.5 hours", m(90)),
            ("2d", m(2 * 1440)),
            ("1 week", m(7 * 1440)),
            ("  45 Mins ", m(45)),
            ("PT1H", m(60)),
            ("P1DT2H", m(26 * 60)),
            ("30s", TimeDelta::seconds(30)),
        ] {
            assert_eq!(parse(text), Ok(expect), "{text}");
        }
    }

    #[test]
    fn refuses_what_could_be_misread() {
        for text in [
            "",
            "90",
            "h",
            "1 fortnight",
            "1h 2h",
            "0m",
            "0 hours",
            "-1h",
            "1..5h",
            "1h30",
            "PT0S",
            "pt1h",
            "1e3h",
            "99999999999h",
        ] {
            assert!(parse(text).is_err(), "{text:?} must be refused");
        }
    }

    #[test]
    fn says_durations_in_words() {
        assert_eq!(in_words(m(5)), "5 minutes");
        assert_eq!(in_words(m(60)), "1 hour");
        assert_eq!(in_words(m(90)), "1 hour 30 minutes");
        assert_eq!(in_words(m(2 * 1440 + 1)), "2 days 1 minute");
        assert_eq!(in_words(TimeDelta::seconds(30)), "30 seconds");
    }

    #[test]
    fn words_read_back_to_the_same_length() {
        for minutes in [1, 5, 59, 60, 61, 90, 1439, 1440, 10_000] {
            assert_eq!(parse(&in_words(m(minutes))), Ok(m(minutes)));
        }
    }
}
