//! `/v1/users`: Graph's user resource, transitive memberships and `checkMemberGroups`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::body::{JsonBody, double_option, non_null};
use crate::api::directory_object;
use crate::api::odata::{self, EQ, EQ_PREFIX};
use crate::api::schemas::{self, Collection, DirectoryObject, GroupIds, field};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::directory::identities::IdentityInput;
use crate::service::directory::{self, NewUser, UserPatch};
use crate::service::history;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(transitive_member_of))
        .routes(routes!(member_of))
        .routes(routes!(check_member_groups))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordProfile {
    #[schema(schema_with = field::password)]
    password: String,
    /// Accepted for Graph compatibility; Eligo has no interactive password-change flow yet.
    #[serde(default, rename = "forceChangePasswordNextSignIn")]
    _force_change: Option<bool>,
    #[serde(default, rename = "forceChangePasswordNextSignInWithMfa")]
    _force_change_with_mfa: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    #[schema(schema_with = field::upn)]
    user_principal_name: String,
    #[schema(schema_with = field::display_name)]
    display_name: String,
    #[schema(schema_with = field::mail_or_null)]
    mail: Option<String>,
    #[schema(schema_with = field::mail_nickname_or_null)]
    mail_nickname: Option<String>,
    /// Or `passwordProfile.password`, not both.
    #[schema(schema_with = field::password_or_null)]
    password: Option<String>,
    password_profile: Option<PasswordProfile>,
    manager_id: Option<Uuid>,
    account_enabled: Option<bool>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(schema_with = field::upn)]
    user_principal_name: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(schema_with = field::display_name)]
    display_name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = field::mail_or_null)]
    mail: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = field::uuid_or_null)]
    manager_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(nullable = false)]
    account_enabled: Option<bool>,
    /// Or `passwordProfile.password`, not both.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(schema_with = field::password)]
    password: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(nullable = false)]
    password_profile: Option<PasswordProfile>,
    /// Replaced whole: at most one `federated` identity (a configured provider's issuer and
    /// the subject it gives the person), which single sign-on then signs in to this account;
    /// `[]` unbinds it. A `userPrincipalName` entry must name the account's own.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(nullable = false, max_items = 10)]
    identities: Option<Vec<ObjectIdentity>>,
}

/// Graph's `objectIdentity`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectIdentity {
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    #[schema(max_length = 50)]
    sign_in_type: String,
    #[schema(max_length = 512)]
    issuer: Option<String>,
    #[schema(max_length = 255)]
    issuer_assigned_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckMemberGroups {
    #[schema(max_items = 20)]
    group_ids: Vec<Uuid>,
}

fn one_password(
    plain: Option<String>,
    profile: Option<PasswordProfile>,
) -> ApiResult<Option<String>> {
    match (plain, profile) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "Request_BadRequest",
            "give password or passwordProfile.password, not both",
        )),
        (p, prof) => Ok(p.or(prof.map(|p| p.password))),
    }
}

#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, description = "Created", body = schemas::User),
        (status = 409, description = "Duplicate userPrincipalName")))]
async fn create_user(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let password = one_password(req.password, req.password_profile)?;
    let new = NewUser {
        user_principal_name: req.user_principal_name,
        display_name: req.display_name,
        mail: req.mail,
        mail_nickname: req.mail_nickname,
        password,
        manager_id: req.manager_id,
        account_enabled: req.account_enabled.unwrap_or(true),
    };
    let user = directory::create_user(&app, &caller, new).await?;
    Ok((StatusCode::CREATED, Json(directory_object::user(&user))))
}

#[utoipa::path(get, path = "/v1/users", tag = "users",
    params(("$filter" = Option<String>, Query, description = "userPrincipalName, displayName, mail: eq; displayName: startswith; conditions joined by `and`, each field once",
               pattern = r"^((userPrincipalName|displayName|mail) eq '[^'\u0000-\u001f]{0,64}'|startswith\(displayName, ?'[^'\u0000-\u001f]{0,64}'\))$"),
           ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query),
           ("$select" = Option<String>, Query, description = "`signInActivity` adds each user's last sign-ins (callers who may read the audit log; 403 for others); other fields are always answered")),
    responses((status = 200, description = "A page of users", body = Collection<schemas::User>)))]
async fn list_users(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let users = directory::user_reader(&app, &caller)?;
    let history = sign_in_history(&app, &caller, &q)?;
    let opts = odata::parse_list_options(
        &q,
        &[
            ("userPrincipalName", EQ_PREFIX),
            ("displayName", EQ_PREFIX),
            ("mail", EQ),
        ],
    )?;
    let query = eligo_store::UserQuery {
        upn: odata::eq_text(&opts.filter, "userPrincipalName")?,
        display_name: odata::eq_text(&opts.filter, "displayName")?,
        display_name_prefix: odata::prefix_text(&opts.filter, "displayName")?,
        upn_prefix: odata::prefix_text(&opts.filter, "userPrincipalName")?,
        name_or_upn_prefix: None,
        mail: odata::eq_text(&opts.filter, "mail")?,
    };
    let rows = users.list(&query, odata::probe(opts.page)).await?;
    let activity = match &history {
        Some(history) => {
            let ids: Vec<Uuid> = rows.iter().map(|u| u.id).collect();
            Some(history.last_sign_ins_of(&ids).await?)
        }
        None => None,
    };
    let rows: Vec<Value> = rows
        .iter()
        .map(|u| {
            let mut v = directory_object::user(u);
            if let Some(activity) = &activity {
                v["signInActivity"] = history::sign_in_activity_json(activity.get(&u.id));
            }
            v
        })
        .collect();
    Ok(Json(odata::collection(&uri, opts.page, rows)))
}

#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path),
    ("$select" = Option<String>, Query, description = "`signInActivity` adds the user's last sign-ins (callers who may read the audit log; 403 for others); `identities` adds the user principal name and the single sign-on identity the account is bound to; other fields are always answered")),
    responses((status = 200, description = "The user", body = schemas::User), (status = 404, description = "No such user")))]
async fn get_user(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "user")?;
    let (user, mut body) = if selects(&q, "identities") {
        let (user, identity) = directory::get_user_with_identity(&app, &caller, id).await?;
        let mut body = directory_object::user(&user);
        body["identities"] = directory_object::identities(&user, identity.as_ref());
        (user, body)
    } else {
        let user = directory::get_user(&app, &caller, id).await?;
        let body = directory_object::user(&user);
        (user, body)
    };
    if let Some(history) = sign_in_history(&app, &caller, &q)? {
        let activity = history.last_sign_in(user.id).await?;
        body["signInActivity"] = history::sign_in_activity_json(Some(&activity));
    }
    Ok(Json(body))
}

/// Whether `$select` names `property` (Graph's property names, in any case).
fn selects(q: &odata::RawQuery, property: &str) -> bool {
    q.iter()
        .filter(|(k, _)| k == "$select")
        .flat_map(|(_, v)| v.split(','))
        .any(|field| field.trim().eq_ignore_ascii_case(property))
}

/// The history reader when `$select` asks for `signInActivity`, which the service allows only
/// to callers who may read the audit log (403 for the others).
fn sign_in_history<'a>(
    app: &'a AppState,
    caller: &Caller,
    q: &odata::RawQuery,
) -> ApiResult<Option<history::History<'a>>> {
    if !selects(q, "signInActivity") {
        return Ok(None);
    }
    Ok(Some(history::reader(app, caller)?))
}

#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UpdateUser,
    responses((status = 204, description = "Updated")))]
async fn update_user(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateUser>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "user")?;
    let patch = UserPatch {
        password: one_password(req.password, req.password_profile)?,
        user_principal_name: req.user_principal_name,
        display_name: req.display_name,
        mail: req.mail,
        manager_id: req.manager_id,
        account_enabled: req.account_enabled,
        provisioned: None,
        identities: match req.identities {
            Some(list) if list.len() > 10 => {
                return Err(ApiError::bad_request(
                    "Request_BadRequest",
                    "identities holds at most 10 entries",
                ));
            }
            list => list.map(|list| list.into_iter().map(identity_input).collect()),
        },
    };
    directory::update_user(&app, &caller, id, patch).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn identity_input(i: ObjectIdentity) -> IdentityInput {
    IdentityInput {
        sign_in_type: i.sign_in_type,
        issuer: i.issuer,
        issuer_assigned_id: i.issuer_assigned_id,
    }
}

#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_user(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = odata::parse_id(&id, "user")?;
    directory::delete_user(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/users/{id}/memberOf", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "Groups the user is a direct member of", body = Collection<DirectoryObject>)))]
async fn member_of(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "user")?;
    let groups = directory::member_of(&app, &caller, id).await?;
    Ok(Json(odata::values(directory_object::objects(&groups))))
}

#[utoipa::path(get, path = "/v1/users/{id}/transitiveMemberOf", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "Every group the user is in, directly or through nesting", body = Collection<DirectoryObject>)))]
async fn transitive_member_of(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "user")?;
    let groups = directory::transitive_member_of(&app, &caller, id).await?;
    Ok(Json(odata::values(directory_object::objects(&groups))))
}

#[utoipa::path(post, path = "/v1/users/{id}/checkMemberGroups", tag = "users", params(("id" = String, Path)), request_body = CheckMemberGroups,
    responses((status = 200, description = "The given group ids the user is a member of, transitively", body = GroupIds)))]
async fn check_member_groups(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CheckMemberGroups>,
) -> ApiResult<Json<Value>> {
    let id = odata::parse_id(&id, "user")?;
    let hits: Vec<String> = directory::check_member_groups(&app, &caller, id, &req.group_ids)
        .await?
        .iter()
        .map(Uuid::to_string)
        .collect();
    Ok(Json(odata::values(hits)))
}
