-- Nothing on PostgreSQL: SQLite's 0028 merges its two indexes led by the holder into one.
-- PostgreSQL has only one (0004's `role_schedules_principal_role`), its start reading the table
-- in its own order. The number is kept so that both backends count their migrations alike.
SELECT 1;
