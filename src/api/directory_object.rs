//! Principals as Graph shows them: each with its `@odata.type`, so mixed collections (members,
//! owners, transitive memberships) say what each entry is.

use eligo_core::directory::{Group, PrincipalKind, ServicePrincipal, User};
use eligo_store::Tx;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::ApiResult;

pub fn user(u: &User) -> Value {
    let mut v = json!(u);
    v["@odata.type"] = json!("#microsoft.graph.user");
    v
}

pub fn group(g: &Group) -> Value {
    let mut v = json!(g);
    v["@odata.type"] = json!("#microsoft.graph.group");
    v["groupTypes"] = json!([]);
    v["mailEnabled"] = json!(false);
    v
}

pub fn service_principal(s: &ServicePrincipal) -> Value {
    let mut v = json!(s);
    v["@odata.type"] = json!("#microsoft.graph.servicePrincipal");
    v
}

/// The directory object for `id`, or None if it no longer exists.
pub async fn load(tx: &mut dyn Tx, id: Uuid) -> ApiResult<Option<Value>> {
    Ok(match tx.principal_kind(id).await? {
        Some(PrincipalKind::User) => tx.get_user(id).await?.map(|u| user(&u)),
        Some(PrincipalKind::Group) => tx.get_group(id).await?.map(|g| group(&g)),
        Some(PrincipalKind::ServicePrincipal) => tx
            .get_service_principal(id)
            .await?
            .map(|s| service_principal(&s)),
        None => None,
    })
}

pub async fn load_all(tx: &mut dyn Tx, ids: &[Uuid]) -> ApiResult<Vec<Value>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(v) = load(tx, *id).await? {
            out.push(v);
        }
    }
    Ok(out)
}
