-- The scheduler's work list. A schedule owes a start notice while `start_pending` and an expiry
-- while `end_pending`; the columns are authoritative (the JSON's flags are overwritten from them
-- on read), so rows written before this migration need no rewrite of their JSON.
ALTER TABLE role_schedules ADD COLUMN start_pending BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE role_schedules ADD COLUMN end_pending BOOLEAN NOT NULL DEFAULT FALSE;
-- Every schedule with an end still owes its expiry (processing an end already past is harmless).
UPDATE role_schedules SET end_pending = TRUE WHERE end_at IS NOT NULL;
CREATE INDEX role_schedules_start_due ON role_schedules (start_at) WHERE start_pending;
CREATE INDEX role_schedules_end_due ON role_schedules (end_at) WHERE end_pending;

-- Schedule requests (eligibility and assignment), kept for the record: no foreign key to the
-- principal (the request outlives it) and no append-only trigger (the status moves forward).
-- `deadline_at` is the approval stage's timeout while the request awaits approval, else NULL.
CREATE TABLE schedule_requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,
    directory_scope_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deadline_at INTEGER,
    data TEXT NOT NULL
);
CREATE INDEX schedule_requests_principal ON schedule_requests (principal_id);
CREATE INDEX schedule_requests_status ON schedule_requests (status);
CREATE INDEX schedule_requests_deadline ON schedule_requests (deadline_at);
CREATE INDEX schedule_requests_created ON schedule_requests (created_at, id);
