//! Every portal template is in use: a page struct renders it (`#[template(path = ...)]` in
//! `src/portal`), or another template extends or includes it. An orphan template would be a
//! page no test renders; the page tests render each used one (every page the `Browser` loads is
//! checked for its CSP, content type and absence of internal text).

use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

#[test]
fn every_portal_template_is_rendered_by_a_page_or_used_by_another_template() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut templates = Vec::new();
    files(&root.join("templates/portal"), "html", &mut templates);
    let mut sources = Vec::new();
    files(&root.join("src/portal"), "rs", &mut sources);
    let code: String = sources
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let markup: String = templates
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(templates.len() > 20, "found {} templates", templates.len());
    for t in &templates {
        let name = t
            .strip_prefix(root.join("templates"))
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let quoted = format!("\"{name}\"");
        assert!(
            code.contains(&format!("path = {quoted}")) || markup.contains(&quoted),
            "{name} is neither a page's template nor extended/included by another template"
        );
    }
}
