//! Test support: starts real components on loopback ports for Eligo's tests.
//!
//! - [`postgres_database`]: a fresh, empty database on a shared real PostgreSQL (started once per
//!   test process, or the server named by `ELIGO_TEST_POSTGRES_URL`).
//! - [`browser::runner`]: Chromium driven by playwright-core from a Node.js script.
//! - [`oidc::oidc_provider`]: a real OpenID Connect provider (npm oidc-provider) from a script.
//! - [`free_port`]: a free TCP port on 127.0.0.1.
//!
//! Components that cannot be found make their helper return `None` after a loud message, except
//! under CI (`CI` set and non-empty), where they panic: CI never skips.

pub mod browser;
mod component;
pub mod maildev;
pub mod oidc;
pub mod postgres;
pub mod scim;
pub mod slapd;

pub use postgres::{drop_postgres_database, postgres_database};

/// A TCP port on 127.0.0.1 that was free when asked. Another process may take it before it is
/// bound, so bind it soon, and retry with a new port if binding fails.
pub fn free_port() -> u16 {
    postgres::free_loopback_port()
}
