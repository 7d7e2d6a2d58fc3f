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
    AccessReviews,
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
            Category::AccessReviews => "AccessReviews",
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
            Category::AccessReviews,
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
    /// A user target's UPN as it was at the time (Graph's `targetResources[].userPrincipalName`),
    /// so the entry can still be found by it after the user is renamed or deleted. Absent from
    /// entries written before it existed, which therefore hash as they always did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// What the change did to this target (Graph's `modifiedProperties`): each property by
    /// name with its value before and after. Covered by the hash like the rest of the entry;
    /// absent (not empty) when nothing is recorded, so entries sealed before the field existed
    /// verify unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modified_properties: Vec<ModifiedProperty>,
}

/// One changed property (Graph's `modifiedProperty`). Values are text as people read them
/// (`PT8H`, `Yes`, a list of ids); an empty value means "none" (a creation has no old value,
/// a deletion no new one). Secrets are never values: their properties say `(changed)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    pub display_name: String,
    pub old_value: String,
    pub new_value: String,
}

/// What a secret's old and new values are recorded as.
pub const SECRET_CHANGED: &str = "(changed)";

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
            user_principal_name: None,
            modified_properties: Vec::new(),
        });
        self
    }

    /// A user as a target: its display name and UPN as they are now.
    pub fn target_user(self, id: impl ToString, display_name: &str, upn: &str) -> Self {
        let mut event = self.target(id, "User", Some(display_name));
        if let Some(t) = event.target_resources.last_mut() {
            t.user_principal_name = Some(upn.to_string());
        }
        event
    }

    /// Records that the last target's property `name` went from `old` to `new`; nothing when
    /// they are equal (an entry lists what changed, not what was submitted). An event without
    /// a target gets none (a change is always a change *of* something).
    pub fn modified(
        mut self,
        name: impl Into<String>,
        old: impl Into<String>,
        new: impl Into<String>,
    ) -> Self {
        let (old, new) = (old.into(), new.into());
        if old != new
            && let Some(t) = self.target_resources.last_mut()
        {
            t.modified_properties.push(ModifiedProperty {
                display_name: name.into(),
                old_value: old,
                new_value: new,
            });
        }
        self
    }

    /// `modified` for each of `properties` (a policy save's `policy_changes`, a directory
    /// object's `directory_changes`).
    pub fn modified_all<P: Into<ModifiedProperty>>(
        self,
        properties: impl IntoIterator<Item = P>,
    ) -> Self {
        properties.into_iter().fold(self, |e, p| {
            let p = p.into();
            e.modified(p.display_name, p.old_value, p.new_value)
        })
    }

    /// `modified` for a secret: the values never appear, only that it changed.
    pub fn modified_secret(self, name: impl Into<String>) -> Self {
        self.modified(name, "", SECRET_CHANGED)
    }

    /// Every modified property of every target.
    pub fn modified_properties(&self) -> impl Iterator<Item = &ModifiedProperty> {
        self.target_resources
            .iter()
            .flat_map(|t| t.modified_properties.iter())
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
        let mut entry = AuditEntry {
            id: entry_id(sequence, previous_hash),
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

/// An entry's id: its sequence number in the first six bytes (big-endian), then ten bytes of
/// SHA-256 of its place (the previous hash and the sequence), a UUID of version 8. Ids ascend
/// with the chain, in bytes and in their text alike, so a new entry's id goes at the end of the
/// id index, on the page the entry before it went to: random ids (as entries written before
/// this had) put every entry on a page of its own, one more page to write per entry
/// (BENCHMARKS.md, "Pages per activation"). Six bytes count 2^48 entries.
fn entry_id(sequence: i64, previous_hash: &str) -> Uuid {
    let mut place = Sha256::new();
    place.update(previous_hash.as_bytes());
    place.update(sequence.to_be_bytes());
    let digest = place.finalize();
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&sequence.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&digest[..10]);
    // Sets the version (the high half of byte 6) and the variant (the top of byte 8), both
    // in the digest's part.
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
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

    /// The event without its place in the chain, to be sealed at another (a store whose
    /// write before it failed after it was sealed seals it again).
    pub fn unsealed(self) -> AuditEvent {
        AuditEvent {
            activity_date_time: self.activity_date_time,
            activity_display_name: self.activity_display_name,
            category: self.category,
            result: self.result,
            initiated_by: self.initiated_by,
            target_resources: self.target_resources,
            additional_details: self.additional_details,
        }
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
        let actor = match &self.initiated_by {
            Initiator::User(a) | Initiator::App(a) => a,
        };
        let actor_names = search_names(
            [
                Some(&actor.display_name),
                actor.user_principal_name.as_ref(),
            ]
            .into_iter()
            .flatten(),
        );
        let target_names = search_names(self.target_resources.iter().flat_map(|t| {
            [t.display_name.as_ref(), t.user_principal_name.as_ref()]
                .into_iter()
                .flatten()
        }));
        IndexColumns {
            sequence: self.sequence,
            id: self.id.to_string(),
            activity_at_micros: self.activity_date_time.timestamp_micros(),
            category: self.category.as_str().to_string(),
            activity: self.activity_display_name.clone(),
            initiator_id: self.initiated_by.id().map(|id| id.to_string()),
            target_ids,
            actor_names,
            target_names,
        }
    }

    /// Every modified property of every target.
    pub fn modified_properties(&self) -> impl Iterator<Item = &ModifiedProperty> {
        self.target_resources
            .iter()
            .flat_map(|t| t.modified_properties.iter())
    }
}

/// The longest name kept for searching (a prefix search never needs more).
pub const SEARCH_NAME_MAX_CHARS: usize = 128;

/// A name as the store keeps it to search by prefix: ASCII letters lower-cased (only ASCII,
/// because the migrations that fill these columns for older entries lower-case in SQL, where
/// SQLite's `lower` and PostgreSQL's `lower` under the "C" collation touch ASCII only, and
/// verification compares them byte for byte), cut to `SEARCH_NAME_MAX_CHARS` characters
/// (`substr` in SQL). A search lower-cases its prefix the same way.
pub fn search_name(name: &str) -> String {
    name.chars()
        .take(SEARCH_NAME_MAX_CHARS)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `search_name` of each non-empty name, sorted, once each.
fn search_names<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = names
        .map(|n| search_name(n))
        .filter(|n| !n.is_empty())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// What a store writes beside each entry (see `AuditEntry::index_columns`): its place, id and
/// time, category, activity, initiator and target ids (lower-case, sorted, once each), and the
/// names to find it by (`search_name`s, sorted, once each): the initiator's display name and
/// UPN, and the targets' display names and UPNs, as recorded in the entry — so an entry about
/// someone since renamed or deleted is still found by the name it was written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexColumns {
    pub sequence: i64,
    pub id: String,
    pub activity_at_micros: i64,
    pub category: String,
    pub activity: String,
    pub initiator_id: Option<String>,
    pub target_ids: Vec<String>,
    pub actor_names: Vec<String>,
    pub target_names: Vec<String>,
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

    #[test]
    fn an_entry_unsealed_and_sealed_again_at_another_place_verifies_there() {
        let entries = chain(3);
        let again = entries[2].clone().unsealed().seal(2, &entries[0].hash);
        assert_eq!(
            (again.sequence, again.previous_hash.as_str()),
            (2, entries[0].hash.as_str())
        );
        assert_eq!(
            again.target_resources, entries[2].target_resources,
            "the event is the same"
        );
        assert!(verify(&[entries[0].clone(), again.clone()], Some(&again.hash)).valid);
        assert_eq!(
            entries[2].clone().unsealed().seal(3, &entries[1].hash),
            entries[2],
            "sealed again at its own place, it is what it was"
        );
    }

    fn verify(entries: &[AuditEntry], head: Option<&str>) -> Verdict {
        let mut v = ChainVerifier::new();
        entries.iter().for_each(|e| v.push(e));
        v.finish(head)
    }

    #[test]
    fn entry_ids_ascend_with_the_chain_in_bytes_and_text() {
        let c = chain(300);
        for pair in c.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{} then {}",
                pair[0].id,
                pair[1].id
            );
            assert!(pair[0].id.to_string() < pair[1].id.to_string());
        }
        assert!(c.iter().all(|e| e.id.get_version_num() == 8));
        // The sequence leads; the rest is of the place, so the same sequence after another
        // hash is another id.
        assert!(c[0].id.to_string().starts_with("00000000-0001-8"));
        assert_ne!(entry_id(7, GENESIS_HASH), entry_id(7, &c[0].hash));
        let far = entry_id((1 << 40) + 5, GENESIS_HASH);
        assert!(far > entry_id((1 << 40) + 4, GENESIS_HASH));
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
        let tampered: [fn(&mut IndexColumns); 8] = [
            |col| col.actor_names.clear(),
            |col| col.target_names = vec!["bob".into()],
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

    /// An entry exactly as Eligo sealed it before targets carried modified properties or
    /// UPNs: the JSON has neither key.
    const SEALED_BEFORE: &str = r#"{"id":"00000000-0000-0000-0000-000000000000","sequence":1,"activityDateTime":"2026-01-01T10:00:00Z","activityDisplayName":"Update user","category":"UserManagement","result":"success","initiatedBy":{"app":{"id":null,"displayName":"Eligo"}},"targetResources":[{"id":"u1","type":"User","displayName":"Alice"}],"additionalDetails":[{"key":"modifiedProperties","value":"displayName"}],"previousHash":"0000000000000000000000000000000000000000000000000000000000000000","hash":""}"#;

    #[test]
    fn an_entry_sealed_before_modified_properties_existed_still_verifies() {
        let mut old: AuditEntry = serde_json::from_str(SEALED_BEFORE).unwrap();
        // Its hash as the older code computed it: over exactly the JSON above (minus the hash).
        let mut h = Sha256::new();
        h.update(GENESIS_HASH.as_bytes());
        h.update(b"\n");
        h.update(SEALED_BEFORE.as_bytes());
        old.hash = hex::encode(h.finalize());
        assert!(old.target_resources[0].modified_properties.is_empty());
        assert_eq!(old.compute_hash(), old.hash, "the same bytes are hashed");
        assert!(
            !serde_json::to_string(&old)
                .unwrap()
                .contains("modifiedProperties\":["),
            "no empty list is written"
        );
        assert!(verify(&[old.clone()], Some(&old.hash)).valid);
    }

    fn changed_entry() -> AuditEntry {
        AuditEvent::new(
            DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            Category::Policy,
            "Update role setting in PIM",
            Initiator::system(),
        )
        .target("p1", "Policy", None)
        .modified("Activation maximum duration", "PT8H", "PT3H")
        .modified("Unchanged", "x", "x")
        .target_user("u1", "Ada Lovelace", "Ada@Contoso.example")
        .modified_secret("Password")
        .seal(1, GENESIS_HASH)
    }

    #[test]
    fn modified_properties_belong_to_their_target_and_are_hashed() {
        let e = changed_entry();
        let props: Vec<_> = e.target_resources[0].modified_properties.clone();
        assert_eq!(
            props,
            [ModifiedProperty {
                display_name: "Activation maximum duration".into(),
                old_value: "PT8H".into(),
                new_value: "PT3H".into(),
            }],
            "an unchanged property is not recorded"
        );
        assert_eq!(
            e.target_resources[1].modified_properties[0].new_value,
            SECRET_CHANGED
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json["targetResources"][0]["modifiedProperties"][0]["displayName"],
            "Activation maximum duration"
        );
        assert_eq!(
            json["targetResources"][0]["modifiedProperties"][0]["oldValue"],
            "PT8H"
        );
        assert_eq!(
            json["targetResources"][1]["userPrincipalName"],
            "Ada@Contoso.example"
        );
        let round: AuditEntry = serde_json::from_value(json).unwrap();
        assert!(verify(&[round], Some(&e.hash)).valid);

        for tamper in [
            |e: &mut AuditEntry| {
                e.target_resources[0].modified_properties[0].old_value = "PT1H".into()
            },
            |e: &mut AuditEntry| {
                e.target_resources[0].modified_properties[0].display_name = "x".into()
            },
            |e: &mut AuditEntry| e.target_resources[0].modified_properties.clear(),
            |e: &mut AuditEntry| e.target_resources[1].user_principal_name = None,
        ] {
            let mut bad = e.clone();
            tamper(&mut bad);
            assert_eq!(verify(&[bad], None).first_bad_sequence, Some(1));
        }
    }

    #[test]
    fn names_to_search_by_come_from_the_entry() {
        let e = changed_entry();
        let c = e.index_columns();
        assert_eq!(c.actor_names, ["eligo"]);
        assert_eq!(
            c.target_names,
            ["ada lovelace", "ada@contoso.example"],
            "display names and UPNs, ASCII lower-case, sorted"
        );
        assert_eq!(
            search_name("ÉLODIE Ångström"),
            "Élodie Ångström",
            "ASCII only"
        );
        assert_eq!(search_name(&"x".repeat(300)).len(), SEARCH_NAME_MAX_CHARS);
    }
}
