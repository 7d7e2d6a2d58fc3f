//! The OData `$filter` subset that Microsoft Graph's PIM endpoints accept, parsed into a flat
//! list of conditions joined by `and`.
//!
//! Handlers hold a parsed [`Filter`] against an allow-list of fields and operators and then
//! read values out of it. Anything outside the subset (`or`, `not`, groups, other functions)
//! is an error rather than being skipped, because a filter that is quietly ignored returns
//! more rows than the caller asked for.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A comparison operator. `StartsWith` comes from the `startswith(path, 'prefix')` function.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Gt,
    Le,
    Lt,
    StartsWith,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Ge => "ge",
            Op::Gt => "gt",
            Op::Le => "le",
            Op::Lt => "lt",
            Op::StartsWith => "startswith",
        })
    }
}

/// The right-hand side of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    DateTime(DateTime<Utc>),
    Bool(bool),
    Int(i64),
    Null,
    Guid(Uuid),
}

impl Literal {
    /// The value as text when it can name something: a string as written, a GUID in its
    /// lowercase hyphenated form. Ids arrive both quoted and bare, and this lets a handler
    /// treat them alike.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Literal::String(s) => Some(s.clone()),
            Literal::Guid(g) => Some(g.hyphenated().to_string()),
            _ => None,
        }
    }

    /// The value as an instant, when it was written as an unquoted RFC 3339 date-time.
    pub fn as_datetime(&self) -> Option<DateTime<Utc>> {
        match self {
            Literal::DateTime(d) => Some(*d),
            _ => None,
        }
    }

    /// The value as a boolean, when it was written as `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Literal::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// One `field op value` test. A lambda `coll/any(t: t/prop eq v)` becomes the field
/// `coll/any/prop`, so allow-lists and lookups treat it like any other path.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    pub value: Literal,
}

/// A parsed `$filter`: every condition must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub conditions: Vec<Condition>,
}

/// Why a `$filter` was refused. `Syntax` positions are byte offsets into the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error("invalid $filter at position {position}: {message}")]
    Syntax { position: usize, message: String },
    #[error("unsupported $filter: {0}")]
    Unsupported(String),
}

impl Filter {
    /// Checks every condition against an allow-list of (field, allowed ops); field names
    /// compare case-insensitively. Anything not allowed is `FilterError::Unsupported`, naming
    /// the field and operator.
    pub fn restrict(&self, allowed: &[(&str, &[Op])]) -> Result<(), FilterError> {
        for c in &self.conditions {
            match allowed
                .iter()
                .find(|(field, _)| field.eq_ignore_ascii_case(&c.field))
            {
                Some((_, ops)) if ops.contains(&c.op) => {}
                Some(_) => {
                    return Err(FilterError::Unsupported(format!(
                        "operator '{}' is not supported on '{}'",
                        c.op, c.field
                    )));
                }
                None => {
                    return Err(FilterError::Unsupported(format!(
                        "filtering on '{}' (operator '{}') is not supported",
                        c.field, c.op
                    )));
                }
            }
        }
        Ok(())
    }

    /// The value of the first `field eq value` condition (case-insensitive field name), if any.
    pub fn eq(&self, field: &str) -> Option<&Literal> {
        self.conditions
            .iter()
            .find(|c| c.op == Op::Eq && c.field.eq_ignore_ascii_case(field))
            .map(|c| &c.value)
    }

    /// All conditions on this field (case-insensitive).
    pub fn on<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a Condition> + 'a {
        self.conditions
            .iter()
            .filter(move |c| c.field.eq_ignore_ascii_case(field))
    }
}

/// Parses a `$filter` value. Empty or all-whitespace input is an empty filter.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    let mut p = Parser { src: input, pos: 0 };
    let mut conditions = Vec::new();
    p.skip_ws();
    if p.at_end() {
        return Ok(Filter { conditions });
    }
    loop {
        conditions.push(p.condition(None)?);
        let spaced = p.skip_ws() > 0;
        if p.at_end() {
            return Ok(Filter { conditions });
        }
        let at = p.pos;
        let word = p.word();
        match word.to_ascii_lowercase().as_str() {
            "and" if spaced => {
                if p.skip_ws() == 0 && !p.at_end() && p.peek() != Some('(') {
                    return Err(p.syntax(p.pos, "expected whitespace after 'and'"));
                }
            }
            "or" => {
                return Err(unsupported(
                    "'or' is not supported; only 'and' may join conditions",
                ));
            }
            "not" => return Err(unsupported("'not' is not supported")),
            _ => return Err(p.syntax(at, "expected 'and' or the end of the filter")),
        }
    }
}

fn unsupported(message: &str) -> FilterError {
    FilterError::Unsupported(message.to_string())
}

/// Where a lambda body's paths are resolved: its range variable and the collection it ranges over.
struct Scope<'a> {
    var: &'a str,
    collection: String,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c| !keep(c)).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// Skips whitespace and says how much there was, since some places require at least one.
    fn skip_ws(&mut self) -> usize {
        self.take_while(char::is_whitespace).len()
    }

    fn word(&mut self) -> &'a str {
        self.take_while(|c| c.is_ascii_alphabetic())
    }

    fn syntax(&self, position: usize, message: &str) -> FilterError {
        FilterError::Syntax {
            position,
            message: message.to_string(),
        }
    }

    fn expect(&mut self, c: char, message: &str) -> Result<(), FilterError> {
        if self.peek() == Some(c) {
            self.bump();
            Ok(())
        } else {
            Err(self.syntax(self.pos, message))
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        Some(self.take_while(|c| c.is_ascii_alphanumeric() || c == '_'))
    }

    fn path(&mut self) -> Result<Vec<&'a str>, FilterError> {
        let Some(first) = self.ident() else {
            return Err(self.syntax(self.pos, "expected a property name"));
        };
        let mut segments = vec![first];
        while self.peek() == Some('/') {
            self.bump();
            match self.ident() {
                Some(segment) => segments.push(segment),
                None => return Err(self.syntax(self.pos, "expected a property name after '/'")),
            }
        }
        Ok(segments)
    }

    /// Turns a written path into the condition's field, resolving a lambda's range variable.
    fn field(
        &self,
        segments: &[&str],
        scope: Option<&Scope<'_>>,
        start: usize,
    ) -> Result<String, FilterError> {
        let Some(scope) = scope else {
            return Ok(segments.join("/"));
        };
        if segments[0] != scope.var {
            return Err(self.syntax(
                start,
                &format!(
                    "a lambda body must refer to its range variable '{}'",
                    scope.var
                ),
            ));
        }
        let inner = &segments[1..];
        Ok(if inner.is_empty() {
            format!("{}/any", scope.collection)
        } else {
            format!("{}/any/{}", scope.collection, inner.join("/"))
        })
    }

    fn condition(&mut self, scope: Option<&Scope<'_>>) -> Result<Condition, FilterError> {
        let start = self.pos;
        match self.peek() {
            None => return Err(self.syntax(start, "expected a condition")),
            Some('(') => return Err(unsupported("parenthesised groups are not supported")),
            Some(c) if !is_ident_start(c) => {
                return Err(self.syntax(start, "expected a property name"));
            }
            Some(_) => {}
        }
        let segments = self.path()?;
        if segments.len() == 1 && segments[0].eq_ignore_ascii_case("not") {
            return Err(unsupported("'not' is not supported"));
        }
        if self.peek() == Some('(') {
            return self.call(&segments, scope);
        }

        let field = self.field(&segments, scope, start)?;
        if self.skip_ws() == 0 {
            return Err(self.syntax(
                self.pos,
                &format!("expected whitespace and an operator after '{field}'"),
            ));
        }
        let op_pos = self.pos;
        let word = self.word();
        let op = match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "ge" => Op::Ge,
            "gt" => Op::Gt,
            "le" => Op::Le,
            "lt" => Op::Lt,
            "in" | "has" | "add" | "sub" | "mul" | "div" | "divby" | "mod" => {
                return Err(FilterError::Unsupported(format!(
                    "operator '{word}' is not supported"
                )));
            }
            "" => return Err(self.syntax(op_pos, "expected a comparison operator")),
            _ => {
                return Err(self.syntax(op_pos, &format!("unknown operator '{word}'")));
            }
        };
        if self.skip_ws() == 0 {
            return Err(self.syntax(self.pos, &format!("expected whitespace after '{word}'")));
        }
        let value = self.literal()?;
        Ok(Condition { field, op, value })
    }

    /// A path directly followed by `(`: `startswith(...)` or a lambda `coll/any(...)`.
    fn call(
        &mut self,
        segments: &[&str],
        scope: Option<&Scope<'_>>,
    ) -> Result<Condition, FilterError> {
        let name = segments[segments.len() - 1];
        if segments.len() == 1 {
            if name.eq_ignore_ascii_case("startswith") {
                return self.startswith(scope);
            }
            return Err(FilterError::Unsupported(format!(
                "function '{name}' is not supported"
            )));
        }
        if name.eq_ignore_ascii_case("any") {
            if scope.is_some() {
                return Err(unsupported("nested lambda expressions are not supported"));
            }
            let collection = segments[..segments.len() - 1].join("/");
            return self.lambda(collection);
        }
        if name.eq_ignore_ascii_case("all") {
            return Err(unsupported("the 'all' lambda is not supported; use 'any'"));
        }
        Err(FilterError::Unsupported(format!(
            "function '{}' is not supported",
            segments.join("/")
        )))
    }

    fn startswith(&mut self, scope: Option<&Scope<'_>>) -> Result<Condition, FilterError> {
        self.bump();
        self.skip_ws();
        let arg_start = self.pos;
        if !self.peek().is_some_and(is_ident_start) {
            return Err(self.syntax(
                arg_start,
                "startswith expects a property name as its first argument",
            ));
        }
        let segments = self.path()?;
        if self.peek() == Some('(') {
            return Err(unsupported(
                "function calls inside startswith are not supported",
            ));
        }
        let field = self.field(&segments, scope, arg_start)?;
        self.skip_ws();
        self.expect(',', "expected ',' between the arguments of startswith")?;
        self.skip_ws();
        if self.peek() != Some('\'') {
            return Err(self.syntax(
                self.pos,
                "startswith expects a quoted string as its second argument",
            ));
        }
        let prefix = self.string()?;
        self.skip_ws();
        self.expect(')', "expected ')' to close startswith")?;
        Ok(Condition {
            field,
            op: Op::StartsWith,
            value: Literal::String(prefix),
        })
    }

    fn lambda(&mut self, collection: String) -> Result<Condition, FilterError> {
        self.bump();
        self.skip_ws();
        if self.peek() == Some(')') {
            return Err(unsupported("'any()' without a condition is not supported"));
        }
        let var_pos = self.pos;
        let Some(var) = self.ident() else {
            return Err(self.syntax(var_pos, "expected a range variable, as in 'any(t: ...)'"));
        };
        self.skip_ws();
        self.expect(':', "expected ':' after the range variable")?;
        self.skip_ws();
        let scope = Scope { var, collection };
        let condition = self.condition(Some(&scope))?;
        self.skip_ws();
        if self.peek() == Some(')') {
            self.bump();
            return Ok(condition);
        }
        let at = self.pos;
        match self.word().to_ascii_lowercase().as_str() {
            // Flattening these would test different elements of the collection per condition.
            "and" | "or" => Err(unsupported(
                "combining conditions inside a lambda is not supported",
            )),
            _ => Err(self.syntax(at, "expected ')' to close the lambda")),
        }
    }

    fn string(&mut self) -> Result<String, FilterError> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.syntax(start, "unterminated string literal")),
                Some('\'') if self.peek() == Some('\'') => {
                    self.bump();
                    out.push('\'');
                }
                Some('\'') => return Ok(out),
                // No stored text holds one (PostgreSQL cannot store it): refused, not searched.
                Some('\0') => {
                    return Err(self.syntax(self.pos - 1, "a string literal may not hold NUL"));
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        let start = self.pos;
        match self.peek() {
            Some('\'') => return self.string().map(Literal::String),
            Some('(') => {
                return Err(unsupported("lists and grouped values are not supported"));
            }
            _ => {}
        }
        let token = self.take_while(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | ',' | '\''));
        if token.is_empty() {
            return Err(self.syntax(start, "expected a value"));
        }
        match token.to_ascii_lowercase().as_str() {
            "true" => return Ok(Literal::Bool(true)),
            "false" => return Ok(Literal::Bool(false)),
            "null" => return Ok(Literal::Null),
            _ => {}
        }
        if is_integer(token) {
            return token
                .parse()
                .map(Literal::Int)
                .map_err(|_| self.syntax(start, &format!("integer '{token}' is out of range")));
        }
        if is_guid_shaped(token) {
            return Uuid::parse_str(token)
                .map(Literal::Guid)
                .map_err(|e| self.syntax(start, &format!("invalid GUID '{token}': {e}")));
        }
        if token.starts_with(|c: char| c.is_ascii_digit()) && token.contains(['T', 't']) {
            return DateTime::parse_from_rfc3339(token)
                .map(|d| Literal::DateTime(d.with_timezone(&Utc)))
                .map_err(|e| self.syntax(start, &format!("invalid date-time '{token}': {e}")));
        }
        if token.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(self.syntax(
                start,
                &format!("unquoted value '{token}': strings must be in single quotes"),
            ));
        }
        Err(self.syntax(start, &format!("unsupported value '{token}'")))
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_integer(token: &str) -> bool {
    let digits = token.strip_prefix(['-', '+']).unwrap_or(token);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Only the 8-4-4-4-12 form counts as a bare GUID, so that a long run of digits stays an
/// integer (and fails as one) instead of being read as a GUID.
fn is_guid_shaped(token: &str) -> bool {
    token.len() == 36
        && token.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(field: &str, op: Op, value: Literal) -> Condition {
        Condition {
            field: field.to_string(),
            op,
            value,
        }
    }

    fn s(v: &str) -> Literal {
        Literal::String(v.to_string())
    }

    fn dt(rfc3339: &str) -> Literal {
        Literal::DateTime(
            DateTime::parse_from_rfc3339(rfc3339)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    fn guid(v: &str) -> Literal {
        Literal::Guid(Uuid::parse_str(v).unwrap())
    }

    fn check(input: &str, expected: Vec<Condition>) {
        assert_eq!(
            parse_filter(input),
            Ok(Filter {
                conditions: expected
            }),
            "parsing {input:?}"
        );
    }

    fn check_syntax(input: &str, position: usize, message_contains: &str) {
        match parse_filter(input) {
            Err(FilterError::Syntax {
                position: p,
                message,
            }) => {
                assert_eq!(p, position, "{input:?}: position (message {message:?})");
                assert!(
                    message.contains(message_contains),
                    "{input:?}: message {message:?} lacks {message_contains:?}"
                );
            }
            other => panic!("{input:?}: expected a syntax error, got {other:?}"),
        }
    }

    fn check_unsupported(input: &str, message_contains: &str) {
        match parse_filter(input) {
            Err(FilterError::Unsupported(message)) => assert!(
                message.contains(message_contains),
                "{input:?}: message {message:?} lacks {message_contains:?}"
            ),
            other => panic!("{input:?}: expected unsupported, got {other:?}"),
        }
    }

    const ID: &str = "6f1c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f";

    #[test]
    fn a_nul_in_a_string_literal_is_refused_where_it_stands() {
        check_syntax("displayName eq 'a\0b'", 17, "NUL");
        check_syntax("startswith(displayName,'\0')", 24, "NUL");
    }

    #[test]
    fn empty_input_is_an_empty_filter() {
        check("", vec![]);
        check("   ", vec![]);
        check("\t\n ", vec![]);
    }

    #[test]
    fn parses_comparisons() {
        check(
            "status eq 'Provisioned'",
            vec![c("status", Op::Eq, s("Provisioned"))],
        );
        check(
            "status ne 'Revoked'",
            vec![c("status", Op::Ne, s("Revoked"))],
        );
        check("count ge 3", vec![c("count", Op::Ge, Literal::Int(3))]);
        check("count gt -3", vec![c("count", Op::Gt, Literal::Int(-3))]);
        check("count le +3", vec![c("count", Op::Le, Literal::Int(3))]);
        check("count lt 0", vec![c("count", Op::Lt, Literal::Int(0))]);
        check(
            "isEnabled eq true",
            vec![c("isEnabled", Op::Eq, Literal::Bool(true))],
        );
        check(
            "isEnabled eq FALSE",
            vec![c("isEnabled", Op::Eq, Literal::Bool(false))],
        );
        check(
            "endDateTime eq null",
            vec![c("endDateTime", Op::Eq, Literal::Null)],
        );
        check(
            "principalId eq Null",
            vec![c("principalId", Op::Eq, Literal::Null)],
        );
        check(
            "principalId eq 'abc'",
            vec![c("principalId", Op::Eq, s("abc"))],
        );
        check(
            &format!("principalId eq {ID}"),
            vec![c("principalId", Op::Eq, guid(ID))],
        );
        check(
            &format!("principalId eq {}", ID.to_uppercase()),
            vec![c("principalId", Op::Eq, guid(ID))],
        );
        check(
            "n eq 9223372036854775807",
            vec![c("n", Op::Eq, Literal::Int(i64::MAX))],
        );
        check(
            "n eq -9223372036854775808",
            vec![c("n", Op::Eq, Literal::Int(i64::MIN))],
        );
        check("_x eq 1", vec![c("_x", Op::Eq, Literal::Int(1))]);
    }

    #[test]
    fn parses_strings() {
        check("name eq ''", vec![c("name", Op::Eq, s(""))]);
        check("name eq 'O''Brien'", vec![c("name", Op::Eq, s("O'Brien"))]);
        check("name eq ''''", vec![c("name", Op::Eq, s("'"))]);
        check(
            "name eq 'a and b or c'",
            vec![c("name", Op::Eq, s("a and b or c"))],
        );
        check("name eq 'x eq (y)'", vec![c("name", Op::Eq, s("x eq (y)"))]);
        check("name eq 'Zoë 🙂'", vec![c("name", Op::Eq, s("Zoë 🙂"))]);
        check(
            "name eq '2026-11-22T10:00:00Z'",
            vec![c("name", Op::Eq, s("2026-11-22T10:00:00Z"))],
        );
        check(&format!("id eq '{ID}'"), vec![c("id", Op::Eq, s(ID))]);
    }

    #[test]
    fn parses_datetimes_to_utc() {
        let ten = dt("2026-11-22T10:00:00Z");
        check(
            "createdDateTime ge 2026-11-22T10:00:00Z",
            vec![c("createdDateTime", Op::Ge, ten.clone())],
        );
        check(
            "createdDateTime ge 2026-11-22T11:00:00+01:00",
            vec![c("createdDateTime", Op::Ge, ten.clone())],
        );
        check(
            "createdDateTime ge 2026-11-22T05:30:00-04:30",
            vec![c("createdDateTime", Op::Ge, ten.clone())],
        );
        check(
            "createdDateTime ge 2026-11-22t10:00:00z",
            vec![c("createdDateTime", Op::Ge, ten)],
        );
        check(
            "createdDateTime lt 2026-11-22T10:00:00.1234567Z",
            vec![c(
                "createdDateTime",
                Op::Lt,
                dt("2026-11-22T10:00:00.1234567Z"),
            )],
        );
        match &parse_filter("t eq 2026-11-22T11:00:00.5+01:00")
            .unwrap()
            .conditions[0]
            .value
        {
            Literal::DateTime(d) => assert_eq!(d.to_rfc3339(), "2026-11-22T10:00:00.500+00:00"),
            other => panic!("not a date-time: {other:?}"),
        }
    }

    #[test]
    fn parses_paths_functions_and_lambdas() {
        check(
            &format!("initiatedBy/user/id eq '{ID}'"),
            vec![c("initiatedBy/user/id", Op::Eq, s(ID))],
        );
        check(
            "startswith(displayName, 'Glob')",
            vec![c("displayName", Op::StartsWith, s("Glob"))],
        );
        check(
            "startsWith( displayName ,'a''b' )",
            vec![c("displayName", Op::StartsWith, s("a'b"))],
        );
        check("STARTSWITH(a/b,'')", vec![c("a/b", Op::StartsWith, s(""))]);
        check(
            "targetResources/any(t: t/id eq 'abc')",
            vec![c("targetResources/any/id", Op::Eq, s("abc"))],
        );
        check(
            &format!("targetResources/ANY( x :x/id eq {ID} )"),
            vec![c("targetResources/any/id", Op::Eq, guid(ID))],
        );
        check(
            "targetResources/any(t: t/modifiedProperties/displayName eq 'x')",
            vec![c(
                "targetResources/any/modifiedProperties/displayName",
                Op::Eq,
                s("x"),
            )],
        );
        check(
            "roles/any(r: r eq 'Reader')",
            vec![c("roles/any", Op::Eq, s("Reader"))],
        );
        check(
            "a/b/any(t: t/n ge 5)",
            vec![c("a/b/any/n", Op::Ge, Literal::Int(5))],
        );
        check(
            "targetResources/any(t: startswith(t/displayName, 'Glob'))",
            vec![c(
                "targetResources/any/displayName",
                Op::StartsWith,
                s("Glob"),
            )],
        );
    }

    #[test]
    fn joins_conditions_with_and() {
        check(
            &format!("principalId eq '{ID}' and roleDefinitionId eq 'r1'"),
            vec![
                c("principalId", Op::Eq, s(ID)),
                c("roleDefinitionId", Op::Eq, s("r1")),
            ],
        );
        check(
            "  a eq 1\tAND\n b eq 2 And startswith(c, 'x') and d/any(t: t/id eq 'y')  ",
            vec![
                c("a", Op::Eq, Literal::Int(1)),
                c("b", Op::Eq, Literal::Int(2)),
                c("c", Op::StartsWith, s("x")),
                c("d/any/id", Op::Eq, s("y")),
            ],
        );
        check(
            "activityDateTime ge 2026-01-01T00:00:00Z and activityDateTime lt 2026-02-01T00:00:00Z",
            vec![
                c("activityDateTime", Op::Ge, dt("2026-01-01T00:00:00Z")),
                c("activityDateTime", Op::Lt, dt("2026-02-01T00:00:00Z")),
            ],
        );
        check(
            "a EQ 1 and and eq 2",
            vec![
                c("a", Op::Eq, Literal::Int(1)),
                c("and", Op::Eq, Literal::Int(2)),
            ],
        );
    }

    #[test]
    fn refuses_unsupported_constructs() {
        check_unsupported("a eq 1 or b eq 2", "'or'");
        check_unsupported("a eq 1 OR b eq 2", "'or'");
        check_unsupported("not a eq 1", "'not'");
        check_unsupported("a eq 1 and not(b eq 2)", "'not'");
        check_unsupported("not startswith(a, 'x')", "'not'");
        check_unsupported("(a eq 1)", "parenthesised");
        check_unsupported("a eq 1 and (b eq 2 or c eq 3)", "parenthesised");
        check_unsupported("a eq 1 and(b eq 2)", "parenthesised");
        check_unsupported("a in ('x', 'y')", "operator 'in'");
        check_unsupported("roles has 'x'", "operator 'has'");
        check_unsupported("contains(displayName, 'x')", "function 'contains'");
        check_unsupported("endswith(displayName, 'x')", "function 'endswith'");
        check_unsupported("a/b/count(x) eq 1", "function 'a/b/count'");
        check_unsupported("r/all(t: t/id eq 'x')", "'all'");
        check_unsupported("r/any()", "without a condition");
        check_unsupported("r/any(t: t/x/any(u: u/id eq 'x'))", "nested lambda");
        check_unsupported("r/any(t: t/id eq 'x' and t/n eq 1)", "inside a lambda");
        check_unsupported("r/any(t: t/id eq 'x' or t/n eq 1)", "inside a lambda");
        check_unsupported("startswith(tolower(a), 'x')", "inside startswith");
        check_unsupported("a eq (1)", "lists");
    }

    #[test]
    fn reports_syntax_errors_with_positions() {
        check_syntax("a", 1, "expected whitespace and an operator after 'a'");
        check_syntax("a ", 2, "expected a comparison operator");
        check_syntax("a eq", 4, "expected whitespace after 'eq'");
        check_syntax("a eq ", 5, "expected a value");
        check_syntax("a eq'x'", 4, "expected whitespace after 'eq'");
        check_syntax("a foo 1", 2, "unknown operator 'foo'");
        check_syntax("a == 1", 2, "expected a comparison operator");
        check_syntax("a eq 'x", 5, "unterminated string");
        check_syntax("a eq 'x''", 5, "unterminated string");
        check_syntax("a eq x", 5, "strings must be in single quotes");
        check_syntax("a eq Approved", 5, "strings must be in single quotes");
        check_syntax("a eq 1.5", 5, "unsupported value '1.5'");
        check_syntax("a eq 2026-11-22", 5, "unsupported value");
        check_syntax("a eq 2026-11-22T10:00Z", 5, "invalid date-time");
        check_syntax("a eq 2026-13-22T10:00:00Z", 5, "invalid date-time");
        check_syntax("a eq 9223372036854775808", 5, "out of range");
        check_syntax(
            "a eq 6f1c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5g",
            5,
            "unsupported value",
        );
        check_syntax(
            "a eq f1c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f",
            5,
            "single quotes",
        );
        check_syntax("a eq 1 b eq 2", 7, "expected 'and'");
        check_syntax("a eq 'x'and b eq 2", 8, "expected 'and'");
        check_syntax("a eq 1 and", 10, "expected a condition");
        check_syntax("a eq 1 and ", 11, "expected a condition");
        check_syntax("a eq 1 andb eq 2", 7, "expected 'and'");
        check_syntax("a eq 1 and1", 10, "expected whitespace after 'and'");
        check_syntax("a eq 1)", 6, "expected 'and'");
        check_syntax("a eq 1 ,", 7, "expected 'and'");
        check_syntax("and", 3, "expected whitespace and an operator");
        check_syntax("1 eq a", 0, "expected a property name");
        check_syntax("'a' eq 1", 0, "expected a property name");
        check_syntax("a/ eq 1", 2, "after '/'");
        check_syntax("a//b eq 1", 2, "after '/'");
        check_syntax("startswith", 10, "expected whitespace and an operator");
        check_syntax("startswith(", 11, "first argument");
        check_syntax("startswith('x', a)", 11, "first argument");
        check_syntax("startswith(a 'x')", 13, "expected ','");
        check_syntax("startswith(a, x)", 14, "quoted string");
        check_syntax("startswith(a, 1)", 14, "quoted string");
        check_syntax("startswith(a, 'x'", 17, "expected ')'");
        check_syntax("startswith(a, 'x' 'y')", 18, "expected ')'");
        check_syntax("r/any(", 6, "range variable");
        check_syntax("r/any(: t/id eq 1)", 6, "range variable");
        check_syntax("r/any(t t/id eq 1)", 8, "expected ':'");
        check_syntax("r/any(t: u/id eq 1)", 9, "range variable 't'");
        check_syntax("r/any(t: T/id eq 1)", 9, "range variable 't'");
        check_syntax("r/any(t: t/id eq 1", 18, "expected ')'");
        check_syntax("r/any(t: t/id eq 1 x)", 19, "expected ')'");
        check_syntax("r/any(t: )", 9, "expected a property name");
        // Positions are byte offsets: the two-byte é puts `b` at 10, not 9.
        check_syntax("a eq 'é' b", 10, "expected 'and'");
    }

    #[test]
    fn error_messages_render() {
        assert_eq!(
            parse_filter("a eq x").unwrap_err().to_string(),
            "invalid $filter at position 5: unquoted value 'x': strings must be in single quotes"
        );
        assert!(
            parse_filter("a eq 1 or b eq 2")
                .unwrap_err()
                .to_string()
                .starts_with("unsupported $filter: ")
        );
    }

    #[test]
    fn literal_as_text() {
        assert_eq!(s("Reader").as_text(), Some("Reader".to_string()));
        assert_eq!(guid(&ID.to_uppercase()).as_text(), Some(ID.to_string()));
        assert_eq!(Literal::Int(1).as_text(), None);
        assert_eq!(Literal::Bool(true).as_text(), None);
        assert_eq!(Literal::Null.as_text(), None);
        assert_eq!(dt("2026-11-22T10:00:00Z").as_text(), None);
        assert_eq!(Literal::Bool(true).as_bool(), Some(true));
        assert_eq!(s("true").as_bool(), None);
        assert!(dt("2026-11-22T10:00:00Z").as_datetime().is_some());
        assert_eq!(s("x").as_datetime(), None);
    }

    const LIST_FIELDS: &[(&str, &[Op])] = &[
        ("principalId", &[Op::Eq]),
        ("roleDefinitionId", &[Op::Eq, Op::Ne]),
        ("displayName", &[Op::Eq, Op::StartsWith]),
        ("targetResources/any/id", &[Op::Eq]),
    ];

    fn check_restrict(input: &str, expected: Result<(), &str>) {
        let result = parse_filter(input).unwrap().restrict(LIST_FIELDS);
        match (result, expected) {
            (Ok(()), Ok(())) => {}
            (Err(FilterError::Unsupported(m)), Err(want)) => {
                assert!(m.contains(want), "{input:?}: message {m:?} lacks {want:?}");
            }
            (got, want) => panic!("{input:?}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn restrict_enforces_the_allow_list() {
        check_restrict("", Ok(()));
        check_restrict("principalId eq 'a'", Ok(()));
        check_restrict("PRINCIPALID eq 'a'", Ok(()));
        check_restrict("principalId eq 'a' and roleDefinitionId ne 'b'", Ok(()));
        check_restrict("startswith(displayname, 'x')", Ok(()));
        check_restrict("targetResources/any(t: t/id eq 'x')", Ok(()));
        check_restrict(
            "principalId ne 'a'",
            Err("operator 'ne' is not supported on 'principalId'"),
        );
        check_restrict(
            "startswith(principalId, 'a')",
            Err("operator 'startswith' is not supported on 'principalId'"),
        );
        check_restrict(
            "principalId eq 'a' and status eq 'x'",
            Err("'status' (operator 'eq')"),
        );
        check_restrict(
            "targetResources/any(t: t/id ne 'x')",
            Err("'ne' is not supported on 'targetResources/any/id'"),
        );
        check_restrict(
            "targetResources/any(t: t/type eq 'x')",
            Err("'targetResources/any/type'"),
        );
    }

    #[test]
    fn lookups_by_field() {
        let f = parse_filter(&format!(
            "roleDefinitionId ne 'x' and ROLEDEFINITIONID eq 'r1' and principalId eq {ID} and roleDefinitionId eq 'r2'"
        ))
        .unwrap();
        assert_eq!(f.eq("roleDefinitionId"), Some(&s("r1")));
        assert_eq!(f.eq("roledefinitionid"), Some(&s("r1")));
        assert_eq!(
            f.eq("principalId").and_then(Literal::as_text),
            Some(ID.to_string())
        );
        assert_eq!(f.eq("status"), None);
        assert_eq!(f.on("roleDefinitionId").count(), 3);
        assert_eq!(f.on("principalid").count(), 1);
        assert_eq!(f.on("status").count(), 0);
        let ops: Vec<&Op> = f.on("roleDefinitionId").map(|c| &c.op).collect();
        assert_eq!(ops, [&Op::Ne, &Op::Eq, &Op::Eq]);
        assert_eq!(parse_filter("a ne 1").unwrap().eq("a"), None);
    }

    fn render_literal(l: &Literal) -> String {
        match l {
            Literal::String(v) => format!("'{}'", v.replace('\'', "''")),
            Literal::DateTime(d) => d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            Literal::Bool(b) => b.to_string(),
            Literal::Int(i) => i.to_string(),
            Literal::Null => "null".to_string(),
            Literal::Guid(g) => g.to_string(),
        }
    }

    fn literal_strategy() -> impl Strategy<Value = Literal> {
        prop_oneof![
            // Any text but NUL, which a literal may not hold.
            "[^\\x00]{0,12}".prop_map(Literal::String),
            (0i64..4_000_000_000, 0u32..1_000_000_000).prop_map(|(secs, nanos)| {
                Literal::DateTime(DateTime::from_timestamp(secs, nanos).unwrap())
            }),
            any::<bool>().prop_map(Literal::Bool),
            any::<i64>().prop_map(Literal::Int),
            Just(Literal::Null),
            any::<u128>().prop_map(|n| Literal::Guid(Uuid::from_u128(n))),
        ]
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Eq),
            Just(Op::Ne),
            Just(Op::Ge),
            Just(Op::Gt),
            Just(Op::Le),
            Just(Op::Lt),
            Just(Op::StartsWith),
        ]
    }

    // Fields start in a-m so that none is the keyword `not`.
    const FIELD: &str = "[a-m][a-zA-Z0-9_]{0,6}(/[a-m][a-zA-Z0-9_]{0,6}){0,2}";

    /// One condition as source text, optionally wrapped in a lambda, with the parse it must give.
    fn condition_strategy() -> impl Strategy<Value = (String, Condition)> {
        (
            FIELD,
            op_strategy(),
            literal_strategy(),
            proptest::option::of(FIELD),
        )
            .prop_map(|(field, op, value, lambda)| {
                let value = match op {
                    Op::StartsWith => Literal::String(value.as_text().unwrap_or_default()),
                    _ => value,
                };
                let (path, expected_field) = match &lambda {
                    Some(collection) => (format!("v/{field}"), format!("{collection}/any/{field}")),
                    None => (field.clone(), field.clone()),
                };
                let body = match op {
                    Op::StartsWith => format!("startswith({path}, {})", render_literal(&value)),
                    _ => format!("{path} {op} {}", render_literal(&value)),
                };
                let text = match lambda {
                    Some(collection) => format!("{collection}/any(v: {body})"),
                    None => body,
                };
                (text, c(&expected_field, op, value))
            })
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in ".{0,80}") {
            let _ = parse_filter(&input);
        }

        #[test]
        fn filter_shaped_input_never_panics(
            input in "[a-zA-Z0-9 /():,'_.+-]{0,60}|((eq|and|or|any|startswith|t|/|:|\\(|\\)|'|,|-| |1|T)){0,30}",
        ) {
            let _ = parse_filter(&input);
        }

        #[test]
        fn rendered_conditions_parse_back(
            parts in proptest::collection::vec(condition_strategy(), 1..5),
            joiner in "[ \t]{1,2}(and|AND|And)[ \t]{1,2}",
        ) {
            let text: Vec<&str> = parts.iter().map(|(t, _)| t.as_str()).collect();
            let expected: Vec<Condition> = parts.iter().map(|(_, c)| c.clone()).collect();
            prop_assert_eq!(parse_filter(&text.join(&joiner)), Ok(Filter { conditions: expected }));
        }
    }
}
