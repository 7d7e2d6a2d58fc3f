//! Authorization lives in one layer, `src/service` (`service::authorize`): no portal handler
//! decides access itself. A page's read guard is a service reader or `may_*` question, and what a
//! page shows comes from `Viewer::can` (`authorize::capabilities`), so `src/portal` names no
//! resource action and asks no caller's grants.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_portal_decides_no_access_itself() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    files(&root.join("src/portal"), &mut sources);
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
