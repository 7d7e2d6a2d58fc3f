-- The single sign-on identity an account is bound to: the provider's issuer and its subject
-- (the ID token's `iss` and `sub`, which the provider never reassigns, unlike an e-mail
-- address). One per account, and one account per identity: once bound, the account signs in
-- through that provider's subject only, and no other provider can vouch for it by a claim
-- until an administrator changes the binding (Graph's `identities`). Times are microseconds
-- since the Unix epoch. Removed with the principal (`delete_principal`).
CREATE TABLE sign_in_identities (
    principal_id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    linked_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX sign_in_identities_subject ON sign_in_identities (issuer, subject);
