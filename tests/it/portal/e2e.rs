//! The portal in a real browser: Debian's Chromium driven by playwright-core walks the seed
//! scenarios (`tests/e2e/walk.mjs`) against a real `eligo serve --demo` on `localhost`.
//! Screenshots go to a temporary folder, or to `ELIGO_E2E_SCREENSHOTS` (e.g. `docs/screenshots`
//! to refresh the README's pictures).

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::temp_dir;
use crate::process::support::{Server, Spec};

#[tokio::test]
async fn the_seed_scenarios_walk_through_in_chromium() {
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let Some(runner) = eligo_testkit::browser::runner(&scripts) else {
        return;
    };
    let dir = temp_dir("e2e");
    // A one-second minimum lets the walk deactivate what it just activated, in real time.
    let spec = Spec::sqlite(&dir)
        .args(&["--demo"])
        .setting("ELIGO_MIN_DURATION", "PT1S");
    let server = Server::start(&spec).await;
    let shots = std::env::var("ELIGO_E2E_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.join("screenshots"));
    let outcome = runner
        .run(
            "walk.mjs",
            &[
                ("ELIGO_URL", format!("http://localhost:{}", server.port)),
                ("SHOTS", shots.display().to_string()),
            ],
            Duration::from_secs(240),
        )
        .await;
    println!("{}", outcome.output);
    assert!(
        outcome.success,
        "the browser walk failed:\n{}\n--- server stderr ---\n{}",
        outcome.output,
        server.stderr()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
