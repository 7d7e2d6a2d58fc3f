//! The memory of break-glass announcements, held by the server for its whole life (`App`),
//! below the use cases that consult it (`crate::service::bootstrap`).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// When each break-glass session was last announced.
///
/// Why a quiet period and not a notice per request: the configured token is a bearer token
/// used directly on every request, so one incident is hundreds of requests; a mail each would
/// bury the one that matters and mail-bomb every Global Administrator (someone holding the
/// token could even do it on purpose). Each request is still audited with its address; the
/// announcement says "this session is in use" at its first request and again every
/// `ELIGO_BREAKGLASS_NOTICE_INTERVAL` while it stays in use. Kept in memory: after a restart
/// the next use is announced again (louder, never quieter).
#[derive(Default)]
pub struct Announced {
    last: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Announced {
    /// Is an announcement due for `session` at `now`? Claims it, so concurrent requests of
    /// one burst announce once.
    pub(crate) fn claim(&self, session: &str, now: DateTime<Utc>, quiet: TimeDelta) -> bool {
        let mut last = self.last.lock().expect("break-glass notices lock");
        let due = last
            .get(session)
            .is_none_or(|at| now >= *at + quiet || now < *at);
        if due {
            if last.len() > 10_000 {
                last.retain(|_, at| now < *at + quiet);
            }
            last.insert(session.to_string(), now);
        }
        due
    }

    /// Gives a claim back when its transaction failed, so the next use announces.
    pub(crate) fn release(&self, session: &str, at: DateTime<Utc>) {
        let mut last = self.last.lock().expect("break-glass notices lock");
        if last.get(session) == Some(&at) {
            last.remove(session);
        }
    }
}
