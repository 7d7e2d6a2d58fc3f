//! Running provisioning jobs: make one member (or a whole mapped group) downstream match what
//! Eligo says *now*. The desired state is read from the access index after the mapping's lock
//! is taken, so a job that runs late, twice, or after a newer one still converges.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use eligo_core::audit::{AuditEvent, Category, Initiator};
use eligo_core::directory::{PrincipalKind, User};
use eligo_store::{ConnectorRow, MappingRow};
use uuid::Uuid;

use crate::app::App;
use crate::connectors::{ConnectorError, Downstream, MemberIdentity};
use crate::outbox::delivery::{Delivery, Effect, Failure};

/// Everything a delivery needs, read in one snapshot.
pub(super) struct Loaded {
    pub mapping: MappingRow,
    pub connector: ConnectorRow,
    pub client: Arc<dyn Downstream>,
}

pub(super) async fn load(app: &App, mapping_id: Uuid) -> Result<Option<Loaded>, Failure> {
    let failure = |e: crate::error::ApiError| Failure::new(e.message);
    let mut tx = app.store.read().await.map_err(|e| failure(e.into()))?;
    let Some(mapping) = tx
        .get_mapping(mapping_id)
        .await
        .map_err(|e| failure(e.into()))?
    else {
        // Unmapped since: nothing to do.
        return Ok(None);
    };
    let connector = tx
        .get_connector(mapping.connector_id)
        .await
        .map_err(|e| failure(e.into()))?
        .ok_or_else(|| Failure::new("the mapping's connector is gone"))?;
    let client = app
        .connectors
        .client(&connector)
        .map_err(|message| Failure {
            connector: Some(connector.id),
            ..Failure::new(message)
        })?;
    Ok(Some(Loaded {
        mapping,
        connector,
        client,
    }))
}

fn identity(user: &User) -> MemberIdentity {
    MemberIdentity {
        principal_id: user.id,
        user_principal_name: user.user_principal_name.clone(),
        mail: user.mail.clone(),
        display_name: user.display_name.clone(),
    }
}

/// A connector error, attributed to the connector unless it concerns only one member.
fn connector_failure(loaded: &Loaded, e: ConnectorError) -> Failure {
    Failure {
        connector: Some(loaded.connector.id),
        ..Failure::new(format!(
            "{} ({}): {e}",
            loaded.connector.display_name, loaded.connector.kind
        ))
    }
}

fn event(
    now: DateTime<Utc>,
    activity: &str,
    loaded: &Loaded,
    group_name: Option<&str>,
    principal: Uuid,
    principal_name: Option<&str>,
    reference: &str,
) -> Effect {
    Effect::Audit(Box::new(
        AuditEvent::new(
            now,
            Category::GroupManagement,
            activity,
            Initiator::system(),
        )
        .target(loaded.mapping.group_id, "Group", group_name)
        .target(principal, "User", principal_name)
        .detail("connectorId", loaded.connector.id.to_string())
        .detail("connector", loaded.connector.display_name.clone())
        .detail("connectorType", loaded.connector.kind.clone())
        .detail("downstreamGroup", loaded.mapping.target.clone())
        .detail("downstreamMember", reference.to_string()),
    ))
}

pub const ADDED: &str = "Add member to group in downstream system (provisioning)";
pub const REMOVED: &str = "Remove member from group in downstream system (provisioning)";

/// What Eligo knows of one member of a mapping, read after the mapping's lock is taken.
pub(super) struct Known {
    pub user: Option<User>,
    /// The reference Eligo pushed for it, if any.
    pub pushed: Option<String>,
    pub group_name: Option<String>,
}

async fn sync_member(
    app: &App,
    loaded: &Loaded,
    principal: Uuid,
    cause_at: DateTime<Utc>,
) -> Result<Vec<Effect>, Failure> {
    let store_failure = |e: eligo_store::StoreError| Failure::new(e.to_string());
    let known = {
        let mut tx = app.store.read().await.map_err(store_failure)?;
        let user = tx.get_user(principal).await.map_err(store_failure)?;
        let pushed = tx
            .get_provisioned(loaded.mapping.id, principal)
            .await
            .map_err(store_failure)?;
        let group = tx
            .get_group(loaded.mapping.group_id)
            .await
            .map_err(store_failure)?;
        Known {
            user,
            pushed,
            group_name: group.map(|g| g.display_name),
        }
    };
    push_member(app, loaded, principal, known, cause_at).await
}

/// Makes `principal` downstream match what the access index says now, from what is `known`.
pub(super) async fn push_member(
    app: &App,
    loaded: &Loaded,
    principal: Uuid,
    known: Known,
    cause_at: DateTime<Utc>,
) -> Result<Vec<Effect>, Failure> {
    let Known {
        user,
        pushed,
        group_name,
    } = known;
    let now = app.clock.now();
    // A disabled account is taken out downstream as well (rule 6: disabling ends access),
    // and put back when it is enabled again, if still a member.
    let wanted = user.as_ref().is_some_and(|u| u.account_enabled)
        && app
            .access
            .member_of(principal, loaded.mapping.group_id, now)
            .member;
    let name = user.as_ref().map(|u| u.display_name.clone());
    if wanted {
        let user = user.as_ref().expect("wanted implies the user exists");
        let reference = match pushed {
            Some(r) => r,
            None => match loaded.client.resolve(&identity(user)).await {
                Ok(Some(r)) => r,
                // The user does not exist downstream (yet): a problem with this member, not
                // with the connector, so its health is untouched.
                Ok(None) => {
                    return Err(Failure::new(format!(
                        "{} was not found in {} ({})",
                        user.user_principal_name,
                        loaded.connector.display_name,
                        loaded.connector.kind
                    )));
                }
                Err(e) => return Err(connector_failure(loaded, e)),
            },
        };
        loaded
            .client
            .add(&loaded.mapping.target, &reference)
            .await
            .map_err(|e| connector_failure(loaded, e))?;
        return Ok(vec![
            Effect::Provisioned {
                mapping: loaded.mapping.id,
                principal,
                reference: reference.clone(),
            },
            event(
                app.clock.now(),
                ADDED,
                loaded,
                group_name.as_deref(),
                principal,
                name.as_deref(),
                &reference,
            ),
        ]);
    }
    // Not wanted: remove what Eligo pushed. Nothing recorded means nothing to remove (several
    // jobs may ask for the same removal: the one at the end time and the one the scheduler's
    // expiry writes). A member whose record was lost between the downstream change and its
    // recording is found by reconciliation.
    let Some(reference) = pushed else {
        return Ok(Vec::new());
    };
    loaded
        .client
        .remove(&loaded.mapping.target, &reference)
        .await
        .map_err(|e| connector_failure(loaded, e))?;
    let done = app.clock.now();
    Ok(vec![
        Effect::Unprovisioned {
            mapping: loaded.mapping.id,
            principal,
        },
        event(
            done,
            REMOVED,
            loaded,
            group_name.as_deref(),
            principal,
            name.as_deref(),
            &reference,
        ),
        Effect::Revoked {
            connector_kind: loaded.connector.kind.clone(),
            latency: done - cause_at,
        },
    ])
}

/// The users Eligo wants in `group` now (transitively; groups themselves are not pushed, nor
/// disabled accounts).
pub fn wanted_users(app: &App, group: Uuid, now: DateTime<Utc>) -> BTreeSet<Uuid> {
    app.access
        .members_of(group, now)
        .into_iter()
        .filter_map(|m| Uuid::parse_str(&m.principal).ok())
        .filter(|id| {
            app.access
                .principal(*id)
                .is_some_and(|(kind, _)| kind == PrincipalKind::User)
                && app.access.is_enabled(*id)
        })
        .collect()
}

/// `provision.group`: the whole mapped group, member by member (after a nesting change or a
/// new mapping). Each member's outcome is recorded; the first connector failure stops the
/// job, to be retried.
pub async fn group(app: &App, mapping_id: Uuid, cause_at: DateTime<Utc>) -> Delivery {
    let loaded = match load(app, mapping_id).await {
        Ok(Some(l)) => l,
        Ok(None) => return Delivery::default(),
        Err(f) => return Delivery::failed(f, None),
    };
    let connector = Some(loaded.connector.id);
    let _turn = app.connectors.exclusive(mapping_id).await;
    let pushed: BTreeMap<Uuid, String> = match app.store.read().await {
        Ok(mut tx) => match tx.list_provisioned(mapping_id).await {
            Ok(rows) => rows.into_iter().collect(),
            Err(e) => return Delivery::failed(Failure::new(e.to_string()), connector),
        },
        Err(e) => return Delivery::failed(Failure::new(e.to_string()), connector),
    };
    let wanted = wanted_users(app, loaded.mapping.group_id, app.clock.now());
    let to_visit: BTreeSet<Uuid> = wanted
        .iter()
        .filter(|p| !pushed.contains_key(p))
        .chain(pushed.keys().filter(|p| !wanted.contains(p)))
        .copied()
        .collect();
    let mut delivery = Delivery::default();
    let mut missing_users = Vec::new();
    for principal in to_visit {
        match sync_member(app, &loaded, principal, cause_at).await {
            Ok(more) => delivery.effects.extend(more),
            Err(f) if f.connector.is_none() => missing_users.push(f.message),
            Err(f) => {
                // What was done is recorded; the retry continues from the record.
                delivery.failure = Some(f);
                return delivery;
            }
        }
    }
    if !missing_users.is_empty() {
        delivery.failure = Some(Failure::new(missing_users.join("; ")));
    }
    if !delivery.effects.is_empty() {
        delivery.connector = connector;
    }
    delivery
}
