-- Filtering the audit log by activity (exact, or by a part matched against the distinct
-- activities first) reads this index instead of the log.
CREATE INDEX audit_log_activity ON audit_log (activity, sequence);
