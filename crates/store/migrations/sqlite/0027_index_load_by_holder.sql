-- The start's covering index (0025) again, led by the holder: read in `id` order (random
-- UUIDs), every schedule the start placed touched a random principal's entries of the access
-- index, and the placing, not SQLite, was most of a start at a million schedules. Read in
-- `(principal_id, id)` order, a holder's schedules arrive together and its entries stay in
-- cache (BENCHMARKS.md, "A real server starting on a store of a million schedules").
-- `INDEX_SCHEDULE_PAGE` in sqlite.rs pages through it alone.
DROP INDEX IF EXISTS role_schedules_index_load;
CREATE INDEX role_schedules_index_load_by_holder ON role_schedules (principal_id, id, kind,
    role_definition_id, start_at, end_at, end_pending, activated, directory_scope_id);
