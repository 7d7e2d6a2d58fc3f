//! The OData conventions every collection shares: `$filter` (parsed by the core and checked
//! against what each collection supports), `$top`/`$skiptoken` paging with an
//! `@odata.nextLink`, and `{"value": [...]}` answers. Unknown `$` options are refused rather
//! than ignored, so a client never mistakes an unfiltered answer for a filtered one.

use std::collections::BTreeSet;

use axum::http::Uri;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eligo_core::filter::{Filter, Op, parse_filter};
use eligo_store::Page;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_TOP: i64 = 100;
pub const MAX_TOP: i64 = 999;

/// Query options of a collection request, validated.
#[derive(Debug)]
pub struct ListOptions {
    pub filter: Filter,
    pub page: Page,
}

impl Default for ListOptions {
    fn default() -> Self {
        Self {
            filter: Filter::default(),
            page: Page {
                top: DEFAULT_TOP,
                skip: 0,
            },
        }
    }
}

/// What a collection allows in `$filter`: (field, operators).
pub type Allowed<'a> = &'a [(&'a str, &'a [Op])];

pub const EQ: &[Op] = &[Op::Eq];
pub const EQ_PREFIX: &[Op] = &[Op::Eq, Op::StartsWith];
pub const RANGE: &[Op] = &[Op::Eq, Op::Ge, Op::Gt, Op::Le, Op::Lt];

/// Query options as sent, in order; a repeated `$` option is refused rather than guessed at.
pub type RawQuery = Vec<(String, String)>;

/// The extractor of a `RawQuery`: the query string's pairs in order, percent-decoded (`+` a
/// space), exactly as `Query<Vec<(String, String)>>` gives them, without going through serde
/// on every request. It never refuses: every query string is some list of pairs.
pub struct Pairs(pub RawQuery);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Pairs {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let pairs = parts.uri.query().map_or_else(Vec::new, |query| {
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        });
        Ok(Pairs(pairs))
    }
}

pub fn parse_list_options(query: &RawQuery, allowed: Allowed) -> ApiResult<ListOptions> {
    let mut opts = ListOptions::default();
    let mut seen = BTreeSet::new();
    for (key, value) in query {
        if key.starts_with('$') && !seen.insert(key.as_str()) {
            return Err(ApiError::bad_request(
                "Request_BadRequest",
                format!("the query option {key} is given more than once"),
            )
            .with_detail("DuplicateQueryOption", key.as_str()));
        }
        match key.as_str() {
            "$filter" => {
                let filter = parse_filter(value)?;
                filter.restrict(allowed)?;
                each_field_once(&filter)?;
                opts.filter = filter;
            }
            "$top" => {
                let top: i64 = value
                    .parse()
                    .ok()
                    .filter(|t| (1..=MAX_TOP).contains(t))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "Request_BadRequest",
                            format!("$top must be an integer from 1 to {MAX_TOP}"),
                        )
                        .with_detail("InvalidTop", "$top")
                    })?;
                opts.page.top = top;
            }
            "$skiptoken" => opts.page.skip = decode_skiptoken(value)?,
            // $select narrows what is shown; answering with every field is still correct.
            "$select" => {}
            k if k.starts_with('$') => {
                return Err(ApiError::bad_request(
                    "Request_UnsupportedQuery",
                    format!("the query option {k} is not supported on this collection"),
                )
                .with_detail("UnsupportedQueryOption", k));
            }
            _ => {}
        }
    }
    Ok(opts)
}

fn decode_skiptoken(token: &str) -> ApiResult<i64> {
    let bad = || {
        ApiError::bad_request("Request_BadRequest", "$skiptoken is not valid")
            .with_detail("InvalidSkipToken", "$skiptoken")
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("skip:")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(bad)
}

/// The page to ask the store for: one row more than shown, to know whether a next page exists.
pub fn probe(page: Page) -> Page {
    Page {
        top: page.top + 1,
        skip: page.skip,
    }
}

/// `{"value": [...]}` with `@odata.nextLink` when the store returned the probe row.
pub fn collection<T: Serialize>(uri: &Uri, page: Page, mut rows: Vec<T>) -> Value {
    let more = rows.len() as i64 > page.top;
    rows.truncate(page.top as usize);
    let mut body = json!({ "value": rows });
    if more {
        body["@odata.nextLink"] = Value::String(next_link(uri, page.skip + page.top));
    }
    body
}

/// A `{"value": [...]}` answer for small collections that are never paged.
pub fn values<T: Serialize>(rows: Vec<T>) -> Value {
    json!({ "value": rows })
}

fn next_link(uri: &Uri, skip: i64) -> String {
    let token = URL_SAFE_NO_PAD.encode(format!("skip:{skip}"));
    let mut pairs: Vec<String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| {
            !p.is_empty() && !p.starts_with("$skiptoken=") && !p.starts_with("%24skiptoken=")
        })
        .map(String::from)
        .collect();
    pairs.push(format!("$skiptoken={token}"));
    format!("{}?{}", uri.path(), pairs.join("&"))
}

/// A field may be constrained once — or, for ranges, by one lower and one upper bound — so a
/// filter like `a eq 'x' and a eq 'y'` is refused instead of half-applied.
fn each_field_once(filter: &Filter) -> ApiResult<()> {
    let mut seen: BTreeSet<(String, u8)> = BTreeSet::new();
    for c in &filter.conditions {
        let slot = match c.op {
            Op::Ge | Op::Gt => 1,
            Op::Le | Op::Lt => 2,
            _ => 0,
        };
        let key = c.field.to_ascii_lowercase();
        let repeated = seen.contains(&(key.clone(), slot));
        let mixed = if slot == 0 {
            seen.iter().any(|(f, _)| *f == key)
        } else {
            seen.contains(&(key.clone(), 0))
        };
        if repeated || mixed {
            return Err(ApiError::bad_request(
                "Request_UnsupportedQuery",
                format!(
                    "$filter constrains {} more than once; give each field one condition",
                    c.field
                ),
            )
            .with_detail("InvalidFilter", "$filter"));
        }
        seen.insert((key, slot));
    }
    Ok(())
}

fn wrong_type(field: &str, wanted: &str) -> ApiError {
    ApiError::bad_request(
        "Request_UnsupportedQuery",
        format!("$filter: {field} compares with {wanted}"),
    )
    .with_detail("InvalidFilter", "$filter")
}

/// The text of `field eq '...'` if the filter has it; a value of another type is a 400.
pub fn eq_text(filter: &Filter, field: &str) -> ApiResult<Option<String>> {
    match filter.eq(field) {
        None => Ok(None),
        Some(l) => l
            .as_text()
            .map(Some)
            .ok_or_else(|| wrong_type(field, "a quoted string")),
    }
}

/// The value of `startswith(field, '...')` if the filter has it; another type is a 400.
pub fn prefix_text(filter: &Filter, field: &str) -> ApiResult<Option<String>> {
    match filter.on(field).find(|c| c.op == Op::StartsWith) {
        None => Ok(None),
        Some(c) => c
            .value
            .as_text()
            .map(Some)
            .ok_or_else(|| wrong_type(field, "a quoted string")),
    }
}

/// The boolean of `field eq true|false` if the filter has it; another type is a 400.
pub fn eq_bool(filter: &Filter, field: &str) -> ApiResult<Option<bool>> {
    match filter.eq(field) {
        None => Ok(None),
        Some(l) => l
            .as_bool()
            .map(Some)
            .ok_or_else(|| wrong_type(field, "true or false")),
    }
}

/// At most one of `fields` may be constrained (they are spellings of one question).
pub fn one_of(filter: &Filter, fields: &[&str]) -> ApiResult<()> {
    let given = fields
        .iter()
        .filter(|f| filter.on(f).next().is_some())
        .count();
    if given > 1 {
        return Err(ApiError::bad_request(
            "Request_UnsupportedQuery",
            format!("$filter may use only one of {}", fields.join(", ")),
        )
        .with_detail("InvalidFilter", "$filter"));
    }
    Ok(())
}

pub fn parse_id(raw: &str, what: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| {
        ApiError::bad_request(
            "Request_BadRequest",
            format!("'{raw}' is not a valid {what} id (a GUID)"),
        )
        .with_detail("InvalidId", what)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> ApiResult<ListOptions> {
        let q: RawQuery = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_list_options(&q, &[("displayName", EQ_PREFIX), ("at", RANGE)])
    }

    #[tokio::test]
    async fn pairs_are_what_the_serde_query_gives() {
        use axum::extract::{FromRequestParts, Query};
        for uri in [
            "/x",
            "/x?",
            "/x?a=1&b=%C3%A9+x&a=2",
            "/x?$filter=displayName%20eq%20%27a%26b%27&&=&k",
            "/x?bad=%FF%zz&%=1",
        ] {
            let (mut parts, ()) = axum::http::Request::get(uri).body(()).unwrap().into_parts();
            let Pairs(ours) = Pairs::from_request_parts(&mut parts, &()).await.unwrap();
            let Query(theirs) = Query::<RawQuery>::from_request_parts(&mut parts, &())
                .await
                .unwrap();
            assert_eq!(ours, theirs, "{uri}");
        }
    }

    #[test]
    fn options_are_validated() {
        assert_eq!(opts(&[("$top", "5")]).unwrap().page.top, 5);
        assert!(opts(&[("$top", "0")]).is_err());
        assert!(opts(&[("$top", "x")]).is_err());
        assert!(opts(&[("$orderby", "displayName")]).is_err());
        assert!(opts(&[("$filter", "mail eq 'a'")]).is_err());
        assert!(opts(&[("$filter", "displayName eq 'a'")]).is_ok());
        assert!(opts(&[("$skiptoken", "garbage!")]).is_err());
        assert!(opts(&[("$select", "id")]).is_ok());
        assert!(opts(&[("$filter", "displayName eq 'a' and displayName eq 'b'")]).is_err());
        assert!(
            opts(&[(
                "$filter",
                "displayName eq 'a' and startswith(displayName, 'b')"
            )])
            .is_err()
        );
        assert!(
            opts(&[(
                "$filter",
                "at ge 2026-01-01T00:00:00Z and at le 2026-02-01T00:00:00Z"
            )])
            .is_ok()
        );
        assert!(
            opts(&[(
                "$filter",
                "at ge 2026-01-01T00:00:00Z and at gt 2026-02-01T00:00:00Z"
            )])
            .is_err()
        );
        assert!(opts(&[("$filter", "displayName eq 'a'"), ("$filter", "")]).is_err());
        assert!(opts(&[("$filter", "displayName eq 'a' and displayName eq 'b'")]).is_err());
        assert!(
            opts(&[(
                "$filter",
                "displayName eq 'a' and startswith(displayName, 'b')"
            )])
            .is_err()
        );
        assert!(
            opts(&[(
                "$filter",
                "at ge 2026-01-01T00:00:00Z and at le 2026-02-01T00:00:00Z"
            )])
            .is_ok()
        );
        assert!(
            opts(&[(
                "$filter",
                "at ge 2026-01-01T00:00:00Z and at gt 2026-02-01T00:00:00Z"
            )])
            .is_err()
        );
        assert!(opts(&[("$filter", "displayName eq 'a'"), ("$filter", "")]).is_err());
    }

    #[test]
    fn next_link_round_trips() {
        let uri: Uri = "/v1/users?$top=2&$skiptoken=abc".parse().unwrap();
        let body = collection(&uri, Page { top: 2, skip: 4 }, vec![1, 2, 3]);
        assert_eq!(body["value"].as_array().unwrap().len(), 2);
        let link = body["@odata.nextLink"].as_str().unwrap();
        let token = link.split("$skiptoken=").nth(1).unwrap();
        assert_eq!(decode_skiptoken(token).unwrap(), 6);
        assert!(link.starts_with("/v1/users?$top=2&"));
        assert!(
            collection(&uri, Page { top: 2, skip: 0 }, vec![1, 2])
                .get("@odata.nextLink")
                .is_none()
        );
    }
}
