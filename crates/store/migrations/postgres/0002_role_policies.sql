-- Role settings (role management policies). A policy is stored only once changed; until then
-- the server answers with the defaults under the same id.
CREATE TABLE role_policies (
    id TEXT PRIMARY KEY,
    scope_type TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (scope_type, scope_id, role_definition_id)
);
