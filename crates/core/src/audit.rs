//! The tamper-evident audit trail. Each entry's `hash` is SHA-256 over the previous entry's
//! hash and a canonical JSON encoding of the entry itself, so changing, removing or reordering
//! any entry breaks every hash after it. Entries are only ever appended; no API updates them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The hash that stands before the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Category {
    RoleManagement,
    GroupManagement,
    UserManagement,
    ApplicationManagement,
    Policy,
    Authentication,
    EntitlementManagement,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::RoleManagement => "RoleManagement",
            Category::GroupManagement => "GroupManagement",
            Category::UserManagement => "UserManagement",
            Category::ApplicationManagement => "ApplicationManagement",
            Category::Policy => "Policy",
            Category::Authentication => "Authentication",
            Category::EntitlementManagement => "EntitlementManagement",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Category::RoleManagement,
            Category::GroupManagement,
            Category::UserManagement,
            Category::ApplicationManagement,
            Category::Policy,
            Category::Authentication,
            Category::EntitlementManagement,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Success,
    Failure,
}

/// Who acted. Graph's shape: `{"user": {...}}` or `{"app": {...}}`; Eligo's own scheduler
/// acts as the app "Eligo" without an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Initiator {
    User(Actor),
    App(Actor),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub id: Option<Uuid>,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
}

impl Initiator {
    pub fn system() -> Self {
        Initiator::App(Actor {
            id: None,
            display_name: "Eligo".into(),
            user_principal_name: None,
        })
    }

    pub fn id(&self) -> Option<Uuid> {
        match self {
            Initiator::User(a) | Initiator::App(a) => a.id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// An event a use case wants recorded, before the store gives it a place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub activity_date_time: DateTime<Utc>,
    pub activity_display_name: String,
    pub category: Category,
    pub result: Outcome,
    pub initiated_by: Initiator,
    pub target_resources: Vec<TargetResource>,
    pub additional_details: Vec<KeyValue>,
}

impl AuditEvent {
    pub fn new(
        now: DateTime<Utc>,
        category: Category,
        activity: impl Into<String>,
        initiated_by: Initiator,
    ) -> Self {
        Self {
            activity_date_time: now,
            activity_display_name: activity.into(),
            category,
            result: Outcome::Success,
            initiated_by,
            target_resources: Vec::new(),
            additional_details: Vec::new(),
        }
    }

    pub fn target(mut self, id: impl ToString, kind: &str, name: Option<&str>) -> Self {
        self.target_resources.push(TargetResource {
            id: id.to_string(),
            kind: kind.into(),
            display_name: name.map(String::from),
        });
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.additional_details.push(KeyValue {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    pub fn failed(mut self, reason: &str) -> Self {
        self.result = Outcome::Failure;
        self.detail("reason", reason)
    }

    /// Give the event its place in the chain: the sequence number after `previous_hash`.
    /// The entry's id is derived from its place, so sealing needs no randomness.
    pub fn seal(self, sequence: i64, previous_hash: &str) -> AuditEntry {
        let mut place = Sha256::new();
        place.update(previous_hash.as_bytes());
        place.update(sequence.to_be_bytes());
        let digest = place.finalize();
        let mut id_bytes = [0u8; 16];
        id_bytes.copy_from_slice(&digest[..16]);
        let mut entry = AuditEntry {
            id: uuid::Builder::from_custom_bytes(id_bytes).into_uuid(),
            sequence,
            // The store keeps microseconds; truncating here makes the hash survive a round trip.
            activity_date_time: truncate_to_micros(self.activity_date_time),
            activity_display_name: self.activity_display_name,
            category: self.category,
            result: self.result,
            initiated_by: self.initiated_by,
            target_resources: self.target_resources,
            additional_details: self.additional_details,
            previous_hash: previous_hash.into(),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        entry
    }
}

/// A sealed entry as stored and as served by `GET /v1/auditLogs/directoryAudits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: Uuid,
    pub sequence: i64,
    pub activity_date_time: DateTime<Utc>,
    pub activity_display_name: String,
    pub category: Category,
    pub result: Outcome,
    pub initiated_by: Initiator,
    pub target_resources: Vec<TargetResource>,
    pub additional_details: Vec<KeyValue>,
    pub previous_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// SHA-256 of `previous_hash`, a newline, and the canonical JSON of every field but `hash`.
    /// serde_json writes struct fields in declaration order and the vectors in their order, so
    /// the encoding is deterministic.
    pub fn compute_hash(&self) -> String {
        let mut unsealed = self.clone();
        unsealed.hash = String::new();
        let canonical = serde_json::to_vec(&unsealed).expect("audit entries always serialize");
        let mut h = Sha256::new();
        h.update(self.previous_hash.as_bytes());
        h.update(b"\n");
        h.update(&canonical);
        hex::encode(h.finalize())
    }

    pub fn target_ids(&self) -> impl Iterator<Item = &str> {
        self.target_resources.iter().map(|t| t.id.as_str())
    }

    /// The columns a store keeps beside the entry to filter and sort on. They are derived from
    /// the hashed entry, so verification can hold them against it: a column changed behind
    /// Eligo's back (to hide an entry from a filtered view) breaks the chain like an edit of the
    /// entry itself.
    pub fn index_columns(&self) -> IndexColumns {
        let mut target_ids: Vec<String> = self.target_ids().map(str::to_lowercase).collect();
        target_ids.sort_unstable();
        target_ids.dedup();
        IndexColumns {
            sequence: self.sequence,
            id: self.id.to_string(),
            activity_at_micros: self.activity_date_time.timestamp_micros(),
            category: self.category.as_str().to_string(),
            activity: self.activity_display_name.clone(),
            initiator_id: self.initiated_by.id().map(|id| id.to_string()),
            target_ids,
        }
    }
}

/// What a store writes beside each entry (see `AuditEntry::index_columns`): its place, id and
/// time, category, activity, initiator and target ids (lower-case, sorted, once each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexColumns {
    pub sequence: i64,
    pub id: String,
    pub activity_at_micros: i64,
    pub category: String,
    pub activity: String,
    pub initiator_id: Option<String>,
    pub target_ids: Vec<String>,
}

pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Verifies a chain fed entry by entry in sequence order, without holding it in memory.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_previous: String,
    expected_sequence: Option<i64>,
    entries: u64,
    first_bad: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub valid: bool,
    pub entries: u64,
    pub head_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_sequence: Option<i64>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self {
            expected_previous: GENESIS_HASH.into(),
            expected_sequence: None,
            entries: 0,
            first_bad: None,
        }
    }

    /// Feed the next entry. Once a break is found the verdict stays invalid and points at the
    /// first entry that does not follow from its predecessor.
    pub fn push(&mut self, entry: &AuditEntry) {
        self.push_with(entry, true);
    }

    /// `push` for an entry read with the columns stored beside it: the entry is intact only if
    /// those columns are exactly what it derives.
    pub fn push_stored(&mut self, entry: &AuditEntry, columns: &IndexColumns) {
        self.push_with(entry, entry.index_columns() == *columns);
    }

    fn push_with(&mut self, entry: &AuditEntry, columns_match: bool) {
        self.entries += 1;
        let in_sequence = self.expected_sequence.is_none_or(|s| entry.sequence == s);
        let linked = entry.previous_hash == self.expected_previous;
        let intact = columns_match && entry.compute_hash() == entry.hash;
        if self.first_bad.is_none() && !(in_sequence && linked && intact) {
            self.first_bad = Some(entry.sequence);
        }
        self.expected_previous = entry.hash.clone();
        self.expected_sequence = Some(entry.sequence + 1);
    }

    /// `stored_head` is the head hash the store recorded; a chain truncated at its end no longer
    /// reaches it.
    pub fn finish(self, stored_head: Option<&str>) -> Verdict {
        let mut first_bad = self.first_bad;
        if first_bad.is_none() && stored_head.is_some_and(|h| h != self.expected_previous) {
            first_bad = Some(self.expected_sequence.unwrap_or(1));
        }
        Verdict {
            valid: first_bad.is_none(),
            entries: self.entries,
            head_hash: self.expected_previous,
            first_bad_sequence: first_bad,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_string();
        (0..n)
            .map(|i| {
                let at = DateTime::from_timestamp(1_700_000_000 + i as i64, 123_456_789).unwrap();
                let e = AuditEvent::new(
                    at,
                    Category::UserManagement,
                    "Add user",
                    Initiator::system(),
                )
                .target(format!("u{i}"), "User", Some("Alice"))
                .detail("k", "v")
                .seal(i as i64 + 1, &prev);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], head: Option<&str>) -> Verdict {
        let mut v = ChainVerifier::new();
        entries.iter().for_each(|e| v.push(e));
        v.finish(head)
    }

    #[test]
    fn intact_chain_verifies_and_survives_json_round_trip() {
        let c = chain(5);
        let round: Vec<AuditEntry> = c
            .iter()
            .map(|e| serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap())
            .collect();
        let v = verify(&round, Some(&c[4].hash));
        assert!(v.valid, "{v:?}");
        assert_eq!(v.entries, 5);
        assert_eq!(verify(&[], None).head_hash, GENESIS_HASH);
    }

    #[test]
    fn any_tampering_is_found_at_its_place() {
        let mut c = chain(5);
        c[2].activity_display_name = "Delete user".into();
        assert_eq!(verify(&c, None).first_bad_sequence, Some(3));

        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c, None).first_bad_sequence, Some(3));

        let c = chain(5);
        let head = c[4].hash.clone();
        assert_eq!(
            verify(&c[..4], Some(&head)).first_bad_sequence,
            Some(5),
            "truncated tail"
        );

        let mut c = chain(3);
        c.swap(0, 1);
        assert!(!verify(&c, None).valid);
    }

    #[test]
    fn a_stored_column_that_disagrees_with_its_entry_breaks_the_chain_there() {
        let c = chain(4);
        let stored = |i: usize| c[i].index_columns();
        let run = |columns: Vec<IndexColumns>| {
            let mut v = ChainVerifier::new();
            c.iter()
                .zip(&columns)
                .for_each(|(e, col)| v.push_stored(e, col));
            v.finish(Some(&c[3].hash))
        };
        assert!(run((0..4).map(stored).collect()).valid);
        let tampered: [fn(&mut IndexColumns); 6] = [
            |col| col.activity = "Sign-in".into(),
            |col| col.category = "Policy".into(),
            |col| col.initiator_id = Some(Uuid::nil().to_string()),
            |col| col.target_ids.clear(),
            |col| col.activity_at_micros += 1,
            |col| col.id = Uuid::nil().to_string(),
        ];
        for tamper in tampered {
            let mut columns: Vec<IndexColumns> = (0..4).map(stored).collect();
            tamper(&mut columns[2]);
            assert_eq!(run(columns).first_bad_sequence, Some(3));
        }
        assert_eq!(stored(0).target_ids, ["u0"], "lower-case, sorted, once");
    }
}
