//! The access workload format: one JSON object per line, each with a `kind`.
//!
//! ```text
//! {"kind":"user","id":"u17"}
//! {"kind":"group","id":"g3"}
//! {"kind":"role","id":"r12"}
//! {"kind":"scope","id":"/sub-1/rg-7"}
//! {"kind":"member","group":"g3","member":"u17"}
//! {"kind":"assignment","principal":"g3","role":"r12","scope":"/sub-1","start":null,"end":"2023-11-14T20:13:20Z"}
//! {"kind":"query","principal":"u17","role":"r12","scope":"/sub-1/rg-7","at":"2023-11-14T22:13:20Z","expect":true}
//! ```
//!
//! A member line is a user in a group or a group nested in a group; it may carry an optional
//! `start`/`end` (an activated group membership). An assignment's window is `[start, end)`,
//! `null` (or absent) meaning unbounded; it may carry an `id` (default `a<n>` for the n-th
//! assignment line, counting from 1). A query's `expect` is optional. Declarations (`user`,
//! `group`, `role`, `scope`) are informative: nothing needs declaring before use. Blank lines
//! are skipped; unknown kinds and unknown fields are errors, reported with their line number.
//!
//! `eligo bench` is meant to use this as: [`generate`] to write a file, then [`parse_workload`],
//! [`Workload::index`] and [`Index::allows`](super::Index::allows) or
//! [`Index::check`](super::Index::check) per query, comparing with `expect`.

mod generate;

pub use generate::{Shape, generate, generate_shaped, generate_workload};

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Assignment, Index, Member, Window};
use crate::scope;

/// One question of a workload, with the answer it expects (if it says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub principal: String,
    pub role: String,
    pub scope: String,
    pub at: DateTime<Utc>,
    pub expect: Option<bool>,
}

/// A parsed workload: the declarations, the graph, and the queries, each in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Workload {
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    pub members: Vec<Member>,
    pub assignments: Vec<Assignment>,
    pub queries: Vec<Query>,
}

/// A line that is not a valid workload line; `line` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct WorkloadError {
    pub line: usize,
    pub message: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum Line {
    User {
        id: String,
    },
    Group {
        id: String,
    },
    Role {
        id: String,
    },
    Scope {
        id: String,
    },
    Member {
        group: String,
        member: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<DateTime<Utc>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end: Option<DateTime<Utc>>,
    },
    Assignment {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        principal: String,
        role: String,
        scope: String,
        #[serde(default)]
        start: Option<DateTime<Utc>>,
        #[serde(default)]
        end: Option<DateTime<Utc>>,
    },
    Query {
        principal: String,
        role: String,
        scope: String,
        at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect: Option<bool>,
    },
}

fn default_assignment_id(n: usize) -> String {
    format!("a{n}")
}

fn nonempty(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        Err(format!("`{field}` must not be empty"))
    } else {
        Ok(())
    }
}

fn valid_scope(field: &str, value: &str) -> Result<(), String> {
    scope::validate(value).map_err(|e| format!("`{field}` {value:?} {}", e.message))
}

fn valid_window(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Result<(), String> {
    match (start, end) {
        (Some(s), Some(e)) if s >= e => Err("`start` must be before `end`".into()),
        _ => Ok(()),
    }
}

/// Parses a workload; the first bad line is the error.
pub fn parse_workload(text: &str) -> Result<Workload, WorkloadError> {
    let mut parser = WorkloadParser::default();
    for raw in text.lines() {
        parser.line(raw)?;
    }
    Ok(parser.finish())
}

/// A workload parsed one line at a time, for a caller that reads a large file line by line
/// rather than holding its text beside the parse (`eligo bench check`). Lines are counted from
/// 1 in errors, blank ones included, as [`parse_workload`] counts them.
#[derive(Debug, Default)]
pub struct WorkloadParser {
    workload: Workload,
    ids: BTreeSet<String>,
    lines: usize,
    /// Assignment lines in workloads already taken.
    taken: usize,
}

impl WorkloadParser {
    /// Parses the next line.
    pub fn line(&mut self, raw: &str) -> Result<(), WorkloadError> {
        self.lines += 1;
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(());
        }
        let line = serde_json::from_str::<Line>(raw).map_err(|e| e.to_string());
        let result = line.and_then(|line| self.workload.push(line, &mut self.ids, self.taken));
        result.map_err(|message| WorkloadError {
            line: self.lines,
            message,
        })
    }

    /// What was parsed since the last call, taken out (a caller may index it and keep the
    /// queries in a form of its own as it reads). Assignment ids stay known: one repeated in a
    /// later line is still refused.
    pub fn take(&mut self) -> Workload {
        self.taken += self.workload.assignments.len();
        std::mem::take(&mut self.workload)
    }

    /// The workload of every line so far (since the last [`WorkloadParser::take`]).
    pub fn finish(self) -> Workload {
        self.workload
    }
}

impl Workload {
    /// Adds a line; `earlier` assignment lines were taken out before (for default ids).
    fn push(
        &mut self,
        line: Line,
        ids: &mut BTreeSet<String>,
        earlier: usize,
    ) -> Result<(), String> {
        match line {
            Line::User { id } => {
                nonempty("id", &id)?;
                self.users.push(id);
            }
            Line::Group { id } => {
                nonempty("id", &id)?;
                self.groups.push(id);
            }
            Line::Role { id } => {
                nonempty("id", &id)?;
                self.roles.push(id);
            }
            Line::Scope { id } => {
                valid_scope("id", &id)?;
                self.scopes.push(id);
            }
            Line::Member {
                group,
                member,
                start,
                end,
            } => {
                nonempty("group", &group)?;
                nonempty("member", &member)?;
                valid_window(start, end)?;
                self.members.push(Member {
                    group,
                    member,
                    window: Window::new(start, end),
                });
            }
            Line::Assignment {
                id,
                principal,
                role,
                scope,
                start,
                end,
            } => {
                nonempty("principal", &principal)?;
                nonempty("role", &role)?;
                valid_scope("scope", &scope)?;
                valid_window(start, end)?;
                let n = earlier + self.assignments.len() + 1;
                let id = id.unwrap_or_else(|| default_assignment_id(n));
                nonempty("id", &id)?;
                if !ids.insert(id.clone()) {
                    return Err(format!("assignment id {id:?} is used twice"));
                }
                self.assignments.push(Assignment {
                    id,
                    principal,
                    role,
                    scope,
                    window: Window::new(start, end),
                });
            }
            Line::Query {
                principal,
                role,
                scope,
                at,
                expect,
            } => {
                nonempty("principal", &principal)?;
                nonempty("role", &role)?;
                valid_scope("scope", &scope)?;
                self.queries.push(Query {
                    principal,
                    role,
                    scope,
                    at,
                    expect,
                });
            }
        }
        Ok(())
    }

    /// The index of this workload's edges and assignments.
    pub fn index(&self) -> Index {
        Index::from_parts(
            self.members.iter().cloned(),
            self.assignments.iter().cloned(),
        )
    }

    /// The workload in its file format (declarations, members, assignments, queries); parsing
    /// it gives this workload back. Assignment ids equal to their default are left out.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        let mut write = |line: Line| {
            out.push_str(&serde_json::to_string(&line).expect("a workload line serializes"));
            out.push('\n');
        };
        for id in &self.users {
            write(Line::User { id: id.clone() });
        }
        for id in &self.groups {
            write(Line::Group { id: id.clone() });
        }
        for id in &self.roles {
            write(Line::Role { id: id.clone() });
        }
        for id in &self.scopes {
            write(Line::Scope { id: id.clone() });
        }
        for m in &self.members {
            write(Line::Member {
                group: m.group.clone(),
                member: m.member.clone(),
                start: m.window.start,
                end: m.window.end,
            });
        }
        for (n, a) in self.assignments.iter().enumerate() {
            write(Line::Assignment {
                id: (a.id != default_assignment_id(n + 1)).then(|| a.id.clone()),
                principal: a.principal.clone(),
                role: a.role.clone(),
                scope: a.scope.clone(),
                start: a.window.start,
                end: a.window.end,
            });
        }
        for q in &self.queries {
            write(Line::Query {
                principal: q.principal.clone(),
                role: q.role.clone(),
                scope: q.scope.clone(),
                at: q.at,
                expect: q.expect,
            });
        }
        out
    }
}
