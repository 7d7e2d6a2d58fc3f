//! The server crate's layers hold (issue 18, item 8): the shared state (`app`) and the
//! configuration sit below the use cases, the long-lived parts sit below the state that holds
//! them, and no import cycle spans more than a few files. The test reads `src/` as it is: every
//! `crate::`, `super::` and `self::` path outside comments and test modules is an edge from its
//! file's module to the module it names, and the strongly connected components of that graph
//! are the import cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::harness::rust_sources;

/// The largest import cycle allowed, in modules: the steps of one workflow may name each other
/// (an access package request's submit, approval, callouts and scheduled start); a web of
/// use cases across features may not.
const LARGEST_CYCLE: usize = 4;

/// Modules in no cycle at all: the state every use case takes and the configuration.
const ACYCLIC: &[&str] = &["app", "config"];

/// The long-lived parts the state holds: below it, so none of them reaches `app` by any path.
const BELOW_THE_STATE: &[&str] = &[
    "waker",
    "auth::sessions",
    "auth::throttle",
    "auth::oidc_provider",
    "service::access::live",
    "service::verify_gate",
    "service::breakglass_notices",
    "notify::audit_feed_heads",
    "notify::mail",
    "notify::webhooks",
    "provisioning::registry",
    "portal::audit::chain",
    "outbox::delivery",
];

/// `src/service/pim/mod.rs` is `service::pim`; `src/lib.rs` is the crate root `""`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The code without comments and without the test module at the end of a file.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands a use tree that starts at `rest` (after `crate::`, `super::` or `self::`) into the
/// paths it names: `a::{b, c::{d}}` gives `a::b` and `a::c::d`.
fn expand(rest: &str) -> Vec<String> {
    fn tree(s: &[u8], at: &mut usize, prefix: &str, out: &mut Vec<String>) {
        let mut path = prefix.to_string();
        loop {
            let start = *at;
            while *at < s.len() && (s[*at].is_ascii_alphanumeric() || s[*at] == b'_') {
                *at += 1;
            }
            let segment = std::str::from_utf8(&s[start..*at]).unwrap();
            if !segment.is_empty() && segment != "self" {
                if !path.is_empty() {
                    path.push_str("::");
                }
                path.push_str(segment);
            }
            if s[*at..].starts_with(b"::{") {
                *at += 3;
                loop {
                    while *at < s.len() && s[*at].is_ascii_whitespace() {
                        *at += 1;
                    }
                    if *at >= s.len() || s[*at] == b'}' {
                        *at += 1;
                        return;
                    }
                    tree(s, at, &path, out);
                    while *at < s.len() && s[*at] != b',' && s[*at] != b'}' {
                        *at += 1;
                    }
                    if *at < s.len() && s[*at] == b',' {
                        *at += 1;
                    }
                }
            } else if s[*at..].starts_with(b"::") {
                *at += 2;
            } else {
                out.push(path);
                return;
            }
        }
    }
    let mut out = Vec::new();
    tree(rest.as_bytes(), &mut 0, "", &mut out);
    out
}

/// Where `crate::`, `super::` and `self::` start a path (not inside a longer name): each as
/// the range of the keyword and its `::`.
fn path_starts(code: &str) -> Vec<(usize, usize)> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    for keyword in ["crate::", "super::", "self::"] {
        for (at, _) in code.match_indices(keyword) {
            let inside_a_name =
                at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
            if !inside_a_name {
                found.push((at, at + keyword.len()));
            }
        }
    }
    found
}

/// The longest prefix of `path` that is a module.
fn resolve<'a>(modules: &'a BTreeSet<String>, path: &str) -> Option<&'a String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .find_map(|n| modules.get(&segments[..n].join("::")))
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let own: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let mut to = BTreeSet::new();
        for (start, end) in path_starts(&code) {
            let base = match &code[start..end - 2] {
                "crate" => String::new(),
                // `super::` names the parent module, whether the file is `a/b.rs` or `a/b/mod.rs`.
                "super" => own[..own.len().saturating_sub(1)].join("::"),
                _ => module.clone(),
            };
            for path in expand(&code[end..]) {
                let full = match (base.is_empty(), path.is_empty()) {
                    (true, _) => path,
                    (false, true) => base.clone(),
                    (false, false) => format!("{base}::{path}"),
                };
                if let Some(target) = resolve(&modules, &full)
                    && *target != module
                    && !target.is_empty()
                {
                    to.insert(target.clone());
                }
            }
        }
        edges.insert(module, to);
    }
    edges
}

/// Tarjan's strongly connected components with more than one module.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let low = s.low[v].min(s.low[w.as_str()]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w.as_str()) {
                let low = s.low[v].min(s.index[w.as_str()]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(w);
                component.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

#[test]
fn use_trees_expand_to_the_paths_they_name() {
    assert_eq!(expand("app::App;"), vec!["app::App"]);
    assert_eq!(
        expand("service::{self, pim::{a, b}, directory};"),
        vec![
            "service",
            "service::pim::a",
            "service::pim::b",
            "service::directory"
        ]
    );
    assert_eq!(
        expand("outbox::worker::run_forever(app)"),
        vec!["outbox::worker::run_forever"]
    );
}

#[test]
fn a_cycle_is_found_and_a_chain_is_not() {
    let graph = |pairs: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert!(cycles(&graph(&[("a", "b"), ("b", "c")])).is_empty());
    let found = cycles(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
}

#[test]
fn no_import_cycle_spans_more_than_a_few_files() {
    let edges = import_graph();
    assert!(edges.len() > 200, "read {} modules", edges.len());
    // The reading finds what it should: the wiring reaches the state, the use cases take it.
    assert!(edges["wiring"].contains("app"), "{:?}", edges["wiring"]);
    assert!(edges["service::pim::activate"].contains("app"));
    let found = cycles(&edges);
    let too_large: Vec<_> = found.iter().filter(|c| c.len() > LARGEST_CYCLE).collect();
    assert!(
        too_large.is_empty(),
        "import cycles longer than {LARGEST_CYCLE} modules: {too_large:#?}"
    );
    let in_a_cycle: Vec<_> = ACYCLIC
        .iter()
        .filter(|m| found.iter().any(|c| c.contains(**m)))
        .collect();
    assert!(
        in_a_cycle.is_empty(),
        "these must import nothing that imports them back: {in_a_cycle:?} (cycles: {found:#?})"
    );
    for m in ACYCLIC.iter().chain(BELOW_THE_STATE) {
        assert!(
            edges.contains_key(*m),
            "{m} is no longer a module: update the lists"
        );
    }
    for part in BELOW_THE_STATE {
        let reached = reachable(&edges, part);
        assert!(
            !reached.contains("app"),
            "{part} reaches the state that holds it (app) through {reached:?}"
        );
    }
}

/// Every module `from` imports, directly or through others.
fn reachable<'a>(edges: &'a BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut next: Vec<&str> = edges[from].iter().map(String::as_str).collect();
    while let Some(m) = next.pop() {
        if seen.insert(m) {
            next.extend(edges.get(m).into_iter().flatten().map(String::as_str));
        }
    }
    seen
}
