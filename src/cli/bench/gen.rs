//! `eligo bench gen`: writes a generated effective-access workload (the JSON-lines format of
//! `eligo_core::access::workload`) to stdout, for `eligo bench check`. Deterministic: the same
//! arguments give the same bytes; every query's `expect` comes from the naive reference
//! evaluator.

use std::io::Write;

use eligo_core::access::workload::generate;

/// Writes the workload to `out`.
pub fn write(
    out: &mut impl Write,
    users: usize,
    groups: usize,
    assignments: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let text = generate(users, groups, assignments, seed);
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub fn run(users: usize, groups: usize, assignments: usize, seed: u64) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write(&mut out, users, groups, assignments, seed)
        .map_err(|e| anyhow::anyhow!("cannot write the workload to stdout: {e}"))
}
