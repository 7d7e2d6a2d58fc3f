//! Entitlement management (Graph's `identityGovernance/entitlementManagement`): catalogs hold
//! resources (groups, and Eligo's directory roles), access packages bundle resource roles, and
//! assignment policies say who may request a package, who approves, what to ask and how long it
//! lasts. This module holds the model, the validation of everything an administrator writes
//! (every broken rule reported, nothing clamped), separation of duties between packages and
//! groups, and the decisions a request needs before anything is granted: may this person ask
//! (`requestor::may_request`), under which policies (`requestor::applicable_policies`), and are
//! the answers acceptable (`question::validate_answers`).
//!
//! Nothing here reads the directory: who is in which group, who manages whom, arrive as facts
//! (`requestor::PrincipalFacts`) that the server resolves at the moment of the decision.

pub mod approval;
pub mod assignment;
pub mod catalog;
pub mod expiration;
pub mod extension;
pub mod incompatible;
pub mod package;
pub mod policy;
pub mod question;
pub(crate) mod read;
pub mod reminder;
pub mod request;
pub mod requestor;
pub mod resource;
pub mod review;
pub mod subject_set;
