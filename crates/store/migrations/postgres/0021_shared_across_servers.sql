-- What several servers on one database share (issue 18, item 2). Times are microseconds since
-- the Unix epoch.

-- The server that claimed a running job (its `ELIGO_SERVER_ID`): a server starting takes back
-- only its own claims at once; another server's wait for their lease (next_attempt_at).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

-- Failed sign-ins per throttle key (`acct:...`, `addr:...`, `session:...`), counted by every
-- server alike, so N servers give a guesser the budget of one. A row whose window has passed
-- counts from zero again; such rows are pruned.
CREATE TABLE throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
CREATE INDEX throttle_window ON throttle (window_start);

-- When a periodic duty of the scheduler last ran, whichever server ran it (e.g. the look for
-- "ends soon" reminders): written in the duty's own transaction, so N servers look once per
-- period between them.
CREATE TABLE duty_runs (
    duty TEXT PRIMARY KEY,
    last_run_at BIGINT NOT NULL
);
