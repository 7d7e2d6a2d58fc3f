-- PIM for Groups: a schedule can give membership or ownership of a group instead of a role.
-- Such a schedule carries a well-known access id in role_definition_id (not a role definition,
-- so that column loses its foreign key) and its group in `group_id`, which cascades: deleting
-- a group deletes the schedules that gave access to it, as deleting a principal deletes its own.
ALTER TABLE role_schedules DROP CONSTRAINT IF EXISTS role_schedules_role_definition_id_fkey;
ALTER TABLE role_schedules ADD COLUMN group_id TEXT REFERENCES principals (id) ON DELETE CASCADE;
CREATE INDEX role_schedules_group ON role_schedules (group_id) WHERE group_id IS NOT NULL;

-- Requests keep their group too (no foreign key: a request outlives what it was about).
ALTER TABLE schedule_requests ADD COLUMN group_id TEXT;
CREATE INDEX schedule_requests_group ON schedule_requests (group_id) WHERE group_id IS NOT NULL;
