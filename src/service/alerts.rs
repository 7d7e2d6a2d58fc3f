//! Security alerts Eligo raised (members added outside Eligo, a downstream connector that keeps
//! failing): who may read them, and resolving or reopening one with its audit entry.

use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::actions;
use eligo_store::{AlertRow, Page};
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

/// Resolves (`resolved`) or reopens (`active`) an alert. `id` as parsed from the request: a
/// malformed one is answered only to a caller who may change alerts, so a refused caller gets
/// its 403 whatever it sent.
pub async fn update(
    app: &App,
    caller: &Caller,
    id: UseCaseResult<Uuid>,
    status: &str,
) -> UseCaseResult<AlertRow> {
    authorize::audited(
        app,
        caller,
        "Update security alert",
        Category::Policy,
        async {
            authorize::act(app, caller, actions::ALERTS_UPDATE, false)?;
            let id = id?;
            if !["active", "resolved"].contains(&status) {
                return Err(Failure::bad_request(
                    "Request_BadRequest",
                    "status must be active or resolved",
                )
                .with_detail("InvalidValue", "status"));
            }
            let now = app.clock.now();
            let mut tx = app.store.write().await?;
            let mut row = tx
                .get_alert(id)
                .await?
                .ok_or_else(|| Failure::not_found("alert"))?;
            let old_status = row.status.clone();
            row.status = status.to_string();
            if status == "resolved" {
                // A resolved alert frees its key, so the next episode raises a new one.
                row.dedupe_key = None;
                if let Some(data) = row.data.as_object_mut() {
                    data.insert("resolvedDateTime".into(), json!(now));
                    data.insert("resolvedBy".into(), json!(caller.id));
                }
            }
            tx.update_alert(&row).await?;
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::Policy,
                    "Update security alert",
                    caller.initiator(),
                )
                .target(id, "Alert", Some(&row.kind))
                .modified("status", old_status, status)
                .detail("status", status.to_string()),
            )
            .await?;
            tx.commit().await?;
            Ok(row)
        },
    )
    .await
}

/// Reads alerts for a caller who may: obtained from [`reader`] only, so nothing reads them
/// without the decision. The handler parses its request in between, so a refused caller gets
/// its 403 whatever it sent.
pub struct Reader<'a> {
    app: &'a App,
}

pub fn reader<'a>(app: &'a App, caller: &Caller) -> UseCaseResult<Reader<'a>> {
    authorize::act(app, caller, actions::ALERTS_READ, false)?;
    Ok(Reader { app })
}

impl Reader<'_> {
    /// Newest first, optionally only one status.
    pub async fn list(&self, status: Option<&str>, page: Page) -> UseCaseResult<Vec<AlertRow>> {
        Ok(self
            .app
            .store
            .read()
            .await?
            .list_alerts(status, page)
            .await?)
    }

    pub async fn get(&self, id: Uuid) -> UseCaseResult<AlertRow> {
        self.app
            .store
            .read()
            .await?
            .get_alert(id)
            .await?
            .ok_or_else(|| Failure::not_found("alert"))
    }
}
