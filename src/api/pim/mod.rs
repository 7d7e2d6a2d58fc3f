//! PIM for directory roles, shaped like Graph's `roleManagement/directory` resources.

pub mod approvals;
pub mod requests;
pub mod schedules;
pub mod shape;

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(requests::routes())
        .merge(schedules::routes())
        .merge(approvals::routes())
}
