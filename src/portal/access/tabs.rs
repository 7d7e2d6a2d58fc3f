//! The "My access" page in four tabs (`?tab=`, links, so it works without JavaScript):
//! Available (packages the viewer may request, `filterByCurrentUser(on='allowedRequestor')`,
//! each policy with what it asks), Active and Expired (the viewer's assignments), and Request
//! history (requests for or by the viewer, Cancel on those still waiting).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use eligo_core::entitlement::request::{AssignmentRequest, RequestState, RequestType};
use serde::Deserialize;

use super::{expiration_words, state_words};
use crate::app::{App, AppState};
use crate::portal::me::TimeView;
use crate::portal::page::{Chrome, PageResult, Section, render};
use crate::portal::session::Viewer;
use crate::service::entitlement::mine::{self, MyAccess};
use crate::service::entitlement::requestable;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Available,
    Active,
    Expired,
    History,
}

impl Tab {
    fn parse(raw: Option<&str>) -> Tab {
        match raw.unwrap_or("") {
            "active" => Tab::Active,
            "expired" => Tab::Expired,
            "history" => Tab::History,
            _ => Tab::Available,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Tab::Available => "available",
            Tab::Active => "active",
            Tab::Expired => "expired",
            Tab::History => "history",
        }
    }
}

/// What one policy asks of the viewer.
pub struct PolicyView {
    pub name: String,
    pub description: String,
    pub approval: bool,
    pub justification: bool,
    pub questions: usize,
    pub duration: String,
    pub custom_schedule: bool,
}

pub struct AvailableRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub policies: Vec<PolicyView>,
}

pub struct AssignmentRow {
    pub id: String,
    pub package: String,
    pub start: TimeView,
    pub end: Option<TimeView>,
    pub can_extend: bool,
    pub can_remove: bool,
}

pub struct RequestRow {
    pub id: String,
    pub package: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub badge: &'static str,
    pub detail: String,
    pub created: TimeView,
    pub justification: String,
    /// Whom it is for, when not the viewer.
    pub for_whom: Option<String>,
    pub stage: Option<String>,
    pub cancelable: bool,
}

#[derive(Template)]
#[template(path = "portal/access/page.html")]
struct AccessPage {
    chrome: Chrome,
    /// "available", "active", "expired" or "history".
    tab: &'static str,
    available: Vec<AvailableRow>,
    /// The Active or the Expired tab's assignments.
    held: Vec<AssignmentRow>,
    requests: Vec<RequestRow>,
}

#[derive(Debug, Deserialize)]
pub struct TabQuery {
    tab: Option<String>,
}

fn kind_words(t: RequestType) -> &'static str {
    match t {
        RequestType::UserAdd => "Request",
        RequestType::OnBehalfAdd => "Request on behalf",
        RequestType::UserUpdate => "Extension",
        RequestType::UserRemove => "Removal",
        RequestType::AdminAdd => "Assigned by an administrator",
        RequestType::AdminUpdate => "Changed by an administrator",
        RequestType::AdminRemove => "Removed by an administrator",
        RequestType::SystemRemove => "Ended at its end date",
    }
}

fn request_row(app: &App, me: uuid::Uuid, mine: &MyAccess, r: &AssignmentRequest) -> RequestRow {
    let (status, badge) = state_words(r.state);
    let stage = r
        .approval
        .as_ref()
        .filter(|_| r.state == RequestState::PendingApproval)
        .and_then(|a| {
            a.progress
                .current()
                .map(|i| format!("Stage {} of {}", i + 1, a.stages.len()))
        });
    RequestRow {
        id: r.id.to_string(),
        package: package_name(mine, r.access_package_id),
        kind: kind_words(r.request_type),
        status,
        badge,
        detail: if r.status.eq_ignore_ascii_case(status) {
            String::new()
        } else {
            r.status.clone()
        },
        created: TimeView::of(r.created_date_time),
        justification: r.justification.clone().unwrap_or_default(),
        for_whom: (r.target_id != me).then(|| {
            app.access
                .principal(r.target_id)
                .map(|(_, n)| n)
                .unwrap_or_else(|| r.target_id.to_string())
        }),
        stage,
        cancelable: matches!(
            r.state,
            RequestState::PendingApproval | RequestState::Submitted
        ),
    }
}

fn package_name(mine: &MyAccess, id: uuid::Uuid) -> String {
    mine.packages
        .get(&id)
        .map(|p| p.display_name.clone())
        .unwrap_or_else(|| "(an access package that no longer exists)".to_string())
}

async fn available(app: &App, viewer: &Viewer) -> PageResult<Vec<AvailableRow>> {
    let mut rows = Vec::new();
    for p in requestable::allowed_requestor(app, &viewer.caller).await? {
        let policies = requestable::requirements(app, &viewer.caller, Ok(p.id))
            .await?
            .into_iter()
            .map(|r| PolicyView {
                name: r.policy_display_name.clone(),
                description: r.policy_description.clone().unwrap_or_default(),
                approval: r.is_approval_required_for_add,
                justification: r.is_requestor_justification_required,
                questions: r.questions.len(),
                duration: serde_json::from_value(r.schedule["expiration"].clone())
                    .map(|e| expiration_words(&e))
                    .unwrap_or_default(),
                custom_schedule: r.allow_custom_assignment_schedule,
            })
            .collect();
        rows.push(AvailableRow {
            id: p.id.to_string(),
            name: p.display_name,
            description: p.description.unwrap_or_default(),
            policies,
        });
    }
    rows.sort_by_key(|a| a.name.to_lowercase());
    Ok(rows)
}

pub async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<TabQuery>,
) -> PageResult<Response> {
    let tab = Tab::parse(q.tab.as_deref());
    let me = viewer.caller.id;
    let mine = mine::my_access(&app, &viewer.caller).await?;
    let available = if tab == Tab::Available {
        available(&app, &viewer).await?
    } else {
        Vec::new()
    };
    let (mut active, mut expired) = (Vec::new(), Vec::new());
    for a in &mine.assignments {
        let settings = mine
            .policies
            .get(&a.assignment_policy_id)
            .map(|p| &p.requestor_settings);
        let live = a.is_live();
        // What the policy lets the holder do; the use case decides again on the post.
        let row = AssignmentRow {
            id: a.id.to_string(),
            package: package_name(&mine, a.access_package_id),
            start: TimeView::of(a.start_date_time),
            end: a
                .expired_date_time
                .filter(|_| !live)
                .or(a.end_date_time)
                .map(TimeView::of),
            can_extend: live && settings.is_some_and(|s| s.enable_targets_to_self_update_access),
            can_remove: live && settings.is_some_and(|s| s.enable_targets_to_self_remove_access),
        };
        if live {
            active.push(row);
        } else {
            expired.push(row);
        }
    }
    let requests = mine
        .requests
        .iter()
        .map(|r| request_row(&app, me, &mine, r))
        .collect();
    Ok(render(&AccessPage {
        chrome: viewer.chrome(Section::MyAccess),
        tab: tab.as_str(),
        available,
        held: if tab == Tab::Expired { expired } else { active },
        requests,
    }))
}
