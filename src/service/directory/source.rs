//! Who owns what (issue 19, item 5): a user or group an inbound source provisioned (a SCIM
//! client, or an LDAP connector's import) is that source's to change, and nobody else's, in
//! the attributes it owns (`eligo_core::source`).
//! Every directory use case that changes such attributes asks [`require`] inside its write
//! transaction; Eligo's own layer on top (eligibilities, activations, ownerships, role
//! assignments, downstream provisioning) never asks, so it keeps working on imported objects.

use chrono::{DateTime, Utc};
use eligo_core::audit::ModifiedProperty;
use eligo_core::directory::User;
use eligo_core::source::{self, Change, Conflict, Editor, Source, SourceKind};
use eligo_store::{Principal, SourceRow, Tx};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Caller;
use crate::failure::{Failure, Kind, UseCaseResult};
use crate::service::authorize;
use eligo_core::directory::PrincipalKind;
use eligo_store::{SessionChannel, TokenRecord};

/// What a provisioning client says about an object beyond Eligo's own fields: its externalId
/// and the SCIM attributes Eligo's record has no field for.
#[derive(Debug, Clone, PartialEq)]
pub struct Provisioned {
    pub external_id: Option<String>,
    pub attributes: Value,
}

/// The source of `principal`, with its name as it is now; None for Eligo's own. A source row
/// names a SCIM client or a connector (ids are UUIDs, so never both). What a revoked client or
/// a removed connector provisioned is Eligo's own again: nobody can speak for that source any
/// more, and after a compromised client is revoked its objects must be cleaned up by hand.
pub async fn of(tx: &mut dyn Tx, principal: Uuid) -> UseCaseResult<Option<Source>> {
    let Some(row) = tx.get_source(principal).await? else {
        return Ok(None);
    };
    let (kind, client_name) = match tx.get_scim_client(row.client_id).await? {
        Some(client) if client.revoked_at.is_some() => return Ok(None),
        Some(client) => (SourceKind::ScimClient, client.display_name),
        None => match tx.get_connector(row.client_id).await? {
            Some(connector) => (SourceKind::LdapImport, connector.display_name),
            None => return Ok(None),
        },
    };
    Ok(Some(Source {
        kind,
        client_id: row.client_id,
        client_name,
        external_id: row.external_id,
    }))
}

/// Every user `client` (a SCIM client or an import connector) provisioned, oldest first, with
/// its source record.
pub async fn users_of(tx: &mut dyn Tx, client: Uuid) -> UseCaseResult<Vec<(SourceRow, User)>> {
    let sources = tx.list_sourced(client, "user").await?;
    users_in(tx, &sources).await
}

/// The users these source rows name, with their rows, in the rows' order (a row whose user is
/// gone is left out).
pub async fn users_in(
    tx: &mut dyn Tx,
    sources: &[SourceRow],
) -> UseCaseResult<Vec<(SourceRow, User)>> {
    let mut out = Vec::with_capacity(sources.len());
    for chunk in sources.chunks(1000) {
        let ids: Vec<Uuid> = chunk.iter().map(|s| s.principal_id).collect();
        let mut found: std::collections::HashMap<Uuid, User> = tx
            .get_principals(&ids)
            .await?
            .into_iter()
            .filter_map(|p| match p {
                Principal::User(u) => Some((u.id, u)),
                _ => None,
            })
            .collect();
        for s in chunk {
            if let Some(user) = found.remove(&s.principal_id) {
                out.push((s.clone(), user));
            }
        }
    }
    Ok(out)
}

/// Refuses `caller` a `change` of `principal` that its source owns: 409
/// `SourceAuthoritative` naming the source to an administrator, 404 `NotProvisionedByClient`
/// to a source (SCIM client, import) reaching for an object it did not provision.
pub async fn require(
    tx: &mut dyn Tx,
    caller: &Caller,
    principal: Uuid,
    change: Change,
) -> UseCaseResult<()> {
    let source = of(tx, principal).await?;
    let editor = if authorize::is_provisioning(caller) {
        Editor::Provisioner(caller.id)
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

/// Records (or replaces) what the calling source (a SCIM client, an import) says about
/// `principal`; nothing for any other caller. Answers what changed of an earlier record (its
/// externalId, and each attribute Eligo's own record has no field for), for the audit entry of
/// the change: a source's word is on the record even when nothing else of the object changes.
pub async fn record(
    tx: &mut dyn Tx,
    caller: &Caller,
    principal: Uuid,
    kind: &str,
    provisioned: Option<Provisioned>,
    now: DateTime<Utc>,
) -> UseCaseResult<Vec<ModifiedProperty>> {
    let Some(p) = provisioned else {
        return Ok(Vec::new());
    };
    if !authorize::is_provisioning(caller) {
        return Ok(Vec::new());
    }
    let before = tx.get_source(principal).await?;
    let changed = before
        .as_ref()
        .map(|b| differences(b, &p))
        .unwrap_or_default();
    tx.put_source(&SourceRow {
        principal_id: principal,
        kind: kind.into(),
        client_id: caller.id,
        external_id: p.external_id,
        attributes: p.attributes,
        created_at: now,
    })
    .await?;
    Ok(changed)
}

/// What `new` changes of the record `old`: `externalId` and each top-level attribute.
fn differences(old: &SourceRow, new: &Provisioned) -> Vec<ModifiedProperty> {
    let text = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_default();
    let mut out = Vec::new();
    if old.external_id != new.external_id {
        out.push(ModifiedProperty {
            display_name: "externalId".into(),
            old_value: old.external_id.clone().unwrap_or_default(),
            new_value: new.external_id.clone().unwrap_or_default(),
        });
    }
    let mut keys: Vec<&String> = old
        .attributes
        .as_object()
        .into_iter()
        .chain(new.attributes.as_object())
        .flat_map(|m| m.keys())
        .collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (was, now) = (old.attributes.get(key), new.attributes.get(key));
        if was != now {
            out.push(ModifiedProperty {
                display_name: format!("source.{key}"),
                old_value: text(was),
                new_value: text(now),
            });
        }
    }
    out
}

/// The caller an inbound source acts as: an application (as the audit trail's initiator
/// says) with the provisioning operation set and never a role, so it can neither gain nor
/// grant privilege. `credential` names what it proved (a SCIM token's hash).
pub fn acting_as(
    id: Uuid,
    display_name: String,
    credential: String,
    since: DateTime<Utc>,
) -> Caller {
    Caller {
        id,
        kind: PrincipalKind::ServicePrincipal,
        display_name,
        upn: None,
        session: TokenRecord {
            token_hash: credential,
            principal_id: id,
            created_at: since,
            expires_at: None,
            revoked_at: None,
            last_mfa_at: None,
            amr: vec![authorize::PROVISIONING_METHOD.into()],
            channel: SessionChannel::Api,
            acr: None,
            acr_at: None,
        },
        grants: eligo_core::authz::provisioning_grants(),
    }
}
