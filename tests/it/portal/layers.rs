//! Authorization lives in one layer, `src/service` (`service::authorize`): no portal handler
//! decides access itself. A page's read guard is a service reader or `may_*` question, and what a
//! page shows comes from `Viewer::can` (`authorize::capabilities`), so `src/portal` names no
//! resource action and asks no caller's grants.

use std::path::PathBuf;

use crate::harness::rust_sources;

#[test]
fn the_portal_decides_no_access_itself() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    rust_sources(&root.join("src/portal"), &mut sources);
    assert!(sources.len() > 10, "found {} sources", sources.len());
    let forbidden = [
        "authz::actions",
        "actions::",
        ".require(",
        ".may(",
        "grants.allows",
        "authz::decide",
    ];
    let mut found = Vec::new();
    for path in &sources {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for pattern in forbidden {
                if line.contains(pattern) {
                    found.push(format!(
                        "{}:{}: {}",
                        path.strip_prefix(&root).unwrap().display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "portal code deciding access (ask src/service instead):\n{}",
        found.join("\n")
    );
}
