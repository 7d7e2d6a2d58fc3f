//! "My roles": what the viewer is eligible for and holds now (directory roles and group
//! accesses, directly or through a role-assignable group), with the actions that apply (when
//! what an administrator gave ends, and Request extension when it ends within 14 days); and
//! Deactivate, which goes through `selfDeactivate`.

use std::collections::HashSet;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::TimeDelta;
use eligo_core::request::{RequestAction, RequestKind, RequestStatus};
use eligo_core::schedule::{AssignmentType, ScheduleKind};
use eligo_core::target::Target as AccessTarget;
use eligo_store::{Page, RequestQuery, ScheduleQuery, Targets as Which};

use super::{TargetFields, TargetView, Targets, TimeView, has_authenticator, target_fields};
use crate::app::{App, AppState};
use crate::portal::flash::Flash;
use crate::portal::form::Posted;
use crate::portal::page::{Chrome, FieldErrors, PageResult, Section, redirect_with, render_status};
use crate::portal::session::Viewer;
use crate::service::pim::{submit, views};

/// An activation ending within this window offers Extend.
const EXTEND_WINDOW: TimeDelta = TimeDelta::days(14);
/// An activation that ended this recently offers Renew (as `selfRenew` accepts).
const RENEW_WINDOW: TimeDelta = TimeDelta::days(1);

pub struct RoleRow {
    pub target: TargetView,
    /// The query string naming the target, for the action links.
    pub query: String,
    pub hidden: Vec<(&'static str, String)>,
    pub start: TimeView,
    /// None: permanent.
    pub end: Option<TimeView>,
    /// Holds right now (not only scheduled).
    pub current: bool,
    /// "Direct" or "Via group Helpdesk Team".
    pub how: String,
    /// "Activated", "Assigned", "Eligible".
    pub kind: &'static str,
    pub can_activate: bool,
    /// Eligible, and already active at this very target.
    pub already_active: bool,
    /// Eligible, with an activation request for this very target waiting for approval (its
    /// id): the row offers the request and its Cancel instead of Activate.
    pub pending: Option<String>,
    pub can_deactivate: bool,
    /// One's own activation that has not run its minimum yet: when Deactivate will work.
    pub deactivate_from: Option<String>,
    pub can_extend: bool,
    /// "in 12 days", "tomorrow": when an eligibility or an assignment given by an
    /// administrator ends.
    pub ends_in: Option<String>,
    /// Request extension (one's own, given by an administrator, ending within 14 days).
    pub extension_link: Option<String>,
    /// One's own extension request for it that waits for an administrator (its id).
    pub extension_pending: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/me/roles.html")]
struct RolesPage {
    chrome: Chrome,
    active: Vec<RoleRow>,
    eligible: Vec<RoleRow>,
    ended: Vec<RoleRow>,
    mfa_banner: bool,
    errors: FieldErrors,
}

async fn build(app: &App, viewer: &Viewer, errors: FieldErrors) -> PageResult<RolesPage> {
    let caller = &viewer.caller;
    let me = caller.id;
    let now = app.clock.now();
    let mine = views::HoldingQuery {
        targets: Which::All,
        principal_id: Some(me),
        ..Default::default()
    };
    let eligible = views::holdings(app, caller, ScheduleKind::Eligible, mine.clone()).await?;
    let waiting: std::collections::HashMap<AccessTarget, String> = views::requests(
        app,
        caller,
        RequestQuery {
            principal_id: Some(me),
            status: Some(RequestStatus::PendingApproval),
            targets: Which::All,
            ..Default::default()
        },
        Page::ALL,
    )
    .await?
    .into_iter()
    .filter(|r| r.action == RequestAction::SelfActivate)
    .map(|r| (r.target(), r.id.to_string()))
    .collect();
    let asked: std::collections::HashMap<(AccessTarget, RequestKind), String> = views::requests(
        app,
        caller,
        RequestQuery {
            principal_id: Some(me),
            status: Some(RequestStatus::PendingAdminDecision),
            targets: Which::All,
            ..Default::default()
        },
        Page::ALL,
    )
    .await?
    .into_iter()
    .map(|r| ((r.target(), r.kind), r.id.to_string()))
    .collect();
    // What an administrator gave this person directly: when it ends, and whether they may ask
    // for more (the core's window) or already did.
    let given = |h: &views::Holding, kind: RequestKind| {
        let s = &h.schedule;
        let own = h.via_group.is_none()
            && s.principal_id == me
            && s.assignment_type == AssignmentType::Assigned;
        let ends_in = s
            .end_date_time
            .filter(|_| own)
            .map(|e| eligo_core::assignment::ends_in_words(e, now));
        let pending = own
            .then(|| asked.get(&(s.target(), kind)).cloned())
            .flatten();
        let link =
            (own && pending.is_none() && eligo_core::assignment::extendable(s.end_date_time, now))
                .then(|| {
                    format!(
                        "/portal/roles/request-extension?{}&kind={}",
                        super::target_query(&s.target()),
                        s.kind.as_str()
                    )
                });
        (ends_in, link, pending)
    };
    let active = views::holdings(app, caller, ScheduleKind::Active, mine).await?;
    let mut tx = app.store.read().await?;
    let mut targets = Targets::default();

    let own_activations: HashSet<AccessTarget> = active
        .iter()
        .filter(|h| {
            h.via_group.is_none() && h.schedule.assignment_type == AssignmentType::Activated
        })
        .map(|h| h.schedule.target())
        .collect();

    let how = |h: &views::Holding| match &h.via_group {
        Some((_, name)) => format!("Via group {name}"),
        None => "Direct".to_string(),
    };

    let mut active_rows = Vec::new();
    for h in &active {
        let s = &h.schedule;
        let target = s.target();
        let activated = s.assignment_type == AssignmentType::Activated;
        let own = activated && h.via_group.is_none() && s.principal_id == me;
        let too_early = own
            .then(|| {
                eligo_core::activation::deactivatable_from(
                    s.start_date_time,
                    now,
                    app.config.min_duration,
                )
            })
            .flatten();
        let (ends_in, extension_link, extension_pending) = given(h, RequestKind::Assignment);
        active_rows.push(RoleRow {
            target: targets.view(&mut *tx, &target, me).await?,
            query: super::target_query(&target),
            hidden: target_fields(&target),
            start: TimeView::of(s.start_date_time),
            end: s.end_date_time.map(TimeView::of),
            current: s.is_current(now),
            how: how(h),
            kind: if activated { "Activated" } else { "Assigned" },
            can_activate: false,
            already_active: false,
            pending: None,
            can_deactivate: own && too_early.is_none(),
            deactivate_from: too_early.map(|from| {
                format!(
                    "You can deactivate from {}, {} after activating.",
                    crate::notify::templates::format_time(from),
                    eligo_core::duration_words::in_words(app.config.min_duration)
                )
            }),
            can_extend: own && s.end_date_time.is_some_and(|e| e - now <= EXTEND_WINDOW),
            ends_in,
            extension_link,
            extension_pending,
        });
    }

    let mut mfa_demanded = false;
    let mut eligible_rows = Vec::new();
    for h in &eligible {
        let s = &h.schedule;
        let target = s.target();
        if let Some(t) = targets.get(&mut *tx, &target, me).await? {
            mfa_demanded |= super::demands_mfa(&t);
        }
        let already_active = own_activations.contains(&target);
        let pending = waiting.get(&target).cloned();
        let (ends_in, extension_link, extension_pending) = given(h, RequestKind::Eligibility);
        eligible_rows.push(RoleRow {
            target: targets.view(&mut *tx, &target, me).await?,
            query: super::target_query(&target),
            hidden: target_fields(&target),
            start: TimeView::of(s.start_date_time),
            end: s.end_date_time.map(TimeView::of),
            current: s.is_current(now),
            how: how(h),
            kind: "Eligible",
            can_activate: s.is_current(now) && !already_active && pending.is_none(),
            already_active,
            pending,
            can_deactivate: false,
            deactivate_from: None,
            can_extend: false,
            ends_in,
            extension_link,
            extension_pending,
        });
    }

    // Own activations that ended within the renewal window, once per target, unless the same
    // target is active again.
    let mut history = tx
        .list_role_schedules(&ScheduleQuery {
            kind: Some(ScheduleKind::Active),
            principal_ids: Some(vec![me]),
            targets: Which::All,
            ..Default::default()
        })
        .await?;
    history.retain(|s| {
        s.assignment_type == AssignmentType::Activated
            && s.end_date_time
                .is_some_and(|e| e <= now && now - e <= RENEW_WINDOW && e != s.start_date_time)
    });
    history.sort_by_key(|s| std::cmp::Reverse(s.end_date_time));
    let mut seen = own_activations.clone();
    let mut ended_rows = Vec::new();
    for s in &history {
        let target = s.target();
        if !seen.insert(target.clone()) {
            continue;
        }
        ended_rows.push(RoleRow {
            target: targets.view(&mut *tx, &target, me).await?,
            query: super::target_query(&target),
            hidden: target_fields(&target),
            start: TimeView::of(s.start_date_time),
            end: s.end_date_time.map(TimeView::of),
            current: false,
            how: "Direct".to_string(),
            kind: "Activated",
            can_activate: false,
            already_active: false,
            pending: None,
            can_deactivate: false,
            deactivate_from: None,
            can_extend: false,
            ends_in: None,
            extension_link: None,
            extension_pending: None,
        });
    }
    drop(tx);

    let mfa_banner = mfa_demanded && !has_authenticator(app, me).await?;
    Ok(RolesPage {
        chrome: viewer.chrome(Section::MyRoles),
        active: active_rows,
        eligible: eligible_rows,
        ended: ended_rows,
        mfa_banner,
        errors,
    })
}

pub async fn page(State(app): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let page = build(&app, &viewer, FieldErrors::new()).await?;
    Ok(render_status(StatusCode::OK, &page))
}

pub async fn deactivate(
    State(app): State<AppState>,
    posted: Posted<TargetFields>,
) -> PageResult<Response> {
    let Posted { viewer, form } = posted;
    let target = form.target()?;
    let (role_definition_id, directory_scope_id) = target.fields();
    let new = submit::NewRequest {
        kind: RequestKind::Assignment,
        action: RequestAction::SelfDeactivate,
        principal_id: viewer.caller.id,
        role_definition_id,
        directory_scope_id,
        justification: None,
        ticket: None,
        schedule_info: None,
        is_validation_only: false,
    };
    match submit::submit(&app, &viewer.caller, new).await {
        Ok(_) => {
            let mut tx = app.store.read().await?;
            let view = Targets::default()
                .view(&mut *tx, &target, viewer.caller.id)
                .await?;
            drop(tx);
            let what = if view.is_group {
                format!("Your {} has ended.", view.phrase)
            } else {
                format!("{} is deactivated.", view.name)
            };
            Ok(redirect_with(&app, "/portal/roles", Flash::success(what)))
        }
        Err(e) if e.status().is_client_error() => {
            let mut errors = FieldErrors::new();
            errors.absorb(&e, |_| None);
            let status = e.status();
            let page = build(&app, &viewer, errors).await?;
            Ok(render_status(status, &page))
        }
        Err(e) => Err(e.into()),
    }
}
