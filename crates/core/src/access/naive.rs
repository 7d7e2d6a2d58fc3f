//! The reference evaluator: plain recursion over the edges and assignments as given, with no
//! interning, no precomputation beyond grouping by principal, and [`crate::scope::covers`] and
//! [`Window::contains`](super::Window::contains) applied literally. It is what the index is
//! checked against (the workload generator computes every query's `expect` with it; the tests
//! compare answers on random graphs). Slow on purpose: `grants` enumerates every simple path,
//! which is exponential in the worst case. Assignment ids are assumed unique.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{Assignment, Member};
use crate::scope;

pub struct Naive<'a> {
    /// By member: the edges naming it.
    parents: BTreeMap<&'a str, Vec<&'a Member>>,
    /// By principal: the assignments it holds directly.
    held: BTreeMap<&'a str, Vec<&'a Assignment>>,
}

impl<'a> Naive<'a> {
    pub fn new(members: &'a [Member], assignments: &'a [Assignment]) -> Self {
        let mut parents: BTreeMap<&str, Vec<&Member>> = BTreeMap::new();
        for m in members {
            parents.entry(m.member.as_str()).or_default().push(m);
        }
        let mut held: BTreeMap<&str, Vec<&Assignment>> = BTreeMap::new();
        for a in assignments {
            held.entry(a.principal.as_str()).or_default().push(a);
        }
        Naive { parents, held }
    }

    /// Every principal named by an edge or an assignment.
    pub fn principals(&self) -> BTreeSet<&'a str> {
        let mut all: BTreeSet<&str> = self.held.keys().copied().collect();
        for edges in self.parents.values() {
            for m in edges {
                all.insert(m.group.as_str());
                all.insert(m.member.as_str());
            }
        }
        all
    }

    /// Does `principal` hold `role` at `target` at `at`? Reachability with a visited set.
    pub fn allows(&self, principal: &str, role: &str, target: &str, at: DateTime<Utc>) -> bool {
        fn holds(
            n: &Naive<'_>,
            p: &str,
            ok: &dyn Fn(&Assignment) -> bool,
            at: DateTime<Utc>,
            seen: &mut BTreeSet<String>,
        ) -> bool {
            if !seen.insert(p.to_owned()) {
                return false;
            }
            if n.held.get(p).is_some_and(|list| list.iter().any(|a| ok(a))) {
                return true;
            }
            n.parents.get(p).is_some_and(|edges| {
                edges
                    .iter()
                    .any(|e| e.window.contains(at) && holds(n, &e.group, ok, at, seen))
            })
        }
        let ok = |a: &Assignment| {
            a.role == role && scope::covers(&a.scope, target) && a.window.contains(at)
        };
        holds(self, principal, &ok, at, &mut BTreeSet::new())
    }

    /// For each assignment valid at `at` that passes `filter` and reaches `principal` (held by
    /// it or by a group it is in at `at`): the latest end over every simple path to it, where a
    /// path ends at the earliest end among its edges and the assignment (`None`: unbounded).
    pub fn grants(
        &self,
        principal: &str,
        at: DateTime<Utc>,
        filter: &dyn Fn(&Assignment) -> bool,
    ) -> BTreeMap<String, Option<DateTime<Utc>>> {
        // `Some(None)` sorts above every `Some(Some(t))`: unbounded is the latest end.
        fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
            match (a, b) {
                (None, _) | (_, None) => None,
                (Some(x), Some(y)) => Some(x.max(y)),
            }
        }
        fn earlier(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
            match (a, b) {
                (None, x) | (x, None) => x,
                (Some(x), Some(y)) => Some(x.min(y)),
            }
        }
        fn walk(
            n: &Naive<'_>,
            p: &str,
            path_end: Option<DateTime<Utc>>,
            at: DateTime<Utc>,
            filter: &dyn Fn(&Assignment) -> bool,
            on_path: &mut Vec<String>,
            out: &mut BTreeMap<String, Option<DateTime<Utc>>>,
        ) {
            if on_path.iter().any(|q| q == p) {
                return;
            }
            on_path.push(p.to_owned());
            for a in n.held.get(p).into_iter().flatten() {
                if a.window.contains(at) && filter(a) {
                    let end = earlier(path_end, a.window.end);
                    out.entry(a.id.clone())
                        .and_modify(|e| *e = later(*e, end))
                        .or_insert(end);
                }
            }
            for e in n.parents.get(p).into_iter().flatten() {
                if e.window.contains(at) {
                    let end = earlier(path_end, e.window.end);
                    walk(n, &e.group, end, at, filter, on_path, out);
                }
            }
            on_path.pop();
        }
        let mut out = BTreeMap::new();
        walk(self, principal, None, at, filter, &mut Vec::new(), &mut out);
        out
    }

    /// Is `principal` in `group` at `at` through at least one simple chain of edges valid at
    /// `at` (a principal is not its own member)? `Some(latest end among those chains)`.
    pub fn membership(
        &self,
        principal: &str,
        group: &str,
        at: DateTime<Utc>,
    ) -> Option<Option<DateTime<Utc>>> {
        fn walk(
            n: &Naive<'_>,
            p: &str,
            goal: &str,
            path_end: Option<DateTime<Utc>>,
            at: DateTime<Utc>,
            on_path: &mut Vec<String>,
            best: &mut Option<Option<DateTime<Utc>>>,
        ) {
            if on_path.iter().any(|q| q == p) {
                return;
            }
            if !on_path.is_empty() && p == goal {
                *best = Some(match *best {
                    None => path_end,
                    Some(b) => match (b, path_end) {
                        (None, _) | (_, None) => None,
                        (Some(x), Some(y)) => Some(x.max(y)),
                    },
                });
                return;
            }
            on_path.push(p.to_owned());
            for e in n.parents.get(p).into_iter().flatten() {
                if e.window.contains(at) {
                    let end = match (path_end, e.window.end) {
                        (None, x) | (x, None) => x,
                        (Some(x), Some(y)) => Some(x.min(y)),
                    };
                    walk(n, &e.group, goal, end, at, on_path, best);
                }
            }
            on_path.pop();
        }
        if principal == group {
            return None;
        }
        let mut best = None;
        walk(self, principal, group, None, at, &mut Vec::new(), &mut best);
        best
    }

    /// Every principal that is a member of `group` at `at` (by [`Naive::membership`], asked of
    /// each principal in turn), with the latest end among its chains; never `group` itself.
    pub fn members(
        &self,
        group: &str,
        at: DateTime<Utc>,
    ) -> BTreeMap<String, Option<DateTime<Utc>>> {
        self.principals()
            .into_iter()
            .filter_map(|p| Some((p.to_owned(), self.membership(p, group, at)?)))
            .collect()
    }
}
