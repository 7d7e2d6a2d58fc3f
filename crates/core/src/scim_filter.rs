//! SCIM filters (RFC 7644 section 3.4.2.2), the subset Eligo answers: `eq`, `co`, `sw` and `pr`
//! on the attributes a resource type lists, joined with `and` / `or` and grouped with
//! parentheses. Anything else (`ne`, `gt`, `not`, value paths `emails[...]`, an attribute not
//! listed) is an `invalidFilter` error: a filter is never half-understood, because a filter
//! that silently matches more than asked would make a provisioning client act on the wrong
//! objects. Pure: parsing and matching are plain functions.

/// A comparison value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Co,
    Sw,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// The attribute has a value.
    Present(String),
    Compare {
        attr: String,
        op: Op,
        value: Value,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// Why a filter is refused, in words for the `detail` of an `invalidFilter` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest filter accepted: a provisioning client's filters are short.
pub const MAX_LEN: usize = 2048;
/// Deepest nesting of parentheses accepted (the parser recurses).
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn tokens(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(FilterError("a string is not closed".into())),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('"') => s.push('"'),
                            Some('\\') => s.push('\\'),
                            Some('/') => s.push('/'),
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            _ => return Err(FilterError("unsupported escape in a string".into())),
                        },
                        Some(ch) => s.push(ch),
                    }
                }
                out.push(Token::Str(s));
            }
            '[' | ']' => {
                return Err(FilterError(
                    "value paths (attr[...]) are not supported".into(),
                ));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || matches!(ch, '(' | ')' | '"' | '[' | ']') {
                        break;
                    }
                    w.push(ch);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    attributes: &'a [&'a str],
}

impl Parser<'_> {
    fn peek_word(&self) -> Option<String> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn or(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let mut left = self.and(depth)?;
        while self.peek_word().as_deref() == Some("or") {
            self.at += 1;
            let right = self.and(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let mut left = self.term(depth)?;
        while self.peek_word().as_deref() == Some("and") {
            self.at += 1;
            let right = self.term(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self, depth: usize) -> Result<Filter, FilterError> {
        if depth > MAX_DEPTH {
            return Err(FilterError("the filter is nested too deeply".into()));
        }
        match self.tokens.get(self.at).cloned() {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or(depth + 1)?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err(FilterError("a parenthesis is not closed".into()));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => {
                Err(FilterError("the operator \"not\" is not supported".into()))
            }
            Some(Token::Word(w)) => {
                self.at += 1;
                let attr = self.attribute(&w)?;
                let op = self
                    .peek_word()
                    .ok_or_else(|| FilterError(format!("an operator must follow \"{w}\"")))?;
                self.at += 1;
                let op = match op.as_str() {
                    "pr" => return Ok(Filter::Present(attr)),
                    "eq" => Op::Eq,
                    "co" => Op::Co,
                    "sw" => Op::Sw,
                    "ne" | "ew" | "gt" | "ge" | "lt" | "le" => {
                        return Err(FilterError(format!(
                            "the operator \"{op}\" is not supported (eq, co, sw, pr are)"
                        )));
                    }
                    other => return Err(FilterError(format!("unknown operator \"{other}\""))),
                };
                let value = match self.tokens.get(self.at).cloned() {
                    Some(Token::Str(s)) => Value::Str(s),
                    Some(Token::Word(w)) => match w.as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        _ => {
                            return Err(FilterError(format!(
                                "\"{w}\" is not a value: strings are quoted"
                            )));
                        }
                    },
                    _ => return Err(FilterError("a value must follow the operator".into())),
                };
                self.at += 1;
                if op != Op::Eq && !matches!(value, Value::Str(_)) {
                    return Err(FilterError("co and sw compare strings only".into()));
                }
                Ok(Filter::Compare { attr, op, value })
            }
            _ => Err(FilterError("an attribute name was expected".into())),
        }
    }

    /// The listed attribute `word` names, case-insensitively, with or without its schema's URN.
    fn attribute(&self, word: &str) -> Result<String, FilterError> {
        let bare = match word.rfind(':') {
            Some(i) if word.to_ascii_lowercase().starts_with("urn:") => &word[i + 1..],
            _ => word,
        };
        self.attributes
            .iter()
            .find(|a| a.eq_ignore_ascii_case(bare) || a.eq_ignore_ascii_case(word))
            .map(|a| a.to_string())
            .ok_or_else(|| FilterError(format!("filtering on \"{word}\" is not supported")))
    }
}

/// Parses `input`, accepting only the attributes in `attributes` (canonical spellings).
pub fn parse(input: &str, attributes: &[&str]) -> Result<Filter, FilterError> {
    if input.len() > MAX_LEN {
        return Err(FilterError("the filter is too long".into()));
    }
    let mut parser = Parser {
        tokens: tokens(input)?,
        at: 0,
        attributes,
    };
    if parser.tokens.is_empty() {
        return Err(FilterError("the filter is empty".into()));
    }
    let filter = parser.or(0)?;
    if parser.at != parser.tokens.len() {
        return Err(FilterError("unexpected text after the filter".into()));
    }
    Ok(filter)
}

impl Filter {
    /// `attr eq "value"` alone: what an index can answer.
    pub fn as_equality(&self) -> Option<(&str, &str)> {
        match self {
            Filter::Compare {
                attr,
                op: Op::Eq,
                value: Value::Str(v),
            } => Some((attr, v)),
            _ => None,
        }
    }

    /// Does a resource match? `values(attr)` answers an attribute's values (none when
    /// absent); strings compare case-insensitively except the attributes in `case_exact`.
    pub fn matches(&self, values: &dyn Fn(&str) -> Vec<Value>, case_exact: &[&str]) -> bool {
        match self {
            Filter::And(a, b) => a.matches(values, case_exact) && b.matches(values, case_exact),
            Filter::Or(a, b) => a.matches(values, case_exact) || b.matches(values, case_exact),
            Filter::Present(attr) => values(attr)
                .iter()
                .any(|v| !matches!(v, Value::Null) && *v != Value::Str(String::new())),
            Filter::Compare { attr, op, value } => {
                let exact = case_exact.contains(&attr.as_str());
                let have = values(attr);
                if *value == Value::Null {
                    return have.iter().all(|v| *v == Value::Null);
                }
                have.iter().any(|v| match (v, value) {
                    (Value::Str(h), Value::Str(w)) => {
                        let (h, w) = if exact {
                            (h.clone(), w.clone())
                        } else {
                            (h.to_lowercase(), w.to_lowercase())
                        };
                        match op {
                            Op::Eq => h == w,
                            Op::Co => h.contains(&w),
                            Op::Sw => h.starts_with(&w),
                        }
                    }
                    (h, w) => *op == Op::Eq && h == w,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTRS: [&str; 5] = ["userName", "externalId", "active", "emails.value", "id"];

    fn ok(input: &str) -> Filter {
        parse(input, &ATTRS).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    fn bad(input: &str, why: &str) {
        let e = parse(input, &ATTRS).expect_err(input);
        assert!(e.0.contains(why), "{input}: {e}");
    }

    #[test]
    fn parses_the_supported_subset() {
        assert_eq!(
            ok(r#"userName eq "bjensen""#).as_equality(),
            Some(("userName", "bjensen"))
        );
        assert_eq!(
            ok(r#"USERNAME Eq "x""#).as_equality(),
            Some(("userName", "x"))
        );
        assert_eq!(
            ok(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#).as_equality(),
            Some(("userName", "x"))
        );
        assert!(matches!(ok("externalId pr"), Filter::Present(a) if a == "externalId"));
        assert!(matches!(
            ok(r#"userName sw "a" and active eq true or id eq "1""#),
            Filter::Or(..)
        ));
        assert!(matches!(
            ok(r#"userName sw "a" and (active eq true or id eq "1")"#),
            Filter::And(..)
        ));
        assert!(
            matches!(ok(r#"userName eq "q\"uote""#), Filter::Compare { value: Value::Str(s), .. } if s == "q\"uote")
        );
    }

    #[test]
    fn refuses_everything_else() {
        bad(r#"userName ne "x""#, "not supported");
        bad(r#"userName gt "x""#, "not supported");
        bad(r#"not (userName eq "x")"#, "not");
        bad(r#"emails[type eq "work"]"#, "value paths");
        bad(r#"title eq "x""#, "not supported");
        bad(r#"userName eq x"#, "quoted");
        bad(r#"userName eq "x"#, "not closed");
        bad(r#"(userName eq "x""#, "parenthesis");
        bad(r#"userName eq "x" junk"#, "unexpected");
        bad("userName", "operator");
        bad(r#"userName zz "x""#, "unknown operator");
        bad(r#"active co true"#, "strings only");
        bad("", "empty");
        bad(&"(".repeat(40), "deeply");
        bad(&format!("userName eq \"{}\"", "x".repeat(3000)), "too long");
    }

    #[test]
    fn matching() {
        let values = |attr: &str| match attr {
            "userName" => vec![Value::Str("BJensen@example.com".into())],
            "externalId" => vec![Value::Str("Ext-1".into())],
            "active" => vec![Value::Bool(true)],
            "emails.value" => vec![Value::Str("a@x".into()), Value::Str("b@y".into())],
            _ => vec![],
        };
        let exact = ["externalId", "id"];
        let m = |f: &str| ok(f).matches(&values, &exact);
        assert!(m(r#"userName eq "bjensen@EXAMPLE.com""#));
        assert!(m(r#"userName sw "bj""#));
        assert!(m(r#"userName co "@example""#));
        assert!(!m(r#"externalId eq "ext-1""#), "externalId is case-exact");
        assert!(m(r#"externalId eq "Ext-1""#));
        assert!(m("active eq true"));
        assert!(!m("active eq false"));
        assert!(m(r#"emails.value eq "b@y""#));
        assert!(m("userName pr"));
        assert!(!m("id pr"));
        assert!(m(r#"id eq "1" or active eq true"#));
        assert!(!m(r#"id eq "1" and active eq true"#));
    }
}
