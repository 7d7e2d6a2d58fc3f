//! Who may approve a stage of an access package assignment request, resolved against the
//! directory as it is now. Below both the approval use case (`approve`) and the notices that
//! tell approvers (`crate::service::entitlement::notices`).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use eligo_core::approval::StageApprovers;
use eligo_core::directory::PrincipalKind;
use eligo_core::entitlement::approval::ApprovalStage;
use eligo_core::entitlement::request::AssignmentRequest;
use eligo_core::entitlement::subject_set::SubjectSet;
use uuid::Uuid;

use crate::app::App;
use crate::service::entitlement::requestable::facts_of;

/// Who never approves a request: whoever filed it and whom it is for.
pub(crate) fn excluded(request: &AssignmentRequest) -> Vec<Uuid> {
    vec![request.requestor_id, request.target_id]
}

/// The approvers of stage `index` as they are at `now`.
pub(crate) fn approvers_of(
    app: &App,
    request: &AssignmentRequest,
    stage: &ApprovalStage,
    now: DateTime<Utc>,
) -> StageApprovers {
    let managers = match app.access.principal(request.target_id) {
        Some((kind, _)) => facts_of(app, request.target_id, kind).managers,
        None => Vec::new(),
    };
    let resolve = |sets: &[SubjectSet]| -> BTreeSet<Uuid> {
        let mut out = BTreeSet::new();
        for set in sets {
            match set {
                SubjectSet::SingleUser { user_id, .. } => {
                    out.insert(*user_id);
                }
                SubjectSet::GroupMembers { group_id, .. } => {
                    for m in app.access.members_of(*group_id, now) {
                        if let Ok(id) = Uuid::parse_str(&m.principal)
                            && matches!(app.access.principal(id), Some((PrincipalKind::User, _)))
                        {
                            out.insert(id);
                        }
                    }
                }
                SubjectSet::RequestorManager { manager_level } => {
                    if let Some(m) = managers.get(usize::from(*manager_level).saturating_sub(1)) {
                        out.insert(*m);
                    }
                }
                // Sponsors are not kept; the other sets are refused when a policy is saved.
                _ => {}
            }
        }
        // Nobody who may not approve anyway makes a set "resolve to someone".
        for who in excluded(request) {
            out.remove(&who);
        }
        out
    };
    let with_fallback = |primary: &[SubjectSet], fallback: &[SubjectSet]| {
        let first = resolve(primary);
        if first.is_empty() {
            resolve(fallback)
        } else {
            first
        }
    };
    StageApprovers {
        primary: with_fallback(&stage.primary_approvers, &stage.fallback_primary_approvers),
        escalation: if stage.is_escalation_enabled {
            with_fallback(
                &stage.escalation_approvers,
                &stage.fallback_escalation_approvers,
            )
        } else {
            BTreeSet::new()
        },
    }
}
