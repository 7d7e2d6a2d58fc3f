//! **Eligo** `/scim/v2`: an inbound SCIM 2.0 server (RFC 7643/7644) for identity providers that
//! provision users and groups into Eligo. Handlers are thin: they read SCIM's JSON, call the
//! directory's use cases with the provisioning client as the caller (which authorize it, see
//! `service::scim`), and answer in SCIM's shapes. Only a provisioning client's token is
//! accepted here; its token is accepted nowhere else.

mod errors;
mod groups;
mod patch;
mod schema;
mod users;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use eligo_core::scim_filter;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
pub use errors::{ScimError, ScimResult};

pub const PREFIX: &str = "/scim/v2";
pub const CONTENT_TYPE: &str = "application/scim+json";

pub fn routes() -> Router<AppState> {
    let inner = Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(one_schema))
        .route("/.search", axum::routing::post(search_everything))
        .route("/Users", get(users::list).post(users::create))
        .route("/Users/.search", axum::routing::post(users::search))
        .route(
            "/Users/{id}",
            get(users::get_one)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/.search", axum::routing::post(groups::search))
        .route(
            "/Groups/{id}",
            get(groups::get_one)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .fallback(unknown)
        .method_not_allowed_fallback(|| async {
            ScimError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "this endpoint does not support that method",
            )
        });
    Router::new().nest(PREFIX, inner)
}

/// `POST /.search`: users and groups at once (RFC 7644 3.4.3), filtered on the attributes
/// of either.
async fn search_everything(
    State(app): State<AppState>,
    Client(caller): Client,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<Response> {
    let q = ListQuery::from_search(&read_body(&headers, &body)?)?;
    let mut attributes: Vec<&str> = schema::USER_FILTERS.to_vec();
    attributes.extend(
        schema::GROUP_FILTERS
            .iter()
            .filter(|a| !attributes.contains(a))
            .copied()
            .collect::<Vec<_>>(),
    );
    let listing = q.parse(&attributes)?;
    let mut matching = users::docs(&app, &caller, &headers, &listing, &q).await?;
    matching.extend(groups::docs(&app, &caller, &headers, &listing, &q).await?);
    Ok(list_response(matching, &listing))
}

async fn unknown(_client: Client) -> ScimError {
    ScimError::not_found("no such endpoint")
}

/// A SCIM answer: JSON with SCIM's media type.
pub fn respond(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        serde_json::to_vec(body).expect("JSON always serializes"),
    )
        .into_response()
}

/// The provisioning client calling: 401 in SCIM's shape for anything but a live client token.
pub struct Client(pub Caller);

impl FromRequestParts<AppState> for Client {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ScimError> {
        let raw = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ScimError::new(
                    StatusCode::UNAUTHORIZED,
                    None,
                    "an Authorization: Bearer token of a SCIM client is required",
                )
            })?;
        Ok(Client(crate::service::scim::authenticate(app, raw).await?))
    }
}

/// A SCIM request body: `application/scim+json` or `application/json`, a JSON object.
pub fn read_body(headers: &HeaderMap, body: &Bytes) -> ScimResult<serde_json::Map<String, Value>> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if media != CONTENT_TYPE && media != "application/json" {
        return Err(ScimError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "the body must be application/scim+json or application/json",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ScimError::bad(
            "invalidSyntax",
            "the body must be a JSON object",
        )),
        Err(e) => Err(ScimError::bad(
            "invalidSyntax",
            format!("malformed JSON: {e}"),
        )),
    }
}

/// The `schemas` of a resource body: it must name `core` and may name only `allowed`.
pub fn check_schemas(
    body: &serde_json::Map<String, Value>,
    core: &str,
    allowed: &[&str],
) -> ScimResult<()> {
    let Some(list) = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .map(|(_, v)| v)
    else {
        return Err(ScimError::bad("invalidSyntax", "schemas is required"));
    };
    let list = list
        .as_array()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "schemas must be an array"))?;
    let mut has_core = false;
    for s in list {
        let s = s
            .as_str()
            .ok_or_else(|| ScimError::bad("invalidSyntax", "schemas must hold strings"))?;
        if s.eq_ignore_ascii_case(core) {
            has_core = true;
        } else if !allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) {
            return Err(ScimError::bad(
                "invalidValue",
                format!("unknown schema \"{s}\""),
            ));
        }
    }
    if !has_core {
        return Err(ScimError::bad(
            "invalidValue",
            format!("schemas must include \"{core}\""),
        ));
    }
    Ok(())
}

/// `filter`, `startIndex`, `count`, `attributes` and `excludedAttributes` of a list request
/// (a query string, or a `.search` body).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

/// `attributes` / `excludedAttributes` of a request for one resource.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Projection {
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

impl ListQuery {
    /// A `POST .../.search` body (RFC 7644 section 3.4.3) as the query it stands for.
    pub fn from_search(body: &serde_json::Map<String, Value>) -> ScimResult<ListQuery> {
        let mut q = ListQuery::default();
        let mut has_schema = false;
        let list = |v: &Value, what: &str| -> ScimResult<String> {
            match v {
                Value::String(s) => Ok(s.clone()),
                Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str().map(String::from).ok_or_else(|| {
                            ScimError::bad("invalidValue", format!("{what} must hold strings"))
                        })
                    })
                    .collect::<ScimResult<Vec<_>>>()
                    .map(|v| v.join(",")),
                _ => Err(ScimError::bad(
                    "invalidValue",
                    format!("{what} must be a list"),
                )),
            }
        };
        for (k, v) in body {
            match k.to_ascii_lowercase().as_str() {
                "schemas" => {
                    has_schema = v
                        .as_array()
                        .is_some_and(|a| a.iter().any(|s| s.as_str() == Some(SEARCH_REQUEST)))
                }
                "filter" => q.filter = v.as_str().map(String::from),
                "startindex" => q.start_index = Some(v.to_string()),
                "count" => q.count = Some(v.to_string()),
                "attributes" => q.attributes = Some(list(v, "attributes")?),
                "excludedattributes" => {
                    q.excluded_attributes = Some(list(v, "excludedAttributes")?)
                }
                "sortby" | "sortorder" => {}
                _ => {
                    return Err(ScimError::bad(
                        "invalidSyntax",
                        format!("unknown attribute \"{k}\" of a SearchRequest"),
                    ));
                }
            }
        }
        if !has_schema {
            return Err(ScimError::bad(
                "invalidSyntax",
                format!("schemas must be [\"{SEARCH_REQUEST}\"]"),
            ));
        }
        Ok(q)
    }
}

pub struct Listing {
    pub filter: Option<scim_filter::Filter>,
    /// 1-based.
    pub start: usize,
    pub count: usize,
}

impl ListQuery {
    pub fn parse(&self, attributes: &[&str]) -> ScimResult<Listing> {
        let filter = self
            .filter
            .as_deref()
            .map(|f| scim_filter::parse(f, attributes))
            .transpose()
            .map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?;
        let number = |v: &Option<String>, name: &str, default: i64| -> ScimResult<i64> {
            v.as_deref().map_or(Ok(default), |s| {
                s.trim().parse::<i64>().map_err(|_| {
                    ScimError::bad("invalidValue", format!("{name} must be an integer"))
                })
            })
        };
        // RFC 7644 3.4.2.4: a startIndex below 1 counts as 1, a negative count as 0.
        let start = number(&self.start_index, "startIndex", 1)?.max(1) as usize;
        let count = number(&self.count, "count", schema::MAX_RESULTS as i64)?
            .clamp(0, schema::MAX_RESULTS as i64) as usize;
        Ok(Listing {
            filter,
            start,
            count,
        })
    }
}

/// A ListResponse of the `matching` resources, paged.
pub fn list_response(matching: Vec<Value>, listing: &Listing) -> Response {
    let total = matching.len();
    let page: Vec<Value> = matching
        .into_iter()
        .skip(listing.start - 1)
        .take(listing.count)
        .collect();
    page_response(total, page, listing)
}

/// `doc` with only the attributes the client asked for (`attributes`, `excludedAttributes`).
pub fn projected(
    shape: &patch::Shape,
    mut doc: Value,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Value {
    if let Value::Object(m) = &mut doc {
        patch::project(shape, m, attributes, excluded);
    }
    doc
}

/// The candidates the listing's filter matches, as answered (projected), in order.
pub fn filtered<R>(
    candidates: &[R],
    doc_of: impl Fn(&R) -> Value,
    listing: &Listing,
    q: &ListQuery,
    shape: &patch::Shape,
) -> Vec<Value> {
    candidates
        .iter()
        .map(doc_of)
        .filter(|doc| {
            listing
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&|a| users::values_of(doc, a), &schema::CASE_EXACT))
        })
        .map(|doc| {
            projected(
                shape,
                doc,
                q.attributes.as_deref(),
                q.excluded_attributes.as_deref(),
            )
        })
        .collect()
}

/// A ListResponse of one page already cut, out of `total` resources.
pub fn page_response(total: usize, page: Vec<Value>, listing: &Listing) -> Response {
    respond(
        StatusCode::OK,
        &json!({
            "schemas": [schema::LIST],
            "totalResults": total,
            "startIndex": listing.start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    )
}

/// Will the answer show `attribute` (a top-level attribute such as `members`)? Not when the
/// client lists the attributes it wants without it, nor when it excludes it.
pub fn shows(q: &ListQuery, attribute: &str) -> bool {
    let names = |list: &str| -> Vec<String> {
        list.split(',')
            .map(|n| {
                n.trim()
                    .rsplit(':')
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase()
            })
            .filter(|n| !n.is_empty())
            .collect()
    };
    let attribute = attribute.to_ascii_lowercase();
    if let Some(wanted) = q.attributes.as_deref().filter(|l| !l.trim().is_empty())
        && !names(wanted)
            .iter()
            .any(|n| n == &attribute || n.starts_with(&format!("{attribute}.")))
    {
        return false;
    }
    !q.excluded_attributes
        .as_deref()
        .is_some_and(|l| names(l).contains(&attribute))
}

/// The server's base URL as the client reached it, for `meta.location`.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{PREFIX}")
}

pub fn parse_id(id: &str) -> ScimResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| ScimError::not_found(format!("no resource {id}")))
}

async fn service_provider_config(_c: Client, headers: HeaderMap) -> Response {
    respond(
        StatusCode::OK,
        &schema::service_provider_config(&base_url(&headers)),
    )
}

fn all(resources: Vec<Value>) -> Response {
    let n = resources.len();
    respond(
        StatusCode::OK,
        &json!({
            "schemas": [schema::LIST],
            "totalResults": n,
            "startIndex": 1,
            "itemsPerPage": n,
            "Resources": resources,
        }),
    )
}

async fn resource_types(_c: Client, headers: HeaderMap) -> Response {
    all(schema::resource_types(&base_url(&headers)))
}

async fn resource_type(
    _c: Client,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ScimResult<Response> {
    schema::resource_types(&base_url(&headers))
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .map(|r| respond(StatusCode::OK, &r))
        .ok_or_else(|| ScimError::not_found(format!("no resource type {id}")))
}

async fn schemas(_c: Client, headers: HeaderMap) -> Response {
    all(schema::schemas(&base_url(&headers)))
}

async fn one_schema(
    _c: Client,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ScimResult<Response> {
    schema::schemas(&base_url(&headers))
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .map(|r| respond(StatusCode::OK, &r))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id}")))
}

/// `Query` whose rejection is SCIM's.
pub struct ScimQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for ScimQuery<T> {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ScimError> {
        Query::<T>::from_request_parts(parts, app)
            .await
            .map(|Query(q)| ScimQuery(q))
            .map_err(|e| ScimError::bad("invalidValue", e.body_text()))
    }
}
