//! Use cases. Each reads like a story: load, decide (in the core), write the new state and its
//! audit entry in one transaction, commit. Handlers stay thin and call these.

pub mod access;
pub mod access_pass;
pub mod alerts;
pub mod audit;
pub mod audit_values;
pub mod authority;
pub mod authorize;
pub mod bootstrap;
pub mod breakglass_notices;
pub mod connectors;
pub mod demo;
pub mod digest;
pub mod directory;
pub mod entitlement;
pub mod history;
pub mod ldap_import;
pub mod notices;
pub mod oidc;
pub mod outbox;
pub mod passkeys;
pub mod pim;
pub mod pim_alerts;
pub mod policies;
pub mod reviews;
pub mod scim;
pub mod separation;
pub mod sessions;
pub mod sp_passwords;
pub mod subscriptions;
pub mod verify_gate;
