//! Users: the list (search, paging), the create form, one user's page (properties, groups,
//! roles held or eligible) with the edit form and delete.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::directory::{Relation, User};
use eligo_core::schedule::ScheduleKind;
use eligo_store::{Targets, UserQuery};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    ListQuery, Pager, PrincipalRef, Shown, absorb_input_error, page, path_id, principal_ref,
    refused, ticked,
};
use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, redirect_with, render, render_status,
};
use crate::portal::session::Viewer;
use crate::service::directory::{self, NewUser, UserPatch};
use crate::service::pim::views::{self, HoldingQuery};

pub struct UserRow {
    pub id: Uuid,
    pub upn: String,
    pub name: String,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/users.html")]
struct UsersPage {
    chrome: Chrome,
    q: String,
    rows: Vec<UserRow>,
    pager: Pager,
    may_create: bool,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/user_new.html")]
struct NewUserPage {
    chrome: Chrome,
    upn: String,
    display_name: String,
    enabled: bool,
    errors: FieldErrors,
}

pub struct GroupLine {
    pub group: PrincipalRef,
    pub direct: bool,
}

pub struct RoleLine {
    pub role_id: Uuid,
    pub role_name: String,
    pub active: bool,
    pub scope: String,
    pub via: Option<(Uuid, String)>,
    pub end: Option<Shown>,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/user.html")]
struct UserPage {
    chrome: Chrome,
    user: User,
    created: Shown,
    groups: Vec<GroupLine>,
    owned: Vec<PrincipalRef>,
    /// None: the viewer may not read role assignments.
    roles: Option<Vec<RoleLine>>,
    may_update: bool,
    may_delete: bool,
    /// The edit form's values (kept after a refusal).
    edit_name: String,
    edit_enabled: bool,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    upn: Option<String>,
    display_name: Option<String>,
    password: Option<String>,
    enabled: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    display_name: Option<String>,
    enabled: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

const USER_FIELDS: &[(&str, &str, &str)] = &[
    ("userPrincipalName", "upn", "User name"),
    ("displayName", "display_name", "Display name"),
    ("passwordProfile.password", "password", "Password"),
];

pub async fn list(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    let reader = directory::user_reader(&app, &viewer.caller)?;
    let search = q.search();
    // What was typed starts the display name or the user name (with an @, only the user
    // name), as `/v1/users?$filter=startswith(...)` offers.
    let query = match &search {
        Some(s) if s.contains('@') => UserQuery {
            upn_prefix: Some(s.clone()),
            ..Default::default()
        },
        Some(s) => UserQuery {
            name_or_upn_prefix: Some(s.clone()),
            ..Default::default()
        },
        None => UserQuery::default(),
    };
    let mut users = reader.list(&query, q.store_page()).await?;
    let pager = Pager::cut("/portal/admin/users", &q, &mut users);
    Ok(render(&UsersPage {
        may_create: viewer.can.create_users,
        chrome: viewer.chrome(Section::Administration),
        q: search.unwrap_or_default(),
        rows: users
            .into_iter()
            .map(|u| UserRow {
                id: u.id,
                upn: u.user_principal_name,
                name: u.display_name,
                enabled: u.account_enabled,
            })
            .collect(),
        pager,
    }))
}

pub async fn new_form(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    directory::may_create_user(&app, &viewer.caller)?;
    Ok(render(&NewUserPage {
        chrome: viewer.chrome(Section::Administration),
        upn: String::new(),
        display_name: String::new(),
        enabled: true,
        errors: FieldErrors::new(),
    }))
}

pub async fn create(
    State(app): State<AppState>,
    posted: Posted<NewUserForm>,
) -> PageResult<Response> {
    // The use case decides (and audits a refusal); the form is only shown to those who may.
    let Posted { viewer, form } = posted;
    let upn = form.upn.clone().unwrap_or_default().trim().to_string();
    let display_name = form
        .display_name
        .clone()
        .unwrap_or_default()
        .trim()
        .to_string();
    let password = form.password.clone().unwrap_or_default();
    let enabled = ticked(&form.enabled);
    let mut errors = FieldErrors::new();
    if upn.is_empty() {
        errors.add(
            "upn",
            "Enter the user name (UPN), like name@contoso.example.",
        );
    }
    if display_name.is_empty() {
        errors.add("display_name", "Enter a display name.");
    }
    if password.is_empty() {
        errors.add(
            "password",
            "Enter an initial password of 12 characters or more.",
        );
    }
    if errors.is_empty() {
        let new = NewUser {
            user_principal_name: upn.clone(),
            display_name: display_name.clone(),
            mail: None,
            mail_nickname: None,
            password: Some(password),
            manager_id: None,
            account_enabled: enabled,
        };
        match directory::create_user(&app, &viewer.caller, new).await {
            Ok(user) => {
                return Ok(redirect_with(
                    &app,
                    &format!("/portal/admin/users/{}", user.id),
                    Flash::success(format!(
                        "{} ({}) was created.",
                        user.display_name, user.user_principal_name
                    )),
                ));
            }
            Err(e) if e.status() == StatusCode::CONFLICT => errors.add(
                "upn",
                "A user with this user name already exists. Choose another user name.",
            ),
            Err(e) => absorb_input_error(e, &mut errors, USER_FIELDS)?,
        }
    }
    Ok(render_status(
        StatusCode::BAD_REQUEST,
        &NewUserPage {
            chrome: viewer.chrome(Section::Administration),
            upn,
            display_name,
            enabled,
            errors,
        },
    ))
}

async fn user_page(
    app: &App,
    viewer: &Viewer,
    id: Uuid,
    edit: Option<(String, bool)>,
    errors: FieldErrors,
) -> PageResult<UserPage> {
    let caller = &viewer.caller;
    let now = app.clock.now();
    let (user, direct, owned) = {
        let mut tx = app.store.read().await?;
        let user = tx
            .get_user(id)
            .await?
            .ok_or_else(|| ApiError::not_found("user"))?;
        let direct = tx.groups_of_principal(id, Relation::Member).await?;
        let owned = tx.groups_of_principal(id, Relation::Owner).await?;
        (user, direct, owned)
    };
    let mut groups: Vec<GroupLine> = app
        .access
        .groups_of(id, now)
        .into_iter()
        .map(|g| GroupLine {
            direct: direct.contains(&g),
            group: principal_ref(app, g),
        })
        .collect();
    groups.sort_by(|a, b| {
        b.direct
            .cmp(&a.direct)
            .then_with(|| a.group.name.cmp(&b.group.name))
    });
    let roles = if viewer.can.read_role_assignments {
        let mut lines = Vec::new();
        for (kind, active) in [
            (ScheduleKind::Active, true),
            (ScheduleKind::Eligible, false),
        ] {
            let held = page(
                views::holdings(
                    app,
                    caller,
                    kind,
                    HoldingQuery {
                        targets: Targets::Roles,
                        principal_id: Some(id),
                        current_only: true,
                        ..Default::default()
                    },
                )
                .await,
            )?;
            for h in held {
                let role = h.schedule.role_definition_id;
                lines.push(RoleLine {
                    role_id: role,
                    role_name: app
                        .access
                        .role(role)
                        .map(|r| r.display_name)
                        .unwrap_or_else(|| role.to_string()),
                    active,
                    scope: h.schedule.directory_scope_id.clone(),
                    via: h.via_group.clone(),
                    end: h.schedule.end_date_time.map(Shown::of),
                });
            }
        }
        Some(lines)
    } else {
        None
    };
    let (edit_name, edit_enabled) =
        edit.unwrap_or_else(|| (user.display_name.clone(), user.account_enabled));
    Ok(UserPage {
        chrome: viewer.chrome(Section::Administration),
        created: Shown::of(user.created_date_time),
        user,
        groups,
        owned: owned.into_iter().map(|g| principal_ref(app, g)).collect(),
        roles,
        may_update: viewer.can.update_users,
        may_delete: viewer.can.delete_users,
        edit_name,
        edit_enabled,
        errors,
    })
}

pub async fn details(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    // The read decision (the reader lists; this page shows one user with groups and roles).
    directory::user_reader(&app, &viewer.caller)?;
    let id = path_id(&id, "user")?;
    Ok(render(
        &user_page(&app, &viewer, id, None, FieldErrors::new()).await?,
    ))
}

pub async fn update(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<EditForm>,
) -> PageResult<Response> {
    // The use case decides (and audits a refusal).
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "user")?;
    let name = form
        .display_name
        .clone()
        .unwrap_or_default()
        .trim()
        .to_string();
    let enabled = ticked(&form.enabled);
    let mut errors = FieldErrors::new();
    if name.is_empty() {
        errors.add("display_name", "Enter a display name.");
    }
    let current = app
        .store
        .read()
        .await?
        .get_user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if errors.is_empty() {
        // Only what changed is sent: disabling is protected for role holders, a new name is not.
        let patch = UserPatch {
            display_name: (name != current.display_name).then(|| name.clone()),
            account_enabled: (enabled != current.account_enabled).then_some(enabled),
            ..Default::default()
        };
        if patch.display_name.is_none() && patch.account_enabled.is_none() {
            return Ok(redirect_with(
                &app,
                &format!("/portal/admin/users/{id}"),
                Flash::info("Nothing was changed: the values are the ones already saved."),
            ));
        }
        match directory::update_user(&app, &viewer.caller, id, patch).await {
            Ok(user) => {
                let state = if user.account_enabled {
                    "enabled"
                } else {
                    "disabled"
                };
                return Ok(redirect_with(
                    &app,
                    &format!("/portal/admin/users/{id}"),
                    Flash::success(format!("Saved: {} ({state}).", user.display_name)),
                ));
            }
            Err(e) => absorb_input_error(e, &mut errors, USER_FIELDS)?,
        }
    }
    let page = user_page(&app, &viewer, id, Some((name, enabled)), errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Empty>,
) -> PageResult<Response> {
    let id = path_id(&id, "user")?;
    match directory::delete_user(&app, &posted.viewer.caller, id).await {
        Ok(()) => Ok(redirect_with(
            &app,
            "/portal/admin/users",
            Flash::success("The user was deleted."),
        )),
        Err(e) if e.status() == StatusCode::NOT_FOUND => Ok(redirect_with(
            &app,
            "/portal/admin/users",
            Flash::info("That user no longer exists; nothing was changed."),
        )),
        Err(e) => refused(e),
    }
}
