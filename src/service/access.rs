//! What a principal holds now. Role holdings come from active schedules whose window contains
//! `now` — checked here on every read, so access that has ended is never granted even before
//! any expiry job runs — directly or through a role-assignable group the principal is a
//! direct member of (role-assignable groups cannot be nested, so direct membership is all).

use chrono::{DateTime, Utc};
use eligo_core::authz::{Grants, HeldRole};
use eligo_core::directory::{PrincipalKind, Relation};
use eligo_core::schedule::{RoleSchedule, ScheduleKind};
use eligo_store::{ScheduleQuery, Tx};
use uuid::Uuid;

use crate::error::ApiResult;

pub struct PrincipalSummary {
    pub kind: PrincipalKind,
    pub display_name: String,
    pub upn: Option<String>,
    pub enabled: bool,
}

pub async fn principal_summary(tx: &mut dyn Tx, id: Uuid) -> ApiResult<Option<PrincipalSummary>> {
    let Some(kind) = tx.principal_kind(id).await? else {
        return Ok(None);
    };
    Ok(match kind {
        PrincipalKind::User => tx.get_user(id).await?.map(|u| PrincipalSummary {
            kind,
            display_name: u.display_name,
            upn: Some(u.user_principal_name),
            enabled: u.account_enabled,
        }),
        PrincipalKind::ServicePrincipal => {
            tx.get_service_principal(id)
                .await?
                .map(|s| PrincipalSummary {
                    kind,
                    display_name: s.display_name,
                    upn: None,
                    enabled: s.account_enabled,
                })
        }
        PrincipalKind::Group => tx.get_group(id).await?.map(|g| PrincipalSummary {
            kind,
            display_name: g.display_name,
            upn: None,
            enabled: false,
        }),
    })
}

/// The active role schedules that apply to `principal` at `now`, directly or through its
/// role-assignable groups.
pub async fn active_schedules(
    tx: &mut dyn Tx,
    principal: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Vec<RoleSchedule>> {
    let mut holders = vec![principal];
    for group in tx.groups_of_principal(principal, Relation::Member).await? {
        if tx
            .get_group(group)
            .await?
            .is_some_and(|g| g.is_assignable_to_role)
        {
            holders.push(group);
        }
    }
    let query = ScheduleQuery {
        kind: Some(ScheduleKind::Active),
        principal_ids: Some(holders),
        ..Default::default()
    };
    let mut schedules = tx.list_role_schedules(&query).await?;
    schedules.retain(|s| s.is_current(now));
    Ok(schedules)
}

pub async fn grants_of(tx: &mut dyn Tx, principal: Uuid, now: DateTime<Utc>) -> ApiResult<Grants> {
    let mut roles = Vec::new();
    for schedule in active_schedules(tx, principal, now).await? {
        // A disabled or vanished role definition grants nothing.
        if let Some(def) = tx.get_role_definition(schedule.role_definition_id).await?
            && def.is_enabled
        {
            roles.push(HeldRole {
                actions: def.actions().map(String::from).collect(),
                scope: schedule.directory_scope_id,
            });
        }
    }
    Ok(Grants { roles })
}

/// Does `principal` hold or could it activate any role (directly or via a group)? Such users'
/// credentials are protected from ordinary user administrators.
pub async fn is_privileged(
    tx: &mut dyn Tx,
    principal: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let mut holders = vec![principal];
    holders.extend(tx.groups_of_principal(principal, Relation::Member).await?);
    let query = ScheduleQuery {
        principal_ids: Some(holders),
        ..Default::default()
    };
    let schedules = tx.list_role_schedules(&query).await?;
    Ok(schedules
        .iter()
        .any(|s| s.end_date_time.is_none_or(|end| now < end)))
}
