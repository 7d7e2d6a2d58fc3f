//! `/v1/identityGovernance/entitlementManagement`: catalogs, resources, access packages and
//! their assignment policies, shaped like Graph's entitlement management. Handlers parse and
//! shape; the use cases in `service::entitlement` decide and write.

pub(crate) mod approvals;
mod assignments;
mod catalogs;
mod extensions;
mod packages;
mod policies;
pub(crate) mod shape;

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

pub const BASE: &str = "/v1/identityGovernance/entitlementManagement";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(approvals::routes())
        .merge(assignments::routes())
        .merge(catalogs::routes())
        .merge(extensions::routes())
        .merge(packages::routes())
        .merge(policies::routes())
}
