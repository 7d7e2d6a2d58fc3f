//! Entitlement management through Graph's `identityGovernance/entitlementManagement` API:
//! administration round trips, bad input, authorization, separation-of-duties `$ref`s and who
//! may request what.

mod admin;
mod approvals;
mod assignments;
mod bad_input;
mod demo;
mod extensions;
mod hand_out;
mod notices;
mod protected;
mod races;
mod request_refusals;
mod requestable;
mod scheduled;
mod separation;
pub mod support;
