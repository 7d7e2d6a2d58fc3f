//! Custom extensions of a catalog (`catalogs/{id}/customWorkflowExtensions`): create, read,
//! change and delete, each write audited under `EntitlementManagement`. The endpoint's URL is
//! held to the outbound rules (`src/outbound.rs`) when it is set, as it is again when each
//! event is sent. Each extension signs its events with its own secret (HMAC-SHA256, the
//! webhooks' scheme, `notify::signing`): generated here, shown once in the creation's answer,
//! kept sealed as the server secret `custom-extension:{id}`. An extension a policy calls is
//! not deleted (409 naming the policy).

use eligo_core::entitlement::extension::CustomExtension;
use rand::RngCore;
use serde_json::Value;
use uuid::Uuid;

use super::{event, invalid, may_manage, reader};
use crate::app::App;
use crate::auth::Caller;
use crate::failure::{Failure, Kind, UseCaseResult};
use crate::service::authorize;

const TYPE: &str = "CustomCalloutExtension";

/// A new extension and its signing secret (hex), shown this once.
pub struct Created {
    pub extension: CustomExtension,
    pub signing_secret: String,
}

/// The name of an extension's signing secret among the server secrets.
pub fn secret_name(id: Uuid) -> String {
    format!("custom-extension:{id}")
}

/// Refuses a URL aimed where Eligo may not connect (an internal address, unless
/// `ELIGO_OUTBOUND_ALLOW` lists it): 400 `OutboundRefused`, nothing stored.
async fn check_destination(app: &App, url: &str) -> UseCaseResult<()> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Ok(());
    };
    let outbound = crate::outbound::Outbound::allowing(app.config.outbound_allow.clone());
    let host = parsed.host_str().unwrap_or("");
    let port = parsed.port_or_known_default().unwrap_or(443);
    if let Err(refused) = outbound.check_host(host, port).await {
        return Err(Failure::new(
            Kind::Invalid,
            "OutboundRefused",
            format!("the endpoint's URL is refused: {refused}"),
        )
        .with_detail("OutboundRefused", "endpointConfiguration.url"));
    }
    Ok(())
}

/// Scheme, host and port of an endpoint, for the audit trail: a Logic App's trigger URL carries
/// its signature in the query, which is a secret.
fn origin_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

async fn catalog_name(tx: &mut dyn eligo_store::Tx, id: Uuid) -> UseCaseResult<String> {
    Ok(tx
        .get_catalog(id)
        .await?
        .ok_or_else(|| Failure::not_found("catalog"))?
        .display_name)
}

pub async fn list(
    app: &App,
    caller: &Caller,
    catalog: Uuid,
) -> UseCaseResult<Vec<CustomExtension>> {
    let r = reader(app, caller)?;
    let mut tx = r.tx().await?;
    catalog_name(&mut *tx, catalog).await?;
    Ok(tx.list_custom_extensions(catalog).await?)
}

pub async fn get(
    app: &App,
    caller: &Caller,
    catalog: Uuid,
    id: Uuid,
) -> UseCaseResult<CustomExtension> {
    let r = reader(app, caller)?;
    let mut tx = r.tx().await?;
    tx.get_custom_extension(id)
        .await?
        .filter(|e| e.catalog_id == catalog)
        .ok_or_else(|| Failure::not_found("custom extension"))
}

pub async fn create(
    app: &App,
    caller: &Caller,
    catalog: Uuid,
    body: Value,
) -> UseCaseResult<Created> {
    let activity = "Create custom extension";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let now = app.clock.now();
        let extension = CustomExtension::create(Uuid::new_v4(), catalog, &body, now)
            .map_err(|p| invalid("InvalidCustomExtension", "custom extension", p))?;
        check_destination(app, &extension.endpoint.url).await?;
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let signing_secret = hex::encode(secret);
        let mut tx = app.store.write().await?;
        let name = catalog_name(&mut *tx, catalog).await?;
        tx.insert_custom_extension(&extension).await?;
        tx.put_server_secret(
            &secret_name(extension.id),
            signing_secret.as_bytes(),
            now.timestamp_micros(),
        )
        .await?;
        tx.append_audit(
            event(app, caller, activity)
                .target(extension.id, TYPE, Some(&extension.display_name))
                .target(catalog, "AccessPackageCatalog", Some(&name))
                .detail("endpoint", origin_of(&extension.endpoint.url)),
        )
        .await?;
        tx.commit().await?;
        Ok(Created {
            extension,
            signing_secret,
        })
    })
    .await
}

pub async fn update(
    app: &App,
    caller: &Caller,
    catalog: Uuid,
    id: Uuid,
    body: Value,
) -> UseCaseResult<CustomExtension> {
    let activity = "Update custom extension";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let now = app.clock.now();
        let mut tx = app.store.write().await?;
        let mut extension = tx
            .get_custom_extension(id)
            .await?
            .filter(|e| e.catalog_id == catalog)
            .ok_or_else(|| Failure::not_found("custom extension"))?;
        let before = extension.endpoint.url.clone();
        extension
            .update(&body, now)
            .map_err(|p| invalid("InvalidCustomExtension", "custom extension", p))?;
        if extension.endpoint.url != before {
            check_destination(app, &extension.endpoint.url).await?;
        }
        tx.update_custom_extension(&extension).await?;
        tx.append_audit(
            event(app, caller, activity)
                .target(extension.id, TYPE, Some(&extension.display_name))
                .detail("endpoint", origin_of(&extension.endpoint.url)),
        )
        .await?;
        tx.commit().await?;
        Ok(extension)
    })
    .await
}

/// Refused while a policy calls it (409 `CustomExtensionInUse` naming the policy).
pub async fn delete(app: &App, caller: &Caller, catalog: Uuid, id: Uuid) -> UseCaseResult<()> {
    let activity = "Delete custom extension";
    authorize::audited(app, caller, activity, super::CATEGORY, async {
        may_manage(app, caller)?;
        let mut tx = app.store.write().await?;
        let extension = tx
            .get_custom_extension(id)
            .await?
            .filter(|e| e.catalog_id == catalog)
            .ok_or_else(|| Failure::not_found("custom extension"))?;
        let using: Vec<String> = tx
            .list_assignment_policies(None)
            .await?
            .into_iter()
            .filter(|p| {
                p.custom_extension_stage_settings
                    .iter()
                    .any(|s| s.custom_extension.id == id.to_string())
            })
            .map(|p| format!("'{}' ({})", p.display_name, p.id))
            .collect();
        if !using.is_empty() {
            return Err(Failure::conflict(
                "CustomExtensionInUse",
                format!(
                    "assignment policy {} calls this custom extension; remove it from the policy first",
                    using.join(", ")
                ),
            )
            .with_detail("CustomExtensionInUse", "id"));
        }
        tx.delete_custom_extension(id).await?;
        tx.append_audit(event(app, caller, activity).target(
            id,
            TYPE,
            Some(&extension.display_name),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}
