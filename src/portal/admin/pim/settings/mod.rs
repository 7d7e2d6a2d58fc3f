//! The role settings (`/portal/admin/roles/{id}/settings`, and for a group's member or owner
//! access `/portal/admin/groups/{id}/settings/member|owner`) in Entra's three tabs: Activation,
//! Assignment, Notification. A tab is a link (`?tab=`), and each tab is its own form that
//! posts only its own rules to `service::policies::update_rules`, which validates each exactly
//! as the API's PATCH does and writes the rules that really changed, with one audit entry for
//! the save, in one transaction. Everything works without JavaScript: buttons that add an approver or a
//! stage re-render the form with what was typed.
//!
//! `form` is the plumbing the tabs share, `principals` names and resolves approvers and
//! recipients, `changes` words the confirmation; `activation`, `assignment` and
//! `notification` are the tabs.

mod activation;
mod assignment;
mod changes;
mod form;
mod notification;
mod principals;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use eligo_core::policy::{RolePolicy, ScopeType};
use eligo_core::policy_changes::Change;
use eligo_core::target::is_reserved_role_id;
use eligo_store::Tx;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use self::form::{Ctx, Group, Values, add_row, text};
pub use self::principals::approval_summary;
use crate::app::{App, AppState};
use crate::error::{ApiError, ApiResult};
use crate::portal::audit::changes::Names;
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{
    Chrome, FieldErrors, PageResult, Section, redirect_with, render, render_status, worded,
};
use crate::portal::session::Viewer;
use crate::service::directory::{self, Kinds};
use crate::service::policies;

/// Entra's three tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Activation,
    Assignment,
    Notification,
}

impl Tab {
    const ALL: [Tab; 3] = [Tab::Activation, Tab::Assignment, Tab::Notification];

    /// The tab a link or a form names; Activation when it names none (or none we know).
    fn parse(s: Option<&str>) -> Self {
        Self::ALL
            .into_iter()
            .find(|t| Some(t.id()) == s)
            .unwrap_or(Tab::Activation)
    }

    fn id(self) -> &'static str {
        match self {
            Tab::Activation => "activation",
            Tab::Assignment => "assignment",
            Tab::Notification => "notification",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Tab::Activation => "Activation",
            Tab::Assignment => "Assignment",
            Tab::Notification => "Notification",
        }
    }

    fn intro(self) -> &'static str {
        match self {
            Tab::Activation => {
                "What an eligible member must do to activate, for how long, and who approves."
            }
            Tab::Assignment => {
                "How long administrators may make members eligible or active, and what they must give."
            }
            Tab::Notification => "Who hears about assignments and activations by email.",
        }
    }

    /// The rules this tab writes.
    fn rules(self) -> &'static [&'static str] {
        match self {
            Tab::Activation => &activation::RULES,
            Tab::Assignment => &assignment::RULES,
            Tab::Notification => &notification::RULES,
        }
    }

    async fn values_of(self, tx: &mut dyn Tx, policy: &RolePolicy) -> ApiResult<Values> {
        Ok(match self {
            Tab::Activation => activation::values_of(tx, policy).await?,
            Tab::Assignment => assignment::values_of(policy),
            Tab::Notification => notification::values_of(policy),
        })
    }

    /// The lists of rows the tab shows ("Add another approver" adds to one of them).
    fn lists(self, v: &Values) -> Vec<String> {
        match self {
            Tab::Activation => activation::lists(v),
            Tab::Assignment => Vec::new(),
            Tab::Notification => notification::lists(),
        }
    }

    async fn rules_of(
        self,
        tx: &mut dyn Tx,
        listable: Kinds,
        policy: &RolePolicy,
        v: &Values,
        least: TimeDelta,
        errors: &mut FieldErrors,
    ) -> ApiResult<Vec<(String, Value)>> {
        Ok(match self {
            Tab::Activation => activation::rules_of(tx, listable, policy, v, least, errors).await?,
            Tab::Assignment => assignment::rules_of(v, least, errors),
            Tab::Notification => notification::rules_of(tx, listable, policy, v, errors).await?,
        })
    }

    fn groups(self, c: &Ctx, least: TimeDelta) -> Vec<Group> {
        match self {
            Tab::Activation => activation::groups(c, least),
            Tab::Assignment => assignment::groups(c, least),
            Tab::Notification => notification::groups(c),
        }
    }

    /// The field an `update_rules` refusal detail (`Rule_Id:target`) belongs to.
    fn field_of(self, target: &str) -> Option<String> {
        let (rule, inner) = target.split_once(':')?;
        match self {
            Tab::Activation => activation::field_of(rule, inner),
            Tab::Assignment => assignment::field_of(rule),
            Tab::Notification => notification::field_of(rule, inner),
        }
    }
}

/// One tab of the navigation.
struct TabLink {
    href: String,
    title: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "portal/admin/pim/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    heading: String,
    back: String,
    back_label: String,
    may_update: bool,
    last_modified: Option<super::ShownTime>,
    tabs: Vec<TabLink>,
    tab: &'static str,
    tab_title: &'static str,
    intro: &'static str,
    /// Where the tab's form posts (the settings page itself).
    action: String,
    /// When the form was loaded (the policy's last change), so a save does not overwrite a
    /// change made meanwhile; and the number of approval stages shown.
    loaded: String,
    stage_count: String,
    groups: Vec<Group>,
    errors: FieldErrors,
}

/// What the settings govern, with its names for the page.
struct Subject {
    scope_type: ScopeType,
    scope_id: String,
    role: String,
    heading: String,
    action: String,
    back: String,
    back_label: String,
}

impl Subject {
    fn tab_href(&self, tab: Tab) -> String {
        format!("{}?tab={}", self.action, tab.id())
    }
}

#[derive(Deserialize)]
pub struct TabQuery {
    tab: Option<String>,
}

/// Role settings are for those who may read them (the service decides).
fn may_read(app: &App, viewer: &Viewer) -> PageResult<()> {
    policies::reader(app, &viewer.caller)
        .map(drop)
        .map_err(worded("role settings need roleManagementPolicies/read"))
}

async fn role_subject(app: &App, id: &str) -> PageResult<Subject> {
    let role = Uuid::parse_str(id).map_err(|_| ApiError::not_found("role definition"))?;
    if is_reserved_role_id(role) {
        return Err(ApiError::not_found("role definition").into());
    }
    let def = app
        .store
        .read()
        .await?
        .get_role_definition(role)
        .await?
        .ok_or_else(|| ApiError::not_found("role definition"))?;
    Ok(Subject {
        scope_type: ScopeType::DirectoryRole,
        scope_id: "/".into(),
        role: role.to_string(),
        heading: format!("Role settings: {}", def.display_name),
        action: format!("/portal/admin/roles/{role}/settings"),
        back: format!("/portal/admin/roles/{role}"),
        back_label: def.display_name,
    })
}

async fn group_subject(app: &App, id: &str, access: &str) -> PageResult<Subject> {
    let group = Uuid::parse_str(id).map_err(|_| ApiError::not_found("group"))?;
    if !matches!(access, "member" | "owner") {
        return Err(ApiError::not_found("group access").into());
    }
    let g = app
        .store
        .read()
        .await?
        .get_group(group)
        .await?
        .ok_or_else(|| ApiError::not_found("group"))?;
    Ok(Subject {
        scope_type: ScopeType::Group,
        scope_id: group.to_string(),
        role: access.to_string(),
        heading: format!(
            "{} settings: {}",
            if access == "member" {
                "Membership"
            } else {
                "Ownership"
            },
            g.display_name
        ),
        action: format!("/portal/admin/groups/{group}/settings/{access}"),
        back: format!("/portal/admin/groups/{group}"),
        back_label: g.display_name,
    })
}

fn stamp(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_default()
}

/// What a page of one tab shows.
struct Shown<'a> {
    tab: Tab,
    values: &'a Values,
    loaded: String,
    errors: FieldErrors,
    focus: Option<String>,
}

fn page(
    app: &App,
    viewer: &Viewer,
    subject: &Subject,
    policy: &RolePolicy,
    shown: Shown,
) -> SettingsPage {
    let may_update = viewer.can.update_policies;
    let ctx = Ctx {
        v: shown.values,
        e: &shown.errors,
        focus: shown.focus.as_deref(),
        may_update,
    };
    let groups = shown.tab.groups(&ctx, app.config.min_duration);
    SettingsPage {
        chrome: viewer.chrome(Section::Administration),
        heading: subject.heading.clone(),
        back: subject.back.clone(),
        back_label: subject.back_label.clone(),
        may_update,
        last_modified: policy.last_modified_date_time.map(super::ShownTime::of),
        tabs: Tab::ALL
            .into_iter()
            .map(|t| TabLink {
                href: subject.tab_href(t),
                title: t.title(),
                current: t == shown.tab,
            })
            .collect(),
        tab: shown.tab.id(),
        tab_title: shown.tab.title(),
        intro: shown.tab.intro(),
        action: subject.action.clone(),
        loaded: shown.loaded,
        stage_count: activation::stage_count(shown.values).to_string(),
        groups,
        errors: shown.errors,
    }
}

async fn load(app: &App, subject: &Subject) -> ApiResult<(Box<dyn Tx>, RolePolicy)> {
    let mut tx = app.store.read().await?;
    let policy = policies::load(
        &mut *tx,
        subject.scope_type,
        &subject.scope_id,
        &subject.role,
    )
    .await?;
    Ok((tx, policy))
}

async fn show(app: &App, viewer: &Viewer, subject: Subject, tab: Tab) -> PageResult<Response> {
    may_read(app, viewer)?;
    let (mut tx, policy) = load(app, &subject).await?;
    let values = tab.values_of(&mut *tx, &policy).await?;
    drop(tx);
    let shown = Shown {
        tab,
        values: &values,
        loaded: stamp(policy.last_modified_date_time),
        errors: FieldErrors::new(),
        focus: None,
    };
    Ok(render(&page(app, viewer, &subject, &policy, shown)))
}

/// A post of one tab's form: "Save", or a button that changes the form ("Add a stage", "Add
/// another approver"), which re-renders it with what was typed and saves nothing.
async fn post(
    app: &App,
    viewer: &Viewer,
    subject: Subject,
    posted: Vec<(String, String)>,
) -> PageResult<Response> {
    // `role_save` and `group_save` asked `policies::may_update` before anything was looked up.
    let mut values: Values = posted.into_iter().collect();
    let tab = Tab::parse(values.get("tab").map(String::as_str));
    let op = text(&values, "op");
    let loaded = text(&values, "loaded");
    let (mut tx, policy) = load(app, &subject).await?;
    if !op.is_empty() && op != "save" {
        drop(tx);
        let focus = match op.strip_prefix("more:") {
            Some(list) if tab.lists(&values).iter().any(|l| l == list) => {
                add_row(&mut values, list)
            }
            Some(_) => None,
            None if tab == Tab::Activation => activation::change(&mut values, &op).flatten(),
            None => None,
        };
        let shown = Shown {
            tab,
            values: &values,
            loaded,
            errors: FieldErrors::new(),
            focus,
        };
        return Ok(render(&page(app, viewer, &subject, &policy, shown)));
    }
    let mut errors = FieldErrors::new();
    let listable = directory::listable(app, &viewer.caller, Kinds::PEOPLE);
    let rules = tab
        .rules_of(
            &mut *tx,
            listable,
            &policy,
            &values,
            app.config.min_duration,
            &mut errors,
        )
        .await?;
    drop(tx);
    debug_assert!(
        rules
            .iter()
            .all(|(id, _)| tab.rules().contains(&id.as_str()))
    );
    let mut status = StatusCode::BAD_REQUEST;
    if errors.is_empty() {
        let seen = match values.get("loaded") {
            None => None,
            Some(s) if s.is_empty() => Some(None),
            Some(s) => DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| Some(t.with_timezone(&Utc))),
        };
        match policies::update_rules(app, &viewer.caller, &policy.id, &rules, seen).await {
            Ok(done) => {
                let text = confirmation(app, &done.changes).await?;
                let flash = if done.changed.is_empty() {
                    Flash::info(text)
                } else {
                    Flash::success(text)
                };
                return Ok(redirect_with(app, &subject.tab_href(tab), flash));
            }
            Err(e) if e.status() == StatusCode::CONFLICT => {
                status = e.status();
                errors.add_general(
                    "Someone changed these settings after you opened this page, so nothing was saved. Reload the page to see the current settings, then make your change again.",
                );
            }
            Err(e) if e.status() == StatusCode::BAD_REQUEST => {
                for d in &e.details {
                    let message = if d.message.is_empty() {
                        e.message.clone()
                    } else {
                        d.message.clone()
                    };
                    match tab.field_of(&d.target) {
                        Some(f) => errors.add(&f, message),
                        None => errors.add_general(message),
                    }
                }
                if e.details.is_empty() {
                    errors.add_general(e.message.clone());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    let shown = Shown {
        tab,
        values: &values,
        loaded,
        errors,
        focus: None,
    };
    Ok(render_status(
        status,
        &page(app, viewer, &subject, &policy, shown),
    ))
}

/// The message after a save: what the use case says changed, with names.
async fn confirmation(app: &App, changes: &[Change]) -> PageResult<String> {
    let mut tx = app.store.read().await?;
    let values = changes
        .iter()
        .flat_map(|c| [c.old.as_str(), c.new.as_str()]);
    let names = Names::of_values(app, &mut *tx, values).await?;
    Ok(changes::confirmation(
        changes.len(),
        &changes::lines(changes, &names),
    ))
}

pub async fn role_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<TabQuery>,
) -> PageResult<Response> {
    may_read(&app, &viewer)?;
    let subject = role_subject(&app, &id).await?;
    show(&app, &viewer, subject, Tab::parse(q.tab.as_deref())).await
}

pub async fn role_save(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    // Refused before anything is looked up (the use case decides; its refusal is audited).
    policies::may_update(&app, &viewer.caller).await?;
    let subject = role_subject(&app, &id).await?;
    post(&app, &viewer, subject, form).await
}

pub async fn group_form(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((id, access)): Path<(String, String)>,
    Query(q): Query<TabQuery>,
) -> PageResult<Response> {
    may_read(&app, &viewer)?;
    let subject = group_subject(&app, &id, &access).await?;
    show(&app, &viewer, subject, Tab::parse(q.tab.as_deref())).await
}

pub async fn group_save(
    State(app): State<AppState>,
    Path((id, access)): Path<(String, String)>,
    posted: Posted<Vec<(String, String)>>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    // Refused before anything is looked up (the use case decides; its refusal is audited).
    policies::may_update(&app, &viewer.caller).await?;
    let subject = group_subject(&app, &id, &access).await?;
    post(&app, &viewer, subject, form).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_land_on_their_fields() {
        let a = Tab::Activation;
        assert_eq!(
            a.field_of("Expiration_EndUser_Assignment:maximumDuration")
                .as_deref(),
            Some("act_max")
        );
        assert_eq!(
            a.field_of("Approval_EndUser_Assignment:setting.approvalStages[1].minimumApprovals")
                .as_deref(),
            Some("s2_min")
        );
        assert_eq!(
            Tab::Notification
                .field_of("Notification_Admin_EndUser_Assignment:notificationRecipients")
                .as_deref(),
            Some("n6_recipients")
        );
        assert_eq!(
            Tab::Assignment
                .field_of("Expiration_Admin_Assignment:maximumDuration")
                .as_deref(),
            Some("asg_max")
        );
        assert_eq!(a.field_of("nothing"), None);
    }

    #[test]
    fn tabs_write_disjoint_rules() {
        let mut all: Vec<&str> = Tab::ALL.iter().flat_map(|t| t.rules().to_vec()).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
        assert_eq!(
            n,
            eligo_core::policy::RULE_IDS.len() + eligo_core::policy::NOTIFICATION_RULE_IDS.len()
        );
        assert_eq!(Tab::parse(Some("nope")), Tab::Activation);
        assert_eq!(Tab::parse(Some("notification")), Tab::Notification);
    }
}
