-- Access reviews (governance.md section 2). Definitions (the core's JSON; next_start_at: when
-- the scheduler starts the next instance), instances (due_at: the end of the running stage, or
-- now when an apply is pending) and decisions, one per principal and access per stage, with
-- their reviewers in a table of their own so "what waits on me" is one indexed read.
CREATE TABLE review_definitions (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    next_start_at INTEGER,
    data TEXT NOT NULL
);
CREATE INDEX review_definitions_next_start ON review_definitions (next_start_at)
    WHERE next_start_at IS NOT NULL;
CREATE TABLE review_instances (
    id TEXT PRIMARY KEY,
    definition_id TEXT NOT NULL REFERENCES review_definitions (id) ON DELETE CASCADE,
    start_at INTEGER NOT NULL,
    due_at INTEGER,
    data TEXT NOT NULL
);
CREATE INDEX review_instances_definition ON review_instances (definition_id, start_at);
CREATE INDEX review_instances_due ON review_instances (due_at) WHERE due_at IS NOT NULL;
CREATE TABLE review_decisions (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES review_instances (id) ON DELETE CASCADE,
    stage INTEGER NOT NULL,
    principal_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX review_decisions_instance ON review_decisions (instance_id, stage);
CREATE TABLE review_decision_reviewers (
    reviewer_id TEXT NOT NULL,
    decision_id TEXT NOT NULL REFERENCES review_decisions (id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL,
    PRIMARY KEY (reviewer_id, decision_id)
);
CREATE INDEX review_decision_reviewers_decision ON review_decision_reviewers (decision_id);
