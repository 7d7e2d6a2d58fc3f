-- Side effects and downstream provisioning. Times are microseconds since the Unix epoch.

-- Every side effect (a mail, a webhook event, a downstream membership change) is a job written
-- in the same transaction as the change that causes it, and delivered after the commit.
-- status: pending (waiting, due at next_attempt_at), running (claimed until next_attempt_at,
-- the lease), delivered, failed (dead letter: retried only on request).
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    -- At most one PENDING job per key: a provisioning job re-reads the desired state when it
    -- runs, so a second pending one would do the same work twice.
    coalesce_key TEXT,
    -- Never two jobs with this key, whatever their status (e.g. one reminder per schedule end).
    once_key TEXT UNIQUE,
    -- What the job concerns, for the API (connector id, subscription id, recipient).
    subject TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE UNIQUE INDEX outbox_coalesce ON outbox (coalesce_key) WHERE status = 'pending';
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'running');
CREATE INDEX outbox_status ON outbox (status, created_at);

-- Downstream systems. `settings` holds the connector's settings, secrets included (never
-- answered over the API); `health` what the last deliveries found.
CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    display_name TEXT NOT NULL,
    settings TEXT NOT NULL,
    health TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An Eligo group mapped to a downstream group. No cascade from the group or the connector:
-- deleting either while mapped is refused, or members would keep access downstream.
CREATE TABLE provisioning (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES principals (id),
    connector_id TEXT NOT NULL REFERENCES connectors (id),
    target TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (connector_id, target)
);
CREATE INDEX provisioning_group ON provisioning (group_id);

-- What Eligo pushed to each downstream group and believes is there, by principal. No foreign
-- key to principals: a deleted user must still be removed downstream by this reference.
CREATE TABLE provisioned (
    mapping_id TEXT NOT NULL REFERENCES provisioning (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (mapping_id, principal_id)
);

-- Webhook subscriptions to notices.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Security alerts (e.g. members added outside Eligo, a downstream failing).
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alerts_created ON alerts (created_at);

-- One-click approval links already used (their SHA-256): a link works once.
CREATE TABLE used_links (
    token_hash TEXT PRIMARY KEY,
    used_at BIGINT NOT NULL
);

-- Keys Eligo generates for itself on first start (e.g. the link-signing key), hex.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
