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

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use eligo_core::access::{Assignment, Decision, Index, Membership, TransitiveMember, Window};
use eligo_core::authz::{Grants, HeldRole};
use eligo_core::directory::{PrincipalKind, Relation};
use eligo_core::privilege;
use eligo_core::roles::RoleDefinition;
use eligo_core::schedule::{RoleSchedule, ScheduleKind};
use eligo_core::target::{GroupAccess, Target, group_scope};
use eligo_store::{Change, PrincipalRow, ScheduleQuery, Store};
use uuid::Uuid;

use crate::failure::UseCaseResult;

const OWNER: &str = "owner";

/// The index role standing for eligibility to `role` (a role id, `member` or `owner`).
pub fn eligible(role: &str) -> String {
    format!("eligible:{role}")
}

fn owner_relation_id(group: Uuid, owner: Uuid) -> String {
    format!("owner:{group}:{owner}")
}

/// Where one schedule sits in the index, so that its next state can replace it.
enum Placed {
    Assignment,
    Edge {
        group: String,
        member: String,
        window: Window,
    },
}

#[derive(Default)]
struct State {
    index: Index,
    principals: HashMap<Uuid, PrincipalRow>,
    roles: HashMap<Uuid, RoleDefinition>,
    relations: HashSet<(Uuid, Uuid, Relation)>,
    /// Schedules in the index, by id, with where they sit.
    schedules: HashMap<Uuid, (RoleSchedule, Placed)>,
}

/// The live index, shared by every request (reads in parallel, one writer at a time).
#[derive(Default)]
pub struct LiveIndex {
    state: RwLock<State>,
}

fn window(s: &RoleSchedule) -> Window {
    Window::new(Some(s.start_date_time), s.end_date_time)
}

impl State {
    fn add_relation(&mut self, group: Uuid, principal: Uuid, relation: Relation) {
        if !self.relations.insert((group, principal, relation)) {
            return;
        }
        match relation {
            Relation::Member => {
                self.index
                    .add_member(&group.to_string(), &principal.to_string(), Window::ALWAYS);
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
        match self.schedules.remove(&id) {
            Some((_, Placed::Assignment)) => {
                self.index.remove_assignment(&id.to_string());
            }
            Some((
                _,
                Placed::Edge {
                    group,
                    member,
                    window,
                },
            )) => {
                self.index.remove_member(&group, &member, window);
            }
            None => {}
        }
    }

    fn place(&mut self, schedule: RoleSchedule) {
        self.unplace(schedule.id);
        // An end the scheduler has processed (or a deactivation set) is over: nothing to keep.
        if schedule.end_date_time.is_some() && !schedule.end_pending {
            return;
        }
        let principal = schedule.principal_id.to_string();
        let (role, scope) = match (schedule.target(), schedule.kind) {
            (
                Target::Group {
                    group,
                    access: GroupAccess::Member,
                },
                ScheduleKind::Active,
            ) => {
                let (group, window) = (group.to_string(), window(&schedule));
                self.index.add_member(&group, &principal, window);
                let placed = Placed::Edge {
                    group,
                    member: principal,
                    window,
                };
                self.schedules.insert(schedule.id, (schedule, placed));
                return;
            }
            (Target::Group { group, access }, kind) => {
                let role = match kind {
                    ScheduleKind::Active => OWNER.to_string(),
                    ScheduleKind::Eligible => eligible(access.as_str()),
                };
                (role, group_scope(group))
            }
            (Target::Role { role, scope }, ScheduleKind::Active) => (role.to_string(), scope),
            (Target::Role { role, scope }, ScheduleKind::Eligible) => {
                (eligible(&role.to_string()), scope)
            }
        };
        self.index.add_assignment(Assignment {
            id: schedule.id.to_string(),
            principal,
            role,
            scope,
            window: window(&schedule),
        });
        self.schedules
            .insert(schedule.id, (schedule, Placed::Assignment));
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
        let gone: Vec<Uuid> = self
            .schedules
            .values()
            .filter(|(s, _)| {
                s.principal_id == id || s.target().group().is_some_and(|(g, _)| g == id)
            })
            .map(|(s, _)| s.id)
            .collect();
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
            Change::Schedule(s) => self.place(s.clone()),
            Change::RoleDefinition(role) => {
                self.roles.insert(role.id, role.clone());
            }
            // Side effects and sessions (the session table's), not access.
            Change::JobEnqueued { .. }
            | Change::Provisioning { .. }
            | Change::Session(_)
            | Change::SessionsRevoked { .. } => {}
        }
    }
}

impl LiveIndex {
    /// Builds the index from everything in the store (schedules already over are left out),
    /// with the change log's head in the same snapshot: the number to follow the log from.
    pub async fn load(store: &dyn Store, now: DateTime<Utc>) -> UseCaseResult<(LiveIndex, u64)> {
        let mut tx = store.read().await?;
        let head = tx.change_head().await?;
        let mut state = State::default();
        for row in tx.all_principals().await? {
            state.principals.insert(row.id, row);
        }
        for role in tx.list_role_definitions(&Default::default()).await? {
            state.roles.insert(role.id, role);
        }
        for (group, principal, relation) in tx.all_relations().await? {
            state.add_relation(group, principal, relation);
        }
        for schedule in tx.list_role_schedules(&ScheduleQuery::default()).await? {
            if !schedule.has_ended(now) {
                state.place(schedule);
            }
        }
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
            if let Some(def) = state.roles.get(&role).filter(|d| d.is_enabled) {
                roles.push(HeldRole {
                    actions: def.actions().map(String::from).collect(),
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
    pub fn schedule(&self, assignment_id: &str) -> Option<RoleSchedule> {
        let id = Uuid::parse_str(assignment_id).ok()?;
        self.read().schedules.get(&id).map(|(s, _)| s.clone())
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
        for (schedule, _) in state.schedules.values() {
            let eligible = schedule.kind == ScheduleKind::Eligible;
            let window = window(schedule);
            match schedule.target() {
                Target::Group { group, access } => {
                    facts.pim_groups.push(group);
                    match access {
                        GroupAccess::Member => facts.memberships.push(privilege::MemberFact {
                            group,
                            member: schedule.principal_id,
                            window,
                            eligible,
                        }),
                        GroupAccess::Owner => facts.ownerships.push(privilege::OwnerFact {
                            group,
                            owner: schedule.principal_id,
                            window,
                            eligible,
                        }),
                    }
                }
                Target::Role { role, .. } => facts.roles.push(privilege::RoleFact {
                    principal: schedule.principal_id,
                    role,
                    window,
                    eligible,
                }),
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
