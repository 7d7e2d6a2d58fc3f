//! Use cases for downstream connectors and group provisioning: create, change and delete
//! connectors (secrets write-only), map groups to downstream groups, reconcile on demand.

use chrono::Utc;
use eligo_core::audit::{AuditEvent, Category};
use eligo_core::authz::actions;
use eligo_store::{ConnectorRow, MappingRow, Tx};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::App;
use crate::auth::Caller;
use crate::connectors::SettingError;
use crate::failure::{Failure, UseCaseResult};
use crate::provisioning::{reconcile, registry};
use crate::service::authorize;

fn invalid_settings(errors: Vec<SettingError>) -> Failure {
    let summary: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    errors.iter().fold(
        Failure::bad_request(
            "InvalidConnectorSettings",
            format!("the connector settings are invalid: {}", summary.join("; ")),
        ),
        |err, e| err.with_detail("InvalidValue", format!("settings.{}", e.field)),
    )
}

/// A connector as answered: secrets replaced by `<field>Set: true`.
pub fn shape(row: &ConnectorRow) -> Value {
    let secrets = registry::secret_fields(&row.kind);
    let mut settings = Map::new();
    if let Some(all) = row.settings.as_object() {
        for (k, v) in all {
            if secrets.contains(&k.as_str()) {
                settings.insert(format!("{k}Set"), json!(!v.is_null()));
            } else {
                settings.insert(k.clone(), v.clone());
            }
        }
    }
    json!({
        "id": row.id,
        "type": row.kind,
        "displayName": row.display_name,
        "settings": settings,
        "health": row.health,
        "createdDateTime": row.created_at,
        "lastModifiedDateTime": row.updated_at,
    })
}

pub fn shape_mapping(m: &MappingRow) -> Value {
    json!({
        "id": m.id,
        "groupId": m.group_id,
        "connectorId": m.connector_id,
        "target": m.target,
        "createdDateTime": m.created_at,
    })
}

fn display_name_ok(name: &str) -> UseCaseResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(Failure::bad_request(
            "InvalidDisplayName",
            "displayName must be 1 to 256 characters without control characters",
        )
        .with_detail("InvalidValue", "displayName"));
    }
    Ok(name.to_string())
}

/// Runs a connector use case; a refusal (403) is audited as a failed `activity`.
async fn audited<T>(
    app: &App,
    caller: &Caller,
    activity: &str,
    run: impl std::future::Future<Output = UseCaseResult<T>>,
) -> UseCaseResult<T> {
    authorize::audited(app, caller, activity, Category::GroupManagement, run).await
}

/// A connector's name and settings, before and after, as modified properties: every setting
/// by name (`settings.url`), a secret only as "(changed)" — never its value.
fn connector_changes(
    old: Option<&ConnectorRow>,
    new: Option<&ConnectorRow>,
) -> Vec<eligo_core::audit::ModifiedProperty> {
    let kind = new.or(old).map(|r| r.kind.as_str()).unwrap_or_default();
    let secrets = registry::secret_fields(kind);
    let settings = |r: Option<&ConnectorRow>| {
        r.and_then(|r| r.settings.as_object().cloned())
            .unwrap_or_default()
    };
    let (before, after) = (settings(old), settings(new));
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    let mut out = vec![eligo_core::audit::ModifiedProperty {
        display_name: "displayName".into(),
        old_value: old.map(|r| r.display_name.clone()).unwrap_or_default(),
        new_value: new.map(|r| r.display_name.clone()).unwrap_or_default(),
    }];
    for key in keys {
        let (o, n) = (text(before.get(key)), text(after.get(key)));
        let (o, n) = if secrets.contains(&key.as_str()) && o != n {
            (String::new(), eligo_core::audit::SECRET_CHANGED.to_string())
        } else {
            (o, n)
        };
        out.push(eligo_core::audit::ModifiedProperty {
            display_name: format!("settings.{key}"),
            old_value: o,
            new_value: n,
        });
    }
    out
}

fn connector_event(
    caller: &Caller,
    now: chrono::DateTime<Utc>,
    activity: &str,
    row: &ConnectorRow,
) -> AuditEvent {
    AuditEvent::new(now, Category::GroupManagement, activity, caller.initiator())
        .target(row.id, "Connector", Some(&row.display_name))
        .detail("connectorType", row.kind.clone())
}

pub async fn create(
    app: &App,
    caller: &Caller,
    kind: &str,
    display_name: &str,
    settings: Value,
) -> UseCaseResult<ConnectorRow> {
    audited(
        app,
        caller,
        "Add downstream connector",
        create_authorized(app, caller, kind, display_name, settings),
    )
    .await
}

async fn create_authorized(
    app: &App,
    caller: &Caller,
    kind: &str,
    display_name: &str,
    settings: Value,
) -> UseCaseResult<ConnectorRow> {
    authorize::act(app, caller, actions::PROVISIONING_UPDATE, true)?;
    if !registry::KINDS.contains(&kind) {
        return Err(Failure::bad_request(
            "InvalidConnectorType",
            format!("unknown connector type {kind:?}; use ldap, scim or webhook"),
        )
        .with_detail("InvalidValue", "type"));
    }
    let display_name = display_name_ok(display_name)?;
    registry::validate(kind, &settings).map_err(invalid_settings)?;
    let now = app.clock.now();
    let row = ConnectorRow {
        id: Uuid::new_v4(),
        kind: kind.to_string(),
        display_name,
        settings,
        health: json!({ "status": "unknown", "consecutiveFailures": 0 }),
        created_at: now,
        updated_at: now,
    };
    let mut tx = app.store.write().await?;
    tx.insert_connector(&row).await?;
    tx.append_audit(
        connector_event(caller, now, "Add downstream connector", &row)
            .modified_all(connector_changes(None, Some(&row))),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

async fn load(tx: &mut dyn Tx, id: Uuid) -> UseCaseResult<ConnectorRow> {
    tx.get_connector(id)
        .await?
        .ok_or_else(|| Failure::not_found("connector"))
}

pub async fn get(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<ConnectorRow> {
    crate::service::authorize::act(app, caller, actions::PROVISIONING_READ, false)?;
    load(&mut *app.store.read().await?, id).await
}

pub async fn list(app: &App, caller: &Caller) -> UseCaseResult<Vec<ConnectorRow>> {
    crate::service::authorize::act(app, caller, actions::PROVISIONING_READ, false)?;
    Ok(app.store.read().await?.list_connectors().await?)
}

/// Changes the name and/or settings. Settings are merged into the stored ones, so a secret
/// not sent is kept (it can be replaced, never read); `null` removes an optional field.
pub async fn update(
    app: &App,
    caller: &Caller,
    id: Uuid,
    display_name: Option<&str>,
    settings: Option<Map<String, Value>>,
) -> UseCaseResult<ConnectorRow> {
    audited(
        app,
        caller,
        "Update downstream connector",
        update_authorized(app, caller, id, display_name, settings),
    )
    .await
}

async fn update_authorized(
    app: &App,
    caller: &Caller,
    id: Uuid,
    display_name: Option<&str>,
    settings: Option<Map<String, Value>>,
) -> UseCaseResult<ConnectorRow> {
    authorize::act(app, caller, actions::PROVISIONING_UPDATE, true)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let mut row = load(&mut *tx, id).await?;
    let before = row.clone();
    if let Some(name) = display_name {
        row.display_name = display_name_ok(name)?;
    }
    let mut changed_fields: Vec<String> = Vec::new();
    if let Some(changes) = settings {
        let current = row.settings.as_object().cloned().unwrap_or_default();
        changed_fields = changes
            .iter()
            .filter(|(k, v)| current.get(*k).unwrap_or(&Value::Null) != *v)
            .map(|(k, _)| k.clone())
            .collect();
        changed_fields.sort();
        require_secret_with_new_destination(&row.kind, &changes, &changed_fields)?;
        let mut merged = current;
        for (k, v) in changes {
            if v.is_null() {
                merged.remove(&k);
            } else {
                merged.insert(k, v);
            }
        }
        row.settings = Value::Object(merged);
        registry::validate(&row.kind, &row.settings).map_err(invalid_settings)?;
    }
    row.updated_at = now;
    tx.update_connector(&row).await?;
    let mut event = connector_event(caller, now, "Update downstream connector", &before)
        .modified_all(connector_changes(Some(&before), Some(&row)));
    if !changed_fields.is_empty() {
        // The names of what changed, never a value (secrets are among them).
        event = event.detail("changedFields", changed_fields.join(","));
    }
    tx.append_audit(event).await?;
    tx.commit().await?;
    Ok(row)
}

/// A change of where the secret goes (address, TLS) must carry every secret anew.
fn require_secret_with_new_destination(
    kind: &str,
    changes: &Map<String, Value>,
    changed: &[String],
) -> UseCaseResult<()> {
    let moved: Vec<&str> = registry::destination_fields(kind)
        .iter()
        .copied()
        .filter(|f| changed.iter().any(|c| c == f))
        .collect();
    if moved.is_empty() {
        return Ok(());
    }
    let missing: Vec<&str> = registry::secret_fields(kind)
        .iter()
        .copied()
        .filter(|f| changes.get(*f).is_none_or(Value::is_null))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(missing.iter().fold(
        Failure::bad_request(
            "SecretRequired",
            format!(
                "changing {} sends the connector's credentials somewhere else: give {} again in the same change",
                moved.join(", "),
                missing.join(", ")
            ),
        ),
        |e, field| e.with_detail("SecretRequired", *field),
    ))
}

pub async fn delete(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    audited(
        app,
        caller,
        "Delete downstream connector",
        delete_authorized(app, caller, id),
    )
    .await
}

async fn delete_authorized(app: &App, caller: &Caller, id: Uuid) -> UseCaseResult<()> {
    authorize::act(app, caller, actions::PROVISIONING_UPDATE, true)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let row = load(&mut *tx, id).await?;
    if !tx.list_mappings(None, Some(id)).await?.is_empty() {
        return Err(Failure::conflict(
            "ConnectorInUse",
            "groups are provisioned through this connector; remove their provisioning first",
        ));
    }
    tx.delete_connector(id).await?;
    tx.append_audit(
        connector_event(caller, now, "Delete downstream connector", &row)
            .modified_all(connector_changes(Some(&row), None)),
    )
    .await?;
    tx.commit().await?;
    app.connectors.forget(id);
    Ok(())
}

pub async fn reconcile_now(
    app: &App,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<Vec<reconcile::Report>> {
    audited(
        app,
        caller,
        "Reconcile downstream connector",
        reconcile_now_authorized(app, caller, id),
    )
    .await
}

async fn reconcile_now_authorized(
    app: &App,
    caller: &Caller,
    id: Uuid,
) -> UseCaseResult<Vec<reconcile::Report>> {
    authorize::act(app, caller, actions::PROVISIONING_UPDATE, true)?;
    reconcile::connector(app, id).await
}

/// `POST /v1/groups/{id}/provisioning`: from now on, `group`'s effective membership is pushed
/// to `target` through the connector (a first full push is queued with the mapping).
pub async fn map_group(
    app: &App,
    caller: &Caller,
    group: Uuid,
    connector: Uuid,
    target: &str,
) -> UseCaseResult<MappingRow> {
    audited(
        app,
        caller,
        "Add group provisioning",
        map_group_authorized(app, caller, group, connector, target),
    )
    .await
}

async fn map_group_authorized(
    app: &App,
    caller: &Caller,
    group: Uuid,
    connector: Uuid,
    target: &str,
) -> UseCaseResult<MappingRow> {
    authorize::act(app, caller, actions::PROVISIONING_UPDATE, true)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let g = tx
        .get_group(group)
        .await?
        .ok_or_else(|| Failure::not_found("group"))?;
    let c = tx.get_connector(connector).await?.ok_or_else(|| {
        Failure::bad_request("InvalidConnector", "no connector has that id")
            .with_detail("InvalidValue", "connectorId")
    })?;
    let target = target.trim();
    registry::validate_target(&c.kind, target).map_err(|message| {
        Failure::bad_request(
            "InvalidProvisioningTarget",
            format!("target is not a valid {} group: {message}", c.kind),
        )
        .with_detail("InvalidValue", "target")
    })?;
    let row = MappingRow {
        id: Uuid::new_v4(),
        group_id: group,
        connector_id: connector,
        target: target.to_string(),
        created_at: now,
    };
    tx.insert_mapping(&row).await.map_err(|e| match e {
        eligo_store::StoreError::Conflict(_) => Failure::conflict(
            "ProvisioningTargetInUse",
            "that downstream group is already provisioned through this connector",
        ),
        e => e.into(),
    })?;
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::GroupManagement,
            "Add group provisioning",
            caller.initiator(),
        )
        .target(c.id, "Connector", Some(&c.display_name))
        .target(group, "Group", Some(&g.display_name))
        .modified(
            "provisionedTo",
            "",
            format!("{} ({target})", c.display_name),
        )
        .detail("downstreamGroup", target.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn mappings_of(
    app: &App,
    caller: &Caller,
    group: Uuid,
) -> UseCaseResult<Vec<MappingRow>> {
    crate::service::authorize::act(app, caller, actions::PROVISIONING_READ, false)?;
    let mut tx = app.store.read().await?;
    tx.get_group(group)
        .await?
        .ok_or_else(|| Failure::not_found("group"))?;
    Ok(tx.list_mappings(Some(group), None).await?)
}

/// Stops provisioning: the downstream group is no longer managed (members Eligo pushed there
/// stay; the audit entry lists them, so someone can clean up deliberately).
pub async fn unmap_group(
    app: &App,
    caller: &Caller,
    group: Uuid,
    mapping: Uuid,
) -> UseCaseResult<()> {
    audited(
        app,
        caller,
        "Remove group provisioning",
        unmap_group_authorized(app, caller, group, mapping),
    )
    .await
}

async fn unmap_group_authorized(
    app: &App,
    caller: &Caller,
    group: Uuid,
    mapping: Uuid,
) -> UseCaseResult<()> {
    authorize::act(app, caller, actions::PROVISIONING_UPDATE, true)?;
    let now = app.clock.now();
    let mut tx = app.store.write().await?;
    let m = tx
        .get_mapping(mapping)
        .await?
        .filter(|m| m.group_id == group)
        .ok_or_else(|| Failure::not_found("provisioning"))?;
    let pushed = tx.list_provisioned(mapping).await?;
    let g = tx.get_group(group).await?;
    tx.delete_mapping(mapping).await?;
    let left: Vec<String> = pushed.into_iter().map(|(_, r)| r).collect();
    tx.append_audit(
        AuditEvent::new(
            now,
            Category::GroupManagement,
            "Remove group provisioning",
            caller.initiator(),
        )
        .target(m.connector_id, "Connector", None)
        .target(group, "Group", g.as_ref().map(|g| g.display_name.as_str()))
        .modified("provisionedTo", m.target.clone(), "")
        .detail("downstreamGroup", m.target.clone())
        .detail("membersLeftDownstream", left.join("; ")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
