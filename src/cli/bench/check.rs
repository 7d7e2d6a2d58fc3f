//! `eligo bench check`: the effective-access index (`eligo_core::access::Index`) on a workload
//! file, as the server will use it.
//!
//! 1. Reads and parses the file (`parse_workload`; timed apart, as `parse_ms` in the DETAIL line).
//! 2. Builds the index with `Index::from_parts`, exactly as the server will (what
//!    `Workload::index` does, without its copies); `build_ms` is this step only.
//! 3. Answers every query with `Index::allows` and compares it with the query's `expect`; each
//!    mismatch is a problem (one line on stderr naming the query) and makes the command fail.
//! 4. Times the queries on this one thread, in two phases of at least `--measure-ms` each, both
//!    repeating the query list in file order:
//!    - throughput (`checks_per_sec`): whole passes timed as a batch, one clock read per pass, so
//!      the timer costs nothing per check;
//!    - latency (`p50_ns`, `p99_ns`): every check timed on its own with a `Stopwatch` (two reads
//!      of the TSC-backed monotonic clock through the vDSO); the pair's own cost, measured and
//!      reported as `timer_ns` in the DETAIL line, is included in the figures, not subtracted.
//!      Latencies go into a 1 ns histogram (exact percentiles, fixed memory).
//! 5. `rss_mib` is the peak resident set so far (`VmHWM` in `/proc/self/status`; Linux only):
//!    the file's text, the parsed workload and the index at their common peak.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use eligo_core::access::Index;
use eligo_core::access::workload::{Query, parse_workload};

use super::{Outcome, ms};
use crate::clock::Stopwatch;

pub fn run(path: &Path, measure: Duration) -> anyhow::Result<Outcome> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the workload {}: {e}", path.display()))?;
    let parse = Stopwatch::start();
    let workload = parse_workload(&text)
        .map_err(|e| anyhow::anyhow!("{} is not a valid workload: {e}", path.display()))?;
    let parse_ms = ms(parse.elapsed());
    drop(text);

    let queries = workload.queries;
    let build = Stopwatch::start();
    let index = Index::from_parts(workload.members, workload.assignments);
    let build_ms = ms(build.elapsed());
    let stats = index.stats();

    // Correctness first (this pass also warms the caches).
    let mut problems = Vec::new();
    let (mut checked, mut allowed) = (0usize, 0usize);
    for (n, q) in queries.iter().enumerate() {
        let got = index.allows(&q.principal, &q.role, &q.scope, q.at);
        allowed += usize::from(got);
        if let Some(expect) = q.expect {
            checked += 1;
            if got != expect {
                problems.push(mismatch(n + 1, q, got));
            }
        }
    }

    // Throughput: whole passes, timed as a batch.
    let (mut passes, mut granted) = (0usize, 0usize);
    let batch = Stopwatch::start();
    let throughput_time = loop {
        granted += pass(&index, &queries);
        passes += 1;
        let elapsed = batch.elapsed();
        if elapsed >= measure {
            break elapsed;
        }
    };
    black_box(granted);
    let throughput_checks = passes * queries.len();
    let checks_per_sec = if queries.is_empty() {
        0.0
    } else {
        throughput_checks as f64 / throughput_time.as_secs_f64()
    };

    // Latency: every check timed on its own.
    let timer_ns = timer_cost_ns();
    let mut hist = Histogram::default();
    let latency = Stopwatch::start();
    let mut latency_passes = 0usize;
    loop {
        for q in &queries {
            let w = Stopwatch::start();
            black_box(index.allows(&q.principal, &q.role, &q.scope, q.at));
            hist.record(w.elapsed());
        }
        latency_passes += 1;
        if latency.elapsed() >= measure {
            break;
        }
    }

    let rss = peak_rss_mib().map_or_else(|| "unknown".to_owned(), |m| format!("{m:.1}"));
    let line = format!(
        "RESULT checks_per_sec={checks_per_sec:.0} p50_ns={} p99_ns={} build_ms={build_ms:.1} rss_mib={rss} mismatches={}",
        hist.percentile(0.50),
        hist.percentile(0.99),
        problems.len(),
    );
    let details = vec![format!(
        "DETAIL bench=check queries={} checked={checked} allowed={allowed} parse_ms={parse_ms:.0} principals={} roles={} scopes={} edges={} assignments={} throughput_passes={passes} throughput_ms={:.0} latency_checks={} latency_passes={latency_passes} p90_ns={} p999_ns={} max_ns={} timer_ns={timer_ns:.0}",
        queries.len(),
        stats.principals,
        stats.roles,
        stats.scopes,
        stats.edges,
        stats.assignments,
        ms(throughput_time),
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

/// One pass over the queries; how many were allowed (so that nothing is optimised away).
fn pass(index: &Index, queries: &[Query]) -> usize {
    queries
        .iter()
        .filter(|q| black_box(index.allows(&q.principal, &q.role, &q.scope, q.at)))
        .count()
}

/// The query as its workload line, what it expected and what the index said.
fn mismatch(n: usize, q: &Query, got: bool) -> String {
    let line = serde_json::json!({
        "kind": "query",
        "principal": q.principal,
        "role": q.role,
        "scope": q.scope,
        "at": q.at,
        "expect": q.expect,
    });
    format!("mismatch: query {n} {line} answered {got}")
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
