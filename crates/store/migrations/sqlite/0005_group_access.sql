-- PIM for Groups: a schedule can give membership or ownership of a group instead of a role.
-- Such a schedule carries a well-known access id in role_definition_id (not a role definition,
-- so that column loses its foreign key) and its group in `group_id`, which cascades: deleting
-- a group deletes the schedules that gave access to it, as deleting a principal deletes its own.
-- SQLite cannot drop a constraint, so the table is rebuilt (nothing references it).
CREATE TABLE role_schedules_v5 (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    role_definition_id TEXT NOT NULL,
    directory_scope_id TEXT NOT NULL,
    start_at INTEGER NOT NULL,
    end_at INTEGER,
    data TEXT NOT NULL,
    start_pending BOOLEAN NOT NULL DEFAULT FALSE,
    end_pending BOOLEAN NOT NULL DEFAULT FALSE,
    group_id TEXT REFERENCES principals (id) ON DELETE CASCADE
);
INSERT INTO role_schedules_v5 (id, kind, principal_id, role_definition_id, directory_scope_id,
    start_at, end_at, data, start_pending, end_pending)
SELECT id, kind, principal_id, role_definition_id, directory_scope_id, start_at, end_at, data,
    start_pending, end_pending
FROM role_schedules;
DROP TABLE role_schedules;
ALTER TABLE role_schedules_v5 RENAME TO role_schedules;
CREATE INDEX role_schedules_principal ON role_schedules (principal_id, kind);
CREATE INDEX role_schedules_role ON role_schedules (role_definition_id, kind);
CREATE INDEX role_schedules_end ON role_schedules (end_at);
CREATE INDEX role_schedules_start_due ON role_schedules (start_at) WHERE start_pending;
CREATE INDEX role_schedules_end_due ON role_schedules (end_at) WHERE end_pending;
CREATE INDEX role_schedules_principal_role ON role_schedules (principal_id, role_definition_id, kind);
CREATE INDEX role_schedules_group ON role_schedules (group_id) WHERE group_id IS NOT NULL;

-- Requests keep their group too (no foreign key: a request outlives what it was about).
ALTER TABLE schedule_requests ADD COLUMN group_id TEXT;
CREATE INDEX schedule_requests_group ON schedule_requests (group_id) WHERE group_id IS NOT NULL;
