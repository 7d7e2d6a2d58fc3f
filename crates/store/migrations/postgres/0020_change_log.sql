-- Every server keeps an in-memory access index; with several servers on one database each must
-- see every other's commits, in one order (issue 18, item 1). A write transaction that changed
-- who can reach what takes the next number of `change_seq` (under the head lock every write
-- holds, so the numbers are gap-free and in commit order) and writes its changes here; servers
-- follow the log by number, woken by NOTIFY eligo_changes. Old entries are pruned: a server
-- that falls further behind than the log reaches rebuilds its index from the tables.
ALTER TABLE audit_head ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE TABLE change_log (
    seq BIGINT PRIMARY KEY,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
