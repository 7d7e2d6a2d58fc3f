//! The signed-in person's own access: "My roles" (eligible and active roles and group accesses,
//! with Activate, Deactivate, Extend and Renew, and Request extension of what an administrator
//! gave), the activation form, and "My requests" (what
//! was asked, its status and approval stages, Cancel). Every action goes through the same use
//! case as the API's self actions (`service::pim::submit`, `approve::cancel`).

mod activate;
mod extension;
mod requests;
mod roles;

use std::collections::HashMap;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use eligo_core::target::{GroupAccess, Target as AccessTarget, is_reserved_role_id};
use eligo_store::Tx;
use serde::Deserialize;
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::error::ApiError;
use crate::notify::templates::format_time;
use crate::portal::page::{PageError, PageResult};
use crate::service::pim::{Governed, Target, load_target};
use crate::service::sessions;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/roles", get(roles::page))
        .route("/portal/roles/deactivate", post(roles::deactivate))
        .route(
            "/portal/roles/activate",
            get(activate::activate_form).post(activate::activate),
        )
        .route(
            "/portal/roles/extend",
            get(activate::extend_form).post(activate::extend),
        )
        .route(
            "/portal/roles/renew",
            get(activate::renew_form).post(activate::renew),
        )
        .route(
            "/portal/roles/request-extension",
            get(extension::form).post(extension::request),
        )
        .route("/portal/requests", get(requests::page))
        .route("/portal/requests/cancel", post(requests::cancel))
}

/// A time for a template: `<time datetime="{{ rfc3339 }}">{{ text }}</time>`.
#[derive(Debug, Clone)]
pub struct TimeView {
    pub rfc3339: String,
    pub text: String,
}

impl TimeView {
    pub fn of(t: DateTime<Utc>) -> Self {
        Self {
            rfc3339: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: format_time(t),
        }
    }
}

/// The fields naming a role at a scope (`role`, `scope`) or a group access (`group`,
/// `access`), in a query string or a form. Every field is text so that a malformed link is a
/// clear page, not a bare 400.
#[derive(Debug, Default, Deserialize)]
pub struct TargetFields {
    pub role: Option<String>,
    pub scope: Option<String>,
    pub group: Option<String>,
    pub access: Option<String>,
}

impl TargetFields {
    /// What the fields name; a 404 page for anything else (or a reserved id posing as a role).
    pub fn target(&self) -> PageResult<AccessTarget> {
        let id = |v: &Option<String>| v.as_deref().and_then(|s| Uuid::parse_str(s.trim()).ok());
        if let Some(group) = id(&self.group) {
            let access = self
                .access
                .as_deref()
                .and_then(GroupAccess::parse)
                .ok_or_else(|| PageError::Api(ApiError::not_found("group access")))?;
            return Ok(AccessTarget::Group { group, access });
        }
        match id(&self.role) {
            Some(role) if !is_reserved_role_id(role) => {
                let scope = self
                    .scope
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("/");
                if eligo_core::scope::validate(scope).is_err() {
                    return Err(PageError::Api(ApiError::not_found("scope")));
                }
                Ok(AccessTarget::Role {
                    role,
                    scope: scope.to_string(),
                })
            }
            _ => Err(PageError::Api(ApiError::not_found("role"))),
        }
    }
}

/// The hidden fields and the query string that name `target` again.
pub fn target_fields(target: &AccessTarget) -> Vec<(&'static str, String)> {
    match target {
        AccessTarget::Role { role, scope } => {
            vec![("role", role.to_string()), ("scope", scope.clone())]
        }
        AccessTarget::Group { group, access } => vec![
            ("group", group.to_string()),
            ("access", access.as_str().to_string()),
        ],
    }
}

pub fn target_query(target: &AccessTarget) -> String {
    serde_urlencoded::to_string(target_fields(target)).unwrap_or_default()
}

/// A scope in words.
pub fn scope_label(scope: &str) -> String {
    if scope == "/" {
        "Directory (/)".to_string()
    } else {
        scope.to_string()
    }
}

/// How a target is named on a page.
#[derive(Debug, Clone)]
pub struct TargetView {
    /// "Helpdesk Administrator", "Compliance Portal Admins".
    pub name: String,
    /// "Role", "Group membership", "Group ownership".
    pub kind: &'static str,
    /// "Directory (/)" for a role; "Membership" / "Ownership" for a group.
    pub scope: String,
    /// In a sentence: "Helpdesk Administrator", "membership of Compliance Portal Admins".
    pub phrase: String,
    pub is_group: bool,
}

pub fn view_of(target: &AccessTarget, name: &str) -> TargetView {
    match target {
        AccessTarget::Role { scope, .. } => TargetView {
            name: name.to_string(),
            kind: "Role",
            scope: scope_label(scope),
            phrase: name.to_string(),
            is_group: false,
        },
        AccessTarget::Group { access, .. } => {
            let (kind, scope, word) = match access {
                GroupAccess::Member => ("Group membership", "Member", "membership"),
                GroupAccess::Owner => ("Group ownership", "Owner", "ownership"),
            };
            TargetView {
                name: name.to_string(),
                kind,
                scope: scope.to_string(),
                phrase: format!("{word} of {name}"),
                is_group: true,
            }
        }
    }
}

/// Targets loaded once per page (name and policy), through the same `load_target` the use
/// cases decide with.
#[derive(Default)]
pub struct Targets {
    loaded: HashMap<AccessTarget, Option<std::sync::Arc<Target>>>,
}

impl Targets {
    pub async fn get(
        &mut self,
        tx: &mut dyn Tx,
        target: &AccessTarget,
        principal: Uuid,
    ) -> PageResult<Option<std::sync::Arc<Target>>> {
        if let Some(t) = self.loaded.get(target) {
            return Ok(t.clone());
        }
        let loaded = match load_target(tx, target, principal).await {
            Ok(t) => Some(std::sync::Arc::new(t)),
            Err(e) if e.status() == StatusCode::NOT_FOUND => None,
            Err(e) => return Err(e.into()),
        };
        self.loaded.insert(target.clone(), loaded.clone());
        Ok(loaded)
    }

    /// The target's name; a placeholder when it no longer exists.
    pub async fn view(
        &mut self,
        tx: &mut dyn Tx,
        target: &AccessTarget,
        principal: Uuid,
    ) -> PageResult<TargetView> {
        let name = match self.get(tx, target, principal).await? {
            Some(t) => match &t.governed {
                Governed::Role(r) => r.display_name.clone(),
                Governed::Group { group, .. } => group.display_name.clone(),
            },
            None => "(no longer exists)".to_string(),
        };
        Ok(view_of(target, &name))
    }
}

/// Has the person a verified authenticator app?
pub async fn has_authenticator(app: &App, who: Uuid) -> PageResult<bool> {
    Ok(sessions::has_authenticator(app, who).await?)
}

/// Does this policy ask for a fresh second factor on activation?
pub fn demands_mfa(target: &Target) -> bool {
    target
        .policy
        .rules
        .enablement_end_user_assignment
        .contains(&eligo_core::policy::Enablement::MultiFactorAuthentication)
}
