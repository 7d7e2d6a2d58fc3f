-- OpenID Connect sign-ins under way (issue 19, item 1): the state, nonce and PKCE verifier of an
-- authorization request, kept server-side so that any server behind the balancer can finish
-- it. Keyed by the SHA-256 of the state; a row is taken (deleted) by the one callback that uses
-- it and is good for about ten minutes. Times are microseconds since the Unix epoch.
CREATE TABLE oidc_pending (
    state_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX oidc_pending_expiry ON oidc_pending (expires_at);
