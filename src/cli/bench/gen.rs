//! `eligo bench gen`: writes a generated effective-access workload (the JSON-lines format of
//! `eligo_core::access::workload`) to stdout, for `eligo bench check`. Deterministic: the same
//! arguments give the same bytes; every query's `expect` comes from the naive reference
//! evaluator.

use std::io::Write;

use eligo_core::access::workload::{Shape, generate_shaped};

/// Writes the workload to `out`.
pub fn write(out: &mut impl Write, shape: &Shape) -> anyhow::Result<()> {
    let text = generate_shaped(shape).to_jsonl();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub fn run(shape: &Shape) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write(&mut out, shape).map_err(|e| anyhow::anyhow!("cannot write the workload to stdout: {e}"))
}
