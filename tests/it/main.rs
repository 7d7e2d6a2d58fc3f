//! Eligo's integration tests: one binary (so it links once), driving the real router in-process
//! with a fresh database and a mock clock per test; process-level tests start the real `eligo`
//! binary on a loopback port.

mod harness;

mod access;
mod access_pass;
mod attacks;
mod audit;
mod audit_changes;
mod audit_feed;
mod auth;
mod bad_input;
mod breakglass;
mod clock_skew;
mod cold_load;
mod digest;
mod directory;
mod downstream;
mod entitlement;
mod failure_bursts;
mod fuzz;
mod history;
mod imports;
mod ldap_import;
mod limits;
mod matrix;
mod notices;
mod oidc;
mod outbound;
mod passkey;
mod pim;
mod pim_alerts;
mod pim_alerts_demo;
mod pim_alerts_eligo;
mod pim_alerts_history;
mod pim_alerts_mail;
mod policies;
mod portal;
mod process;
mod provisioning;
mod read_only_database;
mod reviews;
mod scim;
mod secrets;
mod shared_state;
mod sso_identities;
mod syslog;
