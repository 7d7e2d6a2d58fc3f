-- Access package assignment requests and assignments. As in 0009, each record's JSON (`data`)
-- is the truth and the columns are derived from it to look up on. Times are microseconds.

CREATE TABLE em_assignment_requests (
    id TEXT PRIMARY KEY,
    package_id TEXT NOT NULL,
    policy_id TEXT,
    target_id TEXT NOT NULL,
    requestor_id TEXT NOT NULL,
    assignment_id TEXT,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX em_assignment_requests_target ON em_assignment_requests (target_id);
CREATE INDEX em_assignment_requests_requestor ON em_assignment_requests (requestor_id);
CREATE INDEX em_assignment_requests_package ON em_assignment_requests (package_id);

-- `due_at`: the end the scheduler owes an expiry, while the assignment is live and has one;
-- NULL once handled (cleared in the expiry's own transaction, so a restart neither loses nor
-- repeats it).
CREATE TABLE em_assignments (
    id TEXT PRIMARY KEY,
    package_id TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    state TEXT NOT NULL,
    due_at BIGINT,
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX em_assignments_target ON em_assignments (target_id);
CREATE INDEX em_assignments_package ON em_assignments (package_id);
CREATE INDEX em_assignments_due ON em_assignments (due_at) WHERE due_at IS NOT NULL;
