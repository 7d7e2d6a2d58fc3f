//! ISO 8601 durations as Microsoft Graph writes them (`PT8H`, `P15D`, `P1DT2H`, `PT1.5S`).
//!
//! Graph carries activation lengths, eligibility windows and policy limits as these strings, so
//! the server must read what clients send and write back a single canonical form for what it
//! stores. Parsing is strict on purpose: a duration that is silently misread is a grant that
//! lasts longer than anyone approved.

use chrono::TimeDelta;

/// A string that is not a duration this module accepts, with the reason it was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid ISO 8601 duration '{input}': {reason}")]
pub struct DurationError {
    pub input: String,
    pub reason: String,
}

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

// Calendar units have no fixed length in ISO 8601, but a policy limit has to mean the same
// thing on every day it is checked, so they are pinned here: Y = 365 days, M (before T) =
// 30 days, W = 7 days. `format_duration` never writes Y or M, so what the server echoes back
// states the exact length it enforces.
const DATE_UNITS: &[(char, i64)] = &[
    ('Y', 365 * SECONDS_PER_DAY),
    ('M', 30 * SECONDS_PER_DAY),
    ('W', 7 * SECONDS_PER_DAY),
    ('D', SECONDS_PER_DAY),
];
const TIME_UNITS: &[(char, i64)] = &[('H', 3_600), ('M', 60), ('S', 1)];

// Nine digits is nanosecond precision for seconds; more would only pretend to be exact.
const MAX_FRACTION_DIGITS: usize = 9;

/// Parses an ISO 8601 duration such as `PT30M`, `P1DT2H` or `PT1.5S` into a [`TimeDelta`].
///
/// Only the last component may carry a fraction (`.` or `,`); a fraction finer than a
/// nanosecond is truncated. Lowercase designators, signs and empty components are refused.
pub fn parse_duration(s: &str) -> Result<TimeDelta, DurationError> {
    let fail = |reason: &str| DurationError {
        input: s.to_string(),
        reason: reason.to_string(),
    };
    if s.is_empty() {
        return Err(fail("empty string"));
    }
    if s.starts_with('-') {
        return Err(fail("negative durations are not supported"));
    }
    if let Some(python) = parse_python_timedelta(s) {
        return python.ok_or_else(|| fail("exceeds the largest representable duration"));
    }
    if s.chars().any(|c| c.is_ascii_lowercase()) {
        return Err(fail(
            "designators must be uppercase, as Graph writes them (e.g. 'PT8H', not 'pt8h')",
        ));
    }
    let Some(rest) = s.strip_prefix('P') else {
        return Err(fail("must start with 'P'"));
    };
    if rest.is_empty() {
        return Err(fail("'P' must be followed by at least one component"));
    }
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    if time == Some("") {
        return Err(fail("'T' must be followed by at least one time component"));
    }

    let mut components = parse_components(date, DATE_UNITS, Part::Date).map_err(|r| fail(&r))?;
    if let Some(time) = time {
        components.extend(parse_components(time, TIME_UNITS, Part::Time).map_err(|r| fail(&r))?);
    }
    if let Some(pos) = components.iter().position(|c| !c.fraction.is_empty())
        && pos + 1 != components.len()
    {
        return Err(fail("only the last component may have a fraction"));
    }

    let mut total: i128 = 0;
    for c in &components {
        let Ok(whole) = c.whole.parse::<u64>() else {
            return Err(fail(&format!("number '{}' is too large", c.whole)));
        };
        let unit = i128::from(c.unit_seconds) * NANOS_PER_SECOND;
        let mut nanos = i128::from(whole) * unit;
        if !c.fraction.is_empty() {
            // At most nine digits, so both the parse and the product stay far inside i128.
            let digits = c.fraction.parse::<i128>().unwrap_or(0);
            let scale = 10_i128.pow(c.fraction.len() as u32);
            nanos += digits * unit / scale;
        }
        total += nanos;
    }

    let secs = i64::try_from(total / NANOS_PER_SECOND)
        .map_err(|_| fail("exceeds the largest representable duration"))?;
    let subsec = (total % NANOS_PER_SECOND) as u32;
    TimeDelta::new(secs, subsec).ok_or_else(|| fail("exceeds the largest representable duration"))
}

/// Reads the form Microsoft's Graph SDK for Python sends for a `timedelta` property: its
/// serializer (kiota-serialization-json) writes `str(timedelta)`, so `duration=timedelta(days=7)`
/// reaches the server as `7 days, 0:00:00` and `timedelta(hours=1)` as `1:00:00`. The shape is
/// exact and unambiguous (`[N day[s], ]H:MM:SS[.ffffff]`, hours below 24, minutes and seconds
/// two digits below 60), so accepting it misreads nothing. `None`: not this shape at all;
/// `Some(None)`: this shape but too long.
fn parse_python_timedelta(s: &str) -> Option<Option<TimeDelta>> {
    let (days, clock) = match s.split_once(", ") {
        Some((days, clock)) => {
            let n = days
                .strip_suffix(" days")
                .or_else(|| days.strip_suffix(" day"))?;
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (n.parse::<i64>().ok(), clock)
        }
        None => (Some(0), s),
    };
    let (hms, micros) = match clock.split_once('.') {
        Some((hms, f)) if f.len() == 6 && f.bytes().all(|b| b.is_ascii_digit()) => {
            (hms, f.parse::<i64>().ok()?)
        }
        Some(_) => return None,
        None => (clock, 0),
    };
    let mut parts = hms.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |x: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_some() || !digits(h, 1..=2) || !digits(m, 2..=2) || !digits(sec, 2..=2) {
        return None;
    }
    let (h, m, sec): (i64, i64, i64) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let total = days.and_then(|d| {
        d.checked_mul(SECONDS_PER_DAY)?
            .checked_add(h * 3_600 + m * 60 + sec)
    });
    Some(total.and_then(|secs| TimeDelta::new(secs, (micros * 1_000) as u32)))
}

/// Writes a [`TimeDelta`] in the canonical form the server stores and returns: days, then
/// `T` with hours, minutes and seconds, each only when non-zero (`PT8H`, `P1DT2H`,
/// `PT1M30S`, `PT1.5S`). Zero is `PT0S`. Years and months are never written because their
/// length is a convention, not a fact. A negative delta is written with a leading `-`
/// (ISO 8601-2), which `parse_duration` refuses: the server never accepts one as input.
pub fn format_duration(d: TimeDelta) -> String {
    let (sign, d) = if d < TimeDelta::zero() {
        ("-", d.abs())
    } else {
        ("", d)
    };
    let total = d.num_seconds();
    let nanos = d.subsec_nanos();
    if total == 0 && nanos == 0 {
        return "PT0S".to_string();
    }
    let days = total / SECONDS_PER_DAY;
    let hours = total % SECONDS_PER_DAY / 3_600;
    let minutes = total % 3_600 / 60;
    let seconds = total % 60;

    let mut out = format!("{sign}P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if hours > 0 || minutes > 0 || seconds > 0 || nanos > 0 {
        out.push('T');
        if hours > 0 {
            out.push_str(&format!("{hours}H"));
        }
        if minutes > 0 {
            out.push_str(&format!("{minutes}M"));
        }
        if nanos > 0 {
            let fraction = format!("{nanos:09}");
            out.push_str(&format!("{seconds}.{}S", fraction.trim_end_matches('0')));
        } else if seconds > 0 {
            out.push_str(&format!("{seconds}S"));
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Date,
    Time,
}

struct Component<'a> {
    whole: &'a str,
    fraction: &'a str,
    unit_seconds: i64,
}

/// Splits one side of the `T` into number/designator pairs, enforcing the designator order.
fn parse_components<'a>(
    mut s: &'a str,
    units: &[(char, i64)],
    part: Part,
) -> Result<Vec<Component<'a>>, String> {
    let mut out = Vec::new();
    let mut next_allowed = 0;
    while !s.is_empty() {
        let whole_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (whole, after) = s.split_at(whole_len);
        let (fraction, after) = match after.strip_prefix(['.', ',']) {
            Some(frac_rest) => {
                let frac_len = frac_rest.bytes().take_while(u8::is_ascii_digit).count();
                if whole.is_empty() || frac_len == 0 {
                    return Err("a decimal point needs digits on both sides".to_string());
                }
                if frac_len > MAX_FRACTION_DIGITS {
                    return Err(format!(
                        "at most {MAX_FRACTION_DIGITS} fractional digits are supported"
                    ));
                }
                frac_rest.split_at(frac_len)
            }
            None => ("", after),
        };
        let Some(designator) = after.chars().next() else {
            return Err(format!("number '{whole}' has no designator"));
        };
        if whole.is_empty() {
            return Err(match designator {
                'T' => misplaced(designator, part),
                c if c.is_ascii_alphabetic() => format!("designator '{c}' has no number"),
                c => format!("unexpected character '{c}'"),
            });
        }
        let Some(index) = units.iter().position(|(d, _)| *d == designator) else {
            return Err(misplaced(designator, part));
        };
        if index < next_allowed {
            let order: Vec<String> = units.iter().map(|(d, _)| d.to_string()).collect();
            return Err(format!(
                "designator '{designator}' is repeated or out of order (expected order {})",
                order.join(", ")
            ));
        }
        next_allowed = index + 1;
        out.push(Component {
            whole,
            fraction,
            unit_seconds: units[index].1,
        });
        s = &after[designator.len_utf8()..];
    }
    Ok(out)
}

fn misplaced(designator: char, part: Part) -> String {
    match (designator, part) {
        ('T', _) => "'T' may appear only once".to_string(),
        ('H' | 'S', Part::Date) => format!("designator '{designator}' must come after 'T'"),
        ('Y' | 'W' | 'D', Part::Time) => format!("designator '{designator}' must come before 'T'"),
        _ if designator.is_ascii_alphabetic() => format!("unknown designator '{designator}'"),
        _ => format!("unexpected character '{designator}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: i64) -> TimeDelta {
        TimeDelta::try_seconds(s).unwrap()
    }

    fn check(input: &str, expected: TimeDelta) {
        assert_eq!(parse_duration(input), Ok(expected), "parsing {input:?}");
    }

    fn check_err(input: &str, reason_contains: &str) {
        match parse_duration(input) {
            Ok(d) => panic!("{input:?} parsed as {d:?}, expected an error"),
            Err(e) => {
                assert_eq!(e.input, input);
                assert!(
                    e.reason.contains(reason_contains),
                    "{input:?}: reason {:?} lacks {reason_contains:?}",
                    e.reason
                );
            }
        }
    }

    fn check_fmt(d: TimeDelta, expected: &str) {
        assert_eq!(format_duration(d), expected, "formatting {d:?}");
    }

    const DAY: i64 = 86_400;

    #[test]
    fn reads_what_the_python_graph_sdk_writes_for_a_timedelta() {
        assert_eq!(parse_duration("7 days, 0:00:00"), Ok(TimeDelta::days(7)));
        assert_eq!(
            parse_duration("1 day, 2:03:04"),
            Ok(TimeDelta::seconds(93_784))
        );
        assert_eq!(parse_duration("1:00:00"), Ok(TimeDelta::hours(1)));
        assert_eq!(parse_duration("0:30:00"), Ok(TimeDelta::minutes(30)));
        assert_eq!(
            parse_duration("0:00:01.500000"),
            Ok(TimeDelta::milliseconds(1_500))
        );
        for bad in [
            "-1 day, 23:00:00",
            "7 days,0:00:00",
            "24:00:00",
            "1:60:00",
            "1:0:00",
            "1:00",
            "x days, 1:00:00",
            "1:00:00.5",
            " 1:00:00",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("99999999999999999 days, 0:00:00").is_err());
    }

    #[test]
    fn parses_graph_durations() {
        check("PT30M", secs(30 * 60));
        check("PT8H", secs(8 * 3_600));
        check("P15D", secs(15 * DAY));
        check("P1Y", secs(365 * DAY));
        check("P1M", secs(30 * DAY));
        check("P2W", secs(14 * DAY));
        check("P1DT2H", secs(DAY + 2 * 3_600));
        check("PT1.5S", TimeDelta::new(1, 500_000_000).unwrap());
        check("PT1,5S", TimeDelta::new(1, 500_000_000).unwrap());
        check("PT0S", TimeDelta::zero());
        check("P0D", TimeDelta::zero());
        check("PT90S", secs(90));
        check("PT1M30S", secs(90));
        check("PT36H", secs(36 * 3_600));
        check(
            "P1Y2M3W4DT5H6M7S",
            secs(365 * DAY + 60 * DAY + 21 * DAY + 4 * DAY + 18_367),
        );
        check("P1MT1M", secs(30 * DAY + 60));
        check("PT0.000000001S", TimeDelta::new(0, 1).unwrap());
        check("PT1.5H", secs(90 * 60));
        check("P0.5D", secs(12 * 3_600));
        check("P1DT0.25H", secs(DAY + 15 * 60));
        check("PT007M", secs(7 * 60));
    }

    #[test]
    fn rejects_malformed_durations() {
        check_err("", "empty");
        check_err("-PT8H", "negative");
        check_err("P-1D", "unexpected character '-'");
        check_err("P", "at least one component");
        check_err("PT", "'T' must be followed");
        check_err("P1DT", "'T' must be followed");
        check_err("pt8h", "uppercase");
        check_err("PT8h", "uppercase");
        check_err("p1D", "uppercase");
        check_err("T8H", "must start with 'P'");
        check_err("8H", "must start with 'P'");
        check_err(" PT8H", "must start with 'P'");
        check_err("PT8H ", "unexpected character ' '");
        check_err("+PT8H", "must start with 'P'");
        check_err("P1X", "unknown designator 'X'");
        check_err("PT1D", "'D' must come before 'T'");
        check_err("PT1Y", "'Y' must come before 'T'");
        check_err("PT1W", "'W' must come before 'T'");
        check_err("P1H", "'H' must come after 'T'");
        check_err("P1S", "'S' must come after 'T'");
        check_err("P1D1Y", "out of order");
        check_err("P1D2W", "out of order");
        check_err("PT1S1M", "out of order");
        check_err("PT1M1H", "out of order");
        check_err("P1D1D", "repeated");
        check_err("PT1H1H", "repeated");
        check_err("PT1HT1M", "only once");
        check_err("P1", "number '1' has no designator");
        check_err("PT5", "number '5' has no designator");
        check_err("PD", "'D' has no number");
        check_err("PTH", "'H' has no number");
        check_err("PT.5S", "digits on both sides");
        check_err("PT1.S", "digits on both sides");
        check_err("PT1.0000000001S", "fractional digits");
        check_err("PT1.5H30M", "only the last component");
        check_err("P1.5DT1H", "only the last component");
        check_err("P99999999999999999999D", "too large");
        check_err("P18446744073709551615Y", "exceeds");
        check_err("PT9223372036854775807S", "exceeds");
        check_err("P9999999999999Y", "exceeds");
        check_err("PT1H\u{e9}", "unexpected character");
    }

    #[test]
    fn largest_duration_parses_and_one_more_second_does_not() {
        let max_secs = TimeDelta::MAX.num_seconds();
        check(&format!("PT{max_secs}S"), secs(max_secs));
        check_err(&format!("PT{}S", max_secs + 1), "exceeds");
    }

    #[test]
    fn formats_canonically() {
        check_fmt(TimeDelta::zero(), "PT0S");
        check_fmt(secs(8 * 3_600), "PT8H");
        check_fmt(secs(30 * 60), "PT30M");
        check_fmt(secs(DAY + 2 * 3_600), "P1DT2H");
        check_fmt(secs(90), "PT1M30S");
        check_fmt(secs(15 * DAY), "P15D");
        check_fmt(secs(365 * DAY), "P365D");
        check_fmt(secs(DAY + 1), "P1DT1S");
        check_fmt(secs(DAY + 3_661), "P1DT1H1M1S");
        check_fmt(TimeDelta::new(1, 500_000_000).unwrap(), "PT1.5S");
        check_fmt(TimeDelta::new(0, 1).unwrap(), "PT0.000000001S");
        check_fmt(TimeDelta::new(60, 250_000_000).unwrap(), "PT1M0.25S");
        check_fmt(-secs(300), "-PT5M");
        check_fmt(
            TimeDelta::MIN,
            &format!("-{}", format_duration(TimeDelta::MAX)),
        );
    }

    #[test]
    fn error_message_names_input_and_reason() {
        let e = parse_duration("pt8h").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid ISO 8601 duration 'pt8h': ")
        );
    }

    proptest! {
        #[test]
        fn round_trips_whole_seconds(s in 0i64..=10 * 365 * DAY) {
            let d = secs(s);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn round_trips_subsecond(s in 0i64..=10 * 365 * DAY, n in 0u32..1_000_000_000) {
            let d = TimeDelta::new(s, n).unwrap();
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn format_of_a_parse_is_a_fixed_point(
            y in 0u32..5, m in 0u32..13, d in 0u32..40, h in 0u32..30, mi in 0u32..70, s in 0u32..70,
        ) {
            let input = format!("P{y}Y{m}M{d}DT{h}H{mi}M{s}S");
            let parsed = parse_duration(&input).unwrap();
            let canonical = format_duration(parsed);
            prop_assert_eq!(parse_duration(&canonical), Ok(parsed));
            prop_assert!(!canonical.contains('Y'));
            prop_assert!(!canonical.split('T').next().unwrap().contains('M'));
        }

        #[test]
        fn arbitrary_input_never_panics(s in ".{0,40}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn duration_shaped_input_never_panics(s in "-?P[0-9.,YMWDTHS]{0,30}") {
            let _ = parse_duration(&s);
        }
    }
}
