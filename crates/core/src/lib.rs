//! Eligo's pure domain: principals, roles, scopes, schedules, policies, audit events and the
//! decisions over them. Nothing here performs I/O, awaits, reads a clock or draws randomness:
//! `now` and fresh ids arrive as arguments, so every decision can be tested as a plain function.
//! Cargo keeps it that way: chrono's `clock` feature is off and no async or database crate is a
//! dependency.

pub mod access;
pub mod access_pass;
pub mod activation;
pub mod approval;
pub mod assignment;
pub mod audit;
pub mod authz;
pub mod directory;
pub mod directory_changes;
pub mod directory_import;
pub mod duration;
pub mod duration_words;
pub mod entitlement;
pub mod filter;
pub mod invalid;
pub mod pim_alerts;
pub mod policy;
pub mod policy_changes;
pub mod privilege;
pub mod record_id;
pub mod request;
pub mod review;
pub mod roles;
pub mod schedule;
pub mod scim_filter;
pub mod scope;
pub mod source;
pub mod target;
pub mod text;
