//! The server's effective-access index: `eligo_core::access::Index` built from the store at
//! start and kept current by the store's change journal (`eligo_store::Change`), which reports
//! every committed write before that write is answered. Checks, the caller's grants,
//! transitive membership and the exposure report all read it; nothing here reads the store.
//!
//! How store facts become index entries (the one place that knows it):
//! - a direct membership is an edge `group ← member`, unbounded;
//! - an active group-membership schedule (PIM for Groups) is an edge with the schedule's window;
//! - an active role schedule is an assignment of the role id at its scope, id = schedule id;
//! - an eligible role schedule is an assignment of `eligible:{role}` (so eligibility also flows
//!   through role-assignable groups, exactly like roles);
//! - ownership, direct or through a schedule, is an assignment of `owner` at `/groups/{id}`, and
//!   an eligible group access one of `eligible:member` or `eligible:owner` there.
//!
//! Every window is evaluated at the moment of the check, so an entry whose end has passed
//! grants nothing even before the scheduler processes it; processed ends are then pruned.
//!
//! A schedule is kept once, in the index: its id, holder, role, scope and window are the
//! index's assignment. Beside it only what the index cannot say: which assignments are
//! activations, and the PIM for Groups memberships (edges, which have no id). At a million
//! schedules that is the difference between starting in 500 MiB and not (BENCHMARKS.md, "Cold
//! start"); the start reads schedules narrowly, in pages or a stream, as the index is built
//! (`Tx::index_schedules`), and principals and relations from columns (migration 0025).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use eligo_core::access::{
    Assignment, AssignmentRef, Decision, FastBuildHasher, Index, Membership, TransitiveMember,
    Window,
};
use eligo_core::authz::{Grants, HeldRole};
use eligo_core::directory::{PrincipalKind, Relation};
use eligo_core::privilege;
use eligo_core::roles::RoleDefinition;
use eligo_core::schedule::ScheduleKind;
use eligo_core::target::{GROUP_SCOPE_LEN, GroupAccess, Target, group_scope, group_scope_in};
use eligo_store::{Change, IndexedSchedule, PrincipalRow, Store};
use uuid::Uuid;

use super::schedule_batch::{BATCH, ScheduleBatch};
use crate::failure::{Failure, UseCaseResult};

const OWNER: &str = "owner";

const ELIGIBLE: &str = "eligible:";

/// The index role standing for eligibility to `role` (a role id, `member` or `owner`).
pub fn eligible(role: &str) -> String {
    format!("{ELIGIBLE}{role}")
}

/// Room for [`eligible`] of a role id (the longest it is given).
type EligibleBuffer = [u8; ELIGIBLE.len() + 36];

/// [`eligible`] spelled into `buf`, without allocating: half a start's schedules are
/// eligibilities.
fn eligible_in<'b>(role: &str, buf: &'b mut EligibleBuffer) -> &'b str {
    let text = &mut buf[..ELIGIBLE.len() + role.len()];
    let (prefix, rest) = text.split_at_mut(ELIGIBLE.len());
    prefix.copy_from_slice(ELIGIBLE.as_bytes());
    rest.copy_from_slice(role.as_bytes());
    std::str::from_utf8(text).expect("two texts back to back")
}

fn owner_relation_id(group: Uuid, owner: Uuid) -> String {
    format!("owner:{group}:{owner}")
}

/// An active PIM for Groups membership: an index edge, which has no id, so what taking it out
/// again needs is kept here.
#[derive(Clone, Copy)]
struct PlacedEdge {
    group: Uuid,
    member: Uuid,
    window: Window,
}

/// The schedule behind an index assignment, as access answers and reports describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldSchedule {
    pub id: Uuid,
    /// Activated by its holder rather than assigned.
    pub activated: bool,
    pub end: Option<DateTime<Utc>>,
}

/// Keyed by the server's own ids (random UUIDs), with the index's hasher: std's default
/// hashed a start's hundreds of thousands of keys several times slower.
type IdMap<K, V> = HashMap<K, V, FastBuildHasher>;
type IdSet<K> = HashSet<K, FastBuildHasher>;

#[derive(Default)]
struct State {
    index: Index,
    principals: IdMap<Uuid, PrincipalRow>,
    roles: HashMap<Uuid, RoleDefinition>,
    /// Each role's actions, shared by every caller that holds it (`LiveIndex::grants`).
    role_actions: HashMap<Uuid, Arc<[String]>>,
    relations: IdSet<(Uuid, Uuid, Relation)>,
    /// The schedules held as index assignments that are activations (the rest are assigned).
    activated: IdSet<Uuid>,
    /// The schedules held as index edges, by id.
    edges: IdMap<Uuid, PlacedEdge>,
}

/// The live index, shared by every request (reads in parallel, one writer at a time).
#[derive(Default)]
pub struct LiveIndex {
    state: RwLock<State>,
}

/// The group a schedule gives access to, for a group target (no allocation for a role).
fn group_of(s: &IndexedSchedule) -> Option<(Uuid, GroupAccess)> {
    GroupAccess::from_role_id(s.role_definition_id)?;
    Target::of(s.role_definition_id, s.directory_scope_id).group()
}

/// What an index role of a schedule stands for: the group access (`owner`, `eligible:member`,
/// `eligible:owner`) or the role, and whether it is an eligibility. The inverse of `place`.
fn decode(role: &str) -> (bool, Result<GroupAccess, Option<Uuid>>) {
    let (eligible, what) = match role.strip_prefix(ELIGIBLE) {
        Some(what) => (true, what),
        None => (false, role),
    };
    match GroupAccess::parse(what) {
        Some(access) => (eligible, Ok(access)),
        None => (eligible, Err(Uuid::parse_str(what).ok())),
    }
}

impl State {
    fn put_role(&mut self, role: RoleDefinition) {
        self.role_actions
            .insert(role.id, role.actions().map(String::from).collect());
        self.roles.insert(role.id, role);
    }

    fn add_relation(&mut self, group: Uuid, principal: Uuid, relation: Relation) {
        if !self.relations.insert((group, principal, relation)) {
            return;
        }
        match relation {
            Relation::Member => {
                // Ids spelled on the stack: a start places every membership (216,000 at a
                // million schedules).
                let (mut g, mut p) = (Uuid::encode_buffer(), Uuid::encode_buffer());
                self.index.add_member(
                    group.hyphenated().encode_lower(&mut g),
                    principal.hyphenated().encode_lower(&mut p),
                    Window::ALWAYS,
                );
            }
            Relation::Owner => {
                self.index.add_assignment(Assignment {
                    id: owner_relation_id(group, principal),
                    principal: principal.to_string(),
                    role: OWNER.into(),
                    scope: group_scope(group),
                    window: Window::ALWAYS,
                });
            }
        }
    }

    fn remove_relation(&mut self, group: Uuid, principal: Uuid, relation: Relation) {
        if !self.relations.remove(&(group, principal, relation)) {
            return;
        }
        match relation {
            Relation::Member => {
                self.index.remove_member(
                    &group.to_string(),
                    &principal.to_string(),
                    Window::ALWAYS,
                );
            }
            Relation::Owner => {
                self.index
                    .remove_assignment(&owner_relation_id(group, principal));
            }
        }
    }

    fn unplace(&mut self, id: Uuid) {
        if let Some(e) = self.edges.remove(&id) {
            self.index
                .remove_member(&e.group.to_string(), &e.member.to_string(), e.window);
        } else {
            self.index.remove_assignment(&id.to_string());
            self.activated.remove(&id);
        }
    }

    /// A schedule's new state replaces its old one.
    fn place(&mut self, schedule: &IndexedSchedule) {
        self.unplace(schedule.id);
        self.place_new(schedule);
    }

    /// Places a schedule the index does not hold (at start, ids are the table's keys). Every
    /// text is spelled on the stack: a start places a million.
    fn place_new(&mut self, s: &IndexedSchedule) {
        // An end the scheduler has processed (or a deactivation set) is over: nothing to keep.
        if s.end.is_some() && !s.end_pending {
            return;
        }
        let window = Window::new(Some(s.start), s.end);
        let (mut id, mut principal, mut role_id) = (
            Uuid::encode_buffer(),
            Uuid::encode_buffer(),
            Uuid::encode_buffer(),
        );
        let principal = &*s.principal_id.hyphenated().encode_lower(&mut principal);
        let mut scope_text = [0; GROUP_SCOPE_LEN];
        let mut eligible_role: EligibleBuffer = [0; ELIGIBLE.len() + 36];
        let (role, scope): (&str, &str) = match (group_of(s), s.kind) {
            (Some((group, GroupAccess::Member)), ScheduleKind::Active) => {
                let group_text = group.hyphenated().encode_lower(&mut role_id);
                self.index.add_member(group_text, principal, window);
                let edge = PlacedEdge {
                    group,
                    member: s.principal_id,
                    window,
                };
                self.edges.insert(s.id, edge);
                return;
            }
            (Some((group, access)), kind) => {
                let role = match kind {
                    ScheduleKind::Active => OWNER,
                    ScheduleKind::Eligible => eligible_in(access.as_str(), &mut eligible_role),
                };
                (role, group_scope_in(group, &mut scope_text))
            }
            (None, ScheduleKind::Active) => (
                &*s.role_definition_id.hyphenated().encode_lower(&mut role_id),
                s.directory_scope_id,
            ),
            (None, ScheduleKind::Eligible) => {
                let role = s.role_definition_id.hyphenated().encode_lower(&mut role_id);
                (eligible_in(role, &mut eligible_role), s.directory_scope_id)
            }
        };
        self.index.add_assignment_ref(AssignmentRef {
            id: s.id.hyphenated().encode_lower(&mut id),
            principal,
            role,
            scope,
            window,
        });
        if s.activated {
            self.activated.insert(s.id);
        }
    }

    fn delete_principal(&mut self, id: Uuid) {
        self.principals.remove(&id);
        let gone: Vec<_> = self
            .relations
            .iter()
            .filter(|(g, p, _)| *g == id || *p == id)
            .copied()
            .collect();
        for (g, p, r) in gone {
            self.remove_relation(g, p, r);
        }
        // Schedules it held, and those giving access to it (a group).
        let (text, scope) = (id.to_string(), group_scope(id));
        let mut gone: Vec<Uuid> = self
            .edges
            .iter()
            .filter(|(_, e)| e.member == id || e.group == id)
            .map(|(s, _)| *s)
            .collect();
        gone.extend(
            self.index
                .assignments_ref()
                .filter(|a| a.principal == text || (a.scope == scope && decode(a.role).1.is_ok()))
                // Schedules only: ownership relations went with the relations above.
                .filter_map(|a| Uuid::parse_str(a.id).ok()),
        );
        for s in gone {
            self.unplace(s);
        }
    }

    fn apply(&mut self, change: &Change) {
        match change {
            Change::Relation {
                group,
                principal,
                relation,
                added: true,
            } => self.add_relation(*group, *principal, *relation),
            Change::Relation {
                group,
                principal,
                relation,
                added: false,
            } => self.remove_relation(*group, *principal, *relation),
            Change::PrincipalDeleted(id) => self.delete_principal(*id),
            Change::Principal(row) => {
                self.principals.insert(row.id, row.clone());
            }
            Change::Schedule(s) => self.place(&IndexedSchedule::from(s)),
            Change::RoleDefinition(role) => self.put_role(role.clone()),
            // Side effects and sessions (the session table's), not access.
            Change::JobEnqueued { .. }
            | Change::Provisioning { .. }
            | Change::Session(_)
            | Change::SessionsRevoked { .. } => {}
        }
    }
}

/// Batches read ahead of the thread placing them: the reading task waits beyond that, so a
/// slow placer never has the whole store waiting in memory.
const BATCHES_AHEAD: usize = 4;

/// Every schedule the index holds at `now`, read by this task and placed into `state` by a
/// thread of its own meanwhile (`schedule_batch`); `state` back once all are placed.
async fn place_on_a_thread(
    tx: &mut dyn eligo_store::Tx,
    now: DateTime<Utc>,
    mut state: State,
) -> UseCaseResult<State> {
    let (batches, arriving) = std::sync::mpsc::sync_channel::<ScheduleBatch>(BATCHES_AHEAD);
    let placer = tokio::task::spawn_blocking(move || {
        for batch in arriving {
            for s in batch.iter() {
                state.place_new(&s);
            }
        }
        state
    });
    let mut batch = ScheduleBatch::with_capacity(BATCH);
    let read = tx
        .index_schedules(now, &mut |s| {
            batch.push(&s);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, ScheduleBatch::with_capacity(BATCH));
                // Blocks this thread while the placer is `BATCHES_AHEAD` behind, for at most
                // the time it takes to place a batch (a few milliseconds). Fails only if the
                // placer is gone, which its join below reports.
                let _ = batches.send(full);
            }
        })
        .await;
    if read.is_ok() {
        let _ = batches.send(batch);
    }
    drop(batches);
    let state = match placer.await {
        Ok(state) => state,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => return Err(Failure::internal("placing the schedules", e)),
    };
    read?;
    Ok(state)
}

impl LiveIndex {
    /// Builds the index from everything in the store (schedules already over are left out),
    /// with the change log's head in the same snapshot: the number to follow the log from.
    pub async fn load(store: &dyn Store, now: DateTime<Utc>) -> UseCaseResult<(LiveIndex, u64)> {
        // One read transaction: every read below sees the snapshot the head was read in.
        let mut tx = store.read().await?;
        let watch = crate::clock::Stopwatch::start();
        let head = tx.change_head().await?;
        let mut state = State::default();
        let principals = tx.all_principals().await?;
        let counted = (principals.len(), watch.elapsed());
        // The database counts and reads on (SQLite's worker thread, PostgreSQL's server) while
        // the principals are placed here: each read's statement leaves on its first poll, and
        // the reads are polled first.
        let reads = async {
            let schedules = tx.count_index_schedules(now).await?;
            let roles = tx.list_role_definitions(&Default::default()).await?;
            Ok::<_, eligo_store::StoreError>((schedules, roles))
        };
        let placed = async {
            state.principals.reserve(principals.len());
            for row in principals {
                state.principals.insert(row.id, row);
            }
        };
        let (read, ()) = tokio::join!(reads, placed);
        let (schedules, roles) = read?;
        // Sized once: a table that regrows holds its old and new buckets at once.
        state.index.reserve(counted.0, schedules);
        for role in roles {
            state.put_role(role);
        }
        // Placed as they arrive, while the database reads on.
        tx.each_relation(&mut |group, principal, relation| {
            state.add_relation(group, principal, relation)
        })
        .await?;
        let related = watch.elapsed();
        let state = place_on_a_thread(&mut *tx, now, state).await?;
        // Where a start's time goes (BENCHMARKS.md, "A real server starting on a store of a
        // million schedules").
        tracing::debug!(
            principals = counted.0,
            schedules,
            principals_ms = counted.1.as_millis(),
            // The count, roles and relations read, principals and relations placed.
            relations_ms = (related - counted.1).as_millis(),
            schedules_ms = (watch.elapsed() - related).as_millis(),
            "access index loaded"
        );
        let index = LiveIndex {
            state: RwLock::new(state),
        };
        Ok((index, head))
    }

    /// Takes `other`'s contents (an index rebuilt after the change log lost what this one
    /// needed).
    pub fn replace(&self, other: LiveIndex) {
        let fresh = other.state.into_inner().unwrap_or_else(|e| e.into_inner());
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    }

    /// Applies one committed transaction's changes (called by the store's journal).
    pub fn apply(&self, changes: &[Change]) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        for change in changes {
            state.apply(change);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Who `id` is, as the store last committed it (for a caller known from the session
    /// table, without a database read).
    pub fn summary(&self, id: Uuid) -> Option<super::PrincipalSummary> {
        self.read()
            .principals
            .get(&id)
            .map(|p| super::PrincipalSummary {
                kind: p.kind,
                display_name: p.display_name.clone(),
                upn: p.upn.clone(),
                enabled: p.enabled,
            })
    }

    pub fn principal(&self, id: Uuid) -> Option<(PrincipalKind, String)> {
        self.read()
            .principals
            .get(&id)
            .map(|p| (p.kind, p.display_name.clone()))
    }

    /// How many users, groups and service principals exist (for overview pages).
    pub fn principal_counts(&self) -> (usize, usize, usize) {
        let state = self.read();
        let count = |k: PrincipalKind| state.principals.values().filter(|p| p.kind == k).count();
        (
            count(PrincipalKind::User),
            count(PrincipalKind::Group),
            count(PrincipalKind::ServicePrincipal),
        )
    }

    /// Is `id` a group that can hold roles?
    pub fn is_role_assignable(&self, id: Uuid) -> bool {
        self.read()
            .principals
            .get(&id)
            .is_some_and(|p| p.kind == PrincipalKind::Group && p.role_assignable)
    }

    pub fn role(&self, id: Uuid) -> Option<RoleDefinition> {
        self.read().roles.get(&id).cloned()
    }

    /// Display names of these principals (unknown ids are skipped).
    pub fn names(&self, ids: &[String]) -> HashMap<String, String> {
        let state = self.read();
        ids.iter()
            .filter_map(|id| {
                let uuid = Uuid::parse_str(id).ok()?;
                let p = state.principals.get(&uuid)?;
                Some((id.clone(), p.display_name.clone()))
            })
            .collect()
    }

    /// The roles `principal` holds at `now`, with their actions: what the `Caller` carries. A
    /// disabled role grants nothing.
    pub fn grants(&self, principal: Uuid, now: DateTime<Utc>) -> Grants {
        let state = self.read();
        let mut roles = Vec::new();
        for path in state.index.grants_of(&principal.to_string(), now) {
            let Ok(role) = Uuid::parse_str(&path.role) else {
                continue; // eligibility and ownership entries
            };
            let enabled = state.roles.get(&role).is_some_and(|d| d.is_enabled);
            if let Some(actions) = state.role_actions.get(&role).filter(|_| enabled) {
                roles.push(HeldRole {
                    actions: actions.clone(),
                    scope: path.scope,
                });
            }
        }
        Grants { roles }
    }

    /// Does `principal` hold `role` at `scope` at `now`, and how?
    pub fn check_role(
        &self,
        principal: Uuid,
        role: Uuid,
        scope: &str,
        now: DateTime<Utc>,
    ) -> Decision {
        self.read()
            .index
            .check(&principal.to_string(), &role.to_string(), scope, now)
    }

    /// Could `principal` activate `role` at `scope` at `now` (eligible, directly or through a
    /// group), and how?
    pub fn check_eligible(
        &self,
        principal: Uuid,
        role: Uuid,
        scope: &str,
        now: DateTime<Utc>,
    ) -> Decision {
        self.read().index.check(
            &principal.to_string(),
            &eligible(&role.to_string()),
            scope,
            now,
        )
    }

    /// Is `principal` a member of `group` at `now` (directly, through nesting or an activated
    /// membership), and how?
    pub fn member_of(&self, principal: Uuid, group: Uuid, now: DateTime<Utc>) -> Membership {
        self.read()
            .index
            .is_member(&principal.to_string(), &group.to_string(), now)
    }

    /// Is `principal` an owner of `group` at `now` (directly or through an activated ownership)?
    pub fn owner_of(&self, principal: Uuid, group: Uuid, now: DateTime<Utc>) -> Decision {
        self.read()
            .index
            .check(&principal.to_string(), OWNER, &group_scope(group), now)
    }

    /// Every group `principal` is in at `now`, directly or through nesting.
    pub fn groups_of(&self, principal: Uuid, now: DateTime<Utc>) -> Vec<Uuid> {
        self.read()
            .index
            .groups_of(&principal.to_string(), now)
            .into_iter()
            .filter_map(|m| Uuid::parse_str(&m.group).ok())
            .collect()
    }

    /// Everyone in `group` at `now`, directly or through nesting, with the chain.
    pub fn members_of(&self, group: Uuid, now: DateTime<Utc>) -> Vec<TransitiveMember> {
        self.read().index.members_of(&group.to_string(), now)
    }

    /// The schedule behind an index assignment id, if it came from one.
    pub fn schedule(&self, assignment_id: &str) -> Option<HeldSchedule> {
        let id = Uuid::parse_str(assignment_id).ok()?;
        let state = self.read();
        let held = state.index.assignment_ref(assignment_id)?;
        Some(HeldSchedule {
            id,
            activated: state.activated.contains(&id),
            end: held.window.end,
        })
    }

    /// Everyone eligible for `access` to some group at `now` (the path's scope names the group).
    pub fn eligible_for_group_access(
        &self,
        access: GroupAccess,
        now: DateTime<Utc>,
    ) -> Vec<eligo_core::access::Holding> {
        self.read()
            .index
            .holders_of(&eligible(access.as_str()), now)
    }

    /// The directory facts the privilege evaluation (threat-model rules 1 and 3) reads: every
    /// membership and ownership, direct, activated or eligible, every role held or eligible,
    /// role-assignable groups, groups handed out through PIM for Groups, and managers. Ended
    /// schedules are already gone from the index; the evaluation ignores what ends before `now`.
    /// What the store alone knows (approvers in policies, downstream mappings) the caller adds.
    pub fn privilege_facts(&self) -> privilege::Facts {
        let state = self.read();
        let mut facts = privilege::Facts::default();
        for &(group, principal, relation) in &state.relations {
            match relation {
                Relation::Member => facts.memberships.push(privilege::MemberFact {
                    group,
                    member: principal,
                    window: Window::ALWAYS,
                    eligible: false,
                }),
                Relation::Owner => facts.ownerships.push(privilege::OwnerFact {
                    group,
                    owner: principal,
                    window: Window::ALWAYS,
                    eligible: false,
                }),
            }
        }
        for e in state.edges.values() {
            facts.pim_groups.push(e.group);
            facts.memberships.push(privilege::MemberFact {
                group: e.group,
                member: e.member,
                window: e.window,
                eligible: false,
            });
        }
        for a in state.index.assignments_ref() {
            // Schedules only: ownership relations are above.
            let (Ok(_), Ok(principal)) = (Uuid::parse_str(a.id), Uuid::parse_str(a.principal))
            else {
                continue;
            };
            let (eligible, what) = decode(a.role);
            let window = a.window;
            match what {
                Ok(access) => {
                    let Some((group, _)) = Target::of(access.role_id(), a.scope).group() else {
                        continue;
                    };
                    facts.pim_groups.push(group);
                    match access {
                        GroupAccess::Member => facts.memberships.push(privilege::MemberFact {
                            group,
                            member: principal,
                            window,
                            eligible,
                        }),
                        GroupAccess::Owner => facts.ownerships.push(privilege::OwnerFact {
                            group,
                            owner: principal,
                            window,
                            eligible,
                        }),
                    }
                }
                Err(Some(role)) => facts.roles.push(privilege::RoleFact {
                    principal,
                    role,
                    window,
                    eligible,
                }),
                Err(None) => {}
            }
        }
        for p in state.principals.values() {
            if p.kind == PrincipalKind::Group && p.role_assignable {
                facts.role_assignable_groups.push(p.id);
            }
            if let Some(manager) = p.manager {
                facts.managers.push((p.id, manager));
            }
        }
        facts
    }

    /// A user's manager, as the index knows it now.
    pub fn manager_of(&self, id: Uuid) -> Option<Uuid> {
        self.read().principals.get(&id).and_then(|p| p.manager)
    }

    /// The users whose manager is `manager` (a scan: asked only when listing what a manager
    /// may request for their reports).
    pub fn direct_reports(&self, manager: Uuid) -> Vec<Uuid> {
        self.read()
            .principals
            .values()
            .filter(|p| p.manager == Some(manager))
            .map(|p| p.id)
            .collect()
    }

    /// Is this principal's account enabled (users and service principals)?
    pub fn is_enabled(&self, id: Uuid) -> bool {
        self.read().principals.get(&id).is_some_and(|p| p.enabled)
    }

    /// Everyone who holds `role` (active) and everyone eligible for it, at `now`, with paths.
    pub fn exposure(
        &self,
        role: Uuid,
        now: DateTime<Utc>,
    ) -> (
        Vec<eligo_core::access::Holding>,
        Vec<eligo_core::access::Holding>,
    ) {
        let state = self.read();
        let role = role.to_string();
        (
            state.index.holders_of(&role, now),
            state.index.holders_of(&eligible(&role), now),
        )
    }
}
