-- Eligo schema, PostgreSQL flavour. Times are microseconds since the Unix epoch (BIGINT), so the
-- same SQL text compares and orders them on both backends. Each row keeps its full record as
-- JSON in `data`; the other columns exist to be indexed, filtered or constrained.

CREATE TABLE principals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    upn_lower TEXT UNIQUE,
    app_id TEXT UNIQUE,
    display_name TEXT NOT NULL,
    display_name_lower TEXT NOT NULL,
    mail_lower TEXT,
    is_role_assignable BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX principals_kind_name ON principals (kind, display_name_lower, id);

CREATE TABLE group_relations (
    group_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    relation TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, relation, principal_id)
);
CREATE INDEX group_relations_principal ON group_relations (principal_id, relation);

CREATE TABLE credentials (
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (principal_id, kind)
);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    data TEXT NOT NULL
);
CREATE INDEX tokens_principal ON tokens (principal_id);

CREATE TABLE role_definitions (
    id TEXT PRIMARY KEY,
    display_name_lower TEXT NOT NULL UNIQUE,
    is_built_in BOOLEAN NOT NULL,
    data TEXT NOT NULL
);

CREATE TABLE role_schedules (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    role_definition_id TEXT NOT NULL REFERENCES role_definitions (id),
    directory_scope_id TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT,
    data TEXT NOT NULL
);
CREATE INDEX role_schedules_principal ON role_schedules (principal_id, kind);
CREATE INDEX role_schedules_role ON role_schedules (role_definition_id, kind);
CREATE INDEX role_schedules_end ON role_schedules (end_at);

CREATE TABLE audit_log (
    sequence BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    activity_at BIGINT NOT NULL,
    category TEXT NOT NULL,
    activity TEXT NOT NULL,
    initiator_id TEXT,
    data TEXT NOT NULL
);
CREATE INDEX audit_log_activity_at ON audit_log (activity_at);

CREATE TABLE audit_targets (
    sequence BIGINT NOT NULL REFERENCES audit_log (sequence),
    target_id TEXT NOT NULL,
    PRIMARY KEY (target_id, sequence)
);

-- One row: the chain's head. Every write transaction locks it first (see ARCHITECTURE.md).
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, sequence, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The audit trail is append-only, whatever code runs against the database.
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are never updated or deleted';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_targets_no_truncate BEFORE TRUNCATE ON audit_targets
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
