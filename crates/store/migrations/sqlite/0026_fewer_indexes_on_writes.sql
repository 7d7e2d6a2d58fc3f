-- Indexes that another index's prefix already serves: each cost a random page write on every
-- activation (a new schedule and a new request) and answered nothing the wider one does not.
-- (principal_id, kind) is the prefix-and-filter of (principal_id, role_definition_id, kind);
-- (principal_id) the prefix of (principal_id, status, created_at), from 0024.
DROP INDEX IF EXISTS role_schedules_principal;
DROP INDEX IF EXISTS schedule_requests_principal;
