//! Service principals: the list, creating one (its client secret is shown once, on the result
//! page) and deleting one.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::{ListQuery, Pager, Shown, absorb_input_error, path_id, refused};
use crate::app::{App, AppState};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, redirect_with, render, render_status,
};
use crate::portal::session::Viewer;
use crate::service::directory;

pub struct SpRow {
    pub id: Uuid,
    pub name: String,
    pub app_id: Uuid,
    pub enabled: bool,
    pub created: Shown,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/service_principals.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<SpRow>,
    pager: Pager,
    may_create: bool,
    may_delete: bool,
    display_name: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "portal/admin/directory/service_principal_created.html")]
struct CreatedPage {
    chrome: Chrome,
    name: String,
    id: Uuid,
    app_id: Uuid,
    secret: String,
}

#[derive(Debug, Deserialize)]
pub struct NewForm {
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

async fn list_page(
    app: &App,
    viewer: &Viewer,
    q: &ListQuery,
    display_name: String,
    errors: FieldErrors,
) -> PageResult<ListPage> {
    let mut rows = directory::service_principal_reader(app, &viewer.caller)?
        .list(q.store_page())
        .await?;
    let pager = Pager::cut("/portal/admin/service-principals", q, &mut rows);
    Ok(ListPage {
        chrome: viewer.chrome(Section::Administration),
        rows: rows
            .into_iter()
            .map(|sp| SpRow {
                id: sp.id,
                name: sp.display_name,
                app_id: sp.app_id,
                enabled: sp.account_enabled,
                created: Shown::of(sp.created_date_time),
            })
            .collect(),
        pager,
        may_create: viewer.can.create_service_principals,
        may_delete: viewer.can.delete_service_principals,
        display_name,
        errors,
    })
}

pub async fn list(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    let page = list_page(&app, &viewer, &q, String::new(), FieldErrors::new()).await?;
    Ok(render(&page))
}

pub async fn create(State(app): State<AppState>, posted: Posted<NewForm>) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let name = form.display_name.unwrap_or_default().trim().to_string();
    let mut errors = FieldErrors::new();
    if name.is_empty() {
        errors.add("display_name", "Enter a name for the service principal.");
    } else {
        match directory::create_service_principal(&app, &viewer.caller, name.clone()).await {
            Ok((sp, secret)) => {
                // Shown once, here: not a redirect, so the secret never travels in a cookie
                // or a URL, and the page is not stored (no-store).
                return Ok(render(&CreatedPage {
                    chrome: viewer.chrome(Section::Administration),
                    name: sp.display_name,
                    id: sp.id,
                    app_id: sp.app_id,
                    secret,
                }));
            }
            Err(e) => {
                absorb_input_error(e, &mut errors, &[("displayName", "display_name", "Name")])?
            }
        }
    }
    let page = list_page(&app, &viewer, &ListQuery::default(), name, errors).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Empty>,
) -> PageResult<Response> {
    let id = path_id(&id, "service principal")?;
    match directory::delete_service_principal(&app, &posted.viewer.caller, id).await {
        Ok(()) => Ok(redirect_with(
            &app,
            "/portal/admin/service-principals",
            Flash::success("The service principal was deleted; its secret no longer works."),
        )),
        Err(e) if e.status() == StatusCode::NOT_FOUND => Ok(redirect_with(
            &app,
            "/portal/admin/service-principals",
            Flash::info("That service principal no longer exists; nothing was changed."),
        )),
        Err(e) => refused(e),
    }
}
