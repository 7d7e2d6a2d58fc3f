//! Who owns what (issue 19, item 5): a user or group an inbound SCIM client provisioned is that
//! client's to change, and nobody else's, in the attributes it owns (`eligo_core::source`).
//! Every directory use case that changes such attributes asks [`require`] inside its write
//! transaction; Eligo's own layer on top (eligibilities, activations, ownerships, role
//! assignments, downstream provisioning) never asks, so it keeps working on imported objects.

use chrono::{DateTime, Utc};
use eligo_core::source::{self, Change, Conflict, Editor, Source};
use eligo_store::{SourceRow, Tx};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Caller;
use crate::failure::{Failure, Kind, UseCaseResult};
use crate::service::authorize;

/// What a provisioning client says about an object beyond Eligo's own fields: its externalId
/// and the SCIM attributes Eligo's record has no field for.
#[derive(Debug, Clone, PartialEq)]
pub struct Provisioned {
    pub external_id: Option<String>,
    pub attributes: Value,
}

/// The source of `principal`, with its client's name as it is now; None for Eligo's own.
pub async fn of(tx: &mut dyn Tx, principal: Uuid) -> UseCaseResult<Option<Source>> {
    let Some(row) = tx.get_source(principal).await? else {
        return Ok(None);
    };
    let client_name = tx
        .get_scim_client(row.client_id)
        .await?
        .map(|c| c.display_name)
        .unwrap_or_else(|| "a removed client".into());
    Ok(Some(Source {
        client_id: row.client_id,
        client_name,
        external_id: row.external_id,
    }))
}

/// Refuses `caller` a `change` of `principal` that its source owns: 409
/// `SourceAuthoritative` naming the source to an administrator, 404 `NotProvisionedByClient`
/// to a SCIM client reaching for an object it did not provision.
pub async fn require(
    tx: &mut dyn Tx,
    caller: &Caller,
    principal: Uuid,
    change: Change,
) -> UseCaseResult<()> {
    let source = of(tx, principal).await?;
    let editor = if authorize::is_provisioning(caller) {
        Editor::ScimClient(caller.id)
    } else {
        Editor::Eligo
    };
    source::may_change(source.as_ref(), editor, change).map_err(|c| {
        let message = c.to_string();
        match c {
            Conflict::SourceAuthoritative { .. } => {
                Failure::conflict("SourceAuthoritative", message)
            }
            Conflict::NotProvisionedByClient => {
                Failure::new(Kind::NotFound, "NotProvisionedByClient", message)
            }
        }
    })
}

/// Records (or replaces) what the calling SCIM client says about `principal`; nothing for
/// any other caller.
pub async fn record(
    tx: &mut dyn Tx,
    caller: &Caller,
    principal: Uuid,
    kind: &str,
    provisioned: Option<Provisioned>,
    now: DateTime<Utc>,
) -> UseCaseResult<()> {
    let Some(p) = provisioned else {
        return Ok(());
    };
    if !authorize::is_provisioning(caller) {
        return Ok(());
    }
    tx.put_source(&SourceRow {
        principal_id: principal,
        kind: kind.into(),
        client_id: caller.id,
        external_id: p.external_id,
        attributes: p.attributes,
        created_at: now,
    })
    .await?;
    Ok(())
}
