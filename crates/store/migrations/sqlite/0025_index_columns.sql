-- What the access index reads at start, as columns: a server starting on a million schedules
-- read every schedule's record to tell an activation (a LIKE on the JSON) and every principal's
-- to find its manager, account state and UPN (BENCHMARKS.md, "A real server starting on a store
-- of a million schedules"). The writes set these columns from the record they store beside
-- them; rows written before are backfilled here from that record.
ALTER TABLE role_schedules ADD COLUMN activated BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE role_schedules SET activated = TRUE
    WHERE json_extract(data, '$.assignmentType') = 'Activated';
-- Everything the index reads of a schedule, keyed by id: the start pages through this index
-- alone (`INDEX_SCHEDULE_PAGE` in sqlite.rs). A row of the table carries its whole record, so
-- a scan of the table read about ten times the pages.
CREATE INDEX role_schedules_index_load ON role_schedules (id, kind, principal_id,
    role_definition_id, start_at, end_at, end_pending, activated, directory_scope_id);

-- The UPN as written (`upn_lower` is for lookups), the manager (users) and whether the account
-- may sign in (users and service principals; groups have no `accountEnabled`: false).
ALTER TABLE principals ADD COLUMN upn TEXT;
ALTER TABLE principals ADD COLUMN manager_id TEXT;
ALTER TABLE principals ADD COLUMN account_enabled BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE principals SET
    upn = json_extract(data, '$.userPrincipalName'),
    manager_id = json_extract(data, '$.managerId'),
    account_enabled = COALESCE(json_extract(data, '$.accountEnabled'), FALSE);
