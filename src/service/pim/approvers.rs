//! Who may approve a PIM request's step: the policy's approvers resolved against the directory
//! as it is now, or the role administrators by default. Below both the approval use case
//! (`approve`) and the notices that tell approvers (`crate::service::notices`).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use eligo_core::approval::{StageApprovers, Step};
use eligo_core::directory::PrincipalKind;
use eligo_core::policy::Approver;
use eligo_core::request::ScheduleRequest;
use eligo_core::roles::ids;
use eligo_store::Tx;
use uuid::Uuid;

use crate::failure::UseCaseResult;
use crate::service::access::live::LiveIndex;

/// The requester and whoever filed the request for them: never approvers of it.
pub fn requester(request: &ScheduleRequest) -> Vec<Uuid> {
    vec![request.principal_id, request.created_by]
}

pub async fn approvers_of(
    tx: &mut dyn Tx,
    live: &LiveIndex,
    request: &ScheduleRequest,
    step: &Step,
    now: DateTime<Utc>,
) -> UseCaseResult<StageApprovers> {
    let mut primary = resolve(tx, live, request, &step.settings.primary_approvers, now).await?;
    if step.settings.primary_approvers.is_empty() {
        primary = role_administrators(live, now);
    }
    let escalation = resolve(tx, live, request, &step.settings.escalation_approvers, now).await?;
    Ok(StageApprovers {
        primary,
        escalation,
    })
}

async fn resolve(
    tx: &mut dyn Tx,
    live: &LiveIndex,
    request: &ScheduleRequest,
    approvers: &[Approver],
    now: DateTime<Utc>,
) -> UseCaseResult<BTreeSet<Uuid>> {
    let mut out = BTreeSet::new();
    for approver in approvers {
        match approver {
            Approver::SingleUser { user_id, .. } => {
                out.insert(*user_id);
            }
            Approver::GroupMembers { group_id, .. } => {
                for member in live.members_of(*group_id, now) {
                    if let Ok(id) = Uuid::parse_str(&member.principal)
                        && matches!(live.principal(id), Some((PrincipalKind::User, _)))
                    {
                        out.insert(id);
                    }
                }
            }
            Approver::RequestorManager { .. } => {
                if let Some(manager) = tx
                    .get_user(request.principal_id)
                    .await?
                    .and_then(|u| u.manager_id)
                {
                    out.insert(manager);
                }
            }
        }
    }
    Ok(out)
}

/// Users who hold Global Administrator or Privileged Role Administrator now, directly or
/// through a role-assignable group (also through an activated membership): the default
/// approvers. Roles are held at `/` or below; only a directory-wide holder counts.
pub fn role_administrators(live: &LiveIndex, now: DateTime<Utc>) -> BTreeSet<Uuid> {
    let mut out = BTreeSet::new();
    for role in [
        ids::GLOBAL_ADMINISTRATOR,
        ids::PRIVILEGED_ROLE_ADMINISTRATOR,
    ] {
        let role = Uuid::parse_str(role).expect("built-in role ids are GUIDs");
        let (active, _) = live.exposure(role, now);
        for holding in active {
            let Ok(id) = Uuid::parse_str(&holding.principal) else {
                continue;
            };
            if holding.path.scope == eligo_core::scope::ROOT
                && matches!(live.principal(id), Some((PrincipalKind::User, _)))
            {
                out.insert(id);
            }
        }
    }
    out
}
