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

use crate::app::AppState;

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
