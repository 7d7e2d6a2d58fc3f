//! `/scim/v2/Groups`: SCIM groups over Eligo's ordinary security groups (a client can create
//! no role-assignable group). `displayName` is Eligo's; `members` are the group's direct
//! members, each a user or group the same client provisioned. Membership changes are the
//! directory's own (`add_relation` / `remove_relation`), one audited change per member.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use eligo_core::directory::PrincipalKind;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{ScimError, ScimResult};
use super::patch::{self, Attr, Shape};
use super::schema::{self, GROUP};
use super::{
    Client, ListQuery, Projection, ScimQuery, base_url, check_schemas, filtered, list_response,
    page_response, parse_id, projected, read_body, respond, shows,
};
use crate::app::AppState;
use crate::auth::Caller;
use crate::service::directory::{self, GroupPatch, GroupWrite, NewGroup, Provisioned};
use crate::service::scim::{self as scim_service, ScimGroup};

pub const SHAPE: Shape = Shape {
    core_urn: GROUP,
    attrs: &[
        Attr {
            name: "displayName",
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
            name: "members",
            multi: true,
            subs: &["value", "$ref", "type", "display"],
            read_only_subs: &["display", "type"],
        },
    ],
    extension: None,
};

struct Doc {
    display_name: String,
    external_id: Option<String>,
    members: BTreeSet<Uuid>,
}

fn read_doc(body: &Map<String, Value>) -> ScimResult<Doc> {
    check_schemas(body, GROUP, &[])?;
    let mut display_name = None;
    let mut external_id = None;
    let mut members = BTreeSet::new();
    for (k, v) in body {
        match k.to_ascii_lowercase().as_str() {
            "schemas" | "id" | "meta" => {}
            "displayname" => display_name = v.as_str().map(String::from),
            "externalid" => match v {
                Value::Null => external_id = None,
                Value::String(s) => external_id = Some(s.clone()),
                _ => {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "externalId must be a string",
                    ));
                }
            },
            "members" => {
                let list = match v {
                    Value::Null => vec![],
                    Value::Array(a) => a.clone(),
                    _ => return Err(ScimError::bad("invalidValue", "members must be an array")),
                };
                for m in list {
                    let obj = m.as_object().ok_or_else(|| {
                        ScimError::bad("invalidValue", "a member must be an object")
                    })?;
                    for key in obj.keys() {
                        if !["value", "$ref", "type", "display"]
                            .iter()
                            .any(|s| s.eq_ignore_ascii_case(key))
                        {
                            return Err(ScimError::bad(
                                "invalidSyntax",
                                format!("unknown attribute \"members.{key}\""),
                            ));
                        }
                    }
                    let value = obj
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("value"))
                        .and_then(|(_, v)| v.as_str())
                        .ok_or_else(|| {
                            ScimError::bad("invalidValue", "every member needs a value")
                        })?;
                    let id = Uuid::parse_str(value).map_err(|_| {
                        ScimError::bad("invalidValue", format!("member \"{value}\" is not an id"))
                    })?;
                    members.insert(id);
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
    let display_name = display_name
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "displayName is required"))?;
    Ok(Doc {
        display_name,
        external_id,
        members,
    })
}

fn to_json(g: &ScimGroup, base: &str) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        // A member is its id and where it lives (its kind is in the path): `type` and
        // `display` are not answered, so that a client's own view of the member list compares
        // equal to Eligo's.
        .map(|(id, kind, _)| {
            let path = match kind {
                PrincipalKind::Group => "Groups",
                _ => "Users",
            };
            json!({"value": id, "$ref": format!("{base}/{path}/{id}")})
        })
        .collect();
    let mut v = json!({
        "schemas": [GROUP],
        "id": g.group.id,
        "displayName": g.group.display_name,
        "meta": {
            "resourceType": "Group",
            "created": g.group.created_date_time,
            "lastModified": g.source.created_at.max(g.group.created_date_time),
            "location": format!("{base}/Groups/{}", g.group.id),
        },
    });
    if !members.is_empty() {
        v["members"] = Value::Array(members);
    }
    if let Some(e) = &g.source.external_id {
        v["externalId"] = json!(e);
    }
    v
}

/// Every member must be a user or group this client provisioned: checked for all before any
/// is added, so that a bad reference changes nothing.
async fn check_members(
    app: &AppState,
    caller: &Caller,
    members: &BTreeSet<Uuid>,
) -> ScimResult<()> {
    for id in members {
        if scim_service::kind_of(app, caller, *id).await?.is_none() {
            return Err(ScimError::bad(
                "invalidValue",
                format!("member {id} is not a user or group this client provisioned"),
            ));
        }
    }
    Ok(())
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
    let listing = q.parse(&schema::GROUP_FILTERS)?;
    if listing.filter.is_none() {
        // Unfiltered: only the page is read, and its members only when they are shown.
        let (total, groups) = scim_service::groups_page(
            app,
            caller,
            listing.start - 1,
            listing.count,
            shows(&q, "members"),
        )
        .await?;
        let base = base_url(headers);
        let page = groups
            .iter()
            .map(|g| {
                projected(
                    &SHAPE,
                    to_json(g, &base),
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
    let candidates = match listing.filter.as_ref().and_then(|f| f.as_equality()) {
        Some(("externalId", ext)) => {
            match scim_service::by_external_id(app, caller, "group", ext).await? {
                Some(id) => vec![scim_service::group(app, caller, id).await?],
                None => vec![],
            }
        }
        _ => scim_service::groups(app, caller).await?,
    };
    Ok(filtered(
        &candidates,
        |g| to_json(g, &base),
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
    let group = scim_service::group(&app, &caller, parse_id(&id)?).await?;
    let doc = projected(
        &SHAPE,
        to_json(&group, &base_url(&headers)),
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
    check_members(&app, &caller, &doc.members).await?;
    let new = NewGroup {
        display_name: doc.display_name.clone(),
        description: None,
        mail_nickname: None,
        security_enabled: true,
        is_assignable_to_role: false,
    };
    let provisioned = Provisioned {
        external_id: doc.external_id.clone(),
        attributes: json!({}),
    };
    let group = directory::provision_group(
        &app,
        &caller,
        GroupWrite::Create(new),
        Some(provisioned),
        &doc.members,
    )
    .await?;
    let created = scim_service::group(&app, &caller, group.id).await?;
    Ok(respond(
        StatusCode::CREATED,
        &to_json(&created, &base_url(&headers)),
    ))
}

async fn apply(
    app: &AppState,
    caller: &Caller,
    current: &ScimGroup,
    doc: Doc,
) -> ScimResult<ScimGroup> {
    check_members(app, caller, &doc.members).await?;
    let g = &current.group;
    let patch = GroupPatch {
        display_name: (doc.display_name != g.display_name).then_some(doc.display_name),
        description: None,
        provisioned: (doc.external_id != current.source.external_id).then_some(Provisioned {
            external_id: doc.external_id,
            attributes: current.source.attributes.clone(),
        }),
    };
    // The names, the externalId and the members: one transaction, all or nothing.
    directory::provision_group(
        app,
        caller,
        GroupWrite::Change(g.id, patch),
        None,
        &doc.members,
    )
    .await?;
    Ok(scim_service::group(app, caller, g.id).await?)
}

pub async fn replace(
    State(app): State<AppState>,
    Client(caller): Client,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ScimResult<Response> {
    let current = scim_service::group(&app, &caller, parse_id(&id)?).await?;
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
    let current = scim_service::group(&app, &caller, parse_id(&id)?).await?;
    let ops = Value::Object(read_body(&headers, &body)?);
    let base = base_url(&headers);
    let Value::Object(mut doc) = to_json(&current, &base) else {
        unreachable!("a group answers as an object")
    };
    patch::apply(&SHAPE, &mut doc, &ops)?;
    let doc = read_doc(&doc)?;
    let updated = apply(&app, &caller, &current, doc).await?;
    Ok(respond(StatusCode::OK, &to_json(&updated, &base)))
}

pub async fn delete(
    State(app): State<AppState>,
    Client(caller): Client,
    Path(id): Path<String>,
) -> ScimResult<StatusCode> {
    let current = scim_service::group(&app, &caller, parse_id(&id)?).await?;
    directory::delete_group(&app, &caller, current.group.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
