//! What Eligo holds from one import source, read for the planner: its users (with the entry
//! each came from, as their source record keeps it), its groups with their direct members
//! from the same source, and the names the import must not take.

use std::collections::HashSet;

use eligo_core::directory::{Relation, User};
use eligo_core::directory_import::{Known, KnownGroup, KnownUser, Snapshot};
use eligo_store::{SourceRow, Tx};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::failure::UseCaseResult;
use crate::service::directory::source;

/// The source record's attributes for an entry.
pub fn attributes(dn: &str, uid: Option<&str>, enabled: Option<bool>) -> Value {
    json!({ "dn": dn, "uid": uid, "enabled": enabled })
}

/// Everything this source (`connector`) provisioned, and the userNames of `snapshot` that
/// belong to accounts it does not own.
pub async fn load(tx: &mut dyn Tx, connector: Uuid, snapshot: &Snapshot) -> UseCaseResult<Known> {
    let sourced = source::users_of(tx, connector).await?;
    let group_rows = tx.list_sourced(connector, "group").await?;
    let ours: HashSet<Uuid> = sourced
        .iter()
        .map(|(row, _)| row.principal_id)
        .chain(group_rows.iter().map(|r| r.principal_id))
        .collect();
    let users: Vec<KnownUser> = sourced
        .into_iter()
        .map(|(row, user)| known_user(&row, user))
        .collect();
    let mut groups = Vec::with_capacity(group_rows.len());
    for row in &group_rows {
        let Some(group) = tx.get_group(row.principal_id).await? else {
            continue;
        };
        let members = tx
            .relations_of_group(group.id, Relation::Member)
            .await?
            .into_iter()
            .filter(|m| ours.contains(m))
            .collect();
        groups.push(KnownGroup {
            id: group.id,
            key: row.external_id.clone().unwrap_or_default(),
            dn: text(&row.attributes, "dn").unwrap_or_default(),
            display_name: group.display_name,
            description: group.description,
            members,
        });
    }

    let held: HashSet<String> = users.iter().map(|u| u.user_name.to_lowercase()).collect();
    let mut taken = HashSet::new();
    for u in &snapshot.users {
        let name = u.user_name.to_lowercase();
        if name.is_empty() || held.contains(&name) || taken.contains(&name) {
            continue;
        }
        if let Some(other) = tx.find_user_by_upn(&name).await?
            && !ours.contains(&other.id)
        {
            taken.insert(name);
        }
    }
    Ok(Known {
        users,
        groups,
        taken,
    })
}

fn text(attributes: &Value, name: &str) -> Option<String> {
    attributes.get(name)?.as_str().map(str::to_string)
}

fn known_user(row: &SourceRow, user: User) -> KnownUser {
    KnownUser {
        id: user.id,
        key: row.external_id.clone().unwrap_or_default(),
        dn: text(&row.attributes, "dn").unwrap_or_default(),
        uid: text(&row.attributes, "uid"),
        user_name: user.user_principal_name,
        display_name: user.display_name,
        mail: user.mail,
        manager: user.manager_id,
        enabled: user.account_enabled,
        source_enabled: row
            .attributes
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    }
}
