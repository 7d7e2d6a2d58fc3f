//! Who a principal is and what it holds. What it holds now is answered by the effective-access
//! index (`live`), which evaluates every window at the moment of the question, so access that
//! has ended never grants, even before any expiry job runs. `check` and `exposure` shape its
//! answers for the API.

use chrono::{DateTime, Utc};
use eligo_core::directory::{PrincipalKind, Relation};
use eligo_store::{Principal, ScheduleQuery, Targets, Tx};
use uuid::Uuid;

use crate::failure::UseCaseResult;

pub mod check;
pub mod exposure;
pub mod feed;
pub mod live;
pub mod privilege;
mod schedule_batch;

pub struct PrincipalSummary {
    pub kind: PrincipalKind,
    pub display_name: String,
    pub upn: Option<String>,
    pub enabled: bool,
}

pub async fn principal_summary(
    tx: &mut dyn Tx,
    id: Uuid,
) -> UseCaseResult<Option<PrincipalSummary>> {
    // One statement (kind and data together): this is read on every activation and approval.
    let found = tx.get_principals(&[id]).await?.into_iter().next();
    Ok(found.map(|p| match p {
        Principal::User(u) => PrincipalSummary {
            kind: PrincipalKind::User,
            display_name: u.display_name,
            upn: Some(u.user_principal_name),
            enabled: u.account_enabled,
        },
        Principal::ServicePrincipal(s) => PrincipalSummary {
            kind: PrincipalKind::ServicePrincipal,
            display_name: s.display_name,
            upn: None,
            enabled: s.account_enabled,
        },
        Principal::Group(g) => PrincipalSummary {
            kind: PrincipalKind::Group,
            display_name: g.display_name,
            upn: None,
            enabled: false,
        },
    }))
}

/// Does `principal` hold or could it activate any role (directly or via a group)? Such users'
/// credentials are protected from ordinary user administrators.
pub async fn is_privileged(
    tx: &mut dyn Tx,
    principal: Uuid,
    now: DateTime<Utc>,
) -> UseCaseResult<bool> {
    let mut holders = vec![principal];
    holders.extend(tx.groups_of_principal(principal, Relation::Member).await?);
    let query = ScheduleQuery {
        principal_ids: Some(holders),
        targets: Targets::Roles,
        ..Default::default()
    };
    let schedules = tx.list_role_schedules(&query).await?;
    Ok(schedules
        .iter()
        .any(|s| s.end_date_time.is_none_or(|end| now < end)))
}
