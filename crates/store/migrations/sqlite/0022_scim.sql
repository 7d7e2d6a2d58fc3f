-- Inbound SCIM 2.0 provisioning (issue 19). Times are microseconds since the Unix epoch.

-- A provisioning client: a credential of its own kind, its bearer token stored only as a hash
-- (SHA-256 of the token, like sessions). Revoked clients stay for the record.
CREATE TABLE scim_clients (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- Who owns what: the source of a user or group a client provisioned, with the client's own id
-- for it (SCIM externalId), unique per client and kind, and the SCIM attributes Eligo's own
-- record has no field for (userName as sent, name, every email), as JSON. A principal without
-- a row is Eligo's.
CREATE TABLE principal_sources (
    principal_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL,
    external_id TEXT,
    attributes TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX principal_sources_client ON principal_sources (client_id, kind, created_at);
CREATE UNIQUE INDEX principal_sources_external ON principal_sources (client_id, kind, external_id);
