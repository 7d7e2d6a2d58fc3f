//! The package page's forms that change what it hands out and what it excludes: add or remove
//! a resource role (one of its catalog's), declare or withdraw an incompatible package or
//! group. Each posts to `service::entitlement::packages`; a refusal about the input comes back
//! on the package's page under the form's field.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::packages::{Inputs, back, package_page};
use super::{absorb, text};
use crate::portal::admin::directory::path_id;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{FieldErrors, PageResult, redirect_with, render_status};
use crate::portal::picker;
use crate::service::directory::{self, Kinds};
use crate::service::entitlement::packages::{self, Incompatible, RoleScopeRequest};

use crate::app::AppState;

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RemoveRoleForm {
    role_scope: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct IncompatibleForm {
    /// `package` (with `other`) or `group` (with `who`, or `other` when removing).
    kind: Option<String>,
    other: Option<String>,
    who: Option<String>,
}

pub async fn add_role(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<RoleForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "access package")?;
    let mut errors = FieldErrors::new();
    match Uuid::parse_str(&text(&form.role)) {
        Err(_) => errors.add("role", "Choose a role of the catalog's resources."),
        Ok(role) => {
            let req = RoleScopeRequest {
                role_id: Some(role),
                ..Default::default()
            };
            match packages::add_role_scope(&app, &viewer.caller, Ok(id), req).await {
                Ok(v) => {
                    let resource = v.resource.map(|r| r.display_name).unwrap_or_default();
                    return Ok(redirect_with(
                        &app,
                        &back(id),
                        Flash::success(format!(
                            "The package now gives {} of {resource}.",
                            v.role.display_name
                        )),
                    ));
                }
                Err(e) => absorb(e, &mut errors, |_| {
                    Some(("role".to_string(), "Resource role".to_string()))
                })?,
            }
        }
    }
    let page = package_page(&app, &viewer, id, Inputs::default(), errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

pub async fn remove_role(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<RemoveRoleForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "access package")?;
    packages::remove_role_scope(&app, &viewer.caller, Ok(id), &text(&form.role_scope)).await?;
    Ok(redirect_with(
        &app,
        &back(id),
        Flash::success(
            "The role was removed from the package; assignments keep what they were given until they end.",
        ),
    ))
}

pub async fn add_incompatible(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<IncompatibleForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "access package")?;
    let mut errors = FieldErrors::new();
    let typed = text(&form.who);
    let other = if form.kind.as_deref() == Some("group") {
        let listable = directory::listable(&app, &viewer.caller, Kinds::GROUPS);
        let mut tx = app.store.read().await?;
        match picker::resolve(&mut *tx, &typed, Kinds::GROUPS, listable).await? {
            Ok(c) => Some(Incompatible::Group(c.id)),
            Err(message) => {
                errors.add("incompatible_group", message);
                None
            }
        }
    } else {
        match Uuid::parse_str(&text(&form.other)) {
            Ok(p) => Some(Incompatible::Package(p)),
            Err(_) => {
                errors.add("incompatible_package", "Choose an access package.");
                None
            }
        }
    };
    if let Some(other) = other {
        let field = match other {
            Incompatible::Group(_) => "incompatible_group",
            Incompatible::Package(_) => "incompatible_package",
        };
        match packages::incompatible(&app, &viewer.caller, Ok(id), Ok(other), true).await {
            Ok(()) => {
                return Ok(redirect_with(
                    &app,
                    &back(id),
                    Flash::success("The incompatibility was declared; it holds both ways."),
                ));
            }
            Err(e) => absorb(e, &mut errors, |_| {
                Some((field.to_string(), "Incompatible".to_string()))
            })?,
        }
    }
    let inputs = Inputs {
        group: typed,
        ..Default::default()
    };
    let page = package_page(&app, &viewer, id, inputs, errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

pub async fn remove_incompatible(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<IncompatibleForm>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let id = path_id(&id, "access package")?;
    let other = path_id(&text(&form.other), "incompatibility")?;
    let other = if form.kind.as_deref() == Some("group") {
        Incompatible::Group(other)
    } else {
        Incompatible::Package(other)
    };
    packages::incompatible(&app, &viewer.caller, Ok(id), Ok(other), false).await?;
    Ok(redirect_with(
        &app,
        &back(id),
        Flash::success("The incompatibility was withdrawn."),
    ))
}
