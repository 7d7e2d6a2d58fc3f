//! Choosing a person, group or service principal in a form. The field is a plain text input
//! (`data-picker="users|groups|people|principals"`) that takes a user name, an exact display
//! name or an object id, so every form works without JavaScript; `assets/portal.js` turns it
//! into a search-as-you-type list fed by `GET /portal/pick`. When what was typed names nothing
//! or several things, the field's error lists the closest matches in the words to type
//! instead: the same help, without the script.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use eligo_core::directory::PrincipalKind;
use eligo_store::Tx;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::ApiResult;
use crate::portal::page::PageResult;
use crate::portal::session::Viewer;
use crate::service::directory::{self, Candidate, Kinds};

/// How many matches the list and an error message offer.
const SHOWN: usize = 8;

pub fn routes() -> Router<AppState> {
    Router::new().route("/portal/pick", get(pick))
}

/// The `data-picker` value a field carries, read back by the search.
pub fn kinds_named(name: &str) -> Option<Kinds> {
    match name {
        "users" => Some(Kinds::USERS),
        "groups" => Some(Kinds::GROUPS),
        "people" => Some(Kinds::PEOPLE),
        "principals" => Some(Kinds::ALL),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
pub struct PickQuery {
    #[serde(default)]
    kinds: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

#[derive(Debug, Serialize)]
struct Choice {
    /// What goes into the field: a text that names this one principal when posted.
    value: String,
    label: String,
    detail: String,
}

#[derive(Debug, Serialize)]
struct Choices {
    results: Vec<Choice>,
}

/// The matches for what was typed so far, for the script's list. Each kind is searched only
/// if the viewer may read it; a viewer who may read none is refused like the API refuses.
async fn pick(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(query): Query<PickQuery>,
) -> PageResult<Response> {
    let kinds = query
        .kinds
        .as_deref()
        .and_then(kinds_named)
        .unwrap_or(Kinds::ALL);
    let typed = query.q.unwrap_or_default();
    // One character lists half the directory; wait for two (an id or a user name is longer).
    if typed.trim().chars().count() < 2 {
        return Ok(answer(Vec::new()));
    }
    let found = directory::find_principals(&app, &viewer.caller, &typed, kinds, SHOWN).await?;
    let mut tx = app.store.read().await?;
    let mut results = Vec::new();
    for c in found.exact.into_iter().chain(found.starting).take(SHOWN) {
        results.push(Choice {
            value: field_value(&mut *tx, &c, kinds).await?,
            label: c.display_name.clone(),
            detail: detail(&c),
        });
    }
    Ok(answer(results))
}

fn answer(results: Vec<Choice>) -> Response {
    let mut resp = Json(Choices { results }).into_response();
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    resp
}

fn detail(c: &Candidate) -> String {
    match (c.kind, &c.handle) {
        (PrincipalKind::User, Some(upn)) => upn.clone(),
        (PrincipalKind::Group, _) => "Group".into(),
        (PrincipalKind::ServicePrincipal, Some(app_id)) => {
            format!("Service principal · appId {app_id}")
        }
        _ => String::new(),
    }
}

/// The text that names `c` and nothing else when the form is posted: a user's user name, a
/// group's or service principal's name when no other principal has it, else its id.
async fn field_value(tx: &mut dyn Tx, c: &Candidate, kinds: Kinds) -> PageResult<String> {
    if let (PrincipalKind::User, Some(upn)) = (c.kind, &c.handle) {
        return Ok(upn.clone());
    }
    let same_name = directory::named_exactly(tx, &c.display_name, kinds).await?;
    Ok(if same_name.len() == 1 {
        c.display_name.clone()
    } else {
        c.id.to_string()
    })
}

/// Who `typed` names among the kinds a field `accepts`, or the field's error in words: what
/// to type, and, when it named nothing or several, the closest matches among the kinds the
/// viewer may list (`listable`, from `directory::listable`: nobody learns names from an error
/// they could not have listed). Resolving an exact name asks no permission: the use case the
/// form calls decides whether the viewer may act on whoever it names.
pub async fn resolve(
    tx: &mut dyn Tx,
    typed: &str,
    accepts: Kinds,
    listable: Kinds,
) -> ApiResult<Result<Candidate, String>> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(Err(format!("Enter {}.", what_to_type(accepts))));
    }
    let mut exact = directory::named_exactly(tx, typed, accepts).await?;
    match exact.len() {
        1 => return Ok(Ok(exact.remove(0))),
        0 => {}
        _ => {
            return Ok(Err(format!(
                "Several are called “{typed}”: {}. Enter the user name or the id of the one you mean.",
                list(&exact)
            )));
        }
    }
    let near = directory::search(tx, typed, accepts.and(listable), SHOWN)
        .await?
        .starting;
    let nothing = if typed.contains('@') && accepts.users {
        format!("No user has the user name “{typed}”.")
    } else {
        format!("Nothing is called “{typed}”.")
    };
    Ok(Err(if near.is_empty() {
        format!("{nothing} Enter {}.", what_to_type(accepts))
    } else {
        format!(
            "{nothing} Did you mean {}? Enter the user name or the whole name.",
            list(&near)
        )
    }))
}

fn list(candidates: &[Candidate]) -> String {
    candidates
        .iter()
        .map(Candidate::describe)
        .collect::<Vec<_>>()
        .join(", ")
}

fn what_to_type(kinds: Kinds) -> &'static str {
    match (kinds.users, kinds.groups, kinds.service_principals) {
        (true, false, false) => "a user name such as ada@contoso.example, or a person's name",
        (false, true, false) => "a group's name",
        (true, true, false) => {
            "a user name such as ada@contoso.example, or a person's or group's name"
        }
        _ => {
            "a user name such as ada@contoso.example, or the name of a person, group or service principal"
        }
    }
}
