//! SIEM export of the audit trail (threat-model rule 8): every entry, oldest first, appended as
//! one JSON line to `ELIGO_AUDIT_EXPORT_FILE`, which a log shipper tails. Delivery is at least
//! once and resumable: the last exported sequence is kept beside the file (`<file>.cursor`) and
//! written only after the lines are on disk, so a crash in between repeats lines (a reader
//! deduplicates on `sequence`) but never skips one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::app::App;

/// How often the export looks for new entries.
const POLL: Duration = Duration::from_millis(500);
const BATCH: i64 = 1_000;

fn cursor_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".cursor");
    PathBuf::from(name)
}

/// The last sequence exported to `file` (0 when none).
pub fn cursor(file: &Path) -> anyhow::Result<i64> {
    match std::fs::read_to_string(cursor_path(file)) {
        Ok(text) => Ok(text.trim().parse()?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn save_cursor(file: &Path, sequence: i64) -> anyhow::Result<()> {
    let path = cursor_path(file);
    let tmp = path.with_extension("cursor.tmp");
    std::fs::write(&tmp, sequence.to_string())?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// Appends every entry after the cursor; returns how many were written.
pub async fn export_new(app: &App, file: &Path) -> anyhow::Result<usize> {
    let mut after = cursor(file)?;
    let mut written = 0;
    loop {
        let batch = app.store.read().await?.audit_after(after, BATCH).await?;
        let Some(last) = batch.last() else {
            return Ok(written);
        };
        let last = last.sequence;
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)?;
        let mut lines = Vec::new();
        for entry in &batch {
            serde_json::to_writer(&mut lines, entry)?;
            lines.push(b'\n');
        }
        out.write_all(&lines)?;
        out.sync_data()?;
        save_cursor(file, last)?;
        written += batch.len();
        after = last;
    }
}

/// Exports new entries every half second, until aborted.
pub async fn run_forever(app: Arc<App>, file: PathBuf) {
    loop {
        if let Err(e) = export_new(&app, &file).await {
            tracing::error!(error = %e, file = %file.display(), "exporting the audit trail failed; retrying");
        }
        tokio::time::sleep(POLL).await;
    }
}
