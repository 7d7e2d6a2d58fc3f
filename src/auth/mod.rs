//! Who is calling: credentials (passwords, TOTP, client secrets), sessions (opaque bearer
//! tokens stored only as hashes), sign-in throttling, and the `Caller` every handler receives.

pub mod caller;
pub mod client_address;
pub mod credential;
pub mod oidc;
pub mod oidc_provider;
pub mod oidc_starts;
pub mod passkey;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod token;
pub mod totp;

pub use caller::Caller;
