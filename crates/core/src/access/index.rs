//! The index itself: interned ids, membership edges both ways, assignments by `(role, holder)`
//! and by holder, and the widest-path walk that answers every question.

use std::borrow::Cow;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::intern::{FastMap, Interner};
use super::small::SmallList;
use super::{
    Assignment, AssignmentRef, Decision, Holding, Member, Membership, Path, TransitiveMember,
    Window,
};

/// When a path ends; `Never` sorts above every instant, so "latest end" is a plain `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Until {
    At(DateTime<Utc>),
    Never,
}

impl Until {
    #[inline]
    fn from_end(end: Option<DateTime<Utc>>) -> Self {
        end.map_or(Until::Never, Until::At)
    }

    #[inline]
    fn end(self) -> Option<DateTime<Utc>> {
        match self {
            Until::At(t) => Some(t),
            Until::Never => None,
        }
    }
}

/// A membership edge as one side of it sees it, in 8 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Edge {
    /// The group (going up) or the member (going down).
    to: u32,
    /// Its window's id in [`Windows`]; [`ALWAYS`] for an unbounded edge.
    window: u32,
}

/// The id of [`Window::ALWAYS`] in [`Windows`].
const ALWAYS: u32 = 0;

/// The windows of membership edges, by id. Almost every edge is unbounded: its id is
/// [`ALWAYS`], which a check recognises without reading anything. Each bounded edge has a window
/// of its own (both sides of the edge share the id); ids of removed edges are reused.
#[derive(Debug, Clone)]
struct Windows {
    list: Vec<Window>,
    free: Vec<u32>,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            list: vec![Window::ALWAYS],
            free: Vec::new(),
        }
    }
}

impl Windows {
    fn add(&mut self, window: Window) -> u32 {
        if window == Window::ALWAYS {
            return ALWAYS;
        }
        match self.free.pop() {
            Some(id) => {
                self.list[id as usize] = window;
                id
            }
            None => {
                let id = u32::try_from(self.list.len()).expect("fewer than 2^32 edges");
                self.list.push(window);
                id
            }
        }
    }

    fn release(&mut self, id: u32) {
        if id != ALWAYS {
            self.free.push(id);
        }
    }

    #[inline]
    fn get(&self, id: u32) -> Window {
        self.list[id as usize]
    }

    #[inline]
    fn contains(&self, id: u32, at: DateTime<Utc>) -> bool {
        id == ALWAYS || self.list[id as usize].contains(at)
    }

    #[inline]
    fn until(&self, id: u32) -> Until {
        if id == ALWAYS {
            Until::Never
        } else {
            Until::from_end(self.list[id as usize].end)
        }
    }
}

/// How many of a principal's groups its [`Vertex`] holds; the rest are in `Index::more_up`.
const INLINE_UP: usize = 3;

/// What a check reads of each principal it walks through, in 32 bytes (two to a cache line,
/// never across two): the roles it holds (as bits) and the groups it is directly in.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(32))]
struct Vertex {
    /// Bit `role % 32` set if it holds that role directly. Most groups a check walks through
    /// hold nothing of the role asked: this lets the check skip them without probing a map.
    role_bits: u32,
    /// How many groups it is directly in; the first [`INLINE_UP`] are in `up`.
    ups: u32,
    up: [Edge; INLINE_UP],
}

/// An assignment as a check needs it, stored in the `(role, holder)` list itself so that a
/// check reads no `Slot` unless it grants.
#[derive(Debug, Clone, Copy, Default)]
struct Grant {
    slot: u32,
    scope: u32,
    window: Window,
}

/// An assignment as the index keeps it: its id, and its role, holder and scope (as given) by
/// interned id, in 56 bytes and one heap string (the id, shared with `Index::by_id`), where the
/// `Assignment` itself would take 128 bytes and four strings.
#[derive(Debug, Clone)]
struct Slot {
    /// Shared with the key of `Index::by_id`: one allocation for both.
    id: Arc<str>,
    role: u32,
    holder: u32,
    /// In `Index::given_scopes`: the scope as it was given, for reports.
    scope: u32,
    /// The holder's next slot ([`NO_SLOT`] after its last; see `Index::first_of_holder`).
    next_of_holder: u32,
    window: Window,
}

const _: () = assert!(std::mem::size_of::<Option<Slot>>() == 56);

/// The end of a holder's list of slots.
const NO_SLOT: u32 = u32::MAX;

/// Sizes, for reports and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStats {
    /// Every principal ever named (ids are not recycled).
    pub principals: usize,
    pub roles: usize,
    pub scopes: usize,
    pub edges: usize,
    pub assignments: usize,
}

const _: () = assert!(std::mem::size_of::<Vertex>() == 32);

/// The effective-access index (see the module documentation). Every update is incremental;
/// reads take `&self`, so one index serves many threads behind a `RwLock` (or is cloned and
/// swapped).
#[derive(Clone, Default)]
pub struct Index {
    principals: Interner,
    roles: Interner,
    /// Assignment scopes, lower-cased (coverage is ASCII case-insensitive).
    scopes: Interner,
    /// Assignment scopes as they were given (reported as given).
    given_scopes: Interner,
    /// By given scope: its lower-cased scope in `scopes`, so that an assignment at a scope
    /// seen before costs one lookup, not a lower-casing and two (a start places a million).
    scope_of_given: Vec<u32>,
    /// By principal: its role bits and first groups.
    nodes: Vec<Vertex>,
    /// By member in more than [`INLINE_UP`] groups: the groups past those in its node.
    more_up: FastMap<u32, Vec<Edge>>,
    /// By group with members: its direct members.
    down: FastMap<u32, Vec<Edge>>,
    windows: Windows,
    /// Assignments by slot; removed ones leave `None` and their slot on `free`.
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    by_id: FastMap<Arc<str>, u32>,
    /// `(role << 32) | holder` to what it holds.
    by_role_holder: FastMap<u64, SmallList<Grant, 1>>,
    /// By holder (a principal id): its first slot, every role; each slot names the next
    /// (`Slot::next_of_holder`). A list through the slots rather than a table of vectors: a
    /// start places a million assignments, and this costs each one an array write instead of
    /// a probe and a push.
    first_of_holder: Vec<u32>,
    edges: usize,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Index").field(&self.stats()).finish()
    }
}

#[inline]
fn key(role: u32, holder: u32) -> u64 {
    (u64::from(role) << 32) | u64::from(holder)
}

#[inline]
fn role_bit(role: u32) -> u32 {
    1 << (role % 32)
}

impl Index {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index of these edges and assignments (a later assignment replaces an earlier one with
    /// the same id).
    pub fn from_parts(
        members: impl IntoIterator<Item = Member>,
        assignments: impl IntoIterator<Item = Assignment>,
    ) -> Self {
        let mut index = Self::new();
        for m in members {
            index.add_member(&m.group, &m.member, m.window);
        }
        for a in assignments {
            index.add_assignment(a);
        }
        index
    }

    pub fn stats(&self) -> IndexStats {
        IndexStats {
            principals: self.principals.len(),
            roles: self.roles.len(),
            scopes: self.scopes.len(),
            edges: self.edges,
            assignments: self.by_id.len(),
        }
    }

    fn principal_mut(&mut self, name: &str) -> u32 {
        let id = self.principals.intern(name);
        let n = id as usize + 1;
        if self.nodes.len() < n {
            self.nodes.resize(n, Vertex::default());
            self.first_of_holder.resize(n, NO_SLOT);
        }
        id
    }

    /// The groups `m` is directly in: those in its node, then the rest.
    #[inline]
    fn up(&self, m: u32) -> [&[Edge]; 2] {
        let node = &self.nodes[m as usize];
        let n = node.ups as usize;
        if n <= INLINE_UP {
            [&node.up[..n], &[]]
        } else {
            [&node.up[..], self.more_up.get(&m).map_or(&[], |v| v)]
        }
    }

    /// The direct members of `g`.
    #[inline]
    fn down(&self, g: u32) -> [&[Edge]; 2] {
        [self.down.get(&g).map_or(&[], |v| v), &[]]
    }

    /// Replaces the groups `m` is directly in (after a removal).
    fn set_up(&mut self, m: u32, edges: Vec<Edge>) {
        let node = &mut self.nodes[m as usize];
        node.ups = u32::try_from(edges.len()).expect("fewer than 2^32 groups");
        node.up = [Edge::default(); INLINE_UP];
        let inline = edges.len().min(INLINE_UP);
        node.up[..inline].copy_from_slice(&edges[..inline]);
        if edges.len() > INLINE_UP {
            self.more_up.insert(m, edges[INLINE_UP..].to_vec());
        } else {
            self.more_up.remove(&m);
        }
    }

    // ---- updates -------------------------------------------------------------------------

    /// `member` (a user, a group, any principal) is directly in `group` during `window`. Edges
    /// are not deduplicated: two activations of the same membership are two edges.
    pub fn add_member(&mut self, group: &str, member: &str, window: Window) {
        let g = self.principal_mut(group);
        let m = self.principal_mut(member);
        let window = self.windows.add(window);
        let node = &mut self.nodes[m as usize];
        let up = Edge { to: g, window };
        match node.up.get_mut(node.ups as usize) {
            Some(slot) => *slot = up,
            None => self.more_up.entry(m).or_default().push(up),
        }
        node.ups += 1;
        self.down.entry(g).or_default().push(Edge { to: m, window });
        self.edges += 1;
    }

    /// Removes one edge `member(group, member)` with exactly this window; false if none.
    pub fn remove_member(&mut self, group: &str, member: &str, window: Window) -> bool {
        let (Some(g), Some(m)) = (self.principals.get(group), self.principals.get(member)) else {
            return false;
        };
        let mut up: Vec<Edge> = self.up(m).concat();
        let Some(i) = up
            .iter()
            .position(|e| e.to == g && self.windows.get(e.window) == window)
        else {
            return false;
        };
        let id = up.remove(i).window;
        self.set_up(m, up);
        self.remove_down(g, |e| e.to == m && e.window == id, true);
        self.windows.release(id);
        self.edges -= 1;
        true
    }

    /// Removes every edge `member(group, member)`, whatever its window; returns how many.
    pub fn remove_member_all(&mut self, group: &str, member: &str) -> usize {
        let (Some(g), Some(m)) = (self.principals.get(group), self.principals.get(member)) else {
            return 0;
        };
        let (gone, kept): (Vec<Edge>, Vec<Edge>) =
            self.up(m).concat().iter().partition(|e| e.to == g);
        if gone.is_empty() {
            return 0;
        }
        self.set_up(m, kept);
        self.remove_down(g, |e| e.to == m, false);
        for e in &gone {
            self.windows.release(e.window);
        }
        self.edges -= gone.len();
        gone.len()
    }

    /// Removes the first of `g`'s member edges that `hit` picks (`first_only`), or all of them.
    fn remove_down(&mut self, g: u32, hit: impl Fn(&Edge) -> bool, first_only: bool) {
        let Some(down) = self.down.get_mut(&g) else {
            return;
        };
        if first_only {
            if let Some(i) = down.iter().position(&hit) {
                down.swap_remove(i);
            }
        } else {
            down.retain(|e| !hit(e));
        }
        if down.is_empty() {
            self.down.remove(&g);
        }
    }

    /// Adds an assignment, or replaces the one with the same id (returned): updating an
    /// assignment's window or scope is one call.
    pub fn add_assignment(&mut self, assignment: Assignment) -> Option<Assignment> {
        let old = self.remove_assignment(&assignment.id);
        let a = &assignment;
        let id: Arc<str> = Arc::from(a.id.as_str());
        self.insert_assignment(id, &a.principal, &a.role, &a.scope, a.window);
        old
    }

    /// [`Index::add_assignment`] from borrowed parts, for a bulk build: nothing is allocated
    /// but the id's one copy. True if it replaced an assignment with the same id. One probe of
    /// the id table, not a removal's and an insertion's: the insertion tells whether the id was
    /// there (a bulk build's ids never are), and only then is the old slot taken out.
    pub fn add_assignment_ref(&mut self, a: AssignmentRef<'_>) -> bool {
        let old = self.insert_assignment(Arc::from(a.id), a.principal, a.role, a.scope, a.window);
        if let Some(old) = old {
            self.drop_slot(old);
        }
        old.is_some()
    }

    /// Room for `principals` and `assignments` more without regrowing a table: a table that
    /// grows holds its old and new buckets at once, which at a million assignments is the
    /// peak of a start, so a bulk build that knows its size reserves first.
    pub fn reserve(&mut self, principals: usize, assignments: usize) {
        self.principals.reserve(principals);
        self.nodes.reserve(principals);
        self.first_of_holder.reserve(principals);
        self.slots.reserve(assignments);
        self.by_id.reserve(assignments);
        self.by_role_holder.reserve(assignments);
    }

    fn insert_assignment(
        &mut self,
        id: Arc<str>,
        principal: &str,
        role: &str,
        scope: &str,
        window: Window,
    ) -> Option<u32> {
        let role = self.roles.intern(role);
        let holder = self.principal_mut(principal);
        let given = self.given_scopes.intern(scope);
        let scope = match self.scope_of_given.get(given as usize) {
            Some(&lowered) => lowered,
            None => {
                // Given ids are dense and made only here: a new one is the next index.
                let lowered = self.scopes.intern(&lower(scope));
                self.scope_of_given.push(lowered);
                lowered
            }
        };
        let slot = Slot {
            id: id.clone(),
            role,
            holder,
            scope: given,
            next_of_holder: self.first_of_holder[holder as usize],
            window,
        };
        let s = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(slot);
                s
            }
            None => {
                let s = u32::try_from(self.slots.len()).expect("fewer than 2^32 assignments");
                self.slots.push(Some(slot));
                s
            }
        };
        let old = self.by_id.insert(id, s);
        self.by_role_holder
            .entry(key(role, holder))
            .or_default()
            .push(Grant {
                slot: s,
                scope,
                window,
            });
        self.first_of_holder[holder as usize] = s;
        self.nodes[holder as usize].role_bits |= role_bit(role);
        old
    }

    /// Removes the assignment with this id; returns it, or None if there was none.
    pub fn remove_assignment(&mut self, id: &str) -> Option<Assignment> {
        let s = self.by_id.remove(id)?;
        let slot = self.drop_slot(s);
        Some(self.assignment_of(&slot))
    }

    /// Takes slot `s` out of everything but `by_id` (its caller's business) and frees it.
    fn drop_slot(&mut self, s: u32) -> Slot {
        let slot = self.slots[s as usize]
            .take()
            .expect("indexed slot is filled");
        let k = key(slot.role, slot.holder);
        if let Some(list) = self.by_role_holder.get_mut(&k) {
            if let Some(i) = list.iter().position(|g| g.slot == s) {
                list.swap_remove(i);
            }
            if list.is_empty() {
                self.by_role_holder.remove(&k);
            }
        }
        // Out of its holder's list: the link that named it names its next.
        let holder = slot.holder as usize;
        if self.first_of_holder[holder] == s {
            self.first_of_holder[holder] = slot.next_of_holder;
        } else {
            let mut at = self.first_of_holder[holder];
            while at != NO_SLOT {
                let before = self.slots[at as usize]
                    .as_mut()
                    .expect("listed slot is filled");
                if before.next_of_holder == s {
                    before.next_of_holder = slot.next_of_holder;
                    break;
                }
                at = before.next_of_holder;
            }
        }
        let bits = self
            .slots_of_holder(slot.holder)
            .fold(0, |bits, x| bits | role_bit(self.slot(x).role));
        self.nodes[holder].role_bits = bits;
        self.free.push(s);
        slot
    }

    pub fn assignment(&self, id: &str) -> Option<Assignment> {
        let s = *self.by_id.get(id)?;
        self.slots[s as usize]
            .as_ref()
            .map(|slot| self.assignment_of(slot))
    }

    /// The assignment with this id, borrowed.
    pub fn assignment_ref(&self, id: &str) -> Option<AssignmentRef<'_>> {
        let s = *self.by_id.get(id)?;
        self.slots[s as usize]
            .as_ref()
            .map(|slot| self.assignment_ref_of(slot))
    }

    /// Every assignment, borrowed, in no particular order.
    pub fn assignments_ref(&self) -> impl Iterator<Item = AssignmentRef<'_>> + '_ {
        self.slots
            .iter()
            .flatten()
            .map(|slot| self.assignment_ref_of(slot))
    }

    /// Every assignment, in no particular order.
    pub fn assignments(&self) -> impl Iterator<Item = Assignment> + '_ {
        self.slots
            .iter()
            .flatten()
            .map(|slot| self.assignment_of(slot))
    }

    // ---- questions -----------------------------------------------------------------------

    /// Does `principal` hold `role` at `scope` at `at`, and through which assignments and
    /// groups? See [`Decision`]. [`Index::allows`] answers yes/no faster.
    pub fn check(&self, principal: &str, role: &str, scope: &str, at: DateTime<Utc>) -> Decision {
        let mut paths = Vec::new();
        if let Some((p, r)) = self.prepare(principal, role)
            && self.reaches_grant(p, r, scope, at)
        {
            // Granted: now find, for each granting assignment, its longest-lasting chain.
            let targets = self.targets(scope);
            let mut walk = Walk::new(p);
            while let Some(i) = self.next_up(&mut walk, at) {
                for g in self.held(r, walk.nodes[i].id) {
                    if g.window.contains(at) && targets.contains(g.scope) {
                        paths.push(self.path_up(&walk, i, self.slot(g.slot)));
                    }
                }
            }
        }
        sort_paths(&mut paths);
        let expires_at = paths
            .iter()
            .map(|p| Until::from_end(p.end))
            .max()
            .and_then(Until::end);
        Decision {
            allowed: !paths.is_empty(),
            expires_at,
            paths,
        }
    }

    /// The yes/no of [`Index::check`], stopping at the first granting assignment.
    pub fn allows(&self, principal: &str, role: &str, scope: &str, at: DateTime<Utc>) -> bool {
        self.prepare(principal, role)
            .is_some_and(|(p, r)| self.reaches_grant(p, r, scope, at))
    }

    /// Does a chain of edges valid at `at` lead from `p` to a holder of `r` at a scope covering
    /// `scope`? Plain reachability: no chain to choose, so no priority queue. The scopes that
    /// cover `scope` are looked up only once a holder of `r` is met (most walks meet none).
    fn reaches_grant(&self, p: u32, r: u32, scope: &str, at: DateTime<Utc>) -> bool {
        let bit = role_bit(r);
        let mut targets = None;
        let mut bfs = Bfs::new(p);
        while let Some(id) = bfs.next() {
            if self.nodes[id as usize].role_bits & bit != 0
                && let Some(held) = self.by_role_holder.get(&key(r, id))
            {
                let targets = targets.get_or_insert_with(|| self.targets(scope));
                if held
                    .iter()
                    .any(|g| g.window.contains(at) && targets.contains(g.scope))
                {
                    return true;
                }
            }
            for e in self.up(id).into_iter().flatten() {
                if self.windows.contains(e.window, at) && !bfs.contains(e.to) {
                    bfs.push(e.to);
                }
            }
        }
        false
    }

    /// Is `principal` a member of `group` at `at`, directly or through nested groups, and
    /// through which chain (the longest-lasting)? A principal is not its own member, even on a
    /// cycle.
    pub fn is_member(&self, principal: &str, group: &str, at: DateTime<Utc>) -> Membership {
        let not = || Membership {
            group: group.to_owned(),
            ..Membership::default()
        };
        let (Some(p), Some(g)) = (self.principals.get(principal), self.principals.get(group))
        else {
            return not();
        };
        if p == g {
            return not();
        }
        let mut walk = Walk::new(p);
        while let Some(i) = self.next_up(&mut walk, at) {
            if walk.nodes[i].id == g {
                return Membership {
                    member: true,
                    group: group.to_owned(),
                    via: self.names(walk.via_up(i)),
                    end: walk.nodes[i].until.end(),
                };
            }
        }
        not()
    }

    /// Every group `principal` is in at `at`, directly or through nesting, by group id.
    pub fn groups_of(&self, principal: &str, at: DateTime<Utc>) -> Vec<Membership> {
        let Some(p) = self.principals.get(principal) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut walk = Walk::new(p);
        self.next_up(&mut walk, at); // the principal itself
        while let Some(i) = self.next_up(&mut walk, at) {
            let node = &walk.nodes[i];
            out.push(Membership {
                member: true,
                group: self.principals.name(node.id).to_owned(),
                via: self.names(walk.via_up(i)),
                end: node.until.end(),
            });
        }
        out.sort_by(|a, b| a.group.cmp(&b.group));
        out
    }

    /// Every principal that is a member of `group` at `at`, directly or through nested groups
    /// (edges valid at `at`): users, groups and service principals alike, by principal id. Each
    /// comes with its longest-lasting chain, as [`Index::is_member`] would report it from the
    /// member's side (same `end`; `via` may differ only between chains that last equally long).
    /// `group` itself is never listed, even when a cycle leads back to it; an unknown group has
    /// no members. Costs a walk over everything below `group`: for `transitiveMembers`-style
    /// reads, not for checks.
    pub fn members_of(&self, group: &str, at: DateTime<Utc>) -> Vec<TransitiveMember> {
        let Some(g) = self.principals.get(group) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut walk = Walk::new(g);
        self.next_down(&mut walk, at); // the group itself
        while let Some(i) = self.next_down(&mut walk, at) {
            let node = &walk.nodes[i];
            out.push(TransitiveMember {
                principal: self.principals.name(node.id).to_owned(),
                via: self.names(walk.via_down(i)),
                end: node.until.end(),
            });
        }
        out.sort_by(|a, b| a.principal.cmp(&b.principal));
        out
    }

    /// Everything `principal` holds at `at`, every role and scope: what the server's `Caller`
    /// needs. Ordered like [`Decision::paths`].
    pub fn grants_of(&self, principal: &str, at: DateTime<Utc>) -> Vec<Path> {
        let Some(p) = self.principals.get(principal) else {
            return Vec::new();
        };
        let mut paths = Vec::new();
        let mut walk = Walk::new(p);
        while let Some(i) = self.next_up(&mut walk, at) {
            for s in self.slots_of_holder(walk.nodes[i].id) {
                let slot = self.slot(s);
                if slot.window.contains(at) {
                    paths.push(self.path_up(&walk, i, slot));
                }
            }
        }
        sort_paths(&mut paths);
        paths
    }

    /// Everyone who holds `role` at `at` (at any scope), groups included, one entry per
    /// principal and assignment, through the longest-lasting chain; by principal, then
    /// assignment id. Costs a scan of all assignments plus the members below each holder: for
    /// reports, not for the request path.
    pub fn holders_of(&self, role: &str, at: DateTime<Utc>) -> Vec<Holding> {
        let Some(r) = self.roles.get(role) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for slot in self.slots.iter().flatten() {
            if slot.role != r || !slot.window.contains(at) {
                continue;
            }
            let a = self.assignment_of(slot);
            let mut walk = Walk::new(slot.holder);
            while let Some(i) = self.next_down(&mut walk, at) {
                let node = &walk.nodes[i];
                out.push(Holding {
                    principal: self.principals.name(node.id).to_owned(),
                    path: Path {
                        assignment_id: a.id.clone(),
                        role: a.role.clone(),
                        scope: a.scope.clone(),
                        holder: a.principal.clone(),
                        via: self.names(walk.via_down(i)),
                        end: node.until.min(Until::from_end(a.window.end)).end(),
                    },
                });
            }
        }
        out.sort_by(|a, b| {
            (&a.principal, &a.path.assignment_id).cmp(&(&b.principal, &b.path.assignment_id))
        });
        out
    }

    // ---- internals -----------------------------------------------------------------------

    #[inline]
    /// The slots `holder` holds, every role, newest first.
    fn slots_of_holder(&self, holder: u32) -> impl Iterator<Item = u32> + '_ {
        let first = self
            .first_of_holder
            .get(holder as usize)
            .copied()
            .unwrap_or(NO_SLOT);
        std::iter::successors(Some(first).filter(|&s| s != NO_SLOT), |&s| {
            Some(self.slot(s).next_of_holder).filter(|&next| next != NO_SLOT)
        })
    }

    fn slot(&self, s: u32) -> &Slot {
        self.slots[s as usize]
            .as_ref()
            .expect("indexed slot is filled")
    }

    /// What `holder` holds of `role` directly, at any scope and time.
    #[inline]
    fn held(&self, role: u32, holder: u32) -> &[Grant] {
        if self.nodes[holder as usize].role_bits & role_bit(role) == 0 {
            return &[];
        }
        self.by_role_holder
            .get(&key(role, holder))
            .map_or(&[], |list| list)
    }

    /// The interned principal and role; None when nothing can grant (either is unknown).
    #[inline]
    fn prepare(&self, principal: &str, role: &str) -> Option<(u32, u32)> {
        let r = self.roles.get(role)?;
        let p = self.principals.get(principal)?;
        Some((p, r))
    }

    /// The next node of a walk up (member to group) over the edges valid at `at`.
    fn next_up(&self, walk: &mut Walk, at: DateTime<Utc>) -> Option<usize> {
        walk.next(|id| self.up(id), &self.windows, at)
    }

    /// The next node of a walk down (group to member) over the edges valid at `at`.
    fn next_down(&self, walk: &mut Walk, at: DateTime<Utc>) -> Option<usize> {
        walk.next(|id| self.down(id), &self.windows, at)
    }

    /// The interned scopes `held` with `scope::covers(held, scope)`: `/`, the scope itself, and
    /// each prefix of it that a `/` follows (lower-cased, as coverage is case-insensitive).
    fn targets(&self, scope: &str) -> Targets {
        let lower = lower(scope);
        let mut t = Targets::default();
        let mut add = |s: &str| {
            if let Some(id) = self.scopes.get(s) {
                t.push(id);
            }
        };
        add(crate::scope::ROOT);
        if lower != crate::scope::ROOT {
            add(&lower);
        }
        for (i, b) in lower.bytes().enumerate().skip(1) {
            if b == b'/' {
                add(&lower[..i]);
            }
        }
        t
    }

    fn names(&self, ids: Vec<u32>) -> Vec<String> {
        ids.into_iter()
            .map(|id| self.principals.name(id).to_owned())
            .collect()
    }

    /// The assignment a slot keeps, as it was given (borrowed).
    fn assignment_ref_of<'a>(&'a self, slot: &'a Slot) -> AssignmentRef<'a> {
        AssignmentRef {
            id: &slot.id,
            principal: self.principals.name(slot.holder),
            role: self.roles.name(slot.role),
            scope: self.given_scopes.name(slot.scope),
            window: slot.window,
        }
    }

    /// The assignment a slot keeps, as it was given.
    fn assignment_of(&self, slot: &Slot) -> Assignment {
        Assignment {
            id: slot.id.to_string(),
            principal: self.principals.name(slot.holder).to_owned(),
            role: self.roles.name(slot.role).to_owned(),
            scope: self.given_scopes.name(slot.scope).to_owned(),
            window: slot.window,
        }
    }

    fn path_up(&self, walk: &Walk, i: usize, slot: &Slot) -> Path {
        let a = self.assignment_of(slot);
        Path {
            assignment_id: a.id,
            role: a.role,
            scope: a.scope,
            holder: a.principal,
            via: self.names(walk.via_up(i)),
            end: walk.nodes[i].until.min(Until::from_end(a.window.end)).end(),
        }
    }
}

/// `s` ASCII lower-cased, copied only when it has an upper-case letter.
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Longest-lasting first, then fewest groups, then by assignment id (then the rest, so the
/// order is total).
fn sort_paths(paths: &mut [Path]) {
    paths.sort_by(|a, b| {
        Until::from_end(b.end)
            .cmp(&Until::from_end(a.end))
            .then(a.via.len().cmp(&b.via.len()))
            .then_with(|| a.assignment_id.cmp(&b.assignment_id))
            .then_with(|| a.via.cmp(&b.via))
    });
}

/// A handful of interned scope ids without allocating (deeper scopes spill to a Vec).
#[derive(Default)]
struct Targets {
    inline: [u32; 8],
    len: usize,
    spill: Vec<u32>,
}

impl Targets {
    #[inline]
    fn push(&mut self, id: u32) {
        if self.len < self.inline.len() {
            self.inline[self.len] = id;
            self.len += 1;
        } else {
            self.spill.push(id);
        }
    }

    #[inline]
    fn contains(&self, id: u32) -> bool {
        self.inline[..self.len].contains(&id) || self.spill.contains(&id)
    }
}

/// Breadth-first reachability: the list of nodes found is also the queue. Up to `INLINE`
/// nodes live on the stack and are looked up by a linear scan; past that, a Vec and a set.
struct Bfs {
    inline: [u32; Bfs::INLINE],
    len: usize,
    head: usize,
    more: Vec<u32>,
    set: FastMap<u32, ()>,
}

impl Bfs {
    const INLINE: usize = 32;

    fn new(start: u32) -> Self {
        let mut bfs = Bfs {
            inline: [0; Bfs::INLINE],
            len: 0,
            head: 0,
            more: Vec::new(),
            set: FastMap::default(),
        };
        bfs.push(start);
        bfs
    }

    #[inline]
    fn contains(&self, id: u32) -> bool {
        if self.len <= Bfs::INLINE {
            self.inline[..self.len].contains(&id)
        } else {
            self.set.contains_key(&id)
        }
    }

    fn push(&mut self, id: u32) {
        if self.len < Bfs::INLINE {
            self.inline[self.len] = id;
        } else {
            if self.len == Bfs::INLINE {
                self.set = self.inline.iter().map(|&id| (id, ())).collect();
            }
            self.more.push(id);
            self.set.insert(id, ());
        }
        self.len += 1;
    }

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let i = self.head;
        if i == self.len {
            return None;
        }
        self.head += 1;
        Some(if i < Bfs::INLINE {
            self.inline[i]
        } else {
            self.more[i - Bfs::INLINE]
        })
    }
}

const NONE: u32 = u32::MAX;

struct Node {
    id: u32,
    /// The earliest end along the best chain found to this node.
    until: Until,
    hops: u32,
    /// The node before this one on that chain (an index into `Walk::nodes`), or `NONE`.
    pred: u32,
    done: bool,
}

/// A widest-path search (Dijkstra with "latest earliest-end" as the distance, fewer hops on a
/// tie) from one principal over the edges valid at a time, up (member to group) or down. Each
/// node is reached once; cycles end because a finished node is never revisited. `next` yields
/// nodes in order, each with its best chain final.
struct Walk {
    nodes: Vec<Node>,
    /// Principal id to node index, built once the walk outgrows a linear scan.
    lookup: Option<FastMap<u32, u32>>,
    heap: BinaryHeap<(Until, Reverse<u32>, Reverse<u32>)>,
}

const LINEAR_LOOKUP: usize = 24;

impl Walk {
    fn new(start: u32) -> Self {
        let mut heap = BinaryHeap::with_capacity(8);
        heap.push((Until::Never, Reverse(0), Reverse(0)));
        let mut nodes = Vec::with_capacity(8);
        nodes.push(Node {
            id: start,
            until: Until::Never,
            hops: 0,
            pred: NONE,
            done: false,
        });
        Walk {
            nodes,
            lookup: None,
            heap,
        }
    }

    #[inline]
    fn find(&self, id: u32) -> Option<usize> {
        match &self.lookup {
            Some(map) => map.get(&id).map(|&i| i as usize),
            None => self.nodes.iter().position(|n| n.id == id),
        }
    }

    fn insert(&mut self, node: Node) -> u32 {
        let i = self.nodes.len() as u32;
        let id = node.id;
        self.nodes.push(node);
        match &mut self.lookup {
            Some(map) => {
                map.insert(id, i);
            }
            None if self.nodes.len() > LINEAR_LOOKUP => {
                let map = self
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.id, i as u32))
                    .collect();
                self.lookup = Some(map);
            }
            None => {}
        }
        i
    }

    /// The next node whose best chain is final, after relaxing its edges (`edges` of a node)
    /// valid at `at`.
    fn next<'a>(
        &mut self,
        edges: impl Fn(u32) -> [&'a [Edge]; 2],
        windows: &Windows,
        at: DateTime<Utc>,
    ) -> Option<usize> {
        while let Some((until, Reverse(hops), Reverse(i))) = self.heap.pop() {
            let node = &mut self.nodes[i as usize];
            if node.done {
                continue; // a stale entry: this node was finished with a better chain
            }
            node.done = true;
            let from = node.id;
            for e in edges(from).into_iter().flatten() {
                if !windows.contains(e.window, at) {
                    continue;
                }
                let cand = (until.min(windows.until(e.window)), Reverse(hops + 1));
                match self.find(e.to) {
                    None => {
                        let j = self.insert(Node {
                            id: e.to,
                            until: cand.0,
                            hops: hops + 1,
                            pred: i,
                            done: false,
                        });
                        self.heap.push((cand.0, cand.1, Reverse(j)));
                    }
                    Some(j) => {
                        let n = &mut self.nodes[j];
                        if !n.done && cand.cmp(&(n.until, Reverse(n.hops))) == Ordering::Greater {
                            n.until = cand.0;
                            n.hops = hops + 1;
                            n.pred = i;
                            self.heap.push((cand.0, cand.1, Reverse(j as u32)));
                        }
                    }
                }
            }
            return Some(i as usize);
        }
        None
    }

    /// For a walk up: the chain from the start (excluded) to node `i` (included), in order.
    fn via_up(&self, i: usize) -> Vec<u32> {
        let mut via = Vec::new();
        let mut j = i;
        while self.nodes[j].pred != NONE {
            via.push(self.nodes[j].id);
            j = self.nodes[j].pred as usize;
        }
        via.reverse();
        via
    }

    /// For a walk down from a holder: the chain from node `i` (excluded) up to the holder
    /// (included), in order.
    fn via_down(&self, i: usize) -> Vec<u32> {
        let mut via = Vec::new();
        let mut j = self.nodes[i].pred;
        while j != NONE {
            via.push(self.nodes[j as usize].id);
            j = self.nodes[j as usize].pred;
        }
        via
    }
}
