//! CPU time per thread of this process, from Linux's `/proc/self/task/*/stat`, so a bench can
//! say what each operation cost in CPU and which thread was busiest: on SQLite the writer's
//! thread is the part no other thread can take over, so its time per operation bounds the
//! rate however the rest overlaps it. Elsewhere (no `/proc`) the snapshot is empty and
//! nothing is printed.

use std::collections::HashMap;

/// Linux's clock tick for `utime` and `stime`, which is 100 Hz on every kernel this runs on
/// (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

/// Each thread's name and CPU time (user and system, in ticks) at one moment.
pub struct ThreadCpu(HashMap<u32, (String, u64)>);

impl ThreadCpu {
    pub fn now() -> Self {
        let mut threads = HashMap::new();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return ThreadCpu(threads);
        };
        for task in tasks.flatten() {
            let Ok(tid) = task.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Some(sample) = std::fs::read_to_string(task.path().join("stat"))
                .ok()
                .and_then(|stat| parse_stat(&stat))
            {
                threads.insert(tid, sample);
            }
        }
        ThreadCpu(threads)
    }

    /// What the threads used since `before`, per operation (`ops` of them): the whole
    /// process's CPU time and the busiest thread's, in microseconds, and that thread's name.
    /// `None` when there was nothing to measure.
    pub fn per_op_since(&self, before: &ThreadCpu, ops: usize) -> Option<String> {
        let used = |tid: &u32, (_, ticks): &(String, u64)| {
            ticks.saturating_sub(before.0.get(tid).map_or(0, |(_, t)| *t))
        };
        let total: u64 = self.0.iter().map(|(tid, s)| used(tid, s)).sum();
        let (name, busiest) = self
            .0
            .iter()
            .map(|(tid, s)| (&s.0, used(tid, s)))
            .max_by_key(|(_, ticks)| *ticks)?;
        if ops == 0 || total == 0 {
            return None;
        }
        let micros = |ticks: u64| ticks as f64 / TICKS_PER_SECOND * 1e6 / ops as f64;
        Some(format!(
            "cpu_us_per_op={:.0} busiest_thread={} busiest_us_per_op={:.0}",
            micros(total),
            name.replace(' ', "_"),
            micros(busiest)
        ))
    }
}

/// The thread's name and `utime + stime` from one `stat` line. The name is in parentheses and
/// may itself hold spaces and parentheses, so the fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let mut fields = stat.get(close + 1..)?.split_whitespace();
    // After the name: state (3), ppid … cminflt … (4–13), utime (14), stime (15).
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((name, utime + stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_the_name_and_the_cpu_ticks() {
        let line = "4242 (sqlx-sqlite-wor) S 1 1 1 0 -1 4194368 100 0 0 0 250 37 0 0 20 0 9 0";
        assert_eq!(parse_stat(line), Some(("sqlx-sqlite-wor".to_string(), 287)));
        let odd = "7 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0";
        assert_eq!(parse_stat(odd), Some(("a (b) c".to_string(), 11)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn the_busiest_thread_and_the_total_per_operation() {
        let at = |pairs: &[(u32, &str, u64)]| {
            ThreadCpu(
                pairs
                    .iter()
                    .map(|(tid, name, t)| (*tid, (name.to_string(), *t)))
                    .collect(),
            )
        };
        let before = at(&[(1, "main", 10), (2, "writer", 100)]);
        let after = at(&[(1, "main", 30), (2, "writer", 160), (3, "new", 20)]);
        // 100 ticks = 1 s over 1,000 operations: 1,000 µs each; the writer 600.
        assert_eq!(
            after.per_op_since(&before, 1000).as_deref(),
            Some("cpu_us_per_op=1000 busiest_thread=writer busiest_us_per_op=600")
        );
        assert_eq!(after.per_op_since(&before, 0), None);
    }
}
