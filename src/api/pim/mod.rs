//! PIM for directory roles, shaped like Graph's `roleManagement/directory` resources, and PIM
//! for Groups (`identityGovernance/privilegedAccess/group`): the same handlers, parameterized by
//! [`Family`], over the same use cases.

pub mod approvals;
pub mod groups;
pub mod requests;
pub mod schedules;
pub mod shape;

use eligo_core::filter::Filter;
use eligo_core::target::{GroupAccess, Target, group_scope};
use eligo_store::Targets;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::api::odata::{self, EQ};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// Which PIM API a request came through: directory roles or groups. Each sees only its own
/// requests, schedules and approvals, and names the target its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Roles,
    Groups,
}

const ROLE_FILTERS: odata::Allowed = &[
    ("principalId", EQ),
    ("roleDefinitionId", EQ),
    ("directoryScopeId", EQ),
    ("status", EQ),
];
const GROUP_FILTERS: odata::Allowed = &[
    ("principalId", EQ),
    ("groupId", EQ),
    ("accessId", EQ),
    ("status", EQ),
];

impl Family {
    pub fn targets(self) -> Targets {
        match self {
            Family::Roles => Targets::Roles,
            Family::Groups => Targets::Groups,
        }
    }

    /// The `$filter` fields this family's request collections accept.
    pub fn filters(self) -> odata::Allowed<'static> {
        match self {
            Family::Roles => ROLE_FILTERS,
            Family::Groups => GROUP_FILTERS,
        }
    }

    /// The same without `status` (schedules and instances have none to filter on).
    pub fn schedule_filters(self) -> odata::Allowed<'static> {
        let all = self.filters();
        &all[..all.len() - 1]
    }

    pub fn owns(self, target: &Target) -> bool {
        target.is_group() == (self == Family::Groups)
    }

    /// The `(role_definition_id, directory_scope_id)` a `$filter` narrows to, in the role
    /// fields where group accesses are stored (see `eligo_core::target`).
    pub fn target_filter(self, f: &Filter) -> ApiResult<(Option<Uuid>, Option<String>)> {
        match self {
            Family::Roles => Ok((
                odata::eq_text(f, "roleDefinitionId")?
                    .map(|id| odata::parse_id(&id, "roleDefinitionId"))
                    .transpose()?,
                odata::eq_text(f, "directoryScopeId")?,
            )),
            Family::Groups => {
                let access = odata::eq_text(f, "accessId")?
                    .map(|a| {
                        GroupAccess::parse(&a).ok_or_else(|| {
                            ApiError::bad_request(
                                "Request_UnsupportedQuery",
                                "accessId is member or owner",
                            )
                        })
                    })
                    .transpose()?;
                let group = odata::eq_text(f, "groupId")?
                    .map(|id| odata::parse_id(&id, "groupId"))
                    .transpose()?;
                Ok((access.map(GroupAccess::role_id), group.map(group_scope)))
            }
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(requests::routes())
        .merge(schedules::routes())
        .merge(approvals::routes())
        .merge(groups::routes())
}

/// Graph's `filterByCurrentUser(on='...')` function segment: Some(on) when `segment` is one
/// (quotes may arrive percent-decoded or not), None for anything else.
pub fn filter_by_current_user(segment: &str) -> crate::error::ApiResult<Option<String>> {
    let Some(args) = segment
        .strip_prefix("filterByCurrentUser(")
        .and_then(|s| s.strip_suffix(')'))
    else {
        return Ok(None);
    };
    let on = args
        .strip_prefix("on=")
        .map(|v| v.trim_matches('\''))
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            crate::error::ApiError::bad_request(
                "Request_BadRequest",
                "filterByCurrentUser takes on='principal' (or on='approver' for requests)",
            )
        })?;
    Ok(Some(on.to_string()))
}
