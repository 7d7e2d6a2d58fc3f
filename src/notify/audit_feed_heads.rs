//! What the audit feeds were last queued for, held by the server for its whole life (`App`),
//! below the feed's planning (`crate::notify::audit_feed`).

use std::collections::HashMap;
use std::sync::Mutex;

use uuid::Uuid;

/// The head each feed was last queued for, so a worker pass that finds the head unmoved does
/// not write again (a job for it waits already, or its receiver is dead-lettered until the
/// next entry).
#[derive(Default)]
pub struct Planned {
    pub(crate) heads: Mutex<HashMap<Uuid, i64>>,
}
