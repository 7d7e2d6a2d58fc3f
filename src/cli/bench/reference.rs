//! The plain reference evaluator `eligo bench check` runs beside the index (issue 18): what
//! someone would write in an afternoon with hash maps and a recursive walk, and nothing the
//! index does. No interning, no precomputation beyond grouping the input by principal, no
//! role masks; a query walks up from the principal through the edges valid at its time with a
//! fresh visited set, testing each assignment of each principal met.
//!
//! It is not made slow on purpose: the maps borrow the workload's strings (no copies), std's
//! `HashMap` with its default hasher, scope coverage compared in place (ASCII
//! case-insensitively, as `eligo_core::scope::covers` says, without lower-casing copies), and
//! the walk stops at the first granting assignment, as `Index::allows` does.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use eligo_core::access::{Assignment, Member, Window};

pub struct Reference<'a> {
    /// By member: the groups it is directly in, with the edge's window.
    parents: HashMap<&'a str, Vec<(&'a str, Window)>>,
    /// By principal: the assignments it holds directly.
    held: HashMap<&'a str, Vec<&'a Assignment>>,
}

impl<'a> Reference<'a> {
    pub fn new(members: &'a [Member], assignments: &'a [Assignment]) -> Self {
        let mut parents: HashMap<&str, Vec<(&str, Window)>> = HashMap::new();
        for m in members {
            parents
                .entry(m.member.as_str())
                .or_default()
                .push((m.group.as_str(), m.window));
        }
        // Assignment ids are unique in a workload (the parser refuses a repeated one).
        let mut held: HashMap<&str, Vec<&Assignment>> = HashMap::new();
        for a in assignments {
            held.entry(a.principal.as_str()).or_default().push(a);
        }
        Reference { parents, held }
    }

    /// Does `principal` hold `role` at `target` at `at`, directly or through groups?
    pub fn allows(&self, principal: &str, role: &str, target: &str, at: DateTime<Utc>) -> bool {
        let grants =
            |a: &Assignment| a.role == role && a.window.contains(at) && covers(&a.scope, target);
        let mut seen = HashSet::new();
        self.walk(principal, &grants, at, &mut seen)
    }

    fn walk<'q>(
        &'q self,
        p: &'q str,
        grants: &dyn Fn(&Assignment) -> bool,
        at: DateTime<Utc>,
        seen: &mut HashSet<&'q str>,
    ) -> bool {
        if !seen.insert(p) {
            return false;
        }
        if let Some(list) = self.held.get(p)
            && list.iter().any(|a| grants(a))
        {
            return true;
        }
        self.parents.get(p).is_some_and(|groups| {
            groups
                .iter()
                .any(|(g, w)| w.contains(at) && self.walk(g, grants, at, seen))
        })
    }
}

/// `eligo_core::scope::covers` without its two lower-cased copies: `/` covers everything; else
/// the target equals the held scope or continues it with a `/`, ASCII case-insensitively.
fn covers(held: &str, target: &str) -> bool {
    if held == "/" {
        return true;
    }
    let (h, t) = (held.as_bytes(), target.as_bytes());
    t.len() >= h.len()
        && t[..h.len()].eq_ignore_ascii_case(h)
        && (t.len() == h.len() || t[h.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_agrees_with_the_core() {
        let scopes = ["/", "/a", "/A", "/a/b", "/ab", "/a/B/c", "/b", "/a/"];
        for held in scopes {
            for target in scopes {
                assert_eq!(
                    covers(held, target),
                    eligo_core::scope::covers(held, target),
                    "{held} {target}"
                );
            }
        }
    }
}
