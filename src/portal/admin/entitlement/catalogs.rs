//! Catalogs: the list with a create form, one catalog's page (edit, delete, its resources with
//! add and remove, its packages). Each change goes through `service::entitlement::catalogs`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::entitlement::catalog::Catalog;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::resource::{OriginSystem, Resource};
use eligo_core::target::is_reserved_role_id;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{absorb, body, fixed, reader, text};
use crate::app::{App, AppState};
use crate::portal::admin::directory::path_id;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageError, PageResult, Section, redirect_with, render, render_status,
};
use crate::portal::picker;
use crate::portal::session::Viewer;
use crate::service::directory::{self, Kinds};
use crate::service::entitlement::catalogs::{self, ResourceRequest};

#[derive(Template)]
#[template(path = "portal/admin/entitlement/catalogs.html")]
struct CatalogsPage {
    chrome: Chrome,
    catalogs: Vec<Catalog>,
    may_manage: bool,
    name: String,
    description: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "portal/admin/entitlement/catalog.html")]
struct CatalogPage {
    chrome: Chrome,
    catalog: Catalog,
    resources: Vec<Resource>,
    packages: Vec<AccessPackage>,
    /// Directory roles to add (id, name).
    roles: Vec<(Uuid, String)>,
    may_manage: bool,
    name: String,
    description: String,
    group_input: String,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct CatalogForm {
    display_name: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ResourceForm {
    /// `group` (with `who`) or `role` (with `role`).
    kind: Option<String>,
    who: Option<String>,
    role: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    system: Option<String>,
    origin: Option<String>,
}

const FIELDS: &[(&str, &str, &str)] = &[
    ("displayName", "display_name", "Name"),
    ("description", "description", "Description"),
    ("resource", "who", "Resource"),
];

fn catalog_body(form: &CatalogForm) -> serde_json::Value {
    let description = text(&form.description);
    body(vec![
        ("displayName", Some(json!(text(&form.display_name)))),
        // Empty clears it (null), as in Graph.
        (
            "description",
            Some(if description.is_empty() {
                serde_json::Value::Null
            } else {
                json!(description)
            }),
        ),
    ])
}

async fn list_page(
    app: &App,
    viewer: &Viewer,
    form: Option<&CatalogForm>,
    errors: FieldErrors,
) -> PageResult<CatalogsPage> {
    let mut catalogs = reader(app, viewer)?.catalogs().await?;
    catalogs.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    Ok(CatalogsPage {
        chrome: viewer.chrome(Section::AccessPackages),
        catalogs,
        may_manage: viewer.can.manage_entitlement,
        name: form.map(|f| text(&f.display_name)).unwrap_or_default(),
        description: form.map(|f| text(&f.description)).unwrap_or_default(),
        errors,
    })
}

pub async fn list(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    Ok(render(
        &list_page(&app, &viewer, None, FieldErrors::new()).await?,
    ))
}

pub async fn create(
    State(app): State<AppState>,
    posted: Posted<CatalogForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let mut errors = FieldErrors::new();
    match catalogs::create(&app, &viewer.caller, catalog_body(&form)).await {
        Ok(c) => {
            return Ok(redirect_with(
                &app,
                &format!("/portal/admin/entitlement/catalogs/{}", c.id),
                Flash::success(format!("The catalog {} was created.", c.display_name)),
            ));
        }
        Err(e) => absorb(e, &mut errors, fixed(FIELDS))?,
    }
    let page = list_page(&app, &viewer, Some(&form), errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

async fn catalog_page(
    app: &App,
    viewer: &Viewer,
    id: Uuid,
    form: Option<&CatalogForm>,
    group_input: String,
    errors: FieldErrors,
) -> PageResult<CatalogPage> {
    let r = reader(app, viewer)?;
    let catalog = r.catalog(id).await?;
    let resources = r.resources(id).await?;
    let packages = r.packages(Some(id)).await?;
    let roles = if viewer.can.manage_entitlement {
        let mut tx = app.store.read().await?;
        let mut roles: Vec<(Uuid, String)> = tx
            .list_role_definitions(&Default::default())
            .await?
            .into_iter()
            .filter(|r| !is_reserved_role_id(r.id))
            .map(|r| (r.id, r.display_name))
            .collect();
        roles.sort_by(|a, b| a.1.cmp(&b.1));
        roles
    } else {
        Vec::new()
    };
    Ok(CatalogPage {
        chrome: viewer.chrome(Section::AccessPackages),
        name: form
            .map(|f| text(&f.display_name))
            .unwrap_or_else(|| catalog.display_name.clone()),
        description: form
            .map(|f| text(&f.description))
            .unwrap_or_else(|| catalog.description.clone().unwrap_or_default()),
        catalog,
        resources,
        packages,
        roles,
        may_manage: viewer.can.manage_entitlement,
        group_input,
        errors,
    })
}

pub async fn details(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = path_id(&id, "catalog")?;
    Ok(render(
        &catalog_page(&app, &viewer, id, None, String::new(), FieldErrors::new()).await?,
    ))
}

fn back(id: Uuid) -> String {
    format!("/portal/admin/entitlement/catalogs/{id}")
}

pub async fn update(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<CatalogForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "catalog")?;
    let mut errors = FieldErrors::new();
    match catalogs::update(&app, &viewer.caller, Ok(id), catalog_body(&form)).await {
        Ok(c) => {
            return Ok(redirect_with(
                &app,
                &back(id),
                Flash::success(format!("The catalog {} was saved.", c.display_name)),
            ));
        }
        Err(e) => absorb(e, &mut errors, fixed(FIELDS))?,
    }
    let page = catalog_page(&app, &viewer, id, Some(&form), String::new(), errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Empty>,
) -> PageResult<Response> {
    let viewer = posted.viewer;
    let id = path_id(&id, "catalog")?;
    match catalogs::delete(&app, &viewer.caller, Ok(id)).await {
        Ok(()) => Ok(redirect_with(
            &app,
            "/portal/admin/entitlement/catalogs",
            Flash::success("The catalog was deleted."),
        )),
        Err(e) if e.status() == StatusCode::CONFLICT => Ok(redirect_with(
            &app,
            &back(id),
            Flash::warning(format!(
                "The catalog was not deleted: {}.",
                e.message.trim_end_matches('.')
            )),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn add_resource(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<ResourceForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "catalog")?;
    let typed = text(&form.who);
    let mut errors = FieldErrors::new();
    let origin = match form.kind.as_deref().map(str::trim) {
        Some("role") => match Uuid::parse_str(text(&form.role).as_str()) {
            Ok(role) => Some((OriginSystem::DirectoryRole, role)),
            Err(_) => {
                errors.add("role", "Choose a directory role.");
                None
            }
        },
        _ => {
            let listable = directory::listable(&app, &viewer.caller, Kinds::GROUPS);
            let mut tx = app.store.read().await?;
            match picker::resolve(&mut *tx, &typed, Kinds::GROUPS, listable).await? {
                Ok(c) => Some((OriginSystem::AadGroup, c.id)),
                Err(message) => {
                    errors.add("who", message);
                    None
                }
            }
        }
    };
    if let Some((system, origin)) = origin {
        let req = ResourceRequest {
            add: true,
            catalog: id,
            origin_system: system,
            origin_id: origin.to_string(),
        };
        let field = match system {
            OriginSystem::AadGroup => "who",
            OriginSystem::DirectoryRole => "role",
        };
        match catalogs::request(&app, &viewer.caller, req).await {
            Ok(r) => {
                return Ok(redirect_with(
                    &app,
                    &back(id),
                    Flash::success(format!("{} was added to the catalog.", r.display_name)),
                ));
            }
            Err(e) => absorb(e, &mut errors, |t| {
                t.starts_with("resource")
                    .then(|| (field.to_string(), "Resource".to_string()))
            })?,
        }
    }
    let page = catalog_page(&app, &viewer, id, None, typed, errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

pub async fn remove_resource(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<RemoveForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "catalog")?;
    let system = match form.system.as_deref() {
        Some("DirectoryRole") => OriginSystem::DirectoryRole,
        _ => OriginSystem::AadGroup,
    };
    let req = ResourceRequest {
        add: false,
        catalog: id,
        origin_system: system,
        origin_id: text(&form.origin),
    };
    match catalogs::request(&app, &viewer.caller, req).await {
        Ok(r) => Ok(redirect_with(
            &app,
            &back(id),
            Flash::success(format!("{} was removed from the catalog.", r.display_name)),
        )),
        Err(e) if e.status() == StatusCode::CONFLICT => Ok(redirect_with(
            &app,
            &back(id),
            Flash::warning(format!(
                "Nothing was removed: {}.",
                e.message.trim_end_matches('.')
            )),
        )),
        Err(e) => Err(PageError::from(e)),
    }
}
