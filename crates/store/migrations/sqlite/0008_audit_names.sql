-- The names an audit entry is found by (the audit page's actor and target filters, by name or
-- UPN prefix): the initiator's display name and UPN ('actor') and the targets' display names
-- and UPNs ('target') as the entry records them, so an entry about someone since renamed or
-- deleted is still found by the name it was written with. Derived from the entry
-- (`AuditEntry::index_columns`: ASCII letters lower-cased, at most 128 characters) and held
-- against it by verification, so deleting a row here to hide an entry breaks the chain.
-- BINARY collation: a prefix is a range of the primary key.
CREATE TABLE audit_names (
    kind TEXT NOT NULL CHECK (kind IN ('actor', 'target')),
    name TEXT NOT NULL,
    sequence INTEGER NOT NULL REFERENCES audit_log (sequence),
    PRIMARY KEY (kind, name, sequence)
) WITHOUT ROWID;

-- Entries written before this migration: the same derivation in SQL (SQLite's lower() touches
-- ASCII letters only, as `search_name` does; substr counts characters).
INSERT OR IGNORE INTO audit_names (kind, name, sequence)
SELECT 'actor', substr(lower(n.value), 1, 128), a.sequence
FROM audit_log a,
     json_each(json_array(
         json_extract(a.data, '$.initiatedBy.user.displayName'),
         json_extract(a.data, '$.initiatedBy.user.userPrincipalName'),
         json_extract(a.data, '$.initiatedBy.app.displayName'),
         json_extract(a.data, '$.initiatedBy.app.userPrincipalName'))) n
WHERE n.type = 'text' AND n.value <> '';

INSERT OR IGNORE INTO audit_names (kind, name, sequence)
SELECT 'target', substr(lower(n.value), 1, 128), a.sequence
FROM audit_log a,
     json_each(a.data, '$.targetResources') t,
     json_each(json_array(
         json_extract(t.value, '$.displayName'),
         json_extract(t.value, '$.userPrincipalName'))) n
WHERE n.type = 'text' AND n.value <> '';
