//! Administration of PIM for roles: the roles with their holders and a warning when a policy is
//! weak, one role's assignments (add, remove; edit, extend and renew in `change`, with the
//! holders' extension requests) and exposure, and the role settings form (for roles and for a
//! group's member or owner access). Every write goes through the use cases the API calls:
//! `service::pim::submit` for assignments and `service::policies::update_rules` for settings,
//! so the portal can do nothing the API would refuse.

pub mod change;
mod roles;
mod settings;
pub mod window_form;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::duration::format_duration;
use eligo_store::{GroupQuery, Page, Tx};
use uuid::Uuid;

use crate::app::AppState;
use crate::error::ApiResult;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/admin/roles", get(roles::list))
        .route("/portal/admin/roles/{id}", get(roles::detail))
        .route("/portal/admin/roles/{id}/assignments", post(roles::assign))
        .route(
            "/portal/admin/roles/{id}/assignments/remove",
            post(roles::remove),
        )
        .route("/portal/admin/assignments/decline", post(change::decline))
        .route(
            "/portal/admin/assignments/{mode}",
            get(change::form).post(change::save),
        )
        .route(
            "/portal/admin/roles/{id}/settings",
            get(settings::role_form).post(settings::role_save),
        )
        .route(
            "/portal/admin/groups/{id}/settings/{access}",
            get(settings::group_form).post(settings::group_save),
        )
}

/// A time as every portal page shows it, with its machine-readable form.
pub struct ShownTime {
    pub rfc3339: String,
    pub text: String,
}

impl ShownTime {
    pub fn of(t: DateTime<Utc>) -> Self {
        Self {
            rfc3339: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: crate::notify::templates::format_time(t),
        }
    }
}

/// A duration typed by a person: ISO 8601 (`PT4H`, `P30D`) or a number with a unit
/// (`4 h`, `30 minutes`, `30 days`). The message says what to write instead.
pub fn parse_typed_duration(raw: &str) -> Result<TimeDelta, String> {
    const HOW: &str = "Write a duration such as PT4H (4 hours), PT30M (30 minutes), P30D (30 days), or \"4 hours\", \"30 days\".";
    let text = raw.trim();
    if text.is_empty() {
        return Err(format!("Enter a duration. {HOW}"));
    }
    // Graph's form in either case; words and short forms as `duration_words` reads them.
    let typed = if text.starts_with(['P', 'p']) {
        text.to_ascii_uppercase()
    } else {
        text.to_string()
    };
    eligo_core::duration_words::parse(&typed)
        .map_err(|_| format!("'{text}' is not a duration Eligo understands. {HOW}"))
}

/// `PT8H (8 hours)`: the ISO form the API uses and the words.
pub fn duration_words(d: TimeDelta) -> String {
    format!(
        "{} ({})",
        format_duration(d),
        crate::notify::templates::format_duration(d)
    )
}

/// A policy's admin expiration rule in words.
pub fn expiry_words(rule: &eligo_core::policy::ExpirationRule) -> String {
    if rule.is_expiration_required {
        format!(
            "must end, at most {}",
            duration_words(rule.maximum_duration)
        )
    } else {
        format!(
            "may be permanent; if timebound, at most {}",
            duration_words(rule.maximum_duration)
        )
    }
}

/// What a typed name resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    User(Uuid),
    Group(Uuid),
    ServicePrincipal(Uuid),
}

impl Resolved {
    pub fn id(self) -> Uuid {
        match self {
            Resolved::User(id) | Resolved::Group(id) | Resolved::ServicePrincipal(id) => id,
        }
    }
}

/// Finds the one principal `text` names: a user by UPN, a group by its exact display name, a
/// service principal by display name or appId, or any of them by object id. `Err` says in
/// words why nothing (or more than one) matched. `allow_sp`: service principals count.
pub async fn resolve_principal(
    tx: &mut dyn Tx,
    text: &str,
    allow_sp: bool,
) -> ApiResult<Result<Resolved, String>> {
    use eligo_core::directory::PrincipalKind;
    let text = text.trim();
    if text.is_empty() {
        return Ok(Err(
            "Enter a user's UPN, a group's name or a service principal's name or appId.".into(),
        ));
    }
    if let Ok(id) = Uuid::parse_str(text) {
        match tx.principal_kind(id).await? {
            Some(PrincipalKind::User) => return Ok(Ok(Resolved::User(id))),
            Some(PrincipalKind::Group) => return Ok(Ok(Resolved::Group(id))),
            Some(PrincipalKind::ServicePrincipal) if allow_sp => {
                return Ok(Ok(Resolved::ServicePrincipal(id)));
            }
            _ => {}
        }
        if allow_sp && let Some(sp) = tx.find_service_principal_by_app_id(id).await? {
            return Ok(Ok(Resolved::ServicePrincipal(sp.id)));
        }
        return Ok(Err(format!(
            "Nothing in the directory has the id '{text}'."
        )));
    }
    if text.contains('@') {
        return Ok(match tx.find_user_by_upn(text).await? {
            Some(u) => Ok(Resolved::User(u.id)),
            None => Err(format!("No user has the user name (UPN) '{text}'.")),
        });
    }
    let groups = tx
        .list_groups(
            &GroupQuery {
                display_name: Some(text.to_string()),
                ..Default::default()
            },
            Page::ALL,
        )
        .await?;
    let mut found: Vec<Resolved> = groups
        .iter()
        .filter(|g| g.display_name.eq_ignore_ascii_case(text))
        .map(|g| Resolved::Group(g.id))
        .collect();
    if allow_sp {
        found.extend(
            tx.list_service_principals(Page::ALL)
                .await?
                .iter()
                .filter(|s| s.display_name.eq_ignore_ascii_case(text))
                .map(|s| Resolved::ServicePrincipal(s.id)),
        );
    }
    Ok(match found.as_slice() {
        [one] => Ok(*one),
        [] if allow_sp => Err(format!(
            "No group or service principal is named '{text}' (a user is found by user name, e.g. erin@contoso.example)."
        )),
        [] => Err(format!(
            "No group is named '{text}' (a user is found by user name, e.g. ada@contoso.example)."
        )),
        many => Err(format!(
            "{} groups or service principals are named '{text}'; give the id of the one you mean instead.",
            many.len()
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_durations() {
        assert_eq!(parse_typed_duration("PT4H"), Ok(TimeDelta::hours(4)));
        assert_eq!(parse_typed_duration("p30d"), Ok(TimeDelta::days(30)));
        assert_eq!(parse_typed_duration("30 days"), Ok(TimeDelta::days(30)));
        assert_eq!(parse_typed_duration("1.5h"), Ok(TimeDelta::minutes(90)));
        assert!(parse_typed_duration("soon").is_err());
        assert!(parse_typed_duration("").is_err());
    }
}
