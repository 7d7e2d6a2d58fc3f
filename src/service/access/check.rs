//! `GET|POST /v1/access/check`: "does P hold role R at scope S now, and how?" and "is P a member
//! (owner) of group G now, and how?", answered from the live index with every path spelled out.
//!
//! Unknown ids: the single check answers 404 for an unknown principal, role or group (a typo
//! should not read as "no access"); the batch answers such an item with `allowed: false` and an
//! `error`, so one stale id does not sink a thousand questions.

use chrono::{DateTime, Utc};
use eligo_core::access::{Decision, Membership, Path};
use eligo_core::authz::actions;
use eligo_core::directory::PrincipalKind;
use eligo_core::target::GroupAccess;
use serde::Serialize;
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};

use super::live::LiveIndex;

/// One question.
#[derive(Debug, Clone, PartialEq)]
pub enum Question {
    Role {
        principal: Uuid,
        role: Uuid,
        scope: String,
    },
    Group {
        principal: Uuid,
        group: Uuid,
        access: GroupAccess,
    },
}

impl Question {
    fn principal(&self) -> Uuid {
        match self {
            Question::Role { principal, .. } | Question::Group { principal, .. } => *principal,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Named {
    pub id: String,
    pub display_name: Option<String>,
}

/// One way the access comes.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessPath {
    /// `directAssignment` or `activation` (a role), `directMembership` or `nestedMembership`,
    /// `directOwnership` or `activatedOwnership` (a group).
    pub kind: &'static str,
    /// The schedule behind it, when one is (an assignment, an activation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<String>,
    /// For a role: the scope the assignment was given at (it covers the scope asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_scope_id: Option<String>,
    /// The groups from the principal up to the holder (or up to the group asked about), in
    /// order; empty when the principal holds it itself.
    pub via: Vec<Named>,
    /// When this path ends if nothing changes (the earliest end along it); absent: permanent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<DateTime<Utc>>,
    /// The path in words, for people.
    pub description: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    pub paths: Vec<AccessPath>,
}

/// Who may ask: anyone about themselves; about others, readers of role assignments (roles) or
/// of groups (group access).
fn authorize(caller: &Caller, question: &Question) -> UseCaseResult<()> {
    if question.principal() == caller.id {
        return Ok(());
    }
    match question {
        Question::Role { .. } => Ok(crate::service::authorize::permits(
            caller,
            actions::ROLE_ASSIGNMENTS_READ,
        )?),
        Question::Group { .. } => Ok(crate::service::authorize::permits(
            caller,
            actions::GROUPS_READ,
        )?),
    }
}

/// The single check: 404 for an unknown principal, role or group.
pub fn check(app: &App, caller: &Caller, question: &Question) -> UseCaseResult<Answer> {
    authorize(caller, question)?;
    answer(&app.access, question, app.clock.now())
}

/// The batch: every question authorized first (one refusal refuses the batch, nothing is
/// answered), then each answered; unknown ids become per-item errors.
pub fn check_many(
    app: &App,
    caller: &Caller,
    questions: &[Question],
) -> UseCaseResult<Vec<Result<Answer, Failure>>> {
    for q in questions {
        authorize(caller, q)?;
    }
    let now = app.clock.now();
    Ok(questions
        .iter()
        .map(|q| answer(&app.access, q, now))
        .collect())
}

fn answer(live: &LiveIndex, question: &Question, now: DateTime<Utc>) -> UseCaseResult<Answer> {
    if live.principal(question.principal()).is_none() {
        return Err(Failure::not_found("principal"));
    }
    match question {
        Question::Role {
            principal,
            role,
            scope,
        } => {
            if live.role(*role).is_none() {
                return Err(Failure::not_found("role definition"));
            }
            let decision = live.check_role(*principal, *role, scope, now);
            Ok(role_answer(live, decision))
        }
        Question::Group {
            principal,
            group,
            access,
        } => {
            if !matches!(live.principal(*group), Some((PrincipalKind::Group, _))) {
                return Err(Failure::not_found("group"));
            }
            Ok(match access {
                GroupAccess::Member => {
                    membership_answer(live, live.member_of(*principal, *group, now))
                }
                GroupAccess::Owner => owner_answer(live, live.owner_of(*principal, *group, now)),
            })
        }
    }
}

fn named(live: &LiveIndex, ids: &[String]) -> Vec<Named> {
    let names = live.names(ids);
    ids.iter()
        .map(|id| Named {
            id: id.clone(),
            display_name: names.get(id).cloned(),
        })
        .collect()
}

fn through(via: &[Named]) -> String {
    if via.is_empty() {
        return ", held directly".into();
    }
    let chain: Vec<String> = via
        .iter()
        .map(|g| format!("'{}'", g.display_name.as_deref().unwrap_or(&g.id)))
        .collect();
    format!(", through group {}", chain.join(" then "))
}

fn until(end: Option<DateTime<Utc>>) -> String {
    match end {
        Some(end) => format!(", until {}", end.to_rfc3339()),
        None => ", permanently".into(),
    }
}

fn role_answer(live: &LiveIndex, decision: Decision) -> Answer {
    let paths = decision
        .paths
        .iter()
        .map(|p: &Path| {
            let schedule = live.schedule(&p.assignment_id);
            let activated = schedule.is_some_and(|s| s.activated);
            let kind = if activated {
                "activation"
            } else {
                "directAssignment"
            };
            let via = named(live, &p.via);
            let what = if activated {
                "activation"
            } else {
                "active assignment"
            };
            AccessPath {
                kind,
                schedule_id: Some(p.assignment_id.clone()),
                directory_scope_id: Some(p.scope.clone()),
                description: format!("{what} at {}{}{}", p.scope, through(&via), until(p.end)),
                via,
                end_date_time: p.end,
            }
        })
        .collect();
    Answer {
        allowed: decision.allowed,
        expires_at: decision.expires_at,
        paths,
    }
}

fn membership_answer(live: &LiveIndex, m: Membership) -> Answer {
    if !m.member {
        return Answer {
            allowed: false,
            expires_at: None,
            paths: Vec::new(),
        };
    }
    let via = named(live, &m.via);
    let kind = if via.len() <= 1 {
        "directMembership"
    } else {
        "nestedMembership"
    };
    let description = if via.len() <= 1 {
        format!("member{}", until(m.end))
    } else {
        let chain: Vec<String> = via[..via.len() - 1]
            .iter()
            .map(|g| format!("'{}'", g.display_name.as_deref().unwrap_or(&g.id)))
            .collect();
        format!(
            "member through nested group {}{}",
            chain.join(" then "),
            until(m.end)
        )
    };
    Answer {
        allowed: true,
        expires_at: m.end,
        paths: vec![AccessPath {
            kind,
            schedule_id: None,
            directory_scope_id: None,
            via,
            end_date_time: m.end,
            description,
        }],
    }
}

fn owner_answer(live: &LiveIndex, decision: Decision) -> Answer {
    let paths = decision
        .paths
        .iter()
        .map(|p| {
            let schedule = live.schedule(&p.assignment_id);
            let (kind, schedule_id) = match schedule {
                Some(s) => ("activatedOwnership", Some(s.id.to_string())),
                None => ("directOwnership", None),
            };
            AccessPath {
                kind,
                schedule_id,
                directory_scope_id: None,
                via: named(live, &p.via),
                end_date_time: p.end,
                description: format!("owner{}", until(p.end)),
            }
        })
        .collect();
    Answer {
        allowed: decision.allowed,
        expires_at: decision.expires_at,
        paths,
    }
}
