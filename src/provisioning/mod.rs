//! Pushing group memberships downstream. An Eligo group mapped to a downstream group (an LDAP
//! group DN, a SCIM group, a webhook receiver) has its effective membership — direct, nested,
//! and activated through PIM for Groups — mirrored there:
//!
//! - `planner` runs inside every write transaction (the store's `BeforeCommit` hook) and turns
//!   what it changed into provisioning jobs for the mapped groups it touches, so a crash after
//!   the commit loses nothing;
//! - `deliver` runs those jobs: it reads what Eligo wants *now* from the access index and makes
//!   the downstream group match, recording what it pushed; `members` delivers the member jobs
//!   of one claimed batch together (one read per mapping, one delivery per member);
//! - `reconcile` compares each downstream group with Eligo's view on a timer and on demand,
//!   removes strays and raises "Members added outside Eligo";
//! - `registry` keeps one live client per connector; `health` what its last deliveries found.
//!
//! Live delivery and reconciliation of one mapping never interleave: both take the mapping's
//! lock, and both decide from the index at the moment they hold it, so they cannot fight.

pub mod deliver;
pub mod health;
pub mod members;
pub mod planner;
pub mod reconcile;
pub mod registry;
