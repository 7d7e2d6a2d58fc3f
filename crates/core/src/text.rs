//! Text helpers the store's queries share.

/// The least string that sorts, in byte order (UTF-8's order is code-point order), after every
/// string starting with `prefix`: its last character incremented, trailing U+10FFFF dropped
/// first. So the strings starting with `prefix` are exactly the range `[prefix, after)`, which
/// an index reads in one seek. None when nothing sorts after them all (`prefix` empty or only
/// U+10FFFF): the range then has no end.
pub fn after_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 + 1 {
            // The surrogates are not characters: the next one after U+D7FF is U+E000.
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::after_prefix;

    #[test]
    fn the_range_after_a_prefix_holds_exactly_the_strings_starting_with_it() {
        assert_eq!(after_prefix("ab").as_deref(), Some("ac"));
        assert_eq!(after_prefix("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(after_prefix("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(after_prefix("é").as_deref(), Some("ê"));
        assert_eq!(after_prefix(""), None);
        assert_eq!(after_prefix("\u{10FFFF}\u{10FFFF}"), None);
        let names = [
            "ab",
            "ab\u{0}",
            "abz",
            "ab\u{10FFFF}",
            "ab\u{10FFFF}x",
            "abé",
            "aa",
            "ac",
            "a",
            "b",
            "ab-",
            "ab ",
        ];
        for prefix in ["ab", "a", "ab\u{10FFFF}", "é", "z\u{10FFFF}"] {
            let after = after_prefix(prefix);
            for name in names {
                let in_range = name.as_bytes() >= prefix.as_bytes()
                    && after
                        .as_ref()
                        .is_none_or(|a| name.as_bytes() < a.as_bytes());
                assert_eq!(
                    in_range,
                    name.starts_with(prefix),
                    "{name:?} after {prefix:?}"
                );
            }
        }
    }
}
