//! Distinguished names (RFC 4514): syntax checks, a normal form for comparing two DNs, and the
//! first RDN's value (what a person recognises, e.g. the uid).
//!
//! The normal form lower-cases attribute types and values, resolves escapes and drops the
//! unescaped spaces around separators, so `UID=Alice, ou=People,dc=example,dc=org` and
//! `uid=alice,ou=people,dc=example,dc=org` compare equal. (Servers compare DN values with
//! their own matching rules; this is for our own comparisons: the placeholder, references.)

/// One RDN: its `type=value` pairs (more than one for multi-valued RDNs joined by `+`).
type Rdn = Vec<(String, String)>;

/// Checks `dn` is a syntactically valid, non-empty DN.
pub fn validate(dn: &str) -> Result<(), String> {
    parse(dn).map(|_| ())
}

/// The normal form of `dn` (see the module docs), or `None` when it is not a valid DN.
pub fn normalize(dn: &str) -> Option<String> {
    let rdns = parse(dn).ok()?;
    let mut out = String::new();
    for (i, rdn) in rdns.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut pairs: Vec<String> = rdn
            .into_iter()
            .map(|(attr, value)| format!("{attr}={}", escape(&value.to_lowercase())))
            .collect();
        pairs.sort();
        out.push_str(&pairs.join("+"));
    }
    Some(out)
}

/// Whether two DNs name the same entry (normal forms equal; an invalid DN equals only the
/// same string).
pub fn same(a: &str, b: &str) -> bool {
    match (normalize(a), normalize(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// The value of the first RDN (`alice` for `uid=alice,ou=people,...`), unescaped; `None` for an
/// invalid DN.
pub fn first_value(dn: &str) -> Option<String> {
    parse(dn)
        .ok()?
        .into_iter()
        .next()?
        .into_iter()
        .next()
        .map(|(_, v)| v)
}

/// Parses a DN into RDNs of (lower-cased type, unescaped value with the unescaped surrounding
/// spaces removed).
fn parse(dn: &str) -> Result<Vec<Rdn>, String> {
    if dn.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let bytes = dn.as_bytes();
    let mut rdns = Vec::new();
    let mut rdn = Vec::new();
    let mut i = 0;
    loop {
        let (attr, next) = attribute_type(bytes, i)?;
        let (value, next) = attribute_value(bytes, next)?;
        rdn.push((attr, value));
        match bytes.get(next) {
            None => {
                rdns.push(rdn);
                return Ok(rdns);
            }
            Some(b',') => rdns.push(std::mem::take(&mut rdn)),
            Some(b'+') => {}
            Some(_) => unreachable!("attribute_value stops only at a separator or the end"),
        }
        i = next + 1;
    }
}

/// `type=` starting at `i` (spaces around allowed); returns the lower-cased type and the index
/// after `=`.
fn attribute_type(bytes: &[u8], mut i: usize) -> Result<(String, usize), String> {
    while bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    let start = i;
    while bytes
        .get(i)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
    {
        i += 1;
    }
    let attr = std::str::from_utf8(&bytes[start..i]).unwrap_or_default();
    let keystring = attr.starts_with(|c: char| c.is_ascii_alphabetic()) && !attr.contains('.');
    let oid = !attr.is_empty()
        && attr
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if !keystring && !oid {
        return Err(format!(
            "expected an attribute type at position {start} (like `cn=...`)"
        ));
    }
    while bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    if bytes.get(i) != Some(&b'=') {
        return Err(format!("expected `=` after `{attr}`"));
    }
    Ok((attr.to_ascii_lowercase(), i + 1))
}

/// A value starting at `i`, up to an unescaped `,`, `+` or the end; returns it unescaped, with
/// unescaped leading and trailing spaces removed, and the index of the separator (or the end).
fn attribute_value(bytes: &[u8], mut i: usize) -> Result<(String, usize), String> {
    while bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    if bytes.get(i) == Some(&b'#') {
        return hex_value(bytes, i + 1);
    }
    // (byte, escaped)
    let mut value: Vec<(u8, bool)> = Vec::new();
    while let Some(&b) = bytes.get(i) {
        match b {
            b',' | b'+' => break,
            b'\\' => {
                let next = *bytes.get(i + 1).ok_or("a `\\` ends the DN")?;
                if b"\"+,;<>\\ #=".contains(&next) {
                    value.push((next, true));
                    i += 2;
                } else {
                    let byte = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| format!("bad escape at position {i}"))?;
                    value.push((byte, true));
                    i += 3;
                }
            }
            b'"' | b';' | b'<' | b'>' | 0 => {
                return Err(format!(
                    "`{}` at position {i} must be escaped",
                    char::from(b).escape_default()
                ));
            }
            _ => {
                value.push((b, false));
                i += 1;
            }
        }
    }
    while value.last() == Some(&(b' ', false)) {
        value.pop();
    }
    if value.is_empty() {
        return Err(format!("empty attribute value before position {i}"));
    }
    let value = String::from_utf8(value.into_iter().map(|(b, _)| b).collect())
        .map_err(|_| "a value is not UTF-8".to_string())?;
    Ok((value, i))
}

/// `#` followed by hex (BER-encoded value): kept as the hex text.
fn hex_value(bytes: &[u8], start: usize) -> Result<(String, usize), String> {
    let mut i = start;
    while bytes.get(i).is_some_and(u8::is_ascii_hexdigit) {
        i += 1;
    }
    let hex = &bytes[start..i];
    while bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    if hex.is_empty()
        || !hex.len().is_multiple_of(2)
        || !matches!(bytes.get(i), None | Some(b',' | b'+'))
    {
        return Err(format!("bad hex value at position {start}"));
    }
    Ok((format!("#{}", String::from_utf8_lossy(hex)), i))
}

/// Escapes what would be read back as structure.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, ',' | '+' | '=' | '\\' | '"' | ';' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_dns() {
        for dn in [
            "dc=example,dc=org",
            "uid=alice,ou=people,dc=example,dc=org",
            "CN=Smith\\, John,OU=Users,DC=corp,DC=example",
            "cn=a+sn=b,dc=x",
            "cn = spaced , dc = x",
            "2.5.4.3=x,dc=y",
            "cn=\\23hash\\20,dc=x",
            "cn=#0403616263,dc=x",
            "cn=caf\\C3\\A9,dc=x",
            "cn=a=b,dc=x",
        ] {
            assert_eq!(validate(dn), Ok(()), "{dn}");
        }
    }

    #[test]
    fn invalid_dns() {
        for dn in [
            "",
            "   ",
            "alice",
            "uid=alice,",
            ",dc=x",
            "=x,dc=y",
            "uid=,dc=x",
            "cn=a\\",
            "cn=a\\zz,dc=x",
            "cn=a;b,dc=x",
            "cn=a\"b",
            "1cn=x",
            "cn=#abc",
            "uid=alice,,dc=x",
        ] {
            assert!(validate(dn).is_err(), "{dn} should be invalid");
        }
    }

    #[test]
    fn normal_form_ignores_case_spaces_and_escapes() {
        assert!(same(
            "UID=Alice, ou=People ,dc=example,dc=org",
            "uid=alice,ou=people,dc=example,dc=org"
        ));
        assert!(same("cn=a\\2Cb,dc=x", "cn=a\\,b,dc=x"));
        assert!(same("cn=a+sn=b,dc=x", "sn=b+cn=a,dc=x"));
        assert!(!same("cn=a\\,b,dc=x", "cn=a,b=,dc=x"));
        assert!(!same("uid=alice,dc=x", "uid=bob,dc=x"));
        assert!(same("cn=x\\ ,dc=y", "cn=x\\20,dc=y"));
        assert!(!same("cn=x\\ ,dc=y", "cn=x,dc=y"));
    }

    #[test]
    fn first_value_unescapes() {
        assert_eq!(
            first_value("uid=alice,ou=people,dc=example,dc=org").as_deref(),
            Some("alice")
        );
        assert_eq!(
            first_value("CN=Smith\\, John,OU=Users").as_deref(),
            Some("Smith, John")
        );
        assert_eq!(first_value("nonsense"), None);
    }
}
