//! One live `eligo serve` per server id on a PostgreSQL database.
//!
//! A server id names the outbox jobs its server claims, and a server that starts releases the
//! jobs its id left running, so that a restart after a crash takes them back at once rather
//! than after their lease. Two live servers with one id would therefore take each other's jobs
//! and deliver them twice (a membership added downstream again after its removal, a webhook
//! sent twice). So a server holds its id while it runs, as a session advisory lock on a
//! connection of its own: PostgreSQL releases it the moment that session ends, a crash or a
//! `kill -9` included. The session's TCP keepalives are short, so PostgreSQL also notices
//! within about half a minute a server whose machine vanished without closing its socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::task::JoinHandle;

use crate::{Result, StoreError};

/// How long a starting server waits for its id: the session of a server killed a moment ago
/// ends as soon as PostgreSQL reads the closed socket, within milliseconds, not at once.
const WAIT_FOR_RELEASE: Duration = Duration::from_secs(3);
const RETRY: Duration = Duration::from_millis(100);
/// How often the holding session is checked, and how soon a lost one is taken again.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The advisory lock's key for `server_id`: 64 bits of a SHA-256 in a namespace of its own,
/// so it meets neither sqlx's migration lock nor another id's (bar a 2^-64 chance).
pub(crate) fn lock_key(server_id: &str) -> i64 {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("eligo server id\0{server_id}").as_bytes(),
    );
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    i64::from_be_bytes(first)
}

/// Takes `server_id` for this process: the task that keeps holding it (abort it to let it
/// go), or `StoreError::ServerIdInUse` when another live session holds it. `taken` is set
/// while another session holds the id this one had lost (see `keep`).
pub(crate) async fn hold(
    options: &PgConnectOptions,
    server_id: &str,
    taken: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    let options = options.clone().options([
        // Seconds: PostgreSQL probes an idle session's client after 10 s, every 5 s, and ends
        // the session after 3 unanswered probes.
        ("tcp_keepalives_idle", "10"),
        ("tcp_keepalives_interval", "5"),
        ("tcp_keepalives_count", "3"),
        ("application_name", "eligo server id"),
    ]);
    let key = lock_key(server_id);
    let attempts = WAIT_FOR_RELEASE.as_millis() / RETRY.as_millis();
    let mut attempt = 0;
    let session = loop {
        let mut conn = PgConnection::connect_with(&options).await?;
        if locked(&mut conn, key).await? {
            break conn;
        }
        attempt += 1;
        if attempt > attempts {
            let holder = holder(&mut conn, key).await.unwrap_or_default();
            return Err(StoreError::ServerIdInUse {
                server_id: server_id.to_string(),
                holder,
            });
        }
        drop(conn);
        tokio::time::sleep(RETRY).await;
    };
    taken.store(false, Ordering::Release);
    Ok(tokio::spawn(keep(options, key, session, taken)))
}

async fn locked(conn: &mut PgConnection, key: i64) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(conn)
        .await?)
}

/// Who holds `key`, for the refusal: the session's process id and, where this role may see
/// it, the client's address and when it connected.
async fn holder(conn: &mut PgConnection, key: i64) -> Result<String> {
    // A bigint advisory lock is shown as its high half (classid) and low half (objid).
    let (high, low) = ((key as u64 >> 32) as i64, (key as u64 & 0xffff_ffff) as i64);
    let row: Option<(i32, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT l.pid, host(a.client_addr), a.backend_start::text FROM pg_locks l \
             LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
             AND l.classid::int8 = $1 AND l.objid::int8 = $2",
    )
    .bind(high)
    .bind(low)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        None => String::new(),
        Some((pid, address, since)) => {
            let mut held = format!("PostgreSQL session {pid}");
            if let Some(address) = address {
                held.push_str(&format!(" from {address}"));
            }
            if let Some(since) = since {
                held.push_str(&format!(" since {since}"));
            }
            held
        }
    })
}

/// Keeps the session that holds the id alive, and takes the id again on a new session when
/// that one ended (the database restarted, the network was cut). If another server started
/// with this id meanwhile, it holds the lock now: `taken` says so (this server then claims no
/// outbox job; `Store::server_id_taken`) until the other one stops and this one has it back.
async fn keep(
    options: PgConnectOptions,
    key: i64,
    mut session: PgConnection,
    taken: Arc<AtomicBool>,
) {
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        if sqlx::query("SELECT 1").execute(&mut session).await.is_ok() {
            continue;
        }
        session = loop {
            // Unreachable, the database says nothing about the lock: `taken` stays as it was.
            if let Ok(mut conn) = PgConnection::connect_with(&options).await
                && let Ok(got) = locked(&mut conn, key).await
            {
                taken.store(!got, Ordering::Release);
                if got {
                    break conn;
                }
            }
            tokio::time::sleep(CHECK_EVERY).await;
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_differ_between_ids() {
        assert_eq!(lock_key("s1"), lock_key("s1"));
        assert_ne!(lock_key("s1"), lock_key("s2"));
        assert_ne!(lock_key(""), lock_key("s1"));
    }
}
