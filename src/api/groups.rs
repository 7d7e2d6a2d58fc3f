//! `/v1/groups`: security groups, their direct members and owners (also under Graph's `$ref`
//! spelling), and transitive members.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use eligo_core::directory::Relation;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::body::{JsonBody, double_option, non_null};
use crate::api::directory_object;
use crate::api::odata::{self, EQ, EQ_PREFIX};
use crate::api::schemas::{self, Collection, DirectoryObject, field};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::directory::{self, GroupPatch, NewGroup};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, update_group, delete_group))
        .routes(routes!(list_members, add_member))
        .routes(routes!(add_member_ref))
        .routes(routes!(remove_member))
        .routes(routes!(remove_member_ref))
        .routes(routes!(list_owners, add_owner))
        .routes(routes!(add_owner_ref))
        .routes(routes!(remove_owner))
        .routes(routes!(remove_owner_ref))
        .routes(routes!(transitive_members))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateGroup {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    #[schema(schema_with = field::display_name)]
    display_name: String,
    #[schema(schema_with = field::description_or_null)]
    description: Option<String>,
    #[schema(schema_with = field::mail_nickname_or_null)]
    mail_nickname: Option<String>,
    /// Default true; a role-assignable group must be a security group.
    security_enabled: Option<bool>,
    #[serde(default)]
    is_assignable_to_role: bool,
    /// Graph sends these; Eligo manages security groups only, so they must say so.
    #[schema(schema_with = mail_enabled_schema)]
    mail_enabled: Option<bool>,
    #[schema(max_items = 0)]
    group_types: Option<Vec<String>>,
}

/// `mailEnabled`: false (or null), as Eligo's groups are security groups.
fn mail_enabled_schema() -> utoipa::openapi::Schema {
    serde_json::from_value(
        serde_json::json!({ "type": ["boolean", "null"], "enum": [false, null] }),
    )
    .expect("a valid schema")
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateGroup {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(schema_with = field::display_name)]
    display_name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = field::description_or_null)]
    description: Option<Option<String>>,
    /// Fixed at creation; read only to be refused clearly (so not part of the schema).
    #[schema(ignore)]
    is_assignable_to_role: Option<bool>,
}

/// `{"id": "..."}` (Eligo) or `{"@odata.id": ".../directoryObjects/{id}"}` (Graph's `$ref`),
/// one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    #[schema(schema_with = field::uuid)]
    id: Option<String>,
    /// A URL whose last segment is the principal's id.
    #[serde(rename = "@odata.id")]
    #[schema(
        pattern = r"^https?://[A-Za-z0-9.:-]{1,40}(/[A-Za-z0-9._-]{1,20}){0,4}/directoryObjects/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        nullable = false
    )]
    odata_id: Option<String>,
}

impl Reference {
    fn principal(&self) -> ApiResult<Uuid> {
        let raw = match (&self.id, &self.odata_id) {
            (Some(id), None) => id.as_str(),
            (None, Some(url)) => url
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default(),
            _ => {
                return Err(ApiError::bad_request(
                    "Request_BadRequest",
                    "give the principal as \"id\" or \"@odata.id\"",
                ));
            }
        };
        odata::parse_id(raw, "principal")
    }
}

#[utoipa::path(post, path = "/v1/groups", tag = "groups", request_body = CreateGroup,
    responses((status = 201, description = "Created", body = schemas::Group)))]
async fn create_group(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateGroup>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if req.mail_enabled == Some(true) || req.group_types.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "Eligo manages security groups: mailEnabled must be false and groupTypes empty",
        )
        .with_detail("UnsupportedGroupType", "groupTypes"));
    }
    let new = NewGroup {
        display_name: req.display_name,
        description: req.description,
        mail_nickname: req.mail_nickname,
        security_enabled: req.security_enabled.unwrap_or(true),
        is_assignable_to_role: req.is_assignable_to_role,
    };
    let group = directory::create_group(&app, &caller, new).await?;
    Ok((StatusCode::CREATED, Json(directory_object::group(&group))))
}

#[utoipa::path(get, path = "/v1/groups", tag = "groups",
    params(("$filter" = Option<String>, Query, description = "displayName: eq, startswith; isAssignableToRole: eq; conditions joined by `and`, each field once",
               pattern = r"^(displayName eq '[^'\u0000-\u001f]{0,64}'|startswith\(displayName, ?'[^'\u0000-\u001f]{0,64}'\)|isAssignableToRole eq (true|false))$"),
           ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "A page of groups", body = Collection<schemas::Group>)))]
async fn list_groups(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let groups = directory::group_reader(&app, &caller)?;
    let opts = odata::parse_list_options(
        &q,
        &[("displayName", EQ_PREFIX), ("isAssignableToRole", EQ)],
    )?;
    let is_assignable_to_role = odata::eq_bool(&opts.filter, "isAssignableToRole")?;
    let query = eligo_store::GroupQuery {
        display_name: odata::eq_text(&opts.filter, "displayName")?,
        display_name_prefix: odata::prefix_text(&opts.filter, "displayName")?,
        is_assignable_to_role,
    };
    let rows = groups.list(&query, odata::probe(opts.page)).await?;
    let rows: Vec<Value> = rows.iter().map(directory_object::group).collect();
    Ok(Json(odata::collection(&uri, opts.page, rows)))
}

#[utoipa::path(get, path = "/v1/groups/{id}", tag = "groups", params(("id" = String, Path)),
    responses((status = 200, description = "The group", body = schemas::Group)))]
async fn get_group(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "group")?;
    let group = directory::get_group(&app, &caller, id).await?;
    Ok(Json(directory_object::group(&group)))
}

#[utoipa::path(patch, path = "/v1/groups/{id}", tag = "groups", params(("id" = String, Path)), request_body = UpdateGroup,
    responses((status = 204, description = "Updated")))]
async fn update_group(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateGroup>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "group")?;
    if req.is_assignable_to_role.is_some() {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "isAssignableToRole is fixed when a group is created",
        )
        .with_detail("PropertyNotUpdatable", "isAssignableToRole"));
    }
    directory::update_group(
        &app,
        &caller,
        id,
        GroupPatch {
            display_name: req.display_name,
            description: req.description,
            provisioned: None,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/v1/groups/{id}", tag = "groups", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_group(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "group")?;
    directory::delete_group(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_relation(
    app: &AppState,
    caller: &Caller,
    id: &str,
    relation: Relation,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(id, "group")?;
    let holders = directory::group_relation(app, caller, id, relation).await?;
    Ok(Json(odata::values(directory_object::objects(&holders))))
}

async fn add(
    app: &AppState,
    caller: &Caller,
    id: &str,
    r: Reference,
    relation: Relation,
) -> ApiResult<StatusCode> {
    let group = odata::parse_id(id, "group")?;
    directory::add_relation(app, caller, group, r.principal()?, relation).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    app: &AppState,
    caller: &Caller,
    id: &str,
    member: &str,
    relation: Relation,
) -> ApiResult<StatusCode> {
    let group = odata::parse_id(id, "group")?;
    let principal = odata::parse_id(member, "principal")?;
    directory::remove_relation(app, caller, group, principal, relation).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/groups/{id}/members", tag = "groups", params(("id" = String, Path)),
    responses((status = 200, description = "Direct members", body = Collection<DirectoryObject>)))]
async fn list_members(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    list_relation(&app, &caller, &id, Relation::Member).await
}

#[utoipa::path(post, path = "/v1/groups/{id}/members", tag = "groups", params(("id" = String, Path)), request_body = Reference,
    responses((status = 204, description = "Added")))]
async fn add_member(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<Reference>,
) -> ApiResult<StatusCode> {
    add(&app, &caller, &id, r, Relation::Member).await
}

#[utoipa::path(post, path = "/v1/groups/{id}/members/$ref", tag = "groups", params(("id" = String, Path)), request_body = Reference,
    responses((status = 204, description = "Added (Graph's spelling)")))]
async fn add_member_ref(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<Reference>,
) -> ApiResult<StatusCode> {
    add(&app, &caller, &id, r, Relation::Member).await
}

#[utoipa::path(delete, path = "/v1/groups/{id}/members/{member_id}", tag = "groups", params(("id" = String, Path), ("member_id" = String, Path)),
    responses((status = 204, description = "Removed")))]
async fn remove_member(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    remove(&app, &caller, &id, &member, Relation::Member).await
}

#[utoipa::path(delete, path = "/v1/groups/{id}/members/{member_id}/$ref", tag = "groups", params(("id" = String, Path), ("member_id" = String, Path)),
    responses((status = 204, description = "Removed (Graph's spelling)")))]
async fn remove_member_ref(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    remove(&app, &caller, &id, &member, Relation::Member).await
}

#[utoipa::path(get, path = "/v1/groups/{id}/owners", tag = "groups", params(("id" = String, Path)),
    responses((status = 200, description = "Owners", body = Collection<DirectoryObject>)))]
async fn list_owners(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    list_relation(&app, &caller, &id, Relation::Owner).await
}

#[utoipa::path(post, path = "/v1/groups/{id}/owners", tag = "groups", params(("id" = String, Path)), request_body = Reference,
    responses((status = 204, description = "Added")))]
async fn add_owner(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<Reference>,
) -> ApiResult<StatusCode> {
    add(&app, &caller, &id, r, Relation::Owner).await
}

#[utoipa::path(post, path = "/v1/groups/{id}/owners/$ref", tag = "groups", params(("id" = String, Path)), request_body = Reference,
    responses((status = 204, description = "Added (Graph's spelling)")))]
async fn add_owner_ref(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<Reference>,
) -> ApiResult<StatusCode> {
    add(&app, &caller, &id, r, Relation::Owner).await
}

#[utoipa::path(delete, path = "/v1/groups/{id}/owners/{owner_id}", tag = "groups", params(("id" = String, Path), ("owner_id" = String, Path)),
    responses((status = 204, description = "Removed")))]
async fn remove_owner(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, owner)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    remove(&app, &caller, &id, &owner, Relation::Owner).await
}

#[utoipa::path(delete, path = "/v1/groups/{id}/owners/{owner_id}/$ref", tag = "groups", params(("id" = String, Path), ("owner_id" = String, Path)),
    responses((status = 204, description = "Removed (Graph's spelling)")))]
async fn remove_owner_ref(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, owner)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    remove(&app, &caller, &id, &owner, Relation::Owner).await
}

#[utoipa::path(get, path = "/v1/groups/{id}/transitiveMembers", tag = "groups", params(("id" = String, Path)),
    responses((status = 200, description = "Members, directly or through nested groups", body = Collection<DirectoryObject>)))]
async fn transitive_members(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "group")?;
    let members = directory::group_transitive_members(&app, &caller, id).await?;
    Ok(Json(odata::values(directory_object::objects(&members))))
}
