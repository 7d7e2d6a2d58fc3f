//! Inbound SCIM provisioning clients: a credential of its own kind. A Global Administrator
//! creates one (the token is shown once and stored only as a hash) and revokes it; both are
//! audited. A client's token is accepted only under `/scim/v2` (see `api::scim::auth`), and a
//! session or API token never there.

use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::actions;
use eligo_core::directory as dir;
use eligo_store::ScimClientRow;
use uuid::Uuid;

use crate::app::App;
use crate::auth::{Caller, token};
use crate::failure::{Failure, UseCaseResult};
use crate::service::authorize;

/// A new client with its token, which exists only in this answer.
pub struct Created {
    pub client: ScimClientRow,
    pub token: String,
}

pub async fn create(app: &App, caller: &Caller, display_name: String) -> UseCaseResult<Created> {
    authorize::audited(
        app,
        caller,
        "Add SCIM client",
        Category::ApplicationManagement,
        async {
            authorize::act(app, caller, actions::SCIM_CLIENTS_UPDATE, true)?;
            dir::validate_display_name(&display_name)?;
            let now = app.clock.now();
            let token = token::generate("scim_");
            let client = ScimClientRow {
                id: Uuid::new_v4(),
                display_name,
                token_hash: token::digest(&token),
                created_by: Some(caller.id),
                created_at: now,
                revoked_at: None,
            };
            let mut tx = app.store.write().await?;
            tx.insert_scim_client(&client).await?;
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::ApplicationManagement,
                    "Add SCIM client",
                    caller.initiator(),
                )
                .target(client.id, "ScimClient", Some(&client.display_name))
                .modified("displayName", "", client.display_name.clone())
                .modified_secret("token"),
            )
            .await?;
            tx.commit().await?;
            Ok(Created { client, token })
        },
    )
    .await
}

pub async fn list(app: &App, caller: &Caller) -> UseCaseResult<Vec<ScimClientRow>> {
    authorize::permits(caller, actions::SCIM_CLIENTS_READ)?;
    let mut tx = app.store.read().await?;
    Ok(tx.list_scim_clients().await?)
}

/// Revokes the client's token at once: its next request is refused (401). The objects it
/// provisioned stay, still marked with it as their source.
pub async fn revoke(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    authorize::audited(
        app,
        caller,
        "Revoke SCIM client",
        Category::ApplicationManagement,
        async {
            authorize::act(app, caller, actions::SCIM_CLIENTS_UPDATE, true)?;
            let now = app.clock.now();
            let mut tx = app.store.write().await?;
            let client = tx
                .get_scim_client(id)
                .await?
                .filter(|c| c.revoked_at.is_none())
                .ok_or_else(|| Failure::not_found("SCIM client"))?;
            tx.revoke_scim_client(id, now).await?;
            tx.append_audit(
                AuditEvent::new(
                    now,
                    Category::ApplicationManagement,
                    "Revoke SCIM client",
                    caller.initiator(),
                )
                .target(id, "ScimClient", Some(&client.display_name))
                .modified_secret("token"),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        },
    )
    .await
}
