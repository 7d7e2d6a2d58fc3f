//! The plumbing every settings tab shares: the posted values, the inputs a tab is made of,
//! durations typed as a number and a unit, and lists of rows (approvers, recipients) that grow
//! by one row without JavaScript (a submit button re-renders the form with the typed values).

use std::collections::HashMap;

use chrono::TimeDelta;

use crate::portal::page::FieldErrors;

/// The form's values by field name, as posted or as a stored policy fills them in.
pub type Values = HashMap<String, String>;

pub const ON: &str = "on";

pub fn flag(b: bool) -> String {
    if b { ON.into() } else { String::new() }
}

pub fn text(v: &Values, k: &str) -> String {
    v.get(k).cloned().unwrap_or_default()
}

pub fn on(v: &Values, k: &str) -> bool {
    v.get(k).is_some_and(|x| !x.is_empty())
}

/// One input of a tab (or, for `rows`, a list of inputs of one kind).
pub struct Field {
    /// check, number, select, text, duration (a number and a unit), rows
    pub kind: &'static str,
    pub name: String,
    pub label: String,
    pub value: String,
    pub checked: bool,
    pub options: Vec<(&'static str, &'static str)>,
    /// A duration's unit (minutes, hours, days).
    pub unit: String,
    /// The least a number input takes.
    pub min: u32,
    pub hint: String,
    pub error: Option<String>,
    /// A list's rows, and the label of the button that adds one.
    pub rows: Vec<Row>,
    pub add_label: String,
}

impl Field {
    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = hint.to_string();
        self
    }
}

/// One row of a list: one approver or one recipient.
pub struct Row {
    pub name: String,
    pub label: String,
    pub value: String,
    pub error: Option<String>,
    /// The row a person just added without JavaScript gets the focus on the new page.
    pub autofocus: bool,
}

/// A submit button that changes the form rather than saving it ("Add a stage").
pub struct Button {
    pub op: String,
    pub label: String,
}

/// A fieldset of related inputs, optionally under a heading of its own.
pub struct Group {
    pub heading: Option<String>,
    pub legend: String,
    pub hint: String,
    pub fields: Vec<Field>,
    pub buttons: Vec<Button>,
}

impl Group {
    pub fn new(legend: impl Into<String>, fields: Vec<Field>) -> Self {
        Self {
            heading: None,
            legend: legend.into(),
            hint: String::new(),
            fields,
            buttons: Vec::new(),
        }
    }

    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = hint.to_string();
        self
    }
}

/// What a tab renders with: the values, the errors, and which row to focus.
pub struct Ctx<'a> {
    pub v: &'a Values,
    pub e: &'a FieldErrors,
    pub focus: Option<&'a str>,
    pub may_update: bool,
}

impl Ctx<'_> {
    fn base(&self, kind: &'static str, name: &str, label: &str) -> Field {
        Field {
            kind,
            name: name.to_string(),
            label: label.to_string(),
            value: text(self.v, name),
            checked: on(self.v, name),
            options: Vec::new(),
            unit: String::new(),
            min: 0,
            hint: String::new(),
            error: self.e.of(name).map(String::from),
            rows: Vec::new(),
            add_label: String::new(),
        }
    }

    pub fn check(&self, name: &str, label: &str) -> Field {
        self.base("check", name, label)
    }

    pub fn text(&self, name: &str, label: &str) -> Field {
        self.base("text", name, label)
    }

    pub fn number(&self, name: &str, label: &str, min: u32) -> Field {
        Field {
            min,
            ..self.base("number", name, label)
        }
    }

    pub fn select(
        &self,
        name: &str,
        label: &str,
        options: Vec<(&'static str, &'static str)>,
    ) -> Field {
        Field {
            options,
            ..self.base("select", name, label)
        }
    }

    /// A number input `name` and a unit select `name_unit`.
    pub fn duration(&self, name: &str, label: &str) -> Field {
        let unit = text(self.v, &unit_field(name));
        Field {
            options: UNITS.iter().map(|u| (u.name, u.name)).collect(),
            unit: if unit.is_empty() {
                "hours".into()
            } else {
                unit
            },
            min: 1,
            // An error about either half of the duration shows once, under it.
            error: self
                .e
                .of(name)
                .or_else(|| self.e.of(&unit_field(name)))
                .map(String::from),
            ..self.base("duration", name, label)
        }
    }

    /// The rows of list `name` (`name_0`, `name_1`, …), each labelled `row_label` and its
    /// number; at least one, so there is always a box to type into.
    pub fn rows(&self, name: &str, label: &str, row_label: &str, add_label: &str) -> Field {
        let mut rows: Vec<Row> = rows_of(self.v, name)
            .into_iter()
            .enumerate()
            .map(|(position, (index, value))| {
                let row = row_field(name, index);
                Row {
                    label: format!("{row_label} {}", position + 1),
                    value,
                    error: self.e.of(&row).map(String::from),
                    autofocus: self.focus == Some(row.as_str()),
                    name: row,
                }
            })
            .collect();
        if rows.is_empty() {
            rows.push(Row {
                name: row_field(name, 0),
                label: format!("{row_label} 1"),
                value: String::new(),
                error: None,
                autofocus: false,
            });
        }
        Field {
            rows,
            add_label: add_label.to_string(),
            ..self.base("rows", name, label)
        }
    }
}

/// The units a duration is typed in.
pub struct Unit {
    pub name: &'static str,
    pub minutes: i64,
}

pub const UNITS: [Unit; 3] = [
    Unit {
        name: "minutes",
        minutes: 1,
    },
    Unit {
        name: "hours",
        minutes: 60,
    },
    Unit {
        name: "days",
        minutes: 1440,
    },
];

pub fn unit_field(name: &str) -> String {
    format!("{name}_unit")
}

/// The unit a duration reads best in: days from two days on when whole, else hours when
/// whole, else minutes (so 24 hours stays "24 hours", and 90 minutes "90 minutes").
fn best_unit(d: TimeDelta) -> &'static Unit {
    let minutes = d.num_minutes();
    if minutes >= 2 * 1440 && minutes % 1440 == 0 {
        &UNITS[2]
    } else if minutes >= 60 && minutes % 60 == 0 {
        &UNITS[1]
    } else {
        &UNITS[0]
    }
}

/// A duration in words, in the unit the form would show it in ("8 hours", "365 days").
pub fn words(d: TimeDelta) -> String {
    if d.num_seconds() % 60 != 0 || d < TimeDelta::minutes(1) {
        return eligo_core::duration_words::in_words(d);
    }
    let unit = best_unit(d);
    let n = d.num_minutes() / unit.minutes;
    if n == 1 {
        format!("1 {}", unit.name.trim_end_matches('s'))
    } else {
        format!("{n} {}", unit.name)
    }
}

/// Fills in duration `name` for `d`: the number and its unit. Seconds are not offered (no rule
/// needs them); a stored value with seconds shows rounded to whole minutes.
pub fn put_duration(v: &mut Values, name: &str, d: TimeDelta) {
    let unit = best_unit(d);
    let minutes = (d.num_seconds() + 30) / 60;
    v.insert(name.to_string(), (minutes / unit.minutes).to_string());
    v.insert(unit_field(name), unit.name.to_string());
}

/// What a duration may be: its bounds, and the words of the field error ("a maximum").
pub struct Bounds {
    pub least: TimeDelta,
    pub most: TimeDelta,
    pub what: &'static str,
}

/// Reads duration `name` (a whole number and a unit) within `bounds`, or files a field error
/// that says what to enter.
pub fn read_duration(
    v: &Values,
    name: &str,
    bounds: &Bounds,
    errors: &mut FieldErrors,
) -> Option<TimeDelta> {
    let between = format!(
        "Enter {} between {} and {}.",
        bounds.what,
        words(bounds.least),
        words(bounds.most)
    );
    let unit = text(v, &unit_field(name));
    let Some(unit) = UNITS.iter().find(|u| u.name == unit) else {
        errors.add(name, "Choose minutes, hours or days.");
        return None;
    };
    let raw = text(v, name);
    let Ok(n) = raw.trim().parse::<i64>() else {
        let what = if raw.trim().is_empty() {
            "Enter a number"
        } else {
            "Enter a whole number"
        };
        errors.add(name, format!("{what} of {}. {between}", unit.name));
        return None;
    };
    let d = n
        .checked_mul(unit.minutes)
        .filter(|m| *m <= TimeDelta::MAX.num_minutes())
        .map(TimeDelta::minutes);
    match d {
        Some(d) if d >= bounds.least && d <= bounds.most => Some(d),
        _ => {
            errors.add(name, between);
            None
        }
    }
}

/// Reads a whole number between `least` and `most`, or files a field error.
pub fn read_number(
    v: &Values,
    name: &str,
    (least, most): (u32, u32),
    what: &str,
    errors: &mut FieldErrors,
) -> u32 {
    match text(v, name).trim().parse::<u32>() {
        Ok(n) if (least..=most).contains(&n) => n,
        _ => {
            errors.add(
                name,
                format!("Enter {what} as a whole number from {least} to {most}."),
            );
            least
        }
    }
}

pub fn row_field(list: &str, index: usize) -> String {
    format!("{list}_{index}")
}

/// The rows of list `name` as posted (`name_0`, `name_1`, …) in order, with their indexes.
/// Indexes are kept as posted (not renumbered), so an error filed under a row's name finds it.
pub fn rows_of(v: &Values, name: &str) -> Vec<(usize, String)> {
    let prefix = format!("{name}_");
    let mut rows: Vec<(usize, String)> = v
        .iter()
        .filter_map(|(k, value)| {
            let index = k.strip_prefix(&prefix)?.parse::<usize>().ok()?;
            // A crafted post with row 4000000000 must not make a page that long.
            (index < MAX_ROWS).then(|| (index, value.clone()))
        })
        .collect();
    rows.sort_by_key(|(i, _)| *i);
    rows
}

/// More approvers or recipients than anyone needs; rows beyond it are ignored.
pub const MAX_ROWS: usize = 50;

/// Sets list `name` to `items`, one row each.
pub fn put_rows(v: &mut Values, name: &str, items: Vec<String>) {
    for (i, item) in items.into_iter().enumerate() {
        v.insert(row_field(name, i), item);
    }
}

/// Adds an empty row to list `name` (the "Add another" button); returns its field name.
pub fn add_row(v: &mut Values, name: &str) -> Option<String> {
    let rows = rows_of(v, name);
    // Without any row posted, the page showed one empty row: the new one comes after it.
    if rows.is_empty() {
        v.insert(row_field(name, 0), String::new());
    }
    let next = rows.last().map_or(1, |(i, _)| i + 1);
    if next >= MAX_ROWS {
        return None;
    }
    let field = row_field(name, next);
    v.insert(field.clone(), String::new());
    Some(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn durations_show_in_their_best_unit_and_read_back() {
        let mut v = Values::new();
        for (d, number, unit, said) in [
            (TimeDelta::hours(8), "8", "hours", "8 hours"),
            (TimeDelta::hours(24), "24", "hours", "24 hours"),
            (TimeDelta::days(365), "365", "days", "365 days"),
            (TimeDelta::minutes(90), "90", "minutes", "90 minutes"),
            (TimeDelta::hours(1), "1", "hours", "1 hour"),
        ] {
            put_duration(&mut v, "max", d);
            assert_eq!(
                (text(&v, "max").as_str(), text(&v, "max_unit").as_str()),
                (number, unit)
            );
            assert_eq!(words(d), said);
            let bounds = Bounds {
                least: TimeDelta::minutes(1),
                most: TimeDelta::days(3650),
                what: "a maximum",
            };
            let mut e = FieldErrors::new();
            assert_eq!(read_duration(&v, "max", &bounds, &mut e), Some(d));
            assert!(e.is_empty());
        }
    }

    #[test]
    fn bad_durations_say_what_to_enter() {
        let bounds = Bounds {
            least: TimeDelta::minutes(30),
            most: TimeDelta::hours(24),
            what: "a maximum",
        };
        for (number, unit, message) in [
            (
                "25",
                "hours",
                "Enter a maximum between 30 minutes and 24 hours.",
            ),
            (
                "10",
                "minutes",
                "Enter a maximum between 30 minutes and 24 hours.",
            ),
            (
                "1.5",
                "hours",
                "Enter a whole number of hours. Enter a maximum between 30 minutes and 24 hours.",
            ),
            (
                "",
                "hours",
                "Enter a number of hours. Enter a maximum between 30 minutes and 24 hours.",
            ),
            (
                "99999999999999999",
                "days",
                "Enter a maximum between 30 minutes and 24 hours.",
            ),
            ("3", "fortnights", "Choose minutes, hours or days."),
        ] {
            let v = values(&[("max", number), ("max_unit", unit)]);
            let mut e = FieldErrors::new();
            assert_eq!(read_duration(&v, "max", &bounds, &mut e), None);
            assert_eq!(e.of("max"), Some(message), "{number} {unit}");
        }
    }

    #[test]
    fn rows_keep_their_indexes_and_grow_by_one() {
        let mut v = values(&[
            ("s1_primary_0", "a"),
            ("s1_primary_2", "c"),
            ("s1_primary_x", "no"),
        ]);
        assert_eq!(
            rows_of(&v, "s1_primary"),
            vec![(0, "a".to_string()), (2, "c".to_string())]
        );
        assert_eq!(
            add_row(&mut v, "s1_primary").as_deref(),
            Some("s1_primary_3")
        );
        let mut empty = Values::new();
        assert_eq!(
            add_row(&mut empty, "s1_primary").as_deref(),
            Some("s1_primary_1")
        );
        assert_eq!(rows_of(&empty, "s1_primary").len(), 2);
        let far = values(&[("n0_recipients_999999999999", "x")]);
        assert!(rows_of(&far, "n0_recipients").is_empty());
    }
}
