//! The access index's start reads its schedules as pages: one database row holding a few
//! thousand schedules as one text, built by the database (`group_concat` on SQLite,
//! `string_agg` on PostgreSQL; each backend's `INDEX_SCHEDULE_PAGE`) and taken apart here.
//! One row per schedule cost a hand-over between sqlx's SQLite worker thread and the task for
//! every schedule, which at a million schedules was most of a server's start (BENCHMARKS.md,
//! "A real server starting on a store of a million schedules").
//!
//! A group's direct relations are read the same way, one row per group (`RELATIONS_BY_GROUP`
//! in shared_sql.rs): `{m|o}{principal}` back to back, a member or an owner. So are principals
//! (`principal_line!`; in pages of the table's order on SQLite, a row per first two characters
//! of their ids on PostgreSQL):
//! `{id}{kind}{role_assignable}{enabled}{manager}{upn}{n}:{display_name}`, `kind` `u`, `g` or
//! `s`, the flags `0` or `1`, `manager` an id or `-`, `upn` `-` or `{n}:{upn}`.
//!
//! A schedule in a page, fields back to back with no separator where the width is fixed:
//! `{id}{kind}{principal}{role}{start},{end},{end_pending}{activated}{n}:{scope}` — ids in
//! their 36-character form, `kind` `a` (active) or `e` (eligible), times in microseconds
//! (`end` empty when none), the flags `0` or `1`, and the scope preceded by its length in
//! bytes, so that no scope text, whatever it holds, can be read as the next schedule. Anything
//! else is a corrupt store, never a guess.

/// A principal as the text `principals` reads, an SQL expression over a `principals` row that
/// both backends evaluate alike (a macro, so that each backend's query is one literal).
macro_rules! principal_line {
    () => {
        "id \
         || CASE kind WHEN 'user' THEN 'u' WHEN 'group' THEN 'g' \
            WHEN 'servicePrincipal' THEN 's' ELSE '?' END \
         || CASE WHEN is_role_assignable THEN '1' ELSE '0' END \
         || CASE WHEN account_enabled THEN '1' ELSE '0' END \
         || COALESCE(manager_id, '-') \
         || COALESCE(octet_length(upn) || ':' || upn, '-') \
         || octet_length(display_name) || ':' || display_name"
    };
}

use chrono::{DateTime, Utc};
use eligo_core::directory::{PrincipalKind, Relation};
use eligo_core::schedule::ScheduleKind;
use uuid::Uuid;

use crate::changes::{IndexedSchedule, PrincipalRow};
use crate::{Result, StoreError, from_micros};

/// Schedules per page: large enough that the per-row cost vanishes, small enough that a page
/// (about 150 bytes a schedule) is a few hundred KiB.
pub(crate) const PAGE: i64 = 4096;

pub(crate) const UUID_LEN: usize = 36;

/// Hands every schedule of `page` to `each`, in order.
pub(crate) fn schedules(
    page: &str,
    each: &mut (dyn for<'a> FnMut(IndexedSchedule<'a>) + Send),
) -> Result<()> {
    let mut rest = page;
    while !rest.is_empty() {
        let (schedule, tail) = schedule(rest).ok_or_else(|| {
            StoreError::Corrupt(format!("index schedule page at {:?}", prefix(rest)))
        })?;
        each(schedule);
        rest = tail;
    }
    Ok(())
}

/// The first schedule of `text` and what follows it.
fn schedule(text: &str) -> Option<(IndexedSchedule<'_>, &str)> {
    let (id, text) = uuid(text)?;
    let (kind, text) = match text.as_bytes().first()? {
        b'a' => (ScheduleKind::Active, &text[1..]),
        b'e' => (ScheduleKind::Eligible, &text[1..]),
        _ => return None,
    };
    let (principal_id, text) = uuid(text)?;
    let (role_definition_id, text) = uuid(text)?;
    let (start, text) = text.split_once(',')?;
    let (end, text) = text.split_once(',')?;
    let (end_pending, text) = flag(text)?;
    let (activated, text) = flag(text)?;
    let (scope, text) = sized(text)?;
    let end = match end {
        "" => None,
        end => Some(time(end)?),
    };
    let schedule = IndexedSchedule {
        id,
        kind,
        principal_id,
        role_definition_id,
        directory_scope_id: scope,
        start: time(start)?,
        end,
        end_pending,
        activated,
    };
    Some((schedule, text))
}

/// Hands every relation of one group's row to `each`, in order.
pub(crate) fn relations(text: &str, each: &mut impl FnMut(Uuid, Relation)) -> Result<()> {
    let mut rest = text;
    while !rest.is_empty() {
        let relation = match rest.as_bytes()[0] {
            b'm' => Some(Relation::Member),
            b'o' => Some(Relation::Owner),
            _ => None,
        };
        let (relation, (principal, tail)) = relation
            .zip(uuid(&rest[1..]))
            .ok_or_else(|| StoreError::Corrupt(format!("relations at {:?}", prefix(rest))))?;
        each(principal, relation);
        rest = tail;
    }
    Ok(())
}

/// Hands every principal of one row to `each`, in order.
pub(crate) fn principals(text: &str, each: &mut impl FnMut(PrincipalRow)) -> Result<()> {
    let mut rest = text;
    while !rest.is_empty() {
        let (row, tail) = principal(rest)
            .ok_or_else(|| StoreError::Corrupt(format!("principals at {:?}", prefix(rest))))?;
        each(row);
        rest = tail;
    }
    Ok(())
}

fn principal(text: &str) -> Option<(PrincipalRow, &str)> {
    let (id, text) = uuid(text)?;
    let (kind, text) = match text.as_bytes().first()? {
        b'u' => (PrincipalKind::User, &text[1..]),
        b'g' => (PrincipalKind::Group, &text[1..]),
        b's' => (PrincipalKind::ServicePrincipal, &text[1..]),
        _ => return None,
    };
    let (role_assignable, text) = flag(text)?;
    let (enabled, text) = flag(text)?;
    let (manager, text) = match text.strip_prefix('-') {
        Some(text) => (None, text),
        None => uuid(text).map(|(m, text)| (Some(m), text))?,
    };
    let (upn, text) = match text.strip_prefix('-') {
        Some(text) => (None, text),
        None => sized(text).map(|(upn, text)| (Some(upn.to_string()), text))?,
    };
    let (display_name, text) = sized(text)?;
    let row = PrincipalRow {
        id,
        kind,
        display_name: display_name.to_string(),
        role_assignable,
        manager,
        enabled,
        upn,
    };
    Some((row, text))
}

/// `{n}:{text of n bytes}`.
fn sized(text: &str) -> Option<(&str, &str)> {
    let (len, text) = text.split_once(':')?;
    let len: usize = len.parse().ok()?;
    Some((text.get(..len)?, &text[len..]))
}

fn prefix(text: &str) -> String {
    text.chars().take(120).collect()
}

fn uuid(text: &str) -> Option<(Uuid, &str)> {
    // Exactly 36 bytes: only the hyphenated form has that length, so nothing else parses.
    let id = Uuid::try_parse(text.get(..UUID_LEN)?).ok()?;
    Some((id, &text[UUID_LEN..]))
}

fn flag(text: &str) -> Option<(bool, &str)> {
    match text.as_bytes().first()? {
        b'0' => Some((false, &text[1..])),
        b'1' => Some((true, &text[1..])),
        _ => None,
    }
}

fn time(text: &str) -> Option<DateTime<Utc>> {
    text.parse::<i64>().ok().map(from_micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::micros;

    /// `s` as the databases write it into a page.
    fn line(s: &IndexedSchedule<'_>) -> String {
        let kind = match s.kind {
            ScheduleKind::Active => 'a',
            ScheduleKind::Eligible => 'e',
        };
        format!(
            "{}{kind}{}{}{},{},{}{}{}:{}",
            s.id,
            s.principal_id,
            s.role_definition_id,
            micros(s.start),
            s.end.map(micros).map(|e| e.to_string()).unwrap_or_default(),
            u8::from(s.end_pending),
            u8::from(s.activated),
            s.directory_scope_id.len(),
            s.directory_scope_id,
        )
    }

    fn read(page: &str) -> Result<Vec<String>> {
        let mut seen = Vec::new();
        schedules(page, &mut |s| seen.push(format!("{s:?}")))?;
        Ok(seen)
    }

    #[test]
    fn a_page_reads_back_every_schedule_whatever_its_scope_holds() {
        let at = |us: i64| from_micros(us);
        let scopes = [
            "/",
            "/administrativeUnits/ü-1",
            // Text that looks like the next schedule, separators, an empty scope.
            "/x,1,11:00000000-0000-0000-0000-000000000000a",
            "",
            "a:b:c\n,",
        ];
        let mut page = String::new();
        let mut expected = Vec::new();
        for (i, scope) in scopes.iter().enumerate() {
            let i = i as u128;
            let s = IndexedSchedule {
                id: Uuid::from_u128(i + 1),
                kind: if i.is_multiple_of(2) {
                    ScheduleKind::Active
                } else {
                    ScheduleKind::Eligible
                },
                principal_id: Uuid::from_u128(1000 + i),
                role_definition_id: Uuid::from_u128(2000 + i),
                directory_scope_id: scope,
                start: at(-5 + i as i64),
                end: (!i.is_multiple_of(3)).then(|| at(1_700_000_000_000_000 + i as i64)),
                end_pending: i % 2 == 1,
                activated: i % 3 == 1,
            };
            page.push_str(&line(&s));
            expected.push(format!("{s:?}"));
        }
        assert_eq!(read(&page).unwrap(), expected);
        assert!(read("").unwrap().is_empty());
    }

    #[test]
    fn a_groups_relations_read_back_and_nothing_else_does() {
        let (a, b) = (Uuid::from_u128(7), Uuid::from_u128(u128::MAX));
        let mut seen = Vec::new();
        relations(&format!("m{a}o{b}m{b}"), &mut |p, r| seen.push((p, r))).unwrap();
        assert_eq!(
            seen,
            [
                (a, Relation::Member),
                (b, Relation::Owner),
                (b, Relation::Member)
            ]
        );
        for bad in [
            format!("x{a}"),
            format!("m{a}o"),
            format!("m{}", &a.to_string()[1..]),
        ] {
            assert!(
                matches!(relations(&bad, &mut |_, _| {}), Err(StoreError::Corrupt(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn principals_read_back_whatever_their_names_hold() {
        let row = |n: u128, kind, manager, upn: Option<&str>, name: &str| PrincipalRow {
            id: Uuid::from_u128(n),
            kind,
            display_name: name.into(),
            role_assignable: n.is_multiple_of(2),
            manager,
            enabled: n.is_multiple_of(3),
            upn: upn.map(String::from),
        };
        let rows = [
            row(
                1,
                PrincipalKind::User,
                Some(Uuid::from_u128(9)),
                Some("Ann@x"),
                "Ann",
            ),
            row(2, PrincipalKind::User, None, Some("-5:b"), "3:-"),
            row(3, PrincipalKind::Group, None, None, ""),
            row(4, PrincipalKind::ServicePrincipal, None, None, "ü:-"),
        ];
        let mut text = String::new();
        for r in &rows {
            let kind = match r.kind {
                PrincipalKind::User => 'u',
                PrincipalKind::Group => 'g',
                PrincipalKind::ServicePrincipal => 's',
            };
            text.push_str(&format!(
                "{}{kind}{}{}{}{}{}:{}",
                r.id,
                u8::from(r.role_assignable),
                u8::from(r.enabled),
                r.manager.map_or("-".into(), |m| m.to_string()),
                r.upn
                    .as_ref()
                    .map_or("-".into(), |u| format!("{}:{u}", u.len())),
                r.display_name.len(),
                r.display_name
            ));
        }
        let mut seen = Vec::new();
        principals(&text, &mut |r| seen.push(r)).unwrap();
        assert_eq!(seen, rows);
        for bad in [
            &text[..text.len() - 1],
            &text[1..],
            text.replacen('u', "x", 1).as_str(),
        ] {
            assert!(
                matches!(principals(bad, &mut |_| {}), Err(StoreError::Corrupt(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn anything_but_the_format_is_a_corrupt_store() {
        let good = IndexedSchedule {
            id: Uuid::from_u128(1),
            kind: ScheduleKind::Active,
            principal_id: Uuid::from_u128(2),
            role_definition_id: Uuid::from_u128(3),
            directory_scope_id: "/",
            start: from_micros(10),
            end: None,
            end_pending: false,
            activated: true,
        };
        let page = line(&good);
        assert_eq!(read(&page).unwrap().len(), 1);
        let broken = [
            page.replacen('a', "x", 1),                 // an unknown kind
            page.replace(",,0", ",,2"),                 // a flag not 0 or 1
            page.replace("1:/", "2:/"),                 // a scope longer than what is left
            page.replace("1:/", "x:/"),                 // no length
            page[1..].to_string(),                      // an id of 35 characters
            page[..page.len() - 1].to_string(),         // cut short
            page.replace(",,", ",soon,"),               // an end that is no time
            page.replacen("00000000-", "0000000{-", 1), // a malformed id
        ];
        for text in broken {
            assert!(
                matches!(read(&text), Err(StoreError::Corrupt(_))),
                "{text:?}"
            );
        }
    }
}
