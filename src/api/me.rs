//! `GET /v1/me`: the calling principal, with what its session proves.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::directory_object;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

#[utoipa::path(get, path = "/v1/me", tag = "me",
    responses((status = 200, description = "The calling principal", body = crate::api::schemas::Me),
        (status = 404, description = "The calling principal no longer exists")))]
async fn me(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let mut tx = app.store.read().await?;
    let mut v = directory_object::load(&mut *tx, caller.id)
        .await?
        .ok_or_else(|| ApiError::not_found("principal"))?;
    v["session"] = json!({
        "amr": caller.session.amr,
        "lastMfaDateTime": caller.session.last_mfa_at,
        "expiresDateTime": caller.session.expires_at,
    });
    Ok(Json(v))
}
