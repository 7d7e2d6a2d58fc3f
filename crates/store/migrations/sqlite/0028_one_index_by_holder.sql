-- One index led by the holder, where there were two: 0027's covering index for the start,
-- keyed (principal_id, id, ...), and 0004's (principal_id, role_definition_id, kind) for a
-- holder's schedules of a role. Each cost a random page written to the WAL for every schedule
-- added (a write's pages are mostly such: counted frame by frame in BENCHMARKS.md, "Pages per
-- activation"). Keyed (principal_id, role_definition_id, kind, id, ...), the one index answers
-- both: a holder's schedules still arrive together for the start, which pages through it in
-- that order (`INDEX_SCHEDULE_PAGE` in sqlite.rs), and a holder's schedules of a role are a
-- range of it.
DROP INDEX IF EXISTS role_schedules_principal_role;
DROP INDEX IF EXISTS role_schedules_index_load_by_holder;
CREATE INDEX role_schedules_by_holder ON role_schedules (principal_id, role_definition_id, kind,
    id, start_at, end_at, end_pending, activated, directory_scope_id);
