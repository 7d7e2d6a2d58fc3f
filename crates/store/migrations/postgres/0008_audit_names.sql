-- The names an audit entry is found by (the audit page's actor and target filters, by name or
-- UPN prefix): the initiator's display name and UPN ('actor') and the targets' display names
-- and UPNs ('target') as the entry records them, so an entry about someone since renamed or
-- deleted is still found by the name it was written with. Derived from the entry
-- (`AuditEntry::index_columns`: ASCII letters lower-cased, at most 128 characters) and held
-- against it by verification, so deleting a row here to hide an entry breaks the chain.
-- COLLATE "C": byte order, so a prefix is a range of the primary key whatever the database's
-- locale.
CREATE TABLE audit_names (
    kind TEXT NOT NULL CHECK (kind IN ('actor', 'target')),
    name TEXT COLLATE "C" NOT NULL,
    sequence BIGINT NOT NULL REFERENCES audit_log (sequence),
    PRIMARY KEY (kind, name, sequence)
);
CREATE TRIGGER audit_names_no_truncate BEFORE TRUNCATE ON audit_names
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- Entries written before this migration: the same derivation in SQL (lower() under the "C"
-- collation touches ASCII letters only, as `search_name` does; substr counts characters).
INSERT INTO audit_names (kind, name, sequence)
SELECT DISTINCT 'actor', substr(lower(n.v COLLATE "C"), 1, 128), a.sequence
FROM audit_log a,
     LATERAL (VALUES
         ((a.data::jsonb) #>> '{initiatedBy,user,displayName}'),
         ((a.data::jsonb) #>> '{initiatedBy,user,userPrincipalName}'),
         ((a.data::jsonb) #>> '{initiatedBy,app,displayName}'),
         ((a.data::jsonb) #>> '{initiatedBy,app,userPrincipalName}')) AS n (v)
WHERE n.v <> ''
ON CONFLICT DO NOTHING;

INSERT INTO audit_names (kind, name, sequence)
SELECT DISTINCT 'target', substr(lower(n.v COLLATE "C"), 1, 128), a.sequence
FROM audit_log a,
     jsonb_array_elements((a.data::jsonb) -> 'targetResources') t,
     LATERAL (VALUES (t ->> 'displayName'), (t ->> 'userPrincipalName')) AS n (v)
WHERE n.v <> ''
ON CONFLICT DO NOTHING;
