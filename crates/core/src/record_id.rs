//! Ids of schedules, which sort near the ones made just before them.
//!
//! A random id puts each new row's entry in the id index, and in the audit trail's index of
//! targets, on a page of its own, which the COMMIT then writes whole; ids made in the same
//! moment and sorted together share a page (BENCHMARKS.md, "Pages per activation"). The first
//! four bytes are the low 32 bits of the Unix time in milliseconds, big-endian, so the id's
//! first eight characters still differ between ids made in different milliseconds (a UUIDv7
//! gives every id of the same minute the same eight). The counter wraps every 49.7 days, which
//! only moves where new ids go in the index. The other twelve bytes are random, but for the
//! version (8, a custom layout) and the variant; ids are names, never secrets.
//!
//! Requests keep random ids: people type them, by the first few characters the CLI shows, and
//! ids of requests made close together would share those.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The id of a record made at `now`, from sixteen random bytes (`random`; the first four are
/// replaced by the time).
pub fn record_id(now: DateTime<Utc>, random: [u8; 16]) -> Uuid {
    let mut bytes = random;
    let millis = now.timestamp_millis() as u64 as u32;
    bytes[..4].copy_from_slice(&millis.to_be_bytes());
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(millis).expect("a valid time")
    }

    #[test]
    fn ids_of_later_milliseconds_sort_after_and_differ_in_their_first_eight_characters() {
        let start = at(1_796_000_000_000);
        let a = record_id(start, [0xff; 16]).to_string();
        let b = record_id(start + TimeDelta::milliseconds(1), [0x00; 16]).to_string();
        assert!(a < b, "{a} then {b}");
        assert_ne!(a[..8], b[..8]);
    }

    #[test]
    fn the_same_millisecond_keeps_the_random_part_apart() {
        let now = at(1_796_000_000_000);
        let a = record_id(now, [1; 16]);
        let b = record_id(now, [2; 16]);
        assert_ne!(a, b);
        assert_eq!(a.as_bytes()[..4], b.as_bytes()[..4]);
        assert_eq!(a.get_version_num(), 8);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn the_counter_wraps_without_failing() {
        let wrap = at(1 << 32);
        assert_eq!(record_id(wrap, [7; 16]).as_bytes()[..4], [0, 0, 0, 0]);
        assert_eq!(
            record_id(wrap - TimeDelta::milliseconds(1), [7; 16]).as_bytes()[..4],
            [0xff; 4]
        );
    }
}
