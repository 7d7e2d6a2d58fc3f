-- Access package requests waiting for approval: `due_at` is the current stage's deadline
-- (durationBeforeAutomaticDenial), while the request waits; NULL once decided, canceled or
-- timed out (cleared in the transaction that records it, so a restart neither loses a timeout
-- nor denies a request twice). Counted by `next_due`. Times are microseconds.
ALTER TABLE em_assignment_requests ADD COLUMN due_at BIGINT;
CREATE INDEX em_assignment_requests_due ON em_assignment_requests (due_at) WHERE due_at IS NOT NULL;
