//! The session table: every live session by token hash, in memory, kept current by the same
//! journal and change log as the access index (`Change::Session`, `SessionsRevoked`, a deleted
//! principal's sessions going with it). With it an authenticated request whose server is
//! current (`service::access::feed::is_fresh`) needs no database read to know its caller: a
//! sign-out or revocation anywhere holds here within `ELIGO_MAX_STALENESS`, and every write
//! still decides under the head lock on the database's state.
//!
//! Only hashes are held, as in the store. A token the table does not know is looked up in the
//! store (and refused there), so the table can only ever be the faster path to the same answer.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use eligo_store::{Change, TokenRecord};
use uuid::Uuid;

#[derive(Default)]
struct Table {
    by_hash: HashMap<String, TokenRecord>,
    by_principal: HashMap<Uuid, HashSet<String>>,
    /// Sessions added since expired ones were last dropped.
    added: usize,
}

/// Expired sessions are dropped after this many new ones.
const PRUNE_EVERY: usize = 10_000;

impl Table {
    fn put(&mut self, token: TokenRecord) {
        self.by_principal
            .entry(token.principal_id)
            .or_default()
            .insert(token.token_hash.clone());
        self.by_hash.insert(token.token_hash.clone(), token);
        self.added += 1;
    }

    fn remove_principal(&mut self, principal: Uuid) {
        for hash in self.by_principal.remove(&principal).unwrap_or_default() {
            self.by_hash.remove(&hash);
        }
    }

    fn revoke(&mut self, principal: Uuid, keep: Option<&str>, at: DateTime<Utc>) {
        let Some(hashes) = self.by_principal.get(&principal) else {
            return;
        };
        for hash in hashes {
            if Some(hash.as_str()) == keep {
                continue;
            }
            if let Some(token) = self.by_hash.get_mut(hash) {
                token.revoked_at.get_or_insert(at);
            }
        }
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        let dead: Vec<(String, Uuid)> = self
            .by_hash
            .values()
            .filter(|t| t.revoked_at.is_some() || t.expires_at.is_some_and(|end| end <= now))
            .map(|t| (t.token_hash.clone(), t.principal_id))
            .collect();
        for (hash, principal) in dead {
            self.by_hash.remove(&hash);
            if let Some(set) = self.by_principal.get_mut(&principal) {
                set.remove(&hash);
                if set.is_empty() {
                    self.by_principal.remove(&principal);
                }
            }
        }
        self.added = 0;
    }
}

#[derive(Default)]
pub struct SessionTable {
    table: RwLock<Table>,
}

impl SessionTable {
    pub fn load(tokens: Vec<TokenRecord>) -> Self {
        let mut table = Table::default();
        for token in tokens {
            table.put(token);
        }
        table.added = 0;
        Self {
            table: RwLock::new(table),
        }
    }

    /// Takes `other`'s contents (rebuilt with the index after a gap in the change log).
    pub fn replace(&self, other: SessionTable) {
        let fresh = other.table.into_inner().unwrap_or_else(|e| e.into_inner());
        *self.table.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    }

    /// Applies one committed transaction's session changes, at `now` (for pruning).
    pub fn apply(&self, changes: &[Change], now: DateTime<Utc>) {
        let relevant = changes.iter().any(|c| {
            matches!(
                c,
                Change::Session(_) | Change::SessionsRevoked { .. } | Change::PrincipalDeleted(_)
            )
        });
        if !relevant {
            return;
        }
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        for change in changes {
            match change {
                Change::Session(token) => table.put(token.clone()),
                Change::SessionsRevoked {
                    principal,
                    keep,
                    at,
                } => table.revoke(*principal, keep.as_deref(), *at),
                Change::PrincipalDeleted(id) => table.remove_principal(*id),
                _ => {}
            }
        }
        if table.added >= PRUNE_EVERY {
            table.prune(now);
        }
    }

    /// The session with this token hash, as last committed (revoked or expired ones included:
    /// the caller decides, exactly as with the store's record).
    pub fn get(&self, hash: &str) -> Option<TokenRecord> {
        self.table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_hash
            .get(hash)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_hash
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(hash: &str, principal: u128) -> TokenRecord {
        TokenRecord {
            token_hash: hash.into(),
            principal_id: Uuid::from_u128(principal),
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            expires_at: DateTime::from_timestamp(100, 0),
            revoked_at: None,
            last_mfa_at: None,
            amr: vec!["pwd".into()],
            channel: Default::default(),
            acr: None,
            acr_at: None,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn sessions_follow_the_journal() {
        let table = SessionTable::load(vec![token("a", 1), token("b", 1), token("c", 2)]);
        // A step-up replaces the record.
        let mut stepped = token("a", 1);
        stepped.last_mfa_at = Some(at(5));
        table.apply(&[Change::Session(stepped.clone())], at(5));
        assert_eq!(table.get("a"), Some(stepped));
        // "Sign out everywhere else" keeps the one session.
        table.apply(
            &[Change::SessionsRevoked {
                principal: Uuid::from_u128(1),
                keep: Some("a".into()),
                at: at(6),
            }],
            at(6),
        );
        assert_eq!(table.get("a").unwrap().revoked_at, None);
        assert_eq!(table.get("b").unwrap().revoked_at, Some(at(6)));
        // A deleted principal's sessions go with it.
        table.apply(&[Change::PrincipalDeleted(Uuid::from_u128(2))], at(7));
        assert_eq!(table.get("c"), None);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn expired_and_revoked_sessions_are_pruned_after_many_new_ones() {
        let table = SessionTable::load(vec![token("old", 1)]);
        let many: Vec<Change> = (0..PRUNE_EVERY)
            .map(|i| {
                let mut t = token(&format!("n{i}"), 3);
                t.expires_at = DateTime::from_timestamp(1_000, 0);
                Change::Session(t)
            })
            .collect();
        table.apply(&many, at(500));
        assert_eq!(table.get("old"), None, "expired at 100, pruned at 500");
        assert_eq!(table.len(), PRUNE_EVERY);
    }
}
