//! PIM for directory roles through the HTTP API: the seed walkthroughs, requests of every
//! action, approvals and the scheduler.

mod approvals;
mod expiry;
mod groups;
mod requests;
mod walkthroughs;
