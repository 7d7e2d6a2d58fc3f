//! `/scim/v2/Users`: SCIM users over Eligo's users. `userName` is the userPrincipalName (one
//! without a domain gets `@scim.invalid`, and is answered as sent), `displayName`,
//! `active` and the primary email (`mail`) and the enterprise extension's `manager` are Eligo's
//! own fields; `name`, every email and `externalId` are kept beside them as the source's.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use eligo_core::scim_filter::Value as FilterValue;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{ScimError, ScimResult};
use super::patch::{self, Attr, Shape};
use super::schema::{self, ENTERPRISE, USER};
use super::{
    Client, ListQuery, Projection, ScimQuery, base_url, check_schemas, filtered, list_response,
    page_response, parse_id, projected, read_body, respond,
};
use crate::app::AppState;
use crate::service::directory::{self, NewUser, Provisioned, UserPatch};
use crate::service::scim::{self as scim_service, ScimUser};

/// The domain given to a `userName` that has none: Eligo's accounts are `local@domain`.
pub const NO_DOMAIN: &str = "scim.invalid";

pub const SHAPE: Shape = Shape {
    core_urn: USER,
    attrs: &[
        Attr {
            name: "userName",
            multi: false,
            subs: &[],
            read_only_subs: &[],
        },
        Attr {
            name: "externalId",
            multi: false,
            subs: &[],
            read_only_subs: &[],
        },
        Attr {
            name: "name",
            multi: false,
            subs: &["formatted", "familyName", "givenName"],
            read_only_subs: &[],
        },
        Attr {
            name: "displayName",
            multi: false,
            subs: &[],
            read_only_subs: &[],
        },
        Attr {
            name: "emails",
            multi: true,
            subs: &["value", "type", "primary"],
            read_only_subs: &[],
        },
        Attr {
            name: "active",
            multi: false,
            subs: &[],
            read_only_subs: &[],
        },
        Attr {
            name: "password",
            multi: false,
            subs: &[],
            read_only_subs: &[],
        },
    ],
    extension: Some((
        ENTERPRISE,
        &[Attr {
            name: "manager",
            multi: false,
            subs: &["value", "$ref", "displayName"],
            read_only_subs: &["displayName"],
        }],
    )),
};

/// A user as a client sent it, checked.
struct Doc {
    user_name: String,
    external_id: Option<String>,
    name: Option<Map<String, Value>>,
    display_name: Option<String>,
    emails: Vec<Value>,
    active: bool,
    password: Option<String>,
    manager: Option<Uuid>,
}

fn upn_of(user_name: &str) -> String {
    if user_name.contains('@') {
        user_name.to_string()
    } else {
        format!("{user_name}@{NO_DOMAIN}")
    }
}

fn string(v: &Value, what: &str) -> ScimResult<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ScimError::bad(
            "invalidValue",
            format!("{what} must be a string"),
        )),
    }
}

fn complex(v: &Value, what: &str, subs: &[&str]) -> ScimResult<Option<Map<String, Value>>> {
    let m = match v {
        Value::Null => return Ok(None),
        Value::Object(m) => m,
        _ => {
            return Err(ScimError::bad(
                "invalidValue",
                format!("{what} must be an object"),
            ));
        }
    };
    let mut out = Map::new();
    for (k, x) in m {
        let sub = subs
            .iter()
            .find(|s| s.eq_ignore_ascii_case(k))
            .ok_or_else(|| {
                ScimError::bad("invalidSyntax", format!("unknown attribute \"{what}.{k}\""))
            })?;
        if !x.is_null() {
            out.insert(sub.to_string(), x.clone());
        }
    }
    Ok(Some(out))
}

fn read_doc(body: &Map<String, Value>) -> ScimResult<Doc> {
    check_schemas(body, USER, &[ENTERPRISE])?;
    let mut doc = Doc {
        user_name: String::new(),
        external_id: None,
        name: None,
        display_name: None,
        emails: Vec::new(),
        active: true,
        password: None,
        manager: None,
    };
    let mut user_name = None;
    for (k, v) in body {
        match k.to_ascii_lowercase().as_str() {
            // Read-only attributes a client may send back are ignored (RFC 7643 2.2).
            "schemas" | "id" | "meta" | "groups" => {}
            "username" => user_name = string(v, "userName")?,
            "externalid" => doc.external_id = string(v, "externalId")?,
            "name" => {
                doc.name = complex(v, "name", &["formatted", "familyName", "givenName"])?;
                if let Some(m) = &doc.name {
                    for x in m.values() {
                        string(x, "name")?;
                    }
                }
            }
            "displayname" => doc.display_name = string(v, "displayName")?,
            "emails" => {
                let list = match v {
                    Value::Null => vec![],
                    Value::Array(a) => a.clone(),
                    _ => return Err(ScimError::bad("invalidValue", "emails must be an array")),
                };
                for e in list {
                    let m = complex(&e, "emails", &["value", "type", "primary", "display"])?
                        .unwrap_or_default();
                    let value = m
                        .get("value")
                        .map(|v| string(v, "emails.value"))
                        .transpose()?
                        .flatten();
                    if value.is_none() {
                        return Err(ScimError::bad("invalidValue", "every email needs a value"));
                    }
                    if m.get("primary").is_some_and(|p| !p.is_boolean()) {
                        return Err(ScimError::bad(
                            "invalidValue",
                            "emails.primary must be a boolean",
                        ));
                    }
                    doc.emails.push(Value::Object(m));
                }
            }
            "active" => {
                doc.active = match v {
                    Value::Bool(b) => *b,
                    Value::Null => true,
                    _ => return Err(ScimError::bad("invalidValue", "active must be a boolean")),
                }
            }
            "password" => doc.password = string(v, "password")?,
            _ if k.eq_ignore_ascii_case(ENTERPRISE) => {
                let ext = match v {
                    Value::Null => Map::new(),
                    Value::Object(m) => m.clone(),
                    _ => {
                        return Err(ScimError::bad(
                            "invalidValue",
                            "the enterprise extension must be an object",
                        ));
                    }
                };
                for (ek, ev) in &ext {
                    if ek.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    if !ek.eq_ignore_ascii_case("manager") {
                        return Err(ScimError::bad(
                            "invalidSyntax",
                            format!("unknown attribute \"{ek}\" of the enterprise extension"),
                        ));
                    }
                    let m = complex(ev, "manager", &["value", "$ref", "displayName"])?;
                    if let Some(value) = m.as_ref().and_then(|m| m.get("value")) {
                        let value = string(value, "manager.value")?.unwrap_or_default();
                        doc.manager = Some(Uuid::parse_str(&value).map_err(|_| {
                            ScimError::bad("invalidValue", "manager.value must be the id of a user")
                        })?);
                    }
                }
            }
            _ => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    format!("unknown attribute \"{k}\""),
                ));
            }
        }
    }
    doc.user_name = user_name
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "userName is required"))?;
    Ok(doc)
}

impl Doc {
    fn display_name(&self) -> String {
        self.display_name
            .clone()
            .filter(|d| !d.trim().is_empty())
            .or_else(|| {
                self.name
                    .as_ref()
                    .and_then(|n| n.get("formatted"))
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .unwrap_or_else(|| self.user_name.clone())
    }

    fn mail(&self) -> Option<String> {
        let primary = self
            .emails
            .iter()
            .find(|e| e.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| self.emails.first());
        primary
            .and_then(|e| e.get("value"))
            .and_then(Value::as_str)
            .map(String::from)
    }

    fn provisioned(&self) -> Provisioned {
        // `active` as the client said it, so that the next document changes the account's
        // state only when the client's word changes (see `apply`).
        let mut attributes =
            json!({ "userName": self.user_name, "emails": self.emails, "active": self.active });
        if let Some(n) = &self.name {
            attributes["name"] = Value::Object(n.clone());
        }
        Provisioned {
            external_id: self.external_id.clone(),
            attributes,
        }
    }
}

/// A user as SCIM answers it.
fn to_json(u: &ScimUser, base: &str) -> Value {
    let attrs = &u.source.attributes;
    let mut v = json!({
        "schemas": [USER],
        "id": u.user.id,
        "userName": attrs.get("userName").cloned().unwrap_or(json!(u.user.user_principal_name)),
        "displayName": u.user.display_name,
        "active": u.user.account_enabled,
        "meta": {
            "resourceType": "User",
            "created": u.user.created_date_time,
            "lastModified": u.source.created_at.max(u.user.created_date_time),
            "location": format!("{base}/Users/{}", u.user.id),
        },
    });
    if let Some(e) = &u.source.external_id {
        v["externalId"] = json!(e);
    }
    if let Some(n) = attrs
        .get("name")
        .filter(|n| n.as_object().is_some_and(|m| !m.is_empty()))
    {
        v["name"] = n.clone();
    }
    if let Some(e) = attrs
        .get("emails")
        .filter(|e| e.as_array().is_some_and(|a| !a.is_empty()))
    {
        v["emails"] = e.clone();
    }
    if let Some(m) = u.user.manager_id {
        v["schemas"] = json!([USER, ENTERPRISE]);
        v[ENTERPRISE] = json!({"manager": {"value": m, "$ref": format!("{base}/Users/{m}")}});
    }
    v
}

/// An attribute's values in an answered user, for filtering.
pub fn values_of(doc: &Value, attr: &str) -> Vec<FilterValue> {
    let (head, sub) = match attr.split_once('.') {
        Some((h, s)) => (h, Some(s)),
        None => (attr, None),
    };
    let leaf = |v: &Value| match v {
        Value::String(s) => Some(FilterValue::Str(s.clone())),
        Value::Bool(b) => Some(FilterValue::Bool(*b)),
        _ => None,
    };
    match doc.get(head) {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|e| leaf(e.get(sub.unwrap_or("value"))?))
            .collect(),
        Some(Value::Object(m)) => sub
            .and_then(|s| m.get(s))
            .and_then(leaf)
            .into_iter()
            .collect(),
        Some(v) => leaf(v).into_iter().collect(),
        None => vec![],
    }
}

pub async fn list(
    State(app): State<AppState>,
    Client(caller): Client,
    headers: HeaderMap,
    ScimQuery(q): ScimQuery<ListQuery>,
) -> ScimResult<Response> {
    list_with(&app, &caller, &headers, q).await
}

pub async fn search(
    State(app): State<AppState>,
    Client(caller): Client,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<Response> {
    let q = ListQuery::from_search(&read_body(&headers, &body)?)?;
    list_with(&app, &caller, &headers, q).await
}

async fn list_with(
    app: &AppState,
    caller: &crate::auth::Caller,
    headers: &HeaderMap,
    q: ListQuery,
) -> ScimResult<Response> {
    let listing = q.parse(&schema::USER_FILTERS)?;
    if listing.filter.is_none() {
        // Unfiltered: only the page is read.
        let (total, users) =
            scim_service::users_page(app, caller, listing.start - 1, listing.count).await?;
        let base = base_url(headers);
        let page = users
            .iter()
            .map(|u| {
                projected(
                    &SHAPE,
                    to_json(u, &base),
                    q.attributes.as_deref(),
                    q.excluded_attributes.as_deref(),
                )
            })
            .collect();
        return Ok(page_response(total, page, &listing));
    }
    let matching = docs(app, caller, headers, &listing, &q).await?;
    Ok(list_response(matching, &listing))
}

/// The client's resources of this type that match, as answered (projected), unpaged.
pub async fn docs(
    app: &AppState,
    caller: &crate::auth::Caller,
    headers: &HeaderMap,
    listing: &super::Listing,
    q: &ListQuery,
) -> ScimResult<Vec<Value>> {
    let base = base_url(headers);
    // The lookups a provisioning client makes before each write are answered from an index.
    let candidates = match listing.filter.as_ref().and_then(|f| f.as_equality()) {
        Some(("userName", name)) => scim_service::user_by_upn(app, caller, &upn_of(name))
            .await?
            .into_iter()
            .collect(),
        Some(("externalId", ext)) => {
            match scim_service::by_external_id(app, caller, "user", ext).await? {
                Some(id) => vec![scim_service::user(app, caller, id).await?],
                None => vec![],
            }
        }
        _ => scim_service::users(app, caller).await?,
    };
    Ok(filtered(
        &candidates,
        |u| to_json(u, &base),
        listing,
        q,
        &SHAPE,
    ))
}

pub async fn get_one(
    State(app): State<AppState>,
    Client(caller): Client,
    headers: HeaderMap,
    Path(id): Path<String>,
    ScimQuery(p): ScimQuery<Projection>,
) -> ScimResult<Response> {
    let user = scim_service::user(&app, &caller, parse_id(&id)?).await?;
    let doc = projected(
        &SHAPE,
        to_json(&user, &base_url(&headers)),
        p.attributes.as_deref(),
        p.excluded_attributes.as_deref(),
    );
    Ok(respond(StatusCode::OK, &doc))
}

pub async fn create(
    State(app): State<AppState>,
    Client(caller): Client,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<Response> {
    let doc = read_doc(&read_body(&headers, &body)?)?;
    let new = NewUser {
        user_principal_name: upn_of(&doc.user_name),
        display_name: doc.display_name(),
        mail: doc.mail(),
        mail_nickname: None,
        password: doc.password.clone(),
        manager_id: doc.manager,
        account_enabled: doc.active,
    };
    let user = directory::create_user_from(&app, &caller, new, Some(doc.provisioned())).await?;
    let created = scim_service::user(&app, &caller, user.id).await?;
    Ok(respond(
        StatusCode::CREATED,
        &to_json(&created, &base_url(&headers)),
    ))
}

/// Makes the user what `doc` says, changing only what differs (so that a PUT of the same
/// document asks for no more permission than it needs).
async fn apply(
    app: &AppState,
    caller: &crate::auth::Caller,
    current: &ScimUser,
    doc: Doc,
) -> ScimResult<ScimUser> {
    let u = &current.user;
    // The account's state follows the client's word when that word changes, as the LDAP import
    // does: an administrator's emergency stop is not undone by the client's next routine PUT,
    // which sends `active: true` again (or leaves it out, which means true).
    let said_before = current
        .source
        .attributes
        .get("active")
        .and_then(Value::as_bool)
        .unwrap_or(u.account_enabled);
    let enabled =
        (doc.active != said_before && doc.active != u.account_enabled).then_some(doc.active);
    let upn = upn_of(&doc.user_name);
    let display_name = doc.display_name();
    let mail = doc.mail();
    let patch = UserPatch {
        user_principal_name: (upn != u.user_principal_name).then_some(upn),
        display_name: (display_name != u.display_name).then_some(display_name),
        mail: (mail != u.mail).then_some(mail),
        manager_id: (doc.manager != u.manager_id).then_some(doc.manager),
        account_enabled: enabled,
        password: doc.password.clone(),
        provisioned: Some(doc.provisioned()),
        identities: None,
    };
    directory::update_user(app, caller, u.id, patch).await?;
    Ok(scim_service::user(app, caller, u.id).await?)
}

pub async fn replace(
    State(app): State<AppState>,
    Client(caller): Client,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ScimResult<Response> {
    let current = scim_service::user(&app, &caller, parse_id(&id)?).await?;
    let doc = read_doc(&read_body(&headers, &body)?)?;
    let updated = apply(&app, &caller, &current, doc).await?;
    Ok(respond(
        StatusCode::OK,
        &to_json(&updated, &base_url(&headers)),
    ))
}

pub async fn patch(
    State(app): State<AppState>,
    Client(caller): Client,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ScimResult<Response> {
    let current = scim_service::user(&app, &caller, parse_id(&id)?).await?;
    let ops = Value::Object(read_body(&headers, &body)?);
    let base = base_url(&headers);
    let Value::Object(mut doc) = to_json(&current, &base) else {
        unreachable!("a user answers as an object")
    };
    patch::apply(&SHAPE, &mut doc, &ops)?;
    if !doc.contains_key("displayName") {
        // Removed: Eligo's record keeps one, from the userName.
        doc.insert("displayName".into(), Value::Null);
    }
    let doc = read_doc(&doc)?;
    let updated = apply(&app, &caller, &current, doc).await?;
    Ok(respond(StatusCode::OK, &to_json(&updated, &base)))
}

/// Deleting deactivates first, so that the cascades of a disabled account run (sessions
/// revoked, activations ended) with the deletion on the record.
pub async fn delete(
    State(app): State<AppState>,
    Client(caller): Client,
    Path(id): Path<String>,
) -> ScimResult<StatusCode> {
    let current = scim_service::user(&app, &caller, parse_id(&id)?).await?;
    if current.user.account_enabled {
        let off = UserPatch {
            account_enabled: Some(false),
            ..Default::default()
        };
        directory::update_user(&app, &caller, current.user.id, off).await?;
    }
    directory::delete_user(&app, &caller, current.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
