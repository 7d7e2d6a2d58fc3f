//! Administration of entitlement management: catalogs and their resources, access packages
//! with their resource roles and separation-of-duties rules, assignment policies (every setting
//! in one form), and a package's assignments with its request history. Every page reads
//! through `service::entitlement::reader` (the read decision), every form posts to the same
//! use case as the API with the viewer as caller, so the portal can do nothing the API refuses;
//! `Viewer::can` only decides which buttons show.

pub mod assignments;
pub mod catalogs;
pub mod packages;
pub mod policies;
pub mod policy_form;
pub mod roles;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use serde_json::{Map, Value};

use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::portal::page::{FieldErrors, PageResult};
use crate::portal::session::Viewer;
use crate::service::entitlement::{self, Reader};

pub const BASE: &str = "/portal/admin/entitlement";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            BASE,
            get(|| async { Redirect::to("/portal/admin/entitlement/packages") }),
        )
        .route(
            "/portal/admin/entitlement/catalogs",
            get(catalogs::list).post(catalogs::create),
        )
        .route(
            "/portal/admin/entitlement/catalogs/{id}",
            get(catalogs::details).post(catalogs::update),
        )
        .route(
            "/portal/admin/entitlement/catalogs/{id}/delete",
            post(catalogs::delete),
        )
        .route(
            "/portal/admin/entitlement/catalogs/{id}/resources",
            post(catalogs::add_resource),
        )
        .route(
            "/portal/admin/entitlement/catalogs/{id}/resources/remove",
            post(catalogs::remove_resource),
        )
        .route(
            "/portal/admin/entitlement/packages",
            get(packages::list).post(packages::create),
        )
        .route(
            "/portal/admin/entitlement/packages/{id}",
            get(packages::details).post(packages::update),
        )
        .route(
            "/portal/admin/entitlement/packages/{id}/delete",
            post(packages::delete),
        )
        .route(
            "/portal/admin/entitlement/packages/{id}/roles",
            post(roles::add_role),
        )
        .route(
            "/portal/admin/entitlement/packages/{id}/roles/remove",
            post(roles::remove_role),
        )
        .route(
            "/portal/admin/entitlement/packages/{id}/incompatible",
            post(roles::add_incompatible),
        )
        .route(
            "/portal/admin/entitlement/packages/{id}/incompatible/remove",
            post(roles::remove_incompatible),
        )
        .route(
            "/portal/admin/entitlement/packages/{id}/policies",
            get(policies::new_form).post(policies::create),
        )
        .route(
            "/portal/admin/entitlement/policies/{id}",
            get(policies::edit).post(policies::save),
        )
        .route(
            "/portal/admin/entitlement/policies/{id}/delete",
            post(policies::delete),
        )
        .route(
            "/portal/admin/entitlement/packages/{id}/assignments",
            get(assignments::page).post(assignments::add),
        )
        .route(
            "/portal/admin/entitlement/packages/{id}/assignments/remove",
            post(assignments::remove),
        )
}

/// The read decision of every page here.
pub fn reader<'a>(app: &'a App, viewer: &Viewer) -> PageResult<Reader<'a>> {
    Ok(entitlement::reader(app, &viewer.caller)?)
}

/// A form's text field, trimmed.
pub fn text(v: &Option<String>) -> String {
    v.as_deref().unwrap_or("").trim().to_string()
}

/// A Graph body from pairs, leaving out what is None.
pub fn body(pairs: Vec<(&str, Option<Value>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

/// Files a refusal under the form's fields. `field_of` maps an API target (a detail's path)
/// to the form field and its label; a refusal that is not about the input (403, 404, a
/// failure) comes back to be shown as an error page.
pub fn absorb(
    err: ApiError,
    errors: &mut FieldErrors,
    field_of: impl Fn(&str) -> Option<(String, String)>,
) -> Result<(), ApiError> {
    use axum::http::StatusCode;
    if !(err.status() == StatusCode::BAD_REQUEST || err.status() == StatusCode::CONFLICT) {
        return Err(err);
    }
    let mut placed = false;
    for d in &err.details {
        let message = if d.message.is_empty() {
            err.message.clone()
        } else {
            d.message.clone()
        };
        if let Some((field, label)) = field_of(&d.target) {
            errors.add(&field, format!("{label}: {message}"));
            placed = true;
        } else {
            errors.add_general(message);
        }
    }
    if !placed && err.details.is_empty() {
        errors.add_general(err.message);
    }
    Ok(())
}

/// `field_of` for a fixed list of (API target or its first segment, field, label).
pub fn fixed<'a>(
    fields: &'a [(&'a str, &'a str, &'a str)],
) -> impl Fn(&str) -> Option<(String, String)> + 'a {
    move |target| {
        fields
            .iter()
            .find(|(t, _, _)| target == *t || target.starts_with(&format!("{t}.")))
            .map(|(_, f, l)| (f.to_string(), l.to_string()))
    }
}
