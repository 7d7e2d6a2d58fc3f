//! Directory scopes: `/` is everything; `/administrativeUnits/{id}` or
//! `/subscriptions/a/resourceGroups/b` name a part of it. An assignment at a scope applies to
//! every scope below it, and to nothing beside or above it.

use crate::invalid::Invalid;

pub const ROOT: &str = "/";

/// A scope is `/` or `/seg(/seg)*` with non-empty segments of printable, non-space characters;
/// `.` and `..` are refused so that no path can climb out of its subtree.
pub fn validate(scope: &str) -> Result<(), Invalid> {
    let bad = |why: &str| {
        Err(Invalid::new(
            "InvalidDirectoryScope",
            "directoryScopeId",
            why,
        ))
    };
    if scope == ROOT {
        return Ok(());
    }
    if !scope.starts_with('/') || scope.ends_with('/') || scope.len() > 400 {
        return bad("must be '/' or a path such as /administrativeUnits/{id}");
    }
    for seg in scope[1..].split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return bad("has an empty, '.' or '..' segment");
        }
        if seg.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("must not contain whitespace or control characters");
        }
    }
    Ok(())
}

/// Does an assignment at `held` apply at `target`? Segment-wise prefix, case-insensitive
/// (ids in paths are GUIDs, which compare case-insensitively).
pub fn covers(held: &str, target: &str) -> bool {
    if held == ROOT {
        return true;
    }
    let (h, t) = (held.to_ascii_lowercase(), target.to_ascii_lowercase());
    t == h || (t.starts_with(&h) && t.as_bytes().get(h.len()) == Some(&b'/'))
}

/// The scope one level up (`/a/b` -> `/a`, `/a` -> `/`), or None at the root.
pub fn parent(scope: &str) -> Option<&str> {
    if scope == ROOT {
        return None;
    }
    match scope.rfind('/') {
        Some(0) => Some(ROOT),
        Some(i) => Some(&scope[..i]),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(held: &str, target: &str, expect: bool) {
        assert_eq!(covers(held, target), expect, "{held} covers {target}");
    }

    #[test]
    fn coverage() {
        check("/", "/", true);
        check("/", "/a/b", true);
        check("/a", "/a", true);
        check("/a", "/a/b", true);
        check("/a", "/ab", false);
        check("/a/b", "/a", false);
        check("/a/b", "/", false);
        check("/A/b", "/a/B/c", true);
    }

    #[test]
    fn validation_and_parent() {
        for ok in [
            "/",
            "/administrativeUnits/1",
            "/subscriptions/a/resourceGroups/b",
        ] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "/a/", "//", "/a//b", "/a/../b", "/a b"] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
    }
}
