//! Groups: the list (search, paging, role-assignable badge), the create form, and one group's
//! page: properties, members (direct, and everyone inside with how they come), owners,
//! nesting, adding and removing members and owners, privileged access (PIM for Groups and the
//! roles the group carries, in `group_pim`) and provisioning.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::directory::{Group, PrincipalKind, Relation};
use eligo_store::GroupQuery;
use serde::Deserialize;
use uuid::Uuid;

use super::group_pim::{self, PimSection, PimValues};
use super::{
    ListQuery, Pager, PrincipalRef, Shown, absorb_input_error, page, path_id, principal_ref,
    refused, ticked,
};
use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::portal::admin::pim::window_form::WindowValues;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, redirect_with, render, render_status,
};
use crate::portal::picker;
use crate::portal::session::Viewer;
use crate::service::directory::{self, Kinds, NewGroup};

pub struct GroupRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub role_assignable: bool,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/groups.html")]
struct GroupsPage {
    chrome: Chrome,
    q: String,
    rows: Vec<GroupRow>,
    pager: Pager,
    may_create: bool,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/group_new.html")]
struct NewGroupPage {
    chrome: Chrome,
    display_name: String,
    description: String,
    mail_nickname: String,
    role_assignable: bool,
    errors: FieldErrors,
}

/// Someone inside the group, and how.
pub struct InsideLine {
    pub who: PrincipalRef,
    /// The groups between them and this one, outermost last excluded (empty: direct).
    pub through: Vec<PrincipalRef>,
    pub end: Option<Shown>,
}

pub struct OwnerLine {
    pub who: PrincipalRef,
    pub direct: bool,
}

pub struct MappingLine {
    pub connector: String,
    pub kind: String,
    pub target: String,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/group.html")]
struct GroupPage {
    chrome: Chrome,
    group: Group,
    created: Shown,
    members: Vec<PrincipalRef>,
    inside: Vec<InsideLine>,
    owners: Vec<OwnerLine>,
    contains: Vec<PrincipalRef>,
    member_of: Vec<PrincipalRef>,
    /// Privileged access: PIM for Groups and the roles the group carries.
    pim: PimSection,
    pim_form: PimValues,
    window: WindowValues,
    with_start: bool,
    /// None: the viewer may not read provisioning.
    mappings: Option<Vec<MappingLine>>,
    may_members: bool,
    may_owners: bool,
    member_input: String,
    owner_input: String,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct NewGroupForm {
    display_name: Option<String>,
    description: Option<String>,
    mail_nickname: Option<String>,
    role_assignable: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    relation: Option<String>,
    who: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    relation: Option<String>,
    principal: Option<String>,
}

const GROUP_FIELDS: &[(&str, &str, &str)] = &[
    ("displayName", "display_name", "Name"),
    ("description", "description", "Description"),
    ("mailNickname", "mail_nickname", "Mail nickname"),
    ("securityEnabled", "role_assignable", "Role-assignable"),
];

pub async fn list(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    let reader = directory::group_reader(&app, &viewer.caller)?;
    let search = q.search();
    let query = GroupQuery {
        display_name_prefix: search.clone(),
        ..Default::default()
    };
    let mut groups = reader.list(&query, q.store_page()).await?;
    let pager = Pager::cut("/portal/admin/groups", &q, &mut groups);
    Ok(render(&GroupsPage {
        may_create: viewer.can.create_groups || viewer.can.create_role_assignable_groups,
        chrome: viewer.chrome(Section::Administration),
        q: search.unwrap_or_default(),
        rows: groups
            .into_iter()
            .map(|g| GroupRow {
                id: g.id,
                name: g.display_name,
                description: g.description.unwrap_or_default(),
                role_assignable: g.is_assignable_to_role,
            })
            .collect(),
        pager,
    }))
}

pub async fn new_form(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    // Only those who may create some kind of group see the form (the use case decides which).
    directory::may_create_group(&app, &viewer.caller)?;
    Ok(render(&NewGroupPage {
        chrome: viewer.chrome(Section::Administration),
        display_name: String::new(),
        description: String::new(),
        mail_nickname: String::new(),
        role_assignable: false,
        errors: FieldErrors::new(),
    }))
}

fn text(v: &Option<String>) -> String {
    v.as_deref().unwrap_or("").trim().to_string()
}

pub async fn create(
    State(app): State<AppState>,
    posted: Posted<NewGroupForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    // The use case decides which kind of group the caller may create, and audits a refusal.
    let display_name = text(&form.display_name);
    let description = text(&form.description);
    let mail_nickname = text(&form.mail_nickname);
    let role_assignable = ticked(&form.role_assignable);
    let mut errors = FieldErrors::new();
    if display_name.is_empty() {
        errors.add("display_name", "Enter a name for the group.");
    }
    if errors.is_empty() {
        let new = NewGroup {
            display_name: display_name.clone(),
            description: (!description.is_empty()).then(|| description.clone()),
            mail_nickname: (!mail_nickname.is_empty()).then(|| mail_nickname.clone()),
            security_enabled: true,
            is_assignable_to_role: role_assignable,
        };
        match directory::create_group(&app, &viewer.caller, new).await {
            Ok(group) => {
                return Ok(redirect_with(
                    &app,
                    &format!("/portal/admin/groups/{}", group.id),
                    Flash::success(format!("The group {} was created.", group.display_name)),
                ));
            }
            Err(e) => absorb_input_error(e, &mut errors, GROUP_FIELDS)?,
        }
    }
    Ok(render_status(
        StatusCode::BAD_REQUEST,
        &NewGroupPage {
            chrome: viewer.chrome(Section::Administration),
            display_name,
            description,
            mail_nickname,
            role_assignable,
            errors,
        },
    ))
}

async fn group_page(
    app: &App,
    viewer: &Viewer,
    id: Uuid,
    inputs: (String, String),
    errors: FieldErrors,
) -> PageResult<GroupPage> {
    group_page_full(app, viewer, id, inputs, PimValues::default(), errors).await
}

/// The group's page with the privileged access form as typed (after a refusal).
pub(super) async fn group_page_with(
    app: &App,
    viewer: &Viewer,
    id: Uuid,
    pim_form: PimValues,
    errors: FieldErrors,
) -> PageResult<impl askama::Template> {
    group_page_full(app, viewer, id, Default::default(), pim_form, errors).await
}

async fn group_page_full(
    app: &App,
    viewer: &Viewer,
    id: Uuid,
    inputs: (String, String),
    pim_form: PimValues,
    errors: FieldErrors,
) -> PageResult<GroupPage> {
    let caller = &viewer.caller;
    let now = app.clock.now();
    let (group, direct, owners, direct_owners, member_of) = {
        let mut tx = app.store.read().await?;
        let group = tx
            .get_group(id)
            .await?
            .ok_or_else(|| ApiError::not_found("group"))?;
        let direct = tx.relations_of_group(id, Relation::Member).await?;
        let owners = page(directory::holders_of_group(&mut *tx, id, Relation::Owner, now).await)?;
        let direct_owners = tx.relations_of_group(id, Relation::Owner).await?;
        let member_of = tx.groups_of_principal(id, Relation::Member).await?;
        (group, direct, owners, direct_owners, member_of)
    };
    let members: Vec<PrincipalRef> = direct.iter().map(|m| principal_ref(app, *m)).collect();
    let contains: Vec<PrincipalRef> = direct
        .iter()
        .filter(|m| {
            app.access
                .principal(**m)
                .is_some_and(|(k, _)| k == PrincipalKind::Group)
        })
        .map(|m| principal_ref(app, *m))
        .collect();
    let group_key = id.to_string();
    let mut inside: Vec<InsideLine> = app
        .access
        .members_of(id, now)
        .into_iter()
        .filter_map(|m| {
            let who = Uuid::parse_str(&m.principal).ok()?;
            let through = m
                .via
                .iter()
                .filter(|g| **g != group_key)
                .filter_map(|g| Uuid::parse_str(g).ok())
                .map(|g| principal_ref(app, g))
                .collect();
            Some(InsideLine {
                who: principal_ref(app, who),
                through,
                end: m.end.map(Shown::of),
            })
        })
        .collect();
    inside.sort_by(|a, b| {
        a.through
            .len()
            .cmp(&b.through.len())
            .then_with(|| a.who.name.cmp(&b.who.name))
    });
    let may_members = directory::may_change_relation(app, caller, &group, Relation::Member);
    let may_owners = directory::may_change_relation(app, caller, &group, Relation::Owner);
    let pim = group_pim::section(app, viewer, &group, may_members, may_owners).await?;
    let mappings = if viewer.can.read_provisioning {
        let mut tx = app.store.read().await?;
        let rows = tx.list_mappings(Some(id), None).await?;
        let connectors = if rows.is_empty() {
            Vec::new()
        } else {
            tx.list_connectors().await?
        };
        Some(
            rows.into_iter()
                .map(|m| {
                    let c = connectors.iter().find(|c| c.id == m.connector_id);
                    MappingLine {
                        connector: c
                            .map(|c| c.display_name.clone())
                            .unwrap_or_else(|| m.connector_id.to_string()),
                        kind: c.map(|c| c.kind.clone()).unwrap_or_default(),
                        target: m.target,
                    }
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(GroupPage {
        chrome: viewer.chrome(Section::Administration),
        created: Shown::of(group.created_date_time),
        // Which forms to show; the use case decides for real.
        may_members,
        may_owners,
        members,
        inside,
        owners: owners
            .into_iter()
            .map(|o| OwnerLine {
                direct: direct_owners.contains(&o),
                who: principal_ref(app, o),
            })
            .collect(),
        contains,
        member_of: member_of
            .into_iter()
            .map(|g| principal_ref(app, g))
            .collect(),
        pim,
        window: pim_form.window.clone(),
        with_start: true,
        pim_form,
        mappings,
        group,
        member_input: inputs.0,
        owner_input: inputs.1,
        errors,
    })
}

pub async fn details(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    // The read decision (the reader lists; this page shows one group with everything around it).
    directory::group_reader(&app, &viewer.caller)?;
    let id = path_id(&id, "group")?;
    Ok(render(
        &group_page(&app, &viewer, id, Default::default(), FieldErrors::new()).await?,
    ))
}

fn relation_of(raw: Option<&str>) -> PageResult<Relation> {
    match raw.map(str::trim) {
        Some("member") => Ok(Relation::Member),
        Some("owner") => Ok(Relation::Owner),
        _ => refused(ApiError::bad_request(
            "Request_BadRequest",
            "the form did not say whether to change members or owners; reload the page and try again",
        )),
    }
}

/// Who the text typed into "Add member/owner" names (see `picker::resolve`); an error in
/// words for the field.
async fn resolve(app: &App, viewer: &Viewer, typed: &str) -> PageResult<Result<Uuid, String>> {
    let listable = directory::listable(app, &viewer.caller, Kinds::ALL);
    let mut tx = app.store.read().await?;
    Ok(picker::resolve(&mut *tx, typed, Kinds::ALL, listable)
        .await?
        .map(|c| c.id))
}

pub async fn add(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<AddForm>,
) -> PageResult<Response> {
    // The use case decides (owners manage their group's members and owners; a refusal is
    // audited); the form lives on the group's page.
    let Posted { viewer, form } = posted;
    let group = path_id(&id, "group")?;
    let relation = relation_of(form.relation.as_deref())?;
    let field = relation.as_str();
    let typed = text(&form.who);
    let mut errors = FieldErrors::new();
    match resolve(&app, &viewer, &typed).await? {
        Err(message) => errors.add(field, message),
        Ok(principal) => {
            match directory::add_relation(&app, &viewer.caller, group, principal, relation).await {
                Ok(()) => {
                    let who = principal_ref(&app, principal);
                    return Ok(redirect_with(
                        &app,
                        &format!("/portal/admin/groups/{group}"),
                        Flash::success(format!(
                            "{} is now {} of this group.",
                            who.name,
                            match relation {
                                Relation::Member => "a member",
                                Relation::Owner => "an owner",
                            }
                        )),
                    ));
                }
                Err(e)
                    if e.status() == StatusCode::BAD_REQUEST
                        && e.details.iter().any(|d| d.code == "ObjectConflict") =>
                {
                    let who = principal_ref(&app, principal);
                    errors.add(
                        field,
                        format!(
                            "{} is already {} of this group; nothing was changed.",
                            who.name,
                            match relation {
                                Relation::Member => "a member",
                                Relation::Owner => "an owner",
                            }
                        ),
                    );
                }
                Err(e) if e.status() == StatusCode::BAD_REQUEST => {
                    let message = e.message.strip_prefix("id: ").unwrap_or(&e.message);
                    let mut chars = message.chars();
                    let first = chars.next().map(|c| c.to_uppercase().to_string());
                    errors.add(
                        field,
                        format!("{}{}.", first.unwrap_or_default(), chars.as_str()),
                    );
                }
                Err(e) => return refused(e),
            }
        }
    }
    let inputs = match relation {
        Relation::Member => (typed, String::new()),
        Relation::Owner => (String::new(), typed),
    };
    let page = group_page(&app, &viewer, group, inputs, errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

pub async fn remove(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<RemoveForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let group = path_id(&id, "group")?;
    let relation = relation_of(form.relation.as_deref())?;
    let principal = path_id(form.principal.as_deref().unwrap_or(""), "principal")?;
    let back = format!("/portal/admin/groups/{group}");
    let who = principal_ref(&app, principal);
    let role = match relation {
        Relation::Member => "a member",
        Relation::Owner => "an owner",
    };
    match directory::remove_relation(&app, &viewer.caller, group, principal, relation).await {
        Ok(()) => Ok(redirect_with(
            &app,
            &back,
            Flash::success(format!("{} is no longer {role} of this group.", who.name)),
        )),
        Err(e) if e.status() == StatusCode::NOT_FOUND && app.access.principal(group).is_some() => {
            Ok(redirect_with(
                &app,
                &back,
                Flash::info(format!(
                    "{} was not {role} of this group (any more); nothing was changed.",
                    who.name
                )),
            ))
        }
        Err(e) => refused(e),
    }
}
