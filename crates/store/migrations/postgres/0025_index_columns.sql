-- What the access index reads at start, as columns (see the SQLite migration of the same
-- number): whether a schedule is an activation, and a principal's UPN as written, manager and
-- account state. The writes set them; rows written before are backfilled from their record.
ALTER TABLE role_schedules ADD COLUMN activated BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE role_schedules SET activated = TRUE
    WHERE (data::jsonb) ->> 'assignmentType' = 'Activated';

ALTER TABLE principals
    ADD COLUMN upn TEXT,
    ADD COLUMN manager_id TEXT,
    ADD COLUMN account_enabled BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE principals SET
    upn = (data::jsonb) ->> 'userPrincipalName',
    manager_id = (data::jsonb) ->> 'managerId',
    account_enabled = COALESCE(((data::jsonb) ->> 'accountEnabled')::boolean, FALSE);
