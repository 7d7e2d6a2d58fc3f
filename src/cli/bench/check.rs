//! `eligo bench check`: the effective-access index (`eligo_core::access::Index`) on a workload
//! file, as the server will use it, beside a plain reference evaluator (`super::reference`).
//!
//! 1. Reads the file line by line, parsing each line as it comes (`WorkloadParser`) and, every
//!    4,096 lines, adding the edges and assignments parsed to the index (`add_member`, then
//!    `add_assignment`, as `Index::from_parts` does) and keeping the queries compact: each name
//!    once in a table, a query three ids, its time and its `expect`. Neither the file's text
//!    nor its parsed graph is ever held whole, as the server holds neither. `build_ms` is the
//!    time spent in the index's calls; `parse_ms` in the DETAIL line the rest (reading
//!    included).
//! 2. `rss_mib`: the peak resident set so far (`VmHWM` in `/proc/self/status`; Linux only), with
//!    the index built and every query loaded, the reference not yet read: the check engine's
//!    memory, plus the reader's buffers and the process's own.
//! 3. Reads the file again for the reference (`reference_parse_ms`), its edges and assignments
//!    kept as parsed (the reference borrows their strings); `rss_total_mib` in the DETAIL line
//!    is the peak of the whole run, both engines loaded.
//! 4. Builds the reference (`reference_build_ms`), then answers every query with
//!    `Index::allows` and with the reference: an index answer that differs from the query's
//!    `expect`, or from the reference's answer, is a problem (one line on stderr naming the
//!    query) and makes the command fail.
//! 5. Times both on this one thread, each pass over the whole query list in file order, the
//!    index and the reference taking turns pass by pass until each has run at least
//!    `--measure-ms`; one clock read per pass. `checks_per_sec` is the index's,
//!    `reference_checks_per_sec` the reference's, `ratio` the first over the second (the
//!    issue's goal: at least 0.5).
//! 6. Latency of the index alone (`p50_ns`, `p99_ns`): at least `--measure-ms` more, every
//!    check timed on its own with a `Stopwatch` (two reads of the TSC-backed monotonic clock
//!    through the vDSO); the pair's own cost, measured and reported as `timer_ns` in the
//!    DETAIL line, is included in the figures, not subtracted. Latencies go into a 1 ns
//!    histogram (exact percentiles, fixed memory).

use std::collections::HashMap;
use std::hint::black_box;
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use eligo_core::access::Index;
use eligo_core::access::workload::{Query, Workload, WorkloadParser};

use super::reference::Reference;
use super::{Outcome, ms};
use crate::clock::Stopwatch;

pub fn run(path: &Path, measure: Duration) -> anyhow::Result<Outcome> {
    let (index, queries, times) = load(path)?;
    let (parse_ms, build_ms) = (ms(times.parse), ms(times.build));
    let stats = index.stats();
    let rss_mib = peak_rss_mib();

    // The reference's own input: the file read once more, its queries dropped.
    let reread = Stopwatch::start();
    let mut workload = Workload::default();
    let mut keep = |part: Workload| {
        workload.members.extend(part.members);
        workload.assignments.extend(part.assignments);
    };
    let rest = read(path, |parser| keep(parser.take()))?;
    keep(rest);
    let reread_ms = ms(reread.elapsed());
    let reference_build = Stopwatch::start();
    let reference = Reference::new(&workload.members, &workload.assignments);
    let reference_build_ms = ms(reference_build.elapsed());

    // Correctness first (this pass also warms the caches).
    let mut problems = Vec::new();
    let (mut checked, mut allowed) = (0usize, 0usize);
    for (n, q) in queries.items.iter().enumerate() {
        let (principal, role, scope) = queries.names(q);
        let got = index.allows(principal, role, scope, q.at);
        let plain = reference.allows(principal, role, scope, q.at);
        allowed += usize::from(got);
        if let Some(expect) = q.expect {
            checked += 1;
            if got != expect {
                problems.push(mismatch(n + 1, &queries.query(q), got));
            }
        }
        if got != plain {
            problems.push(disagreement(n + 1, &queries.query(q), got));
        }
    }

    // Throughput: whole passes, timed as a batch, the two taking turns.
    let (mut index_time, mut reference_time) = (Duration::ZERO, Duration::ZERO);
    let (mut passes, mut reference_passes, mut granted) = (0usize, 0usize, 0usize);
    while index_time < measure || reference_time < measure {
        if index_time < measure {
            let batch = Stopwatch::start();
            granted += index_pass(&index, &queries);
            index_time += batch.elapsed();
            passes += 1;
        }
        if reference_time < measure {
            let batch = Stopwatch::start();
            granted += reference_pass(&reference, &queries);
            reference_time += batch.elapsed();
            reference_passes += 1;
        }
    }
    black_box(granted);
    let per_sec = |passes: usize, time: Duration| {
        if queries.items.is_empty() {
            0.0
        } else {
            (passes * queries.items.len()) as f64 / time.as_secs_f64()
        }
    };
    let checks_per_sec = per_sec(passes, index_time);
    let reference_checks_per_sec = per_sec(reference_passes, reference_time);
    let ratio = if reference_checks_per_sec > 0.0 {
        checks_per_sec / reference_checks_per_sec
    } else {
        0.0
    };

    // Latency: every check timed on its own.
    let timer_ns = timer_cost_ns();
    let mut hist = Histogram::default();
    let latency = Stopwatch::start();
    let mut latency_passes = 0usize;
    loop {
        for q in &queries.items {
            let (principal, role, scope) = queries.names(q);
            let w = Stopwatch::start();
            black_box(index.allows(principal, role, scope, q.at));
            hist.record(w.elapsed());
        }
        latency_passes += 1;
        if latency.elapsed() >= measure {
            break;
        }
    }

    let mib = |m: Option<f64>| m.map_or_else(|| "unknown".to_owned(), |m| format!("{m:.1}"));
    let line = format!(
        "RESULT checks_per_sec={checks_per_sec:.0} reference_checks_per_sec={reference_checks_per_sec:.0} ratio={ratio:.2} p50_ns={} p99_ns={} build_ms={build_ms:.1} rss_mib={} mismatches={}",
        hist.percentile(0.50),
        hist.percentile(0.99),
        mib(rss_mib),
        problems.len(),
    );
    let details = vec![format!(
        "DETAIL bench=check queries={} checked={checked} allowed={allowed} parse_ms={parse_ms:.0} principals={} roles={} scopes={} edges={} assignments={} throughput_passes={passes} throughput_ms={:.0} reference_passes={reference_passes} reference_ms={:.0} reference_build_ms={reference_build_ms:.1} reference_parse_ms={reread_ms:.0} rss_total_mib={} latency_checks={} latency_passes={latency_passes} p90_ns={} p999_ns={} max_ns={} timer_ns={timer_ns:.0}",
        queries.items.len(),
        stats.principals,
        stats.roles,
        stats.scopes,
        stats.edges,
        stats.assignments,
        ms(index_time),
        ms(reference_time),
        mib(peak_rss_mib()),
        hist.count,
        hist.percentile(0.90),
        hist.percentile(0.999),
        hist.max,
    )];
    Ok(Outcome {
        line,
        details,
        problems,
    })
}

/// The workload's queries in little memory: each distinct name once, a query its three name
/// ids, its time and its expectation.
#[derive(Default)]
struct Queries {
    names: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32>,
    items: Vec<CompactQuery>,
}

#[derive(Clone, Copy)]
struct CompactQuery {
    principal: u32,
    role: u32,
    scope: u32,
    at: DateTime<Utc>,
    expect: Option<bool>,
}

impl Queries {
    fn id(&mut self, name: String) -> u32 {
        if let Some(&id) = self.ids.get(name.as_str()) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 names");
        let name: Box<str> = name.into();
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    fn push(&mut self, q: Query) {
        let item = CompactQuery {
            principal: self.id(q.principal),
            role: self.id(q.role),
            scope: self.id(q.scope),
            at: q.at,
            expect: q.expect,
        };
        self.items.push(item);
    }

    #[inline]
    fn names(&self, q: &CompactQuery) -> (&str, &str, &str) {
        (
            &self.names[q.principal as usize],
            &self.names[q.role as usize],
            &self.names[q.scope as usize],
        )
    }

    fn query(&self, q: &CompactQuery) -> Query {
        let (principal, role, scope) = self.names(q);
        Query {
            principal: principal.to_owned(),
            role: role.to_owned(),
            scope: scope.to_owned(),
            at: q.at,
            expect: q.expect,
        }
    }
}

/// How long loading took: parsing (reading included) and building the index.
struct LoadTimes {
    parse: Duration,
    build: Duration,
}

/// Reads the file a line at a time, building the index as it goes: every 4,096 lines, what
/// they hold is added to the index (edges, then assignments, each as `Index::from_parts`
/// adds them; only these calls are timed as the build) and their queries are kept compact.
/// The file's text and its parsed edges and assignments are never held whole.
fn load(path: &Path) -> anyhow::Result<(Index, Queries, LoadTimes)> {
    const CHUNK: usize = 4096;
    let mut index = Index::new();
    let mut queries = Queries::default();
    let mut build = Duration::ZERO;
    let mut add = |part: Workload, index: &mut Index, queries: &mut Queries| {
        let started = Stopwatch::start();
        for m in part.members {
            index.add_member(&m.group, &m.member, m.window);
        }
        for a in part.assignments {
            index.add_assignment(a);
        }
        build += started.elapsed();
        for q in part.queries {
            queries.push(q);
        }
    };
    let all = Stopwatch::start();
    let mut lines = 0usize;
    let rest = read(path, |parser| {
        lines += 1;
        if lines.is_multiple_of(CHUNK) {
            add(parser.take(), &mut index, &mut queries);
        }
    })?;
    add(rest, &mut index, &mut queries);
    let total = all.elapsed();
    queries.ids = HashMap::new();
    let times = LoadTimes {
        parse: total.saturating_sub(build),
        build,
    };
    Ok((index, queries, times))
}

/// Reads and parses the file a line at a time, calling `after_line` after each line; what is
/// left in the parser at the end.
fn read(path: &Path, mut after_line: impl FnMut(&mut WorkloadParser)) -> anyhow::Result<Workload> {
    let cannot =
        |e: std::io::Error| anyhow::anyhow!("cannot read the workload {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut parser = WorkloadParser::default();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(cannot)? == 0 {
            break;
        }
        parser
            .line(&line)
            .map_err(|e| anyhow::anyhow!("{} is not a valid workload: {e}", path.display()))?;
        after_line(&mut parser);
    }
    Ok(parser.finish())
}

/// One pass of the index over the queries; how many were allowed (so that nothing is
/// optimised away).
fn index_pass(index: &Index, queries: &Queries) -> usize {
    queries
        .items
        .iter()
        .filter(|q| {
            let (principal, role, scope) = queries.names(q);
            black_box(index.allows(principal, role, scope, q.at))
        })
        .count()
}

/// The same pass with the reference evaluator.
fn reference_pass(reference: &Reference<'_>, queries: &Queries) -> usize {
    queries
        .items
        .iter()
        .filter(|q| {
            let (principal, role, scope) = queries.names(q);
            black_box(reference.allows(principal, role, scope, q.at))
        })
        .count()
}

/// The query as its workload line, what it expected and what the index said.
fn mismatch(n: usize, q: &Query, got: bool) -> String {
    format!("mismatch: query {n} {} answered {got}", query_line(q))
}

/// The query as its workload line, and the index's answer the reference did not give.
fn disagreement(n: usize, q: &Query, got: bool) -> String {
    format!(
        "reference disagrees: query {n} {} index answered {got}, reference {}",
        query_line(q),
        !got
    )
}

fn query_line(q: &Query) -> serde_json::Value {
    serde_json::json!({
        "kind": "query",
        "principal": q.principal,
        "role": q.role,
        "scope": q.scope,
        "at": q.at,
        "expect": q.expect,
    })
}

/// What one `Stopwatch` start and read cost together, in ns (the mean over a million pairs).
fn timer_cost_ns() -> f64 {
    const PAIRS: u32 = 1_000_000;
    let all = Stopwatch::start();
    for _ in 0..PAIRS {
        black_box(Stopwatch::start().elapsed());
    }
    all.elapsed().as_nanos() as f64 / f64::from(PAIRS)
}

/// Latencies in 1 ns buckets up to `LINEAR_NS`, the rare longer ones kept as they are.
struct Histogram {
    buckets: Vec<u32>,
    over: Vec<u64>,
    count: u64,
    max: u64,
}

const LINEAR_NS: usize = 100_000;

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: vec![0; LINEAR_NS],
            over: Vec::new(),
            count: 0,
            max: 0,
        }
    }
}

impl Histogram {
    #[inline]
    fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        match self.buckets.get_mut(ns as usize) {
            Some(b) => *b += 1,
            None => self.over.push(ns),
        }
        self.count += 1;
        self.max = self.max.max(ns);
    }

    /// The value at rank `round((count - 1) * p)` (the convention of `super::percentile`).
    fn percentile(&self, p: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((self.count - 1) as f64 * p).round() as u64;
        let mut seen = 0u64;
        for (ns, &n) in self.buckets.iter().enumerate() {
            seen += u64::from(n);
            if seen > rank {
                return ns as u64;
            }
        }
        let mut over = self.over.clone();
        over.sort_unstable();
        over[(rank - seen) as usize]
    }
}

/// Peak resident set of this process in MiB (`VmHWM`), where the system tells.
pub(super) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}
