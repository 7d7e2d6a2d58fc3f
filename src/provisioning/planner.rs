//! Turning a transaction's changes into provisioning jobs, inside that transaction (the store's
//! `BeforeCommit` hook), so that no committed membership change can miss its downstream push.
//!
//! A change to a group's membership changes the effective membership of that group and of every
//! group it is nested in. For a user that is one job per mapped group it reaches; for a group
//! joining or leaving another (many users at once), one whole-group job per mapped group.
//! The access index still shows the state before this transaction here (it learns the changes
//! after COMMIT), which is what is needed to find what a deleted user or group belonged to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eligo_core::directory::{PrincipalKind, Relation};
use eligo_core::schedule::ScheduleKind;
use eligo_core::target::{GroupAccess, Target};
use eligo_store::{BeforeCommit, Change, MappingRow, NewJob, Tx};
use uuid::Uuid;

use crate::clock::Clock;
use crate::outbox::Payload;
use crate::service::access::live::LiveIndex;

pub struct Planner {
    pub access: Arc<LiveIndex>,
    pub clock: Arc<dyn Clock>,
}

/// What a transaction changed, as the provisioning of groups sees it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Affected {
    /// (group whose direct membership changed, user, when): the user's membership of the
    /// group and of every group above it may have changed.
    pub members: BTreeSet<(Uuid, Uuid, DateTime<Utc>)>,
    /// Groups whose membership changed for many users at once (nesting, deletion, mapping).
    pub groups: BTreeSet<Uuid>,
    /// (group, user, end): a membership that will end by itself. Its removal is written now,
    /// due at the end, so it starts the moment access ends rather than when the scheduler has
    /// processed the expiry (a thousand expiries at once take the scheduler a while).
    pub ends: BTreeSet<(Uuid, Uuid, DateTime<Utc>)>,
}

impl Planner {
    fn kind(&self, id: Uuid) -> Option<PrincipalKind> {
        self.access.principal(id).map(|(k, _)| k)
    }

    /// Reads `changes` against the index as it was before them.
    pub fn affected(&self, changes: &[Change], now: DateTime<Utc>) -> Affected {
        let mut out = Affected::default();
        for change in changes {
            match change {
                Change::Relation {
                    group,
                    principal,
                    relation: Relation::Member,
                    ..
                } => match self.kind(*principal) {
                    Some(PrincipalKind::Group) => {
                        out.groups.insert(*group);
                    }
                    // A principal created in this very transaction is not in the index yet.
                    _ => {
                        out.members.insert((*group, *principal, now));
                    }
                },
                Change::Schedule(s) => {
                    if let Target::Group {
                        group,
                        access: GroupAccess::Member,
                    } = s.target()
                        && s.kind == ScheduleKind::Active
                    {
                        // An ended schedule is revoked from its end, not from when noticed.
                        let at = s.end_date_time.filter(|end| *end <= now).unwrap_or(now);
                        out.members.insert((group, s.principal_id, at));
                        if let Some(end) = s.end_date_time.filter(|end| *end > now)
                            && s.end_pending
                        {
                            out.ends.insert((group, s.principal_id, end));
                        }
                    }
                }
                Change::PrincipalDeleted(id) => match self.kind(*id) {
                    Some(PrincipalKind::Group) => {
                        for above in self.access.groups_of(*id, now) {
                            out.groups.insert(above);
                        }
                    }
                    _ => {
                        for group in self.access.groups_of(*id, now) {
                            out.members.insert((group, *id, now));
                        }
                    }
                },
                // A user disabled or enabled again: what is pushed of them changes in every
                // group they are in (a disabled account is not pushed).
                Change::Principal(row)
                    if row.kind == PrincipalKind::User
                        && self.kind(row.id).is_some()
                        && row.enabled != self.access.is_enabled(row.id) =>
                {
                    for group in self.access.groups_of(row.id, now) {
                        out.members.insert((group, row.id, now));
                    }
                }
                Change::Provisioning { group } => {
                    out.groups.insert(*group);
                }
                _ => {}
            }
        }
        out
    }

    /// `group` and every group it sits in (its membership flows up).
    fn with_ancestors(&self, group: Uuid, now: DateTime<Utc>) -> Vec<Uuid> {
        let mut all = vec![group];
        all.extend(self.access.groups_of(group, now));
        all
    }

    /// The jobs for `affected`, given the mappings.
    pub fn jobs(
        &self,
        affected: &Affected,
        mappings: &[MappingRow],
        now: DateTime<Utc>,
    ) -> Vec<NewJob> {
        let mut by_group: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
        for m in mappings {
            by_group.entry(m.group_id).or_default().push(m.id);
        }
        let mapped_above = |group: Uuid| -> Vec<Uuid> {
            self.with_ancestors(group, now)
                .into_iter()
                .flat_map(|g| by_group.get(&g).cloned().unwrap_or_default())
                .collect()
        };
        let mut whole: BTreeSet<Uuid> = BTreeSet::new();
        for group in &affected.groups {
            whole.extend(mapped_above(*group));
        }
        let mut members: BTreeMap<(Uuid, Uuid), DateTime<Utc>> = BTreeMap::new();
        for (group, principal, at) in &affected.members {
            for mapping in mapped_above(*group) {
                if !whole.contains(&mapping) {
                    let slot = members.entry((mapping, *principal)).or_insert(*at);
                    *slot = (*slot).min(*at);
                }
            }
        }
        let mut jobs: Vec<NewJob> = whole
            .into_iter()
            .map(|mapping_id| {
                Payload::ProvisionGroup {
                    mapping_id,
                    cause_at: now,
                }
                .job(now, None)
            })
            .collect();
        jobs.extend(
            members
                .into_iter()
                .map(|((mapping_id, principal_id), cause_at)| {
                    Payload::ProvisionMember {
                        mapping_id,
                        principal_id,
                        cause_at,
                    }
                    .job(now, None)
                }),
        );
        for (group, principal_id, end) in &affected.ends {
            for mapping_id in mapped_above(*group) {
                let payload = Payload::ProvisionMember {
                    mapping_id,
                    principal_id: *principal_id,
                    cause_at: *end,
                };
                let key = format!(
                    "provisioning:{mapping_id}:{principal_id}@{}",
                    end.timestamp_micros()
                );
                jobs.push(payload.job_keyed(*end, key));
            }
        }
        jobs
    }
}

#[async_trait]
impl BeforeCommit for Planner {
    async fn before_commit(&self, tx: &mut dyn Tx, changes: &[Change]) -> eligo_store::Result<()> {
        let now = self.clock.now();
        let affected = self.affected(changes, now);
        if affected == Affected::default() {
            return Ok(());
        }
        let mappings = tx.list_mappings(None, None).await?;
        if mappings.is_empty() {
            return Ok(());
        }
        // One statement for the whole transaction's jobs (a scheduler pass ending 200
        // memberships writes 200), not one per job.
        tx.enqueue_jobs(&self.jobs(&affected, &mappings, now), now)
            .await?;
        Ok(())
    }
}
