-- A prefix of a name is a range of it in byte order (`push_prefixes` in shared_sql.rs): the
-- people picker and the name filters read the names starting with what was typed, not every
-- name before them. The database's collation may order otherwise (en_US ignores punctuation at
-- first), so the ranges are compared `COLLATE "C"` and these indexes hold the names in that
-- order. SQLite compares in byte order already, and its indexes serve as they are.
CREATE INDEX principals_kind_name_bytes ON principals (kind, display_name_lower COLLATE "C");
CREATE INDEX principals_upn_bytes ON principals (upn_lower COLLATE "C");
