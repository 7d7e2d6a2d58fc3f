//! The OData conventions every collection shares: `$filter` (parsed by the core and checked
//! against what each collection supports), `$top`/`$skiptoken` paging with an
//! `@odata.nextLink`, and `{"value": [...]}` answers. Unknown `$` options are refused rather
//! than ignored, so a client never mistakes an unfiltered answer for a filtered one.

use std::collections::BTreeMap;

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

pub fn parse_list_options(
    query: &BTreeMap<String, String>,
    allowed: Allowed,
) -> ApiResult<ListOptions> {
    let mut opts = ListOptions::default();
    for (key, value) in query {
        match key.as_str() {
            "$filter" => {
                let filter = parse_filter(value)?;
                filter.restrict(allowed)?;
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

/// The text of `field eq '...'` if the filter has it.
pub fn eq_text(filter: &Filter, field: &str) -> Option<String> {
    filter.eq(field).and_then(|l| l.as_text())
}

/// The value of `startswith(field, '...')` if the filter has it.
pub fn prefix_text(filter: &Filter, field: &str) -> Option<String> {
    filter
        .on(field)
        .find(|c| c.op == Op::StartsWith)
        .and_then(|c| c.value.as_text())
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
        let q = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_list_options(&q, &[("displayName", EQ)])
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
