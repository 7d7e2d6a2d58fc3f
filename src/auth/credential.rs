//! The kinds of credential kept for a principal (the store's credential rows), named once so
//! the use cases that write them and those that check them agree. Passkeys are
//! `crate::auth::passkey::KIND`.

/// A person's password hash.
pub const PASSWORD: &str = "password";
/// A person's confirmed TOTP secret.
pub const TOTP: &str = "totp";
/// A TOTP secret being enrolled, not yet confirmed by a code.
pub const TOTP_PENDING: &str = "totpPending";
/// A service principal's client secrets.
pub const CLIENT_SECRET: &str = "clientSecret";
