//! Remove access (a `userRemove` of an assignment the viewer holds, after a confirmation page
//! that works without JavaScript) and Cancel (a request for or by the viewer still waiting),
//! through the API's use cases with the viewer as caller.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::form::Fields;
use super::parse_id;
use crate::app::AppState;
use crate::error::ApiError;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{Chrome, PageError, PageResult, Section, redirect_with, render};
use crate::portal::session::Viewer;
use crate::service::entitlement::{assignments, mine};

#[derive(Template)]
#[template(path = "portal/access/remove.html")]
struct RemovePage {
    chrome: Chrome,
    id: String,
    package: String,
}

/// The name of the viewer's own live assignment `id` (404 for anyone else's).
async fn own_live(app: &crate::app::App, viewer: &Viewer, id: uuid::Uuid) -> PageResult<String> {
    let mine = mine::my_access(app, &viewer.caller).await?;
    let a = mine
        .assignments
        .iter()
        .find(|a| a.id == id && a.is_live())
        .ok_or_else(|| PageError::Api(ApiError::not_found("access package assignment")))?;
    Ok(mine
        .packages
        .get(&a.access_package_id)
        .map(|p| p.display_name.clone())
        .unwrap_or_default())
}

pub async fn remove_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let id = parse_id(&id, "access package assignment")?;
    let package = own_live(&app, &viewer, id).await?;
    Ok(render(&RemovePage {
        chrome: viewer.chrome(Section::MyAccess),
        id: id.to_string(),
        package,
    }))
}

pub async fn remove(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Fields>,
) -> PageResult<Response> {
    let viewer = posted.viewer;
    let id = parse_id(&id, "access package assignment")?;
    let package = own_live(&app, &viewer, id).await?;
    let body = json!({ "requestType": "userRemove", "assignment": { "id": id } });
    match assignments::submit(&app, &viewer.caller, body).await {
        Ok(_) => Ok(redirect_with(
            &app,
            "/portal/access?tab=expired",
            Flash::success(format!("You no longer have {package}.")),
        )),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => Ok(redirect_with(
            &app,
            "/portal/access?tab=active",
            Flash::warning(format!(
                "{package} was not removed: {}",
                e.details
                    .first()
                    .map(|d| d.message.clone())
                    .unwrap_or(e.message)
            )),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn cancel(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Fields>,
) -> PageResult<Response> {
    let viewer = posted.viewer;
    let id = parse_id(&id, "assignment request")?;
    // Only the viewer's own requests are offered; the use case decides (an administrator's
    // cancel of someone else's is the API's, not this page's).
    let mine = mine::my_access(&app, &viewer.caller).await?;
    let Some(request) = mine.requests.iter().find(|r| r.id == id) else {
        return Err(PageError::Api(ApiError::not_found("assignment request")));
    };
    let package = mine
        .packages
        .get(&request.access_package_id)
        .map(|p| p.display_name.clone())
        .unwrap_or_default();
    match assignments::cancel(&app, &viewer.caller, id).await {
        Ok(()) => Ok(redirect_with(
            &app,
            "/portal/access?tab=history",
            Flash::success(format!("Your request for {package} is canceled.")),
        )),
        Err(e) if e.status() == StatusCode::CONFLICT => Ok(redirect_with(
            &app,
            "/portal/access?tab=history",
            Flash::warning(crate::portal::page::sentence(e.message)),
        )),
        Err(e) => Err(e.into()),
    }
}
