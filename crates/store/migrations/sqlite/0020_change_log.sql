-- The change sequence (see the PostgreSQL migration of the same number). One process writes a
-- SQLite database and reports its commits to its index directly, so the sequence stays 0 and no
-- log is kept; the column lets both backends answer `change_head` with the same SQL.
ALTER TABLE audit_head ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
