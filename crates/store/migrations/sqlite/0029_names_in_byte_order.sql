-- Nothing on SQLite: PostgreSQL's 0029 adds indexes of the principals' names in byte order,
-- the order SQLite's indexes already hold them in. The number is kept so that both backends
-- count their migrations alike.
SELECT 1;
