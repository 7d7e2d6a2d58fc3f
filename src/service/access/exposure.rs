//! The exposure report: for one role, everyone who holds it now, could activate it, or reaches
//! it through groups — the "who can become Global Administrator" question, answered from the
//! live index.
//!
//! Each entry is marked:
//! - `standing`: holds it now through an administrator's assignment (permanent or timebound);
//! - `active`: holds it now through an activation — of the role itself, or of a membership in a
//!   role-assignable group that holds it (a bounded link on the way);
//! - `eligible`: could activate it: eligible for the role (directly or through a group), or
//!   eligible for membership of a role-assignable group that holds it or is eligible for it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use eligo_core::access::Holding;
use eligo_core::authz::actions;
use eligo_core::target::{GroupAccess, group_scope};
use serde::Serialize;
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::access::check::Named;
use crate::service::access::live::LiveIndex;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub enum Exposure {
    Standing,
    Active,
    Eligible,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Exposed {
    pub principal_id: String,
    pub display_name: Option<String>,
    pub principal_type: Option<&'static str>,
    pub exposure: Exposure,
    /// The groups from the principal to the holder of the role (or of the eligibility).
    pub via: Vec<Named>,
    pub directory_scope_id: String,
    pub schedule_id: String,
    /// When this way ends if nothing changes; absent: permanent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<DateTime<Utc>>,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub role_definition_id: Uuid,
    pub display_name: String,
    /// Distinct principals per mark.
    pub summary: BTreeMap<&'static str, usize>,
    /// Standing first, then active, then eligible; by principal within each.
    pub value: Vec<Exposed>,
}

pub fn report(app: &App, caller: &Caller, role: Uuid) -> UseCaseResult<Report> {
    crate::service::authorize::act(app, caller, actions::ROLE_ASSIGNMENTS_READ, false)?;
    let live = &app.access;
    let def = live
        .role(role)
        .ok_or_else(|| Failure::not_found("role definition"))?;
    let now = app.clock.now();
    let (holding, eligible) = live.exposure(role, now);
    let mut value = Vec::new();
    let mut holding_groups = Vec::new();
    for h in &holding {
        let schedule = live.schedule(&h.path.assignment_id);
        let activated = schedule.as_ref().is_some_and(|s| s.activated);
        let assignment_end = schedule.as_ref().and_then(|s| s.end);
        // A link on the way ending before the assignment is an activated group membership.
        let bounded_link = h.path.end.is_some() && h.path.end != assignment_end;
        let exposure = if activated || bounded_link {
            Exposure::Active
        } else {
            Exposure::Standing
        };
        if let Ok(id) = Uuid::parse_str(&h.principal)
            && h.path.via.is_empty()
            && live.is_role_assignable(id)
        {
            holding_groups.push(id);
        }
        let what = match exposure {
            Exposure::Active => "holds it now by activation",
            _ => "holds it now",
        };
        value.push(entry(live, h, exposure, what));
    }
    let mut eligible_groups = Vec::new();
    for h in &eligible {
        if let Ok(id) = Uuid::parse_str(&h.principal)
            && h.path.via.is_empty()
            && live.is_role_assignable(id)
        {
            eligible_groups.push(id);
        }
        value.push(entry(live, h, Exposure::Eligible, "can activate it"));
    }
    // Eligible for membership of a group that holds the role: one activation away.
    let members_eligible = live.eligible_for_group_access(GroupAccess::Member, now);
    let groups = holding_groups
        .into_iter()
        .map(|g| (g, "can activate membership of a group that holds it"))
        .chain(
            eligible_groups
                .into_iter()
                .map(|g| (g, "can activate membership of a group that can activate it")),
        );
    for (group, what) in groups {
        let scope = group_scope(group);
        for h in members_eligible.iter().filter(|h| h.path.scope == scope) {
            let mut e = entry(live, h, Exposure::Eligible, what);
            e.via.push(Named {
                id: group.to_string(),
                display_name: live.principal(group).map(|(_, n)| n),
            });
            let group_name = e.via.last().and_then(|g| g.display_name.clone());
            let until = match e.end_date_time {
                Some(end) => format!(" (eligible until {})", end.to_rfc3339()),
                None => String::new(),
            };
            e.description = format!("{what}: '{}'{until}", group_name.unwrap_or_default());
            value.push(e);
        }
    }
    value.sort_by(|a, b| {
        (a.exposure, &a.principal_id, &a.schedule_id).cmp(&(
            b.exposure,
            &b.principal_id,
            &b.schedule_id,
        ))
    });
    let mut summary = BTreeMap::new();
    for (mark, name) in [
        (Exposure::Standing, "standing"),
        (Exposure::Active, "active"),
        (Exposure::Eligible, "eligible"),
    ] {
        let mut ids: Vec<&str> = value
            .iter()
            .filter(|e| e.exposure == mark)
            .map(|e| e.principal_id.as_str())
            .collect();
        ids.dedup();
        summary.insert(name, ids.len());
    }
    let mut all: Vec<&str> = value.iter().map(|e| e.principal_id.as_str()).collect();
    all.sort();
    all.dedup();
    summary.insert("principals", all.len());
    Ok(Report {
        role_definition_id: role,
        display_name: def.display_name,
        summary,
        value,
    })
}

fn entry(live: &LiveIndex, h: &Holding, exposure: Exposure, what: &str) -> Exposed {
    let id = Uuid::parse_str(&h.principal).ok();
    let principal = id.and_then(|id| live.principal(id));
    let names = live.names(&h.path.via);
    let via: Vec<Named> = h
        .path
        .via
        .iter()
        .map(|g| Named {
            id: g.clone(),
            display_name: names.get(g).cloned(),
        })
        .collect();
    let through = match via.last() {
        None => " directly".to_string(),
        Some(g) => format!(
            " through group '{}'",
            g.display_name.as_deref().unwrap_or(&g.id)
        ),
    };
    let until = match h.path.end {
        Some(end) => format!(" until {}", end.to_rfc3339()),
        None => " permanently".into(),
    };
    Exposed {
        principal_id: h.principal.clone(),
        display_name: principal.as_ref().map(|(_, n)| n.clone()),
        principal_type: principal.map(|(k, _)| k.type_name()),
        exposure,
        description: format!("{what} at {}{through}{until}", h.path.scope),
        via,
        directory_scope_id: h.path.scope.clone(),
        schedule_id: h.path.assignment_id.clone(),
        end_date_time: h.path.end,
    }
}
