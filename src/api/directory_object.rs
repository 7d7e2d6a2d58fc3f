//! Principals as Graph shows them: each with its `@odata.type`, so mixed collections (members,
//! owners, transitive memberships) say what each entry is.

use eligo_core::directory::{Group, PrincipalKind, ServicePrincipal, User};
use eligo_store::Tx;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::service::directory::DirectoryObject;

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

/// An object read by a directory use case, shaped as Graph shows it.
pub fn object(o: &DirectoryObject) -> Value {
    match o {
        DirectoryObject::User(u) => user(u),
        DirectoryObject::Group(g) => group(g),
        DirectoryObject::ServicePrincipal(s) => service_principal(s),
    }
}

/// Several of them, as a collection's values.
pub fn objects(all: &[DirectoryObject]) -> Vec<Value> {
    all.iter().map(object).collect()
}
