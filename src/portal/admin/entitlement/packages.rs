//! Access packages: the list with a create form, and one package's page: its properties
//! (edit, delete), resource roles, separation-of-duties rules with the conflict report, and
//! its policies. Changes go through `service::entitlement::packages`; the resource role and
//! incompatibility forms post to `roles`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use eligo_core::directory::Group;
use eligo_core::entitlement::catalog::Catalog;
use eligo_core::entitlement::package::AccessPackage;
use eligo_core::entitlement::policy::AssignmentPolicy;
use eligo_core::entitlement::resource::ResourceRole;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{absorb, body, fixed, reader, text};
use crate::app::{App, AppState};
use crate::portal::admin::directory::{path_id, ticked};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, redirect_with, render, render_status,
};
use crate::portal::session::Viewer;
use crate::service::entitlement::packages::{self, RoleScopeView};
use crate::service::separation::ReportRow;

pub struct PackageRow {
    pub package: AccessPackage,
    pub catalog: String,
}

#[derive(Template)]
#[template(path = "portal/admin/entitlement/packages.html")]
struct PackagesPage {
    chrome: Chrome,
    rows: Vec<PackageRow>,
    catalogs: Vec<Catalog>,
    may_manage: bool,
    catalog: String,
    name: String,
    description: String,
    hidden: bool,
    errors: FieldErrors,
}

/// What the package page's forms were filled with (after a refusal: as typed).
#[derive(Default)]
pub struct Inputs {
    pub name: Option<String>,
    pub description: Option<String>,
    pub hidden: Option<bool>,
    pub group: String,
}

#[derive(Template)]
#[template(path = "portal/admin/entitlement/package.html")]
pub struct PackagePage {
    chrome: Chrome,
    package: AccessPackage,
    catalog: Catalog,
    role_scopes: Vec<RoleScopeView>,
    /// The catalog's roles that are not in the package yet: id and "Member of Auditors".
    offered: Vec<(Uuid, String)>,
    incompatible_packages: Vec<AccessPackage>,
    /// Packages that declared this one incompatible.
    declared_by: Vec<AccessPackage>,
    incompatible_groups: Vec<Group>,
    /// Every other package, for the incompatible-package choice.
    others: Vec<AccessPackage>,
    report: Vec<ReportRow>,
    policies: Vec<AssignmentPolicy>,
    may_manage: bool,
    name: String,
    description: String,
    hidden: bool,
    group_input: String,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct PackageForm {
    catalog: Option<String>,
    display_name: Option<String>,
    description: Option<String>,
    hidden: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    catalog: Option<String>,
}

const FIELDS: &[(&str, &str, &str)] = &[
    ("displayName", "display_name", "Name"),
    ("description", "description", "Description"),
    ("isHidden", "hidden", "Hidden"),
    ("catalog", "catalog", "Catalog"),
];

fn package_body(form: &PackageForm, with_catalog: bool) -> serde_json::Value {
    let description = text(&form.description);
    let catalog = text(&form.catalog);
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
        ("isHidden", Some(json!(ticked(&form.hidden)))),
        ("catalog", with_catalog.then(|| json!({ "id": catalog }))),
    ])
}

async fn list_page(
    app: &App,
    viewer: &Viewer,
    form: Option<&PackageForm>,
    catalog: String,
    errors: FieldErrors,
) -> PageResult<PackagesPage> {
    let r = reader(app, viewer)?;
    let mut catalogs = r.catalogs().await?;
    catalogs.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    let mut rows: Vec<PackageRow> = r
        .packages(None)
        .await?
        .into_iter()
        .map(|p| PackageRow {
            catalog: catalogs
                .iter()
                .find(|c| c.id == p.catalog_id)
                .map(|c| c.display_name.clone())
                .unwrap_or_default(),
            package: p,
        })
        .collect();
    rows.sort_by(|a, b| a.package.display_name.cmp(&b.package.display_name));
    Ok(PackagesPage {
        chrome: viewer.chrome(Section::AccessPackages),
        rows,
        catalogs,
        may_manage: viewer.can.manage_entitlement,
        catalog,
        name: form.map(|f| text(&f.display_name)).unwrap_or_default(),
        description: form.map(|f| text(&f.description)).unwrap_or_default(),
        hidden: form.is_some_and(|f| ticked(&f.hidden)),
        errors,
    })
}

pub async fn list(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    let catalog = text(&q.catalog);
    Ok(render(
        &list_page(&app, &viewer, None, catalog, FieldErrors::new()).await?,
    ))
}

pub async fn create(
    State(app): State<AppState>,
    posted: Posted<PackageForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let mut errors = FieldErrors::new();
    match packages::create(&app, &viewer.caller, package_body(&form, true)).await {
        Ok(p) => {
            return Ok(redirect_with(
                &app,
                &format!("/portal/admin/entitlement/packages/{}", p.id),
                Flash::success(format!(
                    "The access package {} was created.",
                    p.display_name
                )),
            ));
        }
        Err(e) => absorb(e, &mut errors, fixed(FIELDS))?,
    }
    let catalog = text(&form.catalog);
    let page = list_page(&app, &viewer, Some(&form), catalog, errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

/// The package's page, its forms filled with `inputs`.
pub async fn package_page(
    app: &App,
    viewer: &Viewer,
    id: Uuid,
    inputs: Inputs,
    errors: FieldErrors,
) -> PageResult<PackagePage> {
    let r = reader(app, viewer)?;
    let package = r.package(id).await?;
    let catalog = r.catalog(package.catalog_id).await?;
    let role_scopes = r.role_scopes(id).await?;
    let resources = r.resources(catalog.id).await?;
    let mut offered: Vec<(Uuid, String)> = r
        .resource_roles(catalog.id)
        .await?
        .into_iter()
        .filter(|role| !role_scopes.iter().any(|s| s.role.id == role.id))
        .map(|role: ResourceRole| {
            let of = resources
                .iter()
                .find(|x| x.id == role.resource_id)
                .map(|x| x.display_name.clone())
                .unwrap_or_else(|| role.origin_id.clone());
            (role.id, format!("{} of {of}", role.display_name))
        })
        .collect();
    offered.sort_by(|a, b| a.1.cmp(&b.1));
    let incompatible_packages = r.incompatible_packages(id, false).await?;
    let declared_by = r.incompatible_packages(id, true).await?;
    let incompatible_groups = r.incompatible_groups(id).await?;
    let mut others: Vec<AccessPackage> = r
        .packages(None)
        .await?
        .into_iter()
        .filter(|p| p.id != id && !incompatible_packages.iter().any(|i| i.id == p.id))
        .collect();
    others.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    let report = r.incompatibility_report(id).await?;
    let policies = r.policies(Some(id)).await?;
    Ok(PackagePage {
        chrome: viewer.chrome(Section::AccessPackages),
        name: inputs.name.unwrap_or_else(|| package.display_name.clone()),
        description: inputs
            .description
            .unwrap_or_else(|| package.description.clone().unwrap_or_default()),
        hidden: inputs.hidden.unwrap_or(package.is_hidden),
        group_input: inputs.group,
        package,
        catalog,
        role_scopes,
        offered,
        incompatible_packages,
        declared_by,
        incompatible_groups,
        others,
        report,
        policies,
        may_manage: viewer.can.manage_entitlement,
        errors,
    })
}

pub async fn details(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = path_id(&id, "access package")?;
    Ok(render(
        &package_page(&app, &viewer, id, Inputs::default(), FieldErrors::new()).await?,
    ))
}

pub fn back(id: Uuid) -> String {
    format!("/portal/admin/entitlement/packages/{id}")
}

pub async fn update(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<PackageForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "access package")?;
    let mut errors = FieldErrors::new();
    match packages::update(&app, &viewer.caller, Ok(id), package_body(&form, false)).await {
        Ok(p) => {
            return Ok(redirect_with(
                &app,
                &back(id),
                Flash::success(format!("The access package {} was saved.", p.display_name)),
            ));
        }
        Err(e) => absorb(e, &mut errors, fixed(FIELDS))?,
    }
    let inputs = Inputs {
        name: Some(text(&form.display_name)),
        description: Some(text(&form.description)),
        hidden: Some(ticked(&form.hidden)),
        group: String::new(),
    };
    let page = package_page(&app, &viewer, id, inputs, errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

/// Refused in a sentence while assignments live (409): nothing is deleted.
pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Empty>,
) -> PageResult<Response> {
    let viewer = posted.viewer;
    let id = path_id(&id, "access package")?;
    match packages::delete(&app, &viewer.caller, Ok(id)).await {
        Ok(()) => Ok(redirect_with(
            &app,
            "/portal/admin/entitlement/packages",
            Flash::success("The access package was deleted."),
        )),
        Err(e) if e.status() == StatusCode::CONFLICT => Ok(redirect_with(
            &app,
            &back(id),
            Flash::warning(format!(
                "The access package was not deleted: {}.",
                e.message.trim_end_matches('.')
            )),
        )),
        Err(e) => Err(e.into()),
    }
}
