//! Access reviews (`/v1/identityGovernance/accessReviews`) with the mock clock: a review from
//! its start to the removal of denied access, reviewers of every kind with their fallback,
//! several stages, recurrence, recommendations, the refusals that change nothing, and who may
//! run a review at all.

mod bad_input;
mod demo;
mod lifecycle;
mod packages;
mod reminders;
mod scopes;
mod stages;
pub(crate) mod support;
mod who_runs;
