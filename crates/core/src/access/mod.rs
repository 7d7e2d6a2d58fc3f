//! The effective-access engine: an in-memory [`Index`] answering "does principal P hold role R
//! at scope S at time T, and how?" in about a microsecond, and updated in place on every write;
//! also "is P in group G?", "which groups is P in?", "who is in G?" ([`Index::members_of`],
//! Graph's `transitiveMembers`) and "who holds R?".
//!
//! The model:
//! - Principals (users, groups, service principals) are opaque string ids. Groups are
//!   principals: they hold roles and can be members of other groups.
//! - A membership edge `member(group, member, window)` makes `member` a direct member of
//!   `group` during its half-open [`Window`] (`ALWAYS` for ordinary membership; bounded for an
//!   activated group membership). Nesting is transitive; a path through edges is valid at `T`
//!   only if `T` lies in every edge's window. Cycles are tolerated (Eligo refuses them, but the
//!   engine must not loop): a principal reached through a cycle is simply a member.
//! - An [`Assignment`] gives a role to a principal at a scope during a window. It applies at
//!   every scope its scope covers, exactly as [`crate::scope::covers`] says (segment-wise,
//!   ASCII case-insensitive; `/` covers everything; `/sub-1` does not cover `/sub-10`).
//!   Scopes need no declaration.
//!
//! Nothing is cached across times: every answer evaluates each window at the `at` it is given,
//! so access whose end has passed never grants, and no expiry job is needed.
//!
//! How: principals, roles and scopes are interned to `u32` (ids of up to 38 bytes are kept
//! inside the table's buckets, so a lookup costs one bucket read). Each principal has a 32-byte
//! node with a "holds some role ≡ r mod 32" mask and its first three groups (8 bytes an edge:
//! the group and a window id; unbounded edges, the common case, need no window read), so a walk
//! reads one cache line per principal and skips most groups on the way without a map probe.
//! Assignments are indexed by `(role, holder)` and by holder. A target scope becomes the short
//! list of interned scopes that cover it (`/`, itself, each `/`-prefix), computed only once a
//! holder of the role is met. [`Index::allows`] is a breadth-first walk from the principal up
//! through the edges valid at `at`, stopping at the first node holding a granting assignment
//! (window contains `at`, scope in the list). [`Index::check`] does the same and, only when
//! granted, a widest-path walk (Dijkstra on "latest earliest end") that reports each granting
//! assignment through its longest-lasting chain. Every update (edge or assignment, add or
//! remove) is incremental: there is no precomputed closure to rebuild, so a write costs a few
//! hash lookups and short vector edits. About half a microsecond per check, two million checks
//! a second on one core, on 100k users, 10k groups, 20k assignments (`eligo bench check`,
//! BENCHMARKS.md); `cargo bench -p eligo-core --bench access` measures the same and more.
//!
//! Also here: [`workload`], the JSON-lines workload format (parser, writer, deterministic
//! generator) used by `eligo bench`, and [`naive`], an obviously-correct reference evaluator that
//! the generator and the tests check the index against.

mod index;
mod intern;
pub mod naive;
mod small;
pub mod workload;

#[cfg(test)]
mod tests;

pub use index::{Index, IndexStats};
pub use intern::{FastBuildHasher, FastHasher};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A half-open window `[start, end)`; `None` on either side is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Window {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Window {
    /// Unbounded on both sides.
    pub const ALWAYS: Window = Window {
        start: None,
        end: None,
    };

    pub fn new(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Self {
        Self { start, end }
    }

    /// From `start` (inclusive) until `end` (exclusive).
    #[inline]
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| s <= at) && self.end.is_none_or(|e| at < e)
    }
}

/// A role given to a principal at a scope for a window. `id` identifies it for updates and
/// removal (the server uses the schedule's id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Assignment {
    pub id: String,
    pub principal: String,
    pub role: String,
    pub scope: String,
    pub window: Window,
}

/// An [`Assignment`] borrowed from the index ([`Index::assignments_ref`]): walking a large index
/// without an allocation per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentRef<'a> {
    pub id: &'a str,
    pub principal: &'a str,
    pub role: &'a str,
    pub scope: &'a str,
    pub window: Window,
}

/// A direct membership edge: `member` is in `group` during `window`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    pub group: String,
    pub member: String,
    pub window: Window,
}

/// One way a principal holds a role: an assignment valid at the time asked, and the chain of
/// groups through which it reaches the principal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Path {
    pub assignment_id: String,
    pub role: String,
    /// The assignment's scope, as it was given.
    pub scope: String,
    /// Who holds the assignment directly: the principal itself or one of its groups.
    pub holder: String,
    /// The groups from the principal up to the holder, in order, the holder last; empty when
    /// the principal holds the assignment directly.
    pub via: Vec<String>,
    /// When this path ends if nothing changes: the earliest end among the assignment and the
    /// edges of `via`; `None` if all of them are unbounded.
    pub end: Option<DateTime<Utc>>,
}

/// The answer to a check.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    /// When the access ends if nothing changes: the latest end among the paths; `None` if any
    /// path is unbounded, or if not allowed. (Windows that start later are not chained in: a
    /// second assignment starting exactly when the first ends does not extend this.)
    pub expires_at: Option<DateTime<Utc>>,
    /// One path per granting assignment, through the membership chain that lasts longest;
    /// longest-lasting first, then fewest groups, then by assignment id.
    pub paths: Vec<Path>,
}

/// The answer to "is P a member of G, and how?" ([`Index::is_member`]) and one entry of
/// [`Index::groups_of`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Membership {
    pub member: bool,
    pub group: String,
    /// The groups from the principal up to `group`, `group` last; the longest-lasting chain.
    /// Empty when not a member.
    pub via: Vec<String>,
    /// The earliest edge end along `via`; `None` if unbounded, or if not a member.
    pub end: Option<DateTime<Utc>>,
}

/// One member of a group, from [`Index::members_of`] (Graph's `transitiveMembers`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TransitiveMember {
    /// The member: a user, a nested group, any principal.
    pub principal: String,
    /// The groups from the member up to the group asked about, in order, that group last (as in
    /// [`Membership::via`]): `[group]` for a direct member. The longest-lasting chain.
    pub via: Vec<String>,
    /// The earliest edge end along `via`; `None` if every edge on it is unbounded.
    pub end: Option<DateTime<Utc>>,
}

/// One principal holding a role, from [`Index::holders_of`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Holding {
    pub principal: String,
    pub path: Path,
}
