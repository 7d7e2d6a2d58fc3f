//! What a batch of deliveries pushed downstream, gathered while its outcomes are recorded and
//! written with one statement per mapping and kind (where each effect used to be a statement
//! of its own). The last effect on a member wins, as if they had been written one by one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use eligo_store::Tx;
use uuid::Uuid;

/// Per mapping and member: its reference now downstream, or `None` when it was removed.
#[derive(Debug, Default)]
pub struct Pushed(BTreeMap<Uuid, BTreeMap<Uuid, Option<String>>>);

impl Pushed {
    pub fn put(&mut self, mapping: Uuid, principal: Uuid, reference: String) {
        self.0
            .entry(mapping)
            .or_default()
            .insert(principal, Some(reference));
    }

    pub fn remove(&mut self, mapping: Uuid, principal: Uuid) {
        self.0.entry(mapping).or_default().insert(principal, None);
    }

    /// Writes everything gathered into `tx`.
    pub async fn record(self, tx: &mut dyn Tx, now: DateTime<Utc>) -> eligo_store::Result<()> {
        for (mapping, members) in self.0 {
            let mut puts = Vec::new();
            let mut removals = Vec::new();
            for (principal, reference) in members {
                match reference {
                    Some(r) => puts.push((principal, r)),
                    None => removals.push(principal),
                }
            }
            if !puts.is_empty() {
                tx.put_provisioned_many(mapping, &puts, now).await?;
            }
            if !removals.is_empty() {
                tx.remove_provisioned_many(mapping, &removals).await?;
            }
        }
        Ok(())
    }
}
