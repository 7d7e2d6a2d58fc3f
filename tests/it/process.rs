//! Process-level tests: the real `eligo` binary, started on a free loopback port with its own
//! data directory (or PostgreSQL database), killed, stopped and restarted; and the CLI's
//! offline and client commands run as a user would run them.

mod abuse;
mod access_cli;
mod alert_scans;
mod alerts_cli;
mod cli;
mod cli_usability;
mod crash;
mod graph_sdk;
mod master_key;
mod offline;
mod outbox;
mod packages_cli;
pub mod pim_cli;
mod readme_tours;
mod reviews_cli;
mod scale_out;
mod scheduler;
mod schemathesis;
mod scim_conformance;
mod several_servers;
mod sso;
mod startup;
pub mod support;
