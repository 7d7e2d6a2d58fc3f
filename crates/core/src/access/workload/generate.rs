//! A deterministic workload generator: the same arguments give the same bytes on every machine.
//! Randomness is a SplitMix64 sequence seeded by the caller (the core draws none of its own).
//!
//! The shape: users in 1–3 groups (mostly "leaf" groups); groups on four levels, each group
//! nested in zero to two groups of a higher level (chains up to four groups deep; with four
//! groups or more, `g1` in `g2` in `g3` in `g4` and `u1` in `g1` always), plus one
//! two-group cycle per 200 groups (or fewer); a scope tree `/`, `/sub-N`, `/sub-N/rg-M` with at least 11
//! subscriptions (so `/sub-1` and `/sub-10` both exist); assignments to users (60%) and groups
//! (40%), roles skewed towards a popular few, windows half unbounded and half bounded around a
//! base time (2023-11-14T22:13:20Z); and queries (as many as assignments, at least 1000), most
//! derived from an assignment (a member below its holder, a scope below or beside its scope,
//! times on and around its window's edges), the rest random. Every query's `expect` comes from
//! the [naive evaluator](crate::access::naive), so the file checks itself.
//!
//! [`Shape`] changes the shape for workloads unlike that one, each knob off by default (the
//! defaults give the bytes above, draw for draw): `depth` levels of groups instead of four
//! (chains up to `depth` groups deep, `g1` in `g2` ... in `g{depth}`); `scopes`, a scope tree
//! of exactly that many scopes up to four levels deep (`/sub-N/rg-M/res-K/item-L`, at least 11
//! subscriptions) where assignments sit at every level and queries often ask below them, so
//! inheritance decides; `skew`, group sizes drawn from a Zipf law of that exponent (a few huge
//! groups, many small; also for the groups a group is nested in) with one user in fifty in
//! 10–40 groups; and `queries`, how many queries.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use super::{Query, Workload};
use crate::access::naive::Naive;
use crate::access::{Assignment, Member, Window};

/// The workload as JSON lines (see [`generate_workload`]).
pub fn generate(users: usize, groups: usize, assignments: usize, seed: u64) -> String {
    generate_workload(users, groups, assignments, seed).to_jsonl()
}

/// What to generate: the sizes, the seed, and the knobs of the module documentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub users: usize,
    pub groups: usize,
    pub assignments: usize,
    pub seed: u64,
    /// Levels of groups, 1 to 8 (a group is nested only in groups of higher levels); 4 by
    /// default.
    pub depth: usize,
    /// `Some(n)`: a scope tree of `n` scopes (at least 12); `None`: the original `/`,
    /// `/sub-N`, `/sub-N/rg-M`.
    pub scopes: Option<usize>,
    /// The Zipf exponent of group sizes; 0 (the default) draws groups uniformly.
    pub skew: f64,
    /// How many queries; `None`: as many as assignments, at least 1000.
    pub queries: Option<usize>,
}

impl Shape {
    /// The original shape at these sizes.
    pub fn new(users: usize, groups: usize, assignments: usize, seed: u64) -> Self {
        Shape {
            users,
            groups,
            assignments,
            seed,
            depth: 4,
            scopes: None,
            skew: 0.0,
            queries: None,
        }
    }
}

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Draws `0..n` with probability proportional to `1 / (k + 1)^s`: rank 0 the most often.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|k| {
                total += ((k + 1) as f64).powf(-s);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

const BASE: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z

fn hours_from_base(h: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(BASE + h * 3600, 0).expect("in range")
}

/// Generates a workload of `users` users, `groups` groups and `assignments` assignments.
pub fn generate_workload(users: usize, groups: usize, assignments: usize, seed: u64) -> Workload {
    generate_shaped(&Shape::new(users, groups, assignments, seed))
}

/// Generates a workload of this shape.
pub fn generate_shaped(shape: &Shape) -> Workload {
    let Shape {
        users,
        groups,
        assignments,
        seed,
        ..
    } = *shape;
    let depth = shape.depth.clamp(1, 8);
    let skewed = shape.skew > 0.0;
    let mut rng = Rng(seed);
    let mut w = Workload {
        users: (1..=users).map(|i| format!("u{i}")).collect(),
        groups: (1..=groups).map(|i| format!("g{i}")).collect(),
        roles: (1..=(assignments / 250).clamp(4, 200))
            .map(|i| format!("r{i}"))
            .collect(),
        ..Workload::default()
    };

    // Scopes: `/`, `/sub-N`, `/sub-N/rg-M`; or a tree of `shape.scopes` scopes.
    let subs = (groups / 50).clamp(11, 40);
    let rgs = 8;
    let tree = shape.scopes.map(ScopeTree::new);
    match &tree {
        Some(tree) => w.scopes = tree.all.clone(),
        None => {
            w.scopes.push("/".into());
            for s in 1..=subs {
                w.scopes.push(format!("/sub-{s}"));
                for m in 1..=rgs {
                    w.scopes.push(format!("/sub-{s}/rg-{m}"));
                }
            }
        }
    }

    // Groups on levels 0 (leaf) to 3; a group joins groups of higher levels only, so chains are
    // at most four groups long, except for the deliberate cycles. With four groups or more, the
    // first four are on levels 0 to 3 and nested in one another (below), so a chain four groups
    // deep exists whatever the seed.
    // Other depths: level `l` drawn with weight `2^(depth - 1 - l)`.
    let level: Vec<usize> = (0..groups)
        .map(|g| {
            let drawn = if depth == 4 {
                match rng.below(20) {
                    0..=9 => 0,
                    10..=14 => 1,
                    15..=17 => 2,
                    _ => 3,
                }
            } else {
                let x = rng.below((1 << depth) - 1);
                (0..depth)
                    .find(|&l| x < (1 << depth) - (1 << (depth - 1 - l)))
                    .unwrap_or(depth - 1)
            };
            if groups >= depth && g < depth {
                g
            } else {
                drawn
            }
        })
        .collect();
    let by_level: Vec<Vec<usize>> = (0..depth)
        .map(|l| (0..groups).filter(|&g| level[g] == l).collect())
        .collect();
    // The groups of the levels above each level, in level order.
    let above: Vec<Vec<usize>> = (0..depth)
        .map(|l| {
            (l + 1..depth)
                .flat_map(|h| by_level[h].iter().copied())
                .collect()
        })
        .collect();
    let above_zipf: Vec<Option<Zipf>> = above
        .iter()
        .map(|h| skewed.then(|| Zipf::new(h.len(), shape.skew)))
        .collect();
    let mut edges = BTreeSet::new();
    let mut members = Vec::new();
    let mut add = |group: &str, member: &str, members: &mut Vec<Member>| {
        if group != member && edges.insert((group.to_owned(), member.to_owned())) {
            members.push(Member {
                group: group.to_owned(),
                member: member.to_owned(),
                window: Window::ALWAYS,
            });
        }
    };
    let mut nesting = Vec::new();
    for (g, &lvl) in level.iter().enumerate() {
        let higher = &above[lvl];
        if higher.is_empty() {
            continue;
        }
        let parents = usize::from(rng.percent(60)) + usize::from(rng.percent(15));
        for _ in 0..parents {
            let p = match &above_zipf[lvl] {
                Some(zipf) => higher[zipf.draw(&mut rng)],
                None => *rng.pick(higher),
            };
            nesting.push((p, g));
            add(&w.groups[p], &w.groups[g], &mut members);
        }
    }
    if groups >= depth {
        for g in 0..depth - 1 {
            add(&w.groups[g + 1], &w.groups[g], &mut members); // g1 in g2 in g3 in g4 ...
        }
    }
    for _ in 0..groups.div_ceil(200) {
        if nesting.is_empty() {
            break;
        }
        let (p, g) = *rng.pick(&nesting);
        add(&w.groups[g], &w.groups[p], &mut members); // g in p and p in g
    }
    if groups > 0 {
        let leaves = if by_level[0].is_empty() {
            (0..groups).collect()
        } else {
            by_level[0].clone()
        };
        // Skewed: the groups in a random order, the first the largest.
        let ranked = skewed.then(|| {
            let mut order: Vec<usize> = (0..groups).collect();
            for i in (1..groups).rev() {
                order.swap(i, rng.below(i + 1));
            }
            (order, Zipf::new(groups, shape.skew))
        });
        for u in &w.users {
            let n = match &ranked {
                Some(_) if rng.percent(2) => 10 + rng.below(31),
                _ => 1 + rng.below(3),
            };
            for _ in 0..n {
                let g = match &ranked {
                    Some((order, zipf)) => order[zipf.draw(&mut rng)],
                    None if rng.percent(80) => *rng.pick(&leaves),
                    None => rng.below(groups),
                };
                add(&w.groups[g], u, &mut members);
            }
        }
        if let Some(u) = w.users.first() {
            add(&w.groups[0], u, &mut members); // u1 in g1, four groups below g4
        }
    }
    w.members = members;

    // Assignments.
    let roles = w.roles.len();
    for n in 1..=assignments {
        let principal = if groups > 0 && (users == 0 || rng.percent(40)) {
            rng.pick(&w.groups).clone()
        } else if users > 0 {
            rng.pick(&w.users).clone()
        } else {
            break;
        };
        let role = w.roles[rng.below(roles) * rng.below(roles) / roles].clone();
        let scope = match &tree {
            Some(tree) => tree.held(&mut rng),
            None => {
                let s = 1 + rng.below(subs);
                match rng.below(20) {
                    0..=2 => "/".to_owned(),
                    3..=9 => format!("/sub-{s}"),
                    _ => format!("/sub-{s}/rg-{}", 1 + rng.below(rgs)),
                }
            }
        };
        let window = match rng.below(10) {
            0..=4 => Window::ALWAYS,
            5 | 6 => Window::new(None, Some(hours_from_base(rng.range(-24, 48)))),
            7 | 8 => {
                let start = rng.range(-48, 24);
                let end = start + rng.range(1, 72);
                Window::new(Some(hours_from_base(start)), Some(hours_from_base(end)))
            }
            _ => Window::new(Some(hours_from_base(rng.range(-24, 48))), None),
        };
        w.assignments.push(Assignment {
            id: format!("a{n}"),
            principal,
            role,
            scope,
            window,
        });
    }

    // Queries, each answered by the naive evaluator.
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in &w.members {
        children.entry(&m.group).or_default().push(&m.member);
    }
    let naive = Naive::new(&w.members, &w.assignments);
    let principals: Vec<&String> = w.users.iter().chain(&w.groups).collect();
    let mut queries = Vec::new();
    if !principals.is_empty() {
        for _ in 0..shape.queries.unwrap_or(assignments.max(1000)) {
            let (principal, role, scope, at) = if !w.assignments.is_empty() && rng.percent(60) {
                let a = rng.pick(&w.assignments);
                let mut p = a.principal.as_str();
                for _ in 0..rng.below(4) {
                    match children.get(p) {
                        Some(c) => p = *rng.pick(c),
                        None => break,
                    }
                }
                if rng.percent(10) {
                    p = rng.pick(&principals).as_str();
                }
                let role = if rng.percent(90) {
                    a.role.clone()
                } else {
                    rng.pick(&w.roles).clone()
                };
                let scope = match &tree {
                    Some(tree) => tree.near(&mut rng, &a.scope),
                    None => near_scope(&mut rng, &a.scope, subs, rgs),
                };
                let at = match (a.window.start, a.window.end, rng.below(10)) {
                    (Some(s), _, 0) => s,
                    (Some(s), _, 1) => s - Duration::seconds(1),
                    (_, Some(e), 2) => e,
                    (_, Some(e), 3) => e - Duration::seconds(1),
                    _ => random_time(&mut rng),
                };
                (p.to_owned(), role, scope, at)
            } else {
                let p = if rng.percent(90) && users > 0 {
                    rng.pick(&w.users)
                } else {
                    *rng.pick(&principals)
                };
                let scope = rng.pick(&w.scopes).clone();
                (
                    p.clone(),
                    rng.pick(&w.roles).clone(),
                    scope,
                    random_time(&mut rng),
                )
            };
            let expect = naive.allows(&principal, &role, &scope, at);
            queries.push(Query {
                principal,
                role,
                scope,
                at,
                expect: Some(expect),
            });
        }
    }
    w.queries = queries;
    w
}

fn random_time(rng: &mut Rng) -> DateTime<Utc> {
    hours_from_base(rng.range(-72, 72)) + Duration::minutes(rng.range(0, 59))
}

/// A scope at, below, or beside `held` (`/sub-1` next to `/sub-10`), or anywhere.
fn near_scope(rng: &mut Rng, held: &str, subs: usize, rgs: usize) -> String {
    let segs: Vec<&str> = held.split('/').filter(|s| !s.is_empty()).collect();
    let sub = segs
        .first()
        .and_then(|s| s.strip_prefix("sub-"))
        .and_then(|n| n.parse::<usize>().ok());
    let any_sub = |rng: &mut Rng| 1 + rng.below(subs);
    match (rng.below(10), sub, segs.len()) {
        (0..=4, _, _) => held.to_owned(),
        // Below: a resource group of this subscription (or anything under `/`).
        (5..=7, Some(s), 1) => format!("/sub-{s}/rg-{}", 1 + rng.below(rgs)),
        (5..=7, None, _) => format!("/sub-{}/rg-{}", any_sub(rng), 1 + rng.below(rgs)),
        // Beside: a name that extends this one's last segment (`/sub-1` -> `/sub-10`).
        (8, Some(s), 1) if s * 10 <= subs => format!("/sub-{}", s * 10),
        (8, Some(_), _) => format!("{held}0"),
        _ => format!("/sub-{}", any_sub(rng)),
    }
}

/// A scope tree of a given size: `/`, then subscriptions, then six children to a scope, level
/// by level, until there are enough (`/sub-N/rg-M/res-K/item-L` at 500).
struct ScopeTree {
    all: Vec<String>,
    children: BTreeMap<String, Vec<String>>,
}

impl ScopeTree {
    const NAMES: [&str; 4] = ["sub", "rg", "res", "item"];

    fn new(n: usize) -> Self {
        let n = n.max(12);
        let subs = (n / 45).max(11);
        let mut all = vec!["/".to_owned()];
        let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut parent = 0;
        while all.len() < n {
            let p = all[parent].clone();
            let level = if p == "/" { 0 } else { p.matches('/').count() };
            let name = Self::NAMES[level.min(Self::NAMES.len() - 1)];
            let fan = if level == 0 { subs } else { 6 };
            for k in 1..=fan {
                if all.len() == n {
                    break;
                }
                let child = if level == 0 {
                    format!("/{name}-{k}")
                } else {
                    format!("{p}/{name}-{k}")
                };
                children.entry(p.clone()).or_default().push(child.clone());
                all.push(child);
            }
            parent += 1;
        }
        ScopeTree { all, children }
    }

    /// Where an assignment is held: `/` (one in ten), else a random scope or one of its
    /// ancestors (so every level holds some).
    fn held(&self, rng: &mut Rng) -> String {
        if rng.percent(10) {
            return "/".to_owned();
        }
        let s = &self.all[1 + rng.below(self.all.len() - 1)];
        let segs: Vec<&str> = s.split('/').skip(1).collect();
        let keep = 1 + rng.below(segs.len());
        format!("/{}", segs[..keep].join("/"))
    }

    /// A query's scope near `held`: itself, a scope one to three levels below it, a name that
    /// extends its last segment, one level above, or anywhere.
    fn near(&self, rng: &mut Rng, held: &str) -> String {
        match rng.below(20) {
            0..=6 => held.to_owned(),
            7..=14 => {
                let mut s = held;
                for _ in 0..1 + rng.below(3) {
                    match self.children.get(s) {
                        Some(c) => s = rng.pick(c).as_str(),
                        None => break,
                    }
                }
                s.to_owned()
            }
            15 if held != "/" => format!("{held}0"),
            16 if held != "/" => match held.rfind('/') {
                Some(0) => "/".to_owned(),
                Some(i) => held[..i].to_owned(),
                None => held.to_owned(),
            },
            _ => rng.pick(&self.all).clone(),
        }
    }
}
