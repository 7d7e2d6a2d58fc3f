-- Notices owed by the scheduler for access packages. Times are microseconds; both are set and
-- cleared in the transaction that causes or sends the notice, so a crash neither loses one nor
-- sends one twice, and both are counted by `next_due`.
-- `remind_at`: the next "your access ends in 14 days / 1 day" reminder owed for a live
-- assignment; NULL when none is owed, and cleared by the store when the assignment expires.
ALTER TABLE em_assignments ADD COLUMN remind_at INTEGER;
CREATE INDEX em_assignments_remind ON em_assignments (remind_at) WHERE remind_at IS NOT NULL;
-- Live assignments with an end delivered before this migration owe their reminders too: from
-- 14 days before the end (the scheduler sends the one whose moment has come, or none if late).
UPDATE em_assignments SET remind_at = due_at - 1209600000000 WHERE due_at IS NOT NULL;
-- `notice_at`: when the current approval stage of a waiting request escalates, so its
-- escalation approvers are mailed then; cleared by the store once the request stops waiting.
ALTER TABLE em_assignment_requests ADD COLUMN notice_at INTEGER;
CREATE INDEX em_assignment_requests_notice ON em_assignment_requests (notice_at) WHERE notice_at IS NOT NULL;
