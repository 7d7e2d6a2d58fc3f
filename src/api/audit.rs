//! `/v1/auditLogs/*`: the audit trail, newest first, filtered and paged; and its verification.
//! There is deliberately no endpoint that changes or deletes an entry.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use eligo_core::audit::Category;
use eligo_core::filter::Op;
use eligo_store::AuditQuery;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::odata::{self, EQ, RANGE};
use crate::api::schemas::{self, Collection};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::service::audit;
// The chain walk moved to the service; `eligo audit verify` and the benches still name it here.
pub use crate::service::audit::verify_chain;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(verify))
        .routes(routes!(checkpoint_key))
}

fn query_from(opts: &odata::ListOptions) -> ApiResult<AuditQuery> {
    let f = &opts.filter;
    odata::one_of(f, &["initiatedBy/user/id", "initiatedBy/app/id"])?;
    odata::one_of(f, &["targetResources/any/id", "targetId"])?;
    let category = match odata::eq_text(f, "category")? {
        None => None,
        Some(c) => Some(
            Category::parse(&c)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "Request_UnsupportedQuery",
                        format!("unknown category '{c}'"),
                    )
                })?
                .as_str()
                .to_string(),
        ),
    };
    let initiator = match odata::eq_text(f, "initiatedBy/user/id")?
        .or(odata::eq_text(f, "initiatedBy/app/id")?)
    {
        None => None,
        Some(id) => Some(odata::parse_id(&id, "initiatedBy")?),
    };
    let target = odata::eq_text(f, "targetResources/any/id")?.or(odata::eq_text(f, "targetId")?);
    let mut q = AuditQuery {
        category,
        activity: odata::eq_text(f, "activityDisplayName")?,
        initiator_id: initiator,
        target_id: target,
        ..Default::default()
    };
    for c in f.on("activityDateTime") {
        let t = c.value.as_datetime().ok_or_else(|| {
            ApiError::bad_request(
                "Request_UnsupportedQuery",
                "activityDateTime compares with a date-time such as 2026-11-22T10:00:00Z",
            )
        })?;
        match c.op {
            Op::Ge => q.since = Some(t),
            Op::Gt => q.since = Some(t + chrono::TimeDelta::microseconds(1)),
            Op::Le => q.until = Some(t),
            Op::Lt => q.until = Some(t - chrono::TimeDelta::microseconds(1)),
            Op::Eq => {
                q.since = Some(t);
                q.until = Some(t);
            }
            _ => {}
        }
    }
    Ok(q)
}

#[utoipa::path(get, path = "/v1/auditLogs/directoryAudits", tag = "audit",
    params(("$filter" = Option<String>, Query, description = "category, activityDisplayName, initiatedBy/user/id, initiatedBy/app/id, targetId: eq; targetResources/any(t: t/id eq '...'); activityDateTime: ge, gt, le, lt, eq; conditions joined by `and` (a field once, a date-time range by one lower and one upper bound)",
               pattern = r"^(category eq '(RoleManagement|GroupManagement|UserManagement|ApplicationManagement|Policy|Authentication|EntitlementManagement)'|activityDisplayName eq '[^'\u0000-\u001f]{0,64}'|initiatedBy/(user|app)/id eq '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'|targetId eq '[^'\u0000-\u001f]{0,64}'|targetResources/any\(t: t/id eq '[^'\u0000-\u001f]{0,64}'\)|activityDateTime (ge|gt|le|lt|eq) 20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z)$"),
           ("$top" = Option<i64>, Query), ("$skiptoken" = Option<String>, Query)),
    responses((status = 200, description = "Audit entries, newest first", body = Collection<schemas::AuditEntry>)))]
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    uri: Uri,
    odata::Pairs(q): odata::Pairs,
) -> ApiResult<Json<Value>> {
    let trail = audit::reader(&app, &caller)?;
    let opts = odata::parse_list_options(
        &q,
        &[
            ("category", EQ),
            ("activityDisplayName", EQ),
            ("initiatedBy/user/id", EQ),
            ("initiatedBy/app/id", EQ),
            ("targetResources/any/id", EQ),
            ("targetId", EQ),
            ("activityDateTime", RANGE),
        ],
    )?;
    let query = query_from(&opts)?;
    let rows = trail.list(&query, odata::probe(opts.page)).await?;
    Ok(Json(odata::collection(&uri, opts.page, rows)))
}

#[utoipa::path(get, path = "/v1/auditLogs/verify", tag = "audit",
    responses((status = 200, description = "{valid, entries, headHash, firstBadSequence?}", body = schemas::AuditVerdict),
        (status = 429, description = "TooManyRequests: a full walk started less than ELIGO_AUDIT_VERIFY_INTERVAL ago on this server; try again after `Retry-After` (callers during a walk share it)")))]
async fn verify(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let verdict = audit::reader(&app, &caller)?.verify().await?;
    Ok(Json(json!(verdict)))
}

#[utoipa::path(get, path = "/v1/auditLogs/checkpointKey", tag = "audit",
    responses((status = 200, description = "{algorithm: Ed25519, publicKey (base64)}: the key that signs audit checkpoints", body = schemas::CheckpointKey)))]
async fn checkpoint_key(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let key = audit::reader(&app, &caller)?.checkpoint_key()?;
    Ok(Json(json!({ "algorithm": "Ed25519", "publicKey": key })))
}
