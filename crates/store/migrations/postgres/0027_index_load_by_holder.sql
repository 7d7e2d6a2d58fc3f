-- Nothing on PostgreSQL: SQLite's 0027 re-keys the covering index its start pages through by
-- holder. PostgreSQL's start streams the table in its own order (`index_schedules` in
-- postgres.rs: no index, no sort), which pages keyed in any index order lost to (BENCHMARKS.md).
-- The number is kept so that both backends count their migrations alike.
SELECT 1;
